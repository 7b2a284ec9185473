//! The action of the exponential, `exp(tX)·v`, and its gradient at n = 99 856 (one core),
//! and the crossover against the dense Padé route.
//!
//! Problems (seeded, built by `expgrad-testkit`), n = 99 856, k = 1, `v = randn`:
//!
//! * `laplacian`: `X = −L`, `L` the 5-point Neumann Laplacian of a 316×316 grid
//!   (`L_ii` = number of neighbours, `L_ij = −1`), CSR;
//! * `markov`: a generator with 4 random off-diagonal rates `0.5 + U(0,1)` per row (distinct
//!   columns ≠ i), diagonal = −row sum, CSR.
//!
//! `t = target/‖X‖₁` with `‖tX‖₁ ∈ {20, 100}`. The operator of the taped groups is
//! `Diag(d)·A` with `d = 1` (so `X = A`), its gradient `d̄` by [`DiagCotangent`]; the untaped
//! forward uses the same operator (same products). `A` is the [`SparseOrDense`] of the tape
//! route (32-bit index copy, `Aᵀ` gathered from its CSC copy, the scaling fused into the
//! products), as in `value_grad`. Groups `action/{problem}/{target}`:
//!
//! * `forward`: untaped `expm_multiply` (Auto parameters);
//! * `forward_csr`: the same on the bare CSR matrix (the cost of the `Diag(d)` wrapper);
//! * `all`: taped forward ([`StorePolicy::All`]) + reverse with `d̄`, blocks recycled through
//!   an [`ActionWorkspace`] (an optimisation loop's steady state);
//! * `checkpoint`: the same with [`StorePolicy::Checkpoint`];
//! * `value_grad`: `c·expm_multiply_diag(d, A, v, t)` and `∂/∂d` through the tape (one node,
//!   its blocks pooled per thread across calls), `d` uniform in [0.5, 1.5] and `t` rescaled so that
//!   `‖t·Diag(d)A‖₁` is the target; `NormOnly` at ‖tX‖₁ = 100, the default (Auto) at 20.
//!
//! The machine-independent counts (m, s, products, stored values) are printed once per
//! problem on stderr.
//!
//! `seed_dense/{expm_mul,expm_multiply}/n`: value + gradient w.r.t. d of `c·exp(Diag(d)A)v`
//! (A = randn/√n, d = 0.5 + U(0,1)) through `diag_mul(d, A).expm_mul(v)` (Padé, one node) and
//! through `expm_multiply_diag` (dense A, t = 1), n = 4 … 512.
//!
//! `product/{problem}/{csr,csr_transpose,diag,diag_keep_raw,diag_transpose}`: one product with
//! `A`, `Aᵀ`, `Diag(d)A` (plain and keeping the raw product) and its transpose.
//!
//! Products split their rows across the rayon threads above ~6·10⁴ stored entries: set
//! `RAYON_NUM_THREADS` to 1 or 2. `ACTION_BENCH_PAIRED` times the thread's CPU time on one
//! thread and the wall time on more (the helper threads' time is not the caller's).
//!
//! `times/{problem}/{uniform,irregular}`: K = 20 observation times over `‖t_K X‖₁ = 20`
//! (uniform `t_k = (k+1)·t_K/20`, or sorted irregular times ending at `t_K`) in ONE node
//! ([`ExpmActionTimes`], taped, default options): `forward_k20` vs `forward_single` (one
//! [`ExpmAction`] at `t_K`), `reverse_k20` (the one reverse sweep with `d̄`), and
//! `separate_k20` (K single-time actions, forward + reverse). `ACTION_BENCH_TIMES=rounds`
//! prints the products and the minimum times of these over `rounds` interleaved rounds
//! (no criterion), with the ratios to the floors (forward ≤ 1.5× single, reverse ≤ 3× forward).
//!
//! Run: `RAYON_NUM_THREADS=1 cargo bench --bench action`; on a shared machine add
//! `ACTION_BENCH_CLOCK=cpu` to time the thread's CPU time instead of the wall time, or
//! `ACTION_BENCH_PAIRED=15` for the ratios to `forward` from 15 interleaved rounds (no criterion).
use criterion::measurement::Measurement;
use criterion::{BenchmarkGroup, BenchmarkId, Criterion, SamplingMode};
use expgrad::diag::{
    ActionParams, ExpmActionOptions, SparseOrDense, Storage, StorePolicy, diag_mul,
    expm_multiply_diag, try_expm_multiply_diag_with,
};
use expgrad::linalg::{
    ActionWorkspace, DiagScaled, ExpmAction, ExpmActionTimes, GradLinOp, LinOp,
    try_expm_multiply_with,
};
use expgrad::tape::Tape;
use expgrad_testkit::laplacian::{Boundary, neg_laplacian_2d};
use expgrad_testkit::{ThreadCpuTime, cpu_time, markov_csr, normal, randn, rng};
use faer::Mat;
use faer::sparse::SparseRowMat;
use rand::Rng;
use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

