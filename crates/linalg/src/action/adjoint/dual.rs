//! Forward mode and second order of the taped action [`ExpmAction`]: the exact tangent of the
//! computed `w = e^{tμ}T(τX_s)^s·V` ([`ExpmAction::try_jvp_in`]) and the exact tangent of the
//! discrete-adjoint reverse pass ([`ExpmAction::try_vjp_jvp_in`]) along a direction
//! `(Ẋ, V̇, ṫ)` ([`ActionTangent`]) and a cotangent tangent `w̄̇` (docs/math.md §8, "Forward
//! mode and second order of the action").
//!
//! Everything the forward decided is frozen: `m`, `s`, the shift decision, and each step's
//! number of terms `j_i` (the early termination). The recurrences below are the forward's and
//! the reverse pass's, differentiated statement by statement, so the results are the
//! derivatives of what was computed, not of `exp(tX)·V`: they agree with the reverse pass by
//! the dot-product identity to rounding.
//!
//! Tangent step (`c_k = τ/k`, `ċ_k = τ̇/k`, `τ̇ = ṫ/s`, `μ̇ = tr(Ẋ)/n` when shifted):
//!
//! ```text
//! y = X b_{k−1};  ẏ = X ḃ_{k−1} + Ẋ b_{k−1}
//! ḃ_k = ċ_k (y − μ b_{k−1}) + c_k (ẏ − μ̇ b_{k−1} − μ ḃ_{k−1}),   b_k = c_k (y − μ b_{k−1})
//! u̇_i = η̇ F_i + η Ḟ_i,   η̇ = η (τ̇ μ + τ μ̇)
//! ```
//!
//! When the forward stored its Taylor vectors ([`StorePolicy::All`](crate::StorePolicy::All)),
//! the sweep reads `b_k` from that tape instead of recomputing it: `ċ_k(X b_{k−1} − μ b_{k−1})
//! = (τ̇/τ)·b_k` for `k < j_i`, and only the unstored last term `b_{j_i}` takes a product, so
//! the tangent costs `k·Σ j_i` products with `X` (on `ḃ`) and as many with `Ẋ`, plus `k·s`.
//!
//! The second-order pass first runs the tangent sweep keeping `(u_i, u̇_i)`, then walks the
//! steps backwards, recomputing each step's `(b_k, ḃ_k)` from its checkpoint and running the
//! tangent of the reverse step (products with `Xᵀ` on `b̄` and `b̄̇`, with `Ẋᵀ` on `b̄`). The
//! sink of `X̄` receives the reverse pass's terms; the sink of `X̄̇` receives their tangents
//! `ċ·b̄·bᵀ + c·b̄̇·bᵀ + c·b̄·ḃᵀ` (three low-rank terms per Taylor term) and `μ̄̇/n·I`.
//!
//! Complex scalars: the map is holomorphic, so its tangent is the same recurrence over ℂ with
//! no conjugation; the second-order pass runs the bilinear recurrence on `conj(w̄)`,
//! `conj(w̄̇)` and conjugates on exit, as the reverse pass does.
//!
//! Tests: `crates/linalg/tests/action_dual.rs`; through the tape,
//! `crates/tape/tests/second_order_action.rs`, `crates/diag/tests/second_order.rs`.

use super::cotangent::{ActionCotangent, LowRankTerm};
use super::{ExpmAction, Tape, dot};
use crate::Scalar;
use crate::action::op::{GradLinOp, LinOp};
use crate::action::plan::Plan;
use crate::action::taylor::StepTape;
use crate::action::taylor::conjugate_in_place;
use crate::action::workspace::ActionWorkspace;
use crate::error::LinalgError;
use crate::expm::all_finite;
use crate::scalar::{div_real, real};
use faer::{Mat, MatMut, MatRef};

/// A direction of the action's inputs: `(Ẋ, V̇, ṫ)`, `None` for a zero tangent.
///
/// `Ẋ` is an operator of the same dimension as `X` (for `X(p)` affine in a parameter `p`,
/// the operator `X(ṗ) − X(0)`: a dense `Ẋ`, `Σ u̇_j A_j` on a pattern, `Diag(ḋ)·A`).
#[derive(Clone, Copy)]
pub struct ActionTangent<'a, T> {
    /// `Ẋ`, or `None` (zero).
    pub x: Option<&'a dyn LinOp<T>>,
    /// `V̇` (n×k), or `None` (zero).
    pub v: Option<MatRef<'a, T>>,
    /// `ṫ`.
    pub t: T,
}

impl<T: Scalar> core::fmt::Debug for ActionTangent<'_, T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ActionTangent")
            .field("x", &self.x.map(|x| x.dim()))
            .field("v", &self.v.map(|v| v.shape()))
            .field("t", &self.t)
            .finish()
    }
}

