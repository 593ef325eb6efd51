/**
 * One run (a directory of event files) turned into what the rest of the product reads: layers and a
 * ProbePoint[] timeline. Events are folded in as they are read, histograms reduced on arrival to a few
 * numbers and a chart histogram, so memory does not grow with the size of the logs: at most `maxPoints`
 * steps are kept (older ones thinned out evenly) and scalar series are thinned the same way.
 */
import type { ActivationSpec } from '../model';
import { activationSpecOf } from '../core/activations';
import type { Histogram, LayerStats, NonFiniteEvent, ProbePoint, WeightStats } from '../core/types';
import type { TbEvent, TbHistogram } from './events';
import { chartEdges, deadEstimate, Estimate, moments, nonFiniteIn, rebin, saturationEstimate } from './histStats';
import { matchTag, Quantity, SCALAR_QUANTITIES, TagRule } from './tags';
import { displacementLowerBound, inferActivation, stillFits, weightMoments, type InferredActivation } from './weights';
import type { RecordIssue } from './tfrecord';

/**
 * Per-run limits: a log (or its layer metadata) may declare any number of layers and tags, and the timeline
 * is steps x layers. Beyond these the run is read partially and says so (TbRun.notes).
 */
export const MAX_LAYERS_PER_RUN = 1000;
export const MAX_TAGS_PER_RUN = 5000;
/** Steps x layers kept in the timeline: fewer steps are kept when there are many layers. */
export const MAX_LAYER_POINTS = 100_000;

/** Tag the project's PyTorch helper (and writer) uses for layer metadata: JSON [{name, activation}]. */
export const LAYERS_TAG = 'activation_lens/layers';

export interface TbLayer {
  index: number;
  name: string;
  activation?: ActivationSpec;
  /** 'dense' or 'conv2d' as the helper's metadata says; 'dense' when unknown (the rules judge weighted layers). */
  type: string;
  /** Where the activation came from: options (CLI/config/settings), the helper's metadata, or inferred from outputs. */
  activationSource?: 'given' | 'metadata' | 'inferred';
  /** For an inferred activation: its family ("relu-family", ...) and the evidence ("values in [0, 2.04], 38% exactly 0"). */
  inferred?: { family: string; evidence: string };
  /** Number of weights and of biases, from their histograms (fan-in of a dense layer = weights / biases). */
  weightCount?: number;
  biasCount?: number;
}

export interface TbTagInfo {
  tag: string;
  kind: 'scalar' | 'histogram' | 'text' | 'other';
  /** What it was mapped to; absent when no rule matched (the tag is listed but not used). */
  quantity?: Quantity;
  layer?: string;
  plugin?: string;
  count: number;
  firstStep: number;
  lastStep: number;
}

export interface TbFileInfo { path: string; records: number; issues: RecordIssue[] }

export interface TbRun {
  /** Path of the run directory relative to the log directory ("." for the log directory itself). */
  name: string;
  dir: string;
  layers: TbLayer[];
  timeline: ProbePoint[];
  tags: TbTagInfo[];
  files: TbFileInfo[];
  /** Every framing problem of every file (corrupt records, a truncated tail of a finished file). */
  issues: (RecordIssue & { file: string })[];
  /** What was left out by a per-run limit (layers, tags), one sentence each. */
  notes?: string[];
  /** First NaN/Inf seen: loss, then forward (z, a), then backward (dL/dz), by step. */
  nonFinite?: NonFiniteEvent;
  /** Steps dropped because the writer restarted (SessionLog START), as TensorBoard does. */
  restarts: number;
  /** The training-loss scalar as [step, value] (thinned like the steps), for loss charts. */
  lossCurve: [number, number][];
  /** What the step axis counts: 'epoch' for Keras callback logs (epoch_* scalars), else optimizer steps. */
  stepUnit: 'step' | 'epoch';
}

/** What a layer's histograms at one step reduce to. */
interface LayerPiece {
  preact?: { mean: number; std: number; hist: Histogram; dead: Estimate | null; sat: Estimate | null; nonFinite: number };
  activation?: { mean: number; std: number; hist: Histogram; dead: Estimate | null; sat: Estimate | null; nonFinite: number };
  gradRms?: number; gradNonFinite?: number;
  weightGradRms?: number;
  weights?: WeightStats;
}

