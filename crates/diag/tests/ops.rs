//! Tests of `diag_mul`, `mul_diag`, `diag_mul_diag`, `diag` and `diag_part` (and their `try_`
//! forms): gradchecks at shapes 1×1, n×1, non-square and with fan-out; untracked operands get
//! no adjoint; shape mismatches name both shapes.
#![allow(clippy::cloned_ref_to_slice_refs)] // `&[x.clone()]` reads better in gradchecks
use expgrad_diag::*;
use expgrad_tape::{Tape, TapeError, Var, assert_gradcheck};
use expgrad_testkit::{panic_message, rand_mat};
use faer::Mat;

#[test]
fn gradchecks_all_shapes() {
    for (k, (n, m)) in [(1usize, 1usize), (4, 1), (3, 5), (5, 3), (4, 4)]
        .into_iter()
        .enumerate()
    {
        let s = k as u64 * 10;
        let (d, a, r) = (
            rand_mat(s, n, 1),
            rand_mat(s + 1, n, m),
            rand_mat(s + 2, m, 1),
        );
        assert_gradcheck!(|x: &[Var]| diag_mul(x[0], x[1]), &[d.clone(), a.clone()]);
        assert_gradcheck!(|x: &[Var]| mul_diag(x[0], x[1]), &[a.clone(), r.clone()]);
        assert_gradcheck!(
            |x: &[Var]| diag_mul_diag(x[0], x[1], x[2]),
            &[d.clone(), a.clone(), r.clone()]
        );
        assert_gradcheck!(|x: &[Var]| diag(x[0]), &[d.clone()]);
        // Fan-out: d enters twice.
        assert_gradcheck!(|x: &[Var]| diag_mul(x[0], diag(x[0])), &[d.clone()]);
        assert_gradcheck!(
            |x: &[Var]| mul_diag(diag(x[0]), x[0]).mul(diag(x[0])),
            &[d.clone()]
        );
        assert_gradcheck!(
            |x: &[Var]| diag_mul_diag(x[0], diag(x[0]), x[0]),
            &[d.clone()]
        );
        let sq = rand_mat(s + 3, n, n);
        assert_gradcheck!(|x: &[Var]| diag_part(x[0]), &[sq.clone()]);
        assert_gradcheck!(
            |x: &[Var]| diag_part(diag_mul(diag_part(x[0]), x[0])),
            &[sq.clone()]
        );
        // The motivating composition, w = exp(Diag(d) A) v with A square.
        assert_gradcheck!(
            |x: &[Var]| diag_mul(x[0], x[1]).expm().matmul(x[2]),
            &[d.clone(), sq.clone(), rand_mat(s + 4, n, 2)]
        );
        assert_gradcheck!(
            |x: &[Var]| mul_diag(x[1], x[0]).expm().matmul(x[2]),
            &[d.clone(), sq.clone(), rand_mat(s + 4, n, 2)]
        );
    }
}

#[test]
fn untracked_operands_get_nothing() {
    let tape = Tape::new();
    let d = tape.constant(rand_mat(1, 3, 1));
    let a = tape.var(rand_mat(2, 3, 3));
    let g = diag_mul(d, a).expm().trace().backward();
    assert!(g.get(d).is_none() && g.get(a).is_some());
    let tape = Tape::new();
    let d = tape.var(rand_mat(1, 3, 1));
    let a = tape.constant(rand_mat(2, 3, 3));
    let g = mul_diag(a, d).sum().backward();
    assert!(g.get(a).is_none() && g.get(d).is_some());
    let both = Tape::<f64>::new();
    let x = diag_mul(
        both.constant(rand_mat(1, 2, 1)),
        both.constant(rand_mat(2, 2, 2)),
    );
    assert!(!x.is_tracked());
}

#[test]
fn shape_mismatches_name_both_shapes() {
    let tape = Tape::<f64>::new();
    let d = tape.var(Mat::zeros(3, 1));
    let a = tape.var(Mat::zeros(4, 2));
    assert_eq!(
        try_diag_mul(d, a).unwrap_err(),
        TapeError::ShapeMismatch {
            op: "diag_mul",
            lhs: (3, 1),
            rhs: (4, 2)
        }
    );
    assert_eq!(
        panic_message(|| {
            let _ = diag_mul(d, a);
        }),
        "diag_mul: shape mismatch: 3x1 vs 4x2"
    );
    assert_eq!(
        panic_message(|| {
            let _ = mul_diag(a, d);
        }),
        "mul_diag: shape mismatch: 3x1 vs 4x2"
    );
    assert_eq!(
        panic_message(|| {
            let _ = diag_mul_diag(d, a, d);
        }),
        "diag_mul_diag: shape mismatch: 3x1 vs 4x2"
    );
    assert_eq!(
        panic_message(|| {
            let _ = diag(a);
        }),
        "diag: shape mismatch: 4x2 vs 4x1"
    );
    assert_eq!(
        panic_message(|| {
            let _ = diag_part(a);
        }),
        "diag_part: expected a square matrix, got shape 4x2"
    );
}

#[test]
fn diag_mul_batch_gradcheck_and_agreement_with_diag_mul_per_block() {
    for (n, m, b) in [(1usize, 1usize, 1usize), (3, 3, 2), (4, 2, 3), (2, 5, 4)] {
        let d = rand_mat(60 + n as u64, n, b);
        let a = rand_mat(61 + m as u64, n, m * b);
        assert_gradcheck!(
            |x: &[Var]| diag_mul_batch(x[0], x[1]),
            &[d.clone(), a.clone()]
        );
        let tape = Tape::new();
        let x = diag_mul_batch(tape.var(d.clone()), tape.constant(a.clone())).value();
        for k in 0..b {
            let dk = tape.var(d.subcols(k, 1).to_owned());
            let xk = diag_mul(dk, tape.constant(a.subcols(k * m, m).to_owned())).value();
            assert_eq!(x.subcols(k * m, m), xk.as_ref());
        }
    }
    let tape = Tape::new();
    let e = try_diag_mul_batch(
        tape.var(Mat::<f64>::zeros(2, 2)),
        tape.constant(Mat::<f64>::zeros(2, 3)),
    )
    .unwrap_err();
    assert!(
        matches!(
            e,
            TapeError::ShapeMismatch {
                op: "diag_mul_batch",
                ..
            }
        ),
        "{e}"
    );
}
