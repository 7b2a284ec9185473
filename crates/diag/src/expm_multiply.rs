//! `exp(t·Diag(d)·A)·V` and `exp(t·A·Diag(d))·V` as ONE node each, for large sparse (or dense)
//! constant `A`: the action of the exponential (Al-Mohy & Higham 2011) and its exact
//! discrete-adjoint reverse pass ([`ExpmAction`](expgrad_linalg::ExpmAction)), never forming an n×n matrix.
//!
//! VJP: `V̄` and `t̄` from the reverse pass, `d̄` contracted term by term from the rank-one
//! factors of `X̄` ([`DiagCotangent`]: O(nnz) per Taylor term).
//!
//! Tests: `crates/diag/tests/expm_multiply.rs`, `tests/large_diffusion.rs`.
use crate::SparseOrDense;
use expgrad_linalg::{DiagCotangent, DiagScaled, ExpmActionOptions, LinOp, Side};
use expgrad_tape::ops::{ActionOperand, ExpmMultiply, ExpmMultiplyTimes};
use expgrad_tape::{Real, TapeError, Var};
use faer::{Mat, MatRef};
use std::sync::Arc;

/// The operand `X = Diag(d)·A` ([`Side::Left`]) or `A·Diag(d)` ([`Side::Right`]) of the tape's
/// action node ([`ExpmMultiply`]), `d` (n×1) its first input, `A` a shared constant. Building
/// `X` costs O(n): `A`'s diagonal and finiteness were computed when the [`SparseOrDense`] was
/// made. `d̄` comes from the operator's [`DiagCotangent`] (O(nk) per Taylor term).
#[derive(Clone, Debug)]
pub struct DiagOperand<T> {
    a: Arc<SparseOrDense<T>>,
    side: Side,
}

impl<T> DiagOperand<T> {
    /// `Diag(d)·A` (`Side::Left`) or `A·Diag(d)` (`Side::Right`).
    pub fn new(a: Arc<SparseOrDense<T>>, side: Side) -> Self {
        Self { a, side }
    }
}

impl<T: Real> ActionOperand<T> for DiagOperand<T> {
    type Op = DiagScaled<T, Arc<SparseOrDense<T>>>;
    fn name(&self) -> &'static str {
        match self.side {
            Side::Left => "expm_multiply_diag",
            Side::Right => "expm_multiply_mul_diag",
        }
    }
    fn build(&self, d: MatRef<'_, T>) -> Result<Self::Op, TapeError> {
        let op = self.name();
        let (n, cols) = self.a.shape();
        if n != cols {
            return Err(TapeError::NotSquare {
                op,
                shape: (n, cols),
            });
        }
        if d.shape() != (n, 1) {
            return Err(TapeError::ShapeMismatch {
                op,
                lhs: (n, n),
                rhs: d.shape(),
            });
        }
        let d: Vec<T> = d.col(0).iter().copied().collect();
        Ok(DiagScaled::try_new(d, self.a.clone(), self.side).map_err(|e| e.with_op(op))?)
    }
    fn cotangent(&self, _: &Self::Op, sink: DiagCotangent<T>) -> Mat<T> {
        let dbar = sink.into_value();
        Mat::from_fn(dbar.len(), 1, |i, _| dbar[i])
    }
    /// `Diag(ḋ)·A` or `A·Diag(ḋ)`, sharing `A`'s scans with the operator.
    fn tangent(&self, op: &Self::Op, dd: MatRef<'_, T>) -> Result<Box<dyn LinOp<T>>, TapeError> {
        let name = self.name();
        if dd.shape() != (op.dim(), 1) {
            return Err(TapeError::ShapeMismatch {
                op: name,
                lhs: (op.dim(), 1),
                rhs: dd.shape(),
            });
        }
        let dd: Vec<T> = dd.col(0).iter().copied().collect();
        Ok(Box::new(op.with_d(dd).map_err(|e| e.with_op(name))?))
    }
}

