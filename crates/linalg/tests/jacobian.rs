//! `Expm::frechet_row_jacobian` (the O(n³) Jacobian of `exp(Diag(d)A)v` w.r.t. d) against
//! independent references: Gauss–Legendre quadrature of the Fréchet integral with closed-form
//! exponentials, n separate Fréchet derivatives (Algorithm 6.4) from the cache, and at a huge
//! norm (the column route) the block method and central differences.
mod common;
use common::*;
use expgrad_linalg::*;
use expgrad_testkit::into_generator;
use faer::{Mat, MatRef};
use std::collections::BTreeSet;

/// Column k = `L(X, e_k a_kᵀ)·v` from n separate Fréchet derivatives.
fn by_frechet(f: &Expm<f64>, a: MatRef<'_, f64>, v: MatRef<'_, f64>) -> Mat<f64> {
    let n = a.nrows();
    let mut j = Mat::zeros(n, n);
    for k in 0..n {
        let e = Mat::from_fn(n, n, |i, c| if i == k { a[(i, c)] } else { 0.0 });
        let col = f.frechet(e.as_ref()) * v;
        j.col_mut(k).copy_from(col.col(0));
    }
    j
}

/// `X = Q·(t·B)·Qᵀ` with closed-form `e^{sX}`, written as `Diag(d)·A` with `A = Diag(d)⁻¹X`.
struct Case {
    x: Mat<f64>,
    a: Mat<f64>,
    v: Mat<f64>,
    exp_at: Box<dyn Fn(f64) -> Mat<f64>>,
}

fn case(seed: u64, n: usize, t: f64, nonnormal: f64) -> Case {
    let mut r = rng(seed);
    let (x, exp_at) = similar_blocks(&mut r, n, t, nonnormal);
    let d: Vec<f64> = (0..n).map(|i| 0.5 + (i as f64 * 0.37).fract()).collect();
    let a = Mat::from_fn(n, n, |i, j| x[(i, j)] / d[i]);
    let v = randn(&mut r, n, 1);
    Case {
        x,
        a,
        v,
        exp_at: Box::new(exp_at),
    }
}

#[test]
fn matches_quadrature_at_every_degree_and_squaring_count() {
    for family in FAMILIES {
        let mut seen = BTreeSet::new();
        let mut worst = 0.0f64;
        for (k, t) in [
            3e-9, 1e-4, 0.001, 0.01, 0.1, 0.4, 0.7, 1.0, 1.4, 2.0, 4.0, 10.0, 30.0, 100.0, 300.0,
        ]
        .into_iter()
        .enumerate()
        {
            let c = case(11 + k as u64, 8, t, 1.5);
            let f = Expm::try_new_with(c.x.as_ref(), family).unwrap();
            seen.insert(f.params());
            let j = f.frechet_row_jacobian(c.a.as_ref(), c.v.as_ref());
            let n = c.x.nrows();
            let mut reference = Mat::zeros(n, n);
            let panels = 2 + (t as usize) / 2;
            for col in 0..n {
                let e = Mat::from_fn(n, n, |i, q| if i == col { c.a[(i, q)] } else { 0.0 });
                let l = frechet_quadrature(&c.exp_at, e.as_ref(), panels) * &c.v;
                reference.col_mut(col).copy_from(l.col(0));
            }
            let err = rel_err(j.as_ref(), reference.as_ref());
            let tol = tol_exp(c.x.as_ref());
            worst = worst.max(err / tol);
            assert!(
                err <= tol,
                "t = {t}, (m, s) = {:?}: {err:e} > {tol:e}",
                f.params()
            );
        }
        assert_covers_every_degree(&seen, family);
        eprintln!("worst error / tolerance: {worst:.2e}; (m, s) seen: {seen:?}");
    }
}

