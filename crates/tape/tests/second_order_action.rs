//! Forward mode and second order of the action `W = exp(t·X)·V` (`ExpmMultiply` over the
//! dense and the sparse-lincomb operands, f64 and c64): at 200+ seeds each, `jvpcheck`
//! (JVP against central differences and against the VJP by the dot-product identity, to
//! rounding) and `hvpcheck` of `Σ W∘W` (`Σ |W|²` over ℂ: HVP against central differences of
//! the tape's gradient, and the symmetry of the Hessian, to rounding). `n ≤ 8`, `V` with 1–3
//! columns, `t ∈ (−2, 2)`, `‖tX‖` spanning plans with `s > 1`. Then the JVP against the dense
//! Fréchet route `L(tX, ṫX + tẊ)·V + e^{tX}·V̇`, n up to 50.
#![allow(clippy::cloned_ref_to_slice_refs)]
use expgrad_linalg::{Expm, ExpmAction, ExpmActionOptions};
use expgrad_tape::ops::{ActionOperand, SparseLincomb, SparseLincombOperand};
use expgrad_tape::{GradcheckOptions, Tape, Var, hvpcheck_with, jvpcheck_with};
use expgrad_testkit::{crandn, rng, uniform_mat};
use faer::sparse::{SparseRowMat, Triplet};
use faer::{Mat, c64};
use std::sync::Arc;

/// Seeds per operand and scalar type.
const SEEDS: u64 = 240;

/// The default options (identity tolerance 1e-11) with a finite-difference step shrunk for
/// large `‖X‖` (the step is relative to `max|x|`, and `e^{tX}` varies on the scale `1/‖t‖`).
fn opts(seed: u64, scale: f64) -> GradcheckOptions {
    GradcheckOptions {
        seed,
        step: 1e-3 / scale.max(1.0),
        ..GradcheckOptions::default()
    }
}

/// `(n, k, scale of X, t)` of seed `s`: n ≤ 8, k ∈ 1..=3, t ∈ (−2, 2), and scales from
/// 0.05 to 4 so that `‖tX‖₁` spans 0.01 … 60 (s = 1 … 6).
fn problem(s: u64) -> (usize, usize, f64, f64) {
    let n = 1 + (s % 8) as usize;
    let k = 1 + (s % 3) as usize;
    let scale = [0.05, 0.5, 1.0, 2.0, 4.0, 6.0][(s / 3 % 6) as usize];
    let t = uniform_mat(s + 77_000, 1, 1, -2.0..2.0)[(0, 0)];
    (n, k, scale, t)
}

/// The plan `(m, s)` the action takes at these inputs (to check that `s > 1` occurs).
fn plan_of<T: expgrad_tape::Scalar, Op: expgrad_linalg::GradLinOp<T>>(
    x: Op,
    v: &Mat<T>,
    t: T,
) -> (usize, usize) {
    ExpmAction::new(x, t, v.as_ref(), ExpmActionOptions::default()).params()
}

/// The worst errors over the seeds, printed at the end of each test.
#[derive(Default)]
struct Worst {
    fd: f64,
    id: f64,
    hfd: f64,
    sym: f64,
    max_s: usize,
}

impl Worst {
    fn report(&self, name: &str) {
        eprintln!(
            "{name:<28} jvp fd {:.1e} identity {:.1e} | hvp fd {:.1e} symmetry {:.1e} | max s {}",
            self.fd, self.id, self.hfd, self.sym, self.max_s
        );
    }
}

