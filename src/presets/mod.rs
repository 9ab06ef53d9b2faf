//! Published constants: GPU datasheets and scaling-law fits, each with its source.

pub mod gpus;
pub mod laws;
