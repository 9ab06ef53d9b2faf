//! `scalerisk plot` / `run --plot`: on a run of each shipped scenario the four charts exist, parse
//! as SVG, and carry their title, axis labels with units, legend and data marks.

use assert_cmd::Command;

/// (chart, texts it must show, element kind of its data marks, least number of them).
fn expectations(
    draws: usize,
    inputs: usize,
) -> Vec<(&'static str, Vec<&'static str>, &'static str, usize)> {
    vec![
        (
            "loss_vs_params",
            vec![
                "expected loss against model size",
                "parameters P",
                "loss (nats per token)",
                "5–95% band",
                "recommended",
            ],
            "polygon",
            1,
        ),
        (
            "frontier",
            vec![
                "what more budget buys",
                "budget (",
                "optimal parameters P* and tokens D*",
                "median P*",
                "median D*",
            ],
            "polygon",
            2,
        ),
        (
            "tornado",
            vec![
                "what moves the plan's loss",
                "uncertain input",
                "lowest decile",
                "highest decile",
            ],
            "rect",
            2 * inputs,
        ),
        (
            "allocation_density",
            vec![
                "where each draw's optimum falls",
                "optimal parameters P*",
                "tokens D* it trains",
                "per-draw optimum",
            ],
            "circle",
            draws,
        ),
    ]
}

/// Every scenario file shipped in scenarios/, in name order.
fn shipped_scenarios() -> Vec<std::path::PathBuf> {
    let mut scenarios: Vec<_> = std::fs::read_dir("scenarios")
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    scenarios.sort();
    scenarios
}

#[test]
fn plot_writes_four_readable_charts_for_every_shipped_scenario() {
    let dir = tempfile::tempdir().unwrap();
    let scenarios = shipped_scenarios();
    for path in scenarios {
        let out = dir.path().join(path.file_stem().unwrap());
        Command::cargo_bin("scalerisk")
            .unwrap()
            .arg("run")
            .arg(&path)
            .args(["--draws", "256", "--quiet", "--plot", "--out"])
            .arg(&out)
            .assert()
            .success();
        let sensitivity = std::fs::read_to_string(out.join("sensitivity.csv")).unwrap();
        let inputs = sensitivity.lines().count() - 1;
        for (chart, texts, mark, least) in expectations(256, inputs.min(12)) {
            let file = out.join(format!("{chart}.svg"));
            let svg = std::fs::read_to_string(&file)
                .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
            let doc = roxmltree::Document::parse(&svg)
                .unwrap_or_else(|e| panic!("{} is not XML: {e}", file.display()));
            let shown: String = doc
                .descendants()
                .filter(|n| n.has_tag_name("text"))
                .filter_map(|n| n.text())
                .collect::<Vec<_>>()
                .join(" | ");
            for t in texts {
                assert!(shown.contains(t), "{}: no {t:?} in {shown}", file.display());
            }
            // Axis tick labels: at least two numbers on the chart.
            let numbers = doc
                .descendants()
                .filter(|n| n.has_tag_name("text"))
                .filter(|n| {
                    n.text()
                        .is_some_and(|s| s.chars().any(|c| c.is_ascii_digit()))
                })
                .count();
            assert!(numbers >= 2, "{}: no tick labels", file.display());
            let marks = doc.descendants().filter(|n| n.has_tag_name(mark)).count();
            assert!(
                marks >= least,
                "{}: {marks} <{mark}> marks, expected at least {least}",
                file.display()
            );
        }
    }
}

/// `scalerisk plot` on a folder that is not a run: exit 2 naming what is missing.
#[test]
fn plot_refuses_a_folder_that_is_not_a_run() {
    let dir = tempfile::tempdir().unwrap();
    Command::cargo_bin("scalerisk")
        .unwrap()
        .arg("plot")
        .arg(dir.path())
        .assert()
        .code(2)
        .stderr(predicates::str::contains("run.json: missing"));
}

/// A parsed `<text>` tick label with the tick mark plotters draws right after it.
struct Tick {
    label: String,
    /// Position along its axis (x for the x axis, y for the y axis), from the tick mark.
    at: f64,
    /// Anchor of the text and its font size.
    x: f64,
    y: f64,
    size: f64,
}

fn attr(n: roxmltree::Node, name: &str) -> f64 {
    n.attribute(name)
        .and_then(|v| v.parse().ok())
        .unwrap_or(f64::NAN)
}