const GRID: usize = 316;
const TARGETS: [f64; 2] = [20.0, 100.0];
const DENSE_SIZES: [usize; 8] = [4, 8, 16, 32, 64, 128, 256, 512];

struct Problem {
    name: &'static str,
    a: Arc<SparseOrDense<f64>>,
    v: Mat<f64>,
    c: Mat<f64>,
    /// `d` for the tape route, uniform in [0.5, 1.5].
    d_rand: Mat<f64>,
}

impl Problem {
    fn csr(&self) -> &SparseRowMat<usize, f64> {
        match self.a.storage() {
            Storage::Csr(a) => a,
            _ => unreachable!("the sparse problems are CSR"),
        }
    }
}

fn problems() -> Vec<Problem> {
    let n = GRID * GRID;
    let mut out = Vec::new();
    for (name, seed) in [("laplacian", 0x1a91u64), ("markov", 0x3a2c)] {
        let mut rng = rng(seed);
        let a = if name == "laplacian" {
            neg_laplacian_2d(GRID, Boundary::Neumann).csr()
        } else {
            markov_csr(&mut rng, n)
        };
        out.push(Problem {
            name,
            a: Arc::new(a.into()),
            v: randn(&mut rng, n, 1),
            c: randn(&mut rng, n, 1),
            d_rand: Mat::from_fn(n, 1, |_, _| rng.random_range(0.5..1.5)),
        });
    }
    out
}

fn configure<'a, M: Measurement>(c: &'a mut Criterion<M>, name: &str) -> BenchmarkGroup<'a, M> {
    let mut g = c.benchmark_group(name);
    g.sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(2));
    g
}

/// One taped forward + reverse with `d̄`, blocks from and back to `ws`.
fn taped_loop<Op: LinOp<f64>>(
    op: &DiagScaled<f64, Op>,
    t: f64,
    v: &Mat<f64>,
    wbar: &Mat<f64>,
    store: StorePolicy,
    ws: &mut ActionWorkspace<f64>,
) -> Vec<f64> {
    let opts = ExpmActionOptions::default().store(store);
    let act = ExpmAction::try_new_in(op, t, v.as_ref(), opts, ws).unwrap();
    let mut sink = act.cotangent();
    let _ = black_box(act.vjp(wbar.as_ref(), &mut sink));
    act.recycle(ws);
    sink.into_value()
}

/// `(ℓ, ∂ℓ/∂d)` of `ℓ = c·exp(t·Diag(d)A)v` through the tape.
fn value_grad(
    a: &Arc<SparseOrDense<f64>>,
    d: &Mat<f64>,
    v: &Mat<f64>,
    c: &Mat<f64>,
    t: f64,
    params: ActionParams,
) -> (f64, Mat<f64>) {
    let tape = Tape::new();
    let dv = tape.var(d.clone());
    let opts = ExpmActionOptions::default().params(params);
    let w = try_expm_multiply_diag_with(
        dv,
        a,
        tape.constant(v.clone()),
        tape.constant(Mat::from_fn(1, 1, |_, _| t)),
        opts,
    )
    .unwrap();
    let loss = tape.constant(c.clone()).dot(w);
    (loss.value()[(0, 0)], loss.backward().wrt(dv))
}

fn vg_params(target: f64) -> ActionParams {
    if target >= 100.0 {
        ActionParams::NormOnly
    } else {
        ActionParams::Auto
    }
}

