//! Plain operands and the small ops a model needs: `IntoVar` (`&Mat`, `Mat`, numbers),
//! `Var::scale` by a number or a tracked scalar (`ScaleBy`), `slice`/`entry`/`col`/`row`
//! (`Slice`), `add_n`, `Tape::scalar` — each op with a finite-difference gradient check.
use expgrad_tape::ops::{ScaleBy, Slice};
use expgrad_tape::{Tape, TapeError, Var, add_n, assert_gradcheck, try_add_n};
use faer::{Mat, mat};

fn m(r: usize, c: usize, seed: f64) -> Mat<f64> {
    Mat::from_fn(r, c, |i, j| ((1 + i + 3 * j) as f64 * seed).sin())
}

#[test]
fn scale_by_a_tracked_scalar_gradchecks() {
    assert_gradcheck!(
        |xs: &[Var]| xs[0].scale(xs[1]).matmul(xs[0]).sum(),
        &[m(3, 3, 0.7), mat![[-1.3]]]
    );
    assert_gradcheck!(
        |xs: &[Var]| xs[0].apply(ScaleBy, &[xs[1]]),
        &[m(2, 4, 0.3), mat![[0.4]]]
    );
}

#[test]
fn scale_by_a_number_or_a_var_agree() {
    let tape = Tape::new();
    let x = tape.var(m(3, 2, 0.9));
    let a = x.scale(2.5).value();
    let b = x.scale(tape.scalar(2.5)).value();
    assert_eq!(a, b);
    // The factor must be 1×1, and finite.
    assert!(matches!(
        x.try_scale(x).unwrap_err(),
        TapeError::ShapeMismatch { op: "scale", .. }
    ));
    assert!(matches!(
        x.try_scale(f64::NAN).unwrap_err(),
        TapeError::Domain { op: "scale", .. }
    ));
}

#[test]
fn slices_gradcheck_and_check_their_ranges() {
    assert_gradcheck!(|xs: &[Var]| xs[0].slice(1..3, 0..2).expm(), &[m(4, 3, 0.5)]);
    assert_gradcheck!(
        |xs: &[Var]| xs[0].entry(2, 1).matmul(xs[0].row(0)),
        &[m(3, 2, 1.1)]
    );
    assert_gradcheck!(|xs: &[Var]| xs[0].col(1).dot(xs[0].col(0)), &[m(3, 2, 0.2)]);
    assert_gradcheck!(
        |xs: &[Var]| xs[0]
            .apply(
                Slice {
                    rows: 0..0,
                    cols: 0..2
                },
                &[]
            )
            .sum(),
        &[m(2, 2, 0.4)]
    );
    let tape = Tape::new();
    let x = tape.var(m(2, 3, 0.3));
    assert_eq!(
        x.try_slice(0..3, 0..1).unwrap_err(),
        TapeError::ShapeMismatch {
            op: "slice",
            lhs: (2, 3),
            rhs: (3, 1)
        }
    );
    assert!(x.try_entry(1, 3).is_err());
    assert!(x.try_col(3).is_err());
    assert!(x.try_row(2).is_err());
}

#[test]
fn add_n_gradchecks_and_rejects_empty_and_mixed_shapes() {
    assert_gradcheck!(
        |xs: &[Var]| add_n(&[xs[0], xs[1].square(), xs[0].scale(0.5)]),
        &[m(2, 2, 0.3), m(2, 2, 0.8)]
    );
    let tape = Tape::<f64>::new();
    assert!(matches!(
        try_add_n::<f64>(&[]).unwrap_err(),
        TapeError::Domain { op: "add_n", .. }
    ));
    let (a, b) = (tape.var(m(2, 2, 0.1)), tape.var(m(2, 1, 0.1)));
    assert!(matches!(
        try_add_n(&[a, b]).unwrap_err(),
        TapeError::ShapeMismatch { op: "add", .. }
    ));
}

