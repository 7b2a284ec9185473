//! [`ExpmActionTimes`]: `W_k = exp(t_k·X)·V` at a sorted list of times in one taped pass, and
//! the exact reverse pass of all K outputs in one backward sweep (docs/math.md §8, "Many
//! times in one node"; Al-Mohy & Higham 2011, §5).
//!
//! Forward: the start is `t_s = 0` when every time is positive (then no first action: `t_0`
//! is an output of the span like the others), else `t_s = t_0`, with `exp(t_0X)·V` by an
//! ordinary taped [`ExpmAction`] (any sign); then over the span `T = t_{K−1} − t_s` a plan
//! `(m, s)` for `T`, substeps of length `h = T/s` from `u_0 = exp(t_sX)·V`;
//! each substep forms its Taylor vectors `b_j = (h/j)(X − μ)b_{j−1}`, `b_0 = u_i`, once (the
//! early termination of the single action), steps on with `u_{i+1} = e^{hμ}Σ_j b_j`, and
//! every output whose time lies in the substep, `τ_k = (t_k − t_s) − i·h ∈ [0, h]`, is
//! `W_k = e^{τ_kμ}·Σ_{j ≤ J_k} (τ_k/h)^j b_j`: vector combinations, no product. `J_k ≤ j_i`
//! is the output's own early termination (the single action's test on `(τ_k/h)^j‖b_j‖`
//! against `tol·‖F‖`), frozen for the reverse pass.
//!
//! Reverse (plan, `j_i` and the substep of each output frozen): from `W̄_k`, the cotangent of
//! `b_j` gets `e^{τ_kμ}(τ_k/h)^j W̄_k` from each output of its substep on top of `e^{hμ}ū_{i+1}`,
//! and the Horner adjoint of [`ExpmAction`] (`reverse_step` with per-level extras) runs once
//! per substep. `τ̄_k = μ⟨W̄_k, W_k⟩ + e^{τμ}Σ_j (j/h)(τ/h)^{j−1}⟨W̄_k, b_j⟩`, `h̄` collects
//! `−e^{τμ}Σ_j (j/h)(τ/h)^j⟨W̄_k, b_j⟩`, the recurrence's own `τ̄` and the shift's; then
//! `h = (t_{K−1} − t_s)/s` and `τ_k = (t_k − t_s) − i_k h` give `t̄`. `ū_0` goes through the
//! reverse pass of the first action (or is `V̄` when `t_s = 0`).
//!
//! Tests: `crates/linalg/tests/action_times.rs`.

use super::{ExpmAction, Scalars, dot, reverse_step};
use crate::Scalar;
use crate::action::ActionCotangent;
use crate::action::op::GradLinOp;
use crate::action::plan::{ActionBudget, ExpmActionOptions, Plan, StorePolicy, plan};
use crate::action::taylor::{
    StepTape, Taped, block_norm_inf, conjugate_in_place, taylor_step_full,
};
use crate::action::workspace::ActionWorkspace;
use crate::error::{LinalgError, unwrap_or_panic};
use crate::expm::all_finite;
use crate::scalar::{div_real, real, to_f64};
use faer::{Mat, MatMut, MatRef};

/// What the span's forward kept.
#[derive(Clone, Debug)]
enum SpanTape<T> {
    /// Every substep's Taylor vectors `b_0..b_j` (and raw products).
    All(Vec<StepTape<T>>),
    /// The substep inputs `u_0..u_{s−1}`.
    Checkpoint(Vec<Mat<T>>),
}

/// The stepping part over `[t_0, t_{K−1}]` (absent when all times are equal).
#[derive(Clone, Debug)]
struct Span<T> {
    plan: Plan<T>,
    js: Vec<usize>,
    tape: SpanTape<T>,
    /// `u_s` (for the shift's adjoint of the last substep).
    last: Mat<T>,
}

