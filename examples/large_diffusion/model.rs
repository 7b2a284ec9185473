//! The large_diffusion model: recover a per-node diffusivity field `κ` on a `G×G` grid
//! (n = G², about 10⁵ for the default G = 316) from a few noisy snapshots of
//!
//! ```text
//! u(t) = exp(t·Diag(κ)·A)·u₀,   A = −L,
//! ```
//!
//! where `L` is the 5-point graph Laplacian of the grid with Neumann (no-flux) boundary:
//! `L_ii` = number of neighbours, `L_ij = −1` for the 4 neighbours. `X = Diag(κ)·A` is the
//! generator of `u' = −Diag(κ)·L·u`: node `i` relaxes towards its neighbours at rate `κ_i`.
//!
//! The unknown is `θ = log κ` (so `κ > 0`), and the objective is
//!
//! ```text
//! f(θ) = Σᵢ ½‖u(tᵢ; κ) − dataᵢ‖² / σ²  +  λ·½ Σ_{edges (p,q)} (θ_p − θ_q)²,
//! ```
//!
//! minimised by L-BFGS (`expgrad::optim::lbfgs`). The data term is recorded on one
//! expgrad tape per evaluation, reused with [`Tape::clear`]: `κ = exp(θ)`, then all snapshots
//! `u(tᵢ) = exp(tᵢ·X)·u₀` from ONE
//! [`expm_multiply_diag_times`](expgrad::diag::expm_multiply_diag_times) node (one stepping
//! over `[t₁, t_K]`, every snapshot a vector combination of its substep's Taylor vectors; its
//! exact discrete adjoint in one reverse sweep, O(nnz) per product, never an n×n matrix).
//! [`Objective::chained`] is the former route, one
//! [`expm_multiply_diag`](expgrad::diag::expm_multiply_diag) node per snapshot chained as
//! `u(tᵢ) = exp((tᵢ − tᵢ₋₁)·X)·u(tᵢ₋₁)`. The regulariser `λ·½θᵀLθ` needs a
//! sparse product the tape does not have, so its value and gradient `λ·Lθ` are computed in
//! plain Rust and added to the tape's.
//!
//! Shared by `examples/large_diffusion/main.rs` and `tests/large_diffusion.rs`.
#![allow(dead_code)]

use expgrad::diag::{SparseOrDense, try_expm_multiply_diag, try_expm_multiply_diag_times};
use expgrad::linalg::{DiagScaled, ExpmAction, ExpmActionOptions, ExpmActionTimes};
use expgrad::tape::{Tape, try_add_n};
use faer::Mat;
use faer::sparse::{SparseRowMat, Triplet};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;

pub use expgrad::optim::Progress;

/// Settings of [`fit`].
pub type FitOptions = expgrad::optim::LbfgsOptions;
/// The outcome of [`fit`].
pub type FitResult = expgrad::optim::OptimResult;

/// The 4 neighbours (fewer on the boundary) of node `i = r·g + c` of a `g×g` grid.
fn neighbours(g: usize, i: usize) -> impl Iterator<Item = usize> {
    let (r, c) = (i / g, i % g);
    [
        (r > 0).then(|| i - g),
        (r + 1 < g).then(|| i + g),
        (c > 0).then(|| i - 1),
        (c + 1 < g).then(|| i + 1),
    ]
    .into_iter()
    .flatten()
}

/// `A = −L`, `L` the 5-point graph Laplacian of the `g×g` grid with Neumann boundary, in
/// CSR form (row `i = r·g + c`): `A_ii = −(number of neighbours)`, `A_ij = 1` for each
/// neighbour `j`. Its rows sum to zero (heat is conserved).
pub fn minus_laplacian(g: usize) -> SparseRowMat<usize, f64> {
    let n = g * g;
    let mut trip = Vec::with_capacity(5 * n);
    for i in 0..n {
        let mut deg = 0.0;
        for j in neighbours(g, i) {
            trip.push(Triplet::new(i, j, 1.0));
            deg += 1.0;
        }
        trip.push(Triplet::new(i, i, -deg));
    }
    SparseRowMat::try_new_from_triplets(n, n, &trip).expect("valid triplets")
}

