/**
 * A network built from a NetworkConfig: its layers on one Heap, the loss at its output, its parameters.
 * Few concepts, named for what they are (in the spirit of tensorflow/playground's nn.ts): forward, loss,
 * backward; the optimizer and the trainer live in optimizers.ts and train.ts.
 */
import type { LayerSpec, NetworkConfig } from '../model';
import { Heap, type Buf } from './heap';
import { makeLayer, type Layer, type Mode, type Param, Dropout, Conv2D, Pool2D } from './layers';
import { addCrossEntropyRow, computeLoss, lossSetup, type LossSetup } from './losses';
import { Rng } from './rng';
import { SPLIT_GEMM_FLOPS, colsShape } from './parallel';
import { SUMMARY_FLOATS } from './kernels';

/**
 * Images per chunk when a probe runs its first conv and max pooling a few images at a time (Network.forward): C1's
 * conv 1 output and pre-activation are 173 KB an image, so a chunk stays in a core's L2.
 */
export const IMAGES_PER_CHUNK = 4;

const prod = (s: number[]) => s.reduce((a, b) => a * b, 1);

/** Output shapes of every layer for an input shape (throws Error naming the layer when a shape cannot work). */
export function layerShapes(input: number[], layers: LayerSpec[]): { layer: Layer; in: number[]; out: number[] }[] {
  let shape = input.slice();
  return layers.map(spec => {
    const layer = makeLayer(spec, shape);
    if (layer.outShape.some(d => !(d > 0))) throw new Error(`layer ${spec.name}: output shape [${layer.outShape}] is empty (input [${shape}])`);
    const r = { layer, in: shape, out: layer.outShape };
    shape = layer.outShape;
    return r;
  });
}

export interface BuildOptions {
  /** Rows the buffers hold: max(batch, probe samples, evaluation chunk). */
  rows: number;
  kernels: 'wasm' | 'js' | 'plan';
  /** Width of the targets per sample in the data (1 for class indices). */
  targetWidth?: number;
  /** Threads the kernels may use (wasm only; see splitPays). */
  threads?: number;
  /** Samples of the training split: with threads, their inputs are held in the memory (holdTrainInputs). */
  trainSamples?: number;
}

/**
 * Training inputs held in the memory at most (64 MB of floats); beyond, each batch is copied from JavaScript. Within
 * the memory estimate: the loader's own arrays, gone once the data is built, took more (memory.ts).
 */
export const MAX_HELD_FLOATS = 16 * 1024 * 1024;

/**
 * Whether a second thread pays for a network at `rows` rows: some GEMM of a training step (forward,
 * weight gradient or input gradient) is at least SPLIT_GEMM_FLOPS, i.e. enough work that handing half of it
 * to a helper beats the hand-off (a few to tens of microseconds). Small nets (W2: 2-8-8-8-1, at most 16k
 * flops a GEMM) stay on one thread and start no helper.
 */
export function splitPays(input: number[], layers: LayerSpec[], rows: number): boolean {
  let worst = 0;
  for (const { layer, in: inShape, out } of layerShapes(input, layers)) {
    const spec = layer.spec;
    if (spec.type === 'dense') worst = Math.max(worst, 2 * rows * prod(inShape) * spec.units);
    if (spec.type === 'conv2d') worst = Math.max(worst, 2 * rows * out[0] * out[1] * spec.kernel[0] * spec.kernel[1] * inShape[2] * spec.filters);
  }
  return worst >= SPLIT_GEMM_FLOPS;
}

export class Network {
  readonly layers: Layer[];
  readonly heap: Heap;
  /** The loaded batch's inputs and targets (with held inputs, one of two pairs: loadAhead fills the other). */
  input: Buf;
  target: Buf;
  /**
   * With threads: the training split's inputs (holdTrainInputs), the array they came from, and a batch's sample
   * indices (int32) for the kernel that gathers its rows.
   */
  private readonly held: Buf | null = null;
  private heldFrom: Float32Array | null = null;
  private readonly batchIdx: Buf | null = null;
  /** With held inputs: the other pair of batch buffers, which loadAhead gathers the next training batch into. */
  private readonly ahead: { input: Buf; target: Buf; idx: Buf } | null = null;
  /** The last forward ran layers 0 and 1 (a conv and its max pooling) by chunks of images: backward does too. */
  private probeChunked = false;
  /** Scratch for the probe statistics kernel (float64 results). */
  readonly statsScratch: Buf;
  readonly inputSize: number;
  readonly outWidth: number;
  readonly rows: number;
  readonly loss: LossSetup;
  readonly params: Param[];
  /** Heap bytes attributed to each layer (its parameters and activation buffers). */
  readonly layerBytes: number[] = [];
  private readonly last: Layer;
  /** With threads and softmax cross-entropy: each row's log-sum-exp (float64), written by the threads that split the loss. */
  private readonly lse: Buf | null = null;

