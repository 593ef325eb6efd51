/**
 * The job the PyTorch runner reads: the config, the plan the core would follow (runPlan), the data set the
 * TypeScript data sources produced and the initial weights the core draws from the seed, so both engines
 * start from the same numbers and see the same batches. Data and weights go to one float32 file.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Dataset, NetworkConfig } from '../../model';
import { Network } from '../../core/network';
import { runPlan, targetWidth } from '../../core/train';
import { ACTIVATIONS } from '../../core/activations';

export interface TorchJobOptions {
  maxSteps?: number;
  probeEvery?: number;
  device?: 'cpu' | 'cuda' | 'auto';
  threads?: number;
  processes?: number;
  /** Imported weights per layer (as the core's TrainOptions.initialWeights), over the seeded initialization. */
  initialWeights?: (Record<string, Float32Array> | undefined)[];
  /** The folder the job's own folder is made in (default: the system's temporary folder). */
  tmpDir?: string;
  /** Whether the chosen Python's torch sees CUDA (TorchPython.cuda): `device: auto` runs there on CUDA, else on the CPU. */
  cuda?: boolean;
}

/** What "dead" and "saturated" mean for a layer's activation, as numbers the runner can compare with. */
export interface ProbeInfo { dead: [number, number] | null; satAbove: number | null; satAtLeast: number | null }

const BIG = 1e300;

export function probeInfo(config: NetworkConfig): ProbeInfo[] {
  return config.model.layers.map(l => {
    if (!('activation' in l)) return { dead: null, satAbove: null, satAtLeast: null };
    const info = ACTIVATIONS[l.activation.name];
    let dead: [number, number] | null = null;
    if (info.isDead) {
      // Alive between the dead region that starts at -inf and the one that ends at +inf.
      const below = info.regions.dead.find(r => r[0] === -Infinity), above = info.regions.dead.find(r => r[1] === Infinity);
      dead = [below ? below[1] : -BIG, above ? above[0] : BIG];
    }
    let satAtLeast: number | null = null;
    if (info.saturatedAbove === null && info.isSaturated) {
      const r = info.regions.saturated.find(x => x[1] === Infinity);
      if (!r || info.regions.saturated.length !== 1) throw new Error(`activation ${info.name}: the torch engine cannot judge its saturation`);
      satAtLeast = r[0];
    }
    return { dead, satAbove: info.saturatedAbove, satAtLeast };
  });
}

export interface WrittenJob { dir: string; jobFile: string; dataFile: string; totalSteps: number; params: number }

/**
 * Removes a job folder and all in it (a torch run's, or a comparison's that holds its trials' folders): the one way
 * every caller does it. Quiet: a folder already gone is fine, and one that a runner still holds open where that
 * blocks removal (Windows) is left to the runner, which removes its own as it exits (removeDir). Never throws, so a
 * failed removal cannot replace the error being reported or escape an event handler.
 */
export function removeJobDir(dir: string): void {
  try { fs.rmSync(dir, { recursive: true, force: true }); } catch { /* left to the runner */ }
}

/** Writes job.json and data.f32 into a fresh temporary directory (the caller removes it: removeJobDir). */
export function writeTorchJob(config: NetworkConfig, data: Dataset, opts: TorchJobOptions = {}): WrittenJob {
  const plan = runPlan(config, data, opts);
  const processes = opts.processes ?? config.train.processes ?? 1;
  if (processes > plan.batch) throw new Error(`train.processes ${processes} is more than the batch of ${plan.batch}: every process needs at least one sample per step`);
  // Each rank is a Python process with its own torch (~230 MB here): on the CPU, more ranks than cores only
  // divide the same cores, and train.processes (up to 1024) would otherwise start that many.
  // `auto` is what the runner's pick_device makes of it: CUDA when torch sees it, else the CPU (unknown: the CPU).
  const device = opts.device ?? config.train.device ?? 'cpu', cores = os.availableParallelism();
  if ((device === 'cpu' || (device === 'auto' && !opts.cuda)) && processes > cores) {
    const auto = device === 'auto' ? 'device auto runs on the CPU here (torch sees no CUDA), and ' : '';
    throw new Error(`train.processes ${processes} is more than this machine's ${cores} cores: ${auto}DistributedDataParallel on the CPU runs one process per core at most (set processes: ${cores} or fewer${auto ? '' : ', or device: cuda'})`);
  }
  // The core's initial weights: one row of buffers is enough to draw them.
  const net = new Network(config, { rows: 1, kernels: 'js' }).commit();
  if (opts.initialWeights) {
    const bad = net.loadWeights(opts.initialWeights);
    if (bad.length) throw new Error(`the model's weights do not fit ${bad.join(', ')}: the layer's shape differs from the model's`);
  }
  const { params, nonTrainable } = net.paramCounts();
  const inSize = config.model.input.reduce((a, b) => a * b, 1);
  const yWidth = targetWidth(data);
  const dir = fs.mkdtempSync(path.join(opts.tmpDir ?? os.tmpdir(), 'activation-lens-torch-'));
  const dataFile = path.join(dir, 'data.f32');
  const fd = fs.openSync(dataFile, 'w');
  let offset = 0;
  const put = (a: Float32Array): number => {
    const at = offset;
    // One write takes at most 2 GiB - 1 (Node) and may write less than asked (Linux: at most 0x7ffff000 bytes).
    const bytes = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
    for (let done = 0; done < bytes.length;) done += fs.writeSync(fd, bytes, done, Math.min(1 << 30, bytes.length - done));
    offset += a.length;
    return at;
  };
  try {
    const dataOffsets = {
      trainX: put(data.train.x.subarray(0, data.train.n * inSize)), trainY: put(data.train.y.subarray(0, data.train.n * yWidth)),
      valX: put(data.val.x.subarray(0, data.val.n * inSize)), valY: put(data.val.y.subarray(0, data.val.n * yWidth)),
    };
    const weights = net.params.map(p => ({ name: p.name, count: p.w.n, offset: put(p.w.v) }));
    const job = {
      config, dataFile,
      plan: { totalSteps: plan.totalSteps, every: plan.every, batch: plan.batch, probeRows: plan.probeRows, evalRows: plan.rows, evalEqualsProbe: plan.evalEqualsProbe },
      data: { task: data.task, trainN: data.train.n, valN: data.val.n, inSize, yWidth, ...dataOffsets },
      weights, probeInfo: probeInfo(config), params, nonTrainableParams: nonTrainable,
      device,
      // The runner removes the directory as it exits, even when this thread was terminated (a cancelled Compare).
      removeDir: true,
      processes, threads: opts.threads ?? config.train.threads ?? Math.max(1, Math.floor(os.cpus().length / processes)),
    };
    const jobFile = path.join(dir, 'job.json');
    fs.writeFileSync(jobFile, JSON.stringify(job));
    return { dir, jobFile, dataFile, totalSteps: plan.totalSteps, params };
  } catch (e) {
    removeJobDir(dir);
    throw e;
  } finally {
    fs.closeSync(fd);
  }
}
