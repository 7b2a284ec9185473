//! The Rust half of `benches/compare/`: expgrad on the same seeded problems as the PyTorch,
//! JAX and SciPy peers (`benches/compare/peers.py`), timed with the same protocol, written as
//! JSON in the same format for `benches/compare/report.py`.
//!
//! ```text
//! cargo bench --bench compare -- --problems target/compare/problems --threads 1 \
//!     --out target/compare/expgrad-t1.json [--quick]
//! ```
//!
//! Protocol (identical on both sides): warm-up calls; `reps` chosen so that one measurement
//! takes ≥ 20 ms; ≥ 7 measurements (≥ 5 above 0.5 s per call, ≥ 3 above 5 s); the median of
//! the per-call times. Everything runs inside a Rayon pool of `--threads` threads, and faer's
//! global parallelism is set to match.
use expgrad::diag::{SparseOrDense, diag_mul, diag_mul_batch, expm_jacobian, expm_multiply_diag};
use expgrad::linalg::expm_multiply;
use expgrad::linalg::{Expm, expm};
use expgrad::tape::Tape;
use faer::Mat;
use faer::sparse::{SparseRowMat, Triplet};
use rayon::prelude::*;
use serde::Serialize;
use serde_json::Value;
use std::cell::RefCell;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

#[path = "compare/complex.rs"]
mod complex;

/// One seeded dense problem: `X = Diag(d)·A`, `w = exp(X)v`, `ℓ = c·w`.
struct Problem {
    n: usize,
    a: Mat<f64>,
    d: Mat<f64>,
    v: Mat<f64>,
    c: Mat<f64>,
}

fn floats(v: &Value, key: &str) -> Vec<f64> {
    v[key]
        .as_array()
        .unwrap_or_else(|| panic!("problem file: missing array {key}"))
        .iter()
        .map(|x| x.as_f64().expect("problem file: non-number"))
        .collect()
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| {
        panic!(
            "cannot read {}: {e} (run peers.py gen first)",
            path.display()
        )
    });
    serde_json::from_str(&text).expect("problem file is not JSON")
}

/// Problem `index` of a problem-major file holding `count` problems of size n.
fn problem_at(v: &Value, n: usize, index: usize) -> Problem {
    let (a, d, vv, c) = (
        floats(v, "A"),
        floats(v, "d"),
        floats(v, "v"),
        floats(v, "c"),
    );
    problem_from(&a, &d, &vv, &c, n, index)
}

fn problem_from(a: &[f64], d: &[f64], v: &[f64], c: &[f64], n: usize, i: usize) -> Problem {
    let (am, vm) = (i * n * n, i * n);
    Problem {
        n,
        a: Mat::from_fn(n, n, |r, k| a[am + r * n + k]),
        d: Mat::from_fn(n, 1, |r, _| d[vm + r]),
        v: Mat::from_fn(n, 1, |r, _| v[vm + r]),
        c: Mat::from_fn(n, 1, |r, _| c[vm + r]),
    }
}

fn scaled(p: &Problem) -> Mat<f64> {
    Mat::from_fn(p.n, p.n, |i, j| p.d[(i, 0)] * p.a[(i, j)])
}

// ---- the tasks, as a user would write them -------------------------------------------------

/// `exp(X)` with `X = Diag(d)·A` formed beforehand (as the peers time it).
fn forward(x: &Mat<f64>) -> Mat<f64> {
    expm(x.as_ref())
}

/// Value and gradient of `c·(exp(Diag(d)A)v)` w.r.t. `d` through the tape, with the action
/// `exp(X)·v` as one node (`expm_mul`, the documented way for this model).
fn grad_on(tape: &Tape<f64>, p: &Problem) -> (f64, Mat<f64>) {
    let d = tape.var(p.d.clone());
    let w = diag_mul(d, tape.constant(p.a.clone())).expm_mul(tape.constant(p.v.clone()));
    let loss = tape.constant(p.c.clone()).dot(w);
    (loss.item(), loss.backward().wrt(d))
}

fn grad(p: &Problem) -> (f64, Mat<f64>) {
    grad_on(&Tape::new(), p)
}

/// The same through `expm()` then `matmul` (the generic O(n³) adjoint of exp).
fn grad_generic(p: &Problem) -> (f64, Mat<f64>) {
    let tape = Tape::new();
    let d = tape.var(p.d.clone());
    let w = diag_mul(d, tape.constant(p.a.clone()))
        .expm()
        .matmul(tape.constant(p.v.clone()));
    let loss = tape.constant(p.c.clone()).dot(w);
    (loss.item(), loss.backward().wrt(d))
}

