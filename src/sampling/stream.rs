//! Random streams keyed by (seed, input name, draw index): the reproducibility contract.
//!
//! Draw i of input `name` uses its own ChaCha8 stream: the 256-bit key is derived from the seed
//! and the FNV-1a hash of the name by SplitMix64, and the ChaCha stream number is the draw index.
//! So a value depends on (seed, name, i) alone: adding draws never changes earlier ones, and
//! threads, chunking, backend and dispatch shape cannot change which values are used.
//! ChaCha8Rng (rand_chacha) is portable and value-stable across platforms; the crate versions of
//! rand, rand_chacha and rand_distr are pinned exactly in Cargo.toml because the distribution
//! algorithms of rand_distr are only value-stable within a version. Tests pin the first values.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// FNV-1a, 64 bit: a fixed, documented hash of an input's name.
pub fn fnv1a(name: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in name.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// SplitMix64 (Steele, Lea & Flood 2014), used to spread (seed, name) over a 256-bit key.
fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The key of one input's streams under `seed`.
pub fn key(seed: u64, name: &str) -> [u8; 32] {
    let mut state = seed ^ fnv1a(name).rotate_left(17);
    let mut out = [0u8; 32];
    for chunk in out.chunks_exact_mut(8) {
        chunk.copy_from_slice(&splitmix64(&mut state).to_le_bytes());
    }
    out
}

/// The stream of draw `draw` of the input whose key is `key`.
pub fn stream(key: &[u8; 32], draw: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::from_seed(*key);
    rng.set_stream(draw);
    rng
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    /// Value stability: these numbers are part of the reproducibility contract. If a dependency
    /// update changes them, every published run changes: bump the pin deliberately, not by accident.
    #[test]
    fn first_values_are_pinned() {
        let k = key(42, "budget.mfu");
        let v: Vec<u64> = (0..3).map(|i| stream(&k, i).random::<u64>()).collect();
        assert_eq!(v, PINNED_U64);
    }

    const PINNED_U64: [u64; 3] = [
        13798587612906256307,
        16939917386069560521,
        15208519074891551066,
    ];

    #[test]
    fn streams_differ_by_name_seed_and_draw() {
        let a = stream(&key(1, "a"), 0).random::<u64>();
        assert_ne!(a, stream(&key(1, "b"), 0).random::<u64>());
        assert_ne!(a, stream(&key(2, "a"), 0).random::<u64>());
        assert_ne!(a, stream(&key(1, "a"), 1).random::<u64>());
        assert_eq!(a, stream(&key(1, "a"), 0).random::<u64>());
    }
}
