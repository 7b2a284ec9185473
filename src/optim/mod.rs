//! Optimisers for fitting a model's parameters, driven by a closure that returns the loss and
//! its gradient (one tape per evaluation, or anything else).
//!
//! * [`lbfgs`]: L-BFGS with a strong-Wolfe line search that treats an evaluation that fails
//!   (an overflowing `exp`, a non-finite loss) as "the step was too long" and shortens it, so
//!   that a wild trial step never ends the fit. The default choice.
//! * [`minimize`]: the same, over a parameter matrix, for a model written as a closure on a
//!   `Var` (each evaluation on a fresh tape).
//! * [`newton_cg`]: a trust-region Newton method whose inner conjugate-gradient solves
//!   (Steihaug–Toint) are driven by Hessian-vector products (expgrad's `Var::hvp`): no
//!   Hessian is ever formed, and negative curvature is followed to the trust-region boundary.
//! * [`adam`]: Adam (Kingma & Ba 2015), for stochastic or badly scaled objectives.
//! * [`ArgminProblem`] (feature `argmin`, on by default): the same closure as an argmin
//!   `CostFunction` + `Gradient`, to run any of argmin's solvers.
//!
//! Every run ends with an honest [`Verdict`]: a fit that never moved (zero gradient at the
//! start: the loss does not depend on the parameters there) is [`Verdict::FlatStart`], not
//! "converged"; a run that stopped for any other reason than a small gradient says so.
//!
//! ```
//! use expgrad::optim::{lbfgs, LbfgsOptions};
//! // Rosenbrock: minimum at (1, 1).
//! let f = |x: &[f64]| -> Result<(f64, Vec<f64>), String> {
//!     let (a, b) = (1.0 - x[0], x[1] - x[0] * x[0]);
//!     Ok((a * a + 100.0 * b * b, vec![-2.0 * a - 400.0 * x[0] * b, 200.0 * b]))
//! };
//! let r = lbfgs(f, vec![-1.2, 1.0], &LbfgsOptions::default(), |_| {}).unwrap();
//! assert!(r.converged(), "{}", r.reason());
//! assert!((r.x[0] - 1.0).abs() < 1e-8 && (r.x[1] - 1.0).abs() < 1e-8);
//! ```

mod adam;
#[cfg(feature = "argmin")]
mod argmin_problem;
mod lbfgs;
mod minimize;
mod newton;

pub use adam::{AdamOptions, adam};
#[cfg(feature = "argmin")]
pub use argmin_problem::ArgminProblem;
pub use lbfgs::{LbfgsOptions, lbfgs};
pub use minimize::minimize;
pub use newton::{NewtonOptions, newton_cg};

use std::fmt;
use std::time::Duration;

/// One line of progress, handed to the callback after every iteration.
#[derive(Clone, Debug)]
pub struct Progress {
    /// Iteration (1-based; 0 is the starting point).
    pub iter: u64,
    /// Loss at the iterate.
    pub loss: f64,
    /// `‖∇loss‖₂` at the iterate.
    pub grad_norm: f64,
    /// Time since the start.
    pub elapsed: Duration,
}

/// Why a run stopped.
#[derive(Clone, Debug, PartialEq)]
pub enum Verdict {
    /// `‖∇‖₂ ≤ gtol` after at least one step.
    Converged,
    /// The loss is flat to rounding and the gradient fell by at least 10⁶ from its start:
    /// as far as the arithmetic can tell, a stationary point (noisy data have a loss floor
    /// above 0, where an absolute gradient tolerance can be out of reach).
    Stationary,
    /// The gradient was already `≤ gtol` at the starting point, so nothing was fitted: the
    /// loss does not depend on the parameters there (they are not identifiable from the data,
    /// or the model under- or overflows). Not a convergence.
    FlatStart,
    /// The iteration cap was reached first.
    MaxIters,
    /// No step along the search direction lowered the loss (or every trial point failed to
    /// evaluate); the message is the last evaluation error, if any.
    LineSearchFailed(Option<String>),
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Converged => write!(f, "converged: the gradient norm met the tolerance"),
            Self::Stationary => write!(
                f,
                "stationary to rounding: the loss is flat to 1e-12 over 5 iterations and the \
                 gradient fell by 1e6 or more"
            ),
            Self::FlatStart => write!(
                f,
                "not fitted: the gradient is already zero at the starting point (the loss does \
                 not depend on the parameters there: not identifiable, or under/overflow)"
            ),
            Self::MaxIters => write!(f, "not converged: iteration cap reached"),
            Self::LineSearchFailed(None) => {
                write!(f, "not converged: the line search found no lower loss")
            }
            Self::LineSearchFailed(Some(e)) => write!(
                f,
                "not converged: the line search found no lower loss (last evaluation error: {e})"
            ),
        }
    }
}

