//! Per-node diffusivity on a graph: `u(t) = exp(−t·Diag(κ)·L)·u₀`, L a graph Laplacian.
//!
//! The graph is a `rows × cols` grid (4-neighbour, so L is sparse: ≤ 5 entries per row), the
//! diffusivities `κ = exp(θ) > 0` are unknown, and snapshots `u(tₖ)` of a few initial
//! conditions are observed. `κ` is fitted by least squares with L-BFGS; the gradient is one
//! backward pass through `diag_mul → expm → matmul`. Unlike `fit_diag`, `L` is symmetric
//! and singular (constants are in its kernel: heat is conserved when κ is uniform).
#![allow(dead_code)]

use expgrad::diag::diag_mul;
use expgrad::tape::Tape;
use faer::Mat;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

#[path = "../common/lbfgs.rs"]
mod lbfgs;
pub use lbfgs::{FitOptions, FitResult, Progress};

/// The graph Laplacian `L = D − W` of a `rows × cols` 4-neighbour grid.
pub fn grid_laplacian(rows: usize, cols: usize) -> Mat<f64> {
    let n = rows * cols;
    let mut l = Mat::<f64>::zeros(n, n);
    for r in 0..rows {
        for c in 0..cols {
            let i = r * cols + c;
            let mut nbrs = Vec::new();
            if r > 0 {
                nbrs.push(i - cols);
            }
            if r + 1 < rows {
                nbrs.push(i + cols);
            }
            if c > 0 {
                nbrs.push(i - 1);
            }
            if c + 1 < cols {
                nbrs.push(i + 1);
            }
            for &j in &nbrs {
                l[(i, j)] = -1.0;
            }
            l[(i, i)] = nbrs.len() as f64;
        }
    }
    l
}

/// The observed snapshots.
#[derive(Clone, Debug)]
pub struct Snapshots {
    /// The Laplacian.
    pub l: Mat<f64>,
    /// Initial conditions, one per column (n × k).
    pub u0: Mat<f64>,
    /// Observation times.
    pub times: Vec<f64>,
    /// `u(tₖ)` for each time, n × k.
    pub u: Vec<Mat<f64>>,
}

/// The true κ of the example: a smooth field over [0.5, 2] with one insulating spot.
pub fn kappa_true(rows: usize, cols: usize) -> Vec<f64> {
    (0..rows * cols)
        .map(|i| {
            let (r, c) = (
                (i / cols) as f64 / rows as f64,
                (i % cols) as f64 / cols as f64,
            );
            let spot = if (r - 0.6).powi(2) + (c - 0.3).powi(2) < 0.03 {
                0.3
            } else {
                1.0
            };
            spot * (0.5 + 1.5 * (0.5 + 0.5 * (3.0 * r + 2.0 * c).sin()))
        })
        .collect()
}

/// Seeded snapshots of `k` random nonnegative initial conditions at `times`, with Gaussian
/// noise of standard deviation `noise`.
pub fn simulate(
    rows: usize,
    cols: usize,
    kappa: &[f64],
    k: usize,
    times: &[f64],
    noise: f64,
    seed: u64,
) -> Snapshots {
    let n = rows * cols;
    let l = grid_laplacian(rows, cols);
    let mut rng = StdRng::seed_from_u64(seed);
    let u0 = Mat::from_fn(n, k, |_, _| rng.random_range(0.0..1.0));
    let u = times
        .iter()
        .map(|&t| {
            let x = Mat::from_fn(n, n, |i, j| -t * kappa[i] * l[(i, j)]);
            let exact = expgrad::linalg::expm(x.as_ref()) * &u0;
            Mat::from_fn(n, k, |i, j| {
                let (u1, u2): (f64, f64) = (rng.random_range(f64::EPSILON..1.0), rng.random());
                exact[(i, j)]
                    + noise * (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
            })
        })
        .collect();
    Snapshots {
        l,
        u0,
        times: times.to_vec(),
        u,
    }
}

/// `½Σₖ‖exp(−tₖ Diag(κ) L) U₀ − Uₖ‖²_F` with `κ = exp(θ)`, and its gradient w.r.t. θ.
pub fn loss_and_grad(s: &Snapshots, theta: &[f64]) -> Result<(f64, Vec<f64>), String> {
    let n = theta.len();
    let tape = Tape::new();
    let th = tape.var(Mat::from_fn(n, 1, |i, _| theta[i]));
    let kappa = th.exp();
    let u0 = tape.constant(s.u0.clone());
    let mut total: Option<expgrad::tape::Var<'_>> = None;
    for (t, obs) in s.times.iter().zip(&s.u) {
        let minus_tl = tape.constant(&s.l * faer::Scale(-t));
        let r = diag_mul(kappa, minus_tl)
            .try_expm()
            .map_err(|e| e.to_string())?
            .matmul(u0)
            .sub(tape.constant(obs.clone()));
        let term = r.dot(r).scale(0.5);
        total = Some(match total {
            Some(acc) => acc.add(term),
            None => term,
        });
    }
    let loss = total.ok_or("no snapshots")?;
    let g = loss.backward().wrt(th);
    Ok((loss.item(), (0..n).map(|i| g[(i, 0)]).collect()))
}

/// Fits `θ = log κ` from `θ₀`.
pub fn fit(
    s: &Snapshots,
    theta0: Vec<f64>,
    opts: &FitOptions,
    on_iter: impl FnMut(&Progress) + 'static,
) -> Result<FitResult, String> {
    lbfgs::minimize(|th: &[f64]| loss_and_grad(s, th), theta0, opts, on_iter)
}
