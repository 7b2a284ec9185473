//! `expm`, its Fréchet derivative, the adjoint `L(Aᴴ, G)` and the factored adjoint over `c64`
//! and `c32`: closed forms (rotations `exp(iθσ)`, complex Jordan blocks, unitary similarities
//! of diagonal and triangular matrices), unitarity for anti-Hermitian input, the failures
//! reported against other libraries, the adjoint identity under `Re tr(Xᴴ Y)`, the 2n×2n block
//! reference, every degree and s = 0..20, and c32 against c64.
//!
//! Tolerances: the relative condition number of `exp` at a normal matrix is at most `‖X‖₂`
//! (Higham, *Functions of Matrices*, Thm 3.24 with `‖L(X)‖ ≤ e^{α(X)}`), so the bound used is
//! `c·(n + s)·u·max(1, ‖X‖)` with a small c; the factor n + s covers the products and the
//! squarings (Higham 2005, §3).
//!
//! Anti-Hermitian input of large norm goes through the eigendecomposition of `iX`
//! (`approximant() == "eigen"`, docs/math.md §17): unitarity to `4·n·u` whatever `‖X‖` (the
//! Taylor path below the switch: `10·n·u`), and its derivatives against closed forms, the
//! block reference and the adjoint identity.
mod common;
use common::rel_err;
use expgrad_linalg::*;
use expgrad_testkit::{crandn, rng};
use faer::{Mat, MatRef, c32, c64};

const U: f64 = f64::EPSILON / 2.0;
const U32: f64 = f32::EPSILON as f64 / 2.0;

fn cz(re: f64, im: f64) -> c64 {
    c64::new(re, im)
}

/// `‖a − b‖_F / ‖b‖_F` over complex matrices.
fn crel(a: MatRef<'_, c64>, b: MatRef<'_, c64>) -> f64 {
    (a - b).norm_l2() / b.norm_l2().max(1e-300)
}

/// A random unitary matrix: Q of a QR of a complex Gaussian matrix.
fn unitary(seed: u64, n: usize) -> Mat<c64> {
    crandn(&mut rng(seed), n, n).qr().compute_Q()
}

/// `⟨X, Y⟩ = Re tr(Xᴴ Y)`.
fn real_inner(x: MatRef<'_, c64>, y: MatRef<'_, c64>) -> f64 {
    let mut s = 0.0;
    for j in 0..x.ncols() {
        for i in 0..x.nrows() {
            s += (x[(i, j)].conj() * y[(i, j)]).re;
        }
    }
    s
}

/// `(X − Xᴴ)/2`, exactly anti-Hermitian (entry (j, i) is computed as the exact negated
/// conjugate of entry (i, j)); the identity on exactly anti-Hermitian input.
fn anti_hermitian_part(x: MatRef<'_, c64>) -> Mat<c64> {
    Mat::from_fn(x.nrows(), x.ncols(), |i, j| {
        (x[(i, j)] - x[(j, i)].conj()) * 0.5
    })
}

fn pauli() -> [Mat<c64>; 3] {
    let (o, l, i) = (cz(0.0, 0.0), cz(1.0, 0.0), cz(0.0, 1.0));
    [
        faer::mat![[o, l], [l, o]],
        faer::mat![[o, -i], [i, o]],
        faer::mat![[l, o], [o, -l]],
    ]
}

#[test]
fn rotations_match_cos_and_sin() {
    // exp(iθσ) = cos θ·I + i sin θ·σ for every Pauli matrix σ (σ² = I).
    for sigma in pauli() {
        for theta in [1e-8, 0.3, 1.0, 2.5, 10.0, 100.0, 1e3] {
            let x = &sigma * faer::Scale(cz(0.0, theta));
            let got = expm(x.as_ref());
            let want = Mat::<c64>::from_fn(2, 2, |i, j| {
                let id = if i == j { 1.0 } else { 0.0 };
                cz(theta.cos() * id, 0.0) + cz(0.0, theta.sin()) * sigma[(i, j)]
            });
            let s = Expm::new(x.as_ref()).params().1 as f64;
            let tol = 4.0 * (2.0 + s) * U * theta.max(1.0);
            let err = crel(got.as_ref(), want.as_ref());
            assert!(err <= tol, "θ = {theta}: error {err:.2e} > {tol:.2e}");
        }
    }
}

