import assert from 'node:assert/strict';
import { regionFractions, histogramShare } from '../../../src/core/regionFractions';

// Hand-computed: values spread evenly inside each bin, a bin cut by a boundary split by width.
// Saturation thresholds from their definition f'(z) < 0.1 max f', solved by hand (not read from the table):
//   tanh:    1 - tanh(z)^2 < 0.1        => |z| > atanh(sqrt(0.9))
//   sigmoid: s(1-s) < 0.1 * 0.25        => |z| > ln((1+sqrt(0.9))/(1-sqrt(0.9))) = 2 atanh(sqrt(0.9))
const T_TANH = Math.atanh(Math.sqrt(0.9));          // 1.8184
const T_SIGMOID = 2 * Math.atanh(Math.sqrt(0.9));   // 3.6369
const close = (a: number | null, b: number, what: string) => assert.ok(a !== null && Math.abs(a - b) < 1e-6, `${what}: ${a} vs ${b}`);

describe('dead and saturated shares of a pre-activation histogram under another activation', () => {
  it('relu: the share at or below zero is dead; no saturation', () => {
    const h = { edges: [-2, -1, 0, 1, 2], counts: [1, 2, 3, 4] };
    const r = regionFractions(h, 'relu');
    close(r.dead, 3 / 10, 'relu dead');
    assert.equal(r.saturated, null);
  });

  it('a bin cut by the boundary counts the part of its width on the dead side', () => {
    close(regionFractions({ edges: [-1, 1], counts: [10] }, 'relu').dead, 0.5, 'bin [-1, 1]');
    close(regionFractions({ edges: [-1, 3], counts: [8] }, 'relu').dead, 0.25, 'bin [-1, 3]');
  });

  it('tanh and sigmoid saturate beyond the hand-solved thresholds', () => {
    const h = { edges: [-4, 0, 4], counts: [5, 5] };
    close(regionFractions(h, 'tanh').saturated, (4 - T_TANH) / 4, 'tanh');
    assert.equal(regionFractions(h, 'tanh').dead, null);
    close(regionFractions({ edges: [0, 10], counts: [1] }, 'sigmoid').saturated, (10 - T_SIGMOID) / 10, 'sigmoid');
    close(regionFractions({ edges: [-10, 10], counts: [1] }, 'sigmoid').saturated, (20 - 2 * T_SIGMOID) / 20, 'sigmoid both sides');
  });

  it('relu6 is dead below 0 and saturated from 6; hard_sigmoid is flat outside [-3, 3]', () => {
    const r = regionFractions({ edges: [-6, 0, 6, 12], counts: [1, 1, 2] }, 'relu6');
    close(r.dead, 1 / 4, 'relu6 dead');
    close(r.saturated, 2 / 4, 'relu6 saturated');
    const hs = regionFractions({ edges: [-6, 6], counts: [12] }, 'hard_sigmoid');
    close(hs.dead, 0.5, 'hard_sigmoid dead');
    close(hs.saturated, 0.5, 'hard_sigmoid saturated');
  });

  it('activations without a dead or saturated region say so (null), not 0%', () => {
    for (const name of ['leaky_relu', 'elu', 'gelu', 'swish', 'linear'] as const) {
      assert.deepEqual(regionFractions({ edges: [-5, 5], counts: [3] }, name), { dead: null, saturated: null }, name);
    }
  });

  it('an empty histogram has no shares; a zero-width bin holds its one value', () => {
    assert.equal(regionFractions({ edges: [-1, 0, 1], counts: [0, 0] }, 'relu').dead, null);
    assert.equal(regionFractions({ edges: [], counts: [] }, 'relu').dead, null);
    assert.equal(histogramShare({ edges: [0, 0], counts: [5] }, z => !(z > 0)), 1);
    assert.equal(histogramShare({ edges: [2, 2], counts: [5] }, z => !(z > 0)), 0);
  });
});
