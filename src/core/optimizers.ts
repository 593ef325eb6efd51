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
  /** The biggest weight matrix (the first of equal ones), which helpers update while the next batch loads (step). */
  private readonly biggest: Slot | null = null;
  /** Whether the other parameters are no more values than `biggest`: then the helpers start on it first (step). */
  private readonly biggestFirst: boolean = false;

  constructor(readonly spec: TrainSpec, params: Param[], private readonly heap: Heap) {
    const needM = spec.optimizer === 'momentum' || spec.optimizer === 'adam';
    const needV = spec.optimizer === 'adam' || spec.optimizer === 'rmsprop';
    this.slots = params.filter(p => p.trainable).map(p => ({ p, m: needM ? heap.alloc(p.w.n) : null, v: needV ? heap.alloc(p.w.n) : null }));
    // From the shapes only, fixed for the run: found once, not every step.
    let biggest: Slot | null = null, others = 0;
    for (const s of this.slots) if (colsShape(s.p.shape) && (!biggest || s.p.w.n > biggest.p.w.n)) biggest = s;
    for (const s of this.slots) if (s !== biggest) others += s.p.w.n;
    this.biggest = biggest;
    this.biggestFirst = !!biggest && others <= biggest.p.w.n;
  }

  /** Adam's bias-corrected learning rate at this step (set once per step). */
  private adamLr = 0;

  /**
   * One update with gradients scaled by `gradScale` (clipping). When `measure` is given, it receives per
   * parameter the squared norm of the applied update. `meanwhile` (work that touches no parameter, gradient or
   * optimizer slot: the next batch's rows) runs on the calling thread while the helper threads, when there are
   * any, update the biggest weight matrix (the first of equal ones), which the parameters' independence allows;
   * without helpers (or with `measure`, which needs every update's norm) it runs after the update. When the other
   * parameters are no more values than that matrix, the helpers start on it first and the calling thread updates
   * the others itself before `meanwhile`, on one thread (`kernels.serial`: each would otherwise be a hand-off of
   * its own, which the helpers' matrix waits for); else the others are updated first (the big ones split over the
   * threads) and the matrix is handed over then. The helpers' task is joined before step returns or throws.
   * Either way the numbers are the same.
   */
  step(gradScale: number, measure?: (p: Param, updateSq: number) => void, meanwhile?: () => void): void {
    const k = this.heap.kernels;
    this.t++;
    const { lr, beta1, beta2 } = this.spec;
    this.adamLr = lr * Math.sqrt(1 - Math.pow(beta2, this.t)) / (1 - Math.pow(beta1, this.t));
    const last = meanwhile && !measure && k.openUpdateMatrix ? this.biggest : null;
    // Its own scratch for the norms (not read): the calling thread's updates use heap.sums meanwhile.
    const open = (s: Slot) => {
      const [R, O] = colsShape(s.p.shape)!, a = this.matrixArgs(s, gradScale);
      return k.openUpdateMatrix!(a[0], s.p.w.off, s.p.g.off, s.m ? s.m.off : 0, s.v ? s.v.off : 0, R, O, (this.heap.openSums ?? this.heap.sums).off, a[1], a[2], a[3], a[4], a[5], a[6]);
    };
    let opened = !!last && this.biggestFirst && !!k.serial && !!this.heap.openSums && open(last);
    // Joined whatever throws (an update or `meanwhile`): no helper may still write the matrix when the step is over.
    try {
      for (const s of this.slots) if (s !== last) this.update(s, gradScale, measure, opened ? k.serial : k);
      if (!meanwhile) return;
      if (last && !opened) {
        opened = open(last);
        if (!opened) this.update(last, gradScale, measure);
      }
      meanwhile();
    } finally { if (opened) k.join!(); }
  }

  /** updateMatrix's kind and h0..h5 for this slot's rule (Kernels.updateMatrix). */
  private matrixArgs({ p }: Slot, gradScale: number): [number, number, number, number, number, number, number] {
    const { optimizer, lr, weightDecay: wd, momentum, beta1, beta2, epsilon, rho } = this.spec;
    const dl = wd > 0 && p.decay ? lr * wd : 0;
    switch (optimizer) {
      case 'sgd': return [0, lr, gradScale, dl, 0, 0, 0];
      case 'momentum': return [1, lr, gradScale, dl, momentum, 0, 0];
      case 'adam': return [2, this.adamLr, gradScale, dl, beta1, beta2, epsilon];
      case 'rmsprop': return [3, lr, gradScale, dl, rho, epsilon, 0];
    }
  }

  private update(slot: Slot, gradScale: number, measure?: (p: Param, updateSq: number) => void, k = this.heap.kernels): void {
    const { optimizer, lr, weightDecay: wd, momentum, beta1, beta2, epsilon, rho } = this.spec;
    const { p, m, v } = slot;
    const n = p.w.n, dl = wd > 0 && p.decay ? lr * wd : 0;
    let usq = 0;
    const rc = colsShape(p.shape);
    if (rc) {
      // A big matrix by blocks of rows (parallel.ts rowBlock): SIMD along each row, the blocks over the threads.
      const [R, O] = rc, a = this.matrixArgs(slot, gradScale);
      usq = k.updateMatrix(a[0], p.w.off, p.g.off, m ? m.off : 0, v ? v.off : 0, R, O, this.heap.sums.off, a[1], a[2], a[3], a[4], a[5], a[6]);
    } else {
      switch (optimizer) {
        case 'sgd': usq = k.sgdUpdate(p.w.off, p.g.off, n, lr, gradScale, dl); break;
        case 'momentum': usq = k.momentumUpdate(p.w.off, p.g.off, m!.off, n, lr, gradScale, dl, momentum); break;
        case 'adam': usq = k.adamUpdate(p.w.off, p.g.off, m!.off, v!.off, n, this.adamLr, gradScale, dl, beta1, beta2, epsilon); break;
        case 'rmsprop': usq = k.rmspropUpdate(p.w.off, p.g.off, v!.off, n, lr, gradScale, dl, rho, epsilon); break;
      }
    }
    if (measure) measure(p, usq);
  }
}