/// The former name of the diagonal action node: now the tape's generic [`ExpmMultiply`] over a
/// [`DiagOperand`].
#[deprecated(
    since = "0.2.0",
    note = "use ExpmMultiply::new(DiagOperand::new(a, side), options)"
)]
pub type ExpmMultiplyDiag<T> = ExpmMultiply<DiagOperand<T>>;

fn node<T>(
    a: &Arc<SparseOrDense<T>>,
    side: Side,
    options: ExpmActionOptions,
) -> ExpmMultiply<DiagOperand<T>> {
    ExpmMultiply::new(DiagOperand::new(a.clone(), side), options)
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
pub fn expm_multiply_diag<'t, T: Real>(
    d: Var<'t, T>,
    a: &Arc<SparseOrDense<T>>,
    v: Var<'t, T>,
    t: Var<'t, T>,
) -> Var<'t, T> {
    d.apply(node(a, Side::Left, ExpmActionOptions::default()), &[v, t])
}

/// Fallible [`expm_multiply_diag`]: shape errors, non-finite inputs, overflow, or an exceeded
/// [`ActionBudget`](expgrad_linalg::ActionBudget) as a [`TapeError`], never a panic or abort.
pub fn try_expm_multiply_diag<'t, T: Real>(
    d: Var<'t, T>,
    a: &Arc<SparseOrDense<T>>,
    v: Var<'t, T>,
    t: Var<'t, T>,
) -> Result<Var<'t, T>, TapeError> {
    try_expm_multiply_diag_with(d, a, v, t, ExpmActionOptions::default())
}

/// [`expm_multiply_diag`] with the parameter, store and budget options of
/// [`ExpmAction`](expgrad_linalg::ExpmAction).
#[track_caller]
pub fn expm_multiply_diag_with<'t, T: Real>(
    d: Var<'t, T>,
    a: &Arc<SparseOrDense<T>>,
    v: Var<'t, T>,
    t: Var<'t, T>,
    options: ExpmActionOptions,
) -> Var<'t, T> {
    d.apply(node(a, Side::Left, options), &[v, t])
}

/// Fallible [`expm_multiply_diag_with`].
pub fn try_expm_multiply_diag_with<'t, T: Real>(
    d: Var<'t, T>,
    a: &Arc<SparseOrDense<T>>,
    v: Var<'t, T>,
    t: Var<'t, T>,
    options: ExpmActionOptions,
) -> Result<Var<'t, T>, TapeError> {
    d.try_apply(node(a, Side::Left, options), &[v, t])
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
pub fn expm_multiply_mul_diag<'t, T: Real>(
    a: &Arc<SparseOrDense<T>>,
    d: Var<'t, T>,
    v: Var<'t, T>,
    t: Var<'t, T>,
) -> Var<'t, T> {
    d.apply(node(a, Side::Right, ExpmActionOptions::default()), &[v, t])
}

/// Fallible [`expm_multiply_mul_diag`].
pub fn try_expm_multiply_mul_diag<'t, T: Real>(
    a: &Arc<SparseOrDense<T>>,
    d: Var<'t, T>,
    v: Var<'t, T>,
    t: Var<'t, T>,
) -> Result<Var<'t, T>, TapeError> {
    try_expm_multiply_mul_diag_with(a, d, v, t, ExpmActionOptions::default())
}

/// [`expm_multiply_mul_diag`] with options.
#[track_caller]
pub fn expm_multiply_mul_diag_with<'t, T: Real>(
    a: &Arc<SparseOrDense<T>>,
    d: Var<'t, T>,
    v: Var<'t, T>,
    t: Var<'t, T>,
    options: ExpmActionOptions,
) -> Var<'t, T> {
    d.apply(node(a, Side::Right, options), &[v, t])
}

/// Fallible [`expm_multiply_mul_diag_with`].
pub fn try_expm_multiply_mul_diag_with<'t, T: Real>(
    a: &Arc<SparseOrDense<T>>,
    d: Var<'t, T>,
    v: Var<'t, T>,
    t: Var<'t, T>,
    options: ExpmActionOptions,
) -> Result<Var<'t, T>, TapeError> {
    d.try_apply(node(a, Side::Right, options), &[v, t])
}

