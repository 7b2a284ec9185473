//! Second-order derivatives of exp from the cache: `Expm::frechet2` (`L⁽²⁾(A; E₁, E₂)`),
//! `Expm::frechet_adjoint_jvp` (the tangent of the VJP) and the 4n×4n block reference
//! `expm_frechet2_block`, at every Taylor scheme and Padé degree and s = 0..20, on the small
//! (n ≤ 12) and general paths, diagonal, triangular, complex and anti-Hermitian input;
//! closed forms; the forward-over-reverse identity; central differences; error cases.
//! Tolerances from condition numbers of the 4n×4n block (`tol_l2`), never loosened.
mod common;
use common::*;
use expgrad_linalg::*;
use faer::{Mat, MatRef, c32, c64};
use std::collections::BTreeSet;

/// `[[A, E₁, E₂, 0], [0, A, 0, E₂], [0, 0, A, E₁], [0, 0, 0, A]]`.
fn block4<T: Scalar>(a: MatRef<'_, T>, e1: MatRef<'_, T>, e2: MatRef<'_, T>) -> Mat<T> {
    let n = a.nrows();
    let mut b = Mat::<T>::zeros(4 * n, 4 * n);
    for k in 0..4 {
        b.submatrix_mut(k * n, k * n, n, n).copy_from(a);
    }
    b.submatrix_mut(0, n, n, n).copy_from(e1);
    b.submatrix_mut(0, 2 * n, n, n).copy_from(e2);
    b.submatrix_mut(n, 3 * n, n, n).copy_from(e2);
    b.submatrix_mut(2 * n, 3 * n, n, n).copy_from(e1);
    b
}

/// Tolerance for a relative error in `L⁽²⁾(A; E₁, E₂)`: it is the top-right block of
/// `exp(B₄)` (Higham & Relton 2014), and the structured evaluation is the exact second
/// derivative at `A + ΔA` with the forward pass's backward error (a structured perturbation
/// of `B₄`), so `tol_exp(B₄)·‖e^{B₄}‖_F` bounds the absolute error of either evaluation;
/// twice that (both sides of a comparison), divided by `‖L⁽²⁾‖_F`.
fn tol_l2(a: MatRef<'_, f64>, e1: MatRef<'_, f64>, e2: MatRef<'_, f64>) -> f64 {
    let b = block4(a, e1, e2);
    let eb = expm(b.as_ref());
    let n = a.nrows();
    let l2 = eb.submatrix(0, 3 * n, n, n).norm_l2();
    2.0 * tol_exp(b.as_ref()) * eb.norm_l2() / l2
}

/// The truncation part, relative to `‖L⁽²⁾‖_F`: the approximant's second derivative is exact
/// only to `ρ‖F₁‖‖F₂‖` at `B = 2⁻ˢA` (`Expm::second_order_truncation`; the selection bounds
/// the *value* error by u, and differentiating twice loses ~m²/‖B‖², e.g. ‖B‖ ≤ 2.6e-8 for
/// the order-2 scheme). Through the squarings `F = R^N`, N = 2ˢ, that error enters N times,
/// with `F₁ = E₁/N`, `F₂ = E₂/N` and sandwiched between powers of `R` (`‖R^j‖·‖R^{N−1−j}‖ ≤
/// M`, taken as `4·max(‖e^A‖₁, 1)`: true for the test matrices, nearly normal or of small
/// non-normal part where s > 0): `ρ·2⁻ˢ·M·‖E₁‖₁‖E₂‖₁`, times √n from the 1-norm to Frobenius.
fn trunc_l2<T: Scalar>(f: &Expm<T>, e1: MatRef<'_, T>, e2: MatRef<'_, T>, l2_fro: f64) -> f64 {
    let rho = f.second_order_truncation();
    let s = f.params().1 as i32;
    let to = |x: T::Real| -> f64 { num_traits::ToPrimitive::to_f64(&x).unwrap() };
    let m = 4.0 * to(norm1(f.value())).max(1.0);
    let n = f.dim() as f64;
    rho * 2f64.powi(-s) * m * to(norm1(e1)) * to(norm1(e2)) * n.sqrt() / l2_fro
}

/// `tol_l2` plus the approximant's truncation ([`trunc_l2`]).
fn tol_l2_at(f: &Expm<f64>, a: MatRef<'_, f64>, e1: MatRef<'_, f64>, e2: MatRef<'_, f64>) -> f64 {
    let l2 = expm_frechet2_block(a, e1, e2).norm_l2();
    tol_l2(a, e1, e2) + trunc_l2(f, e1, e2, l2)
}

/// The complex analogue: `κ` from `cond_exp_c`, the backward error `(3n + s)·u` as in
/// `tol_exp`.
fn tol_l2_c(a: MatRef<'_, c64>, e1: MatRef<'_, c64>, e2: MatRef<'_, c64>, u: f64) -> f64 {
    let b = block4(a, e1, e2);
    let f = Expm::new(b.as_ref());
    let s = f.params().1 as f64;
    let kappa = cond_exp_c(b.as_ref()).max(1.0);
    let n = a.nrows();
    let l2 = f.value().submatrix(0, 3 * n, n, n).norm_l2();
    2.0 * 2.0 * (3.0 * b.nrows() as f64 + s) * u * kappa * f.value().norm_l2() / l2
}

