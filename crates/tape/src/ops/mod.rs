//! The built-in primitives, one per file: the user-facing `Var` method, the forward, and the
//! VJP side by side, with the adjoint formula in the doc comment. Every one implements the
//! public [`Op`](crate::Op) trait, exactly as an outside crate would.
//!
//! Tests: `crates/tape/tests/{ops,properties,misuse}.rs` (every op), `ergonomics.rs` (scale_by, slice, add_n).

use crate::Scalar;
use crate::error::TapeError;
use faer::{Mat, MatRef};

mod abs2;
mod add;
mod broadcast;
mod conj;
mod conj_transpose;
mod div;
mod dot;
mod exp;
mod expm;
mod expm_batch;
mod expm_batch_mul;
mod expm_chain;
mod expm_mul;
mod expm_multiply;
mod expm_multiply_times;
mod expm_times;
mod expm_times_mul;
mod imag;
mod lincomb;
mod log;
mod matmul;
mod mul;
mod neg;
mod real;
mod reshape;
mod scale;
mod scale_by;
mod slice;
mod sparse_lincomb;
mod square;
mod sub;
mod sum;
mod trace;
mod transpose;

pub use abs2::Abs2;
pub use add::{Add, add_n, try_add_n};
pub use broadcast::Broadcast;
pub use conj::Conj;
pub use conj_transpose::ConjTranspose;
pub use div::Div;
pub use dot::Dot;
pub use exp::Exp;
pub use expm::ExpmOp;
pub use expm_batch::ExpmBatchOp;
pub use expm_batch_mul::ExpmBatchMul;
pub use expm_chain::{ChainResidual, ExpmChain};
pub use expm_mul::ExpmMul;
pub use expm_multiply::{ActionOperand, DenseOperand, ExpmMultiply};
pub use expm_multiply_times::ExpmMultiplyTimes;
pub use expm_times::ExpmTimesOp;
pub use expm_times_mul::ExpmTimesMul;
pub use imag::ImagPart;
pub use lincomb::Lincomb;
pub use log::Log;
pub use matmul::Matmul;
pub use mul::Mul;
pub use neg::Neg;
pub use real::RealPart;
pub use reshape::Reshape;
pub use scale::Scale;
pub use scale_by::ScaleBy;
pub use slice::Slice;
pub use sparse_lincomb::{SparseLincomb, SparseLincombOperand};
pub use square::Square;
pub use sub::Sub;
pub use sum::Sum;
pub use trace::Trace;
pub use transpose::Transpose;

/// `⟨a, b⟩ = Σ aᵢⱼ bᵢⱼ` for equal shapes: the forward of [`Dot`] and the factor's adjoint of
/// [`ScaleBy`].
pub(crate) fn frobenius<T: Scalar>(a: MatRef<'_, T>, b: MatRef<'_, T>) -> T {
    let mut s = T::zero_impl();
    faer::zip!(a, b).for_each(|faer::unzip!(a, b)| s += *a * *b);
    s
}

/// `Σ conj(aᵢⱼ)·bᵢⱼ = tr(aᴴ b)` (the Frobenius inner product for real scalars).
pub(crate) fn frobenius_conj<T: Scalar>(a: MatRef<'_, T>, b: MatRef<'_, T>) -> T {
    let mut s = T::zero_impl();
    faer::zip!(a, b).for_each(|faer::unzip!(a, b)| s += a.conjugate() * *b);
    s
}

pub(crate) use expgrad_linalg::kernels::conjugated;

/// The sum of the present terms, `None` when there is none (a zero tangent).
pub(crate) fn sum_terms<T: Scalar, const N: usize>(terms: [Option<Mat<T>>; N]) -> Option<Mat<T>> {
    terms.into_iter().flatten().reduce(|a, b| a + b)
}

/// `Err(ShapeMismatch)` naming both shapes unless `a` and `b` have the same shape.
pub(crate) fn same_shape<T>(
    op: &'static str,
    a: MatRef<'_, T>,
    b: MatRef<'_, T>,
) -> Result<(), TapeError> {
    if a.shape() == b.shape() {
        Ok(())
    } else {
        Err(TapeError::ShapeMismatch {
            op,
            lhs: a.shape(),
            rhs: b.shape(),
        })
    }
}