/// What [`ExpmAction::try_vjp_jvp_in`] returns: the reverse pass's `(V̄, t̄)` and their
/// tangents `(V̄̇, t̄̇)` (`X̄` and `X̄̇` went to the sinks).
#[derive(Clone, Debug)]
pub struct ActionDualCotangent<T> {
    /// `V̄`: what [`ExpmAction::try_vjp`] gives (the same recurrence, to rounding).
    pub v_bar: Mat<T>,
    /// `t̄`.
    pub t_bar: T,
    /// `V̄̇`, the tangent of `V̄`.
    pub v_bar_dot: Mat<T>,
    /// `t̄̇`, the tangent of `t̄`.
    pub t_bar_dot: T,
}

/// The tangents of the scalar constants of the plan.
#[derive(Clone, Copy)]
struct PlanDot<T> {
    tau: T,
    mu: T,
    eta: T,
}

/// One step's Taylor vectors and their tangents (with the operator's raw products of both).
struct DualStepTape<T> {
    b: Vec<Mat<T>>,
    bd: Vec<Mat<T>>,
    raw: Vec<Mat<T>>,
    rawd: Vec<Mat<T>>,
}

impl<T: Scalar> DualStepTape<T> {
    fn new() -> Self {
        Self {
            b: Vec::new(),
            bd: Vec::new(),
            raw: Vec::new(),
            rawd: Vec::new(),
        }
    }
    fn recycle(self, ws: &mut ActionWorkspace<T>) {
        for m in self
            .b
            .into_iter()
            .chain(self.bd)
            .chain(self.raw)
            .chain(self.rawd)
        {
            ws.give(m);
        }
    }
}

/// `out = X·x`, keeping the raw product in `raw` when the operator asks for it.
fn apply_op<T: Scalar, Op: GradLinOp<T> + ?Sized>(
    op: &Op,
    out: MatMut<'_, T>,
    x: MatRef<'_, T>,
    raw: MatMut<'_, T>,
) {
    if op.keeps_raw() {
        op.apply_keep_raw(out, x, raw)
    } else {
        op.apply(out, x)
    }
}

/// `out = Xᵀ·x`, keeping the raw product when the operator asks for it.
fn apply_op_t<T: Scalar, Op: GradLinOp<T> + ?Sized>(
    op: &Op,
    out: MatMut<'_, T>,
    x: MatRef<'_, T>,
    raw: MatMut<'_, T>,
) {
    if op.keeps_raw_transpose() {
        op.apply_transpose_keep_raw(out, x, raw)
    } else {
        op.apply_transpose(out, x)
    }
}

/// `acc += x` entrywise.
fn add_into<T: Scalar>(acc: &mut Mat<T>, x: &Mat<T>) {
    for c in 0..acc.ncols() {
        for (a, &v) in acc.col_as_slice_mut(c).iter_mut().zip(x.col_as_slice(c)) {
            *a += v;
        }
    }
}

