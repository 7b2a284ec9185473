//! Shared test helpers: seeded matrices, closed-form exponentials, independent references,
//! and condition-number-based tolerances.
#![allow(dead_code)]

use expgrad_linalg::{Expm, expm};
use faer::{Mat, MatRef};
use rand::Rng;
use rand::rngs::StdRng;

/// The seeded generator and standard-normal matrices of every test (`expgrad-testkit`).
#[allow(unused_imports)] // not every test binary draws from them
pub use expgrad_testkit::{randn, rng};

pub const U64: f64 = f64::EPSILON / 2.0;

/// A random orthogonal matrix (Q of a QR of a Gaussian matrix).
pub fn orthogonal(r: &mut StdRng, n: usize) -> Mat<f64> {
    randn(r, n, n).qr().compute_Q()
}

pub fn inner(a: MatRef<'_, f64>, b: MatRef<'_, f64>) -> f64 {
    (0..a.ncols())
        .map(|j| (0..a.nrows()).map(|i| a[(i, j)] * b[(i, j)]).sum::<f64>())
        .sum()
}

/// `‖a − b‖_F / ‖b‖_F` (absolute when b = 0).
pub fn rel_err(a: MatRef<'_, f64>, b: MatRef<'_, f64>) -> f64 {
    let d = (a - b).norm_l2();
    let s = b.norm_l2();
    if s == 0.0 { d } else { d / s }
}

/// A block-diagonal matrix of 2×2 blocks with closed-form exponentials: upper triangular
/// `[[a, b], [0, c]]` (non-normal when b ≠ 0) and rotations `[[α, −β], [β, α]]`, and its
/// exact exponential. `n` even.
pub struct Blocks {
    pub blocks: Vec<Block>,
}

#[derive(Clone, Copy)]
pub enum Block {
    Tri { a: f64, b: f64, c: f64 },
    Rot { alpha: f64, beta: f64 },
}

impl Blocks {
    pub fn random(r: &mut StdRng, n: usize, spread: f64, nonnormal: f64) -> Self {
        let blocks = (0..n / 2)
            .map(|k| {
                if k % 2 == 0 {
                    Block::Tri {
                        a: spread * (r.random::<f64>() - 0.5),
                        b: nonnormal * (r.random::<f64>() - 0.5),
                        c: spread * (r.random::<f64>() - 0.5),
                    }
                } else {
                    Block::Rot {
                        alpha: spread * (r.random::<f64>() - 0.5),
                        beta: spread * (r.random::<f64>() - 0.5),
                    }
                }
            })
            .collect();
        Self { blocks }
    }

    /// The matrix `t·B`.
    pub fn matrix(&self, t: f64) -> Mat<f64> {
        let n = 2 * self.blocks.len();
        let mut m = Mat::zeros(n, n);
        for (k, b) in self.blocks.iter().enumerate() {
            let i = 2 * k;
            let v = match *b {
                Block::Tri { a, b, c } => [[a, b], [0.0, c]],
                Block::Rot { alpha, beta } => [[alpha, -beta], [beta, alpha]],
            };
            for p in 0..2 {
                for q in 0..2 {
                    m[(i + p, i + q)] = t * v[p][q];
                }
            }
        }
        m
    }

    /// `exp(t·B)` from the closed forms.
    pub fn exp(&self, t: f64) -> Mat<f64> {
        let n = 2 * self.blocks.len();
        let mut m = Mat::zeros(n, n);
        for (k, b) in self.blocks.iter().enumerate() {
            let i = 2 * k;
            let v = match *b {
                Block::Tri { a, b, c } => {
                    let (a, b, c) = (t * a, t * b, t * c);
                    let x = 0.5 * (a - c);
                    let phi = if x == 0.0 {
                        a.exp()
                    } else {
                        (0.5 * (a + c)).exp() * x.sinh() / x
                    };
                    [[a.exp(), b * phi], [0.0, c.exp()]]
                }
                Block::Rot { alpha, beta } => {
                    let (e, th) = ((t * alpha).exp(), t * beta);
                    [[e * th.cos(), -e * th.sin()], [e * th.sin(), e * th.cos()]]
                }
            };
            for p in 0..2 {
                for q in 0..2 {
                    m[(i + p, i + q)] = v[p][q];
                }
            }
        }
        m
    }
}

