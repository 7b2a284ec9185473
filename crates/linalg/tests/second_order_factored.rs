//! The factored forward-mode and second-order rules of `exp(X)·V`: `Expm::frechet_mul`
//! (`L(X, E)·V`), `Expm::frechet_mul_adjoint` (`L(X, E)ᴴ·G`) and
//! `Expm::frechet_adjoint_factored_jvp` (the tangent of the factored adjoint) against the dense
//! `frechet(E)·V` and `frechet_adjoint_jvp(U·Vᴴ, Ȧ, U̇·Vᴴ + U·V̇ᴴ)`, at every Taylor scheme
//! and Padé degree, s = 0..12, k = 1..3, n = 13..40, real and c64, and on the fallback paths
//! (small n, diagonal, lower triangular, huge norm). Tolerances from the condition number of
//! the 4n×4n block whose exponential holds both first and second derivatives.
mod common;
use common::*;
use expgrad_linalg::*;
use faer::{Mat, MatRef, c64};
use std::collections::BTreeSet;

/// `[[A, E₁, E₂, 0], [0, A, 0, E₂], [0, 0, A, E₁], [0, 0, 0, A]]`: blocks (0,1), (0,2) of its
/// exponential are `L(A, E₁)`, `L(A, E₂)`, block (0,3) is `L⁽²⁾(A; E₁, E₂)`.
fn block4<T: Scalar>(a: MatRef<'_, T>, e1: MatRef<'_, T>, e2: MatRef<'_, T>) -> Mat<T> {
    let n = a.nrows();
    let mut b = Mat::<T>::zeros(4 * n, 4 * n);
    for k in 0..4 {
        b.submatrix_mut(k * n, k * n, n, n).copy_from(a);
    }
    b.submatrix_mut(0, n, n, n).copy_from(e1);
    b.submatrix_mut(0, 2 * n, n, n).copy_from(e2);
    b.submatrix_mut(n, 3 * n, n, n).copy_from(e2);
    b.submatrix_mut(2 * n, 3 * n, n, n).copy_from(e1);
    b
}

/// Absolute error bound for `L(Aᵀ, G)`, `L(Aᵀ, Ġ) + L⁽²⁾(Aᵀ; G, Ȧᵀ)` evaluated by either
/// rule: both are exact derivatives at `A + ΔA` with the forward's backward error, a
/// structured perturbation of the 4n block, so `tol_exp(B₄)·‖e^{B₄}‖_F` bounds each
/// first/second-derivative block with `E₁ = G`; the `L(Aᵀ, Ġ)` part scales with `‖Ġ‖/‖G‖`;
/// twice that for the two sides of the comparison.
fn abs_tol(
    at: MatRef<'_, f64>,
    g: MatRef<'_, f64>,
    adt: MatRef<'_, f64>,
    gd: MatRef<'_, f64>,
) -> f64 {
    let b = block4(at, g, adt);
    let eb = expm(b.as_ref());
    2.0 * tol_exp(b.as_ref()) * eb.norm_l2() * (1.0 + gd.norm_l2() / g.norm_l2())
}

/// The complex analogue (κ by `cond_exp_c`, backward error `(3·4n + s)·u`).
fn abs_tol_c(
    at: MatRef<'_, c64>,
    g: MatRef<'_, c64>,
    adt: MatRef<'_, c64>,
    gd: MatRef<'_, c64>,
) -> f64 {
    let b = block4(at, g, adt);
    let f = Expm::new(b.as_ref());
    let s = f.params().1 as f64;
    let kappa = cond_exp_c(b.as_ref()).max(1.0);
    4.0 * (3.0 * b.nrows() as f64 + s)
        * U64
        * kappa
        * f.value().norm_l2()
        * (1.0 + gd.norm_l2() / g.norm_l2())
}

/// Absolute bound for `L(A, E)·V`: `tol_frechet(A, E)·‖L‖_F·‖V‖_F`, twice.
fn mul_tol(a: MatRef<'_, f64>, e: MatRef<'_, f64>, l: MatRef<'_, f64>, v: MatRef<'_, f64>) -> f64 {
    2.0 * tol_frechet(a, e) * l.norm_l2() * v.norm_l2()
}

