//! Finiteness and shape checks shared by every entry point: bad input is reported as a typed
//! [`LinalgError`] naming the op, before any work.
//!
//! Tests: `crates/linalg/tests/{errors,action_errors,action_budget}.rs`.

use crate::Scalar;
use crate::error::LinalgError;
use faer::MatRef;

/// `Err(NotSquare)` unless `a` is square, else [`check_finite`].
pub(crate) fn check_square_finite<T: Scalar>(
    op: &'static str,
    a: MatRef<'_, T>,
) -> Result<(), LinalgError> {
    if a.nrows() != a.ncols() {
        return Err(LinalgError::NotSquare {
            op,
            shape: a.shape(),
        });
    }
    check_finite(op, a)
}

/// `Err(NonFinite)` unless every entry of `a` is finite.
pub(crate) fn check_finite<T: Scalar>(
    op: &'static str,
    a: MatRef<'_, T>,
) -> Result<(), LinalgError> {
    if all_finite(a) {
        Ok(())
    } else {
        Err(LinalgError::NonFinite { op })
    }
}

/// Whether every entry of `a` is finite.
pub(crate) fn all_finite<T: Scalar>(a: MatRef<'_, T>) -> bool {
    a.col_iter().all(|c| c.iter().all(|x| x.is_finite_value()))
}
