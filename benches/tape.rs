//! Tape overhead and gradient/forward ratio for `ℓ(X) = cᵀ exp(X) v`.
//!
//! * `tape_overhead/{direct,tape}/n`: value + gradient w.r.t. X computed directly with
//!   `linalg::Expm` (`Expm::new`, `cᵀ e^X v`, `frechet_adjoint_factored(c, v)`: the cheapest
//!   linalg route, and the one the tape takes for the rank-one cotangent) vs through the tape
//!   written naturally (`c.dot(x.expm().matmul(v))`).
//! * `grad_ratio/{forward,value_and_grad}/n`: the tape's forward alone vs forward + backward.
//! * `tape_reuse/{fresh,cleared}/n`: one optimisation step (value + gradient) on a new tape
//!   vs on one tape reused with `clear()`.
//!
//! * `small_grad/diag_expm_mul/n`, n = 4, 8: one value + gradient step of
//!   `ℓ(d) = cᵀ exp(Diag(d)·A) v` w.r.t. `d` on a reused tape
//!   (`diag_mul(d, A).expm_mul(v)`, `c.dot(w)`, `backward().wrt(d)`): the small-n path end to
//!   end, tape overhead included.
//!
//! Run: `cargo bench --bench tape` (the small-n cases alone: `cargo bench --bench tape --
//! small_grad`)
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use expgrad::diag::diag_mul;
use expgrad::linalg::Expm;
use expgrad::tape::Tape;
use faer::Mat;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::hint::black_box;
use std::time::Duration;

fn problem(n: usize) -> (Mat<f64>, Mat<f64>, Mat<f64>) {
    let mut rng = StdRng::seed_from_u64(n as u64);
    let s = 1.0 / (n as f64).sqrt();
    let x = Mat::from_fn(n, n, |_, _| s * rng.random_range(-1.7..1.7));
    let v = Mat::from_fn(n, 1, |_, _| rng.random_range(-1.0..1.0));
    let c = Mat::from_fn(n, 1, |_, _| rng.random_range(-1.0..1.0));
    (x, v, c)
}

fn direct(x: &Mat<f64>, v: &Mat<f64>, c: &Mat<f64>) -> (f64, Mat<f64>) {
    let f = Expm::new(x.as_ref());
    let w = f.value() * v;
    let loss = (c.transpose() * &w)[(0, 0)];
    (loss, f.frechet_adjoint_factored(c.as_ref(), v.as_ref()))
}

fn through_tape(x: &Mat<f64>, v: &Mat<f64>, c: &Mat<f64>) -> (f64, Mat<f64>) {
    let tape = Tape::new();
    let xv = tape.var(x.clone());
    let loss = tape
        .constant(c.clone())
        .dot(xv.expm().matmul(tape.constant(v.clone())));
    (loss.item(), loss.backward().wrt(xv))
}

fn forward_only(x: &Mat<f64>, v: &Mat<f64>, c: &Mat<f64>) -> f64 {
    let tape = Tape::new();
    let xv = tape.var(x.clone());
    tape.constant(c.clone())
        .dot(xv.expm().matmul(tape.constant(v.clone())))
        .item()
}

fn bench_tape(cr: &mut Criterion) {
    faer::set_global_parallelism(faer::Par::Seq);
    let mut g = cr.benchmark_group("tape_overhead");
    g.sample_size(30)
        .measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_millis(500));
    for n in [16usize, 64] {
        let (x, v, c) = problem(n);
        assert!((direct(&x, &v, &c).1 - through_tape(&x, &v, &c).1).norm_max() < 1e-12);
        g.bench_function(BenchmarkId::new("direct", n), |b| {
            b.iter(|| direct(black_box(&x), &v, &c))
        });
        g.bench_function(BenchmarkId::new("tape", n), |b| {
            b.iter(|| through_tape(black_box(&x), &v, &c))
        });
    }
    g.finish();
    let mut g = cr.benchmark_group("grad_ratio");
    g.sample_size(20)
        .measurement_time(Duration::from_secs(4))
        .warm_up_time(Duration::from_millis(500));
    for n in [64usize, 256] {
        let (x, v, c) = problem(n);
        g.bench_function(BenchmarkId::new("forward", n), |b| {
            b.iter(|| forward_only(black_box(&x), &v, &c))
        });
        g.bench_function(BenchmarkId::new("value_and_grad", n), |b| {
            b.iter(|| through_tape(black_box(&x), &v, &c))
        });
    }
    g.finish();
}

fn step(tape: &Tape, x: &Mat<f64>, v: &Mat<f64>, c: &Mat<f64>) -> f64 {
    let xv = tape.var(x.clone());
    let loss = tape
        .constant(c.clone())
        .dot(xv.expm().matmul(tape.constant(v.clone())));
    loss.backward().wrt(xv)[(0, 0)]
}

fn bench_reuse(cr: &mut Criterion) {
    let mut g = cr.benchmark_group("tape_reuse");
    g.sample_size(30)
        .measurement_time(Duration::from_secs(2))
        .warm_up_time(Duration::from_millis(300));
    for n in [4usize, 16] {
        let (x, v, c) = problem(n);
        g.bench_function(BenchmarkId::new("fresh", n), |b| {
            b.iter(|| step(&Tape::new(), black_box(&x), &v, &c))
        });
        let tape = Tape::new();
        g.bench_function(BenchmarkId::new("cleared", n), |b| {
            b.iter(|| {
                tape.clear();
                step(&tape, black_box(&x), &v, &c)
            })
        });
    }
    g.finish();
}

fn bench_small(cr: &mut Criterion) {
    let mut g = cr.benchmark_group("small_grad");
    g.sample_size(20)
        .measurement_time(Duration::from_secs(1))
        .warm_up_time(Duration::from_millis(300));
    for n in [4usize, 8] {
        let mut rng = StdRng::seed_from_u64(0x5aa1 + n as u64);
        let s = 1.0 / (n as f64).sqrt();
        let a = Mat::from_fn(n, n, |_, _| s * rng.random_range(-1.7..1.7));
        let d = Mat::from_fn(n, 1, |_, _| rng.random_range(0.5..1.5));
        let v = Mat::from_fn(n, 1, |_, _| rng.random_range(-1.0..1.0));
        let c = Mat::from_fn(n, 1, |_, _| rng.random_range(-1.0..1.0));
        let tape = Tape::new();
        g.bench_function(BenchmarkId::new("diag_expm_mul", n), |b| {
            b.iter(|| {
                tape.clear();
                let dv = tape.var(d.clone());
                let w = diag_mul(dv, tape.constant(a.clone())).expm_mul(tape.constant(v.clone()));
                let loss = tape.constant(c.clone()).dot(w);
                black_box((loss.item(), loss.backward().wrt(dv)))
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench_small, bench_tape, bench_reuse);
criterion_main!(benches);
