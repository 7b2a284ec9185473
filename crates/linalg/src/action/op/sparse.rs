//! [`LinOp`] for faer's sparse matrices (CSC and CSR), with hand-written product loops.
//!
//! A compressed matrix stores "outer" slices (columns for CSC, rows for CSR) of (inner index,
//! value) pairs. Two loops cover the four products: *gather*, `out[o] = Σ val·x[inner]` over
//! each outer slice (CSR·x, CSCᵀ·x), and *scatter*, `out[inner] += val·x[o]` (CSC·x, CSRᵀ·x).
//! Both run on contiguous column slices of the n×k blocks. Measured against faer's
//! `sparse_dense_matmul` (one thread, n = 10⁵, nnz = 5·10⁵ random, k = 1, best of 30, thread
//! CPU time): CSR `X·x` 0.65 vs 0.67 ms, CSR `Xᵀ·x` 0.72 vs 0.73 ms, CSC `X·x` 1.14 vs
//! 1.16 ms, CSC `Xᵀ·x` 1.06 vs 1.11 ms — as fast or slightly faster in every direction, and
//! `Xᵀ·x` costs about what `X·x` costs, which the reverse pass needs. CSR is the faster
//! storage for the same pattern.
//!
//! Tests: `crates/linalg/tests/{action_forward,action_reverse,action_errors,action_complex}.rs`.

use super::{GradLinOp, LinOp};
use crate::Scalar;
use crate::action::adjoint::SparsePatternCotangent;
use faer::sparse::{SparseColMat, SparseColMatRef, SparseRowMat, SparseRowMatRef};
use faer::{MatMut, MatRef};
use rayon::prelude::*;

/// The index types of the sparse operators: `usize` (faer's default) and `u32` (a third less
/// memory traffic per stored entry, for n < 2³²).
pub(crate) trait SpIdx: Copy + Send + Sync + 'static {
    fn ix(self) -> usize;
}
impl SpIdx for usize {
    #[inline(always)]
    fn ix(self) -> usize {
        self
    }
}
impl SpIdx for u32 {
    #[inline(always)]
    fn ix(self) -> usize {
        self as usize
    }
}

/// Below this many stored entries × right-hand sides a product runs on the calling thread
/// (one product at 2¹⁶ entries takes ~50 µs, against a few µs for a rayon fork–join).
pub(crate) const PAR_WORK: usize = 1 << 16;

/// The raw compressed storage of a sparse matrix, outer slices × inner indices.
#[derive(Clone, Copy)]
pub(crate) struct Compressed<'a, T, I = usize> {
    n_outer: usize,
    n_inner: usize,
    ptr: &'a [I],
    nnz: Option<&'a [I]>,
    idx: &'a [I],
    val: &'a [T],
}

/// The operands of one fused product `out = Diag(left)·P·Diag(right)·x`, `raw = P·Diag(right)·x`
/// (`P` the gather or the scatter of a [`Compressed`]), as contiguous column slices.
struct Operands<'s, 'x, T> {
    x: &'s [&'x [T]],
    left: Option<&'s [T]>,
    right: Option<&'s [T]>,
}

