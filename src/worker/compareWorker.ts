/**
 * The worker behind the editor's "Compare Activations" (bundled to dist/compareWorker.js): checks the memory
 * estimate, loads the data and runs the trials (on two more threads when they pay), so neither the data nor the
 * training ever touches the extension host thread. Each finished trial is posted at once: a cancel (the host
 * terminates this worker, and with it the trial threads) keeps the trials already done.
 */
import { parentPort } from 'node:worker_threads';
import { formatProblem, InputError } from '../model';
import type { CompareWorkerToHost, HostToCompareWorker } from '../protocol';
import { coreHeapRefusal, memoryRefusal } from '../core/memory';
import { compareActivations } from '../diagnosis/trials';
import { trainTorch } from '../engine/torch/run';
import { loadRunInputs } from '../engine/inputs';

export async function runCompare(m: HostToCompareWorker, post: (m: CompareWorkerToHost) => void): Promise<void> {
  try {
    // The same refusal as `activation-lens compare` and Run: before a byte of data is loaded.
    // The core's trials also refuse a heap over what WebAssembly addresses (a memory limit over 4 GB lets it through).
    const refusal = memoryRefusal(m.config, m.memoryLimitMB) ?? (m.torchPython ? null : coreHeapRefusal(m.config));
    if (refusal) { post({ type: 'error', message: refusal }); return; }
    const { data, initialWeights } = loadRunInputs(m.config, m.baseDir, { workspaceRoot: m.workspaceRoot, memoryLimitMB: m.memoryLimitMB });
    const ranked = await compareActivations(m.config, data, {
      layer: m.layer, candidates: m.candidates, parallel: true, initialWeights, onTrial: r => post({ type: 'trial', result: r }),
      // The torch engine: each trial is a runner process (a cancel terminates this worker, closing the runner's stdin, which
      // stops it); its job folder is in the host's m.tmpDir, which the host removes even if this thread was stopped mid-write.
      ...(m.torchPython ? { train: (req, data) => trainTorch({ config: req.config, data, python: m.torchPython!, maxSteps: req.steps, probeEvery: req.probeEvery, initialWeights: req.initialWeights, tmpDir: m.tmpDir }) } : {}),
    });
    post({ type: 'done', ranked });
  } catch (e) {
    const message = e instanceof InputError ? formatProblem(e.file ?? m.config.file ?? 'config', e.problem) : e instanceof Error ? e.message : String(e);
    post({ type: 'error', message });
  }
}

if (parentPort) parentPort.once('message', (m: HostToCompareWorker) => void runCompare(m, msg => parentPort!.postMessage(msg)));
