/**
 * What the activation table says about each activation, checked against the activation's own mathematics and
 * the literature rather than against the table's text: zero-centered (zero mean output for a standard normal
 * input: odd functions, and SELU by construction, Klambauer et al. 2017), monotonic, smooth (a continuous
 * derivative for every value of its parameters), the dead and saturated regions drawn on curves (where f' is 0,
 * where the saturation predicate holds), max f' and the saturation thresholds in closed form, the spellings users
 * write (PyTorch's class names, Keras', scikit-learn's, HuggingFace's gelu_new), and where an activation belongs
 * (Goodfellow, Bengio & Courville, Deep Learning §6.2.2 output units, §6.3 hidden units).
 */
import assert from 'node:assert/strict';
import { ACTIVATIONS, ACTIVATION_NAMES, activationParams, activationSpellings, resolveActivation, type ActivationParams } from '../../../src/core/activations';
import type { ActivationName } from '../../../src/model';

const grid = (from: number, to: number, step: number) => Array.from({ length: Math.round((to - from) / step) + 1 }, (_, i) => from + i * step);
/** Where kinks can be: 0 (relu family), 6 (relu6), ±3 (hard_sigmoid). */
const KINKS = [-3, 0, 3, 6];

describe('activation table: properties from the mathematics', () => {
  it('zero-centered exactly when the mean output for z ~ N(0, 1) is 0 (tanh, softsign, linear, and selu by its constants)', () => {
    // Simpson's rule over [-12, 12]; the tails beyond carry < 1e-30 of the mass.
    const h = 1e-3, xs = grid(-12, 12, h);
    for (const name of ACTIVATION_NAMES) {
      const f = ACTIVATIONS[name].f;
      let s = 0;
      xs.forEach((x, i) => { const w = i === 0 || i === xs.length - 1 ? 1 : i % 2 ? 4 : 2; s += w * f(x) * Math.exp(-x * x / 2); });
      const mean = s * h / 3 / Math.sqrt(2 * Math.PI);
      assert.equal(ACTIVATIONS[name].zeroCentered, Math.abs(mean) < 1e-4, `${name}: E[f(z)] = ${mean}`);
    }
  });

  it('monotonic exactly when f never decreases (gelu, swish and mish dip below 0 first)', () => {
    const xs = grid(-10, 10, 1e-3);
    for (const name of ACTIVATION_NAMES) {
      const f = ACTIVATIONS[name].f;
      let decreases = false;
      for (let i = 1; i < xs.length; i++) if (f(xs[i]) < f(xs[i - 1]) - 1e-15) { decreases = true; break; }
      assert.equal(ACTIVATIONS[name].monotonic, !decreases, name);
    }
  });

  it('smooth exactly when f\' is continuous for every value of its parameters (elu only at alpha = 1, so not smooth)', () => {
    const variants: Partial<Record<ActivationName, ActivationParams[]>> = {
      leaky_relu: [{ alpha: 0.3 }], prelu: [{ alpha: 0.5 }], elu: [{ alpha: 0.5 }], swish: [{ beta: 2 }], gelu: [{ approximate: 'tanh' }],
    };
    for (const name of ACTIVATION_NAMES) {
      const a = ACTIVATIONS[name];
      let jumps = false;
      for (const p of [a.defaults, ...(variants[name] ?? [])]) {
        for (const x of KINKS) if (Math.abs(a.df(x + 1e-9, p) - a.df(x - 1e-9, p)) > 1e-6) jumps = true;
      }
      assert.equal(a.smooth, !jumps, name);
    }
  });

  it('the dead regions drawn on curves are where the unit is dead, and f\' is 0 there; none without a dead predicate', () => {
    const xs = [...grid(-10, 10, 0.01), ...KINKS];
    for (const name of ACTIVATION_NAMES) {
      const a = ACTIVATIONS[name];
      const inDead = (x: number) => a.regions.dead.some(([lo, hi]) => x >= lo && x <= hi);
      if (!a.isDead) { assert.deepEqual(a.regions.dead, [], name); continue; }
      assert.ok(a.regions.dead.length > 0, `${name}: a dead predicate and no dead region`);
      for (const x of xs) {
        assert.equal(inDead(x), a.isDead(x), `${name} at ${x}`);
        if (inDead(x)) assert.equal(a.df(x), 0, `${name}'(${x}) in its dead region`);
      }
    }
  });

  it('the saturated regions drawn on curves are where the saturation predicate holds; none without one', () => {
    const xs = grid(-10, 10, 0.01).filter(x => Math.abs(Math.abs(x) - 6) > 1e-9 && Math.abs(Math.abs(x) - 3) > 1e-9);
    for (const name of ACTIVATION_NAMES) {
      const a = ACTIVATIONS[name];
      if (!a.isSaturated) { assert.deepEqual(a.regions.saturated, [], name); continue; }
      for (const x of xs) assert.equal(a.regions.saturated.some(([lo, hi]) => x >= lo && x <= hi), a.isSaturated(x), `${name} at ${x}`);
    }
    assert.deepEqual(ACTIVATIONS.relu6.regions.saturated, [[6, Infinity]]);
  });

  it('max f\' in closed form: 1/4 for sigmoid (and the softmax curve), 1/6 for hard_sigmoid, lambda * alpha for selu, Phi(sqrt 2) + sqrt 2 phi(sqrt 2) for gelu', () => {
    const r2 = Math.SQRT2, phi = Math.exp(-1) / Math.sqrt(2 * Math.PI);
    const Phi = 0.9213503964748574; // standard normal CDF at sqrt(2)
    const want: Partial<Record<ActivationName, number>> = {
      linear: 1, sigmoid: 0.25, tanh: 1, relu: 1, relu6: 1, leaky_relu: 1, prelu: 1, elu: 1, selu: 1.0507009873554805 * 1.6732632423543772,
      gelu: Phi + r2 * phi, softsign: 1, hard_sigmoid: 1 / 6, softmax: 0.25,
    };
    for (const [name, m] of Object.entries(want)) assert.ok(Math.abs(ACTIVATIONS[name as ActivationName].maxDerivative - m) < 1e-6, `${name}: ${ACTIVATIONS[name as ActivationName].maxDerivative}, want ${m}`);
    // softplus' = sigmoid tends to 1 and never reaches it: on [-10, 10] its largest value is sigmoid(10).
    assert.ok(Math.abs(ACTIVATIONS.softplus.maxDerivative - 1 / (1 + Math.exp(-10))) < 1e-6);
  });

  it('saturation starts where f\' = 0.1 max f\', in closed form: sigmoid, tanh, softsign; hard_sigmoid from |z| = 3 on', () => {
    const s = (1 + Math.sqrt(0.9)) / 2; // s(1 - s) = 0.025
    const want = { sigmoid: Math.log(s / (1 - s)), tanh: Math.atanh(Math.sqrt(0.9)), softsign: Math.sqrt(10) - 1 };
    for (const [name, t] of Object.entries(want)) {
      const a = ACTIVATIONS[name as ActivationName];
      assert.ok(Math.abs(a.saturatedAbove! - t) < 1e-9, `${name}: ${a.saturatedAbove}, want ${t}`);
      assert.deepEqual([t * 0.999, t * 1.001, -t * 0.999, -t * 1.001].map(a.isSaturated!), [false, true, false, true], name);
    }
    const h = ACTIVATIONS.hard_sigmoid;
    assert.deepEqual([-3, -2.999, 2.999, 3].map(h.isSaturated!), [true, false, false, true]);
    assert.ok(Math.abs(h.saturatedAbove! - 3) < 1e-9);
    for (const name of ['relu', 'relu6', 'gelu', 'linear'] as const) assert.equal(ACTIVATIONS[name].saturatedAbove, null, name);
  });
});