#[test]
fn matches_separate_frechet_derivatives() {
    // Dense random, upper triangular (squarings get the exact diagonal), lower triangular
    // (the cache describes Xᵀ: the column route) and diagonal (divided differences).
    let mut r = rng(5);
    let n = 24;
    let g = randn(&mut r, n, n) * faer::Scale(1.5 / (n as f64).sqrt());
    let upper = Mat::from_fn(n, n, |i, j| if i <= j { g[(i, j)] } else { 0.0 });
    let lower = upper.transpose().to_owned();
    let diag = Mat::from_fn(n, n, |i, j| if i == j { g[(i, j)] * 3.0 } else { 0.0 });
    let d: Vec<f64> = (0..n).map(|i| 0.2 + (i as f64 * 0.61).fract()).collect();
    let v = randn(&mut r, n, 1);
    for (name, a) in [
        ("dense", g.clone()),
        ("dense x8", &g * faer::Scale(8.0)),
        ("upper", upper),
        ("lower", lower),
        ("diagonal", diag),
    ] {
        let x = Mat::from_fn(n, n, |i, j| d[i] * a[(i, j)]);
        let f = Expm::new(x.as_ref());
        let j = f.frechet_row_jacobian(a.as_ref(), v.as_ref());
        let reference = by_frechet(&f, a.as_ref(), v.as_ref());
        let err = rel_err(j.as_ref(), reference.as_ref());
        let tol = tol_exp(x.as_ref());
        assert!(err <= tol, "{name} {:?}: {err:e} > {tol:e}", f.params());
    }
}

