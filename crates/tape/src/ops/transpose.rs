//! Transpose `aᵀ`. VJP: `ā = ḡᵀ`.
use crate::{Cotangent, Op, Scalar, TapeError, Var};
#[allow(unused_imports)]
use faer::{Mat, MatRef, unzip, zip};

/// Transpose `aᵀ`. VJP: `ā = ḡᵀ`.
pub struct Transpose;

impl<T: Scalar> Op<T> for Transpose {
    type Residual = ();
    crate::linear_rules!(T);
    fn name(&self) -> &'static str {
        "transpose"
    }
    fn forward(&self, x: &[MatRef<'_, T>]) -> Result<(Mat<T>, ()), TapeError> {
        Ok((x[0].transpose().to_owned(), ()))
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
        Ok(vec![needs[0].then(|| g.transpose().to_owned())])
    }
    /// A factored `ḡ = U·Vᵀ` gives `ā = V·Uᵀ`, still factored.
    fn vjp_factored(
        &self,
        _: &(),
        _: &[MatRef<'_, T>],
        _: MatRef<'_, T>,
        g: &Cotangent<T>,
        needs: &[bool],
    ) -> Result<Vec<Option<Cotangent<T>>>, TapeError> {
        Ok(vec![needs[0].then(|| g.clone().transposed())])
    }
}

impl<'t, T: Scalar> Var<'t, T> {
    /// Transpose `aᵀ`. VJP: `ā = ḡᵀ`.
    #[track_caller]
    pub fn transpose(self) -> Var<'t, T> {
        self.apply(Transpose, &[])
    }

    /// Fallible [`Var::transpose`]: never fails on a recorded `Var` (for uniformity).
    pub fn try_transpose(self) -> Result<Var<'t, T>, TapeError> {
        self.try_apply(Transpose, &[])
    }
}
