//! The small-n fast path (dense n ≤ 12: `Expm` on stack arrays) against the general path
//! (`Expm::try_new_general`): the same scheme and squaring count, and bitwise the same value,
//! `L(A, E)` and `L(Aᵀ, G)`, at every Taylor scheme and s = 0..=20, n = 1..=13, f32 and f64;
//! the factored adjoint to rounding; triangular input (Padé) untouched; finite-difference
//! checks of the JVP and VJP; the same typed errors on bad input; determinism.
mod common;
use common::*;
use expgrad_linalg::*;
use faer::{Mat, MatRef};
use std::collections::BTreeSet;

/// Norm targets from 1e-8 through 4·2²¹: every scheme of both precisions and s = 0..=21.
fn targets() -> Vec<f64> {
    let mut t: Vec<f64> = vec![1e-9, 1e-8, 1e-6, 1e-4];
    t.extend((0..60).map(|k| 1e-3 * 2f64.powf(k as f64 / 4.0)));
    t.extend((0..=21).map(|s| 4.0 * 2f64.powi(s)));
    t
}

fn cast<T: Real>(m: MatRef<'_, f64>) -> Mat<T> {
    Mat::from_fn(m.nrows(), m.ncols(), |i, j| T::from(m[(i, j)]).unwrap())
}

fn bitwise<T: Real>(a: MatRef<'_, T>, b: MatRef<'_, T>, what: &str) {
    assert_eq!(a.shape(), b.shape(), "{what}");
    for j in 0..a.ncols() {
        for i in 0..a.nrows() {
            assert!(
                a[(i, j)] == b[(i, j)],
                "{what}: ({i}, {j}) {:e} vs {:e}",
                a[(i, j)].to_f64().unwrap(),
                b[(i, j)].to_f64().unwrap()
            );
        }
    }
}

fn max_abs<T: Real>(m: MatRef<'_, T>) -> f64 {
    let mut out = 0.0f64;
    for j in 0..m.ncols() {
        for i in 0..m.nrows() {
            out = out.max(m[(i, j)].to_f64().unwrap().abs());
        }
    }
    out
}

/// Runs both paths on `x` (f64 data cast to `T`) and compares everything; returns `(m, s)`.
fn compare<T: Real>(
    x: &Mat<f64>,
    e: &Mat<f64>,
    g: &Mat<f64>,
    u: &Mat<f64>,
    v: &Mat<f64>,
) -> (usize, u32) {
    let (x, e, g, u, v) = (
        cast::<T>(x.as_ref()),
        cast::<T>(e.as_ref()),
        cast::<T>(g.as_ref()),
        cast::<T>(u.as_ref()),
        cast::<T>(v.as_ref()),
    );
    let n = x.nrows();
    let fast = Expm::try_new(x.as_ref());
    let slow = Expm::try_new_general(x.as_ref(), ExpmFamily::Auto);
    let (fast, slow) = match (fast, slow) {
        (Ok(f), Ok(s)) => (f, s),
        (Err(a), Err(b)) => {
            assert_eq!(a, b, "n={n}");
            return (0, 0);
        }
        (a, b) => panic!("n={n}: {:?} vs {:?}", a.map(|_| ()), b.map(|_| ())),
    };
    let (m, s) = fast.params();
    let what = format!("{} n={n} m={m} s={s}", core::any::type_name::<T>());
    assert_eq!((m, s), slow.params(), "{what}");
    assert_eq!(fast.approximant(), slow.approximant(), "{what}");
    assert_eq!(fast.dim(), n);
    bitwise(fast.value(), slow.value(), &format!("{what} value"));
    bitwise(
        try_expm(x.as_ref()).unwrap().as_ref(),
        slow.value(),
        &format!("{what} try_expm"),
    );
    match (fast.try_frechet(e.as_ref()), slow.try_frechet(e.as_ref())) {
        (Ok(a), Ok(b)) => bitwise(a.as_ref(), b.as_ref(), &format!("{what} frechet")),
        (a, b) => assert_eq!(a.err(), b.err(), "{what} frechet"),
    }
    match (
        fast.try_frechet_adjoint(g.as_ref()),
        slow.try_frechet_adjoint(g.as_ref()),
    ) {
        (Ok(a), Ok(b)) => bitwise(a.as_ref(), b.as_ref(), &format!("{what} adjoint")),
        (a, b) => assert_eq!(a.err(), b.err(), "{what} adjoint"),
    }
    // The factored adjoint: the general path may take the structured route (another
    // summation order; the small path always forms U·Vᵀ), so agreement is to rounding,
    // relative to the dense adjoint's terms.
    let full = slow.try_frechet_adjoint((&u * v.transpose()).as_ref());
    match (
        fast.try_frechet_adjoint_factored(u.as_ref(), v.as_ref()),
        slow.try_frechet_adjoint_factored(u.as_ref(), v.as_ref()),
        full,
    ) {
        (Ok(a), Ok(b), Ok(full)) => {
            let eps = T::epsilon().to_f64().unwrap();
            // Each entry is a sum of ~(2·products + 2s)·n terms of size ≤ the bound below.
            let scale = max_abs(full.as_ref()).max(f64::MIN_POSITIVE) * (1u64 << s.min(20)) as f64;
            let diff = max_abs((&a - &b).as_ref());
            assert!(
                diff <= 1e3 * eps * scale,
                "{what} factored: {diff:e} vs scale {scale:e}"
            );
        }
        (a, b, _) => assert_eq!(a.err(), b.err(), "{what} factored"),
    }
    // Deterministic: the same bits on a second call.
    let again = Expm::try_new(x.as_ref()).unwrap();
    bitwise(again.value(), fast.value(), &format!("{what} repeat"));
    bitwise(
        again.frechet_adjoint(g.as_ref()).as_ref(),
        fast.frechet_adjoint(g.as_ref()).as_ref(),
        &format!("{what} repeat adjoint"),
    );
    (m, s)
}

