//! Tests of `ExpmActionTimes` (`exp(t_k·X)·V` at many sorted times in one pass, and its one
//! reverse sweep): every output against single-time `expm_multiply` and the dense `expm`;
//! `V̄`, every `t̄_k` and `X̄` against the sum of single-time `ExpmAction` reverse passes and
//! against central differences; store-all vs checkpoint bitwise; errors.
//!
//! Tolerances: relative `1e-12` on values (both are the truncated Taylor series to the unit
//! roundoff, `‖tX‖₁ ≤ 20`); `1e-9` on cotangents against single-time reverse passes (the
//! cotangents are sums of terms of size `|t|‖X‖` that cancel); `1e-6` against central
//! differences (step `1e-6`, truncation error `O(h²)` and rounding `u/h`).

use expgrad_linalg::*;
use expgrad_testkit::{csc, randn, random_sparse, rng};
use faer::{Mat, MatRef, Scale};

fn rel(a: MatRef<'_, f64>, b: MatRef<'_, f64>) -> f64 {
    (a - b).norm_max() / b.norm_max().max(1e-300)
}

fn dotm(a: MatRef<'_, f64>, b: MatRef<'_, f64>) -> f64 {
    let mut s = 0.0;
    for j in 0..a.ncols() {
        for i in 0..a.nrows() {
            s += a[(i, j)] * b[(i, j)];
        }
    }
    s
}

/// A nonsymmetric test matrix with a nonzero trace (the shift is used), ‖X‖₁ ≈ 2.
fn test_matrix(n: usize, seed: u64) -> Mat<f64> {
    let mut r = rng(seed);
    let a = random_sparse(&mut r, n, 4);
    let s = a.norm_l1().max(1e-300);
    Mat::from_fn(n, n, |i, j| {
        2.0 * a[(i, j)] / s * n as f64 / 4.0 - if i == j { 0.3 } else { 0.0 }
    })
}

const TIME_SETS: &[&[f64]] = &[
    &[0.7],
    &[0.0, 0.5, 1.0, 1.5, 2.0],
    &[0.3, 0.31, 0.9, 2.2, 2.2, 4.0],
    &[-1.5, -0.3, 0.0, 0.7, 1.9],
    &[-2.0, -1.1, -0.2],
    &[0.5, 0.5, 0.5],
    &[-0.4, 1.1, 1.1, 1.1, 3.0],
];

#[test]
fn values_match_single_times_and_dense() {
    let mut worst = (0.0f64, 0.0f64);
    for (seed, n) in [(1u64, 30usize), (2, 120)] {
        let x = test_matrix(n, seed);
        let xs = csc(x.as_ref());
        let v = randn(&mut rng(seed + 10), n, 2);
        for &times in TIME_SETS {
            let act = ExpmActionTimes::new(&xs, times, v.as_ref(), ExpmActionOptions::default());
            assert_eq!(act.value().shape(), (n, 2 * times.len()));
            for (c, &t) in times.iter().enumerate() {
                let single = expm_multiply(&xs, t, v.as_ref());
                let dense = expm((&x * Scale(t)).as_ref()) * &v;
                let (e1, e2) = (
                    rel(act.output(c), single.as_ref()),
                    rel(act.output(c), dense.as_ref()),
                );
                worst = (worst.0.max(e1), worst.1.max(e2));
                assert!(e1 < 1e-12 && e2 < 1e-12, "{times:?} t={t}: {e1:e} {e2:e}");
            }
        }
    }
    println!(
        "worst relative error vs single-time {:e}, vs dense expm {:e}",
        worst.0, worst.1
    );
}

