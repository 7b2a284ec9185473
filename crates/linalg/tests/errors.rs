//! Tests of the errors of `expm`, `Expm`, `expm_frechet`, `Expm::frechet`,
//! `Expm::frechet_adjoint` and `expm_frechet_block` (`LinalgError`): typed errors from the
//! `try_` forms, the same message from the panicking forms.
use expgrad_linalg::*;
use expgrad_testkit::panic_message;
use faer::{Mat, mat};

#[test]
fn not_square() {
    let a = Mat::<f64>::zeros(2, 3);
    let err = try_expm(a.as_ref()).unwrap_err();
    assert_eq!(
        err,
        LinalgError::NotSquare {
            op: "expm",
            shape: (2, 3)
        }
    );
    assert_eq!(
        panic_message(|| drop(expm(Mat::<f64>::zeros(2, 3).as_ref()))),
        err.to_string()
    );
    assert!(matches!(
        Expm::try_new(a.as_ref()),
        Err(LinalgError::NotSquare { .. })
    ));
    let e = Mat::<f64>::zeros(2, 3);
    assert_eq!(
        try_expm_frechet(a.as_ref(), e.as_ref()).unwrap_err(),
        LinalgError::NotSquare {
            op: "expm_frechet",
            shape: (2, 3)
        }
    );
}

#[test]
fn direction_shape_mismatch_names_both_shapes() {
    let a = Mat::<f64>::identity(3, 3);
    let e = Mat::<f64>::zeros(3, 2);
    let err = try_expm_frechet(a.as_ref(), e.as_ref()).unwrap_err();
    assert_eq!(
        err,
        LinalgError::ShapeMismatch {
            op: "expm_frechet",
            lhs: (3, 3),
            rhs: (3, 2)
        }
    );
    assert_eq!(err.to_string(), "expm_frechet: shape mismatch: 3x3 vs 3x2");
    let f = Expm::new(a.as_ref());
    assert_eq!(
        f.try_frechet_adjoint(e.as_ref()).unwrap_err(),
        LinalgError::ShapeMismatch {
            op: "expm_frechet_adjoint",
            lhs: (3, 3),
            rhs: (3, 2)
        }
    );
    let msg = panic_message(move || {
        drop(
            Expm::new(Mat::<f64>::identity(3, 3).as_ref())
                .frechet(Mat::<f64>::zeros(2, 2).as_ref()),
        )
    });
    assert_eq!(msg, "expm_frechet: shape mismatch: 3x3 vs 2x2");
    let msg = panic_message(|| {
        drop(expm_frechet_block(
            Mat::<f64>::identity(2, 2).as_ref(),
            Mat::<f64>::zeros(1, 2).as_ref(),
        ))
    });
    assert_eq!(msg, "expm_frechet_block: shape mismatch: 2x2 vs 1x2");
}

#[test]
fn non_finite_inputs() {
    for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        let a = mat![[1.0, bad], [0.0, 1.0]];
        assert_eq!(
            try_expm(a.as_ref()).unwrap_err(),
            LinalgError::NonFinite { op: "expm" }
        );
        let ok = Mat::<f64>::identity(2, 2);
        assert_eq!(
            try_expm_frechet(ok.as_ref(), a.as_ref()).unwrap_err(),
            LinalgError::NonFinite { op: "expm_frechet" }
        );
        let f = Expm::new(ok.as_ref());
        assert!(matches!(
            f.try_frechet(a.as_ref()),
            Err(LinalgError::NonFinite { .. })
        ));
        assert!(matches!(
            f.try_frechet_adjoint(a.as_ref()),
            Err(LinalgError::NonFinite { .. })
        ));
    }
    let msg = panic_message(|| drop(expm(mat![[f64::NAN]].as_ref())));
    assert_eq!(msg, "expm: input contains NaN or infinite entries");
}

#[test]
fn overflow_is_an_error_never_inf_or_nan() {
    // Diagonal, 1×1, dense and triangular inputs whose exponential exceeds f64::MAX.
    let cases = [
        mat![[710.0f64]],
        mat![[800.0, 0.0], [0.0, 1.0]],
        mat![[400.0, 350.0], [350.0, 400.0]],
        mat![[720.0, 1.0], [0.0, 1.0]],
        Mat::<f64>::from_fn(4, 4, |i, j| if i == j { 1e3 } else { 1.0 }),
    ];
    for a in &cases {
        assert_eq!(
            try_expm(a.as_ref()).unwrap_err(),
            LinalgError::Overflow { op: "expm" },
            "{a:?}"
        );
    }
    // Huge norm with a stable (negative) spectrum: finite, and correct.
    let a = mat![[-1e5, 1e5], [0.0, -1e5f64]];
    let e = try_expm(a.as_ref()).unwrap();
    assert!(e.norm_max() == 0.0 || e.norm_max() < 1e-300);
    // exp(A) finite but L(A, E) overflows: typed error from try_frechet.
    let a = mat![[709.0, 0.0], [0.0, 700.0f64]];
    let f = Expm::new(a.as_ref());
    let big = mat![[1e10, 0.0], [0.0, 0.0f64]];
    assert_eq!(
        f.try_frechet(big.as_ref()).unwrap_err(),
        LinalgError::Overflow { op: "expm_frechet" }
    );
}

#[test]
fn f32_overflow_threshold() {
    let a = mat![[89.0f32, 1.0], [0.0, 1.0]];
    assert!(matches!(
        try_expm(a.as_ref()),
        Err(LinalgError::Overflow { .. })
    ));
    let b = mat![[80.0f32, 1.0], [2.0, 1.0]];
    assert!(try_expm(b.as_ref()).is_ok());
}
