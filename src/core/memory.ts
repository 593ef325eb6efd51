/**
 * Memory a run will take, measured by planning the network's heap (the same allocation code the trainer
 * runs, without allocating anything) plus the data set. The worker refuses runs over the limit (SPEC §8)
 * with a message naming the layer and batch that drive the estimate.
 */
import type { NetworkConfig } from '../model';
import { Network } from './network';
import { Optimizer } from './optimizers';

const prod = (s: number[]) => s.reduce((a, b) => a * b, 1);

/** Rows the buffers are sized for: the batch or the probe batch, whichever is larger. */
export function bufferRows(config: NetworkConfig): number {
  const valN = Math.round((config.data.samples || 0) * (config.data.validation || 0));
  const probe = Math.min(config.probe.samples || 256, valN > 0 ? valN : config.probe.samples || 256);
  return Math.max(1, config.train.batch, probe);
}

export function estimateMemory(config: NetworkConfig): { bytes: number; driver: { layer: string; batch: number; bytes: number } } {
  const rows = bufferRows(config);
  const net = new Network(config, { rows, kernels: 'plan' });
  new Optimizer(config.train, net.params, net.heap);
  const samples = Math.max(0, config.data.samples || 0);
  const dataBytes = samples * (prod(config.model.input) + net.outWidth) * 4 + samples * 4;
  let worst = 0;
  net.layerBytes.forEach((b, i) => { if (b > net.layerBytes[worst]) worst = i; });
  return {
    bytes: net.heap.bytes + dataBytes,
    driver: { layer: config.model.layers[worst]?.name ?? 'input', batch: rows, bytes: net.layerBytes[worst] ?? 0 },
  };
}

/** The refusal message when the estimate exceeds the limit, or null when the run fits. */
export function memoryRefusal(config: NetworkConfig, limitMB: number): string | null {
  const est = estimateMemory(config);
  if (est.bytes <= limitMB * 1024 * 1024) return null;
  const mb = (b: number) => `${Math.ceil(b / (1024 * 1024))} MB`;
  return `estimated memory ${mb(est.bytes)} exceeds the limit of ${limitMB} MB; layer ${est.driver.layer} takes ${mb(est.driver.bytes)} at ${est.driver.batch} rows (batch or probe samples): reduce train.batch / probe.samples or the layer's size`;
}
