//! A first look at expgrad's matrix exponential: `exp(A)`, its Fréchet derivative, and the
//! gradient of a scalar loss `ℓ(A) = cᵀ exp(A) v` through the factored `Expm`.
//!
//! Run: `cargo run --release --example expm`
use expgrad::linalg::{Expm, expm_frechet, expm_frechet_block, norm1};
use faer::Mat;
use std::time::Instant;

fn main() {
    let n = 6;
    // A non-normal test matrix: a rotation-dominated part plus a strictly upper shear.
    let a = Mat::<f64>::from_fn(n, n, |i, j| match (i as i64 - j as i64).signum() {
        0 => -0.5 + 0.1 * i as f64,
        -1 => 1.5 / (j - i) as f64,
        _ => -0.8 / (i - j) as f64,
    });
    let v = Mat::<f64>::from_fn(n, 1, |i, _| 1.0 / (1.0 + i as f64));
    let c = Mat::<f64>::from_fn(n, 1, |i, _| if i % 2 == 0 { 1.0 } else { -0.5 });

    let t0 = Instant::now();
    let f = Expm::new(a.as_ref());
    let t_fwd = t0.elapsed();
    let (m, s) = f.params();
    println!(
        "‖A‖₁ = {:.3}, Padé degree m = {m}, squarings s = {s}",
        norm1(a.as_ref())
    );
    println!("exp(A) =\n{:?}", f.value());

    // ℓ(A) = cᵀ e^A v; its gradient is L(Aᵀ, c vᵀ) (the VJP of exp with cotangent c vᵀ).
    let loss = (c.transpose() * f.value() * &v)[(0, 0)];
    let t1 = Instant::now();
    let grad = f.frechet_adjoint((&c * v.transpose()).as_ref());
    let t_grad = t1.elapsed();
    println!("ℓ(A) = {loss:.12}");

    // Check one gradient entry by central differences, and the structured Fréchet derivative
    // against the literal 2n×2n block construction.
    let (i, j, h) = (1, 4, 1e-6);
    let mut e = Mat::<f64>::zeros(n, n);
    e[(i, j)] = 1.0;
    let lp =
        (c.transpose() * expgrad::linalg::expm((&a + &e * faer::Scale(h)).as_ref()) * &v)[(0, 0)];
    let lm =
        (c.transpose() * expgrad::linalg::expm((&a - &e * faer::Scale(h)).as_ref()) * &v)[(0, 0)];
    println!(
        "∂ℓ/∂A[{i},{j}]: adjoint {:.10}, central difference {:.10}",
        grad[(i, j)],
        (lp - lm) / (2.0 * h)
    );
    let (_, l) = expm_frechet(a.as_ref(), e.as_ref());
    let (_, lb) = expm_frechet_block(a.as_ref(), e.as_ref());
    println!(
        "‖L(A,E) − L_block(A,E)‖_max = {:.2e}",
        (&l - &lb).norm_max()
    );
    println!("forward {t_fwd:?}, gradient from the cache {t_grad:?}");
}
