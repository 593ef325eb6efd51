/**
 * Matrix multiply and friends over one float32 memory, in two interchangeable implementations:
 * - 'wasm': assembly/gemm.ts compiled with SIMD to gemm.wasm (loaded synchronously);
 * - 'js': the plain TypeScript reference (tests compare the two; fallback when no .wasm is found).
 * Offsets and strides are in floats.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { ActivationName } from '../model';
import { backwardArray, forwardArray } from './activations';
import { countCorrect, crossEntropyRow } from './losses';
import { HELPER_EXPORTS, Helpers, OP, UPDATE_POINTERS, chunkArgs, colGroup, crossEntropyRows, rowBlock, rowBlocks, updateBlocks, SPLIT_ELEMENTS, SPLIT_GEMM_FLOPS, type HelperOp } from './parallel';

export interface Kernels {
  kind: 'wasm' | 'js';
  /** Threads the big kernels are split over (1: the calling thread only). */
  threads: number;
  /** The helper threads when threads > 1 (tests wait for them and count their slices). */
  helpers?: Helpers;
  /** With helpers: the same kernels on the calling thread alone (work done while a task is open, Helpers.open). */
  serial?: Kernels;
  /** Why fewer threads than asked for run (e.g. gemm-mt.wasm missing): one line for the user. */
  note?: string;
  /** Ends the helper threads (a no-op with one thread). */
  dispose(): void;
  /** The whole memory as floats. */
  H: Float32Array;
  /**
   * C[M x N] = alpha * A^ B^ + beta * C, A^(i,k) = H[a + i*sai + k*sak], B^(k,n) = H[b + k*sbk + n*sbn],
   * C row-major with leading dimension ldc. `pack` is scratch of PACK_FLOATS (heap.ts).
   */
  gemm(a: number, sai: number, sak: number, b: number, sbk: number, sbn: number, c: number, ldc: number,
    M: number, K: number, N: number, alpha: number, beta: number, pack: number, byRows?: number): void;
  /**
   * A weight gradient C[M x N] = A^ B^ (gemm with alpha 1, beta 0, ldc N), and what the step needs of it while
   * each thread's columns are in its cache: returns C's sum of squares as colSumSquares sums it (column groups,
   * so the same number on any thread count), and when `bias` is not 0 (no buffer starts at 0) writes the bias
   * gradient bias[j] = sum over k of B^(k, j) as colSums does (B row-major: sbn 1). `out` as colSumSquares'.
   */
  gemmGrad(a: number, sai: number, sak: number, b: number, sbk: number, sbn: number, c: number,
    M: number, K: number, N: number, pack: number, out: number, bias: number): number;
  /**
   * A dense layer's forward pass: C[M x N] = A^ B^ (gemm with alpha 1, beta 0, ldc N), then C += bias per column
   * (biasAct; none when `bias` is 0) and out = f(C) (actForward kind `act` 1-3; none for 0), each thread on the
   * columns its GEMM chunks computed, while they are in its cache.
   */
  gemmAct(a: number, sai: number, sak: number, b: number, sbk: number, sbn: number, c: number,
    M: number, K: number, N: number, pack: number, bias: number, act: number, out: number): void;
  /** sum of squares of H[p .. p+n) (float64 accumulation). */
  sumSquares(p: number, n: number): number;
  /** Add bias to each row; relu when act === 1. */
  biasAct(z: number, bias: number, rows: number, n: number, act: number): void;
  /** Optimizer updates in place (rules in optimizers.ts); each returns the squared norm of the update. */
  sgdUpdate(w: number, g: number, n: number, lr: number, gs: number, dl: number): number;
  momentumUpdate(w: number, g: number, m: number, n: number, lr: number, gs: number, dl: number, mu: number): number;
  adamUpdate(w: number, g: number, m: number, v: number, n: number, alr: number, gs: number, dl: number, b1: number, b2: number, eps: number): number;
  rmspropUpdate(w: number, g: number, v: number, n: number, lr: number, gs: number, dl: number, rho: number, eps: number): number;
  /**
   * A weight matrix [R x O] updated by blocks of rows (parallel.ts rowBlock; f32x4 along each row): kind 0-3 the
   * update of sgd, momentum, adam, rmsprop (h: that update's arguments after n; unused pointers 0). Returns the
   * update's squared norm, each block's summed on its own and the blocks' added in block order; `out` is scratch
   * for them (8 * MAX_BLOCKS floats, 16-byte aligned). The blocks are the same on any thread count; with threads,
   * the blocks are a task's chunks.
   */
  updateMatrix(kind: number, w: number, g: number, m: number, v: number, R: number, O: number, out: number,
    h0: number, h1: number, h2: number, h3: number, h4: number, h5: number): number;
  /**
   * With helpers only: updateMatrix handed to the helpers as a task that runs while the calling thread goes on
   * (Helpers.open), finished by join(); no squared norm. False (nothing done) when no helper is ready.
   */
  openUpdateMatrix?(kind: number, w: number, g: number, m: number, v: number, R: number, O: number, out: number,
    h0: number, h1: number, h2: number, h3: number, h4: number, h5: number): boolean;
  /**
   * With helpers only: gatherRows handed to the helpers (by rows) as a task that runs while the calling thread goes
   * on, finished by join() or by the next task; false (nothing done) when no helper is ready.
   */
  openGatherRows?(src: number, I: number, idx: number, rows: number, dst: number): boolean;
  /** Finishes the task openUpdateMatrix or openGatherRows opened (a no-op when none is open). */
  join?(): void;
  /**
   * The sum of squares of a weight matrix's gradient g [R x O] by column groups (parallel.ts colGroup, each group
   * row by row, the groups' sums added in group order): gemmGrad's number. `out` as updateMatrix's.
   */
  colSumSquares(g: number, R: number, O: number, out: number): number;
  /**
   * With helpers only: softmax cross-entropy's gradient and each row's log-sum-exp (parallel.ts crossEntropyRows)
   * split by rows over the threads; false (nothing done) when the rows are too few to pay for the hand-off.
   */
  crossEntropyRows?(z: number, y: number, grad: number, rows: number, n: number, scale: number, lse: number): boolean;
  /** a = f(z) for kind ACT_KERNEL[name]; actBackward: g *= f'(z). */
  actForward(kind: number, z: number, a: number, n: number): void;
  actBackward(kind: number, z: number, a: number, g: number, n: number): void;
  /**
   * One pass of probe statistics over H[p..p+n): writes float64s at float offset `out` (8-byte aligned):
   * sum, sum of squares, finite count, count of |x| > satAbove, then `bins` histogram counts; scratch after
   * them (SUMMARY_FLOATS in all for up to 64 bins).
   */
  summarize(p: number, n: number, lo: number, inv: number, bins: number, satAbove: number, out: number): void;
  /**
   * A layer's probe statistics in one call: writes float64s at `out`: [0..4) summarize(g, no histogram),
   * [4] sumSquares(kg, kgN), [5] sumSquares(kw, kwN) (0 when the count is 0), [6..10+bins) summarize(a) with
   * edges (aLo, aInv), then, when z >= 0, summarize(z) with edges (zLo, zInv) and satAbove; SUMMARY_FLOATS in all.
   */
  probeLayer(a: number, z: number, g: number, n: number, aLo: number, aInv: number, zLo: number, zInv: number, bins: number,
    satAbove: number, kg: number, kgN: number, kw: number, kwN: number, out: number): void;
  /** Correct predictions among `rows` rows of width n: losses.ts countCorrect over H[a..], H[y..]. */
  countCorrect(a: number, y: number, rows: number, n: number): number;
  /** Rows of a batch from inputs in the memory: row r of dst is row I32[idx + r] of src, I floats each. */
  gatherRows(src: number, I: number, idx: number, rows: number, dst: number): void;
  /** cols[rows*OH*OW, kh*kw*C] from x[rows, H, W, C] (NHWC), zeros outside the image. */
  im2col(x: number, rows: number, H: number, W: number, C: number, kh: number, kw: number, sh: number, sw: number,
    padT: number, padL: number, OH: number, OW: number, cols: number): void;
  /** dx[rows, H, W, C] = im2col's adjoint applied to dcols (overwrites dx). */
  col2im(dcols: number, rows: number, H: number, W: number, C: number, kh: number, kw: number, sh: number, sw: number,
    padT: number, padL: number, OH: number, OW: number, dx: number): void;
  /** out[j] = sum over r of m[r*n + j], row by row. */
  colSums(m: number, rows: number, n: number, out: number): void;
  /**
   * A conv's weight (and bias, when bias != 0) gradient over groups g0..g1 of G groups of `per` positions: group g
   * writes cols[g*per.., KK]^T dz[g*per.., F] and dz's column sums at parts + g*stride (assembly/gemm.ts).
   */
  convWeightGrad(cols: number, dz: number, KK: number, F: number, P: number, per: number, g0: number, g1: number,
    parts: number, stride: number, bias: number, pack: number): void;
  /** out[j] = sum of parts[g*stride + j] over g < G, in group order. */
  sumParts(parts: number, G: number, stride: number, n: number, out: number): void;
  /**
   * Max pooling: out and arg (int32 index into x of each maximum, plus `base`); NaN wins, ties keep the first.
   * With threads, split by images.
   */
  maxPool(x: number, rows: number, H: number, W: number, C: number, ph: number, pw: number, sh: number, sw: number,
    padT: number, padL: number, OH: number, OW: number, out: number, arg: number, base?: number): void;
  /**
   * dx[z0..z0+zn) = 0, then dx[arg[o]] += g[o] for o < n. Given `rows` (the n outputs and zn inputs are that many
   * images, each image's maxima inside its own input), threads split it by images.
   */
  maxPoolBack(g: number, arg: number, n: number, dx: number, z0: number, zn: number, rows?: number): void;
  /** z[r, :] += bias, then a = f(z) for kind ACT_KERNEL[name], `rows` rows of width n (biasAct + actForward in one pass). */
  biasActForward(kind: number, z: number, bias: number, a: number, rows: number, n: number): void;
  /**
   * A conv whose input has one channel, with no im2col buffer (assembly/gemm.ts convDirect): images r0..r1 of
   * x[rows, H, W], geometry at `desc` (int32: H, W, kh, kw, sh, sw, padT, padL, OH, OW, F, Hp, Wp, xp; xp != 0: the
   * images are first copied into zero-filled Hp x Wp frames there, which convDirectGrad reads), kernel w[kh*kw, F]:
   * z = the conv + bias (none when bias is 0), out = f(z) for act 1-3 (none for 0): the numbers of im2col, gemm
   * and biasActForward. With threads, split by images.
   */
  convDirect(desc: number, x: number, r0: number, r1: number, w: number, bias: number, act: number, z: number, out: number): void;
  /**
   * Its weight (and bias, when bias != 0) gradient by groups g0..g1 of `per` images (`rows` in all): group g first
   * applies actBackward kind `act` (0: none) to its images' dz, then writes sum over its positions of x(p, t) dz[p, f]
   * at parts + g*stride + t*F + f and dz's column sums after them, each summed over the positions in order.
   */
  convDirectGrad(desc: number, x: number, dz: number, rows: number, per: number, g0: number, g1: number, parts: number,
    stride: number, bias: number, z: number, a: number, act: number): void;
}

