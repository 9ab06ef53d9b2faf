//! The four charts, each from the run's tables. Axes carry units; every chart has a legend.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::data::RunTables;
use crate::error::{Error, Result};
use crate::report::si;

type Res = std::result::Result<(), Box<dyn std::error::Error>>;

const BAND: RGBColor = RGBColor(70, 110, 200);
const ACCENT: RGBColor = RGBColor(214, 90, 40);
const GREY: RGBColor = RGBColor(90, 90, 90);
const GREEN: RGBColor = RGBColor(40, 150, 80);

/// Draw chart `name` on `backend`.
pub fn draw<DB: DrawingBackend>(name: &str, t: &RunTables, backend: DB) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let root = backend.into_drawing_area();
    let r: Res = (|| {
        root.fill(&WHITE)?;
        match name {
            "loss_vs_params" => loss_vs_params(&root, t)?,
            "frontier" => frontier(&root, t)?,
            "tornado" => tornado(&root, t)?,
            "allocation_density" => allocation_density(&root, t)?,
            "serving" => serving(&root, t)?,
            "pilots" => pilots(&root, t)?,
            other => return Err(format!("no chart {other}").into()),
        }
        root.present()?;
        Ok(())
    })();
    r.map_err(|e| match e.downcast::<Error>() {
        Ok(e) if e.is_input() => *e,
        Ok(e) => Error::Runtime(format!("drawing {name}: {e}")),
        Err(e) => Error::Runtime(format!("drawing {name}: {e}")),
    })
}

/// The legend box every chart uses.
fn legend<'a, DB, CT>(chart: &mut ChartContext<'a, DB, CT>, at: SeriesLabelPosition) -> Res
where
    DB: DrawingBackend + 'a,
    DB::ErrorType: 'static,
    CT: plotters::coord::CoordTranslate,
{
    chart
        .configure_series_labels()
        .position(at)
        .background_style(WHITE.mix(0.9))
        .border_style(GREY)
        .label_font(("sans-serif", 15))
        .draw()?;
    Ok(())
}

/// 8192 -> "8,192".
fn thousands(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn title(t: &RunTables, what: &str) -> String {
    if t.illustrative {
        format!("{} — {what} (ILLUSTRATIVE law)", t.name)
    } else {
        format!("{} — {what}", t.name)
    }
}

/// (params, tokens, loss_mean) of the recommendation row `objective`. A plan that trains until
/// the deadline (tokens = inf) is drawn at the median of the tokens it trains
/// (`tokens_trained_p50`; see [`until_deadline`]).
fn rec(t: &RunTables, objective: &str) -> Option<(f64, f64, f64)> {
    let names = t.recommendations.text("objective").ok()?;
    let i = names.iter().position(|n| n == objective)?;
    let get = |c: &str| t.recommendations.num(c).ok().map(|v| v[i]);
    let tokens = match get("tokens")? {
        d if d.is_finite() => d,
        _ => get("tokens_trained_p50").unwrap_or(f64::NAN),
    };
    Some((get("params")?, tokens, get("loss_mean")?))
}

/// Whether the recommendation row `objective` trains until the deadline (tokens = inf).
fn until_deadline(t: &RunTables, objective: &str) -> bool {
    let Ok(names) = t.recommendations.text("objective") else {
        return false;
    };
    let Some(i) = names.iter().position(|n| n == objective) else {
        return false;
    };
    t.recommendations
        .num("tokens")
        .is_ok_and(|v| v[i] == f64::INFINITY)
}

/// The plan of the first objective (the report's "recommended").
fn first_rec(t: &RunTables) -> Option<(String, (f64, f64, f64))> {
    let name = t
        .recommendations
        .text("objective")
        .ok()?
        .into_iter()
        .next()?;
    let r = rec(t, &name)?;
    Some((name, r))
}

/// Tick positions on a log axis: 1-2-5 per decade; when that gives fewer than four, evenly
/// spaced round values on a range narrower than a decade (110M-190M, 7B-16B) and every digit on
/// a wider one; every k-th power of ten when the range spans many decades (at most ~12). Ticks have at most two significant
/// digits, so [`si`] and [`flops`] print them distinct. Empty unless 0 < lo < hi < ∞ (so the
/// decade loop is bounded: a finite f64 range spans at most ~630 decades).
fn log_ticks(lo: f64, hi: f64) -> Vec<f64> {
    if !(lo > 0.0 && lo < hi && hi.is_finite()) {
        return Vec::new();
    }
    let pick = |mantissas: &[f64]| -> Vec<f64> {
        let (a, b) = (lo.log10().floor() as i32, hi.log10().ceil() as i32);
        (a..=b)
            .flat_map(|k| mantissas.iter().map(move |m| m * 10f64.powi(k)))
            .filter(|v| *v >= lo && *v <= hi)
            .collect()
    };
    let v = pick(&[1.0, 2.0, 5.0]);
    if v.len() > 12 {
        // Every k-th power of ten, so a range of hundreds of decades keeps ~12 labels.
        let all = pick(&[1.0]);
        let k = all.len().div_ceil(12).max(1);
        return all.into_iter().step_by(k).collect();
    }
    if v.len() >= 4 {
        return v;
    }
    // Inside a decade's width, round values evenly spaced cover the whole range (the digits
    // 7, 8, 9, 10 of 7B-16B would leave its top half unlabelled).
    if hi / lo < 10.0 {
        return linear_ticks(lo, hi);
    }
    pick(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0])
}