/// The many-times action `W_k = exp(t_k·X)·V`, `k = 0..K−1`, for sorted (non-decreasing,
/// finite, real) times of any sign, as one taped forward pass: the outputs side by side,
/// n × (k·K). One reverse pass ([`try_vjp`](Self::try_vjp)) returns `V̄`, every `t̄_k` and
/// hands `X̄` to the sink, from the cotangents of all K outputs at once.
///
/// Cost: one stepping over `[0, t_{K−1}]` when all times are positive, else an ordinary
/// action to `t_0` and one stepping over `[t_0, t_{K−1}]`; the outputs inside each substep
/// are vector combinations of its Taylor vectors: about the products of one action at
/// `t_{K−1}` (for `t_0 > 0`), whatever K.
///
/// ```
/// use expgrad_linalg::{expm_multiply, ExpmActionOptions, ExpmActionTimes, NoCotangent};
/// let x = faer::mat![[-1.0, 0.5, 0.0], [0.3, -2.0, 0.1], [0.0, 0.4, -0.5f64]];
/// let v = faer::mat![[1.0], [0.0], [2.0f64]];
/// let times = [-0.5, 0.0, 0.25, 0.25, 1.0, 3.0];
/// let act = ExpmActionTimes::new(&x, &times, v.as_ref(), ExpmActionOptions::default());
/// for (k, &t) in times.iter().enumerate() {
///     let single = expm_multiply(&x, t, v.as_ref());
///     assert!((&act.output(k).to_owned() - &single).norm_max() < 1e-14);
/// }
/// // One reverse pass for all outputs: V̄ (3×1) and t̄ (one per time).
/// let wbar = faer::Mat::<f64>::ones(3, times.len());
/// let (vbar, tbar) = act.vjp(wbar.as_ref(), &mut NoCotangent);
/// assert_eq!((vbar.shape(), tbar.len()), ((3, 1), times.len()));
/// ```
#[derive(Clone, Debug)]
pub struct ExpmActionTimes<T, Op> {
    head: ExpmAction<T, Op>,
    times: Vec<T>,
    n: usize,
    k: usize,
    span: Option<Span<T>>,
    /// Per output: its substep, `τ_k`, and its degree `J_k ≤ j_i` (its own early termination).
    slots: Vec<(usize, T, usize)>,
    value: Mat<T>,
    /// The span starts at 0 (all times ≥ 0): no action to `t_0`, `t_0` is an output of the
    /// span like the others.
    from_zero: bool,
}

fn domain(what: &'static str) -> LinalgError {
    LinalgError::Domain {
        op: "ExpmActionTimes",
        what,
    }
}

/// `out += c·x` (n×k blocks).
fn axpy<T: Scalar>(mut out: MatMut<'_, T>, c: T, x: MatRef<'_, T>) {
    for col in 0..x.ncols() {
        for i in 0..x.nrows() {
            out[(i, col)] += c * x[(i, col)];
        }
    }
}

/// `⟨a, b⟩ = Σ a_ij b_ij` (bilinear).
fn dot_ref<T: Scalar>(a: MatRef<'_, T>, b: MatRef<'_, T>) -> T {
    let mut s = T::zero_impl();
    for col in 0..a.ncols() {
        for i in 0..a.nrows() {
            s += a[(i, col)] * b[(i, col)];
        }
    }
    s
}

/// Checks the times: at least one, finite, real (zero imaginary part), non-decreasing.
fn check_times<T: Scalar>(times: &[T]) -> Result<(), LinalgError> {
    if times.is_empty() {
        return Err(domain("needs at least one time"));
    }
    if times.iter().any(|t| !t.is_finite_value()) {
        return Err(LinalgError::NonFinite {
            op: "ExpmActionTimes",
        });
    }
    let zero = <T::Real as num_traits::Zero>::zero();
    if times.iter().any(|t| t.im() != zero) {
        return Err(domain("the times must be real"));
    }
    if times.windows(2).any(|w| w[1].re() < w[0].re()) {
        return Err(domain("the times must be sorted (non-decreasing)"));
    }
    Ok(())
}