type UpdateFns = Pick<Kernels, 'sgdUpdate' | 'momentumUpdate' | 'adamUpdate' | 'rmspropUpdate' | 'actForward' | 'actBackward' | 'summarize' | 'probeLayer' | 'countCorrect'
  | 'im2col' | 'col2im' | 'colSums' | 'maxPool' | 'maxPoolBack' | 'convWeightGrad' | 'sumParts' | 'biasActForward'
  | 'convDirect' | 'convDirectGrad' | 'gatherRows'>;

/**
 * Floats `probeLayer` (and `summarize`) may write at `out` for up to 64 bins: 6 + 2 x (4 + bins) float64
 * results, then 8 x bins int32 counts of scratch (four lanes' histograms for even and for odd quads).
 */
export const MAX_SUMMARY_BINS = 64;
export const SUMMARY_FLOATS = 2 * (6 + 2 * (4 + MAX_SUMMARY_BINS)) + 8 * MAX_SUMMARY_BINS;

/** Activations with a kernel of their own (the hot ones); others run the table's scalar functions. */
export const ACT_KERNEL: Partial<Record<ActivationName, number>> = { relu: 1, sigmoid: 2, tanh: 3 };
const KERNEL_ACT: ActivationName[] = ['linear', 'relu', 'sigmoid', 'tanh'];

