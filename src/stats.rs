//! Statistical primitives shared by the backends and the aggregation step (docs/MODEL.md §5).

/// Rank and interpolation weight of the type-7 quantile q of n sorted values
/// (Hyndman & Fan 1996, type 7; numpy's default "linear" method): h = (n − 1)·q.
pub fn type7_position(n: usize, q: f64) -> (usize, f64) {
    let h = (n - 1) as f64 * q;
    let lo = (h.floor() as usize).min(n - 1);
    (lo, h - lo as f64)
}

/// numpy's `_lerp`: a + (b − a)·t, computed from the nearer end for t ≥ 0.5.
pub fn lerp(a: f64, b: f64, t: f64) -> f64 {
    let d = b - a;
    if t >= 0.5 {
        b - d * (1.0 - t)
    } else {
        a + d * t
    }
}

/// How many of the largest values CVaR at level `level` averages: ceil((1 − level)·n).
pub fn cvar_tail(n: usize, level: f64) -> usize {
    (((1.0 - level) * n as f64) - 1e-9).ceil().max(1.0) as usize
}

/// Brings the order statistics `ranks` (0-based) of `v` into place by successive selection,
/// largest rank first, each selection on the prefix left of the previous one, so the total work
/// is about n + r₂ + r₃ + … rather than a full sort. After it, `v[r]` is the r-th smallest value for
/// every requested r, and `v[r..]` holds the n − r largest for every requested r.
pub fn select_ranks(v: &mut [f64], ranks: &mut Vec<usize>) {
    ranks.sort_unstable_by(|a, b| b.cmp(a));
    ranks.dedup();
    let mut end = v.len();
    for &r in ranks.iter() {
        if r < end {
            v[..end].select_nth_unstable_by(r, f64::total_cmp);
            end = r;
        }
    }
}

/// Type-7 quantiles and CVaR of one sample (the sample is permuted).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tail {
    pub p05: f64,
    pub p50: f64,
    pub p95: f64,
    pub cvar95: f64,
}

/// Quantile levels reported per configuration.
pub const Q05: f64 = 0.05;
pub const Q50: f64 = 0.50;
pub const Q95: f64 = 0.95;
/// CVaR level: the mean of the worst 5%.
pub const CVAR_LEVEL: f64 = 0.95;

/// p05, p50, p95 (type 7) and CVaR95 (mean of the largest ceil(0.05·n) values) of `v`.
pub fn tail(v: &mut [f64]) -> Tail {
    let n = v.len();
    let m = cvar_tail(n, CVAR_LEVEL);
    let pos = [
        type7_position(n, Q05),
        type7_position(n, Q50),
        type7_position(n, Q95),
    ];
    let mut ranks = vec![n - m];
    for (lo, _) in pos {
        ranks.push(lo);
        ranks.push((lo + 1).min(n - 1));
    }
    select_ranks(v, &mut ranks);
    let q = |(lo, t): (usize, f64)| {
        if t == 0.0 {
            v[lo]
        } else {
            lerp(v[lo], v[lo + 1], t)
        }
    };
    let cvar95 = v[n - m..].iter().sum::<f64>() / m as f64;
    Tail {
        p05: q(pos[0]),
        p50: q(pos[1]),
        p95: q(pos[2]),
        cvar95,
    }
}

/// One type-7 quantile of `v` (permuted).
pub fn quantile(v: &mut [f64], q: f64) -> f64 {
    let n = v.len();
    let (lo, t) = type7_position(n, q);
    select_ranks(v, &mut vec![lo, (lo + 1).min(n - 1)]);
    if t == 0.0 {
        v[lo]
    } else {
        lerp(v[lo], v[lo + 1], t)
    }
}

/// Mean and sample standard deviation (n − 1), two passes; sd is NaN for one value.
pub fn mean_sd(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let ss: f64 = v.iter().map(|x| (x - mean) * (x - mean)).sum();
    (
        mean,
        if v.len() > 1 {
            (ss / (n - 1.0)).sqrt()
        } else {
            f64::NAN
        },
    )
}

