//! `expm`, `Expm`, `expm_frechet` and `Expm::frechet_adjoint` at extreme inputs: norms from
//! 1e-300 to 1e5, entries near overflow, many squarings with a stable spectrum, and huge
//! cotangents. The result is accurate, or an `Overflow` error —
//! never NaN, never a silent wrong value.
mod common;
use common::*;
use expgrad_linalg::*;
use faer::{Mat, mat};

#[test]
fn tiny_norms_are_i_plus_x() {
    let mut r = rng(101);
    for norm in [1e-300, 1e-200, 1e-100, 1e-40, 1e-20, 1e-12] {
        for n in [1usize, 3, 8] {
            let a = randn(&mut r, n, n);
            let x = &a * faer::Scale(norm / norm1(a.as_ref()));
            // e^X = I + X + X²/2 + O(‖X‖³): the remainder is far below u at these norms.
            let want = Mat::<f64>::identity(n, n) + &x + (&x * &x) * faer::Scale(0.5);
            let got = expm(x.as_ref());
            // Off-diagonal entries are O(‖X‖): compare them relative to ‖X‖, the rest to 1.
            let err = (&got - &want).norm_max();
            assert!(
                err <= 4.0 * U64 * (1.0 + norm),
                "‖X‖={norm:e} n={n}: {err:e}"
            );
            // Off the diagonal e^X = X + O(‖X‖²): relative to ‖X‖ (plus the subnormal spacing).
            let off = (0..n)
                .flat_map(|i| (0..n).map(move |j| (i, j)))
                .filter(|(i, j)| i != j)
                .map(|(i, j)| (got[(i, j)] - want[(i, j)]).abs())
                .fold(0.0, f64::max);
            assert!(
                off <= 8.0 * U64 * norm + 1e-320,
                "‖X‖={norm:e} n={n}: off-diagonal error {off:e}"
            );
            let (_, l) = expm_frechet(x.as_ref(), a.as_ref());
            assert!(
                rel_err(l.as_ref(), a.as_ref()) <= 8.0 * U64 + 2.0 * norm,
                "L(X, E) ≈ E at tiny X"
            );
        }
    }
}

#[test]
fn large_norms_accurate_or_overflow() {
    let mut r = rng(102);
    for norm in [10.0, 1e2, 3e2, 1e3] {
        for n in [2usize, 4, 8] {
            let b = Blocks::random(&mut r, n, 2.0, 1.0);
            let q = orthogonal(&mut r, n);
            let x0 = &q * b.matrix(1.0) * q.transpose();
            let t = norm / norm1(x0.as_ref());
            let x = &q * b.matrix(t) * q.transpose();
            match try_expm(x.as_ref()) {
                Ok(e) => {
                    let want = &q * b.exp(t) * q.transpose();
                    let err = rel_err(e.as_ref(), want.as_ref());
                    assert!(err <= tol_exp(x.as_ref()), "‖X‖={norm} n={n}: {err:e}");
                }
                Err(err) => {
                    assert_eq!(err, LinalgError::Overflow { op: "expm" });
                    // Overflow only when the exact answer really exceeds f64::MAX.
                    let want_norm = b.exp(t).norm_max();
                    assert!(
                        !want_norm.is_finite() || want_norm > 1e300,
                        "spurious overflow at ‖X‖={norm}"
                    );
                }
            }
        }
    }
}

