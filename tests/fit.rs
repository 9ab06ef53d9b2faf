//! `scalerisk fit`: the published refit of Chinchilla's points, coverage of the bootstrap on
//! synthetic sweeps with known coefficients, and the command's refusals.

use std::path::Path;

use scalerisk::fit::{self, runs};

/// Besiroglu et al. 2024 ("Chinchilla Scaling: A replication attempt"), Epoch AI's plain refit of
/// Hoffmann's Approach 3 on the 240 lowest-loss points: A = 477.9, B = 2144, E = 1.8172,
/// α = 0.3473, β = 0.3672 (the values docs/MODEL.md lists for the epoch2024 preset).
#[test]
fn refit_of_chinchilla_points_matches_epoch_within_one_percent() {
    let all = runs::load(Path::new("data/chinchilla_fig4_points.csv")).unwrap();
    assert_eq!(all.len(), 245);
    let kept = runs::drop_highest(all, 5);
    let t = std::time::Instant::now();
    let f = fit::fit(&kept, fit::DEFAULT_DELTA).unwrap();
    eprintln!("{f:?} in {:?}", t.elapsed());
    for (name, got, want) in [
        ("A", f.a, 477.9),
        ("B", f.b, 2144.0),
        ("E", f.e, 1.8172),
        ("alpha", f.alpha, 0.3473),
        ("beta", f.beta, 0.3672),
    ] {
        assert!(
            (got / want - 1.0).abs() < 0.01,
            "{name}: fitted {got}, published {want}"
        );
    }
}

/// Epoch AI's bootstrap standard errors of the same refit (Besiroglu et al. 2024, Table 1):
/// A 124.58, B 1293.23, E 0.03, α 0.02, β 0.02. Ours come from our own resampling, so they agree
/// only up to Monte Carlo error of 1000 refits and the rounding of the published values.
#[test]
fn bootstrap_standard_errors_match_epochs() {
    let kept = runs::drop_highest(
        runs::load(Path::new("data/chinchilla_fig4_points.csv")).unwrap(),
        5,
    );
    let point = fit::fit(&kept, fit::DEFAULT_DELTA).unwrap();
    let boot = fit::bootstrap(&kept, fit::DEFAULT_DELTA, &point, 1000, 7);
    assert_eq!(boot.len(), 1000);
    let se = |get: fn(&fit::Fitted) -> f64| {
        fit::Interval::of(0.0, &boot.iter().map(get).collect::<Vec<_>>()).se
    };
    // A standard error estimated from n = 1000 refits has a relative Monte Carlo sd of about
    // √((κ − 1) / 4n) for kurtosis κ: 2.2% for a normal estimator, under 5% for κ ≤ 10 (B's
    // bootstrap distribution is skewed). Three of those: 15% for A and B.
    for (name, got, want) in [("A", se(|f| f.a), 124.58), ("B", se(|f| f.b), 1293.23)] {
        assert!(
            (got / want - 1.0).abs() <= 0.15,
            "{name}: bootstrap SE {got}, Epoch's {want}"
        );
    }
    // Published to one significant digit: anything that rounds to it, widened by three Monte
    // Carlo sd of a normal estimator's SE (7%).
    for (name, got, want) in [
        ("E", se(|f| f.e), 0.03),
        ("alpha", se(|f| f.alpha), 0.02),
        ("beta", se(|f| f.beta), 0.02),
    ] {
        let (lo, hi) = ((want - 0.005) * 0.93, (want + 0.005) * 1.07);
        assert!(
            (lo..hi).contains(&got),
            "{name}: bootstrap SE {got}, Epoch's {want} (rounded)"
        );
    }
}

/// A small grid of starts for the synthetic fits (3^5 = 243), around plausible values but not
/// at the truth.
fn coarse_starts() -> Vec<Vec<f64>> {
    let mut out = Vec::new();
    for a in [2.0, 6.0, 10.0] {
        for b in [2.0, 7.0, 12.0] {
            for e in [-0.5, 0.3, 1.0] {
                for alpha in [0.2, 0.5, 0.9] {
                    for beta in [0.2, 0.5, 0.9] {
                        out.push(vec![a, b, e, alpha, beta]);
                    }
                }
            }
        }
    }
    out
}

