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

  const worker = new Worker(args.workerPath ?? path.join(__dirname, 'worker.js'), { resourceLimits: workerResourceLimits(args.memoryLimitMB) });
  let resolveDone!: () => void;
  const done = new Promise<void>(r => { resolveDone = r; });
  const finish = (f: () => void) => {
    if (finished) return;
    finished = true;
    if (killTimer) clearTimeout(killTimer);
    try { f(); } finally {
      void worker.terminate().catch(() => undefined);
      resolveDone();
    }
  };

  worker.on('message', (m: WorkerToHost) => {
    if (finished || m.runId !== runId) return;
    switch (m.type) {
      case 'started': params = m.params; on.started?.(m); break;
      case 'stats':
        step = m.step; timeline.push(...m.probes); lossCurve.push(...m.lossCurve);
        on.stats(m);
        break;
      case 'done': finish(() => on.done(m.result)); break;
      case 'cancelled': finish(() => on.cancelled(m.partial)); break;
      case 'error': finish(() => on.error(m.message, m.partial ?? (timeline.length ? partial('cancelled') : undefined))); break;
    }
  });
  worker.on('error', e => finish(() => on.error((e as NodeJS.ErrnoException).code === 'ERR_WORKER_OUT_OF_MEMORY'
    ? `the training worker ran out of memory: its heap is capped by activationLens.memoryLimitMB (${args.memoryLimitMB} MB)`
    : `the training worker crashed: ${e.message}`, timeline.length ? partial('cancelled') : undefined)));
  worker.on('exit', code => finish(() => {
    if (flag[0]) on.cancelled(partial('cancelled'));
    else on.error(`the training worker exited unexpectedly (code ${code})`, timeline.length ? partial('cancelled') : undefined);
  }));

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
