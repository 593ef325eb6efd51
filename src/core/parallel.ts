/**
 * More than one core for one run: helper threads that share the network's memory (a shared
 * WebAssembly.Memory, dist/gemm-mt.wasm) and take chunks of the big kernels. A GEMM is cut by columns of C
 * (8-column panels, so each thread packs only its own part of B) or, when C is narrow or A is a conv's big im2col
 * matrix, by rows; a conv's weight gradient by fixed groups of images (convWeightGrad, summed in group order);
 * im2col/col2im, max pooling and its gradient by images, bias + activation by rows, activations and flat optimizer
 * updates by ranges of elements, a big weight matrix's update by blocks of its rows (rowBlock). Chunk i of a task
 * belongs to thread floor(i * T / chunks): each thread takes its own range first, then what the others have not
 * started (sweep), each chunk claimed once (claim). So the columns of a weight matrix that a thread's forward GEMM
 * chunks read are the ones its weight gradient chunks write and whose squares they sum: their cache lines stay on
 * its core. Every output value is computed by the same code in the same order whichever thread runs its chunk, and
 * a squared norm is summed over fixed blocks (updateBlock, rowBlock) or column groups (colGroup) in order, so the numbers
 * are bit-identical to one thread, for any thread count, and a helper that is slow to wake (a loaded machine)
 * only means the caller does more chunks.
 *
 * Shared control block (Int32): [0] task << 16 (low bits 0xffff: closed), [1] chunks done, [2..] helper state
 * (0 starting, 1 ready, 2 could not start: it takes no chunk, 3 failed in a chunk: the task's output is incomplete,
 * 4 stopped: its thread ended, reported by the keeper), [STOPPED] helpers stopped so far.
 * Then the task (Float64): op, chunks, chunk size, pointers (an update's buffer pointers before n), task id,
 * threads, up to 17 kernel arguments; then one Float64 result per update chunk; then one Int32 claim per chunk.
 */
import { availableParallelism } from 'node:os';
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import { crossEntropyRow } from './losses';

/** Exports a helper can run, by op code. */
export const HELPER_OPS = ['gemm', 'im2col', 'col2im', 'actForward', 'actBackward', 'gemmCols',
  'sgdUpdate', 'momentumUpdate', 'adamUpdate', 'rmspropUpdate', 'updateCols', 'convWeightGrad',
  'maxPool', 'maxPoolBack', 'biasActForward', 'gemmGrad', 'gemmAct', 'crossEntropyRows', 'convDirect', 'convDirectGrad', 'gatherRows'] as const;
export type HelperOp = typeof HELPER_OPS[number];
/**
 * The wasm export each op runs: a GEMM cut by columns is still `gemm`, on a narrower B and C. crossEntropyRows has
 * none: it is JavaScript (below), run over views of the shared memory.
 */
export const HELPER_EXPORTS = HELPER_OPS.map(op => (op === 'gemmCols' ? 'gemm' : op));
export type OpCodes = { readonly [K in HelperOp]: number };
/** Each op's code by name (OP.gemm is 0): its index in HELPER_OPS, built from it so the two cannot drift. */
export const OP: OpCodes = Object.freeze(Object.fromEntries(HELPER_OPS.map((name, code) => [name, code])) as OpCodes);

/** Work below this (flops of a GEMM, elements otherwise) is not split: a hand-off costs microseconds. */
export const SPLIT_GEMM_FLOPS = 1 << 21;
export const SPLIT_ELEMENTS = 1 << 16;
/**
 * The optimizer updates (sgdUpdate, momentumUpdate, adamUpdate, rmspropUpdate, in this order): how many buffer
 * pointers come before n in their arguments (a task carries it).
 */
export const UPDATE_POINTERS = [2, 3, 4, 3];
/**
 * An update's squared norm is summed over blocks of this many elements (more for huge tensors, at most
 * MAX_BLOCKS), in block order, on one thread or many: so the sum does not depend on the thread count.
 */
export const UPDATE_BLOCK = 16384;
export const MAX_BLOCKS = 1024;
export function updateBlock(n: number): number { return Math.max(UPDATE_BLOCK, Math.ceil(n / MAX_BLOCKS)); }
/** The blocks of an update over n elements: [count, size]; block i is chunk i of its task (chunkArgs). */
export function updateBlocks(n: number): [number, number] { const size = updateBlock(n); return [Math.ceil(n / size), size]; }
/** Chunks per thread: a few, so a thread that starts late still gets a share and none waits long at the end. */
const CHUNKS_PER_THREAD = 4;
const MAX_HELPERS = 64;
/** Threads of one run at most (the caller and its helpers). */
export const MAX_THREADS = MAX_HELPERS;

