// Float32 matrix multiply for the training core, WebAssembly SIMD (f32x4), compiled by scripts/build.mjs.
// All pointers and strides are in floats (byte address = p << 2), so the TypeScript side passes the same
// offsets it uses to index its Float32Array views of this module's memory.
//
//   gemm: C[M x N] = alpha * A^ B^ + beta * C   (beta is 0 or 1 in practice)
//     A^(i, k) = A[a + i*sai + k*sak]  -> A·B and A·B^T use sai=K, sak=1; A^T·B uses sai=1, sak=M
//     B^(k, n) = B[b + k*sbk + n*sbn]  -> B row-major: sbk=N, sbn=1; B^T: sbk=1, sbn=K
//     C row-major with leading dimension ldc.
//   K is cut into blocks of KC and N into blocks of NC; each KC x NC block of B is packed contiguously in
//   8-column panels (zero-padded past N) into `pack` (KC*NC + 32 floats of scratch owned by the caller) and
//   multiplied with 4 rows of A at a time in a 4x8 register tile (8 f32x4 accumulators).

const KC: i32 = 384;
/** k per round of `peak`; the bench reads it through `peakK` to count the flops. */
const PEAK_K: i32 = 256;
export function peakK(): i32 { return PEAK_K; }
const NC: i32 = 128;

// @ts-ignore: decorator
@inline function fma4(acc: v128, x: v128, y: v128): v128 {
  return f32x4.add(acc, f32x4.mul(x, y));
}

// @ts-ignore: decorator
@inline function addr(p: i32): usize { return (<usize>p) << 2; }

function scaleC(c: i32, ldc: i32, M: i32, N: i32, beta: f32): void {
  for (let i = 0; i < M; i++) {
    const row = addr(c + i * ldc);
    if (beta == 0) memory.fill(row, 0, (<usize>N) << 2);
    else for (let j = 0; j < N; j++) store<f32>(row + addr(j), load<f32>(row + addr(j)) * beta);
  }
}

function packPanel(b: i32, sbk: i32, sbn: i32, k0: i32, kc: i32, j: i32, nc: i32, pack: i32): void {
  let dst = addr(pack);
  if (sbn == 1 && nc == 8) {
    let src = addr(b + k0 * sbk + j);
    const step = addr(sbk);
    for (let k = 0; k < kc; k++) {
      v128.store(dst, v128.load(src)); v128.store(dst, v128.load(src, 16), 16);
      src += step; dst += 32;
    }
    return;
  }
  if (sbk == 1 && nc == 8) {
    // B^T: 8 rows contiguous along k; 4 k at a time, two 4x4 transposes.
    const row = addr(sbn);
    const p0 = addr(b + k0 + j * sbn);
    const kc4 = kc & ~3;
    for (let k = 0; k < kc4; k += 4) {
      const q = p0 + addr(k);
      const r0 = v128.load(q), r1 = v128.load(q + row), r2 = v128.load(q + 2 * row), r3 = v128.load(q + 3 * row);
      const r4 = v128.load(q + 4 * row), r5 = v128.load(q + 5 * row), r6 = v128.load(q + 6 * row), r7 = v128.load(q + 7 * row);
      const t0 = v128.shuffle<f32>(r0, r1, 0, 4, 1, 5), t1 = v128.shuffle<f32>(r2, r3, 0, 4, 1, 5);
      const t2 = v128.shuffle<f32>(r0, r1, 2, 6, 3, 7), t3 = v128.shuffle<f32>(r2, r3, 2, 6, 3, 7);
      const u0 = v128.shuffle<f32>(r4, r5, 0, 4, 1, 5), u1 = v128.shuffle<f32>(r6, r7, 0, 4, 1, 5);
      const u2 = v128.shuffle<f32>(r4, r5, 2, 6, 3, 7), u3 = v128.shuffle<f32>(r6, r7, 2, 6, 3, 7);
      v128.store(dst, v128.shuffle<f32>(t0, t1, 0, 1, 4, 5)); v128.store(dst, v128.shuffle<f32>(u0, u1, 0, 1, 4, 5), 16);
      v128.store(dst, v128.shuffle<f32>(t0, t1, 2, 3, 6, 7), 32); v128.store(dst, v128.shuffle<f32>(u0, u1, 2, 3, 6, 7), 48);
      v128.store(dst, v128.shuffle<f32>(t2, t3, 0, 1, 4, 5), 64); v128.store(dst, v128.shuffle<f32>(u2, u3, 0, 1, 4, 5), 80);
      v128.store(dst, v128.shuffle<f32>(t2, t3, 2, 3, 6, 7), 96); v128.store(dst, v128.shuffle<f32>(u2, u3, 2, 3, 6, 7), 112);
      dst += 128;
    }
    for (let k = kc4; k < kc; k++) {
      const q = p0 + addr(k);
      for (let jj = 0; jj < 8; jj++) store<f32>(dst + addr(jj), load<f32>(q + (<usize>jj) * row));
      dst += 32;
    }
    return;
  }
  for (let k = 0; k < kc; k++) {
    const base = b + (k0 + k) * sbk + j * sbn;
    for (let jj = 0; jj < 8; jj++) store<f32>(dst + addr(jj), jj < nc ? load<f32>(addr(base + jj * sbn)) : 0);
    dst += 32;
  }
}

// C row r, columns j..j+nc: C += alpha * (lo, hi), or C = alpha * (lo, hi) when `set` (first K block, beta 0)
// @ts-ignore: decorator
@inline function storeRow(pc: usize, lo: v128, hi: v128, va: v128, nc: i32, tmp: usize, set: bool): void {
  if (nc == 8) {
    if (set) { v128.store(pc, f32x4.mul(va, lo)); v128.store(pc, f32x4.mul(va, hi), 16); return; }
    v128.store(pc, fma4(v128.load(pc), va, lo));
    v128.store(pc, fma4(v128.load(pc, 16), va, hi), 16);
  } else {
    v128.store(tmp, f32x4.mul(va, lo)); v128.store(tmp, f32x4.mul(va, hi), 16);
    if (set) for (let jj = 0; jj < nc; jj++) store<f32>(pc + addr(jj), load<f32>(tmp + addr(jj)));
    else for (let jj = 0; jj < nc; jj++) store<f32>(pc + addr(jj), load<f32>(pc + addr(jj)) + load<f32>(tmp + addr(jj)));
  }
}

export function gemm(a: i32, sai: i32, sak: i32, b: i32, sbk: i32, sbn: i32, c: i32, ldc: i32,
  M: i32, K: i32, N: i32, alpha: f32, beta: f32, pack: i32): void {
  if (K <= 0 || (beta != 1 && beta != 0)) scaleC(c, ldc, M, N, beta);
  if (K <= 0) return;
  const va = f32x4.splat(alpha);
  const tmp = addr(pack + KC * NC);
  const saiB = addr(sai), sai2B = saiB << 1, sai3B = saiB * 3, sakB = addr(sak), ldcB = addr(ldc);
  const M4 = M & ~3;
  // Goto's order: a KC x NC block of B is packed once (8-column panels), then every 4-row strip of A (4 KB,
  // stays in L1) meets all of the block's panels (in L2).
  // K blocks of equal size (a multiple of 4), so no block is a short remainder.
  const kb = (K + KC - 1) / KC;
  const kstep = min(KC, (((K + kb - 1) / kb) + 3) & ~3);
  for (let k0 = 0; k0 < K; k0 += kstep) {
    const kc = min(kstep, K - k0);
    const set = k0 == 0 && beta == 0;
    for (let jc = 0; jc < N; jc += NC) {
      const ncb = min(NC, N - jc);
      for (let j = 0; j < ncb; j += 8) packPanel(b, sbk, sbn, k0, kc, jc + j, min(8, ncb - j), pack + j * kc);
      let i = 0;
      for (; i < M4; i += 4) {
        const pa0 = addr(a + i * sai + k0 * sak);
        for (let j = 0; j < ncb; j += 8) {
          const nc = min(8, ncb - j);
          let c00 = f32x4.splat(0), c01 = f32x4.splat(0), c10 = f32x4.splat(0), c11 = f32x4.splat(0);
          let c20 = f32x4.splat(0), c21 = f32x4.splat(0), c30 = f32x4.splat(0), c31 = f32x4.splat(0);
          let pa = pa0;
          let pb = addr(pack + j * kc);
          for (let k = 0; k < kc; k++) {
            const b0 = v128.load(pb), b1 = v128.load(pb, 16);
            // load32_splat is a load (vbroadcastss from memory); splat(load) costs a shuffle on the FP pipes.
            let x = v128.load32_splat(pa);
            c00 = fma4(c00, x, b0); c01 = fma4(c01, x, b1);
            x = v128.load32_splat(pa + saiB);
            c10 = fma4(c10, x, b0); c11 = fma4(c11, x, b1);
            x = v128.load32_splat(pa + sai2B);
            c20 = fma4(c20, x, b0); c21 = fma4(c21, x, b1);
            x = v128.load32_splat(pa + sai3B);
            c30 = fma4(c30, x, b0); c31 = fma4(c31, x, b1);
            pa += sakB; pb += 32;
          }
          let pc = addr(c + i * ldc + jc + j);
          storeRow(pc, c00, c01, va, nc, tmp, set); pc += ldcB;
          storeRow(pc, c10, c11, va, nc, tmp, set); pc += ldcB;
          storeRow(pc, c20, c21, va, nc, tmp, set); pc += ldcB;
          storeRow(pc, c30, c31, va, nc, tmp, set);
        }
      }
      for (; i < M; i++) {
        for (let j = 0; j < ncb; j += 8) {
          const nc = min(8, ncb - j);
          let c00 = f32x4.splat(0), c01 = f32x4.splat(0);
          let pa = addr(a + i * sai + k0 * sak);
          let pb = addr(pack + j * kc);
          for (let k = 0; k < kc; k++) {
            const x = v128.load32_splat(pa);
            c00 = fma4(c00, x, v128.load(pb)); c01 = fma4(c01, x, v128.load(pb, 16));
            pa += sakB; pb += 32;
          }
          storeRow(addr(c + i * ldc + jc + j), c00, c01, va, nc, tmp, set);
        }
      }
    }
  }
}

