//! Matrix product `C = A·B`. VJP: `Ā = C̄·Bᵀ`, `B̄ = Aᵀ·C̄`.
use crate::{Cotangent, IntoVar, Op, Real, TapeError, Var};
use expgrad_linalg::kernels::{self, par_for};

use faer::{Mat, MatRef};

/// Matrix product `C = A·B` (A m×k, B k×n). VJP: `Ā = C̄·Bᵀ`, `B̄ = Aᵀ·C̄`.
pub struct Matmul;

/// `a·b` in a new matrix, with expgrad's parallelism policy and small-matrix kernel.
pub(crate) fn product<T: Real>(a: MatRef<'_, T>, b: MatRef<'_, T>) -> Mat<T> {
    let size = a.nrows().max(a.ncols()).max(b.ncols());
    kernels::product(a, b, par_for(size))
}

impl<T: Real> Op<T> for Matmul {
    type Residual = ();
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
            needs[0].then(|| product(g, x[1].transpose())),
            needs[1].then(|| product(x[0].transpose(), g)),
        ])
    }
    /// Low-rank cotangents: `Ā = C̄·Bᵀ` has rank ≤ n (the columns of C) and `B̄ = Aᵀ·C̄` rank
    /// ≤ m, so a thin product sends them back factored (`(C̄, B)`, `(Aᵀ, C̄ᵀ)`); a factored
    /// `C̄ = U·Vᵀ` stays factored: `Ā = U·(B·V)ᵀ`, `B̄ = (Aᵀ·U)·Vᵀ`.
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
                needs[1].then(|| Cotangent::low_rank(a.transpose(), g.transpose())),
            ],
            Cotangent::LowRank { u, v } => vec![
                needs[0].then(|| Cotangent::low_rank(u.as_ref(), product(b, v.as_ref()).as_ref())),
                needs[1].then(|| {
                    Cotangent::low_rank(product(a.transpose(), u.as_ref()).as_ref(), v.as_ref())
                }),
            ],
        })
    }
}

impl<'t, T: Real> Var<'t, T> {
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
