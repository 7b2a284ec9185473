//! Every `Var` op of the tape (`add` … `transpose`, `expm`, `expm_mul`, `expm_multiply`)
//! against finite differences (dot-product identity + full Jacobian), at shapes 1×1,
//! n×1, non-square, and with fan-out `f(x, x)`.
#![allow(clippy::cloned_ref_to_slice_refs)] // `&[x.clone()]` reads better in gradchecks
use expgrad_tape::{GradcheckOptions, Var, assert_gradcheck};
use expgrad_testkit::uniform_mat;
use faer::Mat;

const SHAPES: [(usize, usize); 4] = [(1, 1), (4, 1), (3, 5), (4, 4)];

#[test]
fn binary_elementwise_ops() {
    for (k, &(r, c)) in SHAPES.iter().enumerate() {
        let a = uniform_mat(k as u64, r, c, -2.0..2.0);
        let b = uniform_mat(100 + k as u64, r, c, 0.5..2.0); // away from 0 for div
        let inputs = [a.clone(), b.clone()];
        assert_gradcheck!(|x: &[Var]| x[0].add(x[1]), &inputs);
        assert_gradcheck!(|x: &[Var]| x[0].sub(x[1]), &inputs);
        assert_gradcheck!(|x: &[Var]| x[0].mul(x[1]), &inputs);
        assert_gradcheck!(|x: &[Var]| x[0].div(x[1]), &inputs);
        assert_gradcheck!(|x: &[Var]| x[0].dot(x[1]), &inputs);
        // Fan-out: the same Var in both slots accumulates two contributions.
        assert_gradcheck!(|x: &[Var]| x[0].add(x[0]), &[a.clone()]);
        assert_gradcheck!(|x: &[Var]| x[0].mul(x[0]), &[a.clone()]);
        assert_gradcheck!(|x: &[Var]| x[0].sub(x[0].square()), &[a.clone()]);
        assert_gradcheck!(
            |x: &[Var]| x[1].div(x[1].mul(x[0])),
            &[b.clone() + &b, b.clone()]
        );
        assert_gradcheck!(|x: &[Var]| x[0].dot(x[0]), &[a.clone()]);
    }
}

#[test]
fn unary_ops() {
    for (k, &(r, c)) in SHAPES.iter().enumerate() {
        let a = uniform_mat(10 + k as u64, r, c, -1.5..1.5);
        let pos = uniform_mat(20 + k as u64, r, c, 0.2..3.0);
        assert_gradcheck!(|x: &[Var]| x[0].neg(), &[a.clone()]);
        assert_gradcheck!(|x: &[Var]| x[0].scale(-2.5), &[a.clone()]);
        assert_gradcheck!(|x: &[Var]| x[0].transpose(), &[a.clone()]);
        assert_gradcheck!(|x: &[Var]| x[0].sum(), &[a.clone()]);
        assert_gradcheck!(|x: &[Var]| x[0].exp(), &[a.clone()]);
        assert_gradcheck!(|x: &[Var]| x[0].log(), &[pos.clone()]);
        assert_gradcheck!(|x: &[Var]| x[0].square(), &[a.clone()]);
        assert_gradcheck!(|x: &[Var]| x[0].vec(), &[a.clone()]);
        assert_gradcheck!(|x: &[Var]| x[0].reshape(c, r), &[a.clone()]);
        assert_gradcheck!(
            |x: &[Var]| x[0].sum().broadcast(r, c).mul(x[0]),
            &[a.clone()]
        );
        assert_gradcheck!(|x: &[Var]| x[0].exp().mul(x[0].log()), &[pos.clone()]);
    }
}

#[test]
fn matmul_trace_transpose() {
    for (m, k, n) in [(1, 1, 1), (4, 1, 3), (1, 4, 1), (3, 5, 2), (6, 6, 6)] {
        let a = uniform_mat(m as u64, m, k, -1.0..1.0);
        let b = uniform_mat(50 + n as u64, k, n, -1.0..1.0);
        assert_gradcheck!(|x: &[Var]| x[0].matmul(x[1]), &[a.clone(), b.clone()]);
        assert_gradcheck!(|x: &[Var]| x[0].matmul(x[0].transpose()), &[a.clone()]);
        assert_gradcheck!(
            |x: &[Var]| x[0].transpose().matmul(x[0]).trace(),
            &[a.clone()]
        );
    }
    let sq = uniform_mat(7, 5, 5, -1.0..1.0);
    assert_gradcheck!(|x: &[Var]| x[0].trace(), &[sq.clone()]);
    assert_gradcheck!(|x: &[Var]| x[0].matmul(x[0]).matmul(x[0]), &[sq]);
}

