//! `ExpmTimes` (one generator, many times) and `ExpmBatch` (independent matrices): values
//! against closed forms and the single-matrix `Expm`, reverse passes against the Fréchet
//! derivative (dot-product identity) and central differences, every degree and squaring count,
//! and bad input.
mod common;
use common::*;
use expgrad_linalg::*;
use faer::{Mat, MatRef};
use std::collections::BTreeSet;

/// Times from 3e-9 to 300: every squaring count from 0 to ~10 for ‖Q‖ ≈ 2.
const TIMES: [f64; 14] = [
    3e-9, 1e-4, 0.01, 0.1, 0.4, 0.7, 1.0, 1.4, 2.0, 4.0, -3.0, 10.0, 30.0, 300.0,
];

fn scaled(q: MatRef<'_, f64>, t: f64) -> Mat<f64> {
    q * faer::Scale(t)
}

#[test]
fn values_match_closed_forms_at_every_time_and_degree() {
    let mut degrees = BTreeSet::new();
    let mut squarings = BTreeSet::new();
    let mut worst = 0.0f64;
    for (seed, n) in [(1u64, 2usize), (2, 4), (3, 8), (4, 20)] {
        let mut r = rng(seed);
        let (q, exp_at) = similar_blocks(&mut r, n, 1.0, 1.5);
        // The whole batch at once, and every time alone (each alone picks its own degree).
        let mut batches: Vec<Vec<f64>> = vec![TIMES.to_vec()];
        batches.extend(TIMES.iter().map(|&t| vec![t]));
        for t in batches {
            let p = ExpmTimes::new(q.as_ref(), &t);
            degrees.insert(p.degree());
            for (b, &tb) in t.iter().enumerate() {
                squarings.insert(p.squarings()[b]);
                let want = exp_at(tb);
                let x = scaled(q.as_ref(), tb);
                // tol_exp's budget plus the power-basis sum: u·e^{‖τQ‖} ≤ 3u per term.
                let tol = tol_exp(x.as_ref())
                    + 2.0 * (3.0 + p.squarings()[b] as f64) * U64 * cond_exp(x.as_ref()).max(1.0);
                let err = rel_err(p.value(b), want.as_ref());
                worst = worst.max(err / tol);
                assert!(
                    err <= tol,
                    "n {n} t {tb}: {err:e} > {tol:e} (m {}, s {})",
                    p.degree(),
                    p.squarings()[b]
                );
            }
        }
    }
    assert!(degrees.len() >= 4, "degrees {degrees:?}");
    assert!(
        (0..=8).all(|s| squarings.contains(&s)),
        "squarings {squarings:?}"
    );
    eprintln!("worst err/tol {worst:.3}, degrees {degrees:?}, squarings {squarings:?}");
}

/// A rate matrix: off-diagonal ≥ 0, rows summing to 0.
fn generator(r: &mut rand::rngs::StdRng, n: usize) -> Mat<f64> {
    let mut q = randn(r, n, n).map(|x: &f64| x.abs());
    for i in 0..n {
        q[(i, i)] = 0.0;
        let s: f64 = (0..n).map(|j| q[(i, j)]).sum();
        q[(i, i)] = -s;
    }
    q
}

#[test]
fn rate_matrices_give_stochastic_matrices_that_agree_with_expm() {
    for (seed, n) in [(10u64, 4usize), (11, 20), (12, 61)] {
        let mut r = rng(seed);
        let q = generator(&mut r, n);
        let t: Vec<f64> = (0..60).map(|k| 1e-3 * 1.28f64.powi(k)).collect();
        let p = ExpmTimes::new(q.as_ref(), &t);
        for (b, &tb) in t.iter().enumerate() {
            let x = scaled(q.as_ref(), tb);
            let want = expm(x.as_ref());
            let tol = 2.0 * tol_exp(x.as_ref());
            let err = rel_err(p.value(b), want.as_ref());
            assert!(err <= tol, "n {n} t {tb}: {err:e} > {tol:e}");
            for i in 0..n {
                let row: f64 = (0..n).map(|j| p.value(b)[(i, j)]).sum();
                // Each squaring doubles a row-sum error and adds n·u of rounding; the Taylor
                // sum starts it at (m + 3)·u.
                let tol = 2f64.powi(p.squarings()[b] as i32) * (n + p.degree() + 3) as f64 * U64;
                assert!((row - 1.0).abs() <= tol, "row sum {row}, tol {tol:e}");
            }
        }
    }
}

