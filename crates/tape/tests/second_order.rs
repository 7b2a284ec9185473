//! Forward mode and second order of every op: at many random seeds (inputs, tangents and
//! cotangents all drawn afresh), the tape's JVP against central differences and against the
//! tape's VJP by the dot-product identity `⟨c, J t⟩ = ⟨Jᴴ c, t⟩` (`jvpcheck`, the failure
//! mode of Julia's ChainRules `frule` for `exp!`), and the Hessian-vector product of
//! `ℓ = Σ f(x)∘f(x)` against central differences of the gradient plus the symmetry
//! `⟨w, H u⟩ = ⟨H w, u⟩` (`hvpcheck`). Complex scalars go through the same checks with
//! `ℓ = Σ |f(x)|²`.
#![allow(clippy::cloned_ref_to_slice_refs)]
use expgrad_tape::{GradcheckOptions, Tape, Var, hvpcheck_with, jvpcheck_with};
use expgrad_testkit::uniform_mat;
use faer::{Mat, c64};

/// Seeds per op (each seed draws new inputs and directions).
const SEEDS: u64 = 1000;

fn opts(seed: u64) -> GradcheckOptions {
    GradcheckOptions {
        seed,
        ..GradcheckOptions::default()
    }
}

/// `jvpcheck` of `f` and `hvpcheck` of `Σ f∘f` at `SEEDS` seeds, inputs from `make(seed)`.
macro_rules! second_order {
    ($make:expr, |$x:ident| $body:expr) => {{
        let make = $make;
        let (mut worst_fd, mut worst_id, mut worst_hfd, mut worst_sym) = (0.0f64, 0.0f64, 0.0f64, 0.0f64);
        for seed in 0..SEEDS {
            let inputs: Vec<Mat<f64>> = make(seed);
            let o = opts(seed);
            let j = jvpcheck_with(|$x: &[Var]| $body, &inputs, &o);
            assert!(j.passed, "seed {seed}: {}: {j}", stringify!($body));
            let h = hvpcheck_with(|$x: &[Var]| { let y = $body; y.mul(y).sum() }, &inputs, &o);
            assert!(h.passed, "seed {seed}: {}: {h}", stringify!($body));
            worst_fd = worst_fd.max(j.fd_rel_err);
            worst_id = worst_id.max(j.identity_rel_err);
            worst_hfd = worst_hfd.max(h.fd_rel_err);
            worst_sym = worst_sym.max(h.symmetry_rel_err);
        }
        eprintln!(
            "{:<60} jvp fd {worst_fd:.1e} identity {worst_id:.1e} | hvp fd {worst_hfd:.1e} symmetry {worst_sym:.1e}",
            stringify!($body)
        );
    }};
}

/// Shape of seed `s`: cycles through 1×1, n×1, non-square and square.
fn shape(s: u64) -> (usize, usize) {
    [(1, 1), (4, 1), (3, 5), (4, 4), (2, 3)][(s % 5) as usize]
}

fn one(s: u64) -> Vec<Mat<f64>> {
    let (r, c) = shape(s);
    vec![uniform_mat(s, r, c, -1.5..1.5)]
}

fn two(s: u64) -> Vec<Mat<f64>> {
    let (r, c) = shape(s);
    vec![
        uniform_mat(s, r, c, -1.5..1.5),
        uniform_mat(s + 10_000, r, c, 0.5..2.0),
    ]
}

fn positive(s: u64) -> Vec<Mat<f64>> {
    let (r, c) = shape(s);
    vec![uniform_mat(s, r, c, 0.3..3.0)]
}

#[test]
fn linear_ops() {
    second_order!(two, |x| x[0].add(x[1]));
    second_order!(two, |x| x[0].sub(x[1]));
    second_order!(one, |x| x[0].neg());
    second_order!(one, |x| x[0].scale(-2.5));
    second_order!(one, |x| x[0].transpose());
    second_order!(one, |x| x[0].sum());
    second_order!(one, |x| x[0].vec());
    second_order!(one, |x| {
        let (r, c) = x[0].shape();
        x[0].sum().broadcast(r, c)
    });
    second_order!(one, |x| {
        let (r, c) = x[0].shape();
        x[0].reshape(c, r)
    });
    second_order!(one, |x| x[0].col(0));
    second_order!(one, |x| x[0].entry(0, 0));
}

#[test]
fn nonlinear_elementwise_ops() {
    second_order!(one, |x| x[0].exp());
    second_order!(positive, |x| x[0].log());
    second_order!(one, |x| x[0].square());
    second_order!(two, |x| x[0].mul(x[1]));
    second_order!(two, |x| x[0].div(x[1]));
    second_order!(two, |x| x[1].div(x[0].mul(x[0]).add(x[1])));
    second_order!(two, |x| x[0].dot(x[1]));
    second_order!(one, |x| x[0].mul(x[0]).exp());
}