/// One step and its tangent, `j` terms (frozen from the forward): returns `(F, Ḟ)` (not yet
/// scaled by `η`). With `keep`, pushes `b_{k−1}`, `ḃ_{k−1}` (and raw products), `k = 1..j`.
#[allow(clippy::too_many_arguments)]
fn dual_step<T: Scalar, Op: GradLinOp<T> + ?Sized>(
    op: &Op,
    xd: Option<&dyn LinOp<T>>,
    u: MatRef<'_, T>,
    ud: MatRef<'_, T>,
    j: usize,
    plan: &Plan<T>,
    pd: PlanDot<T>,
    mut keep: Option<&mut DualStepTape<T>>,
    ws: &mut ActionWorkspace<T>,
) -> (Mat<T>, Mat<T>) {
    let (n, k) = u.shape();
    let with_raw = op.keeps_raw();
    let mut f = ws.copy_of(u);
    let mut fd = ws.copy_of(ud);
    let mut b = ws.copy_of(u);
    let mut bd = ws.copy_of(ud);
    let mut y = ws.take(n, k);
    let mut yd = ws.take(n, k);
    let mut tmp = if xd.is_some() {
        ws.take(n, k)
    } else {
        Mat::zeros(0, 0)
    };
    let take_raw = |ws: &mut ActionWorkspace<T>| {
        if with_raw {
            ws.take(n, k)
        } else {
            Mat::zeros(0, 0)
        }
    };
    let mut raw = take_raw(ws);
    let mut rawd = take_raw(ws);
    let (mu, mud) = (plan.mu, pd.mu);
    for kk in 1..=j {
        apply_op(op, y.as_mut(), b.as_ref(), raw.as_mut());
        apply_op(op, yd.as_mut(), bd.as_ref(), rawd.as_mut());
        if let Some(xd) = xd {
            xd.apply(tmp.as_mut(), b.as_ref());
            add_into(&mut yd, &tmp);
        }
        let kt = real::<T>(kk as f64);
        let c = div_real(plan.tau, kt);
        let cd = div_real(pd.tau, kt);
        for col in 0..k {
            let bs = b.col_as_slice(col);
            let bds = bd.col_as_slice(col);
            let ys = y.col_as_slice_mut(col);
            let yds = yd.col_as_slice_mut(col);
            let fs = f.col_as_slice_mut(col);
            let fds = fd.col_as_slice_mut(col);
            for i in 0..n {
                let (yi, bi, bdi) = (ys[i], bs[i], bds[i]);
                // Exactly the forward's arithmetic for b_k (taylor.rs).
                let v = if mu == T::zero_impl() {
                    c * yi
                } else {
                    c * (yi - mu * bi)
                };
                let vd = cd * (yi - mu * bi) + c * (yds[i] - mud * bi - mu * bdi);
                ys[i] = v;
                yds[i] = vd;
                fs[i] += v;
                fds[i] += vd;
            }
        }
        match keep.as_deref_mut() {
            Some(tape) => {
                tape.b.push(core::mem::replace(&mut b, y));
                tape.bd.push(core::mem::replace(&mut bd, yd));
                y = ws.take(n, k);
                yd = ws.take(n, k);
                if with_raw {
                    let fresh = ws.take(n, k);
                    tape.raw.push(core::mem::replace(&mut raw, fresh));
                    let fresh = ws.take(n, k);
                    tape.rawd.push(core::mem::replace(&mut rawd, fresh));
                }
            }
            None => {
                core::mem::swap(&mut b, &mut y);
                core::mem::swap(&mut bd, &mut yd);
            }
        }
    }
    for m in [b, bd, y, yd, tmp, raw, rawd] {
        ws.give(m);
    }
    (f, fd)
}

/// [`dual_step`] when the forward stored this step's Taylor vectors `b_0..b_{j−1}` (and raw
/// products): only `Ḟ` is computed. For `k < j`, `ċ_k(X b_{k−1} − μ b_{k−1}) = (τ̇/τ)·b_k`
/// with the stored `b_k`, so the product `X b_{k−1}` is not repeated; `b_j` (not stored) takes
/// one product. Products: `j` with `X` on `ḃ`, `j` with `Ẋ`, one with `X`. With `keep`,
/// pushes `ḃ_{k−1}` (and its raw product); `b` and `raw` stay in the forward's tape.
#[allow(clippy::too_many_arguments)]
fn dual_step_stored<T: Scalar, Op: GradLinOp<T> + ?Sized>(
    op: &Op,
    xd: Option<&dyn LinOp<T>>,
    st: &StepTape<T>,
    ud: MatRef<'_, T>,
    j: usize,
    plan: &Plan<T>,
    pd: PlanDot<T>,
    mut keep: Option<&mut DualStepTape<T>>,
    ws: &mut ActionWorkspace<T>,
) -> Mat<T> {
    let (n, k) = ud.shape();
    let with_raw = op.keeps_raw();
    let mut fd = ws.copy_of(ud);
    let mut bd = ws.copy_of(ud);
    let mut yd = ws.take(n, k);
    let mut y = ws.take(n, k);
    let mut tmp = if xd.is_some() {
        ws.take(n, k)
    } else {
        Mat::zeros(0, 0)
    };
    let take_raw = |ws: &mut ActionWorkspace<T>| {
        if with_raw {
            ws.take(n, k)
        } else {
            Mat::zeros(0, 0)
        }
    };
    let mut raw = take_raw(ws);
    let mut rawd = take_raw(ws);
    let (mu, mud) = (plan.mu, pd.mu);
    let ratio = pd.tau / plan.tau;
    for kk in 1..=j {
        let b = &st.b[kk - 1];
        apply_op(op, yd.as_mut(), bd.as_ref(), rawd.as_mut());
        if let Some(xd) = xd {
            xd.apply(tmp.as_mut(), b.as_ref());
            add_into(&mut yd, &tmp);
        }
        let kt = real::<T>(kk as f64);
        let c = div_real(plan.tau, kt);
        let cd = div_real(pd.tau, kt);
        let last = kk == j;
        if last {
            apply_op(op, y.as_mut(), b.as_ref(), raw.as_mut());
        }
        for col in 0..k {
            let bs = b.col_as_slice(col);
            let bds = bd.col_as_slice(col);
            let yds = yd.col_as_slice_mut(col);
            let fds = fd.col_as_slice_mut(col);
            if last {
                let ys = y.col_as_slice(col);
                for i in 0..n {
                    let bi = bs[i];
                    let vd = cd * (ys[i] - mu * bi) + c * (yds[i] - mud * bi - mu * bds[i]);
                    yds[i] = vd;
                    fds[i] += vd;
                }
            } else {
                let nexts = st.b[kk].col_as_slice(col);
                for i in 0..n {
                    let bi = bs[i];
                    let vd = ratio * nexts[i] + c * (yds[i] - mud * bi - mu * bds[i]);
                    yds[i] = vd;
                    fds[i] += vd;
                }
            }
        }
        match keep.as_deref_mut() {
            Some(tape) => {
                tape.bd.push(core::mem::replace(&mut bd, yd));
                yd = ws.take(n, k);
                if with_raw {
                    let fresh = ws.take(n, k);
                    tape.rawd.push(core::mem::replace(&mut rawd, fresh));
                }
            }
            None => core::mem::swap(&mut bd, &mut yd),
        }
    }
    for m in [bd, yd, y, tmp, raw, rawd] {
        ws.give(m);
    }
    fd
}