/// The lower bound of a one-sided binomial test: the largest k with P(X < k) ≤ `level`
/// for X ~ Binomial(n, p), computed exactly.
fn binomial_lower(n: u64, p: f64, level: f64) -> u64 {
    let pmf = |k: u64| {
        let ln_choose: f64 = (1..=k)
            .map(|i| ((n - k + i) as f64).ln() - (i as f64).ln())
            .sum();
        (ln_choose + k as f64 * p.ln() + (n - k) as f64 * (1.0 - p).ln()).exp()
    };
    let mut cdf = 0.0;
    for k in 0..=n {
        if cdf + pmf(k) > level {
            return k;
        }
        cdf += pmf(k);
    }
    n
}

/// Sweeps drawn from known coefficients with log-normal noise: the bootstrap's 95% percentile
/// intervals cover the truth at about their nominal rate, and the bootstrap SE tracks the spread
/// of the point estimates across sweeps.
#[test]
fn bootstrap_intervals_cover_the_truth() {
    use rand::{Rng, SeedableRng};
    use rand_distr::{Distribution, Normal};
    let truth = [1.8, 480.0, 2100.0, 0.34, 0.37]; // E, A, B, alpha, beta
    let sweeps: u64 = 30;
    let mut covered = [0u64; 5];
    let mut estimates: Vec<[f64; 5]> = Vec::new();
    let mut ses: Vec<[f64; 5]> = Vec::new();
    for sweep in 0..sweeps {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1000 + sweep);
        let noise = Normal::new(0.0, 0.01).unwrap();
        let runs: Vec<runs::Run> = (0..120)
            .map(|_| {
                let p: f64 = 10f64.powf(rng.random_range(7.5..10.5));
                let d: f64 = p * 10f64.powf(rng.random_range(0.3..2.3));
                let l = truth[0] + truth[1] * p.powf(-truth[3]) + truth[2] * d.powf(-truth[4]);
                runs::Run {
                    params: p,
                    tokens: d,
                    loss: l * f64::exp(noise.sample(&mut rng)),
                }
            })
            .collect();
        let point = fit::fit_from(&runs, fit::DEFAULT_DELTA, coarse_starts()).unwrap();
        let boot = fit::bootstrap(&runs, fit::DEFAULT_DELTA, &point, 200, sweep);
        let mut se = [0.0; 5];
        for k in 0..5 {
            let values: Vec<f64> = boot.iter().map(|f| f.row()[k]).collect();
            let i = fit::Interval::of(point.row()[k], &values);
            covered[k] += u64::from(i.lo <= truth[k] && truth[k] <= i.hi);
            se[k] = i.se;
        }
        estimates.push(point.row());
        ses.push(se);
    }
    // One-sided, 0.1% per coefficient, Bonferroni over the five.
    let bound = binomial_lower(sweeps, 0.95, 0.001 / 5.0);
    for (k, name) in ["E", "A", "B", "alpha", "beta"].iter().enumerate() {
        assert!(
            covered[k] >= bound,
            "{name}: covered {}/{sweeps}, binomial lower bound {bound}",
            covered[k]
        );
        // The spread of the estimates across sweeps against the mean bootstrap SE. For 30
        // sweeps the sample sd is within [0.59, 1.45]× the true sd with probability 0.999
        // (chi-square with 29 degrees of freedom, Wilson–Hilferty: sqrt(q/29) at its 0.05% and
        // 99.95% quantiles q ≈ 10.1 and 60.8); the bound is a little wider for the bootstrap
        // SE's own Monte Carlo error.
        let est: Vec<f64> = estimates.iter().map(|r| r[k]).collect();
        let spread = fit::Interval::of(0.0, &est).se;
        let mean_se = ses.iter().map(|r| r[k]).sum::<f64>() / sweeps as f64;
        let ratio = spread / mean_se;
        eprintln!("{name}: covered {}/{sweeps}, sd/SE {ratio:.3}", covered[k]);
        assert!(
            (0.55..=1.5).contains(&ratio),
            "{name}: sd of estimates {spread} vs mean bootstrap SE {mean_se}"
        );
    }
}

fn scalerisk() -> assert_cmd::Command {
    assert_cmd::Command::cargo_bin("scalerisk").unwrap()
}