/// The true diffusivity at a point `(x, y)` of the unit square: background 1, two
/// conducting Gaussian bumps (peaks 3.0 and 2.2), an insulating bump (0.4) and a
/// conducting bar with soft edges (1.8).
pub fn kappa_at(x: f64, y: f64) -> f64 {
    let bump =
        |cx: f64, cy: f64, w: f64| (-((x - cx).powi(2) + (y - cy).powi(2)) / (2.0 * w * w)).exp();
    let soft = |s: f64| 0.5 * (1.0 + (s / 0.015).tanh());
    let bar = soft(x - 0.58) * soft(0.88 - x) * soft(y - 0.16) * soft(0.28 - y);
    let log_k = 3f64.ln() * bump(0.28, 0.3, 0.07)
        + 2.2f64.ln() * bump(0.72, 0.68, 0.1)
        + 0.4f64.ln() * bump(0.3, 0.72, 0.06)
        + 1.8f64.ln() * bar;
    log_k.exp()
}

/// [`kappa_at`] at the centres of the cells of a `g×g` grid (node `r·g + c` at
/// `x = (c + ½)/g`, `y = (r + ½)/g`).
pub fn kappa_true(g: usize) -> Vec<f64> {
    (0..g * g)
        .map(|i| {
            let (r, c) = (i / g, i % g);
            kappa_at((c as f64 + 0.5) / g as f64, (r as f64 + 0.5) / g as f64)
        })
        .collect()
}

