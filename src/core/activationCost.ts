/**
 * Relative cost of each activation per element (forward and backward), estimated from the operations its f and f'
 * take in src/core/activations.ts: a compare, add or multiply counts 1, a divide 4, a transcendental (exp, log1p,
 * tanh, erf's exp) about 10, as in typical libm timings. An estimate to rank by, not a measurement: on real
 * networks the matrix products dominate and any of these is cheap next to them.
 */
import type { ActivationName } from '../model';

export const ACTIVATION_COST: Record<ActivationName, { ops: string; relative: number }> = {
  linear: { ops: 'none (identity)', relative: 0 },
  relu: { ops: '1 compare', relative: 1 },
  relu6: { ops: '2 compares', relative: 2 },
  leaky_relu: { ops: '1 compare, 1 multiply', relative: 2 },
  prelu: { ops: '1 compare, 1 multiply (+ learning alpha)', relative: 3 },
  hard_sigmoid: { ops: '2 compares, 1 add, 1 multiply', relative: 4 },
  softsign: { ops: '1 abs, 1 add, 1 divide', relative: 6 },
  elu: { ops: '1 compare, 1 exp (negative side)', relative: 11 },
  selu: { ops: '1 compare, 1 exp, 2 multiplies', relative: 13 },
  sigmoid: { ops: '1 exp, 1 divide', relative: 15 },
  tanh: { ops: '1 tanh', relative: 12 },
  softmax: { ops: '1 exp, a row sum, 1 divide', relative: 16 },
  swish: { ops: '1 exp, 1 divide, 3 multiplies', relative: 18 },
  softplus: { ops: '1 exp, 1 log1p', relative: 21 },
  gelu: { ops: 'erf (1 exp + a degree-9 polynomial)', relative: 24 },
  mish: { ops: '1 exp, 1 log1p, 1 tanh, 1 multiply', relative: 33 },
};