/// fit → run in one line each: the fitted draws drive a scenario through `law.draws_file`
/// (relative to the scenario file), with a preset that has no point values of its own.
#[test]
fn fitted_draws_drive_a_run() {
    let dir = tempfile::tempdir().unwrap();
    let draws = dir.path().join("fitted.csv");
    let out = scalerisk()
        .args([
            "fit",
            "data/chinchilla_fig4_points.csv",
            "--drop-highest",
            "5",
            "--bootstrap",
            "64",
            "--out",
        ])
        .arg(&draws)
        .assert()
        .success();
    // The command prints the published refit (Besiroglu et al. 2024, the values of
    // `refit_of_chinchilla_points_matches_epoch_within_one_percent`), each within 1%.
    let said = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    for (name, want) in [
        ("E", 1.8172),
        ("A", 477.9),
        ("B", 2144.0),
        ("alpha", 0.3473),
        ("beta", 0.3672),
    ] {
        let got: f64 = said
            .lines()
            .find_map(|l| {
                let mut w = l.split_whitespace();
                (w.next() == Some(name)).then(|| w.next().unwrap().parse().unwrap())
            })
            .unwrap_or_else(|| panic!("no {name} row in: {said}"));
        assert!(
            (got / want - 1.0).abs() < 0.01,
            "{name}: printed {got}, published {want}"
        );
    }
    let text = std::fs::read_to_string(&draws).unwrap();
    assert!(text.starts_with("E,A,B,alpha,beta\n"));
    assert_eq!(text.lines().count(), 65);
    let scenario = dir.path().join("mine.toml");
    std::fs::write(
        &scenario,
        "name = \"mine\"\n[budget]\ngpu = \"a100-80gb\"\nhours = 72\nmfu = 0.4\n\
         [law]\npreset = \"custom\"\nuncertainty = \"draws\"\ndraws_file = \"fitted.csv\"\n\
         [search]\nparams = { min = 3e7, max = 3e9, points = 24 }\n\
         tokens = { min = 1e9, max = 1e12, points = 24 }\nhours = [72]\n\
         [sampling]\ndraws = 256\n",
    )
    .unwrap();
    let out = dir.path().join("out");
    scalerisk()
        .arg("run")
        .arg(&scenario)
        .arg("--out")
        .arg(&out)
        .assert()
        .success();
    let run: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("run.json")).unwrap()).unwrap();
    assert!(
        run.to_string().contains("fitted.csv"),
        "run.json names the draws file"
    );
}

/// Bad runs CSVs: exit code 2, one line naming file, line and column, nothing written.
#[test]
fn bad_runs_are_refused_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let good = "params,tokens,loss\n1e8,2e9,3.1\n2e8,4e9,2.9\n4e8,8e9,2.7\n8e8,1.6e10,2.5\n1.6e9,3.2e10,2.4\n3.2e9,6.4e10,2.3\n";
    let cases: [(&str, String, &str); 5] = [
        (
            "missing column",
            good.replace("loss", "lss"),
            "no loss column",
        ),
        (
            "non-numeric",
            good.replace("2.7", "abc"),
            "line 4, column loss: \"abc\"",
        ),
        (
            "non-positive",
            good.replace("4e8", "-4e8"),
            "line 4, column params",
        ),
        (
            "too few",
            good.lines().take(4).collect::<Vec<_>>().join("\n"),
            "at least 6",
        ),
        ("empty", String::new(), "no params column"),
    ];
    for (what, text, message) in cases {
        let runs = dir.path().join("runs.csv");
        std::fs::write(&runs, text).unwrap();
        let out = dir.path().join("draws.csv");
        let a = scalerisk()
            .arg("fit")
            .arg(&runs)
            .arg("--out")
            .arg(&out)
            .assert()
            .code(2);
        let stderr = String::from_utf8(a.get_output().stderr.clone()).unwrap();
        assert!(stderr.contains(message), "{what}: {stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "{what}: {stderr}");
        assert!(!out.exists(), "{what}: wrote {}", out.display());
    }
    let runs = dir.path().join("runs.csv");
    std::fs::write(&runs, good).unwrap();
    for (flag, value) in [
        ("--delta", "0"),
        ("--bootstrap", "1"),
        ("--at-flops", "-1"),
        ("--drop-highest", "3"),
    ] {
        scalerisk()
            .arg("fit")
            .arg(&runs)
            .arg(format!("{flag}={value}"))
            .assert()
            .code(2)
            .stderr(predicates::str::contains(flag));
    }
}