// @ts-ignore: decorator
@inline function hsum(v: v128): f32 {
  return f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1) + f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3);
}

/** Sum of squares of p[0..n) in float64 (global gradient norm; NaN/Inf propagate). */
export function sumSquares(p: i32, n: i32): f64 { return sumSq(p, n); }

// @ts-ignore: decorator
@inline function sumSq(p: i32, n: i32): f64 {
  let acc0 = f64x2.splat(0), acc1 = f64x2.splat(0);
  let q = addr(p);
  const n4 = n & ~3;
  for (let i = 0; i < n4; i += 4) {
    const v = v128.load(q);
    const lo = f64x2.promote_low_f32x4(v);
    const hi = f64x2.promote_low_f32x4(v128.shuffle<f32>(v, v, 2, 3, 0, 1));
    acc0 = f64x2.add(acc0, f64x2.mul(lo, lo));
    acc1 = f64x2.add(acc1, f64x2.mul(hi, hi));
    q += 16;
  }
  let s = f64x2.extract_lane(acc0, 0) + f64x2.extract_lane(acc0, 1) + f64x2.extract_lane(acc1, 0) + f64x2.extract_lane(acc1, 1);
  for (let i = n4; i < n; i++) { const x = <f64>load<f32>(addr(p + i)); s += x * x; }
  return s;
}

/** z[r, :] += bias for each of `rows` rows of width n; then relu when act == 1. */
export function biasAct(z: i32, bias: i32, rows: i32, n: i32, act: i32): void {
  const n4 = n & ~3;
  const zero = f32x4.splat(0);
  for (let r = 0; r < rows; r++) {
    const row = addr(z + r * n);
    for (let j = 0; j < n4; j += 4) {
      let v = f32x4.add(v128.load(row + addr(j)), v128.load(addr(bias + j)));
      if (act == 1) v = f32x4.max(v, zero);
      v128.store(row + addr(j), v);
    }
    for (let j = n4; j < n; j++) {
      let v = load<f32>(row + addr(j)) + load<f32>(addr(bias + j));
      if (act == 1 && !(v > 0)) v = 0;
      store<f32>(row + addr(j), v);
    }
  }
}

// ---- optimizer updates (Keras rules, see src/core/optimizers.ts); each returns the squared norm of the update.
// g is scaled by gs (clipping); dl = lr * weight_decay (decoupled, 0 for biases).

export function sgdUpdate(w: i32, g: i32, n: i32, lr: f32, gs: f32, dl: f32): f64 {
  let usq: f64 = 0;
  const k = -lr * gs;
  for (let i = 0; i < n; i++) {
    const pw = addr(w + i);
    const wi = load<f32>(pw);
    const u = k * load<f32>(addr(g + i)) - dl * wi;
    store<f32>(pw, wi + u);
    usq += <f64>u * <f64>u;
  }
  return usq;
}

export function momentumUpdate(w: i32, g: i32, m: i32, n: i32, lr: f32, gs: f32, dl: f32, mu: f32): f64 {
  let usq: f64 = 0;
  const k = -lr * gs;
  for (let i = 0; i < n; i++) {
    const pw = addr(w + i), pm = addr(m + i);
    const wi = load<f32>(pw);
    const mi = mu * load<f32>(pm) + k * load<f32>(addr(g + i));
    store<f32>(pm, mi);
    const u = mi - dl * wi;
    store<f32>(pw, wi + u);
    usq += <f64>u * <f64>u;
  }
  return usq;
}

// adam and rmsprop compute in float64 (as the JS reference does): their sign-like steps amplify rounding
// in near-zero gradients otherwise.
export function adamUpdate(w: i32, g: i32, m: i32, v: i32, n: i32, alr: f64, gs: f64, dl: f64, b1: f64, b2: f64, eps: f64): f64 {
  let usq: f64 = 0;
  for (let i = 0; i < n; i++) {
    const pw = addr(w + i), pm = addr(m + i), pv = addr(v + i);
    const gi = <f64>load<f32>(addr(g + i)) * gs;
    const wi = <f64>load<f32>(pw);
    const mi = <f64>(<f32>(b1 * <f64>load<f32>(pm) + (1 - b1) * gi));
    const vi = <f64>(<f32>(b2 * <f64>load<f32>(pv) + (1 - b2) * gi * gi));
    store<f32>(pm, <f32>mi); store<f32>(pv, <f32>vi);
    const u = -alr * mi / (Math.sqrt(vi) + eps) - dl * wi;
    store<f32>(pw, <f32>(wi + u));
    usq += u * u;
  }
  return usq;
}

export function rmspropUpdate(w: i32, g: i32, v: i32, n: i32, lr: f64, gs: f64, dl: f64, rho: f64, eps: f64): f64 {
  let usq: f64 = 0;
  for (let i = 0; i < n; i++) {
    const pw = addr(w + i), pv = addr(v + i);
    const gi = <f64>load<f32>(addr(g + i)) * gs;
    const wi = <f64>load<f32>(pw);
    const vi = <f64>(<f32>(rho * <f64>load<f32>(pv) + (1 - rho) * gi * gi));
    store<f32>(pv, <f32>vi);
    const u = -lr * gi / Math.sqrt(vi + eps) - dl * wi; // Keras 3: epsilon inside the sqrt
    store<f32>(pw, <f32>(wi + u));
    usq += u * u;
  }
  return usq;
}

/**
 * A weight matrix [R x O] (row stride O) updated, or its gradient's squares summed, by column groups: columns
 * j0..j1 (multiples of gw, except j1 = O), each group of gw columns taken row by row. kind 0 sgd, 1 momentum,
 * 2 adam, 3 rmsprop (h0.. their arguments after n, as the flat kernels take them), 4 the gradient g's sum of
 * squares. Each group's sum is carried in two f64x2 at out + 4 * group (float64 index) and ends as one float64
 * there: groups do not depend on the thread count, so neither does any sum of them, and a thread that owns
 * columns updates them and sums their squares right where its GEMM chunks wrote them.
 */
export function updateCols(kind: i32, w: i32, g: i32, m: i32, v: i32, R: i32, O: i32, j0: i32, j1: i32, gw: i32, out: i32,
  h0: f64, h1: f64, h2: f64, h3: f64, h4: f64, h5: f64): void {
  const o0 = addr(out) + ((<usize>(j0 / gw)) << 5);
  const zero = f64x2.splat(0);
  for (let c = j0, q = o0; c < j1; c += gw, q += 32) { v128.store(q, zero); v128.store(q, zero, 16); }
  // One copy of the loops per kind (the constant folds), so no kind test runs per element.
  if (kind == 0) colsLoop(0, w, g, m, v, R, O, j0, j1, gw, o0, h0, h1, h2, h3, h4, h5);
  else if (kind == 1) colsLoop(1, w, g, m, v, R, O, j0, j1, gw, o0, h0, h1, h2, h3, h4, h5);
  else if (kind == 2) colsLoop(2, w, g, m, v, R, O, j0, j1, gw, o0, h0, h1, h2, h3, h4, h5);
  else if (kind == 3) colsLoop(3, w, g, m, v, R, O, j0, j1, gw, o0, h0, h1, h2, h3, h4, h5);
  else colsLoop(4, w, g, m, v, R, O, j0, j1, gw, o0, h0, h1, h2, h3, h4, h5);
  for (let c = j0, q = o0; c < j1; c += gw, q += 32) {
    store<f64>(q, (load<f64>(q) + load<f64>(q, 8)) + (load<f64>(q, 16) + load<f64>(q, 24)));
  }
}