const NORMS: [f64; 21] = [
    3e-9, 1e-6, 1e-5, 3e-5, 1e-4, 0.001, 0.01, 0.1, 0.3, 0.7, 1.0, 1.5, 2.5, 4.0, 8.0, 16.0, 40.0,
    120.0, 400.0, 1500.0, 8000.0,
];

fn crandn(r: &mut rand::rngs::StdRng, rows: usize, cols: usize) -> Mat<c64> {
    let (x, y) = (randn(r, rows, cols), randn(r, rows, cols));
    Mat::from_fn(rows, cols, |i, j| c64::new(x[(i, j)], y[(i, j)]))
}

#[test]
fn real_against_the_dense_rules_at_every_degree_and_squaring_count() {
    real_against_the_dense_rules(false);
}

/// The structured routes forced wherever the cache has them (also where the dense route is
/// cheaper): s = 0..13 on the structured formulas themselves.
#[test]
fn forced_structured_route_at_every_squaring_count() {
    force_factored_second_order(true);
    real_against_the_dense_rules(true);
    force_factored_second_order(false);
}

fn real_against_the_dense_rules(forced: bool) {
    for family in FAMILIES {
        let mut seen = BTreeSet::new();
        let mut structured_seen = 0;
        let (mut worst_adj, mut worst_mul, mut worst_rel) = (0.0f64, 0.0f64, 0.0f64);
        for (case, t) in NORMS.into_iter().enumerate() {
            let mut r = rng(700 + case as u64);
            let n = 13 + (case * 11) % 28;
            // k = 1 at the largest norms (2ˢ·m·k vectors when forced).
            let k = if t >= 400.0 { 1 } else { 1 + case % 3 };
            // Norm t, real parts of the spectrum at most ~2 (no overflow at large t).
            let g = randn(&mut r, n, n);
            let x = Mat::from_fn(n, n, |i, j| {
                (t * (g[(i, j)] - g[(j, i)]) + t.min(2.0) * (g[(i, j)] + g[(j, i)]))
                    / (2.0 * (n as f64).sqrt())
            });
            let ad = randn(&mut r, n, n) * faer::Scale(1.0 / (n as f64).sqrt());
            let (u, v) = (randn(&mut r, n, k), randn(&mut r, n, k));
            let (ud, vd) = (randn(&mut r, n, k), randn(&mut r, n, k));
            let f = Expm::try_new_with(x.as_ref(), family).unwrap();
            seen.insert(f.params());

            // Second order.
            let (xb, xt) = f.frechet_adjoint_factored_jvp(
                u.as_ref(),
                v.as_ref(),
                ad.as_ref(),
                Some(ud.as_ref()),
                Some(vd.as_ref()),
            );
            let g = &u * v.transpose();
            let gd = &ud * v.transpose() + &u * vd.transpose();
            let (xb0, xt0) = f.frechet_adjoint_jvp(g.as_ref(), ad.as_ref(), gd.as_ref());
            if xt != xt0 {
                structured_seen += 1;
            }
            let tol = abs_tol(x.transpose(), g.as_ref(), ad.transpose(), gd.as_ref());
            let (e1, e2) = ((&xb - &xb0).norm_l2(), (&xt - &xt0).norm_l2());
            worst_adj = worst_adj.max(e1.max(e2) / tol);
            worst_rel = worst_rel.max(e2 / xt0.norm_l2());
            assert!(
                e1 <= tol && e2 <= tol,
                "{family:?} t = {t}, n = {n}, k = {k}, {:?}: value {e1:e} tangent {e2:e} > {tol:e} (‖T‖ = {:e})",
                f.params(),
                xt0.norm_l2()
            );
            // Only one of U̇, V̇, and neither.
            for (udo, vdo) in [
                (Some(ud.as_ref()), None),
                (None, Some(vd.as_ref())),
                (None, None),
            ] {
                let (_, t1) =
                    f.frechet_adjoint_factored_jvp(u.as_ref(), v.as_ref(), ad.as_ref(), udo, vdo);
                let mut gd1 = Mat::<f64>::zeros(n, n);
                if let Some(ud) = udo {
                    gd1 += ud * v.transpose();
                }
                if let Some(vd) = vdo {
                    gd1 += &u * vd.transpose();
                }
                let (_, t0) = f.frechet_adjoint_jvp(g.as_ref(), ad.as_ref(), gd1.as_ref());
                let e = (&t1 - &t0).norm_l2();
                assert!(
                    e <= tol,
                    "{family:?} t = {t}, partial tangents: {e:e} > {tol:e}"
                );
            }

            // First order: L(X, E)·V and L(X, E)ᵀ·G.
            let l = f.frechet(ad.as_ref());
            let fm = f.frechet_mul(ad.as_ref(), v.as_ref());
            let fm0 = &l * &v;
            let tol = mul_tol(x.as_ref(), ad.as_ref(), l.as_ref(), v.as_ref());
            let e = (&fm - &fm0).norm_l2();
            worst_mul = worst_mul.max(e / tol);
            assert!(
                e <= tol,
                "{family:?} t = {t}, n = {n}, frechet_mul: {e:e} > {tol:e}"
            );
            let fa = f.frechet_mul_adjoint(ad.as_ref(), u.as_ref());
            let fa0 = l.transpose() * &u;
            let tol = mul_tol(x.as_ref(), ad.as_ref(), l.as_ref(), u.as_ref());
            let e = (&fa - &fa0).norm_l2();
            worst_mul = worst_mul.max(e / tol);
            assert!(
                e <= tol,
                "{family:?} t = {t}, n = {n}, frechet_mul_adjoint: {e:e} > {tol:e}"
            );
        }
        assert_covers_every_degree(&seen, family);
        assert!(seen.iter().any(|p| p.1 >= 12), "{seen:?}");
        let least = if forced { NORMS.len() - 2 } else { 4 };
        assert!(
            structured_seen >= least,
            "{family:?}: the structured route ran {structured_seen} times"
        );
        eprintln!(
            "forced = {forced}, {family:?}: worst error / tolerance: adjoint jvp {worst_adj:.2e}, frechet_mul {worst_mul:.2e}; worst relative error of the tangent {worst_rel:.2e}; (m, s) seen: {seen:?}"
        );
    }
}

