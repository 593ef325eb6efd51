/**
 * `activation-lens diagnose-run <logdir | config.nn.yaml> [--json] [--html FILE] [--model FILE] [--fail-on error|warning|never]
 *   [--run NAME] [--tag QUANTITY=TEMPLATE[,...]]... [--activation LAYER=NAME[,...]]... [--threshold KEY=VALUE[,...]]...`
 * Diagnoses TensorBoard runs with the SPEC §4 rules: a per-layer table and findings per run, or the §6.1
 * JSON report (one object for one run; {schema: "activation-lens/runs@1", runs: [...]} for several).
 * Exit codes as SPEC §6: 0 clean, 1 findings at or above --fail-on, 2 unusable input (one line on stderr).
 */
import * as path from 'node:path';
import { InputError, formatProblem, type Thresholds } from '../model';
import { InputFailure, ReportFile, loadConfig } from './input';
import { UsageError as CliUsageError } from './args';
import { formatNumber as fmt, locationName, safeName } from '../format';
import type { Finding, Severity } from '../diagnosis/types';
import { REPORT_SCHEMA_ID, type Report } from '../report/json';
import { renderHtmlReport } from '../report/html';
import { diagnoseTbRun } from '../tensorboard/diagnose';
import { DEFAULT_THRESHOLDS, isThresholdKey } from '../diagnosis/thresholds';
import { didYouMean } from '../config/names';
import { logdirFromConfig, readLogdir, type LogdirOptions } from '../tensorboard/logdir';
import type { TbRun } from '../tensorboard/run';
import { modelShapes } from '../tensorboard/modelShapes';
import type { ModelShapes } from '../tensorboard/weightRules';

export interface CliIo {
  stdout: { write(s: string): unknown };
  stderr: { write(s: string): unknown };
}

export const DIAGNOSE_RUN_USAGE =
  'usage: activation-lens diagnose-run <logdir|config> [--json] [--html FILE] [--model FILE] [--fail-on error|warning|never] [--run NAME] ' +
  '[--tag QUANTITY=TEMPLATE[,...]]... [--activation LAYER=NAME[,...]]... [--threshold KEY=VALUE[,...]]...';

interface Args {
  logdir: string; json: boolean; failOn: Severity | 'never'; run?: string; html?: string; model?: string;
  tags: Record<string, string>; activations: Record<string, string>; thresholds: Thresholds;
}

class UsageError extends Error {}

function parseArgs(argv: string[]): Args {
  const a: Args = { logdir: '', json: false, failOn: 'error', tags: {}, activations: {}, thresholds: {} };
  const pair = (flag: string, v: string | undefined): [string, string] => {
    const i = v?.indexOf('=') ?? -1;
    if (!v || i <= 0) throw new UsageError(`${flag} expects KEY=VALUE, got ${v ?? 'nothing'}`);
    return [v.slice(0, i), v.slice(i + 1)];
  };
  // --name=value is --name value
  argv = argv.flatMap(x => (x.startsWith('--') && x.includes('=') ? [x.slice(0, x.indexOf('=')), x.slice(x.indexOf('=') + 1)] : [x]));
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    switch (arg) {
      case '--json': a.json = true; break;
      case '--fail-on': {
        const v = argv[++i];
        if (v !== 'error' && v !== 'warning' && v !== 'info' && v !== 'never') throw new UsageError(`--fail-on expects error, warning or never, got ${v ?? 'nothing'}`);
        a.failOn = v; break;
      }
      case '--run': a.run = argv[++i]; if (a.run === undefined) throw new UsageError('--run expects a run name'); break;
      case '--html': a.html = argv[++i]; if (!a.html) throw new UsageError('--html expects a file name'); break;
      case '--model': a.model = argv[++i]; if (!a.model) throw new UsageError('--model expects a config, Keras model JSON or ONNX file'); break;
      case '--tag': // QUANTITY=TEMPLATE, repeated or comma-separated
        for (const item of (argv[++i] ?? '').split(',')) { const [k, v] = pair(arg, item); a.tags[k] = v; }
        break;
      case '--activation': // LAYER=NAME, repeated or comma-separated
        for (const item of (argv[++i] ?? '').split(',')) { const [k, v] = pair(arg, item); a.activations[k] = v; }
        break;
      case '--threshold': // KEY=VALUE, repeated or comma-separated
        for (const item of (argv[++i] ?? '').split(',')) {
          const [k, v] = pair(arg, item);
          const x = Number(v);
          if (!isThresholdKey(k)) {
            throw new UsageError(`--threshold: unknown threshold "${k}"${didYouMean(k, Object.keys(DEFAULT_THRESHOLDS))}`);
          }
          if (!Number.isFinite(x)) throw new UsageError(`--threshold ${k} expects a number, got ${v}`);
          a.thresholds[k] = x;
        }
        break;
      default:
        if (arg.startsWith('-')) throw new UsageError(`unknown option ${arg}`);
        if (a.logdir) throw new UsageError(`unexpected argument ${arg}`);
        a.logdir = arg;
    }
  }
  if (!a.logdir) throw new UsageError('missing <logdir>');
  return a;
}

