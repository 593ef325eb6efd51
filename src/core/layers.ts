/**
 * The layers of SPEC §2 as forward/backward passes over buffers of one Heap. Activations are row-major
 * [rows, ...shape] with channels last (NHWC, as Keras). Every layer owns its output `out` (a) and the
 * gradient arriving at it `dOut` (dL/da); layers with an activation also own `z` (pre-activation), and their
 * backward turns `dOut` into dL/dz in place, which is what the probes read as gradRms.
 */
import type { ActivationName, ActivationSpec, Conv2DLayer, LayerSpec, PoolLayer } from '../model';
import { activationParams, backwardArray, forwardArray, softmaxBackwardRows, softmaxRows, type ActivationParams } from './activations';
import type { Buf, Heap } from './heap';
import { ACT_KERNEL, type Kernels } from './kernels';
import { fillInit } from './initializers';
import { colsShape } from './parallel';
import type { Rng } from './rng';

export type Mode = 'train' | 'probe' | 'eval';

/** A trainable (or moving-statistics) tensor with its gradient. */
export interface Param {
  name: string;
  shape: number[];
  w: Buf;
  g: Buf;
  trainable: boolean;
  /** Kernels get weight decay; biases, batchnorm scales and prelu alphas do not. */
  decay: boolean;
  /** The layer's main weight (kernel), whose gradient/update the probes report. */
  kernel: boolean;
  /**
   * g's sum of squares when the backward pass that wrote g computed it (Kernels.gemmGrad, on the threads that
   * wrote its columns), until Network.gradSumSquares takes it; else undefined.
   */
  gsq?: number;
}

export interface Layer {
  spec: LayerSpec;
  inShape: number[];
  outShape: number[];
  inSize: number;
  outSize: number;
  out: Buf;
  dOut: Buf;
  /** Pre-activation, for layers with an activation (dense, conv2d, activation); equals out for linear. */
  z: Buf | null;
  activation: ActivationSpec | null;
  params: Param[];
  /** Set by the network when the loss writes dL/dz for this (output) layer directly. */
  fusedLoss: boolean;
  /** The last forward pass left `out` unwritten (a training step's softmax under the fused loss, which reads z only). */
  outStale?: boolean;
  allocate(heap: Heap, rows: number, needDx: boolean): void;
  init(rng: Rng): void;
  forward(x: Buf, rows: number, mode: Mode): void;
  /** dOut holds dL/da; writes dL/dx into dx (when given) and parameter gradients (when paramGrads). */
  backward(x: Buf, dx: Buf | null, rows: number, paramGrads: boolean): void;
  /** Units that dead/saturation statistics are per (last axis). */
  units: number;
  heapRef: Heap;
}

const prod = (s: number[]) => s.reduce((a, b) => a * b, 1);

function allocParam(heap: Heap, name: string, shape: number[], trainable: boolean, decay: boolean, kernel: boolean): Param {
  const n = prod(shape);
  return { name, shape, w: heap.alloc(n), g: trainable ? heap.alloc(n) : heap.alloc(0), trainable, decay, kernel };
}

// ---- activation helper shared by dense, conv2d and activation layers -------------------------------------

class Act {
  readonly name: ActivationName;
  readonly p: ActivationParams;
  /** Kernel id when the kernels implement this activation (relu, sigmoid, tanh). */
  readonly code: number;
  constructor(readonly spec: ActivationSpec) { this.name = spec.name; this.p = activationParams(spec); this.code = ACT_KERNEL[spec.name] ?? 0; }
  get linear(): boolean { return this.name === 'linear'; }
  /** out = f(z) over n values; prelu alpha per unit (last axis) from `alpha` when given. */
  forward(k: Kernels, z: Buf, out: Buf, n: number, units: number, alpha: Float32Array | null): void {
    if (this.code) k.actForward(this.code, z.off, out.off, n);
    else if (this.name === 'softmax') softmaxRows(z.v, out.v, n / units, units);
    else if (this.name === 'prelu' && alpha) {
      const zv = z.v, a = out.v;
      for (let i = 0; i < n; i++) { const v = zv[i]; a[i] = v > 0 ? v : alpha[i % units] * v; }
    } else forwardArray(this.name, this.p, z.v, out.v, n);
  }
  /** g *= f'(z) (softmax: Jacobian-vector product). */
  backward(k: Kernels, z: Buf, out: Buf, g: Buf, n: number, units: number, alpha: Float32Array | null): void {
    if (this.code) k.actBackward(this.code, z.off, out.off, g.off, n);
    else if (this.name === 'softmax') softmaxBackwardRows(out.v, g.v, n / units, units);
    else if (this.name === 'prelu' && alpha) {
      const zv = z.v, gv = g.v;
      for (let i = 0; i < n; i++) if (!(zv[i] > 0)) gv[i] *= alpha[i % units];
    } else backwardArray(this.name, this.p, z.v, out.v, g.v, n);
  }
}

