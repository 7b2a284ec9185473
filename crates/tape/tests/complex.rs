//! The tape over complex scalars: every op that accepts `c64` against finite differences of
//! its real and imaginary parts (`gradcheck`, which over complex scalars perturbs both parts
//! separately), the gradient convention (`∂ℓ/∂x + i·∂ℓ/∂y`), real parameters driving a
//! complex model, and a GRAPE-style propagator chain against the closed-form gradient
//! `∂F/∂u_kj = Re tr((−iΔt·H_j)ᴴ·X̄_k)`.
use expgrad_tape::{GradcheckOptions, Tape, Var, assert_gradcheck, gradcheck_with};
use expgrad_testkit::{crandn, rng};
use faer::{Mat, c32, c64};
use std::sync::Arc;

fn cz(re: f64, im: f64) -> c64 {
    c64::new(re, im)
}

fn small(seed: u64, r: usize, c: usize, scale: f64) -> Mat<c64> {
    crandn(&mut rng(seed), r, c) * faer::Scale(cz(scale, 0.0))
}

/// The real part of `Σ conj(c)∘y` for a fixed complex weight `c`: a real loss of any output.
fn weighted<'t>(y: Var<'t, c64>, seed: u64) -> Var<'t, c64> {
    let (r, c) = y.shape();
    y.dot(y.tape().constant(small(seed, r, c, 1.0))).real()
}

#[test]
fn elementwise_ops() {
    let a = small(1, 3, 2, 0.7);
    let b = small(2, 3, 2, 0.7) + Mat::from_fn(3, 2, |_, _| cz(2.0, 0.5));
    assert_gradcheck!(|x| x[0].mul(x[1]), &[a.clone(), b.clone()]);
    assert_gradcheck!(|x| x[0].div(x[1]), &[a.clone(), b.clone()]);
    assert_gradcheck!(|x| x[0].exp(), std::slice::from_ref(&a));
    assert_gradcheck!(|x| x[0].square(), std::slice::from_ref(&a));
    assert_gradcheck!(|x| x[0].real(), std::slice::from_ref(&a));
    assert_gradcheck!(|x| x[0].imag(), std::slice::from_ref(&a));
    assert_gradcheck!(|x| x[0].conj(), std::slice::from_ref(&a));
    assert_gradcheck!(|x| x[0].abs2(), std::slice::from_ref(&a));
    assert_gradcheck!(|x| x[0].neg().sub(x[1]).add(x[0]), &[a.clone(), b.clone()]);
    assert_gradcheck!(
        |x| weighted(x[0].abs2().mul(x[1]), 9),
        &[a.clone(), b.clone()]
    );
}

#[test]
fn linear_and_structural_ops() {
    let a = small(3, 3, 4, 0.8);
    let m = small(4, 4, 2, 0.8);
    let s = small(5, 1, 1, 1.0);
    let sq = small(6, 3, 3, 0.8);
    assert_gradcheck!(|x| x[0].matmul(x[1]), &[a.clone(), m.clone()]);
    assert_gradcheck!(|x| x[0].transpose(), std::slice::from_ref(&a));
    assert_gradcheck!(|x| x[0].conj_transpose(), std::slice::from_ref(&a));
    assert_gradcheck!(|x| x[0].scale(x[1]), &[a.clone(), s.clone()]);
    assert_gradcheck!(|x| x[0].scale(cz(0.3, -1.2)), std::slice::from_ref(&a));
    assert_gradcheck!(
        |x| x[0].dot(x[1]),
        &[a.clone(), a.map(|v| v * cz(0.5, 2.0))]
    );
    assert_gradcheck!(|x| x[0].sum(), std::slice::from_ref(&a));
    assert_gradcheck!(|x| x[0].trace(), std::slice::from_ref(&sq));
    assert_gradcheck!(|x| x[0].slice(1..3, 0..2), std::slice::from_ref(&a));
    // Low-rank cotangents (thin products) through the factored paths.
    let big = small(7, 12, 12, 0.3);
    let v = small(8, 12, 1, 1.0);
    let opts = GradcheckOptions {
        full_jacobian_up_to: 0,
        ..Default::default()
    };
    let r = gradcheck_with(
        |x| weighted(x[0].matmul(x[1]).transpose(), 3),
        &[big.clone(), v.clone()],
        &opts,
    );
    assert!(r.passed, "{r}");
    let r = gradcheck_with(
        |x| weighted(x[0].slice(0..12, 2..5).matmul(x[1].slice(0..3, 0..1)), 4),
        &[big.clone(), v.clone()],
        &opts,
    );
    assert!(r.passed, "{r}");
}