fn report_counts(p: &Problem, target: f64, t: f64, t_vg: f64) {
    let n = p.v.nrows();
    let ones = vec![1.0; n];
    let op = DiagScaled::left(&ones, &*p.a);
    let (_, st) = try_expm_multiply_with(
        &op,
        t,
        p.v.as_ref(),
        ExpmActionOptions::default().params(ActionParams::Auto),
    )
    .unwrap();
    let (_, st_csr) = try_expm_multiply_with(
        p.csr(),
        t,
        p.v.as_ref(),
        ExpmActionOptions::default().params(ActionParams::Auto),
    )
    .unwrap();
    eprintln!(
        "[{} ‖tX‖₁={target}] t={t:.6e} untaped Auto: (m, s)=({}, {}), products={}, norm_products={}, shifted={} (bare CSR: ({}, {}), {} + {})",
        p.name,
        st.m,
        st.s,
        st.products,
        st.norm_products,
        st.shifted,
        st_csr.m,
        st_csr.s,
        st_csr.products,
        st_csr.norm_products
    );
    for store in [StorePolicy::All, StorePolicy::Checkpoint] {
        let opts = ExpmActionOptions::default().store(store);
        let act = ExpmAction::try_new(&op, t, p.v.as_ref(), opts).unwrap();
        let (m, s) = act.params();
        let bound = (s + 1) * n;
        eprintln!(
            "    {store:?}: (m, s)=({m}, {s}), fwd products={}, rev products={}, norm products={}, stored={} = {:.2}·(s+1)·n·k (bound {bound}), Σj/(m·s)={:.3}",
            act.products(),
            act.reverse_products(),
            act.norm_products(),
            act.stored_values(),
            act.stored_values() as f64 / bound as f64,
            act.products() as f64 / (m * s) as f64
        );
    }
    // The tape route's node (d random, the value_grad parameters, default store policy).
    let params = vg_params(target);
    let d: Vec<f64> = p.d_rand.col_as_slice(0).to_vec();
    let op = DiagScaled::left(&d, &*p.a);
    let act = ExpmAction::try_new(
        &op,
        t_vg,
        p.v.as_ref(),
        ExpmActionOptions::default().params(params),
    )
    .unwrap();
    let (m, s) = act.params();
    eprintln!(
        "    value_grad node ({params:?}, d random, t={t_vg:.6e}, default store → {:?}): (m, s)=({m}, {s}), fwd products={}, rev products={}, norm products={}, stored={} ({:.0} MB)",
        act.store_policy(),
        act.products(),
        act.reverse_products(),
        act.norm_products(),
        act.stored_values(),
        act.stored_values() as f64 * 8e-6
    );
}

/// One matrix–vector product of each kind, into a preallocated block: the unit for reading
/// the other groups as "products".
fn bench_products<M: Measurement, Op: LinOp<f64>>(
    cr: &mut Criterion<M>,
    p: &Problem,
    op: &DiagScaled<f64, Op>,
) {
    let n = p.v.nrows();
    let mut g = cr.benchmark_group(format!("product/{}", p.name));
    g.sample_size(20)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_millis(200))
        .measurement_time(Duration::from_secs(2));
    let (mut out, mut raw) = (Mat::<f64>::zeros(n, 1), Mat::<f64>::zeros(n, 1));
    let x = p.v.as_ref();
    g.bench_function("csr", |b| {
        b.iter(|| p.csr().apply(out.as_mut(), black_box(x)))
    });
    g.bench_function("csr_transpose", |b| {
        b.iter(|| p.csr().apply_transpose(out.as_mut(), black_box(x)))
    });
    g.bench_function("diag", |b| b.iter(|| op.apply(out.as_mut(), black_box(x))));
    g.bench_function("diag_keep_raw", |b| {
        b.iter(|| op.apply_keep_raw(out.as_mut(), black_box(x), raw.as_mut()))
    });
    g.bench_function("diag_transpose", |b| {
        b.iter(|| op.apply_transpose(out.as_mut(), black_box(x)))
    });
    g.finish();
}