#[test]
fn huge_norm_takes_the_column_route_and_agrees_with_finite_differences() {
    // ‖X‖ ≈ 2·10⁴ gives s ≈ 13: 2ˢ tree products would exceed n Fréchet derivatives.
    let rates = faer::mat![
        [-3.0e4, 1.0e4, 0.0],
        [2.0e3, -2.0e4, 5.0e3],
        [0.0, 1.0e4, -1.0e4]
    ];
    let d = [1.0, 0.5, 0.8];
    let v = faer::mat![[1.0], [2.0], [-1.0]];
    let x = |a: &Mat<f64>, h: usize, e: f64| {
        Mat::from_fn(3, 3, |i, j| {
            (d[i] + if i == h { e } else { 0.0 }) * a[(i, j)]
        })
    };
    // This X is so stable that exp(X) underflows to 0 in every entry (and so do the
    // differences): the Jacobian must be exactly 0, finite.
    let f = Expm::new(x(&rates, 0, 0.0).as_ref());
    assert!(f.params().1 >= 12, "{:?}", f.params());
    assert_eq!(f.value().norm_max(), 0.0);
    assert_eq!(
        f.frechet_row_jacobian(rates.as_ref(), v.as_ref())
            .norm_max(),
        0.0
    );
    // The same rates as a Markov generator (diagonal = −row sum): exp(X) tends to the
    // stationary projector, not to 0, so J ≠ 0 and the comparisons below have content.
    let mut a = rates.clone();
    into_generator(&mut a);
    let x0 = x(&a, 0, 0.0);
    let f = Expm::new(x0.as_ref());
    assert!(f.params().1 >= 12, "{:?}", f.params());
    let j = f.frechet_row_jacobian(a.as_ref(), v.as_ref());
    let h = 1e-4;
    for (k, &d_k) in d.iter().enumerate() {
        let e_k = Mat::from_fn(3, 3, |i, c| if i == k { a[(i, c)] } else { 0.0 });
        // Against the block method, L(X, E_k) = [exp([[X, E_k], [0, X]])]₁₂ (an independent
        // route; the column route here is n Fréchet derivatives by Algorithm 6.4, so comparing
        // with `by_frechet` would compare a computation with itself): each is within
        // `tol_frechet` of L (relative, Frobenius), so `L·v` within `tol_frechet·‖L‖‖v‖/‖Lv‖`;
        // two computed values: twice that.
        let (_, l) = expm_frechet_block(x0.as_ref(), e_k.as_ref());
        let lv = &l * &v;
        let tol_j =
            tol_frechet(x0.as_ref(), e_k.as_ref()) * l.norm_l2() * v.norm_l2() / lv.norm_l2();
        let err_block = rel_err(j.col(k).as_mat(), lv.as_ref());
        assert!(
            err_block <= 2.0 * tol_j,
            "column {k} vs block: {err_block:e} > {:e}",
            2.0 * tol_j
        );
        // Against central differences `D = (ŵ(h) − ŵ(−h))/2h`, `w(h) = exp(X + h·E_k)·v`, whose
        // error is bounded by
        // * truncation `h²‖F₃v‖ + h⁴‖F₅v‖ + …` with `F_j` the Taylor coefficients of
        //   `h ↦ exp(X + hE_k)`, `F₃` read off `exp` of the 4×4 block bidiagonal matrix with `X`
        //   on the diagonal and `E_k` above it (Najfeld & Havel 1995); a factor 2 covers the
        //   higher terms (even at h = 10⁻² the observed error is h²‖F₃v‖ to 4 digits);
        // * rounding `(τ₊‖e^{X₊}‖ + τ₋‖e^{X₋}‖)·‖v‖/2h`, `τ = tol_exp` the relative error bound
        //   of a computed exponential (`X₊`, `X₋` the perturbed matrices);
        // * the rounded step `fl(d_k ± h)`: `u·(|d_k| + h)/h` relative;
        // * and the error of `J` itself, `tol_j`.
        // h = 10⁻⁴ balances the first two (the guessed `1e-5` at h = 10⁻⁷ held only because
        // the first X gave 0 = 0; on this one its error is 1.7·10⁻⁴).
        let (xp, xm) = (x(&a, k, h), x(&a, k, -h));
        let (ep, em) = (expm(xp.as_ref()), expm(xm.as_ref()));
        let fd = (&ep * &v - &em * &v) * faer::Scale(0.5 / h);
        let n = 3;
        let mut big = Mat::<f64>::zeros(4 * n, 4 * n);
        for b in 0..4 {
            big.submatrix_mut(b * n, b * n, n, n).copy_from(&x0);
            if b < 3 {
                big.submatrix_mut(b * n, (b + 1) * n, n, n).copy_from(&e_k);
            }
        }
        let f3v = expm(big.as_ref()).submatrix(0, 3 * n, n, n) * &v;
        let trunc = 2.0 * h * h * f3v.norm_l2();
        let round = (tol_exp(xp.as_ref()) * ep.norm_l2() + tol_exp(xm.as_ref()) * em.norm_l2())
            * v.norm_l2()
            / (2.0 * h);
        let step = U64 * (d_k + h) / h;
        let tol_fd = (trunc + round) / fd.norm_l2() + step + tol_j;
        let err_fd = rel_err(j.col(k).as_mat(), fd.as_ref());
        eprintln!(
            "column {k}: vs block {err_block:.1e} (tol {:.1e}), vs differences {err_fd:.1e} \
             (tol {tol_fd:.1e}: truncation {:.1e}, rounding {:.1e})",
            2.0 * tol_j,
            trunc / fd.norm_l2(),
            round / fd.norm_l2()
        );
        assert!(
            err_fd <= tol_fd,
            "column {k} vs differences: {err_fd:e} > {tol_fd:e}"
        );
    }
}

#[test]
fn bad_input_is_a_typed_error() {
    let f = Expm::new(faer::mat![[1.0, 2.0], [3.0, 4.0f64]].as_ref());
    let a = Mat::<f64>::zeros(2, 2);
    let bad_v = Mat::<f64>::zeros(3, 1);
    assert!(matches!(
        f.try_frechet_row_jacobian(a.as_ref(), bad_v.as_ref()),
        Err(LinalgError::ShapeMismatch {
            op: "frechet_row_jacobian",
            ..
        })
    ));
    let mut nan = Mat::<f64>::zeros(2, 1);
    nan[(1, 0)] = f64::NAN;
    assert!(matches!(
        f.try_frechet_row_jacobian(a.as_ref(), nan.as_ref()),
        Err(LinalgError::NonFinite { .. })
    ));
}
