//! [`GradLinOp`]: what the reverse pass of [`ExpmAction`](crate::ExpmAction) needs of an
//! operator beyond [`LinOp`]: the sink that receives `X̄`, and the intermediates a structured
//! operator keeps for it. Implementations for the dense operators (the sink forms `X̄`); the
//! sparse and diagonally scaled ones live beside their [`LinOp`] implementations.
//!
//! Tests: `crates/linalg/tests/action_reverse.rs`.

use super::LinOp;
use crate::Scalar;
use crate::action::adjoint::{ActionCotangent, DenseCotangent};
use faer::{Mat, MatMut, MatRef};

/// A [`LinOp`] whose parameters have a cotangent: the operator builds the sink
/// ([`cotangent`](Self::cotangent)) that contracts the reverse pass's terms of `X̄` with what it
/// differentiates — a dense `X̄` ([`DenseCotangent`]), the values on a sparse pattern
/// ([`SparsePatternCotangent`](crate::SparsePatternCotangent)), or `d̄` of `Diag(d)·A`
/// ([`DiagCotangent`](crate::DiagCotangent)) — so the sink always fits the operator.
///
/// A structured operator may also ask for an intermediate of its products to be kept
/// ([`keeps_raw`](Self::keeps_raw), [`keeps_raw_transpose`](Self::keeps_raw_transpose)): for
/// `Diag(d)·A`, the unscaled product `A·b` that `∂/∂d` needs.
///
/// An operator with no parameters to differentiate uses [`NoCotangent`](crate::NoCotangent):
///
/// ```
/// use expgrad_linalg::{ExpmAction, ExpmActionOptions, GradLinOp, LinOp, NoCotangent};
/// use faer::{Mat, MatMut, MatRef};
/// /// X = −2I, known only through its products.
/// struct MinusTwo(usize);
/// impl LinOp<f64> for MinusTwo {
///     fn dim(&self) -> usize { self.0 }
///     fn apply(&self, mut out: MatMut<'_, f64>, x: MatRef<'_, f64>) {
///         out.copy_from(x);
///         out *= faer::Scale(-2.0);
///     }
///     fn apply_transpose(&self, out: MatMut<'_, f64>, x: MatRef<'_, f64>) { self.apply(out, x) }
///     fn trace(&self) -> f64 { -2.0 * self.0 as f64 }
/// }
/// impl GradLinOp<f64> for MinusTwo {
///     type Cotangent = NoCotangent;
///     fn cotangent(&self) -> NoCotangent { NoCotangent }
/// }
/// let v = faer::mat![[1.0], [2.0f64]];
/// let act = ExpmAction::new(MinusTwo(2), 0.5, v.as_ref(), ExpmActionOptions::default());
/// let (vbar, _tbar) = act.vjp(v.as_ref(), &mut act.cotangent());
/// assert!((vbar[(1, 0)] - 2.0 * (-1.0f64).exp()).abs() < 1e-15);
/// ```
pub trait GradLinOp<T: Scalar>: LinOp<T> {
    /// The sink of `X̄` for this operator's parameters.
    type Cotangent: ActionCotangent<T>;

    /// A zero sink, shaped for this operator.
    fn cotangent(&self) -> Self::Cotangent;

    /// Whether the gradient needs an intermediate of the forward product `X·b` (see
    /// [`apply_keep_raw`](Self::apply_keep_raw)). When `true`, the taped forward calls
    /// `apply_keep_raw` and stores `raw` beside every Taylor vector, for
    /// [`LowRankTerm::raw`](crate::LowRankTerm::raw). Default `false`.
    fn keeps_raw(&self) -> bool {
        false
    }

    /// `out = X·x` and `raw` = an operator-defined intermediate of that product, n×k (for
    /// `Diag(d)·A`: `raw = A·x`). Only called when [`keeps_raw`](Self::keeps_raw) is `true`;
    /// `out` must be bitwise what [`LinOp::apply`] gives. Default: `apply`, `raw` untouched.
    fn apply_keep_raw(&self, out: MatMut<'_, T>, x: MatRef<'_, T>, raw: MatMut<'_, T>) {
        let _ = raw;
        self.apply(out, x);
    }

    /// Whether the gradient needs an intermediate of the reverse pass's `Xᵀ·b̄` (see
    /// [`apply_transpose_keep_raw`](Self::apply_transpose_keep_raw)). Default `false`.
    fn keeps_raw_transpose(&self) -> bool {
        false
    }

    /// `out = Xᵀ·x` and `raw` = an operator-defined intermediate (for `A·Diag(d)`:
    /// `raw = Aᵀ·x`), handed to [`LowRankTerm::raw_transpose`](crate::LowRankTerm::raw_transpose).
    /// Only called when [`keeps_raw_transpose`](Self::keeps_raw_transpose) is `true`.
    /// Default: `apply_transpose`, `raw` untouched.
    fn apply_transpose_keep_raw(&self, out: MatMut<'_, T>, x: MatRef<'_, T>, raw: MatMut<'_, T>) {
        let _ = raw;
        self.apply_transpose(out, x);
    }
}

impl<T: Scalar, A: GradLinOp<T> + ?Sized> GradLinOp<T> for &A {
    type Cotangent = A::Cotangent;
    fn cotangent(&self) -> A::Cotangent {
        (**self).cotangent()
    }
    fn keeps_raw(&self) -> bool {
        (**self).keeps_raw()
    }
    fn apply_keep_raw(&self, out: MatMut<'_, T>, x: MatRef<'_, T>, raw: MatMut<'_, T>) {
        (**self).apply_keep_raw(out, x, raw)
    }
    fn keeps_raw_transpose(&self) -> bool {
        (**self).keeps_raw_transpose()
    }
    fn apply_transpose_keep_raw(&self, out: MatMut<'_, T>, x: MatRef<'_, T>, raw: MatMut<'_, T>) {
        (**self).apply_transpose_keep_raw(out, x, raw)
    }
}

/// A dense `X`: `X̄` formed densely (each term costs `2n²k` flops).
impl<T: Scalar> GradLinOp<T> for MatRef<'_, T> {
    type Cotangent = DenseCotangent<T>;
    fn cotangent(&self) -> DenseCotangent<T> {
        DenseCotangent::new(self.nrows())
    }
}

/// A dense `X`: `X̄` formed densely.
impl<T: Scalar> GradLinOp<T> for Mat<T> {
    type Cotangent = DenseCotangent<T>;
    fn cotangent(&self) -> DenseCotangent<T> {
        DenseCotangent::new(self.nrows())
    }
}