impl<'a, T: Scalar, I: SpIdx> Compressed<'a, T, I> {
    pub(crate) fn csc(a: SparseColMatRef<'a, I, T>) -> Self
    where
        I: faer::Index,
    {
        let s = a.symbolic();
        Self {
            n_outer: a.ncols(),
            n_inner: a.nrows(),
            ptr: s.col_ptr(),
            nnz: s.col_nnz(),
            idx: s.row_idx(),
            val: a.val(),
        }
    }

    pub(crate) fn csr(a: SparseRowMatRef<'a, I, T>) -> Self
    where
        I: faer::Index,
    {
        let s = a.symbolic();
        Self {
            n_outer: a.nrows(),
            n_inner: a.ncols(),
            ptr: s.row_ptr(),
            nnz: s.row_nnz(),
            idx: s.col_idx(),
            val: a.val(),
        }
    }

    #[inline]
    fn range(&self, o: usize) -> core::ops::Range<usize> {
        let start = self.ptr[o].ix();
        let end = match self.nnz {
            Some(z) => start + z[o].ix(),
            None => self.ptr[o + 1].ix(),
        };
        start..end
    }

    /// Stored entries (of the outer slices in use).
    fn stored(&self) -> usize {
        match self.nnz {
            Some(z) => z[..self.n_outer].iter().map(|v| v.ix()).sum(),
            None => self.ptr[self.n_outer].ix() - self.ptr[0].ix(),
        }
    }

    /// Outer boundaries `0 = b₀ < b₁ < … = n_outer` of the parallel chunks: one chunk unless
    /// the product is worth splitting (≥ [`PAR_WORK`] entries × columns and more than one
    /// rayon thread); then one per thread, of about equal stored entries. Fixed for a given
    /// matrix, `k` and thread count.
    fn chunks(&self, k: usize) -> Vec<usize> {
        let threads = rayon::current_num_threads();
        let work = self.stored() * k;
        if threads <= 1 || work < PAR_WORK || self.n_outer < 2 * threads {
            return vec![0, self.n_outer];
        }
        let nc = threads.min(work / (PAR_WORK / 2)).max(1);
        let mut b = Vec::with_capacity(nc + 1);
        b.push(0);
        for c in 1..nc {
            let o = match self.nnz {
                None => {
                    let (p0, p1) = (self.ptr[0].ix(), self.ptr[self.n_outer].ix());
                    let target = p0 + (p1 - p0) * c / nc;
                    self.ptr[..self.n_outer].partition_point(|p| p.ix() < target)
                }
                Some(_) => self.n_outer * c / nc,
            };
            let o = o.clamp(*b.last().unwrap_or(&0), self.n_outer);
            b.push(o);
        }
        b.push(self.n_outer);
        b.dedup();
        b
    }

    /// Gather over the outer slices `o0..o0 + out[c].len()`:
    /// `raw[c][o] = Σ_p val[p]·x[c][idx]`, `out[c][o] = left[o]·raw[c][o]` (`raw` may be
    /// empty; a right scaling is applied to `x` beforehand, see [`gather_into`]). Each sum runs
    /// in storage order, so the result does not depend on the chunking.
    fn gather_chunk(
        &self,
        o0: usize,
        out: &mut [&mut [T]],
        raw: &mut [&mut [T]],
        x: &[&[T]],
        left: Option<&[T]>,
    ) {
        for (c, x) in x.iter().enumerate() {
            let x = &x[..self.n_inner];
            let out = &mut *out[c];
            match (left, raw.get_mut(c)) {
                (None, None) => self.gather_rows(o0, out.len(), x, |r, s| out[r] = s),
                (Some(l), None) => {
                    let l = &l[o0..o0 + out.len()];
                    self.gather_rows(o0, out.len(), x, |r, s| out[r] = l[r] * s)
                }
                (None, Some(rw)) => self.gather_rows(o0, out.len(), x, |r, s| {
                    out[r] = s;
                    rw[r] = s;
                }),
                (Some(l), Some(rw)) => {
                    let l = &l[o0..o0 + out.len()];
                    self.gather_rows(o0, out.len(), x, |r, s| {
                        out[r] = l[r] * s;
                        rw[r] = s;
                    })
                }
            }
        }
    }

    /// `emit(r, Σ_p val[p]·x[idx[p]])` for the outer slices `o0 + r`, `r < len`.
    #[inline(always)]
    fn gather_rows(&self, o0: usize, len: usize, x: &[T], mut emit: impl FnMut(usize, T)) {
        let dot = |idx: &[I], val: &[T]| {
            let mut s = T::zero_impl();
            for (&i, &v) in idx.iter().zip(val) {
                s += v * x[i.ix()];
            }
            s
        };
        match self.nnz {
            None => {
                let ptr = &self.ptr[o0..=o0 + len];
                for (r, w) in ptr.windows(2).enumerate() {
                    let (a, b) = (w[0].ix(), w[1].ix());
                    emit(r, dot(&self.idx[a..b], &self.val[a..b]));
                }
            }
            Some(_) => {
                for r in 0..len {
                    let rg = self.range(o0 + r);
                    emit(r, dot(&self.idx[rg.clone()], &self.val[rg]));
                }
            }
        }
    }

    /// Scatter of the outer slices `o0..o1` into `out[c]` (full length `n_inner`, zeroed by
    /// the caller): `out[c][idx[p]] += val[p]·(right[o]·x[c][o])`.
    fn scatter_chunk(&self, o0: usize, o1: usize, out: &mut [&mut [T]], ops: &Operands<'_, '_, T>) {
        for (c, x) in ops.x.iter().enumerate() {
            let out = &mut *out[c];
            let out = &mut out[..self.n_inner];
            for o in o0..o1 {
                let xo = match ops.right {
                    Some(d) => d[o] * x[o],
                    None => x[o],
                };
                let rg = self.range(o);
                for (&i, &v) in self.idx[rg.clone()].iter().zip(&self.val[rg]) {
                    out[i.ix()] += v * xo;
                }
            }
        }
    }

    /// `out = Diag(left)·G·Diag(right)·x` and `raw = G·Diag(right)·x` (when given) with `G`
    /// the gather (`out[o] = Σ val·x[idx]`, length n_outer from n_inner), rows split across
    /// the rayon threads above [`PAR_WORK`]. Bitwise the same for every thread count.
    fn gather_into(&self, out: Vec<&mut [T]>, raw: Vec<&mut [T]>, ops: &Operands<'_, '_, T>) {
        let b = self.chunks(ops.x.len());
        let mut out = out;
        let mut raw = raw;
        // A right scaling is applied to x first (one sequential pass): fused into the gather
        // it would cost a second random load per stored entry (2× slower on the Markov
        // generator's CSC). Bitwise the same products.
        let scaled: Vec<Vec<T>>;
        let xs: Vec<&[T]>;
        let x: &[&[T]] = match ops.right {
            None => ops.x,
            Some(d) => {
                scaled = ops
                    .x
                    .iter()
                    .map(|x| x.iter().zip(d).map(|(&x, &d)| d * x).collect())
                    .collect();
                xs = scaled.iter().map(|v| v.as_slice()).collect();
                &xs
            }
        };
        let left = ops.left;
        if b.len() <= 2 {
            self.gather_chunk(0, &mut out, &mut raw, x, left);
            return;
        }
        let mut parts: Vec<Chunk<'_, T>> = (0..b.len() - 1)
            .map(|c| (b[c], Vec::new(), Vec::new()))
            .collect();
        for (dst, cols) in [(0usize, out), (1, raw)] {
            for col in cols {
                let mut rest = col;
                for (c, w) in b.windows(2).enumerate() {
                    let (head, tail) = rest.split_at_mut(w[1] - w[0]);
                    rest = tail;
                    if dst == 0 {
                        parts[c].1.push(head);
                    } else {
                        parts[c].2.push(head);
                    }
                }
            }
        }
        parts
            .into_par_iter()
            .for_each(|(o0, mut o, mut r)| self.gather_chunk(o0, &mut o, &mut r, x, left));
    }

    /// `out = Diag(left)·S·Diag(right)·x` and `raw = S·Diag(right)·x` with `S` the scatter
    /// (`out[idx] += val·x[o]`, length n_inner from n_outer). Above [`PAR_WORK`] the outer
    /// slices are split into one chunk per thread, each scattering into its own partial
    /// (the first into `out`), summed in chunk order: deterministic for a given thread
    /// count, and rounded differently from one thread.
    fn scatter_into(
        &self,
        mut out: Vec<&mut [T]>,
        mut raw: Vec<&mut [T]>,
        ops: &Operands<'_, '_, T>,
    ) {
        let k = ops.x.len();
        let b = self.chunks(k);
        let zero = T::zero_impl();
        for o in out.iter_mut() {
            o.iter_mut().for_each(|v| *v = zero);
        }
        if b.len() <= 2 {
            self.scatter_chunk(0, self.n_outer, &mut out, ops);
        } else {
            let n = self.n_inner;
            let mut partials: Vec<Vec<T>> = (2..b.len()).map(|_| vec![zero; n * k]).collect();
            rayon::scope(|sc| {
                let out = &mut out;
                sc.spawn(|_| self.scatter_chunk(b[0], b[1], out, ops));
                for (c, p) in partials.iter_mut().enumerate() {
                    let (o0, o1) = (b[c + 1], b[c + 2]);
                    sc.spawn(move |_| {
                        let mut cols: Vec<&mut [T]> = p.chunks_mut(n).collect();
                        self.scatter_chunk(o0, o1, &mut cols, ops)
                    });
                }
            });
            // out += Σ partials, in chunk order, rows split across the threads.
            let nt = b.len() - 1;
            let step = n.div_ceil(nt).max(1);
            let partials = &partials;
            let mut jobs: Vec<(usize, usize, &mut [T])> = Vec::new();
            for (c, col) in out.iter_mut().enumerate() {
                for (j, piece) in col.chunks_mut(step).enumerate() {
                    jobs.push((c, j * step, piece));
                }
            }
            jobs.into_par_iter().for_each(|(c, i0, piece)| {
                for p in partials {
                    let p = &p[c * n + i0..c * n + i0 + piece.len()];
                    for (o, &v) in piece.iter_mut().zip(p) {
                        *o += v;
                    }
                }
            });
        }
        for (c, o) in out.iter_mut().enumerate() {
            if let Some(r) = raw.get_mut(c) {
                r.copy_from_slice(o);
            }
            if let Some(l) = ops.left {
                for (v, &d) in o.iter_mut().zip(l) {
                    *v = d * *v;
                }
            }
        }
    }

    /// The fused product on `MatMut`/`MatRef` blocks: gather (`gather = true`) or scatter.
    pub(crate) fn product(
        &self,
        gather: bool,
        out: MatMut<'_, T>,
        x: MatRef<'_, T>,
        left: Option<&[T]>,
        right: Option<&[T]>,
        raw: Option<MatMut<'_, T>>,
    ) {
        let owned;
        let x = if x.row_stride() == 1 || x.nrows() <= 1 {
            x
        } else {
            owned = x.to_owned();
            owned.as_ref()
        };
        let xs: Vec<&[T]> = x
            .col_iter()
            .map(|c| match c.try_as_col_major() {
                Some(c) => c.as_slice(),
                None => unreachable!("x is contiguous by construction"),
            })
            .collect();
        let ops = Operands {
            x: &xs,
            left,
            right,
        };
        let contiguous = |m: &MatMut<'_, T>| m.row_stride() == 1 || m.nrows() <= 1;
        let raw_ok = raw.as_ref().is_none_or(contiguous);
        if contiguous(&out) && raw_ok {
            let outs: Vec<&mut [T]> = out.col_iter_mut().map(col_slice_mut).collect();
            let raws: Vec<&mut [T]> = match raw {
                Some(r) => r.col_iter_mut().map(col_slice_mut).collect(),
                None => Vec::new(),
            };
            self.run(gather, outs, raws, &ops);
        } else {
            let (nr, k) = (out.nrows(), out.ncols());
            let mut o = faer::Mat::<T>::zeros(nr, k);
            let mut r = faer::Mat::<T>::zeros(if raw.is_some() { nr } else { 0 }, k);
            let outs: Vec<&mut [T]> = o.as_mut().col_iter_mut().map(col_slice_mut).collect();
            let raws: Vec<&mut [T]> = if raw.is_some() {
                r.as_mut().col_iter_mut().map(col_slice_mut).collect()
            } else {
                Vec::new()
            };
            self.run(gather, outs, raws, &ops);
            let mut out = out;
            out.copy_from(o.as_ref());
            if let Some(mut rw) = raw {
                rw.copy_from(r.as_ref());
            }
        }
    }

    fn run(
        &self,
        gather: bool,
        outs: Vec<&mut [T]>,
        raws: Vec<&mut [T]>,
        ops: &Operands<'_, '_, T>,
    ) {
        if gather {
            self.gather_into(outs, raws, ops)
        } else {
            self.scatter_into(outs, raws, ops)
        }
    }

    /// `|A| x` along the outer direction (gather) or the inner one (scatter), on moduli.
    fn abs_gather(&self, x: &[T::Real]) -> Vec<T::Real> {
        let zero = <T::Real as num_traits::Zero>::zero();
        (0..self.n_outer)
            .map(|o| {
                let r = self.range(o);
                self.idx[r.clone()]
                    .iter()
                    .zip(&self.val[r])
                    .fold(zero, |s, (&i, &v)| s + v.modulus() * x[i.ix()])
            })
            .collect()
    }

    fn abs_scatter(&self, x: &[T::Real]) -> Vec<T::Real> {
        let mut out = vec![<T::Real as num_traits::Zero>::zero(); self.n_inner];
        for (o, &xo) in x.iter().enumerate().take(self.n_outer) {
            let r = self.range(o);
            for (&i, &v) in self.idx[r.clone()].iter().zip(&self.val[r]) {
                out[i.ix()] += v.modulus() * xo;
            }
        }
        out
    }

    /// The diagonal (duplicates summed, any order within a slice).
    fn diagonal(&self) -> Vec<T> {
        let mut d = vec![T::zero_impl(); self.n_outer.min(self.n_inner)];
        for (o, d_o) in d.iter_mut().enumerate() {
            let r = self.range(o);
            for (&i, &v) in self.idx[r.clone()].iter().zip(&self.val[r]) {
                if i.ix() == o {
                    *d_o += v;
                }
            }
        }
        d
    }

    fn all_finite(&self) -> bool {
        (0..self.n_outer).all(|o| self.val[self.range(o)].iter().all(|v| v.is_finite_value()))
    }
}

/// One parallel chunk of a gather: first outer slice, its pieces of `out` and `raw`.
type Chunk<'a, T> = (usize, Vec<&'a mut [T]>, Vec<&'a mut [T]>);

fn col_slice_mut<'a, T>(c: faer::ColMut<'a, T>) -> &'a mut [T] {
    match c.try_as_col_major_mut() {
        Some(c) => c.as_slice_mut(),
        None => unreachable!("checked contiguous"),
    }
}