fn crandn(r: &mut rand::rngs::StdRng, n: usize) -> Mat<c64> {
    let (x, y) = (randn(r, n, n), randn(r, n, n));
    Mat::from_fn(n, n, |i, j| c64::new(x[(i, j)], y[(i, j)]))
}

fn crel(a: MatRef<'_, c64>, b: MatRef<'_, c64>) -> f64 {
    (a - b).norm_l2() / b.norm_l2()
}

fn cinner(x: MatRef<'_, c64>, y: MatRef<'_, c64>) -> f64 {
    (x.adjoint() * y).diagonal().column_vector().sum().re
}

/// `X(t) = Q·(⊕ blocks)·Qᵀ`, n = 2·`blocks`: as in `tests/degrees.rs`, rotations whose angle
/// grows with `t` and small real parts, so that `e^X` stays representable up to s = 20.
fn family(t: f64, blocks: usize) -> Blocks {
    let pattern = [
        Block::Tri {
            a: 0.3e-6 * t,
            b: t.min(1.0),
            c: -0.2e-6 * t,
        },
        Block::Rot {
            alpha: -0.1e-6 * t,
            beta: 0.8 * t,
        },
        Block::Tri {
            a: -0.5e-6 * t,
            b: -0.7 * t.min(1.0),
            c: 0.1e-6 * t,
        },
        Block::Rot {
            alpha: 0.2e-6 * t,
            beta: -0.5 * t,
        },
    ];
    Blocks {
        blocks: (0..blocks).map(|k| pattern[k % 4]).collect(),
    }
}

#[test]
fn every_degree_and_squaring_count_against_the_4n_block() {
    // n = 6 takes the small path (Taylor), n = 14 the general one.
    let mut worst = 0.0f64;
    for (n, seed) in [(6usize, 41u64), (14, 43)] {
        let mut r = rng(seed);
        let q = orthogonal(&mut r, n);
        let norm_b = norm1((&q * family(1.0, n / 2).matrix(1.0) * q.transpose()).as_ref());
        let (e1, e2) = (randn(&mut r, n, n), randn(&mut r, n, n));
        for kind in FAMILIES {
            let (mut seen, mut squarings) = (BTreeSet::new(), BTreeSet::new());
            let mut targets: Vec<f64> = vec![1e-8, 1e-4];
            targets.extend((0..24).map(|k| 1e-3 * 2f64.powf(k as f64 / 2.0)));
            targets.extend((0..=21).map(|s| 4.0 * 2f64.powi(s)));
            for target in targets {
                let x = &q * family(target / norm_b, n / 2).matrix(1.0) * q.transpose();
                let f = Expm::try_new_with(x.as_ref(), kind).unwrap();
                let (m, s) = f.params();
                seen.insert((m, s));
                squarings.insert(s);
                let l2 = f.frechet2(e1.as_ref(), e2.as_ref());
                let want = expm_frechet2_block(x.as_ref(), e1.as_ref(), e2.as_ref());
                let tol = tol_l2_at(&f, x.as_ref(), e1.as_ref(), e2.as_ref());
                let err = rel_err(l2.as_ref(), want.as_ref());
                worst = worst.max(err / tol);
                let cond_part = tol_l2(x.as_ref(), e1.as_ref(), e2.as_ref());
                if err > cond_part {
                    eprintln!(
                        "  {kind:?} n={n} (m={m}, s={s}): error {err:.2e} needs the truncation term ({cond_part:.2e} + {:.2e})",
                        tol - cond_part
                    );
                }
                assert!(
                    err <= tol,
                    "{kind:?} n={n} ‖X‖₁={target:.2e} (m={m}, s={s}): {err:.2e} > {tol:.2e}"
                );
            }
            assert_covers_every_degree(&seen, kind);
            assert!(
                (0..=20).all(|s| squarings.contains(&s)),
                "{kind:?} n={n}: squarings {squarings:?}"
            );
        }
    }
    eprintln!("every degree: worst error/tolerance {worst:.3}");
}

#[test]
fn triangular_and_diagonal_against_the_4n_block() {
    let mut r = rng(47);
    let mut worst = 0.0f64;
    for n in [5usize, 14] {
        for target in [0.01, 0.4, 3.0, 30.0] {
            let z = randn(&mut r, n, n);
            let upper = Mat::from_fn(n, n, |i, j| if i <= j { z[(i, j)] } else { 0.0 });
            let lower = upper.transpose().to_owned();
            let diag = Mat::from_fn(n, n, |i, j| if i == j { z[(i, j)] } else { 0.0 });
            for (name, a0) in [("upper", upper), ("lower", lower), ("diagonal", diag)] {
                let a = &a0 * faer::Scale(target / norm1(a0.as_ref()));
                let (e1, e2) = (randn(&mut r, n, n), randn(&mut r, n, n));
                let f = Expm::new(a.as_ref());
                let l2 = f.frechet2(e1.as_ref(), e2.as_ref());
                let want = expm_frechet2_block(a.as_ref(), e1.as_ref(), e2.as_ref());
                let tol = tol_l2_at(&f, a.as_ref(), e1.as_ref(), e2.as_ref());
                let err = rel_err(l2.as_ref(), want.as_ref());
                worst = worst.max(err / tol);
                assert!(
                    err <= tol,
                    "{name} n={n} ‖A‖₁={target} ({}): {err:.2e} > {tol:.2e}",
                    f.approximant()
                );
            }
        }
    }
    eprintln!("triangular/diagonal: worst error/tolerance {worst:.3}");
}

