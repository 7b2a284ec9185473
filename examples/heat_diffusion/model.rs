//! Per-node diffusivity on a graph: `u(t) = exp(−t·Diag(κ)·L)·u₀`, L a graph Laplacian.
//!
//! The graph is a `rows × cols` grid (4-neighbour, so L is sparse: ≤ 5 entries per row), the
//! diffusivities `κ = exp(θ) > 0` are unknown, and snapshots `u(tₖ)` of a few initial
//! conditions are observed. `κ` is fitted by least squares with L-BFGS. Each snapshot is one
//! [`expm_multiply_diag`](expgrad::diag::expm_multiply_diag) tape node on the constant CSR
//! Laplacian (shared by an `Arc`): the action `exp(−t·Diag(κ)·L)·U₀` costs O(nnz) per
//! product and never forms an n×n matrix, and the gradient w.r.t. κ is its exact discrete
//! adjoint. (The dense route `diag_mul → expm → matmul` gives the same numbers to ~1e-14, at
//! O(n³) per snapshot: the 30×30 grid's fit took 258 s on it, 0.4 s on the action.) Unlike
//! `fit_diag`, `L` is symmetric and singular (constants are in its kernel: heat is conserved
//! when κ is uniform).
//!
//! Shared by `examples/heat_diffusion/main.rs` and `tests/heat_diffusion.rs`.
#![allow(dead_code)]

use expgrad::diag::{ExpmActionOptions, SparseOrDense, try_expm_multiply_diag_with};
use expgrad::linalg::{ActionBudget, DiagScaled, try_expm_multiply_with};
use expgrad::tape::{Tape, try_add_n};
use faer::Mat;
use faer::sparse::{SparseRowMat, Triplet};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::sync::Arc;

pub use expgrad::optim::Progress;

/// Settings of [`fit`].
pub type FitOptions = expgrad::optim::LbfgsOptions;
/// The outcome of [`fit`].
pub type FitResult = expgrad::optim::OptimResult;

/// Largest `t·‖Diag(κ)·L‖∞` a snapshot may have (at the true κ for the data, at the trial κ
/// in the fit). The cost of the action grows in proportion to it, and far beyond it the
/// snapshot is the equilibrium (the mean of `u₀`), which carries no information on κ; a
/// wild trial step of the optimiser (κ = e^θ can explode) is refused with an error instead
/// of running for minutes.
pub const MAX_NORM: f64 = 1e4;

/// Work cap of one snapshot's action (matrix–vector products, columns counted): a safety net
/// behind [`MAX_NORM`].
pub const MAX_PRODUCTS: usize = 50_000_000;

/// The options of every action of this model: the default parameter choice, with the work
/// capped at [`MAX_PRODUCTS`].
pub fn action_options() -> ExpmActionOptions {
    ExpmActionOptions::default().budget(ActionBudget::default().products(MAX_PRODUCTS))
}

/// The graph Laplacian `L = D − W` of a `rows × cols` 4-neighbour grid, in CSR form (node
/// `i = r·cols + c`): `L_ii` = number of neighbours, `L_ij = −1` for each neighbour `j`.
pub fn grid_laplacian(rows: usize, cols: usize) -> SparseRowMat<usize, f64> {
    let n = rows * cols;
    let mut trip = Vec::with_capacity(5 * n);
    for r in 0..rows {
        for c in 0..cols {
            let i = r * cols + c;
            let nbrs = [
                (r > 0).then(|| i - cols),
                (r + 1 < rows).then(|| i + cols),
                (c > 0).then(|| i - 1),
                (c + 1 < cols).then(|| i + 1),
            ];
            let mut deg = 0.0;
            for j in nbrs.into_iter().flatten() {
                trip.push(Triplet::new(i, j, -1.0));
                deg += 1.0;
            }
            trip.push(Triplet::new(i, i, deg));
        }
    }
    SparseRowMat::try_new_from_triplets(n, n, &trip).expect("valid triplets")
}

/// `‖Diag(κ)·L‖∞ = maxᵢ κᵢ·2·degᵢ` of the grid Laplacian (bounded by `8·max κ`).
pub fn norm_inf(kappa: &[f64]) -> f64 {
    8.0 * kappa.iter().fold(0.0f64, |m, k| m.max(k.abs()))
}

