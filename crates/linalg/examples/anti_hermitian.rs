//! Anti-Hermitian input `X = −i·t·H` (H a random Hermitian matrix): unitarity (c64 and c32),
//! forward time and `frechet_adjoint` time (c64) of `ExpmFamily::Auto`, which takes the
//! eigendecomposition path above the switch, against scaling and squaring (the Taylor family
//! forced) (docs/math.md §17).
//!
//! Run: `RAYON_NUM_THREADS=1 cargo run --release -p expgrad-linalg --example anti_hermitian`
//! (`-- unitarity`, a few seconds, or `-- time`, a few minutes, for one half).
//!
//! Unitarity: the worst `‖UᴴU − I‖_F / (n·u)` over 4 seeds per (n, ‖X‖₂), and the path Auto
//! took ("mixed" when the seeds differ: `‖X‖₁` on both sides of the switch). Time: CPU time of
//! the process (all threads, Linux `/proc`) per call, the least of 7 samples of ≥ 0.2 s taken
//! in turn with the compared calls: on a shared machine wall time counts other processes too.
//! `RAYON_NUM_THREADS=1` makes n = 128 sequential (CPU time then excludes Rayon's spinning).

use expgrad_linalg::{Expm, ExpmFamily, Scalar};
use expgrad_testkit::{crandn, rng};
use faer::{Mat, c32, c64};
use std::hint::black_box;
use std::time::Instant;

/// `X = −i·(norm/‖H‖₂)·H` with `H = (G + Gᴴ)/2`, exactly anti-Hermitian.
fn generator(n: usize, norm: f64, seed: u64) -> Mat<c64> {
    let g = crandn(&mut rng(seed), n, n);
    let h = (&g + g.adjoint()) * faer::Scale(c64::new(0.5, 0.0));
    let h2 = h
        .self_adjoint_eigenvalues(faer::Side::Lower)
        .unwrap()
        .iter()
        .fold(0.0f64, |m, v| m.max(v.abs()));
    &h * faer::Scale(c64::new(0.0, -norm / h2))
}

fn unitarity<T: Scalar>(u: faer::MatRef<'_, T>) -> f64 {
    let n = u.nrows();
    let d = u.adjoint() * u - Mat::<T>::identity(n, n);
    let mut s = 0.0f64;
    for j in 0..n {
        for i in 0..n {
            let z = d[(i, j)];
            let (re, im) = (to64(z.re()), to64(z.im()));
            s += re * re + im * im;
        }
    }
    s.sqrt()
}

fn to64<R: num_traits::ToPrimitive>(x: R) -> f64 {
    x.to_f64().unwrap()
}

fn worst<T: Scalar>(x: &[Mat<T>], family: ExpmFamily, u: f64) -> (f64, &'static str, u32) {
    let mut w = 0.0f64;
    let (mut name, mut s) = ("", 0);
    for x in x {
        let f = Expm::try_new_with(x.as_ref(), family).unwrap();
        let n = x.nrows() as f64;
        w = w.max(unitarity(f.value()) / (n * u));
        name = if name.is_empty() || name == f.approximant() {
            f.approximant()
        } else {
            "mixed"
        };
        s = s.max(f.params().1);
    }
    (w, name, s)
}

fn report_unitarity() {
    let u64_ = f64::EPSILON / 2.0;
    let u32_ = f64::from(f32::EPSILON) / 2.0;
    println!("worst ‖UᴴU − I‖_F / (n·u), 4 seeds; eigen path (Auto) vs scaling and squaring");
    println!(
        "{:>5} {:>7} | {:>8} {:>8} {:>9} {:>3} | {:>8} {:>8} {:>9} {:>3}",
        "n", "‖X‖₂", "c64 auto", "path", "c64 s&s", "s", "c32 auto", "path", "c32 s&s", "s"
    );
    for n in [2usize, 4, 8, 16, 32, 64, 128] {
        for norm in [1e-3, 1.0, 3.0, 10.0, 100.0, 1e3] {
            let xs: Vec<Mat<c64>> = (0..4).map(|k| generator(n, norm, 1000 + k)).collect();
            let xs32: Vec<Mat<c32>> = xs
                .iter()
                .map(|x| x.map(|z| c32::new(z.re as f32, z.im as f32)))
                .collect();
            let (a, pa, _) = worst(&xs, ExpmFamily::Auto, u64_);
            let (t, _, s) = worst(&xs, ExpmFamily::Taylor, u64_);
            let (a32, pa32, _) = worst(&xs32, ExpmFamily::Auto, u32_);
            let (t32, _, s32) = worst(&xs32, ExpmFamily::Taylor, u32_);
            println!(
                "{n:>5} {norm:>7.0e} | {a:>8.2} {pa:>8} {t:>9.2} {s:>3} | {a32:>8.2} {pa32:>8} {t32:>9.2} {s32:>3}"
            );
        }
    }
}

