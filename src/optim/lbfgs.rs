//! L-BFGS (Nocedal & Wright 2006, Algorithm 7.4 with the two-loop recursion 7.5) and a
//! strong-Wolfe line search (their Algorithms 3.5 and 3.6) that tolerates failed evaluations:
//! a trial point whose loss cannot be evaluated (an error, a non-finite value) is treated as
//! a point with an infinite loss, which sends the search back towards shorter steps.

use super::{OptimError, OptimResult, Progress, Verdict, dot, evaluate, norm, start_at, stop};
use std::collections::VecDeque;
use std::fmt::Display;
use std::time::Instant;

/// Settings of [`lbfgs`].
#[derive(Clone, Debug)]
pub struct LbfgsOptions {
    /// Iteration cap (default 500).
    pub max_iters: u64,
    /// Stop when `‖∇‖₂ ≤ gtol` (default 1e-10).
    pub gtol: f64,
    /// Number of correction pairs kept (default 10).
    pub memory: usize,
    /// Evaluations allowed per line search (default 40).
    pub max_line_evals: usize,
    /// Sufficient-decrease constant `c₁` (default 1e-4).
    pub c1: f64,
    /// Curvature constant `c₂` (default 0.9).
    pub c2: f64,
}

impl Default for LbfgsOptions {
    fn default() -> Self {
        Self {
            max_iters: 500,
            gtol: 1e-10,
            memory: 10,
            max_line_evals: 40,
            c1: 1e-4,
            c2: 0.9,
        }
    }
}

/// A trial point of the line search: step, loss, directional derivative, and the gradient.
#[derive(Clone)]
struct Trial {
    a: f64,
    f: f64,
    d: f64,
    g: Vec<f64>,
}

/// Outcome of one line search.
enum Search {
    Found(Trial),
    Failed(Option<String>),
}

