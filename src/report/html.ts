/**
 * The self-contained HTML report: one file that opens offline with no external request. It inlines the panel's
 * stylesheet, the report JSON (<script type="application/json" id="report-data">) and the lead's chart script
 * (dist/webview/report.js, chart.js bundled in), which draws the same charts as the panel. The per-layer table,
 * the findings and the suggestions are plain HTML, so the page is useful with scripts disabled. A strict CSP
 * (default-src 'none', scripts by nonce) forbids any network access.
 */
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { formatNumber } from '../format';
import type { LayerStats } from '../core/types';
import { reportJson, type Report } from './json';
import { escapeHtml, scriptSafeJs, scriptSafeJson } from './escape';

/** First existing file among candidates: next to the bundle (dist/), then the repo (running from sources). */
function readFirst(candidates: string[]): string | undefined {
  for (const p of candidates) {
    try { return fs.readFileSync(p, 'utf8'); } catch { /* try the next */ }
  }
  return undefined;
}

export function chartScript(): string | undefined {
  return readFirst([path.join(__dirname, 'webview', 'report.js'), path.resolve(__dirname, '..', '..', 'dist', 'webview', 'report.js')]);
}

function stylesheet(): string {
  const css = (name: string) => readFirst([path.resolve(__dirname, '..', 'media', name), path.resolve(__dirname, '..', '..', 'media', name)]) ?? '';
  return `${css('webview.css')}\n${css('layout.css')}`;
}

// Re-exported: the HTML report's callers and tests import them from here.
export { escapeHtml, scriptSafeJs, scriptSafeJson };

/** VS Code's theme variables that the panel's stylesheet and charts read, for a browser (light and dark). */
const THEME_VARS = `
:root { color-scheme: light dark;
  --vscode-font-family: system-ui, -apple-system, "Segoe UI", sans-serif; --vscode-font-size: 14px;
  --vscode-foreground: #1f1f1f; --vscode-editor-background: #ffffff; --vscode-descriptionForeground: #616161;
  --vscode-widget-border: rgba(128,128,128,.3); --vscode-errorForeground: #c72e2e; --vscode-editorError-foreground: #e51400;
  --vscode-editorWarning-foreground: #bf8803; --vscode-editorInfo-foreground: #1a85ff; --vscode-textBlockQuote-background: #f2f2f2;
  --vscode-charts-blue: #1a85ff; --vscode-charts-orange: #d18616; --vscode-charts-green: #388a34; --vscode-charts-purple: #652d90;
  --vscode-charts-red: #e51400; --vscode-charts-yellow: #bf8803; --vscode-terminal-ansiCyan: #0598bc; --vscode-terminal-ansiMagenta: #bc05bc;
  --vscode-focusBorder: #0090f1; }
@media (prefers-color-scheme: dark) { :root {
  --vscode-foreground: #cccccc; --vscode-editor-background: #1e1e1e; --vscode-descriptionForeground: #9d9d9d;
  --vscode-errorForeground: #f48771; --vscode-editorError-foreground: #f14c4c; --vscode-editorWarning-foreground: #cca700;
  --vscode-editorInfo-foreground: #3794ff; --vscode-textBlockQuote-background: #2b2b2b;
  --vscode-charts-blue: #3794ff; --vscode-charts-red: #f14c4c; --vscode-charts-yellow: #cca700; --vscode-charts-green: #89d185; } }
body { max-width: 1200px; margin: 0 auto; }
.meta { display: flex; flex-wrap: wrap; gap: 4px 20px; margin: 0; padding: 0; list-style: none; }
.findings .where { color: var(--vscode-descriptionForeground); font-size: .9em; }
.findings .sev { font-weight: 600; text-transform: uppercase; font-size: .8em; margin-right: 6px; }
.findings ul.fixes { margin: 4px 0 0 1.2em; padding: 0; }
table.suggest td, table.suggest th { vertical-align: top; }
`;

const pct = (x: number | null | undefined) => (x === null || x === undefined ? '–' : `${formatNumber(100 * x)}%`);

