//! `ℓ(d) = cᵀ exp(Diag(d)·A) v` at small n on a reused tape (the path of the n = 4 benchmark:
//! `diag_mul`'s `vjp_into`, the small-n `Expm`, the recycled buffers): every step bitwise
//! the fresh-tape step, and `d̄` the row sums of `X̄ ∘ A` with `X̄` from the direct linalg route.
use expgrad_diag::diag_mul;
use expgrad_linalg::Expm;
use expgrad_tape::Tape;
use expgrad_testkit::{randn, rng};
use faer::Mat;

#[test]
fn diag_expm_mul_steps_are_bitwise_repeatable() {
    let mut r = rng(5501);
    for n in 2..=13 {
        let a = randn(&mut r, n, n) * faer::Scale(1.0 / (n as f64).sqrt());
        let d = Mat::from_fn(n, 1, |i, _| 0.5 + (i as f64 * 0.37).fract());
        let (v, c) = (randn(&mut r, n, 1), randn(&mut r, n, 1));
        let run = |tape: &Tape| {
            let dv = tape.var(d.clone());
            let w = diag_mul(dv, tape.constant(a.clone())).expm_mul(tape.constant(v.clone()));
            let loss = tape.constant(c.clone()).dot(w);
            (loss.item(), loss.backward().wrt(dv))
        };
        let fresh = run(&Tape::new());
        let x = Mat::from_fn(n, n, |i, j| d[(i, 0)] * a[(i, j)]);
        let xbar = Expm::new(x.as_ref()).frechet_adjoint_factored(c.as_ref(), v.as_ref());
        let want = Mat::from_fn(n, 1, |i, _| {
            (0..n).fold(0.0, |s, j| s + xbar[(i, j)] * a[(i, j)])
        });
        assert_eq!(fresh.1, want, "n={n}");
        let tape = Tape::new();
        for _ in 0..10 {
            tape.clear();
            let s = run(&tape);
            assert_eq!(s.0.to_bits(), fresh.0.to_bits());
            assert_eq!(s.1, fresh.1);
        }
    }
}
