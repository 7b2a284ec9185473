//! Elementwise sum `a + b`. VJP: `ā = ḡ`, `b̄ = ḡ`.
use super::same_shape;
use crate::{Op, Scalar, TapeError, Var};
use faer::{Mat, MatRef};

/// Elementwise sum `a + b`. VJP: `ā = ḡ`, `b̄ = ḡ`.
pub struct Add;

impl<T: Scalar> Op<T> for Add {
    type Residual = ();
    fn name(&self) -> &'static str {
        "add"
    }
    fn forward(&self, x: &[MatRef<'_, T>]) -> Result<(Mat<T>, ()), TapeError> {
        same_shape("add", x[0], x[1])?;
        Ok((x[0] + x[1], ()))
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
        Ok(vec![
            needs[0].then(|| g.to_owned()),
            needs[1].then(|| g.to_owned()),
        ])
    }
}

impl<'t, T: Scalar> Var<'t, T> {
    /// Elementwise sum `a + b`. VJP: `ā = ḡ`, `b̄ = ḡ`. Panics naming both shapes if they differ.
    // Named like the std::ops method on purpose (API contract); the operator traits are
    // implemented too (var.rs) and call this.
    #[allow(clippy::should_implement_trait)]
    #[track_caller]
    pub fn add(self, other: Var<'t, T>) -> Var<'t, T> {
        self.apply(Add, &[other])
    }
    /// Fallible [`Var::add`].
    pub fn try_add(self, other: Var<'t, T>) -> Result<Var<'t, T>, TapeError> {
        self.try_apply(Add, &[other])
    }
}
