//! Input groups (MODEL.md §5, variance and information): the uncertain inputs of a run gathered
//! into the pieces a user could learn about one at a time: `law` (the preset's joint
//! coefficients: one fit, one group, since its coefficients are nearly collinear), `mfu`,
//! `goodput`, `unique_tokens`, `anneal` (cosine only), and each coefficient the scenario gives
//! its own distribution. A draw with one group taken from another draw is how both the Sobol
//! indices (pick-freeze) and the value of information condition on a group. With a
//! `law.mixture` the `law` group also holds which member the draw's law comes from, and
//! `law_member` alone (which fit is right) is a group of the value of information.

use crate::law::{Coeff, Coord};
pub use crate::sampling::inputs::Input;
use crate::sampling::Draw;
use crate::scenario::Scenario;

/// What a group holds.
#[derive(Debug, Clone, PartialEq)]
pub enum Member {
    /// The law's coefficients that come from its joint uncertainty (mvn or bootstrap rows).
    Law,
    /// One coefficient with a distribution of its own.
    Coeff(Coeff),
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
    /// The scalar inputs the group carries.
    pub inputs: Vec<Input>,
    /// Used by the value of information only (not by the pick-freeze indices).
    pub information_only: bool,
}

/// The groups of a run whose inputs vary across `draws`, in a fixed order.
pub fn groups(s: &Scenario, draws: &[Draw]) -> Vec<Group> {
    let varies = |input: Input| {
        let first = input.value(&draws[0]);
        draws.iter().any(|d| {
            let v = input.value(d);
            v != first && v.is_finite()
        })
    };
    let mut out = Vec::new();
    let law: Vec<Input> = s
        .law
        .coefficients
        .iter()
        .filter(|c| !s.law.is_independent(c.coeff))
        .map(|c| {
            Input::Coeff(Coord {
                coeff: c.coeff,
                log: matches!(c.coeff, Coeff::E | Coeff::A | Coeff::B),
            })
        })
        .filter(|n| varies(*n))
        .collect();
    let mixture = varies(Input::LawMember);
    if !law.is_empty() || mixture {
        let mut inputs = law;
        if mixture {
            inputs.push(Input::LawMember);
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
            inputs: vec![Input::LawMember],
            information_only: true,
        });
    }
    for (input, member) in [
        (Input::Mfu, Member::Mfu),
        (Input::Goodput, Member::Goodput),
        (Input::Unique, Member::Unique),
        (Input::Anneal, Member::Anneal),
    ] {
        if varies(input) {
            out.push(Group {
                name: input.name(),
                member,
                inputs: vec![input],
                information_only: false,
            });
        }
    }
    for c in &s.law.coefficients {
        let input = Input::Coeff(Coord::plain(c.coeff));
        if s.law.is_independent(c.coeff) && varies(input) {
            out.push(Group {
                name: c.coeff.name().into(),
                member: Member::Coeff(c.coeff),
                inputs: vec![input],
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
                if !s.law.is_independent(c.coeff) {
                    c.coeff.set(&mut d.coeffs, c.coeff.get(&b.coeffs));
                }
            }
            d.member = b.member;
        }
        Member::LawMember => d.member = b.member,
        Member::Coeff(c) => c.set(&mut d.coeffs, c.get(&b.coeffs)),
        Member::Mfu => d.mfu = b.mfu,
        Member::Goodput => d.goodput = b.goodput,
        Member::Unique => d.unique_tokens = b.unique_tokens,
        Member::Anneal => d.anneal = b.anneal,
    }
    d.throughput = s.budget.throughput(d.mfu, d.goodput);
    d
}
