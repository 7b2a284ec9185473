//! Criterion benchmarks of forward mode and second order (one thread).
//!
//! * `jvp_exp/{forward,jvp,adjoint,adjoint_jvp}/n`: `Expm::new(X)`, the cached Fréchet
//!   derivative `L(X, E)` (`Expm::frechet`, what `expm`'s JVP calls: the floor JVP ≤ 1.6× one
//!   forward), the adjoint, and the second-order rule `Expm::frechet_adjoint_jvp`;
//! * `hvp_loss/{value_grad,hvp}/n` for `ℓ(d) = cᵀ·exp(Diag(d)·A)·v` (n = 16, 64, 256), each
//!   iteration recording its own tape as a user would: value + gradient (`backward`) against one
//!   Hessian-vector product (`Var::hvp`: forward, tangent sweep, second-order reverse). Floor:
//!   HVP ≤ 4× value + gradient;
//! * `hessian/{hessian,hvp}/n` (n = 16, 64): the full Hessian (`Var::hessian`, n HVPs on one
//!   recorded forward) against one HVP: floor Hessian ≤ n HVPs.
//!
//! Run: `cargo bench --bench second_order -- --noplot`. The product counts are printed.
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use expgrad::diag::diag_mul;
use expgrad::linalg::Expm;
use expgrad::tape::Tape;
use expgrad_testkit::{randn, rng};
use faer::Mat;
use std::hint::black_box;
use std::time::Duration;

/// `(A, d, v, c, u)`: `A` with ‖A‖₁ ≈ 2 and `d` near 1 (the `fit_diag` regime), the
/// vectors of `ℓ = cᵀ·exp(Diag(d)·A)·v` and a direction `u`.
type Problem = (Mat<f64>, Mat<f64>, Mat<f64>, Mat<f64>, Mat<f64>);

fn problem(n: usize) -> Problem {
    let mut r = rng(4242 + n as u64);
    let a = randn(&mut r, n, n) * faer::Scale(1.0 / (n as f64).sqrt());
    let d = Mat::from_fn(n, 1, |i, _| 0.5 + (i % 7) as f64 / 7.0);
    let v = randn(&mut r, n, 1);
    let c = randn(&mut r, n, 1);
    let u = randn(&mut r, n, 1);
    (a, d, v, c, u)
}

fn bench_jvp(c: &mut Criterion) {
    let mut group = c.benchmark_group("jvp_exp");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(2));
    for n in [4usize, 16, 64, 256] {
        let mut r = rng(99 + n as u64);
        let x = randn(&mut r, n, n) * faer::Scale(2.0 / (n as f64).sqrt());
        let e = randn(&mut r, n, n);
        let f = Expm::new(x.as_ref());
        eprintln!(
            "jvp_exp n = {n}: {} {:?}; {} products forward, {} per adjoint",
            f.approximant(),
            f.params(),
            f.forward_products(),
            f.adjoint_products()
        );
        group.bench_with_input(BenchmarkId::new("forward", n), &x, |b, x| {
            b.iter(|| black_box(Expm::new(x.as_ref())))
        });
        group.bench_with_input(BenchmarkId::new("jvp", n), &e, |b, e| {
            b.iter(|| black_box(f.frechet(e.as_ref())))
        });
        let g = randn(&mut r, n, n);
        group.bench_with_input(BenchmarkId::new("adjoint", n), &g, |b, g| {
            b.iter(|| black_box(f.frechet_adjoint(g.as_ref())))
        });
        group.bench_with_input(BenchmarkId::new("adjoint_jvp", n), &g, |b, g| {
            b.iter(|| black_box(f.frechet_adjoint_jvp(g.as_ref(), e.as_ref(), g.as_ref())))
        });
    }
    group.finish();
}

fn bench_hvp(c: &mut Criterion) {
    let mut group = c.benchmark_group("hvp_loss");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(3));
    for n in [16usize, 64, 256] {
        let (a, d, v, cv, u) = problem(n);
        let x = Mat::from_fn(n, n, |i, j| d[(i, 0)] * a[(i, j)]);
        let f = Expm::new(x.as_ref());
        let (jvp, second) = f.factored_products(1);
        eprintln!(
            "hvp_loss n = {n}: {} {:?}; n×n products: forward {}, adjoint (dense) {}, \
             factored JVP {jvp:.2}, factored adjoint JVP {second:.2} (dense {})",
            f.approximant(),
            f.params(),
            f.forward_products(),
            f.adjoint_products(),
            f.second_order_products()
        );
        group.bench_with_input(BenchmarkId::new("value_grad", n), &n, |b, _| {
            b.iter(|| {
                let tape = Tape::new();
                let dv = tape.var(d.clone());
                let loss = tape
                    .constant(cv.clone())
                    .dot(diag_mul(dv, tape.constant(a.clone())).expm_mul(tape.constant(v.clone())));
                black_box(loss.backward().wrt(dv))
            })
        });
        group.bench_with_input(BenchmarkId::new("hvp", n), &n, |b, _| {
            b.iter(|| {
                let tape = Tape::new();
                let dv = tape.var(d.clone());
                let loss = tape
                    .constant(cv.clone())
                    .dot(diag_mul(dv, tape.constant(a.clone())).expm_mul(tape.constant(v.clone())));
                let (_, h) = loss.hvp(&[(dv, u.clone())]);
                black_box(h.wrt(dv))
            })
        });
        if n <= 64 {
            group.bench_with_input(BenchmarkId::new("hessian", n), &n, |b, _| {
                b.iter(|| {
                    let tape = Tape::new();
                    let dv = tape.var(d.clone());
                    let loss = tape.constant(cv.clone()).dot(
                        diag_mul(dv, tape.constant(a.clone())).expm_mul(tape.constant(v.clone())),
                    );
                    black_box(loss.hessian(dv))
                })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, bench_jvp, bench_hvp);
criterion_main!(benches);