fn points(n: roxmltree::Node) -> Vec<(f64, f64)> {
    n.attribute("points")
        .unwrap_or("")
        .split_whitespace()
        .filter_map(|p| {
            let (a, b) = p.split_once(',')?;
            Some((a.parse().ok()?, b.parse().ok()?))
        })
        .collect()
}

/// The number a tick label shows: 5.76e23, 500M, 12B, 72 h, 2.7285.
fn tick_value(label: &str) -> Option<f64> {
    let s = label.trim().trim_end_matches(" h");
    let (num, scale) = match s.chars().last()? {
        'K' => (&s[..s.len() - 1], 1e3),
        'M' => (&s[..s.len() - 1], 1e6),
        'B' => (&s[..s.len() - 1], 1e9),
        'T' => (&s[..s.len() - 1], 1e12),
        _ => (s, 1.0),
    };
    num.parse::<f64>().ok().map(|v| v * scale)
}

/// Everything a chart's SVG says about its axes and marks.
struct Svg {
    /// (x from, x to, axis y) of the x axis; (y from, y to, axis x) of the y axis.
    x_axis: (f64, f64, f64),
    y_axis: (f64, f64, f64),
    x_ticks: Vec<Tick>,
    y_ticks: Vec<Tick>,
    texts: Vec<String>,
}

fn read_svg(svg: &str, file: &str) -> Svg {
    let doc = roxmltree::Document::parse(svg).unwrap_or_else(|e| panic!("{file}: not XML: {e}"));
    let elements: Vec<_> = doc.descendants().filter(|n| n.is_element()).collect();
    let (mut x_axis, mut y_axis) = (None, None);
    let (mut x_ticks, mut y_ticks) = (Vec::new(), Vec::new());
    for (i, n) in elements.iter().enumerate() {
        if n.has_tag_name("polyline") && n.attribute("stroke") == Some("#000000") {
            let p = points(*n);
            if p.len() == 2 && p[0].1 == p[1].1 && (p[1].0 - p[0].0).abs() > 50.0 {
                x_axis.get_or_insert((p[0].0.min(p[1].0), p[0].0.max(p[1].0), p[0].1));
            }
            if p.len() == 2 && p[0].0 == p[1].0 && (p[1].1 - p[0].1).abs() > 50.0 {
                y_axis.get_or_insert((p[0].1.min(p[1].1), p[0].1.max(p[1].1), p[0].0));
            }
        }
        if !n.has_tag_name("text") {
            continue;
        }
        let Some(mark) = elements.get(i + 1).filter(|m| m.has_tag_name("polyline")) else {
            continue;
        };
        let p = points(*mark);
        if p.len() != 2 {
            continue;
        }
        let len = (p[1].0 - p[0].0).abs() + (p[1].1 - p[0].1).abs();
        if len > 6.0 {
            continue;
        }
        let tick = |at: f64| Tick {
            label: n.text().unwrap_or("").trim().to_string(),
            at,
            x: attr(*n, "x"),
            y: attr(*n, "y"),
            size: attr(*n, "font-size"),
        };
        if p[0].0 == p[1].0 {
            x_ticks.push(tick(p[0].0));
        } else {
            y_ticks.push(tick(p[0].1));
        }
    }
    Svg {
        x_axis: x_axis.unwrap_or_else(|| panic!("{file}: no x axis line")),
        y_axis: y_axis.unwrap_or_else(|| panic!("{file}: no y axis line")),
        x_ticks,
        y_ticks,
        texts: doc
            .descendants()
            .filter(|n| n.has_tag_name("text"))
            .filter_map(|n| n.text().map(|t| t.trim().to_string()))
            .collect(),
    }
}

/// Rough width of a label in DejaVu Sans (0.62 em per character on average).
fn width(t: &Tick) -> f64 {
    0.62 * t.size * t.label.chars().count() as f64
}

