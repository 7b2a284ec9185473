//! [`ActionCotangent`]: how the reverse pass hands over `X̄`, term by term, and the dense sink.
//!
//! The reverse pass of `w = exp(tX)·V` produces `X̄ = Σ c·L·Rᵀ + γ·I` as a sum of rank-k
//! terms (one per Taylor product, `L = b̄_k`, `R = b_{k−1}`, both n×k) and one multiple of the
//! identity (the gradient through the shift `μ = tr(X)/n`). A sink contracts each term with
//! what it differentiates: a dense `X̄` ([`DenseCotangent`]), `d̄` of `Diag(d)·A`
//! ([`DiagCotangent`](crate::DiagCotangent)), or the values of `X̄` on a sparse pattern
//! ([`SparsePatternCotangent`](crate::SparsePatternCotangent)). `X̄` itself is never formed
//! unless the sink forms it.
//!
//! Over complex scalars the reverse pass runs the bilinear transpose of the forward on
//! `conj(w̄)`, so the terms are those of a bilinear sum `B = Σ c·L·Rᵀ + γ·I`, and the cotangent
//! under `⟨X, Y⟩ = Re tr(Xᴴ Y)` is `X̄ = conj(B)`: every sink adds the conjugate of its
//! contraction (docs/math.md §8, "The action over complex scalars").
//!
//! Tests: `crates/linalg/tests/{action_reverse,action_storage,action_errors,action_complex}.rs`.

use crate::Scalar;
use faer::linalg::matmul::matmul;
use faer::{Accum, Mat, MatRef, Par};

/// One term `X̄ += scale · left · rightᵀ` of the reverse pass (rank ≤ k for n×k blocks), with
/// the intermediates the operator asked to keep.
#[derive(Clone, Copy, Debug)]
pub struct LowRankTerm<'a, T> {
    /// The coefficient `c = τ/k`.
    pub scale: T,
    /// `b̄_k`, n×k: the adjoint of the k-th Taylor vector.
    pub left: MatRef<'a, T>,
    /// `b_{k−1}`, n×k: the Taylor vector the product `X·b_{k−1}` was applied to.
    pub right: MatRef<'a, T>,
    /// What [`GradLinOp::apply_keep_raw`](crate::GradLinOp::apply_keep_raw) produced for
    /// `right` in the forward pass (for `Diag(d)·A`: `A·right`), when the operator
    /// [keeps raw products](crate::GradLinOp::keeps_raw); else `None`.
    pub raw: Option<MatRef<'a, T>>,
    /// What [`GradLinOp::apply_transpose_keep_raw`](crate::GradLinOp::apply_transpose_keep_raw)
    /// produced for `left` in the reverse pass (for `A·Diag(d)`: `Aᵀ·left`), when the operator
    /// [keeps them](crate::GradLinOp::keeps_raw_transpose); else `None`.
    pub raw_transpose: Option<MatRef<'a, T>>,
}

/// The former name of [`LowRankTerm`] (the term has rank up to k, not one).
#[deprecated(since = "0.2.0", note = "renamed to LowRankTerm")]
pub type RankOne<'a, T> = LowRankTerm<'a, T>;

/// Receives `X̄ = Σ scale·left·rightᵀ + γ·I` term by term from
/// [`ExpmAction::vjp`](crate::ExpmAction::vjp); never formed unless the sink forms it. The
/// operator builds the sink that fits it ([`GradLinOp::cotangent`](crate::GradLinOp::cotangent)).
///
/// Complex scalars: the terms are those of the bilinear sum `B = Σ scale·left·rightᵀ + γ·I`
/// (plain transposes), and the cotangent under `Re tr(Xᴴ Y)` is `X̄ = conj(B)`, so a sink adds
/// `conj(scale·left·rightᵀ)` and `conj(γ)·I` — the conjugate of whatever it contracts (the
/// built-in sinks do; for `f32`/`f64` the conjugate is the identity).
pub trait ActionCotangent<T> {
    /// `X̄ += term.scale · term.left · term.rightᵀ` (its conjugate for a complex `T`).
    fn add_rank_one(&mut self, term: LowRankTerm<'_, T>);
    /// `X̄ += scale · I` (the gradient through the trace shift `μ = tr(X)/n`; `conj(scale)`
    /// for a complex `T`).
    fn add_identity(&mut self, scale: T);
}

/// Discards `X̄` (when only `V̄` and `t̄` are wanted).
#[derive(Clone, Copy, Debug, Default)]
pub struct NoCotangent;

impl<T> ActionCotangent<T> for NoCotangent {
    fn add_rank_one(&mut self, _term: LowRankTerm<'_, T>) {}
    fn add_identity(&mut self, _scale: T) {}
}

/// Accumulates a dense n×n `X̄` (for a dense `X` of modest n: each term costs `2n²k` flops).
///
/// ```
/// use expgrad_linalg::{DenseCotangent, Expm, ExpmAction, ExpmActionOptions};
/// let x = faer::mat![[-1.0, 0.3], [0.2, -0.5f64]];
/// let v = faer::mat![[1.0], [2.0f64]];
/// let wbar = faer::mat![[0.5], [-1.0f64]];
/// let t = 1.5;
/// let act = ExpmAction::new(&x, t, v.as_ref(), ExpmActionOptions::default());
/// let mut xbar: DenseCotangent<f64> = act.cotangent();
/// let (vbar, tbar) = act.vjp(wbar.as_ref(), &mut xbar);
/// // Dense route: X̄ = t·L(tXᵀ, w̄Vᵀ), V̄ = exp(tX)ᵀw̄, t̄ = ⟨w̄, X·w⟩.
/// let f = Expm::new((&x * faer::Scale(t)).as_ref());
/// let want = f.frechet_adjoint((&wbar * v.transpose()).as_ref()) * faer::Scale(t);
/// assert!((xbar.value() - &want).norm_max() < 1e-14);
/// assert!((&vbar - f.value().transpose() * &wbar).norm_max() < 1e-14);
/// let xw = &x * act.value();
/// assert!((tbar - (wbar.transpose() * &xw)[(0, 0)]).abs() < 1e-14);
/// ```
#[derive(Clone, Debug)]
pub struct DenseCotangent<T> {
    xbar: Mat<T>,
}

impl<T: Scalar> DenseCotangent<T> {
    /// A zero n×n accumulator.
    pub fn new(n: usize) -> Self {
        Self {
            xbar: Mat::zeros(n, n),
        }
    }

    /// The accumulated `X̄`.
    pub fn value(&self) -> MatRef<'_, T> {
        self.xbar.as_ref()
    }

    /// The accumulated `X̄`, by value.
    pub fn into_value(self) -> Mat<T> {
        self.xbar
    }
}

impl<T: Scalar> ActionCotangent<T> for DenseCotangent<T> {
    fn add_rank_one(&mut self, term: LowRankTerm<'_, T>) {
        if T::IS_COMPLEX {
            // conj(c·L·Rᵀ) = conj(c)·conj(L)·Rᴴ: conjugated views, no copy.
            matmul(
                self.xbar.as_mut(),
                Accum::Add,
                term.left.conjugate(),
                term.right.adjoint(),
                term.scale.conjugate(),
                Par::Seq,
            );
        } else {
            matmul(
                self.xbar.as_mut(),
                Accum::Add,
                term.left,
                term.right.transpose(),
                term.scale,
                Par::Seq,
            );
        }
    }
    fn add_identity(&mut self, scale: T) {
        let scale = scale.conjugate();
        for i in 0..self.xbar.nrows() {
            self.xbar[(i, i)] += scale;
        }
    }
}
