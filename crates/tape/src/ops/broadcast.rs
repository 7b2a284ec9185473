//! Broadcast of a 1×1 value to `rows × cols`. VJP: `ā = Σ ḡ`.
use crate::{Op, Scalar, TapeError, Var};
use faer::{Mat, MatRef};

/// Broadcast of a 1×1 value to a `rows × cols` matrix. VJP: `ā = Σᵢⱼ ḡᵢⱼ`.
pub struct Broadcast {
    /// Target rows.
    pub rows: usize,
    /// Target columns.
    pub cols: usize,
}

impl<T: Scalar> Op<T> for Broadcast {
    type Residual = ();
    crate::linear_rules!(T);
    fn name(&self) -> &'static str {
        "broadcast"
    }
    fn forward(&self, x: &[MatRef<'_, T>]) -> Result<(Mat<T>, ()), TapeError> {
        if x[0].shape() != (1, 1) {
            return Err(TapeError::ShapeMismatch {
                op: "broadcast",
                lhs: x[0].shape(),
                rhs: (self.rows, self.cols),
            });
        }
        Ok((Mat::from_fn(self.rows, self.cols, |_, _| x[0][(0, 0)]), ()))
    }
    fn vjp(
        &self,
        _: &(),
        _: &[MatRef<'_, T>],
        _: MatRef<'_, T>,
        g: MatRef<'_, T>,
        needs: &[bool],
    ) -> Result<Vec<Option<Mat<T>>>, TapeError> {
        Ok(vec![needs[0].then(|| Mat::from_fn(1, 1, |_, _| g.sum()))])
    }
}

impl<'t, T: Scalar> Var<'t, T> {
    /// Broadcast a 1×1 value to `rows × cols`. Panics naming the shape if `self` is not 1×1.
    #[track_caller]
    pub fn broadcast(self, rows: usize, cols: usize) -> Var<'t, T> {
        self.apply(Broadcast { rows, cols }, &[])
    }
    /// Fallible [`Var::broadcast`].
    pub fn try_broadcast(self, rows: usize, cols: usize) -> Result<Var<'t, T>, TapeError> {
        self.try_apply(Broadcast { rows, cols }, &[])
    }
}