/// The same through the action of the exponential (`expm_multiply_diag`, truncated Taylor with
/// its exact discrete adjoint; no n×n matrix function is formed).
fn grad_action(p: &Problem, a: &Arc<SparseOrDense<f64>>) -> (f64, Mat<f64>) {
    let tape = Tape::new();
    let d = tape.var(p.d.clone());
    let t = tape.constant(Mat::from_fn(1, 1, |_, _| 1.0));
    let w = expm_multiply_diag(d, a, tape.constant(p.v.clone()), t);
    let loss = tape.constant(p.c.clone()).dot(w);
    (loss.item(), loss.backward().wrt(d))
}

/// A sparse action problem of `peers.py gen`: CSR `X`, `t`, `v`.
struct ActionProblem {
    x: SparseRowMat<usize, f64>,
    t: f64,
    v: Mat<f64>,
}

fn action_problem(v: &Value) -> ActionProblem {
    let n = v["n"].as_u64().expect("n") as usize;
    let idx = |key: &str| -> Vec<usize> {
        v[key]
            .as_array()
            .expect("index array")
            .iter()
            .map(|x| x.as_u64().expect("index") as usize)
            .collect()
    };
    let (rows, cols, vals) = (idx("rows"), idx("cols"), floats(v, "vals"));
    let triplets: Vec<Triplet<usize, usize, f64>> = (0..vals.len())
        .map(|k| Triplet::new(rows[k], cols[k], vals[k]))
        .collect();
    let vv = floats(v, "v");
    ActionProblem {
        x: SparseRowMat::try_new_from_triplets(n, n, &triplets).expect("valid COO"),
        t: v["t"].as_f64().expect("t"),
        v: Mat::from_fn(n, 1, |i, _| vv[i]),
    }
}

/// The full Jacobian `∂w/∂d` by the O(n³) structured route.
fn jacobian(p: &Problem) -> Mat<f64> {
    expm_jacobian(p.d.as_ref(), p.a.as_ref(), p.v.as_ref())
}

/// One generator at many times: `ℓ(Q, t) = Σ_b w_b·⟨C, exp(t_b·Q)⟩`.
struct SharedProblem {
    q: Mat<f64>,
    t: Mat<f64>,
    /// The cotangent of every `exp(t_b·Q)`, side by side: block b is `w_b·C` (n×(n·B)).
    g: Mat<f64>,
}

fn shared_problem(v: &Value) -> SharedProblem {
    let n = v["n"].as_u64().expect("n") as usize;
    let (q, c, t, w) = (
        floats(v, "Q"),
        floats(v, "C"),
        floats(v, "t"),
        floats(v, "w"),
    );
    SharedProblem {
        q: Mat::from_fn(n, n, |i, j| q[i * n + j]),
        t: Mat::from_fn(t.len(), 1, |i, _| t[i]),
        g: Mat::from_fn(n, n * t.len(), |i, j| w[j / n] * c[i * n + j % n]),
    }
}

/// Value and gradient (`Q̄`, every `t̄_b`) through the one `expm_times` node.
fn shared_grad(p: &SharedProblem) -> (f64, Mat<f64>, Mat<f64>) {
    let tape = Tape::new();
    let (q, t) = (tape.var(p.q.clone()), tape.var(p.t.clone()));
    let loss = q.expm_times(t).dot(tape.constant(p.g.clone()));
    let g = loss.backward();
    (loss.item(), g.wrt(q), g.wrt(t))
}

/// The whole batch side by side: `d` n×B, `A` n×(n·B), `v`, `c` n×B.
struct Stacked {
    d: Mat<f64>,
    a: Mat<f64>,
    v: Mat<f64>,
    c: Mat<f64>,
}

fn stack(problems: &[Problem]) -> Stacked {
    let n = problems[0].n;
    let b = problems.len();
    Stacked {
        d: Mat::from_fn(n, b, |i, j| problems[j].d[(i, 0)]),
        a: Mat::from_fn(n, n * b, |i, j| problems[j / n].a[(i, j % n)]),
        v: Mat::from_fn(n, b, |i, j| problems[j].v[(i, 0)]),
        c: Mat::from_fn(n, b, |i, j| problems[j].c[(i, 0)]),
    }
}

