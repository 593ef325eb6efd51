/**
 * The initializer table (SPEC §3) with Keras semantics: named initializers are variance_scaling with a
 * scale/mode/distribution; fans of conv kernels count the receptive field; the *_normal ones draw a normal
 * truncated at 2 stddev and rescaled by 1/0.87962566 so the variance is exactly scale/fan (as Keras does;
 * TensorFlow.js does not rescale).
 */
import type { FanMode, InitDistribution, InitSpec } from '../model';
import { Rng } from './rng';

/** stddev of a standard normal truncated to [-2, 2]; Keras divides by it. */
export const TRUNCATED_NORMAL_STDDEV = 0.87962566103423978;

interface InitEntry {
  spec: Omit<InitSpec, 'name'>;
  varianceFormula: string;
  description: string;
}

const VS = (scale: number, mode: FanMode, distribution: InitDistribution): Omit<InitSpec, 'name'> =>
  ({ kind: 'variance_scaling', scale, mode, distribution });

const TABLE: Record<string, InitEntry> = Object.assign(Object.create(null), {
  glorot_uniform: { spec: VS(1, 'fan_avg', 'uniform'), varianceFormula: 'Var(w) = 2 / (fan_in + fan_out), U[-l, l], l = sqrt(6 / (fan_in + fan_out))', description: 'Glorot & Bengio 2010 (Xavier); the Keras default' },
  glorot_normal: { spec: VS(1, 'fan_avg', 'truncated_normal'), varianceFormula: 'Var(w) = 2 / (fan_in + fan_out), truncated normal', description: 'Glorot & Bengio 2010 (Xavier), normal' },
  he_uniform: { spec: VS(2, 'fan_in', 'uniform'), varianceFormula: 'Var(w) = 2 / fan_in, U[-l, l], l = sqrt(6 / fan_in)', description: 'He et al. 2015, for relu-family' },
  he_normal: { spec: VS(2, 'fan_in', 'truncated_normal'), varianceFormula: 'Var(w) = 2 / fan_in, truncated normal', description: 'He et al. 2015, for relu-family' },
  lecun_uniform: { spec: VS(1, 'fan_in', 'uniform'), varianceFormula: 'Var(w) = 1 / fan_in, U[-l, l], l = sqrt(3 / fan_in)', description: 'LeCun 1998' },
  lecun_normal: { spec: VS(1, 'fan_in', 'truncated_normal'), varianceFormula: 'Var(w) = 1 / fan_in, truncated normal', description: 'LeCun 1998; pair with selu' },
  variance_scaling: { spec: VS(1, 'fan_in', 'truncated_normal'), varianceFormula: 'Var(w) = scale / fan (fan_in, fan_out or their mean)', description: 'general form of glorot/he/lecun' },
  random_normal: { spec: { kind: 'random_normal', mean: 0, stddev: 0.05 }, varianceFormula: 'Var(w) = stddev^2 (default 0.05^2)', description: 'N(mean, stddev^2), independent of the fans' },
  random_uniform: { spec: { kind: 'random_uniform', minval: -0.05, maxval: 0.05 }, varianceFormula: 'Var(w) = (maxval - minval)^2 / 12', description: 'U[minval, maxval], independent of the fans' },
  truncated_normal: { spec: { kind: 'truncated_normal', mean: 0, stddev: 0.05 }, varianceFormula: 'Var(w) = 0.774 * stddev^2 (normal cut at 2 stddev)', description: 'N(mean, stddev^2) redrawn outside 2 stddev, not rescaled' },
  orthogonal: { spec: { kind: 'orthogonal', gain: 1 }, varianceFormula: 'Var(w) = gain^2 / max(fan_in, fan_out)', description: 'Saxe et al. 2014: a (semi-)orthogonal matrix times gain' },
  identity: { spec: { kind: 'identity', gain: 1 }, varianceFormula: 'w = gain * eye(fan_in, fan_out); E[w^2] = gain^2 * min(fan_in, fan_out) / (fan_in * fan_out)', description: 'Keras Identity: the identity matrix times gain (ones on the main diagonal of a non-square kernel); dense kernels only' },
  zeros: { spec: { kind: 'zeros' }, varianceFormula: 'w = 0', description: 'all zeros (the default for biases)' },
  ones: { spec: { kind: 'ones' }, varianceFormula: 'w = 1', description: 'all ones' },
  constant: { spec: { kind: 'constant', value: 0 }, varianceFormula: 'w = value', description: 'all equal to value' },
});

export const INIT_NAMES = Object.keys(TABLE);

