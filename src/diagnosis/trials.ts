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
import { forwardMacs } from '../config/cost';
import { DIVERGENCE_FACTOR, runTrial, summarizeTrial, type TrialRequest, type TrialSummary } from './trial';
import type { RunResult } from '../core/types';

export interface CompareOptions {
  layer: number | 'all';
  candidates?: string[];
  /** K: steps per trial (default: the config's steps, at most 300). */
  steps?: number;
  /** Two worker threads: true (default) when the trials are big enough to pay for the threads, 'always', or false. */
  parallel?: boolean | 'always';
  signal?: AbortSignal;
  onTrial?(r: RankedActivation): void;
  /**
   * `init: from-model`: the model's weights by layer index (as loadModelWeights gives them). Each trial keeps them
   * for every layer but the compared ones, which start from the candidate's paired init: weights trained for
   * another activation would not say how the candidate learns.
   */
  initialWeights?: (Record<string, Float32Array> | undefined)[];
  /** Another engine's training (the torch engine): trials then run one after another through it. */
  train?: (req: TrialRequest, data: Dataset) => Promise<RunResult>;
}

/** Validation losses within this relative distance are a tie, decided by health (and not a win over the current). */
export const TIE = 0.02;
/** A candidate whose val loss is above this multiple of the best is "far behind" and gets lower-rate retries. */
export const FAR_BEHIND = 1.5;
/** The retry rates, as fractions of the config's learning rate. */
const RETRY_FACTORS = [1 / 3, 1 / 10];
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

/**
 * The imported weights a trial keeps: all but those of the target layers and the weighted layers feeding them
 * (a PReLU's alpha included), which the candidate re-initialises.
 */
export function trialWeights(config: NetworkConfig, targets: number[], weights: (Record<string, Float32Array> | undefined)[] | undefined):
  (Record<string, Float32Array> | undefined)[] | undefined {
  if (!weights) return undefined;
  const fresh = freshLayers(config, targets);
  return weights.map((w, i) => (fresh.has(i) ? undefined : w));
}

/** The layers a change at `targets` re-initialises: the targets and the weighted layers feeding them. */
export function freshLayers(config: NetworkConfig, targets: number[]): Set<number> {
  const fresh = new Set(targets);
  for (const w of weightedLayers(config)) if (targets.includes(w.activationLayer.index)) fresh.add(w.layer.index);
  return fresh;
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
    // Re-initialised by the candidate's init, no longer the model's weights.
    delete l.fromModel;
    delete wl.fromModel;
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
  // No trial ranks nothing: without this, an empty list would read as "every candidate diverged".
  if (!names.length) throw new Error('no candidate activations to compare (the list is empty)');
  const cur = config.model.layers[targets[0]];
  if (!given && cur && 'activation' in cur && !names.includes(cur.activation.name)) names.push(cur.activation.name);
  return names;
}

function healthPenalty(t: TrialSummary): number {
  const grad = t.gradRatio === undefined || t.gradRatio <= 0 ? 0 : Math.abs(Math.log10(t.gradRatio));
  return (t.deadFraction ?? 0) + (t.saturatedFraction ?? 0) + 0.25 * grad;
}

/** The ranking rule, as every surface states it. */
export const RANKING_RULE = `ranked by validation loss after the trial's steps; a candidate within ${100 * TIE}% of the best val loss of its group is a near-tie, ` +
  'ranked within the group by health (dead + saturated fraction + 0.25 x |log10 gradient ratio|, lower first); ' +
  'a candidate that diverged at every rate tried (non-finite, or loss above 3x its start) ranks last';

/** The fair-trial rule: when a candidate is retried at a lower learning rate. */
export const RETRY_RULE = `a candidate that diverges (non-finite, or loss above ${DIVERGENCE_FACTOR}x its start) or ends far behind ` +
  `(val loss above ${FAR_BEHIND}x the best) is retried at lr/3 and lr/10 from the same seed; the best of its rates is kept`;

const usable = (r: RankedActivation) => r.trial !== undefined && !r.trial.diverged && Number.isFinite(r.trial.valLoss);

/**
 * Ranked by validation loss; diverged and non-finite trials last (in candidate order). Near-ties: sorted by val loss,
 * the candidates within TIE of a group's best (its first member) form a group, ranked inside by health, then loss.
 */