/// A standard normal sampler (Box–Muller) on a seeded generator.
fn normal(rng: &mut StdRng) -> f64 {
    let (u1, u2): (f64, f64) = (rng.random_range(f64::EPSILON..1.0), rng.random());
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

/// Seeded initial fields, `k` columns: white noise smoothed by two passes of the separable
/// `[1, 2, 1]/4` filter (mirror boundary; correlation length about 1.5 cells), then
/// centred and scaled to unit RMS. Rough on the grid scale, so `L·u₀ ≠ 0` almost everywhere
/// and every `κ_i` leaves a trace in the snapshots.
pub fn initial_fields(g: usize, k: usize, seed: u64) -> Mat<f64> {
    let n = g * g;
    let mut rng = StdRng::seed_from_u64(seed);
    let mut u0 = Mat::zeros(n, k);
    for col in 0..k {
        let mut u: Vec<f64> = (0..n).map(|_| normal(&mut rng)).collect();
        for _ in 0..2 {
            for horizontal in [true, false] {
                let at = |r: usize, c: usize| u[r * g + c];
                let v: Vec<f64> = (0..n)
                    .map(|i| {
                        let (r, c) = (i / g, i % g);
                        let (lo, hi) = if horizontal {
                            (at(r, c.saturating_sub(1)), at(r, (c + 1).min(g - 1)))
                        } else {
                            (at(r.saturating_sub(1), c), at((r + 1).min(g - 1), c))
                        };
                        0.25 * lo + 0.5 * at(r, c) + 0.25 * hi
                    })
                    .collect();
                u = v;
            }
        }
        let mean = u.iter().sum::<f64>() / n as f64;
        let rms = (u.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64).sqrt();
        for (i, x) in u.iter().enumerate() {
            u0[(i, col)] = (x - mean) / rms.max(f64::MIN_POSITIVE);
        }
    }
    u0
}

/// What the simulation of the data cost, at the true `κ` (machine-independent counts).
#[derive(Clone, Copy, Debug, Default)]
pub struct ProductCounts {
    /// Products with `X` of the forward Taylor recurrences (all snapshots).
    pub forward: usize,
    /// Products spent estimating norms for the parameter choice.
    pub norm: usize,
    /// Products of the reverse passes (with `Xᵀ`, plus recomputation when checkpointed).
    pub reverse: usize,
}

/// A synthetic inverse problem.
#[derive(Clone, Debug)]
pub struct Problem {
    /// Grid side G (n = G²).
    pub g: usize,
    /// `A = −L`, shared by every tape node.
    pub a: Arc<SparseOrDense<f64>>,
    /// Initial fields, n×k.
    pub u0: Mat<f64>,
    /// Snapshot times, increasing.
    pub times: Vec<f64>,
    /// Observed snapshots `u(tᵢ)`, each n×k.
    pub data: Vec<Mat<f64>>,
    /// Noise level used to weight the misfit (the noise's standard deviation; 1 for
    /// noise-free data).
    pub sigma: f64,
    /// Weight λ of the smoothness regulariser `λ·½Σ_edges (θ_p − θ_q)²`.
    pub lambda: f64,
    /// The true κ.
    pub kappa_true: Vec<f64>,
    /// Operator products of one evaluation at the true κ.
    pub products: ProductCounts,
}

/// Simulates the data: `k` seeded initial fields ([`initial_fields`]), the snapshots at
/// `times` (increasing, positive) under the true κ ([`kappa_true`]), plus Gaussian noise of
/// standard deviation `noise` (relative to the unit RMS of `u₀`).
pub fn simulate(
    g: usize,
    k: usize,
    times: &[f64],
    noise: f64,
    lambda: f64,
    seed: u64,
) -> Result<Problem, String> {
    if g < 2 || k == 0 || times.is_empty() {
        return Err("need a grid side ≥ 2, at least one field and one time".into());
    }
    if times.iter().any(|t| !(t.is_finite() && *t > 0.0)) || times.windows(2).any(|w| w[1] <= w[0])
    {
        return Err("times must be positive, finite and increasing".into());
    }
    if !(noise >= 0.0 && noise.is_finite() && lambda >= 0.0 && lambda.is_finite()) {
        return Err("noise and lambda must be finite and ≥ 0".into());
    }
    let a = Arc::new(SparseOrDense::from(minus_laplacian(g)));
    let kappa = kappa_true(g);
    let u0 = initial_fields(g, k, seed);
    let mut rng = StdRng::seed_from_u64(seed ^ 0x9e37_79b9_7f4a_7c15);
    let x = DiagScaled::left(&kappa, &*a);
    let mut products = ProductCounts::default();
    let mut u = u0.clone();
    let mut prev = 0.0;
    let mut data = Vec::with_capacity(times.len());
    let norm = 8.0 * kappa.iter().fold(0.0f64, |m, k| m.max(*k));
    for (i, &t) in times.iter().enumerate() {
        if t * norm > MAX_NORM {
            return Err(format!(
                "snapshot {i}: t = {t:?} gives t·‖X‖∞ = {:.3e} > {MAX_NORM} at the true κ: the field would be flat (no information on κ) and costly; use smaller times",
                t * norm
            ));
        }
        let act = ExpmAction::try_new(&x, t - prev, u.as_ref(), ExpmActionOptions::default())
            .map_err(|e| format!("snapshot {i} (t = {t:?}): {e}"))?;
        u = act.value().to_owned();
        data.push(Mat::from_fn(u.nrows(), k, |i, j| {
            u[(i, j)] + noise * normal(&mut rng)
        }));
        prev = t;
    }
    // What one evaluation costs: the one many-times node of the objective.
    let all = ExpmActionTimes::try_new(&x, times, u0.as_ref(), ExpmActionOptions::default())
        .map_err(|e| format!("snapshots: {e}"))?;
    products.forward = all.products();
    products.norm = all.norm_products();
    products.reverse = all.reverse_products();
    drop(all);
    Ok(Problem {
        g,
        a,
        u0,
        times: times.to_vec(),
        data,
        sigma: if noise > 0.0 { noise } else { 1.0 },
        lambda,
        kappa_true: kappa,
        products,
    })
}

/// `λ·½Σ_edges (θ_p − θ_q)² = λ·½θᵀLθ` and its gradient `λ·Lθ`, in plain Rust.
pub fn regulariser(g: usize, theta: &[f64], lambda: f64) -> (f64, Vec<f64>) {
    let mut value = 0.0;
    let mut grad = vec![0.0; theta.len()];
    for i in 0..theta.len() {
        // Each edge once: to the right and down.
        for j in neighbours(g, i).filter(|&j| j > i) {
            let d = theta[i] - theta[j];
            value += d * d;
            grad[i] += lambda * d;
            grad[j] -= lambda * d;
        }
    }
    (0.5 * lambda * value, grad)
}

/// `‖x − truth‖₂ / ‖truth‖₂`.
pub fn relative_error(x: &[f64], truth: &[f64]) -> f64 {
    let num = x
        .iter()
        .zip(truth)
        .map(|(a, b)| (a - b).powi(2))
        .sum::<f64>()
        .sqrt();
    num / truth.iter().map(|x| x * x).sum::<f64>().sqrt()
}

/// Largest `t·‖X‖∞ = t_last·max_i κ_i·2·deg_i` an evaluation accepts. The cost of
/// `exp(tX)·u` grows in proportion to it (the default problem needs about 40 at the truth);
/// a wild trial step of the optimiser (κ = e^θ can explode) is refused with an error instead
/// of running for hours.
pub const MAX_NORM: f64 = 4000.0;

/// The objective of a [`Problem`], with one tape reused across evaluations.
pub struct Objective<'p> {
    problem: &'p Problem,
    tape: Tape<f64>,
    chained: bool,
}

