/**
 * Calibration of the weight-only update estimator (docs/tensorboard.md, "Weights"): trains nets of the core with
 * the weights captured at every step, and compares the true ||W_t+k - W_t|| / ||W_t|| with the lower bound that
 * the weights' histograms give (old-style TF buckets with exact moments, and TF2 30-bucket tensors), for
 * k = 1, 10, 100. Prints, per config and k, the median and the max of true/bound, and whether the bound ever
 * exceeded the truth. Run: node --require tsx/cjs bench/weightBound.ts
 */
import { Trainer } from '../src/core/train';
import { loadConfig, loadInputs } from '../src/cli/input';
import { histogramOf, histogramTensorOf } from '../src/tensorboard/writer';
import { displacementLowerBound } from '../src/tensorboard/weights';
import type { TbHistogram } from '../src/tensorboard/events';

import * as path from 'node:path';

export function oldStyle(values: Float32Array): TbHistogram {
  const h = histogramOf(values);
  const k = h.bucket.length, edges = new Float64Array(k + 1), counts = Float64Array.from(h.bucket);
  edges[0] = h.min;
  for (let i = 0; i < k; i++) edges[i + 1] = Math.min(Math.max(h.bucket_limit[i], h.min), h.max);
  edges[k] = Math.max(edges[k], h.max);
  return { min: h.min, max: h.max, num: h.num, sum: h.sum, sumSquares: h.sum_squares, exactMoments: true, edges, counts };
}

export function tf2Style(values: Float32Array): TbHistogram {
  const { rows, k } = histogramTensorOf(values);
  const edges = new Float64Array(k + 1), counts = new Float64Array(k);
  let n = 0, sum = 0, sq = 0;
  edges[0] = rows[0];
  for (let i = 0; i < k; i++) {
    edges[i + 1] = rows[3 * i + 1]; counts[i] = rows[3 * i + 2];
    const mid = (rows[3 * i] + rows[3 * i + 1]) / 2, w = rows[3 * i + 1] - rows[3 * i];
    n += counts[i]; sum += counts[i] * mid; sq += counts[i] * (mid * mid + w * w / 12);
  }
  return { min: rows[0], max: rows[3 * k - 2], num: n, sum, sumSquares: sq, exactMoments: false, edges, counts };
}

const norm = (a: Float32Array) => Math.sqrt(a.reduce((s, x) => s + x * x, 0));
const dist = (a: Float32Array, b: Float32Array) => Math.sqrt(a.reduce((s, x, i) => s + (x - b[i]) ** 2, 0));
const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };

if (require.main === module) {
  const examples = ['healthy-relu-he', 'tanh-glorot', 'dying-relu-high-lr', 'deep-sigmoid-spiral', 'selu-lecun', 'conv-shapes'];
  for (const name of examples) {
    const file = path.join(__dirname, '..', 'examples', `${name}.nn.yaml`);
    const config = loadConfig(file, () => undefined);
    const steps = Math.min(config.train.steps, 300);
    config.train.steps = steps;
    config.probe = { ...config.probe, every: 1 };
    const { data } = loadInputs(config, file);
    const snaps: Float32Array[][] = [];
    const core: (number | null)[][] = [];
    let trainer: Trainer | null = null;
    trainer = new Trainer(config, data, { onProbe: p => {
      snaps.push(trainer!.net.layers.flatMap(l => l.params.filter(q => q.kernel).map(q => q.w.v.slice(0, q.w.n))));
      core.push(trainer!.net.layers.filter(l => l.params.some(q => q.kernel)).map(l => p.layers[trainer!.net.layers.indexOf(l)].updateRatio));
    } });
    trainer.run();
    for (const k of [1, 10, 100]) {
      for (const style of ['old', 'tf2'] as const) {
        const ratios: number[] = []; let violations = 0, zero = 0, coreMismatch = 0; const trueRatios: number[] = [];
        for (let t = 0; t + k < snaps.length; t += k) {
          for (let li = 0; li < snaps[t].length; li++) {
            const a = snaps[t][li], b = snaps[t + k][li];
            const truth = dist(a, b);
            const conv = style === 'old' ? oldStyle : tf2Style;
            const d = displacementLowerBound(conv(a), conv(b))!;
            if (k === 1 && style === 'old') { const c = core[t + 1][li]; if (c !== null && Math.abs(c * norm(b) - truth) > 1e-3 * truth + 1e-12) coreMismatch++; }
            if (d.lower > truth * (1 + 1e-9) + 1e-12) violations++;
            if (truth > 0) { trueRatios.push(truth / norm(a)); if (d.lower > 0) ratios.push(truth / d.lower); else zero++; }
          }
        }
        console.log(`${name.padEnd(20)} k=${String(k).padEnd(4)} ${style} true ratio median ${median(trueRatios)?.toExponential(2)}  true/bound median ${median(ratios)?.toFixed(2)} max ${Math.max(...ratios).toFixed(2)}  bound=0: ${zero}/${trueRatios.length}  bound>truth: ${violations}  core mismatch: ${coreMismatch}`);
      }
    }
  }
}