// Row by row through the columns (contiguous, as a flat update), each group's partial sums in memory at q.
// @ts-ignore: decorator
@inline function colsLoop(kind: i32, w: i32, g: i32, m: i32, v: i32, R: i32, O: i32, j0: i32, j1: i32, gw: i32, o0: usize,
  h0: f64, h1: f64, h2: f64, h3: f64, h4: f64, h5: f64): void {
  const k = <f32>(-<f32>h0 * <f32>h1), vk = f32x4.splat(k), vdl = f32x4.splat(<f32>h2), vmu = f32x4.splat(<f32>h3);
  const zero = f64x2.splat(0);
  for (let r = 0; r < R; r++) {
    let q = o0;
    for (let c = j0; c < j1; c += gw, q += 32) {
      const n = min(gw, j1 - c), o = r * O + c, n4 = n & ~3;
      let a0 = v128.load(q), a1 = v128.load(q, 16);
      let s: f64 = 0;
      if (kind == 0 || kind == 1 || kind == 4) {
        const pw = addr(w + o), pg = addr(g + o), pm = addr(m + o);
        for (let i = 0; i < n4; i += 4) {
          const b = addr(i);
          let u: v128;
          if (kind == 4) u = v128.load(pg + b);
          else {
            const wv = v128.load(pw + b), gv = f32x4.mul(vk, v128.load(pg + b));
            if (kind == 0) u = f32x4.sub(gv, f32x4.mul(vdl, wv));
            else {
              const mi = f32x4.add(f32x4.mul(vmu, v128.load(pm + b)), gv);
              v128.store(pm + b, mi);
              u = f32x4.sub(mi, f32x4.mul(vdl, wv));
            }
            v128.store(pw + b, f32x4.add(wv, u));
          }
          const lo = f64x2.promote_low_f32x4(u), hi = f64x2.promote_low_f32x4(v128.shuffle<f32>(u, u, 2, 3, 0, 1));
          a0 = f64x2.add(a0, f64x2.mul(lo, lo));
          a1 = f64x2.add(a1, f64x2.mul(hi, hi));
        }
        if (n4 < n) {
          if (kind == 0) s = sgdUpdate(w + o + n4, g + o + n4, n - n4, <f32>h0, <f32>h1, <f32>h2);
          else if (kind == 1) s = momentumUpdate(w + o + n4, g + o + n4, m + o + n4, n - n4, <f32>h0, <f32>h1, <f32>h2, <f32>h3);
          else s = sumSq(g + o + n4, n - n4);
          a0 = f64x2.add(a0, f64x2.replace_lane(zero, 0, s));
        }
      } else {
        if (kind == 2) s = adamUpdate(w + o, g + o, m + o, v + o, n, h0, h1, h2, h3, h4, h5);
        else s = rmspropUpdate(w + o, g + o, v + o, n, h0, h1, h2, h3, h4);
        a0 = f64x2.add(a0, f64x2.replace_lane(zero, 0, s));
      }
      v128.store(q, a0); v128.store(q, a1, 16);
    }
  }
}

/**
 * A weight gradient C[M x N] = A^ B^ (gemm, alpha 1, beta 0; C with leading dimension ldc: columns j0..j0+N of
 * the matrix at c - j0), then what the step needs of those columns while they are in this core's cache: their
 * squares by column groups of gw (updateCols kind 4 over the [M x ldc] matrix, group sums at `out`), and when
 * `bias` is not 0, the bias gradient bias[j] = sum over k of B^(k, j) (B row-major: sbn 1), summed in k order
 * as colSums does. A task of column chunks (multiples of gw) gives every thread its own columns.
 */
export function gemmGrad(a: i32, sai: i32, sak: i32, b: i32, sbk: i32, sbn: i32, c: i32, ldc: i32,
  M: i32, K: i32, N: i32, pack: i32, j0: i32, gw: i32, out: i32, bias: i32): void {
  gemm(a, sai, sak, b, sbk, sbn, c, ldc, M, K, N, 1, 0, pack);
  updateCols(4, 0, c - j0, 0, 0, M, ldc, j0, j0 + N, gw, out, 0, 0, 0, 0, 0, 0);
  if (bias != 0) {
    const po = addr(bias + j0);
    memory.fill(po, 0, addr(N));
    for (let k = 0; k < K; k++) addF(po, addr(b + k * sbk), N);
  }
}

/**
 * A dense layer's forward GEMM C[M x N] = A^ B^ (alpha 1, beta 0), then on those columns while they are in this
 * core's cache: C += bias (per column; none when bias is 0) as biasAct does, and out = f(C) for act kind 1-3 as
 * actForward does (none for 0). c, out and bias point at the chunk's first column; rows of c and out are ldc apart.
 */
export function gemmAct(a: i32, sai: i32, sak: i32, b: i32, sbk: i32, sbn: i32, c: i32, ldc: i32,
  M: i32, K: i32, N: i32, pack: i32, bias: i32, act: i32, out: i32): void {
  gemm(a, sai, sak, b, sbk, sbn, c, ldc, M, K, N, 1, 0, pack);
  if (N == ldc) {
    // Whole rows (one thread): one pass each, as tiny rows (W2: 8 units) would pay a call per row.
    if (bias != 0) biasAct(c, bias, M, N, 0);
    if (act != 0) actForward(act, c, out, M * N);
    return;
  }
  for (let r = 0; r < M; r++) {
    if (bias != 0) biasAct(c + r * ldc, bias, 1, N, 0);
    if (act != 0) actForward(act, c + r * ldc, out + r * ldc, N);
  }
}

// ---- elementwise activations on the hot path (kind: 1 relu, 2 sigmoid, 3 tanh); float32 SIMD, stable for any x.

// @ts-ignore: decorator
@inline function sp(x: f32): v128 { return f32x4.splat(x); }

/** exp(x) for x <= 0 (Cephes expf: range reduction by ln 2, degree-6 polynomial, exponent bits); ~1 ulp. */
// @ts-ignore: decorator
@inline function expNeg4(x0: v128): v128 {
  const x = f32x4.max(x0, sp(-87.3));
  const n = f32x4.nearest(f32x4.mul(x, sp(1.44269504088896341)));
  const r = f32x4.sub(f32x4.sub(x, f32x4.mul(n, sp(0.693359375))), f32x4.mul(n, sp(-2.12194440e-4)));
  let p = f32x4.add(f32x4.mul(sp(1.9875691500e-4), r), sp(1.3981999507e-3));
  p = f32x4.add(f32x4.mul(p, r), sp(8.3334519073e-3));
  p = f32x4.add(f32x4.mul(p, r), sp(4.1665795894e-2));
  p = f32x4.add(f32x4.mul(p, r), sp(1.6666665459e-1));
  p = f32x4.add(f32x4.mul(p, r), sp(5.0000001201e-1));
  const y = f32x4.add(f32x4.add(f32x4.mul(f32x4.mul(p, r), r), r), sp(1));
  const scale = i32x4.shl(i32x4.add(i32x4.trunc_sat_f32x4_s(n), i32x4.splat(127)), 23);
  return f32x4.mul(y, scale);
}

/** 1/(1+e^-x) from e = exp(-|x|): never overflows, keeps relative precision of tiny outputs. */
// @ts-ignore: decorator
@inline function sigmoid4(x: v128): v128 {
  const e = expNeg4(f32x4.neg(f32x4.abs(x)));
  const s = f32x4.div(sp(1), f32x4.add(sp(1), e));
  return v128.bitselect(s, f32x4.mul(e, s), f32x4.ge(x, sp(0)));
}

/** Cephes tanhf: odd polynomial for |x| < 0.625, else 1 - 2/(e^{2|x|} + 1) with the sign of x; ~2 ulp. */
// @ts-ignore: decorator
@inline function tanh4(x: v128): v128 {
  const ax = f32x4.abs(x);
  const z = f32x4.mul(x, x);
  let p = f32x4.add(f32x4.mul(sp(-5.70498872745e-3), z), sp(2.06390887954e-2));
  p = f32x4.add(f32x4.mul(p, z), sp(-5.37397155531e-2));
  p = f32x4.add(f32x4.mul(p, z), sp(1.33314422036e-1));
  p = f32x4.add(f32x4.mul(p, z), sp(-3.33332819422e-1));
  const small = f32x4.add(f32x4.mul(f32x4.mul(p, z), x), x);
  const e = expNeg4(f32x4.mul(ax, sp(-2)));
  const t = f32x4.div(f32x4.sub(sp(1), e), f32x4.add(sp(1), e));
  const large = v128.bitselect(f32x4.neg(t), t, f32x4.lt(x, sp(0)));
  return v128.bitselect(small, large, f32x4.lt(ax, sp(0.625)));
}

export function actForward(kind: i32, z: i32, a: i32, n: i32): void {
  const pz = addr(z), pa = addr(a);
  const n4 = n & ~3;
  if (kind == 1) {
    const zero = f32x4.splat(0);
    for (let i = 0; i < n4; i += 4) v128.store(pa + addr(i), f32x4.max(v128.load(pz + addr(i)), zero));
    // The tail as the lanes do it (NaN stays NaN), so a value's result does not depend on where a call ends.
    for (let i = n4; i < n; i++) store<f32>(pa + addr(i), f32x4.extract_lane(f32x4.max(f32x4.splat(load<f32>(pz + addr(i))), zero), 0));
    return;
  }
  if (kind == 2) {
    for (let i = 0; i < n4; i += 4) v128.store(pa + addr(i), sigmoid4(v128.load(pz + addr(i))));
    for (let i = n4; i < n; i++) store<f32>(pa + addr(i), f32x4.extract_lane(sigmoid4(f32x4.splat(load<f32>(pz + addr(i)))), 0));
  } else if (kind == 3) {
    for (let i = 0; i < n4; i += 4) v128.store(pa + addr(i), tanh4(v128.load(pz + addr(i))));
    for (let i = n4; i < n; i++) store<f32>(pa + addr(i), f32x4.extract_lane(tanh4(f32x4.splat(load<f32>(pz + addr(i)))), 0));
  }
}