impl<'p> Objective<'p> {
    /// The objective of `problem`: all snapshots from ONE `expm_multiply_diag_times` node
    /// (one stepping over `[t_1, t_K]`, the snapshots read off the Taylor vectors of the
    /// substeps; one reverse sweep).
    pub fn new(problem: &'p Problem) -> Self {
        Self {
            problem,
            tape: Tape::new(),
            chained: false,
        }
    }

    /// The same objective with one `expm_multiply_diag` node per snapshot, chained
    /// (`u(tᵢ) = exp((tᵢ − tᵢ₋₁)X)·u(tᵢ₋₁)`), for comparison.
    pub fn chained(problem: &'p Problem) -> Self {
        Self {
            chained: true,
            ..Self::new(problem)
        }
    }

    /// The data misfit `Σᵢ ½‖u(tᵢ) − dataᵢ‖²/σ²` and its gradient w.r.t. θ, by one tape.
    pub fn misfit_and_grad(&self, theta: &[f64]) -> Result<(f64, Vec<f64>), String> {
        let p = self.problem;
        let n = theta.len();
        if n != p.g * p.g {
            return Err(format!("θ has length {n}, expected {}", p.g * p.g));
        }
        if let Some(i) = theta.iter().position(|t| !t.is_finite()) {
            return Err(format!("θ[{i}] = {} is not finite", theta[i]));
        }
        let t_last = p.times.last().copied().unwrap_or(0.0);
        let norm = t_last * 8.0 * theta.iter().fold(0.0f64, |m, t| m.max(t.exp()));
        if norm.is_nan() || norm > MAX_NORM {
            return Err(format!(
                "t·‖X‖∞ ≈ {norm:.3e} exceeds {MAX_NORM} (max κ = {:.3e}): refusing a step that would make exp(tX)·u absurdly costly",
                norm / (8.0 * t_last)
            ));
        }
        let tape = &self.tape;
        tape.clear();
        let th = tape
            .try_var(Mat::from_fn(n, 1, |i, _| theta[i]))
            .map_err(|e| e.to_string())?;
        let kappa = th.try_exp().map_err(|e| e.to_string())?;
        let mut u = tape
            .try_constant(p.u0.clone())
            .map_err(|e| format!("initial fields: {e}"))?;
        let mut terms = Vec::with_capacity(p.times.len());
        let mut prev = 0.0;
        let w = 0.5 / (p.sigma * p.sigma);
        if !self.chained {
            let at = |e: expgrad::tape::TapeError| format!("snapshots: {e}");
            let kk = p.times.len();
            let k = p.u0.ncols();
            let t = tape
                .try_constant(Mat::from_fn(kk, 1, |i, _| p.times[i]))
                .map_err(at)?;
            let obs = tape
                .try_constant(Mat::from_fn(n, k * kk, |i, c| p.data[c / k][(i, c % k)]))
                .map_err(at)?;
            let all = try_expm_multiply_diag_times(kappa, &p.a, u, t).map_err(at)?;
            let r = all.try_sub(obs).map_err(at)?;
            terms.push(r.try_dot(r).and_then(|d| d.try_scale(w)).map_err(at)?);
        }
        let chained = if self.chained { p.times.len() } else { 0 };
        for (i, (&t, obs)) in p.times.iter().zip(&p.data).enumerate().take(chained) {
            let at = |e: expgrad::tape::TapeError| format!("snapshot {i} (t = {t:?}): {e}");
            let obs = tape.try_constant(obs.clone()).map_err(at)?;
            u = try_expm_multiply_diag(kappa, &p.a, u, tape.scalar(t - prev)).map_err(at)?;
            let r = u.try_sub(obs).map_err(at)?;
            terms.push(r.try_dot(r).and_then(|d| d.try_scale(w)).map_err(at)?);
            prev = t;
        }
        let loss = try_add_n(&terms).map_err(|e| e.to_string())?;
        let g = loss
            .try_backward()
            .map_err(|e| format!("backward pass: {e}"))?
            .wrt(th);
        Ok((loss.item(), (0..n).map(|i| g[(i, 0)]).collect()))
    }