#[test]
fn symmetry_and_closed_forms() {
    let mut r = rng(53);
    for n in [3usize, 8, 20] {
        for target in [0.05, 1.0, 9.0] {
            let a0 = randn(&mut r, n, n);
            let a = &a0 * faer::Scale(target / norm1(a0.as_ref()));
            let (e1, e2) = (randn(&mut r, n, n), randn(&mut r, n, n));
            for kind in [ExpmFamily::Auto, ExpmFamily::Pade] {
                let f = Expm::try_new_with(a.as_ref(), kind).unwrap();
                let tol = tol_l2_at(&f, a.as_ref(), e1.as_ref(), e2.as_ref());
                let l12 = f.frechet2(e1.as_ref(), e2.as_ref());
                let l21 = f.frechet2(e2.as_ref(), e1.as_ref());
                assert!(rel_err(l12.as_ref(), l21.as_ref()) <= tol, "symmetry n={n}");
                // Commuting directions: L⁽²⁾(A; A, A) = A²e^A, L⁽²⁾(A; I, I) = e^A,
                // L⁽²⁾(A; A, I) = A e^A.
                let id = Mat::<f64>::identity(n, n);
                let ea = f.value().to_owned();
                for (x, y, want) in [
                    (&a, &a, &a * &a * &ea),
                    (&id, &id, ea.clone()),
                    (&a, &id, &a * &ea),
                ] {
                    let got = f.frechet2(x.as_ref(), y.as_ref());
                    let tol = tol_l2_at(&f, a.as_ref(), x.as_ref(), y.as_ref());
                    let err = rel_err(got.as_ref(), want.as_ref());
                    assert!(
                        err <= tol,
                        "commuting n={n} ‖A‖={target}: {err:.2e} > {tol:.2e}"
                    );
                }
            }
        }
    }
    // 2×2 Jordan block J = λI + N along E = e₂e₁ᵀ: J + tE has e^{J+tE} = e^λ[[cosh√t,
    // sinh√t/√t], [t·sinh√t/√t, cosh√t]], whose second t-derivative at 0 is
    // e^λ[[1/12, 1/60], [1/3, 1/12]].
    for lambda in [-3.0, 0.0, 0.7, 5.0] {
        let j = faer::mat![[lambda, 1.0], [0.0, lambda]];
        let e = faer::mat![[0.0, 0.0], [1.0, 0.0f64]];
        let el = f64::exp(lambda);
        let want = faer::mat![[el / 12.0, el / 60.0], [el / 3.0, el / 12.0]];
        let f = Expm::new(j.as_ref());
        let got = f.frechet2(e.as_ref(), e.as_ref());
        let tol = tol_l2_at(&f, j.as_ref(), e.as_ref(), e.as_ref());
        let err = rel_err(got.as_ref(), want.as_ref());
        assert!(err <= tol, "Jordan λ={lambda}: {err:.2e} > {tol:.2e}");
    }
    // Diagonal A: L⁽²⁾_ij = Σ_k (E₁_ik E₂_kj + E₂_ik E₁_kj) f[d_i, d_k, d_j] with the explicit
    // f[a, b, c] = Σ eᵃ/((a − b)(a − c)) for well separated points, e^a/2 when confluent.
    let d = [-2.0, 0.5, 3.0, 0.5];
    let a = Mat::from_fn(4, 4, |i, j| if i == j { d[i] } else { 0.0 });
    let dd = |x: f64, y: f64, z: f64| -> f64 {
        if x == y && y == z {
            x.exp() / 2.0
        } else if x == y || y == z || x == z {
            // One repeated point p and a distinct q: f[p, p, q] = (eᵠ − eᵖ − (q − p)eᵖ)/(q − p)².
            let (p, q) = if x == y {
                (x, z)
            } else if y == z {
                (y, x)
            } else {
                (x, y)
            };
            (q.exp() - p.exp() - (q - p) * p.exp()) / ((q - p) * (q - p))
        } else {
            x.exp() / ((x - y) * (x - z))
                + y.exp() / ((y - x) * (y - z))
                + z.exp() / ((z - x) * (z - y))
        }
    };
    let (e1, e2) = (randn(&mut r, 4, 4), randn(&mut r, 4, 4));
    let want = Mat::from_fn(4, 4, |i, j| {
        (0..4)
            .map(|k| (e1[(i, k)] * e2[(k, j)] + e2[(i, k)] * e1[(k, j)]) * dd(d[i], d[k], d[j]))
            .sum::<f64>()
    });
    let f = Expm::new(a.as_ref());
    assert_eq!(f.approximant(), "diagonal");
    let err = rel_err(f.frechet2(e1.as_ref(), e2.as_ref()).as_ref(), want.as_ref());
    assert!(err <= 1e-14, "diagonal closed form: {err:.2e}");
}

