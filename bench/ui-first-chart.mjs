// Run -> first chart drawn in the real workbench (code-server + chromium, the UI tests' harness), with the panel
// already open and with Run creating it. A benchmark, not a test: the numbers are printed (median of RUNS runs each),
// never asserted; on a shared machine they move with its load, so `uptime` is printed with them.
// Usage: npm run bench:ui [-- config in test/workspace, default spiral.nn.yaml]; exits 1 when a median is 1 s or more.
// RUNS=n (default 5) runs each way; DEBUG_MARKS=1 also prints every mark of the page for each run.
// Where the time goes, from the panel's own marks (webview/panel.ts, window.activationLensMarks, Date.now() on the
// same clock as the workbench page): Run -> the panel's script starts (webview created and its page loaded), -> the
// first draw (the layer list), -> the first chart drawn from streamed progress, -> the run's final state. Next to them
// the extension host's marks of the same run (RunView.marks, Date.now() on the same machine): the command arrived,
// the panel was asked for, the engine chosen (worker taken or started), the worker's 'started', its first stats, its end.
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { openWorkbench, openFile, until, ROOT } from '../test/tools/harness.mjs';

const CONFIG = process.argv[2] || 'spiral.nn.yaml';
const RUNS = Number(process.env.RUNS || 5);
const median = xs => { const s = [...xs].sort((a, b) => a - b); return s.length ? s[(s.length - 1) >> 1] : NaN; };

// Interrupted: exit through process.exit, whose handler (harness) stops the code-server this started.
for (const sig of ['SIGINT', 'SIGTERM']) process.once(sig, () => process.exit(130));
const wb = await openWorkbench({ workspace: path.join(ROOT, 'test/workspace') });
const { page } = wb;

/** Opens the palette on Run Diagnostics; returns the workbench's clock as Enter is pressed. */
async function run() {
  for (;;) {
    await page.keyboard.press('F1');
    const input = page.locator('.quick-input-widget input');
    await input.waitFor();
    await input.fill('>Activation Lens: Run Diagnostics');
    const row = page.locator('.quick-input-list .monaco-list-row', { hasText: 'Run Diagnostics' }).first();
    try { await row.waitFor({ timeout: 30000 }); } catch { await page.keyboard.press('Escape'); continue; }
    const t0 = await page.evaluate(() => Date.now());
    await input.press('Enter');
    return t0;
  }
}

/** The panel's marks after t0, once its run has drawn its final state. */
async function marksAfter(t0) {
  return until('the run to end in the panel', async () => {
    for (const f of page.frames()) {
      if (!f.url().includes('/webview/browser/pre/fake.html')) continue;
      const [marks, host] = await f.evaluate(() => [window.activationLensMarks, window.activationLensHostMarks]).catch(() => []);
      if (!marks) continue;
      const after = marks.filter(m => m.t >= t0 || m.what === 'script' || m.what === 'shown');
      // The host's marks are those of the run drawn last: this one's once its command came after t0 (none before them).
      if (after.some(m => m.what === 'end' && m.t >= t0) && (!host?.length || host[0].t >= t0)) return { marks: after, host: host ?? [], frame: await frameTimes(f) };
    }
    return undefined;
  });
}

/**
 * How the workbench made the page, on the same clock (performance.timeOrigin + the entries' times): the webview's
 * outer frame (pre/index.html) started loading, its script ran, its service worker was ready, it was sent our HTML,
 * its inner frame (fake.html) loaded, and our HTML (script and styles inline, src/vscode/webviewHtml.ts) was written
 * into it, which includes running our script's first draw.
 */
async function frameTimes(inner) {
  return await inner.parentFrame()?.evaluate(() => {
    const at = name => { const m = performance.getEntriesByName(`webview/index.html/${name}`).at(-1); return m ? performance.timeOrigin + m.startTime : undefined; };
    return { frame: performance.timeOrigin, outerScript: at('scriptStart'), swReady: at('content/workerReady'), html: at('content/started'),
      innerLoaded: at('content/innerFrameLoaded'), written: at('content/wroteInnerContent') };
  }).catch(() => undefined) ?? {};
}

async function closePanel() {
  const tab = page.locator('.tabs-container .tab', { hasText: 'Activation Lens' }).first();
  if (!(await tab.count())) return;
  await tab.hover();
  await tab.locator('.tab-actions .action-label').first().click();
  await until('the panel to close', async () => !(await page.locator('.tabs-container .tab', { hasText: 'Activation Lens' }).count()));
}

