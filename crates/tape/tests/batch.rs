//! The batched nodes `expm_times` (one generator, many times) and `expm_batch` (independent
//! blocks): finite-difference checks of their VJPs, and agreement with the same model built
//! from one `expm` node per block.
#![allow(clippy::cloned_ref_to_slice_refs)]
use expgrad_tape::{GradcheckOptions, Tape, Var, assert_gradcheck};
use expgrad_testkit::uniform_mat;
use faer::Mat;

/// A rate matrix (off-diagonal ≥ 0, rows summing to 0) from a seed.
fn generator(seed: u64, n: usize) -> Mat<f64> {
    let mut q = uniform_mat(seed, n, n, 0.1..1.0);
    for i in 0..n {
        q[(i, i)] = 0.0;
        let s: f64 = (0..n).map(|j| q[(i, j)]).sum();
        q[(i, i)] = -s;
    }
    q
}

#[test]
fn expm_times_gradcheck_in_q_and_every_time() {
    for (n, times) in [
        (1usize, vec![0.3, 2.0]),
        (3, vec![0.01, 0.4, 1.5, 6.0]),
        (4, vec![2.5]),
        (5, vec![0.2, 0.0, -0.7, 12.0, 40.0]),
    ] {
        let q = generator(n as u64, n);
        let t = Mat::from_fn(times.len(), 1, |i, _| times[i]);
        // exp(t·Q) of a rate matrix stays bounded; steps relative to the largest time.
        let tmax = times.iter().fold(1.0f64, |m: f64, &x: &f64| m.max(x.abs()));
        let opts = GradcheckOptions {
            step: 1e-4 / tmax,
            ..Default::default()
        };
        assert_gradcheck!(
            |x: &[Var]| x[0].expm_times(x[1]),
            &[q.clone(), t.clone()],
            &opts
        );
        // A general (non-generator) Q, and the times alone.
        let a = uniform_mat(10 + n as u64, n, n, -1.0..1.0);
        assert_gradcheck!(
            |x: &[Var]| x[0].expm_times(x[1]),
            &[a.clone(), t.clone()],
            &opts
        );
    }
}

#[test]
fn expm_times_matches_one_expm_node_per_time() {
    let n = 4;
    let q = generator(7, n);
    let times = [0.05, 0.3, 1.0, 4.0, 25.0];
    let c = uniform_mat(8, n, n * times.len(), -1.0..1.0);
    let run = |shared: bool| {
        let tape = Tape::new();
        let qv = tape.var(q.clone());
        let tv = tape.var(Mat::from_fn(times.len(), 1, |i, _| times[i]));
        let loss = if shared {
            qv.expm_times(tv).dot(tape.constant(c.clone()))
        } else {
            let parts: Vec<Var<f64>> = (0..times.len())
                .map(|b| {
                    qv.scale(tv.entry(b, 0))
                        .expm()
                        .dot(tape.constant(c.subcols(b * n, n).to_owned()))
                })
                .collect();
            expgrad_tape::add_n(&parts)
        };
        let g = loss.backward();
        (loss.item(), g.wrt(qv), g.wrt(tv))
    };
    let (l1, q1, t1) = run(true);
    let (l2, q2, t2) = run(false);
    // Two evaluations of the same functions (different approximants): agreement to rounding,
    // scaled by the size of the terms (entries of exp(tQ) ≤ 1, ‖C‖ ≤ 1, t ≤ 25).
    assert!((l1 - l2).abs() <= 1e-13 * (1.0 + l2.abs()), "{l1} vs {l2}");
    assert!(
        (&q1 - &q2).norm_max() <= 1e-12 * (1.0 + q2.norm_max()),
        "{q1:?} vs {q2:?}"
    );
    assert!(
        (&t1 - &t2).norm_max() <= 1e-12 * (1.0 + t2.norm_max()),
        "{t1:?} vs {t2:?}"
    );
}

#[test]
fn expm_times_mul_gradcheck_and_agreement_with_expm_times() {
    for (n, k, times) in [
        (1usize, 1usize, vec![0.5]),
        (3, 2, vec![0.1, 1.0, 5.0]),
        (4, 1, vec![0.02, 0.7]),
    ] {
        let q = generator(40 + n as u64, n);
        let t = Mat::from_fn(times.len(), 1, |i, _| times[i]);
        let v = uniform_mat(41, n, k * times.len(), -1.0..1.0);
        let opts = GradcheckOptions {
            step: 1e-4,
            ..Default::default()
        };
        assert_gradcheck!(
            |x: &[Var]| x[0].expm_times_mul(x[1], x[2]),
            &[q.clone(), t.clone(), v.clone()],
            &opts
        );
        // The same model through expm_times and one matmul per block.
        let c = uniform_mat(42, n, k * times.len(), -1.0..1.0);
        let tape = Tape::new();
        let (qv, tv, vv) = (
            tape.var(q.clone()),
            tape.var(t.clone()),
            tape.var(v.clone()),
        );
        let fused = qv.expm_times_mul(tv, vv).dot(tape.constant(c.clone()));
        let p = qv.expm_times(tv);
        let parts: Vec<Var<f64>> = (0..times.len())
            .map(|b| {
                p.slice(0..n, b * n..(b + 1) * n)
                    .matmul(vv.slice(0..n, b * k..(b + 1) * k))
                    .dot(tape.constant(c.subcols(b * k, k).to_owned()))
            })
            .collect();
        let split = expgrad_tape::add_n(&parts);
        assert!((fused.item() - split.item()).abs() <= 1e-14 * (1.0 + split.item().abs()));
        let (g1, g2) = (fused.backward(), split.backward());
        for x in [qv, tv, vv] {
            let (a, b) = (g1.wrt(x), g2.wrt(x));
            assert!(
                (&a - &b).norm_max() <= 1e-13 * (1.0 + b.norm_max()),
                "{a:?} vs {b:?}"
            );
        }
    }
    let tape = Tape::new();
    let q = tape.var(Mat::<f64>::zeros(2, 2));
    let t = tape.var(Mat::<f64>::zeros(2, 1));
    let e = q
        .try_expm_times_mul(t, tape.var(Mat::<f64>::zeros(2, 3)))
        .unwrap_err()
        .to_string();
    assert!(e.contains("expm_times_mul") && e.contains("2x3"), "{e}");
}