export interface RunOptions {
  rules: TagRule[];
  /** Activation per layer name (config/CLI/settings); wins over the helper's metadata. */
  activations?: Record<string, string>;
  /** Steps kept (default 2000). */
  maxPoints?: number;
}

export class TbRunBuilder {
  private readonly layerIndex = new Map<string, number>();
  private readonly layerList: TbLayer[] = [];
  private readonly metaActivations = new Map<string, ActivationSpec>();
  private readonly metaTypes = new Map<string, string>();
  private readonly steps = new Map<number, Map<number, LayerPiece>>();
  private readonly scalars = new Map<Quantity, [number, number][]>();
  private readonly tagInfo = new Map<string, TbTagInfo>();
  private readonly edges = new Map<string, number[]>();
  private readonly pointLimit: number;
  /** Names left out by a limit (themselves capped: counting is all they are for). */
  private readonly droppedLayers = new Set<string>();
  private readonly droppedTags = new Set<string>();
  private restarts = 0;
  private nonFinite?: NonFiniteEvent;
  /** Per layer: the last weight histogram and its step, for the displacement to the next one. */
  private readonly lastWeights = new Map<number, { step: number; hist: TbHistogram }>();
  private readonly counts = new Map<string, { weights?: number; biases?: number }>();
  /** Activations inferred from output histograms; null once a later histogram contradicted the inference. */
  private readonly inferred = new Map<string, InferredActivation | null>();

  constructor(readonly name: string, readonly dir: string, private readonly opts: RunOptions) {
    this.pointLimit = Math.max(16, opts.maxPoints ?? 2000);
    // Layer names are user text: no inherited keys (a layer named "constructor").
    if (opts.activations) this.opts = { ...opts, activations: Object.assign(Object.create(null) as Record<string, string>, opts.activations) };
  }

  /** Steps kept: the option, fewer when the layers are many (steps x layers stays within MAX_LAYER_POINTS). */
  private get maxPoints(): number {
    return Math.max(16, Math.min(this.pointLimit, Math.floor(MAX_LAYER_POINTS / Math.max(1, this.layerList.length))));
  }

  /** Sentences for what a per-run limit left out. */
  limitNotes(): string[] {
    const notes: string[] = [];
    const count = (s: Set<string>) => s.size >= MAX_TAGS_PER_RUN ? `at least ${s.size}` : `${s.size}`;
    if (this.droppedLayers.size) notes.push(`the run has more than ${MAX_LAYERS_PER_RUN} layers: only the first ${MAX_LAYERS_PER_RUN} are read (${count(this.droppedLayers)} more left out)`);
    if (this.droppedTags.size) notes.push(`the run has more than ${MAX_TAGS_PER_RUN} tags: only the first ${MAX_TAGS_PER_RUN} are listed (${count(this.droppedTags)} more left out)`);
    return notes;
  }

  add(e: TbEvent): void {
    if (e.sessionStart) this.restart(e.step);
    for (const v of e.values) {
      const m = v.kind === 'text' ? null : matchTag(v.tag, this.opts.rules);
      this.noteTag(v.tag, v.kind, e.step, m, v.kind === 'other' ? v.plugin : undefined);
      if (v.kind === 'text' && v.tag === LAYERS_TAG) this.readLayerMetadata(v.text);
      else if (v.kind === 'scalar' && m && SCALAR_QUANTITIES.has(m.quantity)) this.addScalar(m.quantity, e.step, v.value);
      else if (v.kind === 'histogram' && m && !SCALAR_QUANTITIES.has(m.quantity) && m.layer) this.addHistogram(m.quantity, m.layer, e.step, v.hist);
    }
  }

