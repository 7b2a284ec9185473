//! [`ExpmAction`]: the taped forward pass of `w = exp(tX)·V` and its exact discrete-adjoint
//! reverse pass (docs/math.md §8).
//!
//! Reverse pass, full degree (`μ`, `m`, `s`, `j_i`, `η` are the forward's constants):
//!
//! ```text
//! ū = w̄;  for i = s..1:
//!     μ̄ += τ⟨ū, u_i⟩,  τ̄ += μ⟨ū, u_i⟩              (u_i = η·F_i depends on τμ through η)
//!     F̄ = η ū;  b̄ = F̄
//!     for k = m..1:
//!         z = Xᵀ b̄
//!         if k ≤ j_i:  X̄ += (τ/k) b̄ b_{k−1}ᵀ      (handed to the sink, never formed)
//!                      τ̄ += ⟨z − μb̄, b_{k−1}⟩/k,  μ̄ −= (τ/k)⟨b̄, b_{k−1}⟩
//!         b̄ = F̄ + (τ/k)(z − μ b̄)
//!     ū = b̄
//! V̄ = ū,  t̄ = τ̄/s,  X̄ += (μ̄/n)·I  (μ = tr(X)/n; only when the shift was applied)
//! ```
//!
//! The Horner recurrence starts at `m`, never at `j_i`: `j_i` is where the series converged
//! for this `V`, while `F̄` is another vector and needs the operator-level degree (starting at
//! `j_i` loses about 4 digits of `V̄` and `X̄` when `V` is near an eigenvector of `X`).
//!
//! The gradient through the shift `μ = tr(X)/n` is included: it makes `X̄` the exact
//! derivative of the computed `e^{tμ}T_m(τ(X − μI))^s V` (`μ` as a function of `X`). In exact
//! arithmetic it is the derivative of the truncation term only (`e^{tX} = e^{tμ}e^{tX_s}`
//! for every `μ`), so `μ̄` is tiny; it is computed from two sums of size `|t⟨w̄, w⟩|` that
//! cancel, and measured against the dense Fréchet route both choices agree to rounding (see
//! the tests), so the exact derivative of what was computed is kept.
//!
//! Complex scalars: the recurrence above is the bilinear transpose `Jᵀ` of the forward (it
//! never conjugates). It runs on `conj(w̄)`, and `V̄`, `t̄` are conjugated on exit, which gives
//! `Jᴴw̄`, the cotangent under `Re tr(Aᴴ B)`; the sinks add the conjugates of their
//! contractions (docs/math.md §8, "The action over complex scalars").
//!
//! Tests: `crates/linalg/tests/{action_reverse,action_storage,action_errors,action_budget,action_complex}.rs`.

mod cotangent;
mod diag;
mod dual;
mod pattern;
mod pooled;
mod times;

#[allow(deprecated)]
pub use cotangent::RankOne;
pub use cotangent::{ActionCotangent, DenseCotangent, LowRankTerm, NoCotangent};
pub use diag::DiagCotangent;
pub use dual::{ActionDualCotangent, ActionTangent};
pub use pattern::SparsePatternCotangent;
pub use pooled::PooledAction;
pub use times::ExpmActionTimes;

use super::forward::{check_inputs, run_steps};
use super::op::GradLinOp;
use super::plan::{ActionBudget, ExpmActionOptions, Plan, StorePolicy, plan};
use super::taylor::{StepTape, Taped, conjugate_in_place, taylor_step};
use super::workspace::ActionWorkspace;
use crate::Scalar;
use crate::error::{LinalgError, unwrap_or_panic};
use crate::expm::all_finite;
use crate::scalar::{div_real, real};
use faer::{Mat, MatRef};

/// What the forward pass kept for the reverse pass.
#[derive(Clone, Debug)]
enum Tape<T> {
    /// Nothing to differentiate (n = 0 or k = 0).
    Empty,
    /// Every step's Taylor vectors.
    All(Vec<StepTape<T>>),
    /// The step inputs `u_0..u_{s−1}`.
    Checkpoint(Vec<Mat<T>>),
}

