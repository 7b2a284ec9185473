//! The small-n fast path of the Taylor family: `exp(A)`, `L(A, E)`, `L(Aᵀ, G)` and the
//! factored adjoint for dense (not triangular, not diagonal) `A` with n ≤ [`SMALL_MAX`], on
//! stack arrays `[[T; N]; N]` with `N = n` a const generic (one instantiation per n, the
//! loops fully unrolled), dispatched from the runtime n.
//!
//! At n = 4 the arithmetic of a whole forward pass is a few hundred multiply–adds; the general
//! path's cost there is overhead (pooled `Mat`s, faer's dispatch, boxed caches, `Vec`s of
//! operands). Here a forward pass allocates exactly once (the cache, which holds the value),
//! and a derivative once (its result).
//!
//! **Same mathematics, same bits.** The scheme and `s` come from the same rule
//! ([`choose_taylor`]); the same straight-line program ([`schemes`]) runs on the same scaled
//! matrix, with the unscaled powers of the selection reused under the same condition; every
//! product sums in the order of [`gemm`](crate::kernels::gemm)'s small loops and every
//! combination in the order of [`lincomb`](crate::expm::lincomb); the derivatives run the
//! tangent program and the squarings of `taylor/mod.rs`. So the result equals the general
//! path's bit for bit (tested in `tests/small.rs`), and every derivative is the exact
//! derivative of the evaluated approximant. The factored adjoint forms `U·Vᵀ` and takes the
//! dense adjoint (at n ≤ [`SMALL_MAX`] the structured route saves little: 9.2 vs 8.4 µs at n = 12).
//!
//! Tests: `crates/linalg/tests/small.rs`.

use crate::Scalar;
use crate::error::LinalgError;
use crate::expm::select::choose_taylor;
use crate::expm::taylor::layout;
use crate::expm::taylor::schemes::{Step, schemes};
use crate::norm::log2_norm1;
use crate::scalar::{pow2, pow2_real, to_f64};
use core::any::Any;
use core::cell::RefCell;
use faer::{Mat, MatRef};

/// Largest n taken by the small path. Measured (dense_n* problems, S24, s = 0; general path
/// vs small path, µs): forward 3.1 vs 0.6 at n = 4, 7.7 vs 2.3 at 8, 16.5 vs 5.8 at 12,
/// 11.1 vs 10.0 at 16; the dense adjoint 14.3 vs 8.7 at 12 but 15.2 vs 40 at 16 (the
/// stack arrays of 2 KiB matrices no longer pay).
pub(crate) const SMALL_MAX: usize = 12;

/// Most nodes of any scheme's program (S30: 14).
const MAX_NODES: usize = 14;

/// Most nodes kept for the derivative (the operands of products; S30: 9).
const MAX_KEPT: usize = 9;

/// Most terms of any combination step.
const MAX_TERMS: usize = 8;

/// An N×N matrix on the stack, column-major: `m[j][i]` is entry `(i, j)`.
type M<T, const N: usize> = [[T; N]; N];

/// The forward pass's cache: the scheme, `s`, and one buffer holding `B = 2⁻ˢA`'s kept program
/// nodes (the operands of products, node 0 = `B` included), the squares `R_0..R_{s−1}` and
/// the value `R_s`, each n×n column-major.
#[derive(Clone, Debug)]
pub(crate) struct Small<T: 'static> {
    pub(crate) n: usize,
    /// Index of the scheme in [`schemes`].
    pub(crate) id: usize,
    /// Number of squarings.
    pub(crate) s: u32,
    /// Number of kept nodes.
    kept: usize,
    data: Vec<T>,
}

/// Runs `$body` with `$N` the const generic equal to the runtime `$n` (2..=[`SMALL_MAX`]).
macro_rules! with_n {
    ($n:expr, $N:ident => $body:expr) => {
        match $n {
            2 => {
                const $N: usize = 2;
                $body
            }
            3 => {
                const $N: usize = 3;
                $body
            }
            4 => {
                const $N: usize = 4;
                $body
            }
            5 => {
                const $N: usize = 5;
                $body
            }
            6 => {
                const $N: usize = 6;
                $body
            }
            7 => {
                const $N: usize = 7;
                $body
            }
            8 => {
                const $N: usize = 8;
                $body
            }
            9 => {
                const $N: usize = 9;
                $body
            }
            10 => {
                const $N: usize = 10;
                $body
            }
            11 => {
                const $N: usize = 11;
                $body
            }
            12 => {
                const $N: usize = 12;
                $body
            }
            n => unreachable!("no small path for n = {n}"),
        }
    };
}