/// ⟨G, dP⟩ with `dP_b = L(t_b Q, t_b E + δt_b Q)` (the single-matrix Fréchet derivative)
/// against `⟨Q̄, E⟩ + Σ_b t̄_b δt_b` from the batch reverse pass.
#[test]
fn adjoint_satisfies_the_dot_product_identity() {
    let mut seen = BTreeSet::new();
    for (seed, n) in [(20u64, 2usize), (21, 4), (22, 8), (23, 20)] {
        let mut r = rng(seed);
        let (q, _) = similar_blocks(&mut r, n, 1.0, 1.5);
        for t in [TIMES.to_vec(), vec![0.3], vec![50.0], vec![0.0, -0.5, 2.5]] {
            let p = ExpmTimes::new(q.as_ref(), &t);
            let g = randn(&mut r, n, n * t.len());
            let e = randn(&mut r, n, n);
            let dt = randn(&mut r, t.len(), 1);
            let (qbar, tbar) = p.adjoint(g.as_ref());
            let mut lhs = 0.0;
            let mut scale = 0.0;
            for (b, &tb) in t.iter().enumerate() {
                seen.insert((p.degree(), p.squarings()[b]));
                let x = scaled(q.as_ref(), tb);
                let dir = scaled(e.as_ref(), tb) + scaled(q.as_ref(), dt[(b, 0)]);
                let l = Expm::new(x.as_ref()).frechet(dir.as_ref());
                let gb = g.subcols(b * n, n);
                lhs += inner(gb, l.as_ref());
                scale += gb.norm_l2()
                    * l.norm_l2()
                    * tol_frechet(x.as_ref(), dir.as_ref()).max(1e3 * U64);
            }
            let rhs = inner(qbar.as_ref(), e.as_ref())
                + t.iter()
                    .enumerate()
                    .map(|(b, _)| tbar[b] * dt[(b, 0)])
                    .sum::<f64>();
            assert!(
                (lhs - rhs).abs() <= 4.0 * scale,
                "n {n} t {t:?}: {lhs} vs {rhs} (scale {scale:e})"
            );
        }
    }
    assert!(seen.iter().any(|p| p.1 >= 6), "{seen:?}");
}

/// Central differences of `ℓ = Σ_b ⟨G_b, exp(t_b Q)⟩` in every entry of Q and every time.
#[test]
fn adjoint_matches_central_differences() {
    let mut r = rng(30);
    let n = 4;
    let q = generator(&mut r, n);
    let t = vec![0.05, 0.7, 3.0, 12.0];
    let g = randn(&mut r, n, n * t.len());
    let loss = |q: &Mat<f64>, t: &[f64]| inner(g.as_ref(), ExpmTimes::new(q.as_ref(), t).values());
    let (qbar, tbar) = ExpmTimes::new(q.as_ref(), &t).adjoint(g.as_ref());
    let h = 1e-6;
    for i in 0..n {
        for j in 0..n {
            let (mut qp, mut qm) = (q.clone(), q.clone());
            qp[(i, j)] += h;
            qm[(i, j)] -= h;
            let fd = (loss(&qp, &t) - loss(&qm, &t)) / (2.0 * h);
            // Truncation O(h²·‖ℓ'''‖) and rounding O(u·|ℓ|/h): 1e-7 relative covers both here.
            assert!(
                (fd - qbar[(i, j)]).abs() <= 1e-7 * (1.0 + fd.abs()),
                "Q̄[{i},{j}] {} vs {fd}",
                qbar[(i, j)]
            );
        }
    }
    for b in 0..t.len() {
        let (mut tp, mut tm) = (t.clone(), t.clone());
        tp[b] += h;
        tm[b] -= h;
        let fd = (loss(&q, &tp) - loss(&q, &tm)) / (2.0 * h);
        assert!(
            (fd - tbar[b]).abs() <= 1e-7 * (1.0 + fd.abs()),
            "t̄[{b}] {} vs {fd}",
            tbar[b]
        );
    }
}

