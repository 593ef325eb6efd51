/**
 * Which engine trains a config. `core` (the default) is the built-in wasm trainer; `torch` runs PyTorch
 * through python/activation_lens_runner.py; `auto` picks torch when an interpreter with torch is found and a
 * training step is large (AUTO_MIN_WORK multiply-adds: batch x forward multiply-adds per sample), where native
 * BLAS pays for starting Python; else core. The choice comes from the CLI flag, else the config's
 * train.engine, else the setting activationLens.engine.
 */
import type { EngineName, NetworkConfig } from '../model';
import { inferShapes } from '../config/shapes';
import { findTorchPython, findTorchPythonAsync, requireTorchPython, TorchUnavailable, type PythonCandidate, type TorchPython } from './torch/python';

/** Multiply-adds per training step from which `auto` prefers torch (W1 at batch 64 is 1.5e7; W2 is 1e4). */
export const AUTO_MIN_WORK = 1e7;

/** Forward multiply-adds of one sample: each weighted layer's parameters times its output positions. */
export function forwardWorkPerSample(config: NetworkConfig): number {
  const { shapes } = inferShapes(config.model.input, config.model.layers);
  let n = 0;
  for (const s of shapes) n += s.params * s.outputShape.slice(0, -1).reduce((a, b) => a * b, 1);
  return Math.max(1, n);
}

export function stepWork(config: NetworkConfig): number { return forwardWorkPerSample(config) * config.train.batch; }

export type EngineChoice = { engine: 'core'; why: string } | { engine: 'torch'; python: TorchPython; why: string };

/** Resolves the engine; `torch` without an interpreter that imports torch throws TorchUnavailable. */
export function chooseEngine(config: NetworkConfig, requested: { flag?: EngineName; setting?: EngineName }, candidates: PythonCandidate[]): EngineChoice {
  const want = requested.flag ?? config.train.engine ?? requested.setting ?? 'core';
  if (want === 'core') return { engine: 'core', why: 'engine core' };
  if (want === 'torch') {
    const python = requireTorchPython(candidates);
    return { engine: 'torch', python, why: `engine torch (${python.command}, torch ${python.torchVersion})` };
  }
  const work = stepWork(config);
  if (work < AUTO_MIN_WORK) return { engine: 'core', why: `engine auto: core (a step is ${work.toExponential(1)} multiply-adds, under ${AUTO_MIN_WORK.toExponential(0)})` };
  const found = findTorchPython(candidates);
  if ('attempts' in found) return { engine: 'core', why: 'engine auto: core (no interpreter with torch found)' };
  return { engine: 'torch', python: found, why: `engine auto: torch (a step is ${work.toExponential(1)} multiply-adds; ${found.command}, torch ${found.torchVersion})` };
}

/** chooseEngine without blocking the event loop while interpreters are tried (the editor). */
export async function chooseEngineAsync(config: NetworkConfig, requested: { flag?: EngineName; setting?: EngineName }, candidates: () => Promise<PythonCandidate[]>): Promise<EngineChoice> {
  const want = requested.flag ?? config.train.engine ?? requested.setting ?? 'core';
  if (want === 'core' || (want === 'auto' && stepWork(config) < AUTO_MIN_WORK)) return chooseEngine(config, requested, []);
  const found = await findTorchPythonAsync(await candidates());
  if ('attempts' in found) {
    if (want === 'torch') throw new TorchUnavailable(found.attempts);
    return { engine: 'core', why: 'engine auto: core (no interpreter with torch found)' };
  }
  // The interpreter is cached now: the synchronous choice reuses it.
  return chooseEngine(config, requested, [{ command: found.command, source: found.source }]);
}

export function isEngineName(s: string): s is EngineName { return s === 'core' || s === 'torch' || s === 'auto'; }
