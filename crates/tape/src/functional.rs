//! Functional transforms over a closure that builds a graph on a fresh tape, as JAX's
//! `value_and_grad`, `jvp`, `hvp` (forward over reverse) and `hessian`.
//!
//! Tests: `crates/tape/tests/{ergonomics,second_order}.rs`.

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

/// `(f(x), J·ẋ)`: forward mode through a closure over several inputs (JAX's
/// `jvp(f, primals, tangents)`), one tangent per input, on a fresh tape. Panics with the
/// error's message on bad shapes or values; see [`try_jvp`].
///
/// ```
/// use expgrad_tape::jvp;
/// let x = faer::mat![[0.0, 1.0], [-1.0, 0.0f64]];
/// // d/dε tr e^{X + εI} = tr e^X.
/// let (y, ydot) = jvp(|xs| xs[0].expm().trace(), &[x], &[faer::Mat::identity(2, 2)]);
/// assert!((ydot[(0, 0)] - y[(0, 0)]).abs() < 1e-15);
/// ```
#[track_caller]
pub fn jvp<T, F>(f: F, xs: &[Mat<T>], tangents: &[Mat<T>]) -> (Mat<T>, Mat<T>)
where
    T: Scalar,
    F: for<'t> Fn(&[Var<'t, T>]) -> Var<'t, T>,
{
    crate::error::unwrap_or_panic(try_jvp(|xs| Ok(f(xs)), xs, tangents))
}

/// Fallible [`jvp`], for a closure that uses `try_` forms and `?`.
pub fn try_jvp<T, F>(
    f: F,
    xs: &[Mat<T>],
    tangents: &[Mat<T>],
) -> Result<(Mat<T>, Mat<T>), TapeError>
where
    T: Scalar,
    F: for<'t> Fn(&[Var<'t, T>]) -> Result<Var<'t, T>, TapeError>,
{
    one_per_input("jvp", xs, tangents)?;
    let tape = Tape::new();
    let vars = vars_of(&tape, xs)?;
    let out = f(&vars)?;
    let seeds: Vec<_> = vars.iter().copied().zip(tangents.iter().cloned()).collect();
    let ydot = tape.try_jvp(out, &seeds)?;
    Ok((out.value(), ydot))
}

/// `∇²f(x)·u`, one matrix per input, for a scalar-valued `f` (1×1 output) of several inputs
/// and a direction `u` (one matrix per input): forward over reverse on a fresh tape, exact.
/// Panics with the error's message; see [`try_hvp`].
///
/// ```
/// use expgrad_tape::hvp;
/// let x = faer::mat![[1.0, 2.0f64]];
/// let y = faer::mat![[3.0, -1.0f64]];
/// // f = Σ x∘x∘y: ∇²f·(u, w) = (2y∘u + 2x∘w, 2x∘u)
/// let h = hvp(|v| v[0].square().mul(v[1]).sum(), &[x, y], &[faer::mat![[1.0, 0.0]], faer::mat![[0.0, 1.0]]]);
/// assert_eq!(h[0], faer::mat![[6.0, 4.0]]);
/// assert_eq!(h[1], faer::mat![[2.0, 0.0]]);
/// ```
#[track_caller]
pub fn hvp<T, F>(f: F, xs: &[Mat<T>], us: &[Mat<T>]) -> Vec<Mat<T>>
where
    T: Scalar,
    F: for<'t> Fn(&[Var<'t, T>]) -> Var<'t, T>,
{
    crate::error::unwrap_or_panic(try_hvp(|xs| Ok(f(xs)), xs, us))
}

/// Fallible [`hvp`].
pub fn try_hvp<T, F>(f: F, xs: &[Mat<T>], us: &[Mat<T>]) -> Result<Vec<Mat<T>>, TapeError>
where
    T: Scalar,
    F: for<'t> Fn(&[Var<'t, T>]) -> Result<Var<'t, T>, TapeError>,
{
    one_per_input("hvp", xs, us)?;
    let tape = Tape::new();
    let vars = vars_of(&tape, xs)?;
    let out = f(&vars)?;
    let dirs: Vec<_> = vars.iter().copied().zip(us.iter().cloned()).collect();
    let (_, h) = out.try_hvp(&dirs)?;
    Ok(vars.iter().map(|v| h.wrt(*v)).collect())
}

/// The Hessian of a scalar-valued `f` of one input `x` (k×l): the kl×kl matrix
/// `∂²f / ∂vec(x) ∂vec(x)ᵀ`, column-major `vec`, from kl Hessian-vector products on one
/// recorded forward pass ([`Var::hessian`]). The closure receives a one-element slice.
/// Panics with the error's message; see [`try_hessian`].
///
/// ```
/// use expgrad_tape::hessian;
/// let x = faer::mat![[0.5], [-0.25f64]];
/// // f = ½ xᵀ diag(2, 4) x
/// let h = hessian(|v| v[0].square().mul(faer::mat![[1.0], [2.0]]).sum(), &x);
/// assert_eq!(h, faer::mat![[2.0, 0.0], [0.0, 4.0]]);
/// ```
#[track_caller]
pub fn hessian<T, F>(f: F, x: &Mat<T>) -> Mat<T>
where
    T: Scalar,
    F: for<'t> Fn(&[Var<'t, T>]) -> Var<'t, T>,
{
    crate::error::unwrap_or_panic(try_hessian(|xs| Ok(f(xs)), x))
}

/// Fallible [`hessian`].
pub fn try_hessian<T, F>(f: F, x: &Mat<T>) -> Result<Mat<T>, TapeError>
where
    T: Scalar,
    F: for<'t> Fn(&[Var<'t, T>]) -> Result<Var<'t, T>, TapeError>,
{
    let tape = Tape::new();
    let xv = tape.try_var(x.clone())?;
    let out = f(&[xv])?;
    out.try_hessian(xv)
}

/// `Domain` unless there is one direction per input, `ShapeMismatch` unless shapes agree.
fn one_per_input<T>(op: &'static str, xs: &[Mat<T>], dirs: &[Mat<T>]) -> Result<(), TapeError> {
    if xs.len() != dirs.len() {
        return Err(TapeError::Domain {
            op,
            what: "expected one direction (tangent) per input",
        });
    }
    for (x, d) in xs.iter().zip(dirs) {
        if x.shape() != d.shape() {
            return Err(TapeError::ShapeMismatch {
                op,
                lhs: x.shape(),
                rhs: d.shape(),
            });
        }
    }
    Ok(())
}

fn vars_of<'t, T: Scalar>(tape: &'t Tape<T>, xs: &[Mat<T>]) -> Result<Vec<Var<'t, T>>, TapeError> {
    xs.iter().map(|x| tape.try_var(x.clone())).collect()
}
