/**
 * Optimizers with Keras semantics (TF 2 / Keras 3 update rules):
 *   sgd:      w -= lr * g
 *   momentum: v = m*v - lr*g; w += v
 *   adam:     m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2; w -= lr*sqrt(1-b2^t)/(1-b1^t) * m / (sqrt(v) + eps)
 *   rmsprop:  v = rho v + (1-rho) g^2; w -= lr * g / (sqrt(v) + eps)
 * Weight decay is decoupled (w -= lr * wd * w, on kernels only), applied before the gradient step, as
 * Keras 3's `weight_decay`. Global-norm clipping scales every gradient by clip/norm when norm > clip.
 */
import type { TrainSpec } from '../model';
import type { Buf, Heap } from './heap';
import type { Param } from './layers';

interface Slot { p: Param; m: Buf | null; v: Buf | null }

export class Optimizer {
  private slots: Slot[];
  private t = 0;

  constructor(readonly spec: TrainSpec, params: Param[], heap: Heap) {
    const needM = spec.optimizer === 'momentum' || spec.optimizer === 'adam';
    const needV = spec.optimizer === 'adam' || spec.optimizer === 'rmsprop';
    this.slots = params.filter(p => p.trainable).map(p => ({ p, m: needM ? heap.alloc(p.w.n) : null, v: needV ? heap.alloc(p.w.n) : null }));
  }

  /** Clears the moment buffers (heap memory starts zeroed, this is for re-use). */
  reset(): void { this.t = 0; for (const s of this.slots) { s.m?.v.fill(0); s.v?.v.fill(0); } }

  /**
   * One update with gradients scaled by `gradScale` (clipping). When `measure` is given, it receives per
   * parameter the squared norm of the applied update.
   */
  step(gradScale: number, measure?: (p: Param, updateSq: number) => void): void {
    const { optimizer, lr, weightDecay: wd, momentum, beta1, beta2, epsilon, rho } = this.spec;
    this.t++;
    const t = this.t;
    const adamLr = lr * Math.sqrt(1 - Math.pow(beta2, t)) / (1 - Math.pow(beta1, t));
    for (const { p, m, v } of this.slots) {
      const w = p.w.v, g = p.g.v, n = p.w.n, decay = wd > 0 && p.decay ? lr * wd : 0;
      let usq = 0;
      switch (optimizer) {
        case 'sgd':
          for (let i = 0; i < n; i++) { const u = -lr * g[i] * gradScale - decay * w[i]; w[i] += u; usq += u * u; }
          break;
        case 'momentum': {
          const mv = m!.v;
          for (let i = 0; i < n; i++) {
            const d = -decay * w[i];
            mv[i] = momentum * mv[i] - lr * g[i] * gradScale;
            const u = mv[i] + d; w[i] += u; usq += u * u;
          }
          break;
        }
        case 'adam': {
          const mv = m!.v, vv = v!.v;
          for (let i = 0; i < n; i++) {
            const gi = g[i] * gradScale;
            mv[i] = beta1 * mv[i] + (1 - beta1) * gi;
            vv[i] = beta2 * vv[i] + (1 - beta2) * gi * gi;
            const u = -adamLr * mv[i] / (Math.sqrt(vv[i]) + epsilon) - decay * w[i];
            w[i] += u; usq += u * u;
          }
          break;
        }
        case 'rmsprop': {
          const vv = v!.v;
          for (let i = 0; i < n; i++) {
            const gi = g[i] * gradScale;
            vv[i] = rho * vv[i] + (1 - rho) * gi * gi;
            const u = -lr * gi / (Math.sqrt(vv[i]) + epsilon) - decay * w[i];
            w[i] += u; usq += u * u;
          }
          break;
        }
      }
      if (measure) measure(p, usq);
    }
  }
}