  constructor(readonly config: NetworkConfig, opts: BuildOptions) {
    this.rows = Math.max(1, opts.rows);
    this.heap = new Heap(opts.kernels, opts.kernels === 'js' ? 1 : Math.max(1, Math.floor(opts.threads ?? 1)));
    const inputShape = config.model.input;
    this.inputSize = prod(inputShape);
    this.layers = layerShapes(inputShape, config.model.layers).map(s => s.layer);
    if (this.layers.length === 0) throw new Error('the model has no layers');
    this.last = this.layers[this.layers.length - 1];
    this.outWidth = this.last.outSize;
    this.input = this.heap.alloc(this.rows * this.inputSize);
    this.target = this.heap.alloc(this.rows * this.outWidth);
    const held = (opts.trainSamples ?? 0) * this.inputSize;
    if (this.heap.threads > 1 && held > 0 && held <= MAX_HELD_FLOATS) {
      this.held = this.heap.alloc(held);
      this.batchIdx = this.heap.alloc(this.rows);
      this.ahead = Network.allocAhead(this.heap, this.rows, this.inputSize, this.outWidth);
    }
    this.statsScratch = this.heap.alloc(SUMMARY_FLOATS);
    this.layers.forEach((layer, i) => {
      const before = this.heap.bytes;
      layer.heapRef = this.heap;
      layer.allocate(this.heap, this.rows, i > 0);
      this.layerBytes.push(this.heap.bytes - before);
    });
    this.params = this.layers.flatMap(l => l.params);
    const outAct = this.last.activation?.name ?? null;
    this.loss = lossSetup(config.train.loss, outAct);
    this.last.fusedLoss = this.loss.fused;
    if (this.heap.threads > 1 && this.loss.fused && this.loss.loss === 'cross_entropy') this.lse = this.heap.alloc(2 * this.rows);
  }

  /**
   * loadAhead's pair of batch buffers (inputs, targets, the batch's sample indices) on `heap`: here, and on the
   * planning heap of memory.ts, which counts them for a run that may go on threads.
   */
  static allocAhead(heap: Heap, rows: number, inputSize: number, outWidth: number): { input: Buf; target: Buf; idx: Buf } {
    return { input: heap.alloc(rows * inputSize), target: heap.alloc(rows * outWidth), idx: heap.alloc(rows) };
  }

  /** Allocates the memory and draws the initial weights from the config's seed. */
  commit(): this {
    this.heap.commit();
    const initRng = Rng.derive(this.config.seed, 'init');
    for (const l of this.layers) l.init(initRng);
    const dropRng = Rng.derive(this.config.seed, 'dropout');
    for (const l of this.layers) if (l instanceof Dropout) l.rng = dropRng;
    return this;
  }

  /**
   * Replaces the drawn initial weights with given ones (`init: from-model`): weights[i][name] for layer i's
   * parameter `name` (kernel, bias, gamma, beta, moving_mean, moving_variance, alpha), in the core's layout.
   * Returns the names of the parameters whose size did not match (left as drawn).
   */
  loadWeights(weights: (Record<string, Float32Array> | undefined)[]): string[] {
    const mismatched: string[] = [];
    this.layers.forEach((l, i) => {
      const w = weights[i];
      if (!w) return;
      for (const p of l.params) {
        const v = w[p.name];
        if (!v) continue;
        if (v.length !== p.w.n) { mismatched.push(`${l.spec.name}.${p.name}`); continue; }
        p.w.v.set(v);
      }
    });
    return mismatched;
  }

  /** Trainable parameter count and non-trainable (batchnorm moving statistics). */
  paramCounts(): { params: number; nonTrainable: number } {
    let params = 0, nonTrainable = 0;
    for (const p of this.params) { if (p.trainable) params += p.w.n; else nonTrainable += p.w.n; }
    return { params, nonTrainable };
  }