/** prelu's learned alpha: dalpha_j = sum over z<=0 of dL/da * z. */
function preluAlphaGrad(z: Float32Array, dA: Float32Array, n: number, units: number, g: Float32Array): void {
  g.fill(0);
  for (let i = 0; i < n; i++) { const v = z[i]; if (!(v > 0)) g[i % units] += dA[i] * v; }
}

// ---- dense -------------------------------------------------------------------------------------------------

abstract class Base {
  out!: Buf; dOut!: Buf; z: Buf | null = null; params: Param[] = []; fusedLoss = false; outStale = false;
  inSize: number; outSize: number; activation: ActivationSpec | null = null;
  /** Set by the network before allocate(). */
  heapRef!: Heap;
  constructor(readonly spec: LayerSpec, readonly inShape: number[], readonly outShape: number[]) {
    this.inSize = prod(inShape); this.outSize = prod(outShape);
  }
  get units(): number { return this.outShape[this.outShape.length - 1]; }
  init(_rng: Rng): void { /* no parameters */ }
}

export class Dense extends Base implements Layer {
  private act: Act; W!: Param; b: Param | null = null; alpha: Param | null = null;
  /** W's gradient norm is summed by column groups (parallel.ts colsShape), so its GEMM can do it (gemmGrad). */
  private byCols = false;
  constructor(readonly spec: Extract<LayerSpec, { type: 'dense' }>, inShape: number[]) {
    super(spec, inShape, [spec.units]);
    this.act = new Act(spec.activation); this.activation = spec.activation;
  }
  allocate(heap: Heap, rows: number): void {
    const { inSize: I, outSize: O } = this;
    this.W = allocParam(heap, 'kernel', [I, O], true, true, true);
    this.byCols = colsShape(this.W.shape) !== null;
    this.params.push(this.W);
    if (this.spec.useBias) { this.b = allocParam(heap, 'bias', [O], true, false, false); this.params.push(this.b); }
    if (this.act.name === 'prelu') { this.alpha = allocParam(heap, 'alpha', [O], true, false, false); this.params.push(this.alpha); }
    this.out = heap.alloc(rows * O);
    this.z = this.act.linear ? this.out : heap.alloc(rows * O);
    this.dOut = heap.alloc(rows * O);
  }
  init(rng: Rng): void {
    fillInit(this.spec.init, this.W.shape, this.W.w.v, rng);
    if (this.b) fillInit(this.spec.biasInit, this.b.shape, this.b.w.v, rng);
    if (this.alpha) this.alpha.w.v.fill(this.act.p.alpha ?? 0.25);
  }
  forward(x: Buf, rows: number, mode: Mode): void {
    const k = this.heapRef.kernels, I = this.inSize, O = this.outSize, z = this.z!;
    // A training step's cross-entropy fused with the softmax reads the logits z only (losses.ts): the softmax itself
    // is for probes and evaluation (its exponentials were a third of W1's loss work on the calling thread).
    this.outStale = mode === 'train' && this.fusedLoss && this.act.name === 'softmax';
    if (k.threads > 1 && (this.act.code || this.act.linear) && !this.alpha) {
      // The bias and a kernel activation in the GEMM's chunks, on the thread that computed those columns (one
      // thread keeps three calls: the same numbers, and a tiny net like W2 measured 5-15% slower with one).
      k.gemmAct(x.off, I, 1, this.W.w.off, O, 1, z.off, rows, I, O, this.heapRef.pack.off, this.b ? this.b.w.off : 0, this.act.code, this.out.off);
      return;
    }
    k.gemm(x.off, I, 1, this.W.w.off, O, 1, z.off, O, rows, I, O, 1, 0, this.heapRef.pack.off);
    if (this.b) k.biasAct(z.off, this.b.w.off, rows, O, 0);
    if (!this.act.linear && !this.outStale) this.act.forward(k, z, this.out, rows * O, O, this.alpha ? this.alpha.w.v : null);
  }
  backward(x: Buf, dx: Buf | null, rows: number, paramGrads: boolean): void {
    const k = this.heapRef.kernels, I = this.inSize, O = this.outSize, n = rows * O, dz = this.dOut;
    if (!this.fusedLoss && !this.act.linear) {
      if (this.alpha && paramGrads) preluAlphaGrad(this.z!.v, dz.v, n, O, this.alpha.g.v);
      this.act.backward(k, this.z!, this.out, dz, n, O, this.alpha ? this.alpha.w.v : null);
    }
    if (paramGrads && this.byCols) {
      // A big matrix: its squares (the gradient norm) and the bias sums in the same chunks, by columns.
      this.W.gsq = k.gemmGrad(x.off, 1, I, dz.off, O, 1, this.W.g.off, I, rows, O, this.heapRef.pack.off, this.heapRef.sums.off, this.b ? this.b.g.off : 0);
    } else if (paramGrads) {
      k.gemm(x.off, 1, I, dz.off, O, 1, this.W.g.off, O, I, rows, O, 1, 0, this.heapRef.pack.off);
      if (this.b) k.colSums(dz.off, rows, O, this.b.g.off);
    }
    if (dx) k.gemm(dz.off, O, 1, this.W.w.off, 1, O, dx.off, I, rows, O, I, 1, 0, this.heapRef.pack.off);
  }
}

