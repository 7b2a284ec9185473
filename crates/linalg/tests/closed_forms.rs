//! `expm`, `Expm` and `L(A, E)` (`expm_frechet`, `Expm::frechet`, `Expm::frechet_adjoint`)
//! against closed forms (closed-form identities), with tolerances from the condition number of
//! exp (`common::tol_exp`).
mod common;
use common::*;
use expgrad_linalg::*;
use faer::{Mat, mat};

#[track_caller]
fn assert_close(got: &Mat<f64>, want: &Mat<f64>, tol: f64, what: &str) {
    let err = rel_err(got.as_ref(), want.as_ref());
    assert!(
        err <= tol,
        "{what}: relative error {err:.3e} > tolerance {tol:.3e}"
    );
}

#[test]
fn diagonal_is_exact_entrywise() {
    let d = [-700.0, -3.5, 0.0, 1e-300, 2.25, 709.0];
    let a = Mat::<f64>::from_fn(6, 6, |i, j| if i == j { d[i] } else { 0.0 });
    let e = expm(a.as_ref());
    for i in 0..6 {
        assert_eq!(e[(i, i)], d[i].exp());
    }
    assert_eq!(Expm::new(a.as_ref()).params(), (0, 0));
    // L(D, E)_ij = E_ij (e^{d_i} − e^{d_j}) / (d_i − d_j): check against the quadrature.
    let small = Mat::<f64>::from_fn(4, 4, |i, j| {
        if i == j {
            [-2.0, 0.5, 0.5 + 1e-9, 3.0][i]
        } else {
            0.0
        }
    });
    let g = randn(&mut rng(3), 4, 4);
    let want = frechet_quadrature(|s| expm((&small * faer::Scale(s)).as_ref()), g.as_ref(), 4);
    assert_close(
        &Expm::new(small.as_ref()).frechet(g.as_ref()),
        &want,
        4.0 * 4.0 * U64 * 10.0,
        "diagonal frechet",
    );
}

#[test]
fn empty_and_scalar() {
    let z = Mat::<f64>::zeros(0, 0);
    assert_eq!(expm(z.as_ref()).shape(), (0, 0));
    let (v, l) = expm_frechet(z.as_ref(), z.as_ref());
    assert_eq!((v.shape(), l.shape()), ((0, 0), (0, 0)));
    let one = mat![[0.75f64]];
    assert_eq!(expm(one.as_ref())[(0, 0)], 0.75f64.exp());
    let (_, l) = expm_frechet(one.as_ref(), mat![[2.0f64]].as_ref());
    assert!((l[(0, 0)] - 2.0 * 0.75f64.exp()).abs() <= 2.0 * U64 * l[(0, 0)]);
}

#[test]
fn nilpotent_is_a_finite_taylor_sum() {
    let mut r = rng(7);
    for n in [2usize, 3, 5, 8] {
        for scale in [1e-3, 1.0, 50.0] {
            let nil = Mat::<f64>::from_fn(n, n, |i, j| {
                if j > i {
                    scale * randn(&mut r, 1, 1)[(0, 0)]
                } else {
                    0.0
                }
            });
            let mut want = Mat::<f64>::identity(n, n);
            let mut term = Mat::<f64>::identity(n, n);
            for k in 1..n {
                term = &term * &nil * faer::Scale(1.0 / k as f64);
                want += &term;
            }
            assert_close(
                &expm(nil.as_ref()),
                &want,
                tol_exp(nil.as_ref()),
                &format!("nilpotent n={n} scale={scale}"),
            );
        }
    }
}

#[test]
fn rotation_and_shear() {
    for theta in [1e-8, 0.3, 1.0, 3.0, 10.0, 100.0] {
        let a = mat![[0.0, -theta], [theta, 0.0f64]];
        let want = mat![[theta.cos(), -theta.sin()], [theta.sin(), theta.cos()]];
        // exp is perfectly conditioned on skew-symmetric matrices up to ‖A‖: κ ≈ θ.
        assert_close(
            &expm(a.as_ref()),
            &want,
            tol_exp(a.as_ref()),
            &format!("rotation θ={theta}"),
        );
        let shear = mat![[0.0, theta], [0.0, 0.0f64]];
        assert_eq!(expm(shear.as_ref()), mat![[1.0, theta], [0.0, 1.0]]);
    }
}

#[test]
fn two_by_two_triangular_overscaling() {
    // exp([[a, b], [0, c]]) = [[eᵃ, b(eᵃ − eᶜ)/(a − c)], [0, eᶜ]]; a = 1, c = −1 is the
    // over-scaling example of Al-Mohy & Higham (2009): ‖A‖ grows with b, the answer is exact
    // to a few ulps whatever b is (the triangular fix-up computes the (1,2) entry in closed form).
    let e1 = 1f64.exp();
    for b in [1.0, 1e4, 1e8, 1e12, 1e16] {
        let a = mat![[1.0, b], [0.0, -1.0f64]];
        let want = mat![[e1, b * (e1 - 1.0 / e1) / 2.0], [0.0, 1.0 / e1]];
        let got = expm(a.as_ref());
        for (i, j) in [(0, 0), (0, 1), (1, 1)] {
            let rel = (got[(i, j)] - want[(i, j)]).abs() / want[(i, j)].abs();
            assert!(rel <= 8.0 * U64, "b={b}: entry ({i},{j}) rel err {rel:e}");
        }
        assert_eq!(got[(1, 0)], 0.0);
        // The lower triangular transpose goes through the same path.
        let lt = expm(a.transpose());
        assert!(rel_err(lt.as_ref(), want.transpose()) <= 8.0 * U64);
    }
    // Equal diagonal: b·eᵃ.
    let a = mat![[0.5, 3.0], [0.0, 0.5f64]];
    let got = expm(a.as_ref());
    assert!((got[(0, 1)] - 3.0 * 0.5f64.exp()).abs() <= 4.0 * U64 * got[(0, 1)]);
}

