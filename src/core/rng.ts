/**
 * The one seeded random number generator of a run: mulberry32 (32-bit state, period 2^32), the same one the
 * perf recipe and tensorflow/playground-style demos use. Initialization, shuffling and dropout masks all draw
 * from streams derived from the config's seed, so the same config and seed give bit-identical numbers.
 * Normals use Box-Muller (both outputs consumed in order).
 */
export class Rng {
  private state: number;
  private spare: number | null = null;

  constructor(seed: number) { this.state = (seed >>> 0) ^ 0x9e3779b9; }

  /** A stream for one purpose ("init", "shuffle", "dropout"), independent of the others' draw counts. */
  static derive(seed: number, purpose: string): Rng {
    let h = (seed >>> 0) ^ 0x811c9dc5;
    for (let i = 0; i < purpose.length; i++) h = Math.imul(h ^ purpose.charCodeAt(i), 0x01000193);
    return new Rng(h >>> 0);
  }

  /** Uniform in [0, 1) with 32 bits. */
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) | 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  uniform(lo: number, hi: number): number { return lo + (hi - lo) * this.next(); }

  /** Standard normal. */
  normal(): number {
    if (this.spare !== null) { const s = this.spare; this.spare = null; return s; }
    let u = 0;
    while (u === 0) u = this.next();
    const v = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** Standard normal truncated to [-2, 2] by redrawing (as TensorFlow's truncated_normal). */
  truncatedNormal(): number {
    for (;;) { const x = this.normal(); if (x >= -2 && x <= 2) return x; }
  }

  /** Integer in [0, n). */
  int(n: number): number { return Math.floor(this.next() * n); }

  /** In-place Fisher-Yates shuffle. */
  shuffle(a: Uint32Array | number[]): void {
    for (let i = a.length - 1; i > 0; i--) { const j = this.int(i + 1); const t = a[i]; a[i] = a[j]; a[j] = t; }
  }
}
