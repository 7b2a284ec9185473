//! Parameter selection of the action of the exponential (Al-Mohy & Higham 2011, §3).
//!
//! * Shift: `μ = tr(X)/n`, `X_s = X − μI`, applied when it does not increase
//!   `min(‖X_s‖₁, ‖X_s‖∞)` over the same norm of `X` (§3.1: the shift minimises the Frobenius
//!   norm, not necessarily the 1- and ∞-norms). The unshifted operator is then used with
//!   `μ = 0`. Undone per step by `η = e^{τμ}`. The decision, like `m`, `s` and `j_i`, is a
//!   constant for the derivatives.
//! * `ν = |t|·min(‖X_s‖₁, ‖X_s‖∞)`, exact when the operator reports `|X|`-products and its
//!   diagonal (every built-in operator), else estimated. `|t|` enters every norm.
//! * [`ActionParams::NormOnly`]: `m = argmin_{1≤m≤55} m·⌈ν/θ_m⌉` (smallest `m` on ties),
//!   `s = ⌈ν/θ_m⌉`. [`ActionParams::Auto`]: the same while `ν ≤ 4θ₅₅·p_max(p_max+3)/(m_max·k)`
//!   (eq. 3.13: estimating could not pay off), else the minimum of that cost and of
//!   `m·⌈α_p/θ_m⌉` over `2 ≤ p ≤ 8`, `m ≥ p(p−1)−1`, with `α_p = max(d_p, d_{p+1})` and
//!   `d_p = |t|·‖X_s^p‖₁^{1/p}` estimated (eq. 3.11). The estimator can cost more products
//!   than the forward pass it shortens (docs/math.md §8), so the powers are estimated in order and
//!   estimation stops as soon as it has spent as many products as the best forward pass found
//!   so far (a ski-rental rule: total work at most twice that of the better choice).
//! * Over complex scalars `t`, `X` and `μ` are complex and every norm is on moduli (`|t|`,
//!   `‖X_s‖₁` of the moduli of the entries, `T::Real`); the powers are estimated with complex
//!   sign vectors, the estimator's products with `Bᴴ` being conjugated products with `Bᵀ`;
//!   `η = e^{τμ}` is a complex exponential. The θ tables are those of the real type.
//! * `m ≥ 2` and `s ≥ 1` whenever `t ≠ 0` (except [`ActionParams::Fixed`]), also when
//!   `X_s = 0`: the first Taylor term carries the derivative (`∂/∂X exp(tX)V ≠ 0` even at
//!   `X = cI`), the second the second derivative (`∂²/∂X² ≠ 0` there; with one term the
//!   Hessian of the computed program would miss `τ²Ẋ_s²V/2`). Below `θ₂` this costs one
//!   product per evaluation more than degree 1; the early termination still stops as soon as
//!   the terms vanish.
//!
//! Tests: `crates/linalg/tests/{action_forward,action_budget,action_complex}.rs`.

mod options;
pub(crate) mod theta;

pub use options::{
    ActionBudget, ActionParams, DEFAULT_STORE_BUDGET_BYTES, ExpmActionOptions, StorePolicy,
};

use super::op::{LinOp, max_nan};
use super::taylor::conjugate_in_place;
use crate::Scalar;
use crate::error::LinalgError;
use crate::onenormest::onenormest;
use crate::scalar::{div_real, real, to_f64};
use faer::{Mat, MatRef};
use num_traits::{Float, Zero};
use std::cell::Cell;
use theta::{M_MAX, P_MAX, taylor_theta};

/// The constants of one evaluation: everything the forward recurrence and its adjoint share.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Plan<T> {
    /// Taylor degree.
    pub(crate) m: usize,
    /// Number of steps.
    pub(crate) s: usize,
    /// `τ = t/s`.
    pub(crate) tau: T,
    /// The shift used (`0` when unshifted).
    pub(crate) mu: T,
    /// Whether `μ = tr(X)/n` was applied (then `μ` depends on `X`).
    pub(crate) shifted: bool,
    /// `η = e^{τμ}`.
    pub(crate) eta: T,
    /// Early-termination tolerance (the unit roundoff of `T`; real, compared with moduli).
    pub(crate) tol: T,
    /// Matrix–vector products spent estimating norms.
    pub(crate) norm_products: usize,
    /// `‖tX_s‖` the parameters were chosen from (NaN for fixed parameters).
    pub(crate) nu: f64,
}

impl<T: Scalar> Plan<T> {
    /// The plan of `t = 0` (`m = s = 1`, `τ = 0`, no shift) or of an empty problem.
    pub(crate) fn trivial(m: usize, s: usize) -> Self {
        Self {
            m,
            s,
            tau: T::zero_impl(),
            mu: T::zero_impl(),
            shifted: false,
            eta: T::one_impl(),
            tol: T::lit(taylor_theta::<T::Real>().1),
            norm_products: 0,
            nu: 0.0,
        }
    }