/// Every problem's value and gradient from ONE tape: `diag_mul_batch` then `expm_batch_mul`
/// (one node each for the whole batch), the summed loss's gradient giving every `d̄_b`.
fn batch_stacked(s: &Stacked) -> (Vec<f64>, Mat<f64>) {
    let tape = Tape::new();
    let d = tape.var(s.d.clone());
    let w =
        diag_mul_batch(d, tape.constant(s.a.clone())).expm_batch_mul(tape.constant(s.v.clone()));
    let loss = w.dot(tape.constant(s.c.clone()));
    let wv = w.value();
    let values = (0..s.c.ncols())
        .map(|j| (0..s.c.nrows()).map(|i| s.c[(i, j)] * wv[(i, j)]).sum())
        .collect();
    (values, loss.backward().wrt(d))
}

thread_local! {
    static BATCH_TAPE: RefCell<Tape<f64>> = RefCell::new(Tape::new());
}

/// Value and gradient of each independent problem: Rayon over problems, one reused tape per
/// worker thread.
fn batch(problems: &[Problem]) -> Vec<(f64, Mat<f64>)> {
    problems
        .par_iter()
        .map(|p| {
            BATCH_TAPE.with(|t| {
                let tape = t.borrow();
                tape.clear();
                grad_on(&tape, p)
            })
        })
        .collect()
}

// ---- timing and output ---------------------------------------------------------------------

#[derive(Serialize)]
struct Timing {
    task: &'static str,
    n: usize,
    problem: &'static str,
    median_s: f64,
    samples_s: Vec<f64>,
    reps: usize,
    compile_s: Option<f64>,
    note: String,
}

#[derive(Serialize)]
struct Output {
    task: &'static str,
    n: usize,
    problem: &'static str,
    value: Option<f64>,
    data: Vec<f64>,
}

#[derive(Serialize)]
struct Record {
    system: String,
    version: String,
    threads: usize,
    results: Vec<Timing>,
    outputs: Vec<Output>,
}

/// A timing record for the dense problem, echoed to stderr.
fn timing(
    task: &'static str,
    n: usize,
    (median_s, samples_s, reps): (f64, Vec<f64>, usize),
) -> Timing {
    eprintln!(
        "{task:>9} n={n:<4} {:>12.3} µs  (reps {reps})",
        median_s * 1e6
    );
    Timing {
        task,
        n,
        problem: "dense",
        median_s,
        samples_s,
        reps,
        compile_s: None,
        note: String::new(),
    }
}

/// Times `f` with the shared protocol; returns (median, samples, reps).
fn time<R>(mut f: impl FnMut() -> R, quick: bool) -> (f64, Vec<f64>, usize) {
    // Warm-up, and a first estimate of one call.
    let t0 = Instant::now();
    black_box(f());
    let first = t0.elapsed().as_secs_f64();
    let t0 = Instant::now();
    black_box(f());
    let one = t0.elapsed().as_secs_f64().min(first).max(1e-9);
    let reps = ((0.02 / one).ceil() as usize).clamp(1, 1_000_000);
    let count = match one {
        x if x > 5.0 => 3,
        x if x > 0.5 => 5,
        _ if quick => 5,
        _ => 9,
    };
    let mut samples: Vec<f64> = (0..count)
        .map(|_| {
            let t0 = Instant::now();
            for _ in 0..reps {
                black_box(f());
            }
            t0.elapsed().as_secs_f64() / reps as f64
        })
        .collect();
    let mut sorted = samples.clone();
    sorted.sort_by(f64::total_cmp);
    let median = sorted[sorted.len() / 2];
    samples.shrink_to_fit();
    (median, samples, reps)
}

fn flat(m: &Mat<f64>) -> Vec<f64> {
    (0..m.nrows())
        .flat_map(|i| (0..m.ncols()).map(move |j| m[(i, j)]))
        .collect()
}

struct Args {
    problems: PathBuf,
    threads: usize,
    out: PathBuf,
    quick: bool,
    /// `--sizes 64,128`: only these dense sizes, and no batch or action tasks (a quick look).
    sizes: Option<Vec<usize>>,
    /// `--complex-only`: only the complex tasks (`cforward`, `grape`).
    complex_only: bool,
}

