/**
 * More than one core for one run: helper threads that share the network's memory (a shared
 * WebAssembly.Memory, dist/gemm-mt.wasm) and take chunks of the big kernels. A GEMM is cut by rows of C,
 * im2col/col2im by images, activations by ranges of elements; the calling thread and the helpers claim
 * chunks from one atomic counter until none is left. Every output value is computed by the same code in the
 * same order whichever thread claims its chunk, so the numbers are bit-identical to one thread, for any
 * thread count, and a helper that is slow to wake (a loaded machine) only means the caller does more chunks.
 *
 * Shared control block (Int32): [0] counter = task << 16 | next chunk (0xffff: closed), [1] chunks done, [2..] helper state
 * (0 starting, 1 ready, 2 could not start: it takes no chunk, 3 failed in a chunk: the task's output is incomplete). Then the task (Float64): op, chunks, chunk size, 14 kernel arguments.
 */
import { Worker } from 'node:worker_threads';

/** Exports a helper can run, by op code. */
export const HELPER_OPS = ['gemm', 'im2col', 'col2im', 'actForward', 'actBackward'] as const;
export type HelperOp = typeof HELPER_OPS[number];

/** Work below this (flops of a GEMM, elements otherwise) is not split: a hand-off costs microseconds. */
export const SPLIT_GEMM_FLOPS = 1 << 21;
export const SPLIT_ELEMENTS = 1 << 16;
/** Chunks per thread: a few, so a thread that starts late still gets a share and none waits long at the end. */
const CHUNKS_PER_THREAD = 4;
const MAX_HELPERS = 64;
/** Threads of one run at most (the caller and its helpers). */
export const MAX_THREADS = MAX_HELPERS;
const TASK_OFFSET = 8 + 4 * MAX_HELPERS;
const HELPER_SPIN = 5000;

/**
 * Arguments of chunk `i` of a task (op, size, args), with `pack` as the GEMM scratch of the thread running it.
 * Self-contained: its source is also the helpers' (Function.prototype.toString).
 */
export function chunkArgs(op: number, size: number, i: number, a: ArrayLike<number>, pack: number): number[] | null {
  const r0 = i * size;
  if (op === 0) { // gemm(a, sai, sak, b, sbk, sbn, c, ldc, M, K, N, alpha, beta, pack): rows of C
    const M = a[8], r1 = Math.min(M, r0 + size);
    if (r1 <= r0) return null;
    return [a[0] + r0 * a[1], a[1], a[2], a[3], a[4], a[5], a[6] + r0 * a[7], a[7], r1 - r0, a[9], a[10], a[11], a[12], pack];
  }
  if (op === 1 || op === 2) { // im2col(x, rows, H, W, C, kh, kw, sh, sw, padT, padL, OH, OW, cols) / col2im(dcols, ..., dx): images
    const rows = a[1], r1 = Math.min(rows, r0 + size);
    if (r1 <= r0) return null;
    const img = a[2] * a[3] * a[4], col = a[11] * a[12] * a[5] * a[6] * a[4];
    const first = op === 1 ? a[0] + r0 * img : a[0] + r0 * col, last = op === 1 ? a[13] + r0 * col : a[13] + r0 * img;
    return [first, r1 - r0, a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10], a[11], a[12], last];
  }
  // actForward(kind, z, a, n) / actBackward(kind, z, a, g, n): element ranges
  const n = op === 3 ? a[3] : a[4], e1 = Math.min(n, r0 + size);
  if (e1 <= r0) return null;
  return op === 3 ? [a[0], a[1] + r0, a[2] + r0, e1 - r0] : [a[0], a[1] + r0, a[2] + r0, a[3] + r0, e1 - r0];
}

const HELPER_SOURCE = `
const { workerData } = require('node:worker_threads');
const { module, memory, ctl: buf, names, spin, index, pack, taskOffset } = workerData;
const chunkArgs = ${chunkArgs.toString()};
const ctl = new Int32Array(buf), task = new Float64Array(buf, taskOffset);
let fns;
try {
  const ex = new WebAssembly.Instance(module, { env: { memory } }).exports;
  fns = names.map(n => ex[n]);
  Atomics.store(ctl, 2 + index, 1);
} catch (e) { Atomics.store(ctl, 2 + index, 2); throw e; }
let c = Atomics.load(ctl, 0);
for (;;) {
  const op = task[0], chunks = task[1], size = task[2], args = task.slice(3, 17);
  if (op < 0) break;
  if ((c & 0xffff) < chunks && op >= 0) {
    if (Atomics.compareExchange(ctl, 0, c, c + 1) === c) {
      const a = chunkArgs(op, size, c & 0xffff, args, pack);
      try { if (a) fns[op](...a); } catch (e) { Atomics.store(ctl, 2 + index, 3); }
      if (Atomics.add(ctl, 1, 1) + 1 === chunks) Atomics.notify(ctl, 1);
    }
    c = Atomics.load(ctl, 0);
    continue;
  }
  let s = 0;
  while (Atomics.load(ctl, 0) === c) if (++s > spin) { Atomics.wait(ctl, 0, c); s = 0; }
  c = Atomics.load(ctl, 0);
}
`;

