/**
 * `shapes`: small grayscale images of triangles, squares and ellipses (after Glorot & Bengio's Shapeset):
 * random position, size, rotation and gray level on a dark background, plus pixel noise. Images are
 * [size, size, 1], values about 0..1.
 */
import type { Rng } from '../core/rng';
import type { DataSpec } from '../model';
import { SHAPE_CLASS_NAMES } from './sources';
import type { Raw } from './synthetic';

/** Inside test in the shape's own frame (unit size, centered at 0). */
const INSIDE: ((u: number, v: number, aspect: number) => boolean)[] = [
  // triangle: equilateral, circumradius 1
  (u, v) => v >= -0.5 && v <= 1 && Math.abs(u) <= (1 - v) / Math.sqrt(3),
  // square: side ~1.4 (similar area to the others)
  (u, v) => Math.abs(u) <= 0.7 && Math.abs(v) <= 0.7,
  // ellipse: semi-axes 1 and aspect
  (u, v, aspect) => u * u + (v * v) / (aspect * aspect) <= 1,
];

/** Sub-pixel offsets: x for k = 0..3, then y. */
const SUB = [0.25, 0.75, 0.25, 0.75, 0.25, 0.25, 0.75, 0.75];

export function shapes(d: DataSpec, rng: Rng): Raw {
  const s = d.size ?? 16, n = d.samples, classes = SHAPE_CLASS_NAMES.length;
  const x = new Float32Array(n * s * s);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = i % classes; labels[i] = c;
    const scale = rng.uniform(0.22, 0.4) * s;
    const cx = rng.uniform(scale, s - scale), cy = rng.uniform(scale, s - scale);
    const rot = rng.uniform(0, 2 * Math.PI), cos = Math.cos(rot), sin = Math.sin(rot);
    const aspect = rng.uniform(0.45, 0.8);
    const gray = rng.uniform(0.6, 1);
    const inside = INSIDE[c];
    for (let py = 0; py < s; py++) {
      for (let px = 0; px < s; px++) {
        // 2x2 supersampling keeps small shapes recognisable.
        let cover = 0;
        for (let k = 0; k < 4; k++) {
          const dx = (px + SUB[k] - cx) / scale, dy = (py + SUB[k + 4] - cy) / scale;
          if (inside(cos * dx + sin * dy, -sin * dx + cos * dy, aspect)) cover++;
        }
        x[i * s * s + py * s + px] = gray * (cover / 4) + d.noise * rng.normal();
      }
    }
  }
  return { x, shape: [s, s, 1], n, labels, classes, classNames: [...SHAPE_CLASS_NAMES] };
}
