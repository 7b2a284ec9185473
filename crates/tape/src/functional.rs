//! Functional transforms over a closure that builds a graph on a fresh tape, as JAX's
//! `value_and_grad`.
//!
//! Tests: `crates/tape/tests/ergonomics.rs`.

use crate::{Scalar, Tape, TapeError, Var};
use faer::Mat;

/// `(f(x), ∇f(x))` for a scalar-valued `f` (its output must be 1×1), on a fresh tape:
/// JAX's `value_and_grad(f)(x)`. Panics with the error's message on bad shapes or values;
/// see [`try_value_and_grad`].
///
/// ```
/// use expgrad_tape::value_and_grad;
/// let x = faer::mat![[0.0, 1.0], [-1.0, 0.0f64]];
/// let (v, g) = value_and_grad(|x| x.expm().trace(), &x);     // tr e^X, ∇ = (e^X)ᵀ
/// assert!((v - 2.0 * 1f64.cos()).abs() < 1e-15);
/// assert!((g[(0, 1)] - (-1f64.sin())).abs() < 1e-15);
/// ```
#[track_caller]
pub fn value_and_grad<T, F>(f: F, x: &Mat<T>) -> (T, Mat<T>)
where
    T: Scalar,
    F: for<'t> Fn(Var<'t, T>) -> Var<'t, T>,
{
    crate::error::unwrap_or_panic(try_value_and_grad(|x| Ok(f(x)), x))
}

/// Fallible [`value_and_grad`], for a closure that uses `try_` forms and `?`.
pub fn try_value_and_grad<T, F>(f: F, x: &Mat<T>) -> Result<(T, Mat<T>), TapeError>
where
    T: Scalar,
    F: for<'t> Fn(Var<'t, T>) -> Result<Var<'t, T>, TapeError>,
{
    let tape = Tape::new();
    let xv = tape.try_var(x.clone())?;
    let out = f(xv)?;
    let g = out.try_backward()?;
    Ok((out.value()[(0, 0)], g.wrt(xv)))
}