/// Minimises `f` from `x0`. `f` returns the loss and its gradient, or an error; an error (or
/// a non-finite value) at a trial point of the line search shortens the step, at `x0` it is
/// returned as [`OptimError`]. `on_iter` sees the starting point and every iteration.
pub fn lbfgs<F, E>(
    mut f: F,
    x0: Vec<f64>,
    opts: &LbfgsOptions,
    mut on_iter: impl FnMut(&Progress),
) -> Result<OptimResult, OptimError>
where
    F: FnMut(&[f64]) -> Result<(f64, Vec<f64>), E>,
    E: Display,
{
    let start = Instant::now();
    let (mut fx, mut g) = start_at(&mut f, &x0)?;
    let mut x = x0;
    let (mut evals, mut failed) = (1usize, 0usize);
    let grad0 = norm(&g);
    let mut history = Vec::new();
    let mut record = super::recorder(start, &mut on_iter);
    record(0, fx, grad0, &mut history);
    let mut pairs: VecDeque<(Vec<f64>, Vec<f64>, f64)> = VecDeque::new();
    let mut iter = 0u64;
    let verdict = loop {
        let gn = norm(&g);
        if let Some(v) = stop(iter, gn, grad0, opts.gtol, opts.max_iters, &history) {
            break v;
        }
        // Two-loop recursion: p = −H g.
        let mut p = direction(&g, &pairs);
        let mut d0 = dot(&g, &p);
        if d0 >= 0.0 || !d0.is_finite() {
            pairs.clear();
            p = g.iter().map(|v| -v).collect();
            d0 = -gn * gn;
        }
        let a0 = if pairs.is_empty() {
            (1.0 / gn).min(1.0)
        } else {
            1.0
        };
        let mut eval = |a: f64| -> Result<Trial, String> {
            let xt: Vec<f64> = x.iter().zip(&p).map(|(xi, pi)| xi + a * pi).collect();
            evals += 1;
            let r = evaluate(&mut f, &xt);
            if r.is_err() {
                failed += 1;
            }
            r.map(|(ft, gt)| Trial {
                a,
                f: ft,
                d: dot(&gt, &p),
                g: gt,
            })
        };
        match wolfe(&mut eval, fx, d0, a0, opts) {
            Search::Found(t) => {
                let s: Vec<f64> = p.iter().map(|pi| t.a * pi).collect();
                let y: Vec<f64> = t.g.iter().zip(&g).map(|(a, b)| a - b).collect();
                let sy = dot(&s, &y);
                if sy > 1e-12 * norm(&s) * norm(&y) {
                    if pairs.len() == opts.memory.max(1) {
                        pairs.pop_front();
                    }
                    pairs.push_back((s.clone(), y, 1.0 / sy));
                }
                for (xi, si) in x.iter_mut().zip(&s) {
                    *xi += si;
                }
                fx = t.f;
                g = t.g;
                iter += 1;
                record(iter, fx, norm(&g), &mut history);
            }
            Search::Failed(err) => {
                let gn = norm(&g);
                break if gn <= 1e-6 * grad0 {
                    Verdict::Stationary
                } else {
                    Verdict::LineSearchFailed(err)
                };
            }
        }
    };
    Ok(OptimResult {
        grad_norm: norm(&g),
        x,
        loss: fx,
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

/// `−H·g` by the two-loop recursion, `H₀ = γI` with `γ = sᵀy/yᵀy` of the newest pair.
fn direction(g: &[f64], pairs: &VecDeque<(Vec<f64>, Vec<f64>, f64)>) -> Vec<f64> {
    let mut q = g.to_vec();
    let mut alphas = Vec::with_capacity(pairs.len());
    for (s, y, rho) in pairs.iter().rev() {
        let a = rho * dot(s, &q);
        for (qi, yi) in q.iter_mut().zip(y) {
            *qi -= a * yi;
        }
        alphas.push(a);
    }
    if let Some((s, y, _)) = pairs.back() {
        let gamma = dot(s, y) / dot(y, y);
        q.iter_mut().for_each(|v| *v *= gamma);
    }
    for ((s, y, rho), a) in pairs.iter().zip(alphas.into_iter().rev()) {
        let b = rho * dot(y, &q);
        for (qi, si) in q.iter_mut().zip(s) {
            *qi += (a - b) * si;
        }
    }
    q.iter().map(|v| -v).collect()
}

/// Strong-Wolfe line search from `φ(0) = f0`, `φ'(0) = d0 < 0`, first trial `a0`.
fn wolfe(
    eval: &mut impl FnMut(f64) -> Result<Trial, String>,
    f0: f64,
    d0: f64,
    a0: f64,
    opts: &LbfgsOptions,
) -> Search {
    let (c1, c2) = (opts.c1, opts.c2);
    let mut prev = Trial {
        a: 0.0,
        f: f0,
        d: d0,
        g: Vec::new(),
    };
    let mut a = a0;
    let mut last_err = None;
    for i in 0..opts.max_line_evals {
        let t = match eval(a) {
            Ok(t) => t,
            Err(e) => {
                // Too long: search between the last good point and this one.
                last_err = Some(e);
                return zoom(
                    eval,
                    prev,
                    None,
                    a,
                    f0,
                    d0,
                    opts,
                    opts.max_line_evals - i - 1,
                )
                .or_err(last_err);
            }
        };
        if t.f > f0 + c1 * t.a * d0 || (i > 0 && t.f >= prev.f) {
            return zoom(
                eval,
                prev,
                Some(t.clone()),
                t.a,
                f0,
                d0,
                opts,
                opts.max_line_evals - i - 1,
            )
            .or_err(last_err);
        }
        if t.d.abs() <= -c2 * d0 {
            return Search::Found(t);
        }
        if t.d >= 0.0 {
            let hi_a = prev.a;
            return zoom(
                eval,
                t,
                Some(prev),
                hi_a,
                f0,
                d0,
                opts,
                opts.max_line_evals - i - 1,
            )
            .or_err(last_err);
        }
        prev = t;
        a *= 2.0;
    }
    Search::Failed(last_err)
}

impl Search {
    fn or_err(self, err: Option<String>) -> Self {
        match self {
            Search::Failed(None) => Search::Failed(err),
            s => s,
        }
    }
}

/// The zoom phase between `lo` (sufficient decrease holds) and `hi` (at step `hi_a`; `None`
/// when the evaluation there failed), by safeguarded quadratic interpolation.
#[allow(clippy::too_many_arguments)]
fn zoom(
    eval: &mut impl FnMut(f64) -> Result<Trial, String>,
    mut lo: Trial,
    mut hi: Option<Trial>,
    mut hi_a: f64,
    f0: f64,
    d0: f64,
    opts: &LbfgsOptions,
    budget: usize,
) -> Search {
    let (c1, c2) = (opts.c1, opts.c2);
    let mut last_err = None;
    for _ in 0..budget {
        let (l, h) = (lo.a.min(hi_a), lo.a.max(hi_a));
        let width = h - l;
        if width <= 1e-16 * h.max(1e-300) {
            break;
        }
        // Quadratic through φ(lo), φ'(lo), φ(hi) when all are finite, else bisection; kept
        // at least 10% of the interval away from both ends.
        let mut a = match &hi {
            Some(ht) => {
                let dx = ht.a - lo.a;
                let denom = 2.0 * (ht.f - lo.f - lo.d * dx);
                if denom != 0.0 && denom.is_finite() {
                    lo.a - lo.d * dx * dx / denom
                } else {
                    0.5 * (lo.a + hi_a)
                }
            }
            None => lo.a + 0.25 * (hi_a - lo.a),
        };
        if !a.is_finite() || a < l + 0.1 * width || a > h - 0.1 * width {
            a = 0.5 * (lo.a + hi_a);
        }
        match eval(a) {
            Err(e) => {
                last_err = Some(e);
                hi = None;
                hi_a = a;
            }
            Ok(t) => {
                if t.f > f0 + c1 * t.a * d0 || t.f >= lo.f {
                    hi_a = t.a;
                    hi = Some(t);
                } else {
                    if t.d.abs() <= -c2 * d0 {
                        return Search::Found(t);
                    }
                    if t.d * (hi_a - lo.a) >= 0.0 {
                        hi_a = lo.a;
                        hi = Some(lo.clone());
                    }
                    lo = t;
                }
            }
        }
    }
    // No strong-Wolfe point within the budget: accept the best point with sufficient
    // decrease, if it is not the start.
    if lo.a > 0.0 && !lo.g.is_empty() {
        Search::Found(lo)
    } else {
        Search::Failed(last_err)
    }
}
