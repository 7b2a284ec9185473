//! The motivating question: the Jacobian `J = ∂w/∂d` of `w = exp(Diag(d)·A)·v`, three ways.
//!
//! 1. generic backprop: `w.jacobian(d)` through `diag_mul → expm → matmul`;
//! 2. Fréchet columns: `J[:, k] = L(X, eₖaₖᵀ)·v` (`aₖᵀ` = row k of A) from `expgrad-linalg`;
//! 3. the Kronecker closed form `J = (vᵀ ⊗ I) K (Aᵀ ⊡ I)`, `K` the upper-right block of
//!    `exp([[Xᵀ ⊗ I, I], [0, I ⊗ X]])` (2n² × 2n², n ≤ 6);
//!
//! and Richardson central differences. Tolerances: routes 1–3 are all backward stable
//! evaluations of `L(X, ·)`, so they agree to `2(3n + s)·u·κ_exp` (relative, as in the linalg
//! tests) plus the same bound for the 2n²×2n² exponential of route 3.
//!
//! The example itself (`examples/seed_question.rs`): it honours `--help`, which starts with
//! what it does, rejects unknown options, and prints the three Jacobians in agreement.
#[allow(dead_code)]
#[path = "../seed_question.rs"]
mod seed_question;

use clap::CommandFactory;
use expgrad::diag::diag_mul;
use expgrad::linalg::{Expm, expm, norm1};
use expgrad::reference;
use expgrad::tape::Tape;
use faer::{Mat, MatRef};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const U: f64 = f64::EPSILON / 2.0;

fn rel(a: MatRef<'_, f64>, b: MatRef<'_, f64>) -> f64 {
    (a - b).norm_l2() / b.norm_l2().max(f64::MIN_POSITIVE)
}

/// Relative condition number of exp at X (power iteration on L*L).
fn cond_exp(x: MatRef<'_, f64>) -> f64 {
    Expm::new(x).cond(x.norm_l2())
}

fn tol(x: MatRef<'_, f64>) -> f64 {
    let s = Expm::new(x).params().1 as f64;
    2.0 * (3.0 * x.nrows() as f64 + s) * U * cond_exp(x).max(1.0)
}

fn x_of(d: &Mat<f64>, a: &Mat<f64>) -> Mat<f64> {
    Mat::from_fn(a.nrows(), a.ncols(), |i, j| d[(i, 0)] * a[(i, j)])
}

fn route_backprop(d: &Mat<f64>, a: &Mat<f64>, v: &Mat<f64>) -> (Mat<f64>, Mat<f64>) {
    let tape = Tape::new();
    let dv = tape.var(d.clone());
    let w = diag_mul(dv, tape.constant(a.clone()))
        .expm()
        .matmul(tape.constant(v.clone()));
    (w.jacobian(dv), w.value())
}

fn route_frechet(d: &Mat<f64>, a: &Mat<f64>, v: &Mat<f64>) -> Mat<f64> {
    reference::frechet_columns_jacobian(d.as_ref(), a.as_ref(), v.as_ref())
}

/// The Kronecker route, and the 2n²×2n² block it exponentiates (for its tolerance).
fn route_kronecker(d: &Mat<f64>, a: &Mat<f64>, v: &Mat<f64>) -> (Mat<f64>, Mat<f64>) {
    let n = a.nrows();
    let nn = n * n;
    let x = x_of(d, a);
    let eye = Mat::<f64>::identity(n, n);
    let mut big = Mat::<f64>::zeros(2 * nn, 2 * nn);
    big.submatrix_mut(0, 0, nn, nn)
        .copy_from(reference::kron(x.transpose(), eye.as_ref()));
    big.submatrix_mut(nn, nn, nn, nn)
        .copy_from(reference::kron(eye.as_ref(), x.as_ref()));
    big.submatrix_mut(0, nn, nn, nn)
        .copy_from(Mat::<f64>::identity(nn, nn));
    (
        reference::kronecker_jacobian(d.as_ref(), a.as_ref(), v.as_ref()),
        big,
    )
}