const RANK: Record<Severity, number> = { error: 0, warning: 1, info: 2 };
const CONFIG_FILE = /\.nn\.(ya?ml|json)$/i;

/** Histogram quantities that the run rules can read (weights alone give them nothing). */
const DIAGNOSABLE = new Set(['preact', 'activation', 'grad']);

export async function diagnoseRun(argv: string[], io: CliIo): Promise<number> {
  const t0 = Date.now();
  let args: Args;
  try { args = parseArgs(argv); } catch (e) {
    io.stderr.write(`${(e as Error).message}\n${DIAGNOSE_RUN_USAGE}\n`);
    return 2;
  }
  // Before any log is read: a report must never replace an input, and a bad path fails now, not after the work.
  let out: ReportFile | undefined;
  if (args.html) {
    try { out = new ReportFile('--html', args.html, [args.logdir, ...(args.model ? [args.model] : [])]); } catch (e) {
      io.stderr.write(`${(e as Error).message}\n`);
      return 2;
    }
  }
  try {
    return diagnoseRunWith(args, io, t0, out);
  } finally {
    out?.close();
  }
}

/** diagnose-run after its options are parsed; `out` (--html) is closed by the caller. */
function diagnoseRunWith(args: Args, io: CliIo, t0: number, out: ReportFile | undefined): number {
  let runs: TbRun[];
  let shapes: ModelShapes = {};
  try {
    let options: LogdirOptions = { tags: args.tags, activations: args.activations };
    if (args.model) {
      // Layer shapes (fan-in/out of conv kernels) and activations from the user's model; --activation wins.
      const model = modelShapes(loadConfig(args.model, line => io.stderr.write(`${line}\n`)));
      shapes = model.shapes;
      options = { ...options, activations: { ...model.activations, ...args.activations } };
    }
    let logdir = args.logdir;
    if (CONFIG_FILE.test(args.logdir)) {
      // A config with data.source: tensorboard: its logdir, tags and layer activations; options on top.
      const config = loadConfig(args.logdir, line => io.stderr.write(`${line}\n`));
      if (config.data.source !== 'tensorboard') {
        io.stderr.write(`${locationName(args.logdir)}:1:1: diagnose-run needs a log directory or a config with data.source: tensorboard (this one trains on ${config.data.source}; use diagnose)\n`);
        return 2;
      }
      const fromConfig = logdirFromConfig(config, path.dirname(args.logdir));
      logdir = fromConfig.logdir;
      options = { tags: { ...fromConfig.options.tags, ...args.tags }, activations: { ...fromConfig.options.activations, ...options.activations } };
      if (!args.model) shapes = modelShapes(config).shapes;
      args.thresholds = { ...config.diagnostics, ...args.thresholds };
    }
    // The log directory (perhaps named by a config) holds inputs only: no report is written into it.
    out?.check([logdir]);
    runs = readLogdir(logdir, options);
  } catch (e) {
    if (e instanceof InputFailure) { io.stderr.write(`${e.line}\n`); return 2; }
    if (e instanceof CliUsageError) { io.stderr.write(`${e.message}\n`); return 2; }
    if (e instanceof InputError) { io.stderr.write(formatProblem(e.file ?? args.logdir, e.problem) + '\n'); return 2; }
    io.stderr.write(`${locationName(args.logdir)}:1:1: cannot read the log directory: ${(e as Error).message}\n`);
    return 2;
  }
  const fail = (message: string) => { io.stderr.write(`${locationName(args.logdir)}:1:1: ${message}\n`); return 2; };
  if (!runs.length) return fail('no TensorBoard event files (events.out.tfevents.*) found');
  if (args.run !== undefined) {
    runs = runs.filter(r => r.name === args.run);
    if (!runs.length) return fail(`no run named "${safeName(args.run)}"`);
  }
  for (const r of runs) for (const i of r.issues) io.stderr.write(`${locationName(i.file)}: warning: ${i.message}\n`);
  for (const r of runs) for (const n of r.notes ?? []) io.stderr.write(`${locationName(args.logdir)}: note: run "${safeName(r.name)}": ${n}\n`);

  const usable = runs.filter(r => r.layers.length && r.timeline.length);
  if (!usable.length) {
    const tags = [...new Set(runs.flatMap(r => r.tags.map(t => t.tag)))];
    const hists = [...new Set(runs.flatMap(r => r.tags.filter(t => t.kind === 'histogram').map(t => t.tag)))];
    const what = hists.length
      ? `no layers: none of the ${hists.length} histogram tag(s) names a layer's weights, outputs or gradients (${hists.slice(0, 12).join(', ')}${hists.length > 12 ? ', ...' : ''})`
      : `no layers: the log holds no histograms (tags: ${tags.slice(0, 12).join(', ') || 'none'}${tags.length > 12 ? ', ...' : ''})`;
    return fail(`${what}; log "<layer>/weight", "<layer>/activation" or "<layer>/grad_preact" histograms (examples/pytorch/activation_lens_hooks.py) or map tags with --tag QUANTITY=TEMPLATE`);
  }
  const results = usable.map(run => ({ run, findings: diagnoseTbRun(run, args.thresholds, shapes) }));
  for (const { run } of results) {
    if (!run.tags.some(t => t.quantity && DIAGNOSABLE.has(t.quantity))) {
      io.stderr.write(`${locationName(args.logdir)}: note: run "${safeName(run.name)}" has only weight histograms: weight statistics and update ratios are measured, but dead units, saturation and gradient flow need ` +
        '"<layer>/activation" (or "<layer>/preact") and "<layer>/grad_preact" histograms (see docs/tensorboard.md)\n');
    }
  }
  const wallMs = Date.now() - t0;
  if (out) {
    // One page per run: the first run's report (with several runs, name one with --run).
    const r = results[0];
    try {
      out.write(renderHtmlReport(runReport(args.logdir, r.run, r.findings, wallMs) as unknown as Report));
    } catch (e) {
      io.stderr.write(`${(e as Error).message}\n`);
      return 2;
    }
    io.stderr.write(`wrote ${safeName(out.path)}${results.length > 1 ? ` (run "${safeName(r.run.name)}"; choose another with --run)` : ''}\n`);
  }
  if (args.json) {
    const reports = results.map(r => runReport(args.logdir, r.run, r.findings, wallMs));
    io.stdout.write(JSON.stringify(reports.length === 1 ? reports[0] : { schema: 'activation-lens/runs@1', logdir: args.logdir, runs: reports }, null, 2) + '\n');
  } else {
    io.stdout.write(results.map(r => textReport(r.run, r.findings)).join('\n'));
  }
  const threshold = args.failOn === 'never' ? -1 : RANK[args.failOn];
  return results.some(r => r.findings.some(f => RANK[f.severity] <= threshold)) ? 1 : 0;
}

