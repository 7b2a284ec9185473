//! # expgrad-diag
//!
//! Diagonal scaling ops for the expgrad tape — `Diag(d)·A`, `A·Diag(d)`, `Diag(l)·A·Diag(r)`,
//! `diag(d)`, `diag_part(X)` — built **only** on the tape's public [`Op`](expgrad_tape::Op)
//! trait: the proof that outside crates can add primitives. With them,
//! `∂(exp(Diag(d)·A)·v)/∂d` falls out of generic backprop:
//!
//! ```
//! use expgrad_tape::Tape;
//! use expgrad_diag::diag_mul;
//! use faer::mat;
//!
//! let tape = Tape::new();
//! let d = tape.var(mat![[0.5], [1.5f64]]);
//! let a = tape.constant(mat![[-1.0, 1.0], [2.0, -2.0]]);   // a Markov generator shape
//! let v = tape.constant(mat![[1.0], [0.0]]);
//! let w = diag_mul(d, a).expm().matmul(v);                  // w = exp(Diag(d)·A)·v
//! let j = w.jacobian(d);                                    // ∂w/∂d, 2×2
//! let g = w.sum().backward().wrt(d);                        // gradient of Σw
//! assert!((j[(0, 0)] + j[(1, 0)] - g[(0, 0)]).abs() < 1e-14);
//! ```
//!
//! Every VJP is O(size of A) and skips untracked operands: with a constant `d` no `d̄` is
//! formed, with a constant `A` no `Ā`.
//!
//! Tests: `crates/diag/tests/ops.rs` (diag_mul, mul_diag, diag_mul_diag, diag, diag_part).
#![warn(missing_docs)]

mod batch;
mod both;
mod diagonal;
mod expm_multiply;
mod jacobian;
mod left;
mod operand;
mod right;

pub use batch::{DiagMulBatch, diag_mul_batch, try_diag_mul_batch};
pub use both::{DiagMulDiag, diag_mul_diag, try_diag_mul_diag};
pub use diagonal::{Diag, DiagPart, diag, diag_part, try_diag, try_diag_part};
pub use expgrad_linalg::{ActionBudget, ActionParams, ExpmActionOptions, Side, StorePolicy};
#[allow(deprecated)]
pub use expm_multiply::ExpmMultiplyDiag;
pub use expm_multiply::{
    DiagOperand, expm_multiply_diag, expm_multiply_diag_times, expm_multiply_diag_times_with,
    expm_multiply_diag_with, expm_multiply_mul_diag, expm_multiply_mul_diag_with,
    try_expm_multiply_diag, try_expm_multiply_diag_times, try_expm_multiply_diag_times_with,
    try_expm_multiply_diag_with, try_expm_multiply_mul_diag, try_expm_multiply_mul_diag_with,
};
pub use jacobian::{expm_jacobian, try_expm_jacobian};
pub use left::{DiagMul, diag_mul, try_diag_mul};
pub use operand::{SparseOrDense, Storage};
pub use right::{MulDiag, mul_diag, try_mul_diag};

use expgrad_tape::TapeError;
use faer::MatRef;

/// `d` must be a `len`×1 column (`other` is the matrix it scales, for the message).
fn check_diag<T>(
    op: &'static str,
    d: MatRef<'_, T>,
    len: usize,
    other: (usize, usize),
) -> Result<(), TapeError> {
    if d.shape() == (len, 1) {
        Ok(())
    } else {
        Err(TapeError::ShapeMismatch {
            op,
            lhs: d.shape(),
            rhs: other,
        })
    }
}

#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
