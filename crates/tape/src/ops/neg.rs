//! Negation `−a`. VJP: `ā = −ḡ`.
use crate::{Cotangent, Op, Scalar, TapeError, Var};
#[allow(unused_imports)]
use faer::{Mat, MatRef, unzip, zip};

/// Negation `−a`. VJP: `ā = −ḡ`.
pub struct Neg;

impl<T: Scalar> Op<T> for Neg {
    type Residual = ();
    crate::linear_rules!(T);
    fn name(&self) -> &'static str {
        "neg"
    }
    fn forward(&self, x: &[MatRef<'_, T>]) -> Result<(Mat<T>, ()), TapeError> {
        Ok((-x[0], ()))
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
        Ok(vec![needs[0].then(|| -g)])
    }
    /// Keeps a factored cotangent factored.
    fn vjp_factored(
        &self,
        _: &(),
        _: &[MatRef<'_, T>],
        _: MatRef<'_, T>,
        g: &Cotangent<T>,
        needs: &[bool],
    ) -> Result<Vec<Option<Cotangent<T>>>, TapeError> {
        Ok(vec![needs[0].then(|| g.clone().scaled(-T::one_impl()))])
    }
}

impl<'t, T: Scalar> Var<'t, T> {
    /// Negation `−a`. VJP: `ā = −ḡ`.
    // Named like the std::ops method on purpose (API contract); the operator traits are
    // implemented too (var.rs) and call this.
    #[allow(clippy::should_implement_trait)]
    #[track_caller]
    pub fn neg(self) -> Var<'t, T> {
        self.apply(Neg, &[])
    }

    /// Fallible [`Var::neg`]: never fails on a recorded `Var` (for uniformity).
    pub fn try_neg(self) -> Result<Var<'t, T>, TapeError> {
        self.try_apply(Neg, &[])
    }
}