#[test]
fn expm_batch_mul_gradcheck_and_agreement_with_expm_mul_per_block() {
    for (n, k, b) in [(1usize, 1usize, 2usize), (3, 1, 3), (4, 2, 2), (5, 1, 2)] {
        let x = uniform_mat(50 + n as u64, n, n * b, -1.5..1.5);
        let v = uniform_mat(51 + n as u64, n, k * b, -1.0..1.0);
        assert_gradcheck!(
            |x: &[Var]| x[0].expm_batch_mul(x[1]),
            &[x.clone(), v.clone()]
        );
        let c = uniform_mat(52, n, k * b, -1.0..1.0);
        let tape = Tape::new();
        let (xv, vv) = (tape.var(x.clone()), tape.var(v.clone()));
        let batched = xv.expm_batch_mul(vv).dot(tape.constant(c.clone()));
        let per: Vec<Var<f64>> = (0..b)
            .map(|j| {
                xv.slice(0..n, j * n..(j + 1) * n)
                    .expm_mul(vv.slice(0..n, j * k..(j + 1) * k))
                    .dot(tape.constant(c.subcols(j * k, k).to_owned()))
            })
            .collect();
        let per = expgrad_tape::add_n(&per);
        assert!((batched.item() - per.item()).abs() <= 1e-14 * (1.0 + per.item().abs()));
        let (g1, g2) = (batched.backward(), per.backward());
        for x in [xv, vv] {
            let (a, b) = (g1.wrt(x), g2.wrt(x));
            assert!(
                (&a - &b).norm_max() <= 1e-14 * (1.0 + b.norm_max()),
                "{a:?} vs {b:?}"
            );
        }
    }
    let tape = Tape::new();
    let e = tape
        .var(Mat::<f64>::zeros(2, 4))
        .try_expm_batch_mul(tape.var(Mat::<f64>::zeros(2, 3)))
        .unwrap_err()
        .to_string();
    assert!(e.contains("expm_batch_mul") && e.contains("2x3"), "{e}");
}

#[test]
fn expm_times_rejects_bad_shapes_naming_the_op() {
    let tape = Tape::new();
    let q = tape.var(Mat::<f64>::zeros(2, 3));
    let t = tape.var(Mat::<f64>::zeros(2, 1));
    let e = q.try_expm_times(t).unwrap_err().to_string();
    assert!(e.contains("expm_times") && e.contains("2x3"), "{e}");
    let q = tape.var(Mat::<f64>::zeros(2, 2));
    let t = tape.var(Mat::<f64>::zeros(2, 2));
    let e = q.try_expm_times(t).unwrap_err().to_string();
    assert!(e.contains("expm_times") && e.contains("2x2"), "{e}");
    let t = tape.var(Mat::from_fn(1, 1, |_, _| f64::NAN));
    assert!(q.try_expm_times(t).is_err());
}

#[test]
fn expm_batch_gradcheck_and_agreement_with_expm_per_block() {
    for (n, b) in [(1usize, 3usize), (2, 2), (4, 3), (6, 2)] {
        let x = uniform_mat(20 + n as u64, n, n * b, -1.5..1.5);
        assert_gradcheck!(|x: &[Var]| x[0].expm_batch(), &[x.clone()]);
        let c = uniform_mat(30 + n as u64, n, n * b, -1.0..1.0);
        let tape = Tape::new();
        let xv = tape.var(x.clone());
        let batched = xv.expm_batch().dot(tape.constant(c.clone()));
        let per: Vec<Var<f64>> = (0..b)
            .map(|k| {
                xv.slice(0..n, k * n..(k + 1) * n)
                    .expm()
                    .dot(tape.constant(c.subcols(k * n, n).to_owned()))
            })
            .collect();
        let per = expgrad_tape::add_n(&per);
        // The same Expm per block: identical values and gradients up to summation order.
        assert!((batched.item() - per.item()).abs() <= 1e-14 * (1.0 + per.item().abs()));
        let (g1, g2) = (batched.backward().wrt(xv), per.backward().wrt(xv));
        assert!((&g1 - &g2).norm_max() <= 1e-14 * (1.0 + g2.norm_max()));
    }
    let tape = Tape::new();
    let e = tape
        .var(Mat::<f64>::zeros(3, 4))
        .try_expm_batch()
        .unwrap_err()
        .to_string();
    assert!(e.contains("expm_batch") && e.contains("3x4"), "{e}");
}