  snapshot(files: TbFileInfo[], finalIssues: (RecordIssue & { file: string })[] = []): TbRun {
    while (this.steps.size > this.maxPoints) this.thinSteps();
    const layers: TbLayer[] = this.layerList.map(l => {
      const given = this.givenActivation(l.name);
      // A linear regression output often lies inside (-1, 1) too: tanh-like is not inferred for the last layer.
      const last = l.index === this.layerList.length - 1;
      const inf0 = given ? undefined : this.inferred.get(l.name) ?? undefined;
      const inf = inf0 && !(last && inf0.name === 'tanh') ? inf0 : undefined;
      const c = this.counts.get(l.name);
      return { ...l, activation: given?.spec ?? (inf ? { name: inf.name } : undefined), type: this.metaTypes.get(l.name) ?? 'dense',
        ...(given ? { activationSource: given.source } : inf ? { activationSource: 'inferred' as const, inferred: { family: inf.family, evidence: inf.evidence } } : {}),
        ...(c?.weights !== undefined ? { weightCount: c.weights } : {}), ...(c?.biases !== undefined ? { biasCount: c.biases } : {}) };
    });
    const loss = this.scalars.get('loss') ?? [], val = this.scalars.get('val_loss') ?? [];
    const acc = this.scalars.get('val_accuracy') ?? [], norm = this.scalars.get('grad_norm') ?? [];
    const timeline: ProbePoint[] = [...this.steps.keys()].sort((a, b) => a - b).map(step => {
      const pieces = this.steps.get(step)!;
      const p: ProbePoint = {
        step, trainLoss: valueAt(loss, step), valLoss: valueAt(val, step), gradNorm: valueAt(norm, step),
        layers: layers.map(l => layerStats(pieces.get(l.index), !!l.activation)),
      };
      // Some scripts log accuracy in percent (98.1): the report's valAccuracy is a fraction.
      const a = valueAt(acc, step);
      if (Number.isFinite(a)) p.valAccuracy = a > 1 && a <= 100 ? a / 100 : a;
      return p;
    });
    const issues = [...files.flatMap(f => f.issues.map(i => ({ ...i, file: f.path }))), ...finalIssues];
    return { name: this.name, dir: this.dir, layers, timeline, tags: [...this.tagInfo.values()], files, issues,
      nonFinite: this.nonFinite, restarts: this.restarts, lossCurve: loss.map(([st, v]) => [st, v] as [number, number]),
      stepUnit: [...this.tagInfo.values()].some(t => t.kind === 'scalar' && t.quantity && /^epoch_/i.test(t.tag)) ? 'epoch' : 'step' };
  }

  private givenActivation(layer: string): { spec: ActivationSpec; source: 'given' | 'metadata' } | undefined {
    const fromOpts = this.opts.activations?.[layer];
    if (fromOpts) { const spec = activationSpecOf(fromOpts); if (spec) return { spec, source: 'given' }; }
    const meta = this.metaActivations.get(layer);
    return meta ? { spec: meta, source: 'metadata' } : undefined;
  }

  /** Given, else inferred from this layer's outputs (first histogram; dropped when a later one contradicts it). */
  private activationOf(layer: string, q?: Quantity, h?: TbHistogram): ActivationSpec | undefined {
    const given = this.givenActivation(layer);
    if (given) return given.spec;
    if (q === 'activation' && h) {
      const known = this.inferred.get(layer);
      if (known === undefined) this.inferred.set(layer, inferActivation(h));
      else if (known && !stillFits(known.name, h)) this.inferred.set(layer, null);
    }
    const inf = this.inferred.get(layer);
    return inf ? { name: inf.name } : undefined;
  }

  private readLayerMetadata(text: string): void {
    let list: unknown;
    try { list = JSON.parse(text); } catch { return; }
    if (!Array.isArray(list)) return;
    for (const item of list) {
      if (typeof item?.name !== 'string') continue;
      if (this.layer(item.name) < 0) continue;
      if (item.type === 'conv2d' || item.type === 'dense') this.metaTypes.set(item.name, item.type);
      const spec = typeof item.activation === 'string' ? activationSpecOf(item.activation) : undefined;
      if (spec) this.metaActivations.set(item.name, { ...spec, ...(typeof item.alpha === 'number' ? { alpha: item.alpha } : {}) });
    }
  }

  /** The layer's index, -1 beyond MAX_LAYERS_PER_RUN. */
  private layer(name: string): number {
    let i = this.layerIndex.get(name);
    if (i === undefined) {
      if (this.layerList.length >= MAX_LAYERS_PER_RUN) { if (this.droppedLayers.size < MAX_TAGS_PER_RUN) this.droppedLayers.add(name); return -1; }
      i = this.layerList.length;
      this.layerIndex.set(name, i);
      this.layerList.push({ index: i, name, type: 'dense' });
    }
    return i;
  }

