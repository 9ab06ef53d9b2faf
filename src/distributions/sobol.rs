//! Scrambled Sobol points (`sampling.method = "sobol"`): Burley's Owen-scrambled Sobol sequence
//! (sobol_burley; Burley 2020, "Practical Hash-based Owen Scrambling"), index-addressable, so
//! draw i is still a pure function of (seed, i, input): each input owns one dimension, assigned
//! in a fixed order (see [`Dimensions`]).
//!
//! The sequence yields f32 points in [0, 1) (24 bits); each is moved to the middle of its 2^-24
//! cell, so inverse CDFs never see 0 or 1 (normal tails reach ±5.3σ). At most 2^16 points.

/// The most points the sequence provides: the most draws of a `method = "sobol"` run.
pub const MAX_POINTS: usize = 1 << 16;

/// The uniform of draw `i` in dimension `dim` under `seed`.
pub fn uniform(i: u64, dim: u32, seed: u64) -> f64 {
    debug_assert!((i as usize) < MAX_POINTS);
    let s = (seed ^ (seed >> 32)) as u32;
    f64::from(sobol_burley::sample(i as u32, dim, s)) + 0.5 / f64::from(1u32 << 24)
}

/// Dimension of each input: 0 mfu, 1 goodput, 2 unique_tokens, 3 the law draws row (or, for a
/// joint normal, 3..3+k its k standard normals), then each overridden coefficient in the law's
/// coefficient order.
pub struct Dimensions {
    pub group: u32,
    pub coeffs: u32,
}

impl Dimensions {
    pub const MFU: u32 = 0;
    pub const GOODPUT: u32 = 1;
    pub const UNIQUE: u32 = 2;

    pub fn new(group_len: usize) -> Self {
        Dimensions {
            group: 3,
            coeffs: 3 + group_len.max(1) as u32,
        }
    }
}
