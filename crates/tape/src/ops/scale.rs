//! Multiplication by a constant scalar `α·a`. VJP: `ā = α ḡ`.
use crate::{Op, Scalar, TapeError, Var};
use faer::{Mat, MatRef};

/// Multiplication by a constant scalar, `α·a`. VJP: `ā = α ḡ`.
pub struct Scale<T>(pub T);

impl<T: Scalar> Op<T> for Scale<T> {
    type Residual = ();
    fn name(&self) -> &'static str {
        "scale"
    }
    fn forward(&self, x: &[MatRef<'_, T>]) -> Result<(Mat<T>, ()), TapeError> {
        if !self.0.is_finite() {
            return Err(TapeError::Domain {
                op: "scale",
                what: "the factor is NaN or infinite",
            });
        }
        Ok((x[0] * faer::Scale(self.0), ()))
    }
    fn vjp(
        &self,
        _: &(),
        _: &[MatRef<'_, T>],
        _: MatRef<'_, T>,
        g: MatRef<'_, T>,
        needs: &[bool],
    ) -> Result<Vec<Option<Mat<T>>>, TapeError> {
        Ok(vec![needs[0].then(|| g * faer::Scale(self.0))])
    }
}

impl<'t, T: Scalar> Var<'t, T> {
    /// `alpha · self` for a constant `alpha` (panics if `alpha` is not finite).
    #[track_caller]
    pub fn scale(self, alpha: T) -> Var<'t, T> {
        self.apply(Scale(alpha), &[])
    }

    /// Fallible [`Var::scale`]: `NonFinite` for a non-finite `alpha` or an overflowing result.
    pub fn try_scale(self, alpha: T) -> Result<Var<'t, T>, TapeError> {
        self.try_apply(Scale(alpha), &[])
    }
}