/**
 * The threads a run of the core asks for, from config train.threads, CLI --threads or the setting
 * activationLens.threads (already checked where they are written; the setting is whatever settings.json holds):
 * anything not a number >= 1 (0, -1, "abc", NaN) means all cores, a fraction is rounded down, and more than the
 * machine's cores (or MAX_THREADS) is clamped to them: a thread without a core of its own only makes the other
 * wait for its chunks.
 */
export function runThreads(asked: unknown, cores = availableParallelism()): number {
  const n = typeof asked === 'number' && asked >= 1 ? Math.floor(asked) : cores;
  return Math.max(1, Math.min(n, cores, MAX_THREADS));
}
/** Int32 index of the count of helpers whose thread ended (set by the keeper, read by the caller's wait). */
const STOPPED = 2 + MAX_HELPERS;
const TASK_OFFSET = 8 + 4 * MAX_HELPERS + 8;
/** op, chunks, size, pointers, task id, threads, then up to 17 kernel arguments (updateCols: a matrix update). */
const TASK_FLOATS = 24;
const TASK_ARGS = 6;
/** Float64 results of the update chunks, after the task. */
const RESULT_OFFSET = TASK_OFFSET + TASK_FLOATS * 8;
/** Int32 per chunk after the results: the id of the last task that claimed it (int32, wrapping: see claim). */
const CLAIM_OFFSET = RESULT_OFFSET + 8 * MAX_BLOCKS;
/** Chunks of one task at most. */
export const MAX_CHUNKS = MAX_BLOCKS;

/**
 * Columns of a weight matrix [R x O] whose gradient's squares are summed as one group (Kernels.colSumSquares,
 * gemmGrad: a multiple of 32, two cache lines when the rows are aligned, few enough groups a row that carrying
 * their sums costs little); at most MAX_BLOCKS groups. Depends on O only, not on the thread count.
 */
export function colGroup(O: number): number { return 32 * Math.ceil(O / (32 * MAX_BLOCKS)); }

/**
 * Rows of a weight matrix [R x O] updated as one block (Kernels.updateMatrix: one chunk of a task, its squared norm
 * summed on its own): about UPDATE_BLOCK values, at most MAX_BLOCKS blocks. Whole rows, so each block is one run of
 * memory: a thread that updated a range of columns row by row read 256 bytes of every 2 KB row, which no prefetcher
 * follows (a 512 x 512 sgd update: 70 us on one thread, 180-210 on two by columns). Depends on the shape only.
 */
export function rowBlock(R: number, O: number): number { return Math.max(Math.ceil(UPDATE_BLOCK / O), Math.ceil(R / MAX_BLOCKS)); }
/** The row blocks of a matrix update: [count, rows each], as updateBlocks is for a flat one; block i is chunk i of its task. */
export function rowBlocks(R: number, O: number): [number, number] { const rows = rowBlock(R, O); return [Math.ceil(R / rows), rows]; }

/**
 * [R, O] when a parameter of this shape is a big weight matrix: its gradient's squares summed by column groups (in
 * the GEMM that writes it, gemmGrad, or colSumSquares), its update by row blocks (updateMatrix): a matrix (the last
 * axis is O, the others R) of at least 2 * UPDATE_BLOCK values and 64 columns, the kind whose GEMMs are cut by
 * columns. Else null: by element blocks. The shape decides, never the thread count, so the sums are the same on one
 * thread as on many.
 */
export function colsShape(shape: number[]): [number, number] | null {
  if (shape.length < 2) return null;
  const O = shape[shape.length - 1], n = shape.reduce((x, y) => x * y, 1);
  return n >= 2 * UPDATE_BLOCK && O >= 64 ? [n / O, O] : null;
}

/**
 * The chunks thread t of T runs of a task: first its own range (chunk i belongs to thread floor(i * T / chunks):
 * the same columns of a weight matrix to the same thread in its forward GEMM, weight gradient and gradient norm,
 * so their cache lines stay on one core), then the others' chunks from the end of their ranges: all of a
 * thread that has not started (a helper still asleep), and of one that has, those with another unclaimed chunk
 * before them (it is two chunks behind at least). Taking the last chunk of a thread only a little behind would move
 * that chunk's columns to the other core (Helpers.parallel waits, and takes what is left only when a thread stays
 * behind for long). `tryRun(i)` claims and runs chunk i, true when
 * the task is complete. Self-contained: its source is also the helpers'.
 */
