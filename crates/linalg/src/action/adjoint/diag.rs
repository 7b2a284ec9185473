//! [`DiagCotangent`]: `d̄` of `X = Diag(d)·A` or `X = A·Diag(d)` from the rank-one terms of `X̄`.
//!
//! docs/math.md §5 with `X̄ = c·L·Rᵀ + γI`:
//!
//! * left: `d̄ᵢ = Σⱼ X̄ᵢⱼAᵢⱼ = c·Σ_col Lᵢ(A·R)ᵢ + γ·Aᵢᵢ`, with `A·R` = [`RankOne::raw`] (kept
//!   by the forward pass);
//! * right: `d̄ⱼ = Σᵢ X̄ᵢⱼAᵢⱼ = c·Σ_col (Aᵀ·L)ⱼRⱼ + γ·Aⱼⱼ`, with `Aᵀ·L` =
//!   [`RankOne::raw_transpose`] (the reverse pass's own product).
//!
//! O(nk) per term: no product beyond those of the forward and reverse passes.

use super::cotangent::{ActionCotangent, RankOne};
use crate::Scalar;
use crate::action::op::LinOp;
use crate::action::op::{DiagScaled, Side};
use faer::MatRef;

/// Accumulates `d̄` for a [`DiagScaled`] operator (either side).
///
/// ```
/// use expgrad_linalg::{DiagCotangent, DiagScaled, ExpmAction, ExpmActionOptions, Side};
/// let a = faer::mat![[-1.0, 0.5], [0.25, -2.0f64]];
/// let d = [0.0, 1.5]; // a zero in d is fine
/// let x = DiagScaled::new(&d, a.as_ref(), Side::Left);
/// let v = faer::mat![[1.0], [-1.0f64]];
/// let act = ExpmAction::new(&x, 0.8, v.as_ref(), ExpmActionOptions::default());
/// let mut dbar = DiagCotangent::new(&x);
/// let (_vbar, _tbar) = act.vjp(&x, faer::mat![[1.0], [0.0f64]].as_ref(), &mut dbar);
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
    /// A zero `d̄` for `op` (pass the same operator to [`ExpmAction`](crate::ExpmAction)'s
    /// `new` and `vjp`).
    pub fn new<A: LinOp<T>>(op: &DiagScaled<'_, T, A>) -> Self {
        Self {
            side: op.side(),
            a_diag: op.inner_diagonal().map(<[T]>::to_vec),
            dbar: vec![T::zero(); op.dim()],
        }
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

/// `Σ_col p[i, col]·q[i, col]` for every row `i`, scaled by `c` and added to `acc`.
fn add_row_dots<T: Scalar>(acc: &mut [T], c: T, p: MatRef<'_, T>, q: MatRef<'_, T>) {
    if p.ncols() == 1 {
        if let (Some(ps), Some(qs)) = (p.col(0).try_as_col_major(), q.col(0).try_as_col_major()) {
            for ((a, &x), &y) in acc.iter_mut().zip(ps.as_slice()).zip(qs.as_slice()) {
                *a += c * (x * y);
            }
            return;
        }
    }
    for (i, a) in acc.iter_mut().enumerate() {
        let s = (0..p.ncols()).fold(T::zero(), |s, col| s + p[(i, col)] * q[(i, col)]);
        *a += c * s;
    }
}

impl<T: Scalar> ActionCotangent<T> for DiagCotangent<T> {
    #[track_caller]
    fn add_rank_one(&mut self, term: RankOne<'_, T>) {
        match self.side {
            Side::Left => {
                let raw = term.raw.expect(
                    "DiagCotangent (left): the term carries no raw A·b product; \
                     use the same DiagScaled operator in ExpmAction::new and vjp",
                );
                add_row_dots(&mut self.dbar, term.scale, term.left, raw);
            }
            Side::Right => {
                let raw = term.raw_transpose.expect(
                    "DiagCotangent (right): the term carries no raw Aᵀ·b̄ product; \
                     use the same DiagScaled operator in vjp",
                );
                add_row_dots(&mut self.dbar, term.scale, raw, term.right);
            }
        }
    }

    #[track_caller]
    fn add_identity(&mut self, scale: T) {
        if scale == T::zero() {
            return;
        }
        let a = self
            .a_diag
            .as_ref()
            .expect("DiagCotangent: the inner operator provides no diagonal()");
        for (g, &aii) in self.dbar.iter_mut().zip(a) {
            *g += scale * aii;
        }
    }
}