#[test]
fn dense_f64() {
    let mut w = Worst::default();
    for seed in 0..SEEDS {
        let (n, k, scale, t) = problem(seed);
        let x = uniform_mat(seed, n, n, -scale..scale);
        let v = uniform_mat(seed + 1000, n, k, -1.0..1.0);
        w.max_s = w.max_s.max(plan_of(x.clone(), &v, t).1);
        let tm = Mat::from_fn(1, 1, |_, _| t);
        let inputs = [x, v, tm];
        let o = opts(seed, scale);
        let j = jvpcheck_with(|a: &[Var<f64>]| a[0].expm_multiply(a[1], a[2]), &inputs, &o);
        assert!(
            j.passed,
            "seed {seed} (n {n}, k {k}, scale {scale}, t {t}): {j}"
        );
        let h = hvpcheck_with(
            |a: &[Var<f64>]| a[0].expm_multiply(a[1], a[2]).square().sum(),
            &inputs,
            &o,
        );
        assert!(
            h.passed,
            "seed {seed} (n {n}, k {k}, scale {scale}, t {t}): {h}"
        );
        w.fd = w.fd.max(j.fd_rel_err);
        w.id = w.id.max(j.identity_rel_err);
        w.hfd = w.hfd.max(h.fd_rel_err);
        w.sym = w.sym.max(h.symmetry_rel_err);
    }
    w.report("dense f64");
    assert!(w.max_s > 1, "no seed took more than one step");
}

fn cmat(seed: u64, r: usize, c: usize, scale: f64) -> Mat<c64> {
    crandn(&mut rng(seed), r, c) * faer::Scale(c64::new(scale, 0.0))
}

#[test]
fn dense_c64() {
    let mut w = Worst::default();
    for seed in 0..SEEDS {
        let (n, k, scale, t) = problem(seed);
        let x = cmat(seed, n, n, scale * 0.6);
        let v = cmat(seed + 1000, n, k, 1.0);
        // Complex t: a real part in (−2, 2) and an imaginary part (propagator-like).
        let tm = Mat::from_fn(1, 1, |_, _| c64::new(t, 0.5 - (seed % 3) as f64 * 0.5));
        w.max_s = w.max_s.max(plan_of(x.clone(), &v, tm[(0, 0)]).1);
        let inputs = [x, v, tm];
        let o = opts(seed, scale);
        let j = jvpcheck_with(|a: &[Var<c64>]| a[0].expm_multiply(a[1], a[2]), &inputs, &o);
        assert!(
            j.passed,
            "seed {seed} (n {n}, k {k}, scale {scale}, t {t}): {j}"
        );
        let h = hvpcheck_with(
            |a: &[Var<c64>]| a[0].expm_multiply(a[1], a[2]).abs2().sum(),
            &inputs,
            &o,
        );
        assert!(
            h.passed,
            "seed {seed} (n {n}, k {k}, scale {scale}, t {t}): {h}"
        );
        w.fd = w.fd.max(j.fd_rel_err);
        w.id = w.id.max(j.identity_rel_err);
        w.hfd = w.hfd.max(h.fd_rel_err);
        w.sym = w.sym.max(h.symmetry_rel_err);
    }
    w.report("dense c64");
    assert!(w.max_s > 1, "no seed took more than one step");
}

/// A sparse lincomb `A₀ + u₁A₁ + u₂A₂` of n×n matrices with different patterns (band, corner,
/// diagonal), values from `val(seed, i, j)`.
fn lincomb<T: expgrad_tape::Scalar>(
    n: usize,
    seed: u64,
    val: &dyn Fn(u64, usize, usize) -> T,
) -> Arc<SparseLincomb<T>> {
    let make = |s: u64, pick: &dyn Fn(usize, usize) -> bool| {
        let trip: Vec<Triplet<usize, usize, T>> = (0..n)
            .flat_map(|i| (0..n).map(move |j| (i, j)))
            .filter(|&(i, j)| pick(i, j))
            .map(|(i, j)| Triplet::new(i, j, val(s, i, j)))
            .collect();
        SparseRowMat::<usize, T>::try_new_from_triplets(n, n, &trip).unwrap()
    };
    let a0 = make(seed, &|i, j| i.abs_diff(j) <= 1);
    let a1 = make(seed + 1, &|i, j| {
        (i, j) == (0, n - 1) || (i, j) == (n - 1, 0) || i == j
    });
    let a2 = make(seed + 2, &|i, j| i == j || j == (i + 2) % n);
    Arc::new(SparseLincomb::try_new(a0.as_ref(), &[a1.as_ref(), a2.as_ref()]).unwrap())
}

