//! The block 1-norm estimator of Higham & Tisseur (2000), Algorithm 2.4 with `t = 2` columns:
//! `‖B‖₁` of an operator known only through products with `B` and `Bᴴ` (`Bᵀ` for real `B`).
//! For complex `B` the sign vectors are `y/|y|` and the test for parallel sign columns is
//! skipped, as in the complex version of the algorithm (Higham & Tisseur, §2.4). Used for `‖A^k‖₁` in
//! the choice of the Padé degree and for the powers of the action's operator; the gradient
//! never depends on it (its choices are constants of the derivative).
//!
//! Tests: the unit tests of `norm.rs`; `crates/linalg/tests/action_forward.rs` (estimated
//! parameters), `action_errors.rs` (small operators), `action_complex.rs` (complex signs).

use crate::Scalar;
use faer::{Mat, MatRef};
use num_traits::Float;

/// Higham–Tisseur block estimator (t = 2) for an implicit n×n operator `B`;
/// `apply(X, false) = B X`, `apply(X, true) = Bᴴ X` on n×2 blocks.
pub(crate) fn onenormest<T, F>(n: usize, apply: F) -> T::Real
where
    T: Scalar,
    F: Fn(MatRef<'_, T>, bool) -> Mat<T>,
{
    const T_COLS: usize = 2;
    const ITMAX: usize = 5;
    let zero = <T::Real as num_traits::Zero>::zero();
    if n == 0 {
        return zero;
    }
    let t = T_COLS.min(n);
    let inv_n = T::one_impl() / T::lit(n as f64);
    // Fixed starting block: ones, and an alternating ±1 pattern (not parallel to ones for n ≥ 2).
    let mut x = Mat::<T>::from_fn(n, t, |i, j| {
        if j == 0 || (i * 7 + 3) % 5 < 2 {
            inv_n
        } else {
            -inv_n
        }
    });
    let mut est_old = zero;
    let mut visited = vec![false; n];
    let mut best_j = 0usize;
    let mut s_old: Option<Mat<T>> = None;
    for k in 0..ITMAX {
        let y = apply(x.as_ref(), false);
        let (mut est, mut arg) = (zero, 0usize);
        for (j, c) in y.col_iter().enumerate() {
            let s = c.iter().fold(zero, |s, v| s + v.modulus());
            if s > est {
                est = s;
                arg = j;
            }
        }
        if k >= 1 && est <= est_old {
            return est_old;
        }
        if k == 0 || est > est_old {
            best_j = arg;
        }
        est_old = est;
        // `x` (so `y`) has fewer than `t` columns once fewer than `t` unvisited unit vectors
        // were left: every block below takes its width from `y`.
        let s = Mat::<T>::from_fn(n, y.ncols(), |i, j| {
            let (v, m) = (y[(i, j)], y[(i, j)].modulus());
            if T::IS_COMPLEX {
                if m > zero {
                    v.scale_real(m.recip())
                } else {
                    T::one_impl()
                }
            } else if v.re() >= zero {
                T::one_impl()
            } else {
                -T::one_impl()
            }
        });
        if let (false, Some(old)) = (T::IS_COMPLEX, &s_old) {
            let parallel = (0..s.ncols()).all(|j| {
                (0..old.ncols()).any(|l| (0..n).all(|i| s[(i, j)] == old[(i, l)]))
                    || (0..old.ncols()).any(|l| (0..n).all(|i| s[(i, j)] == -old[(i, l)]))
            });
            if parallel {
                return est;
            }
        }
        let z = apply(s.as_ref(), true);
        let h: Vec<T::Real> = (0..n)
            .map(|i| (0..z.ncols()).fold(zero, |m, j| m.max(z[(i, j)].modulus())))
            .collect();
        let hmax = h.iter().fold(zero, |m, v| m.max(*v));
        if k >= 1 && h[best_j] >= hmax {
            return est;
        }
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by(|&a, &b| {
            h[b].partial_cmp(&h[a])
                .unwrap_or(core::cmp::Ordering::Equal)
        });
        let fresh: Vec<usize> = order.into_iter().filter(|&i| !visited[i]).take(t).collect();
        if fresh.is_empty() {
            return est;
        }
        x = Mat::<T>::zeros(n, fresh.len());
        for (j, &i) in fresh.iter().enumerate() {
            x[(i, j)] = T::one_impl();
            visited[i] = true;
        }
        best_j = fresh[0];
        s_old = Some(s);
    }
    est_old
}