/** z[r, :] += bias, then a = f(z) (kind 1 relu, 2 sigmoid, 3 tanh) for `rows` rows of width n: one pass. */
export function biasActForward(kind: i32, z: i32, bias: i32, a: i32, rows: i32, n: i32): void {
  // One loop per kind (the constant folds): a select between the kinds would compute all three.
  if (kind == 1) biasActRows(1, z, bias, a, rows, n);
  else if (kind == 2) biasActRows(2, z, bias, a, rows, n);
  else biasActRows(3, z, bias, a, rows, n);
}

// @ts-ignore: decorator
@inline function act4(kind: i32, v: v128): v128 {
  if (kind == 1) return f32x4.max(v, f32x4.splat(0));
  if (kind == 2) return sigmoid4(v);
  return tanh4(v);
}

// @ts-ignore: decorator
@inline function biasActRows(kind: i32, z: i32, bias: i32, a: i32, rows: i32, n: i32): void {
  const n4 = n & ~3, pb = addr(bias);
  for (let r = 0; r < rows; r++) {
    const pz = addr(z + r * n), pa = addr(a + r * n);
    for (let j = 0; j < n4; j += 4) {
      const v = f32x4.add(v128.load(pz + addr(j)), v128.load(pb + addr(j)));
      v128.store(pz + addr(j), v);
      v128.store(pa + addr(j), act4(kind, v));
    }
    for (let j = n4; j < n; j++) {
      const v = load<f32>(pz + addr(j)) + load<f32>(pb + addr(j));
      store<f32>(pz + addr(j), v);
      store<f32>(pa + addr(j), kind == 1 ? (v > 0 ? v : 0) : f32x4.extract_lane(act4(kind, f32x4.splat(v)), 0));
    }
  }
}

/** g *= f'(z), from z (relu) or from a = f(z) (sigmoid: a(1-a), tanh: 1-a^2). */
export function actBackward(kind: i32, z: i32, a: i32, g: i32, n: i32): void {
  const pz = addr(z), pa = addr(a), pg = addr(g);
  const n4 = n & ~3;
  const one = f32x4.splat(1), zero = f32x4.splat(0);
  for (let i = 0; i < n4; i += 4) {
    const o = addr(i);
    const gv = v128.load(pg + o);
    let r: v128;
    if (kind == 1) r = v128.and(gv, f32x4.gt(v128.load(pz + o), zero));
    else if (kind == 2) { const s = v128.load(pa + o); r = f32x4.mul(gv, f32x4.mul(s, f32x4.sub(one, s))); }
    else { const t = v128.load(pa + o); r = f32x4.mul(gv, f32x4.sub(one, f32x4.mul(t, t))); }
    v128.store(pg + o, r);
  }
  // The tail in the lanes' order (g * (s(1-s)), not (g s)(1-s)), so a value's result does not depend on where a call
  // ends: convDirectGrad calls this per group of images, whose ends are not the whole array's.
  for (let i = n4; i < n; i++) {
    const o = addr(i);
    if (kind == 1) { if (!(load<f32>(pz + o) > 0)) store<f32>(pg + o, 0); }
    else if (kind == 2) { const s = load<f32>(pa + o); store<f32>(pg + o, load<f32>(pg + o) * (s * (1 - s))); }
    else { const t = load<f32>(pa + o); store<f32>(pg + o, load<f32>(pg + o) * (1 - t * t)); }
  }
}

// ---- probe statistics: one pass over p[0..n) ------------------------------------------------------------
// Writes float64s at out (a float offset, 8-byte aligned): [sum, sum of squares, finite count,
// count of |x| > satAbove, then `bins` histogram counts over [lo, lo + bins/inv)]. NaN/Inf are skipped.
// Needs 32 * bins more bytes of scratch after those (kernels.ts SUMMARY_FLOATS).
// Four values at a time: element i goes to lane i & 3, each lane with its own float64 sum and sum of squares
// (combined as (l0 + l1) + (l2 + l3), then the n % 4 tail in order; the JS reference sums in that order) and
// its own int32 histograms, one for even and one for odd quads (merged at the end: integer counts, the same
// numbers as one histogram; a run of values in one bin, a relu's zeros or a narrow layer's middle bins, would
// otherwise wait on the previous store to the same count). A
// non-finite value is zeroed before the sums and adds 0 to its bin.
export function summarize(p: i32, n: i32, lo: f64, inv: f64, bins: i32, satAbove: f64, out: i32): void {
  summ(p, n, lo, inv, bins, satAbove, out);
}

/**
 * All of one layer's probe statistics in one call (a probe runs ~50 times a run, too rarely for V8 to optimize
 * the JavaScript around it: one call instead of five keeps that glue small). Writes float64s at out:
 * [0..4) the gradient g's summary (no histogram), [4] the sum of squares of the kernel's gradient kg[0..kgN),
 * [5] of its weights kw[0..kwN), [6..10+bins) the activations a's summary and histogram, then the
 * pre-activations z's (only when z >= 0; the saturation count is z's). Each part is computed by the same code
 * as summarize and sumSquares, so the numbers are theirs exactly. Scratch of 32 * bins bytes follows.
 */
export function probeLayer(a: i32, z: i32, g: i32, n: i32, aLo: f64, aInv: f64, zLo: f64, zInv: f64, bins: i32, satAbove: f64,
  kg: i32, kgN: i32, kw: i32, kwN: i32, out: i32): void {
  summ(g, n, 0, 0, 0, Infinity, out);
  store<f64>(addr(out + 8), kgN > 0 ? sumSq(kg, kgN) : 0);
  store<f64>(addr(out + 10), kwN > 0 ? sumSq(kw, kwN) : 0);
  summ(a, n, aLo, aInv, bins, Infinity, out + 12);
  if (z >= 0) summ(z, n, zLo, zInv, bins, satAbove, out + 12 + 2 * (4 + bins));
}

// Not inlined: probeLayer's three calls share one copy of the loop, which a probe runs cold (a probe comes after
// ~100 training steps that never run it), so three copies would cost three times the instruction cache misses.
function summ(p: i32, n: i32, lo: f64, inv: f64, bins: i32, satAbove: f64, out: i32): void {
  const o = addr(out);
  const sub = o + (<usize>(bins + 4) << 3);
  memory.fill(sub, 0, <usize>(8 * bins) << 2);
  const n4 = n & ~3;
  const zero = f32x4.splat(0), one = i32x4.splat(1);
  const lov = f64x2.splat(lo), invv = f64x2.splat(inv), satv = f64x2.splat(satAbove);
  const laneBase = i32x4(0, bins, 2 * bins, 3 * bins), top = i32x4.splat(bins - 1), izero = i32x4.splat(0);
  let s0 = f64x2.splat(0), s1 = s0, q0 = s0, q1 = s0, cnt = i32x4.splat(0), sat0 = i64x2.splat(0), sat1 = sat0;
  const pp = addr(p);
  for (let i = 0; i < n4; i += 4) {
    const v = v128.load(pp + addr(i));
    const m = f32x4.eq(f32x4.sub(v, v), zero);
    const vz = v128.and(v, m);
    const l = f64x2.promote_low_f32x4(vz);
    const h = f64x2.promote_low_f32x4(i32x4.shuffle(vz, vz, 2, 3, 0, 1));
    s0 = f64x2.add(s0, l); s1 = f64x2.add(s1, h);
    q0 = f64x2.add(q0, f64x2.mul(l, l)); q1 = f64x2.add(q1, f64x2.mul(h, h));
    cnt = i32x4.sub(cnt, m);
    sat0 = i64x2.sub(sat0, f64x2.gt(f64x2.abs(l), satv)); sat1 = i64x2.sub(sat1, f64x2.gt(f64x2.abs(h), satv));
    if (bins > 0) {
      const bl = i32x4.trunc_sat_f64x2_s_zero(f64x2.mul(f64x2.sub(l, lov), invv));
      const bh = i32x4.trunc_sat_f64x2_s_zero(f64x2.mul(f64x2.sub(h, lov), invv));
      const b = i32x4.min_s(i32x4.max_s(i32x4.shuffle(bl, bh, 0, 1, 4, 5), izero), top);
      const off = i32x4.shl(i32x4.add(b, laneBase), 2);
      // Odd quads count into a second set of four histograms: two chains of stores to a bin instead of one.
      const set = sub + (<usize>((i & 4) * bins) << 2);
      if (i32x4.all_true(m)) {
        let pb = set + <usize>i32x4.extract_lane(off, 0); store<i32>(pb, load<i32>(pb) + 1);
        pb = set + <usize>i32x4.extract_lane(off, 1); store<i32>(pb, load<i32>(pb) + 1);
        pb = set + <usize>i32x4.extract_lane(off, 2); store<i32>(pb, load<i32>(pb) + 1);
        pb = set + <usize>i32x4.extract_lane(off, 3); store<i32>(pb, load<i32>(pb) + 1);
      } else {
        const inc = v128.and(m, one);
        let pb = set + <usize>i32x4.extract_lane(off, 0); store<i32>(pb, load<i32>(pb) + i32x4.extract_lane(inc, 0));
        pb = set + <usize>i32x4.extract_lane(off, 1); store<i32>(pb, load<i32>(pb) + i32x4.extract_lane(inc, 1));
        pb = set + <usize>i32x4.extract_lane(off, 2); store<i32>(pb, load<i32>(pb) + i32x4.extract_lane(inc, 2));
        pb = set + <usize>i32x4.extract_lane(off, 3); store<i32>(pb, load<i32>(pb) + i32x4.extract_lane(inc, 3));
      }
    }
  }
  // Non-finite lanes were zeroed: |0| > satAbove only when satAbove < 0, and then they must not count.
  let s = (f64x2.extract_lane(s0, 0) + f64x2.extract_lane(s0, 1)) + (f64x2.extract_lane(s1, 0) + f64x2.extract_lane(s1, 1));
  let q = (f64x2.extract_lane(q0, 0) + f64x2.extract_lane(q0, 1)) + (f64x2.extract_lane(q1, 0) + f64x2.extract_lane(q1, 1));
  let c = i32x4.extract_lane(cnt, 0) + i32x4.extract_lane(cnt, 1) + i32x4.extract_lane(cnt, 2) + i32x4.extract_lane(cnt, 3);
  let sat = <i32>(i64x2.extract_lane(sat0, 0) + i64x2.extract_lane(sat0, 1) + i64x2.extract_lane(sat1, 0) + i64x2.extract_lane(sat1, 1));
  if (satAbove < 0) sat -= n4 - c;
  const topF = <f64>bins;
  for (let i = n4; i < n; i++) {
    const x = <f64>load<f32>(addr(p + i));
    if (x - x != 0) continue;
    s += x; q += x * x; c++;
    if (Math.abs(x) > satAbove) sat++;
    if (bins > 0) {
      const f = (x - lo) * inv;
      const b = f >= topF ? bins - 1 : f < 0 ? 0 : <i32>f;
      const pb = sub + (<usize>((i & 3) * bins + b) << 2);
      store<i32>(pb, load<i32>(pb) + 1);
    }
  }
  for (let b = 0; b < bins; b++) {
    let t = 0;
    for (let h = 0; h < 8; h++) t += load<i32>(sub + (<usize>(h * bins + b) << 2));
    store<f64>(o + 32 + (<usize>b << 3), <f64>t);
  }
  store<f64>(o, s); store<f64>(o + 8, q); store<f64>(o + 16, <f64>c); store<f64>(o + 24, <f64>sat);
}