// ---- conv2d (im2col onto the same GEMM) ----------------------------------------------------------------------

/** Output size and leading padding of one spatial axis, as TensorFlow computes them. */
export function convAxis(inSize: number, k: number, stride: number, padding: 'same' | 'valid'): { out: number; pad: number } {
  if (padding === 'valid') return { out: Math.max(0, Math.floor((inSize - k) / stride) + 1), pad: 0 };
  const out = Math.ceil(inSize / stride);
  const total = Math.max((out - 1) * stride + k - inSize, 0);
  return { out, pad: Math.floor(total / 2) };
}

/** Groups a conv's weight gradient is summed over at most (conv2D.gradGroups). */
export const CONV_GRAD_GROUPS = 8;
/** The GEMM's K block (assembly/gemm.ts KC): a window of at most this many taps is one block, summed in tap order. */
const GEMM_KC = 384;

export class Conv2D extends Base implements Layer {
  private act: Act; W!: Param; b: Param | null = null; alpha: Param | null = null;
  cols: Buf | null = null; dcols: Buf | null = null;
  /**
   * One input channel (a first layer on images): the conv is computed from the input directly (Kernels.convDirect,
   * convDirectGrad), with no im2col buffer; the forward numbers are im2col + GEMM's (a window of <= GEMM_KC taps is
   * one K block), the weight gradient sums each group's positions in order instead of the GEMM's K blocks.
   */
  readonly direct: boolean;
  /**
   * The geometry convDirect reads (int32: H, W, kh, kw, sh, sw, padT, padL, OH, OW, F, Hp, Wp, xp), written at the
   * first call; xp: the zero-framed copies of the images when a window leaves the image (frames), else 0.
   */
  private desc: Buf | null = null;
  private frames: Buf | null = null;
  private descWritten = false;
  /** Per-group weight (and bias) gradients, summed in group order (gradGroups); null when one group. */
  private parts: Buf | null = null;
  /** Floats of one group's part: KK * F weights, F biases, rounded up to f32x4. */
  private partStride = 0;
  readonly OH: number; readonly OW: number; readonly padT: number; readonly padL: number; readonly KK: number;
  constructor(readonly spec: Conv2DLayer, inShape: number[]) {
    const [H, W] = inShape;
    const a = convAxis(H, spec.kernel[0], spec.stride[0], spec.padding), b = convAxis(W, spec.kernel[1], spec.stride[1], spec.padding);
    super(spec, inShape, [a.out, b.out, spec.filters]);
    this.OH = a.out; this.OW = b.out; this.padT = a.pad; this.padL = b.pad;
    this.KK = spec.kernel[0] * spec.kernel[1] * inShape[2];
    this.act = new Act(spec.activation); this.activation = spec.activation;
    this.direct = inShape[2] === 1 && this.KK <= GEMM_KC;
  }
  allocate(heap: Heap, rows: number, needDx: boolean): void {
    const F = this.spec.filters, [kh, kw] = this.spec.kernel, C = this.inShape[2];
    this.W = allocParam(heap, 'kernel', [kh, kw, C, F], true, true, true); this.params.push(this.W);
    if (this.spec.useBias) { this.b = allocParam(heap, 'bias', [F], true, false, false); this.params.push(this.b); }
    if (this.act.name === 'prelu') { this.alpha = allocParam(heap, 'alpha', [F], true, false, false); this.params.push(this.alpha); }
    const P = rows * this.OH * this.OW;
    if (this.direct) {
      this.desc = heap.alloc(14);
      const [Hp, Wp] = this.frameSize();
      if (Hp) this.frames = heap.alloc(rows * Hp * Wp);
    }
    else this.cols = heap.alloc(P * this.KK);
    this.partStride = ((this.KK + 1) * F + 3) & ~3;
    // Fewer rows (a smaller batch than the buffers') never take more groups than `most` of the most rows.
    const most = this.gradGroups(rows).most;
    // convDirectGrad writes parts, so one part at least (then sumParts copies it)
    if (most > 1 || this.direct) this.parts = heap.alloc(most * this.partStride);
    if (needDx) this.dcols = heap.alloc(P * this.KK);
    this.out = heap.alloc(rows * this.outSize);
    this.z = this.act.linear ? this.out : heap.alloc(rows * this.outSize);
    this.dOut = heap.alloc(rows * this.outSize);
  }
  init(rng: Rng): void {
    fillInit(this.spec.init, this.W.shape, this.W.w.v, rng);
    if (this.b) fillInit(this.spec.biasInit, this.b.shape, this.b.w.v, rng);
    if (this.alpha) this.alpha.w.v.fill(this.act.p.alpha ?? 0.25);
  }
  /**
   * The weight gradient of `rows` images as a sum over G groups of whole images (`per` output positions each),
   * each group a GEMM of its own, added in group order: threads take whole groups (parallel.ts), each reading
   * only its images' im2col rows, and the sum is the same on any thread count. At most CONV_GRAD_GROUPS, and the
   * parts at most a quarter of the im2col buffer (a huge kernel over few positions keeps one group).
   */
  gradGroups(rows: number): { G: number; per: number; most: number } {
    const S = this.OH * this.OW;
    const most = Math.min(CONV_GRAD_GROUPS, rows, Math.floor(rows * S * this.KK / (4 * this.partStride)));
    if (most <= 1) return { G: 1, per: rows * S, most: 1 };
    const images = Math.ceil(rows / most);
    return { G: Math.ceil(rows / images), per: images * S, most };
  }
  /** The geometry arguments of the im2col/col2im kernels after the data pointer and row count. */
  private geom(): [number, number, number, number, number, number, number, number, number, number, number] {
    const [H, W, C] = this.inShape;
    return [H, W, C, this.spec.kernel[0], this.spec.kernel[1], this.spec.stride[0], this.spec.stride[1], this.padT, this.padL, this.OH, this.OW];
  }
  /** [Hp, Wp] of the frames that hold every window of a direct conv when some window leaves the image, else [0, 0]. */
  private frameSize(): [number, number] {
    const [H, W] = this.inShape, [kh, kw] = this.spec.kernel, [sh, sw] = this.spec.stride;
    const Hp = (this.OH - 1) * sh + kh, Wp = (this.OW - 1) * sw + kw;
    return this.padT > 0 || this.padL > 0 || Hp > H || Wp > W ? [Hp, Wp] : [0, 0];
  }
  /** desc's offset, the geometry written on the first call (the heap is committed by then). */
  private descOff(): number {
    const d = this.desc!;
    if (!this.descWritten) {
      const [H, W] = this.inShape, [Hp, Wp] = this.frameSize();
      const g = [H, W, this.spec.kernel[0], this.spec.kernel[1], this.spec.stride[0], this.spec.stride[1], this.padT, this.padL, this.OH, this.OW,
        this.spec.filters, Hp, Wp, this.frames ? this.frames.off : 0];
      new Int32Array(d.v.buffer, d.v.byteOffset, 14).set(g);
      this.descWritten = true;
    }
    return d.off;
  }
  forward(x: Buf, rows: number): void {
    const k = this.heapRef.kernels, F = this.spec.filters, P = rows * this.OH * this.OW, z = this.z!;
    if (this.direct) {
      // The bias, and relu/sigmoid/tanh, as the conv's sums are stored; other activations after it, as below.
      const code = this.alpha ? 0 : this.act.code;
      k.convDirect(this.descOff(), x.off, 0, rows, this.W.w.off, this.b ? this.b.w.off : 0, code, z.off, this.out.off);
      if (!code && !this.act.linear) this.act.forward(k, z, this.out, P * F, F, this.alpha ? this.alpha.w.v : null);
      return;
    }
    k.im2col(x.off, rows, ...this.geom(), this.cols!.off);
    // By rows on threads: the big im2col matrix is read once, each chunk packs the small kernel.
    k.gemm(this.cols!.off, this.KK, 1, this.W.w.off, F, 1, z.off, F, P, this.KK, F, 1, 0, this.heapRef.pack.off, 1);
    // bias and relu/sigmoid/tanh in one pass over z (the same numbers as biasAct, then actForward)
    if (this.b && this.act.code) { k.biasActForward(this.act.code, z.off, this.b.w.off, this.out.off, P, F); return; }
    if (this.b) k.biasAct(z.off, this.b.w.off, P, F, 0);
    if (!this.act.linear) this.act.forward(k, z, this.out, P * F, F, this.alpha ? this.alpha.w.v : null);
  }
  /**
   * Whether forwardImages and actBackwardImages can run this conv a few images at a time: a direct conv whose kernel
   * applies the activation (relu/sigmoid/tanh). Each image's numbers are the whole call's (Network.forward in probes).
   */
  get byImages(): boolean { return this.direct && this.act.code !== 0 && !this.alpha && !this.fusedLoss; }
  /** forward() of images r0..r1 (byImages only). */
  forwardImages(x: Buf, r0: number, r1: number): void {
    this.heapRef.kernels.convDirect(this.descOff(), x.off, r0, r1, this.W.w.off, this.b ? this.b.w.off : 0, this.act.code, this.z!.off, this.out.off);
  }
  /** The activation's backward (dOut *= f'(z)) of images r0..r1: all a backward does with no weight or input gradient. */
  actBackwardImages(r0: number, r1: number): void {
    const n = this.outSize, o = r0 * n;
    this.heapRef.kernels.actBackward(this.act.code, this.z!.off + o, this.out.off + o, this.dOut.off + o, (r1 - r0) * n);
  }
  backward(x: Buf, dx: Buf | null, rows: number, paramGrads: boolean): void {
    const k = this.heapRef.kernels, F = this.spec.filters, P = rows * this.OH * this.OW, dz = this.dOut, KK = this.KK;
    // A direct conv's gradient kernel applies relu/sigmoid/tanh's backward to each group of images as it takes it.
    const actInGrad = this.direct && paramGrads && !this.fusedLoss && !this.alpha ? this.act.code : 0;
    if (!this.fusedLoss && !this.act.linear && !actInGrad) {
      if (this.alpha && paramGrads) preluAlphaGrad(this.z!.v, dz.v, P * F, F, this.alpha.g.v);
      this.act.backward(k, this.z!, this.out, dz, P * F, F, this.alpha ? this.alpha.w.v : null);
    }
    if (paramGrads) {
      const { G, per } = this.gradGroups(rows);
      if (this.direct || (G > 1 && this.parts)) {
        // Each group's weight (and bias) gradient into its part, then the parts summed in group order.
        const parts = this.parts!.off, stride = this.partStride;
        if (this.direct) {
          k.convDirectGrad(this.descOff(), x.off, dz.off, rows, per / (this.OH * this.OW), 0, G, parts, stride, this.b ? this.b.g.off : 0,
            this.z!.off, this.out.off, actInGrad);
        } else k.convWeightGrad(this.cols!.off, dz.off, KK, F, P, per, 0, G, parts, stride, this.b ? 1 : 0, this.heapRef.pack.off);
        k.sumParts(parts, G, stride, KK * F, this.W.g.off);
        if (this.b) k.sumParts(parts + KK * F, G, stride, F, this.b.g.off);
      } else {
        k.gemm(this.cols!.off, 1, KK, dz.off, F, 1, this.W.g.off, F, KK, P, F, 1, 0, this.heapRef.pack.off);
        if (this.b) k.colSums(dz.off, P, F, this.b.g.off);
      }
    }
    if (dx && this.dcols) {
      k.gemm(dz.off, F, 1, this.W.w.off, 1, F, this.dcols.off, KK, P, F, KK, 1, 0, this.heapRef.pack.off, 1);
      k.col2im(this.dcols.off, rows, ...this.geom(), dx.off);
    }
  }
}

