//! `Tape`, `Var` and `Gradients` semantics: gradients bookkeeping, constants, fan-out,
//! jacobian, clear, Debug.
use expgrad_linalg::{Expm, expm_frechet_block};
use expgrad_tape::{Tape, TapeError};
use faer::{Mat, mat};

fn close(a: &Mat<f64>, b: &Mat<f64>, tol: f64) -> bool {
    a.shape() == b.shape() && (a - b).norm_max() <= tol * b.norm_max().max(1.0)
}

#[test]
fn gradients_wrt_get_and_constants() {
    let tape = Tape::new();
    let x = tape.var(mat![[1.0, 2.0], [3.0, 4.0]]);
    let unused = tape.var(mat![[5.0]]);
    let c = tape.constant(mat![[0.5, 0.0], [0.0, 2.0]]);
    let loss = x.mul(c).sum();
    let g = loss.backward();
    assert_eq!(g.wrt(x), mat![[0.5, 0.0], [0.0, 2.0]]);
    assert!(g.get(c).is_none(), "constants get no adjoint");
    assert!(g.get(unused).is_none());
    assert_eq!(g.wrt(unused), Mat::<f64>::zeros(1, 1));
    // A Var created after backward: zeros of its shape.
    let later = tape.var(Mat::<f64>::zeros(2, 3));
    assert_eq!(g.wrt(later), Mat::<f64>::zeros(2, 3));
    assert!(g.get(later).is_none());
}

#[test]
fn ops_on_constants_record_no_op() {
    let tape = Tape::<f64>::new();
    let a = tape.constant(mat![[0.1, 0.2], [0.3, 0.4]]);
    let b = a.expm().matmul(a).sum();
    assert!(!b.is_tracked());
    let listing = format!("{tape:?}");
    assert!(
        !listing.contains("expm"),
        "no op node for constant-only inputs:\n{listing}"
    );
    // backward of an untracked output: nothing reached.
    let g = b.backward();
    assert!(g.get(a).is_none());
}

#[test]
fn fan_out_accumulates() {
    // f(x) = ⟨x, x⟩ + sum(x ∘ x ∘ x): f' = 2x + 3x².
    let tape = Tape::new();
    let x = tape.var(mat![[1.0, -2.0, 0.5]]);
    let loss = x.dot(x).add(x.mul(x).mul(x).sum());
    let g = loss.backward().wrt(x);
    assert_eq!(g, mat![[2.0 + 3.0, -4.0 + 12.0, 1.0 + 0.75]]);
}

#[test]
fn expm_vjp_matches_block_and_is_one_node() {
    for (n, scale) in [(1usize, 0.5), (3, 0.01), (4, 1.0), (6, 4.0), (5, 40.0)] {
        let x = Mat::<f64>::from_fn(n, n, |i, j| {
            scale * ((i * 3 + j * 5) % 7) as f64 / 7.0 - scale * 0.4
        });
        let gbar = Mat::<f64>::from_fn(n, n, |i, j| ((i + 2 * j) % 5) as f64 - 2.0);
        let tape = Tape::new();
        let xv = tape.var(x.clone());
        let f = xv.expm();
        let g = f.backward_with(gbar.clone()).wrt(xv);
        // L(Xᵀ, Ḡ) = upper-right block of exp([[Xᵀ, Ḡ], [0, Xᵀ]]).
        let (_, want) = expm_frechet_block(x.transpose(), gbar.as_ref());
        assert!(
            close(&g, &want, 1e-12),
            "n={n} scale={scale}: {:e}",
            (&g - &want).norm_max()
        );
        assert_eq!(g, Expm::new(x.as_ref()).frechet_adjoint(gbar.as_ref()));
        assert_eq!(tape.len(), 2, "var + one expm node");
    }
}

#[test]
fn jacobian_rows_are_backward_with_unit_seeds() {
    let tape = Tape::new();
    let x = tape.var(mat![[0.2, -0.1], [0.4, 0.3]]);
    let v = tape.var(mat![[1.0, 0.5], [-1.0, 2.0]]);
    let w = x.expm().matmul(v).transpose(); // 2×2 output
    let j = w.jacobian(x);
    assert_eq!(j.shape(), (4, 4));
    for k in 0..4 {
        let mut seed = Mat::<f64>::zeros(2, 2);
        seed[(k % 2, k / 2)] = 1.0;
        let g = w.backward_with(seed).wrt(x);
        for q in 0..2 {
            for p in 0..2 {
                assert_eq!(j[(k, p + 2 * q)], g[(p, q)]);
            }
        }
    }
    let jv = w.jacobian(v);
    assert_eq!(jv.shape(), (4, 4));
}

