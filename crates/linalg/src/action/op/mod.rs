//! [`LinOp`]: what the action of the exponential needs of an operator `X`, and its dense
//! implementations.
//!
//! Tests: `crates/linalg/tests/{action_forward,action_reverse,action_complex}.rs`.

mod diag_scaled;
mod grad;
mod sparse;

pub use diag_scaled::{DiagScaled, Side};
pub use grad::GradLinOp;

use crate::Scalar;
use faer::linalg::matmul::matmul;
use faer::{Accum, Mat, MatMut, MatRef, Par};
use num_traits::Float;

/// A square linear operator `X` (n×n) known through its products with n×k blocks: what
/// [`expm_multiply`](crate::expm_multiply) and [`ExpmAction`](crate::ExpmAction) need.
///
/// Implemented for dense matrices (`MatRef`, `Mat`), faer's sparse matrices (CSC and CSR,
/// owned and `Ref`), [`DiagScaled`](crate::DiagScaled) (`Diag(d)·A` and `A·Diag(d)` of any
/// inner operator, never formed) and `&Op`.
///
/// Required: [`dim`](Self::dim), [`apply`](Self::apply), [`apply_transpose`](Self::apply_transpose),
/// [`trace`](Self::trace). The provided methods let an operator report exact norms and its
/// diagonal cheaply (otherwise they are estimated with a few products). What the reverse pass
/// needs besides (where `X̄` goes, and intermediates kept for it) is the extension trait
/// [`GradLinOp`].
///
/// ```
/// use expgrad_linalg::LinOp;
/// let x = faer::mat![[1.0, -2.0], [3.0, 4.0f64]];
/// let v = faer::mat![[1.0], [1.0f64]];
/// let mut out = faer::Mat::<f64>::zeros(2, 1);
/// x.as_ref().apply(out.as_mut(), v.as_ref());
/// assert_eq!((out[(0, 0)], out[(1, 0)]), (-1.0, 7.0));
/// assert_eq!((x.as_ref().norm1(), x.as_ref().norm_inf()), (Some(6.0), Some(7.0)));
/// assert_eq!(LinOp::trace(&x.as_ref()), 5.0);
/// ```
///
/// Over complex scalars (`c32`, `c64`) the operator is complex too: [`apply_transpose`](Self::apply_transpose)
/// is still the plain transpose `Xᵀ` (no conjugation; the reverse pass of
/// [`ExpmAction`](crate::ExpmAction) conjugates at its entry and exit), and the norms and
/// [`abs_apply`](Self::abs_apply) are on moduli, values of the real type `T::Real`.
pub trait LinOp<T: Scalar> {
    /// The dimension `n` of the n×n operator.
    fn dim(&self) -> usize;

    /// `(nrows, ncols)` of the underlying matrix, for the square check of the callers
    /// (which report [`NotSquare`](crate::LinalgError::NotSquare)). Default `(n, n)`.
    fn shape(&self) -> (usize, usize) {
        (self.dim(), self.dim())
    }

    /// `out = X·x` for an n×k block `x` (`out` is n×k; its previous content is ignored).
    fn apply(&self, out: MatMut<'_, T>, x: MatRef<'_, T>);

    /// `out = Xᵀ·x` for an n×k block `x`: the transpose, not the conjugate transpose, also for
    /// a complex `X`.
    fn apply_transpose(&self, out: MatMut<'_, T>, x: MatRef<'_, T>);

    /// `tr(X)`.
    fn trace(&self) -> T;

    /// A fused scaled product, for [`DiagScaled`](crate::DiagScaled): `out = Diag(left)·P·Diag(right)·x`
    /// with `P = X` (or `Xᵀ` when `transpose`), and `raw = P·Diag(right)·x` (before the left
    /// scaling) when `raw` is given; each vector defaults to ones. Returns `false` (and
    /// touches nothing) when the operator has no fused product; the caller then scales
    /// around [`apply`](Self::apply). Results must be bitwise those of the unfused sequence
    /// (scale `x`, apply, scale the result). The sparse matrices implement it (one pass over
    /// the stored entries, no scratch block). Default `false`.
    #[doc(hidden)]
    fn apply_scaled(
        &self,
        out: MatMut<'_, T>,
        x: MatRef<'_, T>,
        transpose: bool,
        left: Option<&[T]>,
        right: Option<&[T]>,
        raw: Option<MatMut<'_, T>>,
    ) -> bool {
        let _ = (out, x, transpose, left, right, raw);
        false
    }

    /// The induced 1-norm `‖X‖₁` (largest absolute column sum) when it is cheap to get
    /// exactly; `None` lets the caller estimate it. Default: from [`abs_apply`](Self::abs_apply).
    fn norm1(&self) -> Option<T::Real> {
        let ones = vec![<T::Real as num_traits::One>::one(); self.dim()];
        self.abs_apply(&ones, true).map(|s| max_nan(&s))
    }

    /// The induced ∞-norm `‖X‖∞` (largest absolute row sum) when cheap; `None` otherwise.
    /// Default: from [`abs_apply`](Self::abs_apply).
    fn norm_inf(&self) -> Option<T::Real> {
        let ones = vec![<T::Real as num_traits::One>::one(); self.dim()];
        self.abs_apply(&ones, false).map(|s| max_nan(&s))
    }

    /// The diagonal of `X`, when cheap. Used for the exact norms of the shifted operator
    /// `X − μI` and by [`DiagScaled`](crate::DiagScaled). Default `None`.
    fn diagonal(&self) -> Option<Vec<T>> {
        None
    }

