//! The full Jacobian `∂(exp(Diag(d)·A)·v)/∂d` in O(n³), outside the tape.
//!
//! Tests: `crates/diag/tests/jacobian.rs`.
use expgrad_linalg::{LinalgError, Real, try_expm_diag_jacobian};
use faer::{Mat, MatRef};

/// `J = ∂w/∂d` for `w = exp(Diag(d)·A)·v` (d n×1, A n×n, v n×1): `J[i, k] = ∂w_i/∂d_k`.
///
/// `w.jacobian(d)` on the tape runs n reverse sweeps (O(n⁴)); this uses the row-rank-one
/// structure of `∂X/∂d_k = e_k a_kᵀ` to get all n columns from one factored exponential in
/// about the cost of two (see [`Expm::frechet_row_jacobian`](expgrad_linalg::Expm::frechet_row_jacobian)). Panics naming the op and the
/// shapes on a shape mismatch, or on non-finite input or overflow; see [`try_expm_jacobian`].
///
/// ```
/// use expgrad_diag::{diag_mul, expm_jacobian};
/// use expgrad_tape::Tape;
/// use faer::mat;
///
/// let (d, a, v) = (mat![[0.5], [1.5f64]], mat![[-1.0, 1.0], [2.0, -2.0]], mat![[1.0], [0.0]]);
/// let j = expm_jacobian(d.as_ref(), a.as_ref(), v.as_ref());
/// // The same numbers as n reverse sweeps through the tape.
/// let tape = Tape::new();
/// let dv = tape.var(d.clone());
/// let w = diag_mul(dv, tape.constant(a.clone())).expm().matmul(tape.constant(v.clone()));
/// assert!((&j - w.jacobian(dv)).norm_max() < 1e-14);
/// ```
#[track_caller]
pub fn expm_jacobian<T: Real>(d: MatRef<'_, T>, a: MatRef<'_, T>, v: MatRef<'_, T>) -> Mat<T> {
    match try_expm_jacobian(d, a, v) {
        Ok(j) => j,
        Err(e) => panic!("{e}"),
    }
}

/// Fallible [`expm_jacobian`]: the errors of
/// [`try_expm_diag_jacobian`](expgrad_linalg::try_expm_diag_jacobian), which it calls (the one
/// Jacobian route, in linalg; no tape is involved, so the error is a `LinalgError`).
pub fn try_expm_jacobian<T: Real>(
    d: MatRef<'_, T>,
    a: MatRef<'_, T>,
    v: MatRef<'_, T>,
) -> Result<Mat<T>, LinalgError> {
    try_expm_diag_jacobian(d, a, v)
}
