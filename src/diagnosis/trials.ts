/**
 * compare (SPEC §5, second tier): short trials of each candidate activation, from the same seed and data, for one
 * layer or all hidden layers together, ranked by validation loss after K steps with dead/saturation/gradient
 * health as tie-breakers. Each trial keeps its loss curve. Trials are deterministic (a pure function of config,
 * seed and data), run on two worker threads when they are big enough to pay for the threads, and cancellable.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { ActivationName, Dataset, LayerSpec, NetworkConfig } from '../model';
import { ACTIVATIONS, resolveActivation } from '../core/activations';
import { resolveInit } from '../core/initializers';
import type { RankedActivation } from './types';
import { HIDDEN_CANDIDATES } from './suggestions';
import { outputLayerIndex, weightedLayers } from './layers';
import { inferShapes } from '../config/shapes';
import { runTrial, type TrialRequest, type TrialSummary } from './trial';

export interface CompareOptions {
  layer: number | 'all';
  candidates?: string[];
  /** K: steps per trial (default: the config's steps, at most 300). */
  steps?: number;
  /** Two worker threads: true (default) when the trials are big enough to pay for the threads, 'always', or false. */
  parallel?: boolean | 'always';
  signal?: AbortSignal;
  onTrial?(r: RankedActivation): void;
}

/** Validation losses within this relative distance are a tie, decided by health. */
const TIE = 0.02;
/**
 * Work (multiply-adds x batch x steps) below which starting threads costs more than it saves: a bundled worker
 * starts in ~50 ms (5e7 is ~0.4 s of training here); from sources each worker first compiles TypeScript (~1 s).
 */
const PARALLEL_MIN_WORK = { bundled: 2e7, sources: 3e8 };

/** The layers a comparison changes: one layer (its activation layer, if it has one) or every hidden one. */
export function targetLayers(config: NetworkConfig, layer: number | 'all'): number[] {
  const hidden = weightedLayers(config).filter(w => !w.isOutput);
  if (layer === 'all') return hidden.map(w => w.activationLayer.index);
  const l = config.model.layers[layer];
  if (!l || !('activation' in l)) throw new Error(`layer ${layer} has no activation to compare`);
  const w = weightedLayers(config).find(x => x.layer.index === layer || x.activationLayer.index === layer);
  return [w ? w.activationLayer.index : layer];
}

/** The config with `activation` (and its recommended init on the weighted layer) at the target layers. */
export function withActivation(config: NetworkConfig, targets: number[], activation: ActivationName): NetworkConfig {
  const init = resolveInit(ACTIVATIONS[activation].recommendedInit)!;
  const layers = config.model.layers.map(l => ({ ...l })) as LayerSpec[];
  for (const i of targets) {
    const l = layers[i];
    if (!('activation' in l)) continue;
    l.activation = { name: activation };
    // The init goes on the weighted layer feeding this activation (the layer itself, or the one before an activation layer).
    const w = weightedLayers(config).find(x => x.activationLayer.index === i);
    const wl = w ? layers[w.layer.index] : l;
    if (wl.type === 'dense' || wl.type === 'conv2d') wl.init = init;
  }
  return { ...config, model: { ...config.model, layers } };
}

function candidateList(config: NetworkConfig, targets: number[], given?: string[]): ActivationName[] {
  const names: ActivationName[] = [];
  for (const c of given ?? HIDDEN_CANDIDATES) {
    const n = resolveActivation(c);
    if (!n) throw new Error(`unknown activation "${c}"`);
    if (!names.includes(n)) names.push(n);
  }
  const cur = config.model.layers[targets[0]];
  if (!given && cur && 'activation' in cur && !names.includes(cur.activation.name)) names.push(cur.activation.name);
  return names;
}

function healthPenalty(t: TrialSummary): number {
  const grad = t.gradRatio === undefined || t.gradRatio <= 0 ? 0 : Math.abs(Math.log10(t.gradRatio));
  return (t.deadFraction ?? 0) + (t.saturatedFraction ?? 0) + 0.25 * grad;
}

/** Ranked by validation loss (non-finite last); near-ties by health; then candidate order. */
export function rankTrials(results: RankedActivation[]): RankedActivation[] {
  const loss = (r: RankedActivation) => (Number.isFinite(r.trial?.valLoss) ? r.trial!.valLoss : Infinity);
  return results.map((r, i) => ({ r, i })).sort((a, b) => {
    const la = loss(a.r), lb = loss(b.r);
    if (la !== lb && !(Math.abs(la - lb) <= TIE * Math.min(la, lb))) return la - lb;
    const h = healthPenalty(a.r.trial!) - healthPenalty(b.r.trial!);
    return h !== 0 && Number.isFinite(h) ? h : (la - lb) || a.i - b.i;
  }).map(x => x.r);
}