/// The levels of a 95% percentile interval, written out (not computed as (1 ± 0.95)/2, which
/// misses 0.025 and 0.975 by an ulp).
pub const INTERVAL_95: (f64, f64) = (0.025, 0.975);

/// The bootstrap percentile interval of replicates `v` (permuted) at the quantile levels
/// `(lo, hi)` (type 7), e.g. [`INTERVAL_95`].
pub fn percentile_interval(v: &mut [f64], (lo, hi): (f64, f64)) -> (f64, f64) {
    (quantile(v, lo), quantile(v, hi))
}

/// Ranks 1..n of `v`, ties given their average rank (Spearman's ρ is Pearson's r of these).
pub fn ranks(v: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..v.len()).collect();
    order.sort_by(|&a, &b| v[a].total_cmp(&v[b]));
    let mut r = vec![0.0; v.len()];
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && v[order[j + 1]] == v[order[i]] {
            j += 1;
        }
        let avg = (i + j) as f64 / 2.0 + 1.0;
        for &k in &order[i..=j] {
            r[k] = avg;
        }
        i = j + 1;
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    /// By hand: 1 is first, 2 second, the two 3s share ranks 3 and 4.
    #[test]
    fn ranks_average_ties() {
        assert_eq!(ranks(&[3.0, 1.0, 3.0, 2.0]), vec![3.5, 1.0, 3.5, 2.0]);
        assert_eq!(ranks(&[]), Vec::<f64>::new());
    }

    /// 0..=40: the 2.5th and 97.5th type-7 percentiles are 1 and 39 (h = 40·q).
    #[test]
    fn percentile_interval_of_0_to_40() {
        let mut v: Vec<f64> = (0..=40).rev().map(f64::from).collect();
        assert_eq!(percentile_interval(&mut v, INTERVAL_95), (1.0, 39.0));
    }

    /// Hand-computed (h = (n − 1)·q on x = 1..=20): p05 = 1 + 0.95 = 1.95, p50 = 10.5,
    /// p95 = 19 + 0.05 = 19.05; numpy.quantile gives the same.
    #[test]
    fn type7_matches_numpy_on_1_to_20() {
        let mut v: Vec<f64> = (1..=20).rev().map(f64::from).collect();
        let t = tail(&mut v);
        assert!(
            (t.p05 - 1.95).abs() < 1e-12
                && (t.p50 - 10.5).abs() < 1e-12
                && (t.p95 - 19.05).abs() < 1e-12,
            "{t:?}"
        );
        // worst 5% of 20 values = the single largest.
        assert_eq!(t.cvar95, 20.0);
    }

    #[test]
    fn selection_agrees_with_a_full_sort() {
        let mut x: Vec<f64> = (0..1001)
            .map(|i| ((i * 7919) % 1009) as f64 * 0.37)
            .collect();
        let mut sorted = x.clone();
        sorted.sort_by(f64::total_cmp);
        let t = tail(&mut x);
        let q = |p: f64| {
            let (lo, w) = type7_position(sorted.len(), p);
            if w == 0.0 {
                sorted[lo]
            } else {
                lerp(sorted[lo], sorted[lo + 1], w)
            }
        };
        let m = cvar_tail(1001, 0.95);
        assert_eq!(m, 51);
        let cvar = sorted[1001 - m..].iter().sum::<f64>() / m as f64;
        assert_eq!((t.p05, t.p50, t.p95), (q(0.05), q(0.5), q(0.95)));
        assert!((t.cvar95 - cvar).abs() < 1e-12);
    }

    #[test]
    fn cvar_tail_counts() {
        assert_eq!(cvar_tail(4, 0.95), 1);
        assert_eq!(cvar_tail(100, 0.95), 5);
        assert_eq!(cvar_tail(8192, 0.95), 410);
    }
}
