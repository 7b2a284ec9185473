//! `expm_multiply_diag` / `expm_multiply_mul_diag` (one node each, the action of the
//! exponential with its discrete adjoint) against finite differences and against the dense
//! route `expm` on the tape, for dense, CSR and CSC `A`, Markov generators and Laplacians,
//! `d` with zeros, `t < 0` and k > 1.
#![allow(clippy::cloned_ref_to_slice_refs)]
use expgrad_diag::*;
use expgrad_tape::{Tape, TapeError, Var, assert_gradcheck};
use expgrad_testkit::{Boundary, csc, csr, neg_laplacian_1d, rand_mat, ring_generator};
use faer::Mat;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::sync::Arc;

/// The three storage forms of the same matrix.
fn forms(a: &Mat<f64>) -> [Arc<SparseOrDense<f64>>; 3] {
    [
        Arc::new(a.clone().into()),
        Arc::new(csr(a.as_ref()).into()),
        Arc::new(csc(a.as_ref()).into()),
    ]
}

/// A Markov generator on a ring with random rates (rows sum to zero).
fn generator(n: usize, seed: u64) -> Mat<f64> {
    ring_generator(n, seed)
}

/// The 1-D Neumann Laplacian, negated (negative semidefinite).
fn laplacian(n: usize) -> Mat<f64> {
    neg_laplacian_1d(n, Boundary::Neumann).dense()
}

#[test]
fn gradchecks_every_input_every_storage_both_sides() {
    for (k, n) in [(1usize, 1usize), (2, 4), (3, 6)] {
        let a = rand_mat(n as u64, n, n);
        let (d, v) = (rand_mat(10 + n as u64, n, 1), rand_mat(20 + n as u64, n, k));
        for t in [0.7, -1.3] {
            let tm = Mat::from_fn(1, 1, |_, _| t);
            for a in forms(&a) {
                assert_gradcheck!(
                    |x: &[Var]| expm_multiply_diag(x[0], &a, x[1], x[2]),
                    &[d.clone(), v.clone(), tm.clone()]
                );
                assert_gradcheck!(
                    |x: &[Var]| expm_multiply_mul_diag(&a, x[0], x[1], x[2]),
                    &[d.clone(), v.clone(), tm.clone()]
                );
            }
        }
    }
}

/// `(w, d̄, V̄, t̄)` of `ℓ = ⟨C, W⟩` through the action node, or through the dense route
/// `expm(t·X)·V` on the tape.
fn through(
    a: &Mat<f64>,
    form: Option<&Arc<SparseOrDense<f64>>>,
    side: Side,
    d: &Mat<f64>,
    v: &Mat<f64>,
    t: f64,
    c: &Mat<f64>,
) -> [Mat<f64>; 4] {
    let tape = Tape::new();
    let (dv, vv) = (tape.var(d.clone()), tape.var(v.clone()));
    let tv = tape.var(Mat::from_fn(1, 1, |_, _| t));
    let w = match (form, side) {
        (Some(f), Side::Left) => expm_multiply_diag(dv, f, vv, tv),
        (Some(f), Side::Right) => expm_multiply_mul_diag(f, dv, vv, tv),
        (None, side) => {
            let ac = tape.constant(a.clone());
            let x = match side {
                Side::Left => diag_mul(dv, ac),
                Side::Right => mul_diag(ac, dv),
            };
            // t·X through a broadcast of the 1×1 t.
            x.mul(tv.broadcast(a.nrows(), a.ncols())).expm().matmul(vv)
        }
    };
    let g = w.dot(tape.constant(c.clone())).backward();
    [w.value(), g.wrt(dv), g.wrt(vv), g.wrt(tv)]
}

fn rel(a: &Mat<f64>, b: &Mat<f64>) -> f64 {
    (a - b).norm_l2() / b.norm_l2().max(f64::MIN_POSITIVE)
}