fn sweep<T: Real>(orders: BTreeSet<usize>) {
    let mut r = rng(7031);
    for n in 1..=13usize {
        let mut seen = BTreeSet::new();
        // A skew-symmetric part that grows with the target and a fixed non-normal part of
        // norm 0.3: the spectral abscissa stays small, so e^X is representable at every s.
        let k = randn(&mut r, n, n);
        let skew = &k - k.transpose();
        let p = randn(&mut r, n, n);
        let p = &p * faer::Scale(0.3 / norm1(p.as_ref()).max(f64::MIN_POSITIVE));
        let e = randn(&mut r, n, n);
        let g = randn(&mut r, n, n);
        let k = 1 + n % 3;
        let (u, v) = (randn(&mut r, n, k), randn(&mut r, n, k));
        let nb = norm1(skew.as_ref()).max(f64::MIN_POSITIVE);
        for t in targets() {
            let x = &skew * faer::Scale(t / nb) + &p * faer::Scale(t.min(1.0));
            seen.insert(compare::<T>(&x, &e, &g, &u, &v));
        }
        if n >= 2 {
            let got: BTreeSet<usize> = seen.iter().map(|p| p.0).filter(|&m| m > 1).collect();
            assert_eq!(got, orders, "n={n}: {seen:?}");
            let squarings: BTreeSet<u32> = seen.iter().map(|p| p.1).collect();
            assert!(
                (0..=20).all(|s| squarings.contains(&s)),
                "n={n}: {squarings:?}"
            );
        }
    }
}

#[test]
fn small_path_is_the_general_path_bitwise_f64() {
    sweep::<f64>([2, 4, 8, 12, 18, 24, 30].into());
}

#[test]
fn small_path_is_the_general_path_bitwise_f32() {
    sweep::<f32>([2, 4, 8, 12, 18].into());
}

#[test]
fn forced_taylor_and_pade_agree_with_the_general_path() {
    let mut r = rng(7032);
    for n in 2..=12 {
        let x = randn(&mut r, n, n);
        for family in [ExpmFamily::Taylor, ExpmFamily::Pade] {
            let a = Expm::try_new_with(x.as_ref(), family).unwrap();
            let b = Expm::try_new_general(x.as_ref(), family).unwrap();
            assert_eq!(a.params(), b.params());
            assert_eq!(a.approximant(), b.approximant());
            bitwise(a.value(), b.value(), &format!("{family:?} n={n}"));
        }
    }
}

#[test]
fn triangular_and_diagonal_input_keep_their_paths() {
    let mut r = rng(7033);
    for n in 2..=12 {
        let full = randn(&mut r, n, n);
        let upper = Mat::from_fn(n, n, |i, j| if i <= j { full[(i, j)] } else { 0.0 });
        let lower = upper.transpose().to_owned();
        let diag = Mat::from_fn(n, n, |i, j| if i == j { full[(i, j)] } else { 0.0 });
        for (x, kind) in [(&upper, "pade"), (&lower, "pade"), (&diag, "diagonal")] {
            let a = Expm::try_new(x.as_ref()).unwrap();
            let b = Expm::try_new_general(x.as_ref(), ExpmFamily::Auto).unwrap();
            assert_eq!(a.approximant(), kind);
            bitwise(a.value(), b.value(), &format!("{kind} n={n}"));
            let g = randn(&mut r, n, n);
            bitwise(
                a.frechet_adjoint(g.as_ref()).as_ref(),
                b.frechet_adjoint(g.as_ref()).as_ref(),
                &format!("{kind} adjoint n={n}"),
            );
        }
    }
}

