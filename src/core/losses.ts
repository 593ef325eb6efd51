/**
 * Losses with their gradients, Keras semantics (mean over the batch and the output width). Cross-entropy
 * against a softmax output and binary cross-entropy against a sigmoid output are fused: computed from the
 * logits z with log-sum-exp / softplus, so batch losses of 1e8 stay finite, and the gradient dL/dz is
 * written straight to the output layer (a - y) / n.
 */
import type { LossName } from '../model';

const EPS = 1e-7;

export interface LossSetup {
  loss: LossName;
  /** Fused with the output activation: reads logits z and writes dL/dz. */
  fused: boolean;
}

export function lossSetup(loss: LossName, outputActivation: string | null): LossSetup {
  const fused = (loss === 'cross_entropy' && outputActivation === 'softmax') || (loss === 'binary_cross_entropy' && outputActivation === 'sigmoid');
  return { loss, fused };
}

/**
 * `total` plus one row's softmax cross-entropy from its log-sum-exp, term by term (the order every thread count
 * sums in: Network.computeLoss adds the rows that helper threads took the same way).
 */
export function addCrossEntropyRow(total: number, z: Float32Array, y: Float32Array, o: number, n: number, lse: number): number {
  for (let j = 0; j < n; j++) { const yj = y[o + j]; if (yj !== 0) total += yj * (lse - z[o + j]); }
  return total;
}

/**
 * One row of softmax cross-entropy from the logits at z[zo..zo+n): its log-sum-exp (returned) and, when `grad` is
 * given, dL/dz = (exp(z - lse) * sum(y) - y) * scale into grad[go..go+n). The one copy of these operations, run by
 * computeLoss here and by every thread's crossEntropyRows (parallel.ts), so their numbers cannot drift apart.
 * Self-contained (it names only its parameters and Math): its source is also the helpers'.
 */
export function crossEntropyRow(z: Float32Array, zo: number, y: Float32Array, yo: number, grad: Float32Array | null, go: number, n: number, scale: number): number {
  let m = -Infinity;
  for (let j = 0; j < n; j++) if (z[zo + j] > m) m = z[zo + j];
  let s = 0;
  for (let j = 0; j < n; j++) s += Math.exp(z[zo + j] - m);
  const lse = m + Math.log(s);
  if (grad) {
    let ysum = 0;
    for (let j = 0; j < n; j++) ysum += y[yo + j];
    for (let j = 0; j < n; j++) grad[go + j] = (Math.exp(z[zo + j] - lse) * ysum - y[yo + j]) * scale;
  }
  return lse;
}

/**
 * Loss of `rows` samples (targets y dense [rows, n]); writes the gradient (dL/dz when fused, else dL/da) into
 * `grad` when given. z = logits (used when fused), a = outputs. Returns the mean loss (float64).
 */
export function computeLoss(setup: LossSetup, z: Float32Array, a: Float32Array, y: Float32Array, rows: number, n: number,
  grad: Float32Array | null): number {
  let total = 0;
  const { loss, fused } = setup;
  if (loss === 'cross_entropy') {
    const scale = 1 / rows;
    for (let r = 0; r < rows; r++) {
      const o = r * n;
      if (fused) total = addCrossEntropyRow(total, z, y, o, n, crossEntropyRow(z, o, y, o, grad, o, n, scale));
      else {
        for (let j = 0; j < n; j++) {
          const p = Math.min(Math.max(a[o + j], EPS), 1 - EPS), yj = y[o + j];
          if (yj !== 0) total -= yj * Math.log(p);
          if (grad) grad[o + j] = (a[o + j] > EPS && a[o + j] < 1 - EPS ? -yj / p : 0) * scale;
        }
      }
    }
    return total / rows;
  }
  const scale = 1 / (rows * n);
  if (loss === 'binary_cross_entropy') {
    for (let i = 0; i < rows * n; i++) {
      const yi = y[i];
      if (fused) {
        // a = sigmoid(z) from the forward pass; log1p(e^-|x|) = -log(max(a, 1-a)), well conditioned (>= 0.5).
        const x = z[i], s = a[i];
        total += Math.max(x, 0) - x * yi - Math.log(x >= 0 ? s : 1 - s);
        if (grad) grad[i] = (s - yi) * scale;
      } else {
        const p = Math.min(Math.max(a[i], EPS), 1 - EPS);
        total -= yi * Math.log(p) + (1 - yi) * Math.log(1 - p);
        if (grad) grad[i] = (a[i] > EPS && a[i] < 1 - EPS ? (p - yi) / (p * (1 - p)) : 0) * scale;
      }
    }
    return total * scale;
  }
  // mse
  for (let i = 0; i < rows * n; i++) {
    const d = a[i] - y[i];
    total += d * d;
    if (grad) grad[i] = 2 * d * scale;
  }
  return total * scale;
}

/** Correct predictions among `rows` (argmax for n > 1, threshold 0.5 on a for n == 1); targets dense. */
export function countCorrect(a: Float32Array, y: Float32Array, rows: number, n: number): number {
  let correct = 0;
  for (let r = 0; r < rows; r++) {
    const o = r * n;
    if (n === 1) { if ((a[o] > 0.5) === (y[o] > 0.5)) correct++; continue; }
    let bi = 0, bj = 0;
    for (let j = 1; j < n; j++) { if (a[o + j] > a[o + bi]) bi = j; if (y[o + j] > y[o + bj]) bj = j; }
    if (bi === bj) correct++;
  }
  return correct;
}