    /// The full objective `misfit + regulariser` and its gradient w.r.t. θ.
    pub fn loss_and_grad(&self, theta: &[f64]) -> Result<(f64, Vec<f64>), String> {
        let (mut loss, mut grad) = self.misfit_and_grad(theta)?;
        let (r, rg) = regulariser(self.problem.g, theta, self.problem.lambda);
        loss += r;
        grad.iter_mut().zip(&rg).for_each(|(g, r)| *g += r);
        Ok((loss, grad))
    }
}

/// Recent evaluations `(loss as the optimiser saw it, relative κ error)`, newest last.
type Recent = Rc<RefCell<Vec<(f64, f64)>>>;

/// The relative κ error of the most recent evaluation whose (scaled) loss was exactly `loss`
/// (the optimiser reports the loss of its iterate, not the iterate itself).
fn error_at_loss(recent: &Recent, loss: f64) -> Option<f64> {
    recent
        .borrow()
        .iter()
        .rev()
        .find(|(l, _)| l.to_bits() == loss.to_bits())
        .map(|&(_, e)| e)
}

/// The step L-BFGS's first trial point takes in the largest component of `θ` (the objective
/// is scaled for it: its first step is `−∇`, whose size the data weight `1/σ²` would
/// otherwise set).
pub const FIRST_STEP: f64 = 0.5;

/// Fits `θ = log κ` from `θ₀` by L-BFGS on [`Objective::loss_and_grad`]; `on_iter` sees each
/// iteration's progress and that iterate's relative κ error (when known).
///
/// `opts.tol` is *relative*: the fit has converged when `‖∇f(θ)‖₂ ≤ tol·‖∇f(θ₀)‖₂`. (Near
/// the minimiser of this noisy problem the loss is flat to rounding long before an absolute
/// gradient tolerance is met, and the line search then burns many evaluations per iteration.)
///
/// L-BFGS minimises `f/s` with `s = ‖∇f(θ₀)‖∞ / FIRST_STEP`, so that its first trial step
/// moves `θ` by [`FIRST_STEP`] at most; the progress lines and the result report `f` and
/// `‖∇f‖` unscaled.
pub fn fit(
    problem: &Problem,
    theta0: Vec<f64>,
    opts: &FitOptions,
    mut on_iter: impl FnMut(&Progress, Option<f64>) + 'static,
) -> Result<FitResult, String> {
    let objective = Objective::new(problem);
    let g0 = objective.loss_and_grad(&theta0)?.1;
    let gmax = g0.iter().fold(0.0f64, |m, g| m.max(g.abs()));
    let s = if gmax > 0.0 { gmax / FIRST_STEP } else { 1.0 };
    let g0_norm = g0.iter().map(|g| g * g).sum::<f64>().sqrt();
    let opts = FitOptions {
        gtol: opts.gtol * g0_norm / s,
        ..opts.clone()
    };
    let recent: Recent = Rc::default();
    let rec = recent.clone();
    let scaled = |th: &[f64]| {
        let (loss, grad) = objective.loss_and_grad(th)?;
        let kappa: Vec<f64> = th.iter().map(|t| t.exp()).collect();
        let mut r = rec.borrow_mut();
        if r.len() >= 64 {
            r.remove(0);
        }
        r.push((loss / s, relative_error(&kappa, &problem.kappa_true)));
        Ok::<_, String>((loss / s, grad.iter().map(|g| g / s).collect()))
    };
    let unscale = move |p: &Progress| Progress {
        loss: p.loss * s,
        grad_norm: p.grad_norm * s,
        ..p.clone()
    };
    let mut fit = expgrad::optim::lbfgs(scaled, theta0, &opts, move |p: &Progress| {
        on_iter(&unscale(p), error_at_loss(&recent, p.loss))
    })?;
    fit.loss *= s;
    fit.grad_norm *= s;
    for p in &mut fit.history {
        p.loss *= s;
        p.grad_norm *= s;
    }
    Ok(fit)
}
