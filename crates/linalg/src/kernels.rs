//! Small wrappers over faer's kernels with an explicit parallelism policy.
//!
//! **Internal**: hidden from the documentation and not part of the public API (it may change
//! in any release); public only so that `expgrad-tape`'s matrix product shares the policy.
//!
//! faer's operators and `partial_piv_lu()` read the *global* parallelism (Rayon by default),
//! which costs more than it gives below n ≈ 128 on a 2-core machine (a 64×64 LU: 15 µs
//! sequential, 72 µs with Rayon). Everything here takes its [`Par`] from [`par_for`].

use faer::dyn_stack::{MemBuffer, MemStack};
use faer::linalg::lu::partial_pivoting::{factor, solve};
use faer::linalg::matmul::matmul_with_conj;
use faer::perm::PermRef;
use faer::traits::ComplexField;
use faer::{Accum, Conj, Mat, MatMut, MatRef, Par};

/// Size from which matrix products and the LU use all Rayon threads (measured: at n = 128
/// a product takes 66 µs with Rayon vs 91 µs sequential on an idle 2-core box).
pub const PARALLEL_FROM: usize = 128;

/// The parallelism expgrad uses for an n×n kernel: sequential below [`PARALLEL_FROM`], all
/// Rayon threads from there (faer's global default, Rayon everywhere, is 1.5–6× slower for
/// 32 ≤ n ≤ 64 on 2 cores).
pub fn par_for(n: usize) -> Par {
    if n >= PARALLEL_FROM {
        Par::rayon(0)
    } else {
        Par::Seq
    }
}

/// `a·b` in a new matrix, with the given parallelism: the "allocate and multiply" helper of
/// the crates (the forward pass takes its matrices from the per-thread pool instead; a
/// small result comes from the pool of small matrices, [`small_scratch`]).
pub fn product<T: ComplexField + 'static>(a: MatRef<'_, T>, b: MatRef<'_, T>, par: Par) -> Mat<T> {
    let mut out = small_scratch(a.nrows(), b.ncols());
    matmul_into(out.as_mut(), a, b, par);
    out
}

/// An r×c matrix whose every entry the caller overwrites before reading: from this thread's
/// pool of small matrices (at most 256 entries) when it holds one of that shape, else new
/// zeros. With [`small_recycle`], how the tape's small node values and cotangents avoid
/// glibc's aligned-allocation path.
pub fn small_scratch<T: ComplexField + 'static>(r: usize, c: usize) -> Mat<T> {
    crate::memory::small_take(r, c).unwrap_or_else(|| Mat::zeros(r, c))
}

/// Gives `m` to this thread's pool of small matrices (kept when it has at most 256 entries,
/// else freed; a full pool frees its oldest entry instead).
pub fn small_recycle<T: ComplexField + 'static>(m: Mat<T>) {
    crate::memory::small_give(m)
}

/// `dst = a · b`.
pub(crate) fn matmul_into<T: ComplexField + 'static>(
    dst: MatMut<'_, T>,
    a: MatRef<'_, T>,
    b: MatRef<'_, T>,
    par: Par,
) {
    gemm(dst, Accum::Replace, a, b, T::one_impl(), par);
}

/// Largest dimension for which [`gemm`] uses plain loops: below it faer's dispatch (plan,
/// packing, SIMD selection) costs more than the arithmetic (a 4×4 product: ~25 ns in loops,
/// ~150 ns through faer, measured).
pub const SMALL_GEMM: usize = 12;

/// `dst = α·a·b` (`Replace`) or `dst += α·a·b` (`Add`): faer's kernel, or plain loops when
/// every dimension is at most [`SMALL_GEMM`]. The public entry for the other expgrad crates.
pub fn gemm<T: ComplexField>(
    dst: MatMut<'_, T>,
    accum: Accum,
    a: MatRef<'_, T>,
    b: MatRef<'_, T>,
    alpha: T,
    par: Par,
) {
    gemm_conj(dst, accum, a, false, b, false, alpha, par)
}

