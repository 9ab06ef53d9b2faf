//! Exact order statistics by bucketing, for pass 2's quantiles and CVaR.
//!
//! One pass puts every value in one of B equal-width bins over [min, max] (the bin index is a
//! monotone function of the value, so every value of bin k is ≤ every value of bin k + 1), a
//! prefix sum over the counts finds the bin holding each requested rank, a second pass gathers
//! only those bins' values (about n/B each), and `select_nth_unstable` inside the small gathered
//! set gives the exact order statistic. About two light passes over n values instead of the
//! ~2.5 n partitioning of successive selection (`stats::select_ranks`, kept as the reference the
//! tests compare with).

/// Bins per pass: fixed, so the tables live on the stack and need no bounds checks (about 8
/// values per bin at 8,192 draws).
const NB: usize = 1024;

/// Reusable scratch for one thread.
pub struct Ranker {
    bins: Vec<u16>,
    gathered: Vec<Vec<f64>>,
}

const NO_SLOT: u8 = u8::MAX;

impl Ranker {
    /// Scratch for samples of up to `n` values.
    pub fn new(n: usize) -> Ranker {
        Ranker {
            bins: vec![0; n],
            gathered: Vec::new(),
        }
    }

    /// `out[j]` = the `ranks[j]`-th smallest value of `v` (0-based), exactly; `lo` and `hi` are
    /// the minimum and maximum of `v`. At most 16 ranks.
    pub fn select(&mut self, v: &[f64], lo: f64, hi: f64, ranks: &[usize], out: &mut [f64]) {
        debug_assert!(ranks.len() <= 16 && ranks.len() == out.len());
        let n = v.len();
        if !(hi > lo) {
            out.iter_mut().for_each(|o| *o = lo);
            return;
        }
        // (x − lo)·scale ≤ NB − 1 for x ≤ hi up to rounding; the `min` makes it certain.
        let scale = (NB - 1) as f64 / (hi - lo);
        let mut counts = [0u32; NB];
        let bins = &mut self.bins[..n];
        for (b, &x) in bins.iter_mut().zip(v) {
            let k = (((x - lo) * scale) as u32 as usize).min(NB - 1);
            *b = k as u16;
            counts[k] += 1;
        }
        // The bin and the offset within it of every rank.
        let mut want: [(usize, usize); 16] = [(0, 0); 16];
        let mut order: Vec<usize> = (0..ranks.len()).collect();
        order.sort_unstable_by_key(|&j| ranks[j]);
        let (mut k, mut below) = (0usize, 0usize);
        for &j in &order {
            let r = ranks[j];
            while below + counts[k] as usize <= r {
                below += counts[k] as usize;
                k += 1;
            }
            want[j] = (k, r - below);
        }
        // One gather pass for every wanted bin.
        let mut used_bins: Vec<usize> = want[..ranks.len()].iter().map(|w| w.0).collect();
        used_bins.sort_unstable();
        used_bins.dedup();
        while self.gathered.len() < used_bins.len() {
            self.gathered.push(Vec::new());
        }
        let mut slot = [NO_SLOT; NB];
        for (s, &b) in used_bins.iter().enumerate() {
            slot[b] = s as u8;
            self.gathered[s].clear();
        }
        for (&b, &x) in bins.iter().zip(v) {
            let s = slot[b as usize & (NB - 1)];
            if s != NO_SLOT {
                self.gathered[s as usize].push(x);
            }
        }
        for (j, &(b, off)) in want[..ranks.len()].iter().enumerate() {
            let g = &mut self.gathered[slot[b] as usize];
            let (_, x, _) = g.select_nth_unstable_by(off, f64::total_cmp);
            out[j] = *x;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Against a full sort, on samples with a long tail, heavy ties and all-equal values.
    #[test]
    fn matches_a_full_sort() {
        let samples: Vec<Vec<f64>> = vec![
            (0..8192)
                .map(|i| {
                    2.7 + ((i * 7919) % 8191) as f64 * 1e-7 + if i % 97 == 0 { 0.5 } else { 0.0 }
                })
                .collect(),
            (0..1000).map(|i| f64::from((i * 31) % 7)).collect(),
            vec![3.5; 64],
            (0..4096)
                .map(|i| (f64::from(i) * 0.37).sin().exp())
                .collect(),
        ];
        let mut r = Ranker::new(8192);
        for v in samples {
            let n = v.len();
            let mut sorted = v.clone();
            sorted.sort_by(f64::total_cmp);
            let ranks = [0, 1, n / 20, n / 2, n / 2 + 1, n - n / 20, n - 2, n - 1];
            let mut out = [0.0; 8];
            let mut rk = Ranker::new(n);
            rk.select(&v, sorted[0], sorted[n - 1], &ranks, &mut out);
            let want: Vec<f64> = ranks.iter().map(|&k| sorted[k]).collect();
            assert_eq!(out.to_vec(), want, "n = {n}");
            if n <= 8192 {
                r.select(&v, sorted[0], sorted[n - 1], &ranks, &mut out);
                assert_eq!(out.to_vec(), want, "reused scratch, n = {n}");
            }
        }
    }
}