/// Random test problems of every kind the cache can hold (real).
fn real_problems(r: &mut rand::rngs::StdRng) -> Vec<(String, Mat<f64>, ExpmFamily)> {
    let mut out = Vec::new();
    for n in [2usize, 4, 7, 13, 20] {
        for target in [0.02, 0.7, 6.0] {
            let a0 = randn(r, n, n);
            let a = &a0 * faer::Scale(target / norm1(a0.as_ref()));
            let upper = Mat::from_fn(n, n, |i, j| if i <= j { a[(i, j)] } else { 0.0 });
            let lower = upper.transpose().to_owned();
            let diag = Mat::from_fn(n, n, |i, j| if i == j { a[(i, j)] } else { 0.0 });
            for (name, m) in [
                ("dense", a),
                ("upper", upper),
                ("lower", lower),
                ("diag", diag),
            ] {
                for fam in [ExpmFamily::Auto, ExpmFamily::Pade] {
                    out.push((format!("{name} n={n} ‖A‖={target} {fam:?}"), m.clone(), fam));
                }
            }
        }
    }
    out
}

#[test]
fn adjoint_jvp_first_output_is_the_adjoint_bitwise() {
    let mut r = rng(59);
    for (name, a, fam) in real_problems(&mut r) {
        let n = a.nrows();
        let f = Expm::try_new_with(a.as_ref(), fam).unwrap();
        let (g, ad, gd) = (
            randn(&mut r, n, n),
            randn(&mut r, n, n),
            randn(&mut r, n, n),
        );
        let (v, _) = f.frechet_adjoint_jvp(g.as_ref(), ad.as_ref(), gd.as_ref());
        assert_eq!(
            v,
            f.frechet_adjoint(g.as_ref()),
            "{name} ({})",
            f.approximant()
        );
    }
    for n in [2usize, 3, 4, 6, 8] {
        for target in [0.1, 2.0, 20.0] {
            let a0 = crandn(&mut r, n);
            let a = &a0 * faer::Scale(c64::new(target / a0.norm_l2(), 0.0));
            let skew = (&a - a.adjoint()) * faer::Scale(c64::new(0.5, 0.0));
            for x in [a, skew] {
                let f = Expm::new(x.as_ref());
                let (g, ad, gd) = (crandn(&mut r, n), crandn(&mut r, n), crandn(&mut r, n));
                let (v, _) = f.frechet_adjoint_jvp(g.as_ref(), ad.as_ref(), gd.as_ref());
                assert_eq!(
                    v,
                    f.frechet_adjoint(g.as_ref()),
                    "c64 n={n} {}",
                    f.approximant()
                );
            }
        }
    }
}

#[test]
fn forward_over_reverse_identity_over_many_seeds() {
    // ⟨H, L(Aᴴ, Ġ) + L⁽²⁾(Aᴴ; G, Ȧᴴ)⟩ = ⟨Ġ, L(A, H)⟩ + ⟨G, L⁽²⁾(A; H, Ȧ)⟩: the adjoint of
    // E ↦ L(A, E) is L(Aᴴ, ·), and of H ↦ L⁽²⁾(A; H, Ȧ) it is G ↦ L⁽²⁾(Aᴴ; G, Ȧᴴ).
    let mut r = rng(61);
    let problems = real_problems(&mut r);
    let mut worst = 0.0f64;
    let mut count = 0;
    for (seed, (name, a, fam)) in problems.iter().cycle().take(240).enumerate() {
        let n = a.nrows();
        let mut r = rng(1000 + seed as u64);
        let f = Expm::try_new_with(a.as_ref(), *fam).unwrap();
        let (g, ad, gd, h) = (
            randn(&mut r, n, n),
            randn(&mut r, n, n),
            randn(&mut r, n, n),
            randn(&mut r, n, n),
        );
        let (_, t) = f.frechet_adjoint_jvp(g.as_ref(), ad.as_ref(), gd.as_ref());
        let (lh, l2) = (f.frechet(h.as_ref()), f.frechet2(h.as_ref(), ad.as_ref()));
        let lhs = inner(h.as_ref(), t.as_ref());
        let rhs = inner(gd.as_ref(), lh.as_ref()) + inner(g.as_ref(), l2.as_ref());
        // Each term carries the relative error of its L or L⁽²⁾ evaluation.
        let tol1 = tol_frechet(a.as_ref(), h.as_ref());
        let tol2 = tol_l2(a.as_ref(), h.as_ref(), ad.as_ref());
        let scale =
            h.norm_l2() * t.norm_l2() + gd.norm_l2() * lh.norm_l2() + g.norm_l2() * l2.norm_l2();
        let bound = (tol1 + tol2) * scale;
        worst = worst.max((lhs - rhs).abs() / bound);
        assert!(
            (lhs - rhs).abs() <= bound,
            "{name} ({}): {lhs} vs {rhs}, bound {bound:.2e}",
            f.approximant()
        );
        count += 1;
    }
    // Complex, including the eigen path (X = −Xᴴ with ‖X‖₁ above 3.54).
    for seed in 0..60u64 {
        let mut r = rng(5000 + seed);
        let n = [2usize, 3, 4, 6, 9][seed as usize % 5];
        let target = [0.3, 2.0, 12.0][seed as usize % 3];
        let a0 = crandn(&mut r, n);
        let a = &a0 * faer::Scale(c64::new(target / a0.norm_l2(), 0.0));
        let zero = c64::new(0.0, 0.0);
        let x = match seed % 5 {
            0 | 1 => (&a - a.adjoint()) * faer::Scale(c64::new(0.5, 0.0)),
            2 => Mat::from_fn(n, n, |i, j| if i >= j { a[(i, j)] } else { zero }),
            3 => Mat::from_fn(n, n, |i, j| if i == j { a[(i, j)] } else { zero }),
            _ => a,
        };
        let f = Expm::new(x.as_ref());
        let (g, ad, gd, h) = (
            crandn(&mut r, n),
            crandn(&mut r, n),
            crandn(&mut r, n),
            crandn(&mut r, n),
        );
        let (_, t) = f.frechet_adjoint_jvp(g.as_ref(), ad.as_ref(), gd.as_ref());
        let (lh, l2) = (f.frechet(h.as_ref()), f.frechet2(h.as_ref(), ad.as_ref()));
        let lhs = cinner(h.as_ref(), t.as_ref());
        let rhs = cinner(gd.as_ref(), lh.as_ref()) + cinner(g.as_ref(), l2.as_ref());
        let tol = tol_l2_c(x.as_ref(), h.as_ref(), ad.as_ref(), U64);
        let scale =
            h.norm_l2() * t.norm_l2() + gd.norm_l2() * lh.norm_l2() + g.norm_l2() * l2.norm_l2();
        worst = worst.max((lhs - rhs).abs() / (tol * scale));
        assert!(
            (lhs - rhs).abs() <= tol * scale,
            "c64 seed {seed} ({}): {lhs} vs {rhs}",
            f.approximant()
        );
        count += 1;
    }
    assert!(count >= 300);
    eprintln!("identity over {count} problems: worst |lhs − rhs|/bound {worst:.3}");
}

