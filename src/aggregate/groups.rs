//! Input groups (MODEL.md §5, variance and information): the uncertain inputs of a run gathered
//! into the pieces a user could learn about one at a time: `law` (the preset's joint
//! coefficients: one fit, one group, since its coefficients are nearly collinear), `mfu`,
//! `goodput`, `unique_tokens`, `anneal` (cosine only), and each coefficient the scenario gives
//! its own distribution. A draw with one group taken from another draw is how both the Sobol
//! indices (pick-freeze) and the value of information condition on a group. With a
//! `law.mixture` the `law` group also holds which member the draw's law comes from, and
//! `law_member` alone (which fit is right) is a group of the value of information.

use crate::sampling::{get_coeff, set_coeff, Draw};
use crate::scenario::Scenario;

/// What a group holds.
#[derive(Debug, Clone, PartialEq)]
pub enum Member {
    /// The law's coefficients that come from its joint uncertainty (mvn or bootstrap rows).
    Law,
    /// One coefficient with a distribution of its own.
    Coeff(String),
    /// Which member of a `law.mixture` holds (for the value of information only: mixing it
    /// alone would pair one fit's choice with another fit's coefficients).
    LawMember,
    Mfu,
    Goodput,
    Unique,
    Anneal,
}

#[derive(Debug, Clone)]
pub struct Group {
    pub name: String,
    pub member: Member,
    /// The scalar inputs the group carries (names as in draws.csv; `lnA` etc. for the law).
    pub inputs: Vec<String>,
    /// Used by the value of information only (not by the pick-freeze indices).
    pub information_only: bool,
}

/// Whether coefficient `c` of the scenario has a distribution of its own.
fn independent(s: &Scenario, name: &str) -> bool {
    s.law
        .coefficients
        .iter()
        .any(|c| c.name == name && c.overridden && !c.dist.is_fixed())
}

/// The input of a group in draw `d`, by name (`lnA` etc. give the log).
pub fn input(d: &Draw, name: &str) -> f64 {
    match name {
        "mfu" => d.mfu,
        "goodput" => d.goodput,
        "unique_tokens" => d.unique_tokens.ln(),
        "anneal" => d.anneal,
        "law_member" => f64::from(d.member),
        coeff => get_coeff(&d.coeffs, coeff),
    }
}

/// The groups of a run whose inputs vary across `draws`, in a fixed order.
pub fn groups(s: &Scenario, draws: &[Draw]) -> Vec<Group> {
    let varies = |name: &str| {
        let first = input(&draws[0], name);
        draws.iter().any(|d| {
            let v = input(d, name);
            v != first && v.is_finite()
        })
    };
    let mut out = Vec::new();
    let law: Vec<String> = s
        .law
        .coefficients
        .iter()
        .filter(|c| !independent(s, &c.name))
        .map(|c| match c.name.as_str() {
            "E" | "A" | "B" => format!("ln{}", c.name),
            other => other.to_string(),
        })
        .filter(|n| varies(n))
        .collect();
    let mixture = varies("law_member");
    if !law.is_empty() || mixture {
        let mut inputs = law;
        if mixture {
            inputs.push("law_member".into());
        }
        out.push(Group {
            name: "law".into(),
            member: Member::Law,
            inputs,
            information_only: false,
        });
    }
    if mixture {
        out.push(Group {
            name: "law_member".into(),
            member: Member::LawMember,
            inputs: vec!["law_member".into()],
            information_only: true,
        });
    }
    for (name, member) in [
        ("mfu", Member::Mfu),
        ("goodput", Member::Goodput),
        ("unique_tokens", Member::Unique),
        ("anneal", Member::Anneal),
    ] {
        if varies(name) {
            out.push(Group {
                name: name.into(),
                member,
                inputs: vec![name.into()],
                information_only: false,
            });
        }
    }
    for c in &s.law.coefficients {
        if independent(s, &c.name) && varies(&c.name) {
            out.push(Group {
                name: c.name.clone(),
                member: Member::Coeff(c.name.clone()),
                inputs: vec![c.name.clone()],
                information_only: false,
            });
        }
    }
    out
}

/// Draw `a` with group `g` taken from draw `b` (throughput recomputed from MFU and goodput).
pub fn mix(s: &Scenario, a: &Draw, b: &Draw, g: &Group) -> Draw {
    let mut d = *a;
    match &g.member {
        Member::Law => {
            for c in &s.law.coefficients {
                if !independent(s, &c.name) {
                    set_coeff(&mut d.coeffs, &c.name, get_coeff(&b.coeffs, &c.name));
                }
            }
            d.member = b.member;
        }
        Member::LawMember => d.member = b.member,
        Member::Coeff(name) => set_coeff(&mut d.coeffs, name, get_coeff(&b.coeffs, name)),
        Member::Mfu => d.mfu = b.mfu,
        Member::Goodput => d.goodput = b.goodput,
        Member::Unique => d.unique_tokens = b.unique_tokens,
        Member::Anneal => d.anneal = b.anneal,
    }
    d.throughput = s.budget.throughput(d.mfu, d.goodput);
    d
}