let wasmModule: WebAssembly.Module | null | undefined;
let wasmPathTried: string[] = [];

/** Where gemm.wasm is looked for: next to the bundle, then the repo's dist/ (tests run from sources). */
export function wasmCandidates(): string[] {
  const here = __dirname;
  return [path.join(here, 'gemm.wasm'), path.resolve(here, '..', '..', 'dist', 'gemm.wasm'), path.resolve(here, '..', 'dist', 'gemm.wasm')];
}

/** The compiled module, or null when no gemm.wasm exists (then the JS kernels are used). */
export function wasmModuleOrNull(): WebAssembly.Module | null {
  if (wasmModule !== undefined) return wasmModule;
  wasmPathTried = wasmCandidates();
  for (const p of wasmPathTried) {
    if (fs.existsSync(p)) { wasmModule = new WebAssembly.Module(fs.readFileSync(p)); return wasmModule; }
  }
  wasmModule = null;
  return null;
}

export function wasmAvailable(): boolean { return wasmModuleOrNull() !== null; }

let mtModule: WebAssembly.Module | string | undefined;
/**
 * gemm-mt.wasm: the same kernels over an imported shared memory (helper threads), or why it cannot be used
 * (missing, not loadable, no SharedArrayBuffer).
 */
export function mtModuleOrWhy(): WebAssembly.Module | string {
  if (mtModule !== undefined) return mtModule;
  const tried = wasmCandidates().map(c => c.replace(/gemm\.wasm$/, 'gemm-mt.wasm'));
  const p = tried.find(c => fs.existsSync(c));
  if (typeof SharedArrayBuffer === 'undefined') mtModule = 'this runtime has no SharedArrayBuffer';
  else if (!p) mtModule = `gemm-mt.wasm not found (looked in ${tried.join(', ')})`;
  else {
    try { mtModule = new WebAssembly.Module(fs.readFileSync(p)); } catch (e) {
      mtModule = `${p} could not be loaded: ${(e as Error).message.split('\n')[0]}`;
    }
  }
  return mtModule;
}

export function mtModuleOrNull(): WebAssembly.Module | null {
  const m = mtModuleOrWhy();
  return typeof m === 'string' ? null : m;
}

/**
 * Kernels over a fresh memory of at least `floats` floats. Falls back to JS when gemm.wasm is missing.
 * With threads > 1 (wasm only), `helperPacks` are the GEMM scratch offsets of the threads-1 helpers; when
 * the threaded kernels cannot be had, one thread with `note` saying why (an error under
 * ACTIVATION_LENS_REQUIRE_WASM, so `npm test` cannot pass on one thread by accident).
 */
export function loadKernels(kind: 'wasm' | 'js', floats: number, threads = 1, helperPacks: number[] = []): Kernels {
  if (kind === 'wasm') {
    let why: string | undefined;
    if (threads > 1 && helperPacks.length >= threads - 1) {
      const mt = mtModuleOrWhy();
      if (typeof mt === 'string') why = mt;
      else {
        try { return parallelKernels(mt, floats, threads, helperPacks); } catch (e) {
          why = `helper threads could not start: ${(e as Error).message.split('\n')[0]}`;
        }
      }
    }
    const mod = wasmModuleOrNull();
    if (process.env.ACTIVATION_LENS_REQUIRE_WASM) {
      if (!mod) throw new Error(`gemm.wasm not found (looked in ${wasmPathTried.join(', ')}); run \`npm run build\` first`);
      if (why) throw new Error(`${threads} threads asked for, but ${why}; run \`npm run build\` first`);
    }
    if (mod) {
      const k = wasmKernels(mod, floats);
      if (why) k.note = `training on 1 thread instead of ${threads}: ${why}`;
      return k;
    }
  }
  return jsKernels(new Float32Array(floats + 64));
}

/** Values of a softmax cross-entropy below which its gradient stays on the calling thread. */
const CROSS_ENTROPY_SPLIT = 2048;

const UPDATES = ['sgdUpdate', 'momentumUpdate', 'adamUpdate', 'rmspropUpdate'] as const;
type UpdateName = typeof UPDATES[number];
type AnyUpdate = (...a: number[]) => number;

/**
 * An optimizer update as a task of blocks (updateBlocks, chunkArgs): `run(a, blocks, size, pointers)` runs the
 * blocks (here or on the helpers) and returns their squared norms summed in block order, so the sum is the
 * same on one thread as on many.
 */
function blockRunner(name: UpdateName, run: (a: number[], blocks: number, size: number, pointers: number) => number): AnyUpdate {
  const pointers = UPDATE_POINTERS[UPDATES.indexOf(name)];
  return (...a: number[]): number => {
    const [blocks, size] = updateBlocks(a[pointers]);
    return run(a, blocks, size, pointers);
  };
}

/** The optimizer updates of `k` run block by block on this thread (blockRunner). */
function blockwiseUpdates<K extends Pick<Kernels, UpdateName>>(k: K): K {
  const out = { ...k };
  for (const name of UPDATES) {
    const f = k[name] as unknown as AnyUpdate, op = OP[name];
    (out[name] as unknown as AnyUpdate) = blockRunner(name, (a, blocks, size, pointers) => {
      if (blocks <= 1) return f(...a);
      let sum = 0;
      for (let i = 0; i < blocks; i++) sum += f(...chunkArgs(op, size, i, a, 0, pointers)!);
      return sum;
    });
  }
  return out;
}

type UpdateColsRaw = (kind: number, w: number, g: number, m: number, v: number, R: number, O: number, j0: number, j1: number, gw: number, out: number,
  h0: number, h1: number, h2: number, h3: number, h4: number, h5: number) => void;
type GemmGradRaw = (a: number, sai: number, sak: number, b: number, sbk: number, sbn: number, c: number, ldc: number,
  M: number, K: number, N: number, pack: number, j0: number, gw: number, out: number, bias: number) => void;
type GemmActRaw = (a: number, sai: number, sak: number, b: number, sbk: number, sbn: number, c: number, ldc: number,
  M: number, K: number, N: number, pack: number, bias: number, act: number, out: number) => void;
