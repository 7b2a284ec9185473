//! Helpers for the action-of-the-exponential tests (`action_forward.rs`, `action_reverse.rs`,
//! `action_storage.rs`, `action_errors.rs`): the dense matrix of an operator, the dense
//! reference route, the condition number of the action, and error scales. The test matrices
//! (random, sparse, Laplacians, Markov generators, CSR/CSC copies) come from `expgrad-testkit`.
//!
//! [`magnitudes`] supports a first-order componentwise rounding analysis of the Taylor
//! recurrence: every Taylor vector and partial sum is bounded entrywise by the corresponding
//! term of `M_w = e^{tμ}·exp(|t|·|X_s|)·|V|`, and each of the `m·s` products adds at most
//! `(q + 3)` roundings (q = largest row count of `X`, plus the scaling by `τ/k`, the shift and
//! the partial sum) — so the recurrence errs by at most `m·s·(q+3)·u·M_w`; the truncation
//! (θ_m, backward error `u‖tX_s‖`) adds `u·‖tX_s‖₁·M_w`; the dense reference (backward error
//! `≲ 3n·u`) adds `3n·u·M_w`. The same for `V̄` (with `Xᵀ`, `|w̄|`) and for `X̄`, whose
//! magnitude is `|t|·e^{−tμ}·M_v̄·M_wᵀ`.
#![allow(dead_code)]

use expgrad_linalg::{
    ActionParams, ActionStats, Expm, ExpmActionOptions, LinOp, expm, try_expm_multiply_with,
};
use expgrad_testkit::{csc, random_sparse};
use faer::sparse::SparseColMat;
use faer::{Mat, MatRef, Scale};
use rand::Rng;
use rand::rngs::StdRng;

pub const U: f64 = f64::EPSILON / 2.0;

/// The dense matrix of an operator (n ≤ a few hundred).
pub fn dense<Op: LinOp<f64> + ?Sized>(op: &Op) -> Mat<f64> {
    let n = op.dim();
    let mut out = Mat::zeros(n, n);
    op.apply(out.as_mut(), Mat::<f64>::identity(n, n).as_ref());
    out
}

/// `try_expm_multiply_with` with parameter choice `p` (other options default), unwrapped.
pub fn expm_multiply_params<Op: LinOp<f64> + ?Sized>(
    op: &Op,
    t: f64,
    v: MatRef<'_, f64>,
    p: ActionParams,
) -> (Mat<f64>, ActionStats) {
    try_expm_multiply_with(op, t, v, ExpmActionOptions::default().params(p)).unwrap()
}

/// The `A` and `d` of a random `Diag(d)·A`, drawn in this order: `A` sparse `n×n` with about 3
/// entries per row (`random_sparse`) in CSC form, `d` uniform in `[0.5, 1.5)`.
pub fn sparse_and_scaling(r: &mut StdRng, n: usize) -> (SparseColMat<usize, f64>, Vec<f64>) {
    let a = csc(random_sparse(r, n, 3).as_ref());
    let d: Vec<f64> = (0..n).map(|_| r.random_range(0.5..1.5)).collect();
    (a, d)
}

pub fn norm1(a: MatRef<'_, f64>) -> f64 {
    expgrad_linalg::norm1(a)
}

/// Largest number of nonzeros in a row of a dense matrix.
pub fn max_row_nnz(a: MatRef<'_, f64>) -> usize {
    (0..a.nrows())
        .map(|i| (0..a.ncols()).filter(|&j| a[(i, j)] != 0.0).count())
        .max()
        .unwrap_or(0)
}

/// `|X − μI|` and `e^{tμ}` for the componentwise magnitudes below.
fn shifted_abs(x: MatRef<'_, f64>, mu: f64) -> Mat<f64> {
    Mat::from_fn(x.nrows(), x.ncols(), |i, j| {
        (x[(i, j)] - if i == j { mu } else { 0.0 }).abs()
    })
}

