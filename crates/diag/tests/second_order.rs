//! Forward mode and second order of `exp(t·Diag(d)·A)·V` and `exp(t·A·Diag(d))·V` (the tape's
//! action node over `DiagOperand`): at 240 seeds per side, `jvpcheck` (JVP against central
//! differences and against the VJP by the dot-product identity, to rounding) and `hvpcheck`
//! of `Σ W∘W` (HVP against central differences of the gradient, Hessian symmetry to
//! rounding), with `A` dense, CSR or CSC (a random matrix, a Markov generator, a negated
//! Laplacian), `n ≤ 8`, `V` with 1–3 columns, `t ∈ (−2, 2)`, `‖tX‖` spanning plans with
//! `s > 1`, `d` with zeros and negative entries.
#![allow(clippy::cloned_ref_to_slice_refs)]
use expgrad_diag::*;
use expgrad_linalg::{DiagScaled, ExpmAction, ExpmActionOptions, Side};
use expgrad_tape::{GradcheckOptions, Var, hvpcheck_with, jvpcheck_with};
use expgrad_testkit::{Boundary, csc, csr, neg_laplacian_1d, ring_generator, uniform_mat};
use faer::Mat;
use std::sync::Arc;

const SEEDS: u64 = 240;

/// `A` of seed `s` (n×n), one of three kinds, in one of three storage forms.
fn matrix(s: u64, n: usize, scale: f64) -> Arc<SparseOrDense<f64>> {
    let a = match s % 3 {
        0 => uniform_mat(s + 40_000, n, n, -scale..scale),
        1 => ring_generator(n, s) * faer::Scale(scale),
        _ => neg_laplacian_1d(n, Boundary::Neumann).dense() * faer::Scale(scale),
    };
    Arc::new(match (s / 3) % 3 {
        0 => a.into(),
        1 => csr(a.as_ref()).into(),
        _ => csc(a.as_ref()).into(),
    })
}

fn run(side: Side) {
    let (mut fd, mut id, mut hfd, mut sym, mut max_s, mut shifted) =
        (0.0f64, 0.0f64, 0.0f64, 0.0f64, 0, 0);
    for seed in 0..SEEDS {
        let n = 2 + (seed % 7) as usize;
        let k = 1 + (seed % 3) as usize;
        let scale = [0.1, 1.0, 2.0, 4.0][(seed / 9 % 4) as usize];
        let t = uniform_mat(seed + 77_000, 1, 1, -2.0..2.0)[(0, 0)];
        let a = matrix(seed, n, scale);
        let mut d = uniform_mat(seed, n, 1, -0.5..1.5);
        if seed % 4 == 0 {
            d[(0, 0)] = 0.0;
        }
        let v = uniform_mat(seed + 1000, n, k, -1.0..1.0);
        let act = ExpmAction::new(
            DiagScaled::new(
                d.col(0).iter().copied().collect::<Vec<_>>(),
                a.clone(),
                side,
            ),
            t,
            v.as_ref(),
            ExpmActionOptions::default(),
        );
        max_s = max_s.max(act.params().1);
        shifted += usize::from(act.shift() != 0.0);
        let inputs = [d, v, Mat::from_fn(1, 1, |_, _| t)];
        let o = GradcheckOptions {
            seed,
            step: 1e-3 / scale.max(1.0),
            ..GradcheckOptions::default()
        };
        macro_rules! body {
            ($x:ident) => {
                match side {
                    Side::Left => expm_multiply_diag($x[0], &a, $x[1], $x[2]),
                    Side::Right => expm_multiply_mul_diag(&a, $x[0], $x[1], $x[2]),
                }
            };
        }
        let j = jvpcheck_with(|x: &[Var<f64>]| body!(x), &inputs, &o);
        assert!(
            j.passed,
            "{side:?} seed {seed} (n {n}, k {k}, scale {scale}, t {t}): {j}"
        );
        let h = hvpcheck_with(|x: &[Var<f64>]| body!(x).square().sum(), &inputs, &o);
        assert!(
            h.passed,
            "{side:?} seed {seed} (n {n}, k {k}, scale {scale}, t {t}): {h}"
        );
        fd = fd.max(j.fd_rel_err);
        id = id.max(j.identity_rel_err);
        hfd = hfd.max(h.fd_rel_err);
        sym = sym.max(h.symmetry_rel_err);
    }
    eprintln!(
        "diag {side:?}: jvp fd {fd:.1e} identity {id:.1e} | hvp fd {hfd:.1e} symmetry {sym:.1e} | max s {max_s}, shifted at {shifted} seeds"
    );
    assert!(max_s > 1, "no seed took more than one step");
    assert!(shifted > 0, "no seed applied the trace shift");
}