#[test]
fn f32_agrees_with_f64() {
    let mut r = rng(40);
    let n = 6;
    let q = generator(&mut r, n);
    let q32 = q.map(|&x| x as f32);
    let t: Vec<f64> = vec![0.01, 0.3, 2.0, 40.0];
    let t32: Vec<f32> = t.iter().map(|&x| x as f32).collect();
    let (p, p32) = (
        ExpmTimes::new(q.as_ref(), &t),
        ExpmTimes::new(q32.as_ref(), &t32),
    );
    for (b, &tb) in t.iter().enumerate() {
        let x = scaled(q.as_ref(), tb);
        let err = rel_err(p32.value(b).map(|&x| x as f64).as_ref(), p.value(b));
        // f32 input rounding (u₃₂ per entry) amplified by κ, plus the evaluation.
        let tol = 2.0
            * (3.0 * n as f64 + 4.0 + p32.squarings()[b] as f64)
            * (f32::EPSILON as f64 / 2.0)
            * cond_exp(x.as_ref()).max(1.0);
        assert!(err <= tol, "t {tb}: {err:e} > {tol:e}");
    }
}

#[test]
fn zero_times_and_zero_generator_give_identities() {
    let q = Mat::<f64>::zeros(3, 3);
    let p = ExpmTimes::new(q.as_ref(), &[0.0, 1.0, 1e6]);
    for b in 0..3 {
        assert_eq!(p.value(b), Mat::<f64>::identity(3, 3));
    }
    let mut r = rng(41);
    let q = randn(&mut r, 3, 3);
    let p = ExpmTimes::new(q.as_ref(), &[0.0]);
    assert_eq!(p.value(0), Mat::<f64>::identity(3, 3));
    let empty = ExpmTimes::new(q.as_ref(), &[]);
    assert!(empty.is_empty() && empty.values().shape() == (3, 0));
    let (qbar, tbar) = empty.adjoint(Mat::<f64>::zeros(3, 0).as_ref());
    assert!(qbar == Mat::<f64>::zeros(3, 3) && tbar.is_empty());
}

#[test]
fn bad_input_is_a_typed_error() {
    let q = Mat::<f64>::zeros(2, 3);
    assert!(matches!(
        ExpmTimes::try_new(q.as_ref(), &[1.0]),
        Err(LinalgError::NotSquare { .. })
    ));
    let mut q = Mat::<f64>::zeros(2, 2);
    assert!(matches!(
        ExpmTimes::try_new(q.as_ref(), &[f64::NAN]),
        Err(LinalgError::NonFinite { .. })
    ));
    q[(0, 1)] = f64::INFINITY;
    assert!(matches!(
        ExpmTimes::try_new(q.as_ref(), &[1.0]),
        Err(LinalgError::NonFinite { .. })
    ));
    let q = faer::mat![[1.0, 0.0], [0.0, 1.0f64]];
    assert!(matches!(
        ExpmTimes::try_new(q.as_ref(), &[1e3]),
        Err(LinalgError::Overflow { .. })
    ));
    let p = ExpmTimes::new(q.as_ref(), &[1.0, 2.0]);
    let e = p.try_adjoint(Mat::<f64>::zeros(2, 2).as_ref()).unwrap_err();
    assert!(e.to_string().contains("expm_times"), "{e}");
    let msg = std::panic::catch_unwind(|| ExpmTimes::new(Mat::<f64>::zeros(2, 3).as_ref(), &[1.0]))
        .unwrap_err();
    let msg = msg.downcast_ref::<String>().unwrap();
    assert!(
        msg.contains("expm_times") && msg.contains("2") && msg.contains("3"),
        "{msg}"
    );
}

#[test]
fn independent_batch_matches_expm_block_by_block() {
    let mut r = rng(50);
    for n in [1usize, 3, 8, 17] {
        let b = 5;
        let x = Mat::<f64>::from_fn(n, n * b, |i, j| {
            let k = (j / n) as f64;
            (0.3 + k) * ((i * 7 + j * 3) % 5) as f64 / (n as f64) - 0.4 * k
        });
        let batch = ExpmBatch::new(x.as_ref());
        let g = randn(&mut r, n, n * b);
        let xbar = batch.adjoint(g.as_ref());
        for k in 0..b {
            let f = Expm::new(x.subcols(k * n, n));
            assert_eq!(batch.values().subcols(k * n, n), f.value());
            assert_eq!(
                xbar.subcols(k * n, n),
                f.frechet_adjoint(g.subcols(k * n, n))
            );
        }
    }
    let bad = Mat::<f64>::zeros(3, 7);
    assert!(matches!(
        ExpmBatch::try_new(bad.as_ref()),
        Err(LinalgError::NotSquare { .. })
    ));
    let mut nan = Mat::<f64>::zeros(2, 4);
    nan[(1, 3)] = f64::NAN;
    let e = ExpmBatch::try_new(nan.as_ref()).unwrap_err();
    assert!(
        matches!(e, LinalgError::NonFinite { op: "expm_batch" }),
        "{e}"
    );
}
