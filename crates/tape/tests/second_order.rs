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

/// [`opts`] with the difference step scaled by `1/max(1, ‖xᵢ‖₁)`: the Richardson truncation
/// error of `e^X` along `E` grows like `(h·‖X‖)⁴`, so this keeps it at the level the default
/// tolerance assumes for inputs of norm 1 (exponentials of norm 40 appear below).
fn opts_for(seed: u64, inputs: &[Mat<f64>]) -> GradcheckOptions {
    let norm = inputs
        .iter()
        .map(|x| expgrad_linalg::norm1(x.as_ref()))
        .fold(1.0, f64::max);
    GradcheckOptions {
        step: GradcheckOptions::default().step / norm,
        ..opts(seed)
    }
}

/// `jvpcheck` of `f` and `hvpcheck` of `Σ f∘f` at `SEEDS` seeds, inputs from `make(seed)`.
macro_rules! second_order {
    ($make:expr, |$x:ident| $body:expr) => {{
        let make = $make;
        let (mut worst_fd, mut worst_id, mut worst_hfd, mut worst_sym) = (0.0f64, 0.0f64, 0.0f64, 0.0f64);
        for seed in 0..SEEDS {
            let inputs: Vec<Mat<f64>> = make(seed);
            let o = opts_for(seed, &inputs);
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

/// `n×n` input with ‖X‖₁ ≈ `norm` (seeded).
fn scaled(seed: u64, n: usize, norm: f64) -> Mat<f64> {
    let a = uniform_mat(seed, n, n, -1.0..1.0);
    let nrm = expgrad_linalg::norm1(a.as_ref()).max(1e-300);
    &a * faer::Scale(norm / nrm)
}

/// Norms that walk the Taylor schemes and squarings (small path n ≤ 12 and general path).
const NORMS: [f64; 6] = [1e-3, 0.1, 0.9, 2.5, 8.0, 40.0];

#[test]
fn expm_and_expm_mul() {
    let x_only = |s: u64| {
        let n = [1usize, 2, 3, 5, 8][(s % 5) as usize];
        vec![scaled(s, n, NORMS[(s / 5 % 6) as usize])]
    };
    second_order!(x_only, |x| x[0].expm());
    second_order!(x_only, |x| x[0].expm().matmul(x[0]));
    let with_v = |s: u64| {
        let n = [1usize, 2, 3, 5, 8][(s % 5) as usize];
        vec![
            scaled(s, n, NORMS[(s / 5 % 6) as usize]),
            uniform_mat(s + 3, n, 1 + (s % 3) as usize, -1.0..1.0),
        ]
    };
    second_order!(with_v, |x| x[0].expm_mul(x[1]));
    second_order!(with_v, |x| x[0].expm().matmul(x[1]));
}

#[test]
fn expm_general_path_and_triangular() {
    // n > 12 (the general Taylor path) and upper triangular input (Padé with exact diagonals).
    let general = |s: u64| vec![scaled(s, 14, NORMS[(s % 6) as usize])];
    let triangular = |s: u64| {
        let mut a = scaled(s, 4, NORMS[(s % 6) as usize]);
        for j in 0..4 {
            for i in j + 1..4 {
                a[(i, j)] = 0.0;
            }
        }
        vec![a]
    };
    for seed in 0..60 {
        for inputs in [general(seed), triangular(seed)] {
            let o = opts_for(seed, &inputs);
            let j = jvpcheck_with(|x: &[Var]| x[0].expm(), &inputs, &o);
            assert!(j.passed, "seed {seed}: {j}");
            let h = hvpcheck_with(|x: &[Var]| x[0].expm().square().sum(), &inputs, &o);
            assert!(h.passed, "seed {seed}: {h}");
        }
    }
}

#[test]
fn batches_chain_and_times() {
    let blocks = |s: u64| {
        let n = [1usize, 2, 3][(s % 3) as usize];
        let k = 1 + (s % 4) as usize;
        let mut x = Mat::zeros(n, n * k);
        for b in 0..k {
            x.as_mut().submatrix_mut(0, b * n, n, n).copy_from(scaled(
                s * 7 + b as u64,
                n,
                NORMS[((s + b as u64) % 6) as usize],
            ));
        }
        let v = uniform_mat(s + 11, n, 2 * k, -1.0..1.0);
        vec![x, v]
    };
    second_order!(blocks, |x| x[0].expm_batch());
    second_order!(blocks, |x| x[0].expm_batch_mul(x[1]));
    second_order!(blocks, |x| x[0].expm_chain());
    let times = |s: u64| {
        let n = [2usize, 3, 4][(s % 3) as usize];
        let b = 1 + (s % 3) as usize;
        vec![
            scaled(s, n, [0.3, 1.5, 6.0][(s / 3 % 3) as usize]),
            uniform_mat(s + 5, b, 1, -2.0..2.0),
            uniform_mat(s + 9, n, 2 * b, -1.0..1.0),
        ]
    };
    second_order!(times, |x| x[0].expm_times(x[1]));
    second_order!(times, |x| x[0].expm_times_mul(x[1], x[2]));
}

#[test]
fn complex_expm_chain_and_mul() {
    let cm = |s: u64, n: usize, norm: f64| -> Mat<c64> {
        let re = scaled(s, n, norm);
        let im = scaled(s + 77, n, norm);
        Mat::from_fn(n, n, |i, j| c64::new(re[(i, j)], im[(i, j)]))
    };
    for seed in 0..SEEDS / 4 {
        let n = [1usize, 2, 3, 5][(seed % 4) as usize];
        let norm = NORMS[(seed / 4 % 6) as usize];
        let x = cm(seed, n, norm);
        let v = Mat::from_fn(n, 2, |i, j| c64::new(i as f64 - 0.5, 0.3 * j as f64));
        let mut chain = Mat::zeros(n, 2 * n);
        chain.as_mut().submatrix_mut(0, 0, n, n).copy_from(&x);
        chain
            .as_mut()
            .submatrix_mut(0, n, n, n)
            .copy_from(cm(seed + 1, n, norm));
        let o = opts(seed);
        for (inputs, which) in [(vec![x.clone(), v.clone()], 0), (vec![chain], 1)] {
            let j = match which {
                0 => jvpcheck_with(|a: &[Var<c64>]| a[0].expm_mul(a[1]), &inputs, &o),
                _ => jvpcheck_with(|a: &[Var<c64>]| a[0].expm_chain(), &inputs, &o),
            };
            assert!(j.passed, "seed {seed}: {j}");
            let h = match which {
                0 => hvpcheck_with(
                    |a: &[Var<c64>]| a[0].expm_mul(a[1]).abs2().sum(),
                    &inputs,
                    &o,
                ),
                _ => hvpcheck_with(|a: &[Var<c64>]| a[0].expm_chain().abs2().sum(), &inputs, &o),
            };
            assert!(h.passed, "seed {seed}: {h}");
        }
    }
}

/// The HVP through `expm` against the 4n×4n block: for `ℓ = ⟨C, e^X⟩`,
/// `∇²ℓ·U = L⁽²⁾(Xᵀ; C, Uᵀ)` by the block construction of Higham & Relton (2014).
#[test]
fn hvp_of_expm_matches_the_block_reference() {
    for seed in 0..40u64 {
        let n = [2usize, 3, 6, 13][(seed % 4) as usize];
        let x0 = scaled(seed, n, NORMS[(seed / 4 % 6) as usize]);
        let c = uniform_mat(seed + 1, n, n, -1.0..1.0);
        let u = uniform_mat(seed + 2, n, n, -1.0..1.0);
        let tape = Tape::new();
        let x = tape.var(x0.clone());
        let loss = x.expm().dot(tape.constant(c.clone()));
        let (_, h) = loss.hvp(&[(x, u.clone())]);
        let got = h.wrt(x);
        let xt = x0.transpose().to_owned();
        let ut = u.transpose().to_owned();
        let want = expgrad_linalg::expm_frechet2_block(xt.as_ref(), c.as_ref(), ut.as_ref());
        let scale = want.norm_max().max(1.0);
        let err = (&got - &want).norm_max() / scale;
        // κ-based: the block's own error grows with ‖[X, C, U]‖ through its scaling.
        let kappa = (1.0 + expgrad_linalg::norm1(x0.as_ref())).powi(2);
        assert!(
            err <= 1e-13 * kappa * n as f64,
            "seed {seed}, n {n}: {err:e}"
        );
    }
}
