//! Both families of approximants (Padé, optimised Taylor) against closed forms on non-normal
//! matrices from mild to extreme non-normality, where the rounding in evaluating the
//! approximant at a large ‖A‖ with small ‖A^k‖^{1/k} is the risk (Al-Mohy & Higham 2009, §5),
//! and the choice the default makes.
mod common;
use common::*;
use expgrad_linalg::*;

#[test]
fn non_normal_matrices_are_accurate_in_both_families() {
    let mut worst = [0.0f64; 2];
    for (case, &nonnormal) in [0.5, 10.0, 1e2, 1e3, 1e4].iter().enumerate() {
        for (k, &t) in [0.05, 0.5, 2.0, 8.0, 32.0].iter().enumerate() {
            let mut r = rng(700 + 10 * case as u64 + k as u64);
            let n = 8 + 4 * (k % 2);
            let (x, exp_at) = similar_blocks(&mut r, n, t, nonnormal);
            let want = exp_at(1.0);
            let tol = tol_exp(x.as_ref());
            for (i, family) in FAMILIES.into_iter().enumerate() {
                let f = Expm::try_new_with(x.as_ref(), family).unwrap();
                let err = rel_err(f.value(), want.as_ref());
                worst[i] = worst[i].max(err / tol);
                assert!(
                    err <= tol,
                    "{family:?} nonnormal={nonnormal:e} t={t} n={n} (m, s)={:?}: {err:.2e} > {tol:.2e}",
                    f.params()
                );
            }
        }
    }
    eprintln!(
        "worst error / tolerance: Padé {:.2e}, Taylor {:.2e}",
        worst[0], worst[1]
    );
}

#[test]
fn the_default_is_taylor_for_dense_and_pade_for_triangular() {
    let dense = faer::mat![[0.1, 2.0, 0.0], [-0.5, 0.3, 1.0], [0.2, 0.0, -0.4f64]];
    assert_eq!(Expm::new(dense.as_ref()).approximant(), "taylor");
    let upper = faer::mat![[0.1, 2.0, 5.0], [0.0, 0.3, 1.0], [0.0, 0.0, -0.4f64]];
    assert_eq!(Expm::new(upper.as_ref()).approximant(), "pade");
    assert_eq!(Expm::new(upper.transpose()).approximant(), "pade");
    let diag = faer::mat![[0.1, 0.0], [0.0, -3.0f64]];
    assert_eq!(Expm::new(diag.as_ref()).approximant(), "diagonal");
}