#[test]
fn complex_jordan_block() {
    // exp([[λ, 1], [0, λ]]) = e^λ·[[1, 1], [0, 1]], upper and lower (through the transpose).
    for lambda in [cz(0.3, 0.7), cz(-2.0, 5.0), cz(1.5, -30.0), cz(0.0, 1e-9)] {
        let z = cz(0.0, 0.0);
        let one = cz(1.0, 0.0);
        let upper = faer::mat![[lambda, one], [z, lambda]];
        let e = lambda.exp();
        let want = faer::mat![[e, e], [z, e]];
        let tol = 8.0 * U * (1.0 + lambda.norm());
        assert!(crel(expm(upper.as_ref()).as_ref(), want.as_ref()) <= tol);
        let lower = upper.transpose().to_owned();
        let want_l = want.transpose().to_owned();
        assert!(crel(expm(lower.as_ref()).as_ref(), want_l.as_ref()) <= tol);
        // A dense-looking similar matrix goes through the Taylor path.
        let q = unitary(3, 2);
        let x = &q * &upper * q.adjoint();
        let want_x = &q * &want * q.adjoint();
        let s = Expm::new(x.as_ref()).params().1 as f64;
        let tol = 16.0 * (2.0 + s) * U * (1.0 + lambda.norm()).powi(2);
        let err = crel(expm(x.as_ref()).as_ref(), want_x.as_ref());
        assert!(err <= tol, "λ = {lambda}: {err:.2e} > {tol:.2e}");
    }
}

#[test]
fn unitary_similarity_of_diagonal_and_triangular() {
    for (n, scale, seed) in [
        (3usize, 0.5, 1u64),
        (8, 3.0, 2),
        (16, 20.0, 3),
        (40, 8.0, 4),
    ] {
        let q = unitary(seed, n);
        let mut r = rng(seed + 100);
        let lam = crandn(&mut r, n, 1);
        // Block-diagonal upper triangular T: 2×2 blocks [[a, b], [0, c]] (and a 1×1 tail).
        let mut t = Mat::<c64>::zeros(n, n);
        let mut et = Mat::<c64>::zeros(n, n);
        let mut i = 0;
        while i < n {
            let a = lam[(i, 0)] * cz(scale, 0.0);
            t[(i, i)] = a;
            et[(i, i)] = a.exp();
            if i + 1 < n {
                let c = lam[(i + 1, 0)] * cz(scale, 0.0);
                let b = cz(0.5, -0.25);
                t[(i + 1, i + 1)] = c;
                t[(i, i + 1)] = b;
                et[(i + 1, i + 1)] = c.exp();
                et[(i, i + 1)] = b * (a.exp() - c.exp()) / (a - c);
            }
            i += 2;
        }
        let x = &q * &t * q.adjoint();
        let want = &q * &et * q.adjoint();
        let f = Expm::new(x.as_ref());
        let s = f.params().1 as f64;
        let xn = x.norm_l2();
        let kappa = xn.max(1.0) * (1.0 + t.norm_l2()); // the triangular part is non-normal
        let tol = 8.0 * (n as f64 + s) * U * kappa;
        let err = crel(f.value(), want.as_ref());
        assert!(err <= tol, "n = {n}: {err:.2e} > {tol:.2e}");
    }
}

/// The unitarity bound for anti-Hermitian input at every `‖X‖`: no squaring runs (`s = 0`),
/// so nothing doubles a deviation (scaling and squaring gave up to `1722·n·u` at
/// `‖X‖₂ = 10³`, s = 9: `c·2ˢ·n·u`).
///
/// * `"eigen"`: `Q̂·D·Q̂ᴴ`, then one Newton–Schulz step `U + U(I − UᴴU)/2`, which leaves
///   `O(‖UᴴU − I‖²)` (≈ (15·n·u)², negligible) plus its own rounding: forming `UᴴU` (n-term
///   inner products, ≲ n·u in the Frobenius norm with random-sign rounding) and the update
///   (≲ u·‖U‖_F per factor, twice): `4·n·u`.
/// * `"taylor"` (`‖X‖₁ ≤ 3.54`, 3.01 in single precision): one evaluation of a polynomial in
///   a matrix of norm below 3.54, no squaring; the requirement's `10·n·u`.
fn unitarity_bound(path: &str, n: usize, u: f64) -> f64 {
    let c = if path == "eigen" { 4.0 } else { 10.0 };
    c * n as f64 * u
}