#[test]
fn adjoint_jvp_against_central_differences() {
    // Richardson-extrapolated central differences of ε ↦ L((A + εȦ)ᵀ, G + εĠ):
    // truncation O(h⁴), rounding ~ u‖L‖/h.
    let mut r = rng(67);
    let mut worst = 0.0f64;
    for (name, a, fam) in real_problems(&mut r).into_iter().step_by(3) {
        let n = a.nrows();
        let f = Expm::try_new_with(a.as_ref(), fam).unwrap();
        let (g, ad, gd) = (
            randn(&mut r, n, n),
            randn(&mut r, n, n),
            randn(&mut r, n, n),
        );
        // Keep the perturbation's structure (triangular, diagonal) so the same path is taken.
        let ad = Mat::from_fn(n, n, |i, j| if a[(i, j)] != 0.0 { ad[(i, j)] } else { 0.0 });
        let (_, t) = f.frechet_adjoint_jvp(g.as_ref(), ad.as_ref(), gd.as_ref());
        let vjp = |e: f64| {
            Expm::try_new_with((&a + &ad * faer::Scale(e)).as_ref(), fam)
                .unwrap()
                .frechet_adjoint((&g + &gd * faer::Scale(e)).as_ref())
        };
        let fd = |h: f64| (vjp(h) - vjp(-h)) * faer::Scale(0.5 / h);
        let h = 1e-3 / ad.norm_max().max(1.0);
        let rich = (fd(h / 2.0) * faer::Scale(4.0) - fd(h)) * faer::Scale(1.0 / 3.0);
        let err = rel_err(t.as_ref(), rich.as_ref());
        worst = worst.max(err);
        assert!(err <= 1e-7, "{name}: vs Richardson {err:.2e}");
    }
    eprintln!("central differences: worst relative error {worst:.2e} (bound 1e-7)");
}

#[test]
fn complex_and_eigen_path_against_the_4n_block() {
    let mut worst = 0.0f64;
    for seed in 0..24u64 {
        let mut r = rng(7000 + seed);
        let n = [2usize, 3, 4, 5, 8, 13][seed as usize % 6];
        let target = [0.05, 1.5, 8.0, 25.0][seed as usize % 4];
        let a0 = crandn(&mut r, n);
        let a = &a0 * faer::Scale(c64::new(target / norm1(a0.as_ref()), 0.0));
        let skew = (&a - a.adjoint()) * faer::Scale(c64::new(0.5, 0.0));
        let upper = Mat::from_fn(n, n, |i, j| {
            if i <= j {
                a[(i, j)]
            } else {
                c64::new(0.0, 0.0)
            }
        });
        let lower = upper.transpose().to_owned();
        let diag = Mat::from_fn(n, n, |i, j| {
            if i == j {
                a[(i, j)]
            } else {
                c64::new(0.0, 0.0)
            }
        });
        for (name, x) in [
            ("diag", diag),
            ("dense", a),
            ("skew", skew),
            ("upper", upper),
            ("lower", lower),
        ] {
            let (e1, e2) = (crandn(&mut r, n), crandn(&mut r, n));
            let f = Expm::new(x.as_ref());
            if name == "skew" && norm1(x.as_ref()) > 3.6 {
                assert_eq!(f.approximant(), "eigen");
            }
            let got = f.frechet2(e1.as_ref(), e2.as_ref());
            let want = expm_frechet2_block(x.as_ref(), e1.as_ref(), e2.as_ref());
            let tol = tol_l2_c(x.as_ref(), e1.as_ref(), e2.as_ref(), U64)
                + trunc_l2(&f, e1.as_ref(), e2.as_ref(), want.norm_l2());
            let err = crel(got.as_ref(), want.as_ref());
            worst = worst.max(err / tol);
            assert!(
                err <= tol,
                "c64 {name} n={n} ‖X‖₁={target} ({}): {err:.2e} > {tol:.2e}",
                f.approximant()
            );
        }
    }
    eprintln!("complex: worst error/tolerance {worst:.3}");
}

