/**
 * The activation table of SPEC §3 as data: the one place that says what each activation computes, its
 * derivative, and what "dead" and "saturated" mean for it. The training core, the probes, the diagnosis
 * rules, the hovers and the curve charts all read this table.
 *
 * Every f/df is numerically stable for |x| up to 1e4 (no Infinity, no NaN): exponentials are only ever
 * taken of non-positive arguments, softplus uses max(x,0) + log1p(e^-|x|).
 */
import type { ActivationName, ActivationSpec } from '../model';

/** The tunable parameters of an activation (subset of ActivationSpec). */
export interface ActivationParams { alpha?: number; beta?: number; approximate?: 'tanh' | 'none' }

export interface ActivationInfo {
  name: ActivationName;
  /** Other names users write (Keras/PyTorch spellings); resolveActivation maps them here. */
  aliases: string[];
  /** Short text for hovers. */
  formula: string;
  derivative: string;
  range: string;
  zeroCentered: boolean;
  smooth: boolean;
  monotonic: boolean;
  /** Default values of the parameters this activation takes (alpha, beta). */
  defaults: ActivationParams;
  /** Scalar function and derivative (softmax: the diagonal s(1-s) of one logit against a zero rest, for curves only). */
  f(x: number, p?: ActivationParams): number;
  df(x: number, p?: ActivationParams): number;
  /** max over x of f'(x) with default parameters; the saturation threshold is 0.1 of it. */
  maxDerivative: number;
  /** f'(z)=0 region ("dead"); null when the activation has none. */
  isDead: ((z: number) => boolean) | null;
  /** Text of the dead region, for hovers and chart shading. */
  deadRegion: string | null;
  /** f'(z) < 0.1 * max f' ("saturated"); null where SPEC §4 does not judge saturation. */
  isSaturated: ((z: number) => boolean) | null;
  /** When saturation is exactly |z| > t (derivative-based ones), t; lets probes count it in one pass. */
  saturatedAbove: number | null;
  saturationRegion: string | null;
  /** Intervals of x to shade on curves: [from, to] (Infinity allowed), per kind; saturated ones derived from f'. */
  regions: { dead: [number, number][]; saturated: [number, number][] };
  /** Keras initializer name that goes with it. */
  recommendedInit: string;
  /** Where it belongs. */
  hidden: boolean;
  output: boolean;
  useWhen: string;
  notes: string;
}

// ---- stable scalar pieces -------------------------------------------------------------------------------

/** 1/(1+e^-x) without overflow. */
export function sigmoid(x: number): number {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

/** ln(1+e^x) without overflow. */
export function softplus(x: number): number {
  return Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x)));
}

/**
 * erf(x) with relative error < 1.2e-7 everywhere (Numerical Recipes' erfc Chebyshev fit), enough for float32.
 */
export function erf(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r = t * Math.exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 +
    t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 +
    t * (-0.82215223 + t * 0.17087277)))))))));
  return x >= 0 ? 1 - r : r - 1;
}

const SQRT1_2 = Math.SQRT1_2;
const INV_SQRT_2PI = 0.3989422804014327;
const GELU_C = 0.7978845608028654; // sqrt(2/pi)
export const SELU_LAMBDA = 1.0507009873554805;
export const SELU_ALPHA = 1.6732632423543772;

function geluExact(x: number): number { return 0.5 * x * (1 + erf(x * SQRT1_2)); }
function geluExactD(x: number): number { return 0.5 * (1 + erf(x * SQRT1_2)) + x * INV_SQRT_2PI * Math.exp(-0.5 * x * x); }
function geluTanh(x: number): number { return 0.5 * x * (1 + Math.tanh(GELU_C * (x + 0.044715 * x * x * x))); }
function geluTanhD(x: number): number {
  const t = Math.tanh(GELU_C * (x + 0.044715 * x * x * x));
  return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * GELU_C * (1 + 3 * 0.044715 * x * x);
}

// ---- the table ------------------------------------------------------------------------------------------