fn times_node<T>(
    a: &Arc<SparseOrDense<T>>,
    side: Side,
    options: ExpmActionOptions,
) -> ExpmMultiplyTimes<DiagOperand<T>> {
    ExpmMultiplyTimes::new(DiagOperand::new(a.clone(), side), options)
}

/// `[exp(t_0·Diag(d)·A)·V | … | exp(t_{K−1}·Diag(d)·A)·V]` as ONE node (d n×1, V n×k, `t` a
/// K×1 column of sorted times of any sign; result n×(k·K)): one action to `t_0`, then one
/// stepping over `t_{K−1} − t_0` whose outputs are vector combinations of each substep's
/// Taylor vectors (Al-Mohy & Higham 2011, §5), and one reverse sweep for `d̄`, `V̄` and every
/// `t̄_k` ([`ExpmActionTimes`](expgrad_linalg::ExpmActionTimes)). About the products of one
/// [`expm_multiply_diag`] at `t_{K−1}` instead of K of them. Forward mode works; second
/// order returns [`TapeError::NoRule`]. Panics on bad input; see
/// [`try_expm_multiply_diag_times`].
///
/// ```
/// use expgrad_diag::{SparseOrDense, expm_multiply_diag, expm_multiply_diag_times};
/// use expgrad_tape::Tape;
/// use faer::mat;
/// use std::sync::Arc;
///
/// let a = Arc::new(SparseOrDense::from(mat![[-1.0, 1.0], [2.0, -2.0f64]]));
/// let tape = Tape::new();
/// let d = tape.var(mat![[0.5], [1.5f64]]);
/// let v = tape.constant(mat![[1.0], [0.0]]);
/// let t = tape.constant(mat![[-0.3], [0.7], [2.0]]);
/// let w = expm_multiply_diag_times(d, &a, v, t); // 2×3
/// let w1 = expm_multiply_diag(d, &a, v, tape.constant(mat![[0.7]]));
/// assert!((w.value().col(1) - w1.value().col(0)).norm_max() < 1e-14);
/// assert_eq!(w.sum().backward().wrt(d).shape(), (2, 1));
/// ```
#[track_caller]
pub fn expm_multiply_diag_times<'t, T: Real>(
    d: Var<'t, T>,
    a: &Arc<SparseOrDense<T>>,
    v: Var<'t, T>,
    t: Var<'t, T>,
) -> Var<'t, T> {
    expm_multiply_diag_times_with(d, a, v, t, ExpmActionOptions::default())
}

/// Fallible [`expm_multiply_diag_times`]: shapes, unsorted times ([`TapeError::Domain`]),
/// non-finite inputs, overflow or an exceeded budget as a [`TapeError`].
pub fn try_expm_multiply_diag_times<'t, T: Real>(
    d: Var<'t, T>,
    a: &Arc<SparseOrDense<T>>,
    v: Var<'t, T>,
    t: Var<'t, T>,
) -> Result<Var<'t, T>, TapeError> {
    try_expm_multiply_diag_times_with(d, a, v, t, ExpmActionOptions::default())
}

/// [`expm_multiply_diag_times`] with options.
#[track_caller]
pub fn expm_multiply_diag_times_with<'t, T: Real>(
    d: Var<'t, T>,
    a: &Arc<SparseOrDense<T>>,
    v: Var<'t, T>,
    t: Var<'t, T>,
    options: ExpmActionOptions,
) -> Var<'t, T> {
    d.apply(times_node(a, Side::Left, options), &[v, t])
}

/// Fallible [`expm_multiply_diag_times_with`].
pub fn try_expm_multiply_diag_times_with<'t, T: Real>(
    d: Var<'t, T>,
    a: &Arc<SparseOrDense<T>>,
    v: Var<'t, T>,
    t: Var<'t, T>,
    options: ExpmActionOptions,
) -> Result<Var<'t, T>, TapeError> {
    d.try_apply(times_node(a, Side::Left, options), &[v, t])
}
