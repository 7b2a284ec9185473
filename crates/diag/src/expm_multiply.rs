//! `exp(t·Diag(d)·A)·V` and `exp(t·A·Diag(d))·V` as ONE node each, for large sparse (or dense)
//! constant `A`: the action of the exponential (Al-Mohy & Higham 2011) and its exact
//! discrete-adjoint reverse pass ([`ExpmAction`](expgrad_linalg::ExpmAction)), never forming an n×n matrix.
//!
//! VJP: `V̄` and `t̄` from the reverse pass, `d̄` contracted term by term from the rank-one
//! factors of `X̄` ([`DiagCotangent`]: O(nnz) per Taylor term).
use crate::SparseOrDense;
use expgrad_linalg::{DiagCotangent, DiagScaled, ExpmActionOptions, PooledAction, Side};
use expgrad_tape::{Op, Scalar, TapeError, Var};
use faer::{Mat, MatRef};
use std::sync::Arc;

/// The node `W = exp(t·X)·V` with `X = Diag(d)·A` (`Side::Left`) or `A·Diag(d)`
/// (`Side::Right`); inputs `[d (n×1), V (n×k), t (1×1)]`.
pub struct ExpmMultiplyDiag<T> {
    a: Arc<SparseOrDense<T>>,
    side: Side,
    options: ExpmActionOptions,
}

impl<T> ExpmMultiplyDiag<T> {
    /// The op for `A` on the given side, with the parameter and store options of
    /// [`ExpmAction`](expgrad_linalg::ExpmAction).
    pub fn new(a: Arc<SparseOrDense<T>>, side: Side, options: ExpmActionOptions) -> Self {
        Self { a, side, options }
    }
}

fn column<T: Scalar>(d: MatRef<'_, T>) -> Vec<T> {
    (0..d.nrows()).map(|i| d[(i, 0)]).collect()
}

impl<T: Scalar> Op<T> for ExpmMultiplyDiag<T> {
    type Residual = PooledAction<T>;
    fn name(&self) -> &'static str {
        match self.side {
            Side::Left => "expm_multiply_diag",
            Side::Right => "expm_multiply_mul_diag",
        }
    }
    fn forward(&self, x: &[MatRef<'_, T>]) -> Result<(Mat<T>, PooledAction<T>), TapeError> {
        let op = self.name();
        let (d, v, t) = (x[0], x[1], x[2]);
        let (n, cols) = self.a.shape();
        if n != cols {
            return Err(TapeError::NotSquare {
                op,
                shape: (n, cols),
            });
        }
        for (shape, want) in [
            (d.shape(), (n, 1)),
            (v.shape(), (n, v.ncols())),
            (t.shape(), (1, 1)),
        ] {
            if shape != want {
                return Err(TapeError::ShapeMismatch {
                    op,
                    lhs: (n, n),
                    rhs: shape,
                });
            }
        }
        let d = column(d);
        let scaled = DiagScaled::try_new(&d, &*self.a, self.side)?;
        let action = PooledAction::try_new(&scaled, t[(0, 0)], v, self.options)?;
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
        let d = column(x[0]);
        let scaled = DiagScaled::new(&d, &*self.a, self.side);
        let mut sink = DiagCotangent::new(&scaled);
        // `Op::vjp` is infallible: a failing reverse pass comes back as NaN, which the tape
        // reports as `NonFinite` naming this op.
        let (vbar, tbar) = action
            .try_vjp(&scaled, g, &mut sink)
            .unwrap_or_else(|_| (Mat::full(g.nrows(), g.ncols(), T::nan()), T::nan()));
        let dbar = sink.into_value();
        vec![
            needs[0].then(|| Mat::from_fn(d.len(), 1, |i, _| dbar[i])),
            needs[1].then_some(vbar),
            needs[2].then(|| Mat::from_fn(1, 1, |_, _| tbar)),
        ]
    }
}

