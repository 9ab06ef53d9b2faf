//! The kernels in AVX2 intrinsics: four f64 lanes per register, lane l holding values
//! l, l + 4, …, exactly the portable code's accumulators, and every operation the portable code's
//! in the same order (no fused multiply-add, comparisons with the same NaN behaviour), so the
//! results are the same bits. Written out because the compiler's own vectorisation of the
//! portable loops shuffles the lanes between registers every iteration and runs 2–8× slower
//! than these (BENCHMARKS.md, session 12).
//!
//! Each function enables AVX2, so calling one is `unsafe`: the caller must have checked that the
//! CPU has it. Loads and stores go through bounds-checked sub-slices of four.

use core::arch::x86_64::*;

use super::{ColumnParts, Histograms, Limits, Moments, SumLanes, LANES};
use crate::backend::cpu::ranks::{Binning, NB};

/// The four lanes of a register, in lane order.
#[target_feature(enable = "avx,avx2")]
#[inline]
fn lanes(v: __m256d) -> [f64; LANES] {
    let mut out = [0.0; LANES];
    // SAFETY: `out` holds four f64, written unaligned.
    unsafe { _mm256_storeu_pd(out.as_mut_ptr(), v) };
    out
}

/// The four u64 lanes of a register of counts, in lane order.
#[target_feature(enable = "avx,avx2")]
#[inline]
fn counts(v: __m256i) -> [u64; LANES] {
    let mut out = [0u64; LANES];
    // SAFETY: `out` holds four u64 (32 bytes), written unaligned.
    unsafe { _mm256_storeu_si256(out.as_mut_ptr().cast(), v) };
    out
}

/// Four values from `v[c..c + 4]`.
#[target_feature(enable = "avx,avx2")]
#[inline]
fn load(v: &[f64], c: usize) -> __m256d {
    let w = &v[c..c + LANES];
    // SAFETY: `w` holds four f64, read unaligned.
    unsafe { _mm256_loadu_pd(w.as_ptr()) }
}

/// Four values into `v[c..c + 4]`.
#[target_feature(enable = "avx,avx2")]
#[inline]
fn store(v: &mut [f64], c: usize, x: __m256d) {
    let w = &mut v[c..c + LANES];
    // SAFETY: `w` holds four f64, written unaligned.
    unsafe { _mm256_storeu_pd(w.as_mut_ptr(), x) }
}

/// The low four u16 of `k` into `v[c..c + 4]`.
#[target_feature(enable = "avx,avx2")]
#[inline]
fn store_u16(v: &mut [u16], c: usize, k: __m128i) {
    let w = &mut v[c..c + LANES];
    // SAFETY: `w` holds four u16 (8 bytes), written unaligned.
    unsafe { _mm_storel_epi64(w.as_mut_ptr().cast(), k) }
}

/// A comparison's all-ones lanes subtracted from a count: +1 where it held.
#[target_feature(enable = "avx,avx2")]
#[inline]
fn tally(n: __m256i, mask: __m256d) -> __m256i {
    _mm256_sub_epi64(n, _mm256_castpd_si256(mask))
}

#[target_feature(enable = "avx,avx2")]
pub fn select_add(dv: f64, parts: ColumnParts, out: &mut [f64]) -> usize {
    let s = out.len();
    let p = parts;
    let (cap, base, dterm, dcap) = (&p.cap[..s], &p.base[..s], &p.dterm[..s], &p.dcap[..s]);
    let whole = s - s % LANES;
    let d = _mm256_set1_pd(dv);
    let mut done = _mm256_setzero_si256();
    for c in (0..whole).step_by(LANES) {
        let cp = load(cap, c);
        // dv <= cap: false where either is NaN, as in the portable code.
        let m = _mm256_cmp_pd::<_CMP_LE_OQ>(d, cp);
        done = tally(done, m);
        let term = _mm256_blendv_pd(load(dcap, c), load(dterm, c), m);
        let x = _mm256_add_pd(load(base, c), term);
        store(out, c, x);
    }
    let rest = super::select_add_portable(dv, parts.from(whole), &mut out[whole..]);
    counts(done).iter().sum::<u64>() as usize + rest
}

#[target_feature(enable = "avx,avx2")]
pub fn used(dv: f64, inv_cap: &[f64]) -> f64 {
    let s = inv_cap.len();
    let whole = s - s % LANES;
    let (d, one) = (_mm256_set1_pd(dv), _mm256_set1_pd(1.0));
    let mut acc = _mm256_setzero_pd();
    for c in (0..whole).step_by(LANES) {
        let x = _mm256_mul_pd(d, load(inv_cap, c));
        // min(x, 1): MINPD gives its second operand when the first is NaN, as f64::min does.
        acc = _mm256_add_pd(acc, _mm256_min_pd(x, one));
    }
    super::used_finish(dv, lanes(acc), &inv_cap[whole..])
}