#[test]
fn hermitian_generators_give_unitaries() {
    // X = −i·t·H with H = Q·Diag(λ)·Qᴴ Hermitian: exp(X) = Q·Diag(e^{−itλ})·Qᴴ, unitary.
    let mut worst = std::collections::BTreeMap::<&str, f64>::new();
    for (n, seed) in [(2usize, 5u64), (4, 6), (8, 7), (16, 8), (64, 9)] {
        let q = unitary(seed, n);
        let mut r = rng(seed + 7);
        let lam = expgrad_testkit::randn(&mut r, n, 1);
        for norm in [1e-3, 1.0, 10.0, 100.0, 1e3] {
            let lmax = lam.col(0).iter().fold(0.0f64, |m, v| m.max(v.abs()));
            let t = norm / lmax;
            let d = Mat::<c64>::from_fn(n, n, |i, j| {
                if i == j {
                    cz(0.0, -t * lam[(i, 0)])
                } else {
                    cz(0.0, 0.0)
                }
            });
            let ed = Mat::<c64>::from_fn(n, n, |i, j| {
                if i == j {
                    d[(i, i)].exp()
                } else {
                    cz(0.0, 0.0)
                }
            });
            // Q·D·Qᴴ is anti-Hermitian only up to rounding; its anti-Hermitian part (an O(u‖X‖)
            // change) is exactly so, as −i·t·H is for an exactly Hermitian H.
            let x = anti_hermitian_part((&q * &d * q.adjoint()).as_ref());
            let want = &q * &ed * q.adjoint();
            let f = Expm::new(x.as_ref());
            let s = f.params().1;
            assert_eq!(s, 0, "n = {n}, ‖X‖₂ = {norm}: {}", f.approximant());
            let big = norm1(x.as_ref()) > 3.54;
            assert_eq!(f.approximant(), if big { "eigen" } else { "taylor" });
            let u = f.value();
            let unitarity = (u.adjoint() * u - Mat::<c64>::identity(n, n)).norm_l2();
            let tol_u = unitarity_bound(f.approximant(), n, U);
            assert!(
                unitarity <= tol_u,
                "n = {n}, ‖X‖₂ = {norm}: ‖UᴴU − I‖_F = {unitarity:.2e} > {tol_u:.2e}"
            );
            let w = worst.entry(f.approximant()).or_default();
            *w = w.max(unitarity / (n as f64 * U));
            let err = crel(u, want.as_ref());
            let tol = 8.0 * n as f64 * U * norm.max(1.0);
            assert!(err <= tol, "n = {n}, ‖X‖₂ = {norm}: {err:.2e} > {tol:.2e}");
        }
    }
    eprintln!("c64: worst ‖UᴴU − I‖_F / (n·u) by path: {worst:.2?}");
}

#[test]
fn unitarity_in_single_precision() {
    let mut worst = std::collections::BTreeMap::<&str, f64>::new();
    for (n, seed) in [(2usize, 11u64), (8, 12), (32, 13), (64, 14)] {
        let g = crandn(&mut rng(seed), n, n);
        let h = (&g + g.adjoint()) * faer::Scale(cz(0.5, 0.0));
        for norm in [0.1, 1.0, 10.0, 100.0, 1e3] {
            let hn = h.norm_l2();
            let x = &h * faer::Scale(cz(0.0, -norm / hn));
            // Rounding each part to f32 keeps X exactly anti-Hermitian.
            let x32 = Mat::<c32>::from_fn(n, n, |i, j| {
                c32::new(x[(i, j)].re as f32, x[(i, j)].im as f32)
            });
            let f = Expm::new(x32.as_ref());
            assert_eq!(f.params().1, 0, "c32 n = {n}, ‖X‖_F = {norm}");
            let big = norm1(x32.as_ref()) > 3.01;
            assert_eq!(f.approximant(), if big { "eigen" } else { "taylor" });
            let u = f.value();
            let err = (u.adjoint() * u - Mat::<c32>::identity(n, n)).norm_l2() as f64;
            let tol = unitarity_bound(f.approximant(), n, U32);
            assert!(
                err <= tol,
                "c32 n = {n}, ‖X‖_F = {norm}: ‖UᴴU − I‖ = {err:.2e} > {tol:.2e}"
            );
            let w = worst.entry(f.approximant()).or_default();
            *w = w.max(err / (n as f64 * U32));
        }
    }
    eprintln!("c32: worst ‖UᴴU − I‖_F / (n·u) by path: {worst:.2?}");
}

