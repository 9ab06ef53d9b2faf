//! The statistics pass's hot loops over one column of draws, each twice: portable Rust and AVX2
//! intrinsics ([`avx2`], chosen at run time where the CPU has it). Both do the same operations
//! in the same order, so they give the same bits (a test holds each pair to each other).
//!
//! Sums run in `LANES` independent accumulators, lane l taking values l, l + LANES, … and lane 0
//! the remainder, combined by [`lane_sum`]. The AVX2 copies do the whole groups of `LANES` and
//! hand their lanes to the portable code's `*_finish` (the remainder and the combination), so
//! that part is written once.

use super::evaluate::{lane_sum, LANES};
use super::ranks::{Binning, NB};

#[cfg(target_arch = "x86_64")]
mod avx2;

/// Whether this CPU runs the AVX2 kernels (detected once by the standard library, then a load).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn has_avx2() -> bool {
    std::arch::is_x86_feature_detected!("avx2")
}

/// Runs the AVX2 kernel where the CPU has it, else the portable one.
macro_rules! dispatch {
    ($avx2:expr, $portable:expr) => {{
        #[cfg(target_arch = "x86_64")]
        if has_avx2() {
            // SAFETY: the CPU has AVX2, checked just above.
            return unsafe { $avx2 };
        }
        $portable
    }};
}

/// What an additive law's column is made of, per draw: the cap, the P-and-T term, the D term at
/// the run's D and at the cap.
#[derive(Clone, Copy)]
pub struct ColumnParts<'a> {
    pub cap: &'a [f64],
    pub base: &'a [f64],
    pub dterm: &'a [f64],
    pub dcap: &'a [f64],
}

impl<'a> ColumnParts<'a> {
    /// The draws from `i` on.
    fn from(self, i: usize) -> ColumnParts<'a> {
        ColumnParts {
            cap: &self.cap[i..],
            base: &self.base[i..],
            dterm: &self.dterm[i..],
            dcap: &self.dcap[i..],
        }
    }
}

/// An additive law's column: `out[i] = base[i] + (dterm[i] if D ≤ cap[i] else dcap[i])`;
/// returns the number of draws in which the run completes (D ≤ cap).
#[inline]
pub fn select_add(dv: f64, parts: ColumnParts, out: &mut [f64]) -> usize {
    dispatch!(
        avx2::select_add(dv, parts, out),
        select_add_portable(dv, parts, out)
    )
}

fn select_add_portable(dv: f64, parts: ColumnParts, out: &mut [f64]) -> usize {
    let p = parts;
    let mut complete = 0;
    for (i, o) in out.iter_mut().enumerate() {
        let done = dv <= p.cap[i];
        complete += usize::from(done);
        *o = p.base[i] + if done { p.dterm[i] } else { p.dcap[i] };
    }
    complete
}

/// Σ min(1, D·(1/cap)) over the draws: the summed fraction of T a run of D tokens uses.
#[inline]
pub fn used(dv: f64, inv_cap: &[f64]) -> f64 {
    dispatch!(avx2::used(dv, inv_cap), used_portable(dv, inv_cap))
}

fn used_portable(dv: f64, inv_cap: &[f64]) -> f64 {
    let mut used_l = [0.0f64; LANES];
    let chunks = inv_cap.chunks_exact(LANES);
    let rest = chunks.remainder();
    for c in chunks {
        for l in 0..LANES {
            used_l[l] += (dv * c[l]).min(1.0);
        }
    }
    used_finish(dv, used_l, rest)
}

/// The remainder into lane 0, and the lanes combined.
fn used_finish(dv: f64, mut used_l: [f64; LANES], rest: &[f64]) -> f64 {
    for &ic in rest {
        used_l[0] += (dv * ic).min(1.0);
    }
    lane_sum(&used_l)
}

/// Minimum and maximum.
#[inline]
pub fn extremes(v: &[f64]) -> (f64, f64) {
    dispatch!(avx2::extremes(v), extremes_portable(v))
}

fn extremes_portable(v: &[f64]) -> (f64, f64) {
    let mut lo = [f64::INFINITY; LANES];
    let mut hi = [f64::NEG_INFINITY; LANES];
    let chunks = v.chunks_exact(LANES);
    let rest = chunks.remainder();
    for c in chunks {
        for l in 0..LANES {
            lo[l] = if c[l] < lo[l] { c[l] } else { lo[l] };
            hi[l] = if c[l] > hi[l] { c[l] } else { hi[l] };
        }
    }
    extremes_finish(lo, hi, rest)
}

/// The remainder into lane 0, and the lanes combined.
fn extremes_finish(mut lo: [f64; LANES], mut hi: [f64; LANES], rest: &[f64]) -> (f64, f64) {
    for &x in rest {
        lo[0] = lo[0].min(x);
        hi[0] = hi[0].max(x);
    }
    (
        lo.into_iter().fold(f64::INFINITY, f64::min),
        hi.into_iter().fold(f64::NEG_INFINITY, f64::max),
    )
}