/**
 * The SPEC §6.1 shape for a run read from logs. What logs cannot tell (seed, input, init, shapes, params) is
 * null, and `source` says where the run came from; findings point at 1:1 (there is no config to point into).
 */
export function runReport(logdir: string, run: TbRun, findings: Finding[], wallMs: number) {
  const last = run.timeline[run.timeline.length - 1];
  const tagsOf = (name: string) => Object.fromEntries(run.tags.filter(t => t.layer === name && t.quantity).map(t => [t.quantity!, t.tag]));
  return {
    schema: REPORT_SCHEMA_ID,
    config: logdir,
    source: { kind: 'tensorboard', logdir, run: run.name, dir: run.dir,
      files: run.files.map(f => ({ path: f.path, records: f.records })), issues: run.issues, ...(run.notes ? { notes: run.notes } : {}) },
    seed: null,
    model: {
      input: null, params: null, nonTrainableParams: null,
      layers: run.layers.map(l => ({ index: l.index, name: l.name, type: l.type, activation: l.activation?.name ?? null,
        ...(l.activationSource ? { activationSource: l.activationSource } : {}), ...(l.inferred ? { inferred: l.inferred } : {}),
        ...(l.weightCount !== undefined ? { weightCount: l.weightCount } : {}), ...(l.biasCount !== undefined ? { biasCount: l.biasCount } : {}),
        init: null, outputShape: null, params: null, source: null, tags: tagsOf(l.name) })),
    },
    training: {
      steps: last?.step ?? 0, loss: null, optimizer: null,
      final: { trainLoss: last?.trainLoss ?? null, valLoss: last?.valLoss ?? null, ...(last?.valAccuracy !== undefined ? { valAccuracy: last.valAccuracy } : {}) },
      stopped: run.nonFinite ? 'non-finite' : 'completed', stepUnit: run.stepUnit,
    },
    timeline: run.timeline.map(p => ({ step: p.step, trainLoss: p.trainLoss, valLoss: p.valLoss, layers: p.layers })),
    findings: findings.map(f => ({ kind: f.kind, severity: f.severity, layer: f.layer, layerName: f.layerName, step: f.step,
      message: f.message, evidence: f.evidence, suggestions: f.suggestions, source: { line: 1, column: 1 } })),
    suggestions: [],
    timing: { wallMs, stepsPerSecond: null },
  };
}

