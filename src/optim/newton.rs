//! Trust-region Newton–CG (Nocedal & Wright 2006, Algorithm 4.1 with the Steihaug–Toint
//! conjugate-gradient subproblem solver, their Algorithm 7.2), driven by Hessian-vector
//! products: each inner iteration costs one product `∇²f(x)·d`, which expgrad computes exactly
//! by forward over reverse (`Var::hvp`), so the Hessian is never formed. Negative curvature is
//! followed to the trust-region boundary; a trial point whose evaluation fails is a rejected
//! step that shrinks the region, as a failed line-search point does for [`lbfgs`](super::lbfgs).
//! A Hessian-vector product that fails at an iterate ends the run with its message.

use super::{OptimError, OptimResult, Progress, Verdict, dot, evaluate, norm, start_at, stop};
use std::fmt::Display;
use std::time::Instant;

/// Settings of [`newton_cg`].
#[derive(Clone, Debug)]
pub struct NewtonOptions {
    /// Outer (Newton) iteration cap (default 200).
    pub max_iters: u64,
    /// Stop when `‖∇‖₂ ≤ gtol` (default 1e-10).
    pub gtol: f64,
    /// Initial trust-region radius (default 1).
    pub radius: f64,
    /// Largest radius (default 1e6).
    pub max_radius: f64,
    /// Accept a step when the actual reduction is at least `eta` times the predicted one
    /// (default 0.1).
    pub eta: f64,
    /// Conjugate-gradient iterations per Newton step, at most (default: the number of
    /// parameters, through `usize::MAX`).
    pub max_cg: usize,
}

impl Default for NewtonOptions {
    fn default() -> Self {
        Self {
            max_iters: 200,
            gtol: 1e-10,
            radius: 1.0,
            max_radius: 1e6,
            eta: 0.1,
            max_cg: usize::MAX,
        }
    }
}

/// The step of the Steihaug–Toint subproblem solver, with `B·p` (for the predicted reduction).
struct Step {
    p: Vec<f64>,
    bp: Vec<f64>,
    on_boundary: bool,
}

/// Minimises `f` from `x0` by trust-region Newton–CG. `f` returns the loss and its gradient;
/// `hvp(x, d)` returns `∇²f(x)·d`. An error or a non-finite value from `f` at a trial point
/// rejects the step and shrinks the region; at `x0` it is returned as [`OptimError`]. An error
/// from `hvp` (always called at an accepted iterate) ends the run with a
/// [`Verdict::LineSearchFailed`] carrying its message.
///
/// ```
/// use expgrad::optim::{newton_cg, NewtonOptions};
/// // Rosenbrock, with its exact Hessian-vector product.
/// let f = |x: &[f64]| -> Result<(f64, Vec<f64>), String> {
///     let (a, b) = (1.0 - x[0], x[1] - x[0] * x[0]);
///     Ok((a * a + 100.0 * b * b, vec![-2.0 * a - 400.0 * x[0] * b, 200.0 * b]))
/// };
/// let hvp = |x: &[f64], d: &[f64]| -> Result<Vec<f64>, String> {
///     let h00 = 2.0 - 400.0 * (x[1] - x[0] * x[0]) + 800.0 * x[0] * x[0];
///     let h01 = -400.0 * x[0];
///     Ok(vec![h00 * d[0] + h01 * d[1], h01 * d[0] + 200.0 * d[1]])
/// };
/// let r = newton_cg(f, hvp, vec![-1.2, 1.0], &NewtonOptions::default(), |_| {}).unwrap();
/// assert!(r.converged(), "{}", r.reason());
/// assert!((r.x[0] - 1.0).abs() < 1e-8 && (r.x[1] - 1.0).abs() < 1e-8);
/// ```
pub fn newton_cg<F, H, E>(
    mut f: F,
    mut hvp: H,
    x0: Vec<f64>,
    opts: &NewtonOptions,
    mut on_iter: impl FnMut(&Progress),
) -> Result<OptimResult, OptimError>
where
    F: FnMut(&[f64]) -> Result<(f64, Vec<f64>), E>,
    H: FnMut(&[f64], &[f64]) -> Result<Vec<f64>, E>,
    E: Display,
{
    let start = Instant::now();
    let (mut fx, mut g) = start_at(&mut f, &x0)?;
    let mut x = x0;
    let (mut evals, mut failed, mut hvps) = (1usize, 0usize, 0usize);
    let grad0 = norm(&g);
    let mut history = Vec::new();
    let mut record = super::recorder(start, &mut on_iter);
    record(0, fx, grad0, &mut history);
    let mut radius = opts.radius;
    let mut iter = 0u64;
    let mut last_error: Option<String> = None;
    let verdict = loop {
        let gn = norm(&g);
        if let Some(v) = stop(iter, gn, grad0, opts.gtol, opts.max_iters, &history) {
            break v;
        }
        if radius < 1e-14 * (1.0 + norm(&x)) {
            break if gn <= 1e-6 * grad0 {
                Verdict::Stationary
            } else {
                Verdict::LineSearchFailed(last_error)
            };
        }
        let step = {
            let mut product = |d: &[f64]| -> Result<Vec<f64>, String> {
                hvps += 1;
                let bd = hvp(&x, d).map_err(|e| e.to_string())?;
                if bd.len() != d.len() || bd.iter().any(|v| !v.is_finite()) {
                    return Err("non-finite or misshapen Hessian-vector product".into());
                }
                Ok(bd)
            };
            steihaug(&g, radius, opts.max_cg, &mut product)
        };
        // The curvature at an iterate that evaluated fine could not be computed (an op
        // without a second-order rule, an overflow): no model to trust, the run stops.
        let step = match step {
            Ok(s) => s,
            Err(e) => {
                break Verdict::LineSearchFailed(Some(format!("Hessian-vector product: {e}")));
            }
        };
        let predicted = -(dot(&g, &step.p) + 0.5 * dot(&step.p, &step.bp));
        let xt: Vec<f64> = x.iter().zip(&step.p).map(|(a, b)| a + b).collect();
        evals += 1;
        let trial = evaluate(&mut f, &xt);
        let pn = norm(&step.p);
        let rho = match &trial {
            Ok((ft, _)) if predicted > 0.0 => (fx - ft) / predicted,
            Ok((ft, _)) if *ft < fx => 1.0,
            Ok(_) => -1.0,
            Err(e) => {
                failed += 1;
                last_error = Some(e.clone());
                -1.0
            }
        };
        if rho < 0.25 {
            radius = 0.25 * pn;
        } else if rho > 0.75 && step.on_boundary {
            radius = (2.0 * radius).min(opts.max_radius);
        }
        if rho > opts.eta {
            let (ft, gt) = trial.expect("an accepted step evaluated");
            x = xt;
            fx = ft;
            g = gt;
            iter += 1;
            record(iter, fx, norm(&g), &mut history);
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
        hvps,
        elapsed: start.elapsed(),
        verdict,
        history,
    })
}