/// `(u, u̇) ← (η·F, η̇·F + η·Ḟ)` in the blocks of `(F, Ḟ)`.
fn scale_dual<T: Scalar>(f: &mut Mat<T>, fd: &mut Mat<T>, eta: T, eta_dot: T) {
    for c in 0..f.ncols() {
        for (x, xd) in f.col_as_slice_mut(c).iter_mut().zip(fd.col_as_slice_mut(c)) {
            *xd = eta_dot * *x + eta * *xd;
            *x *= eta;
        }
    }
}

/// The scalar adjoints and their tangents.
#[derive(Clone, Copy)]
struct DualScalars<T> {
    tau: T,
    tau_dot: T,
    mu: T,
    mu_dot: T,
}

/// The tangent of one reverse step: from `(F̄, F̄̇)` and the step's dual tape, returns
/// `(ū_{i−1}, ū̇_{i−1})`; hands `X̄`'s terms to `sink` and their tangents to `sink_dot`.
#[allow(clippy::too_many_arguments)]
fn dual_reverse_step<T, Op, S, SD>(
    op: &Op,
    xd: Option<&dyn LinOp<T>>,
    sink: &mut S,
    sink_dot: &mut SD,
    fbar: &Mat<T>,
    fbar_dot: &Mat<T>,
    step: &DualStepTape<T>,
    fwd_b: &[Mat<T>],
    fwd_raw: &[Mat<T>],
    j: usize,
    plan: &Plan<T>,
    pd: PlanDot<T>,
    acc: &mut DualScalars<T>,
    ws: &mut ActionWorkspace<T>,
) -> (Mat<T>, Mat<T>)
where
    T: Scalar,
    Op: GradLinOp<T> + ?Sized,
    S: ActionCotangent<T> + ?Sized,
    SD: ActionCotangent<T> + ?Sized,
{
    let (n, k) = fbar.shape();
    let mut bbar = ws.copy_of(fbar.as_ref());
    let mut bbar_d = ws.copy_of(fbar_dot.as_ref());
    let mut z = ws.take(n, k);
    let mut zd = ws.take(n, k);
    let mut tmp = if xd.is_some() {
        ws.take(n, k)
    } else {
        Mat::zeros(0, 0)
    };
    let raw_t = op.keeps_raw_transpose();
    let take_raw = |ws: &mut ActionWorkspace<T>| {
        if raw_t {
            ws.take(n, k)
        } else {
            Mat::zeros(0, 0)
        }
    };
    let mut rawt = take_raw(ws);
    let mut rawtd = take_raw(ws);
    let (mu, mud) = (plan.mu, pd.mu);
    let zero = T::zero_impl();
    for kk in (1..=plan.m).rev() {
        apply_op_t(op, z.as_mut(), bbar.as_ref(), rawt.as_mut());
        apply_op_t(op, zd.as_mut(), bbar_d.as_ref(), rawtd.as_mut());
        if let Some(xd) = xd {
            xd.apply_transpose(tmp.as_mut(), bbar.as_ref());
            add_into(&mut zd, &tmp);
        }
        let kt = real::<T>(kk as f64);
        let c = div_real(plan.tau, kt);
        let cd = div_real(pd.tau, kt);
        let prev = (kk <= j).then(|| (&fwd_b[kk - 1], &step.bd[kk - 1]));
        if let Some((p, pdv)) = prev {
            let raw = fwd_raw.get(kk - 1).map(Mat::as_ref);
            let rawd = step.rawd.get(kk - 1).map(Mat::as_ref);
            let rt = raw_t.then(|| rawt.as_ref());
            let rtd = raw_t.then(|| rawtd.as_ref());
            let term = |scale, left, right, raw, raw_transpose| LowRankTerm {
                scale,
                left,
                right,
                raw,
                raw_transpose,
            };
            sink.add_rank_one(term(c, bbar.as_ref(), p.as_ref(), raw, rt));
            sink_dot.add_rank_one(term(cd, bbar.as_ref(), p.as_ref(), raw, rt));
            sink_dot.add_rank_one(term(c, bbar_d.as_ref(), p.as_ref(), raw, rtd));
            sink_dot.add_rank_one(term(c, bbar.as_ref(), pdv.as_ref(), rawd, rt));
        }
        let (mut zb, mut bb, mut zdb, mut zpd, mut bdb, mut bpd) =
            (zero, zero, zero, zero, zero, zero);
        for col in 0..k {
            let fs = fbar.col_as_slice(col);
            let fds = fbar_dot.col_as_slice(col);
            let zs = z.col_as_slice(col);
            let zds = zd.col_as_slice(col);
            let bs = bbar.col_as_slice_mut(col);
            let bds = bbar_d.col_as_slice_mut(col);
            // The six inner products with the old b̄, b̄̇ and the updates, in one pass.
            match prev {
                Some((p, pdv)) => {
                    let ps = p.col_as_slice(col);
                    let pds = pdv.col_as_slice(col);
                    for i in 0..n {
                        let (zi, zdi, bi, bdi, pi, pdi) =
                            (zs[i], zds[i], bs[i], bds[i], ps[i], pds[i]);
                        zb += zi * pi;
                        bb += bi * pi;
                        zdb += zdi * pi;
                        zpd += zi * pdi;
                        bdb += bdi * pi;
                        bpd += bi * pdi;
                        bds[i] = fds[i] + cd * (zi - mu * bi) + c * (zdi - mud * bi - mu * bdi);
                        bs[i] = fs[i] + c * (zi - mu * bi);
                    }
                }
                None => {
                    for i in 0..n {
                        let (zi, bi, bdi) = (zs[i], bs[i], bds[i]);
                        bds[i] = fds[i] + cd * (zi - mu * bi) + c * (zds[i] - mud * bi - mu * bdi);
                        bs[i] = fs[i] + c * (zi - mu * bi);
                    }
                }
            }
        }
        if prev.is_some() {
            acc.tau += div_real(zb - mu * bb, kt);
            acc.tau_dot += div_real(zdb + zpd - mud * bb - mu * (bdb + bpd), kt);
            acc.mu -= c * bb;
            acc.mu_dot -= cd * bb + c * (bdb + bpd);
        }
    }
    for m in [z, zd, tmp, rawt, rawtd] {
        ws.give(m);
    }
    (bbar, bbar_d)
}