/// Σ and count of the values above `t`.
#[inline]
pub fn sum_above(col: &[f64], t: f64) -> (f64, usize) {
    dispatch!(avx2::sum_above(col, t), sum_above_portable(col, t))
}

fn sum_above_portable(col: &[f64], t: f64) -> (f64, usize) {
    let mut sum = [0.0f64; LANES];
    let mut cnt = [0u64; LANES];
    let chunks = col.chunks_exact(LANES);
    let rest = chunks.remainder();
    for c in chunks {
        for l in 0..LANES {
            let over = c[l] > t;
            sum[l] += if over { c[l] } else { 0.0 };
            cnt[l] += u64::from(over);
        }
    }
    sum_above_finish(t, (sum, cnt), rest)
}

/// The remainder into lane 0, and the lanes combined.
fn sum_above_finish(
    t: f64,
    (mut sum, mut cnt): ([f64; LANES], [u64; LANES]),
    rest: &[f64],
) -> (f64, usize) {
    for &x in rest {
        sum[0] += if x > t { x } else { 0.0 };
        cnt[0] += u64::from(x > t);
    }
    (lane_sum(&sum), cnt.iter().sum::<u64>() as usize)
}

/// What the moments pass over one column returns.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Moments {
    /// Σ (x − shift), Σ (x − shift)²: shifted sums, accurate when shift is near the mean.
    pub s1: f64,
    pub s2: f64,
    /// #{x ≤ target}.
    pub hits: usize,
    /// #{x − L* ≤ ε}.
    pub near: usize,
    pub r_sum: f64,
    pub r_hi: f64,
}

/// The thresholds of the moments pass: the target loss (−∞ for none) and the near-best ε.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub target: f64,
    pub eps: f64,
}

/// The histograms of one column's losses and regrets: `bins_*[i]` the bin of value i,
/// `counts_*` the histogram.
pub struct Histograms<'a> {
    pub bins_x: &'a mut [u16],
    pub bins_r: &'a mut [u16],
    pub counts_x: &'a mut [u32; NB],
    pub counts_r: &'a mut [u32; NB],
}

/// Over one column x and the draws' optima L*: the moments, the target count, the near-best
/// count (regret x − L* ≤ ε), the regrets' sum and maximum ([`moments_sums`]), every value's bin
/// of losses and of regrets ([`bins`]), then the two histograms (increments one at a time).
pub fn moments(
    col: &[f64],
    l_star: &[f64],
    shift: f64,
    limits: Limits,
    binning: (Binning, Binning),
    h: &mut Histograms,
) -> Moments {
    let s = col.len();
    let m = moments_sums(col, l_star, shift, limits);
    bins(col, l_star, binning, h);
    h.counts_x.fill(0);
    h.counts_r.fill(0);
    for (&kx, &kr) in h.bins_x[..s].iter().zip(&h.bins_r[..s]) {
        h.counts_x[usize::from(kx) & (NB - 1)] += 1;
        h.counts_r[usize::from(kr) & (NB - 1)] += 1;
    }
    m
}

/// The sums of [`moments`].
#[inline]
pub fn moments_sums(col: &[f64], l_star: &[f64], shift: f64, limits: Limits) -> Moments {
    dispatch!(
        avx2::moments_sums(col, l_star, shift, limits),
        moments_sums_portable(col, l_star, shift, limits)
    )
}

fn moments_sums_portable(col: &[f64], l_star: &[f64], shift: f64, limits: Limits) -> Moments {
    let mut acc = SumLanes::START;
    for (x, ls) in col
        .chunks_exact(LANES)
        .zip(l_star[..col.len()].chunks_exact(LANES))
    {
        for l in 0..LANES {
            acc.add(l, x[l], ls[l], shift, limits);
        }
    }
    acc.finish(col, l_star, col.len() - col.len() % LANES, shift, limits)
}

/// The lane accumulators of [`moments_sums`].
struct SumLanes {
    s1: [f64; LANES],
    s2: [f64; LANES],
    hits: [u64; LANES],
    near: [u64; LANES],
    rs: [f64; LANES],
    rhi: [f64; LANES],
}

impl SumLanes {
    const START: SumLanes = SumLanes {
        s1: [0.0; LANES],
        s2: [0.0; LANES],
        hits: [0; LANES],
        near: [0; LANES],
        rs: [0.0; LANES],
        rhi: [f64::NEG_INFINITY; LANES],
    };