type WasmExports = UpdateFns & { gemm: Kernels['gemm']; sumSquares(p: number, n: number): number; biasAct: Kernels['biasAct'];
  updateCols: UpdateColsRaw; gemmGrad: GemmGradRaw; gemmAct: GemmActRaw };

/** updateMatrix's task arguments (the wasm updateCols' over all rows and columns); chunkArgs cuts them into row blocks. */
function matrixTask(kind: number, w: number, g: number, m: number, v: number, R: number, O: number, out: number,
  h0: number, h1: number, h2: number, h3: number, h4: number, h5: number): number[] {
  return [kind, w, g, m, v, R, O, 0, O, O, out, h0, h1, h2, h3, h4, h5];
}

/** Sum of the wasm updateCols' `groups` results at float offset `out` (one float64 in every four), in group order. */
function sumGroups(F64: Float64Array, out: number, groups: number): number {
  let s = 0;
  for (let i = 0, o = out >> 1; i < groups; i++) s += F64[o + 4 * i];
  return s;
}

function fromExports(ex: WasmExports, memory: WebAssembly.Memory): Kernels {
  // A view made again only when the memory grew (its old buffer is then detached): updateMatrix runs per matrix a step.
  let F64 = new Float64Array(memory.buffer);
  return blockwiseUpdates({
    kind: 'wasm', threads: 1, dispose: () => undefined,
    H: new Float32Array(memory.buffer), gemm: ex.gemm, sumSquares: ex.sumSquares, biasAct: ex.biasAct,
    updateMatrix(kind, w, g, m, v, R, O, out, h0, h1, h2, h3, h4, h5) {
      // The blocks a task of threads would run as its chunks (parallel.ts chunkArgs), one after the other.
      const args = matrixTask(kind, w, g, m, v, R, O, out, h0, h1, h2, h3, h4, h5), [blocks, rb] = rowBlocks(R, O);
      for (let i = 0; i < blocks; i++) (ex.updateCols as (...a: number[]) => void)(...chunkArgs(OP.updateCols, rb, i, args, 0)!);
      if (F64.buffer !== memory.buffer) F64 = new Float64Array(memory.buffer);
      return sumGroups(F64, out, blocks);
    },
    colSumSquares(g, R, O, out) {
      const gw = colGroup(O);
      ex.updateCols(4, 0, g, 0, 0, R, O, 0, O, gw, out, 0, 0, 0, 0, 0, 0);
      if (F64.buffer !== memory.buffer) F64 = new Float64Array(memory.buffer);
      return sumGroups(F64, out, Math.ceil(O / gw));
    },
    gemmGrad(a, sai, sak, b, sbk, sbn, c, M, K, N, pack, out, bias) {
      const gw = colGroup(N);
      ex.gemmGrad(a, sai, sak, b, sbk, sbn, c, N, M, K, N, pack, 0, gw, out, bias);
      if (F64.buffer !== memory.buffer) F64 = new Float64Array(memory.buffer);
      return sumGroups(F64, out, Math.ceil(N / gw));
    },
    gemmAct: (a, sai, sak, b, sbk, sbn, c, M, K, N, pack, bias, act, out) => ex.gemmAct(a, sai, sak, b, sbk, sbn, c, N, M, K, N, pack, bias, act, out),
    sgdUpdate: ex.sgdUpdate, momentumUpdate: ex.momentumUpdate, adamUpdate: ex.adamUpdate, rmspropUpdate: ex.rmspropUpdate,
    actForward: ex.actForward, actBackward: ex.actBackward, summarize: ex.summarize, probeLayer: ex.probeLayer, countCorrect: ex.countCorrect,
    gatherRows: ex.gatherRows,
    im2col: ex.im2col, col2im: ex.col2im, colSums: ex.colSums, maxPoolBack: ex.maxPoolBack,
    maxPool: (x, rows, H, W, C, ph, pw, sh, sw, padT, padL, OH, OW, out, arg, base = 0) => ex.maxPool(x, rows, H, W, C, ph, pw, sh, sw, padT, padL, OH, OW, out, arg, base),
    convWeightGrad: ex.convWeightGrad, sumParts: ex.sumParts, biasActForward: ex.biasActForward,
    convDirect: ex.convDirect, convDirectGrad: ex.convDirectGrad,
  });
}

function wasmKernels(mod: WebAssembly.Module, floats: number): Kernels {
  const inst = new WebAssembly.Instance(mod, {});
  const ex = inst.exports as unknown as WasmExports & { memory: WebAssembly.Memory };
  const needPages = Math.ceil((floats + 64) * 4 / 65536);
  const have = ex.memory.buffer.byteLength / 65536;
  if (needPages > have) ex.memory.grow(needPages - have);
  return fromExports(ex, ex.memory);
}

/**
 * The wasm kernels over a shared memory with threads-1 helper threads (parallel.ts). Split: GEMMs by rows
 * of C (multiples of 4, so every chunk keeps the 4-row tile), im2col/col2im by images, activations by
 * element ranges; each only when it is big enough to pay for the hand-off.
 */