impl<T: Scalar, Op: GradLinOp<T>> ExpmAction<T, Op> {
    /// Checks a direction against the action's shapes.
    fn check_tangent(
        &self,
        dir: &ActionTangent<'_, T>,
        name: &'static str,
    ) -> Result<(), LinalgError> {
        if let Some(xd) = dir.x {
            if xd.shape() != (self.n, self.n) {
                return Err(LinalgError::ShapeMismatch {
                    op: name,
                    lhs: (self.n, self.n),
                    rhs: xd.shape(),
                });
            }
            if !xd.all_finite() {
                return Err(LinalgError::NonFinite { op: name });
            }
        }
        if let Some(vd) = dir.v {
            if vd.shape() != (self.n, self.k) {
                return Err(LinalgError::ShapeMismatch {
                    op: name,
                    lhs: (self.n, self.k),
                    rhs: vd.shape(),
                });
            }
            if !all_finite(vd) {
                return Err(LinalgError::NonFinite { op: name });
            }
        }
        if !dir.t.is_finite_value() {
            return Err(LinalgError::NonFinite { op: name });
        }
        Ok(())
    }

    /// `(τ̇, μ̇, η̇)` for the direction.
    fn plan_dot(&self, dir: &ActionTangent<'_, T>) -> PlanDot<T> {
        let plan = &self.plan;
        let tau = div_real(dir.t, real::<T>(plan.s.max(1) as f64));
        let mu = match (plan.shifted, dir.x) {
            (true, Some(xd)) => div_real(xd.trace(), real::<T>(self.n as f64)),
            _ => T::zero_impl(),
        };
        PlanDot {
            tau,
            mu,
            eta: plan.eta * (tau * plan.mu + plan.tau * mu),
        }
    }

