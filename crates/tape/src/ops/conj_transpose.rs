//! Conjugate transpose `aᴴ` (the transpose for real scalars). VJP: `ā = ḡᴴ`.
//!
//! Tests: `crates/tape/tests/complex.rs`.
use crate::{Op, Scalar, TapeError, Var};
use faer::{Mat, MatRef};

/// Conjugate transpose `aᴴ` (the transpose for real scalars). VJP: `ā = ḡᴴ`.
pub struct ConjTranspose;

impl<T: Scalar> Op<T> for ConjTranspose {
    type Residual = ();
    crate::linear_rules!(T);
    fn name(&self) -> &'static str {
        "conj_transpose"
    }
    fn forward(&self, x: &[MatRef<'_, T>]) -> Result<(Mat<T>, ()), TapeError> {
        Ok((x[0].adjoint().to_owned(), ()))
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
        Ok(vec![needs[0].then(|| g.adjoint().to_owned())])
    }
}

impl<'t, T: Scalar> Var<'t, T> {
    /// Conjugate transpose `aᴴ` (the transpose for real scalars). VJP: `ā = ḡᴴ`.
    #[track_caller]
    pub fn conj_transpose(self) -> Var<'t, T> {
        self.apply(ConjTranspose, &[])
    }

    /// Fallible [`Var::conj_transpose`]: never fails on a recorded `Var` (for uniformity).
    pub fn try_conj_transpose(self) -> Result<Var<'t, T>, TapeError> {
        self.try_apply(ConjTranspose, &[])
    }
}