export function sweep(t: number, T: number, chunks: number, claims: Int32Array, id: number, tryRun: (i: number) => boolean): void {
  for (let u = 0; u < T; u++) {
    const o = (t + u) % T, lo = Math.floor(o * chunks / T), hi = Math.floor((o + 1) * chunks / T);
    if (u === 0) { for (let i = lo; i < hi; i++) if (tryRun(i)) return; } else {
      // From the end; from a thread that has started only a chunk with another unclaimed one before it (it is
      // two chunks behind at least), so a thread only a little behind keeps its columns.
      // Ids are int32 and wrap: compared by their difference (serial number arithmetic), as in claim.
      const started = lo < hi && ((Atomics.load(claims, lo) - id) | 0) >= 0;
      for (let i = hi - 1; i >= lo; i--) if ((!started || (i > lo && ((Atomics.load(claims, i - 1) - id) | 0) < 0)) && tryRun(i)) return;
    }
  }
}

/**
 * Claims chunk i for task `id` unless a thread did (self-contained: also the helpers'). Task ids are int32 and
 * wrap after 2^32 tasks (hours of a long run): v is this task's or a later one's when v - id, wrapped, is >= 0.
 * A helper still sweeping a closed task (stale id) finds every chunk of a newer one taken: parallel() sets the
 * claims of a task's chunks to the previous id before opening it.
 */
export function claim(claims: Int32Array, i: number, id: number): boolean {
  for (;;) {
    const v = Atomics.load(claims, i);
    if (((v - id) | 0) >= 0) return false;
    if (Atomics.compareExchange(claims, i, v, id) === v) return true;
  }
}
/**
 * How long a helper polls for the next task before it sleeps (ms). A step's tasks come microseconds apart, with
 * the caller's JavaScript (loss, bias sums, probes) in between; a helper woken from sleep starts tens of
 * microseconds late, and the caller then runs (steals) its chunks, moving their cache lines to its own core.
 */
const HELPER_SPIN_MS = 1;

/**
 * chunkArgs and isUpdate over the op codes they are given (OP). Their source is also the helpers' (HELPER_SOURCE,
 * Function.prototype.toString), so they name no module-level constant: the production build's minifier renames
 * those (the helper would not find OP by that name), while a parameter is renamed with every use of it. Methods,
 * not nested functions: the tests' transform (tsx, keepNames) wraps those in __name(), which the helper lacks.
 */