#[test]
fn frechet_identities() {
    let mut r = rng(11);
    for n in [1usize, 2, 3, 6, 10] {
        for scale in [0.01, 1.0, 8.0] {
            let x = &randn(&mut r, n, n) * faer::Scale(scale / (n as f64).sqrt());
            let f = Expm::new(x.as_ref());
            let tol = tol_exp(x.as_ref());
            // L(X, I) = e^X, L(X, X) = X e^X, L(X, p(X)) = p(X) e^X for a commuting polynomial.
            let eye = Mat::<f64>::identity(n, n);
            assert_close(
                &f.frechet(eye.as_ref()),
                &f.value().to_owned(),
                tol,
                "L(X, I)",
            );
            assert_close(&f.frechet(x.as_ref()), &(&x * f.value()), tol, "L(X, X)");
            let p = &x * &x * faer::Scale(0.5) - &x + &eye * faer::Scale(2.0);
            assert_close(&f.frechet(p.as_ref()), &(&p * f.value()), tol, "L(X, p(X))");
        }
    }
}

#[test]
fn block_diagonal_and_inverse() {
    let mut r = rng(5);
    for n in [3usize, 7, 16] {
        let a = &randn(&mut r, n, n) * faer::Scale(2.0 / (n as f64).sqrt());
        let b = &randn(&mut r, n, n) * faer::Scale(0.5);
        let mut blk = Mat::<f64>::zeros(2 * n, 2 * n);
        blk.submatrix_mut(0, 0, n, n).copy_from(&a);
        blk.submatrix_mut(n, n, n, n).copy_from(&b);
        let e = expm(blk.as_ref());
        let (ea, eb) = (expm(a.as_ref()), expm(b.as_ref()));
        assert_close(
            &e.submatrix(0, 0, n, n).to_owned(),
            &ea,
            tol_exp(blk.as_ref()),
            "block (1,1)",
        );
        assert_close(
            &e.submatrix(n, n, n, n).to_owned(),
            &eb,
            tol_exp(blk.as_ref()),
            "block (2,2)",
        );
        assert_eq!(e.submatrix(0, n, n, n).norm_max(), 0.0);
        // e^A e^{-A} = I: the error of the product is bounded by the errors of both factors
        // times the other's norm.
        let neg = expm((-&a).as_ref());
        let prod = &ea * &neg;
        let bound = (tol_exp(a.as_ref()) + tol_exp((-&a).as_ref())) * ea.norm_l2() * neg.norm_l2();
        let err = (&prod - Mat::<f64>::identity(n, n)).norm_l2();
        assert!(err <= bound, "e^A e^-A: {err:e} > {bound:e}");
    }
}

#[test]
fn similarity_family_against_closed_form() {
    // X = Q B Qᵀ with B block diagonal of non-normal triangular 2×2 blocks and scaled
    // rotations: e^X = Q e^B Qᵀ exactly, and L(X, E) by quadrature of the closed form.
    let mut r = rng(17);
    for n in [2usize, 4, 8, 12] {
        for (t, nonnormal) in [
            (1e-3, 1.0),
            (0.2, 5.0),
            (1.0, 20.0),
            (6.0, 3.0),
            (40.0, 2.0),
        ] {
            let b = Blocks::random(&mut r, n, 2.0, nonnormal);
            let q = orthogonal(&mut r, n);
            let x = &q * b.matrix(t) * q.transpose();
            let want = &q * b.exp(t) * q.transpose();
            let tol = tol_exp(x.as_ref());
            let f = Expm::new(x.as_ref());
            assert_close(
                &f.value().to_owned(),
                &want,
                tol,
                &format!("exp n={n} t={t}"),
            );
            let e = randn(&mut r, n, n);
            let panels = 4 + (4.0 * t) as usize;
            let lq = frechet_quadrature(|s| &q * b.exp(s * t) * q.transpose(), e.as_ref(), panels);
            assert_close(
                &f.frechet(e.as_ref()),
                &lq,
                tol,
                &format!("frechet n={n} t={t}"),
            );
            let gq = frechet_quadrature(
                |s| (&q * b.exp(s * t) * q.transpose()).transpose().to_owned(),
                e.as_ref(),
                panels,
            );
            assert_close(
                &f.frechet_adjoint(e.as_ref()),
                &gq,
                tol,
                &format!("adjoint n={n} t={t}"),
            );
        }
    }
}