/// The taped action of the exponential `w = exp(tX)·V`: one forward pass, then any number of
/// reverse passes ([`vjp`](Self::vjp)) giving `V̄`, `t̄` and `X̄` (the latter as low-rank
/// terms handed to the sink the operator builds, [`cotangent`](Self::cotangent)).
///
/// Owns its operator (pass `&x` to borrow one): the reverse pass uses the very operator of
/// the forward pass, and its sink always fits it.
///
/// ```
/// use expgrad_linalg::{expm_multiply, DiagScaled, ExpmAction, ExpmActionOptions};
/// use faer::sparse::{SparseColMat, Triplet};
/// // X = Diag(d)·A with A a 1-D Laplacian (CSC), w = exp(tX)·v, loss = Σ w.
/// let n = 40;
/// let mut trip = Vec::new();
/// for i in 0..n {
///     trip.push(Triplet::new(i, i, -2.0f64));
///     if i + 1 < n {
///         trip.push(Triplet::new(i, i + 1, 1.0));
///         trip.push(Triplet::new(i + 1, i, 1.0));
///     }
/// }
/// let a = SparseColMat::<usize, f64>::try_new_from_triplets(n, n, &trip).unwrap();
/// let d: Vec<f64> = (0..n).map(|i| 1.0 + 0.5 * (i as f64).sin()).collect();
/// let v = faer::Mat::<f64>::from_fn(n, 1, |i, _| (i as f64 / n as f64).powi(2));
/// let act = ExpmAction::new(DiagScaled::left(&d, &a), 2.0, v.as_ref(), ExpmActionOptions::default());
/// assert_eq!(act.value(), expm_multiply(act.operator(), 2.0, v.as_ref()));
/// let wbar = faer::Mat::<f64>::ones(n, 1);
/// let mut dbar = act.cotangent();
/// let (vbar, tbar) = act.vjp(wbar.as_ref(), &mut dbar);
/// // Central difference in d₇.
/// let h = 1e-6;
/// let loss = |dd: &[f64]| expm_multiply(&DiagScaled::left(dd, &a), 2.0, v.as_ref()).sum();
/// let (mut dp, mut dm) = (d.clone(), d.clone());
/// dp[7] += h;
/// dm[7] -= h;
/// let fd = (loss(&dp) - loss(&dm)) / (2.0 * h);
/// assert!((dbar.value()[7] - fd).abs() < 1e-7 * fd.abs().max(1.0));
/// assert_eq!(vbar.shape(), (n, 1));
/// assert!(tbar.is_finite());
/// ```
#[derive(Clone, Debug)]
pub struct ExpmAction<T, Op> {
    op: Op,
    n: usize,
    k: usize,
    plan: Plan<T>,
    js: Vec<usize>,
    value: Mat<T>,
    tape: Tape<T>,
    /// The forward's budget, for the second-order pass's own memory check.
    budget: ActionBudget,
}

/// Resolves [`StorePolicy::Auto`] from the bound `m·s·n·k` on the stored values.
fn resolve<T>(store: StorePolicy, plan: &Plan<T>, n: usize, k: usize, raw: bool) -> StorePolicy {
    match store {
        StorePolicy::Auto { budget_bytes } => {
            let values = plan
                .m
                .saturating_mul(plan.s)
                .saturating_mul(n)
                .saturating_mul(k)
                .saturating_mul(if raw { 2 } else { 1 });
            if values.saturating_mul(core::mem::size_of::<T>()) <= budget_bytes {
                StorePolicy::All
            } else {
                StorePolicy::Checkpoint
            }
        }
        other => other,
    }
}

fn dot<T: Scalar>(a: &Mat<T>, b: MatRef<'_, T>) -> T {
    let mut s = T::zero_impl();
    for c in 0..a.ncols() {
        for (i, &ai) in a.col_as_slice(c).iter().enumerate() {
            s += ai * b[(i, c)];
        }
    }
    s
}

/// Accumulators of the scalar adjoints.
struct Scalars<T> {
    tau: T,
    mu: T,
}

