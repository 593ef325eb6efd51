/**
 * Memory a run will take, measured by planning the network's heap (the same allocation code the trainer
 * runs, without allocating anything) plus the data set. The worker refuses runs over the limit (SPEC §8)
 * with a message naming the layer and batch that drive the estimate.
 */
import type { NetworkConfig } from '../model';
import { heapTooLarge, mb } from './heap';
import { Network, splitPays } from './network';
import { Optimizer } from './optimizers';
import { MAX_THREADS, runThreads } from './parallel';
import { runPlan, trainerThreads } from './train';
import { IRIS_SAMPLES, SOURCES, splitSizes } from '../data/sources';

const prod = (s: number[]) => s.reduce((a, b) => a * b, 1);

/** Rows the buffers are sized for: the batch or the probe batch, whichever is larger. */
export function bufferRows(config: NetworkConfig): number {
  const valN = Math.round((config.data.samples || 0) * (config.data.validation || 0));
  const probe = Math.min(config.probe.samples || 256, valN > 0 ? valN : config.probe.samples || 256);
  return Math.max(1, config.train.batch, probe);
}

/**
 * `threads`: what the run asks for (the worker passes runThreads of train.threads or the setting; by default
 * train.threads, else every core). A run goes on threads when its GEMMs pay for a split (as the Trainer decides).
 */
export function estimateMemory(config: NetworkConfig, threads = runThreads(config.train.threads)): { bytes: number; dataBytes: number; driver: { layer: string; batch: number; bytes: number } } {
  const rows = bufferRows(config);
  const runThreadCount = threads > 1 && splitPays(config.model.input, config.model.layers, config.train.batch) ? Math.min(MAX_THREADS, Math.floor(threads)) : 1;
  // Planned on that many threads, as the Trainer allocates: each helper thread's GEMM scratch (heap.ts PACK_FLOATS),
  // the open update's sums, softmax cross-entropy's per-row log-sum-exp.
  const net = new Network(config, { rows, kernels: 'plan', threads: runThreadCount });
  new Optimizer(config.train, net.params, net.heap);
  // A run on threads gathers the next batch into a second pair of batch buffers (Network.loadAhead): one batch more.
  // Counted even when the split turns out too large to be held (then it has none).
  if (runThreadCount > 1) Network.allocAhead(net.heap, rows, net.inputSize, net.outWidth);
  const samples = Math.max(0, config.data.samples || 0);
  const per = prod(config.model.input);
  // The data set (train + validation split), and while it is built: the loader's arrays (features, targets,
  // encoded targets, the shuffle order) and, for a csv, the file read and its decoded text (up to 2 bytes a byte).
  // A run on threads holds the training inputs in its memory (Network.holdTrainInputs) once the loader's arrays,
  // which are larger, are gone: the same bound covers them. Only where samples is known before loading: npy, npz,
  // idx and images without `samples` leave it 0, so neither their data nor its held copy (up to 64 MB) is counted.
  const dataBytes = samples * (per + net.outWidth) * 4 + samples * 4
    + samples * (per + 1 + net.outWidth + 1) * 4
    + (config.data.source === 'csv' ? 3 * (config.data.fileBytes ?? 0) : 0);
  let worst = 0;
  net.layerBytes.forEach((b, i) => { if (b > net.layerBytes[worst]) worst = i; });
  return {
    bytes: net.heap.bytes + dataBytes,
    dataBytes,
    driver: { layer: config.model.layers[worst]?.name ?? 'input', batch: rows, bytes: net.layerBytes[worst] ?? 0 },
  };
}

/** The refusal message when the estimate exceeds the limit, or null when the run fits. */
export function memoryRefusal(config: NetworkConfig, limitMB: number, threads?: number): string | null {
  const est = estimateMemory(config, threads);
  if (est.bytes <= limitMB * 1024 * 1024) return null;
  if (est.dataBytes >= est.bytes / 2) {
    const d = config.data;
    const file = d.source === 'csv' && d.fileBytes ? `, read from a ${mb(d.fileBytes)} csv` : '';
    return `estimated memory ${mb(est.bytes)} exceeds the limit of ${limitMB} MB; the data takes ${mb(est.dataBytes)} while it is loaded (${d.samples} samples${file}): use fewer samples or a smaller file`;
  }
  return `estimated memory ${mb(est.bytes)} exceeds the limit of ${limitMB} MB; layer ${est.driver.layer} takes ${mb(est.driver.bytes)} at ${est.driver.batch} rows (batch or probe samples): reduce train.batch / probe.samples or the layer's size`;
}

/**
 * The Trainer's wasm heap for `config` on `threads` (as the Trainer is asked for: it decides whether they pay),
 * planned before the data is loaded. Where the sample count is known before loading (the generated sources, iris) it
 * is the Trainer's heap exactly; for a file (`exact` false) a lower bound, one row on one thread: the heap only grows
 * with rows and threads.
 */
export function planCoreHeap(config: NetworkConfig, threads = 1): { bytes: number; exact: boolean } {
  const d = config.data, kind = SOURCES[d.source]?.kind;
  const samples = d.source === 'iris' ? IRIS_SAMPLES : kind === 'classification' || kind === 'regression' || kind === 'either' ? d.samples : 0;
  let net: Network;
  if (samples >= 2) {
    const split = splitSizes(samples, d.validation);
    const plan = runPlan(config, { train: { n: split.train }, val: { n: split.val } });
    net = new Network(config, { rows: plan.rows, kernels: 'plan', threads: trainerThreads(config, plan.batch, threads), trainSamples: split.train });
  } else {
    net = new Network(config, { rows: 1, kernels: 'plan' });
  }
  new Optimizer(config.train, net.params, net.heap);
  return { bytes: net.heap.bytes, exact: samples >= 2 };
}

/**
 * The core engine's refusal of a run whose wasm heap would exceed what WebAssembly can address (heap.ts
 * MAX_HEAP_BYTES), with Heap.commit's message, or null. Checked before the data is loaded: the memory limit has no
 * maximum, and a run over 4 GB used to generate or read its data (seconds, gigabytes) only to be refused when the
 * Trainer committed its heap. A lower bound for a file's data (planCoreHeap): nothing the Trainer would accept is refused.
 */
export function coreHeapRefusal(config: NetworkConfig, threads = 1): string | null {
  const plan = planCoreHeap(config, threads);
  return heapTooLarge(plan.bytes, !plan.exact);
}
