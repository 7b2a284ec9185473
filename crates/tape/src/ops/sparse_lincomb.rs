//! The action of the exponential of a sparse linear combination, `exp(t·(A₀ + Σ_j u_j A_j))·V`,
//! as ONE node with tracked weights `u` (J×1): piecewise-constant control of a large sparse
//! generator (a spin chain's Hamiltonian `H(u)`, a Markov generator with tracked rates), where
//! nothing n×n is formed. The operator is the CSR matrix on the union of the patterns; its
//! cotangent `X̄` lives on that pattern (the action's exact reverse pass) and is contracted to
//! `ū_j = Σ_p conj(a_j[p])·X̄[p] = tr(A_jᴴ X̄)`.
//!
//! Tests: `crates/tape/tests/complex.rs`.
use super::expm_multiply::{ActionOperand, ExpmMultiply};
use crate::{IntoVar, Scalar, TapeError, Var};
use expgrad_linalg::{ExpmActionOptions, SparsePatternCotangent};
use faer::sparse::{SparseRowMat, SparseRowMatRef, SymbolicSparseRowMat, Triplet};
use faer::{Mat, MatRef};
use std::sync::Arc;

/// `A₀ + Σ_j u_j A_j` for sparse n×n `A`'s, stored on the union of their patterns.
#[derive(Clone, Debug)]
pub struct SparseLincomb<T> {
    pattern: SymbolicSparseRowMat<usize>,
    /// `A₀`'s values on the union pattern (zeros where it has no entry).
    offset: Vec<T>,
    /// `A_j`'s values on the union pattern.
    terms: Vec<Vec<T>>,
}

impl<T: Scalar> SparseLincomb<T> {
    /// The combination of `offset` and `terms` (all n×n CSR). `ShapeMismatch` if the shapes
    /// differ or are not square.
    pub fn try_new(
        offset: SparseRowMatRef<'_, usize, T>,
        terms: &[SparseRowMatRef<'_, usize, T>],
    ) -> Result<Self, TapeError> {
        let (n, m) = offset.shape();
        if let Some(bad) = terms
            .iter()
            .find(|a| a.shape() != (n, m))
            .map(|a| a.shape())
        {
            return Err(TapeError::ShapeMismatch {
                op: "sparse_lincomb",
                lhs: (n, m),
                rhs: bad,
            });
        }
        if n != m {
            return Err(TapeError::NotSquare {
                op: "sparse_lincomb",
                shape: (n, m),
            });
        }
        let mut triplets: Vec<Triplet<usize, usize, T>> = Vec::new();
        for a in core::iter::once(offset).chain(terms.iter().copied()) {
            for i in 0..n {
                triplets.extend(
                    a.col_idx_of_row(i)
                        .map(|j| Triplet::new(i, j, T::zero_impl())),
                );
            }
        }
        let union =
            SparseRowMat::<usize, T>::try_new_from_triplets(n, n, &triplets).map_err(|_| {
                TapeError::Domain {
                    op: "sparse_lincomb",
                    what: "the pattern could not be built",
                }
            })?;
        let pattern = union.symbolic().to_owned().map_err(|_| TapeError::Domain {
            op: "sparse_lincomb",
            what: "the pattern could not be built",
        })?;
        let align = |a: SparseRowMatRef<'_, usize, T>| -> Vec<T> {
            let mut out = vec![T::zero_impl(); pattern.compute_nnz()];
            for i in 0..n {
                let start = pattern.row_ptr()[i];
                let cols = &pattern.col_idx()[start..pattern.row_ptr()[i + 1]];
                for (j, v) in a.col_idx_of_row(i).zip(a.val_of_row(i)) {
                    let p = cols.binary_search(&j).expect("the union holds every entry");
                    out[start + p] += *v;
                }
            }
            out
        };
        Ok(Self {
            offset: align(offset),
            terms: terms.iter().map(|a| align(*a)).collect(),
            pattern,
        })
    }

