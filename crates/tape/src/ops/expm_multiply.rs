//! `W = exp(t·X)·V` for a dense tracked `X`, as ONE node: the truncated-Taylor action (Al-Mohy
//! & Higham 2011) and its exact discrete adjoint ([`ExpmAction`](expgrad_linalg::ExpmAction)), `X̄` formed from the
//! rank-one terms of the reverse pass ([`DenseCotangent`]).
use crate::{Op, Scalar, TapeError, Var};
use expgrad_linalg::{DenseCotangent, ExpmActionOptions, PooledAction};
use faer::{Mat, MatRef};

/// `W = exp(t·X)·V` (X n×n, V n×k, t 1×1) by the action of the exponential. VJP: `X̄`, `V̄`,
/// `t̄` from the discrete adjoint of the forward recurrence.
pub struct ExpmMultiply {
    /// Parameter and store options of the forward pass.
    pub options: ExpmActionOptions,
}

impl<T: Scalar> Op<T> for ExpmMultiply {
    type Residual = PooledAction<T>;
    fn name(&self) -> &'static str {
        "expm_multiply"
    }
    fn forward(&self, x: &[MatRef<'_, T>]) -> Result<(Mat<T>, PooledAction<T>), TapeError> {
        const OP: &str = "expm_multiply";
        let (a, v, t) = (x[0], x[1], x[2]);
        if a.nrows() != a.ncols() {
            return Err(TapeError::NotSquare {
                op: OP,
                shape: a.shape(),
            });
        }
        for (shape, want) in [(v.shape(), (a.nrows(), v.ncols())), (t.shape(), (1, 1))] {
            if shape != want {
                return Err(TapeError::ShapeMismatch {
                    op: OP,
                    lhs: a.shape(),
                    rhs: shape,
                });
            }
        }
        let action = PooledAction::try_new(&a, t[(0, 0)], v, self.options)?;
        Ok((action.value().to_owned(), action))
    }
    fn vjp(
        &self,
        action: &PooledAction<T>,
        x: &[MatRef<'_, T>],
        _: MatRef<'_, T>,
        g: MatRef<'_, T>,
        needs: &[bool],
    ) -> Vec<Option<Mat<T>>> {
        let n = x[0].nrows();
        let mut sink = DenseCotangent::new(n);
        // A failing reverse pass comes back as NaN: the tape reports `NonFinite` naming this op.
        let (vbar, tbar) = action
            .try_vjp(&x[0], g, &mut sink)
            .unwrap_or_else(|_| (Mat::full(g.nrows(), g.ncols(), T::nan()), T::nan()));
        vec![
            needs[0].then(|| sink.into_value()),
            needs[1].then_some(vbar),
            needs[2].then(|| Mat::from_fn(1, 1, |_, _| tbar)),
        ]
    }
}

impl<'t, T: Scalar> Var<'t, T> {
    /// `exp(t·self)·v` (self n×n, v n×k, t 1×1) as one node, by the action of the exponential
    /// (truncated Taylor, Al-Mohy & Higham 2011): only products of `self` with n×k blocks in
    /// the forward, and the exact discrete adjoint in the reverse. Prefer it to
    /// `self.scale(t).expm().matmul(v)` when n is large and k small; for a sparse or
    /// diagonally scaled constant matrix see `expgrad_diag::expm_multiply_diag`. Panics naming
    /// the op and the shapes on a mismatch.
    ///
    /// ```
    /// use expgrad_tape::Tape;
    /// use faer::mat;
    /// let tape = Tape::new();
    /// let x = tape.var(mat![[-1.0, 0.5], [0.2, -0.3f64]]);
    /// let (v, t) = (tape.constant(mat![[1.0], [2.0]]), tape.var(mat![[0.8]]));
    /// let w = x.expm_multiply(v, t);
    /// let w2 = x.scale(0.8).expm().matmul(v);
    /// assert!((w.value() - w2.value()).norm_max() < 1e-14);
    /// let g = w.sum().backward();
    /// let g2 = w2.sum().backward();
    /// assert!((g.wrt(x) - g2.wrt(x)).norm_max() < 1e-13);
    /// ```
    #[track_caller]
    pub fn expm_multiply(self, v: Var<'t, T>, t: Var<'t, T>) -> Var<'t, T> {
        self.apply(
            ExpmMultiply {
                options: ExpmActionOptions::default(),
            },
            &[v, t],
        )
    }

    /// Fallible [`Var::expm_multiply`], with the options of the forward pass.
    pub fn try_expm_multiply(
        self,
        v: Var<'t, T>,
        t: Var<'t, T>,
        options: ExpmActionOptions,
    ) -> Result<Var<'t, T>, TapeError> {
        self.try_apply(ExpmMultiply { options }, &[v, t])
    }
}