    /// `Err(Budget)` unless `k·m·s` products and `bytes` fit in `budget`.
    pub(crate) fn check_budget(
        &self,
        k: usize,
        bytes: f64,
        budget: ActionBudget,
        name: &'static str,
    ) -> Result<(), LinalgError> {
        budget_error(self.nu, self.m, self.s as f64, k, bytes, budget, name)
    }
}

/// `Err(Budget)` when `k·m·s` products or `bytes` exceed `budget` (`s` as a float: it is
/// checked before it is known to fit a `usize`).
fn budget_error(
    nu: f64,
    m: usize,
    s: f64,
    k: usize,
    bytes: f64,
    budget: ActionBudget,
    name: &'static str,
) -> Result<(), LinalgError> {
    let products = k as f64 * m as f64 * s;
    if products <= budget.products as f64 && bytes <= budget.bytes as f64 {
        Ok(())
    } else {
        Err(LinalgError::Budget {
            op: name,
            norm: nu,
            products,
            bytes,
            max_products: budget.products,
            max_bytes: budget.bytes,
        })
    }
}

/// `y = (X − μI)·x` (or its transpose), counting matrix–vector products.
fn apply_shifted<T: Scalar, Op: LinOp<T> + ?Sized>(
    op: &Op,
    mu: T,
    x: MatRef<'_, T>,
    transpose: bool,
    count: &Cell<usize>,
) -> Mat<T> {
    let mut y = Mat::zeros(x.nrows(), x.ncols());
    if transpose {
        op.apply_transpose(y.as_mut(), x);
    } else {
        op.apply(y.as_mut(), x);
    }
    count.set(count.get() + x.ncols());
    if mu != T::zero_impl() {
        for c in 0..x.ncols() {
            for i in 0..x.nrows() {
                y[(i, c)] -= mu * x[(i, c)];
            }
        }
    }
    y
}

/// `‖(X − μI)^p‖₁` (`transpose`: of the transpose, i.e. the ∞-norm when `p = 1`), estimated.
///
/// The estimator asks for products with `B` and `Bᴴ`; the operator gives `X` and `Xᵀ`, so
/// `Bᴴx = conj(Bᵀ·conj(x))` for a complex `B` (and `Bᵀx` itself for a real one).
fn estimate_power<T: Scalar, Op: LinOp<T> + ?Sized>(
    op: &Op,
    mu: T,
    p: usize,
    transpose: bool,
    count: &Cell<usize>,
) -> T::Real {
    onenormest(op.dim(), |x, tr| {
        let conj = tr && T::IS_COMPLEX;
        let mut cur = x.to_owned();
        if conj {
            conjugate_in_place(&mut cur);
        }
        for _ in 0..p {
            cur = apply_shifted(op, mu, cur.as_ref(), tr != transpose, count);
        }
        if conj {
            conjugate_in_place(&mut cur);
        }
        cur
    })
}

/// `(‖X − μI‖₁, ‖X − μI‖∞)`: exact from `|X|`-products and the diagonal when the operator has
/// them, else estimated.
fn shifted_norms<T: Scalar, Op: LinOp<T> + ?Sized>(
    op: &Op,
    mu: T,
    count: &Cell<usize>,
) -> (T::Real, T::Real) {
    let n = op.dim();
    let ones = vec![<T::Real as num_traits::One>::one(); n];
    if mu == T::zero_impl() {
        let n1 = op
            .norm1()
            .unwrap_or_else(|| estimate_power(op, mu, 1, false, count));
        let ni = op
            .norm_inf()
            .unwrap_or_else(|| estimate_power(op, mu, 1, true, count));
        return (n1, ni);
    }
    let exact = |transpose: bool| -> Option<T::Real> {
        let sums = op.abs_apply(&ones, transpose)?;
        let diag = op.diagonal()?;
        let shifted: Vec<T::Real> = sums
            .iter()
            .zip(&diag)
            .map(|(&s, &x)| (s - x.modulus()).max(T::Real::zero()) + (x - mu).modulus())
            .collect();
        Some(max_nan(&shifted))
    };
    let n1 = exact(true).unwrap_or_else(|| estimate_power(op, mu, 1, false, count));
    let ni = exact(false).unwrap_or_else(|| estimate_power(op, mu, 1, true, count));
    (n1, ni)
}

/// `(cost, m)` minimising `m·max(⌈α/θ_m⌉, 1)` over `max(m_min, 2) ≤ m ≤ 55` (smallest `m` on
/// ties; degree 2 at least, see the module docs).
fn best_degree(alpha: f64, theta: &[f64; M_MAX], m_min: usize) -> (f64, usize) {
    let mut best = (f64::INFINITY, M_MAX);
    for m in m_min.max(2)..=M_MAX {
        let cost = m as f64 * (alpha / theta[m - 1]).ceil().max(1.0);
        if cost < best.0 {
            best = (cost, m);
        }
    }
    best
}

