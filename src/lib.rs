//! scalerisk: robust compute-optimal allocation (model size P, tokens D, hours T) under
//! scaling-law, MFU, goodput and data uncertainty.
//!
//! The path of a number: `scenario` (validated TOML) → `sampling` (draws) → `backend` (cpu |
//! gpu) → `aggregate` (recommendations, bands, frontier, sensitivity) → `report` / `export` /
//! `plot`. `pipeline` strings them together; `fit` and `bench` are the other two commands.

// `!(x > 0.0)` is how this crate refuses NaN along with non-positive values: deliberate.
#![allow(clippy::neg_cmp_op_on_partial_ord)]

pub mod aggregate;
pub mod backend;
pub mod bench;
pub mod candidates;
pub mod cli;
pub mod csvread;
pub mod curve;
pub mod distributions;
pub mod error;
pub mod export;
pub mod fit;
pub mod grid;
pub mod law;
pub mod pipeline;
pub mod plot;
pub mod posterior;
pub mod presets;
pub mod progress;
pub mod report;
pub mod sampling;
pub mod scenario;
pub mod stats;

pub use error::{Error, Result};