/// `exp(t·Diag(d)·A)·V` as one node (d n×1, V n×k, t 1×1; A a constant n×n dense or sparse
/// matrix). Gradients w.r.t. `d`, `V` and `t` by the exact discrete adjoint of the
/// truncated-Taylor forward (Al-Mohy & Higham 2011): about the same number of products with
/// `Aᵀ` as the forward made with `A`, and no n×n matrix. Panics naming the op and the shapes
/// on a mismatch; see [`try_expm_multiply_diag`].
///
/// ```
/// use expgrad_diag::{SparseOrDense, expm_multiply_diag};
/// use expgrad_tape::Tape;
/// use faer::mat;
/// use std::sync::Arc;
///
/// let a = Arc::new(SparseOrDense::from(mat![[-1.0, 1.0], [2.0, -2.0f64]]));
/// let tape = Tape::new();
/// let d = tape.var(mat![[0.5], [1.5f64]]);
/// let v = tape.constant(mat![[1.0], [0.0]]);
/// let t = tape.constant(mat![[0.7]]);
/// let w = expm_multiply_diag(d, &a, v, t);
/// // Same value and gradient as the dense route through expm.
/// let x = expgrad_diag::diag_mul(d, tape.constant(mat![[-1.0, 1.0], [2.0, -2.0]])).scale(0.7);
/// let w2 = x.expm().matmul(v);
/// assert!((w.value() - w2.value()).norm_max() < 1e-14);
/// let (g1, g2) = (w.sum().backward().wrt(d), w2.sum().backward().wrt(d));
/// assert!((&g1 - &g2).norm_max() < 1e-14);
/// ```
#[track_caller]
pub fn expm_multiply_diag<'t, T: Scalar>(
    d: Var<'t, T>,
    a: &Arc<SparseOrDense<T>>,
    v: Var<'t, T>,
    t: Var<'t, T>,
) -> Var<'t, T> {
    let op = ExpmMultiplyDiag::new(a.clone(), Side::Left, ExpmActionOptions::default());
    d.apply(op, &[v, t])
}

/// Fallible [`expm_multiply_diag`], with the parameter and store options of [`ExpmAction`](expgrad_linalg::ExpmAction).
pub fn try_expm_multiply_diag<'t, T: Scalar>(
    d: Var<'t, T>,
    a: &Arc<SparseOrDense<T>>,
    v: Var<'t, T>,
    t: Var<'t, T>,
    options: ExpmActionOptions,
) -> Result<Var<'t, T>, TapeError> {
    d.try_apply(
        ExpmMultiplyDiag::new(a.clone(), Side::Left, options),
        &[v, t],
    )
}

/// `exp(t·A·Diag(d))·V` as one node; see [`expm_multiply_diag`].
///
/// ```
/// use expgrad_diag::{SparseOrDense, expm_multiply_mul_diag, mul_diag};
/// use expgrad_tape::Tape;
/// use faer::mat;
/// use std::sync::Arc;
///
/// let dense = mat![[-1.0, 1.0], [2.0, -2.0f64]];
/// let a = Arc::new(SparseOrDense::from(dense.clone()));
/// let tape = Tape::new();
/// let d = tape.var(mat![[0.5], [1.5f64]]);
/// let (v, t) = (tape.constant(mat![[1.0], [-1.0]]), tape.constant(mat![[-0.4]]));
/// let w = expm_multiply_mul_diag(&a, d, v, t);
/// let w2 = mul_diag(tape.constant(dense), d).scale(-0.4).expm().matmul(v);
/// assert!((w.value() - w2.value()).norm_max() < 1e-14);
/// let (g1, g2) = (w.sum().backward().wrt(d), w2.sum().backward().wrt(d));
/// assert!((&g1 - &g2).norm_max() < 1e-14);
/// ```
#[track_caller]
pub fn expm_multiply_mul_diag<'t, T: Scalar>(
    a: &Arc<SparseOrDense<T>>,
    d: Var<'t, T>,
    v: Var<'t, T>,
    t: Var<'t, T>,
) -> Var<'t, T> {
    let op = ExpmMultiplyDiag::new(a.clone(), Side::Right, ExpmActionOptions::default());
    d.apply(op, &[v, t])
}

/// Fallible [`expm_multiply_mul_diag`], with options.
pub fn try_expm_multiply_mul_diag<'t, T: Scalar>(
    a: &Arc<SparseOrDense<T>>,
    d: Var<'t, T>,
    v: Var<'t, T>,
    t: Var<'t, T>,
    options: ExpmActionOptions,
) -> Result<Var<'t, T>, TapeError> {
    d.try_apply(
        ExpmMultiplyDiag::new(a.clone(), Side::Right, options),
        &[v, t],
    )
}