/// The observed snapshots.
#[derive(Clone, Debug)]
pub struct Snapshots {
    /// Grid rows.
    pub rows: usize,
    /// Grid columns.
    pub cols: usize,
    /// The Laplacian L (CSR), shared by every tape node.
    pub l: Arc<SparseOrDense<f64>>,
    /// Number of nonzeros of L.
    pub nnz: usize,
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

/// Seeded snapshots of `k` random nonnegative initial conditions at `times` (positive,
/// finite, any order), with Gaussian noise of standard deviation `noise`; an error (naming
/// the snapshot and the op) for bad input or a snapshot beyond [`MAX_NORM`].
pub fn simulate(
    rows: usize,
    cols: usize,
    kappa: &[f64],
    k: usize,
    times: &[f64],
    noise: f64,
    seed: u64,
) -> Result<Snapshots, String> {
    let n = rows
        .checked_mul(cols)
        .ok_or("the grid has more nodes than fit in memory")?;
    if n < 2 || k == 0 || times.is_empty() {
        return Err("need a grid of ≥ 2 nodes, ≥ 1 initial condition and ≥ 1 time".into());
    }
    if kappa.len() != n || kappa.iter().any(|x| !(x.is_finite() && *x > 0.0)) {
        return Err(format!("κ must have {n} positive finite entries"));
    }
    if !(noise.is_finite() && noise >= 0.0) {
        return Err(format!("noise = {noise}: must be finite and ≥ 0"));
    }
    let norm = norm_inf(kappa);
    for (i, &t) in times.iter().enumerate() {
        if !(t.is_finite() && t > 0.0) {
            return Err(format!(
                "snapshot {i}: t = {t:?} must be positive and finite"
            ));
        }
        if t * norm > MAX_NORM {
            return Err(format!(
                "snapshot {i}: t = {t:?} gives t·‖Diag(κ)·L‖∞ = {:.3e} > {MAX_NORM:e}: the snapshot would be at equilibrium (no information on κ) and costly; use smaller times",
                t * norm
            ));
        }
    }
    let csr = grid_laplacian(rows, cols);
    let nnz = csr.compute_nnz();
    let l = Arc::new(SparseOrDense::from(csr));
    let x = DiagScaled::try_new(kappa, &*l, expgrad::linalg::Side::Left)
        .map_err(|e| format!("Diag(κ)·L: {e}"))?;
    let mut rng = StdRng::seed_from_u64(seed);
    let u0 = Mat::from_fn(n, k, |_, _| rng.random_range(0.0..1.0));
    let mut u = Vec::with_capacity(times.len());
    for (i, &t) in times.iter().enumerate() {
        let (exact, _) = try_expm_multiply_with(&x, -t, u0.as_ref(), action_options())
            .map_err(|e| format!("simulating snapshot {i} (t = {t:?}): {e}"))?;
        u.push(Mat::from_fn(n, k, |i, j| {
            let (u1, u2): (f64, f64) = (rng.random_range(f64::EPSILON..1.0), rng.random());
            exact[(i, j)]
                + noise * (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
        }));
    }
    Ok(Snapshots {
        rows,
        cols,
        l,
        nnz,
        u0,
        times: times.to_vec(),
        u,
    })
}

/// `½Σₖ‖exp(−tₖ Diag(κ) L) U₀ − Uₖ‖²_F` with `κ = exp(θ)`, and its gradient w.r.t. θ: one
/// `expm_multiply_diag` node per snapshot, all through `try_` forms. Errors name the
/// snapshot, its time and the op.
pub fn loss_and_grad(s: &Snapshots, theta: &[f64]) -> Result<(f64, Vec<f64>), String> {
    let n = theta.len();
    if n != s.u0.nrows() {
        return Err(format!("θ has length {n}, expected {}", s.u0.nrows()));
    }
    if let Some(i) = theta.iter().position(|t| !t.is_finite()) {
        return Err(format!("θ[{i}] = {} is not finite", theta[i]));
    }
    let t_max = s.times.iter().fold(0.0f64, |m, t| m.max(*t));
    let kappa_max = theta.iter().fold(0.0f64, |m, t| m.max(t.exp()));
    let norm = t_max * 8.0 * kappa_max;
    if norm.is_nan() || norm > MAX_NORM {
        return Err(format!(
            "t·‖Diag(κ)·L‖∞ ≈ {norm:.3e} exceeds {MAX_NORM:e} (max κ = {kappa_max:.3e}): refusing a step that would make exp(−tDiag(κ)L)·U₀ absurdly costly"
        ));
    }
    let tape = Tape::new();
    let th = tape
        .try_var(Mat::from_fn(n, 1, |i, _| theta[i]))
        .map_err(|e| e.to_string())?;
    let kappa = th.try_exp().map_err(|e| e.to_string())?;
    let u0 = tape
        .try_constant(s.u0.clone())
        .map_err(|e| format!("initial conditions: {e}"))?;
    let mut terms = Vec::with_capacity(s.times.len());
    for (i, (&t, obs)) in s.times.iter().zip(&s.u).enumerate() {
        let at = |e: expgrad::tape::TapeError| format!("snapshot {i} (t = {t:?}): {e}");
        let obs = tape.try_constant(obs.clone()).map_err(at)?;
        let u = try_expm_multiply_diag_with(kappa, &s.l, u0, tape.scalar(-t), action_options())
            .map_err(at)?;
        let r = u.try_sub(obs).map_err(at)?;
        terms.push(r.try_dot(r).and_then(|d| d.try_scale(0.5)).map_err(at)?);
    }
    let loss = try_add_n(&terms).map_err(|e| e.to_string())?;
    let g = loss
        .try_backward()
        .map_err(|e| format!("backward pass: {e}"))?
        .wrt(th);
    Ok((loss.item(), (0..n).map(|i| g[(i, 0)]).collect()))
}

/// Fits `θ = log κ` from `θ₀`.
pub fn fit(
    s: &Snapshots,
    theta0: Vec<f64>,
    opts: &FitOptions,
    on_iter: impl FnMut(&Progress) + 'static,
) -> Result<FitResult, String> {
    expgrad::optim::lbfgs(|th: &[f64]| loss_and_grad(s, th), theta0, opts, on_iter)
        .map_err(String::from)
}