/// Componentwise magnitude of the computation `w = e^{tμ}·T_m(τX_s)^s·V`:
/// `M_w = e^{tμ}·exp(|t|·|X_s|)·|V|` (and `M_v` the same with `X_sᵀ` and `|w̄|`): every
/// computed Taylor vector and partial sum is bounded entrywise by the corresponding terms of
/// this exponential of a nonnegative matrix (Higham, *Accuracy and Stability*, §3.5), so a
/// first-order rounding-error bound of the recurrence is `γ·M` with `γ` the number of
/// roundings per entry along the chain.
pub struct Magnitudes {
    pub w: Mat<f64>,
    pub vbar: Mat<f64>,
}

pub fn magnitudes(
    x: MatRef<'_, f64>,
    mu: f64,
    t: f64,
    v: MatRef<'_, f64>,
    wbar: MatRef<'_, f64>,
) -> Magnitudes {
    let xs = shifted_abs(x, mu);
    let e = expm((&xs * Scale(t.abs())).as_ref()) * Scale((t * mu).exp());
    let absv = v.map(|x| x.abs());
    let absw = wbar.map(|x| x.abs());
    Magnitudes {
        w: &e * &absv,
        vbar: e.transpose() * &absw,
    }
}

/// The dense reference route: `w = exp(tX)V`, `V̄ = exp(tX)ᵀw̄`, `X̄ = t·L(tXᵀ, w̄Vᵀ)`,
/// `t̄ = ⟨w̄, Xw⟩`.
pub struct DenseRoute {
    pub w: Mat<f64>,
    pub vbar: Mat<f64>,
    pub xbar: Mat<f64>,
    pub tbar: f64,
}

pub fn dense_route(
    x: MatRef<'_, f64>,
    t: f64,
    v: MatRef<'_, f64>,
    wbar: MatRef<'_, f64>,
) -> DenseRoute {
    let f = Expm::new((x * Scale(t)).as_ref());
    let w = f.value() * v;
    let vbar = f.value().transpose() * wbar;
    let xbar = f.frechet_adjoint((wbar * v.transpose()).as_ref()) * Scale(t);
    let tbar = inner(wbar, (x * &w).as_ref());
    DenseRoute {
        w,
        vbar,
        xbar,
        tbar,
    }
}

pub fn inner(a: MatRef<'_, f64>, b: MatRef<'_, f64>) -> f64 {
    let mut s = 0.0;
    for j in 0..a.ncols() {
        for i in 0..a.nrows() {
            s += a[(i, j)] * b[(i, j)];
        }
    }
    s
}

/// `rowsum(P ∘ A)` (left scaling: `d̄`) or `colsum(P ∘ A)` (right scaling).
pub fn hadamard_sums(p: MatRef<'_, f64>, a: MatRef<'_, f64>, rows: bool) -> Vec<f64> {
    let n = a.nrows();
    (0..n)
        .map(|i| {
            (0..n)
                .map(|j| {
                    if rows {
                        p[(i, j)] * a[(i, j)]
                    } else {
                        p[(j, i)] * a[(j, i)]
                    }
                })
                .sum()
        })
        .collect()
}

/// `max_i |a_i − b_i| / max_i s_i`.
pub fn scaled_err(a: &[f64], b: &[f64], s: &[f64]) -> f64 {
    let e = a
        .iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max);
    e / s.iter().fold(0.0, |m: f64, x| m.max(x.abs()))
}

pub fn col(m: MatRef<'_, f64>) -> Vec<f64> {
    (0..m.ncols())
        .flat_map(|j| (0..m.nrows()).map(move |i| m[(i, j)]))
        .collect()
}

/// Relative condition number of `w = exp(tX)·V` in the Frobenius norm, from above:
/// `2·‖L(tX, ·)‖·‖tX‖·‖V‖/‖w‖` (perturbing X; the power-iteration estimate of `‖L‖` is a lower
/// bound, hence the 2, as in `common::tol_exp`) `+ ‖e^{tX}‖·‖V‖/‖w‖` (perturbing V).
pub fn action_cond(x: MatRef<'_, f64>, t: f64, v: MatRef<'_, f64>) -> f64 {
    let tx = x * Scale(t);
    let f = Expm::new(tx.as_ref());
    let w = f.value() * v;
    let (nv, nw) = (v.norm_l2(), w.norm_l2());
    2.0 * f.frechet_norm(20) * tx.norm_l2() * nv / nw + f.value().norm_l2() * nv / nw
}
