//! Column-major reshape (and `vec`). VJP: reshape the cotangent back.
use crate::{Op, Scalar, TapeError, Var};
use faer::{Mat, MatRef};

/// Column-major reshape to `rows × cols` (same number of entries; `vec` is `(r·c) × 1`).
/// VJP: the cotangent reshaped back to the input's shape.
pub struct Reshape {
    /// Target rows.
    pub rows: usize,
    /// Target columns.
    pub cols: usize,
}

fn reshape<T: Scalar>(x: MatRef<'_, T>, rows: usize, cols: usize) -> Mat<T> {
    let r0 = x.nrows();
    Mat::from_fn(rows, cols, |i, j| {
        let k = i + j * rows;
        x[(k % r0, k / r0)]
    })
}

impl<T: Scalar> Op<T> for Reshape {
    type Residual = ();
    crate::linear_rules!(T);
    fn name(&self) -> &'static str {
        "reshape"
    }
    fn forward(&self, x: &[MatRef<'_, T>]) -> Result<(Mat<T>, ()), TapeError> {
        let (r, c) = x[0].shape();
        if r * c != self.rows * self.cols {
            return Err(TapeError::ShapeMismatch {
                op: "reshape",
                lhs: (r, c),
                rhs: (self.rows, self.cols),
            });
        }
        Ok((reshape(x[0], self.rows, self.cols), ()))
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
            needs[0].then(|| reshape(g, x[0].nrows(), x[0].ncols())),
        ])
    }
}

impl<'t, T: Scalar> Var<'t, T> {
    /// Column-major reshape. Panics naming both shapes if the entry counts differ.
    #[track_caller]
    pub fn reshape(self, rows: usize, cols: usize) -> Var<'t, T> {
        self.apply(Reshape { rows, cols }, &[])
    }
    /// Fallible [`Var::reshape`].
    pub fn try_reshape(self, rows: usize, cols: usize) -> Result<Var<'t, T>, TapeError> {
        self.try_apply(Reshape { rows, cols }, &[])
    }
    /// `vec(self)`: the columns stacked into one `(r·c) × 1` column.
    #[track_caller]
    pub fn vec(self) -> Var<'t, T> {
        let (r, c) = self.shape();
        self.reshape(r * c, 1)
    }
    /// Fallible [`Var::vec`]: `ForeignVar` for a stale variable.
    pub fn try_vec(self) -> Result<Var<'t, T>, TapeError> {
        let (r, c) = self.tape.try_shape(self, "vec")?;
        self.try_reshape(r * c, 1)
    }
}
