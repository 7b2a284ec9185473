//! [`DiagScaled`]: `X = Diag(d)·A` or `X = A·Diag(d)` for any inner operator `A`, never formed.
//!
//! Products are fused into the inner operator's own pass when it offers one
//! ([`LinOp::apply_scaled`]: the sparse matrices scale inside their gather/scatter loops, no
//! scratch block), and otherwise scale the block and apply `A`. The gradient with respect to `d`
//! (docs/math.md §5) contracts each rank-one term of `X̄` with `A`'s pattern:
//!
//! * left, `d̄ᵢ = Σⱼ X̄ᵢⱼAᵢⱼ`: for `X̄ = c·L·Rᵀ`, `d̄ = c·rowsum(L ∘ (A·R))`. `A·R` is the
//!   *unscaled* forward product, which the forward pass computed anyway: the operator asks
//!   for it to be kept ([`GradLinOp::keeps_raw`]).
//! * right, `d̄ⱼ = Σᵢ X̄ᵢⱼAᵢⱼ`: `d̄ = c·rowsum((Aᵀ·L) ∘ R)`, and `Aᵀ·L` is the reverse pass's own
//!   product `Xᵀ·L = Diag(d)·(Aᵀ·L)` before its scaling ([`GradLinOp::keeps_raw_transpose`]).
//!
//! [`DiagCotangent`](crate::DiagCotangent), built by the operator, performs these contractions.
//!
//! The operator owns `d`; what it needs of `A` that costs a scan (its diagonal, whether every
//! entry is finite) is computed once and shared by every operator made from it with
//! [`DiagScaled::with_d`].
//!
//! Tests: `crates/linalg/tests/{action_forward,action_reverse,action_storage,action_errors,action_complex}.rs`.

use super::{GradLinOp, LinOp};
use crate::Scalar;
use crate::action::adjoint::DiagCotangent;
use crate::error::{LinalgError, unwrap_or_panic};
use faer::prelude::{Reborrow, ReborrowMut};
use faer::{Mat, MatMut, MatRef};
use std::sync::{Arc, Mutex};

/// Which side the diagonal scales.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// `X = Diag(d)·A` (scales the rows of `A`).
    Left,
    /// `X = A·Diag(d)` (scales the columns of `A`).
    Right,
}

/// `X = Diag(d)·A` ([`Side::Left`]) or `X = A·Diag(d)` ([`Side::Right`]) for any square
/// inner operator `A`: products cost one product with `A` plus an O(nk) scaling, and
/// `Diag(d)·A` is never formed.
///
/// Exact norms come from the inner operator's [`LinOp::abs_apply`] when it has one
/// (`‖Diag(d)A‖₁ = max(|A|ᵀ|d|)`, `‖Diag(d)A‖∞ = max(|d| ∘ |A|1)`, and the same for the
/// right side); the trace needs the inner operator's [`LinOp::diagonal`] (every built-in
/// operator has one).
///
/// ```
/// use expgrad_linalg::{DiagScaled, LinOp, Side};
/// let a = faer::mat![[1.0, 2.0], [3.0, 4.0f64]];
/// let x = DiagScaled::new([2.0, -1.0], a.as_ref(), Side::Left);
/// let mut out = faer::Mat::<f64>::zeros(2, 1);
/// x.apply(out.as_mut(), faer::mat![[1.0], [1.0f64]].as_ref());
/// assert_eq!((out[(0, 0)], out[(1, 0)]), (6.0, -7.0)); // Diag(d)·A·1
/// // Diag(d)·A = [[2, 4], [−3, −4]]: column sums 5, 8; row sums 6, 7.
/// assert_eq!((x.trace(), x.norm1(), x.norm_inf()), (-2.0, Some(8.0), Some(7.0)));
/// // Another d over the same A: A's diagonal and finiteness are not scanned again.
/// let y = x.with_d([1.0, 1.0]).unwrap();
/// assert_eq!(y.trace(), 5.0);
/// ```
#[derive(Debug)]
pub struct DiagScaled<T, A> {
    d: Vec<T>,
    a: A,
    side: Side,
    d_finite: bool,
    inner: Arc<Inner<T>>,
    scratch: Mutex<Mat<T>>,
}

/// What the operator needs of `A` that costs a scan, computed once.
#[derive(Debug)]
struct Inner<T> {
    diag: Option<Vec<T>>,
    finite: bool,
}

impl<T: Scalar, A: LinOp<T> + Clone> Clone for DiagScaled<T, A> {
    fn clone(&self) -> Self {
        Self {
            d: self.d.clone(),
            a: self.a.clone(),
            side: self.side,
            d_finite: self.d_finite,
            inner: self.inner.clone(),
            scratch: Mutex::new(Mat::zeros(0, 0)),
        }
    }
}

impl<T: Scalar, A: LinOp<T>> DiagScaled<T, A> {
    /// `Diag(d)·A` or `A·Diag(d)` (a copy of `d` is kept). Panics (with the [`LinalgError`]
    /// message) unless `A` is square with `d.len()` rows.
    #[track_caller]
    pub fn new(d: impl AsRef<[T]>, a: A, side: Side) -> Self {
        unwrap_or_panic(Self::try_new(d, a, side))
    }