#[test]
fn matrix_exponential_ops() {
    for (n, scale, seed) in [(2usize, 0.5, 11u64), (5, 2.0, 12), (14, 1.0, 13)] {
        let x = small(seed, n, n, scale / (n as f64).sqrt());
        let v = small(seed + 1, n, 2, 1.0);
        let opts = GradcheckOptions {
            full_jacobian_up_to: 40,
            ..Default::default()
        };
        let r = gradcheck_with(|a| a[0].expm(), std::slice::from_ref(&x), &opts);
        assert!(r.passed, "expm n = {n}: {r}");
        let r = gradcheck_with(|a| a[0].expm_mul(a[1]), &[x.clone(), v.clone()], &opts);
        assert!(r.passed, "expm_mul n = {n}: {r}");
        // expm then a thin product: the factored adjoint L(Xᴴ, U·Vᴴ) through the tape.
        let r = gradcheck_with(
            |a| weighted(a[0].expm().matmul(a[1]), 5),
            &[x.clone(), v.clone()],
            &opts,
        );
        assert!(r.passed, "expm·v n = {n}: {r}");
    }
}

#[test]
fn gradient_convention_is_pytorchs() {
    // ℓ = |z|² + Re(w·z): ∂ℓ/∂x + i ∂ℓ/∂y = 2z + conj(w).
    let tape = Tape::<c64>::new();
    let (z0, w) = (cz(1.5, -0.5), cz(0.25, 2.0));
    let z = tape.var(faer::mat![[z0]]);
    let loss = z.abs2().add(z.scale(w).real()).sum();
    let g = loss.backward().wrt(z)[(0, 0)];
    let want = z0 * cz(2.0, 0.0) + w.conj();
    assert!((g - want).norm() < 1e-15, "{g} vs {want}");
}

#[test]
fn real_parameters_drive_a_complex_model() {
    // ℓ(u) = |tr(T·exp(−i·dt·(H₀ + u₁H₁ + u₂H₂)))|²: the real gradient against differences.
    let n = 4;
    let h0 = small(21, n, n, 1.0);
    let h0 = (&h0 + h0.adjoint()) * faer::Scale(cz(0.5, 0.0));
    let hs: Vec<Mat<c64>> = (0..2)
        .map(|k| {
            let h = small(22 + k, n, n, 1.0);
            (&h + h.adjoint()) * faer::Scale(cz(0.5, 0.0))
        })
        .collect();
    let hs: Arc<[Mat<c64>]> = hs.into();
    let t = small(30, n, n, 1.0);
    let dt = 0.3;
    let loss_of = |u: &Mat<f64>| -> (f64, Mat<f64>) {
        let tape = Tape::<c64>::new();
        let uv = tape.real_var(u.clone());
        let h = uv.lincomb(&hs).add(tape.constant(h0.clone()));
        let x = h.scale(cz(0.0, -dt));
        let c = x.expm().matmul(tape.constant(t.clone())).trace();
        let loss = c.abs2().real();
        let value = loss.value()[(0, 0)].re;
        (value, loss.backward().wrt_real(uv))
    };
    let u = faer::mat![[0.4], [-1.1]];
    let (_, g) = loss_of(&u);
    for j in 0..2 {
        let h = 1e-5;
        let mut up = u.clone();
        up[(j, 0)] += h;
        let mut dn = u.clone();
        dn[(j, 0)] -= h;
        let fd = (loss_of(&up).0 - loss_of(&dn).0) / (2.0 * h);
        assert!(
            (g[(j, 0)] - fd).abs() <= 1e-8 * fd.abs().max(1.0),
            "u_{j}: {} vs {fd}",
            g[(j, 0)]
        );
    }
}