/// Tick labels: at least two per axis, numbers (where `numeric`) that are finite and increase
/// along the axis, all distinct, inside the axis' extent and the canvas, and not overlapping.
fn check_ticks(file: &str, svg: &Svg, y_numeric: bool) {
    let (w, h) = (960.0, 600.0);
    for (axis, ticks, (from, to, _), numeric) in [
        ("x", &svg.x_ticks, svg.x_axis, true),
        ("y", &svg.y_ticks, svg.y_axis, y_numeric),
    ] {
        let labels: Vec<&str> = ticks.iter().map(|t| t.label.as_str()).collect();
        assert!(ticks.len() >= 2, "{file}: {axis} axis has {labels:?}");
        for (i, t) in ticks.iter().enumerate() {
            assert!(
                !labels[..i].contains(&t.label.as_str()),
                "{file}: {axis} tick {:?} twice in {labels:?}",
                t.label
            );
            assert!(
                t.at >= from - 1.0 && t.at <= to + 1.0,
                "{file}: {axis} tick {:?} at {} outside the axis [{from}, {to}]",
                t.label,
                t.at
            );
            let half = if axis == "x" { width(t) / 2.0 } else { 0.0 };
            assert!(
                t.x - half >= 0.0 && t.x + half <= w && t.y >= 0.0 && t.y <= h,
                "{file}: {axis} tick {:?} off the canvas",
                t.label
            );
            if axis == "y" {
                // Right-aligned at x: its left end must be on the canvas.
                assert!(
                    t.x - width(t) >= 0.0,
                    "{file}: y tick {:?} cut off",
                    t.label
                );
            }
        }
        if numeric {
            let mut v: Vec<(f64, f64)> = ticks
                .iter()
                .map(|t| {
                    let v = tick_value(&t.label).unwrap_or_else(|| {
                        panic!("{file}: {axis} tick {:?} is not a number", t.label)
                    });
                    assert!(v.is_finite(), "{file}: {axis} tick {:?}", t.label);
                    // Up the y axis is down the page.
                    (if axis == "x" { t.at } else { -t.at }, v)
                })
                .collect();
            v.sort_by(|a, b| a.0.total_cmp(&b.0));
            assert!(
                v.windows(2).all(|p| p[0].1 < p[1].1),
                "{file}: {axis} ticks do not increase along the axis: {labels:?}"
            );
        }
        let mut sorted: Vec<&Tick> = ticks.iter().collect();
        sorted.sort_by(|a, b| a.at.total_cmp(&b.at));
        for p in sorted.windows(2) {
            let gap = p[1].at - p[0].at;
            let need = if axis == "x" {
                (width(p[0]) + width(p[1])) / 2.0 + 2.0
            } else {
                p[0].size.max(p[1].size)
            };
            assert!(
                gap >= need,
                "{file}: {axis} ticks {:?} and {:?} collide ({gap:.0} px apart, need {need:.0})",
                p[0].label,
                p[1].label
            );
        }
    }
}

