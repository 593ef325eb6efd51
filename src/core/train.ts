/**
 * The trainer: mini-batch training of a NetworkConfig on a Dataset with probes (SPEC §4).
 *
 * Step s's probe happens after s updates (probe 0 before the first update) on the fixed probe batch, the
 * first `probe.samples` validation samples. The run stops cleanly at the first NaN/Inf (loss, then
 * activations in forward order, then gradients in backward order) and keeps its timeline with a last probe.
 * The same config and seed give bit-identical numbers on the same machine (seeded streams: rng.ts).
 */
import type { Dataset, NetworkConfig } from '../model';
import type { LayerStats, NonFiniteEvent, ProbePoint, RunResult, StopReason } from './types';
import { Network, countNonFinite, splitPays } from './network';
import { MAX_THREADS } from './parallel';
import { Optimizer } from './optimizers';
import { LayerProbe } from './probes';
import { Rng } from './rng';
import type { Param } from './layers';

export interface TrainOptions {
  /** Cap from the settings (stopped: 'limit' when it cuts the run). */
  maxSteps?: number;
  /** Override of config.probe.every. */
  probeEvery?: number;
  onProbe?: (p: ProbePoint) => void;
  onStep?: (step: number, loss: number) => void;
  /** Polled every step; true: stopped 'cancelled', the partial result kept. */
  shouldStop?: () => boolean;
  /** The kernels' implementation: wasm (default) or the JavaScript reference. */
  kernels?: 'wasm' | 'js';
  /**
   * Threads for this run (default 1). More than one is used only when splitPays (network.ts): then big
   * kernels are split over helper threads with bit-identical results (parallel.ts). dispose() ends them.
   */
  threads?: number;
  /** Told once, at construction, when fewer threads than asked for run and why (e.g. gemm-mt.wasm missing). */
  onNote?: (line: string) => void;
  /** `init: from-model`: weights by layer index and parameter name, replacing the drawn ones. */
  initialWeights?: (Record<string, Float32Array> | undefined)[];
}

const prod = (s: number[]) => s.reduce((a, b) => a * b, 1);

/** Targets per sample in a dataset: class indices are one number. */
export function targetWidth(data: Dataset): number {
  return data.task === 'classification' ? 1 : data.targetDim;
}

/** Probe interval when none is configured: at least 50 probes per run. */
export function defaultProbeEvery(steps: number): number { return Math.max(1, Math.floor(steps / 50)); }

/** What a run of `config` on `data` does, as the Trainer decides it (the torch engine follows the same plan). */
export interface RunPlan {
  totalSteps: number; every: number; batch: number; probeRows: number;
  /** Rows the buffers hold: max(batch, probe rows); the evaluation chunk. */
  rows: number;
  /** The validation loss equals the probe batch's loss (no batchnorm/dropout, the probe batch is the whole validation split). */
  evalEqualsProbe: boolean;
}

export function runPlan(config: NetworkConfig, data: { train: { n: number }; val: { n: number } }, opts: Pick<TrainOptions, 'maxSteps' | 'probeEvery'> = {}): RunPlan {
  const steps = config.train.steps;
  const totalSteps = opts.maxSteps !== undefined ? Math.min(steps, opts.maxSteps) : steps;
  const every = Math.max(1, Math.floor(opts.probeEvery ?? (config.probe.every || defaultProbeEvery(steps))));
  const batch = Math.max(1, Math.min(config.train.batch, data.train.n));
  const probeSplit = data.val.n > 0 ? data.val : data.train;
  const probeRows = Math.max(1, Math.min(config.probe.samples || 256, probeSplit.n));
  const stochastic = config.model.layers.some(l => l.type === 'batchnorm' || (l.type === 'dropout' && l.rate > 0));
  return {
    totalSteps, every, batch, probeRows, rows: Math.max(batch, probeRows),
    evalEqualsProbe: !stochastic && probeSplit === data.val && probeRows === data.val.n,
  };
}

/**
 * Threads a Trainer runs on when asked for `threads` (default 1): more than one only when splitPays (network.ts).
 * At most MAX_THREADS: each thread has its own GEMM scratch, so a hostile `threads: 1024` must not cost 1024 of them.
 */
