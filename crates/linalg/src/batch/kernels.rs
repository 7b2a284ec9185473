//! Column-major slice kernels for the per-matrix loops of a batch: no views, no dispatch, no
//! allocation (a 4×4 product is 64 multiply–adds; faer's plan would cost more than that).

use crate::Scalar;
use faer::{Accum, MatMut, MatRef, Par};

/// Largest `n` for which [`mul`] runs its own loops; above it, faer's kernel.
const OWN_LOOPS_UP_TO: usize = 16;

/// `dst = a·b` for n×n column-major slices (`tr_a`: use `aᵀ`), or `dst += a·b` when `acc`.
pub(crate) fn mul<T: Scalar>(dst: &mut [T], a: &[T], b: &[T], n: usize, tr_a: bool, acc: bool) {
    if n > OWN_LOOPS_UP_TO {
        let av = MatRef::from_column_major_slice(a, n, n);
        let av = if tr_a { av.transpose() } else { av };
        let bv = MatRef::from_column_major_slice(b, n, n);
        let dv = MatMut::from_column_major_slice_mut(dst, n, n);
        let accum = if acc { Accum::Add } else { Accum::Replace };
        faer::linalg::matmul::matmul(dv, accum, av, bv, T::one(), Par::Seq);
        return;
    }
    for j in 0..n {
        let bj = &b[j * n..(j + 1) * n];
        let dj = &mut dst[j * n..(j + 1) * n];
        if !acc {
            dj.fill(T::zero());
        }
        if tr_a {
            // (aᵀb)_{ij} = a[:, i]·b[:, j]
            for (i, d) in dj.iter_mut().enumerate() {
                let ai = &a[i * n..(i + 1) * n];
                *d += ai.iter().zip(bj).fold(T::zero(), |s, (&x, &y)| s + x * y);
            }
        } else {
            for (p, &bpj) in bj.iter().enumerate() {
                let ap = &a[p * n..(p + 1) * n];
                for (d, &x) in dj.iter_mut().zip(ap) {
                    *d += x * bpj;
                }
            }
        }
    }
}

/// `dst += a·bᵀ` for n×n column-major slices.
pub(crate) fn mul_add_bt<T: Scalar>(dst: &mut [T], a: &[T], b: &[T], n: usize) {
    if n > OWN_LOOPS_UP_TO {
        let av = MatRef::from_column_major_slice(a, n, n);
        let bv = MatRef::from_column_major_slice(b, n, n).transpose();
        let dv = MatMut::from_column_major_slice_mut(dst, n, n);
        faer::linalg::matmul::matmul(dv, Accum::Add, av, bv, T::one(), Par::Seq);
        return;
    }
    // (a·bᵀ)[:, j] = Σ_p a[:, p]·b[j, p]
    for j in 0..n {
        let dj = &mut dst[j * n..(j + 1) * n];
        for p in 0..n {
            let bjp = b[p * n + j];
            let ap = &a[p * n..(p + 1) * n];
            for (d, &x) in dj.iter_mut().zip(ap) {
                *d += x * bjp;
            }
        }
    }
}

/// `x ← x²` through the scratch `tmp` (both n×n).
pub(crate) fn square_in_place<T: Scalar>(x: &mut [T], tmp: &mut [T], n: usize) {
    mul(tmp, x, x, n, false, false);
    x.copy_from_slice(tmp);
}

/// The adjoint of one squaring `Y = X²`: `X̄ = Ȳ·Xᵀ + Xᵀ·Ȳ`, in place of `ybar`.
pub(crate) fn square_adjoint<T: Scalar>(ybar: &mut [T], x: &[T], tmp: &mut [T], n: usize) {
    mul(tmp, x, ybar, n, true, false);
    mul_add_bt(tmp, ybar, x, n);
    ybar.copy_from_slice(tmp);
}
