//! Helpers for the action-of-the-exponential tests: sparse test matrices, the dense
//! reference route, and error scales from a componentwise rounding analysis.
#![allow(dead_code)]

use expgrad_linalg::{Expm, LinOp, expm};
use faer::sparse::{SparseColMat, SparseRowMat, Triplet};
use faer::{Mat, MatRef, Scale};

pub const U: f64 = f64::EPSILON / 2.0;

/// The nonzeros of a dense matrix as triplets.
pub fn triplets(a: MatRef<'_, f64>) -> Vec<Triplet<usize, usize, f64>> {
    let mut t = Vec::new();
    for j in 0..a.ncols() {
        for i in 0..a.nrows() {
            if a[(i, j)] != 0.0 {
                t.push(Triplet::new(i, j, a[(i, j)]));
            }
        }
    }
    t
}

pub fn csc(a: MatRef<'_, f64>) -> SparseColMat<usize, f64> {
    SparseColMat::try_new_from_triplets(a.nrows(), a.ncols(), &triplets(a)).unwrap()
}

pub fn csr(a: MatRef<'_, f64>) -> SparseRowMat<usize, f64> {
    SparseRowMat::try_new_from_triplets(a.nrows(), a.ncols(), &triplets(a)).unwrap()
}

/// The dense matrix of an operator (n ≤ a few hundred).
pub fn dense<Op: LinOp<f64> + ?Sized>(op: &Op) -> Mat<f64> {
    let n = op.dim();
    let mut out = Mat::zeros(n, n);
    op.apply(out.as_mut(), Mat::<f64>::identity(n, n).as_ref());
    out
}

/// `−L` for the 1-D Dirichlet Laplacian (2 on the diagonal), n×n.
pub fn neg_laplacian_1d(n: usize) -> SparseColMat<usize, f64> {
    let mut t = Vec::new();
    for i in 0..n {
        t.push(Triplet::new(i, i, -2.0));
        if i + 1 < n {
            t.push(Triplet::new(i, i + 1, 1.0));
            t.push(Triplet::new(i + 1, i, 1.0));
        }
    }
    SparseColMat::try_new_from_triplets(n, n, &t).unwrap()
}

/// `−L` for the 5-point 2-D Dirichlet Laplacian on a g×g grid (n = g²), as CSR.
pub fn neg_laplacian_2d(g: usize) -> SparseRowMat<usize, f64> {
    let n = g * g;
    let id = |i: usize, j: usize| i * g + j;
    let mut t = Vec::with_capacity(5 * n);
    for i in 0..g {
        for j in 0..g {
            let p = id(i, j);
            t.push(Triplet::new(p, p, -4.0));
            if i > 0 {
                t.push(Triplet::new(p, id(i - 1, j), 1.0));
            }
            if i + 1 < g {
                t.push(Triplet::new(p, id(i + 1, j), 1.0));
            }
            if j > 0 {
                t.push(Triplet::new(p, id(i, j - 1), 1.0));
            }
            if j + 1 < g {
                t.push(Triplet::new(p, id(i, j + 1), 1.0));
            }
        }
    }
    SparseRowMat::try_new_from_triplets(n, n, &t).unwrap()
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
