/** Human-readable CLI output: the per-layer table, the findings, the ranked suggestions and trials. */
import { formatNumber, locationName } from '../format';
import { ACTIVATIONS, resolveActivation } from '../core/activations';
import type { Report, ReportFinding } from '../report/json';
import type { RankedActivation } from '../diagnosis/types';

const pct = (x: number | null | undefined) => (x === null || x === undefined ? '–' : `${formatNumber(100 * x, 2)}%`);

/** Columns padded to their widest cell; numbers right-aligned. */
export function table(head: string[], rows: string[][], right: Set<number> = new Set()): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map(r => (r[i] ?? '').length)));
  const line = (r: string[]) => r.map((c, i) => (right.has(i) ? (c ?? '').padStart(widths[i]) : (c ?? '').padEnd(widths[i]))).join('  ').trimEnd();
  return [line(head), line(widths.map(w => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

export function layerTable(report: Report): string {
  const last = report.timeline?.[report.timeline.length - 1];
  const outIndex = [...report.model.layers].reverse().find(l => l.type === 'dense' || l.type === 'conv2d')?.index;
  const outGrad = outIndex !== undefined ? last?.layers[outIndex]?.gradRms : undefined;
  const worst = new Map<number, string>();
  for (const f of report.findings) if (!worst.has(f.layer)) worst.set(f.layer, f.severity);
  const rows = report.model.layers.map(l => {
    const s = last?.layers[l.index];
    const ratio = s && outGrad ? s.gradRms / outGrad : undefined;
    const base = [String(l.index), l.name, l.type, l.activation ?? '', String(l.units ?? l.filters ?? ''), `[${l.outputShape.join(',')}]`, String(l.params)];
    const run = last ? [pct(s?.deadFraction), pct(s?.saturatedFraction), s ? formatNumber(s.gradRms) : '–', ratio !== undefined ? formatNumber(ratio) : '–'] : [];
    return [...base, ...run, worst.get(l.index) ?? ''];
  });
  const head = ['#', 'layer', 'type', 'activation', 'units', 'output', 'params', ...(last ? ['dead', 'saturated', 'gradRms', 'ratio'] : []), 'finding'];
  const right = new Set([0, 4, 6, ...(last ? [7, 8, 9, 10] : [])]);
  return table(head, rows, right);
}

export function summaryLine(report: Report): string {
  const t = report.training;
  const bits = [`${report.model.layers.length} layers`, `${report.model.params} params`];
  if (t) {
    bits.push(`${t.steps} steps (${t.stopped}) in ${formatNumber(report.timing.wallMs / 1000)} s, ${report.timing.stepsPerSecond} steps/s`);
    bits.push(`train loss ${formatNumber(t.final.trainLoss)}, val loss ${formatNumber(t.final.valLoss)}${t.final.valAccuracy !== undefined ? `, val accuracy ${pct(t.final.valAccuracy)}` : ''}`);
  }
  return `${locationName(report.config)}: ${bits.join(', ')}${report.dataNote ? `\nnote: ${report.dataNote}` : ''}`;
}

function findingText(f: ReportFinding, file: string): string {
  const fixes = f.suggestions.map(s => {
    const change = [s.activation && `activation: ${s.activation}`, s.init && `init: ${s.init}`, s.lr !== undefined && `lr: ${s.lr}`, s.clip !== undefined && `clip: ${s.clip}`]
      .filter(Boolean).join(', ');
    return `    fix: ${change ? `${change} — ` : ''}${s.reason}`;
  });
  const at = `${locationName(file)}:${f.source.line}:${f.source.column}`;
  return [`${f.severity.padEnd(7)} ${at} ${f.kind} ${f.layerName}${f.step !== null ? ` (step ${f.step})` : ''}`, `    ${f.message}`, ...fixes].join('\n');
}

export function findingsText(report: Report): string {
  if (!report.findings.length) return 'No findings.';
  const counts = ['error', 'warning', 'info'].map(s => `${report.findings.filter(f => f.severity === s).length} ${s}`).join(', ');
  return [`Findings (${counts}):`, ...report.findings.map(f => findingText(f, report.config))].join('\n');
}

export function suggestionsText(report: Report, top = 3): string {
  const lines = ['Suggestions (per layer, best first):'];
  for (const s of report.suggestions) {
    const name = report.model.layers[s.layer]?.name ?? String(s.layer);
    lines.push(`  ${name} (${s.current}): ${s.ranked.slice(0, top).map(r => `${r.activation} + ${r.init}`).join(', ')}`);
  }
  return lines.join('\n');
}

export function trialsText(ranked: RankedActivation[], configLr?: number): string {
  // Dead / saturated only where the activation has such a region (relu has no saturation, tanh no dead units).
  const has = (a: string, key: 'isDead' | 'isSaturated') => { const n = resolveActivation(a); return n !== undefined && ACTIVATIONS[n][key] !== null; };
  const rows = ranked.map((r, i) => [String(i + 1), r.activation + (r.trial?.diverged ? ' (diverged)' : ''), r.init,
    r.trial?.lr !== undefined ? `${formatNumber(r.trial.lr)}${configLr !== undefined && r.trial.lr !== configLr ? '*' : ''}` : '–',
    formatNumber(r.trial?.valLoss), formatNumber(r.trial?.trainLoss),
    r.trial?.valAccuracy !== undefined ? pct(r.trial.valAccuracy) : '–',
    has(r.activation, 'isDead') ? pct(r.trial?.deadFraction) : '–', has(r.activation, 'isSaturated') ? pct(r.trial?.saturatedFraction) : '–',
    formatNumber(r.trial?.gradRatio)]);
  return table(['rank', 'activation', 'init', 'lr', 'val loss', 'train loss', 'val acc', 'dead', 'saturated', 'grad ratio'], rows, new Set([0, 3, 4, 5, 6, 7, 8, 9]));
}

/** diagnose --verify: each suggestion's before/after, side by side. */
export function verificationsText(report: Report): string {
  const v = report.verifications ?? [];
  if (!v.length) return 'Verification: no finding with a suggestion to verify.';
  const lines = [`Verification (${v.length} suggestion${v.length > 1 ? 's' : ''}, each a run with the change applied, same seed and data):`];
  for (const x of v) {
    const name = (i: number) => report.model.layers[i]?.name ?? 'network';
    const f = x.suggestion.finding;
    lines.push(`  ${x.improved ? 'helps    ' : 'no help  '} ${f ? `${f.kind} ${name(f.layer)}` : x.suggestion.layers.map(name).join(', ')}: ${x.message}`);
    const pair = (p: number | null | undefined, q: number | null | undefined, fmt: (n: number | null | undefined) => string) => `${fmt(p)} -> ${fmt(q)}`;
    const rows = x.before.layers.flatMap((b, i) => {
      const a = x.after.layers[i];
      const values = [b.gradRatio, b.deadFraction, b.saturatedFraction, a?.gradRatio, a?.deadFraction, a?.saturatedFraction];
      if (values.every(v => v === null || v === undefined)) return [];   // e.g. a softmax output: nothing to compare
      return [[b.name, pair(b.gradRatio, a?.gradRatio, n => formatNumber(n ?? undefined)), pair(b.deadFraction, a?.deadFraction, pct), pair(b.saturatedFraction, a?.saturatedFraction, pct)]];
    });
    if (rows.length) lines.push(table(['layer', 'grad ratio', 'dead', 'saturated'], rows, new Set([1, 2, 3])).split('\n').map(l => `    ${l}`).join('\n'));
  }
  return lines.join('\n');
}
