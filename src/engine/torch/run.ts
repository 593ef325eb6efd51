/**
 * Host side of a torch-engine run: writes the job, starts python/activation_lens_runner.py, turns its JSON
 * lines into the same callbacks as the core's worker (src/worker/client.ts), cancels with a "cancel" line on
 * stdin (killing the process if it does not answer in time), and turns a crash into an error that keeps the
 * results received so far.
 */
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { spawn } from 'node:child_process';
import type { Dataset, NetworkConfig } from '../../model';
import type { ProbePoint, RunResult } from '../../core/types';
import type { RunCallbacks } from '../../worker/client';
import { removeJobDir, writeTorchJob, type TorchJobOptions } from './job';

/** How long a cancelled runner may take before it is killed. */
const CANCEL_GRACE_MS = 2000;
const RUNNER = 'activation_lens_runner.py';

/** python/activation_lens_runner.py next to the bundle (dist/ -> ..) or the sources (src/engine/torch -> ../../..). */
export function runnerPath(start = __dirname): string {
  let dir = start;
  for (let i = 0; i < 5; i++) {
    const p = path.join(dir, 'python', RUNNER);
    if (fs.existsSync(p)) return p;
    dir = path.dirname(dir);
  }
  throw new Error(`the torch engine's runner (python/${RUNNER}) is missing next to ${start}`);
}

/**
 * Runs this process started whose runner's close it has not seen, each with its job folder once that exists. The
 * folders are removed if the process exits first: a runner cleans up after itself, but not one killed while it
 * still imports torch (Ctrl-C on the CLI reaches it too).
 */
interface OpenRun { dir?: string }
const openRuns = new Set<OpenRun>();
let exitHooked = false;
let signalsExit = false;
const onSigint = () => process.exit(130), onSigterm = () => process.exit(143);

/**
 * The CLI's Ctrl-C (or a kill) while a runner's folder is open: exit through process.exit, so that the 'exit' hook
 * removes the folder (the shell's codes for those signals). Only while one is open: a listener replaces Node's
 * default action, and runs only when the event loop is free, which the core's synchronous training never lets
 * it be, so a listener kept for the whole CLI process made Ctrl-C wait for the end of a core run.
 */
export function exitOnSignalsWhileJobsOpen(): void { signalsExit = true; }

function signalHooks(on: boolean): void {
  if (!signalsExit) return;
  for (const [sig, f] of [['SIGINT', onSigint], ['SIGTERM', onSigterm]] as const) {
    process.removeListener(sig, f);
    if (on) process.on(sig, f);
  }
}

/** A run opens before its job folder is made, so that the signal hooks are on from then until its runner closed. */
function runOpens(): OpenRun {
  if (!exitHooked) {
    exitHooked = true;
    process.on('exit', () => { for (const r of openRuns) if (r.dir) removeJobDir(r.dir); });
  }
  if (openRuns.size === 0) signalHooks(true);
  const run: OpenRun = {};
  openRuns.add(run);
  return run;
}
function runCloses(run: OpenRun): void { if (openRuns.delete(run) && openRuns.size === 0) signalHooks(false); }

/** JSON has no NaN/Infinity: the runner sends them as strings. */
const revive = (_k: string, v: unknown) => (v === 'NaN' ? NaN : v === 'Infinity' ? Infinity : v === '-Infinity' ? -Infinity : v);

type RunnerMessage =
  | { type: 'started'; totalSteps: number; params: number }
  | { type: 'stats'; step: number; probes: ProbePoint[]; lossCurve: number[] }
  | { type: 'done'; result: RunResult }
  | { type: 'cancelled'; partial: RunResult }
  | { type: 'error'; message: string; partial?: RunResult };

export interface TorchRunArgs extends TorchJobOptions {
  config: NetworkConfig;
  data: Dataset;
  python: string;
  runner?: string;
  /** How long a runner may take to exit after a cancel or its last message before it is killed (default 2 s). */
  cancelGraceMs?: number;
}

