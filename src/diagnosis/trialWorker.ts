/**
 * Worker entry for compare's trials (bundled to dist/trialWorker.js): takes trial requests one at a time and
 * answers with their summaries. Cancellation comes through a shared Int32Array flag, since the training loop
 * is synchronous and would not see a message until it ends.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { Dataset } from '../model';
import { runTrial, type TrialRequest } from './trial';

const { data, cancelFlag } = workerData as { data: Dataset; cancelFlag: SharedArrayBuffer };
const flag = new Int32Array(cancelFlag);

parentPort!.on('message', (m: { id: number; req: TrialRequest }) => {
  try {
    const r = runTrial(m.req, data, () => Atomics.load(flag, 0) !== 0);
    parentPort!.postMessage({ id: m.id, ...r });
  } catch (e) {
    parentPort!.postMessage({ id: m.id, error: e instanceof Error ? e.message : String(e) });
  }
});