/// Four to ten round values (1, 2 or 5 times a power of ten apart) inside [lo, hi], lo < hi.
fn linear_ticks(lo: f64, hi: f64) -> Vec<f64> {
    let raw = (hi - lo) / 5.0;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| (hi - lo) / s <= 8.0)
        .unwrap_or(10.0 * mag);
    let first = (lo / step).ceil() as i64;
    let last = (hi / step).floor() as i64;
    (first..=last.min(first + 10))
        .map(|k| k as f64 * step)
        .filter(|v| *v >= lo && *v <= hi)
        .collect()
}

/// Compute in FLOP as people write it: 5.76e23, 1e24 (three significant digits at most).
pub(crate) fn flops(x: f64) -> String {
    if !x.is_finite() || x == 0.0 {
        return format!("{x}");
    }
    let e = x.abs().log10().floor() as i32;
    let m = x / 10f64.powi(e);
    // Rounding can carry the mantissa to 10 (9.996e23 -> 1e24).
    let (m, e) = if (m * 100.0).round() / 100.0 >= 10.0 {
        (m / 10.0, e + 1)
    } else {
        (m, e)
    };
    let s = format!("{m:.2}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    format!("{s}e{e}")
}

/// The padded range of the finite positive values, for a log axis; (1, 10) when there are none.
/// The padding stays finite (values near f64::MAX are not padded past it).
fn log_range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values
        .filter(|v| v.is_finite() && *v > 0.0)
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
            (a.min(v), b.max(v))
        });
    if !lo.is_finite() {
        return (1.0, 10.0);
    }
    let (lo, hi) = ((lo / 1.3).max(f64::MIN_POSITIVE), (hi * 1.3).min(f64::MAX));
    if lo < hi {
        (lo, hi)
    } else {
        (lo, lo * 10.0)
    }
}

/// A linear axis range plotters can label: finite, ordered, wider than rounding.
fn check_linear(lo: f64, hi: f64, what: &str) -> Res {
    let width = hi - lo;
    if !(lo.is_finite() && hi.is_finite() && width.is_finite() && width > 0.0)
        || width <= 1e-9 * lo.abs().max(hi.abs())
    {
        return Err(format!(
            "the {what} range [{lo:e}, {hi:e}] cannot be drawn (values out of range)"
        )
        .into());
    }
    Ok(())
}