/// The outcome of a run.
#[derive(Clone, Debug)]
pub struct OptimResult {
    /// The best parameters found.
    pub x: Vec<f64>,
    /// Loss at `x`.
    pub loss: f64,
    /// `‖∇loss(x)‖₂`.
    pub grad_norm: f64,
    /// `‖∇loss‖₂` at the starting point.
    pub grad_norm_start: f64,
    /// Iterations taken.
    pub iters: u64,
    /// Loss-and-gradient evaluations.
    pub evals: usize,
    /// Evaluations that failed (treated as too-long steps).
    pub failed_evals: usize,
    /// Hessian-vector products (second-order solvers; 0 for the others).
    pub hvps: usize,
    /// Wall time.
    pub elapsed: Duration,
    /// Why the run stopped.
    pub verdict: Verdict,
    /// One entry per iteration, starting with the starting point.
    pub history: Vec<Progress>,
}

impl OptimResult {
    /// Whether the result is a stationary point ([`Verdict::Converged`] or
    /// [`Verdict::Stationary`]).
    pub fn converged(&self) -> bool {
        matches!(self.verdict, Verdict::Converged | Verdict::Stationary)
    }

    /// The verdict as a sentence.
    pub fn reason(&self) -> String {
        self.verdict.to_string()
    }
}

/// Why a run could not start: the objective failed at the starting point, or returned a
/// gradient of the wrong length or a non-finite value there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OptimError(pub String);

impl fmt::Display for OptimError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl std::error::Error for OptimError {}

impl From<OptimError> for String {
    fn from(e: OptimError) -> String {
        e.0
    }
}

/// The progress line of an iteration, shared by the solvers: built with the time since
/// `start`, handed to `on_iter`, and kept in the history.
fn recorder(
    start: std::time::Instant,
    on_iter: &mut impl FnMut(&Progress),
) -> impl FnMut(u64, f64, f64, &mut Vec<Progress>) + '_ {
    move |iter, loss, grad_norm, history| {
        let p = Progress {
            iter,
            loss,
            grad_norm,
            elapsed: start.elapsed(),
        };
        on_iter(&p);
        history.push(p);
    }
}

fn norm(v: &[f64]) -> f64 {
    v.iter().map(|x| x * x).sum::<f64>().sqrt()
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Evaluates `f` at `x`; `Err(message)` for an error, a non-finite loss or gradient, or a
/// gradient of the wrong length.
fn evaluate<F, E>(f: &mut F, x: &[f64]) -> Result<(f64, Vec<f64>), String>
where
    F: FnMut(&[f64]) -> Result<(f64, Vec<f64>), E>,
    E: fmt::Display,
{
    if x.iter().any(|v| !v.is_finite()) {
        return Err("non-finite parameters".into());
    }
    let (v, g) = f(x).map_err(|e| e.to_string())?;
    if g.len() != x.len() {
        return Err(format!(
            "the gradient has {} entries for {} parameters",
            g.len(),
            x.len()
        ));
    }
    if !v.is_finite() || g.iter().any(|x| !x.is_finite()) {
        return Err("non-finite loss or gradient".into());
    }
    Ok((v, g))
}

/// The loss and gradient at the starting point, or the error that keeps a run from starting.
fn start_at<F, E>(f: &mut F, x0: &[f64]) -> Result<(f64, Vec<f64>), OptimError>
where
    F: FnMut(&[f64]) -> Result<(f64, Vec<f64>), E>,
    E: fmt::Display,
{
    evaluate(f, x0).map_err(|e| OptimError(format!("at the starting point: {e}")))
}

/// The stopping rule shared by the solvers, checked before every step: the verdict, or `None`
/// to go on. A small gradient before any step is a flat start, not a convergence.
fn stop(
    iter: u64,
    grad_norm: f64,
    grad0: f64,
    gtol: f64,
    max_iters: u64,
    history: &[Progress],
) -> Option<Verdict> {
    if grad_norm <= gtol {
        Some(if iter == 0 {
            Verdict::FlatStart
        } else {
            Verdict::Converged
        })
    } else if stationary(history, grad_norm, grad0) {
        Some(Verdict::Stationary)
    } else if iter >= max_iters {
        Some(Verdict::MaxIters)
    } else {
        None
    }
}

/// The stationarity test shared by the solvers: loss flat to 1e-12 relative over the last 5
/// iterations and the gradient down by 1e6 from its start.
fn stationary(history: &[Progress], grad_norm: f64, grad0: f64) -> bool {
    if history.len() < 6 {
        return false;
    }
    let last = &history[history.len() - 5..];
    let (lo, hi) = last.iter().fold((f64::MAX, f64::MIN), |(a, b), p| {
        (a.min(p.loss), b.max(p.loss))
    });
    hi - lo <= 1e-12 * hi.abs() && grad_norm <= 1e-6 * grad0
}
