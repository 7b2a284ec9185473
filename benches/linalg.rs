//! Criterion benchmarks of the dense matrix-exponential kernels (f64, n = 4 … 512).
//!
//! Input `A = randn(n, n) / √n`, direction/cotangent `E`, `G = randn(n, n)`, all seeded.
//! Groups (one `BenchmarkId` per n, so ratios are read off per n across groups):
//!
//! * `expm`: `expm(A)`;
//! * `expm_frechet`: `expm_frechet(A, E)` (value and derivative);
//! * `frechet_adjoint_cached`: `f.frechet_adjoint(G)` with `f = Expm::new(A)` built once;
//! * `new_plus_adjoint`: `Expm::new(A)` then `frechet_adjoint(G)` (a full VJP);
//! * `frechet_block`: `expm_frechet_block(A, E)`, the 2n×2n reference (n ≤ 256 only);
//! * `matmul`: one n×n product `A·E` into a preallocated buffer, sequential below n = 128 and
//!   Rayon from there (the library's policy): the unit for reading the others as "products";
//! * `family/{taylor,pade}/n/‖X‖₁`: `Expm::try_new_with` with the family forced, on a uniform
//!   random matrix scaled to ‖X‖₁ ∈ {0.01, 1, 3, 10, 40, 200} (the crossover of docs/math.md
//!   §13; the product counts are printed once per case).
//!
//! * `small/{forward,adjoint_factored}{,_general}/n`, n = 4, 8: `Expm::try_new` and the
//!   rank-one `frechet_adjoint_factored` on `X = Diag(d)·A` (`d` in [0.5, 1.5], as the
//!   comparison problems), through the small-n fast path and through the general path
//!   (`Expm::try_new_general`).
//!
//! Run: `cargo bench --bench linalg` (filter with e.g. `cargo bench --bench linalg -- expm/`;
//! the small-n cases alone, a few seconds: `cargo bench --bench linalg -- small/`).

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, BenchmarkId, Criterion, criterion_group, criterion_main};
use expgrad::linalg::{Expm, ExpmFamily, expm, expm_frechet, expm_frechet_block};
use expgrad_testkit::{randn_scaled, rng};
use faer::linalg::matmul::matmul;
use faer::{Accum, Mat, Par};
use std::hint::black_box;
use std::time::Duration;

const SIZES: [usize; 8] = [4, 8, 16, 32, 64, 128, 256, 512];
const BLOCK_MAX: usize = 256;

/// `(A, E, G)` for size `n`, from a seed that depends only on `n`.
fn inputs(n: usize) -> (Mat<f64>, Mat<f64>, Mat<f64>) {
    let mut r = rng(0x5eed_0000 + n as u64);
    let a = randn_scaled(&mut r, n, n, 1.0 / (n as f64).sqrt());
    let e = randn_scaled(&mut r, n, n, 1.0);
    let g = randn_scaled(&mut r, n, n, 1.0);
    (a, e, g)
}

fn configure<'a>(c: &'a mut Criterion, name: &str) -> BenchmarkGroup<'a, WallTime> {
    let mut group = c.benchmark_group(name);
    group
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    group
}

fn bench_expm(c: &mut Criterion) {
    let mut group = configure(c, "expm");
    for n in SIZES {
        let (a, _, _) = inputs(n);
        group.bench_function(BenchmarkId::new("expm", n), |b| {
            b.iter(|| expm(black_box(a.as_ref())))
        });
    }
    group.finish();
}

fn bench_expm_frechet(c: &mut Criterion) {
    let mut group = configure(c, "expm_frechet");
    for n in SIZES {
        let (a, e, _) = inputs(n);
        group.bench_function(BenchmarkId::new("expm_frechet", n), |b| {
            b.iter(|| expm_frechet(black_box(a.as_ref()), black_box(e.as_ref())))
        });
    }
    group.finish();
}

fn bench_adjoint_cached(c: &mut Criterion) {
    let mut group = configure(c, "frechet_adjoint_cached");
    for n in SIZES {
        let (a, _, g) = inputs(n);
        let f = Expm::new(a.as_ref());
        group.bench_function(BenchmarkId::new("frechet_adjoint_cached", n), |b| {
            b.iter(|| black_box(&f).frechet_adjoint(black_box(g.as_ref())))
        });
    }
    group.finish();
}