// ---- pooling ----------------------------------------------------------------------------------------------

export class Pool2D extends Base implements Layer {
  readonly OH: number; readonly OW: number; readonly padT: number; readonly padL: number;
  /** int32 index into the input of each maximum (maxpool2d). */
  private argBuf: Buf | null = null;
  constructor(readonly spec: PoolLayer, inShape: number[]) {
    const [H, W, C] = inShape;
    const a = convAxis(H, spec.size[0], spec.stride[0], spec.padding), b = convAxis(W, spec.size[1], spec.stride[1], spec.padding);
    super(spec, inShape, [a.out, b.out, C]);
    this.OH = a.out; this.OW = b.out; this.padT = a.pad; this.padL = b.pad;
  }
  allocate(heap: Heap, rows: number): void {
    this.out = heap.alloc(rows * this.outSize); this.dOut = heap.alloc(rows * this.outSize);
    if (this.spec.type === 'maxpool2d') this.argBuf = heap.alloc(rows * this.outSize);
  }
  forward(x: Buf, rows: number): void {
    const [H, W, C] = this.inShape, [ph, pw] = this.spec.size, [sh, sw] = this.spec.stride;
    if (this.spec.type === 'maxpool2d') {
      this.heapRef.kernels.maxPool(x.off, rows, H, W, C, ph, pw, sh, sw, this.padT, this.padL, this.OH, this.OW, this.out.off, this.argBuf!.off);
      return;
    }
    const xv = x.v, out = this.out.v;
    let o = 0;
    // Channels innermost: each window position is one contiguous run of C values (NHWC).
    for (let r = 0; r < rows; r++) {
      const xb = r * H * W * C;
      for (let oh = 0; oh < this.OH; oh++) for (let ow = 0; ow < this.OW; ow++, o += C) {
        const h0 = oh * sh - this.padT, w0 = ow * sw - this.padL;
        const h1 = Math.min(h0 + ph, H), w1 = Math.min(w0 + pw, W), hs = Math.max(h0, 0), ws = Math.max(w0, 0);
        const inv = 1 / ((h1 - hs) * (w1 - ws));
        for (let c = 0; c < C; c++) out[o + c] = 0;
        for (let i = hs; i < h1; i++) for (let j = ws; j < w1; j++) {
          const p = xb + (i * W + j) * C;
          for (let c = 0; c < C; c++) out[o + c] += xv[p + c];
        }
        for (let c = 0; c < C; c++) out[o + c] *= inv;
      }
    }
  }
  /** Max pooling: forwardImages and backwardImages run it a few images at a time with the whole call's numbers. */
  get byImages(): boolean { return this.spec.type === 'maxpool2d'; }
  /** forward() of images r0..r1 (the maxima's indices stay relative to the whole input). */
  forwardImages(x: Buf, r0: number, r1: number): void {
    const [H, W, C] = this.inShape, [ph, pw] = this.spec.size, [sh, sw] = this.spec.stride, I = this.inSize, O = this.outSize;
    this.heapRef.kernels.maxPool(x.off + r0 * I, r1 - r0, H, W, C, ph, pw, sh, sw, this.padT, this.padL, this.OH, this.OW,
      this.out.off + r0 * O, this.argBuf!.off + r0 * O, r0 * I);
  }
  /** backward() of images r0..r1 into dx (their part of it). */
  backwardImages(dx: Buf, r0: number, r1: number): void {
    const I = this.inSize, O = this.outSize;
    this.heapRef.kernels.maxPoolBack(this.dOut.off + r0 * O, this.argBuf!.off + r0 * O, (r1 - r0) * O, dx.off, r0 * I, (r1 - r0) * I, r1 - r0);
  }
  backward(_x: Buf, dx: Buf | null, rows: number): void {
    if (!dx) return;
    const [H, W, C] = this.inShape, [ph, pw] = this.spec.size, [sh, sw] = this.spec.stride;
    if (this.spec.type === 'maxpool2d') {
      this.heapRef.kernels.maxPoolBack(this.dOut.off, this.argBuf!.off, rows * this.outSize, dx.off, 0, rows * this.inSize, rows);
      return;
    }
    const d = dx.v, g = this.dOut.v;
    d.fill(0, 0, rows * this.inSize);
    let o = 0;
    for (let r = 0; r < rows; r++) {
      const xb = r * H * W * C;
      for (let oh = 0; oh < this.OH; oh++) for (let ow = 0; ow < this.OW; ow++) {
        const h0 = oh * sh - this.padT, w0 = ow * sw - this.padL;
        const h1 = Math.min(h0 + ph, H), w1 = Math.min(w0 + pw, W), hs = Math.max(h0, 0), ws = Math.max(w0, 0);
        const inv = 1 / ((h1 - hs) * (w1 - ws));
        for (let c = 0; c < C; c++) {
          const v = g[o++] * inv;
          for (let i = hs; i < h1; i++) for (let j = ws; j < w1; j++) d[xb + (i * W + j) * C + c] += v;
        }
      }
    }
  }
}

