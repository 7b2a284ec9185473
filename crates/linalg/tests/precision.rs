//! `expm` and `Expm::frechet` in f32 against f64, for both families of approximants: the
//! single-precision path (its own θ tables, u = 2⁻²⁴; Taylor up to T18, Padé up to degree 7)
//! agrees with the double-precision result to the f32 tolerance `2(3n + s)·u₃₂·κ`.
mod common;
use common::*;
use expgrad_linalg::*;
use faer::Mat;

#[test]
fn f32_matches_f64_within_its_condition_bound() {
    let mut r = rng(41);
    let u32_ = f32::EPSILON as f64 / 2.0;
    for (n, target, family) in [1usize, 2, 4, 7, 16]
        .into_iter()
        .flat_map(|n| [1e-3, 0.3, 2.0, 6.0, 12.0, 60.0].map(|t| (n, t)))
        .flat_map(|(n, t)| FAMILIES.map(|f| (n, t, f)))
    {
        {
            let a = randn(&mut r, n, n);
            let x = &a * faer::Scale(target / norm1(a.as_ref()).max(1e-300));
            let x32 = Mat::<f32>::from_fn(n, n, |i, j| x[(i, j)] as f32);
            // Compare against the f64 exponential of the *rounded* f32 input.
            let x_back = Mat::<f64>::from_fn(n, n, |i, j| x32[(i, j)] as f64);
            let want = expm(x_back.as_ref());
            let f32res = Expm::try_new_with(x32.as_ref(), family).unwrap();
            let got = Mat::<f64>::from_fn(n, n, |i, j| f32res.value()[(i, j)] as f64);
            let s = f32res.params().1 as f64;
            let tol = 2.0 * (3.0 * n as f64 + s) * u32_ * cond_exp(x_back.as_ref()).max(1.0);
            let err = rel_err(got.as_ref(), want.as_ref());
            assert!(
                err <= tol,
                "{family:?} n={n} ‖X‖={target}: f32 error {err:.2e} > {tol:.2e} (params {:?})",
                f32res.params()
            );
            // And the Fréchet derivative.
            let e = randn(&mut r, n, n);
            let e32 = Mat::<f32>::from_fn(n, n, |i, j| e[(i, j)] as f32);
            let e_back = Mat::<f64>::from_fn(n, n, |i, j| e32[(i, j)] as f64);
            let lw = Expm::new(x_back.as_ref()).frechet(e_back.as_ref());
            let l32 = f32res.frechet(e32.as_ref());
            let lg = Mat::<f64>::from_fn(n, n, |i, j| l32[(i, j)] as f64);
            let err = rel_err(lg.as_ref(), lw.as_ref());
            assert!(
                err <= tol,
                "{family:?} n={n} ‖X‖={target}: f32 frechet error {err:.2e} > {tol:.2e}"
            );
        }
    }
}
