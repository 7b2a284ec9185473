//! Multiplication by a constant scalar `α·a`. VJP: `ā = conj(α) ḡ`.
use crate::{Cotangent, Op, Scalar, ScaleFactor, TapeError, Var};
use faer::{Mat, MatRef};

/// Multiplication by a constant scalar, `α·a`. VJP: `ā = α ḡ`.
pub struct Scale<T>(pub T);

impl<T: Scalar> Op<T> for Scale<T> {
    type Residual = ();
    crate::linear_rules!(T);
    fn name(&self) -> &'static str {
        "scale"
    }
    fn forward(&self, x: &[MatRef<'_, T>]) -> Result<(Mat<T>, ()), TapeError> {
        if !self.0.is_finite_value() {
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
        Ok(vec![needs[0].then(|| g * faer::Scale(self.0.conjugate()))])
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
        Ok(vec![needs[0].then(|| g.clone().scaled(self.0.conjugate()))])
    }
}

impl<'t, T: Scalar> Var<'t, T> {
    /// `alpha · self` for a constant number `alpha`, or for a 1×1 variable `alpha` (then
    /// differentiated too: `ᾱ = ⟨ḡ, self⟩`). Panics if `alpha` is not finite or not 1×1.
    ///
    /// ```
    /// let tape = expgrad_tape::Tape::new();
    /// let x = tape.var(faer::mat![[1.0, -2.0f64]]);
    /// let t = tape.scalar_var(3.0);
    /// let g = x.scale(t).scale(0.5).sum().backward();
    /// assert_eq!((g.wrt(t)[(0, 0)], g.wrt(x)[(0, 1)]), (-0.5, 1.5));
    /// ```
    #[track_caller]
    pub fn scale(self, alpha: impl ScaleFactor<'t, T>) -> Var<'t, T> {
        crate::error::unwrap_or_panic(alpha.try_scale(self))
    }

    /// Fallible [`Var::scale`]: `Domain` for a non-finite constant, `ShapeMismatch` for a
    /// factor that is not 1×1, `NonFinite` for an overflowing result.
    pub fn try_scale(self, alpha: impl ScaleFactor<'t, T>) -> Result<Var<'t, T>, TapeError> {
        alpha.try_scale(self)
    }
}
