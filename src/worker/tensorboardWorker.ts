/**
 * The worker behind "Diagnose TensorBoard Run..." (bundled to dist/tensorboardWorker.js): reads and watches the
 * log directory, diagnoses each run and posts the finished views. Event files can be large or hostile; reading,
 * decoding and the rules all stay off the extension host thread, which only receives the views.
 */
import { parentPort } from 'node:worker_threads';
import type { HostToTbWorker, RunView, TbWorkerToHost } from '../protocol';
import { watchLogdir } from '../tensorboard/logdir';
import { diagnoseTbRun } from '../tensorboard/diagnose';
import { tbRunView } from '../tensorboard/view';

export function watchForHost(m: HostToTbWorker, post: (m: TbWorkerToHost) => void): { close(): void } {
  return watchLogdir(m.dir, runs => {
    // 'done': what was read so far. The log's writer is another process; nothing here trains or can stop it.
    const views: RunView[] = runs.map(r => ({ ...tbRunView(m.label, r, diagnoseTbRun(r, m.thresholds)), source: 'tensorboard' as const }));
    post({ type: 'update', names: runs.map(r => r.name), views });
  }, { activations: m.activations, onError: e => post({ type: 'error', message: e.message.split('\n')[0] }) });
}

if (parentPort) parentPort.once('message', (m: HostToTbWorker) => { watchForHost(m, msg => parentPort!.postMessage(msg)); });