/**
 * Correct predictions among `rows` rows of width n (outputs a, dense targets y): for n == 1, a > 0.5 agrees
 * with y > 0.5; else the first argmax of a is the first argmax of y (src/core/losses.ts countCorrect, which runs
 * too rarely, at probes, for V8 to optimize its loop).
 */
export function countCorrect(a: i32, y: i32, rows: i32, n: i32): i32 {
  let correct = 0;
  for (let r = 0; r < rows; r++) {
    const pa = addr(a + r * n), py = addr(y + r * n);
    if (n == 1) { if ((load<f32>(pa) > 0.5) == (load<f32>(py) > 0.5)) correct++; continue; }
    let ba: f32 = load<f32>(pa), by: f32 = load<f32>(py), bi = 0, bj = 0;
    for (let j = 1; j < n; j++) {
      const va = load<f32>(pa + addr(j)), vy = load<f32>(py + addr(j));
      if (va > ba) { ba = va; bi = j; }
      if (vy > by) { by = vy; bj = j; }
    }
    if (bi == bj) correct++;
  }
  return correct;
}

// ---- convolution and pooling data movement (NHWC, channels last) -------------------------------------------
// A conv's geometry: input [rows, H, W, C], kernel kh x kw, stride sh x sw, leading padding padT/padL, output
// OH x OW. An im2col row (one output position) is kh runs of kw*C floats; each run is contiguous in the input
// when its kw columns are all inside the image, so the copies move whole runs with f32x4.

// @ts-ignore: decorator
@inline function copyF(dst: usize, src: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) v128.store(dst + addr(i), v128.load(src + addr(i)));
  for (; i < n; i++) store<f32>(dst + addr(i), load<f32>(src + addr(i)));
}

// @ts-ignore: decorator
@inline function addF(dst: usize, src: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) v128.store(dst + addr(i), f32x4.add(v128.load(dst + addr(i)), v128.load(src + addr(i))));
  for (; i < n; i++) store<f32>(dst + addr(i), load<f32>(dst + addr(i)) + load<f32>(src + addr(i)));
}

/** cols[rows*OH*OW, kh*kw*C] from x[rows, H, W, C]; zeros where the window leaves the image. */
export function im2col(x: i32, rows: i32, H: i32, W: i32, C: i32, kh: i32, kw: i32, sh: i32, sw: i32,
  padT: i32, padL: i32, OH: i32, OW: i32, cols: i32): void {
  let o = addr(cols);
  const run = kw * C, runB = addr(run), cB = addr(C);
  for (let r = 0; r < rows; r++) {
    const xb = x + r * H * W * C;
    for (let oh = 0; oh < OH; oh++) for (let ow = 0; ow < OW; ow++) {
      const iw0 = ow * sw - padL;
      const inside = iw0 >= 0 && iw0 + kw <= W;
      for (let i = 0; i < kh; i++) {
        const ih = oh * sh + i - padT;
        if (ih < 0 || ih >= H) { memory.fill(o, 0, runB); o += runB; continue; }
        if (inside) { copyF(o, addr(xb + (ih * W + iw0) * C), run); o += runB; continue; }
        for (let j = 0; j < kw; j++) {
          const iw = iw0 + j;
          if (iw < 0 || iw >= W) memory.fill(o, 0, cB);
          else copyF(o, addr(xb + (ih * W + iw) * C), C);
          o += cB;
        }
      }
    }
  }
}

/** dx[rows, H, W, C] = the sum of dcols' entries over the windows each input value is in (im2col's adjoint). */
export function col2im(dcols: i32, rows: i32, H: i32, W: i32, C: i32, kh: i32, kw: i32, sh: i32, sw: i32,
  padT: i32, padL: i32, OH: i32, OW: i32, dx: i32): void {
  memory.fill(addr(dx), 0, addr(rows * H * W * C));
  let o = addr(dcols);
  const run = kw * C, runB = addr(run), cB = addr(C);
  for (let r = 0; r < rows; r++) {
    const xb = dx + r * H * W * C;
    for (let oh = 0; oh < OH; oh++) for (let ow = 0; ow < OW; ow++) {
      const iw0 = ow * sw - padL;
      const inside = iw0 >= 0 && iw0 + kw <= W;
      for (let i = 0; i < kh; i++) {
        const ih = oh * sh + i - padT;
        if (ih < 0 || ih >= H) { o += runB; continue; }
        if (inside) { addF(addr(xb + (ih * W + iw0) * C), o, run); o += runB; continue; }
        for (let j = 0; j < kw; j++) {
          const iw = iw0 + j;
          if (iw >= 0 && iw < W) addF(addr(xb + (ih * W + iw) * C), o, C);
          o += cB;
        }
      }
    }
  }
}

/**
 * out[j] = sum over r of m[r, j] (bias gradients), summed row by row in order. 32 columns at a time in registers
 * (through memory, each row's adds waited for the previous row's stores); the rest through out.
 */
export function colSums(m: i32, rows: i32, n: i32, out: i32): void {
  const po = addr(out);
  let j = 0;
  for (; j + 32 <= n; j += 32) {
    let a0 = f32x4.splat(0), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
    let p = addr(m + j);
    const rowB = addr(n);
    for (let r = 0; r < rows; r++) {
      a0 = f32x4.add(a0, v128.load(p)); a1 = f32x4.add(a1, v128.load(p, 16));
      a2 = f32x4.add(a2, v128.load(p, 32)); a3 = f32x4.add(a3, v128.load(p, 48));
      a4 = f32x4.add(a4, v128.load(p, 64)); a5 = f32x4.add(a5, v128.load(p, 80));
      a6 = f32x4.add(a6, v128.load(p, 96)); a7 = f32x4.add(a7, v128.load(p, 112));
      p += rowB;
    }
    const q = po + addr(j);
    v128.store(q, a0); v128.store(q, a1, 16); v128.store(q, a2, 32); v128.store(q, a3, 48);
    v128.store(q, a4, 64); v128.store(q, a5, 80); v128.store(q, a6, 96); v128.store(q, a7, 112);
  }
  if (j == n) return;
  memory.fill(po + addr(j), 0, addr(n - j));
  for (let r = 0; r < rows; r++) addF(po + addr(j), addr(m + r * n + j), n - j);
}

