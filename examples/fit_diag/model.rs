//! The fit_diag model: observations `wⱼ ≈ exp(tⱼ·Diag(d)·A)·vⱼ`, fit `d` by minimising
//! `½Σⱼ‖exp(tⱼ Diag(d) A) vⱼ − wⱼ‖² + ½ρ‖d‖²` with `expgrad::optim::lbfgs`; the loss and its
//! gradient come from one expgrad tape per evaluation, through `try_` forms only, so a trial
//! point that overflows is an error the line search steps back from, never a panic.
//!
//! Shared by `examples/fit_diag/main.rs` and `tests/fit_diag.rs`.
#![allow(dead_code)]

use expgrad::diag::{SparseOrDense, try_diag_mul, try_expm_multiply_diag};
use expgrad::optim::{LbfgsOptions, OptimError, OptimResult, Progress, lbfgs, newton_cg};
use expgrad::tape::{Tape, TapeError, Var};
use faer::Mat;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::sync::Arc;

/// Settings of [`fit`].
pub type FitOptions = LbfgsOptions;
/// The outcome of [`fit`].
pub type FitResult = OptimResult;
/// Settings of [`fit_newton`].
pub use expgrad::optim::NewtonOptions;

/// How `exp(tⱼ·Diag(d)·A)·vⱼ` and its gradient are computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Route {
    /// Per observation, the cheaper of the two below: the Taylor action unless
    /// `‖tⱼ·Diag(d)·A‖₁ > 4n`, where the Padé route's `log ‖X‖` cost wins.
    Auto,
    /// `diag_mul(d, tA).expm_mul(v)`: Padé scaling and squaring with the factored adjoint,
    /// O(n³) per observation whatever ‖tX‖.
    Pade,
    /// `expm_multiply_diag(d, A, v, t)`: the truncated-Taylor action and its exact reverse
    /// pass, O(n²·‖tX‖) per observation, no n×n exponential.
    Action,
}

/// One observation `w ≈ exp(t·Diag(d)·A)·v`.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Observation {
    /// Time.
    pub t: f64,
    /// Initial vector (length n).
    pub v: Vec<f64>,
    /// Observed vector (length n).
    pub w: Vec<f64>,
}

/// The data file layout (JSON): `{"A": [[...], ...], "observations": [{"t", "v", "w"}, ...],
/// "d_true": [...] (optional)}`; `A` is given by rows.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct DataFile {
    /// The n×n matrix A, row by row.
    #[serde(rename = "A")]
    pub a: Vec<Vec<f64>>,
    /// The observations.
    pub observations: Vec<Observation>,
    /// The true d, when known (synthetic data).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub d_true: Option<Vec<f64>>,
}

/// A validated problem.
#[derive(Clone, Debug)]
pub struct Problem {
    /// A (n×n).
    pub a: Mat<f64>,
    /// A shared by the action nodes.
    pub a_shared: Arc<SparseOrDense<f64>>,
    /// Where the data came from (a file name, or "synthetic data"), for error messages.
    pub source: String,
    /// How the exponential is computed.
    pub route: Route,
    /// The observations, each with `tⱼ·A` precomputed.
    pub obs: Vec<Observation>,
    /// Ridge weight ρ.
    pub ridge: f64,
    /// The truth, when known.
    pub d_true: Option<Vec<f64>>,
}

impl Problem {
    /// Size n.
    pub fn n(&self) -> usize {
        self.a.nrows()
    }