    /// The tangent sweep from `V̇` (zeros for `None`), optionally keeping every `(u_i, u̇_i)`,
    /// `i = 0..s`. Returns `(w, ẇ)`.
    fn dual_sweep(
        &self,
        dir: &ActionTangent<'_, T>,
        mut keep: Option<&mut Vec<(Mat<T>, Mat<T>)>>,
        mut steps: Option<&mut Vec<DualStepTape<T>>>,
        name: &'static str,
        ws: &mut ActionWorkspace<T>,
    ) -> Result<(Mat<T>, Mat<T>), LinalgError> {
        let (n, k) = (self.n, self.k);
        let pd = self.plan_dot(dir);
        let plan = &self.plan;
        let mut u = match &self.tape {
            Tape::Checkpoint(cps) => ws.copy_of(cps[0].as_ref()),
            Tape::All(steps) => ws.copy_of(steps[0].b[0].as_ref()),
            Tape::Empty => unreachable!("handled by the callers"),
        };
        let mut ud = match dir.v {
            Some(vd) => ws.copy_of(vd),
            None => {
                let mut z = ws.take(n, k);
                z.fill(T::zero_impl());
                z
            }
        };
        let stored = match &self.tape {
            Tape::All(fwd) if plan.tau != T::zero_impl() => Some(fwd),
            _ => None,
        };
        for i in 0..plan.s {
            let mut st = steps.is_some().then(DualStepTape::new);
            let (f, fd) = match stored {
                Some(fwd) => {
                    let mut fd = dual_step_stored(
                        &self.op,
                        dir.x,
                        &fwd[i],
                        ud.as_ref(),
                        self.js[i],
                        plan,
                        pd,
                        st.as_mut(),
                        ws,
                    );
                    // u_i from the forward's tape; u̇_i = (η̇/η)·u_i + η·Ḟ_i.
                    let f = match fwd.get(i + 1) {
                        Some(next) => ws.copy_of(next.b[0].as_ref()),
                        None => ws.copy_of(self.value.as_ref()),
                    };
                    let rate = pd.tau * plan.mu + plan.tau * pd.mu;
                    for c in 0..k {
                        for (x, xd) in f.col_as_slice(c).iter().zip(fd.col_as_slice_mut(c)) {
                            *xd = rate * *x + plan.eta * *xd;
                        }
                    }
                    (f, fd)
                }
                None => {
                    let (mut f, mut fd) = dual_step(
                        &self.op,
                        dir.x,
                        u.as_ref(),
                        ud.as_ref(),
                        self.js[i],
                        plan,
                        pd,
                        st.as_mut(),
                        ws,
                    );
                    scale_dual(&mut f, &mut fd, plan.eta, pd.eta);
                    (f, fd)
                }
            };
            if let (Some(steps), Some(st)) = (steps.as_deref_mut(), st) {
                steps.push(st);
            }
            if !all_finite(f.as_ref()) || !all_finite(fd.as_ref()) {
                return Err(LinalgError::Overflow { op: name });
            }
            let old = (
                core::mem::replace(&mut u, f),
                core::mem::replace(&mut ud, fd),
            );
            match keep.as_deref_mut() {
                Some(cps) => cps.push(old),
                None => {
                    ws.give(old.0);
                    ws.give(old.1);
                }
            }
        }
        if let Some(cps) = keep {
            cps.push((u.clone(), ud.clone()));
        }
        Ok((u, ud))
    }

    /// Forward mode: the tangent `ẇ` of the computed `w` along `dir`, the same Taylor steps
    /// differentiated (frozen `m`, `s`, shift decision and `j_i`). Products:
    /// [`jvp_products`](Self::jvp_products) (2–3 times the forward's with a checkpointed
    /// forward, 1–2 times with stored Taylor vectors). Errors: [`LinalgError::ShapeMismatch`]
    /// / [`LinalgError::NonFinite`] for the direction, [`LinalgError::Overflow`].
    pub fn try_jvp(&self, dir: ActionTangent<'_, T>) -> Result<Mat<T>, LinalgError> {
        self.try_jvp_in(dir, &mut ActionWorkspace::new())
    }

    /// [`try_jvp`](Self::try_jvp) taking its work blocks from `ws`.
    pub fn try_jvp_in(
        &self,
        dir: ActionTangent<'_, T>,
        ws: &mut ActionWorkspace<T>,
    ) -> Result<Mat<T>, LinalgError> {
        const OP: &str = "ExpmAction::jvp";
        self.check_tangent(&dir, OP)?;
        if let Tape::Empty = self.tape {
            return Ok(dir
                .v
                .map_or_else(|| Mat::zeros(self.n, self.k), |v| v.to_owned()));
        }
        let (w, wd) = self.dual_sweep(&dir, None, None, OP, ws)?;
        ws.give(w);
        Ok(wd)
    }

    /// Matrix–vector products of [`try_jvp`](Self::try_jvp): `k·Σ j_i` with `X` on the
    /// tangents, as many with `Ẋ` (when given), and with `X` on the Taylor vectors either
    /// `k·Σ j_i` again (checkpointed forward) or only `k·s` (the forward stored them: the
    /// last term of each step).
    pub fn jvp_products(&self, with_x: bool) -> usize {
        let per = if with_x { 2 } else { 1 };
        per * self.products() + self.b_products()
    }