export function trainerThreads(config: NetworkConfig, batch: number, threads = 1): number {
  return threads > 1 && splitPays(config.model.input, config.model.layers, batch) ? Math.min(MAX_THREADS, Math.floor(threads)) : 1;
}

/** A trainer that can be stepped (the worker and the benchmark use it directly; train() runs it to the end). */
export class Trainer {
  readonly net: Network;
  readonly opt: Optimizer;
  readonly totalSteps: number;
  readonly every: number;
  readonly batch: number;
  readonly probeRows: number;
  readonly timeline: ProbePoint[] = [];
  readonly lossCurve: number[] = [];
  step = 0;
  stopped: StopReason | null = null;
  nonFinite?: NonFiniteEvent;
  private readonly probes: LayerProbe[];
  private readonly perm: Uint32Array;
  private permPos: number;
  private readonly shuffleRng: Rng;
  private readonly yWidth: number;
  private lastGradNorm = 0;
  private lossSinceProbe = 0;
  private stepsSinceProbe = 0;
  private readonly lastUpdateSq = new Map<Param, number>();
  private readonly t0 = performance.now();
  private readonly probeSplit: { x: Float32Array; y: Float32Array; n: number };
  private readonly evalEqualsProbe: boolean;
  /**
   * The next step's batch (its start in perm), drawn during a step on threads and loaded ahead (trainStep);
   * `loaded`: it is still loaded (a probe or evaluation since then loaded other rows: the step loads it again);
   * `ahead`: in the network's other batch buffers (Network.loadAhead), not the loaded ones.
   */
  private next: { start: number; loaded: boolean; ahead: boolean } | null = null;

  constructor(readonly config: NetworkConfig, readonly data: Dataset, readonly opts: TrainOptions = {}) {
    const inSize = prod(config.model.input);
    if (inSize !== prod(data.inputShape)) {
      throw new Error(`model.input [${config.model.input}] does not match the data's input shape [${data.inputShape}]`);
    }
    if (data.train.n < 1) throw new Error('the training split is empty');
    const plan = runPlan(config, data, opts);
    this.totalSteps = plan.totalSteps;
    this.every = plan.every;
    this.batch = plan.batch;
    this.probeSplit = data.val.n > 0 ? data.val : data.train;
    this.probeRows = plan.probeRows;
    const rows = plan.rows;
    this.yWidth = targetWidth(data);
    const threads = trainerThreads(config, plan.batch, opts.threads);
    this.net = new Network(config, { rows, kernels: opts.kernels ?? 'wasm', threads, trainSamples: data.train.n });
    this.opt = new Optimizer(config.train, this.net.params, this.net.heap);
    this.net.commit();
    this.net.holdTrainInputs(data.train.x);
    if (this.net.heap.kernels.note) opts.onNote?.(this.net.heap.kernels.note);
    if (opts.initialWeights) {
      const bad = this.net.loadWeights(opts.initialWeights);
      if (bad.length) {
        this.dispose();
        throw new Error(`the model's weights do not fit ${bad.join(', ')}: the layer's shape differs from the model's`);
      }
    }
    this.probes = this.net.layers.map(l => new LayerProbe(l, this.net.heap.kernels, this.net.statsScratch));
    this.shuffleRng = Rng.derive(config.seed, 'shuffle');
    this.perm = new Uint32Array(data.train.n);
    for (let i = 0; i < this.perm.length; i++) this.perm[i] = i;
    this.shuffleRng.shuffle(this.perm);
    this.permPos = 0;
    this.evalEqualsProbe = plan.evalEqualsProbe;
  }

  get done(): boolean { return this.stopped !== null; }

  /** Threads the kernels use (1 unless opts.threads > 1 and the network is big enough). */
  get threads(): number { return this.net.heap.kernels.threads; }

  /** Runs until the end, a stop request or a non-finite value; ends the helper threads. */
  run(): RunResult {
    try {
      while (!this.done) this.advance();
    } finally { this.dispose(); }
    return this.result();
  }