/// For `X` with `X² = −ω²·I` (ω > 0): `e^X = cos ω·I + (sin ω/ω)·X` and, integrating
/// `L(X, E) = ∫₀¹ e^{σX} E e^{(1−σ)X} dσ` term by term,
/// `L(X, E) = ½(sinc ω + cos ω)·E + (sin ω/(2ω))·(XE + EX) + ((sinc ω − cos ω)/(2ω²))·XEX`.
fn square_root_forms(x: MatRef<'_, c64>, omega: f64, e: MatRef<'_, c64>) -> (Mat<c64>, Mat<c64>) {
    let n = x.nrows();
    let (c, sn) = (omega.cos(), omega.sin());
    let sinc = sn / omega;
    let value =
        Mat::<c64>::identity(n, n) * faer::Scale(cz(c, 0.0)) + x * faer::Scale(cz(sinc, 0.0));
    let l = e * faer::Scale(cz(0.5 * (sinc + c), 0.0))
        + (x * e + e * x) * faer::Scale(cz(sn / (2.0 * omega), 0.0))
        + x * e * x * faer::Scale(cz((sinc - c) / (2.0 * omega * omega), 0.0));
    (value, l)
}

#[test]
fn eigen_path_derivatives_match_the_references() {
    // Anti-Hermitian X with ‖X‖₂ ∈ {10, 10³}: H random (simple spectrum), and H = P₁ + P₂ for
    // anticommuting Pauli strings (σ_x + σ_z at n = 2; X⊗X⊗X + Z⊗Z⊗Z at n = 8, ⊗ I₅ at
    // n = 40): H² = 2I, eigenvalues ±√2, each n/2 times (simple only at n = 2), closed forms.
    //
    // Tolerances. ‖L(X, ·)‖ = 1 at anti-Hermitian X (|Φ_jk| = |sinc((λ_j − λ_k)/2)| ≤ 1), so
    // errors are measured against ‖E‖_F. The eigen path's derivative is exact for the computed
    // Q̂, λ̂, which are exact for H + ΔH with ‖ΔH‖ ≲ n·u·‖H‖ (backward stable EVD); the second
    // derivative of exp at a skew-Hermitian point has norm ≤ 1, so that moves L by
    // ≲ n·u·‖X‖₂·‖E‖, and the four products with (nearly) unitary factors add ≲ n·u·‖E‖. The
    // references (closed forms: u·ω; the block: scaling and squaring at backward error u, same
    // condition) add the same order: tol = 4·n·u·max(1, ‖X‖₂)·‖E‖_F.
    // The adjoint identity and the factored adjoint involve the same Q̂, Φ on both sides,
    // equal in exact arithmetic: only the rounding of the products, 4·n·u·‖G‖_F·‖E‖_F.
    let [sx, _, sz] = pauli();
    let kron = |a: &Mat<c64>, b: &Mat<c64>| {
        let (p, q) = (b.nrows(), b.ncols());
        Mat::<c64>::from_fn(a.nrows() * p, a.ncols() * q, |i, j| {
            a[(i / p, j / q)] * b[(i % p, j % q)]
        })
    };
    let anticommuting = |n: usize| -> Mat<c64> {
        let (x3, z3) = (kron(&kron(&sx, &sx), &sx), kron(&kron(&sz, &sz), &sz));
        match n {
            2 => &sx + &sz,
            8 => &x3 + &z3,
            _ => kron(&(&x3 + &z3), &Mat::<c64>::identity(5, 5)),
        }
    };
    let mut worst = [0.0f64; 4];
    for n in [2usize, 8, 40] {
        for norm in [10.0, 1e3] {
            for degenerate in [false, true] {
                let mut r = rng(900 + n as u64 + norm as u64);
                let (x, omega) = if degenerate {
                    // X = −i·c·H, X² = −2c²·I exactly: ω = c√2.
                    let c = norm / 2f64.sqrt();
                    let x = &anticommuting(n) * faer::Scale(cz(0.0, -c));
                    (x, (2.0 * c * c).sqrt())
                } else {
                    let g0 = crandn(&mut r, n, n);
                    let h = (&g0 + g0.adjoint()) * faer::Scale(cz(0.5, 0.0));
                    let h2 = h
                        .self_adjoint_eigenvalues(faer::Side::Lower)
                        .unwrap()
                        .iter()
                        .fold(0.0f64, |m, v| m.max(v.abs()));
                    let x = &h * faer::Scale(cz(0.0, -norm / h2));
                    (anti_hermitian_part(x.as_ref()), norm)
                };
                let what = format!("n = {n}, ‖X‖₂ = {norm}, degenerate = {degenerate}");
                let f = Expm::new(x.as_ref());
                assert_eq!((f.approximant(), f.params()), ("eigen", (0, 0)), "{what}");
                let tol_rel = 4.0 * n as f64 * U * omega.max(1.0);
                let e = crandn(&mut r, n, n);
                let g = crandn(&mut r, n, n);
                let (ne, ng) = (e.norm_l2(), g.norm_l2());

                let l = f.frechet(e.as_ref());
                let adj = f.frechet_adjoint(g.as_ref());
                let (_, lb) = expm_frechet_block(x.as_ref(), e.as_ref());
                let xh = x.adjoint().to_owned();
                let (_, ab) = expm_frechet_block(xh.as_ref(), g.as_ref());
                // ‖got − want‖_F / scale against tol_rel; returns the ratio.
                let check = |name: &str, got: &Mat<c64>, want: &Mat<c64>, scale: f64| {
                    let err = (got - want).norm_l2() / scale;
                    assert!(err <= tol_rel, "{what}: {name} {err:.2e} > {tol_rel:.2e}");
                    err / tol_rel
                };
                worst[0] = worst[0].max(check("L vs block", &l, &lb, ne));
                worst[1] = worst[1].max(check("adjoint vs block", &adj, &ab, ng));
                if degenerate {
                    let (value, lc) = square_root_forms(x.as_ref(), omega, e.as_ref());
                    let err = crel(f.value(), value.as_ref());
                    assert!(err <= tol_rel, "{what}: value {err:.2e} > {tol_rel:.2e}");
                    worst[0] = worst[0].max(check("L vs closed form", &l, &lc, ne));
                    // L(Xᴴ, G): the same form at Xᴴ = −X.
                    let (_, ac) = square_root_forms(xh.as_ref(), omega, g.as_ref());
                    worst[1] = worst[1].max(check("adjoint vs closed form", &adj, &ac, ng));
                }

                let lhs = real_inner(g.as_ref(), l.as_ref());
                let rhs = real_inner(adj.as_ref(), e.as_ref());
                let tol = 4.0 * n as f64 * U * ng * ne;
                worst[2] = worst[2].max((lhs - rhs).abs() / tol);
                assert!(
                    (lhs - rhs).abs() <= tol,
                    "{what}: ⟨G, L(E)⟩ = {lhs} vs ⟨L*(G), E⟩ = {rhs}"
                );

                // The factored adjoint L(Xᴴ, U·Vᴴ), k = 1 and 3.
                for k in [1usize, 3] {
                    let u = crandn(&mut r, n, k);
                    let v = crandn(&mut r, n, k);
                    let uv = &u * v.adjoint();
                    let fast = f.frechet_adjoint_factored(u.as_ref(), v.as_ref());
                    let full = f.frechet_adjoint(uv.as_ref());
                    let tol = 4.0 * n as f64 * U * u.norm_l2() * v.norm_l2();
                    let err = (&fast - &full).norm_l2();
                    worst[3] = worst[3].max(err / tol);
                    assert!(
                        err <= tol,
                        "{what}: factored (k = {k}) {err:.2e} > {tol:.2e}"
                    );
                    let (_, fb) = expm_frechet_block(xh.as_ref(), uv.as_ref());
                    worst[1] = worst[1].max(check("factored vs block", &fast, &fb, uv.norm_l2()));
                }
            }
        }
    }
    eprintln!(
        "worst error / tolerance: L {:.3}, adjoint {:.3}, identity {:.3}, factored {:.3}",
        worst[0], worst[1], worst[2], worst[3]
    );
}
#[test]
fn reported_failures_of_other_libraries() {
    // tensorcircuit-ng#120: expm(−0.2i·X⊗X) in complex64 returned a "unitary" of Frobenius
    // norm 80064 instead of 2. Here: cos(0.2)·I − i·sin(0.2)·X⊗X, in c32 and c64.
    let [sx, _, _] = pauli();
    let xx = Mat::<c64>::from_fn(4, 4, |i, j| sx[(i / 2, j / 2)] * sx[(i % 2, j % 2)]);
    let x = &xx * faer::Scale(cz(0.0, -0.2));
    let want = Mat::<c64>::from_fn(4, 4, |i, j| {
        let id = if i == j { 1.0 } else { 0.0 };
        cz(0.2f64.cos() * id, 0.0) + cz(0.0, -(0.2f64.sin())) * xx[(i, j)]
    });
    let got = expm(x.as_ref());
    assert!(crel(got.as_ref(), want.as_ref()) <= 8.0 * U);
    assert!((got.norm_l2() - 2.0).abs() <= 8.0 * U);
    let x32 = x.map(|z| c32::new(z.re as f32, z.im as f32));
    let got32 = expm(x32.as_ref());
    let back = got32.map(|z| cz(z.re as f64, z.im as f64));
    assert!(crel(back.as_ref(), want.as_ref()) <= 8.0 * U32);
    assert!((got32.norm_l2() as f64 - 2.0).abs() <= 8.0 * U32);

    // jax#25987: expm(1j·M) in complex64 wrong for a real M. Here M real symmetric (then
    // expm(1j·M) is unitary) and M a general real matrix, c32 against c64.
    for (n, seed) in [(3usize, 21u64), (10, 22), (50, 23)] {
        let m = expgrad_testkit::randn(&mut rng(seed), n, n);
        for sym in [true, false] {
            let mm = if sym {
                (&m + m.transpose()) * faer::Scale(0.5)
            } else {
                m.clone()
            };
            let x = mm.map(|v| cz(0.0, *v));
            let want = expm(x.as_ref());
            let x32 = x.map(|z| c32::new(z.re as f32, z.im as f32));
            let f32r = Expm::new(x32.as_ref());
            let got = f32r.value().map(|z| cz(z.re as f64, z.im as f64));
            let s = f32r.params().1 as f64;
            let xn = x.norm_l2();
            let kappa = if sym {
                xn.max(1.0)
            } else {
                common::cond_exp_c(x.as_ref())
            };
            let tol = 4.0 * (n as f64 + s) * U32 * kappa.max(1.0);
            let err = crel(got.as_ref(), want.as_ref());
            assert!(
                err <= tol,
                "n = {n}, sym = {sym}: c32 error {err:.2e} > {tol:.2e}"
            );
        }
    }
}