#[test]
fn grape_chain_matches_the_closed_form() {
    // F = |tr(Tᴴ·U)|²/n², U = U_{N−1}···U₀, U_k = exp(X_k): the tape's ∂F/∂u against the
    // formula X̄_k = L(X_kᴴ, Ū_k), Ū_k = (U_{N−1}···U_{k+1})ᴴ·Ū·(U_{k−1}···U₀)ᴴ, Ū = (2c/n²)·T,
    // ∂F/∂u_kj = Re tr((−iΔt·H_j)ᴴ·X̄_k).
    let (n, slices, dt) = (4usize, 6usize, 0.2);
    let herm = |seed: u64| {
        let h = small(seed, n, n, 1.0);
        (&h + h.adjoint()) * faer::Scale(cz(0.5, 0.0))
    };
    let h0 = herm(40);
    let hs: Arc<[Mat<c64>]> = vec![herm(41), herm(42)].into();
    let target = small(43, n, n, 1.0).qr().compute_Q();
    let u = Mat::<f64>::from_fn(slices, 2, |k, j| 0.3 * (k as f64 - 2.0) + 0.5 * j as f64);
    let tape = Tape::<c64>::new();
    let mut prop = tape.constant(Mat::identity(n, n));
    let mut us = Vec::new();
    for k in 0..slices {
        let uk = tape.real_var(Mat::from_fn(2, 1, |j, _| u[(k, j)]));
        us.push(uk);
        let x = uk
            .lincomb(&hs)
            .add(tape.constant(h0.clone()))
            .scale(cz(0.0, -dt));
        prop = x.expm().matmul(prop);
    }
    let c = tape
        .constant(target.adjoint().to_owned())
        .matmul(prop)
        .trace();
    let fid = c.abs2().scale(cz(1.0 / (n * n) as f64, 0.0)).real();
    let grads = fid.backward();
    // The closed form.
    let xs: Vec<Mat<c64>> = (0..slices)
        .map(|k| {
            let mut h = h0.clone();
            for j in 0..2 {
                h += &hs[j] * faer::Scale(cz(u[(k, j)], 0.0));
            }
            h * faer::Scale(cz(0.0, -dt))
        })
        .collect();
    let fs: Vec<expgrad_linalg::Expm<c64>> = xs
        .iter()
        .map(|x| expgrad_linalg::Expm::new(x.as_ref()))
        .collect();
    let mut full = Mat::<c64>::identity(n, n);
    for f in &fs {
        full = f.value() * &full;
    }
    let cval = (target.adjoint() * &full).diagonal().column_vector().sum();
    let ubar = &target * faer::Scale(cval * cz(2.0 / (n * n) as f64, 0.0));
    let mut worst = 0.0f64;
    for k in 0..slices {
        let mut after = Mat::<c64>::identity(n, n);
        for f in &fs[k + 1..] {
            after = f.value() * &after;
        }
        let mut before = Mat::<c64>::identity(n, n);
        for f in &fs[..k] {
            before = f.value() * &before;
        }
        let uk_bar = after.adjoint() * &ubar * before.adjoint();
        let xbar = fs[k].frechet_adjoint(uk_bar.as_ref());
        let g = grads.wrt_real(us[k]);
        for j in 0..2 {
            let m = &hs[j] * faer::Scale(cz(0.0, -dt));
            let want = (m.adjoint() * &xbar).diagonal().column_vector().sum().re;
            worst = worst.max((g[(j, 0)] - want).abs());
        }
    }
    assert!(worst <= 1e-14, "tape vs closed form: {worst:.2e}");
}

#[test]
fn single_precision_complex() {
    let x = crandn(&mut rng(51), 4, 4).map(|z| c32::new(0.3 * z.re as f32, 0.3 * z.im as f32));
    let r = expgrad_tape::gradcheck(|a| a[0].expm().abs2(), &[x]);
    assert!(r.passed, "{r}");
}