#[test]
fn agrees_with_the_dense_expm_route() {
    let n = 40;
    let mut rng = StdRng::seed_from_u64(5);
    let cases = [
        ("random", rand_mat(1, n, n) * faer::Scale(0.5)),
        ("generator", generator(n, 2)),
        ("laplacian", laplacian(n)),
    ];
    let mut worst = 0.0f64;
    for (name, a) in cases {
        // d with zeros; t of both signs; k = 3.
        let d = Mat::from_fn(n, 1, |i, _| {
            if i % 7 == 0 {
                0.0
            } else {
                rng.random_range(0.2..2.0)
            }
        });
        let (v, c) = (rand_mat(3, n, 3), rand_mat(4, n, 3));
        for t in [1.5, -0.6] {
            for side in [Side::Left, Side::Right] {
                let dense = through(&a, None, side, &d, &v, t, &c);
                for form in forms(&a) {
                    let got = through(&a, Some(&form), side, &d, &v, t, &c);
                    for (q, (x, y)) in ["w", "d̄", "V̄", "t̄"].iter().zip(got.iter().zip(&dense))
                    {
                        let e = rel(x, y);
                        worst = worst.max(e);
                        // Two backward-stable algorithms (Taylor vs Padé) for a
                        // well-conditioned problem (‖tX‖ ≤ 8, κ ≲ 10²): agreement ~κ·u.
                        assert!(e < 1e-12, "{name} {side:?} t={t} {q}: {e:e}");
                    }
                }
            }
        }
    }
    eprintln!("worst relative difference from the dense route: {worst:.1e}");
}

#[test]
fn bad_input_names_the_op() {
    let a = Arc::new(SparseOrDense::from(rand_mat(1, 3, 3)));
    let tape = Tape::new();
    let d = tape.var(rand_mat(2, 2, 1));
    let v = tape.constant(rand_mat(3, 3, 1));
    let t = tape.constant(Mat::from_fn(1, 1, |_, _| 1.0));
    let opts = ExpmActionOptions::default();
    let e = try_expm_multiply_diag_with(d, &a, v, t, opts).unwrap_err();
    assert!(
        matches!(
            e,
            TapeError::ShapeMismatch {
                op: "expm_multiply_diag",
                ..
            }
        ),
        "{e}"
    );
    let d = tape.var(rand_mat(2, 3, 1));
    let bad_t = tape.constant(rand_mat(4, 1, 2));
    let e = try_expm_multiply_mul_diag_with(&a, d, v, bad_t, opts).unwrap_err();
    assert!(e.to_string().contains("expm_multiply_mul_diag"), "{e}");
    let nan = tape.constant(Mat::from_fn(1, 1, |_, _| f64::NAN));
    assert!(try_expm_multiply_diag_with(d, &a, v, nan, opts).is_err());
}

#[test]
fn huge_t_is_a_budget_error_not_an_abort() {
    // The reported abort: a stiff symmetric 24×24 A, t = 1e9, through the tape's diagonal
    // action and its dense twin; and a 5×5 at t = 1e20. Each is refused from the plan.
    let n = 24;
    let dense = Mat::<f64>::from_fn(n, n, |i, j| match i.abs_diff(j) {
        0 => -2.0 * (1.0 + i as f64),
        1 => 1.0,
        _ => 0.0,
    });
    let a = Arc::new(SparseOrDense::from(dense.clone()));
    let tape = Tape::new();
    let d = tape.var(Mat::from_fn(n, 1, |_, _| 1.0));
    let v = tape.constant(Mat::from_fn(n, 1, |i, _| 1.0 / (1.0 + i as f64)));
    for t in [1e9, -1e9, 1e20, 1e300] {
        let tv = tape.constant(Mat::from_fn(1, 1, |_, _| t));
        for e in [
            try_expm_multiply_diag(d, &a, v, tv).unwrap_err(),
            try_expm_multiply_mul_diag(&a, d, v, tv).unwrap_err(),
            tape.var(dense.clone())
                .try_expm_multiply(v, tv)
                .unwrap_err(),
        ] {
            assert!(
                matches!(
                    e,
                    TapeError::Linalg(expgrad_linalg::LinalgError::Budget { .. })
                ),
                "t = {t:e}: {e}"
            );
        }
    }
    // The panicking form names the op and the budget.
    let msg = std::panic::catch_unwind(|| {
        let tape = Tape::new();
        let d = tape.var(Mat::from_fn(n, 1, |_, _| 1.0));
        let v = tape.constant(Mat::from_fn(n, 1, |_, _| 1.0));
        let t = tape.constant(Mat::from_fn(1, 1, |_, _| 1e9));
        let _ = expm_multiply_diag(d, &a, v, t);
    })
    .unwrap_err();
    let msg = msg.downcast_ref::<String>().unwrap();
    assert!(
        msg.starts_with("expm_multiply_diag: ") && msg.contains("budget"),
        "{msg}"
    );
}