    /// Products with `X` on the Taylor vectors in one tangent sweep.
    fn b_products(&self) -> usize {
        match self.tape {
            Tape::All(_) if self.plan.tau != T::zero_impl() => self.plan.s * self.k,
            _ => self.products(),
        }
    }

    /// Matrix–vector products of [`try_vjp_jvp`](Self::try_vjp_jvp): the tangent sweep
    /// ([`jvp_products`](Self::jvp_products)), its recomputation step by step when the
    /// forward was checkpointed (as much again), and the tangent reverse pass (`k·m·s` with
    /// `Xᵀ` on `b̄` and on `b̄̇`, and with `Ẋᵀ` when given).
    pub fn vjp_jvp_products(&self, with_x: bool) -> usize {
        let per = if with_x { 3 } else { 2 };
        let sweeps = match self.tape {
            Tape::All(_) => 1,
            _ => 2,
        };
        sweeps * self.jvp_products(with_x) + per * self.plan.m * self.plan.s * self.k
    }

    /// Second order: the reverse pass for `w̄` and its tangent along the direction `dir` of
    /// the inputs and the tangent `w̄̇` of the cotangent (`None` is zero). `X̄` goes to
    /// `sink` (what [`try_vjp`](Self::try_vjp) gives), its tangent `X̄̇` to `sink_dot` (a
    /// second sink of the same operator, [`cotangent`](Self::cotangent)); returns `V̄`, `t̄` and
    /// their tangents. Complex scalars: the cotangents under `Re tr(Aᴴ B)` and their tangents.
    ///
    /// Memory: the step inputs and their tangents (`2(s+1)` blocks of n×k) and one step's
    /// Taylor vectors and tangents, checked against the forward's byte budget
    /// ([`LinalgError::Budget`]); every step's vectors and tangents (no recomputation) when
    /// the forward stored its vectors ([`StorePolicy::All`](crate::StorePolicy::All)) and
    /// they fit the budget. Errors also as [`try_jvp`](Self::try_jvp) and
    /// [`try_vjp`](Self::try_vjp).
    pub fn try_vjp_jvp<S, SD>(
        &self,
        w_bar: MatRef<'_, T>,
        w_bar_dot: Option<MatRef<'_, T>>,
        dir: ActionTangent<'_, T>,
        sink: &mut S,
        sink_dot: &mut SD,
    ) -> Result<ActionDualCotangent<T>, LinalgError>
    where
        S: ActionCotangent<T> + ?Sized,
        SD: ActionCotangent<T> + ?Sized,
    {
        self.try_vjp_jvp_in(
            w_bar,
            w_bar_dot,
            dir,
            sink,
            sink_dot,
            &mut ActionWorkspace::new(),
        )
    }