/** `exit` resolves with the runner's exit code (null when a signal ended it) once it has closed. */
export function startTorchRun(args: TorchRunArgs, on: RunCallbacks): { cancel(): void; done: Promise<void>; exit: Promise<number | null> } {
  const timeline: ProbePoint[] = [];
  const lossCurve: number[] = [];
  let step = 0, params = 0, finished = false, cancelRequested = false;
  let killTimer: NodeJS.Timeout | undefined;
  const t0 = Date.now();
  let stderrTail = '';
  const partial = (): RunResult => {
    const last = timeline[timeline.length - 1];
    return {
      steps: step, stopped: 'cancelled', timeline: timeline.slice(), lossCurve: lossCurve.slice(),
      final: last ? { trainLoss: last.trainLoss, valLoss: last.valLoss, ...(last.valAccuracy !== undefined ? { valAccuracy: last.valAccuracy } : {}) } : { trainLoss: NaN, valLoss: NaN },
      params, nonTrainableParams: 0, wallMs: Date.now() - t0,
    };
  };
  let resolveDone!: () => void;
  const done = new Promise<void>(r => { resolveDone = r; });
  let job: ReturnType<typeof writeTorchJob>;
  const run = runOpens();
  try {
    job = writeTorchJob(args.config, args.data, args);
  } catch (e) {
    runCloses(run);
    queueMicrotask(() => { on.error((e as Error).message); resolveDone(); });
    return { cancel: () => undefined, done, exit: Promise.resolve(null) };
  }
  params = job.params;
  run.dir = job.dir;
  const child = spawn(args.python, [args.runner ?? runnerPath(), job.jobFile], { stdio: ['pipe', 'pipe', 'pipe'], windowsHide: true });
  let resolveExit!: (code: number | null) => void;
  const exit = new Promise<number | null>(r => { resolveExit = r; });
  const finish = (f: () => void) => {
    if (finished) return;
    finished = true;
    if (killTimer) clearTimeout(killTimer);
    try { f(); } finally {
      // The runner exits by itself after its last message (closing its ranks); one that lingers is killed.
      if (child.exitCode === null && child.signalCode === null) setTimeout(() => child.kill('SIGKILL'), args.cancelGraceMs ?? CANCEL_GRACE_MS).unref();
      resolveDone();
    }
  };
  const lines = readline.createInterface({ input: child.stdout });
  lines.on('line', line => {
    if (finished || !line.startsWith('{')) return;
    let m: RunnerMessage;
    try { m = JSON.parse(line, revive) as RunnerMessage; } catch { return; }
    switch (m.type) {
      case 'started': params = m.params; on.started?.({ type: 'started', runId: 0, totalSteps: m.totalSteps, params: m.params }); break;
      case 'stats':
        step = m.step; timeline.push(...m.probes); lossCurve.push(...m.lossCurve);
        on.stats({ type: 'stats', runId: 0, step: m.step, probes: m.probes, lossCurve: m.lossCurve });
        break;
      case 'done': finish(() => on.done(m.result)); break;
      case 'cancelled': finish(() => on.cancelled(m.partial)); break;
      case 'error': finish(() => on.error(m.message, m.partial ?? (timeline.length ? partial() : undefined))); break;
    }
  });
  child.stderr.on('data', (b: Buffer) => { stderrTail = (stderrTail + b.toString('utf8')).slice(-4000); });
  child.stdin.on('error', () => undefined);
  child.on('error', e => finish(() => on.error(`the torch engine could not start ${args.python}: ${e.message}`)));
  child.on('close', (code, signal) => {
    removeJobDir(job.dir);
    runCloses(run);
    resolveExit(code);
    closed(code, signal);
  });
  const closed = (code: number | null, signal: NodeJS.Signals | null) => finish(() => {
    if (cancelRequested) { on.cancelled(partial()); return; }
    const last = stderrTail.trim().split('\n').filter(Boolean).pop();
    on.error(`the torch engine exited (${signal ?? `code ${code}`}) before the run ended${last ? `: ${last}` : ''}`, timeline.length ? partial() : undefined);
  });
  return {
    cancel: () => {
      if (finished || cancelRequested) return;
      cancelRequested = true;
      child.stdin.write('cancel\n');
      killTimer = setTimeout(() => child.kill('SIGKILL'), args.cancelGraceMs ?? CANCEL_GRACE_MS);
    },
    done, exit,
  };
}

/** A whole run as a promise (the CLI): resolves with the result, rejects with the runner's error message. */
export function trainTorch(args: TorchRunArgs, onStep?: (step: number, loss: number) => void, signal?: AbortSignal): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    let losses = 0;
    const h = startTorchRun(args, {
      stats: m => { for (const l of m.lossCurve) onStep?.(++losses, l); },
      done: resolve,
      cancelled: resolve,
      error: (msg) => reject(new Error(msg)),
    });
    signal?.addEventListener('abort', () => h.cancel());
  });
}