fn loss_vs_params<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, t: &RunTables) -> Res
where
    DB::ErrorType: 'static,
{
    let c = &t.configs;
    let (p, mean, p05, p95) = (
        c.num("params")?,
        c.num("loss_mean")?,
        c.num("loss_p05")?,
        c.num("loss_p95")?,
    );
    let complete = c.num("p_complete")?;
    let feasible: Vec<bool> = c.text("feasible")?.iter().map(|v| v == "true").collect();
    let meets = |i: usize| feasible[i] && complete[i] >= t.min_completion;
    let any_meet = (0..p.len()).any(meets);
    // Best configuration (over D and T) for each P.
    let mut best: Vec<(f64, f64, f64, f64)> = Vec::new();
    for i in (0..p.len()).filter(|&i| if any_meet { meets(i) } else { feasible[i] }) {
        match best.iter_mut().find(|b| b.0 == p[i]) {
            Some(b) if mean[i] < b.1 => *b = (p[i], mean[i], p05[i], p95[i]),
            Some(_) => {}
            None => best.push((p[i], mean[i], p05[i], p95[i])),
        }
    }
    best.sort_by(|a, b| a.0.total_cmp(&b.0));
    if best.is_empty() {
        return Err("no feasible configuration".into());
    }
    let min_mean = best.iter().map(|b| b.1).fold(f64::INFINITY, f64::min);
    let min_p05 = best.iter().map(|b| b.2).fold(f64::INFINITY, f64::min);
    let spread = best.iter().map(|b| b.3 - b.2).fold(0.0, f64::max).max(1e-6);
    let twenty = rec(t, "twenty_tokens_per_param");
    let floor = twenty.map_or(min_p05, |b| b.2.min(min_p05));
    let max_p95 = best.iter().map(|b| b.3).fold(f64::NEG_INFINITY, f64::max);
    let (y_lo, y_hi) = (
        floor - 0.1 * spread,
        (min_mean + 4.0 * spread).min(max_p95 + 0.1 * spread),
    );
    check_linear(y_lo, y_hi, "loss")?;
    let (x_lo, x_hi) = log_range(best.iter().map(|b| b.0));
    let mut chart = ChartBuilder::on(root)
        .caption(
            title(t, "expected loss against model size"),
            ("sans-serif", 22),
        )
        .margin(16)
        .x_label_area_size(50)
        .y_label_area_size(70)
        .build_cartesian_2d(
            (x_lo..x_hi)
                .log_scale()
                .with_key_points(log_ticks(x_lo, x_hi)),
            y_lo..y_hi,
        )?;
    chart
        .configure_mesh()
        .x_desc("parameters P (best tokens and hours for each P)")
        .y_desc("loss (nats per token)")
        .x_label_formatter(&|v| si(*v))
        .y_label_formatter(&|v| format!("{v:.3}"))
        .draw()?;
    let clip = |v: f64| v.clamp(y_lo, y_hi);
    let mut band: Vec<(f64, f64)> = best.iter().map(|b| (b.0, clip(b.3))).collect();
    band.extend(best.iter().rev().map(|b| (b.0, clip(b.2))));
    chart
        .draw_series(std::iter::once(Polygon::new(band, BAND.mix(0.2))))?
        .label("5–95% band over draws")
        .legend(|(x, y)| Rectangle::new([(x, y - 5), (x + 20, y + 5)], BAND.mix(0.3).filled()));
    chart
        .draw_series(LineSeries::new(
            best.iter().filter(|b| b.1 <= y_hi).map(|b| (b.0, b.1)),
            BAND.stroke_width(2),
        ))?
        .label("expected loss")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BAND.stroke_width(2)));
    if let Some((name, (rp, _, rl))) = first_rec(t) {
        chart
            .draw_series(std::iter::once(Circle::new(
                (rp, clip(rl)),
                7,
                ACCENT.filled(),
            )))?
            .label(format!("recommended ({name}): {} params", si(rp)))
            .legend(|(x, y)| Circle::new((x + 10, y), 6, ACCENT.filled()));
    }
    if let Some((bp, bd, bl)) = twenty {
        let done = t
            .recommendations
            .text("objective")?
            .iter()
            .position(|o| o == "twenty_tokens_per_param")
            .and_then(|i| t.recommendations.num("p_complete").ok().map(|v| v[i]))
            .unwrap_or(f64::NAN);
        chart
            .draw_series(std::iter::once(TriangleMarker::new(
                (bp, clip(bl)),
                8,
                GREEN.filled(),
            )))?
            .label(format!(
                "20 tokens/param rule: {} params, {} tokens (completes {:.0}%)",
                si(bp),
                si(bd),
                100.0 * done
            ))
            .legend(|(x, y)| TriangleMarker::new((x + 10, y), 7, GREEN.filled()));
    }
    legend(&mut chart, SeriesLabelPosition::UpperRight)?;
    Ok(())
}