/// Central differences of `exp` (in f64) against the small path's JVP, and the VJP through
/// `⟨G, L(A, E)⟩ = ⟨L(Aᵀ, G), E⟩` and through the factored adjoint.
#[test]
fn jvp_and_vjp_match_finite_differences() {
    let mut r = rng(7034);
    for n in 2..=12 {
        for target in [0.01, 0.3, 2.0, 9.0, 60.0] {
            let b = randn(&mut r, n, n);
            let x = &b * faer::Scale(target / norm1(b.as_ref()));
            let e = randn(&mut r, n, n);
            let f = Expm::new(x.as_ref());
            let l = f.frechet(e.as_ref());
            let h = 1e-5 * norm1(x.as_ref()).max(1.0) / norm1(e.as_ref());
            let plus = expm((&x + &e * faer::Scale(h)).as_ref());
            let minus = expm((&x - &e * faer::Scale(h)).as_ref());
            let fd = (&plus - &minus) * faer::Scale(0.5 / h);
            let err = rel_err(l.as_ref(), fd.as_ref());
            assert!(err < 1e-6, "n={n} ‖X‖={target}: JVP vs FD {err:e}");
            let g = randn(&mut r, n, n);
            let lhs = inner(g.as_ref(), l.as_ref());
            let rhs = inner(f.frechet_adjoint(g.as_ref()).as_ref(), e.as_ref());
            assert!(
                (lhs - rhs).abs()
                    <= 1e-12 * lhs.abs().max(max_abs(l.as_ref()) * max_abs(g.as_ref())),
                "n={n} ‖X‖={target}: {lhs} vs {rhs}"
            );
            let (u, v) = (randn(&mut r, n, 1), randn(&mut r, n, 1));
            let fac = f.frechet_adjoint_factored(u.as_ref(), v.as_ref());
            let want = inner((&u * v.transpose()).as_ref(), fd.as_ref());
            let got = inner(fac.as_ref(), e.as_ref());
            assert!(
                (got - want).abs() <= 1e-6 * want.abs().max(1.0),
                "n={n} ‖X‖={target}: factored VJP {got} vs FD {want}"
            );
        }
    }
}

#[test]
fn bad_input_gives_the_general_paths_errors() {
    let nan = Mat::from_fn(4, 4, |i, j| if (i, j) == (1, 2) { f64::NAN } else { 0.5 });
    let inf = Mat::from_fn(
        4,
        4,
        |i, j| if (i, j) == (3, 0) { f64::INFINITY } else { 0.5 },
    );
    let big = Mat::from_fn(4, 4, |i, j| 300.0 + (i + 2 * j) as f64);
    let rect = Mat::<f64>::zeros(4, 3);
    for x in [&nan, &inf, &big, &rect] {
        let a = Expm::try_new(x.as_ref()).expect_err("an error");
        let b = Expm::try_new_general(x.as_ref(), ExpmFamily::Auto).err();
        assert_eq!(Some(a.clone()), b);
        assert_eq!(try_expm(x.as_ref()).err(), Some(a));
    }
    assert!(matches!(
        Expm::try_new(big.as_ref()),
        Err(LinalgError::Overflow { op: "expm" })
    ));
    // Derivatives: shapes, non-finite directions, overflow.
    let x = Mat::from_fn(4, 4, |i, j| {
        0.1 * (i as f64 - j as f64) + 0.05 * (i * j) as f64
    });
    let f = Expm::new(x.as_ref());
    let slow = Expm::try_new_general(x.as_ref(), ExpmFamily::Auto).unwrap();
    let e3 = Mat::<f64>::zeros(3, 3);
    let huge = Mat::from_fn(4, 4, |_, _| f64::MAX / 4.0);
    for e in [&e3, &nan, &huge] {
        assert_eq!(
            f.try_frechet(e.as_ref()).err(),
            slow.try_frechet(e.as_ref()).err()
        );
        assert!(f.try_frechet(e.as_ref()).is_err());
        assert_eq!(
            f.try_frechet_adjoint(e.as_ref()).err(),
            slow.try_frechet_adjoint(e.as_ref()).err()
        );
    }
    let (u, v3) = (Mat::<f64>::ones(4, 1), Mat::<f64>::ones(3, 1));
    let nanv = Mat::from_fn(4, 1, |i, _| if i == 2 { f64::NAN } else { 1.0 });
    let hugev = Mat::from_fn(4, 1, |_, _| f64::MAX / 2.0);
    for (uu, vv) in [(&u, &v3), (&u, &nanv), (&hugev, &hugev)] {
        let a = f
            .try_frechet_adjoint_factored(uu.as_ref(), vv.as_ref())
            .err();
        assert!(a.is_some());
        assert_eq!(
            a,
            slow.try_frechet_adjoint_factored(uu.as_ref(), vv.as_ref())
                .err()
        );
    }
}

#[test]
fn row_jacobian_and_cond_work_on_the_small_path() {
    let mut r = rng(7035);
    let n = 5;
    let x = &randn(&mut r, n, n) * faer::Scale(0.4);
    let (a, v) = (randn(&mut r, n, n), randn(&mut r, n, 1));
    let f = Expm::new(x.as_ref());
    let g = Expm::try_new_general(x.as_ref(), ExpmFamily::Auto).unwrap();
    let (jf, jg) = (
        f.frechet_row_jacobian(a.as_ref(), v.as_ref()),
        g.frechet_row_jacobian(a.as_ref(), v.as_ref()),
    );
    assert!(rel_err(jf.as_ref(), jg.as_ref()) < 1e-13);
    assert_eq!(f.frechet_norm(5), g.frechet_norm(5));
}