/// CPU time of the whole process so far, s: `utime + stime` of `/proc/self/stat` (Linux; all
/// threads, Rayon's workers included; clock ticks of 10 ms). On a shared machine wall time
/// also counts the time other processes held the cores.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("Linux /proc");
    // Fields after the command name (which may hold spaces): state is field 3, utime 14.
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<f64> = rest
        .split_whitespace()
        .skip(11)
        .take(2)
        .map(|v| v.parse().unwrap())
        .collect();
    (f[0] + f[1]) / 100.0
}

/// Calls of `f` per sample: doubled until a batch lasts ≥ 0.2 s of wall time.
fn calibrate(f: &mut dyn FnMut()) -> usize {
    let mut reps = 1usize;
    loop {
        let t = Instant::now();
        for _ in 0..reps {
            f();
        }
        if t.elapsed().as_secs_f64() >= 0.2 {
            return reps;
        }
        reps *= 2;
    }
}

/// CPU seconds per call of each of `fs`, sampled in turn (7 rounds, so that all see the same
/// machine), the least sample of each: interference from other processes only adds time.
fn times(fs: &mut [&mut dyn FnMut()]) -> Vec<f64> {
    let reps: Vec<usize> = fs.iter_mut().map(|f| calibrate(*f)).collect();
    let mut best = vec![f64::INFINITY; fs.len()];
    for _ in 0..7 {
        for (k, f) in fs.iter_mut().enumerate() {
            let t = cpu_seconds();
            for _ in 0..reps[k] {
                f();
            }
            best[k] = best[k].min((cpu_seconds() - t) / reps[k] as f64);
        }
    }
    best
}

fn report_time() {
    println!(
        "\nc64, least CPU µs of 7 interleaved samples (all threads). Forward: Auto (eigen where it \
         switches) vs scaling and squaring (Taylor forced).\nfrechet_adjoint from the cache: \
         Auto's first call (forms Φ), Auto's later calls, scaling and squaring."
    );
    println!(
        "{:>5} {:>7} {:>7} {:>10} {:>10} {:>6} {:>8} | {:>9} {:>9} {:>9}",
        "n", "‖X‖₂", "auto", "auto", "s&s", "ratio", "(m, s)", "adj 1st", "adj", "adj s&s"
    );
    for n in [2usize, 8, 32, 128] {
        let x = generator(n, 1.0, 7);
        let mut out = Mat::<c64>::zeros(n, n);
        let prod = times(&mut [&mut || {
            expgrad_linalg::kernels::gemm(
                out.as_mut(),
                faer::Accum::Replace,
                x.as_ref(),
                x.as_ref(),
                c64::new(1.0, 0.0),
                expgrad_linalg::kernels::par_for(n),
            );
            black_box(&out);
        }])[0];
        println!("{n:>5} one n×n product: {:.2} µs", prod * 1e6);
        for norm in [2.0, 10.0, 1e3] {
            let x = generator(n, norm, 7);
            let g = crandn(&mut rng(8), n, n);
            let fs = Expm::try_new_with(x.as_ref(), ExpmFamily::Taylor).unwrap();
            let fa = Expm::new(x.as_ref());
            let fresh = fa.clone(); // Φ not formed: cloned for each first call
            let t = times(&mut [
                &mut || {
                    black_box(Expm::try_new_with(black_box(x.as_ref()), ExpmFamily::Auto).unwrap());
                },
                &mut || {
                    black_box(
                        Expm::try_new_with(black_box(x.as_ref()), ExpmFamily::Taylor).unwrap(),
                    );
                },
                &mut || {
                    black_box(fresh.clone().frechet_adjoint(black_box(g.as_ref())));
                },
                &mut || {
                    black_box(fresh.clone());
                },
                &mut || {
                    black_box(fa.frechet_adjoint(black_box(g.as_ref())));
                },
                &mut || {
                    black_box(fs.frechet_adjoint(black_box(g.as_ref())));
                },
            ]);
            println!(
                "{n:>5} {norm:>7.0e} {:>7} {:>10.2} {:>10.2} {:>6.2} {:>8} | {:>9.2} {:>9.2} {:>9.2}",
                fa.approximant(),
                t[0] * 1e6,
                t[1] * 1e6,
                t[0] / t[1],
                format!("{:?}", fs.params()),
                (t[2] - t[3]) * 1e6,
                t[4] * 1e6,
                t[5] * 1e6,
            );
        }
    }
}

fn main() {
    let what = std::env::args().nth(1).unwrap_or_default();
    if what != "time" {
        report_unitarity();
    }
    if what != "unitarity" {
        report_time();
    }
}
