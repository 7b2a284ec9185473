//! Elementwise quotient `a / b`. VJP: `ā = ḡ / conj(b)`, `b̄ = −ḡ ∘ conj(a / b²)`.
use super::same_shape;
use crate::{IntoVar, Op, Scalar, TapeError, Var};
use faer::{Mat, MatRef, unzip, zip};

/// Elementwise quotient `a / b` (a zero in `b` is a `Domain` error, never ∞/NaN).
/// VJP: `ā = ḡ / b`, `b̄ = −ḡ ∘ out / b` with `out = a / b`.
pub struct Div;

impl<T: Scalar> Op<T> for Div {
    type Residual = ();
    /// `ẏ = (ȧ − y ∘ ḃ) / b`.
    fn jvp(
        &self,
        _: &(),
        x: &[MatRef<'_, T>],
        y: MatRef<'_, T>,
        t: &[Option<MatRef<'_, T>>],
    ) -> Result<Mat<T>, TapeError> {
        let b = x[1];
        let mut out = match t[0] {
            Some(ad) => ad.to_owned(),
            None => Mat::zeros(b.nrows(), b.ncols()),
        };
        if let Some(bd) = t[1] {
            faer::zip!(&mut out, y, bd).for_each(|faer::unzip!(o, y, bd)| *o -= *y * *bd);
        }
        faer::zip!(&mut out, b).for_each(|faer::unzip!(o, b)| *o /= *b);
        Ok(out)
    }
    /// `ā = ḡ / conj(b)`, `b̄ = −ḡ ∘ conj(y / b)`; their tangents by the product rule, with
    /// `(1/b)˙ = −ḃ / b²` and `(y/b)˙ = ẏ / b − y ∘ ḃ / b²`.
    fn vjp_jvp(
        &self,
        _: &(),
        at: &crate::Tangents<'_, T>,
        g: MatRef<'_, T>,
        gd: Option<MatRef<'_, T>>,
        needs: &[bool],
    ) -> Result<Vec<Option<crate::DualCotangent<T>>>, TapeError> {
        let (b, y) = (at.inputs[1], at.output);
        let bd = at.tangent(1);
        let a_bar =
            |g: MatRef<'_, T>| faer::zip!(g, b).map(|faer::unzip!(g, b)| *g / b.conjugate());
        let b_bar = |g: MatRef<'_, T>| {
            faer::zip!(g, y, b).map(|faer::unzip!(g, y, b)| -(*g * (*y / *b).conjugate()))
        };
        let first = needs[0].then(|| {
            let dot = super::sum_terms([
                gd.map(a_bar),
                bd.map(|bd| {
                    faer::zip!(g, bd, b)
                        .map(|faer::unzip!(g, bd, b)| -(*g * (*bd / (*b * *b)).conjugate()))
                }),
            ]);
            (a_bar(g), dot)
        });
        let second = needs[1].then(|| {
            // (y/b)˙ = ẏ/b − y ḃ/b²
            let q_dot = at.output_tangent.map(|yd| {
                let mut q = faer::zip!(yd, b).map(|faer::unzip!(yd, b)| *yd / *b);
                if let Some(bd) = bd {
                    faer::zip!(&mut q, y, bd, b)
                        .for_each(|faer::unzip!(q, y, bd, b)| *q -= *y * *bd / (*b * *b));
                }
                q
            });
            let dot = super::sum_terms([
                gd.map(b_bar),
                q_dot.map(|q| faer::zip!(g, &q).map(|faer::unzip!(g, q)| -(*g * q.conjugate()))),
            ]);
            (b_bar(g), dot)
        });
        Ok(vec![first, second])
    }
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