  /** Ends the helper threads (if any); a step after this runs on the calling thread alone. */
  dispose(): void { this.net.heap.kernels.dispose(); }

  /** One unit of work: the probe due at this step (if any), then one training step. */
  advance(): void {
    if (this.done) return;
    if (this.opts.shouldStop?.()) { this.stopped = 'cancelled'; return; }
    if (this.step % this.every === 0 || this.step === this.totalSteps) this.probe();
    if (this.step >= this.totalSteps) {
      this.stopped = this.totalSteps < this.config.train.steps ? 'limit' : 'completed';
      return;
    }
    this.trainStep();
  }

  /** n training steps without probes (benchmarks); stops early on a non-finite value. */
  trainSteps(n: number): void {
    for (let i = 0; i < n && !this.done; i++) this.trainStep();
  }

  private nextBatch(): number {
    if (this.permPos + this.batch > this.perm.length) { this.shuffleRng.shuffle(this.perm); this.permPos = 0; }
    const start = this.permPos;
    this.permPos += this.batch;
    return start;
  }

  private trainStep(): void {
    const net = this.net, B = this.batch, tr = this.data.train;
    const batch = this.next ?? { start: this.nextBatch(), loaded: false, ahead: false };
    this.next = null;
    if (!batch.loaded) net.loadRows(tr.x, tr.y, this.yWidth, this.perm, batch.start, B);
    else if (batch.ahead) net.useAhead();
    net.forward(B, 'train');
    // With helpers, the next step's batch is loaded during this one (not before a probe, which loads its own rows):
    // its rows gathered by the helpers now, while this thread computes the loss and the small last layers (they
    // would wait there), or else while they update the biggest weight matrix (the optimizer step's `preload`).
    const probeNext = (this.step + 1) % this.every === 0 || this.step + 1 === this.totalSteps;
    if (!probeNext && this.threads > 1) {
      const start = this.nextBatch(), ahead = net.loadAhead(tr.x, tr.y, this.yWidth, this.perm, start, B);
      this.next = { start, loaded: ahead, ahead };
    }
    const loss = net.computeLoss(B, true);
    if (!Number.isFinite(loss)) return this.stopNonFinite(this.locateForward(B));
    net.backward(B, true);
    const gsq = net.gradSumSquares();
    if (!Number.isFinite(gsq)) return this.stopNonFinite(this.locateBackward(B));
    const gradNorm = Math.sqrt(gsq);
    this.lastGradNorm = gradNorm;
    const clip = this.config.train.clip;
    const scale = clip !== undefined && clip > 0 && gradNorm > clip ? clip / gradNorm : 1;
    // Also when it is loaded already: the helpers then start on the biggest matrix while this thread updates the others.
    const next = this.next;
    const preload = next ? () => {
      if (next.loaded) return;
      net.loadRows(tr.x, tr.y, this.yWidth, this.perm, next.start, B);
      next.loaded = true;
    } : undefined;
    this.opt.step(scale, probeNext ? (p, usq) => { if (p.kernel) this.lastUpdateSq.set(p, usq); } : undefined, preload);
    this.step++;
    this.lossCurve.push(loss);
    this.lossSinceProbe += loss; this.stepsSinceProbe++;
    this.opts.onStep?.(this.step, loss);
  }

  private locateForward(rows: number): NonFiniteEvent {
    const layers = this.net.layers;
    for (let i = 0; i < layers.length; i++) {
      const l = layers[i], n = rows * l.outSize;
      // An output left unwritten (outStale: a softmax of the logits) is finite when they are.
      if ((l.z && countNonFinite(l.z.v, n)) || (!l.outStale && countNonFinite(l.out.v, n))) return { step: this.step, layer: i, where: 'forward' };
    }
    return { step: this.step, layer: layers.length - 1, where: 'loss' };
  }

  private locateBackward(rows: number): NonFiniteEvent {
    const layers = this.net.layers;
    for (let i = layers.length - 1; i >= 0; i--) {
      const l = layers[i];
      if (countNonFinite(l.dOut.v, rows * l.outSize) || l.params.some(p => p.trainable && countNonFinite(p.g.v, p.g.n))) {
        return { step: this.step, layer: i, where: 'backward' };
      }
    }
    return { step: this.step, layer: 0, where: 'backward' };
  }

