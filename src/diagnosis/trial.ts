/**
 * One trial of `compare` (SPEC §5): a short training run of a config variant, summarized as a RankedActivation
 * trial (loss curve, final losses, health). Runs the same way in the calling thread and in trialWorker.ts.
 */
import type { Dataset, NetworkConfig } from '../model';
import { train } from '../core/train';
import type { RankedActivation } from './types';
import type { RunResult } from '../core/types';
import { median, tail } from './stats';
import { diagnosisLayers, outputLayerIndex } from './layers';

export type TrialSummary = NonNullable<RankedActivation['trial']>;

/** "Loss above 3x its start" (SPEC §5): on the training loss smoothed over a window, so one noisy batch is not a divergence. */
export const DIVERGENCE_FACTOR = 3;

/** Non-finite anywhere, or the moving mean of the per-step loss (window steps/20, 1..10) above 3x its first window. */
export function diverged(curve: number[], finalValLoss: number): boolean {
  if (!Number.isFinite(finalValLoss) || curve.some(x => !Number.isFinite(x))) return true;
  if (!curve.length) return false;
  const w = Math.max(1, Math.min(10, Math.floor(curve.length / 20)));
  const mean = (i: number) => { let s = 0; for (let j = i; j < i + w; j++) s += curve[j]; return s / w; };
  const start = mean(0);
  if (!(start > 0)) return false;
  for (let i = 1; i + w <= curve.length; i++) if (mean(i) > DIVERGENCE_FACTOR * start) return true;
  return finalValLoss > DIVERGENCE_FACTOR * start;
}

export interface TrialRequest {
  config: NetworkConfig; steps: number; probeEvery: number;
  /** `init: from-model`: the model's weights for the layers the trial keeps (the compared layer left out). */
  initialWeights?: (Record<string, Float32Array> | undefined)[];
}

/** Runs a trial; `shouldStop` is polled every step. */
export function runTrial(req: TrialRequest, data: Dataset, shouldStop?: () => boolean): { trial: TrialSummary; cancelled: boolean } {
  return summarizeTrial(req, train(req.config, data, { maxSteps: req.steps, probeEvery: req.probeEvery, shouldStop, initialWeights: req.initialWeights }));
}

/** A trial's summary from its run (whichever engine trained it). */
export function summarizeTrial(req: TrialRequest, r: RunResult): { trial: TrialSummary; cancelled: boolean } {
  const tl = r.timeline;
  const layers = req.config.model.layers;
  const out = outputLayerIndex(layers);
  const scales = diagnosisLayers(req.config);
  const last = tl.slice(-3);
  // Health over the last probes, worst hidden layer: most dead, most saturated, smallest gradient ratio.
  let dead = 0, sat = 0, ratio = Infinity;
  for (let i = 0; i < layers.length; i++) {
    if (i >= out) continue;
    const d = median(last.map(p => p.layers[i]?.deadFraction ?? NaN));
    const s = median(last.map(p => p.layers[i]?.saturatedFraction ?? NaN));
    if (d > dead) dead = d;
    if (s > sat) sat = s;
    if (layers[i].type === 'dense' || layers[i].type === 'conv2d') {
      const scale = scales[i].gradScale ?? 1;
      const q = median(tail(tl, 0.2).map(p => (p.layers[i].gradRms * scale) / p.layers[out].gradRms));
      if (q < ratio) ratio = q;
    }
  }
  const trial: TrialSummary = {
    valLoss: r.stopped === 'non-finite' ? NaN : r.final.valLoss,
    lr: req.config.train.lr,
    diverged: r.stopped === 'non-finite' || diverged(r.lossCurve, r.final.valLoss),
    trainLoss: r.final.trainLoss,
    lossCurve: r.lossCurve.map(x => Number(x.toPrecision(5))),
    deadFraction: Number(dead.toFixed(4)), saturatedFraction: Number(sat.toFixed(4)),
  };
  if (r.final.valAccuracy !== undefined) trial.valAccuracy = r.final.valAccuracy;
  if (Number.isFinite(ratio)) trial.gradRatio = Number(ratio.toPrecision(3));
  return { trial, cancelled: r.stopped === 'cancelled' };
}