type Entry = Omit<ActivationInfo, 'name' | 'isSaturated' | 'maxDerivative' | 'saturatedAbove'> & {
  /** Which saturation SPEC §4 judges: 'derivative' = f' < 0.1 max f'; or a custom predicate; or null. */
  saturation: 'derivative' | ((z: number) => boolean) | null;
};

// Stryker disable StringLiteral: the table's strings are hover and chart text (formula, range, useWhen,
// notes) plus names that the parser, trial and static-rule tests check through their own paths; mutating
// each text would only be "killed" by a test that copies our own strings.
const TABLE: Record<ActivationName, Entry> = {
  linear: {
    aliases: ['identity', 'none', 'linear'],
    formula: 'x', derivative: '1', range: '(-inf, inf)',
    zeroCentered: true, smooth: true, monotonic: true, defaults: {},
    f: x => x, df: () => 1,
    isDead: null, deadRegion: null, saturation: null, saturationRegion: null, regions: { dead: [], saturated: [] },
    recommendedInit: 'glorot_uniform', hidden: false, output: true,
    useWhen: 'Output layer of a regression (with mse). In hidden layers two linear layers collapse into one linear map.',
    notes: '',
  },
  sigmoid: {
    aliases: ['logistic', 'sigmoid'],
    formula: '1/(1+e^-x)', derivative: 's(x)(1-s(x))', range: '(0, 1)',
    zeroCentered: false, smooth: true, monotonic: true, defaults: {},
    f: sigmoid, df: x => { const s = sigmoid(x); return s * (1 - s); },
    isDead: null, deadRegion: null, saturation: 'derivative', saturationRegion: '|x| > 3.64 (f\' < 0.025)',
    regions: { dead: [], saturated: [] },
    recommendedInit: 'glorot_uniform', hidden: false, output: true,
    useWhen: 'Output of a binary or multi-label classifier, with binary_cross_entropy. In deep hidden stacks it saturates and starves lower layers of gradient (Glorot & Bengio 2010).',
    notes: 'saturates both sides; not zero-centered',
  },
  tanh: {
    aliases: ['tanh'],
    formula: 'tanh x', derivative: '1 - tanh(x)^2', range: '(-1, 1)',
    zeroCentered: true, smooth: true, monotonic: true, defaults: {},
    f: Math.tanh, df: x => { const t = Math.tanh(x); return 1 - t * t; },
    isDead: null, deadRegion: null, saturation: 'derivative', saturationRegion: '|x| > 1.82 (f\' < 0.1)',
    regions: { dead: [], saturated: [] },
    recommendedInit: 'glorot_uniform', hidden: true, output: false,
    useWhen: 'Hidden layers of small or shallow nets (zero-centered, smooth). For deep stacks prefer relu-family or selu.',
    notes: 'saturates both sides, zero-centered',
  },
  relu: {
    aliases: ['relu'],
    formula: 'max(0, x)', derivative: 'x > 0 ? 1 : 0', range: '[0, inf)',
    zeroCentered: false, smooth: false, monotonic: true, defaults: {},
    f: x => (x > 0 ? x : 0), df: x => (x > 0 ? 1 : 0),
    isDead: z => !(z > 0), deadRegion: 'x <= 0', saturation: null, saturationRegion: null,
    regions: { dead: [[-Infinity, 0]], saturated: [] },
    recommendedInit: 'he_normal', hidden: true, output: false,
    useWhen: 'Default for hidden layers of MLPs and conv nets, with he_normal. Units can die after a bad init or a large learning rate.',
    notes: 'dead region x <= 0',
  },
  relu6: {
    aliases: ['relu6'],
    formula: 'min(max(0, x), 6)', derivative: '0 < x < 6 ? 1 : 0', range: '[0, 6]',
    zeroCentered: false, smooth: false, monotonic: true, defaults: {},
    f: x => (x > 0 ? (x < 6 ? x : 6) : 0), df: x => (x > 0 && x < 6 ? 1 : 0),
    isDead: z => !(z > 0), deadRegion: 'x <= 0', saturation: z => z >= 6, saturationRegion: 'x >= 6',
    regions: { dead: [[-Infinity, 0]], saturated: [[6, Infinity]] },
    recommendedInit: 'he_normal', hidden: true, output: false,
    useWhen: 'Hidden layers where bounded activations help (mobile/quantized nets); like relu with a cap at 6.',
    notes: 'dead region x <= 0, flat above 6',
  },
  leaky_relu: {
    aliases: ['leaky_relu', 'leakyrelu', 'lrelu'],
    formula: 'x > 0 ? x : alpha*x (alpha=0.01)', derivative: 'x > 0 ? 1 : alpha', range: '(-inf, inf)',
    zeroCentered: false, smooth: false, monotonic: true, defaults: { alpha: 0.01 },
    f: (x, p) => (x > 0 ? x : (p?.alpha ?? 0.01) * x), df: (x, p) => (x > 0 ? 1 : (p?.alpha ?? 0.01)),
    isDead: null, deadRegion: null, saturation: null, saturationRegion: null, regions: { dead: [], saturated: [] },
    recommendedInit: 'he_normal', hidden: true, output: false,
    useWhen: 'Hidden layers where relu units die: the small negative slope keeps a gradient flowing.',
    notes: 'never dead (alpha > 0)',
  },
  prelu: {
    aliases: ['prelu'],
    formula: 'x > 0 ? x : alpha_j*x (alpha learned per unit, init 0.25)', derivative: 'x > 0 ? 1 : alpha_j', range: '(-inf, inf)',
    zeroCentered: false, smooth: false, monotonic: true, defaults: { alpha: 0.25 },
    f: (x, p) => (x > 0 ? x : (p?.alpha ?? 0.25) * x), df: (x, p) => (x > 0 ? 1 : (p?.alpha ?? 0.25)),
    isDead: null, deadRegion: null, saturation: null, saturationRegion: null, regions: { dead: [], saturated: [] },
    recommendedInit: 'he_normal', hidden: true, output: false,
    useWhen: 'Hidden layers of larger nets: leaky relu whose negative slope is learned (He et al. 2015).',
    notes: 'one learned alpha per unit (per channel in conv layers)',
  },
  elu: {
    aliases: ['elu'],
    formula: 'x > 0 ? x : alpha*(e^x - 1) (alpha=1)', derivative: 'x > 0 ? 1 : alpha*e^x', range: '(-alpha, inf)',
    zeroCentered: false, smooth: false, monotonic: true, defaults: { alpha: 1 },
    f: (x, p) => (x > 0 ? x : (p?.alpha ?? 1) * Math.expm1(x)), df: (x, p) => (x > 0 ? 1 : (p?.alpha ?? 1) * Math.exp(x)),
    isDead: null, deadRegion: null, saturation: null, saturationRegion: null, regions: { dead: [], saturated: [] },
    recommendedInit: 'he_normal', hidden: true, output: false,
    useWhen: 'Hidden layers: relu-like but with negative outputs that push mean activations toward zero; no dead units.',
    notes: 'smooth at 0 only when alpha = 1',
  },
  selu: {
    aliases: ['selu'],
    formula: 'lambda*(x > 0 ? x : alpha*(e^x - 1)), lambda=1.0507, alpha=1.6733', derivative: 'lambda*(x > 0 ? 1 : alpha*e^x)',
    range: '(-1.758, inf)',
    zeroCentered: true, smooth: false, monotonic: true, defaults: {},
    f: x => SELU_LAMBDA * (x > 0 ? x : SELU_ALPHA * Math.expm1(x)),
    df: x => SELU_LAMBDA * (x > 0 ? 1 : SELU_ALPHA * Math.exp(x)),
    isDead: null, deadRegion: null, saturation: null, saturationRegion: null, regions: { dead: [], saturated: [] },
    recommendedInit: 'lecun_normal', hidden: true, output: false,
    useWhen: 'Deep plain MLPs: with lecun_normal init and no batchnorm it self-normalizes (Klambauer et al. 2017).',
    notes: 'pair with lecun_normal',
  },
  gelu: {
    aliases: ['gelu', 'gelu_new'],
    formula: 'x*Phi(x) (exact, erf); approximate: tanh (gelu_new)', derivative: 'Phi(x) + x*phi(x)', range: '(-0.17, inf)',
    zeroCentered: false, smooth: true, monotonic: false, defaults: { approximate: 'none' },
    f: (x, p) => (p?.approximate === 'tanh' ? geluTanh(x) : geluExact(x)),
    df: (x, p) => (p?.approximate === 'tanh' ? geluTanhD(x) : geluExactD(x)),
    isDead: null, deadRegion: null, saturation: null, saturationRegion: null, regions: { dead: [], saturated: [] },
    recommendedInit: 'he_normal', hidden: true, output: false,
    useWhen: 'Hidden layers (transformers, modern MLPs): a smooth relu that keeps small negative values.',
    notes: '',
  },
  swish: {
    aliases: ['swish', 'silu'],
    formula: 'x*sigmoid(beta*x) (beta=1)', derivative: 's + beta*x*s(1-s), s = sigmoid(beta*x)', range: '(-0.28, inf)',
    zeroCentered: false, smooth: true, monotonic: false, defaults: { beta: 1 },
    f: (x, p) => x * sigmoid((p?.beta ?? 1) * x),
    df: (x, p) => { const b = p?.beta ?? 1; const s = sigmoid(b * x); return s + b * x * s * (1 - s); },
    isDead: null, deadRegion: null, saturation: null, saturationRegion: null, regions: { dead: [], saturated: [] },
    recommendedInit: 'he_normal', hidden: true, output: false,
    useWhen: 'Hidden layers of deeper nets: smooth, non-monotonic relu alternative (Ramachandran et al. 2017).',
    notes: '',
  },
  mish: {
    aliases: ['mish'],
    formula: 'x*tanh(softplus(x))', derivative: 'tanh(sp) + x*sigmoid(x)*(1 - tanh(sp)^2), sp = softplus(x)', range: '(-0.31, inf)',
    zeroCentered: false, smooth: true, monotonic: false, defaults: {},
    f: x => x * Math.tanh(softplus(x)),
    df: x => { const t = Math.tanh(softplus(x)); return t + x * sigmoid(x) * (1 - t * t); },
    isDead: null, deadRegion: null, saturation: null, saturationRegion: null, regions: { dead: [], saturated: [] },
    recommendedInit: 'he_normal', hidden: true, output: false,
    useWhen: 'Hidden layers, like swish: smooth and self-regularizing (Misra 2019).',
    notes: '',
  },
  softplus: {
    aliases: ['softplus'],
    formula: 'ln(1 + e^x)', derivative: 'sigmoid(x)', range: '(0, inf)',
    zeroCentered: false, smooth: true, monotonic: true, defaults: {},
    f: softplus, df: sigmoid,
    isDead: null, deadRegion: null, saturation: null, saturationRegion: null, regions: { dead: [], saturated: [] },
    recommendedInit: 'he_normal', hidden: true, output: true,
    useWhen: 'Output of a positive quantity (a rate, a scale); in hidden layers a smooth relu with slow gradients near 0.',
    notes: '',
  },
  softsign: {
    aliases: ['softsign'],
    formula: 'x/(1+|x|)', derivative: '1/(1+|x|)^2', range: '(-1, 1)',
    zeroCentered: true, smooth: true, monotonic: true, defaults: {},
    f: x => x / (1 + Math.abs(x)), df: x => { const d = 1 + Math.abs(x); return 1 / (d * d); },
    isDead: null, deadRegion: null, saturation: 'derivative', saturationRegion: '|x| > 2.16 (f\' < 0.1)',
    regions: { dead: [], saturated: [] },
    recommendedInit: 'glorot_uniform', hidden: true, output: false,
    useWhen: 'Hidden layers as a tanh alternative that saturates polynomially (more slowly).',
    notes: 'saturates both sides (slowly)',
  },
  hard_sigmoid: {
    aliases: ['hard_sigmoid', 'hardsigmoid'],
    formula: 'max(0, min(1, (x+3)/6))', derivative: '-3 < x < 3 ? 1/6 : 0', range: '[0, 1]',
    zeroCentered: false, smooth: false, monotonic: true, defaults: {},
    f: x => (x <= -3 ? 0 : x >= 3 ? 1 : (x + 3) / 6), df: x => (x > -3 && x < 3 ? 1 / 6 : 0),
    isDead: z => !(z > -3 && z < 3), deadRegion: 'x <= -3 or x >= 3',
    saturation: 'derivative', saturationRegion: 'x <= -3 or x >= 3',
    regions: { dead: [[-Infinity, -3], [3, Infinity]], saturated: [] },
    recommendedInit: 'glorot_uniform', hidden: true, output: false,
    useWhen: 'Cheap sigmoid approximation for gates; derivative is exactly 0 outside [-3, 3].',
    notes: 'Keras 3 definition (x+3)/6; Keras 2 and TF.js use 0.2x+0.5',
  },
  softmax: {
    aliases: ['softmax'],
    formula: 'exp(x_i) / sum_j exp(x_j)', derivative: 's_i(delta_ij - s_j)', range: '(0, 1), sums to 1',
    zeroCentered: false, smooth: true, monotonic: true, defaults: {},
    f: sigmoid, df: x => { const s = sigmoid(x); return s * (1 - s); },
    isDead: null, deadRegion: null, saturation: null, saturationRegion: null, regions: { dead: [], saturated: [] },
    recommendedInit: 'glorot_uniform', hidden: false, output: true,
    useWhen: 'Output layer of a multi-class classifier (one label per sample), fused with cross_entropy. Never in hidden layers.',
    notes: 'vector function; the curve shows one logit against a zero rest',
  },
};