#[test]
fn frechet_matches_the_block_and_the_adjoint_identity_holds() {
    for (n, norm, seed) in [
        (1usize, 0.5, 31u64),
        (3, 0.2, 32),
        (5, 2.0, 33),
        (12, 6.0, 34),
        (20, 30.0, 35),
        (70, 4.0, 36),
    ] {
        let mut r = rng(seed);
        let a = crandn(&mut r, n, n);
        let a = &a * faer::Scale(cz(norm / a.norm_l2(), 0.0));
        let e = crandn(&mut r, n, n);
        let g = crandn(&mut r, n, n);
        for family in [ExpmFamily::Auto, ExpmFamily::Pade, ExpmFamily::Taylor] {
            let f = Expm::try_new_with(a.as_ref(), family).unwrap();
            let l = f.frechet(e.as_ref());
            let (_, lb) = expm_frechet_block(a.as_ref(), e.as_ref());
            let s = f.params().1 as f64;
            let tol = 16.0 * (n as f64 + s) * U * norm.max(1.0).powi(2);
            let err = crel(l.as_ref(), lb.as_ref());
            assert!(
                err <= tol,
                "{family:?} n = {n}: L vs block {err:.2e} > {tol:.2e}"
            );
            let adj = f.frechet_adjoint(g.as_ref());
            // L(Aᴴ, G) from the block at Aᴴ.
            let (_, ab) = expm_frechet_block(a.adjoint().to_owned().as_ref(), g.as_ref());
            let err = crel(adj.as_ref(), ab.as_ref());
            assert!(
                err <= tol,
                "{family:?} n = {n}: adjoint vs block {err:.2e} > {tol:.2e}"
            );
            let lhs = real_inner(g.as_ref(), l.as_ref());
            let rhs = real_inner(adj.as_ref(), e.as_ref());
            let scale = g.norm_l2() * l.norm_l2();
            assert!(
                (lhs - rhs).abs() <= 4.0 * (n as f64 + s) * U * scale,
                "{family:?} n = {n}: ⟨G, L(E)⟩ = {lhs} vs ⟨L*(G), E⟩ = {rhs}"
            );
            // The factored adjoint L(Aᴴ, U·Vᴴ).
            let u = crandn(&mut r, n, 2);
            let v = crandn(&mut r, n, 2);
            let fast = f.frechet_adjoint_factored(u.as_ref(), v.as_ref());
            let full = f.frechet_adjoint((&u * v.adjoint()).as_ref());
            let err = crel(fast.as_ref(), full.as_ref());
            assert!(
                err <= tol,
                "{family:?} n = {n}: factored {err:.2e} > {tol:.2e}"
            );
        }
    }
}

