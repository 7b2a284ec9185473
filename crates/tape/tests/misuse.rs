//! Misuse and bad input: messages name the op and the shapes; `try_` forms return errors.
use expgrad_linalg::LinalgError;
use expgrad_tape::{Tape, TapeError};
use expgrad_testkit::panic_message;
use faer::{Mat, mat};

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
    // One variant per condition: a non-square input is `NotSquare` for every op.
    assert!(matches!(
        a.try_expm(),
        Err(TapeError::NotSquare { op: "expm", .. })
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
    assert_eq!(
        x.try_backward_with(nan_seed).unwrap_err(),
        TapeError::NonFinite {
            op: "backward_with"
        }
    );
}

#[test]
fn non_finite_and_domain_errors() {
    let tape = Tape::<f64>::new();
    // A NaN leaf is stopped by the first op that uses it, `expm` included (one variant per
    // condition: the kernel's NonFinite is the tape's NonFinite).
    let bad = tape.var(mat![[1.0, f64::NAN], [0.0, 1.0]]);
    assert_eq!(
        bad.try_expm().unwrap_err(),
        TapeError::NonFinite { op: "expm" }
    );
    assert_eq!(
        panic_message(|| {
            let _ = bad.expm();
        }),
        "expm: NaN or infinite entries (overflow or invalid input)"
    );
    assert_eq!(
        bad.try_add(bad).unwrap_err(),
        TapeError::NonFinite { op: "add" }
    );
    assert_eq!(
        bad.try_apply(expgrad_tape::ops::Transpose, &[])
            .unwrap_err(),
        TapeError::NonFinite { op: "transpose" }
    );
    assert_eq!(
        tape.try_var(mat![[1.0, f64::NAN], [0.0, 1.0]]).unwrap_err(),
        TapeError::NonFinite { op: "var" }
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

#[test]
fn non_finite_values_are_stopped_where_they_appear() {
    let tape = Tape::<f64>::new();
    assert_eq!(
        tape.try_var(mat![[f64::NAN]]).unwrap_err(),
        TapeError::NonFinite { op: "var" }
    );
    assert_eq!(
        tape.try_constant(mat![[1.0, f64::INFINITY]]).unwrap_err(),
        TapeError::NonFinite { op: "constant" }
    );
    // Overflow inside an op: exp(800), 1e200 · 1e200, (1e300)², a matmul that overflows.
    let big = tape.var(mat![[800.0, 1.0]]);
    assert_eq!(
        big.try_apply(expgrad_tape::ops::Exp, &[]).unwrap_err(),
        TapeError::NonFinite { op: "exp" }
    );
    let h = tape.var(mat![[1e200]]);
    assert_eq!(
        h.try_mul(h).unwrap_err(),
        TapeError::NonFinite { op: "mul" }
    );
    assert_eq!(
        h.try_apply(expgrad_tape::ops::Square, &[]).unwrap_err(),
        TapeError::NonFinite { op: "square" }
    );
    let row = tape.var(mat![[1e300, 1e300]]);
    assert_eq!(
        row.try_matmul(row.transpose()).unwrap_err(),
        TapeError::NonFinite { op: "matmul" }
    );
    // A finite forward whose backward overflows: the cotangent 1e10 times e^700 ≈ 1e304.
    let x = tape.var(mat![[700.0]]);
    let y = x.exp();
    assert_eq!(
        y.try_backward_with(mat![[1e10]]).unwrap_err(),
        TapeError::NonFinite { op: "exp" }
    );
    // expm whose adjoint overflows: a finite e^X but an infinite L(Xᵀ, Ḡ). The VJP returns
    // the kernel's typed error; no NaN is ever used to carry it.
    let x = tape.var(mat![[700.0, 0.0], [0.0, 1.0]]);
    let f = x.expm();
    assert_eq!(
        f.try_backward_with(mat![[1e300, 0.0], [0.0, 0.0]])
            .unwrap_err(),
        TapeError::Linalg(LinalgError::Overflow { op: "expm" })
    );
    // Fan-out: two finite contributions whose sum overflows (found by the fuzzer).
    let x = tape.var(mat![[1e-10]]);
    let w = x.scale(1e308).add(x.scale(1e308));
    assert!(w.item().is_finite());
    assert_eq!(
        w.try_backward().unwrap_err(),
        TapeError::NonFinite { op: "scale" }
    );
}