function parallelKernels(mod: WebAssembly.Module, floats: number, threads: number, helperPacks: number[]): Kernels {
  const pages = Math.ceil((floats + 64) * 4 / 65536) + 1;
  const memory = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
  const ex = new WebAssembly.Instance(mod, { env: { memory } }).exports as unknown as WasmExports;
  const k = fromExports(ex, memory);
  const H = new Float32Array(memory.buffer), F64 = new Float64Array(memory.buffer);
  const fns = HELPER_EXPORTS.map(n => n === 'crossEntropyRows'
    ? (...a: number[]) => crossEntropyRows(crossEntropyRow, H, F64, a[0], a[1], a[2], a[3], a[4], a[5], a[6])
    : ex[n as keyof WasmExports] as (...a: number[]) => void);
  const helpers = new Helpers(mod, memory, threads - 1, helperPacks, (op, a) => fns[op](...a) as number | void);
  /** Runs `op` split into chunks of `align` units (rows, images, elements) when a helper is up, else here. */
  const go = (op: HelperOp, total: number, align: number, args: number[], pack: number): boolean => {
    const split = helpers.split(total, align);
    if (!split) return false;
    helpers.parallel(op, split[0], split[1], args, pack);
    return true;
  };
  /** An update over the same blocks as on one thread (blockwiseUpdates), the blocks shared with the helpers. */
  const update = (name: UpdateName) => blockRunner(name, (a, blocks, size, pointers) =>
    // two full blocks at least: a short second one would not pay for the hand-off
    a[pointers] < 2 * size || helpers.ready() === 0 ? (k[name] as unknown as AnyUpdate)(...a)
      : helpers.parallel(name, blocks, size, a, 0, pointers));
  const I32 = new Int32Array(memory.buffer);
  const pk: Kernels = {
    ...k, threads, helpers, serial: k, dispose: () => helpers.dispose(),
    updateMatrix(kind, w, g, m, v, R, O, out, h0, h1, h2, h3, h4, h5) {
      const [blocks, rb] = rowBlocks(R, O);
      if (blocks < 2 || helpers.ready() === 0) return k.updateMatrix(kind, w, g, m, v, R, O, out, h0, h1, h2, h3, h4, h5);
      helpers.parallel('updateCols', blocks, rb, matrixTask(kind, w, g, m, v, R, O, out, h0, h1, h2, h3, h4, h5), 0);
      return sumGroups(F64, out, blocks);
    },
    openUpdateMatrix(kind, w, g, m, v, R, O, out, h0, h1, h2, h3, h4, h5) {
      // The same blocks as updateMatrix, so the numbers are the same whichever thread runs them.
      const [blocks, rb] = rowBlocks(R, O);
      if (blocks < 2 || helpers.ready() === 0) return false;
      helpers.open('updateCols', blocks, rb, matrixTask(kind, w, g, m, v, R, O, out, h0, h1, h2, h3, h4, h5), 0);
      return true;
    },
    openGatherRows(src, I, idx, rows, dst) {
      // Like every task, it first finishes one still open (Helpers.open).
      const split = helpers.split(rows, 1);
      if (!split) return false;
      helpers.open('gatherRows', split[0], split[1], [src, I, idx, rows, dst], 0);
      return true;
    },
    join: () => { helpers.join(); },
    crossEntropyRows(z, y, grad, rows, n, scale, lse) {
      // Exponentials are ~10 ns each: below ~2000 of them a hand-off costs what it saves. Not while the helpers
      // gather the next batch (Network.loadAhead): this thread computes the loss meanwhile.
      return rows * n >= CROSS_ENTROPY_SPLIT && !helpers.busy && go('crossEntropyRows', rows, 1, [z, y, grad, rows, n, scale, lse], 0);
    },
    sgdUpdate: update('sgdUpdate') as Kernels['sgdUpdate'], momentumUpdate: update('momentumUpdate') as Kernels['momentumUpdate'],
    adamUpdate: update('adamUpdate') as Kernels['adamUpdate'], rmspropUpdate: update('rmspropUpdate') as Kernels['rmspropUpdate'],
    gemmGrad(a, sai, sak, b, sbk, sbn, c, M, K, N, pack, out, bias) {
      // By columns in multiples of the column groups: each thread sums the squares of the columns it wrote.
      const gw = colGroup(N), plan = helpers.gemmPlan(M, K, N, false, gw);
      if (!plan || plan.op !== 'gemmCols') return k.gemmGrad(a, sai, sak, b, sbk, sbn, c, M, K, N, pack, out, bias);
      helpers.parallel('gemmGrad', plan.chunks, plan.size, [a, sai, sak, b, sbk, sbn, c, N, M, K, N, pack, 0, gw, out, bias], pack);
      return sumGroups(F64, out, Math.ceil(N / gw));
    },
    gemmAct(a, sai, sak, b, sbk, sbn, c, M, K, N, pack, bias, act, out) {
      // By columns: each thread adds the bias and applies the activation to the columns it computed. Else (by
      // rows, or not split) the same three kernels one after the other.
      const plan = helpers.gemmPlan(M, K, N);
      if (plan?.op === 'gemmCols') helpers.parallel('gemmAct', plan.chunks, plan.size, [a, sai, sak, b, sbk, sbn, c, N, M, K, N, pack, bias, act, out], pack);
      else if (!plan) k.gemmAct(a, sai, sak, b, sbk, sbn, c, M, K, N, pack, bias, act, out);
      else {
        pk.gemm(a, sai, sak, b, sbk, sbn, c, N, M, K, N, 1, 0, pack);
        if (bias !== 0) k.biasAct(c, bias, M, N, 0);
        if (act !== 0) pk.actForward(act, c, out, M * N);
      }
    },
    gemm(a, sai, sak, b, sbk, sbn, c, ldc, M, K, N, alpha, beta, pack, byRows) {
      const plan = helpers.gemmPlan(M, K, N, byRows === 1);
      if (plan) helpers.parallel(plan.op, plan.chunks, plan.size, [a, sai, sak, b, sbk, sbn, c, ldc, M, K, N, alpha, beta, pack], pack);
      else ex.gemm(a, sai, sak, b, sbk, sbn, c, ldc, M, K, N, alpha, beta, pack);
    },
    convWeightGrad(cols, dz, KK, F, P, per, g0, g1, parts, stride, bias, pack) {
      const split = 2 * KK * P * F >= SPLIT_GEMM_FLOPS ? helpers.split(g1 - g0, 1) : null;
      if (split && g0 === 0) helpers.parallel('convWeightGrad', split[0], split[1], [cols, dz, KK, F, P, per, g0, g1, parts, stride, bias, pack], pack);
      else ex.convWeightGrad(cols, dz, KK, F, P, per, g0, g1, parts, stride, bias, pack);
    },
    convDirect(desc, x, r0, r1, w, bias, act, z, out) {
      // by images, when the output is big enough to pay for the hand-off (OH * OW * F from the geometry)
      const n = (r1 - r0) * I32[desc + 8] * I32[desc + 9] * I32[desc + 10];
      // from r0: a probe runs its first conv 4 images at a time (Network's pooledConv), each chunk split as well
      if (n >= SPLIT_ELEMENTS && go('convDirect', r1 - r0, 1, [desc, x, r0, r1, w, bias, act, z, out], 0)) return;
      ex.convDirect(desc, x, r0, r1, w, bias, act, z, out);
    },
    convDirectGrad(desc, x, dz, rows, per, g0, g1, parts, stride, bias, z, a, act) {
      // whole groups to a thread, as convWeightGrad
      const flops = 2 * rows * I32[desc + 2] * I32[desc + 3] * I32[desc + 8] * I32[desc + 9] * I32[desc + 10];
      const split = flops >= SPLIT_GEMM_FLOPS ? helpers.split(g1 - g0, 1) : null;
      if (split && g0 === 0) helpers.parallel('convDirectGrad', split[0], split[1], [desc, x, dz, rows, per, g0, g1, parts, stride, bias, z, a, act], 0);
      else ex.convDirectGrad(desc, x, dz, rows, per, g0, g1, parts, stride, bias, z, a, act);
    },
    maxPool(x, rows, H, W, C, ph, pw, sh, sw, padT, padL, OH, OW, out, arg, base = 0) {
      const args = [x, rows, H, W, C, ph, pw, sh, sw, padT, padL, OH, OW, out, arg, base];
      if (rows * H * W * C >= SPLIT_ELEMENTS && go('maxPool', rows, 1, args, 0)) return;
      ex.maxPool(x, rows, H, W, C, ph, pw, sh, sw, padT, padL, OH, OW, out, arg, base);
    },
    maxPoolBack(g, arg, n, dx, z0, zn, rows) {
      if (rows && zn >= SPLIT_ELEMENTS && go('maxPoolBack', rows, 1, [g, arg, n, dx, z0, zn, rows], 0)) return;
      ex.maxPoolBack(g, arg, n, dx, z0, zn);
    },
    biasActForward(kind, z, bias, a, rows, n) {
      if (rows * n >= SPLIT_ELEMENTS && go('biasActForward', rows, 1, [kind, z, bias, a, rows, n], 0)) return;
      ex.biasActForward(kind, z, bias, a, rows, n);
    },
    im2col(x, rows, H, W, C, kh, kw, sh, sw, padT, padL, OH, OW, cols) {
      if (rows * OH * OW * kh * kw * C >= SPLIT_ELEMENTS && go('im2col', rows, 1, [x, rows, H, W, C, kh, kw, sh, sw, padT, padL, OH, OW, cols], 0)) return;
      ex.im2col(x, rows, H, W, C, kh, kw, sh, sw, padT, padL, OH, OW, cols);
    },
    col2im(dcols, rows, H, W, C, kh, kw, sh, sw, padT, padL, OH, OW, dx) {
      if (rows * OH * OW * kh * kw * C >= SPLIT_ELEMENTS && go('col2im', rows, 1, [dcols, rows, H, W, C, kh, kw, sh, sw, padT, padL, OH, OW, dx], 0)) return;
      ex.col2im(dcols, rows, H, W, C, kh, kw, sh, sw, padT, padL, OH, OW, dx);
    },
    actForward(kind, z, a, n) {
      if (n >= SPLIT_ELEMENTS && go('actForward', n, 1024, [kind, z, a, n], 0)) return;
      ex.actForward(kind, z, a, n);
    },
    actBackward(kind, z, a, g, n) {
      if (n >= SPLIT_ELEMENTS && go('actBackward', n, 1024, [kind, z, a, g, n], 0)) return;
      ex.actBackward(kind, z, a, g, n);
    },
  };
  return pk;
}

