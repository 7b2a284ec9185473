//! Pieces shared by the derivatives that exploit a low-rank structure (rank-one directions or
//! cotangents): the Fréchet derivative of the scaling-and-squaring approximant
//! `r(B)^{2ˢ}`, `B = 2⁻ˢX`, `r = q⁻¹p`, applied to vectors.
//!
//! With `N = 2ˢ`, `u_j = R₀^j v` and `w_j = R₀u_j` (j < N), and the Horner vectors of `p`
//! and `q` (`h_{m−1} = c_m u`, `h_{i−1} = c_i u + B h_i`):
//!
//! ```text
//! L(X, E)·v = q⁻¹ Σ_j R₀^{N−1−j} Σ_{i<m} B^i (2⁻ˢE) H_{ij},   H_{ij} = h^p_i(u_j) − h^q_i(w_j)
//! ```
//!
//! (product rule through `p`, quotient rule through `q⁻¹p`, and through each squaring; `q⁻¹`
//! commutes with every `R_i`). The sums over j are taken along the squaring tree
//! (`M_{i+1}[j] = M_i[2j+1] + R_i M_i[2j]`), so every vector is built from the cached squares
//! exactly as the forward built `R_s`.
//!
//! Tests: `crates/linalg/tests/{adjoint_factored,jacobian}.rs`.
use crate::Scalar;
use crate::expm::Pade;
use crate::expm::taylor::Taylor;
use crate::kernels::{matmul_into, par_for};
use faer::{Mat, MatMut, MatRef};

