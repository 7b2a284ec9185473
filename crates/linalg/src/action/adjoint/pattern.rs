//! [`SparsePatternCotangent`]: the values of `X̄` on a sparse pattern (the gradient with
//! respect to the stored values of a sparse `X`, or of the inner `A` of `Diag(d)·A`).
//!
//! For each stored entry `(i, j)`: `X̄ᵢⱼ += c·Σ_col Lᵢ Rⱼ` per term (O(nnz·k)), plus `γ` on
//! stored diagonal entries. Entries outside the pattern are not parameters and are dropped:
//! that restriction *is* the gradient with respect to the stored values.
//!
//! Complex scalars: each increment is conjugated (`X̄ = conj(B)`, docs/math.md §8, "The action
//! over complex scalars"); with a scaling, `Ā = Diag(d)ᴴ·X̄ = conj(Diag(d)·B)` (left) and
//! `Ā = X̄·Diag(d)ᴴ = conj(B·Diag(d))` (right), so the factor `dᵢ` (or `dⱼ`) is taken inside
//! the conjugate.
//!
//! Tests: `crates/linalg/tests/{action_reverse,action_complex}.rs`.

use super::cotangent::{ActionCotangent, LowRankTerm};
use crate::Scalar;
use crate::action::op::Side;
use faer::sparse::{SparseColMatRef, SparseRowMatRef};

/// Accumulates `X̄` (or `Ā` for `Diag(d)·A` / `A·Diag(d)`, see
/// [`with_scaling`](Self::with_scaling)) on a sparse pattern, in the order of the matrix's
/// value slice (`val()`), so that `value()[p]` is the gradient of `val()[p]`.
///
/// ```
/// use expgrad_linalg::{ExpmAction, ExpmActionOptions, SparsePatternCotangent};
/// use faer::sparse::{SparseColMat, Triplet};
/// let x = SparseColMat::<usize, f64>::try_new_from_triplets(
///     2, 2, &[Triplet::new(0, 0, -1.0), Triplet::new(1, 0, 0.5), Triplet::new(1, 1, -2.0)],
/// ).unwrap();
/// let v = faer::mat![[1.0], [1.0f64]];
/// let act = ExpmAction::new(&x, 1.0, v.as_ref(), ExpmActionOptions::default());
/// let mut g = act.cotangent(); // SparsePatternCotangent::from_csc(x.as_ref())
/// act.vjp(faer::mat![[1.0], [1.0f64]].as_ref(), &mut g);
/// assert_eq!(g.value().len(), 3);
/// ```
#[derive(Clone, Debug)]
pub struct SparsePatternCotangent<T> {
    /// `(row, col)` of each slot of the value slice; `None` for unused slots.
    entries: Vec<Option<(usize, usize)>>,
    scaling: Option<(Vec<T>, Side)>,
    val: Vec<T>,
}

impl<T: Scalar> SparsePatternCotangent<T> {
    fn from_compressed(
        n_outer: usize,
        ptr: &[usize],
        nnz: Option<&[usize]>,
        idx: &[usize],
        csc: bool,
    ) -> Self {
        let mut entries = vec![None; idx.len()];
        for o in 0..n_outer {
            let start = ptr[o];
            let end = nnz.map_or(ptr[o + 1], |z| start + z[o]);
            for (p, e) in entries.iter_mut().enumerate().take(end).skip(start) {
                let i = idx[p];
                *e = Some(if csc { (i, o) } else { (o, i) });
            }
        }
        let val = vec![T::zero_impl(); idx.len()];
        Self {
            entries,
            scaling: None,
            val,
        }
    }

    /// The pattern of a CSC matrix.
    pub fn from_csc(a: SparseColMatRef<'_, usize, T>) -> Self {
        let s = a.symbolic();
        Self::from_compressed(a.ncols(), s.col_ptr(), s.col_nnz(), s.row_idx(), true)
    }

    /// The pattern of a CSR matrix.
    pub fn from_csr(a: SparseRowMatRef<'_, usize, T>) -> Self {
        let s = a.symbolic();
        Self::from_compressed(a.nrows(), s.row_ptr(), s.row_nnz(), s.col_idx(), false)
    }

    /// Accumulate `Ā` for `X = Diag(d)·A` (`Ā = Diag(d)·X̄`, [`Side::Left`]) or
    /// `X = A·Diag(d)` (`Ā = X̄·Diag(d)`, [`Side::Right`]) on `A`'s pattern.
    pub fn with_scaling(mut self, d: &[T], side: Side) -> Self {
        self.scaling = Some((d.to_vec(), side));
        self
    }

    /// The accumulated values, aligned with the matrix's value slice (0 in unused slots).
    pub fn value(&self) -> &[T] {
        &self.val
    }

    /// The accumulated values, by value.
    pub fn into_value(self) -> Vec<T> {
        self.val
    }

    fn factor(&self, i: usize, j: usize) -> T {
        match &self.scaling {
            None => T::one_impl(),
            Some((d, Side::Left)) => d[i],
            Some((d, Side::Right)) => d[j],
        }
    }
}

impl<T: Scalar> ActionCotangent<T> for SparsePatternCotangent<T> {
    fn add_rank_one(&mut self, term: LowRankTerm<'_, T>) {
        let (l, r) = (term.left, term.right);
        for p in 0..self.entries.len() {
            if let Some((i, j)) = self.entries[p] {
                let s = (0..l.ncols()).fold(T::zero_impl(), |s, c| s + l[(i, c)] * r[(j, c)]);
                self.val[p] = self.val[p] + (term.scale * self.factor(i, j) * s).conjugate();
            }
        }
    }

    fn add_identity(&mut self, scale: T) {
        for p in 0..self.entries.len() {
            if let Some((i, j)) = self.entries[p] {
                if i == j {
                    self.val[p] = self.val[p] + (scale * self.factor(i, j)).conjugate();
                }
            }
        }
    }
}