export function rankTrials(results: RankedActivation[]): RankedActivation[] {
  const indexed = results.map((r, i) => ({ r, i }));
  const ok = indexed.filter(x => usable(x.r)).sort((a, b) => a.r.trial!.valLoss - b.r.trial!.valLoss || a.i - b.i);
  const out: RankedActivation[] = [];
  for (let g = 0; g < ok.length;) {
    const lead = ok[g].r.trial!.valLoss;
    let end = g + 1;
    while (end < ok.length && ok[end].r.trial!.valLoss - lead <= TIE * Math.abs(lead)) end++;
    const group = ok.slice(g, end).sort((a, b) => {
      const h = healthPenalty(a.r.trial!) - healthPenalty(b.r.trial!);
      return (Number.isFinite(h) && h !== 0 ? h : 0) || a.r.trial!.valLoss - b.r.trial!.valLoss || a.i - b.i;
    });
    if (group.length > 1) {
      const names = group.map(x => x.r.activation);
      for (const x of group) {
        const others = names.filter(n => n !== x.r.activation).join(', ');
        x.r = { ...x.r, reason: `${x.r.reason}; near-tie with ${others} (val losses within ${100 * TIE}%): ranked by health` };
      }
    }
    out.push(...group.map(x => x.r));
    g = end;
  }
  out.push(...indexed.filter(x => !usable(x.r)).map(x => x.r));
  return out;
}

export interface CompareVerdict {
  /** The candidate to recommend, or undefined when none beats the current activation beyond noise. */
  winner?: RankedActivation;
  /** One sentence for the user. */
  message: string;
}

/**
 * Whether the ranking names a winner: the top candidate must beat the current activation's trial by more than the
 * near-tie margin (TIE) in val loss; otherwise the difference is noise and the current choice stays.
 */
export function compareVerdict(ranked: RankedActivation[], current: string | undefined, where: string): CompareVerdict {
  const best = ranked[0];
  if (!best) return { message: `no candidate was compared for ${where}` };
  if (!usable(best)) return { message: `every candidate diverged for ${where}, even at lr/10: lower the learning rate and compare again` };
  const cur = current === undefined ? undefined : ranked.find(r => r.activation === current);
  const lrNote = best.lr !== undefined ? ` at lr ${fmt(best.lr)} (the learning rate is global: applying it changes the whole network's rate)` : '';
  if (!cur || !usable(cur)) return { winner: best, message: `best for ${where}: ${best.activation} + ${best.init}${lrNote} (val loss ${fmt(best.trial!.valLoss)})` };
  if (best === cur) return { winner: best, message: `the current ${current} ranks first for ${where} (val loss ${fmt(best.trial!.valLoss)}): keep it` };
  const margin = cur.trial!.valLoss - best.trial!.valLoss;
  if (!(margin > TIE * Math.abs(cur.trial!.valLoss))) {
    return { message: `no candidate beats the current ${current} for ${where} beyond noise: the best, ${best.activation}, ends at val loss ${fmt(best.trial!.valLoss)} vs ${fmt(cur.trial!.valLoss)} (within ${100 * TIE}%)` };
  }
  return { winner: best, message: `best for ${where}: ${best.activation} + ${best.init}${lrNote} (val loss ${fmt(best.trial!.valLoss)} vs ${fmt(cur.trial!.valLoss)} for the current ${current})` };
}

