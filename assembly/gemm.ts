// Float32 matrix multiply for the training core, WebAssembly SIMD (f32x4), compiled by scripts/build.mjs.
// All pointers and strides are in floats (byte address = p << 2), so the TypeScript side passes the same
// offsets it uses to index its Float32Array views of this module's memory.
//
//   gemm: C[M x N] = alpha * A^ B^ + beta * C   (beta is 0 or 1 in practice)
//     A^(i, k) = A[a + i*sai + k*sak]  -> A·B and A·B^T use sai=K, sak=1; A^T·B uses sai=1, sak=M
//     B^(k, n) = B[b + k*sbk + n*sbn]  -> B row-major: sbk=N, sbn=1; B^T: sbk=1, sbn=K
//     C row-major with leading dimension ldc.
//   K is cut into blocks of KC; each block's 8-column panel of B is packed contiguously (zero-padded past N)
//   into `pack` (KC*8 + 32 floats of scratch owned by the caller) and multiplied with 4 rows of A at a time
//   in a 4x8 register tile (8 f32x4 accumulators).

const KC: i32 = 256;

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
  for (let k = 0; k < kc; k++) {
    const base = b + (k0 + k) * sbk + j * sbn;
    for (let jj = 0; jj < 8; jj++) store<f32>(dst + addr(jj), jj < nc ? load<f32>(addr(base + jj * sbn)) : 0);
    dst += 32;
  }
}

// C row r, columns j..j+nc: C += alpha * (lo, hi)
// @ts-ignore: decorator
@inline function storeRow(pc: usize, lo: v128, hi: v128, va: v128, nc: i32, tmp: usize): void {
  if (nc == 8) {
    v128.store(pc, fma4(v128.load(pc), va, lo));
    v128.store(pc, fma4(v128.load(pc, 16), va, hi), 16);
  } else {
    v128.store(tmp, f32x4.mul(va, lo)); v128.store(tmp, f32x4.mul(va, hi), 16);
    for (let jj = 0; jj < nc; jj++) store<f32>(pc + addr(jj), load<f32>(pc + addr(jj)) + load<f32>(tmp + addr(jj)));
  }
}

export function gemm(a: i32, sai: i32, sak: i32, b: i32, sbk: i32, sbn: i32, c: i32, ldc: i32,
  M: i32, K: i32, N: i32, alpha: f32, beta: f32, pack: i32): void {
  if (beta != 1) scaleC(c, ldc, M, N, beta);
  if (K <= 0) return;
  // A·B^T with both operands contiguous along k: dot products of rows need no packing.
  if (sak == 1 && sbk == 1 && K >= 16) { gemmDot(a, sai, b, sbn, c, ldc, M, K, N, alpha); return; }
  const va = f32x4.splat(alpha);
  const tmp = addr(pack + KC * 8);
  const saiB = addr(sai), sakB = addr(sak), ldcB = addr(ldc);
  const M4 = M & ~3;
  for (let k0 = 0; k0 < K; k0 += KC) {
    const kc = min(KC, K - k0);
    for (let j = 0; j < N; j += 8) {
      const nc = min(8, N - j);
      packPanel(b, sbk, sbn, k0, kc, j, nc, pack);
      const pbBase = addr(pack);
      let i = 0;
      for (; i < M4; i += 4) {
        let c00 = f32x4.splat(0), c01 = f32x4.splat(0), c10 = f32x4.splat(0), c11 = f32x4.splat(0);
        let c20 = f32x4.splat(0), c21 = f32x4.splat(0), c30 = f32x4.splat(0), c31 = f32x4.splat(0);
        let pa = addr(a + i * sai + k0 * sak);
        let pb = pbBase;
        for (let k = 0; k < kc; k++) {
          const b0 = v128.load(pb), b1 = v128.load(pb, 16);
          let x = f32x4.splat(load<f32>(pa));
          c00 = fma4(c00, x, b0); c01 = fma4(c01, x, b1);
          x = f32x4.splat(load<f32>(pa + saiB));
          c10 = fma4(c10, x, b0); c11 = fma4(c11, x, b1);
          x = f32x4.splat(load<f32>(pa + 2 * saiB));
          c20 = fma4(c20, x, b0); c21 = fma4(c21, x, b1);
          x = f32x4.splat(load<f32>(pa + 3 * saiB));
          c30 = fma4(c30, x, b0); c31 = fma4(c31, x, b1);
          pa += sakB; pb += 32;
        }
        let pc = addr(c + i * ldc + j);
        storeRow(pc, c00, c01, va, nc, tmp); pc += ldcB;
        storeRow(pc, c10, c11, va, nc, tmp); pc += ldcB;
        storeRow(pc, c20, c21, va, nc, tmp); pc += ldcB;
        storeRow(pc, c30, c31, va, nc, tmp);
      }
      for (; i < M; i++) {
        let c00 = f32x4.splat(0), c01 = f32x4.splat(0);
        let pa = addr(a + i * sai + k0 * sak);
        let pb = pbBase;
        for (let k = 0; k < kc; k++) {
          const x = f32x4.splat(load<f32>(pa));
          c00 = fma4(c00, x, v128.load(pb)); c01 = fma4(c01, x, v128.load(pb, 16));
          pa += sakB; pb += 32;
        }
        storeRow(addr(c + i * ldc + j), c00, c01, va, nc, tmp);
      }
    }
  }
}