fn route_fd(d: &Mat<f64>, a: &Mat<f64>, v: &Mat<f64>) -> Mat<f64> {
    let n = a.nrows();
    let w = |dd: &Mat<f64>| expm(x_of(dd, a).as_ref()) * v;
    let mut j = Mat::<f64>::zeros(n, n);
    for k in 0..n {
        let h = 1e-3 * d[(k, 0)].abs().max(1.0) / norm1(a.as_ref()).max(1.0);
        let diff = |h: f64| {
            let (mut p, mut m) = (d.clone(), d.clone());
            p[(k, 0)] += h;
            m[(k, 0)] -= h;
            (w(&p) - w(&m)) * faer::Scale(0.5 / h)
        };
        let rich = (diff(h / 2.0) * faer::Scale(4.0) - diff(h)) * faer::Scale(1.0 / 3.0);
        j.col_mut(k).copy_from(rich.col(0));
    }
    j
}

/// The commuting guess `∂w/∂dₖ ≈ eₖaₖᵀ e^X v` (L(X, E) = E e^X holds only if XE = EX).
fn commuting_guess(d: &Mat<f64>, a: &Mat<f64>, v: &Mat<f64>) -> Mat<f64> {
    let ev = expm(x_of(d, a).as_ref()) * v;
    let n = a.nrows();
    Mat::from_fn(n, n, |i, k| {
        if i == k {
            (0..n).map(|c| a[(k, c)] * ev[(c, 0)]).sum()
        } else {
            0.0
        }
    })
}

struct Case {
    name: &'static str,
    d: Mat<f64>,
    a: Mat<f64>,
    v: Mat<f64>,
}

fn cases() -> Vec<Case> {
    let mut rng = StdRng::seed_from_u64(2024);
    let mut out = Vec::new();
    for n in [2usize, 4, 6] {
        let mut r = |lo: f64, hi: f64| rng.random_range(lo..hi);
        let d = Mat::from_fn(n, 1, |_, _| r(0.5, 1.5));
        let v = Mat::from_fn(n, 1, |_, _| r(-1.0, 1.0));
        let random = Mat::from_fn(n, n, |_, _| r(-1.0, 1.0));
        let nonnormal = Mat::from_fn(n, n, |i, j| {
            if j > i {
                3.0 * r(0.5, 1.0)
            } else if i == j {
                -0.5
            } else {
                0.05 * r(-1.0, 1.0)
            }
        });
        // Markov generator Q = P − I with a random jump matrix P (rows sum to 1, zero diagonal).
        let mut p = Mat::from_fn(n, n, |i, j| if i == j { 0.0 } else { r(0.1, 1.0) });
        for i in 0..n {
            let s: f64 = (0..n).map(|j| p[(i, j)]).sum();
            for j in 0..n {
                p[(i, j)] /= s;
            }
        }
        let markov = Mat::from_fn(n, n, |i, j| p[(i, j)] - if i == j { 1.0 } else { 0.0 });
        // Badly scaled: D A D⁻¹ with D spanning 10^±2.
        let scales: Vec<f64> = (0..n)
            .map(|i| 10f64.powf(4.0 * i as f64 / (n - 1) as f64 - 2.0))
            .collect();
        let badly = Mat::from_fn(n, n, |i, j| random[(i, j)] * scales[i] / scales[j] * 0.2);
        out.push(Case {
            name: "random",
            d: d.clone(),
            a: random,
            v: v.clone(),
        });
        out.push(Case {
            name: "non-normal",
            d: d.clone(),
            a: nonnormal,
            v: v.clone(),
        });
        out.push(Case {
            name: "markov",
            d: &d * faer::Scale(3.0),
            a: markov,
            v: v.clone(),
        });
        out.push(Case {
            name: "badly scaled",
            d,
            a: badly,
            v,
        });
    }
    out
}

