//! The CSV readers on arbitrary bytes: a law's draws file (`law.draws_file`), a runs CSV
//! (`scalerisk fit`) and a column to resample. Each gives an error or rows, never a panic, and
//! every row it accepts is inside the domain `run` relies on.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(rows) = scalerisk::scenario::load_law_draws(text, "law.draws_file") {
        assert!(!rows.is_empty());
        for r in &rows {
            assert!(r.iter().all(|v| v.is_finite()), "{r:?}");
            assert!(r[0] >= 0.0 && r[1..].iter().all(|v| *v > 0.0), "{r:?}");
            assert!(
                r[..3].iter().all(|v| *v <= scalerisk::scenario::MAX_TERM),
                "{r:?}"
            );
        }
    }
    if let Ok(runs) = scalerisk::fit::runs::parse(text, "runs.csv") {
        assert!(runs.len() > scalerisk::fit::N_COEFFS);
        for r in &runs {
            assert!(r.params.is_finite() && r.params > 0.0, "{r:?}");
            assert!(r.loss.is_finite() && r.loss > 0.0, "{r:?}");
            assert!(r.tokens > 0.0, "{r:?}");
        }
        let _ = scalerisk::fit::runs::check_identifiable(&runs, "runs.csv");
    }
});
