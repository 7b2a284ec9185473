//! Property tests (proptest) of `expm` and its Fréchet derivative (`Expm::frechet`,
//! `Expm::frechet_adjoint`, `expm_frechet_block`), with tolerances from the
//! condition number (`common::tol_exp`: 2(3n + s)·u·κ_exp).
mod common;
use common::*;
use expgrad_linalg::*;
use faer::Mat;
use faer::linalg::solvers::DenseSolveCore;
use proptest::prelude::*;

/// An n×n matrix with entries in [−1, 1], rescaled to 1-norm `norm`.
fn matrix(max_n: usize, max_norm: f64) -> impl Strategy<Value = Mat<f64>> {
    (1..=max_n, 1e-3..max_norm).prop_flat_map(|(n, norm)| {
        proptest::collection::vec(-1.0..1.0f64, n * n).prop_map(move |v| {
            let m = Mat::from_fn(n, n, |i, j| v[i + j * n]);
            let s = norm1(m.as_ref());
            if s == 0.0 {
                m
            } else {
                &m * faer::Scale(norm / s)
            }
        })
    })
}

fn same_size_pair(
    max_n: usize,
    max_norm: f64,
) -> impl Strategy<Value = (Mat<f64>, Mat<f64>, Mat<f64>)> {
    matrix(max_n, max_norm).prop_flat_map(|x| {
        let n = x.nrows();
        let dir = proptest::collection::vec(-1.0..1.0f64, n * n)
            .prop_map(move |v| Mat::from_fn(n, n, |i, j| v[i + j * n]));
        (Just(x), dir.clone(), dir)
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn inverse_pair(x in matrix(6, 6.0)) {
        // ‖e^X e^−X − I‖ ≤ (tol(X)‖e^X‖ + tol(−X)‖e^−X‖) · (‖e^X‖ + ‖e^−X‖): each factor's
        // error times the other factor.
        let (p, m) = (expm(x.as_ref()), expm((-&x).as_ref()));
        let err = (&p * &m - Mat::<f64>::identity(x.nrows(), x.nrows())).norm_l2();
        let bound = (tol_exp(x.as_ref()) + tol_exp((-&x).as_ref())) * p.norm_l2() * m.norm_l2();
        prop_assert!(err <= bound, "{err:e} > {bound:e}");
    }

    #[test]
    fn transpose_commutes(x in matrix(6, 20.0)) {
        let a = expm(x.transpose());
        let b = expm(x.as_ref());
        prop_assert!(rel_err(a.as_ref(), b.transpose()) <= 2.0 * tol_exp(x.as_ref()));
    }

    #[test]
    fn determinant_is_exp_trace(x in matrix(5, 6.0)) {
        // |Δ det / det| ≤ ‖(e^X)⁻¹‖ ‖ΔE‖ ≤ ‖e^−X‖ ‖e^X‖ · tol(X) (first order).
        let e = expm(x.as_ref());
        let det = e.determinant();
        let want = x.diagonal().column_vector().sum().exp();
        let bound = x.nrows() as f64 * tol_exp(x.as_ref()) * e.norm_l2() * expm((-&x).as_ref()).norm_l2();
        prop_assert!(((det - want) / want).abs() <= bound, "{det} vs {want}");
    }

    #[test]
    fn similarity(x in matrix(5, 6.0), pert in proptest::collection::vec(-0.2..0.2f64, 25)) {
        // S = I + P with ‖P‖ small: κ(S) ≤ 3, and e^{SXS⁻¹} = S e^X S⁻¹.
        let n = x.nrows();
        let s = Mat::<f64>::from_fn(n, n, |i, j| if i == j { 1.0 } else { 0.0 } + pert[i + 5 * j] / n as f64);
        let s_inv = s.partial_piv_lu().inverse();
        let y = &s * &x * &s_inv;
        let lhs = expm(y.as_ref());
        let rhs = &s * expm(x.as_ref()) * &s_inv;
        let cond_s = s.norm_l2() * s_inv.norm_l2();
        let tol = cond_s * cond_s * (tol_exp(x.as_ref()) + tol_exp(y.as_ref()));
        prop_assert!(rel_err(lhs.as_ref(), rhs.as_ref()) <= tol);
    }

    #[test]
    fn f32_agrees_with_f64(x in matrix(5, 10.0)) {
        let n = x.nrows();
        let x32 = Mat::<f32>::from_fn(n, n, |i, j| x[(i, j)] as f32);
        let back = Mat::<f64>::from_fn(n, n, |i, j| x32[(i, j)] as f64);
        let e32 = expm(x32.as_ref());
        let got = Mat::<f64>::from_fn(n, n, |i, j| e32[(i, j)] as f64);
        let s = Expm::new(x32.as_ref()).params().1 as f64;
        let tol = 2.0 * (3.0 * n as f64 + s) * (f32::EPSILON as f64 / 2.0) * cond_exp(back.as_ref()).max(1.0);
        prop_assert!(rel_err(got.as_ref(), expm(back.as_ref()).as_ref()) <= tol);
    }

    #[test]
    fn frechet_linear_adjoint_and_block((x, e1, e2) in same_size_pair(5, 8.0), a in -2.0..2.0f64, b in -2.0..2.0f64) {
        let f = Expm::new(x.as_ref());
        let tol = tol_exp(x.as_ref());
        let scale = frechet_norm(x.as_ref());
        // Linearity in E.
        let combo = &e1 * faer::Scale(a) + &e2 * faer::Scale(b);
        let lhs = f.frechet(combo.as_ref());
        let rhs = f.frechet(e1.as_ref()) * faer::Scale(a) + f.frechet(e2.as_ref()) * faer::Scale(b);
        prop_assert!((&lhs - &rhs).norm_l2() <= 2.0 * tol * scale * (e1.norm_l2() * a.abs() + e2.norm_l2() * b.abs()));
        // ⟨G, L(X, E)⟩ = ⟨L(Xᵀ, G), E⟩ with G = e2.
        let l = inner(e2.as_ref(), f.frechet(e1.as_ref()).as_ref());
        let r = inner(f.frechet_adjoint(e2.as_ref()).as_ref(), e1.as_ref());
        prop_assert!((l - r).abs() <= 2.0 * tol * scale * e1.norm_l2() * e2.norm_l2());
        // The 2n×2n block construction (its own conditioning enters through the big block).
        let (_, lb) = expm_frechet_block(x.as_ref(), e1.as_ref());
        let n = x.nrows();
        let mut big = Mat::<f64>::zeros(2 * n, 2 * n);
        big.submatrix_mut(0, 0, n, n).copy_from(&x);
        big.submatrix_mut(n, n, n, n).copy_from(&x);
        big.submatrix_mut(0, n, n, n).copy_from(&e1);
        let tol_blk = tol * scale * e1.norm_l2() + tol_exp(big.as_ref()) * expm(big.as_ref()).norm_l2();
        prop_assert!((&f.frechet(e1.as_ref()) - &lb).norm_l2() <= tol_blk);
    }
}