/// The case: a fit of the 43 Chinchilla runs under 220M parameters, used to plan a
/// 460M model. `fit` writes the runs' range beside the draws (the min and max recomputed here
/// from the data file, tokens = C / 6P as Hoffmann et al. count them); a run with those draws
/// names them in its header and warns that the plan extrapolates beyond them, not beyond the
/// preset's runs. Without the range file the header says the range is unknown.
#[test]
fn a_fit_carries_its_range_to_the_runs_that_use_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut rd = csv::Reader::from_path("data/chinchilla_fig4_points.csv").unwrap();
    let mut small = String::from("params,flops,loss\n");
    let (mut p, mut d) = ((f64::INFINITY, 0.0f64), (f64::INFINITY, 0.0f64));
    for rec in rd.deserialize::<std::collections::HashMap<String, String>>() {
        let rec = rec.unwrap();
        let params: f64 = rec["Model Size"].parse().unwrap();
        let flops: f64 = rec["Training FLOP"].parse().unwrap();
        if params < 2.2e8 {
            small += &format!(
                "{},{},{}\n",
                rec["Model Size"], rec["Training FLOP"], rec["loss"]
            );
            let tokens = flops / (6.0 * params);
            p = (p.0.min(params), p.1.max(params));
            d = (d.0.min(tokens), d.1.max(tokens));
        }
    }
    std::fs::write(dir.path().join("runs.csv"), small).unwrap();
    scalerisk()
        .current_dir(dir.path())
        .args([
            "fit",
            "runs.csv",
            "--bootstrap",
            "16",
            "--out",
            "fitted.csv",
        ])
        .assert()
        .success();
    let draws = std::fs::read_to_string(dir.path().join("fitted.csv")).unwrap();
    assert!(
        draws.starts_with("E,A,B,alpha,beta\n"),
        "the draws CSV keeps its columns"
    );
    let mut rd = csv::Reader::from_path(dir.path().join("fitted.range.csv")).unwrap();
    let row: std::collections::HashMap<String, String> = rd.deserialize().next().unwrap().unwrap();
    assert_eq!(row["runs_file"], "runs.csv");
    assert_eq!(row["runs"], "43");
    for (col, want) in [
        ("params_min", p.0),
        ("params_max", p.1),
        ("tokens_min", d.0),
        ("tokens_max", d.1),
    ] {
        let got: f64 = row[col].parse().unwrap();
        assert!((got / want - 1.0).abs() < 1e-12, "{col}: {got} vs {want}");
    }

    std::fs::write(
        dir.path().join("plan.toml"),
        "name = \"plan\"\n[budget]\ngpu = \"a100-80gb\"\nhours = 72\n\
         [law]\npreset = \"epoch2024\"\nuncertainty = \"draws\"\ndraws_file = \"fitted.csv\"\n\
         [search]\nparams = { min = 3e8, max = 1e9, points = 12 }\n\
         tokens = { min = 1e9, max = 1e11, points = 12 }\nhours = [72]\n\
         [sampling]\ndraws = 128\n",
    )
    .unwrap();
    let run = |out: &str| {
        let o = scalerisk()
            .current_dir(dir.path())
            .args(["run", "plan.toml", "--out", out])
            .assert()
            .success();
        String::from_utf8(o.get_output().stdout.clone()).unwrap()
    };
    let said = run("out");
    assert!(
        said.contains("law: draws from fitted.csv (fit of runs.csv)\n"),
        "{said}"
    );
    assert!(
        said.contains(
            "warning: the plan extrapolates beyond the runs fitted.csv was fitted to: params"
        ),
        "{said}"
    );
    assert!(!said.contains("epoch2024 was fitted to"), "{said}");

    std::fs::remove_file(dir.path().join("fitted.range.csv")).unwrap();
    let said = run("out2");
    assert!(
        said.contains("law: draws from fitted.csv (no fitted.range.csv"),
        "{said}"
    );
    assert!(!said.contains("was fitted to"), "{said}");
}
