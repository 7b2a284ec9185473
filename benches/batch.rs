//! Criterion benchmarks of the batched exponentials (f64).
//!
//! * `times/forward/n/B`: `ExpmTimes::new(Q, t)` for a rate matrix `Q` (off-diagonal
//!   uniform(0, 1), rows summing to 0, one expected substitution per unit time) and `B` times
//!   `t_b = 10^uniform(−2, 0.7)` (branch lengths 0.01–5), n ∈ {4, 20, 61}, B ∈ {100, 1000};
//! * `times/adjoint/n/B`: its reverse pass `adjoint(G)` for a random `G`, the cache built once;
//! * `times/independent/n/B`: the same `B` exponentials as independent `Expm::new(t_b·Q)` (what
//!   sharing the powers saves);
//! * `independent/forward/n/B`, `independent/adjoint/n/B`: `ExpmBatch` of `B` random n×n
//!   blocks (`randn/√n`) and its reverse pass, n ∈ {4, 8}, B = 1000.
//!
//! Run: `cargo bench --bench batch`. The product counts are printed once per case.

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use expgrad::linalg::{Expm, ExpmBatch, ExpmTimes};
use expgrad_testkit::{randn_scaled, rng, uniform_mat};
use faer::Mat;
use rand::Rng;
use std::hint::black_box;
use std::time::Duration;

/// A rate matrix with one expected substitution per unit time, and `count` branch lengths.
fn shared_inputs(n: usize, count: usize) -> (Mat<f64>, Vec<f64>, Mat<f64>) {
    let mut q = uniform_mat(0xb7c4 + n as u64, n, n, 0.0..1.0);
    for i in 0..n {
        q[(i, i)] = 0.0;
        let s: f64 = (0..n).map(|j| q[(i, j)]).sum();
        q[(i, i)] = -s;
    }
    let mean = -(0..n).map(|i| q[(i, i)]).sum::<f64>() / n as f64;
    let q = &q * faer::Scale(1.0 / mean);
    let mut r = rng(0x7133 + count as u64);
    let t = (0..count)
        .map(|_| 10f64.powf(r.random_range(-2.0..0.7)))
        .collect();
    let g = randn_scaled(&mut r, n, n * count, 1.0);
    (q, t, g)
}

fn bench_times(c: &mut Criterion) {
    let mut group = c.benchmark_group("times");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(2));
    for n in [4usize, 20, 61] {
        for count in [100usize, 1000] {
            let (q, t, g) = shared_inputs(n, count);
            let e = ExpmTimes::new(q.as_ref(), &t);
            let independent: f64 = t
                .iter()
                .map(|&tb| Expm::new((&q * faer::Scale(tb)).as_ref()).forward_products())
                .sum();
            eprintln!(
                "times/{n}/{count}: degree {}, {} squarings, {:.0} products (independent: {:.0})",
                e.degree(),
                e.squarings().iter().sum::<u32>(),
                e.forward_products(),
                independent
            );
            let id = format!("{n}/{count}");
            group.bench_function(BenchmarkId::new("forward", &id), |b| {
                b.iter(|| ExpmTimes::new(black_box(q.as_ref()), &t))
            });
            group.bench_function(BenchmarkId::new("adjoint", &id), |b| {
                b.iter(|| e.adjoint(black_box(g.as_ref())))
            });
            group.bench_function(BenchmarkId::new("independent", &id), |b| {
                b.iter(|| {
                    t.iter()
                        .map(|&tb| Expm::new((&q * faer::Scale(tb)).as_ref()))
                        .collect::<Vec<_>>()
                })
            });
        }
    }
    group.finish();
}

fn bench_independent(c: &mut Criterion) {
    let mut group = c.benchmark_group("independent");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(2));
    for n in [4usize, 8] {
        let count = 1000;
        let mut r = rng(0x1d + n as u64);
        let x = randn_scaled(&mut r, n, n * count, 1.0 / (n as f64).sqrt());
        let g = randn_scaled(&mut r, n, n * count, 1.0);
        let b = ExpmBatch::new(x.as_ref());
        let id = format!("{n}/{count}");
        group.bench_function(BenchmarkId::new("forward", &id), |bn| {
            bn.iter(|| ExpmBatch::new(black_box(x.as_ref())))
        });
        group.bench_function(BenchmarkId::new("adjoint", &id), |bn| {
            bn.iter(|| b.adjoint(black_box(g.as_ref())))
        });
    }
    group.finish();
}

criterion_group!(benches, bench_times, bench_independent);
criterion_main!(benches);
