//! The untaped forward pass: `exp(tX)·V` by `s` steps of a degree-`m` truncated Taylor
//! series with early termination (Al-Mohy & Higham 2011, Algorithm 3.2).
//!
//! Tests: `crates/linalg/tests/{action_forward,action_errors,action_budget,action_complex}.rs`.

use super::op::LinOp;
use super::plan::{ExpmActionOptions, Plan, plan};
use super::taylor::{Plain, scale_in_place, taylor_step};
use super::workspace::ActionWorkspace;
use crate::Scalar;
use crate::error::{LinalgError, unwrap_or_panic};
use crate::expm::all_finite;
use faer::{Mat, MatRef};

/// What one evaluation of `exp(tX)·V` chose and cost (machine-independent).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct ActionStats {
    /// Taylor degree `m` (0 for `t = 0` or an empty problem).
    pub m: usize,
    /// Number of steps `s`.
    pub s: usize,
    /// Matrix–vector products with `X` of the Taylor recurrence (a product with an n×k
    /// block counts `k`): `k·Σ j_i ≤ k·m·s`.
    pub products: usize,
    /// Matrix–vector products spent estimating norms for the parameter choice (0 with exact
    /// norms and [`ActionParams::NormOnly`](crate::ActionParams::NormOnly), or below the skip
    /// bound of [`ActionParams::Auto`](crate::ActionParams::Auto)).
    pub norm_products: usize,
    /// Whether the trace shift `μ = tr(X)/n` was applied.
    pub shifted: bool,
}

/// Checks the inputs shared by the forward forms. `Ok(false)` means "nothing to compute"
/// (n = 0 or k = 0).
pub(crate) fn check_inputs<T: Scalar, Op: LinOp<T> + ?Sized>(
    op: &Op,
    t: T,
    v: MatRef<'_, T>,
    name: &'static str,
) -> Result<bool, LinalgError> {
    let shape = op.shape();
    if shape.0 != shape.1 {
        return Err(LinalgError::NotSquare { op: name, shape });
    }
    if v.nrows() != shape.0 {
        return Err(LinalgError::ShapeMismatch {
            op: name,
            lhs: shape,
            rhs: v.shape(),
        });
    }
    if !t.is_finite_value() || !all_finite(v) || !op.all_finite() {
        return Err(LinalgError::NonFinite { op: name });
    }
    Ok(shape.0 > 0 && v.ncols() > 0)
}

/// Bytes of the untaped forward: four n×k work blocks and the per-step term counts.
pub(crate) fn work_bytes<T>(plan: &Plan<T>, n: usize, k: usize) -> f64 {
    4.0 * (n * k) as f64 * core::mem::size_of::<T>() as f64
        + plan.s as f64 * core::mem::size_of::<usize>() as f64
}