fn bench_action<M: Measurement>(cr: &mut Criterion<M>) {
    faer::set_global_parallelism(faer::Par::Seq);
    for p in problems() {
        let n = p.v.nrows();
        let ones = vec![1.0; n];
        let op = DiagScaled::left(&ones, &*p.a);
        let norm1 = LinOp::norm1(&op).unwrap();
        let wbar = p.c.clone();
        bench_products(cr, &p, &op);
        let d_rand: Vec<f64> = p.d_rand.col_as_slice(0).to_vec();
        let norm1_rand = LinOp::norm1(&DiagScaled::left(&d_rand, p.csr())).unwrap();
        for target in TARGETS {
            let t = target / norm1;
            // value_grad's own t, so that ‖t·Diag(d)A‖₁ is the target for its random d too.
            let t_vg = target / norm1_rand;
            report_counts(&p, target, t, t_vg);
            let mut g = configure(cr, &format!("action/{}/{}", p.name, target));
            g.bench_function("forward", |b| {
                b.iter(|| {
                    try_expm_multiply_with(
                        &op,
                        black_box(t),
                        p.v.as_ref(),
                        ExpmActionOptions::default().params(ActionParams::Auto),
                    )
                    .unwrap()
                })
            });
            g.bench_function("forward_csr", |b| {
                b.iter(|| {
                    try_expm_multiply_with(
                        p.csr(),
                        black_box(t),
                        p.v.as_ref(),
                        ExpmActionOptions::default().params(ActionParams::Auto),
                    )
                    .unwrap()
                })
            });
            for (label, store) in [
                ("all", StorePolicy::All),
                ("checkpoint", StorePolicy::Checkpoint),
            ] {
                let mut ws = ActionWorkspace::new();
                // Fill the pool once so that the measured loop is the steady state.
                let _ = taped_loop(&op, t, &p.v, &wbar, store, &mut ws);
                g.bench_function(label, |b| {
                    b.iter(|| taped_loop(&op, black_box(t), &p.v, &wbar, store, &mut ws))
                });
            }
            let params = vg_params(target);
            g.bench_function("value_grad", |b| {
                b.iter(|| value_grad(&p.a, &p.d_rand, &p.v, &p.c, black_box(t_vg), params))
            });
            g.finish();
        }
    }
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    let h = v.len() / 2;
    if v.len() % 2 == 1 {
        v[h]
    } else {
        0.5 * (v[h - 1] + v[h])
    }
}

/// `ACTION_BENCH_PAIRED=rounds`: instead of criterion, runs `forward`, `all`, `checkpoint` and
/// `value_grad` of each problem in interleaved rounds (rotating order), timing each call's CPU
/// time, and prints the median time of each and the median of the per-round ratios to
/// `forward`: ratios that a slowly varying load on a shared machine cancels out of.
fn paired(rounds: usize) {
    faer::set_global_parallelism(faer::Par::Seq);
    let threads = rayon::current_num_threads();
    // `ACTION_BENCH_CLOCK=cpu` forces the calling thread's CPU time also on more threads:
    // the share of the work that stays on the caller.
    let wall = threads > 1 && !std::env::var("ACTION_BENCH_CLOCK").is_ok_and(|v| v == "cpu");
    eprintln!(
        "paired: {threads} rayon thread(s), {} time",
        if wall { "wall" } else { "calling thread's CPU" }
    );
    for p in problems() {
        let n = p.v.nrows();
        let ones = vec![1.0; n];
        let op = DiagScaled::left(&ones, &*p.a);
        let norm1 = LinOp::norm1(&op).unwrap();
        let d_rand: Vec<f64> = p.d_rand.col_as_slice(0).to_vec();
        let norm1_rand = LinOp::norm1(&DiagScaled::left(&d_rand, p.csr())).unwrap();
        for target in TARGETS {
            let (t, t_vg) = (target / norm1, target / norm1_rand);
            report_counts(&p, target, t, t_vg);
            let params = vg_params(target);
            let (mut ws_all, mut ws_cp) = (ActionWorkspace::new(), ActionWorkspace::new());
            let mut forward = || {
                black_box(
                    try_expm_multiply_with(
                        &op,
                        t,
                        p.v.as_ref(),
                        ExpmActionOptions::default().params(ActionParams::Auto),
                    )
                    .unwrap(),
                );
            };
            let mut all = || {
                black_box(taped_loop(
                    &op,
                    t,
                    &p.v,
                    &p.c,
                    StorePolicy::All,
                    &mut ws_all,
                ));
            };
            let mut cp = || {
                black_box(taped_loop(
                    &op,
                    t,
                    &p.v,
                    &p.c,
                    StorePolicy::Checkpoint,
                    &mut ws_cp,
                ));
            };
            let mut vg = || {
                black_box(value_grad(&p.a, &p.d_rand, &p.v, &p.c, t_vg, params));
            };
            let mut routines: [&mut dyn FnMut(); 4] = [&mut forward, &mut all, &mut cp, &mut vg];
            routines.iter_mut().for_each(|f| f()); // warm-up, fills the workspaces
            let mut times: Vec<Vec<f64>> = (0..4).map(|_| Vec::with_capacity(rounds)).collect();
            for r in 0..rounds {
                for i in 0..4 {
                    let idx = (i + r) % 4;
                    times[idx].push(if wall {
                        let t0 = Instant::now();
                        routines[idx]();
                        t0.elapsed().as_nanos() as f64
                    } else {
                        cpu_time(routines[idx])
                    });
                }
            }
            let ratio = |i: usize| {
                let mut q: Vec<f64> = times[i].iter().zip(&times[0]).map(|(a, b)| a / b).collect();
                median(&mut q)
            };
            let (r_all, r_cp, r_vg) = (ratio(1), ratio(2), ratio(3));
            let ms: Vec<f64> = times.iter_mut().map(|t| median(t) * 1e-6).collect();
            eprintln!(
                "paired {}/{target} ({rounds} rounds, {threads} thread(s), ms, median): forward {:.1}, all {:.1} ({r_all:.2}×), checkpoint {:.1} ({r_cp:.2}×), value_grad {:.1} ({r_vg:.2}×)",
                p.name, ms[0], ms[1], ms[2], ms[3]
            );
        }
    }
}

