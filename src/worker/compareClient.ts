/**
 * Host side of an editor comparison: one worker (dist/compareWorker.js) per comparison, cancelled by terminating
 * it. Resolves with the ranking, or on cancel/error with the trials finished so far (ranked the same way).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { NetworkConfig } from '../model';
import type { CompareWorkerToHost, HostToCompareWorker } from '../protocol';
import type { RankedActivation } from '../diagnosis/types';
import { rankTrials } from '../diagnosis/trials';
import { workerResourceLimits } from './client';
import { removeJobDir } from '../engine/torch/job';

export interface CompareOutcome { status: 'done' | 'cancelled' | 'error'; results: RankedActivation[]; message?: string }

export function startCompare(args: { config: NetworkConfig; baseDir: string; workspaceRoot?: string; layer: number | 'all'; memoryLimitMB: number; workerPath: string; torchPython?: string; candidates?: string[] },
  onTrial?: (r: RankedActivation) => void): { cancel(): void; outcome: Promise<CompareOutcome> } {
  const partial: RankedActivation[] = [];
  let settle!: (o: CompareOutcome) => void;
  const outcome = new Promise<CompareOutcome>(r => { settle = r; });
  let finished = false;
  // Torch trials write a job folder each; a cancel may stop the worker between writing one and starting its runner
  // (which removes it), so the folders live in one of this comparison's, removed here once the worker has stopped.
  let tmpDir: string | undefined, worker: Worker;
  try {
    tmpDir = args.torchPython ? fs.mkdtempSync(path.join(os.tmpdir(), 'activation-lens-compare-')) : undefined;
    // The same V8 heap cap as a training run's worker (the data and the trials' buffers live outside the V8 heap).
    worker = new Worker(args.workerPath, { resourceLimits: workerResourceLimits(args.memoryLimitMB) });
  } catch (e) {
    // Made first so nothing is left behind: no worker waiting for a start message, no folder.
    if (tmpDir) removeJobDir(tmpDir);
    return { cancel: () => undefined, outcome: Promise.resolve({ status: 'error', results: [], message: `the comparison could not start: ${(e as Error).message}` }) };
  }
  const finish = (o: CompareOutcome) => {
    if (finished) return;
    finished = true;
    void worker.terminate().catch(() => undefined).then(() => {
      // A runner still reading its files may keep them open where that blocks removal (Windows): it removes its own.
      if (tmpDir) removeJobDir(tmpDir);
    });
    settle(o);
  };
  worker.on('message', (m: CompareWorkerToHost) => {
    if (finished) return;
    if (m.type === 'trial') { partial.push(m.result); onTrial?.(m.result); }
    else if (m.type === 'done') finish({ status: 'done', results: m.ranked });
    else finish({ status: 'error', results: rankTrials(partial), message: m.message });
  });
  worker.on('error', e => finish({ status: 'error', results: rankTrials(partial), message: `the compare worker crashed: ${e.message}` }));
  worker.on('exit', code => finish({ status: 'error', results: rankTrials(partial), message: `the compare worker exited unexpectedly (code ${code})` }));
  const start: HostToCompareWorker = { config: args.config, baseDir: args.baseDir, workspaceRoot: args.workspaceRoot, layer: args.layer, memoryLimitMB: args.memoryLimitMB,
    ...(args.torchPython ? { torchPython: args.torchPython, tmpDir } : {}), ...(args.candidates ? { candidates: args.candidates } : {}) };
  worker.postMessage(start);
  return { cancel: () => finish({ status: 'cancelled', results: rankTrials(partial) }), outcome };
}
