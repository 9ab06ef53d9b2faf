//! The terminal report: the answer first, in a person's units.

use std::fmt::Write;

use crate::aggregate::Recommendation;
use crate::pipeline::RunResult;
use crate::scenario::{Capacity, Uncertainty};

/// 412M, 9.8B, 1.2T: three significant digits at most.
pub fn si(x: f64) -> String {
    let (v, unit) = match x.abs() {
        a if a >= 1e12 => (x / 1e12, "T"),
        a if a >= 1e9 => (x / 1e9, "B"),
        a if a >= 1e6 => (x / 1e6, "M"),
        a if a >= 1e3 => (x / 1e3, "K"),
        _ => (x, ""),
    };
    let digits = if v.abs() >= 100.0 {
        0
    } else if v.abs() >= 10.0 {
        1
    } else {
        2
    };
    let s = format!("{v:.digits$}");
    let s = if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    };
    format!("{s}{unit}")
}

/// Two significant digits, for standard errors (0.00004, 0.0012).
fn sig2(x: f64) -> String {
    if !(x > 0.0) || !x.is_finite() {
        return format!("{x}");
    }
    let decimals = (1 - x.log10().floor() as i32).max(0) as usize;
    format!("{x:.decimals$}")
}

fn hours(h: f64) -> String {
    if h.fract() == 0.0 {
        format!("{h:.0} h")
    } else {
        format!("{h:.1} h")
    }
}

fn plan(r: &Recommendation) -> String {
    format!(
        "{} params · {} tokens ({:.0} tok/param) · {}",
        si(r.params),
        si(r.tokens),
        r.tokens / r.params,
        hours(r.hours)
    )
}

/// The human report.
pub fn render(r: &RunResult) -> String {
    let s = &r.scenario;
    let mut o = String::new();
    let budget = match &s.budget.capacity {
        Capacity::Hardware { gpu, count, .. } => format!(
            "{count} × {gpu} · {} · MFU {}",
            hours(s.budget.hours),
            s.budget.mfu.describe()
        ),
        Capacity::Flops { flops } => format!("{flops:.3e} FLOPs"),
    };
    let _ = writeln!(
        o,
        "{}  ·  {budget} · {} draws · {} ({})",
        s.name,
        r.draws.len(),
        r.backend,
        r.adapter
    );
    if s.law.illustrative {
        let _ = writeln!(
            o,
            "law: {} — ILLUSTRATIVE, not fitted to data ({})",
            s.law.preset, s.law.source
        );
    } else {
        let _ = writeln!(o, "law: {} ({})", s.law.preset, s.law.source);
    }
    match &s.law.uncertainty {
        Uncertainty::None => {
            let _ = writeln!(o, "law uncertainty: none (point values)");
        }
        Uncertainty::Mvn(m) => {
            let _ = writeln!(
                o,
                "law uncertainty: joint normal over {}",
                m.names.join(", ")
            );
        }
        Uncertainty::Draws { source, count, .. } => {
            let _ = writeln!(
                o,
                "law uncertainty: {count} bootstrap rows resampled from {source}"
            );
        }
    }
    for note in &r.notes {
        let _ = writeln!(o, "note: {note}");
    }
    let sum = &r.summary;
    let completion = if s.decision.min_completion > 0.0 {
        format!(", ≥{:.0}% completion", s.decision.min_completion * 100.0)
    } else {
        String::new()
    };
    if !sum.min_completion_met {
        let _ = writeln!(o, "warning: no configuration completes in ≥{:.0}% of draws; objectives use every feasible configuration", s.decision.min_completion * 100.0);
    }
    if let Some(first) = sum.recommendations.first() {
        let objective = s.decision.objectives[0];
        let st = &first.stats;
        let _ = writeln!(o, "recommended ({}{completion}):", objective.describe());
        let _ = writeln!(o, "  {}", plan(first));
        let _ = writeln!(
            o,
            "  loss {:.4} ± {} (90% band {:.3}–{:.3}) · completes in {:.0}% of draws",
            st.loss_mean,
            sig2(st.loss_se),
            st.loss_p05,
            st.loss_p95,
            st.p_complete * 100.0
        );
    }
    let b = &sum.bands;
    let _ = writeln!(
        o,
        "oracle allocation band (5–95%): {}–{} params · {}–{} tokens · {:.0}–{:.0} tok/param",
        si(b.params.p05),
        si(b.params.p95),
        si(b.tokens.p05),
        si(b.tokens.p95),
        b.tokens_per_param.p05,
        b.tokens_per_param.p95
    );
    if sum.recommendations.len() > 1 {
        let _ = writeln!(o, "other objectives:");
        for rec in &sum.recommendations[1..] {
            let _ = writeln!(
                o,
                "  {:<15} {} · loss {:.3} · completes {:.0}%",
                rec.objective,
                plan(rec),
                rec.stats.loss_mean,
                rec.stats.p_complete * 100.0
            );
        }
    }
    o
}