/// Gauss–Legendre nodes and weights on [0, 1] (Newton on P_k).
pub fn gauss_legendre(k: usize) -> Vec<(f64, f64)> {
    (0..k)
        .map(|i| {
            let mut x = (std::f64::consts::PI * (i as f64 + 0.75) / (k as f64 + 0.5)).cos();
            let mut dp = 0.0;
            for _ in 0..100 {
                let (mut p0, mut p1) = (1.0, x);
                for j in 2..=k {
                    let p2 = ((2 * j - 1) as f64 * x * p1 - (j - 1) as f64 * p0) / j as f64;
                    p0 = p1;
                    p1 = p2;
                }
                dp = k as f64 * (x * p1 - p0) / (x * x - 1.0);
                let dx = p1 / dp;
                x -= dx;
                if dx.abs() < 1e-16 {
                    break;
                }
            }
            let w = 2.0 / ((1.0 - x * x) * dp * dp);
            (0.5 * (1.0 + x), 0.5 * w)
        })
        .collect()
}

/// `L(X, E) = ∫₀¹ e^{sX} E e^{(1−s)X} ds` by composite Gauss–Legendre (`panels` × 24 nodes),
/// with the exponentials from `exp_at(s) = e^{sX}` (e.g. a closed form): an independent
/// reference for the Fréchet derivative.
pub fn frechet_quadrature(
    exp_at: impl Fn(f64) -> Mat<f64>,
    e: MatRef<'_, f64>,
    panels: usize,
) -> Mat<f64> {
    let rule = gauss_legendre(24);
    let mut acc = Mat::<f64>::zeros(e.nrows(), e.ncols());
    for p in 0..panels {
        for &(x, w) in &rule {
            let s = (p as f64 + x) / panels as f64;
            acc += (exp_at(s) * e * exp_at(1.0 - s)) * faer::Scale(w / panels as f64);
        }
    }
    acc
}

/// `‖L(X, ·)‖₂` (as an operator on matrices with the Frobenius norm) by power iteration on
/// `L*L`, using `L* = L(Xᵀ, ·)`. Used only to set tolerances.
pub fn frechet_norm(x: MatRef<'_, f64>) -> f64 {
    Expm::new(x).frechet_norm(30)
}

/// Relative condition number of exp at X in the Frobenius norm:
/// `κ = ‖L(X, ·)‖ ‖X‖_F / ‖e^X‖_F` (Higham, *Functions of Matrices*, eq. 3.2).
pub fn cond_exp(x: MatRef<'_, f64>) -> f64 {
    Expm::new(x).cond(x.norm_l2())
}

/// The tolerance for a relative error in `exp(X)` (and in `L(X, E)`, which the algorithm
/// computes as `L(X + ΔX, E)` with the same backward error ΔX, Al-Mohy & Higham 2009,
/// Thm 6.2): a backward error of `(3n + s)·u` — `2n·u` from forming a test matrix by a
/// similarity product, `u` from the Padé approximant (θ table) plus `n·u` from its
/// evaluation, and `u` per squaring — amplified by the condition number κ, with a factor 2
/// for the power-iteration estimate of κ (a lower bound).
pub fn tol_exp(x: MatRef<'_, f64>) -> f64 {
    let s = Expm::new(x).params().1 as f64;
    2.0 * (3.0 * x.nrows().max(1) as f64 + s) * U64 * cond_exp(x).max(1.0)
}

/// Tolerance for a relative error in `L(A, E)`: `L` is the (1,2) block of `exp(B)`,
/// `B = [[A, E], [0, A]]` (Mathias 1996), so `tol_exp(B)·‖e^B‖_F` bounds the absolute error
/// of any backward-stable evaluation (Al-Mohy & Higham 2009b, Thm 6.2: the structured
/// algorithm returns `L(A + ΔA, E)`, a structured perturbation of `B`); divided by `‖L‖_F`.
pub fn tol_frechet(a: MatRef<'_, f64>, e: MatRef<'_, f64>) -> f64 {
    let n = a.nrows();
    let mut b = Mat::<f64>::zeros(2 * n, 2 * n);
    b.submatrix_mut(0, 0, n, n).copy_from(a);
    b.submatrix_mut(n, n, n, n).copy_from(a);
    b.submatrix_mut(0, n, n, n).copy_from(e);
    let eb = expm(b.as_ref());
    let l = eb.submatrix(0, n, n, n).norm_l2();
    tol_exp(b.as_ref()) * eb.norm_l2() / l
}