struct Dense {
    a: Mat<f64>,
    a_arc: Arc<SparseOrDense<f64>>,
    d: Mat<f64>,
    v: Mat<f64>,
    c: Mat<f64>,
}

fn dense(n: usize) -> Dense {
    let mut rng = rng(0xde75e + n as u64);
    let s = 1.0 / (n as f64).sqrt();
    let a = Mat::from_fn(n, n, |_, _| s * normal(&mut rng));
    let d = Mat::from_fn(n, 1, |_, _| 0.5 + rng.random::<f64>());
    let v = randn(&mut rng, n, 1);
    let c = randn(&mut rng, n, 1);
    Dense {
        a_arc: Arc::new(SparseOrDense::from(a.clone())),
        a,
        d,
        v,
        c,
    }
}

fn dense_pade(p: &Dense) -> (f64, Mat<f64>) {
    let tape = Tape::new();
    let d = tape.var(p.d.clone());
    let w = diag_mul(d, tape.constant(p.a.clone())).expm_mul(tape.constant(p.v.clone()));
    let loss = tape.constant(p.c.clone()).dot(w);
    (loss.value()[(0, 0)], loss.backward().wrt(d))
}

fn dense_action(p: &Dense) -> (f64, Mat<f64>) {
    let tape = Tape::new();
    let d = tape.var(p.d.clone());
    let w = expm_multiply_diag(
        d,
        &p.a_arc,
        tape.constant(p.v.clone()),
        tape.constant(Mat::from_fn(1, 1, |_, _| 1.0)),
    );
    let loss = tape.constant(p.c.clone()).dot(w);
    (loss.value()[(0, 0)], loss.backward().wrt(d))
}

fn bench_seed_dense<M: Measurement>(cr: &mut Criterion<M>) {
    faer::set_global_parallelism(faer::Par::Seq);
    let mut g = cr.benchmark_group("seed_dense");
    g.sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(2));
    for n in DENSE_SIZES {
        let p = dense(n);
        // The two routes agree (printed once, outside the timed loops).
        let ((l1, g1), (l2, g2)) = (dense_pade(&p), dense_action(&p));
        let dv: Vec<f64> = p.d.col_as_slice(0).to_vec();
        let op = DiagScaled::left(&dv, p.a.as_ref());
        let (_, st) = try_expm_multiply_with(
            &op,
            1.0,
            p.v.as_ref(),
            ExpmActionOptions::default().params(ActionParams::Auto),
        )
        .unwrap();
        eprintln!(
            "[seed_dense n={n}] |Δℓ|/|ℓ|={:.1e}, ‖Δd̄‖∞/‖d̄‖∞={:.1e}, action (m, s)=({}, {}), products={}, norm_products={}",
            (l1 - l2).abs() / l1.abs(),
            (&g1 - &g2).norm_max() / g1.norm_max(),
            st.m,
            st.s,
            st.products,
            st.norm_products
        );
        g.bench_function(BenchmarkId::new("expm_mul", n), |b| {
            b.iter(|| dense_pade(black_box(&p)))
        });
        g.bench_function(BenchmarkId::new("expm_multiply", n), |b| {
            b.iter(|| dense_action(black_box(&p)))
        });
    }
    g.finish();
}

