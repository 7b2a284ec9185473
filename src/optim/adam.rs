//! Adam (Kingma & Ba, "Adam: a method for stochastic optimization", ICLR 2015), with the
//! bias-corrected moment estimates of their Algorithm 1.

use super::{OptimError, OptimResult, Progress, Verdict, evaluate, norm, start_at, stop};
use std::fmt::Display;
use std::time::Instant;

/// Settings of [`adam`].
#[derive(Clone, Debug)]
pub struct AdamOptions {
    /// Step size α (default 1e-2).
    pub lr: f64,
    /// Decay of the first moment β₁ (default 0.9).
    pub beta1: f64,
    /// Decay of the second moment β₂ (default 0.999).
    pub beta2: f64,
    /// ε in the denominator (default 1e-8).
    pub eps: f64,
    /// Iteration cap (default 1000).
    pub max_iters: u64,
    /// Stop when `‖∇‖₂ ≤ gtol` (default 1e-8).
    pub gtol: f64,
}

impl Default for AdamOptions {
    fn default() -> Self {
        Self {
            lr: 1e-2,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            max_iters: 1000,
            gtol: 1e-8,
        }
    }
}

/// Minimises `f` from `x0` with Adam. An evaluation that fails after the start halves the
/// step size and retries from the last good point (at most 30 times in a row); at `x0` it is
/// returned as [`OptimError`]. The result is the best point seen.
///
/// ```
/// use expgrad::optim::{adam, AdamOptions};
/// let f = |x: &[f64]| -> Result<(f64, Vec<f64>), String> {
///     Ok(((x[0] - 3.0).powi(2), vec![2.0 * (x[0] - 3.0)]))
/// };
/// let opts = AdamOptions { lr: 0.1, max_iters: 2000, gtol: 1e-6, ..Default::default() };
/// let r = adam(f, vec![0.0], &opts, |_| {}).unwrap();
/// assert!((r.x[0] - 3.0).abs() < 1e-3, "{}", r.reason());
/// ```
pub fn adam<F, E>(
    mut f: F,
    x0: Vec<f64>,
    opts: &AdamOptions,
    mut on_iter: impl FnMut(&Progress),
) -> Result<OptimResult, OptimError>
where
    F: FnMut(&[f64]) -> Result<(f64, Vec<f64>), E>,
    E: Display,
{
    let start = Instant::now();
    let (mut fx, mut g) = start_at(&mut f, &x0)?;
    let grad0 = norm(&g);
    let n = x0.len();
    let mut x = x0;
    let (mut m, mut v) = (vec![0.0; n], vec![0.0; n]);
    let mut best = (fx, x.clone(), norm(&g));
    let (mut evals, mut failed, mut lr) = (1usize, 0usize, opts.lr);
    let mut history = vec![Progress {
        iter: 0,
        loss: fx,
        grad_norm: grad0,
        elapsed: start.elapsed(),
    }];
    on_iter(&history[0]);
    let mut iter = 0u64;
    let mut streak = 0;
    let verdict = loop {
        let gn = norm(&g);
        if let Some(v) = stop(iter, gn, grad0, opts.gtol, opts.max_iters, &history) {
            break v;
        }
        let t = (iter + 1) as i32;
        let (b1, b2) = (opts.beta1, opts.beta2);
        let mut xt = x.clone();
        let (mut mt, mut vt) = (m.clone(), v.clone());
        for i in 0..n {
            mt[i] = b1 * m[i] + (1.0 - b1) * g[i];
            vt[i] = b2 * v[i] + (1.0 - b2) * g[i] * g[i];
            let mhat = mt[i] / (1.0 - b1.powi(t));
            let vhat = vt[i] / (1.0 - b2.powi(t));
            xt[i] -= lr * mhat / (vhat.sqrt() + opts.eps);
        }
        evals += 1;
        match evaluate(&mut f, &xt) {
            Ok((ft, gt)) => {
                (x, m, v, fx, g) = (xt, mt, vt, ft, gt);
                streak = 0;
                iter += 1;
                let p = Progress {
                    iter,
                    loss: fx,
                    grad_norm: norm(&g),
                    elapsed: start.elapsed(),
                };
                on_iter(&p);
                history.push(p);
                if fx < best.0 {
                    best = (fx, x.clone(), norm(&g));
                }
            }
            Err(e) => {
                failed += 1;
                streak += 1;
                lr *= 0.5;
                if streak >= 30 {
                    break Verdict::LineSearchFailed(Some(e));
                }
            }
        }
    };
    let (loss, xb, gnb) = best;
    Ok(OptimResult {
        x: xb,
        loss,
        grad_norm: gnb,
        grad_norm_start: grad0,
        iters: iter,
        evals,
        failed_evals: failed,
        hvps: 0,
        elapsed: start.elapsed(),
        verdict,
        history,
    })
}