/**
 * A conv's weight gradient by fixed groups of output positions (whole images), groups g0..g1 of G: group g takes
 * positions g*per .. min(P, (g+1)*per) and writes parts + g*stride: its cols^T dz (KK x F) and, when bias != 0,
 * dz's column sums (F more floats). sumParts adds the groups in order. The groups depend on the shape and the
 * row count only, so a thread count changes who computes a group, never a number.
 */
export function convWeightGrad(cols: i32, dz: i32, KK: i32, F: i32, P: i32, per: i32, g0: i32, g1: i32, parts: i32,
  stride: i32, bias: i32, pack: i32): void {
  for (let g = g0; g < g1; g++) {
    const k0 = g * per, kn = min(per, P - k0), part = parts + g * stride;
    gemm(cols + k0 * KK, 1, KK, dz + k0 * F, F, 1, part, F, KK, kn, F, 1, 0, pack);
    if (bias != 0) colSums(dz + k0 * F, kn, F, part + KK * F);
  }
}

/** out[j] = parts[0][j] + parts[1][j] + ... + parts[G-1][j] (group g at parts + g*stride), added in group order. */
export function sumParts(parts: i32, G: i32, stride: i32, n: i32, out: i32): void {
  const po = addr(out), pp = addr(parts), sB = addr(stride);
  const n4 = n & ~3;
  for (let j = 0; j < n4; j += 4) {
    let q = pp + addr(j), acc = v128.load(q);
    for (let g = 1; g < G; g++) { q += sB; acc = f32x4.add(acc, v128.load(q)); }
    v128.store(po + addr(j), acc);
  }
  for (let j = n4; j < n; j++) {
    let q = pp + addr(j), acc = load<f32>(q);
    for (let g = 1; g < G; g++) { q += sB; acc += load<f32>(q); }
    store<f32>(po + addr(j), acc);
  }
}

/**
 * Max pooling forward: out[rows, OH, OW, C] and arg (i32, the index into x of each maximum, counted from x).
 * NaN wins (a NaN anywhere in the window makes the output NaN), ties keep the first position. `base` is added to
 * every index: a chunk of images (threads) passes its first image's offset, so indices count from the batch's x.
 */
export function maxPool(x: i32, rows: i32, H: i32, W: i32, C: i32, ph: i32, pw: i32, sh: i32, sw: i32,
  padT: i32, padL: i32, OH: i32, OW: i32, out: i32, arg: i32, base: i32): void {
  let o = 0;
  const C4 = C & ~3;
  const iota = i32x4(0, 1, 2, 3), vbase = i32x4.splat(base);
  for (let r = 0; r < rows; r++) {
    const xb = r * H * W * C;
    for (let oh = 0; oh < OH; oh++) for (let ow = 0; ow < OW; ow++, o += C) {
      const h0 = oh * sh - padT, w0 = ow * sw - padL;
      const h1 = min(h0 + ph, H), w1 = min(w0 + pw, W), hs = max(h0, 0), ws = max(w0, 0);
      const first = xb + (hs * W + ws) * C;
      let c = 0;
      if (h1 - hs == 2 && w1 - ws == 2) {
        // a whole 2x2 window: four loads per 4 channels, in the generic loop's order
        const p1 = first + C, p2 = first + W * C, p3 = p2 + C;
        for (; c < C4; c += 4) {
          let cur = v128.load(addr(x + first + c));
          let idx = i32x4.add(i32x4.splat(first + c), iota);
          let v = v128.load(addr(x + p1 + c));
          let m = v128.or(f32x4.gt(v, cur), f32x4.ne(v, v));
          cur = v128.bitselect(v, cur, m); idx = v128.bitselect(i32x4.add(i32x4.splat(p1 + c), iota), idx, m);
          v = v128.load(addr(x + p2 + c));
          m = v128.or(f32x4.gt(v, cur), f32x4.ne(v, v));
          cur = v128.bitselect(v, cur, m); idx = v128.bitselect(i32x4.add(i32x4.splat(p2 + c), iota), idx, m);
          v = v128.load(addr(x + p3 + c));
          m = v128.or(f32x4.gt(v, cur), f32x4.ne(v, v));
          cur = v128.bitselect(v, cur, m); idx = v128.bitselect(i32x4.add(i32x4.splat(p3 + c), iota), idx, m);
          v128.store(addr(out + o + c), cur);
          v128.store(addr(arg + o + c), i32x4.add(idx, vbase));
        }
      }
      for (; c < C4; c += 4) {
        let cur = v128.load(addr(x + first + c));
        let idx = i32x4.add(i32x4.splat(first + c), iota);
        for (let i = hs; i < h1; i++) for (let j = ws; j < w1; j++) {
          const p = xb + (i * W + j) * C;
          if (p == first) continue;
          const v = v128.load(addr(x + p + c));
          const m = v128.or(f32x4.gt(v, cur), f32x4.ne(v, v));
          cur = v128.bitselect(v, cur, m);
          idx = v128.bitselect(i32x4.add(i32x4.splat(p + c), iota), idx, m);
        }
        v128.store(addr(out + o + c), cur);
        v128.store(addr(arg + o + c), i32x4.add(idx, vbase));
      }
      for (; c < C; c++) {
        let cur = load<f32>(addr(x + first + c));
        let idx = first + c;
        for (let i = hs; i < h1; i++) for (let j = ws; j < w1; j++) {
          const p = xb + (i * W + j) * C;
          if (p == first) continue;
          const v = load<f32>(addr(x + p + c));
          if (v > cur || v != v) { cur = v; idx = p + c; }
        }
        store<f32>(addr(out + o + c), cur);
        store<i32>(addr(arg + o + c), idx + base);
      }
    }
  }
}

/** Max pooling backward: dx[z0 .. z0+zn) = 0, then dx[arg[o]] += g[o] for o < n (arg counted from dx). */
export function maxPoolBack(g: i32, arg: i32, n: i32, dx: i32, z0: i32, zn: i32): void {
  memory.fill(addr(dx + z0), 0, addr(zn));
  for (let o = 0; o < n; o++) {
    const p = addr(dx + load<i32>(addr(arg + o)));
    store<f32>(p, load<f32>(p) + load<f32>(addr(g + o)));
  }
}

// ---- the SIMD128 ceiling: mul + add on 4 lanes with nothing else to do ----------------------------------------
/**
 * The GEMM's inner loop with every operand in L1: `iters` rounds of a 4x8 tile over 256 k of a packed panel
 * at float offset p (256*8 B floats, then 256*4 A floats). 64 flops per k; returns a sum so nothing is dead.
 * Measured (bench/bench.ts ceilingGflops) against other shapes on this V8: 12 accumulators (4x12, 2x6 tiles)
 * spill and run at ~55% of it, a 2x unrolled k loop at ~65%, register-only chains (10 accumulators, or 6 mul
 * and 6 add chains) at ~85%; 64 k per round lost ~3% to the loop exit. This tile keeps two f32x4 muls and
 * two adds issued every cycle, which is what the FP pipes allow: the ceiling is a throughput bound.
 */
export function peak(iters: i32, p: i32): f32 {
  let c00 = f32x4.splat(0), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
  const pbBase = addr(p), paBase = addr(p + PEAK_K * 8);
  for (let it = 0; it < iters; it++) {
    let pb = pbBase, pa = paBase;
    for (let k = 0; k < PEAK_K; k++) {
      const b0 = v128.load(pb), b1 = v128.load(pb, 16);
      let x = v128.load32_splat(pa);
      c00 = fma4(c00, x, b0); c01 = fma4(c01, x, b1);
      x = v128.load32_splat(pa, 4);
      c10 = fma4(c10, x, b0); c11 = fma4(c11, x, b1);
      x = v128.load32_splat(pa, 8);
      c20 = fma4(c20, x, b0); c21 = fma4(c21, x, b1);
      x = v128.load32_splat(pa, 12);
      c30 = fma4(c30, x, b0); c31 = fma4(c31, x, b1);
      pa += 16; pb += 32;
    }
  }
  const s = f32x4.add(f32x4.add(f32x4.add(c00, c01), f32x4.add(c10, c11)), f32x4.add(f32x4.add(c20, c21), f32x4.add(c30, c31)));
  return hsum(s);
}

// ---- a conv whose input has one channel, directly from the input (no im2col buffer) ---------------------------
// Geometry at desc (int32): H, W, kh, kw, sh, sw, padT, padL, OH, OW, F, Hp, Wp, xp. Tap t = i*kw + j of the
// kh x kw window; the kernel w is [kh*kw, F] (Keras' [kh, kw, 1, F]). x(p, t) is the input under tap t of output
// position p, 0 where the window leaves the image (as im2col writes it). When some window leaves the image (xp != 0),
// convDirect first copies its images into zero-filled Hp x Wp frames at xp (image at row padT, column padL), so
// that every window is inside what the loops read: no test per tap, and the gradient reads the same frames.

// @ts-ignore: decorator
@inline function lane(v: v128, l: i32): f32 {
  return l == 0 ? f32x4.extract_lane(v, 0) : l == 1 ? f32x4.extract_lane(v, 1) : l == 2 ? f32x4.extract_lane(v, 2) : f32x4.extract_lane(v, 3);
}