  private noteTag(tag: string, kind: TbTagInfo['kind'], step: number, m: { quantity: Quantity; layer: string } | null, plugin?: string): void {
    const t = this.tagInfo.get(tag);
    if (t) { t.count++; t.firstStep = Math.min(t.firstStep, step); t.lastStep = Math.max(t.lastStep, step); return; }
    if (this.tagInfo.size >= MAX_TAGS_PER_RUN) { if (this.droppedTags.size < MAX_TAGS_PER_RUN) this.droppedTags.add(tag); return; }
    const usable = m && (kind === 'scalar' ? SCALAR_QUANTITIES.has(m.quantity) : kind === 'histogram' && !SCALAR_QUANTITIES.has(m.quantity));
    this.tagInfo.set(tag, { tag, kind, count: 1, firstStep: step, lastStep: step,
      ...(usable ? { quantity: m!.quantity, ...(m!.layer ? { layer: m!.layer } : {}) } : {}), ...(plugin ? { plugin } : {}) });
  }

  private addScalar(q: Quantity, step: number, value: number): void {
    const s = this.scalars.get(q) ?? this.scalars.set(q, []).get(q)!;
    s.push([step, value]);
    if (q === 'loss' && !Number.isFinite(value)) this.noteNonFinite({ step, layer: -1, where: 'loss' });
    if (s.length > 2 * this.maxPoints) thinOut(s);
  }

  private addHistogram(q: Quantity, layerName: string, step: number, h: TbHistogram): void {
    if (q === 'bias') {
      // Biases only count (fan-in of a dense layer = weights / biases); they do not make a layer.
      if (!this.counts.has(layerName) && this.counts.size >= 2 * MAX_LAYERS_PER_RUN) return;
      const c = this.counts.get(layerName) ?? this.counts.set(layerName, {}).get(layerName)!;
      c.biases ??= h.num;
      return;
    }
    const index = this.layer(layerName);
    if (index < 0) return;
    let pieces = this.steps.get(step);
    if (!pieces) {
      pieces = new Map();
      this.steps.set(step, pieces);
      if (this.steps.size > this.maxPoints) this.thinSteps();
    }
    const piece = pieces.get(index) ?? pieces.set(index, {}).get(index)!;
    const act = this.activationOf(layerName, q, h)?.name;
    const bad = nonFiniteIn(h);
    if (q === 'preact' || q === 'activation') {
      const key = `${index}/${q}`;
      const edges = this.edges.get(key) ?? this.edges.set(key, chartEdges(h, q === 'preact')).get(key)!;
      const mo = moments(h);
      piece[q] = { mean: mo.mean, std: mo.std, hist: rebin(h, edges), nonFinite: bad,
        dead: act ? deadEstimate(h, q, act) : null, sat: act ? saturationEstimate(h, q, act) : null };
      if (bad) this.noteNonFinite({ step, layer: index, where: 'forward' });
    } else if (q === 'grad') {
      piece.gradRms = moments(h).rms;
      piece.gradNonFinite = bad;
      if (bad) this.noteNonFinite({ step, layer: index, where: 'backward' });
    } else if (q === 'weight_grad') {
      piece.weightGradRms = moments(h).rms;
    } else if (q === 'weight') {
      piece.weights = this.weightStats(index, layerName, step, h);
    }
  }

  private weightStats(index: number, layerName: string, step: number, h: TbHistogram): WeightStats {
    const m = weightMoments(h);
    const c = this.counts.get(layerName) ?? this.counts.set(layerName, {}).get(layerName)!;
    c.weights ??= h.num;
    const prev = this.lastWeights.get(index);
    this.lastWeights.set(index, { step, hist: h });
    let updateRatioLower: number | null = null, interval: number | null = null, unchanged: boolean | null = null;
    if (prev && prev.step < step) {
      const d = displacementLowerBound(prev.hist, h);
      if (d) {
        interval = step - prev.step;
        unchanged = d.identical;
        // Per step: the steps between moved W at least this far in total (triangle inequality); the larger
        // norm keeps it a lower bound of the ratio when the norm changed in between.
        const norm = Math.max(weightMoments(prev.hist).normBounds[1], m.normBounds[1]);
        updateRatioLower = norm > 0 ? d.lower / norm / interval : null;
      }
    }
    return { count: m.count, mean: m.mean, std: m.std, norm: m.norm, ...(m.exact ? {} : { normBounds: m.normBounds }), exact: m.exact,
      updateRatioLower, interval, unchanged, nonFinite: m.nonFinite ? 1 : 0 };
  }