const row = (kind) => {
  const rs = results[kind];
  const m = key => median(rs.map(r => r[key]).filter(Number.isFinite));
  const spread = key => { const xs = rs.map(r => r[key]).filter(Number.isFinite); return xs.length ? ` (${Math.min(...xs)}..${Math.max(...xs)})` : ''; };
  return `panel ${kind.padEnd(7)}  Run -> first chart ${m('chart')} ms${spread('chart')} (median of ${rs.length})` +
    (kind === 'created' ? `; page script starts ${m('script')} ms, layer list drawn ${m('shown')} ms` +
      `\n    webview: frame created ${m('frame')}, its script ${m('outerScript')}, service worker ready ${m('swReady')}, our HTML sent ${m('html')}, ` +
      `inner frame loaded ${m('innerLoaded')}, our page written ${m('written')} ms` : '') + `; run ended ${m('end')} ms` +
    `\n    host: command ${m('command')}, panel asked ${m('panel')}, engine ${m('engine')}, worker started ${m('started')}, first stats ${m('stats')}, end ${m('hostEnd')} ms`;
};
/** Printed before the workbench closes: a close that hangs must not take the numbers with it. */
function report() {
  console.log(`\n${CONFIG}\n${row('open')}\n${row('created')}\nuptime: ${execFileSync('uptime', { encoding: 'utf8' }).trim()}`);
  // The promise (issue 12): under 1 s both ways, on a quiet machine.
  const broken = ['open', 'created'].filter(k => !(median(results[k].map(r => r.chart)) < 1000));
  if (broken.length) { console.log(`over 1 s: panel ${broken.join(', ')}`); process.exitCode = 1; }
}
const results = { created: [], open: [] };
try {
  for (let i = 0; i < RUNS; i++) {
    for (const kind of ['created', 'open']) {
      if (kind === 'created') await closePanel();
      await openFile(page, CONFIG);
      const t0 = await run();
      const { marks, host, frame } = await marksAfter(t0);
      const at = what => { const m = marks.find(x => x.what === what && (kind === 'created' || x.t >= t0)); return m ? m.t - t0 : NaN; };
      const hostAt = what => { const m = host.find(x => x.what === what); return m ? m.t - t0 : NaN; };
      const recv = marks.filter(m => m.what === 'recv' && m.t >= t0);
      const drawMs = (marks.find(m => m.what === 'chart' && m.t >= t0) ?? {}).drawMs;
      console.log(`  webview received: ${recv.map(m => `${m.status} ${m.t - t0}`).join(', ')}; first chart's draw took ${drawMs} ms`);
      const r = { command: hostAt('command'), panel: hostAt('panel'), engine: hostAt('engine'), started: hostAt('started'), stats: hostAt('stats'), hostEnd: hostAt('end'),
        ...(kind === 'created' ? Object.fromEntries(['frame', 'outerScript', 'swReady', 'html', 'innerLoaded', 'written']
          .map(k => [k, Number.isFinite(frame[k]) ? Math.round(frame[k] - t0) : NaN])) : {}),
        script: kind === 'created' ? at('script') : NaN, shown: kind === 'created' ? at('shown') : NaN, chart: at('chart'), end: at('end') };
      results[kind].push(r);
      console.log(`run ${i + 1} panel ${kind}: ${JSON.stringify(r)}`);
      if (process.env.DEBUG_MARKS) console.log('   marks', marks.map(m => `${m.what}${m.status ? ':' + m.status : ''} ${m.t - t0}`).join(', '));
    }
  }
  report();
} catch (e) {
  await page.screenshot({ path: path.join(ROOT, 'test-output', 'bench-ui-failure.png') }).catch(() => {});
  // Said here and kept in the exit code: the finally's process.exit() would drop a rethrown error silently.
  console.error(e);
  process.exitCode = 1;
} finally {
  // Bounded: under /tmp/prof/frozen.sh chromium's crash handler (detached from the browser, so frozen with everyone
  // else) keeps the browser's pipes open, and the close waited on it for good, holding the machine frozen.
  await Promise.race([wb.close(), new Promise(r => setTimeout(r, 15000).unref())]);
  process.exit();
}
