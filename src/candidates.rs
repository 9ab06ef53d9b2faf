//! The candidate set: the plans every objective chooses among, and the set whose per-draw best
//! is the reference of regret and p_near_best (MODEL.md §5). One set for both, so no objective can
//! recommend a plan that is never best while the reference counts plans it may not choose.
//!
//! A plan (P, D, T) is a candidate when it is feasible (memory, `max_params`, T ≤ the budget's
//! hours) and completes in at least `min_completion` of draws. Completion needs only each draw's
//! throughput (D ≤ cap = throughput·3600·T / (k·P)), so the set is known before any loss is
//! evaluated. For fixed (P, T) completion falls as D grows, so the candidates among the finite
//! D form a prefix of the token axis; the until-the-deadline plan (D = ∞) completes in no draw
//! and is a candidate when `min_completion` is 0.
//!
//! With the until-the-deadline plan on the grid, finite D past every draw's capacity are left
//! out: they train exactly what "until the deadline" trains in every draw (the same column of
//! losses) while naming a token count they never reach. When no feasible plan meets
//! `min_completion`, every feasible plan is a candidate and the report says so.

use crate::grid::Grid;

/// Where a plan stands under the tie rule of MODEL.md §5, the one rule every choice among plans
/// follows (each draw's best in the oracle, each objective's plan, the refinement's moves, the
/// frontier's robust plan, the baselines): the smaller score wins; at equal score the lower
/// expected loss, so a plan that another beats in expected loss at equal score is never chosen;
/// at equal both the lower index (configuration index on the grid; off the grid, where plans
/// have none, 0 for all, so the first of equals stays).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rank {
    pub score: f64,
    pub mean: f64,
    pub index: usize,
}

impl Rank {
    /// Whether this plan is chosen over `other`.
    pub fn beats(&self, other: &Rank) -> bool {
        self.score < other.score
            || (self.score == other.score
                && (self.mean < other.mean
                    || (self.mean == other.mean && self.index < other.index)))
    }

    /// The winner of `ranks` under the rule (None when empty).
    pub fn best(ranks: impl IntoIterator<Item = Rank>) -> Option<Rank> {
        ranks
            .into_iter()
            .reduce(|a, b| if b.beats(&a) { b } else { a })
    }
}

/// Draws in which a finite-D plan must complete to be a candidate: the smallest count c with
/// c / n ≥ `min_completion` (the comparison `p_complete >= min_completion` makes on the
/// statistics; n + 1 when none suffices), and at least one when `deadline_stands_for_them`:
/// "until the deadline" is on the grid and, under wsd, stands for the plans that never complete.
pub fn completions_needed(
    draws: usize,
    min_completion: f64,
    deadline_stands_for_them: bool,
) -> usize {
    let c = (0..=draws)
        .find(|&c| c as f64 / draws as f64 >= min_completion)
        .unwrap_or(draws + 1);
    if deadline_stands_for_them {
        c.max(1)
    } else {
        c
    }
}

/// Which configurations are candidates.
#[derive(Debug, Clone)]
pub struct Candidates {
    /// Per (p, t), at `p * n_hours + t`: how many finite token entries are candidates.
    finite: Vec<usize>,
    /// Whether the until-the-deadline entry is a candidate.
    deadline: bool,
    /// False when no feasible configuration met `min_completion` (then every feasible one is a
    /// candidate).
    pub met: bool,
}

impl Candidates {
    /// The candidates of `grid` for draws with these throughputs (FLOP/s), `k` FLOPs per
    /// parameter-token.
    pub fn new(
        grid: &Grid,
        throughput: &[f64],
        k: f64,
        attention: Option<crate::law::Attention>,
        min_completion: f64,
        cosine: bool,
    ) -> Self {
        let n = throughput.len();
        let need = completions_needed(n, min_completion, grid.until_deadline && !cosine);
        let mut sorted = throughput.to_vec();
        sorted.sort_by(|a, b| b.total_cmp(a));
        let nt = grid.hours.len();
        let finite_d = grid.finite_tokens();
        let mut finite = vec![0; grid.params.len() * nt];
        for p in 0..grid.feasible_params {
            for t in 0..grid.feasible_hours {
                finite[p * nt + t] = match need {
                    0 => finite_d,
                    c if c > n => 0,
                    c => {
                        // The c-th largest capacity, computed as the backends compute it: D
                        // completes in at least c draws iff D ≤ that capacity.
                        let (pv, tv) = (grid.params[p], grid.hours[t]);
                        let kp = crate::law::flops_per_token(k, attention, pv);
                        let cap = crate::law::capacity(sorted[c - 1], tv, kp);
                        grid.tokens[..finite_d].partition_point(|&dv| dv <= cap)
                    }
                };
            }
        }
        let mut set = Candidates {
            finite,
            deadline: grid.until_deadline && min_completion <= 0.0,
            met: true,
        };
        if min_completion > 0.0 && !(0..grid.len()).any(|i| set.contains(grid, i)) {
            set = Candidates::new(grid, throughput, k, attention, 0.0, cosine);
            set.met = false;
        }
        set
    }

    /// Finite token entries that are candidates at (p, t) (a prefix of the token axis).
    pub fn finite_at(&self, grid: &Grid, p: usize, t: usize) -> usize {
        self.finite[p * grid.hours.len() + t]
    }

    /// Whether the until-the-deadline plans are candidates.
    pub fn deadline(&self) -> bool {
        self.deadline
    }

    pub fn contains(&self, grid: &Grid, index: usize) -> bool {
        if !grid.feasible(index) {
            return false;
        }
        let (p, d, t) = grid.coords(index);
        if grid.is_until_deadline(d) {
            self.deadline
        } else {
            d < self.finite_at(grid, p, t)
        }
    }

    /// The candidate indices, ascending.
    pub fn indices(&self, grid: &Grid) -> Vec<usize> {
        (0..grid.len())
            .filter(|&i| self.contains(grid, i))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::Rank;

    fn r(score: f64, mean: f64, index: usize) -> Rank {
        Rank { score, mean, index }
    }

    /// The rule by hand: score, then expected loss, then index; a full tie keeps the incumbent.
    #[test]
    fn tie_rule_orders_score_then_mean_then_index() {
        assert!(r(1.0, 9.0, 9).beats(&r(2.0, 0.0, 0)));
        assert!(!r(2.0, 0.0, 0).beats(&r(1.0, 9.0, 9)));
        assert!(r(1.0, 0.5, 9).beats(&r(1.0, 0.6, 0)));
        assert!(!r(1.0, 0.6, 0).beats(&r(1.0, 0.5, 9)));
        assert!(r(1.0, 0.5, 3).beats(&r(1.0, 0.5, 4)));
        assert!(!r(1.0, 0.5, 4).beats(&r(1.0, 0.5, 3)));
        assert!(!r(1.0, 0.5, 0).beats(&r(1.0, 0.5, 0)));
        let best = Rank::best([
            r(2.0, 1.0, 0),
            r(1.0, 2.0, 5),
            r(1.0, 1.5, 7),
            r(1.0, 1.5, 6),
        ]);
        assert_eq!(best, Some(r(1.0, 1.5, 6)));
        assert_eq!(Rank::best([]), None);
    }
}
