//! Complex conjugate `conj(a)`, entrywise (the identity for real scalars). VJP: `ā = conj(ḡ)`.
//!
//! Tests: `crates/tape/tests/complex.rs`.
use crate::{Op, Scalar, TapeError, Var};
use faer::{Mat, MatRef};

/// Complex conjugate `conj(a)`, entrywise (the identity for real scalars). VJP: `ā = conj(ḡ)`.
pub struct Conj;

impl<T: Scalar> Op<T> for Conj {
    type Residual = ();
    crate::linear_rules!(T);
    fn name(&self) -> &'static str {
        "conj"
    }
    fn forward(&self, x: &[MatRef<'_, T>]) -> Result<(Mat<T>, ()), TapeError> {
        Ok((x[0].map(|v| v.conjugate()), ()))
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
        Ok(vec![needs[0].then(|| g.map(|v| v.conjugate()))])
    }
}

impl<'t, T: Scalar> Var<'t, T> {
    /// Complex conjugate `conj(a)`, entrywise (the identity for real scalars). VJP: `ā = conj(ḡ)`.
    #[track_caller]
    pub fn conj(self) -> Var<'t, T> {
        self.apply(Conj, &[])
    }

    /// Fallible [`Var::conj`]: never fails on a recorded `Var` (for uniformity).
    pub fn try_conj(self) -> Result<Var<'t, T>, TapeError> {
        self.try_apply(Conj, &[])
    }
}