#[test]
fn clear_keeps_buffers_and_invalidates_vars() {
    let tape = Tape::new();
    let mut cap = 0;
    for step in 0..2000 {
        tape.clear();
        let x = tape.var(Mat::<f64>::from_fn(3, 3, |i, j| {
            0.01 * (i + j + step % 5) as f64
        }));
        let loss = x.expm().square().sum();
        let _ = loss.backward().wrt(x);
        if step == 10 {
            cap = tape.capacity();
        }
        if step > 10 {
            assert_eq!(tape.capacity(), cap);
        }
    }
    let old = tape.var(mat![[1.0]]);
    tape.clear();
    let fresh = tape.var(mat![[2.0]]);
    assert_eq!(
        fresh.try_add(old).unwrap_err(),
        TapeError::ForeignVar { op: "add" }
    );
}

#[test]
fn debug_lists_nodes() {
    let tape = Tape::new();
    let x = tape.var(Mat::<f64>::identity(3, 3));
    let v = tape.constant(Mat::<f64>::ones(3, 1));
    let _ = x.expm().matmul(v);
    let s = format!("{tape:?}");
    assert!(
        s.contains("#0") && s.contains("var") && s.contains("constant"),
        "{s}"
    );
    assert!(
        s.contains("expm")
            && s.contains("matmul")
            && s.contains("parents [2, 1]")
            && s.contains("(3x3, 3x1)"),
        "{s}"
    );
}

#[test]
fn f32_tape() {
    let tape = Tape::<f32>::new();
    let x = tape.var(Mat::<f32>::from_fn(2, 2, |i, j| {
        0.1 * (i as f32 - j as f32)
    }));
    let g = x.expm().trace().backward().wrt(x);
    // d tr(e^X)/dX = (e^X)ᵀ
    let want = expgrad_linalg::expm(x.value().as_ref())
        .transpose()
        .to_owned();
    assert!((&g - &want).norm_max() < 1e-6);
}

#[test]
fn a_million_steps_keep_flat_memory() {
    // 10⁶ forward + backward steps of a small model on one cleared tape: the node buffer stops
    // growing after the first step (release mode: a few seconds).
    let tape = Tape::new();
    let x0 = mat![[0.1, -0.2], [0.3, 0.05f64]];
    let mut cap_after_first = 0;
    let mut acc = 0.0;
    let steps = if cfg!(debug_assertions) {
        10_000
    } else {
        1_000_000
    };
    for step in 0..steps {
        tape.clear();
        let x = tape.var(x0.clone());
        let c = tape.constant(mat![[1.0, 0.0], [0.0, -1.0]]);
        let loss = x.mul(c).sum().square();
        acc += loss.backward().wrt(x)[(0, 0)];
        if step == 0 {
            cap_after_first = tape.capacity();
        } else {
            assert_eq!(
                tape.capacity(),
                cap_after_first,
                "buffer grew at step {step}"
            );
        }
    }
    assert!(acc.is_finite());
}

#[test]
fn empty_and_column_shapes() {
    let tape = Tape::<f64>::new();
    let e = tape.var(Mat::zeros(0, 0));
    let f = e.expm();
    assert_eq!(f.shape(), (0, 0));
    assert_eq!(f.backward_with(Mat::zeros(0, 0)).wrt(e).shape(), (0, 0));
    assert_eq!(e.sum().item(), 0.0);
    // n×1 columns through every shape-changing op.
    let v = tape.var(mat![[1.0], [2.0], [3.0]]);
    let g = v.transpose().matmul(v).backward().wrt(v);
    assert_eq!(g, mat![[2.0], [4.0], [6.0]]);
    assert_eq!(v.vec().shape(), (3, 1));
    assert_eq!(v.reshape(1, 3).shape(), (1, 3));
}