const ALIASES: Record<string, string> = Object.assign(Object.create(null), {
  xavier_uniform: 'glorot_uniform', xavier_normal: 'glorot_normal', kaiming_uniform: 'he_uniform', kaiming_normal: 'he_normal',
  glorotuniform: 'glorot_uniform', glorotnormal: 'glorot_normal', heuniform: 'he_uniform', henormal: 'he_normal',
  lecununiform: 'lecun_uniform', lecunnormal: 'lecun_normal', variancescaling: 'variance_scaling', randomnormal: 'random_normal',
  randomuniform: 'random_uniform', truncatednormal: 'truncated_normal', zero: 'zeros', one: 'ones',
});

/** Canonical table name for a Keras/TF.js/PyTorch spelling (GlorotUniform, glorotUniform, xavier_uniform...). */
export function canonicalInitName(name: string): string | undefined {
  const snake = name.trim().replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase().replace(/-/g, '_');
  if (TABLE[snake]) return snake;
  return ALIASES[snake] ?? ALIASES[snake.replace(/_/g, '')];
}

export function varianceFormula(name: string): string | undefined {
  const c = canonicalInitName(name);
  return c ? TABLE[c].varianceFormula : undefined;
}

export function initDescription(name: string): string | undefined {
  const c = canonicalInitName(name);
  return c ? TABLE[c].description : undefined;
}

const NUM_KEYS = ['scale', 'mean', 'stddev', 'minval', 'maxval', 'gain', 'value'] as const;

/**
 * An InitSpec for a name and optional parameters (Keras names and keys; `seed` is ignored: the run's seed
 * decides). undefined when the name is unknown. Bad parameter values are the parser's job to report.
 */
export function resolveInit(name: string, params?: Record<string, unknown>): InitSpec | undefined {
  const c = canonicalInitName(name);
  if (!c) return undefined;
  const spec: InitSpec = { name, ...TABLE[c].spec };
  if (params) {
    for (const k of NUM_KEYS) if (typeof params[k] === 'number') (spec as unknown as Record<string, number>)[k] = params[k] as number;
    if (spec.kind === 'variance_scaling') {
      if (typeof params.mode === 'string' && ['fan_in', 'fan_out', 'fan_avg'].includes(params.mode)) spec.mode = params.mode as FanMode;
      if (typeof params.distribution === 'string') {
        const d = params.distribution;
        // Keras: 'normal' means truncated_normal (legacy spelling).
        if (d === 'normal' || d === 'truncated_normal') spec.distribution = 'truncated_normal';
        else if (d === 'uniform' || d === 'untruncated_normal') spec.distribution = d;
      }
    }
    if (spec.kind === 'constant' && typeof params.value !== 'number' && typeof params.val === 'number') spec.value = params.val as number;
  }
  return spec;
}

/** Keras' _compute_fans: dense [in, out]; conv [kh, kw, in_c, out_c] -> receptive field * channels. */
export function computeFans(shape: number[]): { fanIn: number; fanOut: number } {
  if (shape.length < 1) return { fanIn: 1, fanOut: 1 };
  if (shape.length === 1) return { fanIn: shape[0], fanOut: shape[0] };
  if (shape.length === 2) return { fanIn: shape[0], fanOut: shape[1] };
  let receptive = 1;
  for (let i = 0; i < shape.length - 2; i++) receptive *= shape[i];
  return { fanIn: shape[shape.length - 2] * receptive, fanOut: shape[shape.length - 1] * receptive };
}

function fanFor(mode: FanMode | undefined, fanIn: number, fanOut: number): number {
  return mode === 'fan_out' ? fanOut : mode === 'fan_avg' ? (fanIn + fanOut) / 2 : fanIn;
}

/**
 * E[w^2] of the drawn weights (the variance for zero-mean initializers; what propagates the signal), so that
 * a spelled-out variance_scaling compares equal to the named initializer it equals. `receptive` is a conv kernel's
 * kh*kw (1 for dense): orthogonal flattens the kernel to fan_in rows by fan_out/receptive (= C_out) columns.
 */
export function effectiveVariance(init: InitSpec, fanIn: number, fanOut: number, receptive = 1): number | undefined {
  switch (init.kind) {
    case 'variance_scaling': return (init.scale ?? 1) / Math.max(1, fanFor(init.mode, fanIn, fanOut));
    case 'random_normal': { const s = init.stddev ?? 0.05, m = init.mean ?? 0; return s * s + m * m; }
    case 'random_uniform': { const lo = init.minval ?? -0.05, hi = init.maxval ?? 0.05; return (lo * lo + lo * hi + hi * hi) / 3; }
    case 'truncated_normal': { const s = (init.stddev ?? 0.05) * TRUNCATED_NORMAL_STDDEV, m = init.mean ?? 0; return s * s + m * m; }
    case 'orthogonal': { const g = init.gain ?? 1; return (g * g) / Math.max(1, fanIn, fanOut / receptive); }
    case 'identity': { const g = init.gain ?? 1; return (g * g) * Math.min(fanIn, fanOut) / Math.max(1, fanIn * fanOut); }
    case 'zeros': return 0;
    case 'ones': return 1;
    case 'constant': { const v = init.value ?? 0; return v * v; }
    default: return undefined;
  }
}