export class Helpers {
  private readonly ctl: Int32Array;
  private readonly task: Float64Array;
  private readonly workers: Worker[] = [];
  private seq = 0;
  /** Chunks the helpers ran so far (tests check that the helpers did take part). */
  handed = 0;
  private disposed = false;

  constructor(module: WebAssembly.Module, memory: WebAssembly.Memory, readonly count: number, packs: number[],
    private readonly run: (op: number, args: number[]) => void) {
    const buf = new SharedArrayBuffer(TASK_OFFSET + 17 * 8);
    this.ctl = new Int32Array(buf);
    this.task = new Float64Array(buf, TASK_OFFSET);
    this.task[1] = 0;
    try {
      for (let i = 0; i < Math.min(count, MAX_HELPERS); i++) {
        const w = new Worker(HELPER_SOURCE, { eval: true, workerData: { module, memory, ctl: buf, names: HELPER_OPS, spin: HELPER_SPIN, index: i, pack: packs[i], taskOffset: TASK_OFFSET } });
        // A helper that could not start (state 2) claims no work; one that failed in a chunk (3) fails the step.
        w.on('error', () => { if (Atomics.load(this.ctl, 2 + i) === 0) Atomics.store(this.ctl, 2 + i, 2); });
        // Helpers never keep the process alive (the CLI exits when its run ends); dispose() ends them.
        w.unref();
        this.workers.push(w);
      }
    } catch (e) { this.dispose(); throw e; }
  }

  /** Helpers started and not failed. */
  ready(): number {
    if (this.disposed) return 0;
    let n = 0;
    for (let i = 0; i < this.workers.length; i++) if (Atomics.load(this.ctl, 2 + i) === 1) n++;
    return n;
  }

  /** Blocks until every helper has started (or failed), at most `ms` (tests and benchmarks; runs never wait). */
  waitReady(ms = 10000): boolean {
    const end = performance.now() + ms;
    for (let i = 0; i < this.workers.length; i++) {
      while (Atomics.load(this.ctl, 2 + i) === 0 && performance.now() < end) Atomics.wait(this.ctl, 2 + i, 0, 5);
    }
    return this.ready() === this.workers.length;
  }

  /**
   * Runs a task of `chunks` chunks of `size` (rows, images or elements) on this thread and the helpers;
   * returns when all chunks are done. `pack` is this thread's GEMM scratch.
   */
  parallel(op: HelperOp, chunks: number, size: number, args: number[], pack: number): void {
    const code = HELPER_OPS.indexOf(op), ctl = this.ctl, task = this.task;
    task[0] = code; task[1] = chunks; task[2] = size; task.set(args, 3);
    Atomics.store(ctl, 1, 0);
    this.seq = (this.seq + 1) & 0x7fff;
    const start = this.seq << 16;
    Atomics.store(ctl, 0, start);
    Atomics.notify(ctl, 0);
    let mine = 0;
    for (;;) {
      const c = Atomics.load(ctl, 0), i = c & 0xffff;
      if (i >= chunks) break;
      if (Atomics.compareExchange(ctl, 0, c, c + 1) !== c) continue;
      const a = chunkArgs(code, size, i, args, pack);
      if (a) this.run(code, a);
      mine++;
      Atomics.add(ctl, 1, 1);
    }
    let s = 0, d: number;
    while ((d = Atomics.load(ctl, 1)) < chunks) if (++s > 2000) { Atomics.wait(ctl, 1, d, 1); s = 0; }
    // Close the task before the next one's arguments are written: a helper still holding this task's
    // counter value fails its compareExchange instead of claiming a chunk with the next task's arguments.
    Atomics.store(ctl, 0, start | 0xffff);
    this.handed += chunks - mine;
    for (let i = 0; i < this.workers.length; i++) if (Atomics.load(ctl, 2 + i) === 3) throw new Error('a training helper thread failed');
  }

  /** Chunks for `total` units over the ready threads, in multiples of `align`; [chunks, size]. */
  plan(total: number, align: number): [number, number] {
    const threads = this.ready() + 1;
    const size = Math.max(align, Math.ceil(total / (threads * CHUNKS_PER_THREAD) / align) * align);
    return [Math.ceil(total / size), size];
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.task[0] = -1;
    this.seq = (this.seq + 1) & 0x7fff;
    Atomics.store(this.ctl, 0, this.seq << 16);
    Atomics.notify(this.ctl, 0);
    for (const w of this.workers) void w.terminate();
  }
}
