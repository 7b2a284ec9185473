//! `expm_multiply_diag_times` (K observation times in one node): values against K separate
//! `expm_multiply_diag` nodes and the dense route (`expm` of `t_k·Diag(d)·A`), gradients of
//! `d`, `V` and every `t_k` against finite differences (`gradcheck`) on a sparse Markov
//! generator and a Laplacian, and the sum of K single-node gradients.
use expgrad_diag::*;
use expgrad_tape::{Tape, gradcheck};
use expgrad_testkit::{Boundary, csr, neg_laplacian_1d, rand_mat, ring_generator};
use faer::Mat;
use std::sync::Arc;

#[test]
fn values_and_gradients_match_separate_nodes() {
    let n = 60;
    for a in [
        ring_generator(n, 3),
        neg_laplacian_1d(n, Boundary::Neumann).dense(),
    ] {
        let a_dense = a.clone();
        let a = Arc::new(SparseOrDense::from(csr(a.as_ref())));
        let d0 = Mat::from_fn(n, 1, |i, _| 0.5 + (i as f64 * 0.37).sin().abs());
        let v0 = rand_mat(5, n, 2);
        let times = [-0.6, 0.0, 0.2, 0.2, 1.3, 4.0];
        let tape = Tape::new();
        let d = tape.var(d0.clone());
        let v = tape.var(v0.clone());
        let t = tape.var(Mat::from_fn(times.len(), 1, |i, _| times[i]));
        let w = expm_multiply_diag_times(d, &a, v, t);
        let g = w.abs2().sum().backward();
        let (mut dsum, mut vsum) = (Mat::<f64>::zeros(n, 1), Mat::<f64>::zeros(n, 2));
        let mut worst = (0.0f64, 0.0f64);
        for (c, &tk) in times.iter().enumerate() {
            let tape1 = Tape::new();
            let (d1, v1) = (tape1.var(d0.clone()), tape1.var(v0.clone()));
            let t1 = tape1.var(faer::mat![[tk]]);
            let w1 = expm_multiply_diag(d1, &a, v1, t1);
            let x = Mat::from_fn(n, n, |i, j| d0[(i, 0)] * a_dense[(i, j)] * tk);
            let dense = expgrad_linalg::expm(x.as_ref()) * &v0;
            let got = w.value().subcols(2 * c, 2).to_owned();
            let scale = dense.norm_max();
            let e =
                ((&got - &w1.value()).norm_max() / scale).max((&got - &dense).norm_max() / scale);
            worst.0 = worst.0.max(e);
            assert!(e < 1e-12, "t = {tk}: {e:e}");
            let g1 = w1.abs2().sum().backward();
            dsum += g1.wrt(d1);
            vsum += g1.wrt(v1);
            let tb = g1.wrt(t1)[(0, 0)];
            let et = (g.wrt(t)[(c, 0)] - tb).abs() / tb.abs().max(1.0);
            worst.1 = worst.1.max(et);
            assert!(et < 1e-9, "t̄[{c}]: {} vs {tb}", g.wrt(t)[(c, 0)]);
        }
        let ed = (&g.wrt(d) - &dsum).norm_max() / dsum.norm_max();
        let ev = (&g.wrt(v) - &vsum).norm_max() / vsum.norm_max();
        println!("values {:e}, t̄ {:e}, d̄ {ed:e}, V̄ {ev:e}", worst.0, worst.1);
        assert!(ed < 1e-9 && ev < 1e-9, "d̄ {ed:e} V̄ {ev:e}");
    }
}

#[test]
fn gradcheck_d_v_and_times() {
    let n = 8;
    let a = Arc::new(SparseOrDense::from(csr(ring_generator(n, 7).as_ref())));
    let d = Mat::from_fn(n, 1, |i, _| 0.7 + 0.1 * i as f64);
    let v = rand_mat(9, n, 1);
    let t = Mat::from_fn(4, 1, |i, _| [-0.5, 0.1, 0.8, 2.0][i]);
    let r = gradcheck(
        |x| expm_multiply_diag_times(x[0], &a, x[1], x[2]).abs2().sum(),
        &[d, v, t],
    );
    println!("{r}");
    assert!(r.passed, "{r}");
}