/// [`gemm`] with `a` and/or `b` conjugated entrywise on the fly (`conj(a)·b`, …): with a
/// transposed view, the products `aᴴ·b` and `a·bᴴ` of the complex VJPs without a copy. The
/// flags are ignored for real types.
#[allow(clippy::too_many_arguments)]
pub fn gemm_conj<T: ComplexField>(
    mut dst: MatMut<'_, T>,
    accum: Accum,
    a: MatRef<'_, T>,
    conj_a: bool,
    b: MatRef<'_, T>,
    conj_b: bool,
    alpha: T,
    par: Par,
) {
    let (conj_a, conj_b) = (conj_a && !T::IS_REAL, conj_b && !T::IS_REAL);
    let (m, k, n) = (a.nrows(), a.ncols(), b.ncols());
    // Complex products always go to faer (its nano-gemm kernels beat plain loops at every
    // size for c64: 129 vs 264 ns at n = 4, 437 vs 1417 ns at n = 8, measured), as do
    // conjugated operands.
    if m.max(k).max(n) > SMALL_GEMM || !T::IS_REAL || conj_a || conj_b {
        let flag = |c: bool| if c { Conj::Yes } else { Conj::No };
        matmul_with_conj(dst, accum, a, flag(conj_a), b, flag(conj_b), alpha, par);
        return;
    }
    let one = T::one_impl();
    for j in 0..n {
        let mut col: [T; SMALL_GEMM] = core::array::from_fn(|_| T::zero_impl());
        for p in 0..k {
            let bpj = b[(p, j)].clone();
            for (i, c) in col.iter_mut().enumerate().take(m) {
                *c = c.clone() + a[(i, p)].clone() * bpj.clone();
            }
        }
        for (i, c) in col.iter().enumerate().take(m) {
            let v = if alpha == one {
                c.clone()
            } else {
                alpha.clone() * c.clone()
            };
            dst[(i, j)] = match accum {
                Accum::Replace => v,
                Accum::Add => dst[(i, j)].clone() + v,
            };
        }
    }
}

/// The entrywise complex conjugate of `a` in a new matrix (a copy for real scalars): the
/// conjugations of the complex adjoints, for every crate.
pub fn conjugated<T: crate::Scalar>(a: MatRef<'_, T>) -> Mat<T> {
    a.map(|x: &T| x.conjugate())
}

/// `dst += alpha · a · b`.
pub(crate) fn matmul_acc<T: ComplexField + 'static>(
    dst: MatMut<'_, T>,
    a: MatRef<'_, T>,
    b: MatRef<'_, T>,
    alpha: T,
    par: Par,
) {
    gemm(dst, Accum::Add, a, b, alpha, par);
}

/// LU with partial pivoting `P Q = L U`, factored and solved with an explicit [`Par`].
#[derive(Clone, Debug)]
pub(crate) struct Lu<T> {
    lu: Mat<T>,
    perm: Vec<usize>,
    perm_inv: Vec<usize>,
    par: Par,
}

impl<T: ComplexField + 'static> Lu<T> {
    /// Factors `q` (consumed; n×n).
    pub(crate) fn new(mut q: Mat<T>) -> Self {
        let n = q.nrows();
        let par = par_for(n);
        let mut perm = vec![0usize; n];
        let mut perm_inv = vec![0usize; n];
        let req = factor::lu_in_place_scratch::<usize, T>(n, n, par, Default::default());
        let mut buf = MemBuffer::new(req);
        factor::lu_in_place(
            q.as_mut(),
            &mut perm,
            &mut perm_inv,
            par,
            MemStack::new(&mut buf),
            Default::default(),
        );
        Self {
            lu: q,
            perm,
            perm_inv,
            par,
        }
    }

    fn perm(&self) -> PermRef<'_, usize> {
        PermRef::new_checked(&self.perm, &self.perm_inv, self.perm.len())
    }

    /// Moves the factored matrix out (for recycling); the `Lu` is unusable afterwards.
    pub(crate) fn take_matrix(&mut self) -> Mat<T> {
        core::mem::replace(&mut self.lu, Mat::new())
    }

    /// `rhs ← Q⁻¹ rhs`.
    pub(crate) fn solve_in_place(&self, rhs: MatMut<'_, T>) {
        let n = self.lu.nrows();
        let req = solve::solve_in_place_scratch::<usize, T>(n, rhs.ncols(), self.par);
        let mut buf = MemBuffer::new(req);
        let lu = self.lu.as_ref();
        solve::solve_in_place(lu, lu, self.perm(), rhs, self.par, MemStack::new(&mut buf));
    }

    /// `rhs ← Q⁻ᵀ rhs` (the transpose, also for complex `Q`).
    pub(crate) fn solve_transpose_in_place(&self, rhs: MatMut<'_, T>) {
        let n = self.lu.nrows();
        let req = solve::solve_transpose_in_place_scratch::<usize, T>(n, rhs.ncols(), self.par);
        let mut buf = MemBuffer::new(req);
        let lu = self.lu.as_ref();
        solve::solve_transpose_in_place(
            lu,
            lu,
            self.perm(),
            rhs,
            self.par,
            MemStack::new(&mut buf),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lu_solves_both_ways() {
        let q = faer::mat![[4.0, 1.0, 0.5], [2.0, 5.0, 1.0], [0.1, 3.0, 6.0f64]];
        let b = faer::mat![[1.0, 2.0], [3.0, 4.0], [5.0, 6.0f64]];
        let lu = Lu::new(q.clone());
        let mut x = b.clone();
        lu.solve_in_place(x.as_mut());
        assert!((&q * &x - &b).norm_max() < 1e-14);
        let mut y = b.clone();
        lu.solve_transpose_in_place(y.as_mut());
        assert!((q.transpose() * &y - &b).norm_max() < 1e-14);
    }
}
