//! `expgrad::optim`: L-BFGS through trial points that fail to evaluate, honest verdicts
//! (a flat start is not "converged"), Adam, and a model fitted through the tape.
use expgrad::optim::{AdamOptions, LbfgsOptions, NewtonOptions, Verdict, adam, lbfgs, newton_cg};
use expgrad::prelude::*;

/// Pseudo-Huber `√(1 + (x − 1)²)`: from far away its curvature is tiny, so the quasi-Newton
/// step overshoots by orders of magnitude, into the region `x > 1.5` where the objective
/// "overflows" (returns an error) — as `exp` does for a wild trial step.
fn huber(x: &[f64]) -> Result<(f64, Vec<f64>), String> {
    if x[0] > 1.5 {
        return Err(format!("overflow at x = {:e}", x[0]));
    }
    let r = x[0] - 1.0;
    let s = (1.0 + r * r).sqrt();
    Ok((s, vec![r / s]))
}

#[test]
fn lbfgs_shortens_steps_that_fail_and_converges() {
    let r = lbfgs(huber, vec![-50.0], &LbfgsOptions::default(), |_| {}).unwrap();
    assert!(r.converged(), "{}", r.reason());
    assert!((r.x[0] - 1.0).abs() < 1e-9, "{:?}", r.x);
    assert!(r.failed_evals > 0, "the failing region was never reached");
}

#[test]
fn a_flat_start_is_not_converged() {
    let flat = |x: &[f64]| -> Result<(f64, Vec<f64>), String> { Ok((1.0, vec![0.0; x.len()])) };
    let r = lbfgs(flat, vec![1.0, 2.0], &LbfgsOptions::default(), |_| {}).unwrap();
    assert_eq!(r.verdict, Verdict::FlatStart);
    assert!(!r.converged() && r.iters == 0);
    let r = adam(flat, vec![1.0], &AdamOptions::default(), |_| {}).unwrap();
    assert_eq!(r.verdict, Verdict::FlatStart);
}

#[test]
fn a_failure_at_the_start_is_an_error_not_a_panic() {
    let e = lbfgs(huber, vec![2.0], &LbfgsOptions::default(), |_| {}).unwrap_err();
    assert!(e.to_string().contains("starting point") && e.to_string().contains("overflow"));
    let nan = |_: &[f64]| -> Result<(f64, Vec<f64>), String> { Ok((f64::NAN, vec![0.0])) };
    assert!(lbfgs(nan, vec![0.0], &LbfgsOptions::default(), |_| {}).is_err());
}

#[test]
fn iteration_cap_is_reported() {
    let opts = LbfgsOptions {
        max_iters: 2,
        ..Default::default()
    };
    let rosen = |x: &[f64]| -> Result<(f64, Vec<f64>), String> {
        let (a, b) = (1.0 - x[0], x[1] - x[0] * x[0]);
        Ok((
            a * a + 100.0 * b * b,
            vec![-2.0 * a - 400.0 * x[0] * b, 200.0 * b],
        ))
    };
    let r = lbfgs(rosen, vec![-1.2, 1.0], &opts, |_| {}).unwrap();
    assert_eq!(r.verdict, Verdict::MaxIters);
    assert_eq!(r.history.len(), 3);
}

#[test]
fn fits_a_rate_through_the_tape() {
    // w = exp(t·Diag(d)·A)·v observed at t = 1 for d = (0.7, 1.3); recover d from d = (1, 1).
    let a = faer::mat![[-1.0, 0.5], [0.3, -0.8f64]];
    let v = faer::mat![[1.0], [0.5f64]];
    let truth = faer::mat![[0.7], [1.3f64]];
    let w = {
        let tape = Tape::new();
        diag_mul(tape.constant(truth), tape.constant(a.clone()))
            .expm()
            .matmul(&v)
            .value()
    };
    let loss = |d: &[f64]| -> Result<(f64, Vec<f64>), expgrad::tape::TapeError> {
        let tape = Tape::new();
        let dv = tape.var(Mat::from_fn(2, 1, |i, _| d[i]));
        let r = diag_mul(dv, tape.constant(a.clone()))
            .try_expm()?
            .try_matmul(&v)?
            .try_sub(&w)?;
        let l = r.try_dot(r)?;
        let g = l.try_backward()?.wrt(dv);
        Ok((l.item(), vec![g[(0, 0)], g[(1, 0)]]))
    };
    let r = lbfgs(loss, vec![1.0, 1.0], &LbfgsOptions::default(), |_| {}).unwrap();
    assert!(r.converged(), "{}", r.reason());
    assert!(
        (r.x[0] - 0.7).abs() < 1e-6 && (r.x[1] - 1.3).abs() < 1e-6,
        "{:?}",
        r.x
    );
}