export class GlobalAvgPool2D extends Base implements Layer {
  constructor(spec: LayerSpec, inShape: number[]) { super(spec, inShape, [inShape[2]]); }
  allocate(heap: Heap, rows: number): void { this.out = heap.alloc(rows * this.outSize); this.dOut = heap.alloc(rows * this.outSize); }
  forward(x: Buf, rows: number): void {
    const [H, W, C] = this.inShape, S = H * W, xv = x.v, out = this.out.v;
    out.fill(0, 0, rows * C);
    for (let r = 0; r < rows; r++) {
      for (let s = 0; s < S; s++) { const p = (r * S + s) * C; for (let c = 0; c < C; c++) out[r * C + c] += xv[p + c]; }
      for (let c = 0; c < C; c++) out[r * C + c] /= S;
    }
  }
  backward(_x: Buf, dx: Buf | null, rows: number): void {
    if (!dx) return;
    const [H, W, C] = this.inShape, S = H * W, d = dx.v, g = this.dOut.v;
    for (let r = 0; r < rows; r++) for (let s = 0; s < S; s++) {
      const p = (r * S + s) * C;
      for (let c = 0; c < C; c++) d[p + c] = g[r * C + c] / S;
    }
  }
}

// ---- shape-preserving layers --------------------------------------------------------------------------------