// Stryker restore StringLiteral

/** max f' with default parameters, found numerically once (the table stays the single source). */
function maxDerivativeOf(e: Entry): number {
  let m = 0;
  for (let x = -10; x <= 10; x += 0.001) { const d = e.df(x, e.defaults); if (d > m) m = d; }
  return m;
}

/**
 * For 'derivative' saturation (sigmoid, tanh, softsign, hard_sigmoid: f' symmetric and non-increasing in
 * |x|), the |x| beyond which f' < 0.1 max f', found by bisection once; the predicate is then a comparison.
 */
function saturationThreshold(e: Entry, threshold: number): number {
  let lo = 0, hi = 1e4;
  for (let i = 0; i < 200; i++) { const mid = (lo + hi) / 2; if (e.df(mid, e.defaults) < threshold) hi = mid; else lo = mid; }
  // lo is the last |x| that is not saturated, so "|z| > lo" holds exactly where f' < threshold, boundary
  // included: hard_sigmoid's f'(3) = 0 makes z = 3 saturated (hi = 3 would miss it).
  return lo;
}

export const ACTIVATIONS: Record<ActivationName, ActivationInfo> = Object.fromEntries(
  (Object.keys(TABLE) as ActivationName[]).map(name => {
    const e = TABLE[name];
    const maxDerivative = maxDerivativeOf(e);
    let isSaturated: ((z: number) => boolean) | null = null, saturatedAbove: number | null = null;
    let regions = e.regions;
    if (e.saturation === 'derivative') {
      const t = saturationThreshold(e, 0.1 * maxDerivative);
      isSaturated = (z: number) => z > t || z < -t;
      saturatedAbove = t;
      regions = { dead: e.regions.dead, saturated: [[-Infinity, -t], [t, Infinity]] };
    } else if (e.saturation) isSaturated = e.saturation;
    const { saturation: _unused, ...rest } = e;
    return [name, { name, ...rest, regions, maxDerivative, isSaturated, saturatedAbove }];
  }),
) as Record<ActivationName, ActivationInfo>;

