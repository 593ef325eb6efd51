/**
 * Host side of a training run: starts dist/worker.js, forwards its typed messages, cancels through a
 * shared flag (and terminates the worker if it does not answer in time), and turns a crashed worker into an
 * error that keeps the results received so far.
 */
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { NetworkConfig } from '../model';
import type { HostToWorker, WorkerToHost } from '../protocol';
import type { ProbePoint, RunResult } from '../core/types';

export type StatsMessage = Extract<WorkerToHost, { type: 'stats' }>;

export interface RunCallbacks {
  stats(m: StatsMessage): void;
  done(r: RunResult): void;
  error(msg: string, partial?: RunResult): void;
  cancelled(partial: RunResult): void;
  /** Optional: the worker accepted the run. */
  started?(m: Extract<WorkerToHost, { type: 'started' }>): void;
}

/** How long a cancelled worker may take before it is terminated. */
const CANCEL_GRACE_MS = 2000;
let nextRunId = 1;

/**
 * One idle worker kept warm between runs: starting a thread, loading the bundle and compiling the wasm kernels
 * cost more than training a bundled example (about 0.5 s of the editor's Run -> first chart). It is unref'd (it
 * never keeps a process alive) and reused only with the same script and heap cap; a worker that crashed, ran out
 * of memory or had to be terminated is never reused.
 */
let idle: { worker: Worker; key: string; forget(): void } | undefined;
const poolKey = (workerPath: string, memoryLimitMB: number) => `${workerPath}\n${memoryLimitMB}`;

function spawnWorker(workerPath: string, memoryLimitMB: number): Worker {
  return new Worker(workerPath, { resourceLimits: workerResourceLimits(memoryLimitMB) });
}

/** Makes `worker` the idle one; it leaves the pool by itself if it dies while idle. */
function keepIdle(worker: Worker, key: string): void {
  const gone = () => { if (idle?.worker === worker) idle = undefined; };
  worker.on('error', gone);
  worker.on('exit', gone);
  worker.unref();
  idle = { worker, key, forget: () => { worker.off('error', gone); worker.off('exit', gone); } };
}

/**
 * Starts the idle worker ahead of the first run (the editor calls this when a config is open), and has it compile
 * the kernels and train a few steps of a tiny net so the first real run finds them compiled. No-op when one is ready.
 */
export function prewarmWorker(workerPath: string, memoryLimitMB: number): void {
  const key = poolKey(workerPath, memoryLimitMB);
  if (idle?.key === key) return;
  disposeIdleWorker();
  const worker = spawnWorker(workerPath, memoryLimitMB);
  worker.postMessage({ type: 'warm' } satisfies HostToWorker);
  keepIdle(worker, key);
}

/** Ends the idle worker (the extension deactivates, the settings changed). */
export function disposeIdleWorker(): void {
  const w = idle?.worker;
  idle = undefined;
  if (w) void w.terminate().catch(() => undefined);
}

function takeWorker(workerPath: string, memoryLimitMB: number): Worker {
  const key = poolKey(workerPath, memoryLimitMB);
  if (idle?.key === key) {
    const { worker, forget } = idle;
    idle = undefined;
    forget();
    worker.ref();
    return worker;
  }
  return spawnWorker(workerPath, memoryLimitMB);
}

/** A worker whose run ended with a message of its own (it is alive and idle): kept warm unless one already is. */
function release(worker: Worker, workerPath: string, memoryLimitMB: number): void {
  if (idle) { void worker.terminate().catch(() => undefined); return; }
  keepIdle(worker, poolKey(workerPath, memoryLimitMB));
}

/**
 * The worker's V8 heap cap: the memory estimate covers everything a run allocates (typed arrays and the wasm
 * heap live outside the V8 heap), so a JS heap over the user's limit is a bug or hostile input, and this
 * stops it with an error instead of letting it take the machine. Headroom for the runtime itself.
 */
export function workerResourceLimits(memoryLimitMB: number): { maxOldGenerationSizeMb: number; maxYoungGenerationSizeMb: number } {
  return { maxOldGenerationSizeMb: Math.max(64, Math.ceil(memoryLimitMB)) + 32, maxYoungGenerationSizeMb: 32 };
}