#[test]
fn three_routes_and_differences_agree() {
    for c in cases() {
        let n = c.a.nrows();
        let x = x_of(&c.d, &c.a);
        let (jb, w) = route_backprop(&c.d, &c.a, &c.v);
        let jf = route_frechet(&c.d, &c.a, &c.v);
        let (jk, big) = route_kronecker(&c.d, &c.a, &c.v);
        let jd = route_fd(&c.d, &c.a, &c.v);
        let t = tol(x.as_ref());
        let (e_bf, e_bk) = (rel(jb.as_ref(), jf.as_ref()), rel(jb.as_ref(), jk.as_ref()));
        assert!(
            e_bf <= t,
            "{} n={n}: backprop vs Fréchet {e_bf:.2e} > {t:.2e}",
            c.name
        );
        let tk = t + tol(big.as_ref());
        assert!(
            e_bk <= tk,
            "{} n={n}: backprop vs Kronecker {e_bk:.2e} > {tk:.2e}",
            c.name
        );
        // Richardson differences: O(h⁴) truncation + u/h rounding, ~1e-9 here.
        let e_fd = rel(jb.as_ref(), jd.as_ref());
        assert!(
            e_fd <= 1e-7,
            "{} n={n}: backprop vs differences {e_fd:.2e}",
            c.name
        );
        // Exact identity J·d = X·w (Euler's theorem for the degree-1 homogeneous X(d)).
        let lhs = &jb * &c.d;
        let rhs = &x * &w;
        let e_id = (&lhs - &rhs).norm_l2() / (jb.norm_l2() * c.d.norm_l2());
        assert!(e_id <= t, "{} n={n}: J·d vs X·w {e_id:.2e}", c.name);
        println!(
            "{:>12} n={n}: backprop–Fréchet {e_bf:.1e}, backprop–Kronecker {e_bk:.1e}, backprop–FD {e_fd:.1e}, J·d−X·w {e_id:.1e} (tol {t:.1e})",
            c.name
        );
        // The commuting guess is wrong unless A is diagonal.
        let guess = commuting_guess(&c.d, &c.a, &c.v);
        assert!(
            rel(guess.as_ref(), jb.as_ref()) > 1e-2,
            "{} n={n}: the commuting guess should fail",
            c.name
        );
    }
}

#[test]
fn commuting_guess_holds_for_diagonal_a() {
    let a = Mat::<f64>::from_fn(
        4,
        4,
        |i, j| if i == j { -0.3 * (i as f64 + 1.0) } else { 0.0 },
    );
    let d = Mat::<f64>::from_fn(4, 1, |i, _| 0.5 + i as f64);
    let v = Mat::<f64>::from_fn(4, 1, |i, _| 1.0 - 0.25 * i as f64);
    let (jb, _) = route_backprop(&d, &a, &v);
    let guess = commuting_guess(&d, &a, &v);
    assert!(
        rel(guess.as_ref(), jb.as_ref()) <= 8.0 * U,
        "{:e}",
        rel(guess.as_ref(), jb.as_ref())
    );
}

fn parse(args: &[&str]) -> Result<seed_question::Args, clap::Error> {
    seed_question::cli::try_parse_from(std::iter::once("seed_question").chain(args.iter().copied()))
}

#[test]
fn example_honours_help_and_rejects_unknown_options() {
    let help = seed_question::Args::command()
        .render_long_help()
        .to_string();
    assert!(
        help.starts_with("Answer the question expgrad was built for"),
        "{help}"
    );
    assert!(!help.contains("first-class primitive"), "{help}");
    for flag in ["--help", "-h"] {
        let e = parse(&[flag]).unwrap_err();
        assert_eq!(e.kind(), clap::error::ErrorKind::DisplayHelp, "{flag}");
        assert!(e.to_string().starts_with("Answer the question"), "{e}");
    }
    let e = parse(&["--n", "5"]).unwrap_err();
    assert_eq!(e.kind(), clap::error::ErrorKind::UnknownArgument);
    assert!(parse(&[]).is_ok());
}

/// The printed maxima of |backprop − Fréchet| and |backprop − Kronecker| are at rounding
/// level (≤ 1e-12 for this 4×4 case).
#[test]
fn example_prints_three_agreeing_jacobians() {
    let mut out = Vec::new();
    seed_question::run(&parse(&[]).unwrap(), &mut out).unwrap();
    let out = String::from_utf8(out).unwrap();
    for title in [
        "J by backprop (tape.jacobian):",
        "J by Fréchet columns:",
        "J by the Kronecker closed form:",
        "∂ℓ/∂d = [",
    ] {
        assert!(out.contains(title), "{title} missing from\n{out}");
    }
    let line = out
        .lines()
        .find(|l| l.starts_with("max |backprop − Fréchet|"))
        .unwrap();
    let diffs: Vec<f64> = line
        .split(" = ")
        .skip(1)
        .map(|s| s.split(',').next().unwrap().trim().parse().unwrap())
        .collect();
    assert_eq!(diffs.len(), 2, "{line}");
    assert!(diffs.iter().all(|d| *d <= 1e-12), "{line}");
}