fn run<M: Measurement>(mut c: Criterion<M>) {
    bench_action(&mut c);
    bench_times(&mut c);
    bench_seed_dense(&mut c);
    c.final_summary();
}

/// `ACTION_BENCH_CLOCK=cpu` measures the thread's CPU time ([`ThreadCpuTime`]) instead of the
/// wall time; `ACTION_BENCH_PAIRED=rounds` runs [`paired`] instead of criterion.
fn main() {
    if let Some(rounds) = std::env::var("ACTION_BENCH_TIMES")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        return times_report(rounds);
    }
    if let Some(rounds) = std::env::var("ACTION_BENCH_PAIRED")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        return paired(rounds);
    }
    let cpu = std::env::var("ACTION_BENCH_CLOCK").is_ok_and(|v| v == "cpu");
    if cpu {
        run(Criterion::default()
            .with_measurement(ThreadCpuTime)
            .configure_from_args());
    } else {
        run(Criterion::default().configure_from_args());
    }
}

/// The K = 20 time grids over `[0, t_K]`: uniform, and sorted irregular (seeded) ending at
/// `t_K`.
fn time_grids(t_last: f64) -> [(&'static str, Vec<f64>); 2] {
    let uniform: Vec<f64> = (1..=20).map(|k| k as f64 * t_last / 20.0).collect();
    let mut r = rng(0x71e5);
    let mut irregular: Vec<f64> = (0..19).map(|_| r.random_range(0.0..1.0) * t_last).collect();
    irregular.push(t_last);
    irregular.sort_by(f64::total_cmp);
    [("uniform", uniform), ("irregular", irregular)]
}

/// K-output node forward + reverse with `d̄`.
fn times_forward<'a, Op: LinOp<f64>>(
    op: &'a DiagScaled<f64, Op>,
    times: &[f64],
    v: &Mat<f64>,
) -> ExpmActionTimes<f64, &'a DiagScaled<f64, Op>> {
    ExpmActionTimes::try_new(op, times, v.as_ref(), ExpmActionOptions::default()).unwrap()
}

fn bench_times<M: Measurement>(cr: &mut Criterion<M>) {
    faer::set_global_parallelism(faer::Par::Seq);
    for p in problems() {
        let n = p.v.nrows();
        let ones = vec![1.0; n];
        let op = DiagScaled::left(&ones, p.csr());
        let t_last = 20.0 / LinOp::norm1(&op).unwrap();
        for (grid, times) in time_grids(t_last) {
            let wbar = Mat::from_fn(n, times.len(), |i, c| p.c[(i, 0)] * (1.0 + c as f64));
            let mut g = configure(cr, &format!("times/{}/{grid}", p.name));
            g.bench_function("forward_k20", |b| {
                b.iter(|| black_box(times_forward(&op, &times, &p.v)))
            });
            g.bench_function("forward_single", |b| {
                b.iter(|| {
                    black_box(
                        ExpmAction::try_new(
                            &op,
                            t_last,
                            p.v.as_ref(),
                            ExpmActionOptions::default(),
                        )
                        .unwrap(),
                    )
                })
            });
            let act = times_forward(&op, &times, &p.v);
            g.bench_function("reverse_k20", |b| {
                b.iter(|| {
                    let mut sink = act.cotangent();
                    black_box(act.vjp(wbar.as_ref(), &mut sink));
                    sink.into_value()
                })
            });
            g.bench_function("separate_k20", |b| {
                b.iter(|| separate(&op, &times, &p.v, &wbar))
            });
            g.finish();
        }
    }
}

