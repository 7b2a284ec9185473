//! Continuous-time Markov chain exit rates from transition counts.
//!
//! Generator `Q = Diag(r)·(P − I)` with a known jump matrix `P` (rows sum to 1, zero
//! diagonal) and unknown exit rates `r = exp(θ) > 0`. Data: counts `N⁽ᵏ⁾ᵢⱼ` of chains seen in
//! state i at time 0 and in state j at time tₖ. Log-likelihood
//! `ℓ(θ) = Σₖ Σᵢⱼ N⁽ᵏ⁾ᵢⱼ log [exp(tₖQ)]ᵢⱼ`, maximised with L-BFGS on `−ℓ`; its gradient is one
//! backward pass through `exp → diag_mul → expm → log`.
#![allow(dead_code)]

use expgrad::diag::try_diag_mul;
use expgrad::tape::{Tape, Var, try_add_n};
use faer::Mat;
use faer::prelude::Solve;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

pub use expgrad::optim::Progress;

/// Settings of [`fit`].
pub type FitOptions = expgrad::optim::LbfgsOptions;
/// The outcome of [`fit`].
pub type FitResult = expgrad::optim::OptimResult;

/// Counts over one interval: `n[(i, j)]` chains went from state i to state j in time `t`.
#[derive(Clone, Debug)]
pub struct Counts {
    /// Interval length.
    pub t: f64,
    /// Transition counts.
    pub n: Mat<f64>,
}

/// A chain: jump matrix and exit rates.
#[derive(Clone, Debug)]
pub struct Chain {
    /// Jump matrix P (rows sum to 1, zero diagonal).
    pub p: Mat<f64>,
    /// Exit rates r.
    pub rates: Vec<f64>,
}

impl Chain {
    /// A seeded example: `k` states, a dense random jump matrix, rates spread over [0.3, 3].
    pub fn example(k: usize, seed: u64) -> Self {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut p = Mat::from_fn(k, k, |i, j| {
            if i == j {
                0.0
            } else {
                rng.random_range(0.1..1.0)
            }
        });
        for i in 0..k {
            let s: f64 = (0..k).map(|j| p[(i, j)]).sum();
            for j in 0..k {
                p[(i, j)] /= s;
            }
        }
        let rates = (0..k)
            .map(|i| 0.3 * 10f64.powf(i as f64 / (k - 1).max(1) as f64))
            .collect();
        Self { p, rates }
    }

    /// `exp(t·Diag(r)·(P − I))`, or the kernel's error (overflow, non-finite input).
    pub fn transition(&self, t: f64) -> Result<Mat<f64>, String> {
        let k = self.rates.len();
        let q = Mat::from_fn(k, k, |i, j| {
            t * self.rates[i] * (self.p[(i, j)] - if i == j { 1.0 } else { 0.0 })
        });
        expgrad::linalg::try_expm(q.as_ref()).map_err(|e| format!("t = {t:?}: {e}"))
    }

    /// The expected number of jumps of the Gillespie runs of [`simulate`](Self::simulate)
    /// (at most `per_state·k·Σₜ(1 + t·max r)`): what simulating would cost.
    pub fn expected_jumps(&self, ts: &[f64], per_state: usize) -> f64 {
        let k = self.rates.len() as f64;
        let r = self.rates.iter().fold(0.0f64, |m, r| m.max(*r));
        ts.iter()
            .map(|t| per_state as f64 * k * (1.0 + t * r))
            .sum()
    }

    /// Gillespie simulation: `per_state` chains started in each state, observed at each `t`.
    pub fn simulate(&self, ts: &[f64], per_state: usize, seed: u64) -> Vec<Counts> {
        let k = self.rates.len();
        let mut rng = StdRng::seed_from_u64(seed);
        ts.iter()
            .map(|&t| {
                let mut n = Mat::<f64>::zeros(k, k);
                for i in 0..k {
                    for _ in 0..per_state {
                        let (mut s, mut clock) = (i, 0.0);
                        loop {
                            let u: f64 = rng.random_range(f64::EPSILON..1.0);
                            clock += -u.ln() / self.rates[s];
                            if clock > t {
                                break;
                            }
                            let mut x: f64 = rng.random();
                            let mut next = s;
                            for j in 0..k {
                                x -= self.p[(s, j)];
                                if x < 0.0 && j != s {
                                    next = j;
                                    break;
                                }
                            }
                            s = next;
                        }
                        n[(i, s)] += 1.0;
                    }
                }
                Counts { t, n }
            })
            .collect()
    }

    /// The expected counts (noise-free data): `per_state · exp(tQ)`.
    pub fn expected(&self, ts: &[f64], per_state: usize) -> Result<Vec<Counts>, String> {
        ts.iter()
            .map(|&t| {
                Ok(Counts {
                    t,
                    n: self.transition(t)? * faer::Scale(per_state as f64),
                })
            })
            .collect()
    }
}