/**
 * Why an initializer cannot fill a kernel of this rank (undefined when it can). Keras' Identity only makes
 * 2D matrices; a conv kernel is 4D.
 */
export function initRankProblem(init: InitSpec, rank: number): string | undefined {
  if (init.kind === 'identity' && rank !== 2) {
    return `the identity initializer makes 2D matrices only (a dense kernel); this kernel has ${rank} dimensions`;
  }
  return undefined;
}

/** Fill `out` (a kernel of `shape`, row-major, last axis = outputs) per the initializer, drawing from rng. */
export function fillInit(init: InitSpec, shape: number[], out: Float32Array, rng: Rng): void {
  const problem = initRankProblem(init, shape.length);
  if (problem) throw new Error(problem);
  const n = shape.reduce((a, b) => a * b, 1);
  const { fanIn, fanOut } = computeFans(shape);
  switch (init.kind) {
    case 'variance_scaling': {
      const variance = (init.scale ?? 1) / Math.max(1, fanFor(init.mode, fanIn, fanOut));
      const dist = init.distribution ?? 'truncated_normal';
      if (dist === 'uniform') {
        const limit = Math.sqrt(3 * variance);
        for (let i = 0; i < n; i++) out[i] = rng.uniform(-limit, limit);
      } else if (dist === 'untruncated_normal') {
        const sd = Math.sqrt(variance);
        for (let i = 0; i < n; i++) out[i] = sd * rng.normal();
      } else {
        const sd = Math.sqrt(variance) / TRUNCATED_NORMAL_STDDEV;
        for (let i = 0; i < n; i++) out[i] = sd * rng.truncatedNormal();
      }
      return;
    }
    case 'random_normal': { const m = init.mean ?? 0, s = init.stddev ?? 0.05; for (let i = 0; i < n; i++) out[i] = m + s * rng.normal(); return; }
    case 'random_uniform': { const lo = init.minval ?? -0.05, hi = init.maxval ?? 0.05; for (let i = 0; i < n; i++) out[i] = rng.uniform(lo, hi); return; }
    case 'truncated_normal': { const m = init.mean ?? 0, s = init.stddev ?? 0.05; for (let i = 0; i < n; i++) out[i] = m + s * rng.truncatedNormal(); return; }
    case 'orthogonal': fillOrthogonal(shape, out, rng, init.gain ?? 1); return;
    case 'identity': {
      // Keras: gain * eye(rows, cols), also for non-square kernels.
      const [rows, cols] = shape, g = init.gain ?? 1;
      out.fill(0, 0, n);
      for (let i = 0; i < Math.min(rows, cols); i++) out[i * cols + i] = g;
      return;
    }
    case 'zeros': out.fill(0, 0, n); return;
    case 'ones': out.fill(1, 0, n); return;
    case 'constant': out.fill(init.value ?? 0, 0, n); return;
  }
}

/** Keras Orthogonal: QR of a normal matrix (rows = prod(shape[:-1]), cols = shape[-1]), signs fixed by diag(R). */
function fillOrthogonal(shape: number[], out: Float32Array, rng: Rng, gain: number): void {
  const cols = shape[shape.length - 1];
  const rows = shape.slice(0, -1).reduce((a, b) => a * b, 1) || 1;
  // Orthonormalize the short side's vectors (modified Gram-Schmidt, float64).
  const tall = rows >= cols;
  const k = tall ? cols : rows, len = tall ? rows : cols;
  const v: Float64Array[] = [];
  for (let i = 0; i < k; i++) {
    const x = new Float64Array(len);
    for (let j = 0; j < len; j++) x[j] = rng.normal();
    for (const q of v) { let d = 0; for (let j = 0; j < len; j++) d += q[j] * x[j]; for (let j = 0; j < len; j++) x[j] -= d * q[j]; }
    let nrm = 0; for (let j = 0; j < len; j++) nrm += x[j] * x[j];
    nrm = Math.sqrt(nrm) || 1;
    for (let j = 0; j < len; j++) x[j] /= nrm;
    v.push(x);
  }
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[r * cols + c] = gain * (tall ? v[c][r] : v[r][c]);
}
