//! Misuse and bad input: messages name the op and the shapes; `try_` forms return errors.
use expgrad_linalg::LinalgError;
use expgrad_tape::{Tape, TapeError};
use faer::{Mat, mat};
use std::panic::{AssertUnwindSafe, catch_unwind};

fn panic_message(f: impl FnOnce()) -> String {
    let err = catch_unwind(AssertUnwindSafe(f)).expect_err("expected a panic");
    err.downcast_ref::<String>()
        .cloned()
        .or_else(|| err.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

#[test]
fn shape_mismatches_name_both_shapes() {
    let tape = Tape::<f64>::new();
    let a = tape.var(Mat::zeros(2, 3));
    let b = tape.var(Mat::zeros(3, 2));
    assert_eq!(
        a.try_add(b).unwrap_err(),
        TapeError::ShapeMismatch {
            op: "add",
            lhs: (2, 3),
            rhs: (3, 2)
        }
    );
    assert_eq!(
        panic_message(|| {
            let _ = a.mul(b);
        }),
        "mul: shape mismatch: 2x3 vs 3x2"
    );
    assert_eq!(
        panic_message(|| {
            let _ = a.sub(b);
        }),
        "sub: shape mismatch: 2x3 vs 3x2"
    );
    assert_eq!(
        panic_message(|| {
            let _ = a.div(b);
        }),
        "div: shape mismatch: 2x3 vs 3x2"
    );
    assert_eq!(
        panic_message(|| {
            let _ = a.dot(b);
        }),
        "dot: shape mismatch: 2x3 vs 3x2"
    );
    assert_eq!(
        panic_message(|| {
            let _ = a.matmul(a);
        }),
        "matmul: shape mismatch: 2x3 vs 2x3"
    );
    assert_eq!(
        panic_message(|| {
            let _ = a.reshape(4, 2);
        }),
        "reshape: shape mismatch: 2x3 vs 4x2"
    );
    assert_eq!(
        panic_message(|| {
            let _ = a.broadcast(4, 2);
        }),
        "broadcast: shape mismatch: 2x3 vs 4x2"
    );
    assert_eq!(
        panic_message(|| {
            let _ = a.trace();
        }),
        "trace: expected a square matrix, got shape 2x3"
    );
    assert_eq!(
        panic_message(|| {
            let _ = a.expm();
        }),
        "expm: expected a square matrix, got shape 2x3"
    );
    assert!(matches!(
        a.try_expm(),
        Err(TapeError::Linalg(LinalgError::NotSquare { .. }))
    ));
}

#[test]
fn foreign_vars_are_caught() {
    let t1 = Tape::<f64>::new();
    let t2 = Tape::<f64>::new();
    let a = t1.var(mat![[1.0]]);
    let b = t2.var(mat![[2.0]]);
    assert_eq!(
        a.try_add(b).unwrap_err(),
        TapeError::ForeignVar { op: "add" }
    );
    assert!(
        panic_message(|| {
            let _ = a.matmul(b);
        })
        .starts_with("matmul: a Var from another tape")
    );
    let g = a.backward();
    assert!(
        panic_message(|| {
            let _ = g.wrt(b);
        })
        .contains("another tape")
    );
}

#[test]
fn backward_needs_a_scalar_and_a_fitting_seed() {
    let tape = Tape::<f64>::new();
    let x = tape.var(Mat::zeros(2, 3));
    assert_eq!(
        x.try_backward().unwrap_err(),
        TapeError::NotScalar {
            op: "backward",
            shape: (2, 3)
        }
    );
    assert!(
        panic_message(|| {
            let _ = x.backward();
        })
        .starts_with("backward: the output must be 1x1, got shape 2x3")
    );
    assert_eq!(
        x.try_backward_with(Mat::zeros(3, 2)).unwrap_err(),
        TapeError::ShapeMismatch {
            op: "backward_with",
            lhs: (2, 3),
            rhs: (3, 2)
        }
    );
    let nan_seed = Mat::from_fn(2, 3, |_, _| f64::NAN);
    assert!(matches!(
        x.try_backward_with(nan_seed),
        Err(TapeError::Domain { .. })
    ));
}

#[test]
fn non_finite_and_domain_errors() {
    let tape = Tape::<f64>::new();
    let bad = tape.var(mat![[1.0, f64::NAN], [0.0, 1.0]]);
    assert_eq!(
        bad.try_expm().unwrap_err(),
        TapeError::Linalg(LinalgError::NonFinite { op: "expm" })
    );
    assert_eq!(
        panic_message(|| {
            let _ = bad.expm();
        }),
        "expm: input contains NaN or infinite entries"
    );
    let huge = tape.var(mat![[800.0]]);
    assert_eq!(
        huge.try_expm().unwrap_err(),
        TapeError::Linalg(LinalgError::Overflow { op: "expm" })
    );
    let neg = tape.var(mat![[1.0, -1.0]]);
    assert_eq!(
        neg.try_log().unwrap_err(),
        TapeError::Domain {
            op: "log",
            what: "entries must be positive"
        }
    );
    let zero = tape.var(mat![[1.0, 0.0]]);
    assert!(matches!(
        neg.try_div(zero),
        Err(TapeError::Domain { op: "div", .. })
    ));
    assert!(
        panic_message(|| {
            let _ = neg.scale(f64::INFINITY);
        })
        .starts_with("scale:")
    );
    assert!(
        panic_message(|| {
            let _ = neg.item();
        })
        .contains("1x2")
    );
}