fn frontier<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, t: &RunTables) -> Res
where
    DB::ErrorType: 'static,
{
    let f = &t.frontier;
    // Hours on hardware; training compute for a FLOPs budget (whose hours are nominal).
    let h = f.num(if t.flops_budget {
        "flops_p50"
    } else {
        "budget_hours"
    })?;
    let cols = |prefix: &str| -> std::result::Result<[Vec<f64>; 3], Box<dyn std::error::Error>> {
        Ok([
            f.num(&format!("{prefix}_p05"))?,
            f.num(&format!("{prefix}_p50"))?,
            f.num(&format!("{prefix}_p95"))?,
        ])
    };
    let params = cols("params")?;
    let tokens = cols("tokens")?;
    let robust = f.num("robust_params")?;
    let (x_lo, x_hi) = log_range(h.iter().copied());
    let (y_lo, y_hi) = log_range(params[0].iter().chain(&tokens[2]).copied());
    let mut chart = ChartBuilder::on(root)
        .caption(
            title(t, "what more budget buys: the per-draw optimum"),
            ("sans-serif", 22),
        )
        .margin(16)
        .x_label_area_size(50)
        .y_label_area_size(70)
        .build_cartesian_2d(
            (x_lo..x_hi)
                .log_scale()
                .with_key_points(log_ticks(x_lo, x_hi)),
            (y_lo..y_hi)
                .log_scale()
                .with_key_points(log_ticks(y_lo, y_hi)),
        )?;
    chart
        .configure_mesh()
        .x_desc(if t.flops_budget {
            "budget (training compute, FLOP)"
        } else {
            "budget (wall-clock hours on the scenario's hardware)"
        })
        .y_desc("optimal parameters P* and tokens D*")
        .x_label_formatter(&|v| {
            if t.flops_budget {
                flops(*v)
            } else {
                format!("{} h", si(*v))
            }
        })
        .y_label_formatter(&|v| si(*v))
        .draw()?;
    for (what, b, color) in [("P*", &params, BAND), ("D*", &tokens, ACCENT)] {
        let mut band: Vec<(f64, f64)> = h.iter().zip(&b[2]).map(|(x, y)| (*x, *y)).collect();
        band.extend(h.iter().zip(&b[0]).rev().map(|(x, y)| (*x, *y)));
        chart.draw_series(std::iter::once(Polygon::new(band, color.mix(0.18))))?;
        chart
            .draw_series(LineSeries::new(
                h.iter().zip(&b[1]).map(|(x, y)| (*x, *y)),
                color.stroke_width(2),
            ))?
            .label(format!("median {what} with its 5–95% band"))
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
            });
    }
    chart
        .draw_series(
            h.iter()
                .zip(&robust)
                .filter(|(_, r)| r.is_finite())
                .map(|(x, r)| Circle::new((*x, *r), 5, GREY.filled())),
        )?
        .label("robust plan's P (expected loss)")
        .legend(|(x, y)| Circle::new((x + 10, y), 5, GREY.filled()));
    legend(&mut chart, SeriesLabelPosition::UpperLeft)?;
    Ok(())
}

