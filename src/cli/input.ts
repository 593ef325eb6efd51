/** Loading what a CLI command needs: config (or Keras JSON), data set; bad input as one `file:line:col: message`. */
import path from 'node:path';
import { formatProblem, InputError, type Dataset, type NetworkConfig } from '../model';
import { loadConfigFile } from '../config';
import { loadDataset } from '../data';
import { defaultProbeEvery } from '../core/train';
import { memoryRefusal } from '../core/memory';
import { splitSizes } from '../data/sources';

/** Thrown for input that cannot be used (exit code 2); `line` is what goes to stderr. */
export class InputFailure extends Error {
  constructor(readonly line: string, readonly partial?: NetworkConfig) { super(line); }
}

/** The parsed config; parse warnings go to `warn`. */
export function loadConfig(file: string, warn: (line: string) => void): NetworkConfig {
  const r = loadConfigFile(file);
  for (const p of r.problems) if (p.severity === 'warning') warn(`${formatProblem(file, p)} (warning)`);
  const err = r.problems.find(p => p.severity === 'error');
  if (err || !r.config) {
    throw new InputFailure(err ? formatProblem(file, err) : `${file}:1:1: not a network config`, r.partial);
  }
  return { ...r.config, file };
}

/** --seed, --steps / --epochs applied; the probe interval re-derived unless the config sets it. */
export function applyOverrides(config: NetworkConfig, o: { seed?: number; steps?: number; epochs?: number }): NetworkConfig {
  const c: NetworkConfig = { ...config, train: { ...config.train }, probe: { ...config.probe } };
  if (o.seed !== undefined) c.seed = o.seed;
  if (o.steps !== undefined || o.epochs !== undefined) {
    if (o.steps !== undefined) c.train.steps = o.steps;
    else {
      const train = splitSizes(c.data.samples, c.data.validation).train;
      c.train.steps = o.epochs! * Math.max(1, Math.ceil(train / c.train.batch));
    }
    delete c.train.epochs;
    if (o.epochs !== undefined) c.train.epochs = o.epochs;
    if (!config.spans['probe.every']) c.probe.every = defaultProbeEvery(c.train.steps);
  }
  return c;
}

export function loadData(config: NetworkConfig, file: string, memoryLimitMB = 1024): Dataset {
  const refusal = memoryRefusal(config, memoryLimitMB);
  if (refusal) throw new InputFailure(`${file}:1:1: ${refusal}`);
  try {
    return loadDataset(config, path.dirname(path.resolve(file)));
  } catch (e) {
    if (e instanceof InputError) throw new InputFailure(formatProblem(e.file && e.file !== config.file ? e.file : file, e.problem));
    throw new InputFailure(`${file}:1:1: ${(e as Error).message}`);
  }
}