/// The graph of `−ℓ(θ)` for rates `r = exp(θ)` on `tape`, with `θ` the tracked variable, all
/// through `try_` forms. Errors name the interval (its index and length) and the op, e.g.
/// `interval 2 (t = 3.0): log: …`.
fn neg_loglik<'t>(
    tape: &'t Tape,
    p: &Mat<f64>,
    data: &[Counts],
    theta: &[f64],
) -> Result<(Var<'t>, Var<'t>), String> {
    let k = theta.len();
    if let Some(i) = theta.iter().position(|t| !t.is_finite()) {
        return Err(format!("θ[{i}] = {} is not finite", theta[i]));
    }
    let th = tape
        .try_var(Mat::from_fn(k, 1, |i, _| theta[i]))
        .map_err(|e| e.to_string())?;
    let r = th.try_exp().map_err(|e| format!("rates: {e}"))?;
    let mut terms = Vec::with_capacity(data.len());
    for (idx, c) in data.iter().enumerate() {
        let at = |e: expgrad::tape::TapeError| format!("interval {idx} (t = {:?}): {e}", c.t);
        let ta = tape
            .try_constant(Mat::from_fn(k, k, |i, j| {
                c.t * (p[(i, j)] - if i == j { 1.0 } else { 0.0 })
            }))
            .map_err(at)?;
        let counts = tape.try_constant(c.n.clone()).map_err(at)?;
        let ll = try_diag_mul(r, ta)
            .and_then(|x| x.try_expm())
            .and_then(|e| e.try_log())
            .and_then(|l| l.try_mul(counts))
            .and_then(|l| l.try_sum())
            .map_err(at)?;
        terms.push(ll);
    }
    let nll = try_add_n(&terms)
        .and_then(|t| t.try_neg())
        .map_err(|e| format!("no data: {e}"))?;
    Ok((nll, th))
}

/// `−ℓ(θ)` and its gradient for rates `r = exp(θ)`: one reverse sweep through
/// `exp → diag_mul → expm → log`.
pub fn neg_loglik_and_grad(
    p: &Mat<f64>,
    data: &[Counts],
    theta: &[f64],
) -> Result<(f64, Vec<f64>), String> {
    let tape = Tape::new();
    let (nll, th) = neg_loglik(&tape, p, data, theta)?;
    let g = nll
        .try_backward()
        .map_err(|e| format!("backward pass: {e}"))?
        .wrt(th);
    Ok((nll.item(), (0..theta.len()).map(|i| g[(i, 0)]).collect()))
}

/// The observed Fisher information `H = ∇²(−ℓ)(θ)`, exact: one Hessian-vector product per
/// rate (forward over reverse; `expm`'s second-order rule from the cached forward), on one
/// recorded forward pass.
pub fn observed_information(
    p: &Mat<f64>,
    data: &[Counts],
    theta: &[f64],
) -> Result<Mat<f64>, String> {
    let tape = Tape::new();
    let (nll, th) = neg_loglik(&tape, p, data, theta)?;
    nll.try_hessian(th).map_err(|e| format!("Hessian: {e}"))
}

/// The observed information by central differences of expgrad gradients,
/// `H[:, k] ≈ (∇(θ + h eₖ) − ∇(θ − h eₖ))/2h`, for comparison with the exact one.
pub fn observed_information_fd(
    p: &Mat<f64>,
    data: &[Counts],
    theta: &[f64],
) -> Result<Mat<f64>, String> {
    let k = theta.len();
    let h = 1e-5;
    let mut hess = Mat::<f64>::zeros(k, k);
    for j in 0..k {
        let (mut tp, mut tm) = (theta.to_vec(), theta.to_vec());
        tp[j] += h;
        tm[j] -= h;
        let (gp, gm) = (
            neg_loglik_and_grad(p, data, &tp)?.1,
            neg_loglik_and_grad(p, data, &tm)?.1,
        );
        for i in 0..k {
            hess[(i, j)] = (gp[i] - gm[i]) / (2.0 * h);
        }
    }
    Ok(hess)
}

/// Maximum-likelihood rates from `θ₀`. The optimiser sees the *mean* negative
/// log-likelihood per chain (`−ℓ/Σ N`), so that its gradient is O(1) whatever the amount of
/// data (the unscaled gradient sends the first line-search step to overflowing rates).
pub fn fit(
    p: &Mat<f64>,
    data: &[Counts],
    theta0: Vec<f64>,
    opts: &FitOptions,
    on_iter: impl FnMut(&Progress) + 'static,
) -> Result<FitResult, String> {
    let total: f64 = data.iter().map(|c| c.n.sum()).sum();
    if !(total.is_finite() && total > 0.0) {
        return Err(format!(
            "the counts must sum to a positive finite number, not {total}"
        ));
    }
    let mean = |th: &[f64]| {
        neg_loglik_and_grad(p, data, th)
            .map(|(l, g)| (l / total, g.into_iter().map(|x| x / total).collect()))
    };
    expgrad::optim::lbfgs(mean, theta0, opts, on_iter).map_err(String::from)
}

/// Standard errors of the rates from the observed Fisher information `H` (symmetrised):
/// `SE(θ) = √diag(H⁻¹)` and, by the delta method, `SE(r) = r·SE(θ)`.
pub fn standard_errors_from(hess: &Mat<f64>, theta: &[f64]) -> Result<Vec<f64>, String> {
    let k = theta.len();
    let sym = Mat::from_fn(k, k, |i, j| 0.5 * (hess[(i, j)] + hess[(j, i)]));
    let chol = sym
        .llt(faer::Side::Lower)
        .map_err(|_| "the observed information is not positive definite".to_string())?;
    let inv = chol.solve(Mat::<f64>::identity(k, k));
    Ok((0..k)
        .map(|i| theta[i].exp() * inv[(i, i)].sqrt())
        .collect())
}

/// Standard errors of the rates from the exact observed information
/// ([`observed_information`]).
pub fn standard_errors(p: &Mat<f64>, data: &[Counts], theta: &[f64]) -> Result<Vec<f64>, String> {
    standard_errors_from(&observed_information(p, data, theta)?, theta)
}