  /**
   * Copies samples idx[start..start+count) (or start.. when idx is null) of a data split into the input and
   * target buffers. Class-index targets (one per sample) become one-hot rows of the output width.
   */
  loadRows(x: Float32Array, y: Float32Array, yWidth: number, idx: ArrayLike<number> | null, start: number, count: number): void {
    const I = this.inputSize, xin = this.input.v, held = x === this.heldFrom ? this.held : null, ids = this.batchIdx;
    if (held && ids) {
      // JavaScript writes a shared memory word by word; the kernel's memory.copy is about twice as fast on rows
      // that are not in the cache (a training batch's, drawn at random).
      writeIndices(ids, idx, start, count);
      this.heap.kernels.gatherRows(held.off, I, ids.off, count, this.input.off);
    } else {
      for (let r = 0; r < count; r++) {
        const s = idx ? idx[start + r] : start + r;
        if (I < 64) for (let j = 0, src = s * I, dst = r * I; j < I; j++) xin[dst + j] = x[src + j];
        else xin.set(x.subarray(s * I, s * I + I), r * I);
      }
    }
    this.loadTargets(this.target.v, y, yWidth, idx, start, count);
  }

  private loadTargets(t: Float32Array, y: Float32Array, yWidth: number, idx: ArrayLike<number> | null, start: number, count: number): void {
    const O = this.outWidth, oneHot = yWidth === 1 && O > 1;
    for (let r = 0; r < count; r++) {
      const s = idx ? idx[start + r] : start + r;
      if (oneHot) {
        t.fill(0, r * O, r * O + O);
        const c = y[s] | 0;
        if (c >= 0 && c < O) t[r * O + c] = 1;
      } else if (yWidth === O) {
        for (let j = 0; j < O; j++) t[r * O + j] = y[s * O + j];
      } else {
        throw new Error(`the output layer has ${O} units but the data has ${yWidth} targets per sample`);
      }
    }
  }

  /**
   * With held inputs and a helper ready: loads a training batch (as loadRows) into the other pair of batch
   * buffers, its rows gathered by the helpers while this thread goes on (a step's loss and small last layers: the
   * helpers would wait there). The loaded batch is untouched; useAhead() makes the other pair the loaded one.
   * False (nothing loaded) when it cannot.
   */
  loadAhead(x: Float32Array, y: Float32Array, yWidth: number, idx: ArrayLike<number>, start: number, count: number): boolean {
    const ahead = this.ahead, k = this.heap.kernels;
    if (!ahead || x !== this.heldFrom || !k.openGatherRows) return false;
    // A task still open may be an earlier gather reading these indices: it finishes before they are rewritten.
    k.join?.();
    writeIndices(ahead.idx, idx, start, count);
    this.loadTargets(ahead.target.v, y, yWidth, idx, start, count);
    return k.openGatherRows(this.held!.off, this.inputSize, ahead.idx.off, count, ahead.input.off);
  }

  /** Makes the batch loadAhead loaded the loaded one (its gather finished first). */
  useAhead(): void {
    const ahead = this.ahead!, input = this.input, target = this.target;
    this.heap.kernels.join?.();
    this.input = ahead.input; this.target = ahead.target;
    ahead.input = input; ahead.target = target;
  }

  /**
   * With threads (and a training split of at most MAX_HELD_FLOATS input values): copies the split's inputs into the
   * memory once; loadRows then gathers its batches there.
   */
  holdTrainInputs(x: Float32Array): void {
    if (!this.held || x.length !== this.held.n) return;
    this.held.v.set(x);
    this.heldFrom = x;
  }

  forward(rows: number, mode: Mode): void {
    let x = this.input;
    const ls = this.layers;
    this.probeChunked = false;
    for (let i = 0; i < ls.length; i++) {
      const l = ls[i], pool = this.pooledConv(i, rows, mode);
      if (pool) {
        this.probeChunked = true;
        // A probe's conv and its max pooling, a few images at a time: the pooling reads the conv's output while it is
        // in cache (22 MB of C1's conv 1 at 256 rows is not). Each image's numbers are the whole calls'.
        const conv = l as Conv2D;
        for (let r0 = 0; r0 < rows; r0 += IMAGES_PER_CHUNK) {
          const r1 = Math.min(rows, r0 + IMAGES_PER_CHUNK);
          conv.forwardImages(x, r0, r1); pool.forwardImages(conv.out, r0, r1);
        }
        x = pool.out; i++;
        continue;
      }
      l.forward(x, rows, mode); x = l.out;
    }
  }