    /// Number of weights J.
    pub fn len(&self) -> usize {
        self.terms.len()
    }

    /// Whether there are no weighted terms.
    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }
}

/// The [`ActionOperand`] of a [`SparseLincomb`]: the first input is the J×1 weight vector.
#[derive(Clone, Debug)]
pub struct SparseLincombOperand<T>(pub Arc<SparseLincomb<T>>);

impl<T: Scalar> ActionOperand<T> for SparseLincombOperand<T> {
    type Op = SparseRowMat<usize, T>;
    fn name(&self) -> &'static str {
        "expm_multiply_lincomb"
    }
    fn build(&self, u: MatRef<'_, T>) -> Result<SparseRowMat<usize, T>, TapeError> {
        let c = &self.0;
        if u.shape() != (c.len(), 1) {
            return Err(TapeError::ShapeMismatch {
                op: "expm_multiply_lincomb",
                lhs: u.shape(),
                rhs: (c.len(), 1),
            });
        }
        let mut val = c.offset.clone();
        for (j, a) in c.terms.iter().enumerate() {
            let w = u[(j, 0)];
            for (v, a) in val.iter_mut().zip(a) {
                *v += w * *a;
            }
        }
        Ok(SparseRowMat::new(c.pattern.clone(), val))
    }
    fn cotangent(&self, _: &SparseRowMat<usize, T>, sink: SparsePatternCotangent<T>) -> Mat<T> {
        let xbar = sink.value();
        Mat::from_fn(self.0.len(), 1, |j, _| {
            let mut s = T::zero_impl();
            for (a, x) in self.0.terms[j].iter().zip(xbar) {
                s += a.conjugate() * *x;
            }
            s
        })
    }
    /// `Σ_j u̇_j A_j` on the union pattern (the offset `A₀` drops out).
    fn tangent(
        &self,
        _: &SparseRowMat<usize, T>,
        ud: MatRef<'_, T>,
    ) -> Result<Box<dyn expgrad_linalg::LinOp<T>>, TapeError> {
        let c = &self.0;
        if ud.shape() != (c.len(), 1) {
            return Err(TapeError::ShapeMismatch {
                op: "expm_multiply_lincomb",
                lhs: ud.shape(),
                rhs: (c.len(), 1),
            });
        }
        let mut val = vec![T::zero_impl(); c.offset.len()];
        for (j, a) in c.terms.iter().enumerate() {
            let w = ud[(j, 0)];
            for (v, a) in val.iter_mut().zip(a) {
                *v += w * *a;
            }
        }
        Ok(Box::new(SparseRowMat::new(c.pattern.clone(), val)))
    }
}

impl<'t, T: Scalar> Var<'t, T> {
    /// `exp(t·(A₀ + Σ_j self_j·A_j))·v` for a J×1 `self` of weights and the sparse
    /// combination `a`, one node (the action of the exponential and its exact reverse pass;
    /// `v` n×k, `t` 1×1). Panics naming the shapes on bad input, or like
    /// [`Var::expm_multiply`].
    #[track_caller]
    pub fn expm_multiply_lincomb(
        self,
        a: &Arc<SparseLincomb<T>>,
        v: impl IntoVar<'t, T>,
        t: impl IntoVar<'t, T>,
    ) -> Var<'t, T> {
        crate::error::unwrap_or_panic(self.try_expm_multiply_lincomb(a, v, t))
    }

    /// Fallible [`Var::expm_multiply_lincomb`].
    pub fn try_expm_multiply_lincomb(
        self,
        a: &Arc<SparseLincomb<T>>,
        v: impl IntoVar<'t, T>,
        t: impl IntoVar<'t, T>,
    ) -> Result<Var<'t, T>, TapeError> {
        let op = ExpmMultiply::new(
            SparseLincombOperand(Arc::clone(a)),
            ExpmActionOptions::default(),
        );
        let (v, t) = (v.into_var(self.tape), t.into_var(self.tape));
        self.try_apply(op, &[v, t])
    }
}
