/**
 * Verification (SPEC §5, wave 2): a suggestion is a claim, so measure it. The config with the suggestion applied
 * trains from the same seed on the same data as the original; the two runs are summarized side by side (final
 * losses, loss curves, per-layer gradient ratio, dead and saturated fractions, the findings) and the suggestion
 * counts as an improvement when the validation loss drops beyond noise, or its finding is gone without the
 * validation loss getting worse beyond noise.
 */
import type { Dataset, LayerSpec, NetworkConfig, Thresholds } from '../model';
import type { RunResult, StopReason } from '../core/types';
import { train, type TrainOptions } from '../core/train';
import { resolveActivation } from '../core/activations';
import { resolveInit } from '../core/initializers';
import { holdsModelWeights } from '../config/weights';
import type { Finding, Severity, Suggestion } from './types';
import { diagnose } from './rules';
import { diagnosisLayers, isWeighted, outputLayerIndex } from './layers';
import { median, tail } from './stats';
import { freshLayers, TIE, trialWeights } from './trials';

export interface LayerHealth { layer: number; name: string; gradRatio: number | null; deadFraction: number | null; saturatedFraction: number | null }

export interface RunSummary {
  valLoss: number | null;
  trainLoss: number | null;
  valAccuracy?: number;
  stopped: StopReason;
  steps: number;
  /** The per-step training loss, averaged into at most 200 points ([step, loss]). */
  lossCurve: [number, number][];
  /** Hidden and output layers with a pre-activation: health over the last probes (medians). */
  layers: LayerHealth[];
  /** The findings of the run, as `severity kind@layer`. */
  findings: string[];
}

export interface Verification {
  /** What was applied: the suggestion's fields, the layers it changed, the finding it came from. */
  /** The finding it came from (absent for a per-layer ranked suggestion, which answers no finding). */
  suggestion: { activation?: string; init?: string; lr?: number; clip?: number; reason: string; layers: number[]; finding?: { kind: string; layer: number; severity: Severity } };
  before: RunSummary;
  after: RunSummary;
  /** The validation loss dropped by more than the near-tie margin (2%). */
  valLossImproved: boolean;
  /** No finding of the same kind (warning or error, or any for an info) on the finding's layers after the change. */
  findingGone: boolean;
  /** valLossImproved, or findingGone without the validation loss rising beyond noise. */
  improved: boolean;
  /** One sentence: what changed, or that the suggestion did not help. */
  message: string;
}

/** The layers a finding's suggestion changes: its own `layers`, else the finding's layer. */
export const suggestionLayers = (f: Finding, s: Suggestion): number[] => s.layers ?? (f.layer >= 0 ? [f.layer] : []);

/** Whether a suggestion changes anything a run can measure (a bare remark is not verifiable). */
export const isVerifiable = (s: Suggestion): boolean => s.activation !== undefined || s.init !== undefined || s.lr !== undefined || s.clip !== undefined;

/**
 * The config with a suggestion applied, the way Apply edits the file: the activation on each listed layer that has
 * one, the init on each listed layer that has one, lr and clip in the train section.
 */
export function applySuggestion(config: NetworkConfig, layers: number[], s: Suggestion): NetworkConfig {
  const activation = s.activation !== undefined ? resolveActivation(s.activation) : undefined;
  if (s.activation !== undefined && !activation) throw new Error(`unknown activation "${s.activation}"`);
  const init = s.init !== undefined ? resolveInit(s.init) : undefined;
  if (s.init !== undefined && !init) throw new Error(`unknown initializer "${s.init}"`);
  const out = config.model.layers.map(l => ({ ...l })) as LayerSpec[];
  for (const i of layers) {
    const l = out[i];
    if (!l) throw new Error(`layer ${i} is not in the config`);
    if (activation && 'activation' in l) l.activation = { name: activation };
    if (init && (l.type === 'dense' || l.type === 'conv2d')) l.init = init;
  }
  const trainSpec = { ...config.train };
  if (s.lr !== undefined) trainSpec.lr = s.lr;
  if (s.clip !== undefined) trainSpec.clip = s.clip;
  const model = { ...config.model, layers: out };
  // init: from-model, as compare does it (trialWeights): the changed layers start fresh, the others keep the
  // model's weights. A whole-model from-model becomes per layer so that loading the weights again skips them.
  const fresh = freshLayers(config, changedLayers(config, layers, s));
  if (fresh.size && (model.fromModel || out.some(l => l.fromModel))) {
    if (model.fromModel) {
      delete model.fromModel;
      for (const l of out) if (holdsModelWeights(l)) l.fromModel = true;
    }
    for (const i of fresh) delete out[i].fromModel;
  }
  return { ...config, train: trainSpec, model };
}