describe('activation table: names users write and where each belongs', () => {
  it('PyTorch\'s class names, Keras\', scikit-learn\'s and HuggingFace\'s spellings resolve to the activation', () => {
    const spellings: Record<string, ActivationName> = {
      // torch.nn: Identity, Sigmoid, Tanh, ReLU, ReLU6, LeakyReLU, PReLU, ELU, SELU, GELU, SiLU, Mish, Softplus, Softsign, Hardsigmoid, Softmax
      Identity: 'linear', Sigmoid: 'sigmoid', Tanh: 'tanh', ReLU: 'relu', ReLU6: 'relu6', LeakyReLU: 'leaky_relu', PReLU: 'prelu', ELU: 'elu',
      SELU: 'selu', GELU: 'gelu', SiLU: 'swish', Mish: 'mish', Softplus: 'softplus', Softsign: 'softsign', Hardsigmoid: 'hard_sigmoid', Softmax: 'softmax',
      // keras.activations
      linear: 'linear', leaky_relu: 'leaky_relu', swish: 'swish', silu: 'swish', hard_sigmoid: 'hard_sigmoid',
      // scikit-learn MLP: identity, logistic, tanh, relu; HuggingFace ACT2FN: gelu_new
      identity: 'linear', logistic: 'sigmoid', gelu_new: 'gelu',
    };
    for (const [s, name] of Object.entries(spellings)) assert.equal(resolveActivation(s), name, s);
  });

  it('activationSpellings lists every name and every spelling it lists resolves', () => {
    const all = activationSpellings();
    for (const name of ACTIVATION_NAMES) assert.ok(all.includes(name), name);
    for (const s of ['identity', 'logistic', 'silu', 'gelu_new', 'hardsigmoid', 'leakyrelu']) assert.ok(all.includes(s), s);
    for (const s of all) assert.ok(resolveActivation(s), s);
  });

  it('outputs: linear, sigmoid, softmax and softplus (Deep Learning §6.2.2); hidden: all but linear, sigmoid and softmax (§6.3)', () => {
    assert.deepEqual(ACTIVATION_NAMES.filter(n => ACTIVATIONS[n].output).sort(), ['linear', 'sigmoid', 'softmax', 'softplus']);
    assert.deepEqual(ACTIVATION_NAMES.filter(n => !ACTIVATIONS[n].hidden).sort(), ['linear', 'sigmoid', 'softmax']);
  });

  it('parameter defaults: elu alpha 1 (PyTorch and Keras ELU), selu has none to set', () => {
    assert.equal(activationParams({ name: 'elu' }).alpha, 1);
    assert.deepEqual(ACTIVATIONS.selu.defaults, {});
  });
});
