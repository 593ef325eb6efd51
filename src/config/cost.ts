/**
 * How much work a run is, from the config alone: the basis of `activationLens.runOnSave`'s "auto" (re-diagnose on
 * save only when a run is cheap) and of compare's decision to use threads. FLOPs, not measured seconds, so the
 * estimate is the same on every machine and under any load.
 */
import type { NetworkConfig } from '../model';
import { inferShapes } from './shapes';

/**
 * The CPU rate the estimate assumes, in FLOP/s of CPU time: measured on the bundled dense examples, the training core
 * (WASM SIMD GEMM, one thread) does 5-7.6 GFLOP per CPU second (deep-sigmoid-spiral 3.8 GFLOP in 0.50 s of CPU); 4 is
 * the conservative end, so "under 2 s" errs toward not running on save.
 */
export const ASSUMED_FLOPS_PER_SECOND = 4e9;
/** Convolutions run through im2col and smaller GEMMs: measured 1.8 GFLOP per CPU second (conv-shapes), so 3x the cost. */
const CONV_FACTOR = 3;

/** Multiply-adds of one sample's forward pass: each weighted layer's parameters times its output positions. */
export function forwardMacs(config: NetworkConfig): number {
  const { shapes } = inferShapes(config.model.input, config.model.layers);
  let n = 0;
  for (const s of shapes) {
    const positions = s.outputShape.slice(0, -1).reduce((a, b) => a * b, 1);
    n += s.params * positions;
  }
  return Math.max(1, n);
}

/** forwardMacs with convolutions weighted by their measured extra cost. */
function costMacs(config: NetworkConfig): number {
  const { shapes } = inferShapes(config.model.input, config.model.layers);
  let n = 0;
  shapes.forEach((s, i) => {
    const positions = s.outputShape.slice(0, -1).reduce((a, b) => a * b, 1);
    n += s.params * positions * (config.model.layers[i]?.type === 'conv2d' ? CONV_FACTOR : 1);
  });
  return Math.max(1, n);
}

/**
 * FLOPs of a whole run: a training step is forward + backward, ~3 forward passes (6 FLOPs per multiply-add) per
 * sample of the batch; each probe runs forward + backward on `probe.samples` samples. Validation passes and the
 * statistics are small next to these and are left out. Convolutions count 3x (see CONV_FACTOR).
 */
export function estimateRunFlops(config: NetworkConfig, trainSamples?: number): number {
  const macs = costMacs(config);
  const batch = Math.min(config.train.batch, trainSamples ?? config.train.batch);
  const steps = config.train.steps;
  const probes = Math.floor(steps / Math.max(1, config.probe.every)) + 1;
  return 6 * macs * (batch * steps + probes * Math.max(1, config.probe.samples));
}

/** Estimated CPU seconds of the run at ASSUMED_FLOPS_PER_SECOND. */
export function estimateRunSeconds(config: NetworkConfig, trainSamples?: number): number {
  return estimateRunFlops(config, trainSamples) / ASSUMED_FLOPS_PER_SECOND;
}