/// `f(x) = Σ (xᵢ⁴/4 − xᵢ²/2) + 0.1·x₀x₁`: negative curvature at the origin side of the
/// start, minima near ±1. Newton–CG must follow the negative curvature to the boundary and
/// still converge quadratically to a minimiser.
fn quartic(x: &[f64]) -> Result<(f64, Vec<f64>), String> {
    let f = x.iter().map(|v| v.powi(4) / 4.0 - v * v / 2.0).sum::<f64>() + 0.1 * x[0] * x[1];
    let mut g: Vec<f64> = x.iter().map(|v| v.powi(3) - v).collect();
    g[0] += 0.1 * x[1];
    g[1] += 0.1 * x[0];
    Ok((f, g))
}

fn quartic_hvp(x: &[f64], d: &[f64]) -> Result<Vec<f64>, String> {
    let mut h: Vec<f64> = x
        .iter()
        .zip(d)
        .map(|(v, di)| (3.0 * v * v - 1.0) * di)
        .collect();
    h[0] += 0.1 * d[1];
    h[1] += 0.1 * d[0];
    Ok(h)
}

#[test]
fn newton_cg_follows_negative_curvature_and_converges() {
    let r = newton_cg(
        quartic,
        quartic_hvp,
        vec![0.1, -0.05, 0.2],
        &NewtonOptions::default(),
        |_| {},
    )
    .unwrap();
    assert!(r.converged(), "{}", r.reason());
    let (_, g) = quartic(&r.x).unwrap();
    let gn = g.iter().map(|v| v * v).sum::<f64>().sqrt();
    assert!(
        gn <= 1e-6 * r.grad_norm_start,
        "{}: {g:?} at {:?}",
        r.reason(),
        r.x
    );
    // A minimiser: every diagonal curvature 3x² − 1 > 0.
    assert!(r.x.iter().all(|v| 3.0 * v * v - 1.0 > 0.0), "{:?}", r.x);
    assert!(r.hvps > 0 && r.iters < 30);
}

#[test]
fn newton_cg_shrinks_the_region_on_failed_evaluations() {
    // Pseudo-Huber from far away: the trust region grows along the nearly flat loss until a
    // step lands in the failing region x > 1.5, which is rejected and shrinks the region.
    let r = newton_cg(
        huber,
        |x: &[f64], d: &[f64]| -> Result<Vec<f64>, String> {
            let r = x[0] - 1.0;
            Ok(vec![d[0] / (1.0 + r * r).powf(1.5)])
        },
        vec![-50.0],
        &NewtonOptions::default(),
        |_| {},
    )
    .unwrap();
    assert!(r.converged(), "{}", r.reason());
    assert!((r.x[0] - 1.0).abs() < 1e-9, "{:?}", r.x);
    assert!(r.failed_evals > 0, "the failing region was never reached");
}

#[test]
fn newton_cg_reports_a_failing_hessian_vector_product() {
    let r = newton_cg(
        quartic,
        |_: &[f64], _: &[f64]| -> Result<Vec<f64>, String> { Err("no second-order rule".into()) },
        vec![0.5, 0.5, 0.5],
        &NewtonOptions::default(),
        |_| {},
    )
    .unwrap();
    assert!(!r.converged());
    assert!(
        r.reason().contains("no second-order rule"),
        "{}",
        r.reason()
    );
}
