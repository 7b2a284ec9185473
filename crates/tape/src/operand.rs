//! Plain operands: what the binary ops accept besides a [`Var`], so that data need not be
//! wrapped by hand (`x.matmul(&m)`, `x.scale(t)` with `t` a number or a `Var`).
//!
//! Tests: `crates/tape/tests/ergonomics.rs`.

use crate::{Scalar, Tape, TapeError, Var};
use faer::{Mat, MatRef};

/// Anything an op can take as an operand: a [`Var`] of the same tape, or plain data — a
/// `Mat`, `&Mat`, `MatRef` (recorded as a constant), or an `f64`/`f32` (a 1×1 constant).
///
/// ```
/// use expgrad_tape::Tape;
/// let tape = Tape::new();
/// let x = tape.var(faer::mat![[0.5, 0.0], [0.0, -1.0f64]]);
/// let m = faer::mat![[1.0, 2.0], [3.0, 4.0f64]];
/// let y = x.matmul(&m).add(&m).sum();      // constants recorded on the fly
/// let g = y.backward().wrt(x);
/// assert_eq!(g[(0, 0)], 3.0);              // Σ_j m[0, j]
/// ```
pub trait IntoVar<'t, T> {
    /// This operand as a variable of `tape`.
    fn into_var(self, tape: &'t Tape<T>) -> Var<'t, T>;
}

impl<'t, T: Scalar> IntoVar<'t, T> for Var<'t, T> {
    fn into_var(self, _: &'t Tape<T>) -> Var<'t, T> {
        self
    }
}

impl<'t, T: Scalar> IntoVar<'t, T> for Mat<T> {
    fn into_var(self, tape: &'t Tape<T>) -> Var<'t, T> {
        tape.constant(self)
    }
}

impl<'t, T: Scalar> IntoVar<'t, T> for &Mat<T> {
    fn into_var(self, tape: &'t Tape<T>) -> Var<'t, T> {
        tape.constant(self.clone())
    }
}

impl<'t, T: Scalar> IntoVar<'t, T> for MatRef<'_, T> {
    fn into_var(self, tape: &'t Tape<T>) -> Var<'t, T> {
        tape.constant(self.to_owned())
    }
}

impl<'t> IntoVar<'t, f64> for f64 {
    fn into_var(self, tape: &'t Tape<f64>) -> Var<'t, f64> {
        tape.scalar(self)
    }
}

impl<'t> IntoVar<'t, f32> for f32 {
    fn into_var(self, tape: &'t Tape<f32>) -> Var<'t, f32> {
        tape.scalar(self)
    }
}

/// A factor for [`Var::scale`]: a constant number, or a 1×1 [`Var`] (then the factor is
/// differentiated too).
pub trait ScaleFactor<'t, T> {
    /// `self · x`.
    fn try_scale(self, x: Var<'t, T>) -> Result<Var<'t, T>, TapeError>;
}

impl<'t, T: Scalar> ScaleFactor<'t, T> for T {
    fn try_scale(self, x: Var<'t, T>) -> Result<Var<'t, T>, TapeError> {
        x.try_apply(crate::ops::Scale(self), &[])
    }
}

impl<'t, T: Scalar> ScaleFactor<'t, T> for Var<'t, T> {
    fn try_scale(self, x: Var<'t, T>) -> Result<Var<'t, T>, TapeError> {
        x.try_apply(crate::ops::ScaleBy, &[self])
    }
}