fn zero<T: Scalar, const N: usize>() -> M<T, N> {
    [[T::zero_impl(); N]; N]
}

fn load<T: Scalar, const N: usize>(a: MatRef<'_, T>) -> M<T, N> {
    core::array::from_fn(|j| core::array::from_fn(|i| a[(i, j)]))
}

/// `out ← ` the N×N matrix stored column-major in `a`, or its transpose when `tr`.
fn load_slice<T: Scalar, const N: usize>(out: &mut M<T, N>, a: &[T], tr: bool) {
    let a = &a[..N * N];
    for (j, col) in out.iter_mut().enumerate() {
        for (i, x) in col.iter_mut().enumerate() {
            *x = if tr { a[j + N * i] } else { a[i + N * j] };
        }
    }
}

fn view<T: Scalar, const N: usize>(m: &M<T, N>) -> MatRef<'_, T> {
    MatRef::from_column_major_slice(m.as_flattened(), N, N)
}

fn to_mat<T: Scalar, const N: usize>(m: &M<T, N>) -> Mat<T> {
    let mut out = crate::kernels::small_scratch::<T>(N, N);
    for (j, col) in m.iter().enumerate() {
        for (i, x) in col.iter().enumerate() {
            out[(i, j)] = *x;
        }
    }
    out
}

/// `out ← a·b`, or `out += a·b` when `ACC` (the product summed apart, then added, as
/// `Accum::Add`): each entry summed as [`gemm`](crate::kernels::gemm)'s small loops sum,
/// `0 + a_i0 b_0j + a_i1 b_1j + …`.
#[inline(always)]
fn mul<T: Scalar, const N: usize, const ACC: bool>(out: &mut M<T, N>, a: &M<T, N>, b: &M<T, N>) {
    for (o, bj) in out.iter_mut().zip(b) {
        let mut col = [T::zero_impl(); N];
        for (ap, &bpj) in a.iter().zip(bj) {
            for (c, &aip) in col.iter_mut().zip(ap) {
                *c += aip * bpj;
            }
        }
        if ACC {
            for (o, c) in o.iter_mut().zip(col) {
                *o += c;
            }
        } else {
            *o = col;
        }
    }
}

/// `a·b` in a new array.
#[inline(always)]
fn product<T: Scalar, const N: usize>(a: &M<T, N>, b: &M<T, N>) -> M<T, N> {
    let mut out = zero::<T, N>();
    mul::<T, N, false>(&mut out, a, b);
    out
}

/// `out ← Σ c·x + c₀I` over `nodes`, summed as [`lincomb`](crate::expm::lincomb) sums:
/// left to right from the first term for up to six terms, from zero beyond (its column
/// kernel).
fn lincomb<T: Scalar, const N: usize>(
    out: &mut M<T, N>,
    terms: &[(usize, f64)],
    nodes: &[M<T, N>],
    c0: T,
) {
    // Column by column, the column's sums in registers (term by term over the whole matrix,
    // the accumulator is stored back after every term).
    let m = terms.len();
    assert!(m <= MAX_TERMS, "a combination of {m} terms");
    let mut cs = [T::zero_impl(); MAX_TERMS];
    let mut xs = [&nodes[0]; MAX_TERMS];
    for (t, (k, c)) in terms.iter().enumerate() {
        cs[t] = T::lit(*c);
        xs[t] = &nodes[*k];
    }
    let first = usize::from((1..=6).contains(&m));
    for (j, o) in out.iter_mut().enumerate() {
        let mut col = [T::zero_impl(); N];
        if first == 1 {
            for (c, x) in col.iter_mut().zip(&xs[0][j]) {
                *c = cs[0] * *x;
            }
        }
        for t in first..m {
            for (c, x) in col.iter_mut().zip(&xs[t][j]) {
                *c += cs[t] * *x;
            }
        }
        *o = col;
        // After the store: a scalar store into `col` then its vector reload stalled (perf).
        o[j] += c0;
    }
}