#[test]
fn complex_against_the_dense_rules() {
    for family in FAMILIES {
        let mut worst = 0.0f64;
        for (case, t) in [1e-3, 0.3, 1.0, 2.5, 6.0, 20.0].into_iter().enumerate() {
            let mut r = rng(900 + case as u64);
            let n = 13 + (case * 5) % 12;
            let k = 1 + case % 3;
            let x = crandn(&mut r, n, n) * faer::Scale(c64::new(t / (2.0 * n as f64).sqrt(), 0.0));
            let ad = crandn(&mut r, n, n) * faer::Scale(c64::new(1.0 / (n as f64).sqrt(), 0.0));
            let (u, v) = (crandn(&mut r, n, k), crandn(&mut r, n, k));
            let (ud, vd) = (crandn(&mut r, n, k), crandn(&mut r, n, k));
            let f = Expm::try_new_with(x.as_ref(), family).unwrap();
            let (xb, xt) = f.frechet_adjoint_factored_jvp(
                u.as_ref(),
                v.as_ref(),
                ad.as_ref(),
                Some(ud.as_ref()),
                Some(vd.as_ref()),
            );
            let g = &u * v.adjoint();
            let gd = &ud * v.adjoint() + &u * vd.adjoint();
            let (xb0, xt0) = f.frechet_adjoint_jvp(g.as_ref(), ad.as_ref(), gd.as_ref());
            let (xh, adh) = (x.adjoint().to_owned(), ad.adjoint().to_owned());
            let tol = abs_tol_c(xh.as_ref(), g.as_ref(), adh.as_ref(), gd.as_ref());
            let (e1, e2) = ((&xb - &xb0).norm_l2(), (&xt - &xt0).norm_l2());
            worst = worst.max(e1.max(e2) / tol);
            assert!(
                e1 <= tol && e2 <= tol,
                "{family:?} t = {t}, {:?}: {e1:e} {e2:e} > {tol:e}",
                f.params()
            );

            let l = f.frechet(ad.as_ref());
            let scale = l.norm_l2() * tol / f.value().norm_l2().max(1.0);
            let fm = f.frechet_mul(ad.as_ref(), v.as_ref());
            let e = (&fm - &l * &v).norm_l2() / v.norm_l2();
            assert!(e <= scale.max(tol), "{family:?} t = {t}: frechet_mul {e:e}");
            let fa = f.frechet_mul_adjoint(ad.as_ref(), u.as_ref());
            let e = (&fa - l.adjoint() * &u).norm_l2() / u.norm_l2();
            assert!(
                e <= scale.max(tol),
                "{family:?} t = {t}: frechet_mul_adjoint {e:e}"
            );
        }
        eprintln!("c64 {family:?}: worst error / tolerance {worst:.2e}");
    }
}