/** The layers of `layers` that applySuggestion changes (lr and clip change none). */
export function changedLayers(config: NetworkConfig, layers: number[], s: Suggestion): number[] {
  return layers.filter(i => {
    const l = config.model.layers[i];
    return !!l && ((s.activation !== undefined && 'activation' in l) || (s.init !== undefined && (l.type === 'dense' || l.type === 'conv2d')));
  });
}

/**
 * The imported weights the run with a suggestion starts from (`init: from-model`): all but those of the layers it
 * changes, as compare's trials do.
 */
export function suggestionWeights(config: NetworkConfig, layers: number[], s: Suggestion,
  weights: (Record<string, Float32Array> | undefined)[] | undefined): (Record<string, Float32Array> | undefined)[] | undefined {
  return trialWeights(config, changedLayers(config, layers, s), weights);
}

const finite = (x: number): number | null => (Number.isFinite(x) ? x : null);
const round = (x: number | null, digits = 4): number | null => (x === null ? null : Number(x.toPrecision(digits)));

/** Averages the per-step losses into at most `points` [step, loss] pairs (steps count from 1). */
export function decimate(curve: number[], points = 200): [number, number][] {
  const k = Math.max(1, Math.ceil(curve.length / points));
  const out: [number, number][] = [];
  for (let i = 0; i < curve.length; i += k) {
    const part = curve.slice(i, i + k);
    const m = part.reduce((a, b) => a + b, 0) / part.length;
    out.push([i + part.length, Number.isFinite(m) ? Number(m.toPrecision(5)) : NaN]);
  }
  return out;
}

/** The side-by-side numbers of one run. */
export function summarizeRun(config: NetworkConfig, result: RunResult, findings: Finding[]): RunSummary {
  const tl = result.timeline;
  const layers = config.model.layers;
  const out = outputLayerIndex(layers);
  const scales = diagnosisLayers(config);
  const last = tl.slice(-3);
  const health: LayerHealth[] = [];
  for (let i = 0; i < layers.length; i++) {
    const l = layers[i];
    if (!isWeighted(l.type) && l.type !== 'activation') continue;
    const dead = median(last.map(p => p.layers[i]?.deadFraction ?? NaN));
    const sat = median(last.map(p => p.layers[i]?.saturatedFraction ?? NaN));
    const scale = scales[i].gradScale ?? 1;
    const ratio = isWeighted(l.type) && i !== out
      ? median(tail(tl, 0.2).map(p => (p.layers[i].gradRms * scale) / p.layers[out].gradRms)) : NaN;
    health.push({ layer: i, name: l.name, gradRatio: round(finite(ratio), 3), deadFraction: round(finite(dead)), saturatedFraction: round(finite(sat)) });
  }
  const s: RunSummary = {
    valLoss: round(finite(result.final.valLoss), 5),
    trainLoss: round(finite(result.final.trainLoss), 5),
    stopped: result.stopped, steps: result.steps,
    lossCurve: decimate(result.lossCurve),
    layers: health,
    findings: findings.map(f => `${f.severity} ${f.kind}@${f.layer}`),
  };
  if (result.final.valAccuracy !== undefined) s.valAccuracy = result.final.valAccuracy;
  return s;
}

/** The layers a finding is about: its own and any it lists in its evidence. */
function findingLayers(f: Finding): Set<number> {
  const set = new Set<number>([f.layer]);
  for (const key of ['layers', 'affectedLayers', 'deadLayers'] as const) {
    const v = f.evidence[key];
    if (Array.isArray(v)) for (const i of v) set.add(i);
  }
  return set;
}

/** Is `finding` still there among `after`'s findings (same kind on one of its layers, at warning/error unless it was an info)? */
export function stillThere(finding: Finding, after: Finding[]): boolean {
  const where = findingLayers(finding);
  return after.some(f => f.kind === finding.kind && (finding.layer < 0 || f.layer < 0 || [...findingLayers(f)].some(i => where.has(i)))
    && (finding.severity === 'info' || f.severity !== 'info'));
}

const fmt = (x: number | null) => (x === null ? 'non-finite' : Number(x.toPrecision(3)).toString());

function describe(s: Suggestion): string {
  const bits = [s.activation && `activation ${s.activation}`, s.init && `init ${s.init}`, s.lr !== undefined && `lr ${s.lr}`, s.clip !== undefined && `clip ${s.clip}`].filter(Boolean);
  return bits.join(', ');
}

/**
 * Compares two runs of the same seed and data: the original and the one with `suggestion` applied to `layers`.
 * Without a finding (a per-layer ranked suggestion) only the validation loss decides.
 */