/// `a ← 2^k a`, in the steps of [`scale_pow2`](crate::expm::scale_pow2).
fn scale_pow2<T: Scalar, const N: usize>(a: &mut M<T, N>, k: i32) {
    let mut left = k;
    while left != 0 {
        let step = left.clamp(-100, 100);
        let f = pow2::<T>(step);
        for col in a.iter_mut() {
            for x in col.iter_mut() {
                *x *= f;
            }
        }
        left -= step;
    }
}

fn all_finite<T: Scalar, const N: usize>(m: &M<T, N>) -> bool {
    m.iter().all(|c| c.iter().all(|x| x.is_finite_value()))
}

/// Buffers kept per thread and scalar type for the next forward pass.
const STASH: usize = 4;

/// Largest buffer kept (entries): a cache with thousands of squarings is not kept.
const STASH_MAX_LEN: usize = 1 << 14;

thread_local! {
    /// The buffers of dropped caches: glibc serves a request of 1 KiB or more (a cache at
    /// n = 4 already) from its large bins, after consolidating the fast bins that the
    /// tape's small matrices leave (perf: 10% of an n = 4 value-and-gradient step).
    static STASH_F64: RefCell<Vec<Vec<f64>>> = const { RefCell::new(Vec::new()) };
    static STASH_F32: RefCell<Vec<Vec<f32>>> = const { RefCell::new(Vec::new()) };
}

/// An empty `Vec<T>` with room for `len` entries, from this thread's stash when it has one.
fn take_buffer<T: Scalar>(len: usize) -> Vec<T> {
    fn pop<U>(
        stash: &'static std::thread::LocalKey<RefCell<Vec<Vec<U>>>>,
        len: usize,
    ) -> Option<Vec<U>> {
        stash
            .try_with(|s| {
                let mut s = s.borrow_mut();
                let i = s.iter().position(|b| b.capacity() >= len)?;
                Some(s.swap_remove(i))
            })
            .ok()
            .flatten()
    }
    let mut out: Vec<T> = Vec::new();
    let any: &mut dyn Any = &mut out;
    if let Some(v) = any.downcast_mut::<Vec<f64>>() {
        *v = pop(&STASH_F64, len).unwrap_or_default();
    } else if let Some(v) = any.downcast_mut::<Vec<f32>>() {
        *v = pop(&STASH_F32, len).unwrap_or_default();
    }
    out.clear();
    out.reserve_exact(len);
    out
}

/// Gives `buf` to this thread's stash (or frees it when the stash is full or `buf` large).
fn give_buffer<T: 'static>(mut buf: Vec<T>) {
    fn push<U>(stash: &'static std::thread::LocalKey<RefCell<Vec<Vec<U>>>>, buf: Vec<U>) {
        if buf.capacity() == 0 || buf.capacity() > STASH_MAX_LEN {
            return;
        }
        let _ = stash.try_with(|s| {
            let mut s = s.borrow_mut();
            if s.len() < STASH {
                s.push(buf);
            }
        });
    }
    let any: &mut dyn Any = &mut buf;
    if let Some(v) = any.downcast_mut::<Vec<f64>>() {
        push(&STASH_F64, core::mem::take(v));
    } else if let Some(v) = any.downcast_mut::<Vec<f32>>() {
        push(&STASH_F32, core::mem::take(v));
    }
}

impl<T: 'static> Drop for Small<T> {
    /// The buffer goes back to the thread's stash for the next forward pass.
    fn drop(&mut self) {
        give_buffer(core::mem::take(&mut self.data));
    }
}

/// Largest complex n on the small path: its scalar complex loops beat the general path's
/// faer kernels at n = 4 (a c64 GRAPE slice: 0.8 µs forward vs 2.5 µs) but not at n = 8
/// (5.8 µs vs 4.0 µs), measured.
pub(crate) const COMPLEX_MAX: usize = 4;

