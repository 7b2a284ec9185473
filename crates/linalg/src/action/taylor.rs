//! One step of the truncated Taylor recurrence: the single kernel shared by the untaped
//! forward, the taped forward and the checkpointed recomputation, so that all three produce
//! bitwise the same vectors.
//!
//! `b_0 = u`, `b_k = (τ/k)(X·b_{k−1} − μ·b_{k−1})`, `F = Σ_{k ≤ j} b_k`, stopping at the first
//! `k = j` with `‖b_{k−1}‖∞ + ‖b_k‖∞ ≤ tol·‖F‖∞` (Al-Mohy & Higham 2011, Algorithm 3.2; the
//! ∞-norm of an n×k block is its largest absolute row sum), or at `k = m`. Over complex
//! scalars the norms are of the moduli (`T::Real`) and `τ`, `μ` are complex.
//!
//! Tests: `crates/linalg/tests/{action_forward,action_reverse,action_storage,action_complex}.rs`.

use super::op::{GradLinOp, LinOp};
use super::plan::Plan;
use super::workspace::ActionWorkspace;
use crate::Scalar;
use crate::scalar::div_real;
use faer::MatMut;
use faer::{Mat, MatRef};
use num_traits::Float;

/// The Taylor vectors of one step kept for the reverse pass: `b[k−1] = b_{k−1}` and, when the
/// operator keeps raw products, `raw[k−1]` = its intermediate of `X·b_{k−1}`, `k = 1..j`.
#[derive(Clone, Debug)]
pub(crate) struct StepTape<T> {
    pub(crate) b: Vec<Mat<T>>,
    pub(crate) raw: Vec<Mat<T>>,
}

impl<T> StepTape<T> {
    pub(crate) fn new() -> Self {
        Self {
            b: Vec::new(),
            raw: Vec::new(),
        }
    }

    /// Moves every block into `ws`.
    pub(crate) fn recycle(self, ws: &mut ActionWorkspace<T>)
    where
        T: Scalar,
    {
        self.b.into_iter().chain(self.raw).for_each(|m| ws.give(m));
    }

    pub(crate) fn values(&self) -> usize {
        self.b
            .iter()
            .chain(&self.raw)
            .map(|m| m.nrows() * m.ncols())
            .sum()
    }
}

/// `‖x‖∞` of an n×k block: the largest row sum of moduli (NaN propagates as "not small").
pub(crate) fn block_norm_inf<T: Scalar>(x: &Mat<T>, scratch: &mut Vec<T::Real>) -> T::Real {
    let zero = <T::Real as num_traits::Zero>::zero();
    if x.ncols() == 1 {
        return x
            .col_as_slice(0)
            .iter()
            .fold(zero, |m, v| m.max(v.modulus()));
    }
    scratch.clear();
    scratch.resize(x.nrows(), zero);
    for c in 0..x.ncols() {
        for (s, v) in scratch.iter_mut().zip(x.col_as_slice(c)) {
            *s += v.modulus();
        }
    }
    scratch.iter().fold(zero, |m, v| m.max(*v))
}

/// How a step applies the operator: plainly (the untaped forward), or keeping the raw
/// products a [`GradLinOp`] asks for (the taped passes, so that the checkpointed recomputation
/// repeats the very same calls).
pub(crate) trait StepOp<T: Scalar> {
    /// Whether [`apply_step`](Self::apply_step) fills `raw`.
    fn keeps_raw(&self) -> bool;
    /// `out = X·x` (and `raw` when [`keeps_raw`](Self::keeps_raw)).
    fn apply_step(&self, out: MatMut<'_, T>, x: MatRef<'_, T>, raw: MatMut<'_, T>);
}

/// Any [`LinOp`], applied plainly.
pub(crate) struct Plain<'a, Op: ?Sized>(pub(crate) &'a Op);

impl<T: Scalar, Op: LinOp<T> + ?Sized> StepOp<T> for Plain<'_, Op> {
    fn keeps_raw(&self) -> bool {
        false
    }
    fn apply_step(&self, out: MatMut<'_, T>, x: MatRef<'_, T>, _raw: MatMut<'_, T>) {
        self.0.apply(out, x)
    }
}

/// A [`GradLinOp`], keeping its raw products.
pub(crate) struct Taped<'a, Op: ?Sized>(pub(crate) &'a Op);

impl<T: Scalar, Op: GradLinOp<T> + ?Sized> StepOp<T> for Taped<'_, Op> {
    fn keeps_raw(&self) -> bool {
        self.0.keeps_raw()
    }
    fn apply_step(&self, out: MatMut<'_, T>, x: MatRef<'_, T>, raw: MatMut<'_, T>) {
        if self.0.keeps_raw() {
            self.0.apply_keep_raw(out, x, raw)
        } else {
            self.0.apply(out, x)
        }
    }
}

/// One Taylor step from `u`: returns `(F, j)` with `F = Σ_{k≤j} b_k` (not yet scaled by
/// `η`). `j` products with `X` through `op` ([`Plain`] or [`Taped`]). With `keep`, pushes
/// `b_0..b_{j−1}` (and the raw products) into it. Blocks come from `ws` (their content is
/// overwritten, so recycling cannot change a bit).
pub(crate) fn taylor_step<T: Scalar>(
    op: &impl StepOp<T>,
    u: MatRef<'_, T>,
    plan: &Plan<T>,
    keep: Option<&mut StepTape<T>>,
    ws: &mut ActionWorkspace<T>,
) -> (Mat<T>, usize) {
    taylor_step_full(op, u, plan, keep, false, ws)
}