export class Flatten extends Base implements Layer {
  constructor(spec: LayerSpec, inShape: number[]) { super(spec, inShape, [prod(inShape)]); }
  allocate(heap: Heap, rows: number): void { this.out = heap.alloc(rows * this.outSize); this.dOut = heap.alloc(rows * this.outSize); }
  forward(x: Buf, rows: number): void { this.out.v.set(x.v.subarray(0, rows * this.inSize)); }
  backward(_x: Buf, dx: Buf | null, rows: number): void { if (dx) dx.v.set(this.dOut.v.subarray(0, rows * this.inSize)); }
}

export class Dropout extends Base implements Layer {
  private mask!: Buf; private active = false; rng!: Rng;
  constructor(readonly spec: Extract<LayerSpec, { type: 'dropout' }>, inShape: number[]) { super(spec, inShape, inShape.slice()); }
  allocate(heap: Heap, rows: number): void {
    this.out = heap.alloc(rows * this.outSize); this.dOut = heap.alloc(rows * this.outSize); this.mask = heap.alloc(rows * this.outSize);
  }
  forward(x: Buf, rows: number, mode: Mode): void {
    const n = rows * this.inSize, rate = this.spec.rate;
    this.active = mode === 'train' && rate > 0;
    if (!this.active) { this.out.v.set(x.v.subarray(0, n)); return; }
    const keep = 1 / (1 - rate), m = this.mask.v, xv = x.v, out = this.out.v;
    for (let i = 0; i < n; i++) { const s = this.rng.next() >= rate ? keep : 0; m[i] = s; out[i] = xv[i] * s; }
  }
  backward(_x: Buf, dx: Buf | null, rows: number): void {
    if (!dx) return;
    const n = rows * this.inSize, g = this.dOut.v, d = dx.v;
    if (!this.active) { d.set(g.subarray(0, n)); return; }
    const m = this.mask.v;
    for (let i = 0; i < n; i++) d[i] = g[i] * m[i];
  }
}

