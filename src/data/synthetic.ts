/**
 * The synthetic sources of SPEC §2.1, generated in-process from the run's seed. Each returns inputs
 * (row-major, `shape` per sample) and either class labels or regression targets; the caller splits and
 * encodes them for the loss.
 */
import { Rng } from '../core/rng';
import type { DataSpec } from '../model';

export interface Raw {
  x: Float32Array;
  shape: number[];
  n: number;
  /** Class index per sample (classification sources). */
  labels?: Int32Array;
  classes?: number;
  /** Regression targets, `targetDim` per sample. */
  targets?: Float32Array;
  targetDim?: number;
  classNames?: string[];
}

const TAU = 2 * Math.PI;

function twoD(n: number, classes: number, point: (label: number, out: [number, number]) => number | void): Raw {
  const x = new Float32Array(n * 2);
  const labels = new Int32Array(n);
  const p: [number, number] = [0, 0];
  for (let i = 0; i < n; i++) {
    const want = i % classes;
    const got = point(want, p);
    labels[i] = typeof got === 'number' ? got : want;
    x[2 * i] = p[0]; x[2 * i + 1] = p[1];
  }
  return { x, shape: [2], n, labels, classes };
}

export function spiral(d: DataSpec, rng: Rng): Raw {
  const k = d.classes ?? 3;
  return twoD(d.samples, k, (c, p) => {
    const r = rng.next();
    const theta = (TAU * c) / k + 3.5 * r;
    p[0] = r * Math.sin(theta) + d.noise * rng.normal();
    p[1] = r * Math.cos(theta) + d.noise * rng.normal();
  });
}

export function circles(d: DataSpec, rng: Rng): Raw {
  return twoD(d.samples, 2, (c, p) => {
    const r = c === 0 ? 1 : 0.5; const a = rng.uniform(0, TAU);
    p[0] = r * Math.cos(a) + d.noise * rng.normal();
    p[1] = r * Math.sin(a) + d.noise * rng.normal();
  });
}

export function xor(d: DataSpec, rng: Rng): Raw {
  return twoD(d.samples, 2, (_c, p) => {
    const a = rng.uniform(-1, 1), b = rng.uniform(-1, 1);
    p[0] = a + d.noise * rng.normal(); p[1] = b + d.noise * rng.normal();
    return a * b > 0 ? 0 : 1;
  });
}

export function moons(d: DataSpec, rng: Rng): Raw {
  return twoD(d.samples, 2, (c, p) => {
    const t = rng.uniform(0, Math.PI);
    const [u, v] = c === 0 ? [Math.cos(t), Math.sin(t)] : [1 - Math.cos(t), 0.5 - Math.sin(t)];
    p[0] = u - 0.5 + d.noise * rng.normal(); p[1] = v - 0.25 + d.noise * rng.normal();
  });
}

export function checkerboard(d: DataSpec, rng: Rng): Raw {
  return twoD(d.samples, 2, (_c, p) => {
    const a = rng.uniform(-1, 1), b = rng.uniform(-1, 1);
    p[0] = a + d.noise * rng.normal(); p[1] = b + d.noise * rng.normal();
    return (Math.floor((a + 1) * 2) + Math.floor((b + 1) * 2)) % 2;
  });
}

export function gaussians(d: DataSpec, rng: Rng): Raw {
  const k = d.classes ?? 3, f = d.features ?? 2, n = d.samples;
  const centers = Array.from({ length: k }, () => Array.from({ length: f }, () => 3 * rng.normal()));
  const x = new Float32Array(n * f); const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = i % k; labels[i] = c;
    for (let j = 0; j < f; j++) x[i * f + j] = centers[c][j] + d.noise * rng.normal();
  }
  return { x, shape: [f], n, labels, classes: k };
}

export function sine(d: DataSpec, rng: Rng): Raw {
  const n = d.samples; const x = new Float32Array(n); const targets = new Float32Array(n);
  for (let i = 0; i < n; i++) { const v = rng.uniform(-Math.PI, Math.PI); x[i] = v; targets[i] = Math.sin(v) + d.noise * rng.normal(); }
  return { x, shape: [1], n, targets, targetDim: 1 };
}

/**
 * Inputs N(0,1) of any shape; a random teacher (one tanh hidden layer of 32, weights N(0, 1/fan_in)) gives
 * the targets: its argmax for classes >= 2, its outputs (plus noise) for regression of `outDim` targets.
 */
export function teacher(d: DataSpec, rng: Rng, outDim: number): Raw {
  const shape = d.shape ?? [d.features ?? 8];
  const f = shape.reduce((a, b) => a * b, 1), n = d.samples, h = 32;
  const classes = d.classes ?? 0;
  const out = classes >= 2 ? classes : Math.max(1, outDim);
  const w1 = Float32Array.from({ length: f * h }, () => rng.normal() / Math.sqrt(f));
  const w2 = Float32Array.from({ length: h * out }, () => rng.normal() / Math.sqrt(h));
  const x = new Float32Array(n * f);
  for (let i = 0; i < x.length; i++) x[i] = rng.normal();
  const labels = classes >= 2 ? new Int32Array(n) : undefined;
  const targets = classes >= 2 ? undefined : new Float32Array(n * out);
  const hid = new Float32Array(h); const o = new Float64Array(out);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < h; j++) { let s = 0; for (let a = 0; a < f; a++) s += x[i * f + a] * w1[a * h + j]; hid[j] = Math.tanh(2 * s); }
    for (let k = 0; k < out; k++) { let s = 0; for (let j = 0; j < h; j++) s += hid[j] * w2[j * out + k]; o[k] = s; }
    if (labels) { let best = 0; for (let k = 1; k < out; k++) if (o[k] > o[best]) best = k; labels[i] = best; }
    else for (let k = 0; k < out; k++) targets![i * out + k] = o[k] + d.noise * rng.normal();
  }
  return labels ? { x, shape, n, labels, classes } : { x, shape, n, targets, targetDim: out };
}
