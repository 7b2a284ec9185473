//! Elementwise quotient `a / b`. VJP: `ā = ḡ / conj(b)`, `b̄ = −ḡ ∘ conj(a / b²)`.
use super::same_shape;
use crate::{IntoVar, Op, Scalar, TapeError, Var};
use faer::{Mat, MatRef, unzip, zip};

/// Elementwise quotient `a / b` (a zero in `b` is a `Domain` error, never ∞/NaN).
/// VJP: `ā = ḡ / b`, `b̄ = −ḡ ∘ out / b` with `out = a / b`.
pub struct Div;

impl<T: Scalar> Op<T> for Div {
    type Residual = ();
    fn name(&self) -> &'static str {
        "div"
    }
    fn forward(&self, x: &[MatRef<'_, T>]) -> Result<(Mat<T>, ()), TapeError> {
        same_shape("div", x[0], x[1])?;
        if x[1]
            .col_iter()
            .any(|c| c.iter().any(|v| *v == T::zero_impl()))
        {
            return Err(TapeError::Domain {
                op: "div",
                what: "division by a zero entry",
            });
        }
        Ok((zip!(x[0], x[1]).map(|unzip!(a, b)| *a / *b), ()))
    }
    fn vjp(
        &self,
        _: &(),
        x: &[MatRef<'_, T>],
        out: MatRef<'_, T>,
        g: MatRef<'_, T>,
        needs: &[bool],
    ) -> Result<Vec<Option<Mat<T>>>, TapeError> {
        Ok(vec![
            needs[0].then(|| zip!(g, x[1]).map(|unzip!(g, b)| *g / b.conjugate())),
            needs[1]
                .then(|| zip!(g, out, x[1]).map(|unzip!(g, o, b)| -(*g * (*o / *b).conjugate()))),
        ])
    }
}

impl<'t, T: Scalar> Var<'t, T> {
    /// Elementwise quotient `self / other`. Panics naming both shapes if they differ, or on a
    /// zero divisor.
    // Named like the std::ops method on purpose (API contract); the operator traits are
    // implemented too (var.rs) and call this.
    #[allow(clippy::should_implement_trait)]
    #[track_caller]
    pub fn div(self, other: impl IntoVar<'t, T>) -> Var<'t, T> {
        self.apply(Div, &[other.into_var(self.tape)])
    }
    /// Fallible [`Var::div`].
    pub fn try_div(self, other: impl IntoVar<'t, T>) -> Result<Var<'t, T>, TapeError> {
        self.try_apply(Div, &[other.into_var(self.tape)])
    }
}