    /// `Diag(d)·A` or `A·Diag(d)`, or [`LinalgError::NotSquare`] /
    /// [`LinalgError::ShapeMismatch`] (`lhs` = `d` as a column, `rhs` = `A`). Scans `A` once
    /// for its diagonal and finiteness.
    pub fn try_new(d: impl AsRef<[T]>, a: A, side: Side) -> Result<Self, LinalgError> {
        const OP: &str = "DiagScaled";
        let shape = a.shape();
        if shape.0 != shape.1 {
            return Err(LinalgError::NotSquare { op: OP, shape });
        }
        let inner = Arc::new(Inner {
            diag: a.diagonal(),
            finite: a.all_finite(),
        });
        Self::with_inner(d.as_ref(), a, side, inner)
    }

    fn with_inner(d: &[T], a: A, side: Side, inner: Arc<Inner<T>>) -> Result<Self, LinalgError> {
        if d.len() != a.dim() {
            return Err(LinalgError::ShapeMismatch {
                op: "DiagScaled",
                lhs: (d.len(), 1),
                rhs: a.shape(),
            });
        }
        Ok(Self {
            d: d.to_vec(),
            d_finite: d.iter().all(|x| x.is_finite_value()),
            a,
            side,
            inner,
            scratch: Mutex::new(Mat::zeros(0, 0)),
        })
    }

    /// The same `A` and side with another `d`, sharing what was computed of `A` (its
    /// diagonal and finiteness); [`LinalgError::ShapeMismatch`] if `d` has the wrong length.
    pub fn with_d(&self, d: impl AsRef<[T]>) -> Result<Self, LinalgError>
    where
        A: Clone,
    {
        Self::with_inner(d.as_ref(), self.a.clone(), self.side, self.inner.clone())
    }

    /// `Diag(d)·A`.
    #[track_caller]
    pub fn left(d: impl AsRef<[T]>, a: A) -> Self {
        Self::new(d, a, Side::Left)
    }

    /// `A·Diag(d)`.
    #[track_caller]
    pub fn right(d: impl AsRef<[T]>, a: A) -> Self {
        Self::new(d, a, Side::Right)
    }

    /// The scaling vector `d`.
    pub fn d(&self) -> &[T] {
        &self.d
    }

    /// The inner operator `A`.
    pub fn inner(&self) -> &A {
        &self.a
    }

    /// Which side `Diag(d)` multiplies.
    pub fn side(&self) -> Side {
        self.side
    }

    /// The diagonal of the inner operator `A` (`None` if `A` does not provide it).
    pub fn inner_diagonal(&self) -> Option<&[T]> {
        self.inner.diag.as_deref()
    }

    /// `out ← Diag(d)·out`.
    fn scale_rows(&self, mut out: MatMut<'_, T>) {
        for c in 0..out.ncols() {
            match out.rb_mut().col_mut(c).try_as_col_major_mut() {
                Some(o) => {
                    for (o, &di) in o.as_slice_mut().iter_mut().zip(&self.d) {
                        *o = di * *o;
                    }
                }
                None => {
                    for (i, &di) in self.d.iter().enumerate() {
                        out[(i, c)] = di * out[(i, c)];
                    }
                }
            }
        }
    }

    /// The inner operator's fused product, if it has one: `Diag(d)·A·x` (left) or
    /// `A·Diag(d)·x` (right), transposed when asked (`Aᵀ·Diag(d)·x`, `Diag(d)·Aᵀ·x`), with
    /// `raw` the product before the outer scaling.
    fn fused(
        &self,
        out: MatMut<'_, T>,
        x: MatRef<'_, T>,
        transpose: bool,
        raw: Option<MatMut<'_, T>>,
    ) -> bool {
        let d = Some(self.d.as_slice());
        let (left, right) = match (self.side, transpose) {
            (Side::Left, false) | (Side::Right, true) => (d, None),
            (Side::Left, true) | (Side::Right, false) => (None, d),
        };
        self.a.apply_scaled(out, x, transpose, left, right, raw)
    }

    /// `f(Diag(d)·x)` through a reused scratch block.
    fn with_scaled(&self, x: MatRef<'_, T>, f: impl FnOnce(MatRef<'_, T>)) {
        let fill = |s: &mut Mat<T>| {
            if s.shape() != x.shape() {
                *s = Mat::zeros(x.nrows(), x.ncols());
            }
            copy_scaled(s.as_mut(), x, &self.d);
        };
        match self.scratch.try_lock() {
            Ok(mut s) => {
                fill(&mut s);
                f(s.as_ref());
            }
            Err(_) => {
                let mut s = Mat::zeros(0, 0);
                fill(&mut s);
                f(s.as_ref());
            }
        }
    }
}