impl<T: Scalar, Op: GradLinOp<T>> ExpmActionTimes<T, Op> {
    /// Runs and tapes the forward pass. Panics with the [`LinalgError`] message; see
    /// [`try_new`](Self::try_new).
    #[track_caller]
    pub fn new(op: Op, times: &[T], v: MatRef<'_, T>, options: ExpmActionOptions) -> Self {
        unwrap_or_panic(Self::try_new(op, times, v, options))
    }

    /// Runs and tapes the forward pass, or returns [`LinalgError::Domain`] (no time, a time
    /// with an imaginary part, unsorted times), [`LinalgError::NonFinite`],
    /// [`LinalgError::ShapeMismatch`] / [`LinalgError::NotSquare`], [`LinalgError::Overflow`],
    /// or [`LinalgError::Budget`] when the first action and the span together exceed the
    /// options' budget (products `k·m·s` of both; the stored vectors and the K outputs),
    /// before the span is computed.
    ///
    /// ```
    /// use expgrad_linalg::{ExpmActionOptions, ExpmActionTimes, LinalgError};
    /// let x = faer::mat![[-1.0, 0.0], [0.0, -2.0f64]];
    /// let v = faer::mat![[1.0], [1.0f64]];
    /// let err = ExpmActionTimes::try_new(&x, &[1.0, 0.5], v.as_ref(), ExpmActionOptions::default());
    /// assert!(matches!(err, Err(LinalgError::Domain { .. })));
    /// let err = ExpmActionTimes::try_new(&x, &[0.0, 1e30], v.as_ref(), ExpmActionOptions::default());
    /// assert!(matches!(err, Err(LinalgError::Budget { .. })));
    /// ```
    pub fn try_new(
        op: Op,
        times: &[T],
        v: MatRef<'_, T>,
        options: ExpmActionOptions,
    ) -> Result<Self, LinalgError> {
        Self::try_new_in(op, times, v, options, &mut ActionWorkspace::new())
    }