macro_rules! sparse_linop {
    ($ty:ty, $make:expr, $gather:literal, $abs:ident, $abs_t:ident, $doc:literal) => {
        #[doc = $doc]
        impl<T: Scalar> LinOp<T> for $ty {
            fn dim(&self) -> usize {
                self.nrows()
            }
            fn shape(&self) -> (usize, usize) {
                (self.nrows(), self.ncols())
            }
            fn apply(&self, out: MatMut<'_, T>, x: MatRef<'_, T>) {
                $make(self).product($gather, out, x, None, None, None)
            }
            fn apply_transpose(&self, out: MatMut<'_, T>, x: MatRef<'_, T>) {
                $make(self).product(!$gather, out, x, None, None, None)
            }
            fn apply_scaled(
                &self,
                out: MatMut<'_, T>,
                x: MatRef<'_, T>,
                transpose: bool,
                left: Option<&[T]>,
                right: Option<&[T]>,
                raw: Option<MatMut<'_, T>>,
            ) -> bool {
                $make(self).product($gather != transpose, out, x, left, right, raw);
                true
            }
            fn trace(&self) -> T {
                $make(self)
                    .diagonal()
                    .into_iter()
                    .fold(T::zero_impl(), |s, x| s + x)
            }
            fn diagonal(&self) -> Option<Vec<T>> {
                Some($make(self).diagonal())
            }
            fn abs_apply(&self, x: &[T::Real], transpose: bool) -> Option<Vec<T::Real>> {
                let c = $make(self);
                Some(if transpose { c.$abs_t(x) } else { c.$abs(x) })
            }
            fn all_finite(&self) -> bool {
                $make(self).all_finite()
            }
        }
    };
}

