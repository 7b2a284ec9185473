//! Matrix product `C = A·B`. VJP: `Ā = C̄·Bᴴ`, `B̄ = Aᴴ·C̄` (transposes for real scalars).
use crate::{Cotangent, IntoVar, Op, Scalar, TapeError, Var};
use expgrad_linalg::kernels::{self, par_for};

use super::conjugated;
use faer::{Accum, Mat, MatRef};

/// Matrix product `C = A·B` (A m×k, B k×n). VJP: `Ā = C̄·Bᴴ`, `B̄ = Aᴴ·C̄`.
pub struct Matmul;

/// `a·b` in a new matrix, with expgrad's parallelism policy and small-matrix kernel.
pub(crate) fn product<T: Scalar>(a: MatRef<'_, T>, b: MatRef<'_, T>) -> Mat<T> {
    let size = a.nrows().max(a.ncols()).max(b.ncols());
    kernels::product(a, b, par_for(size))
}

/// `aᴴ·b` (`aᵀ·b` for real scalars) in a new matrix, with the product's parallelism policy.
pub(crate) fn product_ah_b<T: Scalar>(a: MatRef<'_, T>, b: MatRef<'_, T>) -> Mat<T> {
    let mut out = kernels::small_scratch(a.ncols(), b.ncols());
    let n = a.nrows().max(a.ncols()).max(b.ncols());
    kernels::gemm_conj(
        out.as_mut(),
        Accum::Replace,
        a.transpose(),
        true,
        b,
        false,
        T::one_impl(),
        kernels::par_for(n),
    );
    out
}

/// `a·bᴴ` (`a·bᵀ` for real scalars) in a new matrix.
pub(crate) fn product_a_bh<T: Scalar>(a: MatRef<'_, T>, b: MatRef<'_, T>) -> Mat<T> {
    let mut out = kernels::small_scratch(a.nrows(), b.nrows());
    let n = a.nrows().max(a.ncols()).max(b.nrows());
    kernels::gemm_conj(
        out.as_mut(),
        Accum::Replace,
        a,
        false,
        b.transpose(),
        true,
        T::one_impl(),
        kernels::par_for(n),
    );
    out
}

impl<T: Scalar> Op<T> for Matmul {
    type Residual = ();
    crate::multilinear_rules!(T);
    fn name(&self) -> &'static str {
        "matmul"
    }
    fn forward(&self, x: &[MatRef<'_, T>]) -> Result<(Mat<T>, ()), TapeError> {
        if x[0].ncols() != x[1].nrows() {
            return Err(TapeError::ShapeMismatch {
                op: "matmul",
                lhs: x[0].shape(),
                rhs: x[1].shape(),
            });
        }
        Ok((product(x[0], x[1]), ()))
    }
    fn vjp(
        &self,
        _: &(),
        x: &[MatRef<'_, T>],
        _: MatRef<'_, T>,
        g: MatRef<'_, T>,
        needs: &[bool],
    ) -> Result<Vec<Option<Mat<T>>>, TapeError> {
        Ok(vec![
            needs[0].then(|| product_a_bh(g, x[1])),
            needs[1].then(|| product_ah_b(x[0], g)),
        ])
    }
    /// Low-rank cotangents: `Ā = C̄·Bᴴ` has rank ≤ n (the columns of C) and `B̄ = Aᴴ·C̄` rank
    /// ≤ m, so a thin product sends them back factored (`(C̄, B)`, `(Aᴴ, C̄ᴴ)`); a factored
    /// `C̄ = U·Vᴴ` stays factored: `Ā = U·(B·V)ᴴ`, `B̄ = (Aᴴ·U)·Vᴴ`.
    fn vjp_factored(
        &self,
        _: &(),
        x: &[MatRef<'_, T>],
        _: MatRef<'_, T>,
        g: &Cotangent<T>,
        needs: &[bool],
    ) -> Result<Vec<Option<Cotangent<T>>>, TapeError> {
        let (a, b) = (x[0], x[1]);
        Ok(match g {
            Cotangent::Dense(g) => vec![
                needs[0].then(|| Cotangent::low_rank(g.as_ref(), b)),
                needs[1].then(|| {
                    if T::IS_COMPLEX {
                        let (ac, gc) = (conjugated(a), conjugated(g.as_ref()));
                        Cotangent::low_rank(ac.transpose(), gc.transpose())
                    } else {
                        Cotangent::low_rank(a.transpose(), g.transpose())
                    }
                }),
            ],
            Cotangent::LowRank { u, v } => vec![
                needs[0].then(|| Cotangent::low_rank(u.as_ref(), product(b, v.as_ref()).as_ref())),
                needs[1]
                    .then(|| Cotangent::low_rank(product_ah_b(a, u.as_ref()).as_ref(), v.as_ref())),
            ],
        })
    }
}

impl<'t, T: Scalar> Var<'t, T> {
    /// Matrix product `self · other`. Panics naming both shapes if the inner sizes differ.
    #[track_caller]
    pub fn matmul(self, other: impl IntoVar<'t, T>) -> Var<'t, T> {
        self.apply(Matmul, &[other.into_var(self.tape)])
    }
    /// Fallible [`Var::matmul`].
    pub fn try_matmul(self, other: impl IntoVar<'t, T>) -> Result<Var<'t, T>, TapeError> {
        self.try_apply(Matmul, &[other.into_var(self.tape)])
    }
}