    /// [`try_new`](Self::try_new) taking its blocks from `ws`.
    pub fn try_new_in(
        op: Op,
        times: &[T],
        v: MatRef<'_, T>,
        options: ExpmActionOptions,
        ws: &mut ActionWorkspace<T>,
    ) -> Result<Self, LinalgError> {
        const OP: &str = "ExpmActionTimes";
        check_times(times)?;
        let kk = times.len();
        let (n, k) = v.shape();
        // The K outputs are held side by side: refused before anything is allocated.
        let out_bytes = n as f64 * k as f64 * kk as f64 * core::mem::size_of::<T>() as f64;
        if out_bytes > options.budget.bytes as f64 {
            return Err(LinalgError::Budget {
                op: OP,
                norm: f64::NAN,
                products: 0.0,
                bytes: out_bytes,
                max_products: options.budget.products,
                max_bytes: options.budget.bytes,
            });
        }
        // All times ≥ 0: the span starts at 0 (the first action is the identity, at t = 0),
        // else at t_0 (an ordinary action from 0 to t_0, any sign).
        let zero = <T::Real as num_traits::Zero>::zero();
        let from_zero = times[0].re() > zero;
        let t0 = if from_zero { T::zero_impl() } else { times[0] };
        let head = ExpmAction::try_new_in(op, t0, v, options, ws).map_err(|e| e.with_op(OP))?;
        let mut value = Mat::zeros(n, k * kk);
        let span_t = times[kk - 1] - t0;
        let mut slots = vec![(0usize, T::zero_impl(), 0usize); kk];
        if n == 0 || k == 0 || span_t == T::zero_impl() {
            for c in 0..kk {
                value
                    .as_mut()
                    .submatrix_mut(0, c * k, n, k)
                    .copy_from(head.value());
            }
            return Ok(Self {
                head,
                times: times.to_vec(),
                n,
                k,
                span: None,
                slots,
                value,
                from_zero,
            });
        }
        let op = &head.op;
        let used = head.plan.m.saturating_mul(head.plan.s).saturating_mul(k);
        let budget = ActionBudget {
            products: options.budget.products.saturating_sub(used),
            ..options.budget
        };
        let plan = plan(op, span_t, k, options.params, budget, OP)?;
        let raw = op.keeps_raw();
        let store = super::resolve(options.store, &plan, n, k, raw);
        // The first action's tape, the span's (one vector more per substep), the outputs.
        let block = (n * k) as f64 * core::mem::size_of::<T>() as f64;
        let span_plan = Plan {
            m: plan.m + 1,
            ..plan
        };
        let bytes = super::taped_bytes::<T>(store, &span_plan, n, k, raw)
            + super::taped_bytes::<T>(head.store_policy(), &head.plan, n, k, raw)
            + kk as f64 * block;
        plan.check_budget(k, bytes, budget, OP)?;
        let h = plan.tau;
        let s = plan.s;
        // Substep of each output, and τ_k = (t_k − t_0) − i·h.
        let h_re = to_f64(h.re());
        for (slot, &t) in slots.iter_mut().zip(times) {
            let rel = t - t0;
            let r = to_f64(rel.re()) / h_re;
            let i = if r.is_finite() {
                (r.ceil() - 1.0).clamp(0.0, (s - 1) as f64) as usize
            } else {
                s - 1
            };
            *slot = (i, rel - T::from_real(real::<T>(i as f64)) * h, 0);
        }
        let step_op = Taped(op);
        let checkpoint = matches!(store, StorePolicy::Checkpoint);
        let mut steps = Vec::new();
        let mut cps = Vec::new();
        let mut js = Vec::with_capacity(s);
        let mut u = head.value().to_owned();
        let mut next_slot = 0;
        for i in 0..s {
            let mut st = StepTape::new();
            let (mut f, j) = taylor_step_full(&step_op, u.as_ref(), &plan, Some(&mut st), true, ws);
            js.push(j);
            let first = next_slot;
            while next_slot < kk && slots[next_slot].0 == i {
                next_slot += 1;
            }
            if first < next_slot {
                // Each output's own degree: the first J ≥ 1 with
                // r^J‖b_J‖ + r^{J−1}‖b_{J−1}‖ ≤ tol·‖F‖ (r = |τ/h|; the single action's test,
                // at the same reference ‖F‖), frozen for the reverse pass.
                let mut scratch = Vec::new();
                let bn: Vec<f64> = st.b[..=j]
                    .iter()
                    .map(|b| to_f64(block_norm_inf(b, &mut scratch)))
                    .collect();
                let bound = to_f64(plan.tol.re()) * to_f64(block_norm_inf(&f, &mut scratch));
                for slot in &mut slots[first..next_slot] {
                    let r = to_f64((slot.1 / h).modulus());
                    let mut big = j;
                    let mut rp = 1.0;
                    for jj in 1..=j {
                        let prev = rp;
                        rp *= r;
                        if rp * bn[jj] + prev * bn[jj - 1] <= bound {
                            big = jj;
                            break;
                        }
                    }
                    slot.2 = big;
                }
                let coefs: Vec<Vec<T>> = slots[first..next_slot]
                    .iter()
                    .map(|&(_, tau, big)| coefficients(tau, h, &plan, big + 1))
                    .collect();
                combine_outputs(&mut value, first, &coefs, &st.b[..=j], k);
            }
            crate::action::taylor::scale_in_place(&mut f, plan.eta);
            if !all_finite(f.as_ref()) {
                return Err(LinalgError::Overflow { op: OP });
            }
            let prev = core::mem::replace(&mut u, f);
            if checkpoint {
                cps.push(prev);
                st.recycle(ws);
            } else {
                ws.give(prev);
                steps.push(st);
            }
        }
        if !all_finite(value.as_ref()) {
            return Err(LinalgError::Overflow { op: OP });
        }
        let tape = if checkpoint {
            SpanTape::Checkpoint(cps)
        } else {
            SpanTape::All(steps)
        };
        Ok(Self {
            head,
            times: times.to_vec(),
            n,
            k,
            span: Some(Span {
                plan,
                js,
                tape,
                last: u,
            }),
            slots,
            value,
            from_zero,
        })
    }