function opFunctions(OP: OpCodes) {
  const ops = {
    /** Whether `op` is an optimizer update (UPDATE_POINTERS): its chunks' results are summed. */
    isUpdate(op: number): boolean {
      return op === OP.sgdUpdate || op === OP.momentumUpdate || op === OP.adamUpdate || op === OP.rmspropUpdate;
    },
    /**
     * Arguments of chunk `i` of a task (op, size, args, and for an update its count of buffer `pointers`), with
     * `pack` as the GEMM scratch of the thread running it.
     */
    chunkArgs(op: number, size: number, i: number, a: ArrayLike<number>, pack: number, pointers = 0): number[] | null {
      const r0 = i * size;
      if (op === OP.gemm) { // gemm(a, sai, sak, b, sbk, sbn, c, ldc, M, K, N, alpha, beta, pack): rows of C
        const M = a[8], r1 = Math.min(M, r0 + size);
        if (r1 <= r0) return null;
        return [a[0] + r0 * a[1], a[1], a[2], a[3], a[4], a[5], a[6] + r0 * a[7], a[7], r1 - r0, a[9], a[10], a[11], a[12], pack];
      }
      if (op === OP.gemmCols || op === OP.gemmGrad || op === OP.gemmAct) { // a GEMM by columns of C (multiples of the 8-column panel): each thread packs only its own panels of B
        const N = a[10], j1 = Math.min(N, r0 + size);
        if (j1 <= r0) return null;
        const cols = [a[0], a[1], a[2], a[3] + r0 * a[5], a[4], a[5], a[6] + r0, a[7], a[8], a[9], j1 - r0];
        if (op === OP.gemmCols) cols.push(a[11], a[12], pack); // gemm(..., M, K, N, alpha, beta, pack)
        else if (op === OP.gemmGrad) cols.push(pack, r0, a[13], a[14], a[15]); // gemmGrad(..., M, K, N, pack, j0, gw, out, bias)
        else cols.push(pack, a[12] ? a[12] + r0 : 0, a[13], a[14] + r0); // gemmAct(..., M, K, N, pack, bias, act, out): out's columns too
        return cols;
      }
      if (op === OP.updateCols) { // updateCols(kind, w, g, m, v, R, O, j0, j1, gw, out, h0..h5): rows r0..r1 (block i) of the matrix, all columns as one group, the block's sums at out + 8 i
        const R = a[5], O = a[6], r1 = Math.min(R, r0 + size), at = r0 * O;
        if (r1 <= r0) return null;
        const out = [a[0], a[1] + at, a[2] + at, a[3] ? a[3] + at : 0, a[4] ? a[4] + at : 0, r1 - r0, O, 0, O, O, a[10] + 8 * i];
        for (let j = 11; j < 17; j++) out.push(a[j]);
        return out;
      }
      if (op === OP.convWeightGrad) { // convWeightGrad(cols, dz, KK, F, P, per, g0, g1, parts, stride, bias, pack): groups of positions
        const G = a[7], g1 = Math.min(G, r0 + size);
        if (g1 <= r0) return null;
        return [a[0], a[1], a[2], a[3], a[4], a[5], r0, g1, a[8], a[9], a[10], pack];
      }
      if (op === OP.maxPool) { // maxPool(x, rows, H, W, C, ph, pw, sh, sw, padT, padL, OH, OW, out, arg, base): images
        const rows = a[1], r1 = Math.min(rows, r0 + size);
        if (r1 <= r0) return null;
        const img = a[2] * a[3] * a[4], oimg = a[11] * a[12] * a[4], out: number[] = [];
        for (let j = 0; j < 16; j++) out.push(j === 0 ? a[0] + r0 * img : j === 1 ? r1 - r0 : j === 13 || j === 14 ? a[j] + r0 * oimg : j === 15 ? a[15] + r0 * img : a[j]);
        return out;
      }
      if (op === OP.maxPoolBack) { // maxPoolBack(g, arg, n, dx, z0, zn) with the task's rows after them: images
        const rows = a[6], r1 = Math.min(rows, r0 + size);
        if (r1 <= r0) return null;
        const oimg = a[2] / rows, img = a[5] / rows;
        return [a[0] + r0 * oimg, a[1] + r0 * oimg, (r1 - r0) * oimg, a[3], a[4] + r0 * img, (r1 - r0) * img];
      }
      if (op === OP.biasActForward) { // biasActForward(kind, z, bias, a, rows, n): rows
        const rows = a[4], r1 = Math.min(rows, r0 + size);
        if (r1 <= r0) return null;
        return [a[0], a[1] + r0 * a[5], a[2], a[3] + r0 * a[5], r1 - r0, a[5]];
      }
      if (op === OP.gatherRows) { // gatherRows(src, I, idx, rows, dst): rows
        const rows = a[3], r1 = Math.min(rows, r0 + size), I = a[1];
        if (r1 <= r0) return null;
        return [a[0], I, a[2] + r0, r1 - r0, a[4] + r0 * I];
      }
      if (op === OP.crossEntropyRows) { // crossEntropyRows(z, y, grad, rows, n, scale, lse): rows
        const rows = a[3], r1 = Math.min(rows, r0 + size), n = a[4];
        if (r1 <= r0) return null;
        return [a[0] + r0 * n, a[1] + r0 * n, a[2] + r0 * n, r1 - r0, n, a[5], a[6] + 2 * r0];
      }
      if (op === OP.convDirect) { // convDirect(desc, x, r0, r1, w, bias, act, z, out): images from r0
        const r1 = Math.min(a[3], a[2] + r0 + size);
        if (r1 <= a[2] + r0) return null;
        return [a[0], a[1], a[2] + r0, r1, a[4], a[5], a[6], a[7], a[8]];
      }
      if (op === OP.convDirectGrad) { // convDirectGrad(desc, x, dz, rows, per, g0, g1, parts, stride, bias, z, a, act): groups of images
        const G = a[6], g1 = Math.min(G, r0 + size);
        if (g1 <= r0) return null;
        return [a[0], a[1], a[2], a[3], a[4], r0, g1, a[7], a[8], a[9], a[10], a[11], a[12]];
      }
      if (ops.isUpdate(op)) { // an optimizer update: element ranges of every buffer
        const p = pointers, n = a[p], e1 = Math.min(n, r0 + size);
        if (e1 <= r0) return null;
        const out: number[] = [];
        for (let j = 0; j < 11; j++) out.push(j < p ? a[j] + r0 : j === p ? e1 - r0 : a[j]);
        return out;
      }
      if (op === OP.im2col || op === OP.col2im) { // im2col(x, rows, H, W, C, kh, kw, sh, sw, padT, padL, OH, OW, cols) / col2im(dcols, ..., dx): images
        const rows = a[1], r1 = Math.min(rows, r0 + size);
        if (r1 <= r0) return null;
        const img = a[2] * a[3] * a[4], col = a[11] * a[12] * a[5] * a[6] * a[4];
        const first = op === OP.im2col ? a[0] + r0 * img : a[0] + r0 * col, last = op === OP.im2col ? a[13] + r0 * col : a[13] + r0 * img;
        return [first, r1 - r0, a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10], a[11], a[12], last];
      }
      // actForward(kind, z, a, n) / actBackward(kind, z, a, g, n): element ranges
      const n = op === OP.actForward ? a[3] : a[4], e1 = Math.min(n, r0 + size);
      if (e1 <= r0) return null;
      return op === OP.actForward ? [a[0], a[1] + r0, a[2] + r0, e1 - r0] : [a[0], a[1] + r0, a[2] + r0, a[3] + r0, e1 - r0];
    },
  };
  return ops;
}
export const { chunkArgs, isUpdate } = opFunctions(OP);