#[test]
fn every_scaling_against_the_rotation_closed_form() {
    // A 4×4 anti-Hermitian X = i·θ·(σ_x ⊗ σ_z) has X² = −θ²I, so e^X = cos θ I + (sin θ/θ) X,
    // and θ = 2^k·0.7 walks every degree and s = 0..20.
    let [sx, _, sz] = pauli();
    let k4 = Mat::<c64>::from_fn(4, 4, |i, j| sx[(i / 2, j / 2)] * sz[(i % 2, j % 2)]);
    let q = unitary(41, 4);
    let k4 = &q * &k4 * q.adjoint(); // dense, still squares to I
    let mut seen = std::collections::BTreeSet::new();
    for k in -20..=24 {
        let theta = 0.7 * 2f64.powi(k);
        let x = &k4 * faer::Scale(cz(0.0, theta));
        let want = Mat::<c64>::from_fn(4, 4, |i, j| {
            let id = if i == j { 1.0 } else { 0.0 };
            cz(theta.cos() * id, 0.0) + x[(i, j)] * cz(theta.sin() / theta, 0.0)
        });
        for family in [ExpmFamily::Pade, ExpmFamily::Taylor] {
            let f = Expm::try_new_with(x.as_ref(), family).unwrap();
            let (m, s) = f.params();
            seen.insert((f.approximant(), m, s));
            let tol = 8.0 * (4.0 + s as f64) * U * theta.max(1.0);
            let err = crel(f.value(), want.as_ref());
            assert!(
                err <= tol,
                "{family:?} θ = {theta}: {err:.2e} > {tol:.2e} ({m}, {s})"
            );
        }
    }
    let max_s = seen.iter().map(|&(_, _, s)| s).max().unwrap();
    assert!(max_s >= 20, "scalings seen: up to {max_s}");
}