/// `V̄`, `t̄_k`, `X̄` of one reverse pass against the sum of K single-time reverse passes.
#[test]
fn cotangents_match_single_time_reverse_passes() {
    let mut worst = 0.0f64;
    for (seed, n) in [(3u64, 25usize), (4, 60)] {
        let x = test_matrix(n, seed);
        let v = randn(&mut rng(seed + 20), n, 2);
        for &times in TIME_SETS {
            let kk = times.len();
            let wbar = randn(&mut rng(seed + 30), n, 2 * kk);
            let act = ExpmActionTimes::new(&x, times, v.as_ref(), ExpmActionOptions::default());
            let mut sink = act.cotangent();
            let (vbar, tbar) = act.vjp(wbar.as_ref(), &mut sink);
            let xbar = sink.into_value();
            let (mut v_ref, mut x_ref) = (Mat::<f64>::zeros(n, 2), Mat::<f64>::zeros(n, n));
            for (c, &t) in times.iter().enumerate() {
                let single = ExpmAction::new(&x, t, v.as_ref(), ExpmActionOptions::default());
                let mut s1 = single.cotangent();
                let (vb, tb) = single.vjp(wbar.as_ref().submatrix(0, 2 * c, n, 2), &mut s1);
                v_ref += &vb;
                x_ref += s1.into_value();
                let scale = tb.abs().max(1.0);
                let e = (tbar[c] - tb).abs() / scale;
                worst = worst.max(e);
                assert!(e < 1e-9, "{times:?}: t̄[{c}] {} vs {tb}", tbar[c]);
            }
            let (ev, ex) = (
                rel(vbar.as_ref(), v_ref.as_ref()),
                rel(xbar.as_ref(), x_ref.as_ref()),
            );
            worst = worst.max(ev).max(ex);
            assert!(ev < 1e-9 && ex < 1e-9, "{times:?}: V̄ {ev:e}, X̄ {ex:e}");
        }
    }
    println!("worst relative error of the cotangents vs single-time reverse passes {worst:e}");
}

/// Central differences of `ℓ = Σ_k ⟨G_k, W_k⟩` in every `t_k`, and in the directions `V̇`, `Ẋ`
/// (the dot-product identity `⟨V̄, V̇⟩ + ⟨X̄, Ẋ⟩ = dℓ`).
#[test]
fn cotangents_match_finite_differences() {
    let n = 20;
    let x = test_matrix(n, 5);
    let v = randn(&mut rng(6), n, 1);
    let mut worst = 0.0f64;
    for &times in &[&[-0.9, -0.2, 0.4, 0.41, 1.7][..], &[0.2, 0.9, 2.5], &[-1.0]] {
        let kk = times.len();
        let g = randn(&mut rng(7), n, kk);
        let loss = |x: &Mat<f64>, ts: &[f64], v: &Mat<f64>| {
            let a = ExpmActionTimes::new(x, ts, v.as_ref(), ExpmActionOptions::default());
            dotm(g.as_ref(), a.value())
        };
        let act = ExpmActionTimes::new(&x, times, v.as_ref(), ExpmActionOptions::default());
        let mut sink = act.cotangent();
        let (vbar, tbar) = act.vjp(g.as_ref(), &mut sink);
        let xbar = sink.into_value();
        let h = 1e-6;
        for c in 0..kk {
            let (mut tp, mut tm) = (times.to_vec(), times.to_vec());
            tp[c] += h;
            tm[c] -= h;
            let fd = (loss(&x, &tp, &v) - loss(&x, &tm, &v)) / (2.0 * h);
            let e = (fd - tbar[c]).abs() / fd.abs().max(1.0);
            worst = worst.max(e);
            assert!(e < 1e-6, "{times:?} t̄[{c}] {} vs fd {fd}", tbar[c]);
        }
        let vd = randn(&mut rng(8), n, 1);
        let xd = randn(&mut rng(9), n, n);
        let fd = (loss(&(&x + &xd * Scale(h)), times, &(&v + &vd * Scale(h)))
            - loss(&(&x - &xd * Scale(h)), times, &(&v - &vd * Scale(h))))
            / (2.0 * h);
        let an = dotm(vbar.as_ref(), vd.as_ref()) + dotm(xbar.as_ref(), xd.as_ref());
        let e = (fd - an).abs() / fd.abs().max(1.0);
        worst = worst.max(e);
        assert!(e < 1e-6, "{times:?}: dot-product identity {an} vs fd {fd}");
    }
    println!("worst relative error vs central differences {worst:e}");
}

#[test]
fn store_all_and_checkpoint_are_bitwise_equal() {
    let n = 80;
    let x = csc(test_matrix(n, 11).as_ref());
    let v = randn(&mut rng(12), n, 2);
    let times: Vec<f64> = (0..20)
        .map(|i| -1.0 + 0.37 * i as f64 + 0.01 * (i % 3) as f64)
        .collect();
    let wbar = randn(&mut rng(13), n, 40);
    let run = |store| {
        let opts = ExpmActionOptions::default().store(store);
        let act = ExpmActionTimes::new(&x, &times, v.as_ref(), opts);
        assert_eq!(act.store_policy(), store);
        let mut sink = act.cotangent();
        let (vb, tb) = act.vjp(wbar.as_ref(), &mut sink);
        (act.value().to_owned(), vb, tb, sink.into_value())
    };
    let (a, b) = (run(StorePolicy::All), run(StorePolicy::Checkpoint));
    assert!(a.0 == b.0 && a.1 == b.1 && a.2 == b.2);
    assert_eq!(a.3, b.3);
}

