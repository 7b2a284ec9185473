//! Elementwise natural logarithm. VJP: `ā = ḡ / a`.
use crate::{Op, Real, TapeError, Var};
use faer::{Mat, MatRef, unzip, zip};

/// Elementwise natural logarithm of a positive matrix (a non-positive entry is a `Domain`
/// error, never NaN). VJP: `ā = ḡ / a`.
pub struct Log;

impl<T: Real> Op<T> for Log {
    type Residual = ();
    /// `ẏ = ẋ / x`.
    fn jvp(
        &self,
        _: &(),
        x: &[MatRef<'_, T>],
        y: MatRef<'_, T>,
        t: &[Option<MatRef<'_, T>>],
    ) -> Result<Mat<T>, TapeError> {
        let _ = y;
        Ok(faer::zip!(x[0], t[0].expect("a tangent")).map(|faer::unzip!(x, t)| *t / *x))
    }
    /// `x̄ = ḡ / x`, `ẋ̄ = ġ / x − ḡ ∘ ẋ / x²`.
    fn vjp_jvp(
        &self,
        _: &(),
        at: &crate::Tangents<'_, T>,
        g: MatRef<'_, T>,
        gd: Option<MatRef<'_, T>>,
        needs: &[bool],
    ) -> Result<Vec<Option<crate::DualCotangent<T>>>, TapeError> {
        if !needs[0] {
            return Ok(vec![None]);
        }
        let x = at.inputs[0];
        let bar = faer::zip!(g, x).map(|faer::unzip!(g, x)| *g / *x);
        let dot = super::sum_terms([
            gd.map(|gd| faer::zip!(gd, x).map(|faer::unzip!(g, x)| *g / *x)),
            at.tangent(0)
                .map(|xd| faer::zip!(g, xd, x).map(|faer::unzip!(g, t, x)| -(*g * *t / (*x * *x)))),
        ]);
        Ok(vec![Some((bar, dot))])
    }
    fn name(&self) -> &'static str {
        "log"
    }
    fn forward(&self, x: &[MatRef<'_, T>]) -> Result<(Mat<T>, ()), TapeError> {
        if !x[0]
            .col_iter()
            .all(|c| c.iter().all(|v| *v > T::zero_impl()))
        {
            return Err(TapeError::Domain {
                op: "log",
                what: "entries must be positive",
            });
        }
        Ok((x[0].map(|v| v.ln()), ()))
    }
    fn vjp(
        &self,
        _: &(),
        x: &[MatRef<'_, T>],
        _: MatRef<'_, T>,
        g: MatRef<'_, T>,
        needs: &[bool],
    ) -> Result<Vec<Option<Mat<T>>>, TapeError> {
        Ok(vec![
            needs[0].then(|| zip!(g, x[0]).map(|unzip!(g, a)| *g / *a)),
        ])
    }
}

impl<'t, T: Real> Var<'t, T> {
    /// Elementwise natural logarithm. Panics if an entry is not positive.
    #[track_caller]
    pub fn log(self) -> Var<'t, T> {
        self.apply(Log, &[])
    }
    /// Fallible [`Var::log`].
    pub fn try_log(self) -> Result<Var<'t, T>, TapeError> {
        self.try_apply(Log, &[])
    }
}