/// The reverse pass of one step: from `F̄` (n×k) and the step's Taylor vectors, returns
/// `ū_{i−1}`; hands `X̄`'s terms to `sink`. `extra[j]` (`j ≤ j_i`), when given, is a further
/// cotangent of `b_j` alone (the many-times action's outputs inside the step), added to `F̄`
/// at level `j`.
#[allow(clippy::too_many_arguments)]
fn reverse_step<T, Op, S>(
    op: &Op,
    sink: &mut S,
    fbar: &Mat<T>,
    step: &StepTape<T>,
    j: usize,
    plan: &Plan<T>,
    acc: &mut Scalars<T>,
    ws: &mut ActionWorkspace<T>,
    extra: Option<&[Mat<T>]>,
) -> Mat<T>
where
    T: Scalar,
    Op: GradLinOp<T> + ?Sized,
    S: ActionCotangent<T> + ?Sized,
{
    let (n, k) = fbar.shape();
    let mut bbar = ws.copy_of(fbar.as_ref());
    let add_extra = |bbar: &mut Mat<T>, level: usize| {
        if let Some(g) = extra.and_then(|e| e.get(level)) {
            for col in 0..k {
                for (bi, &gi) in bbar
                    .col_as_slice_mut(col)
                    .iter_mut()
                    .zip(g.col_as_slice(col))
                {
                    *bi += gi;
                }
            }
        }
    };
    add_extra(&mut bbar, plan.m);
    let mut z = ws.take(n, k);
    let raw_t = op.keeps_raw_transpose();
    let mut rawt = if raw_t {
        ws.take(n, k)
    } else {
        Mat::zeros(0, 0)
    };
    let mu = plan.mu;
    for kk in (1..=plan.m).rev() {
        if raw_t {
            op.apply_transpose_keep_raw(z.as_mut(), bbar.as_ref(), rawt.as_mut());
        } else {
            op.apply_transpose(z.as_mut(), bbar.as_ref());
        }
        let kt = real::<T>(kk as f64);
        let c = div_real(plan.tau, kt);
        let b_prev = (kk <= j).then(|| &step.b[kk - 1]);
        if let Some(b_prev) = b_prev {
            sink.add_rank_one(LowRankTerm {
                scale: c,
                left: bbar.as_ref(),
                right: b_prev.as_ref(),
                raw: step.raw.get(kk - 1).map(Mat::as_ref),
                raw_transpose: raw_t.then(|| rawt.as_ref()),
            });
        }
        // b̄_{k−1} = F̄ + c·(z − μ·b̄_k), with ⟨z, b_{k−1}⟩ and ⟨b̄_k, b_{k−1}⟩ in the same pass.
        let (mut zb, mut bb) = (T::zero_impl(), T::zero_impl());
        for col in 0..k {
            let fs = fbar.col_as_slice(col);
            let zs = z.col_as_slice(col);
            let bs = bbar.col_as_slice_mut(col);
            match b_prev {
                Some(p) => {
                    let ps = p.col_as_slice(col);
                    for (((bi, &fi), &zi), &pi) in bs.iter_mut().zip(fs).zip(zs).zip(ps) {
                        zb += zi * pi;
                        bb += *bi * pi;
                        *bi = fi + c * (zi - mu * *bi);
                    }
                }
                None => {
                    for ((bi, &fi), &zi) in bs.iter_mut().zip(fs).zip(zs) {
                        *bi = fi + c * (zi - mu * *bi);
                    }
                }
            }
        }
        if b_prev.is_some() {
            acc.tau += div_real(zb - mu * bb, kt);
            acc.mu -= c * bb;
        }
        add_extra(&mut bbar, kk - 1);
    }
    ws.give(z);
    ws.give(rawt);
    bbar
}

/// Bytes a taped forward holds under `store` (stored vectors or checkpoints, one recomputed
/// step, work blocks, per-step bookkeeping), for the budget check.
fn taped_bytes<T>(store: StorePolicy, plan: &Plan<T>, n: usize, k: usize, raw: bool) -> f64 {
    let block = (n * k) as f64 * core::mem::size_of::<T>() as f64;
    let per_vector = if raw { 2.0 } else { 1.0 };
    let (m, s) = (plan.m as f64, plan.s as f64);
    let header = core::mem::size_of::<Mat<T>>() as f64;
    let work = 6.0 * block + s * core::mem::size_of::<usize>() as f64;
    match store {
        StorePolicy::Checkpoint => s * (block + header) + m * per_vector * block + work,
        _ => m * s * per_vector * (block + header) + work,
    }
}