/** The reference kernels: straightforward loops, float32 storage, float32 accumulation like the wasm path. */
export function jsKernels(H: Float32Array): Kernels {
  const I32 = new Int32Array(H.buffer, H.byteOffset, H.length);
  function sumSquares(p: number, n: number): number {
    let s = 0;
    for (let i = 0; i < n; i++) { const x = H[p + i]; s += x * x; }
    return s;
  }
  function summarize(p: number, n: number, lo: number, inv: number, bins: number, satAbove: number, out: number): void {
    const o = new Float64Array(H.buffer, H.byteOffset + out * 4, bins + 4);
    o.fill(0);
    // The wasm kernel's summation order: element i into partial sum i & 3 up to n - n % 4, the four combined
    // as (0 + 1) + (2 + 3), then the tail in order.
    const ps = [0, 0, 0, 0], pq = [0, 0, 0, 0], n4 = n & ~3;
    let s = 0, q = 0, c = 0, sat = 0;
    for (let i = 0; i < n; i++) {
      if (i === n4) { s = (ps[0] + ps[1]) + (ps[2] + ps[3]); q = (pq[0] + pq[1]) + (pq[2] + pq[3]); }
      const x = H[p + i];
      if (x - x !== 0) continue;
      if (i < n4) { ps[i & 3] += x; pq[i & 3] += x * x; } else { s += x; q += x * x; }
      c++;
      if (Math.abs(x) > satAbove) sat++;
      if (bins > 0) { const f = (x - lo) * inv; o[4 + (f >= bins ? bins - 1 : f < 0 ? 0 : f | 0)]++; }
    }
    if (n4 === n) { s = (ps[0] + ps[1]) + (ps[2] + ps[3]); q = (pq[0] + pq[1]) + (pq[2] + pq[3]); }
    o[0] = s; o[1] = q; o[2] = c; o[3] = sat;
  }
  const k: Kernels = blockwiseUpdates<Kernels>({
    kind: 'js', H, threads: 1, dispose: () => undefined,
    updateMatrix(kind, w, g, m, v, R, O, _out, h0, h1, h2, h3, h4, h5) {
      // The wasm kernel's blocks: each block's rows in order, then the blocks in order.
      const rb = rowBlock(R, O);
      let sum = 0;
      for (let r0 = 0; r0 < R; r0 += rb) {
        let s = 0;
        for (let r = r0; r < Math.min(R, r0 + rb); r++) {
          const o = r * O;
          s += kind === 0 ? k.sgdUpdate(w + o, g + o, O, h0, h1, h2)
            : kind === 1 ? k.momentumUpdate(w + o, g + o, m + o, O, h0, h1, h2, h3)
              : kind === 2 ? k.adamUpdate(w + o, g + o, m + o, v + o, O, h0, h1, h2, h3, h4, h5)
                : k.rmspropUpdate(w + o, g + o, v + o, O, h0, h1, h2, h3, h4);
        }
        sum += s;
      }
      return sum;
    },
    colSumSquares(g, R, O) {
      // The wasm kernel's order: each group of columns row by row, then the groups in order.
      const gw = colGroup(O);
      let sum = 0;
      for (let c = 0; c < O; c += gw) {
        const n = Math.min(gw, O - c);
        let s = 0;
        for (let r = 0; r < R; r++) s += sumSquares(g + r * O + c, n);
        sum += s;
      }
      return sum;
    },
    im2col(x, rows, Hh, W, C, kh, kw, sh, sw, padT, padL, OH, OW, cols) {
      let o = cols;
      for (let r = 0; r < rows; r++) {
        const xb = x + r * Hh * W * C;
        for (let oh = 0; oh < OH; oh++) for (let ow = 0; ow < OW; ow++) {
          for (let i = 0; i < kh; i++) {
            const ih = oh * sh + i - padT;
            for (let j = 0; j < kw; j++) {
              const iw = ow * sw + j - padL;
              if (ih < 0 || ih >= Hh || iw < 0 || iw >= W) H.fill(0, o, o + C);
              else { const src = xb + (ih * W + iw) * C; for (let c = 0; c < C; c++) H[o + c] = H[src + c]; }
              o += C;
            }
          }
        }
      }
    },
    col2im(dcols, rows, Hh, W, C, kh, kw, sh, sw, padT, padL, OH, OW, dx) {
      H.fill(0, dx, dx + rows * Hh * W * C);
      let o = dcols;
      for (let r = 0; r < rows; r++) {
        const xb = dx + r * Hh * W * C;
        for (let oh = 0; oh < OH; oh++) for (let ow = 0; ow < OW; ow++) {
          for (let i = 0; i < kh; i++) {
            const ih = oh * sh + i - padT;
            for (let j = 0; j < kw; j++) {
              const iw = ow * sw + j - padL;
              if (ih >= 0 && ih < Hh && iw >= 0 && iw < W) { const d = xb + (ih * W + iw) * C; for (let c = 0; c < C; c++) H[d + c] += H[o + c]; }
              o += C;
            }
          }
        }
      }
    },
    colSums(m, rows, n, out) {
      H.fill(0, out, out + n);
      for (let r = 0; r < rows; r++) { const o = m + r * n; for (let j = 0; j < n; j++) H[out + j] += H[o + j]; }
    },
    convWeightGrad(cols, dz, KK, F, P, per, g0, g1, parts, stride, bias, pack) {
      for (let g = g0; g < g1; g++) {
        const k0 = g * per, kn = Math.min(per, P - k0), part = parts + g * stride;
        k.gemm(cols + k0 * KK, 1, KK, dz + k0 * F, F, 1, part, F, KK, kn, F, 1, 0, pack);
        if (bias !== 0) k.colSums(dz + k0 * F, kn, F, part + KK * F);
      }
    },
    sumParts(parts, G, stride, n, out) {
      for (let j = 0; j < n; j++) {
        let s = H[parts + j];
        for (let g = 1; g < G; g++) s = Math.fround(s + H[parts + g * stride + j]);
        H[out + j] = s;
      }
    },
    maxPool(x, rows, Hh, W, C, ph, pw, sh, sw, padT, padL, OH, OW, out, arg, base = 0) {
      let o = 0;
      for (let r = 0; r < rows; r++) {
        const xb = r * Hh * W * C;
        for (let oh = 0; oh < OH; oh++) for (let ow = 0; ow < OW; ow++, o += C) {
          const h0 = oh * sh - padT, w0 = ow * sw - padL;
          const h1 = Math.min(h0 + ph, Hh), w1 = Math.min(w0 + pw, W), hs = Math.max(h0, 0), ws = Math.max(w0, 0);
          const first = xb + (hs * W + ws) * C;
          for (let c = 0; c < C; c++) { H[out + o + c] = H[x + first + c]; I32[arg + o + c] = base + first + c; }
          for (let i = hs; i < h1; i++) for (let j = ws; j < w1; j++) {
            const p = xb + (i * W + j) * C;
            if (p === first) continue;
            for (let c = 0; c < C; c++) {
              const v = H[x + p + c];
              if (v > H[out + o + c] || v !== v) { H[out + o + c] = v; I32[arg + o + c] = base + p + c; }
            }
          }
        }
      }
    },
    biasActForward(kind, z, bias, a, rows, n) {
      k.biasAct(z, bias, rows, n, 0);
      k.actForward(kind, z, a, rows * n);
    },
    convDirect(desc, x, r0, r1, w, bias, act, z, out) {
      const [Hh, W, kh, kw, sh, sw, padT, padL, OH, OW, F] = I32.subarray(desc, desc + 11);
      for (let r = r0; r < r1; r++) {
        const xb = x + r * Hh * W;
        for (let oh = 0; oh < OH; oh++) for (let ow = 0; ow < OW; ow++) {
          const o = ((r * OH + oh) * OW + ow) * F;
          for (let f = 0; f < F; f++) {
            let s = 0;
            for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) {
              const ih = oh * sh + i - padT, iw = ow * sw + j - padL;
              const v = ih >= 0 && ih < Hh && iw >= 0 && iw < W ? H[xb + ih * W + iw] : 0;
              // as this file's gemm adds a product to C (one rounding), so the im2col path's numbers here too
              s = Math.fround(s + v * H[w + (i * kw + j) * F + f]);
            }
            H[z + o + f] = bias !== 0 ? s + H[bias + f] : s;
          }
        }
      }
      const n0 = r0 * OH * OW * F, n = (r1 - r0) * OH * OW * F;
      if (act !== 0) k.actForward(act, z + n0, out + n0, n);
    },
    convDirectGrad(desc, x, dz, rows, per, g0, g1, parts, stride, bias, z, a, act) {
      const [Hh, W, kh, kw, sh, sw, padT, padL, OH, OW, F] = I32.subarray(desc, desc + 11);
      const S = OH * OW, KK = kh * kw;
      for (let g = g0; g < g1; g++) {
        const i0 = g * per, i1 = Math.min(rows, i0 + per), part = parts + g * stride;
        if (i1 <= i0) continue;
        if (act !== 0) k.actBackward(act, z + i0 * S * F, a + i0 * S * F, dz + i0 * S * F, (i1 - i0) * S * F);
        for (let f = 0; f < F; f++) {
          for (let t = 0; t < KK; t++) {
            const i = Math.floor(t / kw), j = t % kw;
            let s = 0;
            for (let r = i0; r < i1; r++) for (let oh = 0; oh < OH; oh++) for (let ow = 0; ow < OW; ow++) {
              const ih = oh * sh + i - padT, iw = ow * sw + j - padL;
              const v = ih >= 0 && ih < Hh && iw >= 0 && iw < W ? H[x + r * Hh * W + ih * W + iw] : 0;
              s = Math.fround(s + Math.fround(v * H[dz + ((r * OH + oh) * OW + ow) * F + f]));
            }
            H[part + t * F + f] = s;
          }
          if (bias === 0) continue;
          let s = 0;
          for (let p = i0 * S; p < i1 * S; p++) s = Math.fround(s + H[dz + p * F + f]);
          H[part + KK * F + f] = s;
        }
      }
    },
    maxPoolBack(g, arg, n, dx, z0, zn) {
      H.fill(0, dx + z0, dx + z0 + zn);
      for (let o = 0; o < n; o++) H[dx + I32[arg + o]] += H[g + o];
    },
    gemm(a, sai, sak, b, sbk, sbn, c, ldc, M, K, N, alpha, beta) {
      for (let i = 0; i < M; i++) {
        const ci = c + i * ldc;
        if (beta === 0) H.fill(0, ci, ci + N);
        else if (beta !== 1) for (let j = 0; j < N; j++) H[ci + j] *= beta;
        for (let k = 0; k < K; k++) {
          const x = alpha * H[a + i * sai + k * sak];
          const bk = b + k * sbk;
          if (sbn === 1) for (let j = 0; j < N; j++) H[ci + j] += x * H[bk + j];
          else for (let j = 0; j < N; j++) H[ci + j] += x * H[bk + j * sbn];
        }
      }
    },
    sumSquares,
    gemmAct(a, sai, sak, b, sbk, sbn, c, M, K, N, pack, bias, act, out) {
      k.gemm(a, sai, sak, b, sbk, sbn, c, N, M, K, N, 1, 0, pack);
      if (bias !== 0) k.biasAct(c, bias, M, N, 0);
      if (act !== 0) k.actForward(act, c, out, M * N);
    },
    gemmGrad(a, sai, sak, b, sbk, sbn, c, M, K, N, pack, out, bias) {
      k.gemm(a, sai, sak, b, sbk, sbn, c, N, M, K, N, 1, 0, pack);
      if (bias !== 0) {
        H.fill(0, bias, bias + N);
        for (let r = 0; r < K; r++) for (let j = 0; j < N; j++) H[bias + j] += H[b + r * sbk + j];
      }
      return k.colSumSquares(c, M, N, out);
    },
    biasAct(z, bias, rows, n, act) {
      for (let r = 0; r < rows; r++) {
        const o = z + r * n;
        if (act === 1) for (let j = 0; j < n; j++) { const v = H[o + j] + H[bias + j]; H[o + j] = v > 0 ? v : 0; }
        else for (let j = 0; j < n; j++) H[o + j] += H[bias + j];
      }
    },
    actForward(kind, z, a, n) { forwardArray(KERNEL_ACT[kind], {}, H.subarray(z, z + n), H.subarray(a, a + n), n); },
    actBackward(kind, z, a, g, n) { backwardArray(KERNEL_ACT[kind], {}, H.subarray(z, z + n), H.subarray(a, a + n), H.subarray(g, g + n), n); },
    summarize,
    countCorrect: (a, y, rows, n) => countCorrect(H.subarray(a), H.subarray(y), rows, n),
    gatherRows(src, I, idx, rows, dst) {
      for (let r = 0; r < rows; r++) { const s = src + I32[idx + r] * I; H.copyWithin(dst + r * I, s, s + I); }
    },
    probeLayer(a, z, g, n, aLo, aInv, zLo, zInv, bins, satAbove, kg, kgN, kw, kwN, out) {
      summarize(g, n, 0, 0, 0, Infinity, out);
      const o = new Float64Array(H.buffer, H.byteOffset + out * 4, 6);
      o[4] = kgN > 0 ? sumSquares(kg, kgN) : 0;
      o[5] = kwN > 0 ? sumSquares(kw, kwN) : 0;
      summarize(a, n, aLo, aInv, bins, Infinity, out + 12);
      if (z >= 0) summarize(z, n, zLo, zInv, bins, satAbove, out + 12 + 2 * (4 + bins));
    },
    sgdUpdate(w, g, n, lr, gs, dl) {
      let usq = 0;
      for (let i = 0; i < n; i++) { const u = -lr * gs * H[g + i] - dl * H[w + i]; H[w + i] += u; usq += u * u; }
      return usq;
    },
    momentumUpdate(w, g, m, n, lr, gs, dl, mu) {
      let usq = 0;
      for (let i = 0; i < n; i++) {
        const wi = H[w + i];
        H[m + i] = mu * H[m + i] - lr * gs * H[g + i];
        const u = H[m + i] - dl * wi; H[w + i] = wi + u; usq += u * u;
      }
      return usq;
    },
    adamUpdate(w, g, m, v, n, alr, gs, dl, b1, b2, eps) {
      let usq = 0;
      for (let i = 0; i < n; i++) {
        const gi = H[g + i] * gs, wi = H[w + i];
        H[m + i] = b1 * H[m + i] + (1 - b1) * gi;
        H[v + i] = b2 * H[v + i] + (1 - b2) * gi * gi;
        const u = -alr * H[m + i] / (Math.sqrt(H[v + i]) + eps) - dl * wi;
        H[w + i] = wi + u; usq += u * u;
      }
      return usq;
    },
    rmspropUpdate(w, g, v, n, lr, gs, dl, rho, eps) {
      let usq = 0;
      for (let i = 0; i < n; i++) {
        const gi = H[g + i] * gs, wi = H[w + i];
        H[v + i] = rho * H[v + i] + (1 - rho) * gi * gi;
        const u = -lr * gi / Math.sqrt(H[v + i] + eps) - dl * wi; // Keras 3: epsilon inside the sqrt
        H[w + i] = wi + u; usq += u * u;
      }
      return usq;
    },
  });
  return k;
}
