//! Timing of the second-order derivatives against the forward pass (release mode):
//! `cargo run -p expgrad-linalg --release --example second_order_timing`.
//!
//! For a random dense `A` (f64) with ‖A‖₁ ≈ 1 and ≈ 10 at n = 4, 16, 64, 256: the median
//! time of `Expm::try_new`, `frechet`, `frechet_adjoint`, `frechet_adjoint_jvp` and
//! `frechet2`, as ratios to the forward, and the product counts.
use expgrad_linalg::{Expm, norm1};
use expgrad_testkit::{randn, rng};
use std::hint::black_box;
use std::time::Instant;

fn median_us(mut f: impl FnMut(), budget_us: f64) -> f64 {
    f();
    let t0 = Instant::now();
    f();
    let one = t0.elapsed().as_secs_f64() * 1e6;
    let inner = ((budget_us / 11.0 / one.max(1e-3)) as usize).clamp(1, 100_000);
    let mut v: Vec<f64> = (0..11)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..inner {
                f();
            }
            t.elapsed().as_secs_f64() * 1e6 / inner as f64
        })
        .collect();
    v.sort_by(f64::total_cmp);
    v[5]
}

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let sizes = if args.is_empty() {
        vec![4, 16, 64, 256]
    } else {
        args
    };
    println!(
        "| n | ‖A‖₁ | (m, s) | forward µs | frechet | adjoint | adjoint_jvp | frechet2 | products fwd / adj / 2nd |"
    );
    println!("|---:|---:|---|---:|---:|---:|---:|---:|---|");
    for n in sizes {
        for target in [1.0, 10.0] {
            let mut r = rng(7 + n as u64);
            let a0 = randn(&mut r, n, n);
            let a = &a0 * faer::Scale(target / norm1(a0.as_ref()));
            let (e1, e2, g) = (
                randn(&mut r, n, n),
                randn(&mut r, n, n),
                randn(&mut r, n, n),
            );
            let budget = if n >= 256 { 3e6 } else { 3e5 };
            let f = Expm::try_new(a.as_ref()).unwrap();
            let fwd = median_us(
                || drop(black_box(Expm::try_new(a.as_ref()).unwrap())),
                budget,
            );
            let jvp = median_us(|| drop(black_box(f.frechet(e1.as_ref()))), budget);
            let adj = median_us(|| drop(black_box(f.frechet_adjoint(g.as_ref()))), budget);
            let fj = median_us(
                || {
                    drop(black_box(f.frechet_adjoint_jvp(
                        g.as_ref(),
                        e1.as_ref(),
                        e2.as_ref(),
                    )))
                },
                budget,
            );
            let f2 = median_us(
                || drop(black_box(f.frechet2(e1.as_ref(), e2.as_ref()))),
                budget,
            );
            println!(
                "| {n} | {target} | {:?} | {fwd:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {} / {} / {} |",
                f.params(),
                jvp / fwd,
                adj / fwd,
                fj / fwd,
                f2 / fwd,
                f.forward_products(),
                f.adjoint_products(),
                f.second_order_products()
            );
        }
    }
}