fn csc_ref<'a, T: Scalar, I: SpIdx + faer::Index>(
    a: &'a SparseColMatRef<'_, I, T>,
) -> Compressed<'a, T, I> {
    Compressed::csc(*a)
}
fn csc_own<'a, T: Scalar, I: SpIdx + faer::Index>(
    a: &'a SparseColMat<I, T>,
) -> Compressed<'a, T, I> {
    Compressed::csc(a.as_ref())
}
fn csr_ref<'a, T: Scalar, I: SpIdx + faer::Index>(
    a: &'a SparseRowMatRef<'_, I, T>,
) -> Compressed<'a, T, I> {
    Compressed::csr(*a)
}
fn csr_own<'a, T: Scalar, I: SpIdx + faer::Index>(
    a: &'a SparseRowMat<I, T>,
) -> Compressed<'a, T, I> {
    Compressed::csr(a.as_ref())
}

macro_rules! sparse_linops {
    ($($i:ty),*) => {$(
        sparse_linop!(
            SparseColMatRef<'_, $i, T>,
            csc_ref,
            false,
            abs_scatter,
            abs_gather,
            "A sparse CSC matrix: `X·x` scatters each column, `Xᵀ·x` gathers (dot products; the plain transpose also for complex values). Products above ~6·10⁴ stored entries × columns split the outer slices across the rayon threads (gathers: bitwise the same for every thread count; scatters: per-thread partials summed in a fixed order, deterministic for a given thread count)."
        );
        sparse_linop!(
            SparseColMat<$i, T>,
            csc_own,
            false,
            abs_scatter,
            abs_gather,
            "An owned sparse CSC matrix (as its `Ref`)."
        );
        sparse_linop!(
            SparseRowMatRef<'_, $i, T>,
            csr_ref,
            true,
            abs_gather,
            abs_scatter,
            "A sparse CSR matrix: `X·x` gathers (one dot product per row), `Xᵀ·x` scatters. Parallel above ~6·10⁴ stored entries × columns, as for CSC."
        );
        sparse_linop!(
            SparseRowMat<$i, T>,
            csr_own,
            true,
            abs_gather,
            abs_scatter,
            "An owned sparse CSR matrix (as its `Ref`)."
        );
    )*};
}

