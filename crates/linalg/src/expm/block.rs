//! The literal 2n×2n block construction of the Fréchet derivative: a slow reference.
//!
//! Tests: `crates/linalg/tests/{published,degrees,properties,errors,jacobian}.rs`.

use crate::Scalar;
use crate::error::{LinalgError, unwrap_or_panic};
use crate::expm::{check_finite, try_expm};
use faer::{Mat, MatRef};

/// `(exp(A), L(A, E))` read off `exp([[A, E], [0, A]]) = [[e^A, L(A, E)], [0, e^A]]`
/// (Mathias 1996; Higham, *Functions of Matrices*, §3.2).
///
/// **Slow, for tests and teaching**: it exponentiates a 2n×2n matrix (8× the products of one
/// n×n exponential, and the norm of `E` enters the scaling, which over-scales when
/// `‖E‖ ≫ ‖A‖`). Use [`expm_frechet`](crate::expm_frechet) or [`Expm`](crate::Expm).
/// Panics with the [`LinalgError`] message on bad input or overflow.
///
/// ```
/// use faer::mat;
/// let a = mat![[0.5, 1.0], [-0.3, 0.2f64]];
/// let e = mat![[1.0, 0.0], [2.0, -1.0f64]];
/// let (_, l_block) = expgrad_linalg::expm_frechet_block(a.as_ref(), e.as_ref());
/// let (_, l) = expgrad_linalg::expm_frechet(a.as_ref(), e.as_ref());
/// assert!((&l - &l_block).norm_max() < 1e-14);
/// ```
#[track_caller]
pub fn expm_frechet_block<T: Scalar>(a: MatRef<'_, T>, e: MatRef<'_, T>) -> (Mat<T>, Mat<T>) {
    unwrap_or_panic(try_block(a, e))
}

fn try_block<T: Scalar>(
    a: MatRef<'_, T>,
    e: MatRef<'_, T>,
) -> Result<(Mat<T>, Mat<T>), LinalgError> {
    const OP: &str = "expm_frechet_block";
    let n = a.nrows();
    if a.ncols() != n {
        return Err(LinalgError::NotSquare {
            op: OP,
            shape: a.shape(),
        });
    }
    if e.shape() != a.shape() {
        return Err(LinalgError::ShapeMismatch {
            op: OP,
            lhs: a.shape(),
            rhs: e.shape(),
        });
    }
    check_finite(OP, a)?;
    check_finite(OP, e)?;
    let mut big = Mat::<T>::zeros(2 * n, 2 * n);
    big.submatrix_mut(0, 0, n, n).copy_from(a);
    big.submatrix_mut(n, n, n, n).copy_from(a);
    big.submatrix_mut(0, n, n, n).copy_from(e);
    let f = try_expm(big.as_ref()).map_err(|_| LinalgError::Overflow { op: OP })?;
    Ok((
        f.submatrix(0, 0, n, n).to_owned(),
        f.submatrix(0, n, n, n).to_owned(),
    ))
}