export function compareRuns(finding: Finding | undefined, suggestion: Suggestion, layers: number[], before: { config: NetworkConfig; result: RunResult; findings: Finding[] },
  after: { config: NetworkConfig; result: RunResult; findings: Finding[] }): Verification {
  const b = summarizeRun(before.config, before.result, before.findings);
  const a = summarizeRun(after.config, after.result, after.findings);
  // A diverged run's last val loss (before the blow-up) is no result: it counts as infinitely bad.
  const loss = (x: RunSummary) => (x.stopped === 'non-finite' ? Infinity : x.valLoss ?? Infinity);
  const bv = loss(b), av = loss(a);
  const valLossImproved = av < bv && (bv === Infinity || bv - av > TIE * Math.abs(bv));
  const worse = av > bv && (av === Infinity || av - bv > TIE * Math.abs(bv));
  const findingGone = finding ? !stillThere(finding, after.findings) : false;
  // A change that makes the run diverge helps nothing, whatever findings it no longer measures.
  const improved = a.stopped !== 'non-finite' && (valLossImproved || (findingGone && !worse));
  const what = describe(suggestion);
  const change = `val loss ${fmt(b.valLoss)} -> ${fmt(a.valLoss)}`;
  const gone = !finding ? `findings ${b.findings.length} -> ${a.findings.length}`
    : findingGone ? `the ${finding.kind} finding is gone` : `the ${finding.kind} finding remains`;
  const message = improved
    ? `${what} helps: ${change}, ${gone}`
    : a.stopped === 'non-finite' ? `${what} does not help here: the run with it diverged (non-finite at step ${after.result.steps})`
      : `${what} does not help here: ${change}${worse ? ' (worse)' : ' (no change beyond noise)'}, ${gone}`;
  const applied: Verification['suggestion'] = { ...pick(suggestion), layers };
  if (finding) applied.finding = { kind: finding.kind, layer: finding.layer, severity: finding.severity };
  return { suggestion: applied, before: b, after: a, valLossImproved, findingGone, improved, message };
}

function pick(s: Suggestion): Omit<Suggestion, 'layers'> {
  const r: Omit<Suggestion, 'layers'> = { reason: s.reason };
  if (s.activation !== undefined) r.activation = s.activation;
  if (s.init !== undefined) r.init = s.init;
  if (s.lr !== undefined) r.lr = s.lr;
  if (s.clip !== undefined) r.clip = s.clip;
  return r;
}

/**
 * Verifies one suggestion of `finding` against the original run: trains the changed config (same seed, data and
 * steps), diagnoses it with the same thresholds, and compares.
 */
export function verifySuggestion(before: { config: NetworkConfig; result: RunResult; findings: Finding[] }, data: Dataset,
  finding: Finding, suggestion: Suggestion, opts: { thresholds?: Thresholds; train?: TrainOptions } = {}): Verification {
  const layers = suggestionLayers(finding, suggestion);
  const config = applySuggestion(before.config, layers, suggestion);
  const initialWeights = suggestionWeights(before.config, layers, suggestion, opts.train?.initialWeights);
  const result = train(config, data, { ...opts.train, initialWeights });
  return compareRuns(finding, suggestion, layers, before, { config, result, findings: diagnose(config, result, opts.thresholds) });
}

/** verifySuggestion on another engine (the torch engine): `train` runs the changed config. */
export async function verifySuggestionWith(before: { config: NetworkConfig; result: RunResult; findings: Finding[] }, data: Dataset,
  finding: Finding, suggestion: Suggestion, train: (config: NetworkConfig, initialWeights?: (Record<string, Float32Array> | undefined)[]) => Promise<RunResult>,
  opts: { thresholds?: Thresholds; initialWeights?: (Record<string, Float32Array> | undefined)[] } = {}): Promise<Verification> {
  const layers = suggestionLayers(finding, suggestion);
  const config = applySuggestion(before.config, layers, suggestion);
  const result = await train(config, suggestionWeights(before.config, layers, suggestion, opts.initialWeights));
  return compareRuns(finding, suggestion, layers, before, { config, result, findings: diagnose(config, result, opts.thresholds) });
}

/**
 * What `diagnose --verify` checks: the first verifiable suggestion of each warning or error finding (of each
 * finding when there are only infos), the same change once, at most `max`.
 */
export function verificationTargets(findings: Finding[], max = 8): { finding: Finding; suggestion: Suggestion }[] {
  const severe = findings.filter(f => f.severity !== 'info');
  const seen = new Set<string>();
  const out: { finding: Finding; suggestion: Suggestion }[] = [];
  for (const f of severe.length ? severe : findings) {
    const s = f.suggestions.find(isVerifiable);
    if (!s) continue;
    // lr and clip are global: the same rate from two findings is one change.
    const key = JSON.stringify([describe(s), s.activation || s.init ? suggestionLayers(f, s) : []]);
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ finding: f, suggestion: s });
    if (out.length >= max) break;
  }
  return out;
}