export const ACTIVATION_NAMES = Object.keys(TABLE) as ActivationName[];

const ALIAS: Map<string, ActivationName> = new Map();
for (const name of ACTIVATION_NAMES) {
  ALIAS.set(name, name);
  for (const a of TABLE[name].aliases) ALIAS.set(a, name);
}

/**
 * Aliases that are a parameterization, not just a spelling: gelu_new is the tanh approximation (as
 * tfjs-layers and HuggingFace define it).
 */
const ALIAS_PARAMS: Record<string, Omit<ActivationSpec, 'name'>> = { gelu_new: { approximate: 'tanh' } };

/**
 * The spec a name or alias stands for: its canonical name plus the parameters the alias implies
 * (gelu_new -> {name: gelu, approximate: tanh}); undefined when unknown.
 */
export function activationSpecOf(nameOrAlias: string): ActivationSpec | undefined {
  const name = resolveActivation(nameOrAlias);
  if (!name) return undefined;
  return { name, ...ALIAS_PARAMS[nameOrAlias.trim().toLowerCase().replace(/-/g, '_')] };
}

/** Canonical name for a name or alias (case-insensitive, '-' and '_' equivalent); undefined when unknown. */
export function resolveActivation(nameOrAlias: string): ActivationName | undefined {
  const key = nameOrAlias.trim().toLowerCase().replace(/-/g, '_');
  return ALIAS.get(key) ?? ALIAS.get(key.replace(/_/g, ''));
}