fn tornado<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, t: &RunTables) -> Res
where
    DB::ErrorType: 'static,
{
    let s = &t.sensitivity;
    let names = s.text("input")?;
    let low = s.num("tornado_low")?;
    let high = s.num("tornado_high")?;
    let base = first_rec(t).map_or(f64::NAN, |(_, r)| r.2);
    let n = names.len().min(12);
    if n == 0 {
        return Err("no uncertain inputs: nothing varies across draws".into());
    }
    if !base.is_finite() {
        return Err("no recommended plan's loss to compare against".into());
    }
    let all = low[..n]
        .iter()
        .chain(&high[..n])
        .chain(std::iter::once(&base))
        .copied();
    let (lo, hi) = all
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
            (a.min(v), b.max(v))
        });
    let pad = ((hi - lo) * 0.08).max(1e-6 * (1.0 + lo.abs().max(hi.abs())));
    check_linear(lo - pad, hi + pad, "loss")?;
    let labels = names[..n].to_vec();
    let mut chart = ChartBuilder::on(root)
        .caption(title(t, "what moves the plan's loss"), ("sans-serif", 22))
        .margin(16)
        .x_label_area_size(50)
        .y_label_area_size(110)
        .build_cartesian_2d((lo - pad)..(hi + pad), -0.5..(n as f64 - 0.5))?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(n)
        .y_label_formatter(&|v| {
            let i = v.round();
            if (v - i).abs() < 1e-6 && i >= 0.0 && (i as usize) < labels.len() {
                labels[n - 1 - i as usize].clone()
            } else {
                String::new()
            }
        })
        .x_desc("the recommended plan's mean loss (nats per token) when the input is in its lowest / highest decile")
        .y_desc("uncertain input")
        .x_label_formatter(&|v| format!("{v:.4}"))
        .draw()?;
    // The low decile's bar in the upper half of the input's row, the high decile's in the lower
    // half: when both move the loss the same way they sit side by side, never over each other.
    let bar = |i: usize, v: f64, upper: bool| {
        let y = (n - 1 - i) as f64;
        let (a, b) = if upper { (y, y + 0.4) } else { (y - 0.4, y) };
        [(base.min(v), a), (base.max(v), b)]
    };
    chart
        .draw_series((0..n).map(|i| Rectangle::new(bar(i, low[i], true), BAND.mix(0.8).filled())))?
        .label("input in its lowest decile")
        .legend(|(x, y)| Rectangle::new([(x, y - 5), (x + 20, y + 5)], BAND.mix(0.8).filled()));
    chart
        .draw_series(
            (0..n).map(|i| Rectangle::new(bar(i, high[i], false), ACCENT.mix(0.8).filled())),
        )?
        .label("input in its highest decile")
        .legend(|(x, y)| Rectangle::new([(x, y - 5), (x + 20, y + 5)], ACCENT.mix(0.8).filled()));
    chart
        .draw_series(std::iter::once(PathElement::new(
            vec![(base, -0.5), (base, n as f64 - 0.5)],
            BLACK.stroke_width(1),
        )))?
        .label(format!("plan's expected loss {base:.4}"))
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLACK));
    legend(&mut chart, SeriesLabelPosition::LowerRight)?;
    Ok(())
}

fn allocation_density<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, t: &RunTables) -> Res
where
    DB::ErrorType: 'static,
{
    let p = t.draws.num("params_opt")?;
    let d = t.draws.num("tokens_opt")?;
    let recommended = first_rec(t).filter(|(_, (rp, rd, _))| rp.is_finite() && rd.is_finite());
    let marks = || recommended.iter().map(|(_, r)| (r.0, r.1));
    let (x_lo, x_hi) = log_range(p.iter().copied().chain(marks().map(|m| m.0)));
    let (y_lo, y_hi) = log_range(d.iter().copied().chain(marks().map(|m| m.1)));
    let mut chart = ChartBuilder::on(root)
        .caption(
            title(t, "where each draw's optimum falls"),
            ("sans-serif", 22),
        )
        .margin(16)
        .x_label_area_size(50)
        .y_label_area_size(70)
        .build_cartesian_2d(
            (x_lo..x_hi)
                .log_scale()
                .with_key_points(log_ticks(x_lo, x_hi)),
            (y_lo..y_hi)
                .log_scale()
                .with_key_points(log_ticks(y_lo, y_hi)),
        )?;
    chart
        .configure_mesh()
        .x_desc("optimal parameters P* of a draw")
        .y_desc("tokens D* it trains")
        .x_label_formatter(&|v| si(*v))
        .y_label_formatter(&|v| si(*v))
        .draw()?;
    // At most 4,096 points: the density reads the same and the file stays small. The legend
    // counts the points drawn.
    let step = (p.len() / 4096).max(1);
    let shown: Vec<(f64, f64)> = p
        .iter()
        .zip(&d)
        .step_by(step)
        .filter(|(x, y)| x.is_finite() && y.is_finite())
        .map(|(x, y)| (*x, *y))
        .collect();
    let label = if shown.len() == p.len() {
        format!("per-draw optimum ({} draws)", thousands(p.len()))
    } else {
        format!(
            "per-draw optimum ({} of {} draws shown)",
            thousands(shown.len()),
            thousands(p.len())
        )
    };
    chart
        .draw_series(
            shown
                .iter()
                .map(|&(x, y)| Circle::new((x, y), 2, BAND.mix(0.25).filled())),
        )?
        .label(label)
        .legend(|(x, y)| Circle::new((x + 10, y), 3, BAND.mix(0.5).filled()));
    // D = 20·P, clipped to the plotted box; in the legend only when some of it is drawn.
    let (a, b) = (x_lo.max(y_lo / 20.0), x_hi.min(y_hi / 20.0));
    if a < b && (20.0 * b).is_finite() {
        chart
            .draw_series(LineSeries::new(
                vec![(a, 20.0 * a), (b, 20.0 * b)],
                GREEN.stroke_width(2),
            ))?
            .label("20 tokens per parameter")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], GREEN.stroke_width(2)));
    }
    if let Some((name, (rp, rd, _))) = recommended {
        let tokens = if until_deadline(t, &name) {
            format!("until the deadline (median {} tokens)", si(rd))
        } else {
            format!("{} tokens", si(rd))
        };
        chart
            .draw_series(std::iter::once(Cross::new(
                (rp, rd),
                9,
                ACCENT.stroke_width(3),
            )))?
            .label(format!(
                "recommended ({name}): {} params · {tokens}",
                si(rp)
            ))
            .legend(|(x, y)| Cross::new((x + 10, y), 6, ACCENT.stroke_width(3)));
    }
    legend(&mut chart, SeriesLabelPosition::UpperLeft)?;
    Ok(())
}