/// Whether the small path takes an n×n input (1×1 input is diagonal).
pub(crate) fn fits(n: usize) -> bool {
    (2..=SMALL_MAX).contains(&n)
}

impl<T: Scalar> Small<T> {
    /// The forward pass on `a` (n×n with [`fits`], finite, neither diagonal nor triangular).
    pub(crate) fn new(a: MatRef<'_, T>) -> Self {
        with_n!(a.nrows(), N => forward::<T, N>(a))
    }

    /// `exp(A)`.
    pub(crate) fn value(&self) -> MatRef<'_, T> {
        let nn = self.n * self.n;
        let off = (self.kept + self.s as usize) * nn;
        MatRef::from_column_major_slice(&self.data[off..off + nn], self.n, self.n)
    }

    /// `L(Ã, E)`, `Ã = A` or `Aᵀ` when `tr`.
    pub(crate) fn frechet(&self, e: MatRef<'_, T>, tr: bool) -> Mat<T> {
        with_n!(self.n, N => to_mat(&self.derivative::<N>(load::<T, N>(e), tr)))
    }

    /// `L(Aᵀ, U·Vᵀ)` (u, v n×k, finite), through the dense `U·Vᵀ`; `NonFinite` when that
    /// overflows (as the general path's dense fallback reports it).
    pub(crate) fn adjoint_factored(
        &self,
        u: MatRef<'_, T>,
        v: MatRef<'_, T>,
    ) -> Result<Mat<T>, LinalgError> {
        with_n!(self.n, N => {
            // U·Vᵀ summed as gemm's loops sum.
            let g: M<T, N> = core::array::from_fn(|j| {
                core::array::from_fn(|i| {
                    (0..u.ncols()).fold(T::zero_impl(), |acc, c| acc + u[(i, c)] * v[(j, c)])
                })
            });
            if !all_finite(&g) {
                return Err(LinalgError::NonFinite {
                    op: "expm_frechet_adjoint",
                });
            }
            Ok(to_mat(&self.derivative::<N>(g, true)))
        })
    }

    /// Kept program node `node` (an operand of a product; node 0 is `B = 2⁻ˢA`), n×n
    /// column-major (for `Expm::second_order_truncation`).
    pub(crate) fn node(&self, node: usize) -> MatRef<'_, T> {
        let keep = &layout(self.id).keep;
        debug_assert!(keep[node], "node {node} is not kept");
        let slot = keep[..node].iter().filter(|k| **k).count();
        let nn = self.n * self.n;
        MatRef::from_column_major_slice(&self.data[slot * nn..(slot + 1) * nn], self.n, self.n)
    }

    /// The hyper-dual program and squarings (`expm/second.rs`, docs/math.md §18) on stack
    /// arrays: `(Ẋ₁, Ẋ₂, Ẍ₁₂)` of `P(B̃)^{2ˢ}` along `E₁`, `E₂`, with the mixed channel seeded
    /// with `c` (zero when `None`), `B̃ = B` or `Bᵀ` when `tr`. The first channel runs the
    /// operations of [`Small::frechet`] in the same order: bitwise its result.
    pub(crate) fn hyper(
        &self,
        e1: MatRef<'_, T>,
        e2: MatRef<'_, T>,
        c: Option<MatRef<'_, T>>,
        tr: bool,
    ) -> [Mat<T>; 3] {
        with_n!(self.n, N => {
            let c = c.map_or_else(zero::<T, N>, load::<T, N>);
            let [x, y, z] = self.hyper_n::<N>([load::<T, N>(e1), load::<T, N>(e2), c], tr);
            [to_mat(&x), to_mat(&y), to_mat(&z)]
        })
    }

    fn hyper_n<const N: usize>(&self, seeds: [M<T, N>; 3], tr: bool) -> [M<T, N>; 3] {
        let nn = N * N;
        let steps = &schemes()[self.id].steps;
        let keep = &layout(self.id).keep;
        let mut vals = [zero::<T, N>(); MAX_KEPT];
        let mut slot = [0usize; MAX_NODES];
        let kept = keep
            .iter()
            .enumerate()
            .filter(|(_, k)| **k)
            .map(|(node, _)| node);
        for (i, node) in kept.enumerate() {
            load_slice(&mut vals[i], &self.data[i * nn..], tr);
            slot[node] = i;
        }
        let mut t = [[zero::<T, N>(); MAX_NODES]; 3];
        for (ch, seed) in t.iter_mut().zip(seeds) {
            ch[0] = seed;
            scale_pow2(&mut ch[0], -(self.s as i32));
        }
        for (k, step) in steps.iter().enumerate() {
            let [t1, t2, t12] = &mut t;
            let (d1, r1) = t1.split_at_mut(k + 1);
            let (d2, r2) = t2.split_at_mut(k + 1);
            let (d12, r12) = t12.split_at_mut(k + 1);
            match step {
                Step::Prod(i, j) => {
                    let (xi, xj) = (&vals[slot[*i]], &vals[slot[*j]]);
                    mul::<T, N, false>(&mut r1[0], &d1[*i], xj);
                    mul::<T, N, true>(&mut r1[0], xi, &d1[*j]);
                    mul::<T, N, false>(&mut r2[0], &d2[*i], xj);
                    mul::<T, N, true>(&mut r2[0], xi, &d2[*j]);
                    mul::<T, N, false>(&mut r12[0], &d12[*i], xj);
                    mul::<T, N, true>(&mut r12[0], xi, &d12[*j]);
                    mul::<T, N, true>(&mut r12[0], &d1[*i], &d2[*j]);
                    mul::<T, N, true>(&mut r12[0], &d2[*i], &d1[*j]);
                }
                // The identity term's derivatives are zero.
                Step::Comb(terms, _) => {
                    lincomb(&mut r1[0], terms, d1, T::zero_impl());
                    lincomb(&mut r2[0], terms, d2, T::zero_impl());
                    lincomb(&mut r12[0], terms, d12, T::zero_impl());
                }
            }
        }
        let last = steps.len();
        let [mut l1, mut l2, mut l12] = [t[0][last], t[1][last], t[2][last]];
        let mut r = zero::<T, N>();
        let [mut n1, mut n2, mut n12] = [zero::<T, N>(); 3];
        for i in 0..self.s as usize {
            load_slice(&mut r, &self.data[(self.kept + i) * nn..], tr);
            mul::<T, N, false>(&mut n1, &r, &l1);
            mul::<T, N, true>(&mut n1, &l1, &r);
            mul::<T, N, false>(&mut n2, &r, &l2);
            mul::<T, N, true>(&mut n2, &l2, &r);
            mul::<T, N, false>(&mut n12, &r, &l12);
            mul::<T, N, true>(&mut n12, &l12, &r);
            mul::<T, N, true>(&mut n12, &l1, &l2);
            mul::<T, N, true>(&mut n12, &l2, &l1);
            core::mem::swap(&mut l1, &mut n1);
            core::mem::swap(&mut l2, &mut n2);
            core::mem::swap(&mut l12, &mut n12);
        }
        [l1, l2, l12]
    }

    /// The tangent program of the scheme on `2⁻ˢE`, then the squarings `L ← R_iL + LR_i`
    /// (on transposed nodes and squares when `tr`).
    fn derivative<const N: usize>(&self, e: M<T, N>, tr: bool) -> M<T, N> {
        let nn = N * N;
        let steps = &schemes()[self.id].steps;
        let keep = &layout(self.id).keep;
        // The kept nodes, by slot (`slot[node]`), transposed when `tr`.
        let mut vals = [zero::<T, N>(); MAX_KEPT];
        let mut slot = [0usize; MAX_NODES];
        let kept = keep
            .iter()
            .enumerate()
            .filter(|(_, k)| **k)
            .map(|(node, _)| node);
        for (i, node) in kept.enumerate() {
            load_slice(&mut vals[i], &self.data[i * nn..], tr);
            slot[node] = i;
        }
        let mut tan = [zero::<T, N>(); MAX_NODES];
        tan[0] = e;
        scale_pow2(&mut tan[0], -(self.s as i32));
        for (k, step) in steps.iter().enumerate() {
            let (done, rest) = tan.split_at_mut(k + 1);
            let out = &mut rest[0];
            match step {
                Step::Prod(i, j) => {
                    mul::<T, N, false>(out, &done[*i], &vals[slot[*j]]);
                    mul::<T, N, true>(out, &vals[slot[*i]], &done[*j]);
                }
                // The identity term's derivative is zero.
                Step::Comb(terms, _) => lincomb(out, terms, done, T::zero_impl()),
            }
        }
        let mut l = tan[steps.len()];
        let (mut r, mut next) = (zero::<T, N>(), zero::<T, N>());
        for i in 0..self.s as usize {
            load_slice(&mut r, &self.data[(self.kept + i) * nn..], tr);
            mul::<T, N, false>(&mut next, &r, &l);
            mul::<T, N, true>(&mut next, &l, &r);
            core::mem::swap(&mut l, &mut next);
        }
        l
    }
}