/// [`taylor_step`], and with `keep_last` (and `keep`) also pushes the last term `b_j`, so that
/// the tape holds `b_0..b_j` (the many-times action evaluates its outputs from all of them).
/// The arithmetic is the same: `F` and `b_0..b_{j−1}` are bitwise those of [`taylor_step`].
pub(crate) fn taylor_step_full<T: Scalar>(
    op: &impl StepOp<T>,
    u: MatRef<'_, T>,
    plan: &Plan<T>,
    mut keep: Option<&mut StepTape<T>>,
    keep_last: bool,
    ws: &mut ActionWorkspace<T>,
) -> (Mat<T>, usize) {
    let (n, k) = u.shape();
    let mut f = ws.copy_of(u);
    let mut b = ws.copy_of(u);
    let mut y = ws.take(n, k);
    let with_raw = op.keeps_raw();
    let mut raw = if with_raw {
        ws.take(n, k)
    } else {
        Mat::zeros(0, 0)
    };
    let mut scratch = Vec::new();
    let mut c1 = block_norm_inf(&b, &mut scratch);
    let mu = plan.mu;
    let mut j = 0;
    for kk in 1..=plan.m {
        op.apply_step(y.as_mut(), b.as_ref(), raw.as_mut());
        let c = div_real(plan.tau, crate::scalar::real::<T>(kk as f64));
        // b_k = c·(y − μ·b_{k−1}) (in y), F += b_k, and for k = 1 the two ∞-norms, in one pass.
        let zero = <T::Real as num_traits::Zero>::zero();
        let (mut c2, mut fnorm) = (zero, zero);
        for col in 0..k {
            let bs = b.col_as_slice(col);
            let fs = f.col_as_slice_mut(col);
            let ys = y.col_as_slice_mut(col);
            let (a, b2) = update_column(ys, fs, bs, c, mu);
            c2 = c2.max(a);
            fnorm = fnorm.max(b2);
        }
        if k > 1 {
            c2 = block_norm_inf(&y, &mut scratch);
            fnorm = block_norm_inf(&f, &mut scratch);
        }
        j = kk;
        match keep.as_deref_mut() {
            Some(tape) => {
                // b_{k−1} moves onto the tape; b_k becomes the next b_{k−1}.
                tape.b.push(core::mem::replace(&mut b, y));
                y = ws.take(n, k);
                if with_raw {
                    let fresh = ws.take(n, k);
                    tape.raw.push(core::mem::replace(&mut raw, fresh));
                }
            }
            None => core::mem::swap(&mut b, &mut y),
        }
        if c1 + c2 <= plan.tol.re() * fnorm {
            break;
        }
        c1 = c2;
    }
    match keep {
        Some(tape) if keep_last => tape.b.push(b),
        _ => ws.give(b),
    }
    ws.give(y);
    ws.give(raw);
    (f, j)
}

/// Below this many entries the Taylor update runs on the calling thread.
const PAR_UPDATE: usize = 1 << 15;

/// `y ← c·(y − μ·b)`, `f += y`; returns `(max |y|, max |f|)`. Split across the rayon threads
/// for long columns: entrywise, and maxima do not depend on the order, so bitwise the same
/// for every thread count.
fn update_column<T: Scalar>(
    ys: &mut [T],
    fs: &mut [T],
    bs: &[T],
    c: T,
    mu: T,
) -> (T::Real, T::Real) {
    let zero = <T::Real as num_traits::Zero>::zero();
    let run = |ys: &mut [T], fs: &mut [T], bs: &[T]| {
        let (mut c2, mut fnorm) = (zero, zero);
        for ((yi, fi), bi) in ys.iter_mut().zip(fs.iter_mut()).zip(bs) {
            let v = if mu == T::zero_impl() {
                c * *yi
            } else {
                c * (*yi - mu * *bi)
            };
            *yi = v;
            *fi += v;
            c2 = c2.max(v.modulus());
            fnorm = fnorm.max(fi.modulus());
        }
        (c2, fnorm)
    };
    let threads = rayon::current_num_threads();
    if threads <= 1 || ys.len() < PAR_UPDATE {
        return run(ys, fs, bs);
    }
    use rayon::prelude::*;
    let cs = ys.len().div_ceil(threads);
    ys.par_chunks_mut(cs)
        .zip(fs.par_chunks_mut(cs))
        .zip(bs.par_chunks(cs))
        .map(|((y, f), b)| run(y, f, b))
        .reduce(|| (zero, zero), |a, b| (a.0.max(b.0), a.1.max(b.1)))
}

/// `x ← conj(x)` (entrywise; for the complex reverse pass and the 1-norm estimator's `Bᴴ`).
pub(crate) fn conjugate_in_place<T: Scalar>(x: &mut Mat<T>) {
    for c in 0..x.ncols() {
        x.col_as_slice_mut(c)
            .iter_mut()
            .for_each(|v| *v = v.conjugate());
    }
}

/// `x ← η·x` (skipped when `η = 1`).
pub(crate) fn scale_in_place<T: Scalar>(x: &mut Mat<T>, eta: T) {
    if eta != T::one_impl() {
        for c in 0..x.ncols() {
            x.col_as_slice_mut(c).iter_mut().for_each(|v| *v *= eta);
        }
    }
}