#[test]
fn sparse_lincomb_f64() {
    let mut w = Worst::default();
    for seed in 0..SEEDS {
        let (n, k, scale, t) = problem(seed);
        let n = n.max(2);
        let vals = |s: u64, i: usize, j: usize| uniform_mat(s, n, n, -scale..scale)[(i, j)];
        let comb = lincomb(n, seed * 10, &vals);
        let u = uniform_mat(seed + 3000, 2, 1, -1.5..1.5);
        let v = uniform_mat(seed + 1000, n, k, -1.0..1.0);
        let tm = Mat::from_fn(1, 1, |_, _| t);
        let op = SparseLincombOperand(comb.clone())
            .build(u.as_ref())
            .unwrap();
        w.max_s = w.max_s.max(plan_of(op, &v, t).1);
        let inputs = [u, v, tm];
        let o = opts(seed, scale);
        let j = jvpcheck_with(
            |a: &[Var<f64>]| a[0].expm_multiply_lincomb(&comb, a[1], a[2]),
            &inputs,
            &o,
        );
        assert!(
            j.passed,
            "seed {seed} (n {n}, k {k}, scale {scale}, t {t}): {j}"
        );
        let h = hvpcheck_with(
            |a: &[Var<f64>]| a[0].expm_multiply_lincomb(&comb, a[1], a[2]).square().sum(),
            &inputs,
            &o,
        );
        assert!(
            h.passed,
            "seed {seed} (n {n}, k {k}, scale {scale}, t {t}): {h}"
        );
        w.fd = w.fd.max(j.fd_rel_err);
        w.id = w.id.max(j.identity_rel_err);
        w.hfd = w.hfd.max(h.fd_rel_err);
        w.sym = w.sym.max(h.symmetry_rel_err);
    }
    w.report("sparse lincomb f64");
    assert!(w.max_s > 1, "no seed took more than one step");
}

#[test]
fn sparse_lincomb_c64() {
    let mut w = Worst::default();
    for seed in 0..SEEDS {
        let (n, k, scale, t) = problem(seed);
        let n = n.max(2);
        let vals = |s: u64, i: usize, j: usize| cmat(s, n, n, scale * 0.6)[(i, j)];
        let comb = lincomb(n, seed * 10, &vals);
        let u = cmat(seed + 3000, 2, 1, 1.0);
        let v = cmat(seed + 1000, n, k, 1.0);
        let tm = Mat::from_fn(1, 1, |_, _| c64::new(t, -0.7));
        let op = SparseLincombOperand(comb.clone())
            .build(u.as_ref())
            .unwrap();
        w.max_s = w.max_s.max(plan_of(op, &v, tm[(0, 0)]).1);
        let inputs = [u, v, tm];
        let o = opts(seed, scale);
        let j = jvpcheck_with(
            |a: &[Var<c64>]| a[0].expm_multiply_lincomb(&comb, a[1], a[2]),
            &inputs,
            &o,
        );
        assert!(
            j.passed,
            "seed {seed} (n {n}, k {k}, scale {scale}, t {t}): {j}"
        );
        let h = hvpcheck_with(
            |a: &[Var<c64>]| a[0].expm_multiply_lincomb(&comb, a[1], a[2]).abs2().sum(),
            &inputs,
            &o,
        );
        assert!(
            h.passed,
            "seed {seed} (n {n}, k {k}, scale {scale}, t {t}): {h}"
        );
        w.fd = w.fd.max(j.fd_rel_err);
        w.id = w.id.max(j.identity_rel_err);
        w.hfd = w.hfd.max(h.fd_rel_err);
        w.sym = w.sym.max(h.symmetry_rel_err);
    }
    w.report("sparse lincomb c64");
    assert!(w.max_s > 1, "no seed took more than one step");
}