sparse_linops!(usize, u32);

/// A sparse `X`: `X̄` on its pattern (the gradient with respect to the stored values).
impl<T: Scalar> GradLinOp<T> for SparseColMatRef<'_, usize, T> {
    type Cotangent = SparsePatternCotangent<T>;
    fn cotangent(&self) -> SparsePatternCotangent<T> {
        SparsePatternCotangent::from_csc(*self)
    }
}

/// A sparse `X`: `X̄` on its pattern.
impl<T: Scalar> GradLinOp<T> for SparseColMat<usize, T> {
    type Cotangent = SparsePatternCotangent<T>;
    fn cotangent(&self) -> SparsePatternCotangent<T> {
        SparsePatternCotangent::from_csc(self.as_ref())
    }
}

/// A sparse `X`: `X̄` on its pattern.
impl<T: Scalar> GradLinOp<T> for SparseRowMatRef<'_, usize, T> {
    type Cotangent = SparsePatternCotangent<T>;
    fn cotangent(&self) -> SparsePatternCotangent<T> {
        SparsePatternCotangent::from_csr(*self)
    }
}

/// A sparse `X`: `X̄` on its pattern.
impl<T: Scalar> GradLinOp<T> for SparseRowMat<usize, T> {
    type Cotangent = SparsePatternCotangent<T>;
    fn cotangent(&self) -> SparsePatternCotangent<T> {
        SparsePatternCotangent::from_csr(self.as_ref())
    }
}
