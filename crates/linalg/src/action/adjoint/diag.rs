//! [`DiagCotangent`]: `d̄` of `X = Diag(d)·A` or `X = A·Diag(d)` from the rank-one terms of `X̄`.
//!
//! docs/math.md §5 with `X̄ = c·L·Rᵀ + γI`:
//!
//! * left: `d̄ᵢ = Σⱼ X̄ᵢⱼAᵢⱼ = c·Σ_col Lᵢ(A·R)ᵢ + γ·Aᵢᵢ`, with `A·R` = [`LowRankTerm::raw`] (kept
//!   by the forward pass);
//! * right: `d̄ⱼ = Σᵢ X̄ᵢⱼAᵢⱼ = c·Σ_col (Aᵀ·L)ⱼRⱼ + γ·Aⱼⱼ`, with `Aᵀ·L` =
//!   [`LowRankTerm::raw_transpose`] (the reverse pass's own product).
//!
//! O(nk) per term: no product beyond those of the forward and reverse passes.
//!
//! Complex scalars: under `Re tr(Xᴴ Y)` the cotangent of `d` is `d̄ᵢ = Σⱼ X̄ᵢⱼ·conj(Aᵢⱼ)`, and
//! with `X̄ = conj(B)` (the bilinear sum the reverse pass hands over) that is the conjugate of
//! the bilinear contraction above: each term adds `conj(c·Σ_col Lᵢ(A·R)ᵢ)` (docs/math.md §8,
//! "The action over complex scalars").
//!
//! Tests: `crates/linalg/tests/{action_reverse,action_storage,action_complex}.rs`.

use super::cotangent::{ActionCotangent, LowRankTerm};
use crate::Scalar;
use crate::action::op::{DiagScaled, Side};
use crate::action::op::{GradLinOp, LinOp};
use faer::MatRef;

/// Accumulates `d̄` for a [`DiagScaled`] operator (either side); made by the operator
/// ([`GradLinOp::cotangent`](crate::GradLinOp::cotangent)), so it always fits it.
///
/// ```
/// use expgrad_linalg::{DiagScaled, ExpmAction, ExpmActionOptions, Side};
/// let a = faer::mat![[-1.0, 0.5], [0.25, -2.0f64]];
/// let x = DiagScaled::new([0.0, 1.5], a.as_ref(), Side::Left); // a zero in d is fine
/// let v = faer::mat![[1.0], [-1.0f64]];
/// let act = ExpmAction::new(x, 0.8, v.as_ref(), ExpmActionOptions::default());
/// let mut dbar = act.cotangent();
/// let (_vbar, _tbar) = act.vjp(faer::mat![[1.0], [0.0f64]].as_ref(), &mut dbar);
/// assert_eq!(dbar.value().len(), 2);
/// assert!(dbar.value()[0] != 0.0); // ∂w₀/∂d₀ ≠ 0 although d₀ = 0
/// ```
#[derive(Clone, Debug)]
pub struct DiagCotangent<T> {
    side: Side,
    a_diag: Option<Vec<T>>,
    dbar: Vec<T>,
}

impl<T: Scalar> DiagCotangent<T> {
    /// A zero `d̄` for an operator of side `side`, inner diagonal `a_diag`, dimension `n`.
    pub(crate) fn for_operator(side: Side, a_diag: Option<Vec<T>>, n: usize) -> Self {
        Self {
            side,
            a_diag,
            dbar: vec![T::zero_impl(); n],
        }
    }

    /// A zero `d̄` for `op`.
    #[deprecated(
        since = "0.2.0",
        note = "use op.cotangent() (GradLinOp) or ExpmAction::cotangent"
    )]
    pub fn new<A: LinOp<T>>(op: &DiagScaled<T, A>) -> Self {
        op.cotangent()
    }

    /// The accumulated `d̄`.
    pub fn value(&self) -> &[T] {
        &self.dbar
    }

    /// The accumulated `d̄`, by value.
    pub fn into_value(self) -> Vec<T> {
        self.dbar
    }
}

/// `Σ_col p[i, col]·q[i, col]` for every row `i`, scaled by `c` and added to `acc` (its
/// conjugate for a complex `T`).
fn add_row_dots<T: Scalar>(acc: &mut [T], c: T, p: MatRef<'_, T>, q: MatRef<'_, T>) {
    if p.ncols() == 1 {
        if let (Some(ps), Some(qs)) = (p.col(0).try_as_col_major(), q.col(0).try_as_col_major()) {
            for ((a, &x), &y) in acc.iter_mut().zip(ps.as_slice()).zip(qs.as_slice()) {
                *a += (c * (x * y)).conjugate();
            }
            return;
        }
    }
    for (i, a) in acc.iter_mut().enumerate() {
        let s = (0..p.ncols()).fold(T::zero_impl(), |s, col| s + p[(i, col)] * q[(i, col)]);
        *a += (c * s).conjugate();
    }
}

impl<T: Scalar> ActionCotangent<T> for DiagCotangent<T> {
    #[track_caller]
    fn add_rank_one(&mut self, term: LowRankTerm<'_, T>) {
        match self.side {
            Side::Left => {
                let raw = term.raw.expect(
                    "DiagCotangent (left): the term carries no raw A·b product: \
                     this sink was made by another operator than the action's",
                );
                add_row_dots(&mut self.dbar, term.scale, term.left, raw);
            }
            Side::Right => {
                let raw = term.raw_transpose.expect(
                    "DiagCotangent (right): the term carries no raw Aᵀ·b̄ product: \
                     this sink was made by another operator than the action's",
                );
                add_row_dots(&mut self.dbar, term.scale, raw, term.right);
            }
        }
    }

    #[track_caller]
    fn add_identity(&mut self, scale: T) {
        if scale == T::zero_impl() {
            return;
        }
        let a = self
            .a_diag
            .as_ref()
            .expect("DiagCotangent: the inner operator provides no diagonal()");
        for (g, &aii) in self.dbar.iter_mut().zip(a) {
            *g += (scale * aii).conjugate();
        }
    }
}
