//! Sum of all entries, a 1×1 result. VJP: `ā = ḡ₀₀ · 1` (all ones).
use crate::{Cotangent, Op, Scalar, TapeError, Var};
#[allow(unused_imports)]
use faer::{Mat, MatRef, unzip, zip};

/// Sum of all entries, a 1×1 result. VJP: `ā = ḡ₀₀ · 1` (all ones).
pub struct Sum;

impl<T: Scalar> Op<T> for Sum {
    type Residual = ();
    crate::linear_rules!(T);
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
    /// `ā = ḡ₀₀·1·1ᵀ`, rank one: held factored.
    fn vjp_factored(
        &self,
        _: &(),
        x: &[MatRef<'_, T>],
        _: MatRef<'_, T>,
        g: &Cotangent<T>,
        needs: &[bool],
    ) -> Result<Vec<Option<Cotangent<T>>>, TapeError> {
        let g = g.to_dense()[(0, 0)];
        let (m, n) = x[0].shape();
        Ok(vec![needs[0].then(|| {
            Cotangent::low_rank(
                Mat::from_fn(m, 1, |_, _| g).as_ref(),
                Mat::from_fn(n, 1, |_, _| T::one_impl()).as_ref(),
            )
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