/**
 * z (and out = f(z)) at columns j0..j0+8 of one position's row (pz, pa: the row's column j0), from the sums
 * (lo, hi): as biasActForward (or actForward alone when there is no bias) writes them, lane for lane, with its
 * scalar relu past F & ~3 when there is a bias.
 */
// @ts-ignore: decorator
@inline function convStore(kind: i32, pz: usize, pa: usize, lo: v128, hi: v128, bias: i32, j0: i32, F: i32): void {
  let v0 = lo, v1 = hi;
  if (bias != 0) { const pb = addr(bias + j0); v0 = f32x4.add(lo, v128.load(pb)); v1 = f32x4.add(hi, v128.load(pb, 16)); }
  if (j0 + 8 <= F) {
    v128.store(pz, v0); v128.store(pz, v1, 16);
    if (kind != 0) { v128.store(pa, act4(kind, v0)); v128.store(pa, act4(kind, v1), 16); }
    return;
  }
  convStoreTail(kind, pz, pa, v0, v1, bias, j0, F);
}

// Out of line: the hot loops stay small.
function convStoreTail(kind: i32, pz: usize, pa: usize, v0: v128, v1: v128, bias: i32, j0: i32, F: i32): void {
  const F4 = F & ~3;
  let a0 = v0, a1 = v1;
  if (kind != 0) { a0 = act4n(kind, v0); a1 = act4n(kind, v1); }
  for (let l = 0; l < F - j0; l++) {
    const v = l < 4 ? lane(v0, l) : lane(v1, l - 4);
    store<f32>(pz + addr(l), v);
    if (kind == 0) continue;
    store<f32>(pa + addr(l), kind == 1 && bias != 0 && j0 + l >= F4 ? (v > 0 ? v : 0) : l < 4 ? lane(a0, l) : lane(a1, l - 4));
  }
}

function act4n(kind: i32, v: v128): v128 {
  if (kind == 1) return act4(1, v);
  if (kind == 2) return act4(2, v);
  return act4(3, v);
}

/** Images r0..r1 of x[rows, H, W] into their zero-filled Hp x Wp frames at xp, at row padT, column padL. */
function padFrames(d: usize, x: i32, r0: i32, r1: i32): void {
  const H = load<i32>(d), W = load<i32>(d, 4), padT = load<i32>(d, 24), padL = load<i32>(d, 28);
  const Hp = load<i32>(d, 44), Wp = load<i32>(d, 48), xp = load<i32>(d, 52);
  for (let r = r0; r < r1; r++) {
    const f = xp + r * Hp * Wp;
    memory.fill(addr(f), 0, addr(Hp * Wp));
    // rows and columns of the image that land inside the frame (all of them when the pads are the leading ones)
    for (let i = max(0, -padT); i < min(H, Hp - padT); i++) {
      const c0 = max(0, -padL), c1 = min(W, Wp - padL);
      memory.copy(addr(f + (i + padT) * Wp + padL + c0), addr(x + r * H * W + i * W + c0), addr(c1 - c0));
    }
  }
}

/**
 * Forward pass of a conv whose input has one channel, for images r0..r1 of x[rows, H, W]: z[p, f] = (the sum over
 * taps t in order of x(p, t) * w[t, f]) + bias[f] (no bias when bias is 0), then out = f(z) for act 1 relu, 2
 * sigmoid, 3 tanh (none for 0). The adds and their order are those of im2col, gemm (kh*kw <= KC: one K block) and
 * biasActForward, so the numbers are the same, with no im2col buffer written and read and no second pass over z.
 * Four positions at a time (stride 1) x 8 filters in registers, as the GEMM's 4x8 tile.
 */
export function convDirect(desc: i32, x: i32, r0: i32, r1: i32, w: i32, bias: i32, act: i32, z: i32, out: i32): void {
  const d = addr(desc);
  if (load<i32>(d, 52) != 0) padFrames(d, x, r0, r1);
  // One copy per kind (the constant folds), as biasActForward.
  if (act == 1) convDirectRun(1, d, x, r0, r1, w, bias, z, out);
  else if (act == 2) convDirectRun(2, d, x, r0, r1, w, bias, z, out);
  else if (act == 3) convDirectRun(3, d, x, r0, r1, w, bias, z, out);
  else convDirectRun(0, d, x, r0, r1, w, bias, z, out);
}

// @ts-ignore: decorator
@inline function convDirectRun(kind: i32, d: usize, x: i32, r0: i32, r1: i32, w: i32, bias: i32, z: i32, out: i32): void {
  const xp = load<i32>(d, 52), IH = xp != 0 ? load<i32>(d, 44) : load<i32>(d), IW = xp != 0 ? load<i32>(d, 48) : load<i32>(d, 4);
  const sh = load<i32>(d, 16), sw = load<i32>(d, 20), OH = load<i32>(d, 32), OW = load<i32>(d, 36), F = load<i32>(d, 40);
  const S = OH * OW, fB = addr(F), swB = addr(sw), shRowB = addr(sh * IW);
  const base = xp != 0 ? xp : x;
  for (let r = r0; r < r1; r++) {
    let rowStart = addr(base + r * IH * IW);
    for (let oh = 0; oh < OH; oh++) {
      const zr = z + (r * S + oh * OW) * F, ar = out + (r * S + oh * OW) * F;
      if (sw == 1 && OW >= 4) {
        // Four neighbours of the output row at a time; the row's last four when OW is not a multiple of 4 (its
        // positions computed twice write the same values twice).
        for (let ow = 0; ow < OW; ow += 4) {
          const o = min(ow, OW - 4);
          convDirect4(kind, d, rowStart + addr(o), w, bias, addr(zr + o * F), addr(ar + o * F));
        }
      } else {
        for (let ow = 0; ow < OW; ow++) convDirect1(kind, d, rowStart + (<usize>ow) * swB, w, bias, addr(zr + ow * F), addr(ar + ow * F));
      }
      rowStart += shRowB;
    }
  }
}

/**
 * Four output positions next to each other (stride 1) whose windows start at byte address p, x 8 filters a pass:
 * their four inputs under a tap are at p + o, o + 4, o + 8, o + 12, constant offsets in the loads (offsets held in
 * registers ran such loops at a quarter of the speed).
 */
// @ts-ignore: decorator
@inline function convDirect4(kind: i32, d: usize, p: usize, w: i32, bias: i32, pz: usize, pa: usize): void {
  const IW = load<i32>(d, 52) != 0 ? load<i32>(d, 48) : load<i32>(d, 4);
  const kh = load<i32>(d, 8), kw = load<i32>(d, 12), F = load<i32>(d, 40);
  const fB = addr(F), rowB = addr(IW);
  for (let j0 = 0; j0 < F; j0 += 8) {
    let c00 = f32x4.splat(0), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
    let pw = addr(w + j0), rp = p;
    for (let i = 0; i < kh; i++) {
      let q = rp;
      for (let j = 0; j < kw; j++) {
        const b0 = v128.load(pw), b1 = v128.load(pw, 16);
        let xv = v128.load32_splat(q);
        c00 = fma4(c00, xv, b0); c01 = fma4(c01, xv, b1);
        xv = v128.load32_splat(q, 4);
        c10 = fma4(c10, xv, b0); c11 = fma4(c11, xv, b1);
        xv = v128.load32_splat(q, 8);
        c20 = fma4(c20, xv, b0); c21 = fma4(c21, xv, b1);
        xv = v128.load32_splat(q, 12);
        c30 = fma4(c30, xv, b0); c31 = fma4(c31, xv, b1);
        pw += fB; q += 4;
      }
      rp += rowB;
    }
    const oz = pz + addr(j0), oa = pa + addr(j0);
    convStore(kind, oz, oa, c00, c01, bias, j0, F);
    convStore(kind, oz + fB, oa + fB, c10, c11, bias, j0, F);
    convStore(kind, oz + 2 * fB, oa + 2 * fB, c20, c21, bias, j0, F);
    convStore(kind, oz + 3 * fB, oa + 3 * fB, c30, c31, bias, j0, F);
  }
}

/** One output position whose window starts at byte address p, x 8 filters a pass. */
// @ts-ignore: decorator
@inline function convDirect1(kind: i32, d: usize, p: usize, w: i32, bias: i32, pz: usize, pa: usize): void {
  const IW = load<i32>(d, 52) != 0 ? load<i32>(d, 48) : load<i32>(d, 4);
  const kh = load<i32>(d, 8), kw = load<i32>(d, 12), F = load<i32>(d, 40);
  const fB = addr(F), rowB = addr(IW);
  for (let j0 = 0; j0 < F; j0 += 8) {
    let c0 = f32x4.splat(0), c1 = c0;
    let pw = addr(w + j0), rp = p;
    for (let i = 0; i < kh; i++) {
      let q = rp;
      for (let j = 0; j < kw; j++) {
        const xv = v128.load32_splat(q);
        c0 = fma4(c0, xv, v128.load(pw)); c1 = fma4(c1, xv, v128.load(pw, 16));
        pw += fB; q += 4;
      }
      rp += rowB;
    }
    convStore(kind, pz + addr(j0), pa + addr(j0), c0, c1, bias, j0, F);
  }
}