#[test]
fn single_precision_matches_double() {
    for (n, norm, seed) in [(2usize, 0.5, 51u64), (6, 3.0, 52), (16, 20.0, 53)] {
        let a = crandn(&mut rng(seed), n, n);
        let a = &a * faer::Scale(cz(norm / a.norm_l2(), 0.0));
        let a32 = a.map(|z| c32::new(z.re as f32, z.im as f32));
        let back = a32.map(|z| cz(z.re as f64, z.im as f64));
        let want = expm(back.as_ref());
        let f = Expm::new(a32.as_ref());
        let got = f.value().map(|z| cz(z.re as f64, z.im as f64));
        let s = f.params().1 as f64;
        let tol = 4.0 * (n as f64 + s) * U32 * common::cond_exp_c(back.as_ref()).max(1.0);
        let err = crel(got.as_ref(), want.as_ref());
        assert!(err <= tol, "n = {n}: {err:.2e} > {tol:.2e}");
    }
}

#[test]
fn real_input_as_complex_matches_the_real_path() {
    let a = expgrad_testkit::randn(&mut rng(61), 9, 9);
    let ac = a.map(|v| cz(*v, 0.0));
    let er = expm(a.as_ref());
    let ec = expm(ac.as_ref());
    let back = er.map(|v| cz(*v, 0.0));
    assert!(crel(ec.as_ref(), back.as_ref()) <= 1e-14);
    assert_eq!(rel_err(er.as_ref(), er.as_ref()), 0.0);
}