    /// Value x with optimum `ls` into lane l.
    #[inline(always)]
    fn add(&mut self, l: usize, x: f64, ls: f64, shift: f64, Limits { target, eps }: Limits) {
        let y = x - shift;
        self.s1[l] += y;
        self.s2[l] += y * y;
        self.hits[l] += u64::from(x <= target);
        let r = x - ls;
        self.near[l] += u64::from(r <= eps);
        self.rs[l] += r;
        self.rhi[l] = if r > self.rhi[l] { r } else { self.rhi[l] };
    }

    /// Values `from..` into lane 0, and the lanes combined.
    fn finish(
        mut self,
        col: &[f64],
        l_star: &[f64],
        from: usize,
        shift: f64,
        limits: Limits,
    ) -> Moments {
        for (&x, &ls) in col[from..].iter().zip(&l_star[from..col.len()]) {
            self.add(0, x, ls, shift, limits);
        }
        Moments {
            s1: lane_sum(&self.s1),
            s2: lane_sum(&self.s2),
            hits: self.hits.iter().sum::<u64>() as usize,
            near: self.near.iter().sum::<u64>() as usize,
            r_sum: lane_sum(&self.rs),
            r_hi: self.rhi.into_iter().fold(f64::NEG_INFINITY, f64::max),
        }
    }
}

/// Every value's bin of losses (`h.bins_x[i]`) and of regrets x − L* (`h.bins_r[i]`).
#[inline]
pub fn bins(col: &[f64], l_star: &[f64], binning: (Binning, Binning), h: &mut Histograms) {
    dispatch!(
        avx2::bins(col, l_star, binning, h),
        bins_portable(col, l_star, binning, h)
    )
}

fn bins_portable(col: &[f64], l_star: &[f64], binning: (Binning, Binning), h: &mut Histograms) {
    bins_into(col, l_star, binning, h.bins_x, h.bins_r);
}

/// Value i's bins into `bx[i]` and `br[i]`.
fn bins_into(
    col: &[f64],
    l_star: &[f64],
    binning: (Binning, Binning),
    bx: &mut [u16],
    br: &mut [u16],
) {
    for (((&x, &ls), kx), kr) in col.iter().zip(l_star).zip(bx).zip(br) {
        *kx = binning.0.bin(x) as u16;
        *kr = binning.1.bin(x - ls) as u16;
    }
}