  private stopNonFinite(ev: NonFiniteEvent): void {
    this.nonFinite = ev;
    this.stopped = 'non-finite';
    this.probe();
  }

  /** Probe at the current step; pushes to the timeline and calls onProbe. */
  probe(): ProbePoint {
    const net = this.net, P = this.probeRows, split = this.probeSplit;
    if (this.next) this.next.loaded = false;
    net.loadRows(split.x, split.y, this.yWidth, null, 0, P);
    net.forward(P, 'probe');
    const probeLoss = net.computeLoss(P, true);
    // The probe batch's accuracy is the validation accuracy only when it is the whole validation split.
    const classify = this.data.task !== 'regression';
    const probeCorrect = this.evalEqualsProbe && classify ? net.correct(P) : 0;
    const first = this.step === 0;
    net.backward(P, first);
    if (first) this.lastGradNorm = Math.sqrt(net.gradSumSquares());
    const layers: LayerStats[] = [];
    for (const p of this.probes) layers.push(p.stats(P, p.kernel && this.lastUpdateSq.get(p.kernel)));
    const { valLoss, valAccuracy } = this.validation(probeLoss, probeCorrect, classify);
    const point: ProbePoint = {
      step: this.step,
      trainLoss: this.stepsSinceProbe ? this.lossSinceProbe / this.stepsSinceProbe : probeLoss,
      valLoss, gradNorm: this.lastGradNorm, layers,
    };
    if (valAccuracy !== undefined) point.valAccuracy = valAccuracy;
    this.lossSinceProbe = 0; this.stepsSinceProbe = 0;
    this.lastUpdateSq.clear();
    this.timeline.push(point);
    this.opts.onProbe?.(point);
    return point;
  }

  /**
   * A probe's validation numbers: the probe batch's own when it is the whole validation split (its loss and
   * correct count, just computed), else an evaluation of the split. Accuracy for classification only.
   */
  private validation(probeLoss: number, probeCorrect: number, classify: boolean): { valLoss: number; valAccuracy?: number } {
    if (this.evalEqualsProbe) return { valLoss: probeLoss, valAccuracy: classify ? probeCorrect / this.probeRows : undefined };
    const ev = this.evaluate();
    return { valLoss: ev.loss, valAccuracy: classify ? ev.accuracy : undefined };
  }

  /** Loss and accuracy over the whole validation split in inference mode (moving statistics, no dropout). */
  evaluate(): { loss: number; accuracy: number } {
    const net = this.net, val = this.data.val.n > 0 ? this.data.val : this.data.train;
    let loss = 0, correct = 0;
    if (this.next) this.next.loaded = false;
    for (let start = 0; start < val.n; start += net.rows) {
      const rows = Math.min(net.rows, val.n - start);
      net.loadRows(val.x, val.y, this.yWidth, null, start, rows);
      net.forward(rows, 'eval');
      loss += net.computeLoss(rows, false) * rows;
      correct += net.correct(rows);
    }
    return { loss: loss / val.n, accuracy: correct / val.n };
  }

  result(): RunResult {
    const last = this.timeline[this.timeline.length - 1];
    const { params, nonTrainable } = this.net.paramCounts();
    const final: RunResult['final'] = last
      ? { trainLoss: last.trainLoss, valLoss: last.valLoss }
      : { trainLoss: NaN, valLoss: NaN };
    if (last?.valAccuracy !== undefined) final.valAccuracy = last.valAccuracy;
    const r: RunResult = {
      steps: this.step, stopped: this.stopped ?? 'cancelled', timeline: this.timeline, lossCurve: this.lossCurve,
      final, params, nonTrainableParams: nonTrainable, wallMs: performance.now() - this.t0,
    };
    if (this.nonFinite) r.nonFinite = this.nonFinite;
    return r;
  }
}

export function train(config: NetworkConfig, data: Dataset, opts: TrainOptions = {}): RunResult {
  return new Trainer(config, data, opts).run();
}