#[test]
fn c32_against_c64() {
    let u32_ = f64::from(f32::EPSILON) / 2.0;
    let mut worst = 0.0f64;
    for seed in 0..16u64 {
        let mut r = rng(8000 + seed);
        let n = [2usize, 4, 6, 13][seed as usize % 4];
        let target = [0.2, 2.0, 9.0][seed as usize % 3];
        let a0 = crandn(&mut r, n);
        let mut a = &a0 * faer::Scale(c64::new(target / norm1(a0.as_ref()), 0.0));
        if seed % 2 == 1 {
            a = (&a - a.adjoint()) * faer::Scale(c64::new(0.5, 0.0));
        }
        // Inputs representable in single precision, so both solve the same problem.
        let round = |m: &Mat<c64>| {
            (
                Mat::from_fn(n, n, |i, j| {
                    c32::new(m[(i, j)].re as f32, m[(i, j)].im as f32)
                }),
                Mat::from_fn(n, n, |i, j| {
                    c64::new(
                        f64::from(m[(i, j)].re as f32),
                        f64::from(m[(i, j)].im as f32),
                    )
                }),
            )
        };
        let (e1, e2) = (crandn(&mut r, n), crandn(&mut r, n));
        let ((a32, a64), (e132, e164), (e232, e264)) = (round(&a), round(&e1), round(&e2));
        let (f32_, f64_) = (Expm::new(a32.as_ref()), Expm::new(a64.as_ref()));
        let got = f32_.frechet2(e132.as_ref(), e232.as_ref());
        let want = f64_.frechet2(e164.as_ref(), e264.as_ref());
        let got64 = Mat::from_fn(n, n, |i, j| {
            c64::new(f64::from(got[(i, j)].re), f64::from(got[(i, j)].im))
        });
        let tol = tol_l2_c(a64.as_ref(), e164.as_ref(), e264.as_ref(), u32_)
            + trunc_l2(&f32_, e132.as_ref(), e232.as_ref(), want.norm_l2())
            + trunc_l2(&f64_, e164.as_ref(), e264.as_ref(), want.norm_l2());
        let err = crel(got64.as_ref(), want.as_ref());
        worst = worst.max(err / tol);
        assert!(err <= tol, "c32 n={n} ‖A‖₁={target}: {err:.2e} > {tol:.2e}");
        // The VJP tangent: L(Aᴴ, Ġ) + L⁽²⁾(Aᴴ; G, Ȧᴴ) with G = E₁, Ȧ = E₂, Ġ = E₁ + E₂. Its
        // second-order part is L⁽²⁾(Aᴴ; E₁, E₂ᴴ), with the tolerance of its 4n block; the
        // first-order part L(Aᴴ, Ġ) (a block of it too) is held to the same relative
        // tolerance, each on its own scale.
        let (gd32, gd64) = (&e132 + &e232, &e164 + &e264);
        let (v32, t32) = f32_.frechet_adjoint_jvp(e132.as_ref(), e232.as_ref(), gd32.as_ref());
        let (v64, t64) = f64_.frechet_adjoint_jvp(e164.as_ref(), e264.as_ref(), gd64.as_ref());
        let widen = |m: &Mat<c32>| {
            Mat::from_fn(n, n, |i, j| {
                c64::new(f64::from(m[(i, j)].re), f64::from(m[(i, j)].im))
            })
        };
        assert_eq!(v32, f32_.frechet_adjoint(e132.as_ref()));
        let first = f64_.frechet_adjoint(gd64.as_ref());
        let second = &t64 - &first;
        let (ah, e2h) = (a64.adjoint().to_owned(), e264.adjoint().to_owned());
        let tol = tol_l2_c(ah.as_ref(), e164.as_ref(), e2h.as_ref(), u32_)
            + trunc_l2(&f32_, e132.as_ref(), e232.as_ref(), second.norm_l2())
            + trunc_l2(&f64_, e164.as_ref(), e264.as_ref(), second.norm_l2());
        let scale = (first.norm_l2() + second.norm_l2()) / t64.norm_l2();
        let err = crel(widen(&t32).as_ref(), t64.as_ref());
        worst = worst.max(err / (tol * scale));
        assert!(
            err <= tol * scale,
            "c32 adjoint_jvp n={n}: {err:.2e} > {:.2e}",
            tol * scale
        );
        // (The first output is bitwise the adjoint, whose c32 accuracy tests/complex.rs checks.)
        let _ = v64;
    }
    eprintln!("c32 vs c64: worst error/tolerance {worst:.3}");
}