#[test]
fn many_squarings_with_a_stable_spectrum() {
    // ‖X‖₁ ≈ 1e5 with eigenvalues in [−1e5, −0.5]: s ≈ 15 squarings; the answer is the
    // slowly decaying modes (JAX's expm returns NaN on such inputs).
    let mut r = rng(103);
    for n in [4usize, 10] {
        let q = orthogonal(&mut r, n);
        let lam: Vec<f64> = (0..n)
            .map(|i| {
                if i % 2 == 0 {
                    -1e5 * (1.0 + i as f64)
                } else {
                    -0.5 * i as f64
                }
            })
            .collect();
        let x = &q
            * Mat::<f64>::from_fn(n, n, |i, j| if i == j { lam[i] } else { 0.0 })
            * q.transpose();
        let want = &q
            * Mat::<f64>::from_fn(n, n, |i, j| if i == j { lam[i].exp() } else { 0.0 })
            * q.transpose();
        let f = Expm::new(x.as_ref());
        assert!(f.params().1 >= 14, "params {:?}", f.params());
        // Symmetric X: κ_exp is modest relative to ‖e^X‖ (normal matrix), but the rounding of
        // the 1e5 entries is u·1e5 absolute in X; the kept modes see it through L.
        let err = (f.value() - &want).norm_max();
        assert!(err <= 1e5 * 64.0 * U64 * n as f64, "n={n}: {err:e}");
        let l = f.frechet(Mat::<f64>::identity(n, n).as_ref());
        assert!((l - f.value()).norm_max() <= 1e5 * 64.0 * U64 * n as f64);
    }
    // Non-normal and stable: [[−1e5, 1e5], [0, −1e5 + 1]] (triangular path) — finite, ~0.
    let x = mat![[-1e5, 1e5], [0.0, -1e5 + 1.0f64]];
    let e = expm(x.as_ref());
    assert!(e.norm_max() < 1e-300 && e.norm_max().is_finite());
}

#[test]
fn entries_near_overflow() {
    // Nilpotent with a 1e300 entry: e^N = I + N exactly.
    let n = mat![[0.0, 1e300], [0.0, 0.0f64]];
    assert_eq!(expm(n.as_ref()), mat![[1.0, 1e300], [0.0, 1.0]]);
    // Diagonal near ±f64::MAX: exact entrywise (0 and overflow).
    assert_eq!(
        expm(mat![[-f64::MAX, 0.0], [0.0, 0.0f64]].as_ref()),
        mat![[0.0, 0.0], [0.0, 1.0]]
    );
    assert_eq!(
        try_expm(mat![[f64::MAX]].as_ref()).unwrap_err(),
        LinalgError::Overflow { op: "expm" }
    );
    // Dense with entries near 1e308: the column sums overflow f64, yet the answer is either
    // an Overflow error or finite — never NaN.
    for v in [1e300, 1e307, f64::MAX / 4.0] {
        let x = mat![[-v, v], [-v, -v]];
        match try_expm(x.as_ref()) {
            Ok(e) => assert!(e.col_iter().all(|c| c.iter().all(|x| x.is_finite()))),
            Err(e) => assert_eq!(e, LinalgError::Overflow { op: "expm" }),
        }
    }
}

#[test]
fn huge_cotangents_keep_their_accuracy() {
    // The VJP's scaling depends on X alone: L(Xᵀ, 1e8·G) = 1e8·L(Xᵀ, G) to rounding, and both
    // match the quadrature reference. (A block method that scales by ‖[[Xᵀ, G], [0, Xᵀ]]‖
    // over-scales here: checked below as a contrast, not as a requirement.)
    let mut r = rng(104);
    for n in [4usize, 6] {
        let b = Blocks::random(&mut r, n, 2.0, 2.0);
        let q = orthogonal(&mut r, n);
        let x = &q * b.matrix(1.5) * q.transpose();
        let g = randn(&mut r, n, n);
        let f = Expm::new(x.as_ref());
        for scale in [1.0, 1e8, 1e-8, 1e150] {
            let big = &g * faer::Scale(scale);
            let got = f.frechet_adjoint(big.as_ref());
            let want = frechet_quadrature(
                |s| (&q * b.exp(1.5 * s) * q.transpose()).transpose().to_owned(),
                big.as_ref(),
                8,
            );
            let err = rel_err(got.as_ref(), want.as_ref());
            assert!(
                err <= tol_exp(x.as_ref()),
                "n={n} ‖G‖ scale {scale:e}: {err:e}"
            );
        }
    }
}
