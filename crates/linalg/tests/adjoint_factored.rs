//! `Expm::frechet_adjoint_factored` (the O(2ˢ·m·k·n²) VJP of exp(X)·V) against Gauss–Legendre
//! quadrature of the Fréchet integral with closed-form exponentials, and against
//! `frechet_adjoint` of the formed cotangent.
mod common;
use common::*;
use expgrad_linalg::*;
use faer::Mat;
use std::collections::BTreeSet;

#[test]
fn matches_quadrature_at_every_degree_and_squaring_count() {
    for family in FAMILIES {
        let mut seen = BTreeSet::new();
        let mut worst = 0.0f64;
        for (case, t) in [
            3e-9, 1e-4, 0.001, 0.01, 0.1, 0.4, 0.7, 1.0, 1.4, 2.0, 4.0, 10.0, 30.0, 100.0, 300.0,
        ]
        .into_iter()
        .enumerate()
        {
            let mut r = rng(40 + case as u64);
            let n = 8;
            let (x, exp_at) = similar_blocks(&mut r, n, t, 1.5);
            let k = 1 + case % 3;
            let (u, v) = (randn(&mut r, n, k), randn(&mut r, n, k));
            let f = Expm::try_new_with(x.as_ref(), family).unwrap();
            seen.insert(f.params());
            let fast = f.frechet_adjoint_factored(u.as_ref(), v.as_ref());
            // L(Xᵀ, G) = ∫ e^{σXᵀ} G e^{(1−σ)Xᵀ} dσ.
            let exp_t = |s: f64| exp_at(s).transpose().to_owned();
            let g = &u * v.transpose();
            let reference = frechet_quadrature(exp_t, g.as_ref(), 2 + (t as usize) / 2);
            let err = rel_err(fast.as_ref(), reference.as_ref());
            let tol = tol_exp(x.as_ref());
            worst = worst.max(err / tol);
            assert!(
                err <= tol,
                "t = {t}, k = {k}, {:?}: {err:e} > {tol:e}",
                f.params()
            );
        }
        assert_covers_every_degree(&seen, family);
        eprintln!("worst error / tolerance: {worst:.2e}; (m, s) seen: {seen:?}");
    }
}

#[test]
fn matches_the_dense_adjoint_on_every_path() {
    // Dense (structured route), upper triangular (exact-diagonal squarings), lower triangular
    // (cache of Xᵀ: dense fallback), diagonal (divided differences), and a huge norm (2ˢ too
    // large: dense fallback).
    let mut r = rng(8);
    let n = 20;
    let g = randn(&mut r, n, n) * faer::Scale(1.5 / (n as f64).sqrt());
    let upper = Mat::from_fn(n, n, |i, j| if i <= j { g[(i, j)] } else { 0.0 });
    let lower = upper.transpose().to_owned();
    let diag = Mat::from_fn(n, n, |i, j| if i == j { g[(i, j)] } else { 0.0 });
    let (u, v) = (randn(&mut r, n, 2), randn(&mut r, n, 2));
    for (name, x) in [
        ("dense", g.clone()),
        ("dense x6", &g * faer::Scale(6.0)),
        ("upper", upper),
        ("lower", lower),
        ("diagonal", diag),
        ("huge", &g * faer::Scale(300.0)),
    ] {
        let f = Expm::new(x.as_ref());
        let fast = f.frechet_adjoint_factored(u.as_ref(), v.as_ref());
        let full = f.frechet_adjoint((&u * v.transpose()).as_ref());
        let err = rel_err(fast.as_ref(), full.as_ref());
        let tol = tol_exp(x.as_ref());
        assert!(err <= tol, "{name} {:?}: {err:e} > {tol:e}", f.params());
    }
}

#[test]
fn bad_input_is_a_typed_error() {
    let f = Expm::new(faer::mat![[1.0, 2.0], [3.0, 4.0f64]].as_ref());
    let (u, v) = (Mat::<f64>::zeros(2, 1), Mat::<f64>::zeros(2, 2));
    assert!(matches!(
        f.try_frechet_adjoint_factored(u.as_ref(), v.as_ref()),
        Err(LinalgError::ShapeMismatch { .. })
    ));
    let mut nan = Mat::<f64>::zeros(2, 1);
    nan[(0, 0)] = f64::INFINITY;
    assert!(matches!(
        f.try_frechet_adjoint_factored(nan.as_ref(), u.as_ref()),
        Err(LinalgError::NonFinite { .. })
    ));
}