#[test]
fn error_cases() {
    let a = faer::mat![[0.1, 2.0], [-1.0, 0.3f64]];
    let f = Expm::new(a.as_ref());
    let ok = Mat::<f64>::identity(2, 2);
    let wrong = Mat::<f64>::zeros(2, 3);
    let mut nan = ok.clone();
    nan[(1, 0)] = f64::NAN;
    let mut inf = ok.clone();
    inf[(0, 0)] = f64::INFINITY;
    for (x, y) in [(wrong.as_ref(), ok.as_ref()), (ok.as_ref(), wrong.as_ref())] {
        assert!(matches!(
            f.try_frechet2(x, y),
            Err(LinalgError::ShapeMismatch { .. })
        ));
        assert!(matches!(
            try_expm_frechet2_block(a.as_ref(), x, y),
            Err(LinalgError::ShapeMismatch { .. })
        ));
    }
    for bad in [nan.as_ref(), inf.as_ref()] {
        assert!(matches!(
            f.try_frechet2(bad, ok.as_ref()),
            Err(LinalgError::NonFinite { .. })
        ));
        assert!(matches!(
            try_expm_frechet2_block(a.as_ref(), ok.as_ref(), bad),
            Err(LinalgError::NonFinite { .. })
        ));
        for args in [
            (bad, ok.as_ref(), ok.as_ref()),
            (ok.as_ref(), bad, ok.as_ref()),
            (ok.as_ref(), ok.as_ref(), bad),
        ] {
            assert!(matches!(
                f.try_frechet_adjoint_jvp(args.0, args.1, args.2),
                Err(LinalgError::NonFinite { .. })
            ));
        }
    }
    for args in [
        (wrong.as_ref(), ok.as_ref(), ok.as_ref()),
        (ok.as_ref(), wrong.as_ref(), ok.as_ref()),
        (ok.as_ref(), ok.as_ref(), wrong.as_ref()),
    ] {
        assert!(matches!(
            f.try_frechet_adjoint_jvp(args.0, args.1, args.2),
            Err(LinalgError::ShapeMismatch { .. })
        ));
    }
    assert!(matches!(
        try_expm_frechet2_block(wrong.as_ref(), wrong.as_ref(), wrong.as_ref()),
        Err(LinalgError::NotSquare { .. })
    ));
    // Overflow: e^A near the largest double, directions of size 1e200, for every kind.
    let big = 1e200;
    let e = Mat::<f64>::from_fn(3, 3, |_, _| big);
    let dense = Mat::<f64>::from_fn(3, 3, |i, j| if i == j { 700.0 } else { 0.5 });
    let upper = Mat::<f64>::from_fn(3, 3, |i, j| match i.cmp(&j) {
        std::cmp::Ordering::Equal => 700.0,
        std::cmp::Ordering::Less => 0.5,
        std::cmp::Ordering::Greater => 0.0,
    });
    let diag = Mat::<f64>::from_fn(3, 3, |i, j| if i == j { 700.0 } else { 0.0 });
    let wide = Mat::<f64>::from_fn(20, 20, |i, j| if i == j { 700.0 } else { 0.01 });
    let e20 = Mat::<f64>::from_fn(20, 20, |_, _| big);
    for (x, e) in [(&dense, &e), (&upper, &e), (&diag, &e), (&wide, &e20)] {
        for fam in [ExpmFamily::Auto, ExpmFamily::Pade] {
            let f = Expm::try_new_with(x.as_ref(), fam).unwrap();
            assert!(matches!(
                f.try_frechet2(e.as_ref(), e.as_ref()),
                Err(LinalgError::Overflow { .. })
            ));
            assert!(matches!(
                f.try_frechet_adjoint_jvp(e.as_ref(), e.as_ref(), e.as_ref()),
                Err(LinalgError::Overflow { .. })
            ));
        }
    }
    // The complex eigen path too.
    let t = c64::new(300.0, 0.0);
    let o = c64::new(0.0, 0.0);
    let x = faer::mat![[o, -t], [t, o]];
    let f = Expm::new(x.as_ref());
    assert_eq!(f.approximant(), "eigen");
    let e = Mat::<c64>::from_fn(2, 2, |_, _| c64::new(1e300, 1e300));
    assert!(matches!(
        f.try_frechet2(e.as_ref(), e.as_ref()),
        Err(LinalgError::Overflow { .. })
    ));
    assert!(matches!(
        f.try_frechet_adjoint_jvp(e.as_ref(), e.as_ref(), e.as_ref()),
        Err(LinalgError::Overflow { .. })
    ));
}