/// `Ẇ = L(tX, ṫX + tẊ)·V + e^{tX}·V̇` by the dense Fréchet derivative, n up to 50, against the
/// action's JVP, to the action's tolerance (scaled by `‖e^{tX}‖` and the condition).
#[test]
fn jvp_matches_dense_frechet() {
    let mut worst = 0.0f64;
    for (case, &n) in [2usize, 5, 8, 13, 21, 34, 50].iter().enumerate() {
        for rep in 0..4u64 {
            let seed = 500 + 10 * case as u64 + rep;
            let k = 1 + (rep % 3) as usize;
            let scale = [0.3, 1.0, 2.0, 3.0][rep as usize] / (n as f64).sqrt();
            let x = uniform_mat(seed, n, n, -scale..scale);
            let v = uniform_mat(seed + 1, n, k, -1.0..1.0);
            let xd = uniform_mat(seed + 2, n, n, -1.0..1.0);
            let vd = uniform_mat(seed + 3, n, k, -1.0..1.0);
            let t = [-1.7, 0.6, 1.9, -0.4][rep as usize];
            let td = 0.8;
            let tape = Tape::new();
            let (xv, vv, tv) = (
                tape.var(x.clone()),
                tape.var(v.clone()),
                tape.var(Mat::from_fn(1, 1, |_, _| t)),
            );
            let w = xv.expm_multiply(vv, tv);
            let wd = w.jvp(&[
                (xv, xd.clone()),
                (vv, vd.clone()),
                (tv, Mat::from_fn(1, 1, |_, _| td)),
            ]);
            let tx = &x * faer::Scale(t);
            let e = &x * faer::Scale(td) + &xd * faer::Scale(t);
            let f = Expm::new(tx.as_ref());
            let want = f.frechet(e.as_ref()) * &v + f.value() * &vd;
            let scale_ref =
                f.value().norm_max() * (1.0 + e.norm_l1() * 1.0) * v.norm_max().max(vd.norm_max());
            let err = (&wd - &want).norm_max() / scale_ref;
            worst = worst.max(err);
            assert!(err < 1e-12, "n {n} rep {rep}: {err:.2e}");
        }
    }
    eprintln!("JVP vs dense Fréchet: worst {worst:.1e} (relative to ‖e^(tX)‖·(1+‖E‖₁)·‖V‖)");
}

/// The gradient of `ℓ = Σ W∘W` by the dense route `W = e^{t·X}·V` (`x.scale(t).expm()
/// .matmul(v)`), as one matrix per input.
fn dense_route_grad(xs: &[Mat<f64>]) -> Vec<Mat<f64>> {
    let tape = Tape::new();
    let vars: Vec<Var<'_, f64>> = xs.iter().map(|x| tape.var(x.clone())).collect();
    let w = vars[0].scale(vars[2]).expm().matmul(vars[1]);
    let g = w.square().sum().backward();
    vars.iter().map(|v| g.wrt(*v)).collect()
}