#[test]
fn left_diag_scaling() {
    run(Side::Left);
}

#[test]
fn right_diag_scaling() {
    run(Side::Right);
}

/// Timing at n = 10⁴ (report, not assert): `ℓ = Σ W∘W`, `W = exp(t·Diag(d)A)v` on the 2-D
/// Neumann Laplacian of a 100×100 grid and a random Markov generator (4 rates per row),
/// `‖tX‖₁ = 20`, k = 1, directions on `d` and `t`. Best of 11 wall times of: the taped forward
/// (recording the node), value + gradient (forward + reverse), the JVP of `W` (the tangent
/// sweep on the recorded forward), and one HVP (forward + tangent sweep + second-order
/// reverse). Run: `cargo test -p expgrad-diag --release --test second_order -- --ignored --nocapture`.
#[test]
#[ignore = "timing, run by hand"]
fn timing_n_1e4() {
    use expgrad_tape::Tape;
    use expgrad_testkit::{markov_csr, neg_laplacian_2d, randn, rng};
    use std::time::Instant;
    let best = |f: &mut dyn FnMut()| -> f64 {
        (0..11)
            .map(|_| {
                let s = Instant::now();
                f();
                s.elapsed().as_secs_f64()
            })
            .fold(f64::INFINITY, f64::min)
    };
    for name in ["laplacian", "markov"] {
        let mut r = rng(0x5ec0);
        let a = if name == "laplacian" {
            neg_laplacian_2d(100, Boundary::Neumann).csr()
        } else {
            markov_csr(&mut r, 10_000)
        };
        let n = a.nrows();
        let a = Arc::new(SparseOrDense::from(a));
        let v = randn(&mut r, n, 1);
        let d = Mat::from_fn(n, 1, |i, _| 0.5 + (i as f64 * 0.37).sin().abs());
        let dd = randn(&mut r, n, 1);
        let op = DiagScaled::left(d.col(0).iter().copied().collect::<Vec<_>>(), a.clone());
        let norm = expgrad_linalg::LinOp::norm1(&op).unwrap();
        let t = 20.0 / norm;
        let act = ExpmAction::new(op, t, v.as_ref(), ExpmActionOptions::default());
        let (m, s) = act.params();
        let fwd = act.products();
        let rev = act.reverse_products();
        let jvp = act.jvp_products(true);
        let hvp = act.vjp_jvp_products(true);
        let tm = Mat::from_fn(1, 1, |_, _| t);
        let forward = best(&mut || {
            let tape = Tape::new();
            let w = expm_multiply_diag(
                tape.var(d.clone()),
                &a,
                tape.constant(v.clone()),
                tape.var(tm.clone()),
            );
            std::hint::black_box(w.value());
        });
        let value_grad = best(&mut || {
            let tape = Tape::new();
            let dv = tape.var(d.clone());
            let w = expm_multiply_diag(dv, &a, tape.constant(v.clone()), tape.var(tm.clone()));
            let g = w.square().sum().backward();
            std::hint::black_box(g.wrt(dv));
        });
        let tape = Tape::new();
        let (dv, tv) = (tape.var(d.clone()), tape.var(tm.clone()));
        let w = expm_multiply_diag(dv, &a, tape.constant(v.clone()), tv);
        let dirs = [(dv, dd.clone()), (tv, Mat::from_fn(1, 1, |_, _| 0.3 * t))];
        let jvp_time = best(&mut || {
            std::hint::black_box(w.jvp(&dirs));
        });
        let hvp_time = best(&mut || {
            let tape = Tape::new();
            let (dv, tv) = (tape.var(d.clone()), tape.var(tm.clone()));
            let w = expm_multiply_diag(dv, &a, tape.constant(v.clone()), tv);
            let (g, h) = w
                .square()
                .sum()
                .hvp(&[(dv, dd.clone()), (tv, Mat::from_fn(1, 1, |_, _| 0.3 * t))]);
            std::hint::black_box((g.wrt(dv), h.wrt(dv)));
        });
        eprintln!(
            "{name} n {n}, ‖tX‖₁ 20, m {m}, s {s}: products forward {fwd}, reverse {rev}, jvp {jvp}, vjp_jvp {hvp}"
        );
        eprintln!(
            "  forward {:.2} ms, value+grad {:.2} ms, jvp {:.2} ms ({:.2}x forward, {:.2}x value+grad), hvp {:.2} ms ({:.2}x forward, {:.2}x value+grad)",
            forward * 1e3,
            value_grad * 1e3,
            jvp_time * 1e3,
            jvp_time / forward,
            jvp_time / value_grad,
            hvp_time * 1e3,
            hvp_time / forward,
            hvp_time / value_grad,
        );
    }
}
