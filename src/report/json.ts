/**
 * The JSON report of SPEC §6.1 ("schema": "activation-lens/report@1"), published as a JSON Schema at
 * schemas/report.schema.json. `diagnose --json`, `lint --json` (no training, timeline or trials) and the HTML
 * report all carry exactly this object. Non-finite numbers become null (JSON has no NaN).
 */
import type { NetworkConfig, Span } from '../model';
import { displayPos } from '../model';
import type { LayerStats, RunResult, StopReason } from '../core/types';
import type { Finding, FindingKind, LayerSuggestions, RankedActivation, Severity } from '../diagnosis/types';
import { inferShapes, countParams } from '../config/shapes';
import type { Verification } from '../diagnosis/verify';

export interface CompareSection {
  layer: number | 'all';
  /** The layers whose activation each candidate replaces. */
  layers: number[];
  steps: number;
  /** The config's learning rate (a candidate's `lr` differs from it only when a fair trial lowered it). */
  lr: number;
  rule: string;
  retryRule: string;
  verdict: string;
  /** The recommended candidate, or null when none beats the current activation beyond noise. */
  winner: string | null;
}

export const REPORT_SCHEMA_ID = 'activation-lens/report@1';

/**
 * An imported model trained on a random teacher (no data given) cannot show what it learns from real data:
 * the report and the panel say so plainly.
 */
export function dataNote(config: NetworkConfig): string | undefined {
  if (config.data.source !== 'teacher' || !(config.model.onnx || config.model.keras)) return undefined;
  return 'This imported model trains on synthetic data (a random teacher network of its input shape): the findings speak about '
    + 'its architecture and initialisation, not about what it learns. Point data: at your own data (npy, npz, idx, images or csv) to diagnose its learning.';
}

export interface SourcePos { line: number; column: number }

export interface ReportLayer {
  index: number; name: string; type: string;
  units?: number; filters?: number;
  activation: string | null; init: string | null;
  outputShape: number[]; params: number; source: SourcePos;
}

export interface ReportSuggestion { activation?: string; init?: string; lr?: number; clip?: number; reason: string }

export interface ReportFinding {
  kind: FindingKind; severity: Severity; layer: number; layerName: string; step: number | null; message: string;
  evidence: Finding['evidence']; suggestions: ReportSuggestion[]; source: SourcePos;
}

export interface ReportProbe { step: number; trainLoss: number | null; valLoss: number | null; layers: LayerStats[] }

export interface Report {
  schema: typeof REPORT_SCHEMA_ID;
  config: string;
  seed: number;
  model: { input: number[]; params: number; nonTrainableParams: number; layers: ReportLayer[] };
  training?: {
    steps: number; loss: string; optimizer: string;
    final: { trainLoss: number | null; valLoss: number | null; valAccuracy?: number };
    stopped: StopReason;
  };
  timeline?: ReportProbe[];
  findings: ReportFinding[];
  suggestions: { layer: number; current: string; ranked: RankedActivation[] }[];
  /** compare: what was compared, how it is ranked, and whether a candidate beats the current choice. */
  compare?: CompareSection;
  /** diagnose --verify: each verified suggestion's run against the original, same seed and data. */
  verifications?: Verification[];
  timing: { wallMs: number; stepsPerSecond: number };
  /** Present when the findings come from synthetic data on an imported model (see dataNote). */
  dataNote?: string;
}

const pos = (span: Span | undefined): SourcePos => (span ? displayPos(span.start) : { line: 1, column: 1 });

/** A finite number or null (what JSON.stringify would make of it anyway, but typed). */
const num = (x: number): number | null => (Number.isFinite(x) ? x : null);

function reportLayers(config: NetworkConfig): { layers: ReportLayer[]; params: number; nonTrainableParams: number } {
  const { shapes } = inferShapes(config.model.input, config.model.layers);
  const layers = config.model.layers.map((l, i): ReportLayer => {
    const s = shapes[i];
    const r: ReportLayer = {
      index: l.index, name: l.name, type: l.type,
      activation: 'activation' in l ? l.activation.name : null,
      init: l.type === 'dense' || l.type === 'conv2d' ? l.init.name : null,
      outputShape: s?.outputShape ?? [], params: s?.params ?? 0, source: pos(l.span),
    };
    if (l.type === 'dense') r.units = l.units;
    if (l.type === 'conv2d') r.filters = l.filters;
    return r;
  });
  // Trainable parameters only in `params`: batchnorm's moving statistics are counted in nonTrainableParams.
  const counts = countParams(shapes);
  return { layers, params: counts.params, nonTrainableParams: counts.nonTrainableParams };
}

/** Where a finding points: its span, else its layer's, else the config's train section (network-wide findings). */
function findingSource(f: Finding, config: NetworkConfig): SourcePos {
  const layer = config.model.layers[f.layer];
  return pos(f.span ?? layer?.span ?? config.spans['train.lr'] ?? config.spans['train'] ?? config.spans['model.layers']);
}

function reportFinding(f: Finding, config: NetworkConfig): ReportFinding {
  return {
    kind: f.kind, severity: f.severity, layer: f.layer, layerName: f.layerName, step: f.step, message: f.message,
    evidence: f.evidence,
    suggestions: f.suggestions.map(s => {
      const r: ReportSuggestion = { reason: s.reason };
      if (s.activation !== undefined) r.activation = s.activation;
      if (s.init !== undefined) r.init = s.init;
      if (s.lr !== undefined) r.lr = s.lr;
      if (s.clip !== undefined) r.clip = s.clip;
      return r;
    }),
    source: findingSource(f, config),
  };
}

export function buildReport(args: { configPath: string; config: NetworkConfig; result?: RunResult; findings: Finding[];
  suggestions: LayerSuggestions[]; wallMs?: number }): Report {
  const { config, result } = args;
  const model = reportLayers(config);
  const report: Report = {
    schema: REPORT_SCHEMA_ID,
    config: args.configPath,
    seed: config.seed,
    model: { input: config.model.input, params: result?.params ?? model.params, nonTrainableParams: result?.nonTrainableParams ?? model.nonTrainableParams, layers: model.layers },
    findings: args.findings.map(f => reportFinding(f, config)),
    suggestions: args.suggestions.map(s => ({ layer: s.layer, current: s.current, ranked: s.ranked })),
    timing: { wallMs: 0, stepsPerSecond: 0 },
  };
  const note = dataNote(config);
  if (note) report.dataNote = note;
  if (result) {
    const final: NonNullable<Report['training']>['final'] = { trainLoss: num(result.final.trainLoss), valLoss: num(result.final.valLoss) };
    if (result.final.valAccuracy !== undefined) final.valAccuracy = result.final.valAccuracy;
    report.training = { steps: result.steps, loss: config.train.loss, optimizer: config.train.optimizer, final, stopped: result.stopped };
    report.timeline = result.timeline.map(p => ({ step: p.step, trainLoss: num(p.trainLoss), valLoss: num(p.valLoss), layers: p.layers }));
    report.timing = { wallMs: Math.round(result.wallMs), stepsPerSecond: result.wallMs > 0 ? Math.round(result.steps / (result.wallMs / 1000)) : 0 };
  }
  if (args.wallMs !== undefined) report.timing.wallMs = Math.round(args.wallMs);
  return report;
}

/** The report as JSON text: NaN/Infinity anywhere (stats of a diverged run) become null. */
export function reportJson(report: Report, indent = 0): string {
  return JSON.stringify(report, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), indent);
}