// @ts-ignore: decorator
@inline function hsum(v: v128): f32 {
  return f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1) + f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3);
}

/** C[i, j] += alpha * dot(A row i, B row j), rows contiguous (lda, ldb); 2x4 blocks of dot products. */
function gemmDot(a: i32, lda: i32, b: i32, ldb: i32, c: i32, ldc: i32, M: i32, K: i32, N: i32, alpha: f32): void {
  const K4 = K & ~3;
  const ldaB = addr(lda), ldbB = addr(ldb);
  let i = 0;
  for (; i < M; i += 2) {
    const two = i + 1 < M;
    const pa0 = addr(a + i * lda), pa1 = two ? pa0 + ldaB : pa0;
    let j = 0;
    for (; j + 4 <= N; j += 4) {
      const pb0 = addr(b + j * ldb), pb1 = pb0 + ldbB, pb2 = pb1 + ldbB, pb3 = pb2 + ldbB;
      let s00 = f32x4.splat(0), s01 = f32x4.splat(0), s02 = f32x4.splat(0), s03 = f32x4.splat(0);
      let s10 = f32x4.splat(0), s11 = f32x4.splat(0), s12 = f32x4.splat(0), s13 = f32x4.splat(0);
      for (let k = 0; k < K4; k += 4) {
        const o = addr(k);
        const x0 = v128.load(pa0 + o), x1 = v128.load(pa1 + o);
        const y0 = v128.load(pb0 + o), y1 = v128.load(pb1 + o), y2 = v128.load(pb2 + o), y3 = v128.load(pb3 + o);
        s00 = fma4(s00, x0, y0); s01 = fma4(s01, x0, y1); s02 = fma4(s02, x0, y2); s03 = fma4(s03, x0, y3);
        s10 = fma4(s10, x1, y0); s11 = fma4(s11, x1, y1); s12 = fma4(s12, x1, y2); s13 = fma4(s13, x1, y3);
      }
      let r00 = hsum(s00), r01 = hsum(s01), r02 = hsum(s02), r03 = hsum(s03);
      let r10 = hsum(s10), r11 = hsum(s11), r12 = hsum(s12), r13 = hsum(s13);
      for (let k = K4; k < K; k++) {
        const o = addr(k);
        const x0 = load<f32>(pa0 + o), x1 = load<f32>(pa1 + o);
        const y0 = load<f32>(pb0 + o), y1 = load<f32>(pb1 + o), y2 = load<f32>(pb2 + o), y3 = load<f32>(pb3 + o);
        r00 += x0 * y0; r01 += x0 * y1; r02 += x0 * y2; r03 += x0 * y3;
        r10 += x1 * y0; r11 += x1 * y1; r12 += x1 * y2; r13 += x1 * y3;
      }
      const pc0 = addr(c + i * ldc + j);
      store<f32>(pc0, load<f32>(pc0) + alpha * r00); store<f32>(pc0 + 4, load<f32>(pc0 + 4) + alpha * r01);
      store<f32>(pc0 + 8, load<f32>(pc0 + 8) + alpha * r02); store<f32>(pc0 + 12, load<f32>(pc0 + 12) + alpha * r03);
      if (two) {
        const pc1 = pc0 + addr(ldc);
        store<f32>(pc1, load<f32>(pc1) + alpha * r10); store<f32>(pc1 + 4, load<f32>(pc1 + 4) + alpha * r11);
        store<f32>(pc1 + 8, load<f32>(pc1 + 8) + alpha * r12); store<f32>(pc1 + 12, load<f32>(pc1 + 12) + alpha * r13);
      }
    }
    for (; j < N; j++) {
      const pb = addr(b + j * ldb);
      let s0 = f32x4.splat(0), s1 = f32x4.splat(0);
      for (let k = 0; k < K4; k += 4) {
        const o = addr(k);
        const y = v128.load(pb + o);
        s0 = fma4(s0, v128.load(pa0 + o), y); s1 = fma4(s1, v128.load(pa1 + o), y);
      }
      let r0 = hsum(s0), r1 = hsum(s1);
      for (let k = K4; k < K; k++) { const o = addr(k); const y = load<f32>(pb + o); r0 += load<f32>(pa0 + o) * y; r1 += load<f32>(pa1 + o) * y; }
      const pc0 = addr(c + i * ldc + j);
      store<f32>(pc0, load<f32>(pc0) + alpha * r0);
      if (two) { const pc1 = pc0 + addr(ldc); store<f32>(pc1, load<f32>(pc1) + alpha * r1); }
    }
  }
}

