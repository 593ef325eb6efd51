/** Loading what a CLI command needs: config (or Keras JSON), data set; bad input as one `file:line:col: message`. */
import path from 'node:path';
import { formatProblem, InputError, type NetworkConfig } from '../model';
import { loadConfigFile } from '../config';
import { loadRunInputs, type RunInputs } from '../engine/inputs';
import { defaultProbeEvery } from '../core/train';
import { memoryRefusal } from '../core/memory';
import { thresholdProblems } from '../diagnosis/thresholds';
import { TRAIN_LIMITS } from '../config/parse';
import { outputPathProblem, writeOutputChecked } from '../io/outputPath';
import { recordReads, type FileRead } from '../io/userFile';
import { UsageError } from './args';
import { locationName, safeName } from '../format';

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
    throw new InputFailure(err ? formatProblem(file, err) : `${locationName(file)}:1:1: not a network config`, r.partial);
  }
  for (const p of thresholdProblems(r.config.diagnostics, r.config.spans)) warn(`${formatProblem(file, p)} (warning)`);
  return { ...r.config, file };
}

/** --seed and --steps applied; the probe interval re-derived unless the config sets it. */
export function applyOverrides(config: NetworkConfig, o: { seed?: number; steps?: number; batch?: number; probeSamples?: number }): NetworkConfig {
  const c: NetworkConfig = { ...config, train: { ...config.train }, probe: { ...config.probe } };
  if (o.seed !== undefined) c.seed = o.seed;
  // --batch / --probe-samples: fit a large imported model under the memory limit without writing a config.
  if (o.batch !== undefined) c.train.batch = o.batch;
  if (o.probeSamples !== undefined) c.probe.samples = Math.min(4096, o.probeSamples);
  if (o.steps !== undefined) setSteps(c, config, o.steps);
  return c;
}

/** --epochs: steps from the loaded training split (a csv's size is known only once it is read). */
export function applyEpochs(config: NetworkConfig, epochs: number, trainSamples: number): NetworkConfig {
  const c: NetworkConfig = { ...config, train: { ...config.train }, probe: { ...config.probe } };
  const steps = epochs * Math.max(1, Math.ceil(trainSamples / c.train.batch));
  if (steps > TRAIN_LIMITS.steps) throw new InputFailure(`${locationName(config.file ?? 'config')}:1:1: --epochs ${epochs} is ${steps} steps at batch ${c.train.batch}, more than the ${TRAIN_LIMITS.steps} a run may take`);
  setSteps(c, config, steps);
  c.train.epochs = epochs;
  return c;
}

function setSteps(c: NetworkConfig, original: NetworkConfig, steps: number): void {
  c.train.steps = steps;
  delete c.train.epochs;
  if (!original.spans['probe.every']) c.probe.every = defaultProbeEvery(steps);
}

/** Refuses an output path (--html): one line, exit 2. */
export function checkOutputPath(flag: string, out: string, inputs: readonly (string | FileRead)[]): void {
  const problem = outputPathProblem(out, inputs);
  if (problem) throw new UsageError(`cannot write ${flag} ${safeName(out)}: ${problem}`);
}

/**
 * A report file a command writes (--html). Every file the command's readers open (src/io/userFile.ts: the
 * config, its data.path, a model and its weight files, the event files of a log directory) is recorded from
 * the start, so no input can be overwritten whatever named it. Checked when made (a bad path costs no work),
 * by the command once its inputs are read (before training), and again before writing. close() when done.
 */
export class ReportFile {
  private readonly reads = recordReads();
  private readonly inputs: string[];

  /** `inputs`: the paths the command was given (a directory: everything inside it is an input). */
  constructor(readonly flag: string, readonly path: string, inputs: string[]) {
    this.inputs = [...inputs];
    try { this.check(); } catch (e) { this.close(); throw e; }
  }

  /** Throws UsageError when the path is an input; `more`: input paths learned since (a log directory a config names). */
  check(more: string[] = []): void {
    this.inputs.push(...more);
    checkOutputPath(this.flag, this.path, [...this.inputs, ...this.reads.files]);
  }

  write(text: string): void {
    try {
      // Checked by path, then the opened file itself before it is truncated (outputPath.ts: writeOutputChecked).
      let problem: string | null;
      try { problem = writeOutputChecked(this.path, text, [...this.inputs, ...this.reads.files]); } catch (e) {
        throw new UsageError(`cannot write ${this.flag} ${safeName(this.path)}: ${safeName((e as Error).message.split('\n')[0])}`);
      }
      if (problem) throw new UsageError(`cannot write ${this.flag} ${safeName(this.path)}: ${problem}`);
    } finally {
      this.close();
    }
  }

  close(): void { this.reads.stop(); }
}

/** The data set and (`init: from-model`) the model's weights, after the memory check; a problem is one stderr line. */
export function loadInputs(config: NetworkConfig, file: string, memoryLimitMB = 1024): RunInputs {
  const refusal = memoryRefusal(config, memoryLimitMB);
  if (refusal) throw new InputFailure(`${locationName(file)}:1:1: ${refusal}`);
  try {
    return loadRunInputs(config, path.dirname(path.resolve(file)), { memoryLimitMB });
  } catch (e) {
    if (e instanceof InputError) throw new InputFailure(formatProblem(e.file && e.file !== config.file ? e.file : file, e.problem));
    throw new InputFailure(`${locationName(file)}:1:1: ${(e as Error).message}`);
  }
}