fn args() -> Args {
    let mut problems = PathBuf::from("target/compare/problems");
    let mut out = None;
    let mut threads = 1;
    let mut quick = false;
    let mut sizes = None;
    let mut complex_only = false;
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--problems" => problems = it.next().expect("--problems DIR").into(),
            "--out" => out = Some(PathBuf::from(it.next().expect("--out FILE"))),
            "--threads" => threads = it.next().and_then(|t| t.parse().ok()).expect("--threads N"),
            "--quick" => quick = true,
            "--complex-only" => complex_only = true,
            "--sizes" => {
                let list = it.next().expect("--sizes N,N,...");
                sizes = Some(
                    list.split(',')
                        .map(|x| x.parse().expect("a size"))
                        .collect(),
                );
            }
            _ => {} // cargo bench passes `--bench`; ignore anything else
        }
    }
    let out = out.unwrap_or_else(|| format!("target/compare/expgrad-t{threads}.json").into());
    Args {
        problems,
        threads,
        out,
        quick,
        sizes,
        complex_only,
    }
}

fn main() {
    let args = args();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(args.threads)
        .build()
        .expect("rayon pool");
    faer::set_global_parallelism(if args.threads == 1 {
        faer::Par::Seq
    } else {
        faer::Par::rayon(args.threads)
    });
    let records = pool.install(|| run(&args));
    if let Some(dir) = args.out.parent() {
        std::fs::create_dir_all(dir).expect("create output directory");
    }
    let json = serde_json::to_string(&records).expect("serialise");
    std::fs::write(&args.out, json).expect("write results");
    eprintln!("wrote {}", args.out.display());
}

