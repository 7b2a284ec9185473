//! Criterion benchmarks of the complex (c64) matrix exponential.
//!
//! * `complex/forward/n`: `Expm::new(X)` for `X = (G₁ + iG₂)/√(2n)·2` (the comparison's
//!   `cforward` recipe), n ∈ {4, 8, …, 256};
//! * `complex/adjoint/n`: the cached adjoint `L(Xᴴ, G)` (`frechet_adjoint`) for a random
//!   complex `G`, the cache built once — the ratio adjoint/forward;
//! * `complex/block/n`: the 2n×2n block route for the same adjoint (what torch and others pay);
//! * `grape/n`: GRAPE value + gradient (`lincomb_offset` + `expm_chain` + fidelity) for
//!   N = 100 slices and 4 controls on a Heisenberg chain of log₂ n qubits.
//!
//! Run: `cargo bench --bench complex`. The degree, the squarings and the product counts are
//! printed once per size.
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use expgrad::linalg::{Expm, expm_frechet_block};
use expgrad::tape::Tape;
use expgrad_testkit::{crandn, rng};
use faer::{Mat, c64};
use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

fn input(n: usize) -> Mat<c64> {
    crandn(&mut rng(5150 + n as u64), n, n)
        * faer::Scale(c64::new(2.0 / (2.0 * n as f64).sqrt(), 0.0))
}

fn bench_dense(c: &mut Criterion) {
    let mut group = c.benchmark_group("complex");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(2));
    for n in [4usize, 8, 16, 32, 64, 128, 256] {
        let x = input(n);
        let g = crandn(&mut rng(77 + n as u64), n, n);
        let f = Expm::new(x.as_ref());
        let (m, s) = f.params();
        eprintln!(
            "n = {n}: {} m = {m}, s = {s}; {} products forward, {} per adjoint",
            f.approximant(),
            f.forward_products(),
            f.adjoint_products()
        );
        group.bench_with_input(BenchmarkId::new("forward", n), &x, |b, x| {
            b.iter(|| black_box(Expm::new(x.as_ref())))
        });
        group.bench_with_input(BenchmarkId::new("adjoint", n), &g, |b, g| {
            b.iter(|| black_box(f.frechet_adjoint(g.as_ref())))
        });
        if n <= 128 {
            let xh = x.adjoint().to_owned();
            group.bench_with_input(BenchmarkId::new("block", n), &g, |b, g| {
                b.iter(|| black_box(expm_frechet_block(xh.as_ref(), g.as_ref())))
            });
        }
    }
    group.finish();
}

/// `op` on qubit k of q (qubit 0 the leftmost Kronecker factor).
fn on_qubit(op: &Mat<c64>, k: usize, q: usize) -> Mat<c64> {
    let mut out = Mat::<c64>::identity(1, 1);
    for i in 0..q {
        let f = if i == k {
            op.clone()
        } else {
            Mat::identity(2, 2)
        };
        let (r, c) = (out.nrows(), out.ncols());
        out = Mat::from_fn(r * 2, c * 2, |a, b| out[(a / 2, b / 2)] * f[(a % 2, b % 2)]);
    }
    out
}

fn bench_grape(c: &mut Criterion) {
    let mut group = c.benchmark_group("grape");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(3));
    let (o, l, i) = (c64::new(0.0, 0.0), c64::new(1.0, 0.0), c64::new(0.0, 1.0));
    let paulis = [
        faer::mat![[o, l], [l, o]],
        faer::mat![[o, -i], [i, o]],
        faer::mat![[l, o], [o, -l]],
    ];
    let (slices, dt) = (100usize, 0.02);
    let idt = c64::new(0.0, -dt);
    for q in 2..=6usize {
        let n = 1 << q;
        let mut h0 = Mat::<c64>::zeros(n, n);
        for k in 0..q - 1 {
            for p in &paulis {
                h0 += on_qubit(p, k, q) * on_qubit(p, k + 1, q);
            }
        }
        let x0 = Arc::new(h0 * faer::Scale(idt));
        let xs: Arc<[Mat<c64>]> = [(0, 0), (0, 1), (q - 1, 0), (q - 1, 1)]
            .iter()
            .map(|&(k, p)| on_qubit(&paulis[p], k, q) * faer::Scale(idt))
            .collect::<Vec<_>>()
            .into();
        let target = crandn(&mut rng(9), n, n).qr().compute_Q().map(|z| z.conj());
        let u = expgrad_testkit::randn(&mut rng(10), 4, slices) * faer::Scale(0.5);
        group.bench_function(BenchmarkId::from_parameter(n), |b| {
            b.iter(|| {
                let tape = Tape::<c64>::new();
                let uv = tape.real_var(u.clone());
                let prop = uv.lincomb_offset(&x0, &xs).expm_chain();
                let c = prop.dot(tape.constant(target.clone()));
                let fid = c.abs2().real();
                black_box(fid.backward().wrt_real(uv))
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench_dense, bench_grape);
criterion_main!(benches);