#[test]
fn errors_are_typed() {
    let x = test_matrix(6, 14);
    let v = randn(&mut rng(15), 6, 1);
    let o = ExpmActionOptions::default();
    let e = |ts: &[f64]| ExpmActionTimes::try_new(&x, ts, v.as_ref(), o).err();
    assert!(matches!(e(&[1.0, 0.5]), Some(LinalgError::Domain { .. })));
    assert!(matches!(e(&[]), Some(LinalgError::Domain { .. })));
    assert!(matches!(
        e(&[0.0, f64::NAN]),
        Some(LinalgError::NonFinite { .. })
    ));
    assert!(matches!(
        e(&[0.0, f64::INFINITY]),
        Some(LinalgError::NonFinite { .. })
    ));
    assert!(matches!(e(&[0.0, 1e300]), Some(LinalgError::Budget { .. })));
    assert!(matches!(
        e(&[-1e300, 0.0]),
        Some(LinalgError::Budget { .. })
    ));
    assert!(matches!(
        e(&[-1e10, 1e10]),
        Some(LinalgError::Budget { .. })
    ));
    // Too many outputs for the byte budget: refused before allocating them.
    let many = vec![0.5; 1 << 20];
    let mut budget = ActionBudget::default();
    budget.bytes = 1 << 20;
    let small = ExpmActionOptions::default().budget(budget);
    assert!(matches!(
        ExpmActionTimes::try_new(&x, &many, v.as_ref(), small),
        Err(LinalgError::Budget { .. })
    ));
    let act = ExpmActionTimes::new(&x, &[0.0, 1.0], v.as_ref(), o);
    let bad = Mat::<f64>::zeros(6, 1);
    assert!(matches!(
        act.try_vjp(bad.as_ref(), &mut NoCotangent),
        Err(LinalgError::ShapeMismatch { .. })
    ));
}

/// K outputs cost about one action at the last time (products; reported).
#[test]
fn many_outputs_cost_about_one_action() {
    let n = 200;
    let x = csc(test_matrix(n, 16).as_ref());
    let v = randn(&mut rng(17), n, 1);
    let times: Vec<f64> = (1..=20).map(|i| 0.5 * i as f64).collect();
    let act = ExpmActionTimes::new(&x, &times, v.as_ref(), ExpmActionOptions::default());
    let single = ExpmAction::new(&x, 10.0, v.as_ref(), ExpmActionOptions::default());
    println!(
        "K = 20: {} products vs {} for one output at t_K",
        act.products(),
        single.products()
    );
    assert!(act.products() as f64 <= 1.5 * single.products() as f64);
}

/// Complex scalars: real times of a complex `X` against single-time actions, `V̄` and `t̄_k`
/// against single-time reverse passes; a time with an imaginary part is a domain error.
#[test]
fn complex_scalars() {
    use expgrad_testkit::crandn;
    use faer::c64;
    let n = 12;
    let mut r = rng(21);
    let x = crandn(&mut r, n, n) * Scale(c64::new(0.3, 0.0));
    let v = crandn(&mut r, n, 1);
    let wbar = crandn(&mut r, n, 4);
    let times: Vec<c64> = [-0.7, 0.2, 0.9, 1.5]
        .iter()
        .map(|&t| c64::new(t, 0.0))
        .collect();
    let act = ExpmActionTimes::new(&x, &times, v.as_ref(), ExpmActionOptions::default());
    let (vbar, tbar) = act.vjp(wbar.as_ref(), &mut NoCotangent);
    let mut v_ref = Mat::<c64>::zeros(n, 1);
    for (c, &t) in times.iter().enumerate() {
        let single = ExpmAction::new(&x, t, v.as_ref(), ExpmActionOptions::default());
        let e = (&act.output(c).to_owned() - single.value()).norm_max() / single.value().norm_max();
        assert!(e < 1e-13, "t = {t}: {e:e}");
        let (vb, tb) = single.vjp(wbar.as_ref().subcols(c, 1), &mut NoCotangent);
        v_ref += &vb;
        assert!((tbar[c] - tb).norm() < 1e-10 * tb.norm().max(1.0), "t̄[{c}]");
    }
    assert!((&vbar - &v_ref).norm_max() < 1e-10 * v_ref.norm_max());
    let imag = [c64::new(0.0, 0.0), c64::new(1.0, 0.5)];
    assert!(matches!(
        ExpmActionTimes::try_new(&x, &imag, v.as_ref(), ExpmActionOptions::default()),
        Err(LinalgError::Domain { .. })
    ));
}
