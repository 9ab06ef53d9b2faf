//! What is worth finding out (MODEL.md §5: variance and information), on a100-3days at a
//! reduced grid: EVPI is the plan's mean regret, no group's EVPPI exceeds EVPI, and the variance
//! indices agree with the marginal rank correlations where one input dominates. Every number is computed here or by a different route than the one it is held to.

use std::path::Path;

use scalerisk::pipeline::{self, BackendChoice, RunResult};
use scalerisk::scenario;

fn run(sets: &[&str]) -> RunResult {
    let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
    let s = scenario::from_path(Path::new("scenarios/a100-3days.toml"), &sets).unwrap();
    pipeline::run(s, BackendChoice::Cpu, false).unwrap()
}

const SMALL: [&str; 3] = [
    "search.params={min=3e7,max=3e9,points=80}",
    "search.tokens={min=1e9,max=1e12,points=80}",
    "sampling.draws=4096",
];

#[test]
fn evpi_is_the_plans_mean_regret_and_bounds_the_groups() {
    let r = run(&SMALL);
    let info = &r.summary.information;
    let all = info.iter().find(|v| v.group == "all").expect("EVPI row");
    // The expected-loss grid plan's mean regret against the per-draw best candidate, from the
    // backend's statistics (a different pass from information.rs's columns).
    let plan = &r.summary.recommendations[0];
    let grid_regret = r.evaluation.stats[plan.grid.index].regret_mean;
    assert!(
        (all.value - grid_regret).abs() <= 2.0 * all.se + 1e-12,
        "EVPI {} ± {} vs mean regret {grid_regret}",
        all.value,
        all.se
    );
    let groups: Vec<_> = info.iter().filter(|v| v.group != "all").collect();
    assert!(groups.iter().any(|v| v.group == "mfu") && groups.iter().any(|v| v.group == "law"));
    // Knowing one group cannot be worth more than knowing everything: each EVPPI ≤ EVPI (the
    // sum of the groups' may exceed it: L₂ − L₁ = X + Y with X, Y iid N(0, 1) has EVPPI 0.40
    // per input and EVPI 0.56), and none is negative.
    for v in &groups {
        assert!(
            v.value <= all.value + 2.0 * (v.se + all.se),
            "{}: EVPPI {} ± {} > EVPI {} ± {}",
            v.group,
            v.value,
            v.se,
            all.value,
            all.se
        );
        assert!(v.value >= -2.0 * v.se, "{}: {}", v.group, v.value);
        assert_eq!(v.decile_params.len(), 10);
    }
    // Knowing MFU settles how many tokens the run gets: the plan one would pick grows with it.
    let mfu = groups.iter().find(|v| v.group == "mfu").unwrap();
    assert!(
        mfu.decile_params[9] > mfu.decile_params[0],
        "{:?}",
        mfu.decile_params
    );
}

#[test]
fn variance_indices_name_mfu_and_agree_with_rank_correlation() {
    let r = run(&SMALL);
    let v = &r.summary.variance;
    let biggest = |key: fn(&scalerisk::aggregate::indices::GroupIndices) -> f64| {
        v.iter()
            .max_by(|a, b| key(a).total_cmp(&key(b)))
            .unwrap()
            .group
            .clone()
    };
    // MFU sets the compute, hence the optimal size, and (the plan trains until the deadline)
    // the tokens the plan gets, hence its loss.
    assert_eq!(biggest(|g| g.params_opt.total.value), "mfu");
    assert_eq!(biggest(|g| g.loss_plan.total.value), "mfu");
    // Where one input acts almost monotonically and alone, its first-order index is close to its
    // squared rank correlation (computed by sensitivity.rs from the draws).
    let mfu = v.iter().find(|g| g.group == "mfu").unwrap();
    let rho = r
        .summary
        .sensitivity
        .iter()
        .find(|s| s.input == "mfu")
        .unwrap()
        .rho_loss_recommended;
    assert!(
        (mfu.loss_plan.first.value - rho * rho).abs() < 0.06,
        "S1 {} vs ρ² {}",
        mfu.loss_plan.first.value,
        rho * rho
    );
    for g in v {
        for ix in [g.loss_plan, g.params_opt, g.tokens_opt, g.loss_opt] {
            assert!(ix.total.lo <= ix.total.value && ix.total.value <= ix.total.hi);
            assert!(
                ix.first.value <= ix.total.value + 0.05,
                "{}: S1 above ST",
                g.group
            );
        }
    }
}