/// `d ↦ ∇²f(x)·d` at the current iterate, or the evaluation's error message.
type HessianProduct<'a> = dyn FnMut(&[f64]) -> Result<Vec<f64>, String> + 'a;

/// Steihaug–Toint CG on `min gᵀp + ½pᵀBp, ‖p‖ ≤ Δ`, stopping at the forcing tolerance
/// `‖r‖ ≤ min(0.5, √‖g‖)·‖g‖`, on negative curvature or at the boundary.
fn steihaug(
    g: &[f64],
    radius: f64,
    max_cg: usize,
    product: &mut HessianProduct<'_>,
) -> Result<Step, String> {
    let n = g.len();
    let gn = norm(g);
    let tol = gn.sqrt().min(0.5) * gn;
    let mut z = vec![0.0; n];
    let mut bz = vec![0.0; n];
    let mut r = g.to_vec();
    let mut d: Vec<f64> = g.iter().map(|v| -v).collect();
    let mut rr = dot(&r, &r);
    for _ in 0..max_cg.min(2 * n.max(1)) {
        let bd = product(&d)?;
        let dbd = dot(&d, &bd);
        if dbd <= 0.0 {
            return Ok(to_boundary(z, bz, &d, &bd, radius));
        }
        let alpha = rr / dbd;
        let z_next: Vec<f64> = z.iter().zip(&d).map(|(a, b)| a + alpha * b).collect();
        if norm(&z_next) >= radius {
            return Ok(to_boundary(z, bz, &d, &bd, radius));
        }
        z = z_next;
        for (b, v) in bz.iter_mut().zip(&bd) {
            *b += alpha * v;
        }
        for (ri, v) in r.iter_mut().zip(&bd) {
            *ri += alpha * v;
        }
        let rr_next = dot(&r, &r);
        if rr_next.sqrt() <= tol {
            break;
        }
        let beta = rr_next / rr;
        rr = rr_next;
        for (di, ri) in d.iter_mut().zip(&r) {
            *di = -ri + beta * *di;
        }
    }
    Ok(Step {
        p: z,
        bp: bz,
        on_boundary: false,
    })
}

/// `z + τd` with `τ ≥ 0` and `‖z + τd‖ = Δ`, and `B(z + τd)`.
fn to_boundary(z: Vec<f64>, bz: Vec<f64>, d: &[f64], bd: &[f64], radius: f64) -> Step {
    let (dd, zd, zz) = (dot(d, d), dot(&z, d), dot(&z, &z));
    let tau = (-zd + (zd * zd + dd * (radius * radius - zz)).max(0.0).sqrt()) / dd;
    Step {
        p: z.iter().zip(d).map(|(a, b)| a + tau * b).collect(),
        bp: bz.iter().zip(bd).map(|(a, b)| a + tau * b).collect(),
        on_boundary: true,
    }
}