export class BatchNorm extends Base implements Layer {
  gamma!: Param; beta!: Param; movingMean!: Param; movingVar!: Param;
  private xhat!: Buf; private invStd!: Buf; private mean!: Buf;
  constructor(readonly spec: Extract<LayerSpec, { type: 'batchnorm' }>, inShape: number[]) { super(spec, inShape, inShape.slice()); }
  get C(): number { return this.inShape[this.inShape.length - 1]; }
  allocate(heap: Heap, rows: number): void {
    const C = this.C;
    this.gamma = allocParam(heap, 'gamma', [C], true, false, false);
    this.beta = allocParam(heap, 'beta', [C], true, false, false);
    this.movingMean = allocParam(heap, 'moving_mean', [C], false, false, false);
    this.movingVar = allocParam(heap, 'moving_variance', [C], false, false, false);
    this.params.push(this.gamma, this.beta, this.movingMean, this.movingVar);
    this.out = heap.alloc(rows * this.outSize); this.dOut = heap.alloc(rows * this.outSize);
    this.xhat = heap.alloc(rows * this.outSize); this.invStd = heap.alloc(C); this.mean = heap.alloc(C);
  }
  init(): void { this.gamma.w.v.fill(1); this.beta.w.v.fill(0); this.movingMean.w.v.fill(0); this.movingVar.w.v.fill(1); }
  forward(x: Buf, rows: number, mode: Mode): void {
    const C = this.C, N = rows * this.inSize / C, xv = x.v, out = this.out.v, xh = this.xhat.v;
    const mean = this.mean.v, inv = this.invStd.v, g = this.gamma.w.v, b = this.beta.w.v, eps = this.spec.epsilon;
    if (mode === 'eval') {
      const mm = this.movingMean.w.v, mv = this.movingVar.w.v;
      for (let c = 0; c < C; c++) { mean[c] = mm[c]; inv[c] = 1 / Math.sqrt(mv[c] + eps); }
    } else {
      const s = new Float64Array(C), s2 = new Float64Array(C);
      for (let i = 0; i < N; i++) for (let c = 0; c < C; c++) s[c] += xv[i * C + c];
      for (let c = 0; c < C; c++) s[c] /= N;
      for (let i = 0; i < N; i++) for (let c = 0; c < C; c++) { const d = xv[i * C + c] - s[c]; s2[c] += d * d; }
      const mom = this.spec.momentum, mm = this.movingMean.w.v, mv = this.movingVar.w.v;
      for (let c = 0; c < C; c++) {
        const v = s2[c] / N;
        mean[c] = s[c]; inv[c] = 1 / Math.sqrt(v + eps);
        if (mode === 'train') { mm[c] = mm[c] * mom + s[c] * (1 - mom); mv[c] = mv[c] * mom + v * (1 - mom); }
      }
    }
    for (let i = 0; i < N; i++) for (let c = 0; c < C; c++) {
      const p = i * C + c, h = (xv[p] - mean[c]) * inv[c];
      xh[p] = h; out[p] = g[c] * h + b[c];
    }
  }
  backward(_x: Buf, dx: Buf | null, rows: number, paramGrads: boolean): void {
    const C = this.C, N = rows * this.inSize / C, dy = this.dOut.v, xh = this.xhat.v, inv = this.invStd.v, g = this.gamma.w.v;
    const dg = new Float64Array(C), db = new Float64Array(C);
    for (let i = 0; i < N; i++) for (let c = 0; c < C; c++) { const p = i * C + c; dg[c] += dy[p] * xh[p]; db[c] += dy[p]; }
    if (paramGrads) for (let c = 0; c < C; c++) { this.gamma.g.v[c] = dg[c]; this.beta.g.v[c] = db[c]; }
    if (!dx) return;
    const d = dx.v;
    for (let i = 0; i < N; i++) for (let c = 0; c < C; c++) {
      const p = i * C + c;
      d[p] = g[c] * inv[c] / N * (N * dy[p] - db[c] - xh[p] * dg[c]);
    }
  }
}