function reasonFor(a: ActivationName, t: TrialSummary, k: number): string {
  const bits = [`val loss ${fmt(t.valLoss)} after ${k} steps`];
  if (t.valAccuracy !== undefined) bits.push(`accuracy ${Math.round(100 * t.valAccuracy)}%`);
  if (ACTIVATIONS[a].isDead) bits.push(`${Math.round(100 * (t.deadFraction ?? 0))}% dead`);
  if (ACTIVATIONS[a].isSaturated) bits.push(`${Math.round(100 * (t.saturatedFraction ?? 0))}% saturated`);
  if (t.gradRatio !== undefined) bits.push(`lowest gradient ratio ${fmt(t.gradRatio)}`);
  return `trial: ${bits.join(', ')}`;
}
const fmt = (x: number) => (Number.isFinite(x) ? Number(x.toPrecision(3)).toString() : 'non-finite');

/** Where the bundled worker is (next to the bundle), or this source file's .ts twin when running from sources. */
function workerEntry(): { file: string; execArgv?: string[] } {
  const js = path.join(__dirname, 'trialWorker.js');
  if (fs.existsSync(js)) return { file: js };
  return { file: path.join(__dirname, 'trialWorker.ts'), execArgv: ['--require', createRequire(__filename).resolve('tsx/cjs')] };
}

/** Runs the requests on `threads` workers, in request order per result slot. */
async function runInWorkers(reqs: TrialRequest[], data: Dataset, threads: number, signal: AbortSignal | undefined,
  onResult: (i: number, t: TrialSummary) => void): Promise<void> {
  const cancelFlag = new SharedArrayBuffer(4);
  const flag = new Int32Array(cancelFlag);
  const entry = workerEntry();
  const onAbort = () => Atomics.store(flag, 0, 1);
  if (signal?.aborted) onAbort();
  signal?.addEventListener('abort', onAbort);
  let next = 0;
  const runOne = (worker: Worker) => new Promise<void>((resolve, reject) => {
    const pump = () => {
      if (next >= reqs.length || Atomics.load(flag, 0)) { resolve(); return; }
      const id = next++;
      worker.once('message', (m: { id: number; trial?: TrialSummary; cancelled?: boolean; error?: string }) => {
        if (m.error) { reject(new Error(m.error)); return; }
        if (!m.cancelled && m.trial) onResult(id, m.trial);
        pump();
      });
      worker.postMessage({ id, req: reqs[id] });
    };
    worker.once('error', reject);
    pump();
  });
  const workers = Array.from({ length: threads }, () => new Worker(entry.file, { workerData: { data, cancelFlag }, execArgv: entry.execArgv }));
  try {
    await Promise.all(workers.map(runOne));
  } finally {
    signal?.removeEventListener('abort', onAbort);
    await Promise.all(workers.map(w => w.terminate()));
  }
}

export async function compareActivations(config: NetworkConfig, data: Dataset | ((c: NetworkConfig) => Dataset),
  opts: CompareOptions): Promise<RankedActivation[]> {
  const targets = targetLayers(config, opts.layer);
  if (!targets.length) throw new Error('the network has no hidden layer with an activation to compare');
  if (targets.some(i => i >= outputLayerIndex(config.model.layers))) {
    throw new Error(`layer ${opts.layer} is the output layer: its activation follows the loss (see the output-mismatch rule), not a trial`);
  }
  const names = candidateList(config, targets, opts.candidates);
  const steps = Math.max(1, Math.floor(opts.steps ?? Math.min(config.train.steps, 300)));
  const probeEvery = Math.max(1, Math.floor(steps / 20));
  // The data set depends only on the data section, which the candidates share: load it once.
  const dataset = typeof data === 'function' ? data(config) : data;
  const reqs: TrialRequest[] = names.map(a => ({ config: withActivation(config, targets, a), steps, probeEvery }));
  const results: (RankedActivation | undefined)[] = new Array(names.length);
  const done = (i: number, trial: TrialSummary) => {
    const r: RankedActivation = { activation: names[i], init: ACTIVATIONS[names[i]].recommendedInit, reason: reasonFor(names[i], trial, steps), trial };
    results[i] = r;
    opts.onTrial?.(r);
  };
  const work = forwardWork(config) * Math.min(config.train.batch, dataset.train.n) * steps;
  const parallel = opts.parallel ?? true;
  const minWork = PARALLEL_MIN_WORK[workerEntry().execArgv ? 'sources' : 'bundled'];
  if (parallel === 'always' || (parallel && names.length > 1 && work >= minWork)) {
    await runInWorkers(reqs, dataset, 2, opts.signal, done);
  } else {
    for (let i = 0; i < reqs.length; i++) {
      if (opts.signal?.aborted) break;
      const r = runTrial(reqs[i], dataset, () => opts.signal?.aborted ?? false);
      if (!r.cancelled) done(i, r.trial);
      // Let the event loop see a cancel between trials.
      await new Promise(res => setImmediate(res));
    }
  }
  return rankTrials(results.filter((r): r is RankedActivation => r !== undefined));
}

/** Multiply-adds of one sample's forward pass: each weighted layer's parameters times its output positions. */
function forwardWork(config: NetworkConfig): number {
  const { shapes } = inferShapes(config.model.input, config.model.layers);
  let n = 0;
  for (const s of shapes) {
    const positions = s.outputShape.slice(0, -1).reduce((a, b) => a * b, 1);
    n += s.params * positions;
  }
  return Math.max(1, n);
}