/// Calls `f(i)` for every i, in order, whose `bins[i]` is one of the `W` `wanted` (repeat an
/// entry to look for fewer). Sixteen bins at a time are compared with every wanted one in vector
/// registers; only a group with a match is looked at one by one (with a handful of wanted bins
/// of ~8 values each in 8,192, most groups have none). W is a constant so that the comparisons
/// unroll.
pub fn in_bins<const W: usize>(bins: &[u16], wanted: [u16; W], mut f: impl FnMut(usize)) {
    const GROUP: usize = 16;
    let hit = |b: u16| wanted.iter().fold(false, |h, &k| h | (b == k));
    let groups = bins.chunks_exact(GROUP);
    let rest = groups.remainder();
    for (g, c) in groups.enumerate() {
        let any = c.iter().fold(false, |a, &b| a | hit(b));
        if any {
            for (l, &b) in c.iter().enumerate() {
                if hit(b) {
                    f(g * GROUP + l);
                }
            }
        }
    }
    let start = bins.len() - rest.len();
    for (l, &b) in rest.iter().enumerate() {
        if hit(b) {
            f(start + l);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Columns with a remainder past the last whole lane group, infinities, ties and NaNs.
    fn columns() -> Vec<Vec<f64>> {
        let wavy = |n: usize, k: f64| -> Vec<f64> {
            (0..n)
                .map(|i| 2.5 + 0.3 * (i as f64 * k).sin() + 1e-9 * i as f64)
                .collect()
        };
        let mut with_inf = wavy(1003, 0.37);
        with_inf[17] = f64::INFINITY;
        with_inf[400] = f64::NEG_INFINITY;
        let mut with_nan = wavy(64, 1.1);
        with_nan[5] = f64::NAN;
        // A NaN after a lane's largest value and before smaller ones: where a NaN goes in a
        // select decides the lane's extreme.
        let nan = f64::NAN;
        let nan_mid = vec![
            0.5, 3.0, 2.0, 2.0, nan, nan, 2.0, 2.0, 1.0, 1.0, 1.0, 1.0, 1.0,
        ];
        vec![
            wavy(8192, 0.013),
            wavy(1001, 0.7),
            with_inf,
            with_nan,
            nan_mid,
            vec![3.0; 7],
            vec![],
        ]
    }

    /// Each kernel's AVX2 copy (the dispatching function, where the CPU has AVX2) gives the
    /// portable copy's bits.
    #[test]
    fn every_kernel_gives_the_portable_bits() {
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        for col in columns() {
            let n = col.len();
            let other: Vec<f64> = col.iter().rev().map(|x| x - 0.2).collect();
            let third: Vec<f64> = col.iter().map(|x| x * 0.7 + 0.1).collect();
            let inv: Vec<f64> = col.iter().map(|x| 1.0 / x).collect();
            let (mut a, mut b) = (vec![0.0; n], vec![0.0; n]);
            for dv in [2.4, 2.6, f64::INFINITY, f64::NAN] {
                let parts = ColumnParts {
                    cap: &col,
                    base: &other,
                    dterm: &third,
                    dcap: &inv,
                };
                let fast = select_add(dv, parts, &mut a);
                let slow = select_add_portable(dv, parts, &mut b);
                assert_eq!((fast, bits(&a)), (slow, bits(&b)), "select_add, n = {n}");
                let (fast, slow) = (used(dv, &inv), used_portable(dv, &inv));
                assert_eq!(fast.to_bits(), slow.to_bits(), "used, n = {n}");
                let (fast, slow) = (sum_above(&col, dv), sum_above_portable(&col, dv));
                assert_eq!(
                    (fast.0.to_bits(), fast.1),
                    (slow.0.to_bits(), slow.1),
                    "sum_above"
                );
            }
            let (fast, slow) = (extremes(&col), extremes_portable(&col));
            assert_eq!(
                bits(&[fast.0, fast.1]),
                bits(&[slow.0, slow.1]),
                "extremes, n = {n}"
            );
            for limits in [
                Limits {
                    target: 2.5,
                    eps: 0.05,
                },
                Limits {
                    target: f64::NEG_INFINITY,
                    eps: 0.0,
                },
            ] {
                let fast = moments_sums(&col, &other, 2.5, limits);
                let slow = moments_sums_portable(&col, &other, 2.5, limits);
                assert_eq!(format!("{fast:?}"), format!("{slow:?}"), "moments, n = {n}");
            }
            for binning in [
                (Binning::new(2.2, 2.8), Binning::new(-0.5, 0.7)),
                (Binning::new(2.5, 2.5), Binning::new(0.0, 1e-300)),
            ] {
                let [fast, slow] = [9u16, 7].map(|fill| {
                    let (mut bx, mut br) = (vec![fill; n], vec![fill; n]);
                    let (mut cx, mut cr) = ([0u32; NB], [0u32; NB]);
                    let mut h = Histograms {
                        bins_x: &mut bx,
                        bins_r: &mut br,
                        counts_x: &mut cx,
                        counts_r: &mut cr,
                    };
                    if fill == 9 {
                        bins(&col, &other, binning, &mut h);
                    } else {
                        bins_portable(&col, &other, binning, &mut h);
                    }
                    (bx, br)
                });
                assert_eq!(fast, slow, "bins, n = {n}");
                assert!(fast.0.iter().chain(&fast.1).all(|&k| usize::from(k) < NB));
            }
        }
    }

    /// The histograms count every value once, in its bin; `in_bins` finds exactly the values of
    /// the bins it is given, in order.
    #[test]
    fn histograms_and_gather() {
        for col in columns() {
            let n = col.len();
            let other: Vec<f64> = col.iter().rev().map(|x| x - 0.2).collect();
            let binning = (Binning::new(2.2, 2.8), Binning::new(-0.5, 0.7));
            let (mut bx, mut br) = (vec![0u16; n], vec![0u16; n]);
            let (mut cx, mut cr) = ([7u32; NB], [7u32; NB]);
            let limits = Limits {
                target: 2.5,
                eps: 0.05,
            };
            let mut h = Histograms {
                bins_x: &mut bx,
                bins_r: &mut br,
                counts_x: &mut cx,
                counts_r: &mut cr,
            };
            moments(&col, &other, 2.5, limits, binning, &mut h);
            for (bins, counts) in [(&bx, &cx), (&br, &cr)] {
                let mut want = [0u32; NB];
                for (i, &k) in bins.iter().enumerate() {
                    want[usize::from(k)] += 1;
                    let x = if std::ptr::eq(bins, &bx) {
                        col[i]
                    } else {
                        col[i] - other[i]
                    };
                    let expect = if std::ptr::eq(bins, &bx) {
                        binning.0
                    } else {
                        binning.1
                    };
                    assert_eq!(usize::from(k), expect.bin(x), "bin of value {i}");
                }
                assert_eq!(counts.to_vec(), want.to_vec(), "histogram, n = {n}");
            }
            let mut wanted = [7; 8];
            wanted[..4].copy_from_slice(&[bx.first().copied().unwrap_or(0), 511, 1023, 0]);
            let mut got = Vec::new();
            in_bins(&bx, wanted, |i| got.push(i));
            let want: Vec<usize> = (0..n).filter(|&i| wanted.contains(&bx[i])).collect();
            assert_eq!(got, want, "in_bins, n = {n}");
        }
    }
}
