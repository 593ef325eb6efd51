/**
 * The training worker (bundled to dist/worker.js): loads the data, refuses runs over the memory limit,
 * trains with probes and streams stats to the host at most 20 times a second. Cancellation arrives through
 * a shared Int32Array flag (the loop is synchronous, so a message could not be read until it ends), polled
 * every step: a cancel takes effect within one training step or probe.
 */
import { parentPort } from 'node:worker_threads';
import { formatProblem, InputError, type Dataset, type NetworkConfig } from '../model';
import type { HostToWorker, WorkerToHost } from '../protocol';
import type { ProbePoint } from '../core/types';
import { coreHeapRefusal, memoryRefusal } from '../core/memory';
import { Trainer } from '../core/train';
import { runThreads, startKeeper } from '../core/parallel';
import { loadRunInputs } from '../engine/inputs';
import { loadDataset } from '../data';
import { resolveInit } from '../core/initializers';

/** Minimum interval between stats messages (20 per second at most). */
export const STATS_INTERVAL_MS = 50;

function describe(e: unknown, config: NetworkConfig): string {
  if (e instanceof InputError) return formatProblem(e.file ?? config.file ?? 'config', e.problem);
  return e instanceof Error ? e.message : String(e);
}

/** How long a run waits for its helper threads to start before going on without the late ones. */
const HELPER_START_MS = 2000;

/** Runs one training request to its end, posting started/stats and then done, cancelled or error. */
export function runRequest(m: Extract<HostToWorker, { type: 'start' }>, post: (m: WorkerToHost) => void,
  load?: (c: NetworkConfig, dir: string) => Dataset): void {
  const { runId, config } = m;
  const flag = m.cancelFlag ? new Int32Array(m.cancelFlag) : null;
  let trainer: Trainer | undefined;
  const pending: ProbePoint[] = [];
  let sentLosses = 0;
  let lastSent = 0;
  const flush = () => {
    if (!trainer) return;
    const lossCurve = trainer.lossCurve.slice(sentLosses);
    sentLosses = trainer.lossCurve.length;
    post({ type: 'stats', runId, step: trainer.step, probes: pending.splice(0), lossCurve });
    lastSent = performance.now();
  };
  try {
    const threads = runThreads(config.train.threads ?? m.threads);
    // Both before the data is loaded: a run the core cannot address (over 4 GB of wasm memory, with a limit above that)
    // is refused without generating or reading its data first.
    const refusal = memoryRefusal(config, m.memoryLimitMB, threads) ?? coreHeapRefusal(config, threads);
    if (refusal) { post({ type: 'error', runId, message: refusal }); return; }
    const { data, initialWeights } = loadRunInputs(config, m.baseDir, { workspaceRoot: m.workspaceRoot, loadData: load, memoryLimitMB: m.memoryLimitMB });
    trainer = new Trainer(config, data, {
      initialWeights,
      maxSteps: m.maxSteps,
      // the config's train.threads, else the setting, else every core (the trainer stays on one thread for small nets)
      threads,
      shouldStop: flag ? () => Atomics.load(flag, 0) !== 0 : undefined,
      onProbe: p => pending.push(p),
      onNote: line => console.warn(`Activation Lens: ${line}`),
    });
    // Helpers take tens of ms to start: waiting for them here makes `threads` in 'started' true (the helpers do
    // run), and a run's first steps as fast as the rest. Bounded, and before the first step, so cancel still answers.
    const helpers = trainer.net.heap.kernels.helpers;
    if (helpers && !helpers.waitReady(HELPER_START_MS)) console.warn('Activation Lens: a training helper thread did not start; the run goes on with fewer threads');
    const note = trainer.net.heap.kernels.note;
    post({ type: 'started', runId, totalSteps: trainer.totalSteps, params: trainer.net.paramCounts().params,
      threads: helpers ? helpers.ready() + 1 : trainer.threads, ...(note ? { note } : {}) });
    lastSent = performance.now();
    let first = true;
    while (!trainer.done) {
      trainer.advance();
      // The first probe goes out at once (the panel's first chart), then at most one message per interval.
      if ((first && pending.length) || performance.now() - lastSent >= STATS_INTERVAL_MS) { first = false; flush(); }
    }
    flush();
    trainer.dispose();
    const result = trainer.result();
    if (result.stopped === 'cancelled') post({ type: 'cancelled', runId, partial: result });
    else post({ type: 'done', runId, result });
  } catch (e) {
    trainer?.dispose();
    const partial = trainer ? trainer.result() : undefined;
    post({ type: 'error', runId, message: describe(e, config), partial });
  }
}

/**
 * A few steps of a tiny net on synthetic data, before any run asks: compiles the wasm kernels and lets the JIT see
 * the training loop, so the user's first Run costs what later ones do. Nothing is posted; errors are ignored.
 */
export function warmUp(): void {
  const dense = (index: number, units: number, activation: 'relu' | 'tanh' | 'softmax') => ({ type: 'dense' as const, name: `warm_${index}`, index, units,
    activation: { name: activation }, init: resolveInit('he_normal')!, biasInit: resolveInit('zeros')!, useBias: true });
  const config: NetworkConfig = {
    seed: 1, data: { source: 'spiral', samples: 96, noise: 0.1, classes: 3, validation: 0.25 },
    model: { input: [2], layers: [dense(0, 16, 'relu'), dense(1, 16, 'tanh'), dense(2, 3, 'softmax')] },
    train: { loss: 'cross_entropy', optimizer: 'adam', lr: 0.01, batch: 16, steps: 40, weightDecay: 0, momentum: 0.9, beta1: 0.9, beta2: 0.999, epsilon: 1e-7, rho: 0.9 },
    probe: { every: 10, samples: 24 }, diagnostics: {}, spans: {},
  };
  try {
    // The thread that starts a run's helpers and reports one that ends (parallel.ts): started once, before a run waits
    // on it; not on one core, where no run has helpers.
    if (runThreads(undefined) > 1) startKeeper();
    const trainer = new Trainer(config, loadDataset(config, '.'), { threads: 1 });
    while (!trainer.done) trainer.advance();
    trainer.dispose();
  } catch { /* a warm-up only: the real run reports its own errors */ }
}

if (parentPort) {
  parentPort.on('message', (m: HostToWorker) => {
    if (m.type === 'warm') warmUp();
    if (m.type === 'start') runRequest(m, msg => parentPort!.postMessage(msg));
    // 'cancel' messages are only seen between runs; the shared flag is what stops a running loop.
  });
}