/** All spellings accepted (for "did you mean" and schema enums). */
export function activationSpellings(): string[] { return [...ALIAS.keys()]; }

/** Parameters of a spec with defaults filled in. */
export function activationParams(spec: ActivationSpec): ActivationParams {
  const d = ACTIVATIONS[spec.name].defaults;
  return { alpha: spec.alpha ?? d.alpha, beta: spec.beta ?? d.beta, approximate: spec.approximate ?? d.approximate };
}

// ---- vectorized forms used by the training core ---------------------------------------------------------

/**
 * a[i] = f(z[i]) for i in [0, n). softmax is handled row-wise by the caller (see softmaxRows).
 * prelu here uses a scalar alpha; the layer code handles per-unit alpha.
 */
export function forwardArray(name: ActivationName, p: ActivationParams, z: Float32Array, a: Float32Array, n: number): void {
  switch (name) {
    case 'linear': if (a !== z) a.set(z.subarray(0, n)); return;
    case 'relu': for (let i = 0; i < n; i++) { const v = z[i]; a[i] = v > 0 ? v : 0; } return;
    case 'sigmoid': for (let i = 0; i < n; i++) a[i] = sigmoid(z[i]); return;
    case 'tanh': for (let i = 0; i < n; i++) a[i] = Math.tanh(z[i]); return;
    default: {
      const f = ACTIVATIONS[name].f;
      for (let i = 0; i < n; i++) a[i] = f(z[i], p);
    }
  }
}