/// Runs the `s` steps of `plan` from `V`: `step(u_{i−1})` returns `(F_i, j_i)`, then
/// `u_i = η·F_i`. Returns `(u_s, [j_i])`, or [`LinalgError::Overflow`] at the first
/// non-finite `u_i`.
pub(crate) fn run_steps<T: Scalar>(
    v: MatRef<'_, T>,
    plan: &Plan<T>,
    name: &'static str,
    mut step: impl FnMut(MatRef<'_, T>) -> (Mat<T>, usize),
) -> Result<(Mat<T>, Vec<usize>), LinalgError> {
    let mut u = v.to_owned();
    let mut js = Vec::with_capacity(plan.s);
    for _ in 0..plan.s {
        let (mut f, j) = step(u.as_ref());
        scale_in_place(&mut f, plan.eta);
        if !all_finite(f.as_ref()) {
            return Err(LinalgError::Overflow { op: name });
        }
        js.push(j);
        u = f;
    }
    Ok((u, js))
}

/// `exp(tX)·V` for an operator `X` (n×n) and a block `V` (n×k). Panics with the
/// [`LinalgError`] message on bad input or overflow; see [`try_expm_multiply`].
///
/// ```
/// use expgrad_linalg::{expm, expm_multiply};
/// use faer::sparse::{SparseColMat, Triplet};
/// // 1-D Laplacian, X = −L, as a sparse CSC matrix.
/// let n = 50;
/// let mut trip = Vec::new();
/// for i in 0..n {
///     trip.push(Triplet::new(i, i, -2.0f64));
///     if i + 1 < n {
///         trip.push(Triplet::new(i, i + 1, 1.0));
///         trip.push(Triplet::new(i + 1, i, 1.0));
///     }
/// }
/// let x = SparseColMat::<usize, f64>::try_new_from_triplets(n, n, &trip).unwrap();
/// let v = faer::Mat::<f64>::from_fn(n, 2, |i, j| ((i + j) as f64).sin());
/// let w = expm_multiply(&x, -0.7, v.as_ref()); // t < 0 is fine
/// let dense = x.to_dense() * faer::Scale(-0.7);
/// let want = expm(dense.as_ref()) * &v;
/// assert!((&w - &want).norm_max() < 1e-12 * want.norm_max());
/// ```
///
/// Complex scalars: the propagator `exp(−iθσₓ)·e₀ = (cos θ, −i·sin θ)` of the Pauli matrix
/// `σₓ`.
///
/// ```
/// use expgrad_linalg::expm_multiply;
/// use faer::c64;
/// let (o, l) = (c64::new(0.0, 0.0), c64::new(1.0, 0.0));
/// let sigma_x = faer::mat![[o, l], [l, o]];
/// let theta = 0.7f64;
/// let w = expm_multiply(&sigma_x, c64::new(0.0, -theta), faer::mat![[l], [o]].as_ref());
/// assert!((w[(0, 0)] - c64::new(theta.cos(), 0.0)).norm() < 1e-15);
/// assert!((w[(1, 0)] - c64::new(0.0, -theta.sin())).norm() < 1e-15);
/// ```
#[track_caller]
pub fn expm_multiply<T: Scalar, Op: LinOp<T> + ?Sized>(op: &Op, t: T, v: MatRef<'_, T>) -> Mat<T> {
    unwrap_or_panic(try_expm_multiply(op, t, v))
}

/// `exp(tX)·V`, or an error: [`LinalgError::NotSquare`] / [`LinalgError::ShapeMismatch`]
/// (`V` must have `n` rows), [`LinalgError::NonFinite`] (a NaN or ±∞ in `t`, `V` or the
/// operator), [`LinalgError::Overflow`] (the result, or an intermediate, overflows),
/// [`LinalgError::Budget`] (`|t|·‖X‖` so large that the default
/// [`ActionBudget`](crate::ActionBudget) would be exceeded; checked before any work).
/// `n = 0` or `k = 0` gives an empty result; `t = 0` gives `V`.
///
/// ```
/// use expgrad_linalg::{try_expm_multiply, LinalgError};
/// let x = faer::Mat::<f64>::identity(3, 3);
/// let v = faer::Mat::<f64>::zeros(2, 1);
/// assert!(matches!(
///     try_expm_multiply(&x, 1.0, v.as_ref()),
///     Err(LinalgError::ShapeMismatch { .. })
/// ));
/// ```
pub fn try_expm_multiply<T: Scalar, Op: LinOp<T> + ?Sized>(
    op: &Op,
    t: T,
    v: MatRef<'_, T>,
) -> Result<Mat<T>, LinalgError> {
    try_expm_multiply_with(op, t, v, ExpmActionOptions::default()).map(|(w, _)| w)
}

/// `exp(tX)·V` with options (parameter choice, budget; the store policy is for the taped
/// [`ExpmAction`](crate::ExpmAction) and ignored here), and what it cost ([`ActionStats`]).
/// Errors as [`try_expm_multiply`], with the options' budget.
///
/// ```
/// use expgrad_linalg::{try_expm_multiply_with, ActionParams, ExpmActionOptions};
/// let x = faer::mat![[-1.0, 0.5], [0.0, -2.0f64]];
/// let v = faer::mat![[1.0], [1.0f64]];
/// let opts = ExpmActionOptions::default().params(ActionParams::NormOnly);
/// let (w, stats) = try_expm_multiply_with(&x, 3.0, v.as_ref(), opts).unwrap();
/// assert!(stats.products <= stats.m * stats.s);
/// assert!((w[(1, 0)] - (-6.0f64).exp()).abs() < 1e-15);
/// ```
pub fn try_expm_multiply_with<T: Scalar, Op: LinOp<T> + ?Sized>(
    op: &Op,
    t: T,
    v: MatRef<'_, T>,
    options: ExpmActionOptions,
) -> Result<(Mat<T>, ActionStats), LinalgError> {
    const OP: &str = "expm_multiply";
    if !check_inputs(op, t, v, OP)? || t == T::zero_impl() {
        return Ok((v.to_owned(), ActionStats::default()));
    }
    let (n, k) = v.shape();
    let plan = plan(op, t, k, options.params, options.budget, OP)?;
    plan.check_budget(k, work_bytes::<T>(&plan, n, k), options.budget, OP)?;
    let mut ws = ActionWorkspace::new();
    let (w, js) = run_steps(v, &plan, OP, |u| {
        taylor_step(&Plain(op), u, &plan, None, &mut ws)
    })?;
    let stats = ActionStats {
        m: plan.m,
        s: plan.s,
        products: js.iter().sum::<usize>() * v.ncols(),
        norm_products: plan.norm_products,
        shifted: plan.shifted,
    };
    Ok((w, stats))
}