/**
 * Weight (and bias) gradient of a conv whose input has one channel, directly from x (no im2col buffer; the frames
 * convDirect wrote when xp != 0), by groups of whole images: group g (g0 <= g < g1) takes images g*per ..
 * min(rows, (g+1)*per). It first turns its images' dz into dL/dz (actBackward kind act from z and a, as the layer's
 * separate pass would; none for act 0) while they are in this core's cache, then writes to parts + g*stride the sum
 * over its positions p, in order, of x(p, t) * dz[p, f] at t*F + f and, when bias != 0, the sum of dz[p, f] at
 * kh*kw*F + f. sumParts adds the groups in order: the groups depend on the shape and row count only, so the numbers
 * do not depend on the threads. Up to four rows (taps of one window row, then the bias) x 8 filters in registers, a
 * pass over the group's positions each.
 */
export function convDirectGrad(desc: i32, x: i32, dz: i32, rows: i32, per: i32, g0: i32, g1: i32, parts: i32, stride: i32,
  bias: i32, z: i32, a: i32, act: i32): void {
  const d = addr(desc);
  const kh = load<i32>(d, 8), kw = load<i32>(d, 12), OH = load<i32>(d, 32), OW = load<i32>(d, 36), F = load<i32>(d, 40);
  const S = OH * OW, KK = kh * kw;
  for (let g = g0; g < g1; g++) {
    const i0 = g * per, i1 = min(rows, i0 + per), part = parts + g * stride;
    if (i1 <= i0) continue;
    if (act != 0) actBackward(act, z + i0 * S * F, a + i0 * S * F, dz + i0 * S * F, (i1 - i0) * S * F);
    for (let j0 = 0; j0 < F; j0 += 8) {
      // Blocks of up to 4 taps of one window row (offsets 0, 4, 8, 12 bytes from a pointer: constants in the loads;
      // taps at offsets held in registers ran this loop at a quarter of the speed); the bias row rides with the
      // last block when it has room, else it is a block of its own.
      for (let i = 0; i < kh; i++) for (let jb = 0; jb < kw; jb += 4) {
        const nt = min(4, kw - jb), t = i * kw + jb, withBias = bias != 0 && t + nt == KK && nt < 4;
        if (nt == 4) gradBlock4(d, x, dz, i0, i1, i, jb, t, j0, part);
        else if (nt == 3) { if (withBias) gradBlock3b(d, x, dz, i0, i1, i, jb, t, j0, part); else gradBlock3(d, x, dz, i0, i1, i, jb, t, j0, part); }
        else if (nt == 2) { if (withBias) gradBlock2b(d, x, dz, i0, i1, i, jb, t, j0, part); else gradBlock2(d, x, dz, i0, i1, i, jb, t, j0, part); }
        else if (withBias) gradBlock1b(d, x, dz, i0, i1, i, jb, t, j0, part); else gradBlock1(d, x, dz, i0, i1, i, jb, t, j0, part);
      }
      if (bias != 0 && kw % 4 == 0) gradBlock0b(d, x, dz, i0, i1, 0, 0, KK, j0, part);
    }
  }
}

// One function per count of taps and whether the bias row follows them, so each hot loop has the registers to itself.
function gradBlock4(d: usize, x: i32, dz: i32, i0: i32, i1: i32, i: i32, jb: i32, t: i32, j0: i32, part: i32): void { gradRun(4, false, d, x, dz, i0, i1, i, jb, t, j0, part); }
function gradBlock3(d: usize, x: i32, dz: i32, i0: i32, i1: i32, i: i32, jb: i32, t: i32, j0: i32, part: i32): void { gradRun(3, false, d, x, dz, i0, i1, i, jb, t, j0, part); }
function gradBlock3b(d: usize, x: i32, dz: i32, i0: i32, i1: i32, i: i32, jb: i32, t: i32, j0: i32, part: i32): void { gradRun(3, true, d, x, dz, i0, i1, i, jb, t, j0, part); }
function gradBlock2(d: usize, x: i32, dz: i32, i0: i32, i1: i32, i: i32, jb: i32, t: i32, j0: i32, part: i32): void { gradRun(2, false, d, x, dz, i0, i1, i, jb, t, j0, part); }
function gradBlock2b(d: usize, x: i32, dz: i32, i0: i32, i1: i32, i: i32, jb: i32, t: i32, j0: i32, part: i32): void { gradRun(2, true, d, x, dz, i0, i1, i, jb, t, j0, part); }
function gradBlock1(d: usize, x: i32, dz: i32, i0: i32, i1: i32, i: i32, jb: i32, t: i32, j0: i32, part: i32): void { gradRun(1, false, d, x, dz, i0, i1, i, jb, t, j0, part); }
function gradBlock1b(d: usize, x: i32, dz: i32, i0: i32, i1: i32, i: i32, jb: i32, t: i32, j0: i32, part: i32): void { gradRun(1, true, d, x, dz, i0, i1, i, jb, t, j0, part); }
function gradBlock0b(d: usize, x: i32, dz: i32, i0: i32, i1: i32, i: i32, jb: i32, t: i32, j0: i32, part: i32): void { gradRun(0, true, d, x, dz, i0, i1, i, jb, t, j0, part); }

/**
 * Rows t..t+NT of the weight gradient (taps jb.. of window row i) and the bias row after them when B, columns
 * j0..j0+8, of one group: the sums over the images i0..i1's positions in order, stored at part (whole f32x4 when
 * 8 columns are there, else lane by lane).
 */
// @ts-ignore: decorator
@inline function gradRun(NT: i32, B: bool, d: usize, x: i32, dz: i32, i0: i32, i1: i32, i: i32, jb: i32, t: i32, j0: i32, part: i32): void {
  const xp = load<i32>(d, 52), IH = xp != 0 ? load<i32>(d, 44) : load<i32>(d), IW = xp != 0 ? load<i32>(d, 48) : load<i32>(d, 4);
  const sh = load<i32>(d, 16), sw = load<i32>(d, 20);
  const OH = load<i32>(d, 32), OW = load<i32>(d, 36), F = load<i32>(d, 40);
  const fB = addr(F), swB = addr(sw), shRowB = addr(sh * IW);
  const base = (xp != 0 ? xp : x) + i * IW + jb;
  let c00 = f32x4.splat(0), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
  for (let r = i0; r < i1; r++) {
    let rowStart = addr(base + r * IH * IW);
    let pd = addr(dz + r * OH * OW * F + j0);
    for (let oh = 0; oh < OH; oh++) {
      let q = rowStart;
      for (let ow = 0; ow < OW; ow++) {
        const d0 = v128.load(pd), d1 = v128.load(pd, 16);
        if (NT > 0) { const xv = v128.load32_splat(q); c00 = fma4(c00, xv, d0); c01 = fma4(c01, xv, d1); }
        if (NT > 1) { const xv = v128.load32_splat(q, 4); c10 = fma4(c10, xv, d0); c11 = fma4(c11, xv, d1); }
        if (NT > 2) { const xv = v128.load32_splat(q, 8); c20 = fma4(c20, xv, d0); c21 = fma4(c21, xv, d1); }
        if (NT > 3) { const xv = v128.load32_splat(q, 12); c30 = fma4(c30, xv, d0); c31 = fma4(c31, xv, d1); }
        // the bias row: dz's column sums
        if (B) {
          if (NT == 0) { c00 = f32x4.add(c00, d0); c01 = f32x4.add(c01, d1); }
          else if (NT == 1) { c10 = f32x4.add(c10, d0); c11 = f32x4.add(c11, d1); }
          else if (NT == 2) { c20 = f32x4.add(c20, d0); c21 = f32x4.add(c21, d1); }
          else { c30 = f32x4.add(c30, d0); c31 = f32x4.add(c31, d1); }
        }
        pd += fB; q += swB;
      }
      rowStart += shRowB;
    }
  }
  const nc = min(8, F - j0);
  const pc = addr(part + t * F + j0);
  const rowsOut = NT + (B ? 1 : 0);
  gradStore(pc, c00, c01, nc);
  if (rowsOut > 1) gradStore(pc + fB, c10, c11, nc);
  if (rowsOut > 2) gradStore(pc + 2 * fB, c20, c21, nc);
  if (rowsOut > 3) gradStore(pc + 3 * fB, c30, c31, nc);
}

// @ts-ignore: decorator
@inline function gradStore(pc: usize, lo: v128, hi: v128, nc: i32): void {
  if (nc == 8) { v128.store(pc, lo); v128.store(pc, hi, 16); return; }
  for (let l = 0; l < nc; l++) store<f32>(pc + addr(l), l < 4 ? lane(lo, l) : lane(hi, l - 4));
}

/**
 * Rows of a batch gathered from inputs held in this memory: row r is row load<i32>(idx + r) of src (I floats each),
 * written at dst + r * I. memory.copy is a native copy; JavaScript copies into a shared memory word by word.
 */
export function gatherRows(src: i32, I: i32, idx: i32, rows: i32, dst: i32): void {
  for (let r = 0; r < rows; r++) {
    const s = load<i32>(addr(idx + r));
    memory.copy(addr(dst + r * I), addr(src + s * I), addr(I));
  }
}
