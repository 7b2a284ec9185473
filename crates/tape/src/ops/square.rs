//! Elementwise square `a ∘ a`. VJP: `ā = 2 ḡ ∘ conj(a)`.
use crate::{Op, Scalar, TapeError, Var};
#[allow(unused_imports)]
use faer::{Mat, MatRef, unzip, zip};

/// Elementwise square `a ∘ a`. VJP: `ā = 2 ḡ ∘ a`.
pub struct Square;

impl<T: Scalar> Op<T> for Square {
    type Residual = ();
    /// `ẏ = 2x ∘ ẋ`.
    fn jvp(
        &self,
        _: &(),
        x: &[MatRef<'_, T>],
        y: MatRef<'_, T>,
        t: &[Option<MatRef<'_, T>>],
    ) -> Result<Mat<T>, TapeError> {
        let _ = y;
        Ok(faer::zip!(x[0], t[0].expect("a tangent")).map(|faer::unzip!(x, t)| (*x + *x) * *t))
    }
    /// `x̄ = 2ḡ ∘ conj(x)`, `ẋ̄ = 2ġ ∘ conj(x) + 2ḡ ∘ conj(ẋ)`.
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
        let twice = |g: MatRef<'_, T>, x: MatRef<'_, T>| {
            faer::zip!(g, x).map(|faer::unzip!(g, x)| (*g + *g) * x.conjugate())
        };
        let bar = twice(g, x);
        let dot = super::sum_terms([
            gd.map(|gd| twice(gd, x)),
            at.tangent(0).map(|xd| twice(g, xd)),
        ]);
        Ok(vec![Some((bar, dot))])
    }
    fn name(&self) -> &'static str {
        "square"
    }
    fn forward(&self, x: &[MatRef<'_, T>]) -> Result<(Mat<T>, ()), TapeError> {
        Ok((x[0].map(|v| *v * *v), ()))
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
            zip!(g, x[0]).map(|unzip!(g, a)| (*g + *g) * a.conjugate())
        })])
    }
}

impl<'t, T: Scalar> Var<'t, T> {
    /// Elementwise square `a ∘ a`. VJP: `ā = 2 ḡ ∘ a`.
    #[track_caller]
    pub fn square(self) -> Var<'t, T> {
        self.apply(Square, &[])
    }

    /// Fallible [`Var::square`]: `NonFinite` when an entry overflows.
    pub fn try_square(self) -> Result<Var<'t, T>, TapeError> {
        self.try_apply(Square, &[])
    }
}
