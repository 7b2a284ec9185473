//! `Expm::frechet_row_jacobian` (the O(n³) Jacobian of `exp(Diag(d)A)v` w.r.t. d) against
//! independent references: Gauss–Legendre quadrature of the Fréchet integral with closed-form
//! exponentials, and n separate Fréchet derivatives (Algorithm 6.4) from the cache.
mod common;
use common::*;
use expgrad_linalg::*;
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
    let mut seen = BTreeSet::new();
    let mut worst = 0.0f64;
    for (k, t) in [
        0.001, 0.01, 0.1, 0.4, 1.0, 2.0, 4.0, 10.0, 30.0, 100.0, 300.0,
    ]
    .into_iter()
    .enumerate()
    {
        let c = case(11 + k as u64, 8, t, 1.5);
        let f = Expm::new(c.x.as_ref());
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
    assert_covers_every_degree(&seen);
    eprintln!("worst error / tolerance: {worst:.2e}; (m, s) seen: {seen:?}");
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
    let a = faer::mat![
        [-3.0e4, 1.0e4, 0.0],
        [2.0e3, -2.0e4, 5.0e3],
        [0.0, 1.0e4, -1.0e4]
    ];
    let d = [1.0, 0.5, 0.8];
    let v = faer::mat![[1.0], [2.0], [-1.0]];
    let x = |h: usize, e: f64| {
        Mat::from_fn(3, 3, |i, j| {
            (d[i] + if i == h { e } else { 0.0 }) * a[(i, j)]
        })
    };
    let f = Expm::new(x(0, 0.0).as_ref());
    assert!(f.params().1 >= 12, "{:?}", f.params());
    let j = f.frechet_row_jacobian(a.as_ref(), v.as_ref());
    for k in 0..3 {
        let h = 1e-7;
        let fd =
            (expm(x(k, h).as_ref()) * &v - expm(x(k, -h).as_ref()) * &v) * faer::Scale(0.5 / h);
        let err = rel_err(j.col(k).as_mat(), fd.as_ref());
        assert!(err < 1e-5, "column {k}: {err:e}");
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
