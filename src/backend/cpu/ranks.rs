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
pub const NB: usize = 1024;

/// Equal-width bins over [lo, hi]. The bin index is a monotone function of the value (values
/// outside the range clamp to the end bins), which is all exactness needs: a loose range only
/// makes the bins holding the ranks larger.
#[derive(Debug, Clone, Copy)]
pub struct Binning {
    lo: f64,
    scale: f64,
}

impl Binning {
    pub fn new(lo: f64, hi: f64) -> Binning {
        let width = hi - lo;
        Binning {
            lo,
            scale: if width > 0.0 {
                (NB - 1) as f64 / width
            } else {
                0.0
            },
        }
    }

    /// The range's start and the bins per unit of value.
    pub fn parts(&self) -> (f64, f64) {
        (self.lo, self.scale)
    }

    /// The bin of `x`: below `lo` (and NaN) is bin 0, above the range bin NB − 1 (clamped in
    /// floating point, `max` giving 0 for NaN, then truncated: what the AVX2 kernel computes).
    #[inline]
    pub fn bin(&self, x: f64) -> usize {
        ((x - self.lo) * self.scale).max(0.0).min((NB - 1) as f64) as usize
    }
}

/// Reusable scratch for one thread.
pub struct Ranker {
    bins: Vec<u16>,
    gathered: Vec<Vec<f64>>,
}

const NO_SLOT: u8 = u8::MAX;
/// At most this many ranks, so at most this many bins to gather.
const NB_SLOTS: usize = 16;

impl Ranker {
    /// Scratch for samples of up to `n` values.
    pub fn new(n: usize) -> Ranker {
        Ranker {
            bins: vec![0; n],
            gathered: Vec::new(),
        }
    }

    /// `out[j]` = the `ranks[j]`-th smallest value of `v` (0-based), exactly; `lo` and `hi` are
    /// the minimum and maximum of `v` (any bounds work; tight ones are fastest). At most 16 ranks.
    pub fn select(&mut self, v: &[f64], lo: f64, hi: f64, ranks: &[usize], out: &mut [f64]) {
        let binning = Binning::new(lo, hi);
        let mut counts = [0u32; NB];
        let mut bins = std::mem::take(&mut self.bins);
        for (b, &x) in bins[..v.len()].iter_mut().zip(v) {
            let k = binning.bin(x);
            *b = k as u16;
            counts[k] += 1;
        }
        self.select_binned(&bins[..v.len()], &counts, |i| v[i], ranks, out);
        self.bins = bins;
    }

    /// The same, for values already binned by the caller (`bins[i]` the bin of value i, `counts`
    /// the histogram, `value(i)` value i): a prefix sum finds the bin and offset of every rank,
    /// one pass gathers those bins' values, and selection inside each gives the exact values.
    pub fn select_binned(
        &mut self,
        bins: &[u16],
        counts: &[u32; NB],
        value: impl Fn(usize) -> f64,
        ranks: &[usize],
        out: &mut [f64],
    ) {
        debug_assert!(ranks.len() <= NB_SLOTS && ranks.len() == out.len());
        let mut want: [(usize, usize); NB_SLOTS] = [(0, 0); NB_SLOTS];
        let mut order: [usize; NB_SLOTS] = std::array::from_fn(|j| j);
        order[..ranks.len()].sort_unstable_by_key(|&j| ranks[j]);
        let (mut k, mut below) = (0usize, 0usize);
        for &j in &order[..ranks.len()] {
            let r = ranks[j];
            while below + counts[k] as usize <= r {
                below += counts[k] as usize;
                k += 1;
            }
            want[j] = (k, r - below);
        }
        // The bins holding a rank, each once: `slot[b]` numbers bin b, `wanted[k]` is bin k.
        let mut slot = [NO_SLOT; NB];
        let mut wanted = [0u16; NB_SLOTS];
        let mut used = 0usize;
        for &(b, _) in &want[..ranks.len()] {
            if slot[b] == NO_SLOT {
                slot[b] = used as u8;
                wanted[used] = b as u16;
                if self.gathered.len() <= used {
                    self.gathered.push(Vec::new());
                }
                self.gathered[used].clear();
                used += 1;
            }
        }
        if used == 0 {
            return;
        }
        // Unused entries repeat the first bin.
        let first = wanted[0];
        wanted[used..].fill(first);
        super::kernels::in_bins(bins, wanted, |i| {
            let k = slot[usize::from(bins[i]) & (NB - 1)];
            self.gathered[k as usize].push(value(i));
        });
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
            assert!(v.len() <= 8192);
            let n = v.len();
            let mut sorted = v.clone();
            sorted.sort_by(f64::total_cmp);
            let ranks = [0, 1, n / 20, n / 2, n / 2 + 1, n - n / 20, n - 2, n - 1];
            let mut out = [0.0; 8];
            let mut rk = Ranker::new(n);
            rk.select(&v, sorted[0], sorted[n - 1], &ranks, &mut out);
            let want: Vec<f64> = ranks.iter().map(|&k| sorted[k]).collect();
            assert_eq!(out.to_vec(), want, "n = {n}");
            r.select(&v, sorted[0], sorted[n - 1], &ranks, &mut out);
            assert_eq!(out.to_vec(), want, "reused scratch, n = {n}");
            // Sixteen ranks, in as many bins as they fall in.
            let many: [usize; 16] = std::array::from_fn(|j| j * (n - 1) / 15);
            let mut out = [0.0; 16];
            r.select(&v, sorted[0], sorted[n - 1], &many, &mut out);
            let want: Vec<f64> = many.iter().map(|&k| sorted[k]).collect();
            assert_eq!(out.to_vec(), want, "16 ranks, n = {n}");
        }
    }
}