function reasonFor(a: ActivationName, t: TrialSummary, k: number, configLr: number): string {
  const bits = [`val loss ${fmt(t.valLoss)} after ${k} steps`];
  if (t.valAccuracy !== undefined) bits.push(`accuracy ${Math.round(100 * t.valAccuracy)}%`);
  if (ACTIVATIONS[a].isDead) bits.push(`${Math.round(100 * (t.deadFraction ?? 0))}% dead`);
  if (ACTIVATIONS[a].isSaturated) bits.push(`${Math.round(100 * (t.saturatedFraction ?? 0))}% saturated`);
  if (t.gradRatio !== undefined) bits.push(`lowest gradient ratio ${fmt(t.gradRatio)}`);
  if (t.attempts) {
    const first = t.attempts[0];
    const why = first.diverged ? 'diverged' : 'ended far behind';
    bits.push(t.diverged ? `diverged at every rate tried (${t.attempts.map(x => fmt(x.lr)).join(', ')})`
      : t.lr !== configLr ? `at lr ${fmt(t.lr!)}: the config's lr ${fmt(configLr)} ${why}` : `retried at lower rates after it ${why}; the config's lr ${fmt(configLr)} stayed best`);
  }
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
  const lr = config.train.lr;
  const variant = (a: ActivationName, rate: number): NetworkConfig => {
    const c = withActivation(config, targets, a);
    return rate === lr ? c : { ...c, train: { ...c.train, lr: rate } };
  };
  const initialWeights = trialWeights(config, targets, opts.initialWeights);
  const request = (a: ActivationName, rate: number): TrialRequest => ({ config: variant(a, rate), steps, probeEvery, ...(initialWeights ? { initialWeights } : {}) });
  const work = forwardMacs(config) * Math.min(config.train.batch, dataset.train.n) * steps;
  const parallel = opts.parallel ?? true;
  const minWork = PARALLEL_MIN_WORK[workerEntry().execArgv ? 'sources' : 'bundled'];
  const runAll = async (reqs: TrialRequest[], onResult: (i: number, t: TrialSummary) => void) => {
    if (opts.train) {
      for (let i = 0; i < reqs.length && !opts.signal?.aborted; i++) {
        const r = summarizeTrial(reqs[i], await opts.train(reqs[i], dataset));
        if (!r.cancelled) onResult(i, r.trial);
      }
      return;
    }
    if (parallel === 'always' || (parallel && reqs.length > 1 && work >= minWork)) {
      await runInWorkers(reqs, dataset, 2, opts.signal, onResult);
      return;
    }
    for (let i = 0; i < reqs.length; i++) {
      if (opts.signal?.aborted) break;
      const r = runTrial(reqs[i], dataset, () => opts.signal?.aborted ?? false);
      if (!r.cancelled) onResult(i, r.trial);
      // Let the event loop see a cancel between trials.
      await new Promise(res => setImmediate(res));
    }
  };
  const make = (i: number, trial: TrialSummary): RankedActivation => {
    const r: RankedActivation = { activation: names[i], init: ACTIVATIONS[names[i]].recommendedInit, reason: reasonFor(names[i], trial, steps, lr), trial };
    if (trial.lr !== undefined && trial.lr !== lr && !trial.diverged) r.lr = trial.lr;
    return r;
  };

  // Round 1: every candidate at the config's learning rate.
  const first: (TrialSummary | undefined)[] = new Array(names.length);
  await runAll(names.map(a => request(a, lr)), (i, t) => { first[i] = t; opts.onTrial?.(make(i, t)); });
  if (opts.signal?.aborted) return rankTrials(collect(first, make));

  // Round 2 (fair trials): the diverged and the far-behind candidates again at lr/3 and lr/10, same seed and data.
  const finite = first.filter((t): t is TrialSummary => !!t && !t.diverged).map(t => t.valLoss);
  const best = finite.length ? Math.min(...finite) : Infinity;
  const retry = names.map((_, i) => i).filter(i => {
    const t = first[i];
    return t !== undefined && (t.diverged || t.valLoss > FAR_BEHIND * best);
  });
  const retryReqs = retry.flatMap(i => RETRY_FACTORS.map(f => request(names[i], roundRate(lr * f))));
  const second: TrialSummary[][] = retry.map(() => []);
  if (retryReqs.length) {
    await runAll(retryReqs, (j, t) => { second[Math.floor(j / RETRY_FACTORS.length)][j % RETRY_FACTORS.length] = t; });
  }
  const kept = first.slice();
  retry.forEach((i, k) => {
    const all = [first[i]!, ...second[k].filter(Boolean)];
    // The best rate: lowest val loss among the non-diverged; if all diverged, the config's (first) trial.
    // A lower rate replaces the config's only when it beats it beyond noise (or the config's rate diverged).
    const ok = all.filter(t => !t.diverged && Number.isFinite(t.valLoss));
    let pick = ok.length ? ok.reduce((a, b) => (b.valLoss < a.valLoss ? b : a)) : all[0];
    const own = all[0];
    if (!own.diverged && Number.isFinite(own.valLoss) && own.valLoss - pick.valLoss <= TIE * Math.abs(own.valLoss)) pick = own;
    kept[i] = { ...pick, attempts: all.map(t => ({ lr: t.lr ?? lr, valLoss: t.valLoss, diverged: !!t.diverged })) };
    if (pick !== first[i]) opts.onTrial?.(make(i, kept[i]!));
  });
  return rankTrials(collect(kept, make));
}

function collect(trials: (TrialSummary | undefined)[], make: (i: number, t: TrialSummary) => RankedActivation): RankedActivation[] {
  return trials.flatMap((t, i) => (t ? [make(i, t)] : []));
}

/** lr/3 as a rate a person would write (3 significant digits). */
const roundRate = (x: number) => Number(x.toPrecision(3));
