mod common;
use common::*;
use expgrad_linalg::*;

#[test]
fn smoke_closed_form_family() {
    let mut r = rng(1);
    for n in [2usize, 4, 8] {
        for t in [1e-3, 0.1, 1.0, 5.0, 30.0] {
            let b = Blocks::random(&mut r, n, 2.0, 3.0);
            let q = orthogonal(&mut r, n);
            let x = &q * b.matrix(t) * q.transpose();
            let want = &q * b.exp(t) * q.transpose();
            let got = expm(x.as_ref());
            let f = Expm::new(x.as_ref());
            let e = randn(&mut r, n, n);
            let lq = frechet_quadrature(|s| &q * b.exp(s * t) * q.transpose(), e.as_ref(), 8);
            let l = f.frechet(e.as_ref());
            let (_, lb) = expm_frechet_block(x.as_ref(), e.as_ref());
            println!(
                "n={n} t={t} params={:?} exp err {:.2e} tol {:.2e} | L err {:.2e} block {:.2e}",
                f.params(),
                rel_err(got.as_ref(), want.as_ref()),
                tol_exp(x.as_ref()),
                rel_err(l.as_ref(), lq.as_ref()),
                rel_err(lb.as_ref(), lq.as_ref())
            );
        }
    }
}