function layerTable(report: Report): string {
  const last = report.timeline?.[report.timeline.length - 1];
  const outIndex = [...report.model.layers].reverse().find(l => l.type === 'dense' || l.type === 'conv2d')?.index;
  const outGrad = outIndex !== undefined ? last?.layers[outIndex]?.gradRms : undefined;
  const rows = report.model.layers.map(l => {
    const s: LayerStats | undefined = last?.layers[l.index];
    const ratio = s && outGrad ? s.gradRms / outGrad : undefined;
    const bad = s && ((s.deadFraction ?? 0) >= 0.5 || (s.saturatedFraction ?? 0) >= 0.5 || s.nonFinite > 0);
    const width = l.units ?? l.filters;
    const output = l.outputShape ? `[${l.outputShape.join(', ')}]` : '';
    // Narrow windows (media/layout.css) hide the "opt" columns and show their values in the layer's detail line.
    const detail = [`#${l.index}`, l.type, l.init ? `init ${l.init}` : '', width !== undefined ? `${width} units` : '', output && `output ${output}`,
      l.params !== null && l.params !== undefined ? `${l.params} params` : '', last && s ? `gradRms ${formatNumber(s.gradRms)}` : ''].filter(Boolean).join(' · ');
    return `<tr data-layer="${l.index}"${bad ? ' class="bad"' : ''}><td class="opt">${l.index}</td><th scope="row">${escapeHtml(l.name)}<div class="detail">${escapeHtml(detail)}</div></th><td class="opt">${l.type}</td>`
      + `<td>${escapeHtml(l.activation ?? '')}</td><td class="opt">${escapeHtml(l.init ?? '')}</td><td class="num opt">${width ?? ''}</td>`
      // Reports from logs (diagnose-run) have no shapes or parameter counts: null.
      + `<td class="opt">${output}</td><td class="num opt">${l.params ?? ''}</td>`
      + (last ? `<td class="num">${pct(s?.deadFraction)}</td><td class="num">${pct(s?.saturatedFraction)}</td>`
        + `<td class="num opt">${s ? formatNumber(s.gradRms) : '–'}</td><td class="num">${ratio !== undefined ? formatNumber(ratio) : '–'}</td>` : '')
      + '</tr>';
  });
  const head = [['#', 1], ['layer', 0], ['type', 1], ['activation', 0], ['init', 1], ['units', 1], ['output', 1], ['params', 1],
    ...(last ? [['dead', 0], ['saturated', 0], ['gradRms', 1], ['grad ratio', 0]] : [])] as [string, number][];
  return `<div class="table-box"><table class="health" id="layers"><caption>${last ? `Layer health at step ${last.step}` : 'Layers (static)'}</caption>`
    + `<thead><tr>${head.map(([h, opt]) => `<th scope="col"${opt ? ' class="opt"' : ''}>${h}</th>`).join('')}</tr></thead><tbody>${rows.join('')}</tbody></table></div>`;
}

/** Weight statistics of reports from logs (diagnose-run): the last logged step, per layer with weights. */
function weightTable(report: Report): string {
  const tl = report.timeline ?? [];
  const last = tl[tl.length - 1];
  const rows = report.model.layers.filter(l => tl.some(p => p.layers[l.index]?.weights)).map(l => {
    const series = tl.map(p => p.layers[l.index]?.weights).filter((w): w is NonNullable<typeof w> => !!w);
    const w = series[series.length - 1], first = series[0];
    const ratio = w.updateRatioLower === null ? '–' : w.unchanged ? '0 (unchanged)' : `&ge; ${formatNumber(w.updateRatioLower)}`;
    return `<tr data-layer="${l.index}"><th scope="row">${escapeHtml(l.name)}</th><td class="num">${w.count}</td><td class="num">${formatNumber(w.mean)}</td>`
      + `<td class="num">${formatNumber(w.std)}</td><td class="num">${formatNumber(w.norm)}${w.normBounds ? ` (${formatNumber(w.normBounds[0])}-${formatNumber(w.normBounds[1])})` : ''}</td>`
      + `<td class="num">${formatNumber(w.norm / first.norm)}</td><td class="num">${ratio}</td></tr>`;
  });
  if (!rows.length || !last) return '';
  return `<h2>Weights</h2><div class="table-box"><table class="health" id="weights"><caption>Weights at step ${last.step} (from their histograms; the update ratio is a lower bound per step)</caption>`
    + `<thead><tr>${['layer', 'count', 'mean', 'std', 'norm', 'norm / first', 'update ratio'].map(h => `<th scope="col">${h}</th>`).join('')}</tr></thead><tbody>${rows.join('')}</tbody></table></div>`;
}

function findingList(report: Report): string {
  if (!report.findings.length) return '<p id="findings" class="muted">No findings: nothing to fix.</p>';
  const items = report.findings.map(f => {
    const fixes = f.suggestions.map(s => {
      const change = [s.activation && `activation: ${s.activation}`, s.init && `init: ${s.init}`, s.lr !== undefined && `lr: ${s.lr}`, s.clip !== undefined && `clip: ${s.clip}`]
        .filter(Boolean).join(', ');
      return `<li>${change ? `<code>${escapeHtml(change)}</code> — ` : ''}${escapeHtml(s.reason)}</li>`;
    }).join('');
    return `<li class="${f.severity}" data-kind="${f.kind}"><span class="sev">${f.severity}</span><strong>${f.kind}</strong> `
      + `<span class="where">${escapeHtml(f.layerName)} (${typeof f.evidence.tag === 'string' ? `tag ${escapeHtml(f.evidence.tag)}` : `line ${f.source.line}`})${f.step !== null ? `, step ${f.step}` : ''}</span>`
      + `<div>${escapeHtml(f.message)}</div>${fixes ? `<ul class="fixes">${fixes}</ul>` : ''}</li>`;
  });
  return `<ol class="findings" id="findings">${items.join('')}</ol>`;
}

