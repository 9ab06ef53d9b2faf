//! Progress on stderr for long work (indicatif): shown only when stderr is a terminal, not
//! `--quiet`, and the work has already taken about a second, so short runs print nothing extra.
//! Where stderr is not a terminal (a log, CI), work estimated past a minute prints one line with
//! the estimate instead.
//! Backends see only a `&dyn Fn(usize)` of "this many more configurations done".

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// After this long a still-running job shows its bar.
const SHOW_AFTER: Duration = Duration::from_secs(1);

/// Seconds left, from the rate between the first progress report and the latest (`first` and
/// `now` are (seconds since the start, work done)): what precedes the first report (adapter
/// start-up, uploads, the first chunk's latency) does not count against the rate, as it did
/// in indicatif's estimate (a 22-minute first ETA for a 25-second run). With one report only,
/// the whole time since the start stands in. `None` before any work is done.
pub fn eta_seconds(first: (f64, u64), now: (f64, u64), total: u64) -> Option<f64> {
    let left = total.saturating_sub(now.1) as f64;
    let (dt, dn) = (now.0 - first.0, now.1.saturating_sub(first.1));
    if dn > 0 && dt > 0.0 {
        return Some(left * dt / dn as f64);
    }
    (now.1 > 0 && now.0 > 0.0).then(|| left * now.0 / now.1 as f64)
}

/// (seconds since the start, work done) at the first report.
type First = Arc<Mutex<Option<(f64, u64)>>>;

/// Work estimated to last longer than this gets one line saying so when no bar can be shown.
const LONG_WORK_S: f64 = 60.0;
/// The rate is taken only after this much work time, so that the estimate is worth printing.
const NOTE_AFTER_S: f64 = 2.0;

/// The one line a long job prints when stderr is not a terminal (a log, a notebook, CI), where
/// no bar shows its estimate: after [`NOTE_AFTER_S`] seconds, when the time left at the rate so
/// far ([`eta_seconds`]) exceeds [`LONG_WORK_S`]. `None` otherwise.
pub fn long_work_note(
    what: &str,
    first: (f64, u64),
    now: (f64, u64),
    total: u64,
) -> Option<String> {
    if now.0 < NOTE_AFTER_S {
        return None;
    }
    let left = eta_seconds(first, now, total).filter(|&e| e > LONG_WORK_S)?;
    let pct = now.1 as f64 * 100.0 / total.max(1) as f64;
    let pct = if pct < 1.0 {
        format!("{pct:.1}")
    } else {
        format!("{pct:.0}")
    };
    Some(format!(
        "note: {what}: {pct}% of {total} configurations in {}, about {} left at this rate; nothing is written until the run ends (Ctrl-C stops it)",
        human_seconds(now.0),
        human_seconds(left)
    ))
}

/// A bar over `total` configurations (or a no-op).
pub struct Progress {
    bar: Option<ProgressBar>,
    start: Instant,
    shown: AtomicBool,
    first: First,
    /// Without a bar (stderr not a terminal): the work done so far, for [`long_work_note`].
    note: Option<Note>,
}

struct Note {
    what: String,
    total: u64,
    done: AtomicU64,
    said: AtomicBool,
}

impl Progress {
    /// A bar that appears on stderr after [`SHOW_AFTER`], if `enabled` and stderr is a terminal.
    pub fn new(total: usize, what: &str, enabled: bool) -> Progress {
        let start = Instant::now();
        let first: First = Arc::default();
        let at_first = first.clone();
        let bar = (enabled && std::io::stderr().is_terminal()).then(|| {
            let bar =
                ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::hidden());
            bar.set_style(
                ProgressStyle::with_template(
                    "{msg} [{bar:30}] {human_pos}/{human_len} configs · {rate} · ETA {left}",
                )
                .expect("static template")
                .with_key(
                    "rate",
                    |s: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                        let _ = write!(w, "{:.0} configs/s", s.per_sec());
                    },
                )
                .with_key(
                    "left",
                    move |s: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                        let first = *at_first.lock().unwrap_or_else(|e| e.into_inner());
                        let now = (start.elapsed().as_secs_f64(), s.pos());
                        let eta = first.and_then(|f| eta_seconds(f, now, s.len().unwrap_or(0)));
                        let _ = match eta {
                            Some(e) => write!(w, "{}", human_seconds(e)),
                            None => write!(w, "…"),
                        };
                    },
                )
                .progress_chars("=> "),
            );
            bar.set_message(what.to_string());
            bar
        });
        let note = (enabled && bar.is_none()).then(|| Note {
            what: what.to_string(),
            total: total as u64,
            done: AtomicU64::new(0),
            said: AtomicBool::new(false),
        });
        Progress {
            bar,
            start,
            shown: AtomicBool::new(false),
            first,
            note,
        }
    }

    /// `n` more configurations are done.
    pub fn inc(&self, n: usize) {
        if let Some(note) = &self.note {
            self.inc_note(note, n);
        }
        let Some(bar) = &self.bar else { return };
        bar.inc(n as u64);
        let mut first = self.first.lock().unwrap_or_else(|e| e.into_inner());
        if first.is_none() {
            *first = Some((self.start.elapsed().as_secs_f64(), bar.position()));
        }
        drop(first);
        if self.start.elapsed() >= SHOW_AFTER && !self.shown.swap(true, Ordering::Relaxed) {
            bar.set_draw_target(ProgressDrawTarget::stderr());
        }
    }

    /// Without a bar: count the work and print the long-work note once, when it applies.
    fn inc_note(&self, note: &Note, n: usize) {
        let done = note.done.fetch_add(n as u64, Ordering::Relaxed) + n as u64;
        let now = (self.start.elapsed().as_secs_f64(), done);
        let mut first = self.first.lock().unwrap_or_else(|e| e.into_inner());
        let first = *first.get_or_insert(now);
        if note.said.load(Ordering::Relaxed) {
            return;
        }
        if let Some(line) = long_work_note(&note.what, first, now, note.total) {
            if !note.said.swap(true, Ordering::Relaxed) {
                crate::error::say(line);
            }
        }
    }

    /// Remove the bar from the terminal.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}

