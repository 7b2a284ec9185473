//! [`minimize`]: fit a matrix of parameters to a model written on the tape.

use super::{LbfgsOptions, OptimError, OptimResult, lbfgs};
use crate::tape::{TapeError, Var, try_value_and_grad};
use faer::Mat;

/// Minimises the scalar model `f` over a parameter matrix of `x0`'s shape by [`lbfgs`], each
/// evaluation on a fresh tape (JAX's `minimize(fun, x0)` with the gradient from `grad`).
/// Returns the fitted matrix and the run's report (verdict, history). A model that fails at a
/// trial point (an overflowing `exp`, through a `try_` form) shortens the step. Pass the
/// closure inline (a closure stored in a `let` first does not get the `for<'t>` signature).
///
/// ```
/// use expgrad::optim::{minimize, LbfgsOptions};
/// use expgrad::prelude::*;
/// // The 2×2 M with exp(M)·x₀ = y and M small: ‖exp(M)x₀ − y‖² + 0.01‖M‖².
/// let (x0, y) = (faer::mat![[1.0], [0.0f64]], faer::mat![[0.5], [0.5f64]]);
/// let fit = minimize(
///     |m| {
///         let r = m.try_expm_mul(&x0)?.try_sub(&y)?;
///         r.try_dot(r)?.try_add(m.try_dot(m)?.try_scale(0.01)?)
///     },
///     Mat::zeros(2, 2),
///     &LbfgsOptions::default(),
/// );
/// let (m, report) = fit.unwrap();
/// assert!(report.converged(), "{}", report.reason());
/// assert_eq!(m.shape(), (2, 2));
/// ```
pub fn minimize<F>(
    f: F,
    x0: Mat<f64>,
    opts: &LbfgsOptions,
) -> Result<(Mat<f64>, OptimResult), OptimError>
where
    F: for<'t> Fn(Var<'t>) -> Result<Var<'t>, TapeError>,
{
    let (r, c) = x0.shape();
    let unflatten = |v: &[f64]| Mat::from_fn(r, c, |i, j| v[i + j * r]);
    let flatten = |m: &Mat<f64>| -> Vec<f64> {
        (0..c)
            .flat_map(|j| (0..r).map(move |i| (i, j)))
            .map(|ij| m[ij])
            .collect()
    };
    let objective = |v: &[f64]| -> Result<(f64, Vec<f64>), TapeError> {
        let (l, g) = try_value_and_grad(&f, &unflatten(v))?;
        Ok((l, flatten(&g)))
    };
    let result = lbfgs(objective, flatten(&x0), opts, |_| {})?;
    Ok((unflatten(&result.x), result))
}