/// Chooses `(m, s)`, the shift and `η` for `exp(tX)·V` with `V` n×k, `n, k ≥ 1`, `t ≠ 0`.
/// Errors: a non-finite trace or norm ([`LinalgError::NonFinite`]); `k·m·s` over the budget's
/// products, or `ν` overflowing ([`LinalgError::Budget`], before anything is allocated);
/// `η` overflowing ([`LinalgError::Overflow`]). The caller checks the bytes.
pub(crate) fn plan<T: Scalar, Op: LinOp<T> + ?Sized>(
    op: &Op,
    t: T,
    k: usize,
    params: ActionParams,
    budget: ActionBudget,
    name: &'static str,
) -> Result<Plan<T>, LinalgError> {
    let n = op.dim();
    let (theta, u) = taylor_theta::<T::Real>();
    let count = Cell::new(0usize);
    let trace = op.trace();
    let mu_full = div_real(trace, real::<T>(n as f64));
    if !mu_full.is_finite_value() {
        return Err(LinalgError::NonFinite { op: name });
    }
    let need_norms = !matches!(params, ActionParams::Fixed { .. });
    let (shifted, mu, norms) = if mu_full == T::zero_impl() {
        (
            false,
            T::zero_impl(),
            need_norms.then(|| shifted_norms(op, T::zero_impl(), &count)),
        )
    } else {
        let plain = shifted_norms(op, T::zero_impl(), &count);
        let shift = shifted_norms(op, mu_full, &count);
        let nu = |(a, b): (T::Real, T::Real)| a.min(b);
        if nu(shift) <= nu(plain) {
            (true, mu_full, Some(shift))
        } else {
            (false, T::zero_impl(), Some(plain))
        }
    };
    let abs_t = to_f64(t.modulus());
    let mut nu_used = f64::NAN;
    let (m, s) = match params {
        ActionParams::Fixed { m, s } => (m.max(1), s.max(1) as f64),
        ActionParams::NormOnly | ActionParams::Auto => {
            let (n1, ni) = norms.expect("norms are computed unless the parameters are fixed");
            if !(n1.is_finite() && ni.is_finite()) {
                return Err(LinalgError::NonFinite { op: name });
            }
            let nu = abs_t * to_f64(n1.min(ni));
            nu_used = nu;
            if !nu.is_finite() {
                // Infinitely many steps: refused like any other over-budget evaluation.
                return Err(LinalgError::Budget {
                    op: name,
                    norm: nu,
                    products: f64::INFINITY,
                    bytes: 0.0,
                    max_products: budget.products,
                    max_bytes: budget.bytes,
                });
            }
            if nu == 0.0 {
                (2, 1.0)
            } else {
                let (mut cost, mut m) = best_degree(nu, theta, 2);
                let p_max = P_MAX as f64;
                let skip = 4.0 * theta[M_MAX - 1] * p_max * (p_max + 3.0) / (M_MAX * k) as f64;
                if params == ActionParams::Auto && nu > skip {
                    // d_p for p = 2, 3, ..., α_p = max(d_p, d_{p+1}) as soon as both are known.
                    // Estimation stops once it has cost as many products as the best forward
                    // found so far (it cannot save more than that: at most 2× the optimum).
                    let d = |p: usize| {
                        let e = to_f64(estimate_power(op, mu, p, false, &count));
                        abs_t * e.powf(1.0 / p as f64)
                    };
                    let mut d_prev = d(2);
                    for p in 2..=P_MAX {
                        if p > 2 && count.get() as f64 >= cost * k as f64 {
                            break;
                        }
                        let d_next = d(p + 1);
                        let (c, mp) = best_degree(d_prev.max(d_next), theta, p * (p - 1) - 1);
                        if c < cost {
                            (cost, m) = (c, mp);
                        }
                        d_prev = d_next;
                    }
                }
                (m, (cost / m as f64).round().max(1.0))
            }
        }
    };
    // Refuse before `s` is used to size anything (it may not even fit a `usize`).
    budget_error(nu_used, m, s, k, 0.0, budget, name)?;
    let s = s as usize;
    let tau = div_real(t, real::<T>(s as f64));
    let eta = if shifted {
        (tau * mu).exponential()
    } else {
        T::one_impl()
    };
    if !eta.is_finite_value() {
        return Err(LinalgError::Overflow { op: name });
    }
    Ok(Plan {
        m,
        s: s.max(1),
        tau,
        mu,
        shifted,
        eta,
        tol: T::lit(u),
        norm_products: count.get(),
        nu: nu_used,
    })
}