/**
 * Softmax cross-entropy's gradient, rows of it: for each row, losses.ts crossEntropyRow (`row`, passed in so that
 * this source names no module-level function: the helpers get the same function's source) writes dL/dz into grad, and
 * its log-sum-exp goes as a float64 to float offset `lse` + 2 * row, from which the calling thread sums the loss in
 * row order as computeLoss does. H and F64 view the whole memory; offsets in floats. Self-contained: its source is
 * also the helpers'.
 */
export function crossEntropyRows(row: typeof crossEntropyRow, H: Float32Array, F64: Float64Array, z: number, y: number, grad: number, rows: number, n: number, scale: number, lse: number): void {
  for (let r = 0; r < rows; r++) F64[(lse >> 1) + r] = row(H, z + r * n, H, y + r * n, H, grad + r * n, n, scale);
}

/** The helpers' program (exported for the test that checks what it names: threads-minified.test.ts). */
export const HELPER_SOURCE = `
const { workerData, receiveMessageOnPort } = require('node:worker_threads');
const { ctl: buf, names, spin, index, pack, taskOffset, resultOffset, claimOffset } = workerData;
// The module and the memory come through a port of their own, past the keeper (Helpers' constructor says why).
const sent = receiveMessageOnPort(workerData.port);
workerData.port.close();
const { module, memory } = sent ? sent.message : {};
const { chunkArgs, isUpdate } = (${opFunctions.toString()})(${JSON.stringify(OP)});
const sweep = ${sweep.toString()};
const claim = ${claim.toString()};
const crossEntropyRow = ${crossEntropyRow.toString()};
const crossEntropyRows = ${crossEntropyRows.toString()};
const ctl = new Int32Array(buf), task = new Float64Array(buf, taskOffset, ${TASK_FLOATS}), result = new Float64Array(buf, resultOffset);
const claims = new Int32Array(buf, claimOffset, ${MAX_CHUNKS});
let fns;
try {
  const ex = new WebAssembly.Instance(module, { env: { memory } }).exports;
  const H = new Float32Array(memory.buffer), F64 = new Float64Array(memory.buffer);
  fns = names.map(n => n === 'crossEntropyRows' ? (...a) => crossEntropyRows(crossEntropyRow, H, F64, ...a) : ex[n]);
  // Test only (testHooks): the thread ends inside its first chunk, as one killed there would.
  if (workerData.exitInChunk) fns = fns.map(() => () => process.exit(1));
  Atomics.store(ctl, 2 + index, 1);
} catch (e) { Atomics.store(ctl, 2 + index, 2); throw e; }
let c = Atomics.load(ctl, 0);
for (;;) {
  const op = task[0], chunks = task[1], size = task[2], pointers = task[3], id = task[4], T = task[5], args = task.slice(${TASK_ARGS}, ${TASK_FLOATS});
  if (op < 0) break;
  // The task is open (low bits 0) and was still the same after its arguments were read: they are its own.
  if ((c & 0xffff) === 0 && Atomics.load(ctl, 0) === c) {
    sweep(index + 1, T, chunks, claims, id, i => {
      if (!claim(claims, i, id)) return false;
      // Everything after the claim in the try: a chunk that throws is still counted done, else the caller would wait
      // for it forever (a chunkArgs that fails only here, e.g. naming what the minifier renamed, hung the run).
      try { const a = chunkArgs(op, size, i, args, pack, pointers), r = a ? fns[op](...a) : 0; if (isUpdate(op)) result[i] = r; } catch (e) { Atomics.store(ctl, 2 + index, 3); }
      const done = Atomics.add(ctl, 1, 1) + 1;
      if (done === chunks) Atomics.notify(ctl, 1);
      return done === chunks;
    });
  }
  let s = 0;
  let since = -1;
  while (Atomics.load(ctl, 0) === c) {
    if (++s < 256) continue;
    s = 0;
    const now = performance.now();
    if (since < 0) since = now; else if (now - since > spin) { Atomics.wait(ctl, 0, c); since = -1; }
  }
  c = Atomics.load(ctl, 0);
}
`;

/** Test only, never set from a config or a message: the next Helpers' threads end inside their first chunk. */
export const testHooks: { helperExitsInChunk?: boolean } = {};