/** Keras' Activation layer: z is its input, out = f(z); its gradRms is dL/dz (what it writes to dx). */
export class ActivationOnly extends Base implements Layer {
  private act: Act; alpha: Param | null = null;
  constructor(readonly spec: Extract<LayerSpec, { type: 'activation' }>, inShape: number[]) {
    super(spec, inShape, inShape.slice());
    this.act = new Act(spec.activation); this.activation = spec.activation;
  }
  allocate(heap: Heap, rows: number): void {
    if (this.act.name === 'prelu') { this.alpha = allocParam(heap, 'alpha', [this.units], true, false, false); this.params.push(this.alpha); }
    this.out = heap.alloc(rows * this.outSize); this.dOut = heap.alloc(rows * this.outSize);
    this.z = heap.alloc(rows * this.outSize);
  }
  init(): void { if (this.alpha) this.alpha.w.v.fill(this.act.p.alpha ?? 0.25); }
  forward(x: Buf, rows: number): void {
    const n = rows * this.inSize;
    this.z!.v.set(x.v.subarray(0, n));
    this.act.forward(this.heapRef.kernels, this.z!, this.out, n, this.units, this.alpha ? this.alpha.w.v : null);
  }
  backward(_x: Buf, dx: Buf | null, rows: number, paramGrads: boolean): void {
    const n = rows * this.inSize, g = this.dOut.v;
    if (!this.fusedLoss) {
      if (this.alpha && paramGrads) preluAlphaGrad(this.z!.v, g, n, this.units, this.alpha.g.v);
      this.act.backward(this.heapRef.kernels, this.z!, this.out, this.dOut, n, this.units, this.alpha ? this.alpha.w.v : null);
    }
    if (dx) dx.v.set(g.subarray(0, n));
  }
}

/** The layer objects for a config's layer list, with shapes; throws on shapes that cannot work. */
export function makeLayer(spec: LayerSpec, inShape: number[]): Layer {
  switch (spec.type) {
    case 'dense': {
      if (inShape.length !== 1) throw new Error(`layer ${spec.name}: dense needs a flat input, got shape [${inShape}] (add a flatten layer)`);
      return new Dense(spec, inShape);
    }
    case 'conv2d':
      if (inShape.length !== 3) throw new Error(`layer ${spec.name}: conv2d needs an [h, w, c] input, got [${inShape}]`);
      return new Conv2D(spec, inShape);
    case 'maxpool2d': case 'avgpool2d':
      if (inShape.length !== 3) throw new Error(`layer ${spec.name}: ${spec.type} needs an [h, w, c] input, got [${inShape}]`);
      return new Pool2D(spec, inShape);
    case 'global_avgpool2d':
      if (inShape.length !== 3) throw new Error(`layer ${spec.name}: global_avgpool2d needs an [h, w, c] input, got [${inShape}]`);
      return new GlobalAvgPool2D(spec, inShape);
    case 'flatten': return new Flatten(spec, inShape);
    case 'dropout': return new Dropout(spec, inShape);
    case 'batchnorm': return new BatchNorm(spec, inShape);
    case 'activation': return new ActivationOnly(spec, inShape);
  }
}
