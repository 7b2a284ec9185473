//! Column-major slice kernels for the per-matrix loops of a batch: no views, no dispatch, no
//! allocation (a 4×4 product is 64 multiply–adds; faer's plan would cost more than that).

use crate::Real;
use faer::{Accum, MatMut, MatRef, Par};

/// Largest `n` for which [`mul`] runs its own loops; above it, faer's kernel.
const OWN_LOOPS_UP_TO: usize = 16;

/// [`mul`] for a size known at compile time: the loops unroll and vectorise (a 4×4 product
/// in ~10 ns instead of ~40 ns with runtime bounds).
fn mul_fixed<T: Real, const N: usize>(dst: &mut [T], a: &[T], b: &[T], tr_a: bool, acc: bool) {
    let (dst, a, b) = (&mut dst[..N * N], &a[..N * N], &b[..N * N]);
    for j in 0..N {
        let mut col = [T::zero(); N];
        if acc {
            col.copy_from_slice(&dst[j * N..(j + 1) * N]);
        }
        if tr_a {
            for (i, c) in col.iter_mut().enumerate() {
                let mut s = T::zero();
                for p in 0..N {
                    s += a[i * N + p] * b[j * N + p];
                }
                *c += s;
            }
        } else {
            for p in 0..N {
                let bpj = b[j * N + p];
                for (i, c) in col.iter_mut().enumerate() {
                    *c += a[p * N + i] * bpj;
                }
            }
        }
        dst[j * N..(j + 1) * N].copy_from_slice(&col);
    }
}

/// `dst = a·b` for n×n column-major slices (`tr_a`: use `aᵀ`), or `dst += a·b` when `acc`.
pub(crate) fn mul<T: Real>(dst: &mut [T], a: &[T], b: &[T], n: usize, tr_a: bool, acc: bool) {
    match n {
        1 => return mul_fixed::<T, 1>(dst, a, b, tr_a, acc),
        2 => return mul_fixed::<T, 2>(dst, a, b, tr_a, acc),
        3 => return mul_fixed::<T, 3>(dst, a, b, tr_a, acc),
        4 => return mul_fixed::<T, 4>(dst, a, b, tr_a, acc),
        5 => return mul_fixed::<T, 5>(dst, a, b, tr_a, acc),
        6 => return mul_fixed::<T, 6>(dst, a, b, tr_a, acc),
        7 => return mul_fixed::<T, 7>(dst, a, b, tr_a, acc),
        8 => return mul_fixed::<T, 8>(dst, a, b, tr_a, acc),
        _ => {}
    }
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

/// [`mul_add_bt`] for a size known at compile time.
fn mul_add_bt_fixed<T: Real, const N: usize>(dst: &mut [T], a: &[T], b: &[T]) {
    let (dst, a, b) = (&mut dst[..N * N], &a[..N * N], &b[..N * N]);
    for j in 0..N {
        let mut col = [T::zero(); N];
        col.copy_from_slice(&dst[j * N..(j + 1) * N]);
        for p in 0..N {
            let bjp = b[p * N + j];
            for (i, c) in col.iter_mut().enumerate() {
                *c += a[p * N + i] * bjp;
            }
        }
        dst[j * N..(j + 1) * N].copy_from_slice(&col);
    }
}

/// `dst += a·bᵀ` for n×n column-major slices.
pub(crate) fn mul_add_bt<T: Real>(dst: &mut [T], a: &[T], b: &[T], n: usize) {
    match n {
        1 => return mul_add_bt_fixed::<T, 1>(dst, a, b),
        2 => return mul_add_bt_fixed::<T, 2>(dst, a, b),
        3 => return mul_add_bt_fixed::<T, 3>(dst, a, b),
        4 => return mul_add_bt_fixed::<T, 4>(dst, a, b),
        5 => return mul_add_bt_fixed::<T, 5>(dst, a, b),
        6 => return mul_add_bt_fixed::<T, 6>(dst, a, b),
        7 => return mul_add_bt_fixed::<T, 7>(dst, a, b),
        8 => return mul_add_bt_fixed::<T, 8>(dst, a, b),
        _ => {}
    }
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
pub(crate) fn square_in_place<T: Real>(x: &mut [T], tmp: &mut [T], n: usize) {
    mul(tmp, x, x, n, false, false);
    x.copy_from_slice(tmp);
}

/// The adjoint of one squaring `Y = X²`: `X̄ = Ȳ·Xᵀ + Xᵀ·Ȳ`, in place of `ybar`.
pub(crate) fn square_adjoint<T: Real>(ybar: &mut [T], x: &[T], tmp: &mut [T], n: usize) {
    mul(tmp, x, ybar, n, true, false);
    mul_add_bt(tmp, ybar, x, n);
    ybar.copy_from_slice(tmp);
}