#[test]
fn small_path_equals_the_general_path_bitwise() {
    // The stack-array hyper-dual program (n ≤ 12) and the general one run the same operations
    // in the same order on the same cache: the same bits (real scalars, as tests/small.rs).
    let mut r = rng(71);
    for n in [2usize, 3, 5, 8, 12] {
        for target in [1e-3, 0.5, 4.0, 60.0] {
            let a0 = randn(&mut r, n, n);
            let a = &a0 * faer::Scale(target / norm1(a0.as_ref()));
            let (e1, e2, e3) = (
                randn(&mut r, n, n),
                randn(&mut r, n, n),
                randn(&mut r, n, n),
            );
            let small = Expm::try_new_with(a.as_ref(), ExpmFamily::Taylor).unwrap();
            let general = Expm::try_new_general(a.as_ref(), ExpmFamily::Taylor).unwrap();
            assert_eq!(small.params(), general.params());
            assert_eq!(
                small.frechet2(e1.as_ref(), e2.as_ref()),
                general.frechet2(e1.as_ref(), e2.as_ref()),
                "frechet2 n={n} ‖A‖={target}"
            );
            assert_eq!(
                small.frechet_adjoint_jvp(e1.as_ref(), e2.as_ref(), e3.as_ref()),
                general.frechet_adjoint_jvp(e1.as_ref(), e2.as_ref(), e3.as_ref()),
                "adjoint_jvp n={n} ‖A‖={target}"
            );
        }
    }
}

#[test]
fn clustered_and_spread_eigenvalues() {
    // Second divided differences near confluence (the series branch) and across large gaps
    // (the quotient branch), on the diagonal path (real and complex) and on the eigen path
    // (exactly anti-Hermitian X with repeated and nearly repeated eigenvalues), against the
    // 4n×4n block, which goes through scaling and squaring.
    let mut r = rng(73);
    let mut worst = 0.0f64;
    let spectra: [&[f64]; 4] = [
        &[1.0, 1.0 + 1e-9, 1.0 - 1e-9, 4.0, 4.0 + 1e-12],
        &[-30.0, 0.0, 25.0, 25.0 + 1e-7, 2.0],
        &[0.5, 0.5, 0.5, 0.5],
        &[-8.0, -7.0, 1.9, 4.0, 6.0],
    ];
    for d in spectra {
        let n = d.len();
        let a = Mat::from_fn(n, n, |i, j| if i == j { d[i] } else { 0.0 });
        let (e1, e2) = (randn(&mut r, n, n), randn(&mut r, n, n));
        let f = Expm::new(a.as_ref());
        assert_eq!(f.approximant(), "diagonal");
        let got = f.frechet2(e1.as_ref(), e2.as_ref());
        let want = expm_frechet2_block(a.as_ref(), e1.as_ref(), e2.as_ref());
        let tol = tol_l2_at(&f, a.as_ref(), e1.as_ref(), e2.as_ref());
        let err = rel_err(got.as_ref(), want.as_ref());
        worst = worst.max(err / tol);
        assert!(err <= tol, "real diagonal {d:?}: {err:.2e} > {tol:.2e}");
        // Complex: the same spectrum rotated off the real axis, and on the imaginary axis
        // through an anti-Hermitian X = (Y − Yᴴ)/2, Y = U·Diag(i·d)·Uᴴ.
        let rot = c64::new(0.6, 0.8);
        let ac = Mat::from_fn(n, n, |i, j| {
            if i == j {
                rot * d[i]
            } else {
                c64::new(0.0, 0.0)
            }
        });
        let (c1, c2) = (crandn(&mut r, n), crandn(&mut r, n));
        let f = Expm::new(ac.as_ref());
        let got = f.frechet2(c1.as_ref(), c2.as_ref());
        let want = expm_frechet2_block(ac.as_ref(), c1.as_ref(), c2.as_ref());
        let tol = tol_l2_c(ac.as_ref(), c1.as_ref(), c2.as_ref(), U64);
        let err = crel(got.as_ref(), want.as_ref());
        worst = worst.max(err / tol);
        assert!(err <= tol, "complex diagonal {d:?}: {err:.2e} > {tol:.2e}");
        let qr = crandn(&mut r, n).qr();
        let u = qr.compute_Q();
        let di = Mat::from_fn(n, n, |i, j| {
            if i == j {
                c64::new(0.0, d[i])
            } else {
                c64::new(0.0, 0.0)
            }
        });
        let y = &u * di * u.adjoint();
        let x = (&y - y.adjoint()) * faer::Scale(c64::new(0.5, 0.0));
        let f = Expm::new(x.as_ref());
        // ‖X‖₁ above the top Taylor θ (3.54) takes the eigendecomposition.
        assert_eq!(f.approximant() == "eigen", norm1(x.as_ref()) > 3.54);
        let got = f.frechet2(c1.as_ref(), c2.as_ref());
        let want = expm_frechet2_block(x.as_ref(), c1.as_ref(), c2.as_ref());
        let tol = tol_l2_c(x.as_ref(), c1.as_ref(), c2.as_ref(), U64);
        let err = crel(got.as_ref(), want.as_ref());
        worst = worst.max(err / tol);
        assert!(err <= tol, "eigen path {d:?}: {err:.2e} > {tol:.2e}");
    }
    eprintln!("clustered/spread spectra: worst error/tolerance {worst:.3}");
}
