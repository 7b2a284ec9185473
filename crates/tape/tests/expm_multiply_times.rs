//! `Var::expm_multiply_times`: values against separate `expm_multiply` nodes and the dense
//! route, gradients of `X`, `V` and every `t_k` against finite differences (`gradcheck`), the
//! JVP (`jvpcheck`), errors.
use expgrad_tape::{Tape, TapeError, gradcheck, jvpcheck};
use faer::{Mat, mat};

fn x0() -> Mat<f64> {
    mat![[-1.0, 0.5, 0.1], [0.2, -0.3, 0.4], [0.0, 0.6, -0.8f64]]
}

#[test]
fn values_match_separate_nodes_and_dense() {
    let tape = Tape::new();
    let x = tape.var(x0());
    let v = tape.constant(mat![[1.0, 0.0], [2.0, 1.0], [-1.0, 0.5]]);
    let times = [-1.2, -0.4, 0.0, 0.0, 0.9, 2.5];
    let t = tape.constant(Mat::from_fn(times.len(), 1, |i, _| times[i]));
    let w = x.expm_multiply_times(v, t);
    assert_eq!(w.value().shape(), (3, 12));
    let mut worst = 0.0f64;
    for (c, &tk) in times.iter().enumerate() {
        let one = x.expm_multiply(v, tape.constant(mat![[tk]])).value();
        let dense = x.scale(tk).expm().matmul(v).value();
        let got = w.value().subcols(2 * c, 2).to_owned();
        let e = (&got - &one).norm_max().max((&got - &dense).norm_max());
        worst = worst.max(e);
        assert!(e < 1e-13, "t = {tk}: {e:e}");
    }
    println!("worst abs error vs separate nodes and dense {worst:e}");
}

#[test]
fn gradients_of_x_v_and_every_time() {
    let times = Mat::from_fn(5, 1, |i, _| [-0.8, -0.1, 0.3, 1.0, 1.7][i]);
    let v = mat![[1.0], [-0.5], [0.25f64]];
    let r = gradcheck(
        |a| a[0].expm_multiply_times(a[1], a[2]).abs2().sum(),
        &[x0(), v.clone(), times.clone()],
    );
    println!("{r}");
    assert!(r.passed, "{r}");
    let j = jvpcheck(|a| a[0].expm_multiply_times(a[1], a[2]), &[x0(), v, times]);
    println!("{j}");
    assert!(j.passed, "{j}");
}

#[test]
fn errors_are_typed() {
    let tape = Tape::new();
    let x = tape.var(x0());
    let v = tape.constant(mat![[1.0], [0.0], [0.0]]);
    let unsorted = tape.constant(mat![[1.0], [0.5]]);
    assert!(matches!(
        x.try_expm_multiply_times(v, unsorted),
        Err(TapeError::Domain { .. })
    ));
    let nan = tape.constant(mat![[0.0], [f64::NAN]]);
    assert!(x.try_expm_multiply_times(v, nan).is_err());
    let row = tape.constant(mat![[0.0, 1.0]]);
    assert!(matches!(
        x.try_expm_multiply_times(v, row),
        Err(TapeError::ShapeMismatch { .. })
    ));
    let huge = tape.constant(mat![[0.0], [1e300]]);
    assert!(matches!(
        x.try_expm_multiply_times(v, huge),
        Err(TapeError::Linalg(
            expgrad_linalg::LinalgError::Budget { .. }
        ))
    ));
}