/** Sum of squares of p[0..n) in float64 (global gradient norm; NaN/Inf propagate). */
export function sumSquares(p: i32, n: i32): f64 {
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
    for (let i = n4; i < n; i++) { const v = load<f32>(pz + addr(i)); store<f32>(pa + addr(i), v > 0 ? v : 0); }
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
  for (let i = n4; i < n; i++) {
    const o = addr(i);
    if (kind == 1) { if (!(load<f32>(pz + o) > 0)) store<f32>(pg + o, 0); }
    else if (kind == 2) { const s = load<f32>(pa + o); store<f32>(pg + o, load<f32>(pg + o) * s * (1 - s)); }
    else { const t = load<f32>(pa + o); store<f32>(pg + o, load<f32>(pg + o) * (1 - t * t)); }
  }
}

// ---- probe statistics: one pass over p[0..n) ------------------------------------------------------------
// Writes float64s at out (a float offset, 8-byte aligned): [sum, sum of squares, finite count,
// count of |x| > satAbove, then `bins` histogram counts over [lo, lo + bins/inv)]. NaN/Inf are skipped.
export function summarize(p: i32, n: i32, lo: f64, inv: f64, bins: i32, satAbove: f64, out: i32): void {
  const o = addr(out);
  for (let b = 0; b < bins + 4; b++) store<f64>(o + (<usize>b << 3), 0);
  let s: f64 = 0, q: f64 = 0, c: f64 = 0, sat: f64 = 0;
  const hist = o + 32;
  const top = <f64>bins;
  for (let i = 0; i < n; i++) {
    const x = <f64>load<f32>(addr(p + i));
    if (x - x != 0) continue;
    s += x; q += x * x; c += 1;
    if (Math.abs(x) > satAbove) sat += 1;
    if (bins > 0) {
      const f = (x - lo) * inv;
      const b = f >= top ? bins - 1 : f < 0 ? 0 : <i32>f;
      const pb = hist + (<usize>b << 3);
      store<f64>(pb, load<f64>(pb) + 1);
    }
  }
  store<f64>(o, s); store<f64>(o + 8, q); store<f64>(o + 16, c); store<f64>(o + 24, sat);
}
