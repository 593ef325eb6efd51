/**
 * The activation table at its edges: where "dead" and "saturated" begin (the kinks where PyTorch's and TF's
 * gradients become 0), the spellings users write, parameter defaults (PyTorch's and Keras' documented
 * defaults), and the vectorized forms on partial buffers (a probe of fewer rows than the buffers hold must
 * not touch the rows past n). Expected values are the frameworks' documented behaviour or hand-computed.
 */
import assert from 'node:assert/strict';
import { ACTIVATIONS, activationParams, activationSpecOf, backwardArray, forwardArray, resolveActivation, softmaxBackwardRows, softmaxRows } from '../../../src/core/activations';

describe('activation table: dead and saturated regions at their boundaries', () => {
  // torch.autograd at the kinks (checked with torch 2.x): relu'(0) = 0, relu'(1e-7) = 1; relu6'(0) = relu6'(6) = 0,
  // relu6'(5.999) = 1; hardsigmoid'(±3) = 0, hardsigmoid'(±2.999) = 1/6. TF's Relu/Relu6 gradients agree.
  it('relu: dead exactly where its gradient is 0 (z <= 0)', () => {
    const dead = ACTIVATIONS.relu.isDead!;
    assert.deepEqual([-1, 0, 1e-7, 1].map(dead), [true, true, false, false]);
    assert.equal(ACTIVATIONS.relu.df(0), 0);
  });
  it('relu6: dead where z <= 0, saturated where z >= 6, gradient 0 at both kinks', () => {
    const r = ACTIVATIONS.relu6;
    assert.deepEqual([-1, 0, 1e-7, 3, 5.999, 6, 7].map(r.isDead!), [true, true, false, false, false, false, false]);
    assert.deepEqual([-1, 0, 3, 5.999, 6, 7].map(r.isSaturated!), [false, false, false, false, true, true]);
    assert.deepEqual([0, 1e-7, 5.999, 6].map(x => r.df(x)), [0, 1, 1, 0]);
  });
  it('leaky_relu, prelu, elu and selu at z = 0: the negative side\'s slope, as torch.autograd gives it', () => {
    // PyTorch's backward kernels take the positive branch only for x > 0: leaky_relu'(0) = negative_slope,
    // prelu'(0) = weight, elu'(0) = alpha * e^0 (TF's EluGrad gives 1 there; both agree at alpha = 1),
    // selu'(0) = scale * alpha.
    assert.equal(ACTIVATIONS.leaky_relu.df(0), 0.01);
    assert.equal(ACTIVATIONS.leaky_relu.df(0, { alpha: 0.2 }), 0.2);
    assert.equal(ACTIVATIONS.prelu.df(0), 0.25);
    assert.equal(ACTIVATIONS.elu.df(0, { alpha: 0.5 }), 0.5);
    assert.equal(ACTIVATIONS.selu.df(0), 1.0507009873554805 * 1.6732632423543772);
  });
  it('hard_sigmoid: flat (gradient 0) from |z| = 3 on, 1/6 inside', () => {
    const h = ACTIVATIONS.hard_sigmoid;
    assert.deepEqual([-4, -3, -2.999, 0, 2.999, 3, 4].map(h.isDead!), [true, true, false, false, false, true, true]);
    assert.deepEqual([-3, -2.999, 2.999, 3].map(x => h.df(x)), [0, 1 / 6, 1 / 6, 0]);
  });
});

describe('activation names and parameters', () => {
  it('spellings: case, spaces, "-" for "_", and "_" dropped are all accepted', () => {
    assert.equal(resolveActivation('  ReLU '), 'relu');
    assert.equal(resolveActivation('Leaky-ReLU'), 'leaky_relu');
    assert.equal(resolveActivation('gelu-new'), 'gelu');
    assert.equal(resolveActivation('Soft-Plus'), 'softplus', 'soft_plus -> softplus');
    assert.equal(resolveActivation('relu_6'), 'relu6');
    assert.equal(resolveActivation('nope'), undefined);
  });
  it('an alias that is a parameterization keeps its parameter however it is spelled; unknown names give undefined', () => {
    assert.deepEqual(activationSpecOf(' GELU-New '), { name: 'gelu', approximate: 'tanh' });
    assert.deepEqual(activationSpecOf('silu'), { name: 'swish' });
    assert.equal(activationSpecOf('nope'), undefined);
  });
  it('defaults are PyTorch\'s (LeakyReLU 0.01, PReLU 0.25, ELU 1); a value given wins', () => {
    assert.equal(activationParams({ name: 'leaky_relu' }).alpha, 0.01);
    assert.equal(activationParams({ name: 'prelu' }).alpha, 0.25);
    assert.equal(activationParams({ name: 'elu', alpha: 0.5 }).alpha, 0.5);
    assert.equal(activationParams({ name: 'swish' }).beta, 1);
    assert.equal(activationParams({ name: 'swish', beta: 2 }).beta, 2);
    assert.equal(activationParams({ name: 'gelu' }).approximate, 'none');
  });
});

describe('vectorized activations on the first n values of larger buffers', () => {
  const z = Float32Array.from([-1, 0, 2, -5]); // z[3] < 0: a step past n would change g[3] for every activation
  for (const name of ['linear', 'relu', 'sigmoid', 'tanh', 'elu'] as const) {
    it(`${name}: forward and backward touch only [0, n); relu's gradient at 0 is 0`, () => {
      const f = ACTIVATIONS[name].f;
      const a = new Float32Array(4).fill(99);
      forwardArray(name, {}, z, a, 3);
      assert.deepEqual(Array.from(a), [...[-1, 0, 2].map(x => Math.fround(f(x))), 99], 'forward');
      forwardArray(name, {}, z, a, 4);
      const g = new Float32Array(4).fill(1);
      backwardArray(name, {}, z, a, g, 3);
      const want = [-1, 0, 2].map(x => ACTIVATIONS[name].df(x));
      Array.from(g.subarray(0, 3)).forEach((v, i) => assert.ok(Math.abs(v - want[i]) < 1e-6, `${name}'(${z[i]}) = ${v}, want ${want[i]}`));
      assert.equal(g[3], 1, 'backward past n');
    });
  }
  it('softmax rows: each row from its own maximum (logits of 1000 stay finite), rows past `rows` untouched', () => {
    // Row 1 starts with 1000: row 0 must not take it as its maximum (every exponent would underflow). Row 2's
    // maximum is last. The last row sums to 3 before normalizing, so a step past it would scale the sentinel 99.
    const zz = Float32Array.from([0, 0, 0, 1000, 0, 0, 0, 0, 1000, 0, 0, 0, 7, 7, 7]);
    const a = new Float32Array(15).fill(99);
    softmaxRows(zz, a, 4, 3);
    const third = 1 / 3;
    assert.deepEqual(Array.from(a), [third, third, third, 1, 0, 0, 0, 0, 1, third, third, third, 99, 99, 99].map(Math.fround));
    const g = Float32Array.from([1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5, 5, 5]);
    // g <- a * (g - a.g): row 0: a.g = 1/3, so [1/3 * 2/3, -1/9, -1/9]; the other rows: g = 0.
    softmaxBackwardRows(a, g, 4, 3);
    [2 / 9, -1 / 9, -1 / 9, 0, 0, 0, 0, 0, 0, 0, 0, 0].forEach((w, i) => assert.ok(Math.abs(g[i] - w) < 1e-6, `g[${i}] = ${g[i]}`));
    assert.deepEqual(Array.from(g.subarray(12)), [5, 5, 5]);
  });
});