    /// Checks shapes and finiteness of a data file; the message names the problem.
    pub fn from_data(data: DataFile, ridge: f64) -> Result<Self, String> {
        let n = data.a.len();
        if n == 0 {
            return Err("A is empty".into());
        }
        for (i, row) in data.a.iter().enumerate() {
            if row.len() != n {
                return Err(format!(
                    "A is not square: row {i} has {} entries, expected {n}",
                    row.len()
                ));
            }
            if let Some(j) = row.iter().position(|x| !x.is_finite()) {
                return Err(format!("A[{i}][{j}] is not a finite number"));
            }
        }
        if data.observations.is_empty() {
            return Err("no observations".into());
        }
        for (k, o) in data.observations.iter().enumerate() {
            if !o.t.is_finite() {
                return Err(format!("observation {k}: t is not finite"));
            }
            for (name, x) in [("v", &o.v), ("w", &o.w)] {
                if x.len() != n {
                    return Err(format!(
                        "observation {k}: {name} has length {}, expected n = {n}",
                        x.len()
                    ));
                }
                if let Some(j) = x.iter().position(|x| !x.is_finite()) {
                    return Err(format!(
                        "observation {k}: {name}[{j}] is not a finite number"
                    ));
                }
            }
        }
        if let Some(d) = &data.d_true {
            if d.len() != n {
                return Err(format!("d_true has length {}, expected n = {n}", d.len()));
            }
        }
        let a = Mat::from_fn(n, n, |i, j| data.a[i][j]);
        Ok(Self {
            a_shared: Arc::new(SparseOrDense::from(a.clone())),
            a,
            source: "data".into(),
            route: Route::Auto,
            obs: data.observations,
            ridge,
            d_true: data.d_true,
        })
    }

    /// The data file of this problem (for `--save-data` and the sample file).
    pub fn to_data(&self) -> DataFile {
        let n = self.n();
        DataFile {
            a: (0..n)
                .map(|i| (0..n).map(|j| self.a[(i, j)]).collect())
                .collect(),
            observations: self.obs.clone(),
            d_true: self.d_true.clone(),
        }
    }

    /// `½Σⱼ‖exp(tⱼ Diag(d) A) vⱼ − wⱼ‖² + ½ρ‖d‖²` and its gradient, by one tape, or an
    /// error naming the source, the observation, its time and the op that failed.
    pub fn loss_and_grad(&self, d: &[f64]) -> Result<(f64, Vec<f64>), String> {
        let tape = Tape::new();
        let (total, dv) = self.loss(&tape, d)?;
        let g = total
            .try_backward()
            .map_err(|e| format!("{}: the gradient: {e}", self.source))?
            .wrt(dv);
        Ok((total.item(), (0..d.len()).map(|i| g[(i, 0)]).collect()))
    }

    /// The Hessian-vector product `∇²loss(d)·u`, exact (forward over reverse through the
    /// exponential), on one tape.
    pub fn hvp(&self, d: &[f64], u: &[f64]) -> Result<Vec<f64>, String> {
        let tape = Tape::new();
        let (total, dv) = self.loss(&tape, d)?;
        let (_, h) = total
            .try_hvp(&[(dv, Mat::from_fn(u.len(), 1, |i, _| u[i]))])
            .map_err(|e| format!("{}: the Hessian-vector product: {e}", self.source))?;
        let h = h.wrt(dv);
        Ok((0..u.len()).map(|i| h[(i, 0)]).collect())
    }

    /// The loss recorded on `tape`, and the tracked `d`.
    fn loss<'t>(&self, tape: &'t Tape, d: &[f64]) -> Result<(Var<'t>, Var<'t>), String> {
        let n = self.n();
        let dv = tape
            .try_var(Mat::from_fn(n, 1, |i, _| d[i]))
            .map_err(|e| format!("{}: the parameters d: {e}", self.source))?;
        let norm_a = expgrad::linalg::norm1(self.a.as_ref());
        let dmax = d.iter().fold(0.0f64, |m, x| m.max(x.abs()));
        let ridge = dv
            .try_dot(dv)
            .and_then(|r| r.try_scale(0.5 * self.ridge))
            .map_err(|e| format!("{}: the ridge term: {e}", self.source))?;
        let mut terms = vec![Ok(ridge)];
        for (k, o) in self.obs.iter().enumerate() {
            let term = (|| -> Result<_, TapeError> {
                let v = Mat::from_fn(n, 1, |i, _| o.v[i]);
                let w = Mat::from_fn(n, 1, |i, _| o.w[i]);
                let pade = match self.route {
                    Route::Pade => true,
                    Route::Action => false,
                    Route::Auto => o.t.abs() * dmax * norm_a > 4.0 * n as f64,
                };
                let pred = if pade {
                    let ta = tape.constant(&self.a * faer::Scale(o.t));
                    try_diag_mul(dv, ta)?.try_expm_mul(&v)?
                } else {
                    let (vv, t) = (tape.constant(v), tape.scalar(o.t));
                    try_expm_multiply_diag(dv, &self.a_shared, vv, t)?
                };
                let r = pred.try_sub(&w)?;
                r.try_dot(r)?.try_scale(0.5)
            })();
            terms.push(
                term.map_err(|e| format!("{}: observation {k} (t = {}): {e}", self.source, o.t)),
            );
        }
        let terms = terms.into_iter().collect::<Result<Vec<_>, String>>()?;
        let total = expgrad::tape::try_add_n(&terms)
            .map_err(|e| format!("{}: the total loss: {e}", self.source))?;
        Ok((total, dv))
    }
}

