//! Elementwise `exp(a)` (not the matrix exponential: see `expm`). VJP: `ā = ḡ ∘ conj(out)`
//! (`conj` is the identity for real scalars; complex VJPs are adjoints under `Re tr(Aᴴ B)`).
use crate::{Op, Scalar, TapeError, Var};
#[allow(unused_imports)]
use faer::{Mat, MatRef, unzip, zip};

/// Elementwise `exp(a)` (not the matrix exponential: see `expm`). VJP: `ā = ḡ ∘ out`.
pub struct Exp;

impl<T: Scalar> Op<T> for Exp {
    type Residual = ();
    /// `ẏ = y ∘ ẋ`.
    fn jvp(
        &self,
        _: &(),
        x: &[MatRef<'_, T>],
        y: MatRef<'_, T>,
        t: &[Option<MatRef<'_, T>>],
    ) -> Result<Mat<T>, TapeError> {
        let _ = x;
        Ok(faer::zip!(y, t[0].expect("a tangent")).map(|faer::unzip!(y, t)| *y * *t))
    }
    /// `x̄ = ḡ ∘ conj(y)`, `ẋ̄ = ġ ∘ conj(y) + ḡ ∘ conj(ẏ)`.
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
        let y = at.output;
        let bar = faer::zip!(g, y).map(|faer::unzip!(g, y)| *g * y.conjugate());
        let dot = super::sum_terms([
            gd.map(|gd| faer::zip!(gd, y).map(|faer::unzip!(g, y)| *g * y.conjugate())),
            at.output_tangent
                .map(|yd| faer::zip!(g, yd).map(|faer::unzip!(g, y)| *g * y.conjugate())),
        ]);
        Ok(vec![Some((bar, dot))])
    }
    fn name(&self) -> &'static str {
        "exp"
    }
    fn forward(&self, x: &[MatRef<'_, T>]) -> Result<(Mat<T>, ()), TapeError> {
        Ok((x[0].map(|v| v.exponential()), ()))
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
        Ok(vec![needs[0].then(|| {
            zip!(g, out).map(|unzip!(g, o)| *g * o.conjugate())
        })])
    }
}

impl<'t, T: Scalar> Var<'t, T> {
    /// Elementwise `exp(a)` (not the matrix exponential: see `expm`). VJP: `ā = ḡ ∘ out`.
    #[track_caller]
    pub fn exp(self) -> Var<'t, T> {
        self.apply(Exp, &[])
    }

    /// Fallible [`Var::exp`]: `NonFinite` when an entry overflows.
    pub fn try_exp(self) -> Result<Var<'t, T>, TapeError> {
        self.try_apply(Exp, &[])
    }
}
