//! The fit_diag model: observations `wⱼ ≈ exp(tⱼ·Diag(d)·A)·vⱼ`, fit `d` by minimising
//! `½Σⱼ‖exp(tⱼ Diag(d) A) vⱼ − wⱼ‖² + ½ρ‖d‖²` with argmin's L-BFGS (More–Thuente line search);
//! the loss and its gradient come from one expgrad tape per evaluation.
//!
//! Shared by `examples/fit_diag/main.rs` and `tests/fit_diag.rs`.
#![allow(dead_code)]

use expgrad::diag::diag_mul;
use expgrad::tape::Tape;
use faer::Mat;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

#[path = "../common/lbfgs.rs"]
mod lbfgs;
pub use lbfgs::{FitOptions, FitResult, Progress};

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
            a,
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

    /// `½Σⱼ‖exp(tⱼ Diag(d) A) vⱼ − wⱼ‖² + ½ρ‖d‖²` and its gradient, by one tape.
    pub fn loss_and_grad(&self, d: &[f64]) -> Result<(f64, Vec<f64>), String> {
        let n = self.n();
        let tape = Tape::new();
        let dv = tape.var(Mat::from_fn(n, 1, |i, _| d[i]));
        let mut total = dv.dot(dv).scale(0.5 * self.ridge);
        for o in &self.obs {
            let ta = tape.constant(&self.a * faer::Scale(o.t));
            let v = tape.constant(Mat::from_fn(n, 1, |i, _| o.v[i]));
            let w = tape.constant(Mat::from_fn(n, 1, |i, _| o.w[i]));
            let pred = diag_mul(dv, ta)
                .try_expm()
                .map_err(|e| e.to_string())?
                .matmul(v);
            let r = pred.sub(w);
            total = total.add(r.dot(r).scale(0.5));
        }
        let g = total.backward().wrt(dv);
        Ok((total.item(), (0..n).map(|i| g[(i, 0)]).collect()))
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
        a,
        obs,
        ridge: 0.0,
        d_true: Some(d_true),
    }
}

/// Fits `d` from `d0` by L-BFGS on [`Problem::loss_and_grad`].
pub fn fit(
    problem: &Problem,
    d0: Vec<f64>,
    opts: &FitOptions,
    on_iter: impl FnMut(&Progress) + 'static,
) -> Result<FitResult, String> {
    lbfgs::minimize(|d: &[f64]| problem.loss_and_grad(d), d0, opts, on_iter)
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
