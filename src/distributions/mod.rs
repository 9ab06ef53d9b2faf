//! Distributions and point sets: scalar distributions, the multivariate normal transform and
//! scrambled Sobol points. A leaf that imports neither `scenario` (which validates them) nor
//! `sampling` (which draws from them), so those two depend on it and not on each other's
//! internals.

pub mod dist;
pub mod mvn;
pub mod sobol;