/** g[i] *= f'(z[i]); a holds f(z) (used where the derivative is cheaper from the output). */
export function backwardArray(name: ActivationName, p: ActivationParams, z: Float32Array, a: Float32Array, g: Float32Array, n: number): void {
  switch (name) {
    case 'linear': return;
    case 'relu': for (let i = 0; i < n; i++) if (!(z[i] > 0)) g[i] = 0; return;
    case 'sigmoid': for (let i = 0; i < n; i++) { const s = a[i]; g[i] *= s * (1 - s); } return;
    case 'tanh': for (let i = 0; i < n; i++) { const t = a[i]; g[i] *= 1 - t * t; } return;
    default: {
      const df = ACTIVATIONS[name].df;
      for (let i = 0; i < n; i++) g[i] *= df(z[i], p);
    }
  }
}

/** Row-wise softmax of rows x cols via max-subtraction (never overflows). */
export function softmaxRows(z: Float32Array, a: Float32Array, rows: number, cols: number): void {
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    let m = -Infinity;
    for (let j = 0; j < cols; j++) if (z[o + j] > m) m = z[o + j];
    let s = 0;
    for (let j = 0; j < cols; j++) { const e = Math.exp(z[o + j] - m); a[o + j] = e; s += e; }
    const inv = 1 / s;
    for (let j = 0; j < cols; j++) a[o + j] *= inv;
  }
}

/** Softmax backward: g_i <- a_i * (g_i - sum_j g_j a_j), row-wise. */
export function softmaxBackwardRows(a: Float32Array, g: Float32Array, rows: number, cols: number): void {
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    let dot = 0;
    for (let j = 0; j < cols; j++) dot += g[o + j] * a[o + j];
    for (let j = 0; j < cols; j++) g[o + j] = a[o + j] * (g[o + j] - dot);
  }
}