#[target_feature(enable = "avx,avx2")]
pub fn extremes(v: &[f64]) -> (f64, f64) {
    let s = v.len();
    let whole = s - s % LANES;
    let mut lo = _mm256_set1_pd(f64::INFINITY);
    let mut hi = _mm256_set1_pd(f64::NEG_INFINITY);
    for c in (0..whole).step_by(LANES) {
        let x = load(v, c);
        // MINPD(x, lo) = x < lo ? x : lo, MAXPD(x, hi) = x > hi ? x : hi: the portable selects.
        lo = _mm256_min_pd(x, lo);
        hi = _mm256_max_pd(x, hi);
    }
    super::extremes_finish(lanes(lo), lanes(hi), &v[whole..])
}

#[target_feature(enable = "avx,avx2")]
pub fn sum_above(col: &[f64], t: f64) -> (f64, usize) {
    let s = col.len();
    let whole = s - s % LANES;
    let tv = _mm256_set1_pd(t);
    let mut sum = _mm256_setzero_pd();
    let mut cnt = _mm256_setzero_si256();
    for c in (0..whole).step_by(LANES) {
        let x = load(col, c);
        let over = _mm256_cmp_pd::<_CMP_GT_OQ>(x, tv);
        // x where over, else +0.0 (the portable code's `if over { x } else { 0.0 }`).
        sum = _mm256_add_pd(sum, _mm256_and_pd(over, x));
        cnt = tally(cnt, over);
    }
    super::sum_above_finish(t, (lanes(sum), counts(cnt)), &col[whole..])
}

#[target_feature(enable = "avx,avx2")]
pub fn moments_sums(col: &[f64], l_star: &[f64], shift: f64, limits: Limits) -> Moments {
    let s = col.len();
    let l_star = &l_star[..s];
    let whole = s - s % LANES;
    let (sh, tg, ep) = (
        _mm256_set1_pd(shift),
        _mm256_set1_pd(limits.target),
        _mm256_set1_pd(limits.eps),
    );
    let (mut s1, mut s2, mut rs) = (
        _mm256_setzero_pd(),
        _mm256_setzero_pd(),
        _mm256_setzero_pd(),
    );
    let mut rhi = _mm256_set1_pd(f64::NEG_INFINITY);
    let (mut hits, mut near) = (_mm256_setzero_si256(), _mm256_setzero_si256());
    for c in (0..whole).step_by(LANES) {
        let x = load(col, c);
        let y = _mm256_sub_pd(x, sh);
        s1 = _mm256_add_pd(s1, y);
        s2 = _mm256_add_pd(s2, _mm256_mul_pd(y, y));
        hits = tally(hits, _mm256_cmp_pd::<_CMP_LE_OQ>(x, tg));
        let r = _mm256_sub_pd(x, load(l_star, c));
        near = tally(near, _mm256_cmp_pd::<_CMP_LE_OQ>(r, ep));
        rs = _mm256_add_pd(rs, r);
        rhi = _mm256_max_pd(r, rhi);
    }
    let acc = SumLanes {
        s1: lanes(s1),
        s2: lanes(s2),
        hits: counts(hits),
        near: counts(near),
        rs: lanes(rs),
        rhi: lanes(rhi),
    };
    acc.finish(col, l_star, whole, shift, limits)
}

/// The bin of four values at once: `Binning::bin`'s clamp in floating point, then the
/// truncating conversion.
#[target_feature(enable = "avx,avx2")]
#[inline]
fn bins4(x: __m256d, lo: __m256d, scale: __m256d, top: __m256d) -> __m128i {
    let v = _mm256_mul_pd(_mm256_sub_pd(x, lo), scale);
    // MAXPD(v, 0) gives 0 for NaN v, as f64::max(v, 0.0) does; then min with NB − 1.
    let v = _mm256_min_pd(_mm256_max_pd(v, _mm256_setzero_pd()), top);
    _mm256_cvttpd_epi32(v)
}

#[target_feature(enable = "avx,avx2")]
pub fn bins(col: &[f64], l_star: &[f64], binning: (Binning, Binning), h: &mut Histograms) {
    let s = col.len();
    let (l_star, bx, br) = (&l_star[..s], &mut h.bins_x[..s], &mut h.bins_r[..s]);
    let whole = s - s % LANES;
    let ((lx, sx), (lr, sr)) = (binning.0.parts(), binning.1.parts());
    let (lx, sx, lr, sr) = (
        _mm256_set1_pd(lx),
        _mm256_set1_pd(sx),
        _mm256_set1_pd(lr),
        _mm256_set1_pd(sr),
    );
    let top = _mm256_set1_pd((NB - 1) as f64);
    for c in (0..whole).step_by(LANES) {
        let x = load(col, c);
        let r = _mm256_sub_pd(x, load(l_star, c));
        let kx = _mm_packus_epi32(bins4(x, lx, sx, top), _mm_setzero_si128());
        let kr = _mm_packus_epi32(bins4(r, lr, sr, top), _mm_setzero_si128());
        store_u16(bx, c, kx);
        store_u16(br, c, kr);
    }
    let (rest, rest_star) = (&col[whole..], &l_star[whole..]);
    super::bins_into(rest, rest_star, binning, &mut bx[whole..], &mut br[whole..]);
}
