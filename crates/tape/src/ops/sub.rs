//! Elementwise difference `a − b`. VJP: `ā = ḡ`, `b̄ = −ḡ`.
use super::same_shape;
use crate::{Cotangent, IntoVar, Op, Scalar, TapeError, Var};
use faer::{Mat, MatRef};

/// Elementwise difference `a − b`. VJP: `ā = ḡ`, `b̄ = −ḡ`.
pub struct Sub;

impl<T: Scalar> Op<T> for Sub {
    type Residual = ();
    crate::linear_rules!(T);
    fn name(&self) -> &'static str {
        "sub"
    }
    fn forward(&self, x: &[MatRef<'_, T>]) -> Result<(Mat<T>, ()), TapeError> {
        same_shape("sub", x[0], x[1])?;
        Ok((x[0] - x[1], ()))
    }
    #[allow(unused_variables)]
    fn vjp(
        &self,
        _: &(),
        x: &[MatRef<'_, T>],
        out: MatRef<'_, T>,
        g: MatRef<'_, T>,
        needs: &[bool],
    ) -> Result<Vec<Option<Mat<T>>>, TapeError> {
        Ok(vec![needs[0].then(|| g.to_owned()), needs[1].then(|| -g)])
    }
    /// Passes a factored cotangent through (negated for the right side).
    fn vjp_factored(
        &self,
        _: &(),
        _: &[MatRef<'_, T>],
        _: MatRef<'_, T>,
        g: &Cotangent<T>,
        needs: &[bool],
    ) -> Result<Vec<Option<Cotangent<T>>>, TapeError> {
        Ok(vec![
            needs[0].then(|| g.clone()),
            needs[1].then(|| g.clone().scaled(-T::one_impl())),
        ])
    }
}

impl<'t, T: Scalar> Var<'t, T> {
    /// Elementwise difference `a − b`. VJP: `ā = ḡ`, `b̄ = −ḡ`. Panics naming both shapes if they differ.
    // Named like the std::ops method on purpose (API contract); the operator traits are
    // implemented too (var.rs) and call this.
    #[allow(clippy::should_implement_trait)]
    #[track_caller]
    pub fn sub(self, other: impl IntoVar<'t, T>) -> Var<'t, T> {
        self.apply(Sub, &[other.into_var(self.tape)])
    }
    /// Fallible [`Var::sub`].
    pub fn try_sub(self, other: impl IntoVar<'t, T>) -> Result<Var<'t, T>, TapeError> {
        self.try_apply(Sub, &[other.into_var(self.tape)])
    }
}
