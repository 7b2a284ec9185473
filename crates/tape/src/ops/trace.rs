//! Trace `tr(a)` of a square matrix (1×1). VJP: `ā = ḡ₀₀ I`.
use crate::{Op, Scalar, TapeError, Var};
use faer::{Mat, MatRef};

/// Trace `tr(a)` of a square matrix, a 1×1 result. VJP: `ā = ḡ₀₀ I`.
pub struct Trace;

impl<T: Scalar> Op<T> for Trace {
    type Residual = ();
    crate::linear_rules!(T);
    fn name(&self) -> &'static str {
        "trace"
    }
    fn forward(&self, x: &[MatRef<'_, T>]) -> Result<(Mat<T>, ()), TapeError> {
        if x[0].nrows() != x[0].ncols() {
            return Err(TapeError::NotSquare {
                op: "trace",
                shape: x[0].shape(),
            });
        }
        Ok((
            Mat::from_fn(1, 1, |_, _| x[0].diagonal().column_vector().sum()),
            (),
        ))
    }
    fn vjp(
        &self,
        _: &(),
        x: &[MatRef<'_, T>],
        _: MatRef<'_, T>,
        g: MatRef<'_, T>,
        needs: &[bool],
    ) -> Result<Vec<Option<Mat<T>>>, TapeError> {
        let n = x[0].nrows();
        Ok(vec![needs[0].then(|| {
            Mat::from_fn(n, n, |i, j| if i == j { g[(0, 0)] } else { T::zero_impl() })
        })])
    }
}

impl<'t, T: Scalar> Var<'t, T> {
    /// Trace (1×1). Panics naming the shape if `self` is not square.
    #[track_caller]
    pub fn trace(self) -> Var<'t, T> {
        self.apply(Trace, &[])
    }
    /// Fallible [`Var::trace`].
    pub fn try_trace(self) -> Result<Var<'t, T>, TapeError> {
        self.try_apply(Trace, &[])
    }
}