/// The forward pass at n = N: [`choose_taylor`], then `Taylor::new`'s program and squarings.
fn forward<T: Scalar, const N: usize>(input: MatRef<'_, T>) -> Small<T> {
    let a0 = load::<T, N>(input);
    // The selection's unscaled powers A², A³, A⁴, A⁵.
    let mut pows = [zero::<T, N>(); 4];
    let mut formed = 0usize;
    let log2_a = to_f64(log2_norm1(input));
    let (id, s) = choose_taylor::<T>(log2_a, |k| {
        let m = match k {
            2 => product(&a0, &a0),
            3 => product(&pows[0], &a0),
            4 => product(&pows[0], &pows[0]),
            _ => product(&pows[2], &a0),
        };
        pows[k - 2] = m;
        formed = k - 1;
        to_f64(log2_norm1(view(&m)))
    });
    let scheme = &schemes()[id];
    let lay = layout(id);
    let mut nodes = [zero::<T, N>(); MAX_NODES];
    nodes[0] = a0;
    scale_pow2(&mut nodes[0], -(s as i32));
    let top = lay.power.iter().flatten().copied().max().unwrap_or(1);
    let exponent = -((top * s as usize).min(2000) as i32);
    let reuse = s == 0
        || (pow2_real::<T>(exponent) >= <T::Real as num_traits::Float>::min_positive_value()
            && pows[..formed].iter().all(all_finite));
    for (k, step) in scheme.steps.iter().enumerate() {
        let node = k + 1;
        let (done, rest) = nodes.split_at_mut(node);
        let out = &mut rest[0];
        match step {
            Step::Prod(i, j) => {
                match lay.power[node].filter(|&p| reuse && (2..=formed + 1).contains(&p)) {
                    Some(p) => {
                        *out = pows[p - 2];
                        if s > 0 {
                            scale_pow2(out, -(p as i32) * s as i32);
                        }
                    }
                    None => mul::<T, N, false>(out, &done[*i], &done[*j]),
                }
            }
            Step::Comb(terms, c0) => lincomb(out, terms, done, T::lit(*c0)),
        }
    }
    let mut r = nodes[scheme.steps.len()];
    let kept = lay.keep.iter().filter(|&&k| k).count();
    let mut data = take_buffer::<T>((kept + s as usize + 1) * N * N);
    for (i, _) in lay.keep.iter().enumerate().filter(|(_, k)| **k) {
        data.extend_from_slice(nodes[i].as_flattened());
    }
    let mut next = zero::<T, N>();
    for _ in 0..s {
        mul::<T, N, false>(&mut next, &r, &r);
        data.extend_from_slice(r.as_flattened());
        core::mem::swap(&mut r, &mut next);
    }
    data.extend_from_slice(r.as_flattened());
    Small {
        n: N,
        id,
        s,
        kept,
        data,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_program_fits_the_node_arrays() {
        for (id, s) in schemes().iter().enumerate() {
            assert!(s.steps.len() < MAX_NODES);
            assert!(layout(id).keep.iter().filter(|k| **k).count() <= MAX_KEPT);
            for st in &s.steps {
                if let Step::Comb(terms, _) = st {
                    assert!(terms.len() <= MAX_TERMS);
                }
            }
        }
    }
}
