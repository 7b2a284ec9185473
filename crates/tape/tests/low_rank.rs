//! Low-rank cotangents: the natural code is the fast code. `c·(e^X V)` written with
//! `expm().matmul(v)` reaches `expm`'s VJP as the factors `(W̄, V)` and takes the factored
//! adjoint, exactly as the fused `expm_mul` does (bitwise the same gradient); `sum`, slices,
//! transposes, sums of several thin uses and left-thin products keep the structure; every
//! route agrees with the dense adjoint and with finite differences.
use expgrad_linalg::Expm;
use expgrad_tape::{Cotangent, Tape, gradcheck};
use expgrad_testkit::{randn, rng};
use faer::Mat;

/// A scalar model of one input, as `gradcheck` takes it.
type Model = Box<dyn for<'t> Fn(&[expgrad_tape::Var<'t, f64>]) -> expgrad_tape::Var<'t, f64>>;

fn x_of(n: usize, seed: u64) -> Mat<f64> {
    let mut r = rng(seed);
    randn(&mut r, n, n) * faer::Scale(1.5 / (n as f64).sqrt())
}

#[test]
fn expm_then_thin_matmul_is_expm_mul_bitwise() {
    for (n, k) in [(8, 1), (16, 2), (64, 1), (64, 3)] {
        let mut r = rng(900 + n as u64);
        let x0 = x_of(n, n as u64);
        let v0 = randn(&mut r, n, k);
        let c0 = randn(&mut r, n, k);
        let grads = |fused: bool| {
            let tape = Tape::new();
            let (x, v) = (tape.var(x0.clone()), tape.var(v0.clone()));
            let w = if fused {
                x.expm_mul(v)
            } else {
                x.expm().matmul(v)
            };
            let g = w.dot(tape.constant(c0.clone())).backward();
            (g.wrt(x), g.wrt(v))
        };
        let (natural, fused) = (grads(false), grads(true));
        assert_eq!(natural.0, fused.0, "n={n} k={k}: X̄ differs");
        let dv = (&natural.1 - &fused.1).norm_max() / fused.1.norm_max();
        assert!(dv < 1e-14, "n={n} k={k}: V̄ differs by {dv:e}");
        // And both are the dense adjoint L(Xᵀ, W̄Vᵀ) with W̄ = C.
        let dense = Expm::new(x0.as_ref()).frechet_adjoint((&c0 * v0.transpose()).as_ref());
        let err = (&natural.0 - &dense).norm_max() / dense.norm_max();
        assert!(err < 1e-12, "n={n} k={k}: vs dense adjoint {err:e}");
    }
}

#[test]
fn every_structured_route_matches_finite_differences() {
    let n = 12;
    let x0 = x_of(n, 3);
    let mut r = rng(31);
    let (v, c, w) = (
        randn(&mut r, n, 1),
        randn(&mut r, n, 1),
        randn(&mut r, 1, n),
    );
    let cases: Vec<(&str, Model)> = vec![
        ("sum", Box::new(|x| x[0].expm().sum())),
        ("col", Box::new(|x| x[0].expm().col(3).sum())),
        ("row", Box::new(|x| x[0].expm().row(2).sum())),
        ("entry", Box::new(|x| x[0].expm().entry(1, 4))),
        ("transpose", {
            let (v, c) = (v.clone(), c.clone());
            Box::new(move |x| x[0].expm().transpose().matmul(&v).dot(&c))
        }),
        ("left thin", {
            let w = w.clone();
            Box::new(move |x| {
                let t = x[0].tape();
                t.constant(w.clone()).matmul(x[0].expm()).sum()
            })
        }),
        ("two thin uses", {
            let (v, c) = (v.clone(), c.clone());
            Box::new(move |x| {
                let e = x[0].expm();
                e.matmul(&v).dot(&c) + e.matmul(&c).scale(-0.5).sum() - e.col(0).sum()
            })
        }),
        ("neg and scale", {
            let (v, c) = (v.clone(), c.clone());
            Box::new(move |x| (-x[0].expm()).scale(2.0).matmul(&v).dot(&c))
        }),
        ("product chain", {
            let (v, c) = (v.clone(), c.clone());
            Box::new(move |x| x[0].expm().matmul(x[0].expm()).matmul(&v).dot(&c))
        }),
    ];
    for (name, f) in cases {
        let report = gradcheck(|x| f(x), std::slice::from_ref(&x0));
        assert!(report.passed, "{name}: {report}");
    }
}

#[test]
fn the_sum_of_expm_takes_the_factored_adjoint() {
    // ℓ = Σ e^X: X̄ = L(Xᵀ, 1·1ᵀ), the rank-one cotangent.
    let n = 32;
    let x0 = x_of(n, 8);
    let tape = Tape::new();
    let x = tape.var(x0.clone());
    let g = x.expm().sum().backward().wrt(x);
    let f = Expm::new(x0.as_ref());
    let ones = Mat::<f64>::ones(n, 1);
    let factored = f.frechet_adjoint_factored(ones.as_ref(), ones.as_ref());
    assert_eq!(g, factored);
    let dense = f.frechet_adjoint(Mat::<f64>::ones(n, n).as_ref());
    assert!((&g - &dense).norm_max() < 1e-12 * dense.norm_max());
}

#[test]
fn cotangent_algebra() {
    let mut r = rng(5);
    let (u1, v1, u2, v2) = (
        randn(&mut r, 16, 1),
        randn(&mut r, 12, 1),
        randn(&mut r, 16, 2),
        randn(&mut r, 12, 2),
    );
    let a = Cotangent::low_rank(u1.as_ref(), v1.as_ref());
    let b = Cotangent::low_rank(u2.as_ref(), v2.as_ref());
    assert!(matches!(a, Cotangent::LowRank { .. }) && a.shape() == (16, 12));
    let want = &u1 * v1.transpose() + &u2 * v2.transpose();
    let sum = a.add_to(b);
    assert!(
        matches!(sum, Cotangent::LowRank { .. }),
        "rank 3 ≤ 12/4 stays factored"
    );
    assert!((sum.to_dense() - &want).norm_max() < 1e-14);
    let dense = Cotangent::Dense(want.clone());
    let again = dense.add_to(Cotangent::low_rank(u1.as_ref(), v1.as_ref()));
    assert!((again.to_dense() - (&want + &u1 * v1.transpose())).norm_max() < 1e-13);
}