impl<T: Scalar, Op: GradLinOp<T>> ExpmAction<T, Op> {
    /// Runs and tapes the forward pass. Panics with the [`LinalgError`] message on bad input,
    /// overflow or an exceeded budget; see [`try_new`](Self::try_new).
    #[track_caller]
    pub fn new(op: Op, t: T, v: MatRef<'_, T>, options: ExpmActionOptions) -> Self {
        unwrap_or_panic(Self::try_new(op, t, v, options))
    }

    /// Runs and tapes the forward pass, or returns the errors of
    /// [`try_expm_multiply`](crate::try_expm_multiply) (with the options' budget, counting the
    /// stored vectors). The value is bitwise the value of
    /// [`try_expm_multiply_with`](crate::try_expm_multiply_with) with the same parameters
    /// (for `t ≠ 0`; at `t = 0` both return `V`, and the tape takes two Taylor terms, both
    /// zero, so that `t̄ = ⟨w̄, XV⟩` and the second derivative in `t` of the taped program,
    /// `X²V`, is that of `exp(tX)·V`: the forward-over-reverse rules differentiate it).
    pub fn try_new(
        op: Op,
        t: T,
        v: MatRef<'_, T>,
        options: ExpmActionOptions,
    ) -> Result<Self, LinalgError> {
        Self::try_new_in(op, t, v, options, &mut ActionWorkspace::new())
    }

    /// [`new`](Self::new) taking its blocks from `ws` (see [`recycle`](Self::recycle)).
    #[track_caller]
    pub fn new_in(
        op: Op,
        t: T,
        v: MatRef<'_, T>,
        options: ExpmActionOptions,
        ws: &mut ActionWorkspace<T>,
    ) -> Self {
        unwrap_or_panic(Self::try_new_in(op, t, v, options, ws))
    }

    /// [`try_new`](Self::try_new) taking its blocks from `ws`: in a loop, the blocks of the
    /// previous iteration's tape ([`recycle`](Self::recycle)) instead of fresh memory. The
    /// results are bitwise the same.
    pub fn try_new_in(
        op: Op,
        t: T,
        v: MatRef<'_, T>,
        options: ExpmActionOptions,
        ws: &mut ActionWorkspace<T>,
    ) -> Result<Self, LinalgError> {
        const OP: &str = "ExpmAction";
        let (n, k) = v.shape();
        if !check_inputs(&op, t, v, OP)? {
            return Ok(Self {
                op,
                n,
                k,
                plan: Plan::trivial(0, 0),
                js: Vec::new(),
                value: v.to_owned(),
                tape: Tape::Empty,
                budget: options.budget,
            });
        }
        let plan = if t == T::zero_impl() {
            // Degree 2: w = V + τXV + τ²X²V/2 at τ = 0 carries the first and the second
            // derivative in t (degree 1 would give ∂²w/∂t² = 0).
            Plan::trivial(2, 1)
        } else {
            plan(&op, t, k, options.params, options.budget, OP)?
        };
        let store = resolve(options.store, &plan, n, k, op.keeps_raw());
        let bytes = taped_bytes::<T>(store, &plan, n, k, op.keeps_raw());
        plan.check_budget(k, bytes, options.budget, OP)?;
        let step_op = Taped(&op);
        let (value, js, tape) = match store {
            StorePolicy::Checkpoint => {
                let mut cps = Vec::with_capacity(plan.s);
                let (w, js) = run_steps(v, &plan, OP, |u| {
                    cps.push(ws.copy_of(u));
                    taylor_step(&step_op, u, &plan, None, ws)
                })?;
                (w, js, Tape::Checkpoint(cps))
            }
            _ => {
                let mut steps = Vec::with_capacity(plan.s);
                let (w, js) = run_steps(v, &plan, OP, |u| {
                    let mut st = StepTape::new();
                    let r = taylor_step(&step_op, u, &plan, Some(&mut st), ws);
                    steps.push(st);
                    r
                })?;
                (w, js, Tape::All(steps))
            }
        };
        Ok(Self {
            op,
            n,
            k,
            plan,
            js,
            value,
            tape,
            budget: options.budget,
        })
    }