function suggestionTable(report: Report): string {
  if (!report.suggestions.length) return '';
  const rows = report.suggestions.map(s => {
    const name = report.model.layers[s.layer]?.name ?? String(s.layer);
    // The best choice with its reason; the runners-up by name (their reasons are in the JSON).
    const [best, ...rest] = s.ranked;
    const trial = (r: typeof best) => (r.trial ? ` (val loss ${formatNumber(r.trial.valLoss)})` : '');
    const ranked = best ? `<strong>${escapeHtml(best.activation)}</strong> + ${escapeHtml(best.init)}${trial(best)} <span class="muted">${escapeHtml(best.reason)}</span>`
      + (rest.length ? `<br><span class="muted">then: ${rest.slice(0, 5).map(r => `${escapeHtml(r.activation)} + ${escapeHtml(r.init)}${trial(r)}`).join(', ')}</span>` : '') : '';
    return `<tr><th scope="row">${escapeHtml(name)}</th><td>${escapeHtml(s.current)}</td><td>${ranked}</td></tr>`;
  });
  return `<h2>Suggestions</h2><div class="table-box"><table class="health suggest" id="suggestions"><thead><tr><th scope="col">layer</th><th scope="col">current</th><th scope="col">ranked</th></tr></thead><tbody>${rows.join('')}</tbody></table></div>`;
}

function summary(report: Report): string {
  const t = report.training;
  // Reports from logs carry null where the logs cannot tell (seed, parameters, loss function, optimizer).
  const bits = [report.seed !== null ? `seed ${report.seed}` : '', report.model.params !== null ? `${report.model.params} parameters` : ''].filter(Boolean);
  if (t) {
    bits.push(`${t.steps} steps (${t.stopped})`, t.loss !== null ? `${t.loss}, ${t.optimizer}` : '', `train loss ${formatNumber(t.final.trainLoss)}`, `val loss ${formatNumber(t.final.valLoss)}`);
    if (t.final.valAccuracy !== undefined) bits.push(`val accuracy ${pct(t.final.valAccuracy)}`);
    bits.push(`${formatNumber(report.timing.wallMs / 1000)} s`);
  }
  const counts = ['error', 'warning', 'info'].map(s => {
    const n = report.findings.filter(f => f.severity === s).length;
    return `${n} ${s}${n === 1 || s === 'info' ? '' : 's'}`;
  });
  return `<ul class="meta">${[...bits, counts.join(', ')].map(b => `<li>${escapeHtml(b)}</li>`).join('')}</ul>`;
}

/** The whole page. `script` overrides the chart script (tests; undefined: read dist/webview/report.js). */
export function renderHtmlReport(report: Report, opts: { script?: string | null } = {}): string {
  const nonce = randomBytes(16).toString('base64');
  const script = opts.script === undefined ? chartScript() : opts.script ?? undefined;
  const csp = ["default-src 'none'", "img-src data:", `style-src 'nonce-${nonce}'`, `script-src 'nonce-${nonce}'`,
    "connect-src 'none'", "font-src 'none'", "base-uri 'none'", "form-action 'none'"].join('; ');
  const title = `Activation Lens report: ${report.config}`;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="activation-lens ${report.schema}">
<title>${escapeHtml(title)}</title>
<style nonce="${nonce}">${THEME_VARS}
${stylesheet()}</style>
</head>
<body>
<header><h1>${escapeHtml(title)}</h1>${summary(report)}</header>
<main>
<h2>Layers</h2>
${layerTable(report)}
${weightTable(report)}
<h2>Findings</h2>
${findingList(report)}
${suggestionTable(report)}
${report.timeline ? `<h2>Charts</h2>
<div id="charts" class="charts"></div>
${script ? '<noscript><p class="muted">The charts need JavaScript; the tables above hold the numbers.</p></noscript>' : '<p class="muted" id="no-charts">Charts are unavailable in this build (dist/webview/report.js was not found); the tables above hold the numbers.</p>'}` : ''}
</main>
<script type="application/json" id="report-data">${scriptSafeJson(reportJson(report))}</script>
${script && report.timeline ? `<script nonce="${nonce}">${scriptSafeJs(script)}</script>` : ''}
</body>
</html>
`;
}
