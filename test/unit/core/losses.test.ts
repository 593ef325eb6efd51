/**
 * Losses, their gradients and accuracy on hand-computed cases: fused and unfused cross-entropy and binary
 * cross-entropy (Keras semantics: mean over the batch, and over the width for BCE; predictions clipped to
 * [1e-7, 1 - 1e-7] when not fused), gradients against central differences, logits far beyond float range
 * of exp, and countCorrect's threshold and argmax (first index on ties, as tf.argMax).
 */
import assert from 'node:assert/strict';
import { computeLoss, countCorrect, lossSetup } from '../../../src/core/losses';

const f32 = (v: number[]) => Float32Array.from(v);
const near = (got: number, want: number, tol: number, what: string) =>
  assert.ok(Math.abs(got - want) <= tol * Math.max(1, Math.abs(want)), `${what}: ${got} vs ${want}`);

/** Central differences of the loss in its input (z when fused, a when not), float64 arithmetic on float32 storage. */
function numericGrad(loss: (v: Float32Array) => number, v: number[], h = 1e-3): number[] {
  return v.map((_, i) => {
    const p = v.slice(), m = v.slice(); p[i] += h; m[i] -= h;
    return (loss(f32(p)) - loss(f32(m))) / (Math.fround(p[i]) - Math.fround(m[i]));
  });
}

describe('cross-entropy', () => {
  const fused = lossSetup('cross_entropy', 'softmax');
  it('is fused only with a softmax output; binary cross-entropy only with a sigmoid output', () => {
    assert.equal(fused.fused, true);
    assert.equal(lossSetup('cross_entropy', 'sigmoid').fused, false);
    assert.equal(lossSetup('binary_cross_entropy', 'sigmoid').fused, true);
    assert.equal(lossSetup('binary_cross_entropy', 'softmax').fused, false);
    assert.equal(lossSetup('mse', 'sigmoid').fused, false);
    assert.equal(lossSetup('mse', 'softmax').fused, false);
  });
  it('fused: mean over rows of logsumexp(z) - z_y; finite and exact at logits of +-1e4', () => {
    // Row 1: z = [1, 2, 3], class 0: lse = 3 + log(e^-2 + e^-1 + 1) = 3.40760596; loss 2.40760596.
    // Row 2: z = [1e4, 0, -1e4], class 2: lse = 1e4, loss 2e4.
    const z = f32([1, 2, 3, 1e4, 0, -1e4]), y = f32([1, 0, 0, 0, 0, 1]);
    const loss = computeLoss(fused, z, new Float32Array(6), y, 2, 3, null);
    near(loss, (2.40760596 + 2e4) / 2, 1e-7, 'loss');
  });
  it('fused gradient (softmax * sum(y) - y) / rows matches central differences, also for targets not summing to 1', () => {
    const z = [0.3, -1.1, 0.8, 2.0, 0.1, -0.4], y = f32([0.2, 0.3, 0, 0, 1, 0]);
    const grad = new Float32Array(6);
    computeLoss(fused, f32(z), new Float32Array(6), y, 2, 3, grad);
    const num = numericGrad(v => computeLoss(fused, v, new Float32Array(6), y, 2, 3, null), z);
    num.forEach((g, i) => near(grad[i], g, 1e-3, `dL/dz[${i}]`));
  });
  it('unfused: -sum(y log clip(a)) / rows, gradient -y / a / rows inside the clip and 0 outside it', () => {
    const setup = lossSetup('cross_entropy', 'linear');
    // Row 1: a = [0.2, 0.5, 0.3], class 1: -log 0.5. Row 2: a = [0, 0.4, 0.6], class 0: -log(1e-7) (clipped).
    const a = f32([0.2, 0.5, 0.3, 0, 0.4, 0.6]), y = f32([0, 1, 0, 1, 0, 0]), grad = new Float32Array(6);
    const loss = computeLoss(setup, new Float32Array(6), a, y, 2, 3, grad);
    near(loss, (Math.log(2) - Math.log(1e-7)) / 2, 1e-6, 'loss');
    near(grad[1], -1 / 0.5 / 2, 1e-6, 'dL/da kept');
    assert.equal(grad[3], 0, 'a clipped at 1e-7 has no gradient');
    for (const i of [0, 2, 4, 5]) assert.ok(grad[i] === 0, `zero where y is 0 (${i}: ${grad[i]})`);
    // A certain prediction a = 1 is clipped to 1 - 1e-7 (Keras): loss -log(1 - 1e-7) ~ 1e-7, no gradient.
    const gc = new Float32Array(3);
    near(computeLoss(setup, new Float32Array(3), f32([1, 0, 0]), f32([1, 0, 0]), 1, 3, gc), -Math.log(1 - 1e-7), 1e-9, 'loss at a = 1');
    assert.ok(computeLoss(setup, new Float32Array(3), f32([1, 0, 0]), f32([1, 0, 0]), 1, 3, null) > 5e-8, 'not 0');
    assert.ok(gc[0] === 0, `no gradient at a = 1: ${gc[0]}`);
    const num = numericGrad(v => computeLoss(setup, new Float32Array(3), v, f32([0, 1, 0]), 1, 3, null), [0.2, 0.5, 0.3]);
    const g1 = new Float32Array(3);
    computeLoss(setup, new Float32Array(3), f32([0.2, 0.5, 0.3]), f32([0, 1, 0]), 1, 3, g1);
    num.forEach((g, i) => near(g1[i], g, 1e-3, `dL/da[${i}]`));
  });
});

