//! Elementwise square `a ∘ a`. VJP: `ā = 2 ḡ ∘ conj(a)`.
use crate::{Op, Scalar, TapeError, Var};
#[allow(unused_imports)]
use faer::{Mat, MatRef, unzip, zip};

/// Elementwise square `a ∘ a`. VJP: `ā = 2 ḡ ∘ a`.
pub struct Square;

impl<T: Scalar> Op<T> for Square {
    type Residual = ();
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