  private noteNonFinite(ev: NonFiniteEvent): void {
    const order = { loss: 0, forward: 1, backward: 2 };
    const cur = this.nonFinite;
    if (!cur || ev.step < cur.step || (ev.step === cur.step && (order[ev.where] < order[cur.where]
      || (ev.where === cur.where && (ev.where === 'backward' ? ev.layer > cur.layer : ev.layer < cur.layer))))) this.nonFinite = ev;
  }

  /** Keep every other step (the first and the last few always), so a long run stays within maxPoints. */
  private thinSteps(): void {
    const sorted = [...this.steps.keys()].sort((a, b) => a - b);
    for (let i = 1; i < sorted.length - 4; i += 2) this.steps.delete(sorted[i]);
  }

  /** TensorBoard semantics: a restarted writer's data at steps >= its start step replaces the older data. */
  private restart(step: number): void {
    let dropped = 0;
    for (const s of [...this.steps.keys()]) if (s >= step) { this.steps.delete(s); dropped++; }
    for (const [i, w] of [...this.lastWeights]) if (w.step >= step) this.lastWeights.delete(i);
    for (const series of this.scalars.values()) {
      const keep = series.filter(([s]) => s < step);
      dropped += series.length - keep.length;
      series.length = 0; series.push(...keep);
    }
    if (dropped) this.restarts++;
  }
}

/** Drops every other point (keeping the first and the last): halves a series. */
function thinOut(s: [number, number][]): void {
  const last = s[s.length - 1];
  let w = 0;
  for (let i = 0; i < s.length - 1; i += 2) s[w++] = s[i];
  s[w++] = last;
  s.length = w;
}

/** The last value at or before step (scalars are often logged at other steps than histograms), else the first after. */
function valueAt(series: [number, number][], step: number): number {
  if (!series.length) return NaN;
  let best: [number, number] | undefined, after: [number, number] | undefined;
  for (const p of series) {
    if (p[0] <= step) { if (!best || p[0] >= best[0]) best = p; }
    else if (!after || p[0] < after[0]) after = p;
  }
  return (best ?? after)![1];
}

/** Missing measurements: NaN for numbers the type requires, null where the type allows it. */
function layerStats(p: LayerPiece | undefined, hasActivation: boolean): LayerStats {
  const pre = p?.preact, act = p?.activation;
  // Dead/saturated: from z when logged (the regions are defined on z), else from a = f(z). None when the
  // activation is unknown (an inference that a later histogram contradicted leaves earlier estimates stale).
  const dead = hasActivation ? pre?.dead ?? act?.dead ?? null : null;
  const sat = hasActivation ? pre?.sat ?? act?.sat ?? null : null;
  const stats: LayerStats = {
    deadFraction: dead ? dead.value : null,
    saturatedFraction: sat ? sat.value : null,
    activationMean: act ? act.mean : NaN, activationStd: act ? act.std : NaN,
    preactMean: pre ? pre.mean : null, preactStd: pre ? pre.std : null,
    preactHist: pre ? pre.hist : null, activationHist: act ? act.hist : null,
    gradRms: p?.gradRms ?? NaN,
    weightGradRms: p?.weightGradRms ?? null,
    updateRatio: null,
    nonFinite: (pre?.nonFinite ?? 0) + (act?.nonFinite ?? 0) + (p?.gradNonFinite ?? 0),
  };
  if (p?.weights) stats.weights = p.weights;
  if (dead || sat) {
    stats.estimated = {
      ...(dead ? { deadFraction: [dead.lower, dead.upper] as [number, number] } : {}),
      ...(sat ? { saturatedFraction: [sat.lower, sat.upper] as [number, number] } : {}),
    };
  }
  return stats;
}

