/**
 * The self-contained HTML report: structure without a browser (CSP, inlined data, plain-HTML table and
 * findings, escaping), and, where a chromium and the built chart script exist, an offline render in it.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { renderHtmlReport, chartScript, scriptSafeJson } from '../../../src/report/html';
import type { Report } from '../../../src/report/json';
import { cliJson, writeText } from './helpers';

const healthy = path.join(__dirname, '../../fixtures/scenarios/healthy-relu-spiral.nn.yaml');

describe('HTML report', function () {
  this.timeout(60000);
  let report: Report;
  before(async () => { report = (await cliJson('diagnose', healthy, ['--steps', '60'])).report; });

  it('one page: strict CSP without network, the report JSON, a plain-HTML layer table and findings', () => {
    const html = renderHtmlReport(report, { script: 'window.__charts = 1;' });
    const csp = /<meta http-equiv="Content-Security-Policy" content="([^"]+)">/.exec(html)?.[1] ?? '';
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /connect-src 'none'/);
    assert.doesNotMatch(csp, /https?:|\*/);
    const nonce = /script-src 'nonce-([^']+)'/.exec(csp)?.[1];
    assert.ok(nonce);
    assert.ok(html.includes(`<script nonce="${nonce}">window.__charts = 1;</script>`), 'the chart script is inlined with the nonce');
    const json = /<script type="application\/json" id="report-data">([\s\S]*?)<\/script>/.exec(html)![1];
    assert.deepEqual(JSON.parse(json), JSON.parse(JSON.stringify(report)));
    assert.equal((html.match(/<tr data-layer=/g) ?? []).length, 3, 'one table row per layer');
    assert.match(html, /<div id="charts" class="charts"><\/div>/);
    assert.doesNotMatch(html, /(src|href)="(https?:)?\/\//);
  });

  it('text from the config cannot close the data script or inject markup', () => {
    const evil = { ...report, config: 'x</script><script>alert(1)</script>.nn.yaml' } as Report;
    const html = renderHtmlReport(evil, { script: null });
    assert.equal((html.match(/<script/g) ?? []).length, 1, 'only the data block');
    assert.ok(!html.includes('</script><script>alert(1)'));
    assert.equal(JSON.parse(scriptSafeJson(JSON.stringify({ a: '</script>' }))).a, '</script>');
    assert.match(html, /Charts are unavailable/);
  });

  it('lint reports (no timeline) have no chart section', () => {
    const { training: _t, timeline: _tl, ...lint } = report;
    const html = renderHtmlReport(lint as Report, { script: 'x' });
    assert.doesNotMatch(html, /id="charts"/);
  });

  it('opens offline in chromium and draws the panel\'s charts (when chromium and dist/webview/report.js exist)', async function () {
    const script = chartScript();
    const chromium = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find(p => fs.existsSync(p));
    if (!script || !chromium) this.skip();
    const { chromium: pw } = await import('playwright-core');
    const file = writeText('offline.html', renderHtmlReport(report));
    const browser = await pw.launch({ executablePath: chromium, args: ['--no-sandbox'] });
    try {
      const context = await browser.newContext({ offline: true });
      const page = await context.newPage();
      const requests: string[] = [];
      page.on('request', r => { if (!r.url().startsWith('file:')) requests.push(r.url()); });
      const errors: string[] = [];
      page.on('pageerror', e => errors.push(e.message));
      page.on('console', m => { if (m.type() === 'error') errors.push(m.text()); });
      await page.goto(`file://${file}`);
      await page.waitForSelector('#charts[data-rendered="true"]', { timeout: 15000 });
      const canvases = await page.locator('#charts canvas').count();
      assert.ok(canvases >= 4, `${canvases} charts`);
      assert.deepEqual(requests, []);
      assert.deepEqual(errors, []);
    } finally {
      await browser.close();
    }
  });
});