/**
 * The keeper: the parent thread of a calling thread's helpers. A helper's 'exit' event reaches its parent's event
 * loop only, and the calling thread's is blocked for the whole run (the training loop is synchronous), so a helper
 * that ended (killed, out of memory) while holding a chunk left the caller waiting for it forever. The keeper does
 * nothing but start helpers and watch them: when one ends it marks it stopped (state 4, STOPPED + 1) and wakes
 * the caller, whose wait then fails the task. One per calling thread, started once and kept (a run does not wait
 * for one more thread to start); unref'd, so it keeps no process alive. Its 'error' listeners keep a helper's
 * error from ending the keeper.
 */
const KEEPER_SOURCE = `
const { Worker, parentPort, workerData } = require('node:worker_threads');
const groups = new Map();
parentPort.on('message', m => {
  if (m.stop !== undefined) { for (const w of groups.get(m.stop) || []) void w.terminate(); groups.delete(m.stop); return; }
  const ctl = new Int32Array(m.data.ctl), ws = [];
  groups.set(m.id, ws);
  for (let i = 0; i < m.count; i++) {
    let w;
    try { w = new Worker(workerData.source, { eval: true, workerData: Object.assign({}, m.data, { index: i, pack: m.packs[i], port: m.ports[i] }), transferList: [m.ports[i]] }); }
    catch (e) { Atomics.store(ctl, 2 + i, 2); continue; }
    w.on('error', () => {});
    w.on('exit', () => {
      // Ended before it was ready: could not start (2), it takes no chunk. Else it stopped, maybe mid-chunk.
      if (Atomics.compareExchange(ctl, 2 + i, 0, 2) === 0 || Atomics.load(ctl, 2 + i) === 2) return;
      Atomics.store(ctl, 2 + i, 4);
      Atomics.add(ctl, ${STOPPED}, 1);
      Atomics.notify(ctl, 1);
    });
    ws.push(w);
  }
});
`;
let keeper: Worker | null = null;
let keeperGroups = 0;
/** The keeper of this thread's helpers, started on first use (warmUp starts it before a run asks). */
export function startKeeper(): Worker {
  if (!keeper) {
    const k = keeper = new Worker(KEEPER_SOURCE, { eval: true, workerData: { source: HELPER_SOURCE } });
    k.unref();
    k.on('error', () => { /* its exit below */ });
    k.on('exit', () => { if (keeper === k) keeper = null; });
  }
  return keeper;
}

/** What a run that lost a helper thread says (no stack: the user sees this message). */
export const HELPER_STOPPED = 'a training helper thread stopped, so the run could not finish its step (train.threads: 1 trains without helpers)';

export class Helpers {
  private readonly ctl: Int32Array;
  private readonly task: Float64Array;
  private readonly result: Float64Array;
  private readonly claims: Int32Array;
  /** Helper threads asked of the keeper (started or not). */
  private readonly size: number;
  private readonly keeper: Worker;
  private readonly group = ++keeperGroups;
  private seq = 0;
  private taskId = 0;
  /** Chunks the helpers ran so far (tests check that the helpers did take part). */
  handed = 0;
  /** Chunks of all tasks so far, whoever ran them (the bench reports the helpers' share). */
  chunks = 0;
  private disposed = false;
  /** The task open() opened and join() has not finished. */
  private pending: { code: number; chunks: number; size: number; args: number[]; pack: number; pointers: number; id: number; start: number; threads: number } | null = null;

  constructor(module: WebAssembly.Module, memory: WebAssembly.Memory, readonly count: number, packs: number[],
    private readonly run: (op: number, args: number[]) => number | void) {
    const buf = new SharedArrayBuffer(CLAIM_OFFSET + 4 * MAX_CHUNKS);
    this.ctl = new Int32Array(buf);
    this.task = new Float64Array(buf, TASK_OFFSET, TASK_FLOATS);
    this.result = new Float64Array(buf, RESULT_OFFSET, MAX_BLOCKS);
    this.claims = new Int32Array(buf, CLAIM_OFFSET, MAX_CHUNKS);
    this.task[1] = 0;
    // No task yet: closed, so a helper that starts now waits for the first one.
    this.ctl[0] = 0xffff;
    this.size = Math.min(count, MAX_HELPERS);
    // A helper that could not start (state 2) claims no work; one that failed in a chunk (3) or stopped (4) fails the step.
    this.keeper = startKeeper();
    // The module and the memory go to each helper on a port the keeper only passes on: a keeper that held them (it
    // runs no code, so it seldom collects) kept every finished run's memory alive for seconds (review rev-core14:
    // RSS +256 MB per run of a 256 MB heap, three runs in a row).
    const ports: MessagePort[] = [];
    for (let i = 0; i < this.size; i++) {
      const { port1, port2 } = new MessageChannel();
      port1.postMessage({ module, memory });
      port1.unref();
      ports.push(port2);
    }
    this.keeper.postMessage({ id: this.group, count: this.size, packs, ports, data: { ctl: buf, names: HELPER_EXPORTS, spin: HELPER_SPIN_MS,
      taskOffset: TASK_OFFSET, resultOffset: RESULT_OFFSET, claimOffset: CLAIM_OFFSET, exitInChunk: testHooks.helperExitsInChunk === true } }, ports);
  }