#[test]
fn fallback_paths_match_the_dense_rules() {
    // Small (n ≤ 12), diagonal, upper and lower triangular, huge norm (2ˢ too large).
    let mut r = rng(31);
    let n = 20;
    let g0 = randn(&mut r, n, n) * faer::Scale(1.5 / (n as f64).sqrt());
    let upper = Mat::from_fn(n, n, |i, j| if i <= j { g0[(i, j)] } else { 0.0 });
    let lower = upper.transpose().to_owned();
    let diag = Mat::from_fn(n, n, |i, j| if i == j { g0[(i, j)] } else { 0.0 });
    let small = g0.submatrix(0, 0, 7, 7).to_owned();
    for (name, x) in [
        ("small", small),
        ("diagonal", diag),
        ("upper", upper),
        ("lower", lower),
        ("huge", &g0 * faer::Scale(300.0)),
    ] {
        let n = x.nrows();
        let ad = randn(&mut r, n, n);
        let (u, v, ud, vd) = (
            randn(&mut r, n, 2),
            randn(&mut r, n, 2),
            randn(&mut r, n, 2),
            randn(&mut r, n, 2),
        );
        let f = Expm::new(x.as_ref());
        let (xb, xt) = f.frechet_adjoint_factored_jvp(
            u.as_ref(),
            v.as_ref(),
            ad.as_ref(),
            Some(ud.as_ref()),
            Some(vd.as_ref()),
        );
        let g = &u * v.transpose();
        let gd = &ud * v.transpose() + &u * vd.transpose();
        let (xb0, xt0) = f.frechet_adjoint_jvp(g.as_ref(), ad.as_ref(), gd.as_ref());
        let tol = abs_tol(x.transpose(), g.as_ref(), ad.transpose(), gd.as_ref());
        let (e1, e2) = ((&xb - &xb0).norm_l2(), (&xt - &xt0).norm_l2());
        assert!(e1 <= tol && e2 <= tol, "{name}: {e1:e} {e2:e} > {tol:e}");
        let l = f.frechet(ad.as_ref());
        let tol = mul_tol(x.as_ref(), ad.as_ref(), l.as_ref(), v.as_ref());
        let e = (f.frechet_mul(ad.as_ref(), v.as_ref()) - &l * &v).norm_l2();
        assert!(e <= tol, "{name}: frechet_mul {e:e} > {tol:e}");
        let e = (f.frechet_mul_adjoint(ad.as_ref(), v.as_ref()) - l.transpose() * &v).norm_l2();
        assert!(e <= tol, "{name}: frechet_mul_adjoint {e:e} > {tol:e}");
    }
}

#[test]
fn bad_input_is_a_typed_error() {
    let f = Expm::new(Mat::<f64>::from_fn(20, 20, |i, j| (i as f64 - j as f64) * 0.01).as_ref());
    let (u, v, ad) = (
        Mat::<f64>::zeros(20, 1),
        Mat::<f64>::zeros(20, 2),
        Mat::<f64>::zeros(20, 20),
    );
    assert!(matches!(
        f.try_frechet_adjoint_factored_jvp(
            u.as_ref(),
            u.as_ref(),
            ad.as_ref(),
            Some(v.as_ref()),
            None
        ),
        Err(LinalgError::ShapeMismatch { .. })
    ));
    let mut nan = Mat::<f64>::zeros(20, 1);
    nan[(3, 0)] = f64::NAN;
    assert!(matches!(
        f.try_frechet_adjoint_factored_jvp(
            u.as_ref(),
            u.as_ref(),
            ad.as_ref(),
            None,
            Some(nan.as_ref())
        ),
        Err(LinalgError::NonFinite { .. })
    ));
    assert!(matches!(
        f.try_frechet_mul(ad.as_ref(), nan.as_ref()),
        Err(LinalgError::NonFinite { .. })
    ));
    assert!(matches!(
        f.try_frechet_mul(ad.submatrix(0, 0, 3, 3), u.as_ref()),
        Err(LinalgError::ShapeMismatch { .. })
    ));
}