/// Every chart of every shipped scenario, from its SVG text: tick labels
/// finite, distinct, increasing, inside the plot and apart; a FLOPs budget's frontier in FLOP
/// within the run's compute; the allocation legend counts the points drawn and names the
/// 20-tokens line only when it is drawn; the tornado's bars never cover each other.
#[test]
fn every_chart_of_every_shipped_scenario_reads_right() {
    let dir = tempfile::tempdir().unwrap();
    let scenarios = shipped_scenarios();
    assert!(scenarios.len() >= 8, "{scenarios:?}");
    for path in scenarios {
        // More draws than the 4,096 points drawn on the hindcast (fast), so the legend's count
        // is tested where it thins; 1,024 elsewhere.
        let stem = path.file_stem().unwrap().to_string_lossy().to_string();
        let draws = if stem == "chinchilla-hindcast" {
            8192
        } else {
            1024
        };
        let out = dir.path().join(&stem);
        Command::cargo_bin("scalerisk")
            .unwrap()
            .arg("run")
            .arg(&path)
            .args([
                "--draws",
                &draws.to_string(),
                "--quiet",
                "--plot=svg",
                "--out",
            ])
            .arg(&out)
            .assert()
            .success();
        let run: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("run.json")).unwrap()).unwrap();
        let flops_budget = run["scenario"]["budget"]["capacity"]["kind"] == "flops";
        let svg = |chart: &str| {
            let file = out.join(format!("{chart}.svg"));
            let text = std::fs::read_to_string(&file)
                .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
            (format!("{stem}/{chart}.svg"), text)
        };

        // The serving chart exactly where the run served tokens (a serving.csv).
        let serves = out.join("serving.csv").exists();
        assert_eq!(out.join("serving.svg").exists(), serves, "{stem}");
        let charts = [
            "loss_vs_params",
            "frontier",
            "tornado",
            "allocation_density",
            "serving",
        ];
        for chart in charts.into_iter().filter(|c| serves || *c != "serving") {
            let (file, text) = svg(chart);
            check_ticks(&file, &read_svg(&text, &file), chart != "tornado");
        }

        // The frontier's budget axis is in the budget's unit, over the run's range.
        let (file, text) = svg("frontier");
        let s = read_svg(&text, &file);
        let frontier = std::fs::read_to_string(out.join("frontier.csv")).unwrap();
        let mut rd = csv::Reader::from_reader(frontier.as_bytes());
        let col = if flops_budget {
            "flops_p50"
        } else {
            "budget_hours"
        };
        let j = rd.headers().unwrap().iter().position(|h| h == col).unwrap();
        let budget: Vec<f64> = rd
            .records()
            .map(|r| r.unwrap()[j].parse().unwrap())
            .collect();
        let (lo, hi) = budget
            .iter()
            .fold((f64::INFINITY, 0f64), |(a, b), v| (a.min(*v), b.max(*v)));
        for t in &s.x_ticks {
            let v = tick_value(&t.label).unwrap();
            assert!(
                v >= lo / 1.31 && v <= hi * 1.31,
                "{file}: budget tick {:?} outside the run's budgets [{lo:e}, {hi:e}]",
                t.label
            );
            assert_eq!(
                t.label.ends_with(" h"),
                !flops_budget,
                "{file}: {:?}",
                t.label
            );
        }
        let unit = if flops_budget { "FLOP" } else { "hours" };
        assert!(
            s.texts
                .iter()
                .any(|t| t.starts_with("budget (") && t.contains(unit)),
            "{file}: no budget axis title in {unit}: {:?}",
            s.texts
        );

        // The allocation legend counts what is drawn; the 20-tokens line is drawn if named.
        let (file, text) = svg("allocation_density");
        let s = read_svg(&text, &file);
        let doc = roxmltree::Document::parse(&text).unwrap();
        let dots = doc
            .descendants()
            .filter(|n| n.has_tag_name("circle") && n.attribute("r") == Some("2"))
            .count();
        let label = s
            .texts
            .iter()
            .find(|t| t.starts_with("per-draw optimum ("))
            .unwrap_or_else(|| panic!("{file}: no per-draw legend in {:?}", s.texts));
        let counts: Vec<usize> = label
            .split(|c: char| !c.is_ascii_digit() && c != ',')
            .filter(|w| w.chars().any(|c| c.is_ascii_digit()))
            .map(|w| w.replace(',', "").parse().unwrap())
            .collect();
        assert_eq!(
            counts[0], dots,
            "{file}: legend {label:?}, {dots} points drawn"
        );
        assert_eq!(*counts.last().unwrap(), draws, "{file}: legend {label:?}");
        let (x0, x1, _) = s.x_axis;
        let (y0, y1, _) = s.y_axis;
        let green_in_box = doc.descendants().any(|n| {
            n.has_tag_name("polyline")
                && n.attribute("stroke") == Some("#289650")
                && points(n).len() == 2
                && points(n)
                    .iter()
                    .all(|&(x, y)| x >= x0 - 1.0 && x <= x1 + 1.0 && y >= y0 - 1.0 && y <= y1 + 1.0)
                && (points(n)[1].0 - points(n)[0].0).abs() > 20.5
        });
        assert_eq!(
            s.texts.iter().any(|t| t == "20 tokens per parameter"),
            green_in_box,
            "{file}: the legend names the 20-tokens line iff it is drawn"
        );
        // No infinite token count printed (a plan trained until the deadline has D = inf).
        assert!(
            !s.texts.iter().any(|t| t
                .split(|c: char| !c.is_alphanumeric())
                .any(|w| w == "inf" || w == "infT")),
            "{file}: {:?}",
            s.texts
        );

        // The tornado's bars (drawn before the legend box) never cover each other.
        let (file, text) = svg("tornado");
        let doc = roxmltree::Document::parse(&text).unwrap();
        let bars: Vec<(f64, f64, f64, f64)> = doc
            .descendants()
            .filter(|n| n.has_tag_name("rect"))
            .take_while(|n| n.attribute("opacity") != Some("0.9"))
            .filter(|n| matches!(n.attribute("fill"), Some("#466EC8" | "#D65A28")))
            .map(|n| {
                let (x, y) = (attr(n, "x"), attr(n, "y"));
                (x, y, x + attr(n, "width"), y + attr(n, "height"))
            })
            .collect();
        assert!(bars.len() >= 2, "{file}: {} bars", bars.len());
        for (i, a) in bars.iter().enumerate() {
            for b in &bars[..i] {
                let w = a.2.min(b.2) - a.0.max(b.0);
                let h = a.3.min(b.3) - a.1.max(b.1);
                assert!(w <= 1.0 || h <= 1.0, "{file}: bars {a:?} and {b:?} overlap");
            }
        }
    }
}