describe('binary cross-entropy', () => {
  it('fused: mean over rows and width of softplus(z) - z*y, from logits; 50 and -50 stay exact', () => {
    const setup = lossSetup('binary_cross_entropy', 'sigmoid');
    const sig = (x: number) => 1 / (1 + Math.exp(-x));
    const z = [0.5, -1, 50, -50, 2, 0], y = [1, 0, 0, 0, 1, 1];
    const a = f32(z.map(sig)), grad = new Float32Array(6);
    const loss = computeLoss(setup, f32(z), a, f32(y), 2, 3, grad);
    const want = z.reduce((s, x, i) => s + Math.max(x, 0) - x * y[i] + Math.log1p(Math.exp(-Math.abs(x))), 0) / 6;
    near(loss, want, 1e-6, 'loss'); // z = 50, y = 0 contributes 50
    z.forEach((x, i) => near(grad[i], (sig(x) - y[i]) / 6, 1e-6, `dL/dz[${i}]`));
  });
  it('unfused: -mean(y log p + (1-y) log(1-p)), gradient (p - y) / (p (1 - p)) / (rows * width)', () => {
    const setup = lossSetup('binary_cross_entropy', 'linear');
    const a = [0.9, 0.2, 0.6, 0.3], y = [1, 0, 0, 1], grad = new Float32Array(4);
    const loss = computeLoss(setup, new Float32Array(4), f32(a), f32(y), 2, 2, grad);
    const want = -(Math.log(0.9) + Math.log(0.8) + Math.log(0.4) + Math.log(0.3)) / 4;
    near(loss, want, 1e-6, 'loss');
    const num = numericGrad(v => computeLoss(setup, new Float32Array(4), v, f32(y), 2, 2, null), a);
    num.forEach((g, i) => near(grad[i], g, 1e-3, `dL/da[${i}]`));
    // Outside the clip: a = 0 with y = 1 costs -log(1e-7) and has no gradient; a = 1 with y = 0 likewise.
    const g2 = new Float32Array(2);
    near(computeLoss(setup, new Float32Array(2), f32([0, 1]), f32([1, 0]), 1, 2, g2), -Math.log(1e-7), 1e-4, 'clipped loss');
    assert.ok(g2[0] === 0 && g2[1] === 0, `no gradient outside the clip: ${Array.from(g2)}`);
  });
});

describe('accuracy (countCorrect)', () => {
  it('one output: prediction and label compared at 0.5, a prediction of exactly 0.5 is class 0', () => {
    // 0.6 vs 1 right, 0.4 vs 0 right, 0.5 vs 1 wrong, 0.7 vs 0 wrong.
    assert.equal(countCorrect(f32([0.6, 0.4, 0.5, 0.7]), f32([1, 0, 1, 0]), 4, 1), 2);
  });
  it('several outputs: argmax of prediction equals argmax of the one-hot label; ties go to the first index', () => {
    const a = f32([0.1, 0.7, 0.2, /**/ 0.5, 0.3, 0.2, /**/ 0.4, 0.4, 0.2, /**/ 0.2, 0.3, 0.5]);
    const y = f32([0, 1, 0, /**/ 0, 0, 1, /**/ 0, 1, 0, /**/ 0, 0, 1]);
    // right, wrong, wrong (tie -> index 0, label 1), right
    assert.equal(countCorrect(a, y, 4, 3), 2);
    assert.equal(countCorrect(a, y, 2, 3), 1, 'only the first rows count');
  });
});