#[test]
fn lincomb_blocks_and_expm_chain() {
    let (n, k) = (3usize, 4usize);
    let mats: Arc<[Mat<c64>]> = vec![small(60, n, n, 0.4), small(61, n, n, 0.4)].into();
    let offset = Arc::new(small(62, n, n, 0.3));
    let u = Mat::<c64>::from_fn(2, k, |j, s| {
        cz(0.2 * j as f64 - 0.1 * s as f64, 0.05 * s as f64)
    });
    let opts = GradcheckOptions {
        full_jacobian_up_to: 16,
        ..Default::default()
    };
    let r = gradcheck_with(
        |x| x[0].lincomb_offset(&offset, &mats),
        std::slice::from_ref(&u),
        &opts,
    );
    assert!(r.passed, "lincomb_offset: {r}");
    let stack = small(63, n, n * k, 0.5);
    let r = gradcheck_with(|x| x[0].expm_chain(), std::slice::from_ref(&stack), &opts);
    assert!(r.passed, "expm_chain c64: {r}");
    let real = expgrad_testkit::randn(&mut rng(64), n, n * k) * faer::Scale(0.4);
    let r = expgrad_tape::gradcheck(|x| x[0].expm_chain(), &[real]);
    assert!(r.passed, "expm_chain f64: {r}");
    // The same value and gradient as the chain built from expm and matmul nodes.
    let c = small(65, n, n, 1.0);
    let build = |chain: bool| {
        let tape = Tape::<c64>::new();
        let x = tape.var(stack.clone());
        let prop = if chain {
            x.expm_chain()
        } else {
            let mut p = x.slice(0..n, 0..n).expm();
            for s in 1..k {
                p = x.slice(0..n, s * n..(s + 1) * n).expm().matmul(p);
            }
            p
        };
        let loss = prop.dot(tape.constant(c.clone())).abs2().real();
        (prop.value(), loss.backward().wrt(x))
    };
    let (v1, g1) = build(true);
    let (v2, g2) = build(false);
    assert!((&v1 - &v2).norm_max() <= 1e-15 * v2.norm_max());
    assert!(
        (&g1 - &g2).norm_max() <= 1e-14 * g2.norm_max(),
        "{:.2e}",
        (&g1 - &g2).norm_max()
    );
}

#[test]
fn action_of_the_exponential_over_complex() {
    // W = exp(t·X)·V with complex X, V and t: the action node's exact reverse pass.
    let x = small(70, 5, 5, 0.4);
    let v = small(71, 5, 2, 1.0);
    let t = Mat::from_fn(1, 1, |_, _| cz(0.3, -0.8));
    let opts = GradcheckOptions {
        full_jacobian_up_to: 40,
        ..Default::default()
    };
    let r = gradcheck_with(|a| a[0].expm_multiply(a[1], a[2]), &[x, v, t], &opts);
    assert!(r.passed, "expm_multiply c64: {r}");
}

#[test]
fn sparse_lincomb_action() {
    use expgrad_tape::ops::SparseLincomb;
    use faer::sparse::{SparseRowMat, Triplet};
    let n = 6;
    // Three sparse complex matrices with different patterns (a tridiagonal part, a corner,
    // a diagonal).
    let make = |seed: u64, pick: &dyn Fn(usize, usize) -> bool| {
        let vals = small(seed, n, n, 0.5);
        let trip: Vec<Triplet<usize, usize, c64>> = (0..n)
            .flat_map(|i| (0..n).map(move |j| (i, j)))
            .filter(|&(i, j)| pick(i, j))
            .map(|(i, j)| Triplet::new(i, j, vals[(i, j)]))
            .collect();
        SparseRowMat::<usize, c64>::try_new_from_triplets(n, n, &trip).unwrap()
    };
    let a0 = make(80, &|i, j| i.abs_diff(j) <= 1);
    let a1 = make(81, &|i, j| (i, j) == (0, n - 1) || (i, j) == (n - 1, 0));
    let a2 = make(82, &|i, j| i == j);
    let comb = Arc::new(SparseLincomb::try_new(a0.as_ref(), &[a1.as_ref(), a2.as_ref()]).unwrap());
    let u = Mat::from_fn(2, 1, |j, _| cz(0.7 - j as f64, 0.0));
    let v = small(83, n, 2, 1.0);
    let t = Mat::from_fn(1, 1, |_, _| cz(0.0, -0.9));
    // Against the dense route.
    let tape = Tape::<c64>::new();
    let w = tape.constant(u.clone()).expm_multiply_lincomb(
        &comb,
        tape.constant(v.clone()),
        tape.constant(t.clone()),
    );
    let dense = |m: &SparseRowMat<usize, c64>| m.to_dense();
    let x =
        (dense(&a0) + dense(&a1) * faer::Scale(u[(0, 0)]) + dense(&a2) * faer::Scale(u[(1, 0)]))
            * faer::Scale(t[(0, 0)]);
    let want = expgrad_linalg::expm(x.as_ref()) * &v;
    assert!((w.value() - &want).norm_max() <= 1e-13 * want.norm_max());
    let opts = GradcheckOptions {
        full_jacobian_up_to: 40,
        ..Default::default()
    };
    let r = gradcheck_with(
        |a| a[0].expm_multiply_lincomb(&comb, a[1], a[2]),
        &[u, v, t],
        &opts,
    );
    assert!(r.passed, "expm_multiply_lincomb: {r}");
}
