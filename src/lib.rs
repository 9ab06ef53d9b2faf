//! scalerisk: robust compute-optimal allocation (model size P, tokens D, hours T) under
//! scaling-law, MFU, goodput and data uncertainty.
//!
//! The path of a number: `scenario` (validated TOML) → `sampling` (draws) → `backend` (cpu) →
//! `aggregate` (recommendations, bands) → `report` / `export`. `pipeline` strings them together.

pub mod aggregate;
pub mod backend;
pub mod bench;
pub mod cli;
pub mod error;
pub mod export;
pub mod fit;
pub mod grid;
pub mod law;
pub mod pipeline;
pub mod plot;
pub mod presets;
pub mod progress;
pub mod report;
pub mod sampling;
pub mod scenario;
pub mod stats;

pub use error::{Error, Result};