    /// The operator `X` of the forward pass.
    pub fn operator(&self) -> &Op {
        &self.op
    }

    /// A zero sink for `X̄`, built by the operator ([`GradLinOp::cotangent`]): pass it to
    /// [`vjp`](Self::vjp), or pass [`NoCotangent`] when `X̄` is not wanted.
    pub fn cotangent(&self) -> Op::Cotangent {
        self.op.cotangent()
    }

    /// `w = exp(tX)·V`.
    pub fn value(&self) -> MatRef<'_, T> {
        self.value.as_ref()
    }

    /// `(m, s)`: the Taylor degree and the number of steps (`(0, 0)` for an empty problem).
    pub fn params(&self) -> (usize, usize) {
        (self.plan.m, self.plan.s)
    }

    /// `j_i`, the number of Taylor terms each step took (early termination), `j_i ≤ m`.
    pub fn terms(&self) -> &[usize] {
        &self.js
    }

    /// The shift `μ` the recurrence used: `tr(X)/n`, or 0 when the shift was not applied.
    pub fn shift(&self) -> T {
        self.plan.mu
    }

    /// Matrix–vector products with `X` of the forward Taylor recurrence (`k·Σ j_i`; an n×k
    /// product counts `k`).
    pub fn products(&self) -> usize {
        self.js.iter().sum::<usize>() * self.k
    }

    /// Matrix–vector products spent estimating norms for the parameter choice.
    pub fn norm_products(&self) -> usize {
        self.plan.norm_products
    }

    /// Matrix–vector products of one reverse pass: `k·m·s` with `Xᵀ`, plus the forward's
    /// `k·Σ j_i` with `X` again under [`StorePolicy::Checkpoint`].
    pub fn reverse_products(&self) -> usize {
        let horner = self.plan.m * self.plan.s * self.k;
        match self.tape {
            Tape::Checkpoint(_) => horner + self.products(),
            _ => horner,
        }
    }

    /// The policy the forward pass used ([`StorePolicy::All`] or [`StorePolicy::Checkpoint`]).
    pub fn store_policy(&self) -> StorePolicy {
        match self.tape {
            Tape::Checkpoint(_) => StorePolicy::Checkpoint,
            _ => StorePolicy::All,
        }
    }

    /// Number of scalars held for the reverse pass (Taylor vectors, raw products or
    /// checkpoints; not counting the value).
    pub fn stored_values(&self) -> usize {
        match &self.tape {
            Tape::Empty => 0,
            Tape::All(steps) => steps.iter().map(StepTape::values).sum(),
            Tape::Checkpoint(cps) => cps.iter().map(|m| m.nrows() * m.ncols()).sum(),
        }
    }

    /// Moves every stored block (Taylor vectors, raw products, checkpoints, the value) into
    /// `ws`, for the next [`try_new_in`](Self::try_new_in), and gives the operator back.
    pub fn recycle(self, ws: &mut ActionWorkspace<T>) -> Op {
        match self.tape {
            Tape::Empty => {}
            Tape::All(steps) => steps.into_iter().for_each(|st| st.recycle(ws)),
            Tape::Checkpoint(cps) => cps.into_iter().for_each(|m| ws.give(m)),
        }
        ws.give(self.value);
        self.op
    }

    /// The reverse pass: returns `(V̄, t̄)` for the cotangent `w̄` (n×k) and hands `X̄` to
    /// `sink` ([`cotangent`](Self::cotangent), or [`NoCotangent`]). Over `c32`/`c64` the
    /// cotangents are those of `Re tr(Aᴴ B)`: `V̄ = exp(tX)ᴴ·w̄`, and `∂ℓ/∂Re t = Re t̄`,
    /// `∂ℓ/∂Im t = Im t̄` (likewise for `V̄` and `X̄`). Panics with the [`LinalgError`] message
    /// on bad input; see [`try_vjp`](Self::try_vjp).
    #[track_caller]
    pub fn vjp<S>(&self, w_bar: MatRef<'_, T>, sink: &mut S) -> (Mat<T>, T)
    where
        S: ActionCotangent<T> + ?Sized,
    {
        unwrap_or_panic(self.try_vjp(w_bar, sink))
    }

    /// The reverse pass, or [`LinalgError::ShapeMismatch`] (`w̄` is not n×k),
    /// [`LinalgError::NonFinite`] (`w̄`), [`LinalgError::Overflow`] (`V̄` or `t̄`).
    pub fn try_vjp<S>(&self, w_bar: MatRef<'_, T>, sink: &mut S) -> Result<(Mat<T>, T), LinalgError>
    where
        S: ActionCotangent<T> + ?Sized,
    {
        self.try_vjp_in(w_bar, sink, &mut ActionWorkspace::new())
    }

    /// [`try_vjp`](Self::try_vjp) taking its work blocks (adjoint vectors, and the recomputed
    /// Taylor vectors of a checkpointed step) from `ws`; bitwise the same results.
    pub fn try_vjp_in<S>(
        &self,
        w_bar: MatRef<'_, T>,
        sink: &mut S,
        ws: &mut ActionWorkspace<T>,
    ) -> Result<(Mat<T>, T), LinalgError>
    where
        S: ActionCotangent<T> + ?Sized,
    {
        const OP: &str = "ExpmAction::vjp";
        let (n, k) = (self.n, self.k);
        let op = &self.op;
        if w_bar.shape() != (n, k) {
            return Err(LinalgError::ShapeMismatch {
                op: OP,
                lhs: (n, k),
                rhs: w_bar.shape(),
            });
        }
        if !all_finite(w_bar) {
            return Err(LinalgError::NonFinite { op: OP });
        }
        let plan = &self.plan;
        let mut ubar = w_bar.to_owned();
        if let Tape::Empty = self.tape {
            return Ok((ubar, T::zero_impl()));
        }
        // Complex: the recurrence below is the bilinear transpose Jᵀ of the forward (it never
        // conjugates); the cotangent under Re⟨·,·⟩ is Jᴴw̄ = conj(Jᵀ·conj(w̄)). So w̄ is
        // conjugated here, V̄ and t̄ on exit, and every sink adds the conjugate of its
        // contraction (docs/math.md §8, "The action over complex scalars").
        if T::IS_COMPLEX {
            conjugate_in_place(&mut ubar);
        }
        let mut acc = Scalars {
            tau: T::zero_impl(),
            mu: T::zero_impl(),
        };
        for i in (0..plan.s).rev() {
            if plan.shifted {
                let u_out = match &self.tape {
                    _ if i + 1 == plan.s => self.value.as_ref(),
                    Tape::All(steps) => steps[i + 1].b[0].as_ref(),
                    Tape::Checkpoint(cps) => cps[i + 1].as_ref(),
                    Tape::Empty => unreachable!(),
                };
                let e = dot(&ubar, u_out);
                acc.mu += plan.tau * e;
                acc.tau += plan.mu * e;
            }
            crate::action::taylor::scale_in_place(&mut ubar, plan.eta);
            let next = match &self.tape {
                Tape::All(steps) => {
                    let j = self.js[i];
                    reverse_step(op, sink, &ubar, &steps[i], j, plan, &mut acc, ws, None)
                }
                Tape::Checkpoint(cps) => {
                    // Recompute this step's Taylor vectors with the forward's very operations.
                    let mut st = StepTape::new();
                    let (f, j) = taylor_step(&Taped(op), cps[i].as_ref(), plan, Some(&mut st), ws);
                    debug_assert_eq!(j, self.js[i], "the recomputed step differs");
                    ws.give(f);
                    let next = reverse_step(op, sink, &ubar, &st, j, plan, &mut acc, ws, None);
                    st.recycle(ws);
                    next
                }
                Tape::Empty => unreachable!(),
            };
            ws.give(core::mem::replace(&mut ubar, next));
        }
        if plan.shifted {
            sink.add_identity(div_real(acc.mu, real::<T>(n as f64)));
        }
        let mut tbar = div_real(acc.tau, real::<T>(plan.s as f64));
        if T::IS_COMPLEX {
            conjugate_in_place(&mut ubar);
            tbar = tbar.conjugate();
        }
        if !tbar.is_finite_value() || !all_finite(ubar.as_ref()) {
            return Err(LinalgError::Overflow { op: OP });
        }
        Ok((ubar, tbar))
    }
}