/// A duration in words for people (the progress bar's estimate, the software-adapter note):
/// under a second, 3.2 s, 12 s, 2 min 16 s, 1 h 05 min.
pub fn human_seconds(s: f64) -> String {
    if !s.is_finite() {
        return "an unknown time".into();
    }
    if s < 1.0 {
        return "under a second".into();
    }
    if s < 10.0 {
        return format!("{s:.1} s");
    }
    let t = s.round() as u64;
    match t {
        0..60 => format!("{t} s"),
        60..3600 => format!("{} min {:02} s", t / 60, t % 60),
        _ => format!("{} h {:02} min", t / 3600, (t % 3600) / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::{eta_seconds, long_work_note};

    /// The note: only past 2 s of work, only when the time left exceeds a minute, with the
    /// numbers it was given (10% of 1000 in 10 s → 90 s left at that rate).
    #[test]
    fn long_work_is_announced_once_the_rate_is_known() {
        let line = long_work_note("evaluating", (1.0, 0), (10.0, 100), 1000).unwrap();
        assert!(line.contains("10% of 1000"), "{line}");
        assert!(line.contains("about 1 min 21 s left"), "{line}");
        // Too early to tell, and short work.
        assert_eq!(long_work_note("e", (0.5, 0), (1.5, 100), 100_000), None);
        assert_eq!(long_work_note("e", (1.0, 0), (10.0, 500), 1000), None);
    }

    /// Work of `total` units reported in 1% chunks after `setup` seconds, the unit taking
    /// `cost(done)` seconds: at every report past 5% of the work (and a second report), the ETA
    /// is within 2× of the time actually left. Returns the worst ratio of `estimate`.
    fn worst(
        setup: f64,
        cost: impl Fn(u64) -> f64,
        estimate: impl Fn((f64, u64), (f64, u64), u64) -> Option<f64>,
    ) -> f64 {
        let total = 100_000u64;
        let chunk = total / 100;
        let mut t = setup;
        let mut reports = Vec::new();
        let mut done = 0;
        while done < total {
            t += (done..done + chunk).map(&cost).sum::<f64>();
            done += chunk;
            reports.push((t, done));
        }
        let end = t;
        let mut worst: f64 = 1.0;
        for r in reports.iter().filter(|r| r.1 * 20 >= total && r.1 < total) {
            let truth = end - r.0;
            let e = estimate(reports[0], *r, total).expect("an estimate after the first report");
            let ratio = (e / truth).max(truth / e);
            worst = worst.max(ratio);
        }
        worst
    }

    #[test]
    fn eta_is_within_2x_after_the_first_5_percent() {
        type Cost = Box<dyn Fn(u64) -> f64>;
        let cases: [(&str, f64, Cost); 4] = [
            ("steady", 0.0, Box::new(|_| 2.5e-4)),
            // Seconds of start-up before the first report, then a 25-second run.
            ("slow start-up", 10.0, Box::new(|_| 2.5e-4)),
            // The first fifth of the configurations is 1.5× as costly as the rest.
            (
                "uneven",
                2.0,
                Box::new(|i| if i < 20_000 { 3.75e-4 } else { 2.5e-4 }),
            ),
            (
                "uneven the other way",
                2.0,
                Box::new(|i| if i < 50_000 { 2e-4 } else { 3e-4 }),
            ),
        ];
        for (name, setup, cost) in cases {
            let w = worst(setup, cost, eta_seconds);
            assert!(w <= 2.0, "{name}: off by {w:.2}×");
        }
        // The estimate that counts the start-up (elapsed since the start × left / done) fails
        // the same check: the test can tell.
        let naive = |_: (f64, u64), now: (f64, u64), total: u64| {
            Some((total - now.1) as f64 * now.0 / now.1 as f64)
        };
        assert!(worst(10.0, |_| 2.5e-4, naive) > 2.0);
        assert_eq!(eta_seconds((1.0, 0), (1.0, 0), 10), None);
        // One report so far: the whole time stands in.
        assert_eq!(eta_seconds((2.0, 5), (2.0, 5), 10), Some(2.0));
    }
}