impl<T: Scalar, A: LinOp<T>> LinOp<T> for DiagScaled<T, A> {
    fn dim(&self) -> usize {
        self.a.dim()
    }
    fn shape(&self) -> (usize, usize) {
        self.a.shape()
    }
    fn apply(&self, mut out: MatMut<'_, T>, x: MatRef<'_, T>) {
        if self.fused(out.rb_mut(), x, false, None) {
            return;
        }
        match self.side {
            Side::Left => {
                self.a.apply(out.rb_mut(), x);
                self.scale_rows(out);
            }
            Side::Right => self.with_scaled(x, |xs| self.a.apply(out, xs)),
        }
    }
    fn apply_transpose(&self, mut out: MatMut<'_, T>, x: MatRef<'_, T>) {
        if self.fused(out.rb_mut(), x, true, None) {
            return;
        }
        match self.side {
            Side::Left => self.with_scaled(x, |xs| self.a.apply_transpose(out, xs)),
            Side::Right => {
                self.a.apply_transpose(out.rb_mut(), x);
                self.scale_rows(out);
            }
        }
    }
    /// `Σ dᵢ Aᵢᵢ`. Panics if the inner operator provides no [`LinOp::diagonal`].
    fn trace(&self) -> T {
        match &self.inner.diag {
            Some(a) => a
                .iter()
                .zip(&self.d)
                .fold(T::zero_impl(), |s, (&a, &d)| s + d * a),
            None => panic!("DiagScaled: the inner operator provides no diagonal(), so no trace"),
        }
    }
    // norm1 / norm_inf: the provided methods, from `abs_apply` below.
    fn diagonal(&self) -> Option<Vec<T>> {
        self.inner
            .diag
            .as_ref()
            .map(|a| a.iter().zip(&self.d).map(|(&a, &d)| d * a).collect())
    }
    fn abs_apply(&self, x: &[T::Real], transpose: bool) -> Option<Vec<T::Real>> {
        let absd = |v: &[T::Real]| -> Vec<T::Real> {
            v.iter()
                .zip(&self.d)
                .map(|(&v, &d)| d.modulus() * v)
                .collect()
        };
        // Left: |DA|x = |d|∘(|A|x), |DA|ᵀx = |A|ᵀ(|d|∘x). Right: |AD|x = |A|(|d|∘x),
        // |AD|ᵀx = |d|∘(|A|ᵀx).
        match (self.side, transpose) {
            (Side::Left, false) | (Side::Right, true) => {
                self.a.abs_apply(x, transpose).map(|v| absd(&v))
            }
            (Side::Left, true) | (Side::Right, false) => self.a.abs_apply(&absd(x), transpose),
        }
    }
    /// O(1): both scans were made at construction.
    fn all_finite(&self) -> bool {
        self.d_finite && self.inner.finite
    }
}

impl<T: Scalar, A: LinOp<T>> GradLinOp<T> for DiagScaled<T, A> {
    type Cotangent = DiagCotangent<T>;
    fn cotangent(&self) -> DiagCotangent<T> {
        DiagCotangent::for_operator(self.side, self.inner.diag.clone(), self.d.len())
    }
    fn keeps_raw(&self) -> bool {
        self.side == Side::Left
    }
    /// Left: `raw = A·x`, `out = Diag(d)·raw` (bitwise the same `out` as [`apply`](LinOp::apply)).
    fn apply_keep_raw(&self, mut out: MatMut<'_, T>, x: MatRef<'_, T>, mut raw: MatMut<'_, T>) {
        match self.side {
            Side::Left => {
                if !self.fused(out.rb_mut(), x, false, Some(raw.rb_mut())) {
                    self.a.apply(raw.rb_mut(), x);
                    copy_scaled(out, raw.rb(), &self.d);
                }
            }
            Side::Right => self.apply(out, x),
        }
    }
    fn keeps_raw_transpose(&self) -> bool {
        self.side == Side::Right
    }
    /// Right: `raw = Aᵀ·x`, `out = Diag(d)·raw`.
    fn apply_transpose_keep_raw(
        &self,
        mut out: MatMut<'_, T>,
        x: MatRef<'_, T>,
        mut raw: MatMut<'_, T>,
    ) {
        match self.side {
            Side::Right => {
                if !self.fused(out.rb_mut(), x, true, Some(raw.rb_mut())) {
                    self.a.apply_transpose(raw.rb_mut(), x);
                    copy_scaled(out, raw.rb(), &self.d);
                }
            }
            Side::Left => self.apply_transpose(out, x),
        }
    }
}

/// `out = Diag(d)·raw`.
fn copy_scaled<T: Scalar>(mut out: MatMut<'_, T>, raw: MatRef<'_, T>, d: &[T]) {
    for c in 0..raw.ncols() {
        let r = raw.col(c).try_as_col_major();
        match (out.rb_mut().col_mut(c).try_as_col_major_mut(), r) {
            (Some(o), Some(r)) => {
                for ((o, &ri), &di) in o.as_slice_mut().iter_mut().zip(r.as_slice()).zip(d) {
                    *o = di * ri;
                }
            }
            _ => {
                for (i, &di) in d.iter().enumerate() {
                    out[(i, c)] = di * raw[(i, c)];
                }
            }
        }
    }
}