#[test]
fn plain_operands_are_recorded_as_constants() {
    let tape = Tape::new();
    let x = tape.var(m(3, 3, 0.4));
    let a = m(3, 3, 0.9);
    let v = m(3, 1, 0.6);
    // x·A + A, ⟨·, A⟩, and the action with a plain V and a number t.
    let y = x.matmul(&a).add(a.as_ref()).dot(a.clone());
    let w = x.expm_multiply(&v, 0.3).sum();
    let len = tape.len();
    let g = y.add(w).backward();
    assert_eq!(g.wrt(x).shape(), (3, 3));
    // Same values as with explicit constants.
    let tape2 = Tape::new();
    let x2 = tape2.var(m(3, 3, 0.4));
    let (ac, vc, t) = (
        tape2.constant(a.clone()),
        tape2.constant(v.clone()),
        tape2.scalar(0.3),
    );
    let y2 = x2.matmul(ac).add(ac).dot(ac);
    let w2 = x2.expm_multiply(vc, t).sum();
    let g2 = y2.add(w2).backward();
    assert_eq!(g.wrt(x), g2.wrt(x2));
    assert!(len > 0);
}

#[test]
fn f32_scalars_work_too() {
    let tape = Tape::<f32>::new();
    let x = tape.var(Mat::from_fn(2, 2, |i, j| (i as f32 - j as f32) * 0.25));
    let y = x
        .scale(2.0f32)
        .scale(tape.scalar(0.5f32))
        .expm_multiply(Mat::from_fn(2, 1, |_, _| 1.0f32), 0.5f32);
    assert_eq!(y.shape(), (2, 1));
}

/// `y = 2x` with a VJP that is off by 2%: gradcheck must catch it, in f32 as in f64.
struct WrongDouble;
impl<T: expgrad_tape::Real> expgrad_tape::Op<T> for WrongDouble {
    type Residual = ();
    fn name(&self) -> &'static str {
        "wrong_double"
    }
    fn forward(&self, x: &[faer::MatRef<'_, T>]) -> Result<(Mat<T>, ()), TapeError> {
        Ok((x[0] * faer::Scale(T::from(2.0).unwrap()), ()))
    }
    fn vjp(
        &self,
        _: &(),
        _: &[faer::MatRef<'_, T>],
        _: faer::MatRef<'_, T>,
        g: faer::MatRef<'_, T>,
        needs: &[bool],
    ) -> Result<Vec<Option<Mat<T>>>, TapeError> {
        Ok(vec![
            needs[0].then(|| g * faer::Scale(T::from(2.04).unwrap())),
        ])
    }
}

#[test]
fn gradcheck_is_generic_over_f32_and_f64_and_can_fail() {
    let x32 = Mat::from_fn(3, 3, |i, j| ((i + 2 * j) as f32 * 0.37).sin() * 0.5);
    let x64 = Mat::from_fn(3, 3, |i, j| ((i + 2 * j) as f64 * 0.37).sin() * 0.5);
    assert_gradcheck!(
        |xs: &[Var<f32>]| xs[0].expm().matmul(xs[0]).sum(),
        std::slice::from_ref(&x32)
    );
    assert_gradcheck!(
        |xs: &[Var<f64>]| xs[0].expm().matmul(xs[0]).sum(),
        std::slice::from_ref(&x64)
    );
    let r32 = expgrad_tape::gradcheck(|xs: &[Var<f32>]| xs[0].apply(WrongDouble, &[]), &[x32]);
    let r64 = expgrad_tape::gradcheck(|xs: &[Var<f64>]| xs[0].apply(WrongDouble, &[]), &[x64]);
    assert!(!r32.passed && !r64.passed, "{r32}\n{r64}");
}

#[test]
fn value_and_grad_matches_the_tape_and_reports_errors() {
    let x = m(3, 3, 0.6);
    let (v, g) = expgrad_tape::value_and_grad(|x| x.expm().vec().entry(4, 0), &x);
    let tape = Tape::new();
    let xv = tape.var(x.clone());
    let out = xv.expm().entry(1, 1);
    assert_eq!(v, out.item());
    assert_eq!(g, out.backward().wrt(xv));
    // Errors come back typed: a non-scalar output, an overflow.
    assert!(matches!(
        expgrad_tape::try_value_and_grad(|x| Ok(x.expm()), &x).unwrap_err(),
        TapeError::NotScalar { .. }
    ));
    let big = Mat::from_fn(2, 2, |i, j| if i == j { 800.0 } else { 0.0 });
    assert!(matches!(
        expgrad_tape::try_value_and_grad(|x| x.try_expm()?.try_sum(), &big).unwrap_err(),
        TapeError::Linalg(_)
    ));
    let tape = Tape::<f64>::new();
    assert_eq!(tape.var(m(2, 3, 0.1)).try_vec().unwrap().shape(), (6, 1));
}