/// `‖L(X, ·)‖₂` exactly, from the n²×n² Kronecker form `K` (column k = vec L(X, E_k)) and
/// its largest singular value. O(n⁵): for small n only.
pub fn frechet_norm_exact(x: MatRef<'_, f64>) -> f64 {
    let n = x.nrows();
    let f = Expm::new(x);
    let mut k = Mat::<f64>::zeros(n * n, n * n);
    for j in 0..n {
        for i in 0..n {
            let mut e = Mat::<f64>::zeros(n, n);
            e[(i, j)] = 1.0;
            let l = f.frechet(e.as_ref());
            for q in 0..n {
                for p in 0..n {
                    k[(p + q * n, i + j * n)] = l[(p, q)];
                }
            }
        }
    }
    k.singular_values().unwrap().into_iter().fold(0.0, f64::max)
}

/// `X = Q·(t·B)·Qᵀ` for seeded closed-form blocks `B` (spread 2) and a random orthogonal `Q`,
/// with `s ↦ e^{sX}` from the closed forms: a test matrix whose exponential and Fréchet
/// integral have independent references at any norm.
pub fn similar_blocks(
    r: &mut StdRng,
    n: usize,
    t: f64,
    nonnormal: f64,
) -> (Mat<f64>, impl Fn(f64) -> Mat<f64> + 'static) {
    let blocks = Blocks::random(r, n, 2.0, nonnormal);
    let q = orthogonal(r, n);
    let x = &q * blocks.matrix(t) * q.transpose();
    (x, move |s: f64| &q * blocks.exp(s * t) * q.transpose())
}

/// Both families of approximants, for tests that run at every degree of each.
pub const FAMILIES: [expgrad_linalg::ExpmFamily; 2] = [
    expgrad_linalg::ExpmFamily::Pade,
    expgrad_linalg::ExpmFamily::Taylor,
];

/// The degrees (Padé) or orders (Taylor schemes) a family can choose.
pub fn degrees_of(family: expgrad_linalg::ExpmFamily) -> std::collections::BTreeSet<usize> {
    match family {
        expgrad_linalg::ExpmFamily::Pade => [3, 5, 7, 9, 13].into(),
        _ => [2, 4, 8, 12, 18, 24, 30].into(),
    }
}

/// Asserts that the `(m, s)` pairs seen cover every degree of `family` (the trivial T1 aside)
/// and at least 6 squarings.
pub fn assert_covers_every_degree(
    seen: &std::collections::BTreeSet<(usize, u32)>,
    family: expgrad_linalg::ExpmFamily,
) {
    let degrees: std::collections::BTreeSet<usize> = seen.iter().map(|p| p.0).collect();
    assert_eq!(degrees, degrees_of(family), "{family:?}: {seen:?}");
    assert!(seen.iter().any(|p| p.1 >= 6), "{seen:?}");
}

/// The relative condition number of `exp` at a complex `X` in the Frobenius norm,
/// `‖L(X)‖·‖X‖_F / ‖e^X‖_F`, with `‖L(X)‖` from 12 steps of the power method on `L*L`
/// (`L*(G) = L(Xᴴ, G)`, the adjoint under `Re tr(Gᴴ Y)`), from a fixed start: a lower bound,
/// usually within a few percent.
pub fn cond_exp_c(x: MatRef<'_, faer::c64>) -> f64 {
    let n = x.nrows();
    let f = Expm::new(x);
    let mut z = Mat::<faer::c64>::from_fn(n, n, |i, j| {
        faer::c64::new(
            1.0 + (i * 7 + j * 3) as f64 % 5.0,
            ((i + 2 * j) % 3) as f64 - 1.0,
        )
    });
    let mut norm = 0.0;
    for _ in 0..12 {
        let zn = z.norm_l2();
        z = &z * faer::Scale(faer::c64::new(1.0 / zn, 0.0));
        let w = f.frechet(z.as_ref());
        norm = w.norm_l2();
        z = f.frechet_adjoint(w.as_ref());
    }
    norm * x.norm_l2() / f.value().norm_l2()
}
