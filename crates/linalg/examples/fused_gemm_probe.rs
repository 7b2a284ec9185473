//! Probe: `L_i·X_j + X_i·L_j` as two gemms vs one `[L_i X_i]·[X_j; L_j]`.
use expgrad_linalg::kernels::{gemm, par_for};
use expgrad_testkit::{randn, rng};
use faer::{Accum, Mat};
use std::time::Instant;

fn med(mut f: impl FnMut(), reps: usize) -> f64 {
    let mut v: Vec<f64> = (0..9)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..reps {
                f();
            }
            t.elapsed().as_secs_f64() * 1e6 / reps as f64
        })
        .collect();
    v.sort_by(f64::total_cmp);
    v[4]
}

fn main() {
    for n in [16usize, 32, 64, 128, 256] {
        let mut r = rng(1);
        let (li, xj, xi, lj) = (
            randn(&mut r, n, n),
            randn(&mut r, n, n),
            randn(&mut r, n, n),
            randn(&mut r, n, n),
        );
        let par = par_for(n);
        let reps = (2_000_000 / (n * n * n)).max(3);
        for tr in [false, true] {
            fn v(m: &Mat<f64>, tr: bool) -> faer::MatRef<'_, f64> {
                if tr { m.transpose() } else { m.as_ref() }
            }
            let mut out = Mat::<f64>::zeros(n, n);
            let two = med(
                || {
                    gemm(
                        out.as_mut(),
                        Accum::Replace,
                        li.as_ref(),
                        v(&xj, tr),
                        1.0,
                        par,
                    );
                    gemm(out.as_mut(), Accum::Add, v(&xi, tr), lj.as_ref(), 1.0, par);
                },
                reps,
            );
            let mut left = Mat::<f64>::zeros(n, 2 * n);
            let mut right = Mat::<f64>::zeros(2 * n, n);
            let fused = med(
                || {
                    left.submatrix_mut(0, 0, n, n).copy_from(li.as_ref());
                    left.submatrix_mut(0, n, n, n).copy_from(v(&xi, tr));
                    right.submatrix_mut(0, 0, n, n).copy_from(v(&xj, tr));
                    right.submatrix_mut(n, 0, n, n).copy_from(lj.as_ref());
                    gemm(
                        out.as_mut(),
                        Accum::Replace,
                        left.as_ref(),
                        right.as_ref(),
                        1.0,
                        par,
                    );
                },
                reps,
            );
            // Values pre-stacked (as a cache could keep them): only the tangents are copied.
            let fused_pre = med(
                || {
                    left.submatrix_mut(0, 0, n, n).copy_from(li.as_ref());
                    right.submatrix_mut(n, 0, n, n).copy_from(lj.as_ref());
                    gemm(
                        out.as_mut(),
                        Accum::Replace,
                        left.as_ref(),
                        right.as_ref(),
                        1.0,
                        par,
                    );
                },
                reps,
            );
            println!(
                "n={n} tr={tr}: two gemms {two:.2} µs, fused {fused:.2} µs ({:.2}), fused with stacked values {fused_pre:.2} µs ({:.2})",
                fused / two,
                fused_pre / two
            );
        }
    }
}
