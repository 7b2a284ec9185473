//! Sum of all entries, a 1×1 result. VJP: `ā = ḡ₀₀ · 1` (all ones).
use crate::{Op, Scalar, TapeError, Var};
#[allow(unused_imports)]
use faer::{Mat, MatRef, unzip, zip};

/// Sum of all entries, a 1×1 result. VJP: `ā = ḡ₀₀ · 1` (all ones).
pub struct Sum;

impl<T: Scalar> Op<T> for Sum {
    type Residual = ();
    fn name(&self) -> &'static str {
        "sum"
    }
    fn forward(&self, x: &[MatRef<'_, T>]) -> Result<(Mat<T>, ()), TapeError> {
        Ok((Mat::from_fn(1, 1, |_, _| x[0].sum()), ()))
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
            Mat::from_fn(x[0].nrows(), x[0].ncols(), |_, _| g[(0, 0)])
        })])
    }
}

impl<'t, T: Scalar> Var<'t, T> {
    /// Sum of all entries, a 1×1 result. VJP: `ā = ḡ₀₀ · 1` (all ones).
    #[track_caller]
    pub fn sum(self) -> Var<'t, T> {
        self.apply(Sum, &[])
    }

    /// Fallible [`Var::sum`]: `NonFinite` when the sum overflows.
    pub fn try_sum(self) -> Result<Var<'t, T>, TapeError> {
        self.try_apply(Sum, &[])
    }
}