    /// The operator `X`.
    pub fn operator(&self) -> &Op {
        self.head.operator()
    }

    /// A zero sink for `X̄` ([`GradLinOp::cotangent`]).
    pub fn cotangent(&self) -> Op::Cotangent {
        self.head.cotangent()
    }

    /// The outputs side by side: `[W_0 | W_1 | … | W_{K−1}]`, n × (k·K).
    pub fn value(&self) -> MatRef<'_, T> {
        self.value.as_ref()
    }

    /// `W_k = exp(t_k·X)·V` (n×k).
    pub fn output(&self, k: usize) -> MatRef<'_, T> {
        self.value.as_ref().submatrix(0, k * self.k, self.n, self.k)
    }

    /// The times.
    pub fn times(&self) -> &[T] {
        &self.times
    }

    /// `(m, s)` of the span `t_{K−1} − t_0` (`(0, 0)` when all times are equal).
    pub fn span_params(&self) -> (usize, usize) {
        self.span
            .as_ref()
            .map_or((0, 0), |sp| (sp.plan.m, sp.plan.s))
    }

    /// `(m, s)` of the first action, `exp(t_0X)·V` (`(2, 1)`, the identity at `t = 0`, when
    /// all times are positive and the span starts at 0).
    pub fn head_params(&self) -> (usize, usize) {
        self.head.params()
    }

    /// The policy the span used ([`StorePolicy::All`] or [`StorePolicy::Checkpoint`]).
    pub fn store_policy(&self) -> StorePolicy {
        match self.span.as_ref().map(|s| &s.tape) {
            Some(SpanTape::Checkpoint(_)) => StorePolicy::Checkpoint,
            _ => StorePolicy::All,
        }
    }

    /// Matrix–vector products with `X` of the forward (first action and span; an n×k product
    /// counts `k`), not counting norm estimation.
    pub fn products(&self) -> usize {
        self.head.products()
            + self
                .span
                .as_ref()
                .map_or(0, |sp| sp.js.iter().sum::<usize>() * self.k)
    }

    /// Matrix–vector products spent estimating norms for the two parameter choices.
    pub fn norm_products(&self) -> usize {
        self.head.norm_products() + self.span.as_ref().map_or(0, |sp| sp.plan.norm_products)
    }

    /// Matrix–vector products of one reverse pass: `k·m·s` with `Xᵀ` per part, plus the
    /// recomputed forward under [`StorePolicy::Checkpoint`] (or `k` for the equal-times case).
    pub fn reverse_products(&self) -> usize {
        let head = self.head.reverse_products();
        match &self.span {
            None => head + if self.times.len() > 1 { self.k } else { 0 },
            Some(sp) => {
                let horner = sp.plan.m * sp.plan.s * self.k;
                let recompute = match sp.tape {
                    SpanTape::Checkpoint(_) => sp.js.iter().sum::<usize>() * self.k,
                    SpanTape::All(_) => 0,
                };
                head + horner + recompute
            }
        }
    }

    /// The reverse pass: from the cotangent `W̄` of all outputs (n × k·K), returns `V̄` and
    /// `t̄_k` for every time, and hands `X̄` to `sink`. Panics with the [`LinalgError`]
    /// message; see [`try_vjp`](Self::try_vjp).
    #[track_caller]
    pub fn vjp<S>(&self, w_bar: MatRef<'_, T>, sink: &mut S) -> (Mat<T>, Vec<T>)
    where
        S: ActionCotangent<T> + ?Sized,
    {
        unwrap_or_panic(self.try_vjp(w_bar, sink))
    }

    /// The reverse pass, or [`LinalgError::ShapeMismatch`] (`W̄` not n × k·K),
    /// [`LinalgError::NonFinite`], [`LinalgError::Overflow`]. Over complex scalars the
    /// cotangents are those of `Re tr(Aᴴ B)` (as [`ExpmAction::try_vjp`]).
    pub fn try_vjp<S>(
        &self,
        w_bar: MatRef<'_, T>,
        sink: &mut S,
    ) -> Result<(Mat<T>, Vec<T>), LinalgError>
    where
        S: ActionCotangent<T> + ?Sized,
    {
        self.try_vjp_in(w_bar, sink, &mut ActionWorkspace::new())
    }

    /// [`try_vjp`](Self::try_vjp) taking its work blocks from `ws`.
    pub fn try_vjp_in<S>(
        &self,
        w_bar: MatRef<'_, T>,
        sink: &mut S,
        ws: &mut ActionWorkspace<T>,
    ) -> Result<(Mat<T>, Vec<T>), LinalgError>
    where
        S: ActionCotangent<T> + ?Sized,
    {
        const OP: &str = "ExpmActionTimes::vjp";
        let (n, k, kk) = (self.n, self.k, self.times.len());
        if w_bar.shape() != (n, k * kk) {
            return Err(LinalgError::ShapeMismatch {
                op: OP,
                lhs: (n, k * kk),
                rhs: w_bar.shape(),
            });
        }
        if !all_finite(w_bar) {
            return Err(LinalgError::NonFinite { op: OP });
        }
        let mut tbar = vec![T::zero_impl(); kk];
        if n == 0 || k == 0 {
            return Ok((Mat::zeros(n, k), tbar));
        }
        // Conjugated cotangents (bilinear transpose), conjugated back on exit (see ExpmAction).
        let mut wb = w_bar.to_owned();
        if T::IS_COMPLEX {
            conjugate_in_place(&mut wb);
        }
        let wk = |c: usize| wb.as_ref().submatrix(0, c * k, n, k);
        let op = &self.head.op;
        let mut u0bar = match &self.span {
            None => {
                let mut acc = Mat::<T>::zeros(n, k);
                for c in 0..kk {
                    axpy(acc.as_mut(), T::one_impl(), wk(c));
                }
                if kk > 1 {
                    // W_c = exp((t_c − t_0)X)·W_0 at t_c = t_0: ∂W_c/∂t_c = X·W_0 = −∂/∂t_0.
                    let mut z = Mat::<T>::zeros(n, k);
                    for c in 1..kk {
                        op.apply_transpose(z.as_mut(), wk(c));
                        let e = dot_ref(z.as_ref(), self.head.value());
                        tbar[c] += e;
                        tbar[0] -= e;
                    }
                }
                acc
            }
            Some(sp) => self.span_reverse(sp, &wb, sink, &mut tbar, ws),
        };
        if T::IS_COMPLEX {
            conjugate_in_place(&mut u0bar);
            for t in &mut tbar {
                *t = t.conjugate();
            }
        }
        let (vbar, t0bar) = if self.from_zero && self.span.is_some() {
            // The span started at the constant 0 from V itself.
            (u0bar, T::zero_impl())
        } else {
            self.head
                .try_vjp_in(u0bar.as_ref(), sink, ws)
                .map_err(|e| e.with_op(OP))?
        };
        tbar[0] += t0bar;
        if tbar.iter().any(|t| !t.is_finite_value()) {
            return Err(LinalgError::Overflow { op: OP });
        }
        Ok((vbar, tbar))
    }

    /// The span's reverse sweep (on conjugated cotangents): returns `ū_0`, adds into `tbar`.
    fn span_reverse<S>(
        &self,
        sp: &Span<T>,
        wb: &Mat<T>,
        sink: &mut S,
        tbar: &mut [T],
        ws: &mut ActionWorkspace<T>,
    ) -> Mat<T>
    where
        S: ActionCotangent<T> + ?Sized,
    {
        let (n, k, kk) = (self.n, self.k, self.times.len());
        let op = &self.head.op;
        let plan = &sp.plan;
        let (h, mu, s) = (plan.tau, plan.mu, plan.s);
        let wk = |c: usize| wb.as_ref().submatrix(0, c * k, n, k);
        let mut acc = Scalars {
            tau: T::zero_impl(),
            mu: T::zero_impl(),
        };
        let mut taubar = vec![T::zero_impl(); kk];
        let mut ubar = Mat::<T>::zeros(n, k);
        let mut first_out = kk;
        for i in (0..s).rev() {
            let j = sp.js[i];
            let recomputed;
            let st = match &sp.tape {
                SpanTape::All(steps) => &steps[i],
                SpanTape::Checkpoint(cps) => {
                    let mut st = StepTape::new();
                    let (f, jj) = taylor_step_full(
                        &Taped(op),
                        cps[i].as_ref(),
                        plan,
                        Some(&mut st),
                        true,
                        ws,
                    );
                    debug_assert_eq!(jj, j, "the recomputed substep differs");
                    ws.give(f);
                    recomputed = st;
                    &recomputed
                }
            };
            // Outputs of this substep: cotangents of b_0..b_j, τ̄_k and h̄.
            let hi = first_out;
            while first_out > 0 && self.slots[first_out - 1].0 == i {
                first_out -= 1;
            }
            let extra = (first_out < hi).then(|| {
                let coefs: Vec<Vec<T>> = self.slots[first_out..hi]
                    .iter()
                    .map(|&(_, tau, big)| coefficients(tau, h, plan, big + 1))
                    .collect();
                let levels = coefs.iter().map(Vec::len).max().unwrap_or(0);
                let mut g: Vec<Mat<T>> = (0..levels).map(|_| Mat::zeros(n, k)).collect();
                let mut dots = vec![vec![T::zero_impl(); j + 1]; hi - first_out];
                adjoint_combine(wb, first_out, &coefs, &st.b[..=j], k, &mut g, &mut dots);
                for (o, (cf, d)) in coefs.iter().zip(&dots).enumerate() {
                    let c = first_out + o;
                    let tau = self.slots[c].1;
                    if plan.shifted {
                        let ew = dot_ref(wk(c), self.output(c));
                        acc.mu += tau * ew;
                        taubar[c] += mu * ew;
                    }
                    for jj in 1..cf.len() {
                        let w = T::from_real(real::<T>(jj as f64)) / h * d[jj];
                        taubar[c] += cf[jj - 1] * w;
                        acc.tau -= cf[jj] * w;
                    }
                }
                g
            });
            if plan.shifted {
                let u_out = match &sp.tape {
                    _ if i + 1 == s => sp.last.as_ref(),
                    SpanTape::All(steps) => steps[i + 1].b[0].as_ref(),
                    SpanTape::Checkpoint(cps) => cps[i + 1].as_ref(),
                };
                let e = dot(&ubar, u_out);
                acc.mu += h * e;
                acc.tau += mu * e;
            }
            crate::action::taylor::scale_in_place(&mut ubar, plan.eta);
            let next = reverse_step(op, sink, &ubar, st, j, plan, &mut acc, ws, extra.as_deref());
            ws.give(core::mem::replace(&mut ubar, next));
        }
        if plan.shifted {
            sink.add_identity(div_real(acc.mu, real::<T>(n as f64)));
        }
        // h = (t_{K−1} − t_0)/s, τ_c = (t_c − t_0) − i_c·h.
        let sf = real::<T>(s as f64);
        let hbar = div_real(acc.tau, sf);
        // With the span from 0 (a constant), h and τ_c do not depend on t_0.
        let t0_dep = if self.from_zero {
            T::zero_impl()
        } else {
            T::one_impl()
        };
        tbar[0] -= hbar * t0_dep;
        tbar[kk - 1] += hbar;
        for (c, &tb) in taubar.iter().enumerate() {
            let frac = div_real(T::from_real(real::<T>(self.slots[c].0 as f64)), sf);
            tbar[c] += tb;
            tbar[0] += tb * (frac - T::one_impl()) * t0_dep;
            tbar[kk - 1] -= tb * frac;
        }
        ubar
    }
}