/// What the structured derivatives need from a scaling-and-squaring cache: `r = q⁻¹p` (Padé)
/// or `r = p` (Taylor, `q = 1`) at `B = 2⁻ˢX`, and the squares `R_i`.
pub(crate) trait Approx<T: Scalar> {
    /// `B = 2⁻ˢX`.
    fn scaled(&self) -> &Mat<T>;
    /// The cached squares (`R₀` first).
    fn squares(&self) -> &[Mat<T>];
    /// Number of squarings.
    fn s(&self) -> u32;
    /// Monomial coefficients of `p`.
    fn p(&self) -> &[T];
    /// Whether there is a denominator `q(x) = p(−x)` (Padé).
    fn has_q(&self) -> bool;
    /// `x ← q⁻¹x` (nothing for Taylor).
    fn solve_q(&self, x: MatMut<'_, T>);
    /// `x ← q⁻ᵀx` (nothing for Taylor).
    fn solve_q_transpose(&self, x: MatMut<'_, T>);
    /// `B^k` when the forward pass kept it.
    fn cached_power(&self, k: usize) -> Option<&Mat<T>>;
}

impl<T: Scalar> Approx<T> for Pade<T> {
    fn scaled(&self) -> &Mat<T> {
        &self.a
    }
    fn squares(&self) -> &[Mat<T>] {
        &self.squares
    }
    fn s(&self) -> u32 {
        self.s
    }
    fn p(&self) -> &[T] {
        &self.b
    }
    fn has_q(&self) -> bool {
        true
    }
    fn solve_q(&self, x: MatMut<'_, T>) {
        self.lu.solve_in_place(x);
    }
    fn solve_q_transpose(&self, x: MatMut<'_, T>) {
        self.lu.solve_transpose_in_place(x);
    }
    fn cached_power(&self, k: usize) -> Option<&Mat<T>> {
        (k % 2 == 0 && k >= 2)
            .then(|| self.pows.get(k / 2 - 1))
            .flatten()
    }
}

impl<T: Scalar> Approx<T> for Taylor<T> {
    fn scaled(&self) -> &Mat<T> {
        &self.a
    }
    fn squares(&self) -> &[Mat<T>] {
        &self.squares
    }
    fn s(&self) -> u32 {
        self.s
    }
    fn p(&self) -> &[T] {
        &self.p
    }
    fn has_q(&self) -> bool {
        false
    }
    fn solve_q(&self, _: MatMut<'_, T>) {}
    fn solve_q_transpose(&self, _: MatMut<'_, T>) {}
    fn cached_power(&self, k: usize) -> Option<&Mat<T>> {
        self.power(k)
    }
}

pub(crate) struct Structured<'a, T: Scalar, P> {
    pub(crate) p: &'a P,
    /// Degree of `p`.
    pub(crate) m: usize,
    /// Coefficients of `p` and (Padé) of `q(x) = p(−x)`.
    c: Vec<T>,
    cq: Option<Vec<T>>,
}

impl<'a, T: Scalar, P: Approx<T>> Structured<'a, T, P> {
    pub(crate) fn new(p: &'a P) -> Self {
        let c = p.p().to_vec();
        let cq = p.has_q().then(|| {
            c.iter()
                .enumerate()
                .map(|(j, &x)| if j % 2 == 0 { x } else { -x })
                .collect()
        });
        Self {
            p,
            m: c.len() - 1,
            c,
            cq,
        }
    }

    /// Whether every square `R_i` is cached (they are unless s·n² is huge).
    pub(crate) fn squares_cached(p: &P) -> bool {
        p.squares().len() == (p.s() as usize).max(1)
    }

    /// `R₀^j v` for j < 2ˢ (v n×1), down the squaring tree: `u_{2j} = x_j`, `u_{2j+1} = R_i x_j`.
    pub(crate) fn forward_vectors(&self, v: MatRef<'_, T>) -> Vec<Mat<T>> {
        let mut us = vec![v.to_owned()];
        for i in (0..self.p.s() as usize).rev() {
            let r = self.p.squares()[i].as_ref();
            us = us
                .into_iter()
                .flat_map(|x| {
                    let rx = product(r, x.as_ref());
                    [x, rx]
                })
                .collect();
        }
        us
    }

    /// The transposed tree from `top` (n×1): leaf j gets `(R₀ᵀ)^{N−1−j} top`, built as
    /// `z_{2j} = R_iᵀ y_j`, `z_{2j+1} = y_j`.
    pub(crate) fn adjoint_vectors(&self, top: Mat<T>) -> Vec<Mat<T>> {
        let mut zs = vec![top];
        for i in (0..self.p.s() as usize).rev() {
            let rt = self.p.squares()[i].transpose();
            zs = zs
                .into_iter()
                .flat_map(|y| {
                    let ry = product(rt, y.as_ref());
                    [ry, y]
                })
                .collect();
        }
        zs
    }

    /// For blocks `u`, `w` (n×c): column block i of `h` (n×(m·c), columns `i·c..(i+1)·c`) is
    /// `h^p_i(u) − h^q_i(w)`, i < m (just `h^p_i(u)` without a denominator; `w` is then
    /// unused). Both Horner recurrences advance in one product `B·[H^p H^q]` per degree, so
    /// `B` is read m−1 times whatever c is.
    pub(crate) fn horner(&self, u: MatRef<'_, T>, w: MatRef<'_, T>, mut h: MatMut<'_, T>) {
        let (n, c) = u.shape();
        let m = self.m;
        let b = self.p.scaled().as_ref();
        let cq = self.cq.as_deref();
        let width = if cq.is_some() { 2 * c } else { c };
        // hpq = [h^p | h^q], n×2c (or h^p alone).
        let mut hpq = Mat::<T>::from_fn(n, width, |r, j| {
            if j < c {
                self.c[m] * u[(r, j)]
            } else {
                cq.unwrap()[m] * w[(r, j - c)]
            }
        });
        let mut next = Mat::<T>::zeros(n, width);
        for i in (0..m).rev() {
            for j in 0..c {
                for r in 0..n {
                    h[(r, i * c + j)] = match cq {
                        Some(_) => hpq[(r, j)] - hpq[(r, c + j)],
                        None => hpq[(r, j)],
                    };
                }
            }
            if i == 0 {
                break;
            }
            matmul_into(next.as_mut(), b, hpq.as_ref(), par_for(n));
            for j in 0..c {
                for r in 0..n {
                    hpq[(r, j)] = self.c[i] * u[(r, j)] + next[(r, j)];
                    if let Some(cq) = cq {
                        hpq[(r, c + j)] = cq[i] * w[(r, j)] + next[(r, c + j)];
                    }
                }
            }
        }
    }
}

/// The columns of `vs` (each n×1) side by side.
pub(crate) fn hstack<T: Scalar>(vs: &[Mat<T>]) -> Mat<T> {
    let n = vs.first().map_or(0, |v| v.nrows());
    Mat::from_fn(n, vs.len(), |r, j| vs[j][(r, 0)])
}

/// `x·y` with the parallelism of `x`'s size.
pub(crate) fn product<T: Scalar>(x: MatRef<'_, T>, y: MatRef<'_, T>) -> Mat<T> {
    crate::kernels::product(x, y, par_for(x.nrows()))
}