/// Expected loss against lifetime GPU-hours along serving.csv's frontier (linear axes: a plan
/// that reserved hours cover costs 0), with the `lifetime_cost` plan (the point `target_loss`
/// picks) and the first objective's plan from recommendations.csv.
fn serving<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, t: &RunTables) -> Res
where
    DB::ErrorType: 'static,
{
    let Some(front) = &t.serving else {
        return Err("no serving.csv (the run served no tokens)".into());
    };
    let (cost, loss) = (front.num("lifetime_gpu_hours")?, front.num("loss_mean")?);
    let line: Vec<(f64, f64)> = cost.iter().copied().zip(loss.iter().copied()).collect();
    if line.is_empty() {
        return Err("the serving frontier is empty".into());
    }
    let rec_at = |objective: &str| -> Option<(f64, f64, f64)> {
        let names = t.recommendations.text("objective").ok()?;
        let i = names.iter().position(|n| n == objective)?;
        let get = |c: &str| t.recommendations.num(c).ok().map(|v| v[i]);
        Some((
            get("params")?,
            get("lifetime_gpu_hours")?,
            get("loss_mean")?,
        ))
    };
    let lifetime = rec_at("lifetime_cost");
    let first = first_rec(t)
        .filter(|(name, _)| name != "lifetime_cost")
        .and_then(|(name, _)| rec_at(&name).map(|r| (name, r)));
    let marks: Vec<(f64, f64)> = (lifetime.iter().map(|r| (r.1, r.2)))
        .chain(first.iter().map(|(_, r)| (r.1, r.2)))
        .collect();
    let all = || line.iter().chain(&marks);
    let (x_min, x_max) = all().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), p| {
        (a.min(p.0), b.max(p.0))
    });
    let (y_min, y_max) = all().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), p| {
        (a.min(p.1), b.max(p.1))
    });
    let (x_pad, y_pad) = (
        0.05 * (x_max - x_min).max(1.0),
        0.05 * (y_max - y_min).max(1e-4),
    );
    let (x_lo, x_hi) = ((x_min - x_pad).max(0.0), x_max + x_pad);
    let (y_lo, y_hi) = (y_min - y_pad, y_max + y_pad);
    check_linear(x_lo, x_hi, "lifetime GPU-hours")?;
    check_linear(y_lo, y_hi, "loss")?;
    let mut chart = ChartBuilder::on(root)
        .caption(
            title(t, "loss against lifetime cost (training + serving)"),
            ("sans-serif", 22),
        )
        .margin(16)
        .x_label_area_size(50)
        .y_label_area_size(70)
        .build_cartesian_2d(x_lo..x_hi, y_lo..y_hi)?;
    chart
        .configure_mesh()
        .x_desc("expected lifetime cost (GPU-hours beyond any reserved)")
        .y_desc("expected loss (nats per token)")
        .x_label_formatter(&|v| si(*v))
        .y_label_formatter(&|v| format!("{v:.3}"))
        .draw()?;
    chart
        .draw_series(LineSeries::new(line.iter().copied(), BAND.stroke_width(2)))?
        .label(format!(
            "plans no other beats on both ({} of them, serving.csv)",
            line.len()
        ))
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BAND.stroke_width(2)));
    if let Some((p, c, l)) = lifetime {
        chart
            .draw_series(std::iter::once(Circle::new((c, l), 7, ACCENT.filled())))?
            .label(format!(
                "lifetime_cost: {} params, the cheapest reaching the target",
                si(p)
            ))
            .legend(|(x, y)| Circle::new((x + 10, y), 6, ACCENT.filled()));
    }
    if let Some((name, (p, c, l))) = first {
        chart
            .draw_series(std::iter::once(TriangleMarker::new(
                (c, l),
                8,
                GREEN.filled(),
            )))?
            .label(format!("{name}: {} params", si(p)))
            .legend(|(x, y)| TriangleMarker::new((x + 10, y), 7, GREEN.filled()));
    }
    legend(&mut chart, SeriesLabelPosition::UpperRight)?;
    Ok(())
}

