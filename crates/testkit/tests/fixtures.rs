//! Tests of the fixtures of `expgrad-testkit` (`laplacian`, `markov`, `sparse`, `random`): the
//! storage forms agree, generators and Neumann Laplacians have zero row sums, and seeded draws
//! repeat.
use expgrad_testkit::laplacian::{Boundary, neg_laplacian_1d, neg_laplacian_2d};
use expgrad_testkit::*;
use faer::Mat;

/// The dense matrix of a CSR matrix, by its nonzeros.
fn csr_dense(a: &faer::sparse::SparseRowMat<usize, f64>) -> Mat<f64> {
    let n = a.nrows();
    let mut out = Mat::zeros(n, a.ncols());
    for i in 0..n {
        for (p, &j) in a
            .symbolic()
            .row_range(i)
            .zip(a.symbolic().col_idx_of_row_raw(i))
        {
            out[(i, j)] = a.val()[p];
        }
    }
    out
}

fn row_sums(a: &Mat<f64>) -> Vec<f64> {
    (0..a.nrows())
        .map(|i| (0..a.ncols()).map(|j| a[(i, j)]).sum())
        .collect()
}

fn is_generator(q: &Mat<f64>) -> bool {
    let n = q.nrows();
    (0..n).all(|i| (0..n).all(|j| i == j || q[(i, j)] >= 0.0))
        && row_sums(q).iter().all(|s| s.abs() <= 1e-12)
}

#[test]
fn storage_forms_agree() {
    for t in [
        neg_laplacian_1d(7, Boundary::Dirichlet),
        neg_laplacian_1d(7, Boundary::Neumann),
        neg_laplacian_2d(4, Boundary::Dirichlet),
        neg_laplacian_2d(4, Boundary::Neumann),
    ] {
        let d = t.dense();
        assert_eq!(d, d.transpose().to_owned());
        assert_eq!(csr_dense(&t.csr()), d);
        assert_eq!(csr_dense(&csr(d.as_ref())), d);
        assert_eq!(t.csc().to_dense(), d);
        assert_eq!(csc(d.as_ref()).to_dense(), d);
        assert_eq!(triplets(d.as_ref()).len(), t.entries().len());
    }
    assert_eq!(
        neg_laplacian_2d(3, Boundary::Dirichlet).dense()[(4, 4)],
        -4.0
    );
    assert_eq!(neg_laplacian_2d(3, Boundary::Neumann).dense()[(0, 0)], -2.0);
}

#[test]
fn generators_and_neumann_laplacians_have_zero_row_sums() {
    let mut r = rng(1);
    assert!(is_generator(&markov_dense(&mut r, 20)));
    let q = csr_dense(&markov_csr(&mut r, 20));
    assert!(is_generator(&q));
    assert!((0..20).all(|i| (0..20).filter(|&j| j != i && q[(i, j)] != 0.0).count() == 4));
    assert!(is_generator(&ring_generator(9, 3)));
    let mut a = randn(&mut r, 6, 6);
    into_generator(&mut a);
    assert!(is_generator(&a));
    assert!(is_generator(
        &neg_laplacian_1d(8, Boundary::Neumann).dense()
    ));
    assert!(is_generator(
        &neg_laplacian_2d(5, Boundary::Neumann).dense()
    ));
}

#[test]
fn seeded_draws_repeat() {
    let (mut a, mut b) = (rng(5), rng(5));
    assert_eq!(randn(&mut a, 3, 4), randn(&mut b, 3, 4));
    assert_eq!(rand_mat(9, 2, 3), uniform_mat(9, 2, 3, -1.0..1.0));
    let u = uniform_mat(9, 50, 1, 0.5..2.0);
    assert!(u.col(0).iter().all(|&x| (0.5..2.0).contains(&x)));
    assert_eq!(panic_message(|| panic!("boom {}", 1)), "boom 1");
    assert_eq!(panic_message(|| panic!("boom")), "boom");
}
