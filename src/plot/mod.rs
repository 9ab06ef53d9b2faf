//! `scalerisk plot`: four charts from a run's output folder (its CSVs are the interface, so any
//! run folder can be plotted): `loss_vs_params`, `frontier`, `tornado`, `allocation_density`,
//! `serving` when the run served tokens (it has a serving.csv) and `pilots` when it priced
//! pilots (pilots.csv), as SVG or PNG (plotters; text in the embedded DejaVu Sans, so no system fonts are needed).

mod charts;
mod data;

use std::path::Path;

use crate::error::{Error, Result};

pub use data::RunTables;

/// Chart file formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Svg,
    Png,
}

impl Format {
    pub fn ext(self) -> &'static str {
        match self {
            Format::Svg => "svg",
            Format::Png => "png",
        }
    }
}

/// The chart names, in the order they are drawn.
pub const CHARTS: [&str; 4] = [
    "loss_vs_params",
    "frontier",
    "tornado",
    "allocation_density",
];

/// Drawn only from a run that served tokens: expected loss against lifetime cost.
pub const SERVING_CHART: &str = "serving";

/// Drawn only from a run that priced pilots: their value against their cost.
pub const PILOTS_CHART: &str = "pilots";

/// The charts of a run: the four, `serving` when it has a serving.csv, `pilots` when it has a
/// pilots.csv.
pub fn charts_of(t: &RunTables) -> Vec<&'static str> {
    let mut v = CHARTS.to_vec();
    if t.serving.is_some() {
        v.push(SERVING_CHART);
    }
    if t.pilots.is_some() {
        v.push(PILOTS_CHART);
    }
    v
}

/// Chart size in pixels.
pub const SIZE: (u32, u32) = (960, 600);

static FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");

fn register_font() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        plotters::style::register_font("sans-serif", plotters::style::FontStyle::Normal, FONT)
            .map_err(|_| ())
            .expect("the embedded font parses");
    });
}

/// A chart drawn into an RGB buffer, encoded as PNG in memory (the encoder and settings
/// plotters uses when it saves a bitmap to a file, so the bytes are the same).
fn png(name: &str, t: &RunTables) -> Result<Vec<u8>> {
    use image::ImageEncoder;
    let (w, h) = SIZE;
    let mut rgb = vec![0u8; w as usize * h as usize * 3];
    {
        let backend = plotters::prelude::BitMapBackend::with_buffer(&mut rgb, SIZE);
        charts::draw(name, t, backend)?;
    }
    let mut bytes = Vec::new();
    image::codecs::png::PngEncoder::new(&mut bytes)
        .write_image(&rgb, w, h, image::ColorType::Rgb8)
        .map_err(|e| Error::Runtime(format!("encoding {name}.png: {e}")))?;
    Ok(bytes)
}

/// Every chart of a run, as (file name, bytes), or the first chart's failure.
pub fn render(t: &RunTables, format: Format) -> Result<Vec<(String, Vec<u8>)>> {
    render_each(t, format)?
        .into_iter()
        .map(|(name, r)| r.map(|b| (name, b)))
        .collect()
}

/// Every chart of a run, each as (file name, its bytes or why it cannot be drawn): one chart
/// that cannot be drawn (no uncertain inputs, one draw, values out of range) does not stop the
/// others.
pub fn render_each(t: &RunTables, format: Format) -> Result<Vec<(String, Result<Vec<u8>>)>> {
    register_font();
    let mut out = Vec::new();
    for name in charts_of(t) {
        let file = format!("{name}.{}", format.ext());
        let bytes = match format {
            Format::Svg => {
                let mut svg = String::new();
                let r = {
                    let backend = plotters::prelude::SVGBackend::with_string(&mut svg, SIZE);
                    charts::draw(name, t, backend)
                };
                r.map(|()| svg.into_bytes())
            }
            Format::Png => png(name, t),
        };
        out.push((file, bytes));
    }
    Ok(out)
}

/// What [`plot_dir`] did: the charts written and, for each one skipped, why.
pub struct Plotted {
    pub written: Vec<String>,
    pub skipped: Vec<(String, String)>,
}

/// `scalerisk plot DIR`: read the run's CSVs, write the charts into DIR (each file atomically);
/// a chart that cannot be drawn is skipped with its reason. An error when none can be drawn.
pub fn plot_dir(dir: &Path, format: Format) -> Result<Plotted> {
    let t = RunTables::from_dir(dir)?;
    // Every chart's target is checked before any is drawn: a chart replaces only a chart.
    for name in charts_of(&t) {
        let path = dir.join(format!("{name}.{}", format.ext()));
        crate::export::check_file_target(&path, "OUTPUT_DIR", 1e7, crate::export::Made::Chart)?;
    }
    let mut done = Plotted {
        written: Vec::new(),
        skipped: Vec::new(),
    };
    // Every chart is drawn before any is written: a column missing or unreadable (the folder
    // is not a run's, not a chart's problem) is refused with nothing written, never after
    // some charts.
    let mut ready = Vec::new();
    for (name, bytes) in render_each(&t, format)? {
        match bytes {
            Ok(bytes) => ready.push((name, bytes)),
            Err(e) if e.is_input() => return Err(e),
            Err(e) => done.skipped.push((name, e.to_string())),
        }
    }
    for (name, bytes) in ready {
        crate::export::write_file_atomic(&dir.join(&name), &bytes)?;
        done.written.push(name);
    }
    if done.written.is_empty() {
        return Err(Error::Runtime(format!(
            "no chart could be drawn: {}",
            done.skipped
                .iter()
                .map(|(n, e)| format!("{n}: {e}"))
                .collect::<Vec<_>>()
                .join("; ")
        )));
    }
    Ok(done)
}