    /// `|X|·x` (`transpose = false`) or `|X|ᵀ·x` (`transpose = true`) for a nonnegative
    /// vector `x`, where `|X|` is the entrywise absolute value (modulus): exact column sums
    /// (`x = 1`, transposed) and row sums, also of scaled operators. Default `None` (not
    /// available).
    fn abs_apply(&self, x: &[T::Real], transpose: bool) -> Option<Vec<T::Real>> {
        let _ = (x, transpose);
        None
    }

    /// Whether every entry of `X` is finite. The default trusts the operator (`true`); a
    /// non-finite entry then shows up as a non-finite result. The built-in operators scan
    /// their values.
    fn all_finite(&self) -> bool {
        true
    }
}

/// Largest entry, NaN if any entry is NaN (`Float::max` would drop it), 0 when empty.
pub(crate) fn max_nan<T: Float>(s: &[T]) -> T {
    s.iter().fold(T::zero(), |m, &x| {
        if x.is_nan() || m.is_nan() {
            T::nan()
        } else {
            m.max(x)
        }
    })
}

/// `LinOp` for a pointer to an operator (`&A`, `Arc<A>`): every method forwards.
macro_rules! forward_linop {
    ($($ptr:ty),* $(,)?) => {$(
        impl<T: Scalar, A: LinOp<T> + ?Sized> LinOp<T> for $ptr {
            fn dim(&self) -> usize {
                (**self).dim()
            }
            fn shape(&self) -> (usize, usize) {
                (**self).shape()
            }
            fn apply(&self, out: MatMut<'_, T>, x: MatRef<'_, T>) {
                (**self).apply(out, x)
            }
            fn apply_transpose(&self, out: MatMut<'_, T>, x: MatRef<'_, T>) {
                (**self).apply_transpose(out, x)
            }
            fn trace(&self) -> T {
                (**self).trace()
            }
            fn apply_scaled(
                &self,
                out: MatMut<'_, T>,
                x: MatRef<'_, T>,
                transpose: bool,
                left: Option<&[T]>,
                right: Option<&[T]>,
                raw: Option<MatMut<'_, T>>,
            ) -> bool {
                (**self).apply_scaled(out, x, transpose, left, right, raw)
            }
            fn norm1(&self) -> Option<T::Real> {
                (**self).norm1()
            }
            fn norm_inf(&self) -> Option<T::Real> {
                (**self).norm_inf()
            }
            fn diagonal(&self) -> Option<Vec<T>> {
                (**self).diagonal()
            }
            fn abs_apply(&self, x: &[T::Real], transpose: bool) -> Option<Vec<T::Real>> {
                (**self).abs_apply(x, transpose)
            }
            fn all_finite(&self) -> bool {
                (**self).all_finite()
            }
        }
    )*};
}

forward_linop!(&A, std::sync::Arc<A>);

/// A dense n×n matrix. Products use faer's `matmul` with [`Par::Seq`] (deterministic, and
/// the n×k products of the action are memory-bound).
impl<T: Scalar> LinOp<T> for MatRef<'_, T> {
    fn dim(&self) -> usize {
        self.nrows()
    }
    fn shape(&self) -> (usize, usize) {
        (self.nrows(), self.ncols())
    }
    fn apply(&self, out: MatMut<'_, T>, x: MatRef<'_, T>) {
        matmul(out, Accum::Replace, *self, x, T::one_impl(), Par::Seq);
    }
    fn apply_transpose(&self, out: MatMut<'_, T>, x: MatRef<'_, T>) {
        matmul(
            out,
            Accum::Replace,
            self.transpose(),
            x,
            T::one_impl(),
            Par::Seq,
        );
    }
    fn trace(&self) -> T {
        (0..self.nrows().min(self.ncols())).fold(T::zero_impl(), |s, i| s + self[(i, i)])
    }
    fn diagonal(&self) -> Option<Vec<T>> {
        Some(
            (0..self.nrows().min(self.ncols()))
                .map(|i| self[(i, i)])
                .collect(),
        )
    }
    fn abs_apply(&self, x: &[T::Real], transpose: bool) -> Option<Vec<T::Real>> {
        let (nr, nc) = self.shape();
        let zero = <T::Real as num_traits::Zero>::zero();
        if transpose {
            Some(
                (0..nc)
                    .map(|j| (0..nr).fold(zero, |s, i| s + self[(i, j)].modulus() * x[i]))
                    .collect(),
            )
        } else {
            let mut out = vec![zero; nr];
            for j in 0..nc {
                let xj = x[j];
                for (i, o) in out.iter_mut().enumerate() {
                    *o += self[(i, j)].modulus() * xj;
                }
            }
            Some(out)
        }
    }
    fn all_finite(&self) -> bool {
        crate::finite::all_finite(*self)
    }
}

/// A dense n×n matrix, by reference to its owned storage (same as `MatRef`).
impl<T: Scalar> LinOp<T> for Mat<T> {
    fn dim(&self) -> usize {
        self.nrows()
    }
    fn shape(&self) -> (usize, usize) {
        (self.nrows(), self.ncols())
    }
    fn apply(&self, out: MatMut<'_, T>, x: MatRef<'_, T>) {
        self.as_ref().apply(out, x)
    }
    fn apply_transpose(&self, out: MatMut<'_, T>, x: MatRef<'_, T>) {
        self.as_ref().apply_transpose(out, x)
    }
    fn trace(&self) -> T {
        LinOp::trace(&self.as_ref())
    }
    fn diagonal(&self) -> Option<Vec<T>> {
        LinOp::diagonal(&self.as_ref())
    }
    fn abs_apply(&self, x: &[T::Real], transpose: bool) -> Option<Vec<T::Real>> {
        LinOp::abs_apply(&self.as_ref(), x, transpose)
    }
    fn all_finite(&self) -> bool {
        LinOp::all_finite(&self.as_ref())
    }
}