#[test]
fn expm_op_every_shape_and_degree() {
    // Norms hitting Padé degrees 3..13 and several squarings; 1×1 and fan-out.
    for n in [1usize, 2, 5] {
        for target in [1e-3, 0.1, 0.8, 2.0, 5.0, 30.0] {
            let a = uniform_mat(n as u64 * 7 + (target * 10.0) as u64, n, n, -1.0..1.0);
            let x = &a * faer::Scale(target / expgrad_linalg::norm1(a.as_ref()));
            let v = uniform_mat(3, n, 2, -1.0..1.0);
            // The function grows like e^{‖X‖}: tolerances stay relative.
            let opts = GradcheckOptions {
                step: 1e-3 / target.max(1.0),
                ..Default::default()
            };
            assert_gradcheck!(|x: &[Var]| x[0].expm(), &[x.clone()], &opts);
            assert_gradcheck!(
                |x: &[Var]| x[0].expm().matmul(x[1]),
                &[x.clone(), v.clone()],
                &opts
            );
            assert_gradcheck!(|x: &[Var]| x[0].expm().matmul(x[0]), &[x.clone()], &opts);
            assert_gradcheck!(
                |x: &[Var]| x[0].expm_mul(x[1]),
                &[x.clone(), v.clone()],
                &opts
            );
            assert_gradcheck!(|x: &[Var]| x[0].expm_mul(x[0]), &[x.clone()], &opts);
            assert_gradcheck!(
                |x: &[Var]| x[0].matmul(x[0]).scale(0.1).expm().trace(),
                &[x.clone()],
                &opts
            );
        }
    }
}

#[test]
fn expm_mul_matches_expm_then_matmul() {
    // The factored VJP against the generic one, with squarings (‖X‖₁ ≈ 12) and k = 3.
    use expgrad_tape::Tape;
    let n = 30;
    let a = uniform_mat(77, n, n, -1.0..1.0);
    let x = &a * faer::Scale(12.0 / expgrad_linalg::norm1(a.as_ref()));
    let v = uniform_mat(78, n, 3, -1.0..1.0);
    let c = uniform_mat(79, n, 3, -1.0..1.0);
    let grads = |fused: bool| {
        let tape = Tape::new();
        let (xv, vv) = (tape.var(x.clone()), tape.var(v.clone()));
        let w = if fused {
            xv.expm_mul(vv)
        } else {
            xv.expm().matmul(vv)
        };
        let g = w.dot(tape.constant(c.clone())).backward();
        (g.wrt(xv), g.wrt(vv))
    };
    let ((x1, v1), (x2, v2)) = (grads(true), grads(false));
    assert!((&x1 - &x2).norm_max() <= 1e-13 * x2.norm_max(), "X̄");
    assert!((&v1 - &v2).norm_max() <= 1e-13 * v2.norm_max(), "V̄");
    let tape = Tape::new();
    let e = tape
        .var(x.clone())
        .try_expm_mul(tape.constant(Mat::zeros(n + 1, 1)))
        .unwrap_err();
    assert!(e.to_string().contains("expm_mul"), "{e}");
}

#[test]
fn expm_multiply_gradchecks_x_v_and_t() {
    // exp(t·X)·V by the action of the exponential: X, V, t all tracked, t of both signs, k = 2,
    // and the fan-out V = X's first columns.
    for (n, target) in [(1usize, 0.5), (3, 2.0), (5, 6.0)] {
        let a = uniform_mat(90 + n as u64, n, n, -1.0..1.0);
        let x = &a * faer::Scale(target / expgrad_linalg::norm1(a.as_ref()).max(1e-300));
        let v = uniform_mat(91, n, 2, -1.0..1.0);
        for t in [0.8, -1.1] {
            let tm = Mat::from_fn(1, 1, |_, _| t);
            let opts = GradcheckOptions {
                step: 1e-3 / target.max(1.0),
                ..Default::default()
            };
            assert_gradcheck!(
                |x: &[Var]| x[0].expm_multiply(x[1], x[2]),
                &[x.clone(), v.clone(), tm.clone()],
                &opts
            );
        }
    }
}