  /** Helpers started and not failed. */
  ready(): number {
    // After a helper stopped, none: the failed run's last kernels (if any) stay on the calling thread.
    if (this.disposed || Atomics.load(this.ctl, STOPPED) !== 0) return 0;
    let n = 0;
    for (let i = 0; i < this.size; i++) if (Atomics.load(this.ctl, 2 + i) === 1) n++;
    return n;
  }

  /** Blocks until every helper has started (or failed), at most `ms` (tests and benchmarks; runs never wait). */
  waitReady(ms = 10000): boolean {
    const end = performance.now() + ms;
    for (let i = 0; i < this.size; i++) {
      while (Atomics.load(this.ctl, 2 + i) === 0 && performance.now() < end) Atomics.wait(this.ctl, 2 + i, 0, 5);
    }
    return this.ready() === this.size;
  }

  /**
   * Runs a task of `chunks` chunks of `size` (rows, images, elements or columns) on this thread and the helpers;
   * returns when all chunks are done. Each thread takes its own range of chunks first (sweep), then whatever
   * the others have not started. `pack` is this thread's GEMM scratch. For an update (`pointers`: its
   * UPDATE_POINTERS), the sum of its chunks' results in chunk order.
   */
  parallel(op: HelperOp, chunks: number, size: number, args: number[], pack: number, pointers = 0): number {
    this.open(op, chunks, size, args, pack, pointers);
    return this.join();
  }

  /**
   * Opens a task for the helpers and returns at once: the calling thread may do other work (that touches none of
   * the task's memory) until join(), which runs what the helpers have not started and waits for the rest. A
   * helper takes the caller's chunks too while the caller has not started them (sweep), so a short task is done
   * by the helpers alone. One task at a time: opening another joins this one first.
   */
  open(op: HelperOp, chunks: number, size: number, args: number[], pack: number, pointers = 0): void {
    if (this.pending) this.join();
    if (chunks > MAX_CHUNKS) throw new Error(`a task of ${chunks} chunks (at most ${MAX_CHUNKS})`);
    const code = OP[op], ctl = this.ctl, task = this.task, claims = this.claims;
    const id = this.taskId = (this.taskId + 1) | 0, threads = this.size + 1;
    // The task's chunks as taken by the previous task: free for this one, never for a stale helper's older id.
    for (let i = 0; i < chunks; i++) Atomics.store(claims, i, (id - 1) | 0);
    task[0] = code; task[1] = chunks; task[2] = size; task[3] = pointers; task[4] = id; task[5] = threads;
    task.set(args, TASK_ARGS);
    Atomics.store(ctl, 1, 0);
    this.seq = (this.seq + 1) & 0x7fff;
    const start = this.seq << 16;
    Atomics.store(ctl, 0, start);
    Atomics.notify(ctl, 0);
    this.pending = { code, chunks, size, args, pack, pointers, id, start, threads };
  }

  /** Whether a task opened with open() is not joined yet. */
  get busy(): boolean { return this.pending !== null; }