/// Rows per block of the output kernels (the block of every `b_j` stays in cache while all
/// outputs of the substep use it).
const CHUNK: usize = 256;

/// `e^{τμ}(τ/h)^j`, `j = 0..len−1`: the weights of `b_j` in the output at `τ`.
fn coefficients<T: Scalar>(tau: T, h: T, plan: &Plan<T>, len: usize) -> Vec<T> {
    let r = tau / h;
    let mut c = if plan.shifted {
        (tau * plan.mu).exponential()
    } else {
        T::one_impl()
    };
    (0..len)
        .map(|_| {
            let v = c;
            c *= r;
            v
        })
        .collect()
}

/// The outputs of one substep, `W_o = Σ_j coefs[o][j]·b_j` into the value's blocks
/// `first + o`, row block by row block (each `b_j` read once for all outputs).
fn combine_outputs<T: Scalar>(
    value: &mut Mat<T>,
    first: usize,
    coefs: &[Vec<T>],
    b: &[Mat<T>],
    k: usize,
) {
    let n = b[0].nrows();
    for col in 0..k {
        for start in (0..n).step_by(CHUNK) {
            let end = (start + CHUNK).min(n);
            for (o, cf) in coefs.iter().enumerate() {
                let out = &mut value.col_as_slice_mut((first + o) * k + col)[start..end];
                let b0 = &b[0].col_as_slice(col)[start..end];
                for (x, &y) in out.iter_mut().zip(b0) {
                    *x = cf[0] * y;
                }
                for (bj, &c) in b[1..].iter().zip(&cf[1..]) {
                    let bj = &bj.col_as_slice(col)[start..end];
                    for (x, &y) in out.iter_mut().zip(bj) {
                        *x += c * y;
                    }
                }
            }
        }
    }
}

