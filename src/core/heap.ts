/**
 * One float32 memory per network, allocated once when the network is built.
 *
 * Buffers are planned first (`alloc` records an offset and a length), then `commit()` sizes the memory
 * (a WebAssembly.Memory when the wasm kernels are used, so the GEMM reads and writes the tensors in place
 * with no copies; a plain ArrayBuffer for the JS kernels) and hands every buffer its Float32Array view.
 * Planning without committing is how memory.ts measures a config before anything is allocated.
 */
import { loadKernels, type Kernels } from './kernels';
import { MAX_BLOCKS } from './parallel';

/** A tensor's storage: `v` is a view of exactly `n` floats at float offset `off` of the heap. */
export interface Buf { off: number; n: number; v: Float32Array }

/**
 * The most a wasm heap may take: WebAssembly's 32-bit memory holds 65536 pages of 64 KiB, and the kernels ask
 * for one page more than the floats need (kernels.ts). The memory limit (memory.ts) has no maximum and also
 * guards the torch engine, whose weights are drawn on a JavaScript heap, so the wasm heap checks this itself.
 */
export const MAX_HEAP_BYTES = 65535 * 65536 - 64 * 4;

/** Bytes as whole megabytes, rounded up, for refusal messages (a limit is never shown below what it holds). */
export const mb = (bytes: number) => `${Math.ceil(bytes / (1024 * 1024))} MB`;

/**
 * The refusal of a wasm heap of `bytes`, or null when it fits: Heap.commit's, and memory.ts coreHeapRefusal's, which
 * plans the same heap before the data is loaded (`atLeast`: a lower bound, the data's size not known yet).
 */
export function heapTooLarge(bytes: number, atLeast = false): string | null {
  if (bytes <= MAX_HEAP_BYTES) return null;
  return `the network's tensors take ${atLeast ? 'at least ' : ''}${mb(bytes)}, over the ${mb(MAX_HEAP_BYTES)} the core engine can address (WebAssembly's 32-bit memory): reduce train.batch / probe.samples or the layers' sizes, or train with the torch engine`;
}

/** Floats at the bottom of the memory kept for the wasm module's static data. */
const RESERVED = 16384;
const EMPTY = new Float32Array(0);
/** GEMM scratch: a packed 384 x 128 block of B plus a 32-float tile (assembly/gemm.ts KC, NC). */
export const PACK_FLOATS = 384 * 128 + 64;

export class Heap {
  private top = RESERVED;
  private bufs: Buf[] = [];
  H: Float32Array = EMPTY;
  committed = false;
  kernels!: Kernels;
  /** GEMM scratch (packed panels); helperPacks: one more per helper thread. */
  pack!: Buf;
  readonly helperPacks: Buf[] = [];
  /** Scratch of Kernels.updateMatrix and colSumSquares: four float64 per row block or column group. */
  readonly sums: Buf;
  /** With threads: the same for the update handed to the helpers while the calling thread updates others (Optimizer.step). */
  readonly openSums: Buf | null;

  /** threads > 1: the kernels split big GEMMs, im2col and activations over that many threads (parallel.ts). */
  constructor(readonly kind: 'wasm' | 'js' | 'plan' = 'wasm', readonly threads = 1) {
    this.pack = this.alloc(PACK_FLOATS);
    for (let t = 1; t < threads; t++) this.helperPacks.push(this.alloc(PACK_FLOATS));
    this.sums = this.alloc(8 * MAX_BLOCKS);
    this.openSums = threads > 1 ? this.alloc(8 * MAX_BLOCKS) : null;
  }

  alloc(n: number): Buf {
    // 64-byte (cache line) alignment: SIMD loads stay aligned, and where two threads take a matrix's columns in
    // 8-column multiples, no cache line of a row holds columns of both (it would move between the cores).
    // Arithmetic, not `& ~15`: a bitwise op wraps at 2^32, and a 1e12-float layer then planned small enough to
    // pass the memory check (memory.ts), to be allocated and filled element by element.
    const b: Buf = { off: this.top, n, v: EMPTY };
    this.top += Math.ceil(n / 16) * 16;
    this.bufs.push(b);
    return b;
  }

  /** Bytes the committed memory will take. */
  get bytes(): number { return this.top * 4; }

  commit(): void {
    if (this.kind === 'plan') throw new Error('a planning heap cannot be committed');
    const over = this.kind === 'wasm' ? heapTooLarge(this.bytes) : null;
    if (over) throw new Error(over);
    this.kernels = loadKernels(this.kind, this.top, this.threads, this.helperPacks.map(b => b.off));
    this.H = this.kernels.H;
    for (const b of this.bufs) b.v = this.H.subarray(b.off, b.off + b.n);
    this.committed = true;
  }
}