    /// [`try_vjp_jvp`](Self::try_vjp_jvp) taking its work blocks from `ws`.
    #[allow(clippy::too_many_arguments)]
    pub fn try_vjp_jvp_in<S, SD>(
        &self,
        w_bar: MatRef<'_, T>,
        w_bar_dot: Option<MatRef<'_, T>>,
        dir: ActionTangent<'_, T>,
        sink: &mut S,
        sink_dot: &mut SD,
        ws: &mut ActionWorkspace<T>,
    ) -> Result<ActionDualCotangent<T>, LinalgError>
    where
        S: ActionCotangent<T> + ?Sized,
        SD: ActionCotangent<T> + ?Sized,
    {
        const OP: &str = "ExpmAction::vjp_jvp";
        let (n, k) = (self.n, self.k);
        self.check_tangent(&dir, OP)?;
        for g in core::iter::once(w_bar).chain(w_bar_dot) {
            if g.shape() != (n, k) {
                return Err(LinalgError::ShapeMismatch {
                    op: OP,
                    lhs: (n, k),
                    rhs: g.shape(),
                });
            }
            if !all_finite(g) {
                return Err(LinalgError::NonFinite { op: OP });
            }
        }
        let mut ubar = w_bar.to_owned();
        let mut ubar_d = w_bar_dot.map_or_else(|| Mat::zeros(n, k), |g| g.to_owned());
        if let Tape::Empty = self.tape {
            return Ok(ActionDualCotangent {
                v_bar: ubar,
                t_bar: T::zero_impl(),
                v_bar_dot: ubar_d,
                t_bar_dot: T::zero_impl(),
            });
        }
        let plan = &self.plan;
        let raw = self.op.keeps_raw() || self.op.keeps_raw_transpose();
        let block = (n * k) as f64 * core::mem::size_of::<T>() as f64;
        let per = if raw { 4.0 } else { 2.0 };
        let work = 2.0 * (plan.s as f64 + 1.0) * block + 14.0 * block;
        let bytes = work + per * plan.m as f64 * block;
        plan.check_budget(k, bytes, self.budget, OP)?;
        // Keep every step's (b, ḃ) when the forward kept its Taylor vectors and twice that
        // fits the byte budget (no recomputation); else recompute step by step.
        let terms: usize = self.js.iter().sum();
        let keep_all = matches!(self.tape, Tape::All(_))
            && work + per * terms as f64 * block <= self.budget.bytes as f64;
        let pd = self.plan_dot(&dir);
        let mut cps = Vec::with_capacity(plan.s + 1);
        let mut steps = Vec::new();
        let (w, wd) =
            self.dual_sweep(&dir, Some(&mut cps), keep_all.then_some(&mut steps), OP, ws)?;
        ws.give(w);
        ws.give(wd);
        if T::IS_COMPLEX {
            conjugate_in_place(&mut ubar);
            conjugate_in_place(&mut ubar_d);
        }
        let mut acc = DualScalars {
            tau: T::zero_impl(),
            tau_dot: T::zero_impl(),
            mu: T::zero_impl(),
            mu_dot: T::zero_impl(),
        };
        for i in (0..plan.s).rev() {
            if plan.shifted {
                let (u_out, ud_out) = (&cps[i + 1].0, &cps[i + 1].1);
                let e = dot(&ubar, u_out.as_ref());
                let ed = dot(&ubar_d, u_out.as_ref()) + dot(&ubar, ud_out.as_ref());
                acc.mu += plan.tau * e;
                acc.mu_dot += pd.tau * e + plan.tau * ed;
                acc.tau += plan.mu * e;
                acc.tau_dot += pd.mu * e + plan.mu * ed;
            }
            // (F̄, F̄̇) = (η ū, η̇ ū + η ū̇).
            scale_dual(&mut ubar, &mut ubar_d, plan.eta, pd.eta);
            let stored = match &self.tape {
                Tape::All(fwd) if plan.tau != T::zero_impl() => Some(&fwd[i]),
                _ => None,
            };
            let st = match steps.pop() {
                Some(st) => st,
                None => {
                    let mut st = DualStepTape::new();
                    match stored {
                        Some(fwd) => {
                            let fd = dual_step_stored(
                                &self.op,
                                dir.x,
                                fwd,
                                cps[i].1.as_ref(),
                                self.js[i],
                                plan,
                                pd,
                                Some(&mut st),
                                ws,
                            );
                            ws.give(fd);
                        }
                        None => {
                            let (f, fd) = dual_step(
                                &self.op,
                                dir.x,
                                cps[i].0.as_ref(),
                                cps[i].1.as_ref(),
                                self.js[i],
                                plan,
                                pd,
                                Some(&mut st),
                                ws,
                            );
                            ws.give(f);
                            ws.give(fd);
                        }
                    }
                    st
                }
            };
            let (fwd_b, fwd_raw) = match stored {
                Some(fwd) => (&fwd.b[..], &fwd.raw[..]),
                None => (&st.b[..], &st.raw[..]),
            };
            let (next, next_d) = dual_reverse_step(
                &self.op, dir.x, sink, sink_dot, &ubar, &ubar_d, &st, fwd_b, fwd_raw, self.js[i],
                plan, pd, &mut acc, ws,
            );
            st.recycle(ws);
            ws.give(core::mem::replace(&mut ubar, next));
            ws.give(core::mem::replace(&mut ubar_d, next_d));
        }
        for (a, b) in cps {
            ws.give(a);
            ws.give(b);
        }
        if plan.shifted {
            let nt = real::<T>(n as f64);
            sink.add_identity(div_real(acc.mu, nt));
            sink_dot.add_identity(div_real(acc.mu_dot, nt));
        }
        let st = real::<T>(plan.s as f64);
        let mut t_bar = div_real(acc.tau, st);
        let mut t_bar_dot = div_real(acc.tau_dot, st);
        if T::IS_COMPLEX {
            conjugate_in_place(&mut ubar);
            conjugate_in_place(&mut ubar_d);
            t_bar = t_bar.conjugate();
            t_bar_dot = t_bar_dot.conjugate();
        }
        if !t_bar.is_finite_value()
            || !t_bar_dot.is_finite_value()
            || !all_finite(ubar.as_ref())
            || !all_finite(ubar_d.as_ref())
        {
            return Err(LinalgError::Overflow { op: OP });
        }
        Ok(ActionDualCotangent {
            v_bar: ubar,
            t_bar,
            v_bar_dot: ubar_d,
            t_bar_dot,
        })
    }
}
