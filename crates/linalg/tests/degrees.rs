//! `expm`, `Expm::frechet` and `Expm::frechet_adjoint` at every degree and squaring count of
//! both families (the choice of `(m, s)`): inputs rescaled so that the forward pass takes every
//! Padé degree (3, 5, 7, 9, 13), every Taylor scheme (orders 2, 4, 8, 12, 18, 24, 30) and every
//! squaring count 0..=20; `expm`, `L(A, E)` and `L(Aᵀ, G)` are
//! checked at each against closed forms (tolerances from the condition number, `common::tol_exp`).
mod common;
use common::*;
use expgrad_linalg::*;
use faer::Mat;
use std::collections::BTreeSet;

/// `X(t) = [[at, b], [0, ct]] ⊕ [[αt, −βt], [βt, αt]] ⊕ ...` (n = 6): the norm grows with t
/// through the rotations while the non-normal part `b` stops growing at t = 1, and the real parts are
/// small so that `e^X` stays representable when `t` grows to ~10⁷.
///
/// (With the non-normal part growing too, ‖X‖ = B, the squaring phase is not forward
/// stable: a rounding error δ ~ u‖R_i‖² in the last squarings is amplified to a relative
/// error ~ u B³, beyond κ·u ~ u B². That is a property of scaling and squaring, Higham,
/// *Functions of Matrices* §10.3, not of this implementation.)
fn family(t: f64) -> Blocks {
    Blocks {
        blocks: vec![
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
        ],
    }
}

/// Analytic `L(tB, E_B)` for a block-structured direction `E_B` (same 2×2 pattern): rotation
/// blocks commute with their direction (`L = E e^{tB}`); triangular blocks differentiate the
/// closed form `[[eᵃ, bφ(a, c)], [0, eᶜ]]`, `φ = (eᵃ − eᶜ)/(a − c)`.
fn frechet_family(b: &Blocks, t: f64, dir: &Blocks) -> Mat<f64> {
    let n = 2 * b.blocks.len();
    let mut out = Mat::zeros(n, n);
    let eb = b.exp(t);
    for (k, (blk, d)) in b.blocks.iter().zip(&dir.blocks).enumerate() {
        let i = 2 * k;
        match (*blk, *d) {
            (Block::Rot { .. }, Block::Rot { .. }) => {
                let e = dir.matrix(1.0).submatrix(i, i, 2, 2).to_owned();
                let v = &e * eb.submatrix(i, i, 2, 2);
                out.submatrix_mut(i, i, 2, 2).copy_from(&v);
            }
            (
                Block::Tri { a, b: bb, c },
                Block::Tri {
                    a: da,
                    b: db,
                    c: dc,
                },
            ) => {
                let (a, bb, c) = (t * a, t * bb, t * c);
                let (ea, ec) = (a.exp(), c.exp());
                // φ = eᶜ g(x), x = a − c, g(x) = (eˣ − 1)/x; φ_a = eᶜ g'(x), φ_c = eᶜ (g − g').
                // Both by their Taylor series for small x (no cancellation), else closed form.
                let x = a - c;
                let (g, dg) = if x.abs() < 0.5 {
                    let (mut g, mut dg, mut fact) = (0.0, 0.0, 1.0);
                    for k in 0..30 {
                        fact *= (k + 1) as f64; // (k+1)!
                        g += x.powi(k) / fact;
                        if k >= 1 {
                            dg += k as f64 * x.powi(k - 1) / fact;
                        }
                    }
                    (g, dg)
                } else {
                    (x.exp_m1() / x, (x * x.exp() - x.exp_m1()) / (x * x))
                };
                let phi = ec * g;
                let (phi_a, phi_c) = (ec * dg, ec * (g - dg));
                out[(i, i)] = da * ea;
                out[(i + 1, i + 1)] = dc * ec;
                out[(i, i + 1)] = db * phi + bb * (da * phi_a + dc * phi_c);
            }
            _ => unreachable!(),
        }
    }
    out
}