/// Each pilot design's value against the share of the compute it spends, one line per number
/// of runs and size ratio, with ±2 standard errors, the EVPI of the same choice (no design can exceed it) and
/// 0 (deciding now); the recommended design marked.
fn pilots<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, t: &RunTables) -> Res
where
    DB::ErrorType: 'static,
{
    let Some(p) = &t.pilots else {
        return Err("no pilots.csv (the run priced no pilots)".into());
    };
    let (runs, ratio, share, value, se) = (
        p.num("runs")?,
        p.num("size_ratio")?,
        p.num("share")?,
        p.num("value")?,
        p.num("value_se")?,
    );
    let recommended = p.text("recommended")?;
    let evpi = p.num("evpi")?.first().copied().unwrap_or(f64::NAN);
    if runs.is_empty() {
        return Err("pilots.csv has no designs".into());
    }
    let pct: Vec<f64> = share.iter().map(|s| 100.0 * s).collect();
    let x_hi = pct.iter().copied().fold(0.0, f64::max) * 1.05;
    let lows = value.iter().zip(&se).map(|(v, e)| v - 2.0 * e);
    let highs = value.iter().zip(&se).map(|(v, e)| v + 2.0 * e);
    let y_lo = lows.chain([0.0]).fold(f64::INFINITY, f64::min);
    let y_hi = highs.chain([0.0, evpi]).fold(f64::NEG_INFINITY, f64::max);
    let pad = 0.05 * (y_hi - y_lo).max(1e-6);
    let (y_lo, y_hi) = (y_lo - pad, y_hi + pad);
    check_linear(0.0, x_hi, "share of the compute")?;
    check_linear(y_lo, y_hi, "value")?;
    let mut chart = ChartBuilder::on(root)
        .caption(
            title(t, "pilots first: value against their cost"),
            ("sans-serif", 22),
        )
        .margin(16)
        .x_label_area_size(50)
        .y_label_area_size(80)
        .build_cartesian_2d(0.0..x_hi, y_lo..y_hi)?;
    chart
        .configure_mesh()
        .x_desc("compute the pilots spend (% of the budget's expected compute)")
        .y_desc("expected loss saved over deciding now (nats)")
        .y_label_formatter(&|v| format!("{v:.3}"))
        .draw()?;
    chart
        .draw_series(LineSeries::new([(0.0, 0.0), (x_hi, 0.0)], GREY))?
        .label("deciding now")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], GREY));
    if evpi.is_finite() {
        chart
            .draw_series(LineSeries::new(
                [(0.0, evpi), (x_hi, evpi)],
                GREEN.stroke_width(2),
            ))?
            .label(format!("knowing everything (EVPI {evpi:.3})"))
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], GREEN.stroke_width(2)));
    }
    // One line per design family: number of runs and their size ratio.
    let mut families: Vec<(f64, f64)> = runs.iter().copied().zip(ratio.iter().copied()).collect();
    families.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
    families.dedup();
    let colours = [
        BAND,
        ACCENT,
        GREY,
        RGBColor(140, 80, 170),
        RGBColor(150, 110, 50),
    ];
    for (c, &(k, q)) in families.iter().enumerate() {
        let colour = colours[c % colours.len()];
        let pts: Vec<(f64, f64, f64)> = (0..runs.len())
            .filter(|&i| runs[i] == k && ratio[i] == q)
            .map(|i| (pct[i], value[i], se[i]))
            .collect();
        let label = if k == 1.0 {
            "1 run".to_string()
        } else {
            format!("{k} runs, {q}× apart")
        };
        chart
            .draw_series(LineSeries::new(
                pts.iter().map(|&(x, y, _)| (x, y)),
                colour.stroke_width(2),
            ))?
            .label(label)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2))
            });
        chart.draw_series(pts.iter().map(|&(x, y, e)| {
            PathElement::new(vec![(x, y - 2.0 * e), (x, y + 2.0 * e)], colour)
        }))?;
    }
    if let Some(i) = recommended.iter().position(|r| r == "true") {
        chart
            .draw_series(std::iter::once(Circle::new(
                (pct[i], value[i]),
                7,
                ACCENT.filled(),
            )))?
            .label(if runs[i] == 1.0 {
                format!("recommended: 1 run at {}%", pct[i])
            } else {
                format!(
                    "recommended: {} runs, {}× apart, at {}%",
                    runs[i], ratio[i], pct[i]
                )
            })
            .legend(|(x, y)| Circle::new((x + 10, y), 6, ACCENT.filled()));
    }
    legend(&mut chart, SeriesLabelPosition::MiddleRight)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A range reaching f64::MAX made the decade loop run to i32::MAX.
    #[test]
    fn ticks_and_ranges_are_bounded_on_extreme_values() {
        let t = std::time::Instant::now();
        let (lo, hi) = log_range([1e-9, 1e308].into_iter());
        assert!(lo > 0.0 && hi.is_finite() && lo < hi);
        let ticks = log_ticks(lo, hi);
        assert!(!ticks.is_empty() && ticks.len() <= 13, "{}", ticks.len());
        assert!(log_ticks(1.0, f64::INFINITY).is_empty());
        assert!(log_ticks(f64::NAN, 10.0).is_empty());
        assert_eq!(log_range([f64::NAN, -1.0].into_iter()), (1.0, 10.0));
        let (a, b) = log_range([f64::MAX].into_iter());
        assert!(a < b && b.is_finite());
        assert!(check_linear(0.0, f64::INFINITY, "x").is_err());
        assert!(check_linear(1e300, 1e300 * (1.0 + 1e-15), "x").is_err());
        assert!(check_linear(2.0, 3.0, "x").is_ok());
        assert!(t.elapsed().as_secs() < 1);
    }

    /// 7B-16B was labelled 7B, 8B, 9B, 10B only; 111M-187M had no label at all.
    #[test]
    fn narrow_log_ranges_are_labelled_across_their_whole_width() {
        for (lo, hi) in [(7e9, 16e9), (1.11e8, 1.87e8), (3e8, 2e9), (0.9, 1.3)] {
            let t = log_ticks(lo, hi);
            assert!(t.len() >= 3, "{lo:e}-{hi:e}: {t:?}");
            assert!(t.iter().all(|v| *v >= lo && *v <= hi), "{t:?}");
            // The labels reach the top fifth of the range (in log terms).
            let top = t.last().unwrap().ln();
            assert!(
                top >= lo.ln() + 0.8 * (hi.ln() - lo.ln()),
                "{lo:e}-{hi:e}: {t:?}"
            );
            let labels: Vec<String> = t.iter().map(|v| si(*v)).collect();
            for (i, l) in labels.iter().enumerate() {
                assert!(!labels[..i].contains(l), "{labels:?}");
            }
        }
    }

    #[test]
    fn flops_print_as_people_write_them() {
        assert_eq!(flops(5.76e23), "5.76e23");
        assert_eq!(flops(1e23), "1e23");
        assert_eq!(flops(99999999999999991611392.0), "1e23");
        assert_eq!(flops(2.5e24), "2.5e24");
        assert_eq!(thousands(8192), "8,192");
        assert_eq!(thousands(256), "256");
    }
}
