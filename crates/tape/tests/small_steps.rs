//! Optimisation-loop reuse at small n, where the tape recycles its buffers and small
//! matrices (the reverse sweep's adjoint list, node values and cotangents through the
//! per-thread pool of small matrices, `Op::vjp_into`): every step on a reused tape gives
//! bitwise the result of a fresh tape and of the direct linalg route; results handed out
//! (`wrt`, `get`, `value`) are never aliased by later steps; `Gradients` may outlive a
//! second sweep; a custom op that keeps the default `vjp_into` mixes with those that override it.
use expgrad_linalg::Expm;
use expgrad_tape::{Op, Tape, TapeError};
use expgrad_testkit::{randn, rng};
use faer::{Mat, MatRef};

fn step(tape: &Tape, x: &Mat<f64>, v: &Mat<f64>, c: &Mat<f64>) -> (f64, Mat<f64>, Mat<f64>) {
    let xv = tape.var(x.clone());
    let vv = tape.var(v.clone());
    let loss = tape.constant(c.clone()).dot(xv.expm_mul(vv));
    let g = loss.backward();
    (loss.item(), g.wrt(xv), g.wrt(vv))
}

#[test]
fn reused_tape_steps_are_fresh_tape_steps_bitwise() {
    let mut r = rng(4401);
    for n in 2..=13 {
        let x = randn(&mut r, n, n) * faer::Scale(1.2 / (n as f64).sqrt());
        let (v, c) = (randn(&mut r, n, 1), randn(&mut r, n, 1));
        let fresh = step(&Tape::new(), &x, &v, &c);
        // The direct route: the same forward and the same factored adjoint.
        let f = Expm::new(x.as_ref());
        assert_eq!(
            fresh.1,
            f.frechet_adjoint_factored(c.as_ref(), v.as_ref()),
            "n={n}"
        );
        let tape = Tape::new();
        let mut kept = Vec::new();
        for _ in 0..20 {
            tape.clear();
            let s = step(&tape, &x, &v, &c);
            assert_eq!(s.0.to_bits(), fresh.0.to_bits(), "n={n}");
            assert_eq!(s.1, fresh.1, "n={n}");
            assert_eq!(s.2, fresh.2, "n={n}");
            kept.push(s);
        }
        // Results handed out earlier were not reused by later steps.
        for s in &kept {
            assert_eq!(s.1, fresh.1);
            assert_eq!(s.2, fresh.2);
        }
    }
}

#[test]
fn gradients_outlive_a_second_sweep_and_are_not_aliased() {
    let mut r = rng(4402);
    let n = 4;
    let x0 = randn(&mut r, n, n) * faer::Scale(0.5);
    let tape = Tape::new();
    let x = tape.var(x0.clone());
    let y = x.expm().sum();
    let z = x.expm().trace();
    let gy = y.backward();
    let gz = z.backward();
    let (a, b) = (gy.wrt(x), gz.wrt(x));
    let mut c = gy.wrt(x);
    c[(0, 0)] = 1e9;
    assert_eq!(gy.get(x).unwrap(), &a);
    drop(gy);
    let gy2 = y.backward();
    assert_eq!(gy2.wrt(x), a);
    assert_eq!(gz.wrt(x), b);
    let value = y.value();
    drop((gy2, gz));
    tape.clear();
    let x = tape.var(x0.clone());
    let y2 = x.expm().sum();
    assert_eq!(y2.value(), value);
    assert_eq!(y2.backward().wrt(x), a);
}

/// `y = 2x` with only `Op::vjp` (the default `vjp_into`).
struct Twice;
impl Op<f64> for Twice {
    type Residual = ();
    fn name(&self) -> &'static str {
        "twice"
    }
    fn forward(&self, x: &[MatRef<'_, f64>]) -> Result<(Mat<f64>, ()), TapeError> {
        Ok((x[0] * faer::Scale(2.0), ()))
    }
    fn vjp(
        &self,
        _: &(),
        _: &[MatRef<'_, f64>],
        _: MatRef<'_, f64>,
        g: MatRef<'_, f64>,
        needs: &[bool],
    ) -> Result<Vec<Option<Mat<f64>>>, TapeError> {
        Ok(vec![needs[0].then(|| g * faer::Scale(2.0))])
    }
}

#[test]
fn default_vjp_into_mixes_with_the_overrides() {
    let mut r = rng(4403);
    let n = 5;
    let (x0, v0, c0) = (
        randn(&mut r, n, n) * faer::Scale(0.3),
        randn(&mut r, n, 1),
        randn(&mut r, n, 1),
    );
    let tape = Tape::new();
    for _ in 0..3 {
        tape.clear();
        let x = tape.var(x0.clone());
        let w = x.apply(Twice, &[]).expm_mul(tape.constant(v0.clone()));
        let loss = tape.constant(c0.clone()).dot(w.apply(Twice, &[]));
        let g = loss.backward().wrt(x);
        let x2 = &x0 * faer::Scale(2.0);
        let want = Expm::new(x2.as_ref()).frechet_adjoint_factored(c0.as_ref(), v0.as_ref())
            * faer::Scale(4.0);
        assert!((&g - &want).norm_max() <= 1e-14 * want.norm_max());
    }
}