/// A seeded synthetic problem: `A = −I + 0.8·G/√n + 1.5·(superdiagonal)` (non-normal),
/// `d_true ∈ [0.5, 1.5]`, `tⱼ = 0.25·j`, `vⱼ` standard normal, `wⱼ` exact plus `noise·N(0,1)`.
pub fn synthetic(n: usize, m: usize, noise: f64, seed: u64) -> Problem {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut normal = move || {
        let (u1, u2): (f64, f64) = (rng.random_range(f64::EPSILON..1.0), rng.random());
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    };
    let s = 0.8 / (n as f64).sqrt();
    let a = Mat::from_fn(n, n, |i, j| {
        let g = s * normal();
        g + if i == j {
            -1.0
        } else if j == i + 1 {
            1.5
        } else {
            0.0
        }
    });
    let d_true: Vec<f64> = (0..n)
        .map(|i| 0.5 + ((i * 37 + 11) % 100) as f64 / 100.0)
        .collect();
    let mut obs = Vec::with_capacity(m);
    for j in 0..m {
        let t = 0.25 * (j + 1) as f64;
        let v: Vec<f64> = (0..n).map(|_| normal()).collect();
        let x = Mat::from_fn(n, n, |i, k| t * d_true[i] * a[(i, k)]);
        let w_exact = expgrad::linalg::expm(x.as_ref()) * Mat::from_fn(n, 1, |i, _| v[i]);
        let w: Vec<f64> = (0..n).map(|i| w_exact[(i, 0)] + noise * normal()).collect();
        obs.push(Observation { t, v, w });
    }
    Problem {
        a_shared: Arc::new(SparseOrDense::from(a.clone())),
        a,
        source: "synthetic data".into(),
        route: Route::Auto,
        obs,
        ridge: 0.0,
        d_true: Some(d_true),
    }
}

/// Fits `d` from `d0` by L-BFGS on [`Problem::loss_and_grad`]. Errors only when the loss
/// cannot be evaluated at `d0`; the verdict says whether the fit converged.
pub fn fit(
    problem: &Problem,
    d0: Vec<f64>,
    opts: &FitOptions,
    on_iter: impl FnMut(&Progress),
) -> Result<FitResult, String> {
    lbfgs(|d: &[f64]| problem.loss_and_grad(d), d0, opts, on_iter).map_err(|OptimError(e)| e)
}

/// Fits `d` from `d0` by trust-region Newton–CG ([`newton_cg`]): [`Problem::loss_and_grad`]
/// for the loss and [`Problem::hvp`] for the curvature, no Hessian formed.
pub fn fit_newton(
    problem: &Problem,
    d0: Vec<f64>,
    opts: &NewtonOptions,
    on_iter: impl FnMut(&Progress),
) -> Result<FitResult, String> {
    newton_cg(
        |d: &[f64]| problem.loss_and_grad(d),
        |d: &[f64], u: &[f64]| problem.hvp(d, u),
        d0,
        opts,
        on_iter,
    )
    .map_err(|OptimError(e)| e)
}

/// `‖d − d_true‖₂ / ‖d_true‖₂`.
pub fn relative_error(d: &[f64], truth: &[f64]) -> f64 {
    let num: f64 = d
        .iter()
        .zip(truth)
        .map(|(a, b)| (a - b) * (a - b))
        .sum::<f64>()
        .sqrt();
    num / truth.iter().map(|x| x * x).sum::<f64>().sqrt()
}
