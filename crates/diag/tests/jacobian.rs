//! `expm_jacobian` (the O(n³) route) against n reverse sweeps through the tape.
use expgrad_diag::{diag_mul, expm_jacobian, try_expm_jacobian};
use expgrad_linalg::LinalgError;
use expgrad_tape::Tape;
use expgrad_testkit::{into_generator, rng};
use faer::Mat;
use rand::Rng;

fn tape_jacobian(d: &Mat<f64>, a: &Mat<f64>, v: &Mat<f64>) -> Mat<f64> {
    let tape = Tape::new();
    let dv = tape.var(d.clone());
    diag_mul(dv, tape.constant(a.clone()))
        .expm()
        .matmul(tape.constant(v.clone()))
        .jacobian(dv)
}

#[test]
fn agrees_with_reverse_sweeps_on_generators_and_random_matrices() {
    let mut r = rng(3);
    for (n, scale, markov) in [
        (1, 1.0, false),
        (5, 0.5, true),
        (30, 3.0, true),
        (40, 1.0, false),
    ] {
        let mut a: Mat<f64> = Mat::from_fn(n, n, |_, _| scale * r.random_range(-1.0..1.0));
        if markov {
            // Rates off the diagonal, rows summing to zero.
            into_generator(&mut a);
        }
        let d = Mat::from_fn(n, 1, |i, _| {
            if i == 1 {
                0.0
            } else {
                r.random_range(0.5..1.5)
            }
        });
        let v = Mat::from_fn(n, 1, |_, _| r.random_range(-1.0..1.0));
        let fast = expm_jacobian(d.as_ref(), a.as_ref(), v.as_ref());
        let slow = tape_jacobian(&d, &a, &v);
        let err = (&fast - &slow).norm_l2() / slow.norm_l2().max(f64::MIN_POSITIVE);
        // Both are rounding-level evaluations of the same derivative of the same approximant;
        // the scale of their difference is (3n + s)·u·κ with κ = O(‖X‖) here.
        let tol = 4.0 * (3.0 * n as f64 + 8.0) * f64::EPSILON * (1.0 + scale * n as f64);
        assert!(err <= tol, "n = {n}: {err:e} > {tol:e}");
    }
}

#[test]
fn bad_shapes_name_the_op() {
    let a = Mat::<f64>::zeros(3, 3);
    let d = Mat::<f64>::zeros(2, 1);
    let v = Mat::<f64>::zeros(3, 1);
    let e = try_expm_jacobian(d.as_ref(), a.as_ref(), v.as_ref()).unwrap_err();
    assert!(
        matches!(
            e,
            LinalgError::ShapeMismatch {
                op: "expm_jacobian",
                ..
            }
        ),
        "{e}"
    );
    let e =
        try_expm_jacobian(v.as_ref(), Mat::<f64>::zeros(3, 2).as_ref(), v.as_ref()).unwrap_err();
    assert!(
        matches!(
            e,
            LinalgError::NotSquare {
                op: "expm_jacobian",
                ..
            }
        ),
        "{e}"
    );
    let mut nan = v.clone();
    nan[(0, 0)] = f64::NAN;
    assert!(try_expm_jacobian(nan.as_ref(), a.as_ref(), v.as_ref()).is_err());
}
