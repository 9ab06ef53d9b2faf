//! Pass 1: the per-draw oracle (MODEL.md §5).
//!
//! For each feasible P (in parallel) the profile min over feasible (D, T) is kept per draw; the
//! argmin over P then picks the grid optimum (ties: lowest configuration index), and a parabola in
//! ln P through the profile at the argmin and its two neighbours refines P*, with ln D_run
//! interpolated by the same quadratic. Loss is non-increasing in D_run, so along the profile the
//! optimal run trains up to its deadline (D_run = cap) unless the grid's D range stops it first.

use rayon::prelude::*;

use super::evaluate::Tables;
use crate::backend::DrawOptimum;
use crate::grid::Grid;

/// Per-draw profile of one P: min over (D, T), the argmin's (d, t) and its D_run.
struct Profile {
    loss: Vec<f64>,
    arg: Vec<u32>,
    d_run: Vec<f64>,
}

fn profile(tables: &Tables, grid: &Grid, p: usize) -> Profile {
    let s = tables.draws;
    let block = tables.block(grid, p);
    let mut loss = vec![f64::INFINITY; s];
    let mut arg = vec![0u32; s];
    let mut col = vec![0.0; s];
    let nt = grid.hours.len();
    for d in 0..grid.tokens.len() {
        for t in 0..grid.feasible_hours {
            block.column(tables, grid, d, t, &mut col);
            let code = (d * nt + t) as u32;
            for i in 0..s {
                if col[i] < loss[i] {
                    loss[i] = col[i];
                    arg[i] = code;
                }
            }
        }
    }
    let d_run = (0..s)
        .map(|i| {
            let (d, t) = (arg[i] as usize / nt, arg[i] as usize % nt);
            block.d_run(tables, grid, d, t, i)
        })
        .collect();
    Profile { loss, arg, d_run }
}

/// The oracle of every draw.
pub fn optima(tables: &Tables, grid: &Grid) -> Vec<DrawOptimum> {
    let profiles: Vec<Profile> = (0..grid.feasible_params)
        .into_par_iter()
        .map(|p| profile(tables, grid, p))
        .collect();
    let nt = grid.hours.len();
    let h = if grid.params.len() > 1 {
        grid.ln_params[1] - grid.ln_params[0]
    } else {
        0.0
    };
    (0..tables.draws)
        .map(|i| {
            let mut best = 0;
            for p in 1..profiles.len() {
                if profiles[p].loss[i] < profiles[best].loss[i] {
                    best = p;
                }
            }
            let code = profiles[best].arg[i] as usize;
            let (d, t) = (code / nt, code % nt);
            let y0 = profiles[best].loss[i];
            let ln_d0 = profiles[best].d_run[i].ln();
            let (mut ln_p, mut ln_d, mut loss) = (grid.ln_params[best], ln_d0, y0);
            if best > 0 && best + 1 < profiles.len() {
                let (ym, yp) = (profiles[best - 1].loss[i], profiles[best + 1].loss[i]);
                let curv = ym - 2.0 * y0 + yp;
                if curv > 0.0 {
                    let delta = (0.5 * (ym - yp) / curv).clamp(-0.5, 0.5);
                    let quad = |a: f64, b: f64, c: f64| {
                        b + 0.5 * delta * (c - a) + 0.5 * delta * delta * (a - 2.0 * b + c)
                    };
                    loss = quad(ym, y0, yp);
                    ln_p += delta * h;
                    ln_d = quad(
                        profiles[best - 1].d_run[i].ln(),
                        ln_d0,
                        profiles[best + 1].d_run[i].ln(),
                    );
                }
            }
            DrawOptimum {
                index: grid.index(best, d, t),
                loss_grid: y0,
                params: ln_p.exp(),
                tokens: ln_d.exp(),
                hours: grid.hours[t],
                loss,
            }
        })
        .collect()
}