  /** Finishes the open task (open()): runs the chunks nobody started, waits for the rest; for an update, its sum. */
  join(): number {
    const p = this.pending;
    if (!p) return 0;
    this.pending = null;
    const { code, chunks, size, args, pack, pointers, id, start, threads } = p, ctl = this.ctl, claims = this.claims;
    let mine = 0;
    const t0 = performance.now();
    const tryRun = (i: number): boolean => {
      if (!claim(claims, i, id)) return false;
      const a = chunkArgs(code, size, i, args, pack, pointers);
      const r = a ? this.run(code, a) : 0;
      if (isUpdate(code)) this.result[i] = r as number;
      mine++;
      return Atomics.add(ctl, 1, 1) + 1 === chunks;
    };
    try {
      sweep(0, threads, chunks, claims, id, tryRun);
      // A helper that stays behind for long (preempted on a loaded machine): take what it has not started.
      const mineDone = performance.now(), patience = Math.max(0.2, 0.5 * (mineDone - t0));
      let s = 0, d: number, late = false;
      while ((d = Atomics.load(ctl, 1)) < chunks) {
        if (++s < 256) continue;
        s = 0;
        // A helper that ended may hold a chunk that no thread will finish (the catch below closes the task).
        if (Atomics.load(ctl, STOPPED) !== 0) throw new Error(HELPER_STOPPED);
        if (!late && performance.now() - mineDone > patience) {
          late = true;
          for (let i = chunks - 1; i >= 0; i--) if (tryRun(i)) break;
        } else if (late) Atomics.wait(ctl, 1, d, 1);
      }
    } catch (e) {
      // This thread's chunk failed: claim what nobody started, count it and the failed chunk as done, and let the
      // helpers finish the chunks they hold, so none of them is still writing when the caller goes on. Unless a
      // helper stopped (HELPER_STOPPED): its chunk is never done; the run ends, the rest finish their own unread.
      let cancelled = 0;
      for (let i = 0; i < chunks; i++) if (claim(claims, i, id)) cancelled++;
      Atomics.add(ctl, 1, cancelled + 1);
      let d: number;
      while ((d = Atomics.load(ctl, 1)) < chunks && Atomics.load(ctl, STOPPED) === 0) Atomics.wait(ctl, 1, d, 1);
      Atomics.store(ctl, 0, start | 0xffff);
      throw e;
    }
    // Close the task before the next one's arguments are written: a helper that reads arguments while they are
    // being written sees the counter changed and does not use them.
    Atomics.store(ctl, 0, start | 0xffff);
    this.handed += chunks - mine;
    this.chunks += chunks;
    for (let i = 0; i < this.size; i++) if (Atomics.load(ctl, 2 + i) === 3) throw new Error('a training helper thread failed');
    // One that ended during this task, after its chunks: the task is whole, but the run stops all the same. One that
    // ended between tasks is seen by ready() first, and the run goes on without helpers (the same numbers: a split
    // is bit-identical to one thread).
    if (Atomics.load(ctl, STOPPED) !== 0) throw new Error(HELPER_STOPPED);
    let sum = 0;
    if (isUpdate(code)) for (let i = 0; i < chunks; i++) sum += this.result[i];
    return sum;
  }

  /**
   * How a GEMM C[M x N] += A[M x K] B[K x N] is split over the ready threads, or null when it stays on one.
   * By columns when there are enough 8-column panels: every thread packs its own part of B once. By rows,
   * each chunk packs all of B again (8 chunks: 8 times), which costs as much as the multiply for small M.
   * A short C (a conv's weight gradient: M = kh * kw * C rows over K = batch * OH * OW) is cut by columns
   * even when narrow: by rows, each of its few chunks would pack all of the huge B again. `byRows` (a conv's
   * forward and input gradient: A is the big im2col matrix, B the small kernel) cuts by rows whatever N is: by
   * columns every chunk would read all of A again, by rows each packs only the small B again. Column chunks are
   * multiples of `align` (a multiple of the 8-column panel).
   */
  gemmPlan(M: number, K: number, N: number, byRows = false, align = 8): { op: 'gemm' | 'gemmCols'; chunks: number; size: number } | null {
    if (2 * M * K * N < SPLIT_GEMM_FLOPS) return null;
    const cols = !byRows && (N >= 64 || (N >= 16 && M < 64)) ? this.split(N, align) : null;
    if (cols) return { op: 'gemmCols', chunks: cols[0], size: cols[1] };
    const rows = M >= 8 ? this.split(M, 4) : null;
    return rows && { op: 'gemm', chunks: rows[0], size: rows[1] };
  }

  /** plan(total, align) when it is worth a task: a helper is ready and there are two chunks at least; else null. */
  split(total: number, align: number): [number, number] | null {
    if (this.ready() === 0) return null;
    const p = this.plan(total, align);
    return p[0] >= 2 ? p : null;
  }

  /** Chunks for `total` units over the ready threads, in multiples of `align`; [chunks, size]. */
  plan(total: number, align: number): [number, number] {
    const threads = this.ready() + 1;
    const size = Math.max(align, Math.ceil(total / (threads * CHUNKS_PER_THREAD) / align) * align);
    return [Math.ceil(total / size), size];
  }

  dispose(): void {
    if (this.disposed) return;
    // No helper may still write the memory when the run goes on without them (a failure was the step's to report).
    if (this.pending) try { this.join(); } catch { /* reported by the step that opened it */ }
    this.disposed = true;
    this.task[0] = -1;
    this.seq = (this.seq + 1) & 0x7fff;
    Atomics.store(this.ctl, 0, this.seq << 16);
    Atomics.notify(this.ctl, 0);
    this.keeper.postMessage({ stop: this.group });
  }
}