function pad(s: string, n: number): string { return s.length >= n ? s + ' ' : s + ' '.repeat(n - s.length); }
const pct = (x: number | null, bounds?: [number, number]) =>
  x === null || !Number.isFinite(x) ? '–' : `${fmt(100 * x, 2)}%${bounds && bounds[1] - bounds[0] > 0.005 ? ` (${fmt(100 * bounds[0], 2)}-${fmt(100 * bounds[1], 2)})` : ''}`;

export function textReport(run: TbRun, findings: Finding[]): string {
  const tl = run.timeline, last = tl[tl.length - 1];
  const records = run.files.reduce((a, f) => a + f.records, 0);
  const unit = run.stepUnit === 'epoch' ? 'epochs (Keras logs one step per epoch)' : 'steps';
  const lines = [`TensorBoard run "${safeName(run.name)}" (${safeName(run.dir)}): ${run.layers.length} layers, ${tl.length} logged ${unit} (${tl[0].step}..${last.step}), ` +
    `${run.files.length} file${run.files.length === 1 ? '' : 's'}, ${records} records`];
  const has = (q: string) => run.tags.some(t => t.quantity === q);
  const w = Math.max(5, ...run.layers.map(l => l.name.length)) + 1;
  const actName = (l: TbRun['layers'][number]) => (l.activation ? `${l.activation.name}${l.activationSource === 'inferred' ? '*' : ''}` : '?');
  if (has('preact') || has('activation') || has('grad')) {
    const out = run.layers.length - 1;
    lines.push(`  ${pad('layer', w)}${pad('activation', 12)}${pad('dead', 16)}${pad('saturated', 16)}${pad('gradRms', 10)}ratio to output`);
    for (const l of run.layers) {
      const s = last.layers[l.index];
      const ratio = s.gradRms / last.layers[out].gradRms;
      lines.push(`  ${pad(l.name, w)}${pad(actName(l), 12)}${pad(pct(s.deadFraction, s.estimated?.deadFraction), 16)}` +
        `${pad(pct(s.saturatedFraction, s.estimated?.saturatedFraction), 16)}${pad(fmt(Number.isFinite(s.gradRms) ? s.gradRms : null), 10)}` +
        `${Number.isFinite(ratio) ? fmt(ratio) : '–'}`);
    }
    for (const l of run.layers.filter(x => x.activationSource === 'inferred')) {
      lines.push(`  * ${l.name}: ${l.activation!.name} inferred from its outputs (${l.inferred!.family}: ${l.inferred!.evidence}); override with --activation ${l.name}=NAME`);
    }
    if (run.layers.some(l => !l.activation && run.tags.some(t => t.layer === l.name && (t.quantity === 'preact' || t.quantity === 'activation')))) {
      lines.push('  (activation "?": dead/saturated fractions need the activation; give it with --activation LAYER=NAME)');
    }
    lines.push(`  Values at step ${last.step}; dead/saturated fractions are estimated from histogram buckets (bounds in parentheses when they differ).`);
  } else {
    lines.push('  No activation or gradient histograms: dead/saturated fractions and gradient flow cannot be measured (log "<layer>/activation" and "<layer>/grad_preact").');
  }
  const weighted = run.layers.filter(l => tl.some(p => p.layers[l.index]?.weights));
  if (weighted.length) {
    lines.push('', `  weights (from their histograms)`);
    lines.push(`  ${pad('layer', w)}${pad('count', 9)}${pad('fan-in', 8)}${pad('mean', 11)}${pad('std', 10)}${pad('norm', 10)}${pad('norm x', 8)}update ratio >= (per ${run.stepUnit}, last interval)`);
    for (const l of weighted) {
      const series = tl.map(p => p.layers[l.index]?.weights).filter((x): x is NonNullable<typeof x> => !!x);
      const first = series[0], s = series[series.length - 1];
      const fanIn = l.weightCount && l.biasCount ? fmt(l.weightCount / l.biasCount) : '–';
      const norm = s.exact ? fmt(s.norm) : `${fmt(s.norm)}±${fmt(((s.normBounds![1] - s.normBounds![0]) / 2))}`;
      lines.push(`  ${pad(l.name, w)}${pad(String(s.count), 9)}${pad(fanIn, 8)}${pad(fmt(s.mean), 11)}${pad(fmt(s.std), 10)}${pad(norm, 10)}` +
        `${pad(fmt(s.norm / first.norm), 8)}${s.updateRatioLower === null ? '–' : s.unchanged ? '0 (unchanged)' : s.updateRatioLower === 0 ? '0 (below the buckets\' resolution)' : fmt(s.updateRatioLower)}`);
    }
    lines.push(`  Values at step ${last.step}; "norm x" = norm now / at the first logged step. The update ratio is a lower bound on ||dW||/||W|| (docs/tensorboard.md, "Weights").`);
  }
  if (!findings.length) lines.push('  No findings.');
  for (const f of findings) {
    const where = [f.step !== null ? `step ${f.step}` : '', f.evidence.tag ? `tag ${f.evidence.tag}` : ''].filter(Boolean).join(', ');
    lines.push(`  ${pad(f.severity, 8)}${pad(f.kind, 20)}${f.layerName}${where ? ` (${where})` : ''}: ${f.message}`);
    for (const s of f.suggestions) lines.push(`      -> ${s.reason}`);
  }
  return lines.join('\n') + '\n';
}

/**
 * The entry of the CLI's command table (src/cli/main.ts). The table parses options into a map (one value per
 * name), so this hands the words back to diagnoseRun: give several tags/activations comma-separated.
 */
export const diagnoseRunCommand = {
  usage: DIAGNOSE_RUN_USAGE.replace(/^usage: /, ''),
  args: { flags: ['json'], values: ['fail-on', 'run', 'tag', 'activation', 'threshold', 'html', 'model'] },
  run(args: { positionals: string[]; flags: Set<string>; values: Map<string, string> }, io: CliIo): Promise<number> {
    const argv = [...args.positionals, ...[...args.flags].map(f => `--${f}`), ...[...args.values].flatMap(([k, v]) => [`--${k}`, v])];
    return diagnoseRun(argv, io);
  },
};