#[test]
fn every_degree_and_squaring_count() {
    let dir = Blocks {
        blocks: vec![
            Block::Tri {
                a: 0.4,
                b: -1.0,
                c: 0.9,
            },
            Block::Rot {
                alpha: 0.3,
                beta: -0.6,
            },
            Block::Tri {
                a: -0.2,
                b: 0.5,
                c: 0.7,
            },
        ],
    };
    let mut r = rng(23);
    let q = orthogonal(&mut r, 6);
    let norm_b = norm1((&q * family(1.0).matrix(1.0) * q.transpose()).as_ref());
    for kind in FAMILIES {
        let (mut degrees, mut squarings) = (BTreeSet::new(), BTreeSet::new());
        // 1-norms from 1e-8 (Taylor order 2) and 1e-3 (Padé degree 3) through 5.4·2^20 (s = 20),
        // 6 points per octave from 1e-3.
        let mut targets: Vec<f64> = vec![1e-8, 1e-4];
        targets.extend((0..72).map(|k| 1e-3 * 2f64.powf(k as f64 / 6.0)));
        targets.extend((0..=21).map(|s| 4.0 * 2f64.powi(s)));
        for target in targets {
            let b = family(target / norm_b);
            let x = &q * b.matrix(1.0) * q.transpose();
            let e = &q * dir.matrix(1.0) * q.transpose();
            let f = Expm::try_new_with(x.as_ref(), kind).unwrap();
            let (m, s) = f.params();
            degrees.insert(m);
            squarings.insert(s);
            let tol = tol_exp(x.as_ref());
            let want = &q * b.exp(1.0) * q.transpose();
            let err = rel_err(f.value(), want.as_ref());
            assert!(
                err <= tol,
                "{kind:?} ‖X‖₁={target:.3e} (m={m}, s={s}): exp error {err:.2e} > {tol:.2e}"
            );
            let lw = &q * frechet_family(&b, 1.0, &dir) * q.transpose();
            let l = f.frechet(e.as_ref());
            let err = rel_err(l.as_ref(), lw.as_ref());
            assert!(
                err <= tol,
                "{kind:?} ‖X‖₁={target:.3e} (m={m}, s={s}): frechet error {err:.2e} > {tol:.2e}"
            );
            if kind == ExpmFamily::Taylor {
                // The default for dense input is a Taylor scheme.
                let (v2, l2) = expm_frechet(x.as_ref(), e.as_ref());
                assert_eq!(
                    (v2.as_ref(), l2.as_ref()),
                    (f.value(), l.as_ref()),
                    "expm_frechet = Expm::frechet"
                );
            }
            // Adjoint identity ⟨G, L(X, E)⟩ = ⟨L(Xᵀ, G), E⟩ for a random G; each side carries the
            // relative error `tol` of an L evaluation, of size ≤ ‖G‖‖L(X,·)‖‖E‖.
            let g = randn(&mut r, 6, 6);
            let lhs = inner(g.as_ref(), l.as_ref());
            let rhs = inner(f.frechet_adjoint(g.as_ref()).as_ref(), e.as_ref());
            let scale = g.norm_l2() * frechet_norm(x.as_ref()) * e.norm_l2();
            assert!(
                (lhs - rhs).abs() <= 2.0 * tol * scale,
                "adjoint identity at m={m}, s={s}: {lhs} vs {rhs}"
            );
        }
        assert_eq!(degrees, degrees_of(kind));
        assert!(
            (0..=20).all(|s| squarings.contains(&s)),
            "squaring counts seen: {squarings:?}"
        );
    }
}

#[test]
fn random_dense_every_degree_agrees_with_block_and_differences() {
    // Random non-normal dense matrices at norms spanning the degrees; L(A, E) against the
    // 2n×2n block construction and against Richardson-extrapolated central differences
    // (error O(h⁴) + rounding u‖e^X‖/h).
    let mut r = rng(29);
    for n in [3usize, 5, 8] {
        for target in [0.01, 0.2, 0.9, 2.0, 5.0, 40.0] {
            let a0 = randn(&mut r, n, n);
            let x = &a0 * faer::Scale(target / norm1(a0.as_ref()));
            let e = randn(&mut r, n, n);
            let f = Expm::new(x.as_ref());
            let l = f.frechet(e.as_ref());
            let tol = tol_exp(x.as_ref());
            let (vb, lb) = expm_frechet_block(x.as_ref(), e.as_ref());
            assert!(rel_err(vb.as_ref(), f.value()) <= tol);
            // The block method sees ‖[[X, E], [0, X]]‖, so its own error is governed by the
            // conditioning of exp at the block.
            let mut blk = Mat::<f64>::zeros(2 * n, 2 * n);
            blk.submatrix_mut(0, 0, n, n).copy_from(&x);
            blk.submatrix_mut(n, n, n, n).copy_from(&x);
            blk.submatrix_mut(0, n, n, n).copy_from(&e);
            let tol_blk = tol + tol_exp(blk.as_ref());
            let err = rel_err(l.as_ref(), lb.as_ref());
            assert!(
                err <= tol_blk,
                "n={n} ‖X‖={target}: vs block {err:.2e} > {tol_blk:.2e}"
            );
            let fd = |h: f64| {
                let p = expm((&x + &e * faer::Scale(h)).as_ref());
                let m = expm((&x - &e * faer::Scale(h)).as_ref());
                (p - m) * faer::Scale(0.5 / h)
            };
            let h = 1e-3 / e.norm_max();
            let rich = (fd(h / 2.0) * faer::Scale(4.0) - fd(h)) * faer::Scale(1.0 / 3.0);
            let err = rel_err(l.as_ref(), rich.as_ref());
            assert!(err <= 1e-7, "n={n} ‖X‖={target}: vs Richardson {err:.2e}");
        }
    }
}
