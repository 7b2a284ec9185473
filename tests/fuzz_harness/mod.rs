//! The fuzz harness: builds matrices and small op graphs from raw bytes and asserts that
//! `try_` forms never panic, that no `Ok` value or gradient holds NaN/∞, that every linalg
//! error of `expm` on finite square input is `Overflow`, and that the action of the
//! exponential at any `t` (up to ±10³⁰⁰) returns a finite value, `Overflow` or `Budget`. Run by the cargo-fuzz target in
//! `fuzz/` and, on the committed crash inputs, by `tests/fuzz_regressions.rs`.
#![allow(dead_code)]
use expgrad::diag::try_diag_mul;
use expgrad::linalg::{
    ActionBudget, Expm, ExpmAction, ExpmActionOptions, LinalgError, try_expm,
    try_expm_multiply_with,
};
use expgrad::tape::{Tape, Var};
use faer::Mat;

struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    fn byte(&mut self) -> u8 {
        match self.0.split_first() {
            Some((b, rest)) => {
                self.0 = rest;
                *b
            }
            None => 0,
        }
    }
    /// An entry: a 16-bit mantissa times 10^e with e from the scale byte (−300..=300, biased
    /// towards moderate values), or an exact special (0, ±1, huge).
    fn entry(&mut self, scale: i32) -> f64 {
        let tag = self.byte();
        let lo = self.byte();
        let m = i16::from_le_bytes([tag, lo]) as f64 / 4096.0;
        match tag % 16 {
            0 => 0.0,
            1 => 1.0,
            2 => -1.0,
            3 => 1e300 * m.signum(),
            _ => m * 10f64.powi(scale),
        }
    }
    fn matrix(&mut self, r: usize, c: usize) -> Mat<f64> {
        let s = self.byte();
        let scale = match s % 8 {
            0 => -300 + (s as i32 % 50),
            1 => 2 + (s as i32 % 4),
            _ => (s as i32 % 5) - 2,
        };
        Mat::from_fn(r, c, |_, _| self.entry(scale))
    }
}

fn all_finite(m: &Mat<f64>) -> bool {
    m.col_iter().all(|c| c.iter().all(|x| x.is_finite()))
}

/// One fuzz case.
pub fn run(data: &[u8]) {
    let mut b = Bytes(data);
    let n = 1 + (b.byte() % 6) as usize;
    let a = b.matrix(n, n);
    let e = b.matrix(n, n);
    // linalg: finite square input → Ok(finite) or Overflow.
    match try_expm(a.as_ref()) {
        Ok(v) => assert!(all_finite(&v), "expm returned a non-finite value for {a:?}"),
        Err(err) => assert_eq!(err, LinalgError::Overflow { op: "expm" }, "{a:?}"),
    }
    if let Ok(f) = Expm::try_new(a.as_ref()) {
        for l in [f.try_frechet(e.as_ref()), f.try_frechet_adjoint(e.as_ref())]
            .into_iter()
            .flatten()
        {
            assert!(
                all_finite(&l),
                "frechet returned a non-finite value for {a:?}, {e:?}"
            );
        }
    }
    // The action at any t: a small product budget keeps each case fast; a huge t must come
    // back as `Budget` (planned, never allocated), an overflow as `Overflow`.
    let k = 1 + (b.byte() % 2) as usize;
    let v = b.matrix(n, k);
    let t_scale = (b.byte() as i32 % 13 - 6) * 50;
    let t = b.entry(t_scale);
    let opts = ExpmActionOptions::default().budget(ActionBudget::default().products(20_000));
    match try_expm_multiply_with(&a, t, v.as_ref(), opts) {
        Ok((w, _)) => assert!(
            all_finite(&w),
            "expm_multiply: non-finite value at t = {t:e}"
        ),
        Err(err) => assert!(
            matches!(
                err,
                LinalgError::Overflow { .. } | LinalgError::Budget { .. }
            ) || !all_finite(&v),
            "expm_multiply at t = {t:e}: {err}"
        ),
    }
    if let Ok(act) = ExpmAction::try_new(&a, t, v.as_ref(), opts) {
        let mut xbar = act.cotangent();
        if let Ok((vbar, tbar)) = act.try_vjp(v.as_ref(), &mut xbar) {
            assert!(all_finite(&vbar) && tbar.is_finite());
        }
    }
    // tape: a small program over a stack of Vars.
    let tape = Tape::new();
    let Ok(x) = tape.try_var(a.clone()) else {
        return;
    };
    let Ok(d) = tape.try_var(b.matrix(n, 1)) else {
        return;
    };
    let mut stack: Vec<Var<'_>> = vec![x, d, tape.constant(e.clone())];
    for _ in 0..(b.byte() % 8) {
        let op = b.byte();
        let i = b.byte() as usize % stack.len();
        let j = b.byte() as usize % stack.len();
        let (p, q) = (stack[i], stack[j]);
        let r = match op % 13 {
            0 => p.try_add(q),
            1 => p.try_sub(q),
            2 => p.try_mul(q),
            3 => p.try_matmul(q),
            4 => Ok(p.transpose()),
            5 => p.try_expm(),
            6 => p.try_apply(expgrad::tape::ops::Scale(b.entry(0)), &[]),
            7 => p.try_apply(expgrad::tape::ops::Square, &[]),
            8 => p.try_apply(expgrad::tape::ops::Exp, &[]),
            9 => p.try_dot(q),
            10 => try_diag_mul(q, p),
            11 => {
                let t = tape.constant(Mat::from_fn(1, 1, |_, _| b.entry(t_scale)));
                let opts =
                    ExpmActionOptions::default().budget(ActionBudget::default().products(20_000));
                p.try_expm_multiply_with(q, t, opts)
            }
            _ => p.try_div(q),
        };
        if let Ok(v) = r {
            assert!(all_finite(&v.value()));
            stack.push(v);
        }
    }
    let out = *stack.last().unwrap();
    let (r, c) = out.shape();
    if let Ok(g) = out.try_backward_with(Mat::from_fn(r, c, |i, j| 1.0 + (i + 2 * j) as f64)) {
        for v in [x, d] {
            assert!(all_finite(&g.wrt(v)), "non-finite gradient");
        }
    }
}