fn bench_new_plus_adjoint(c: &mut Criterion) {
    let mut group = configure(c, "new_plus_adjoint");
    for n in SIZES {
        let (a, _, g) = inputs(n);
        group.bench_function(BenchmarkId::new("new_plus_adjoint", n), |b| {
            b.iter(|| {
                let f = Expm::new(black_box(a.as_ref()));
                f.frechet_adjoint(black_box(g.as_ref()))
            })
        });
    }
    group.finish();
}

fn bench_block(c: &mut Criterion) {
    let mut group = configure(c, "frechet_block");
    for n in SIZES.into_iter().filter(|&n| n <= BLOCK_MAX) {
        let (a, e, _) = inputs(n);
        group.bench_function(BenchmarkId::new("frechet_block", n), |b| {
            b.iter(|| expm_frechet_block(black_box(a.as_ref()), black_box(e.as_ref())))
        });
    }
    group.finish();
}

fn bench_matmul(c: &mut Criterion) {
    let mut group = configure(c, "matmul");
    for n in SIZES {
        let (a, e, _) = inputs(n);
        let par = if n >= 128 { Par::rayon(0) } else { Par::Seq };
        let mut out = Mat::<f64>::zeros(n, n);
        group.bench_function(BenchmarkId::new("matmul", n), |b| {
            b.iter(|| matmul(black_box(out.as_mut()), Accum::Replace, &a, &e, 1.0, par))
        });
    }
    group.finish();
}

fn bench_family(c: &mut Criterion) {
    let mut group = configure(c, "family");
    for n in [16usize, 64, 256] {
        let a = expgrad_testkit::uniform_mat(0xfa11 + n as u64, n, n, -1.0..1.0);
        let na = expgrad::linalg::norm1(a.as_ref());
        for target in [0.01, 1.0, 3.0, 10.0, 40.0, 200.0] {
            let x = &a * faer::Scale(target / na);
            for (name, family) in [("taylor", ExpmFamily::Taylor), ("pade", ExpmFamily::Pade)] {
                let f = Expm::try_new_with(x.as_ref(), family).unwrap();
                eprintln!(
                    "family/{name}/{n}/{target}: (m, s) = {:?}, {} products",
                    f.params(),
                    f.forward_products()
                );
                group.bench_function(BenchmarkId::new(name, format!("{n}/{target}")), |b| {
                    b.iter(|| Expm::try_new_with(black_box(x.as_ref()), family).unwrap())
                });
            }
        }
    }
    group.finish();
}

/// `(X = Diag(d)·A, c, v)` for the small-n cases.
fn small_inputs(n: usize) -> (Mat<f64>, Mat<f64>, Mat<f64>) {
    let mut r = rng(0x5aa1_0000 + n as u64);
    let a = randn_scaled(&mut r, n, n, 1.0 / (n as f64).sqrt());
    let d = randn_scaled(&mut r, n, 1, 1.0);
    let x = Mat::from_fn(n, n, |i, j| (1.0 + 0.5 * d[(i, 0)].tanh()) * a[(i, j)]);
    let c = randn_scaled(&mut r, n, 1, 1.0);
    let v = randn_scaled(&mut r, n, 1, 1.0);
    (x, c, v)
}

fn bench_small(c: &mut Criterion) {
    let mut group = c.benchmark_group("small");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1));
    for n in [4usize, 8] {
        let (x, cv, v) = small_inputs(n);
        let general = |x: &Mat<f64>| Expm::try_new_general(x.as_ref(), ExpmFamily::Auto).unwrap();
        group.bench_function(BenchmarkId::new("forward", n), |b| {
            b.iter(|| Expm::new(black_box(x.as_ref())))
        });
        group.bench_function(BenchmarkId::new("forward_general", n), |b| {
            b.iter(|| general(black_box(&x)))
        });
        let (fs, fg) = (Expm::new(x.as_ref()), general(&x));
        group.bench_function(BenchmarkId::new("adjoint_factored", n), |b| {
            b.iter(|| black_box(&fs).frechet_adjoint_factored(cv.as_ref(), v.as_ref()))
        });
        group.bench_function(BenchmarkId::new("adjoint_factored_general", n), |b| {
            b.iter(|| black_box(&fg).frechet_adjoint_factored(cv.as_ref(), v.as_ref()))
        });
    }
    group.finish();
}

criterion_group!(
    benches,
    bench_small,
    bench_family,
    bench_matmul,
    bench_expm,
    bench_expm_frechet,
    bench_adjoint_cached,
    bench_new_plus_adjoint,
    bench_block
);
criterion_main!(benches);
