/** The core's eval forward pass with loaded weights, compared with an oracle's outputs (ONNX / TF.js imports). */
import { strict as assert } from 'node:assert';
import { Network } from '../../../src/core/network';
import type { NetworkConfig } from '../../../src/model';

/** The last layer's outputs for `rows` rows of `x`, after loading `weights` (which must all fit). */
export function forward(config: NetworkConfig, weights: (Record<string, Float32Array> | undefined)[], x: Float32Array, rows: number): Float32Array {
  const net = new Network(config, { rows, kernels: 'js' }).commit();
  assert.deepEqual(net.loadWeights(weights), []);
  net.input.v.set(x);
  net.forward(rows, 'eval');
  return net.layers[net.layers.length - 1].out.v.slice(0, rows * net.outWidth);
}

export const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => { let m = 0; for (let i = 0; i < b.length; i++) m = Math.max(m, Math.abs(a[i] - b[i])); return m; };