/// K single-time taped actions, forward + reverse with `d̄` (what K nodes cost).
fn separate<Op: LinOp<f64>>(
    op: &DiagScaled<f64, Op>,
    times: &[f64],
    v: &Mat<f64>,
    wbar: &Mat<f64>,
) -> (usize, usize) {
    let (mut fwd, mut rev) = (0, 0);
    for (c, &t) in times.iter().enumerate() {
        let act = ExpmAction::try_new(op, t, v.as_ref(), ExpmActionOptions::default()).unwrap();
        let mut sink = act.cotangent();
        black_box(act.vjp(wbar.as_ref().subcols(c, 1), &mut sink));
        fwd += act.products();
        rev += act.reverse_products();
    }
    (fwd, rev)
}

/// `ACTION_BENCH_TIMES=rounds`: products and minimum times (over interleaved rounds) of the
/// K = 20 node against one action at `t_K` and K separate actions.
fn times_report(rounds: usize) {
    faer::set_global_parallelism(faer::Par::Seq);
    let elapsed = |f: &mut dyn FnMut()| {
        let t0 = std::time::Instant::now();
        f();
        t0.elapsed().as_secs_f64()
    };
    for p in problems() {
        let n = p.v.nrows();
        let ones = vec![1.0; n];
        let op = DiagScaled::left(&ones, p.csr());
        let t_last = 20.0 / LinOp::norm1(&op).unwrap();
        for (grid, times) in time_grids(t_last) {
            let wbar = Mat::from_fn(n, times.len(), |i, c| p.c[(i, 0)] * (1.0 + c as f64));
            let mut best = [f64::INFINITY; 5];
            let (mut counts, mut single_counts, mut sep) = ((0, 0), (0, 0), (0, 0));
            let mut spans = ((0, 0), (0, 0));
            for _ in 0..rounds {
                let mut act = None;
                best[0] = best[0].min(elapsed(&mut || {
                    act = Some(times_forward(&op, &times, &p.v))
                }));
                let act = act.unwrap();
                counts = (act.products(), act.reverse_products());
                spans = (act.head_params(), act.span_params());
                best[1] = best[1].min(elapsed(&mut || {
                    let mut sink = act.cotangent();
                    black_box(act.vjp(wbar.as_ref(), &mut sink));
                    black_box(sink.into_value());
                }));
                drop(act);
                let mut single = None;
                best[2] = best[2].min(elapsed(&mut || {
                    single = Some(
                        ExpmAction::try_new(
                            &op,
                            t_last,
                            p.v.as_ref(),
                            ExpmActionOptions::default(),
                        )
                        .unwrap(),
                    )
                }));
                let single = single.unwrap();
                single_counts = (single.products(), single.reverse_products());
                best[3] = best[3].min(elapsed(&mut || {
                    let mut sink = single.cotangent();
                    black_box(single.vjp(wbar.as_ref().subcols(19, 1), &mut sink));
                    black_box(sink.into_value());
                }));
                drop(single);
                best[4] = best[4].min(elapsed(&mut || sep = separate(&op, &times, &p.v, &wbar)));
            }
            let ms = |x: f64| x * 1e3;
            eprintln!(
                "[times/{}/{grid}] n={n} K=20 ‖t_K X‖₁=20 t_K={t_last:.4e}: head (m,s)={:?} span (m,s)={:?}",
                p.name, spans.0, spans.1
            );
            eprintln!(
                "    K-node: fwd {:.1} ms ({} products), rev {:.1} ms ({} products); single at t_K: fwd {:.1} ms ({} products), rev {:.1} ms ({})",
                ms(best[0]),
                counts.0,
                ms(best[1]),
                counts.1,
                ms(best[2]),
                single_counts.0,
                ms(best[3]),
                single_counts.1
            );
            eprintln!(
                "    ratios: fwd K-node/single {:.2} (floor 1.5; products {:.2}), rev/fwd K-node {:.2} (floor 3.0); K separate nodes fwd+rev {:.1} ms ({} + {} products) = {:.1}× the K-node fwd+rev",
                best[0] / best[2],
                counts.0 as f64 / single_counts.0 as f64,
                best[1] / best[0],
                ms(best[4]),
                sep.0,
                sep.1,
                best[4] / (best[0] + best[1])
            );
        }
    }
}