/// The adjoint of [`combine_outputs`]: `g_j = Σ_o coefs[o][j]·W̄_o` and
/// `dots[o][j] = ⟨W̄_o, b_j⟩`, row block by row block.
fn adjoint_combine<T: Scalar>(
    wb: &Mat<T>,
    first: usize,
    coefs: &[Vec<T>],
    b: &[Mat<T>],
    k: usize,
    g: &mut [Mat<T>],
    dots: &mut [Vec<T>],
) {
    let n = b[0].nrows();
    for col in 0..k {
        for start in (0..n).step_by(CHUNK) {
            let end = (start + CHUNK).min(n);
            for (jj, (bj, gj)) in b.iter().zip(g.iter_mut()).enumerate() {
                let bj = &bj.col_as_slice(col)[start..end];
                let gj = &mut gj.col_as_slice_mut(col)[start..end];
                for (o, (cf, d)) in coefs.iter().zip(dots.iter_mut()).enumerate() {
                    if jj >= cf.len() {
                        continue;
                    }
                    let w = &wb.col_as_slice((first + o) * k + col)[start..end];
                    let c = cf[jj];
                    let mut acc = T::zero_impl();
                    for ((x, &wv), &bv) in gj.iter_mut().zip(w).zip(bj) {
                        *x += c * wv;
                        acc += wv * bv;
                    }
                    d[jj] += acc;
                }
            }
        }
    }
}
