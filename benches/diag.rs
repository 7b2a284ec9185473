//! `∂(c·exp(Diag(d)A)v)/∂d` through the tape, and the full Jacobian `∂w/∂d` three ways.
//!
//! * `diag_grad/n`: value + gradient of `c·exp(Diag(d)A)v` w.r.t. d, n ∈ {4, 16, 64, 256}.
//! * `jacobian/{backprop,frechet_columns,kronecker}/n`: the full Jacobian by `w.jacobian(d)`,
//!   by n Fréchet columns from one `Expm`, and by the Kronecker closed form (n ≤ 6).
//!
//! Run: `cargo bench --bench diag`
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use expgrad::diag::diag_mul;
use expgrad::reference;
use expgrad::tape::Tape;
use faer::Mat;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::hint::black_box;
use std::time::Duration;

struct Problem {
    a: Mat<f64>,
    d: Mat<f64>,
    v: Mat<f64>,
    c: Mat<f64>,
}

fn problem(n: usize) -> Problem {
    let mut rng = StdRng::seed_from_u64(7 + n as u64);
    let s = 1.0 / (n as f64).sqrt();
    Problem {
        a: Mat::from_fn(n, n, |_, _| s * rng.random_range(-1.7..1.7)),
        d: Mat::from_fn(n, 1, |_, _| rng.random_range(0.5..1.5)),
        v: Mat::from_fn(n, 1, |_, _| rng.random_range(-1.0..1.0)),
        c: Mat::from_fn(n, 1, |_, _| rng.random_range(-1.0..1.0)),
    }
}

fn grad(p: &Problem) -> Mat<f64> {
    let tape = Tape::new();
    let d = tape.var(p.d.clone());
    let w = diag_mul(d, tape.constant(p.a.clone()))
        .expm()
        .matmul(tape.constant(p.v.clone()));
    tape.constant(p.c.clone()).dot(w).backward().wrt(d)
}

fn jac_backprop(p: &Problem) -> Mat<f64> {
    let tape = Tape::new();
    let d = tape.var(p.d.clone());
    diag_mul(d, tape.constant(p.a.clone()))
        .expm()
        .matmul(tape.constant(p.v.clone()))
        .jacobian(d)
}

fn jac_frechet(p: &Problem) -> Mat<f64> {
    reference::frechet_columns_jacobian(p.d.as_ref(), p.a.as_ref(), p.v.as_ref())
}

fn jac_kronecker(p: &Problem) -> Mat<f64> {
    reference::kronecker_jacobian(p.d.as_ref(), p.a.as_ref(), p.v.as_ref())
}

fn bench_diag(cr: &mut Criterion) {
    faer::set_global_parallelism(faer::Par::Seq);
    let mut g = cr.benchmark_group("diag_grad");
    g.sample_size(20)
        .measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_millis(500));
    for n in [4usize, 16, 64, 256] {
        let p = problem(n);
        g.bench_function(BenchmarkId::from_parameter(n), |b| {
            b.iter(|| grad(black_box(&p)))
        });
    }
    g.finish();
    let mut g = cr.benchmark_group("jacobian");
    g.sample_size(20)
        .measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_millis(500));
    for n in [4usize, 6, 16, 64] {
        let p = problem(n);
        g.bench_function(BenchmarkId::new("backprop", n), |b| {
            b.iter(|| jac_backprop(black_box(&p)))
        });
        g.bench_function(BenchmarkId::new("frechet_columns", n), |b| {
            b.iter(|| jac_frechet(black_box(&p)))
        });
        if n <= 6 {
            g.bench_function(BenchmarkId::new("kronecker", n), |b| {
                b.iter(|| jac_kronecker(black_box(&p)))
            });
        }
    }
    g.finish();
}

criterion_group!(benches, bench_diag);
criterion_main!(benches);