  /**
   * The max pooling after layer i when a probe runs both a few images at a time (forward, and backward with no
   * weight gradients): layer i a first-layer direct conv (its backward is then only the activation's), more rows
   * than one chunk. Null otherwise.
   */
  private pooledConv(i: number, rows: number, mode: Mode): Pool2D | null {
    const l = this.layers[i], next = this.layers[i + 1];
    if (mode !== 'probe' || i !== 0 || rows <= IMAGES_PER_CHUNK || !(l instanceof Conv2D) || !l.byImages) return null;
    return next instanceof Pool2D && next.byImages ? next : null;
  }

  /** Mean loss of the loaded rows; with grad, writes the output gradient for backward(). */
  computeLoss(rows: number, grad: boolean): number {
    const l = this.last, k = this.heap.kernels, n = this.outWidth;
    if (grad && this.lse && k.crossEntropyRows?.(l.z!.off, this.target.off, l.dOut.off, rows, n, 1 / rows, this.lse.off)) {
      // The gradient and each row's log-sum-exp split by rows over the threads; the loss summed here, term by term
      // in row order as computeLoss sums it, so the number is the same on any thread count.
      const z = l.z!.v, y = this.target.v, lse = new Float64Array(this.lse.v.buffer, this.lse.v.byteOffset, rows);
      let total = 0;
      for (let r = 0; r < rows; r++) total = addCrossEntropyRow(total, z, y, r * n, n, lse[r]);
      return total / rows;
    }
    return computeLoss(this.loss, (l.z ?? l.out).v, l.out.v, this.target.v, rows, this.outWidth, grad ? l.dOut.v : null);
  }

  correct(rows: number): number { return this.heap.kernels.countCorrect(this.last.out.off, this.target.off, rows, this.outWidth); }

  /**
   * Backward pass from the output gradient the loss wrote. `afterLayer(i)` runs right after layer i's
   * backward, when its dOut holds dL/dz (or dL/da) and its input gradient has been written.
   */
  backward(rows: number, paramGrads: boolean, afterLayer?: (i: number) => void): void {
    for (let i = this.layers.length - 1; i >= 0; i--) {
      const l = this.layers[i];
      const conv = i === 1 && !paramGrads && !afterLayer && this.probeChunked ? this.layers[0] as Conv2D : null;
      if (conv) {
        // The pooling's gradient into the conv's, then the conv's activation on it, a few images at a time (as forward).
        for (let r0 = 0; r0 < rows; r0 += IMAGES_PER_CHUNK) {
          const r1 = Math.min(rows, r0 + IMAGES_PER_CHUNK);
          (l as Pool2D).backwardImages(conv.dOut, r0, r1); conv.actBackwardImages(r0, r1);
        }
        break;
      }
      const x = i === 0 ? this.input : this.layers[i - 1].out;
      const dx = i === 0 ? null : this.layers[i - 1].dOut;
      l.backward(x, dx, rows, paramGrads);
      afterLayer?.(i);
    }
  }

  /** Sum of squares of all trainable gradients (NaN/Inf when any gradient is). */
  gradSumSquares(): number {
    const k = this.heap.kernels;
    let s = 0;
    for (const p of this.params) {
      if (!p.trainable) continue;
      // Summed already by the GEMM that wrote it (Dense.backward): the same column groups as below.
      if (p.gsq !== undefined) { s += p.gsq; p.gsq = undefined; continue; }
      // A big matrix by column groups (the same order on any thread count).
      const rc = colsShape(p.shape);
      s += rc ? k.colSumSquares(p.g.off, rc[0], rc[1], this.heap.sums.off) : k.sumSquares(p.g.off, p.g.n);
    }
    return s;
  }
}

/** A batch's sample indices (idx[start..], or start.. when idx is null) as int32 into `ids`, for gatherRows. */
function writeIndices(ids: Buf, idx: ArrayLike<number> | null, start: number, count: number): void {
  const i32 = new Int32Array(ids.v.buffer, ids.v.byteOffset, count);
  for (let r = 0; r < count; r++) i32[r] = idx ? idx[start + r] : start + r;
}

/** NaN/Inf count in v[0..n). */
export function countNonFinite(v: Float32Array, n: number): number {
  let c = 0;
  for (let i = 0; i < n; i++) { const x = v[i]; if (x - x !== 0) c++; }
  return c;
}