#[test]
fn products_and_scalings() {
    let mm = |s: u64| {
        let (m, k, n) = [(1, 1, 1), (4, 1, 3), (1, 4, 1), (3, 5, 2), (4, 4, 4)][(s % 5) as usize];
        vec![
            uniform_mat(s, m, k, -1.0..1.0),
            uniform_mat(s + 7, k, n, -1.0..1.0),
        ]
    };
    second_order!(mm, |x| x[0].matmul(x[1]));
    let sq = |s: u64| vec![uniform_mat(s, 4, 4, -1.0..1.0)];
    second_order!(sq, |x| x[0].matmul(x[0]).trace());
    second_order!(sq, |x| x[0].matmul(x[0].transpose()));
    let scaled = |s: u64| {
        let (r, c) = shape(s);
        vec![
            uniform_mat(s, r, c, -1.0..1.0),
            uniform_mat(s + 3, 1, 1, -2.0..2.0),
        ]
    };
    second_order!(scaled, |x| x[0].scale(x[1]));
    second_order!(scaled, |x| x[0].scale(x[1]).scale(x[1]));
}

#[test]
fn complex_elementwise_and_products() {
    let make = |s: u64, r: usize, c: usize| -> Mat<c64> {
        let re = uniform_mat(s, r, c, -1.0..1.0);
        let im = uniform_mat(s + 50_000, r, c, -1.0..1.0);
        Mat::from_fn(r, c, |i, j| c64::new(re[(i, j)], im[(i, j)]))
    };
    for seed in 0..SEEDS / 4 {
        let (r, c) = shape(seed);
        let a = make(seed, r, c);
        let b = make(seed + 1, r, c) + Mat::from_fn(r, c, |_, _| c64::new(2.5, 0.0));
        let sq = make(seed + 2, 3, 3);
        let o = opts(seed);
        macro_rules! check {
            ($inputs:expr, |$x:ident| $body:expr) => {{
                let j = jvpcheck_with(|$x: &[Var<c64>]| $body, $inputs, &o);
                assert!(j.passed, "seed {seed}: {}: {j}", stringify!($body));
                let h = hvpcheck_with(|$x: &[Var<c64>]| $body.abs2().sum(), $inputs, &o);
                assert!(h.passed, "seed {seed}: {}: {h}", stringify!($body));
            }};
        }
        let ab = [a.clone(), b.clone()];
        check!(&ab, |x| x[0].mul(x[1]));
        check!(&ab, |x| x[0].div(x[1]));
        check!(&ab, |x| x[0].dot(x[1]));
        check!(&ab, |x| x[0].exp().add(x[1].square()));
        check!(&ab, |x| x[0].conj().mul(x[1]).real());
        check!(&ab, |x| x[0].imag().add(x[1].abs2()));
        check!(&[sq.clone()], |x| x[0].conj_transpose().matmul(x[0]));
        check!(&[a.clone()], |x| x[0]
            .scale(c64::new(0.3, -1.2))
            .transpose());
    }
}

#[test]
fn lincomb_affine_in_the_weights() {
    use std::sync::Arc;
    let mats: Arc<[Mat<f64>]> = (0..3)
        .map(|k| uniform_mat(900 + k, 3, 3, -1.0..1.0))
        .collect();
    let offset = Arc::new(uniform_mat(950, 3, 3, -1.0..1.0));
    let make = |s: u64| vec![uniform_mat(s, 3, 2, -1.0..1.0)];
    second_order!(make, |x| x[0].lincomb_offset(&offset, &mats));
    second_order!(make, |x| x[0].lincomb(&mats).square());
}

#[test]
fn hessian_is_symmetric_and_matches_hvps() {
    let x0 = uniform_mat(5, 3, 2, -1.0..1.0);
    let tape = Tape::new();
    let x = tape.var(x0.clone());
    let loss = x
        .exp()
        .mul(x.transpose().matmul(x).sum().broadcast(3, 2))
        .sum();
    let h = loss.hessian(x);
    assert_eq!(h.shape(), (6, 6));
    for i in 0..6 {
        for j in 0..6 {
            let s = h[(i, j)].abs().max(h[(j, i)].abs()).max(1.0);
            assert!((h[(i, j)] - h[(j, i)]).abs() <= 1e-13 * s, "H[{i},{j}]");
        }
    }
    // Column j is the HVP along e_j.
    let u = uniform_mat(6, 3, 2, -1.0..1.0);
    let (_, hu) = loss.hvp(&[(x, u.clone())]);
    let hu = hu.wrt(x);
    for p in 0..6 {
        let mut s = 0.0;
        for q in 0..6 {
            s += h[(p, q)] * u[(q % 3, q / 3)];
        }
        assert!((s - hu[(p % 3, p / 3)]).abs() < 1e-12 * (1.0 + s.abs()));
    }
}
