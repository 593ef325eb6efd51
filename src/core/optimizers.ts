/**
 * Optimizers with Keras 3 semantics (keras/src/optimizers/*.py update_step):
 *   sgd:      w -= lr * g
 *   momentum: v = m*v - lr*g; w += v
 *   adam:     m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2; w -= lr*sqrt(1-b2^t)/(1-b1^t) * m / (sqrt(v) + eps)
 *   rmsprop:  v = rho v + (1-rho) g^2; w -= lr * g / sqrt(v + eps)   (TF 2's legacy RMSprop had sqrt(v) + eps)
 * Weight decay is decoupled (w -= lr * wd * w, on kernels only), applied before the gradient step, as
 * Keras 3's `weight_decay`. Global-norm clipping scales every gradient by clip/norm when norm > clip.
 */
import type { TrainSpec } from '../model';
import type { Buf, Heap } from './heap';
import type { Param } from './layers';
import { colsShape } from './parallel';

interface Slot { p: Param; m: Buf | null; v: Buf | null }

export class Optimizer {
  private slots: Slot[];
  private t = 0;

  constructor(readonly spec: TrainSpec, params: Param[], private readonly heap: Heap) {
    const needM = spec.optimizer === 'momentum' || spec.optimizer === 'adam';
    const needV = spec.optimizer === 'adam' || spec.optimizer === 'rmsprop';
    this.slots = params.filter(p => p.trainable).map(p => ({ p, m: needM ? heap.alloc(p.w.n) : null, v: needV ? heap.alloc(p.w.n) : null }));
  }

  /**
   * One update with gradients scaled by `gradScale` (clipping). When `measure` is given, it receives per
   * parameter the squared norm of the applied update.
   */
  step(gradScale: number, measure?: (p: Param, updateSq: number) => void): void {
    const { optimizer, lr, weightDecay: wd, momentum, beta1, beta2, epsilon, rho } = this.spec;
    const k = this.heap.kernels;
    this.t++;
    const t = this.t;
    const adamLr = lr * Math.sqrt(1 - Math.pow(beta2, t)) / (1 - Math.pow(beta1, t));
    for (const { p, m, v } of this.slots) {
      const n = p.w.n, dl = wd > 0 && p.decay ? lr * wd : 0;
      let usq = 0;
      const rc = colsShape(p.shape);
      if (rc) {
        // A big matrix by column groups: each thread updates the columns its GEMM chunks wrote (parallel.ts).
        const [R, O] = rc, w = p.w.off, g = p.g.off, out = this.heap.sums.off;
        switch (optimizer) {
          case 'sgd': usq = k.updateCols(0, w, g, 0, 0, R, O, out, lr, gradScale, dl, 0, 0, 0); break;
          case 'momentum': usq = k.updateCols(1, w, g, m!.off, 0, R, O, out, lr, gradScale, dl, momentum, 0, 0); break;
          case 'adam': usq = k.updateCols(2, w, g, m!.off, v!.off, R, O, out, adamLr, gradScale, dl, beta1, beta2, epsilon); break;
          case 'rmsprop': usq = k.updateCols(3, w, g, 0, v!.off, R, O, out, lr, gradScale, dl, rho, epsilon, 0); break;
        }
        if (measure) measure(p, usq);
        continue;
      }
      switch (optimizer) {
        case 'sgd': usq = k.sgdUpdate(p.w.off, p.g.off, n, lr, gradScale, dl); break;
        case 'momentum': usq = k.momentumUpdate(p.w.off, p.g.off, m!.off, n, lr, gradScale, dl, momentum); break;
        case 'adam': usq = k.adamUpdate(p.w.off, p.g.off, m!.off, v!.off, n, adamLr, gradScale, dl, beta1, beta2, epsilon); break;
        case 'rmsprop': usq = k.rmspropUpdate(p.w.off, p.g.off, v!.off, n, lr, gradScale, dl, rho, epsilon); break;
      }
      if (measure) measure(p, usq);
    }
  }
}