export function startRun(args: { config: NetworkConfig; baseDir: string; maxSteps: number; memoryLimitMB: number; workerPath?: string; workspaceRoot?: string; threads?: number },
  on: RunCallbacks): { cancel(): void; done: Promise<void> } {
  const runId = nextRunId++;
  const cancelFlag = new SharedArrayBuffer(4);
  const flag = new Int32Array(cancelFlag);
  const timeline: ProbePoint[] = [];
  const lossCurve: number[] = [];
  let step = 0;
  let params = 0;
  let finished = false;
  let killTimer: NodeJS.Timeout | undefined;
  const t0 = Date.now();
  const partial = (stopped: RunResult['stopped']): RunResult => {
    const last = timeline[timeline.length - 1];
    return {
      steps: step, stopped, timeline: timeline.slice(), lossCurve: lossCurve.slice(),
      final: last ? { trainLoss: last.trainLoss, valLoss: last.valLoss, ...(last.valAccuracy !== undefined ? { valAccuracy: last.valAccuracy } : {}) } : { trainLoss: NaN, valLoss: NaN },
      params, nonTrainableParams: 0, wallMs: Date.now() - t0,
    };
  };

  const workerPath = args.workerPath ?? path.join(__dirname, 'worker.js');
  const worker = takeWorker(workerPath, args.memoryLimitMB);
  let resolveDone!: () => void;
  const done = new Promise<void>(r => { resolveDone = r; });
  /** `answered`: the worker ended the run itself (done, cancelled, error message), so it is alive and reusable. */
  const finish = (f: () => void, answered = false) => {
    if (finished) return;
    finished = true;
    if (killTimer) clearTimeout(killTimer);
    try { f(); } finally {
      worker.off('message', onMessage); worker.off('error', onError); worker.off('exit', onExit);
      if (answered) release(worker, workerPath, args.memoryLimitMB);
      else void worker.terminate().catch(() => undefined);
      resolveDone();
    }
  };

  const onMessage = (m: WorkerToHost) => {
    if (finished || m.runId !== runId) return;
    switch (m.type) {
      case 'started': params = m.params; on.started?.(m); break;
      case 'stats':
        step = m.step; timeline.push(...m.probes); lossCurve.push(...m.lossCurve);
        on.stats(m);
        break;
      case 'done': finish(() => on.done(m.result), true); break;
      case 'cancelled': finish(() => on.cancelled(m.partial), true); break;
      case 'error': finish(() => on.error(m.message, m.partial ?? (timeline.length ? partial('cancelled') : undefined)), true); break;
    }
  };
  const onError = (e: Error) => finish(() => on.error((e as NodeJS.ErrnoException).code === 'ERR_WORKER_OUT_OF_MEMORY'
    ? `the training worker ran out of memory: its heap is capped by activationLens.memoryLimitMB (${args.memoryLimitMB} MB)`
    : `the training worker crashed: ${e.message}`, timeline.length ? partial('cancelled') : undefined));
  const onExit = (code: number) => finish(() => {
    if (flag[0]) on.cancelled(partial('cancelled'));
    else on.error(`the training worker exited unexpectedly (code ${code})`, timeline.length ? partial('cancelled') : undefined);
  });
  worker.on('message', onMessage);
  worker.on('error', onError);
  worker.on('exit', onExit);

  const start: HostToWorker = { type: 'start', runId, config: args.config, baseDir: args.baseDir, maxSteps: args.maxSteps, memoryLimitMB: args.memoryLimitMB, cancelFlag,
    ...(args.workspaceRoot ? { workspaceRoot: args.workspaceRoot } : {}), ...(args.threads ? { threads: args.threads } : {}) };
  worker.postMessage(start);

  return {
    cancel() {
      if (finished) return;
      Atomics.store(flag, 0, 1);
      worker.postMessage({ type: 'cancel', runId } satisfies HostToWorker);
      killTimer ??= setTimeout(() => finish(() => on.cancelled(partial('cancelled'))), CANCEL_GRACE_MS);
    },
    done,
  };
}