fn run(args: &Args) -> Vec<Record> {
    let sizes: &[usize] = match (&args.sizes, args.quick) {
        (Some(s), _) => s,
        (None, true) => &[4, 8, 16, 32],
        (None, false) => &[4, 8, 16, 32, 64, 128, 256, 512],
    };
    let outputs_wanted = args.threads == 1;
    let mut results = Vec::new();
    let mut outputs = Vec::new();
    let mut generic = Vec::new();
    let mut action = Vec::new();
    let mut action_outputs = Vec::new();
    let mut per_problem = Vec::new();
    if args.sizes.is_none() {
        let (r, o) = complex::run(&args.problems, args.quick, outputs_wanted);
        results.extend(r);
        outputs.extend(o);
    }
    let sizes = if args.complex_only { &[][..] } else { sizes };
    for &n in sizes {
        let file = read_json(&args.problems.join(format!("dense_n{n}.json")));
        let p = problem_at(&file, n, 0);
        let x = scaled(&p);
        let mut fwd = timing("forward", n, time(|| forward(&x), args.quick));
        let f = Expm::new(x.as_ref());
        let (m, s) = f.params();
        fwd.note = format!(
            "n = {n}: {} m = {m}, s = {s}; {} products forward, {} per dense adjoint",
            f.approximant(),
            f.forward_products(),
            f.adjoint_products()
        );
        results.push(fwd);
        results.push(timing("grad", n, time(|| grad(&p), args.quick)));
        generic.push(timing("grad", n, time(|| grad_generic(&p), args.quick)));
        let a = Arc::new(SparseOrDense::from(p.a.clone()));
        action.push(timing("grad", n, time(|| grad_action(&p, &a), args.quick)));
        if outputs_wanted {
            let (value, g) = grad_action(&p, &a);
            action_outputs.push(Output {
                task: "grad",
                n,
                problem: "dense",
                value: Some(value),
                data: flat(&g),
            });
        }
        if n <= 256 {
            results.push(timing("jacobian", n, time(|| jacobian(&p), args.quick)));
        }
        if outputs_wanted {
            let (value, g) = grad(&p);
            let out = |task, value, data| Output {
                task,
                n,
                problem: "dense",
                value,
                data,
            };
            outputs.push(out("forward", None, flat(&forward(&x))));
            outputs.push(out("grad", Some(value), flat(&g)));
            if n <= 256 {
                outputs.push(out("jacobian", None, flat(&jacobian(&p))));
            }
        }
    }
    // The batch and the sparse action, unless only some dense sizes were asked for.
    if args.sizes.is_none() && !args.complex_only {
        let file = read_json(&args.problems.join("batch_n4.json"));
        let count = file["count"].as_u64().expect("count") as usize;
        let n = file["n"].as_u64().expect("n") as usize;
        let (a, d, v, c) = (
            floats(&file, "A"),
            floats(&file, "d"),
            floats(&file, "v"),
            floats(&file, "c"),
        );
        let problems: Vec<Problem> = (0..count)
            .map(|i| problem_from(&a, &d, &v, &c, n, i))
            .collect();
        // The time of the whole batch of `count` problems: one tape for all, and a tape per
        // problem (Rayon over the problems).
        let stacked = stack(&problems);
        let mut rec = timing("batch", n, time(|| batch_stacked(&stacked), args.quick));
        rec.problem = "batch";
        rec.note = "one tape: diag_mul_batch, expm_batch_mul (one node each for the batch)".into();
        results.push(rec);
        let mut rec = timing("batch", n, time(|| batch(&problems), args.quick));
        rec.problem = "batch";
        per_problem.push(rec);
        if outputs_wanted {
            let (values, grads) = batch_stacked(&stacked);
            let mut data = values;
            data.extend(
                (0..count)
                    .flat_map(|j| (0..n).map(move |i| (i, j)))
                    .map(|(i, j)| grads[(i, j)]),
            );
            outputs.push(Output {
                task: "batch",
                n,
                problem: "batch",
                value: None,
                data,
            });
        }
        // One generator at many times.
        for n in [4usize, 20, 61] {
            for count in [1_000usize, 10_000] {
                if args.quick && (n > 32 || count > 1_000) {
                    continue;
                }
                let file = read_json(&args.problems.join(format!("shared_n{n}_B{count}.json")));
                let p = shared_problem(&file);
                let mut rec = timing("shared", n, time(|| shared_grad(&p), args.quick));
                let times: Vec<f64> = p.t.col(0).iter().copied().collect();
                let e = expgrad::linalg::ExpmTimes::new(p.q.as_ref(), &times);
                let squarings: u32 = e.squarings().iter().sum();
                // What sharing saves: the products of B independent exponentials of t_b·Q.
                let independent: f64 = times
                    .iter()
                    .map(|&tb| Expm::new((&p.q * faer::Scale(tb)).as_ref()).forward_products())
                    .sum();
                rec.note = format!(
                    "one expm_times node: degree {}, {} squarings in all, {:.0} n×n products \
                     forward (B independent Expm: {:.0})",
                    e.degree(),
                    squarings,
                    e.forward_products(),
                    independent
                );
                rec.problem = if count == 1_000 { "B1000" } else { "B10000" };
                results.push(rec);
                if outputs_wanted {
                    let (value, qbar, tbar) = shared_grad(&p);
                    let mut data = flat(&qbar);
                    data.extend(tbar.col(0).iter());
                    outputs.push(Output {
                        task: "shared",
                        n,
                        problem: if count == 1_000 { "B1000" } else { "B10000" },
                        value: Some(value),
                        data,
                    });
                }
            }
        }
        // The action of the exponential on the sparse problems (forward only, as SciPy).
        for name in [
            "laplacian2d_20",
            "laplacian2d_100",
            "markov_20",
            "markov_100",
        ] {
            if args.quick {
                break;
            }
            let q = action_problem(&read_json(
                &args.problems.join(format!("action_{name}.json")),
            ));
            let n = q.v.nrows();
            let mut rec = timing(
                "action",
                n,
                time(|| expm_multiply(&q.x, q.t, q.v.as_ref()), false),
            );
            rec.problem = name;
            results.push(rec);
            if outputs_wanted {
                outputs.push(Output {
                    task: "action",
                    n,
                    problem: name,
                    value: None,
                    data: flat(&expm_multiply(&q.x, q.t, q.v.as_ref())),
                });
            }
        }
    }
    let version: String = env!("CARGO_PKG_VERSION").into();
    vec![
        Record {
            system: "expgrad".into(),
            version: version.clone(),
            threads: args.threads,
            results,
            outputs,
        },
        Record {
            system: "expgrad (expm_multiply)".into(),
            version: version.clone(),
            threads: args.threads,
            results: action,
            outputs: action_outputs,
        },
        Record {
            system: "expgrad (a tape per problem)".into(),
            version: version.clone(),
            threads: args.threads,
            results: per_problem,
            outputs: Vec::new(),
        },
        Record {
            system: "expgrad (expm + matmul)".into(),
            version,
            threads: args.threads,
            results: generic,
            outputs: Vec::new(),
        },
    ]
}
