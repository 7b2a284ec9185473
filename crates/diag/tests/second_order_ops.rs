//! Forward mode and second order of `diag_mul`, `mul_diag`, `diag_mul_diag`, `diag`,
//! `diag_part` and `diag_mul_batch` through the public `Op` trait: at 1000 random seeds,
//! `jvpcheck` (JVP vs central differences and vs the VJP by the dot-product identity) and
//! `hvpcheck` of `Σ f∘f` (HVP vs central differences of gradients, Hessian symmetry).
#![allow(clippy::cloned_ref_to_slice_refs)] // `&[x.clone()]` reads better in checks
use expgrad_diag::*;
use expgrad_tape::{GradcheckOptions, Var, hvpcheck_with, jvpcheck_with};
use expgrad_testkit::rand_mat;
use faer::Mat;

const SEEDS: u64 = 1000;

macro_rules! check {
    ($inputs:expr, $seed:expr, |$x:ident| $body:expr) => {{
        let inputs: &[Mat<f64>] = $inputs;
        let o = GradcheckOptions {
            seed: $seed,
            ..GradcheckOptions::default()
        };
        let j = jvpcheck_with(|$x: &[Var]| $body, inputs, &o);
        assert!(j.passed, "seed {}: {}: {j}", $seed, stringify!($body));
        let h = hvpcheck_with(
            |$x: &[Var]| {
                let y = $body;
                y.mul(y).sum()
            },
            inputs,
            &o,
        );
        assert!(h.passed, "seed {}: {}: {h}", $seed, stringify!($body));
    }};
}

#[test]
fn diagonal_scalings_at_many_seeds() {
    for seed in 0..SEEDS {
        let (n, m) = [(1usize, 1usize), (4, 1), (3, 5), (5, 3), (4, 4)][(seed % 5) as usize];
        let s = seed * 7;
        let (d, a, r) = (
            rand_mat(s, n, 1),
            rand_mat(s + 1, n, m),
            rand_mat(s + 2, m, 1),
        );
        check!(&[d.clone(), a.clone()], seed, |x| diag_mul(x[0], x[1]));
        check!(&[a.clone(), r.clone()], seed, |x| mul_diag(x[0], x[1]));
        check!(&[d.clone(), a.clone(), r.clone()], seed, |x| diag_mul_diag(
            x[0], x[1], x[2]
        ));
        check!(&[d.clone()], seed, |x| diag_mul(x[0], diag(x[0])));
        check!(&[a.clone()], seed, |x| diag_part(
            x[0].matmul(x[0].transpose())
        ));
        let db: Mat<f64> = rand_mat(s + 3, n, 2);
        let ab: Mat<f64> = rand_mat(s + 4, n, 2 * m);
        let batch = [db, ab];
        check!(&batch, seed, |x| diag_mul_batch(x[0], x[1]));
    }
}
