/**
 * Matrix multiply and friends over one float32 memory, in two interchangeable implementations:
 * - 'wasm': assembly/gemm.ts compiled with SIMD to gemm.wasm (loaded synchronously);
 * - 'js': the plain TypeScript reference (tests compare the two; fallback when no .wasm is found).
 * Offsets and strides are in floats.
 */
import fs from 'node:fs';
import path from 'node:path';

export interface Kernels {
  kind: 'wasm' | 'js';
  /** The whole memory as floats. */
  H: Float32Array;
  /**
   * C[M x N] = alpha * A^ B^ + beta * C, A^(i,k) = H[a + i*sai + k*sak], B^(k,n) = H[b + k*sbk + n*sbn],
   * C row-major with leading dimension ldc. `pack` is scratch of 256*8+32 floats.
   */
  gemm(a: number, sai: number, sak: number, b: number, sbk: number, sbn: number, c: number, ldc: number,
    M: number, K: number, N: number, alpha: number, beta: number, pack: number): void;
  /** sum of squares of H[p .. p+n) (float64 accumulation). */
  sumSquares(p: number, n: number): number;
  /** Add bias to each row; relu when act === 1. */
  biasAct(z: number, bias: number, rows: number, n: number, act: number): void;
}

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

/** Kernels over a fresh memory of at least `floats` floats. Falls back to JS when gemm.wasm is missing. */
export function loadKernels(kind: 'wasm' | 'js', floats: number): Kernels {
  if (kind === 'wasm') {
    const mod = wasmModuleOrNull();
    if (mod) return wasmKernels(mod, floats);
    if (process.env.ACTIVATION_LENS_REQUIRE_WASM) {
      throw new Error(`gemm.wasm not found (looked in ${wasmPathTried.join(', ')}); run \`npm run build\` first`);
    }
  }
  return jsKernels(new Float32Array(floats + 64));
}

function wasmKernels(mod: WebAssembly.Module, floats: number): Kernels {
  const inst = new WebAssembly.Instance(mod, {});
  const ex = inst.exports as unknown as {
    memory: WebAssembly.Memory;
    gemm: Kernels['gemm']; sumSquares(p: number, n: number): number; biasAct: Kernels['biasAct'];
  };
  const needPages = Math.ceil((floats + 64) * 4 / 65536);
  const have = ex.memory.buffer.byteLength / 65536;
  if (needPages > have) ex.memory.grow(needPages - have);
  return { kind: 'wasm', H: new Float32Array(ex.memory.buffer), gemm: ex.gemm, sumSquares: ex.sumSquares, biasAct: ex.biasAct };
}

/** The reference kernels: straightforward loops, float32 storage, float32 accumulation like the wasm path. */
export function jsKernels(H: Float32Array): Kernels {
  return {
    kind: 'js', H,
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
    sumSquares(p, n) {
      let s = 0;
      for (let i = 0; i < n; i++) { const x = H[p + i]; s += x * x; }
      return s;
    },
    biasAct(z, bias, rows, n, act) {
      for (let r = 0; r < rows; r++) {
        const o = z + r * n;
        if (act === 1) for (let j = 0; j < n; j++) { const v = H[o + j] + H[bias + j]; H[o + j] = v > 0 ? v : 0; }
        else for (let j = 0; j < n; j++) H[o + j] += H[bias + j];
      }
    },
  };
}
