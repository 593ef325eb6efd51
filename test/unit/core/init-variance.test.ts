/**
 * The variance the diagnosis rules compute for an init (effectiveVariance, at computeFans' fans) is the one the core
 * draws (fillInit), for dense and conv kernels, and both are the literature's: He 2/fan_in, Glorot 2/(fan_in +
 * fan_out), LeCun 1/fan_in with fan_in = kh*kw*C_in, fan_out = kh*kw*C_out for a conv kernel; U[-l, l]: l^2/3; a
 * normal cut at 2 stddev: 0.7737 stddev^2 (1 - 4 phi(2)/(2 Phi(2) - 1)), which the named *_normal inits undo by
 * dividing the stddev by 0.8796 (Keras' variance_scaling); a semi-orthogonal rows x cols matrix (rows = kh*kw*C_in,
 * cols = C_out, as Keras flattens a conv kernel): min(rows, cols) unit vectors, E[w^2] = 1/max(rows, cols).
 */
import assert from 'node:assert/strict';
import { computeFans, effectiveVariance, fillInit, resolveInit } from '../../../src/core/initializers';
import { Rng } from '../../../src/core/rng';

const TRUNC2 = 0.7737413;   // variance of a standard normal truncated to [-2, 2]

const meanSquare = (name: string, params: Record<string, unknown> | undefined, shape: number[]) => {
  const w = new Float32Array(shape.reduce((a, b) => a * b, 1));
  fillInit(resolveInit(name, params)!, shape, w, new Rng(7));
  let s = 0; for (const v of w) s += v * v;
  return s / w.length;
};

describe('init variance: what the rules compute is what the core draws, and the literature says', () => {
  // 51200 weights each: the mean square's relative standard error is at most sqrt(2/51200) = 0.6%.
  for (const shape of [[256, 200], [5, 5, 32, 64]]) {
    const fanIn = shape.length === 2 ? shape[0] : shape[0] * shape[1] * shape[2];
    const fanOut = shape.length === 2 ? shape[1] : shape[0] * shape[1] * shape[3];
    const rows: [string, Record<string, unknown> | undefined, number][] = [
      ['he_normal', undefined, 2 / fanIn], ['kaiming_normal', undefined, 2 / fanIn], ['he_uniform', undefined, 2 / fanIn],
      ['glorot_normal', undefined, 2 / (fanIn + fanOut)], ['glorot_uniform', undefined, 2 / (fanIn + fanOut)],
      ['lecun_normal', undefined, 1 / fanIn], ['lecun_uniform', undefined, 1 / fanIn],
      ['variance_scaling', { scale: 2, mode: 'fan_out', distribution: 'untruncated_normal' }, 2 / fanOut],
      ['variance_scaling', { scale: 3, mode: 'fan_avg', distribution: 'normal' }, 3 / ((fanIn + fanOut) / 2)],
      ['he_normal', { scale: 0.01 }, 0.01 / fanIn],
      ['random_normal', { stddev: 0.1 }, 0.01], ['random_uniform', { minval: -0.1, maxval: 0.1 }, 0.1 ** 2 / 3],
      ['truncated_normal', { stddev: 0.1 }, TRUNC2 * 0.01],
    ];
    for (const [name, params, want] of rows) {
      it(`${name}${params ? ' ' + JSON.stringify(params) : ''} on [${shape}] (fan_in ${fanIn}, fan_out ${fanOut}): ${want.toPrecision(4)}`, () => {
        assert.deepEqual(computeFans(shape), { fanIn, fanOut });
        const computed = effectiveVariance(resolveInit(name, params)!, fanIn, fanOut)!;
        assert.ok(Math.abs(computed / want - 1) < 1e-4, `computed ${computed} vs ${want}`);
        const drawn = meanSquare(name, params, shape);
        assert.ok(Math.abs(drawn / want - 1) < 0.04, `drawn ${drawn} vs ${want}`);
      });
    }
  }

  // Orthogonal is exact (unit vectors): the conv cases have cols = C_out, not fan_out = kh*kw*C_out.
  for (const [shape, want] of [[[64, 32], 1 / 64], [[32, 64], 1 / 64], [[3, 3, 1, 32], 1 / 32], [[3, 3, 16, 8], 1 / 144]] as [number[], number][]) {
    it(`orthogonal on [${shape}]: E[w^2] = 1/max(rows, cols) = ${want.toPrecision(4)}, drawn and computed`, () => {
      const { fanIn, fanOut } = computeFans(shape);
      assert.ok(Math.abs(meanSquare('orthogonal', undefined, shape) / want - 1) < 1e-5, 'drawn');
      const receptive = shape.length === 4 ? shape[0] * shape[1] : 1;
      assert.ok(Math.abs(effectiveVariance(resolveInit('orthogonal')!, fanIn, fanOut, receptive)! / want - 1) < 1e-9, 'computed');
    });
  }
});