/// The HVP of `ℓ = Σ W∘W` through the action against Richardson central differences of the
/// DENSE route's gradient (expm has no second-order rule on this branch), n up to 20: the
/// two routes agree to the difference's own error, estimated from two step sizes.
#[test]
fn hvp_matches_dense_route() {
    let mut worst = 0.0f64;
    for (case, &n) in [2usize, 4, 7, 12, 20].iter().enumerate() {
        for rep in 0..3u64 {
            let seed = 900 + 10 * case as u64 + rep;
            let k = 1 + (rep % 3) as usize;
            let scale = [0.5, 1.5, 3.0][rep as usize] / (n as f64).sqrt();
            let t = [-1.3, 0.7, 1.8][rep as usize];
            let inputs = [
                uniform_mat(seed, n, n, -scale..scale),
                uniform_mat(seed + 1, n, k, -1.0..1.0),
                Mat::from_fn(1, 1, |_, _| t),
            ];
            let dir = [
                uniform_mat(seed + 2, n, n, -1.0..1.0),
                uniform_mat(seed + 3, n, k, -1.0..1.0),
                Mat::from_fn(1, 1, |_, _| 0.5),
            ];
            let tape = Tape::new();
            let vars: Vec<Var<'_, f64>> = inputs.iter().map(|x| tape.var(x.clone())).collect();
            let loss = vars[0].expm_multiply(vars[1], vars[2]).square().sum();
            let seeds: Vec<_> = vars.iter().copied().zip(dir.iter().cloned()).collect();
            let (_, h) = loss.hvp(&seeds);
            let shifted = |eps: f64| -> Vec<Mat<f64>> {
                let xs: Vec<Mat<f64>> = inputs
                    .iter()
                    .zip(&dir)
                    .map(|(x, d)| x + d * faer::Scale(eps))
                    .collect();
                dense_route_grad(&xs)
            };
            let diff = |h: f64| -> Vec<Mat<f64>> {
                shifted(h)
                    .into_iter()
                    .zip(shifted(-h))
                    .map(|(a, b)| (a - b) * faer::Scale(0.5 / h))
                    .collect()
            };
            let rich = |h: f64| -> Vec<Mat<f64>> {
                diff(h / 2.0)
                    .into_iter()
                    .zip(diff(h))
                    .map(|(a, b)| (a * faer::Scale(4.0) - b) * faer::Scale(1.0 / 3.0))
                    .collect()
            };
            let (fd1, fd2) = (rich(2e-3), rich(1e-3));
            for (i, v) in vars.iter().enumerate() {
                let hv = h.wrt(*v);
                let size = fd2[i].norm_max().max(1.0);
                let err = (&hv - &fd2[i]).norm_max() / size;
                // The finite differences' own error, from two step sizes, bounds the test.
                let fd_err = (&fd1[i] - &fd2[i]).norm_max() / size;
                worst = worst.max(err);
                assert!(
                    err <= 1e-7 + 10.0 * fd_err,
                    "n {n} rep {rep} input {i}: HVP vs dense-route differences {err:.2e} (their own error {fd_err:.1e})"
                );
            }
        }
    }
    eprintln!("HVP vs central differences of the dense route's gradient: worst {worst:.1e}");
}

/// The second-order pass checks its memory against the forward's byte budget and reports
/// `Budget` as an error (the forward, checkpointed, fits; the pass's tangents do not); the JVP
/// (a few blocks) still runs. Huge `|t|` fails in the forward already.
#[test]
fn second_order_budget_is_an_error_not_an_abort() {
    use expgrad_linalg::{ActionBudget, StorePolicy};
    let n = 6;
    let x = uniform_mat(1, n, n, -1.0..1.0) * faer::Scale(40.0);
    let v = uniform_mat(2, n, 1, -1.0..1.0);
    let one = Mat::from_fn(1, 1, |_, _| 1.0);
    let opts = ExpmActionOptions::default()
        .store(StorePolicy::Checkpoint)
        .budget(ActionBudget::default().bytes(5_000));
    let tape = Tape::new();
    let xv = tape.var(x.clone());
    let w = xv
        .try_expm_multiply_with(tape.constant(v.clone()), tape.constant(one.clone()), opts)
        .unwrap();
    let loss = w.square().sum();
    assert!(loss.try_jvp(&[(xv, x.clone())]).is_ok());
    match loss.try_hvp(&[(xv, x.clone())]) {
        Ok(_) => panic!("the second-order pass should exceed the byte budget"),
        Err(e) => assert!(e.to_string().contains("budget"), "{e}"),
    }
    let huge = Mat::from_fn(1, 1, |_, _| 1e300);
    let tape = Tape::new();
    let xv = tape.var(x);
    assert!(
        xv.try_expm_multiply(tape.constant(v), tape.constant(huge))
            .is_err()
    );
}

/// The same Fréchet comparison over ℂ (complex `X`, `V`, `t` and directions), n up to 34.
#[test]
fn jvp_matches_dense_frechet_c64() {
    let mut worst = 0.0f64;
    for (case, &n) in [2usize, 5, 13, 34].iter().enumerate() {
        for rep in 0..3u64 {
            let seed = 700 + 10 * case as u64 + rep;
            let k = 1 + (rep % 3) as usize;
            let scale = [0.3, 1.0, 2.0][rep as usize] / (n as f64).sqrt();
            let x = cmat(seed, n, n, scale);
            let v = cmat(seed + 1, n, k, 1.0);
            let xd = cmat(seed + 2, n, n, 1.0);
            let vd = cmat(seed + 3, n, k, 1.0);
            let t = [c64::new(-1.2, 0.4), c64::new(0.3, -1.9), c64::new(1.1, 0.0)][rep as usize];
            let td = c64::new(0.2, -0.6);
            let tape = Tape::<c64>::new();
            let (xv, vv, tv) = (
                tape.var(x.clone()),
                tape.var(v.clone()),
                tape.var(Mat::from_fn(1, 1, |_, _| t)),
            );
            let w = xv.expm_multiply(vv, tv);
            let wd = w.jvp(&[
                (xv, xd.clone()),
                (vv, vd.clone()),
                (tv, Mat::from_fn(1, 1, |_, _| td)),
            ]);
            let tx = &x * faer::Scale(t);
            let e = &x * faer::Scale(td) + &xd * faer::Scale(t);
            let f = Expm::new(tx.as_ref());
            let want = f.frechet(e.as_ref()) * &v + f.value() * &vd;
            let scale_ref =
                f.value().norm_max() * (1.0 + e.norm_l1()) * v.norm_max().max(vd.norm_max());
            let err = (&wd - &want).norm_max() / scale_ref;
            worst = worst.max(err);
            assert!(err < 1e-12, "n {n} rep {rep}: {err:.2e}");
        }
    }
    eprintln!("JVP vs dense Fréchet (c64): worst {worst:.1e}");
}

/// At `t = 0` exactly the action returns `V` with a trivial plan of two (zero) Taylor terms,
/// which carry `∂w/∂t = XV` and `∂²w/∂t² = X²V`: the JVP and the HVP there match central
/// differences (which step to `t = ±h`, with real plans) and the identities hold.
#[test]
fn zero_time() {
    for seed in 0..40u64 {
        let (n, k, _, _) = problem(seed);
        let x = uniform_mat(seed, n, n, -1.0..1.0);
        let v = uniform_mat(seed + 1000, n, k, -1.0..1.0);
        let inputs = [x, v, Mat::zeros(1, 1)];
        let o = opts(seed, 1.0);
        let j = jvpcheck_with(|a: &[Var<f64>]| a[0].expm_multiply(a[1], a[2]), &inputs, &o);
        assert!(j.passed, "seed {seed}: {j}");
        let h = hvpcheck_with(
            |a: &[Var<f64>]| a[0].expm_multiply(a[1], a[2]).square().sum(),
            &inputs,
            &o,
        );
        assert!(h.passed, "seed {seed}: {h}");
    }
}

/// At `X = cI` (`X − μI = 0`, so `ν = 0`: `X = 0` is where many optimisations start) the
/// plan keeps two Taylor terms, which carry the Hessian's `τ²Ẋ_s²V/2`: the HVP matches
/// central differences of the gradient there (one term would give no second derivative in `X`).
#[test]
fn scalar_multiple_of_the_identity() {
    for seed in 0..40u64 {
        let n = 2 + (seed % 6) as usize;
        let k = 1 + (seed % 3) as usize;
        let c = [0.0, 0.7, -1.1][(seed % 3) as usize];
        let x = Mat::from_fn(n, n, |i, j| if i == j { c } else { 0.0 });
        let v = uniform_mat(seed + 1000, n, k, -1.0..1.0);
        let t = uniform_mat(seed + 77_000, 1, 1, -2.0..2.0);
        let inputs = [x, v, t];
        let o = opts(seed, 1.0);
        let j = jvpcheck_with(|a: &[Var<f64>]| a[0].expm_multiply(a[1], a[2]), &inputs, &o);
        assert!(j.passed, "seed {seed}: {j}");
        let h = hvpcheck_with(
            |a: &[Var<f64>]| a[0].expm_multiply(a[1], a[2]).square().sum(),
            &inputs,
            &o,
        );
        assert!(h.passed, "seed {seed}: {h}");
    }
}
