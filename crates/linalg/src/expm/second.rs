//! Second-order derivatives of the exponential from the [`Expm`] cache (docs/math.md §18).
//!
//! * [`Expm::frechet2`]: `L⁽²⁾(A; E₁, E₂)`, the exact second derivative of the evaluated
//!   approximant, by the *hyper-dual* form of the tangent program: every node `X` carries
//!   `(Ẋ₁, Ẋ₂, Ẍ₁₂)`, a product `X_i·X_j` gets
//!   `Ẋ₁ = Ẋ₁ᵢX_j + X_iẊ₁ⱼ` (and `Ẋ₂` likewise) and
//!   `Ẍ₁₂ = Ẍ₁₂ᵢX_j + Ẋ₁ᵢẊ₂ⱼ + Ẋ₂ᵢẊ₁ⱼ + X_iẌ₁₂ⱼ`, a combination is linear, the Padé solve
//!   `r = q⁻¹p` gets `ṙ = q⁻¹(ṗ − q̇r)` and `r̈₁₂ = q⁻¹(p̈₁₂ − q̈₁₂r − q̇₁ṙ₂ − q̇₂ṙ₁)` (cached LU),
//!   and each squaring `R ← R²` is a product.
//! * [`Expm::frechet_adjoint_jvp`]: the tangent of the VJP `L(Aᴴ, G)` along `(Ȧ, Ġ)`, for
//!   forward-over-reverse Hessian-vector products. One hyper-dual pass on the transposed cache
//!   with channels `G`, `Ȧᴴ` and a combined channel seeded with `Ġ`: by linearity, the combined
//!   channel is `L(Aᴴ, Ġ) + L⁽²⁾(Aᴴ; G, Ȧᴴ)`.
//! * Diagonal input and the anti-Hermitian eigen path: second divided differences
//!   ([`exp_divided_difference2`]), in the eigenbasis for the latter.
//!
//! The 4n×4n block reference is [`expm_frechet2_block`](crate::expm_frechet2_block).
//!
//! Tests: `crates/linalg/tests/second_order.rs`.

use crate::Scalar;
use crate::error::{LinalgError, unwrap_or_panic};
use crate::expm::frechet::{check_direction, finite};
use crate::expm::pade::{OddEven, odd_even};
use crate::expm::taylor::schemes::{Step, schemes};
use crate::expm::taylor::{Taylor, resolve};
use crate::expm::{Expm, Kind, Pade, exp_divided_difference, lincomb, scale_pow2};
use crate::kernels::{conjugated, matmul_acc, matmul_into, par_for};
use crate::memory as pool;
use crate::scalar::real;
use faer::{Mat, MatRef, Par, unzip, zip};

/// One node of the hyper-dual program: its tangents along the two directions and the mixed
/// (second-order, or combined) channel.
pub(crate) struct Hd<T: Scalar> {
    pub(crate) t1: Mat<T>,
    pub(crate) t2: Mat<T>,
    pub(crate) t12: Mat<T>,
}

impl<T: Scalar> Hd<T> {
    fn recycle(self) {
        pool::recycle(self.t1);
        pool::recycle(self.t2);
        pool::recycle(self.t12);
    }

    fn channels(&self) -> [&Mat<T>; 3] {
        [&self.t1, &self.t2, &self.t12]
    }
}

/// The hyper-dual product rule for `X_i·X_j` (values `xi`, `xj`; hyper-dual parts `a`, `b`),
/// into `out` (`Some`: accumulated onto it). `x_first`: the first channel sums `X_i·ḃ` before
/// `ȧ·X_j` (the order of Algorithm 6.4 in `frechet.rs`), else `ȧ·X_j` first (the Taylor
/// tangent program's order): the first channel is then bitwise the first-order derivative.
#[allow(clippy::too_many_arguments)]
fn hd_prod<T: Scalar>(
    out: Option<Hd<T>>,
    xi: MatRef<'_, T>,
    xj: MatRef<'_, T>,
    a: &Hd<T>,
    b: &Hd<T>,
    x_first: bool,
    par: Par,
) -> Hd<T> {
    let (n, m) = (xi.nrows(), xj.ncols());
    let fresh = out.is_none();
    let mut o = out.unwrap_or_else(|| Hd {
        t1: pool::scratch(n, m),
        t2: pool::scratch(n, m),
        t12: pool::scratch(n, m),
    });
    let one = T::one_impl();
    let first = |dst: &mut Mat<T>, x: MatRef<'_, T>, y: MatRef<'_, T>| {
        if fresh {
            matmul_into(dst.as_mut(), x, y, par);
        } else {
            matmul_acc(dst.as_mut(), x, y, one, par);
        }
    };
    for (dst, ai, bj) in [(&mut o.t1, &a.t1, &b.t1), (&mut o.t2, &a.t2, &b.t2)] {
        if x_first {
            first(dst, xi, bj.as_ref());
            matmul_acc(dst.as_mut(), ai.as_ref(), xj, one, par);
        } else {
            first(dst, ai.as_ref(), xj);
            matmul_acc(dst.as_mut(), xi, bj.as_ref(), one, par);
        }
    }
    first(&mut o.t12, a.t12.as_ref(), xj);
    matmul_acc(o.t12.as_mut(), xi, b.t12.as_ref(), one, par);
    matmul_acc(o.t12.as_mut(), a.t1.as_ref(), b.t2.as_ref(), one, par);
    matmul_acc(o.t12.as_mut(), a.t2.as_ref(), b.t1.as_ref(), one, par);
    o
}

/// `Σ c·(channel of node)` channel by channel (the identity term's derivatives are zero).
fn hd_comb<T: Scalar>(terms: &[(usize, f64)], nodes: &[Hd<T>]) -> Hd<T> {
    let ch = |k: usize| {
        lincomb(
            &resolve(terms, |i| nodes[i].channels()[k].as_ref()),
            T::zero_impl(),
        )
    };
    Hd {
        t1: ch(0),
        t2: ch(1),
        t12: ch(2),
    }
}

/// Node 0: `2⁻ˢ·(E₁, E₂, C)`.
fn seed<T: Scalar>(dirs: &Dirs<'_, T>, s: u32) -> Hd<T> {
    let n = dirs.e1.nrows();
    let scaled = |e: Option<MatRef<'_, T>>| {
        let mut m = pool::scratch::<T>(n, n);
        match e {
            Some(e) => {
                m.copy_from(e);
                scale_pow2(&mut m, -(s as i32));
            }
            None => m.fill(T::zero_impl()),
        }
        m
    };
    Hd {
        t1: scaled(Some(dirs.e1)),
        t2: scaled(Some(dirs.e2)),
        t12: scaled(dirs.c),
    }
}

/// The directions of a hyper-dual pass: `E₁`, `E₂`, and the seed of the mixed channel
/// (`None`: zero, the second derivative; `Some(Ġ)`: the combined channel of the VJP tangent).
pub(crate) struct Dirs<'a, T> {
    pub(crate) e1: MatRef<'a, T>,
    pub(crate) e2: MatRef<'a, T>,
    pub(crate) c: Option<MatRef<'a, T>>,
}

/// The hyper-dual Taylor program of scheme `id` (before the squarings), on the kept node
/// values `node(i)` (already transposed when the caller wants `Aᵀ`).
fn taylor_program<'a, T: Scalar>(
    id: usize,
    s: u32,
    node: impl Fn(usize) -> MatRef<'a, T>,
    dirs: &Dirs<'_, T>,
) -> Hd<T> {
    let par = par_for(dirs.e1.nrows());
    let mut tangents: Vec<Hd<T>> = vec![seed(dirs, s)];
    for step in &schemes()[id].steps {
        let t = match step {
            Step::Prod(i, j) => hd_prod(
                None,
                node(*i),
                node(*j),
                &tangents[*i],
                &tangents[*j],
                false,
                par,
            ),
            Step::Comb(terms, _) => hd_comb(terms, &tangents),
        };
        tangents.push(t);
    }
    let out = tangents.pop().expect("a program has at least one step");
    tangents.into_iter().for_each(Hd::recycle);
    out
}

/// One squaring `R ← R²` in hyper-dual form (first channel bitwise as `squarings_derivative`).
fn hd_square<T: Scalar>(r: MatRef<'_, T>, h: Hd<T>, par: Par) -> Hd<T> {
    let out = hd_prod(None, r, r, &h, &h, true, par);
    h.recycle();
    out
}

/// The squaring phase on the cached `R_i` (recomputed past the memory cap, as
/// `squarings_derivative` does), transposed views when `tr`.
fn hd_squarings<T: Scalar>(
    squares: &[Mat<T>],
    s: u32,
    mut h: Hd<T>,
    tr: bool,
    square: impl Fn(&Mat<T>, u32) -> Mat<T>,
) -> Hd<T> {
    let par = par_for(h.t1.nrows());
    let mut recomputed: Option<Mat<T>> = None;
    for i in 0..s as usize {
        if i >= squares.len() {
            let next = match recomputed.take() {
                Some(prev) => square(&prev, (i - 1) as u32),
                None => square(&squares[i - 1], (i - 1) as u32),
            };
            recomputed = Some(next);
        }
        let r_i = squares.get(i).or(recomputed.as_ref()).unwrap();
        h = hd_square(view(r_i, tr), h, par);
    }
    h
}

fn view<T>(m: &Mat<T>, tr: bool) -> MatRef<'_, T> {
    if tr { m.transpose() } else { m.as_ref() }
}

impl<T: Scalar> Taylor<T> {
    /// The hyper-dual program and squarings at `B̃ = B` (or `Bᵀ` when `tr`).
    fn hyper(&self, dirs: &Dirs<'_, T>, tr: bool) -> Hd<T> {
        let node = |i: usize| -> MatRef<'_, T> {
            if i == 0 {
                view(&self.a, tr)
            } else {
                view(self.nodes[i].as_ref().expect("kept operand"), tr)
            }
        };
        let h = taylor_program(self.id, self.s, node, dirs);
        hd_squarings(&self.squares, self.s, h, tr, |r, i| self.square(r, i))
    }
}

impl<T: Scalar> Pade<T> {
    /// Algorithm 6.4 in hyper-dual form (docs/math.md §18), on transposed views when `tr`.
    #[allow(non_snake_case)]
    fn hyper(&self, dirs: &Dirs<'_, T>, tr: bool) -> Hd<T> {
        let n = dirs.e1.nrows();
        let par = par_for(n);
        let one = T::one_impl();
        let b = &self.b;
        let A = view(&self.a, tr);
        let ha = seed(dirs, self.s);
        // Hyper-dual parts of the even powers A^{2k+2} = A^{2k}·A² (first channel:
        // A^{2k}·Ṁ₂ then Ṁ_{2k}·A², as frechet.rs sums).
        let a2 = view(&self.pows[0], tr);
        let mut M: Vec<Hd<T>> = Vec::with_capacity(self.pows.len());
        M.push(hd_prod(None, A, A, &ha, &ha, true, par));
        for k in 1..self.pows.len() {
            let mk = hd_prod(
                None,
                view(&self.pows[k - 1], tr),
                a2,
                &M[k - 1],
                &M[0],
                true,
                par,
            );
            M.push(mk);
        }
        let odd_even_of = |k: usize| {
            let ms: Vec<MatRef<'_, T>> = M.iter().map(|h| h.channels()[k].as_ref()).collect();
            odd_even(b, &ms, false)
        };
        let parts: Vec<OddEven<T>> = (0..3).map(odd_even_of).collect();
        let mut lw_parts = Vec::with_capacity(3);
        let mut lv_parts = Vec::with_capacity(3);
        let mut high_parts = Vec::with_capacity(3);
        for OddEven { odd, even, high } in parts {
            lw_parts.push(odd);
            lv_parts.push(even);
            high_parts.push(high);
        }
        let [w1_, w2_, w12_]: [Mat<T>; 3] = lw_parts.try_into().ok().unwrap();
        let [v1_, v2_, v12_]: [Mat<T>; 3] = lv_parts.try_into().ok().unwrap();
        let mut lw = Hd {
            t1: w1_,
            t2: w2_,
            t12: w12_,
        };
        let mut lv = Hd {
            t1: v1_,
            t2: v2_,
            t12: v12_,
        };
        if let Some((w1, z1)) = &self.w1z1 {
            let mut hw = Vec::with_capacity(3);
            let mut hz = Vec::with_capacity(3);
            for h in high_parts {
                let (a, c) = h.expect("degree 13 has the high parts");
                hw.push(a);
                hz.push(c);
            }
            let [a1, a2_, a12]: [Mat<T>; 3] = hw.try_into().ok().unwrap();
            let [c1, c2, c12]: [Mat<T>; 3] = hz.try_into().ok().unwrap();
            let lw1 = Hd {
                t1: a1,
                t2: a2_,
                t12: a12,
            };
            let lz1 = Hd {
                t1: c1,
                t2: c2,
                t12: c12,
            };
            let a6 = view(&self.pows[2], tr);
            // W += A⁶·W₁, V += A⁶·Z₁ (first channel: A⁶·Ẇ₁ then Ṁ₆·W₁, as frechet.rs).
            lw = hd_prod(Some(lw), a6, view(w1, tr), &M[2], &lw1, true, par);
            lv = hd_prod(Some(lv), a6, view(z1, tr), &M[2], &lz1, true, par);
            lw1.recycle();
            lz1.recycle();
        }
        // U = A·W.
        let mut lu = hd_prod(None, A, view(&self.w, tr), &ha, &lw, true, par);
        lw.recycle();
        ha.recycle();
        M.into_iter().for_each(Hd::recycle);
        // (lu, lv) ← (ṗ, −q̇) = (U̇ + V̇, U̇ − V̇), channel by channel.
        for (u, v) in [
            (&mut lu.t1, &mut lv.t1),
            (&mut lu.t2, &mut lv.t2),
            (&mut lu.t12, &mut lv.t12),
        ] {
            zip!(u, v).for_each(|unzip!(u, v)| {
                let (uu, vv) = (*u, *v);
                *u = uu + vv;
                *v = uu - vv;
            });
        }
        let r0 = view(&self.squares[0], tr);
        let solve = |m: &mut Mat<T>| {
            if tr {
                self.lu.solve_transpose_in_place(m.as_mut());
            } else {
                self.lu.solve_in_place(m.as_mut());
            }
        };
        let Hd {
            t1: mut r1,
            t2: mut r2,
            t12: mut r12,
        } = lu;
        // ṙ = q⁻¹(ṗ − q̇ r) per direction; r̈ = q⁻¹(p̈ − q̈ r − q̇₁ṙ₂ − q̇₂ṙ₁).
        matmul_acc(r1.as_mut(), lv.t1.as_ref(), r0, one, par);
        solve(&mut r1);
        matmul_acc(r2.as_mut(), lv.t2.as_ref(), r0, one, par);
        solve(&mut r2);
        matmul_acc(r12.as_mut(), lv.t12.as_ref(), r0, one, par);
        matmul_acc(r12.as_mut(), lv.t1.as_ref(), r2.as_ref(), one, par);
        matmul_acc(r12.as_mut(), lv.t2.as_ref(), r1.as_ref(), one, par);
        solve(&mut r12);
        lv.recycle();
        let h = Hd {
            t1: r1,
            t2: r2,
            t12: r12,
        };
        hd_squarings(&self.squares, self.s, h, tr, |r, i| self.square(r, i))
    }
}

/// `f[a, b, c]`, the second divided difference of `exp` (`e^a/2` when `a = b = c`), stably
/// for real and complex points: with `(x, z)` the farthest pair and `y` the third point,
/// `(f[x, y] − f[y, z])/(x − z)` when `|x − z| > 2` (the first differences from
/// [`exp_divided_difference`]); otherwise `e^m·h[x−m, y−m, z−m]`, `m` the centroid, with `h`
/// the divided difference of `exp` at points of modulus ≤ 4/3 by its series
/// `Σ_k [u, v, w]tᵏ / k!` (`[u,v,w]t^{k+1} = u·[u,v,w]tᵏ + [v,w]tᵏ`, no cancellation).
pub(crate) fn exp_divided_difference2<T: Scalar>(a: T, b: T, c: T) -> T {
    let (dab, dbc, dac) = ((a - b).modulus(), (b - c).modulus(), (a - c).modulus());
    let (x, y, z) = if dac >= dab && dac >= dbc {
        (a, b, c)
    } else if dab >= dbc {
        (a, c, b)
    } else {
        (b, a, c)
    };
    if (x - z).modulus() > real::<T>(2.0) {
        return (exp_divided_difference(x, y) - exp_divided_difference(y, z)) / (x - z);
    }
    let m = (x + y + z) / T::lit(3.0);
    let (u, v, w) = (x - m, y - m, z - m);
    let (mut d2, mut d1, mut pw) = (T::zero_impl(), T::zero_impl(), T::one_impl());
    let (mut inv_fact, mut sum) = (T::one_impl(), T::zero_impl());
    // |u|, |v|, |w| ≤ 4/3: the k-th term is ≤ C(k, 2)(4/3)^{k−2}/k!, below 1e-25 at k = 30.
    for k in 0..30 {
        sum += d2 * inv_fact;
        d2 = u * d2 + d1;
        d1 = v * d1 + pw;
        pw *= w;
        inv_fact /= T::lit((k + 1) as f64);
    }
    m.exponential() * sum
}

/// `Σ_k (E₁_ik E₂_kj + E₂_ik E₁_kj)·f[μ_i, μ_k, μ_j]`: `L⁽²⁾(Diag(μ); E₁, E₂)`.
pub(crate) fn diagonal_frechet2<T: Scalar>(
    mu: &[T],
    e1: MatRef<'_, T>,
    e2: MatRef<'_, T>,
) -> Mat<T> {
    let n = mu.len();
    let mut out = Mat::<T>::zeros(n, n);
    for j in 0..n {
        for k in 0..n {
            let (e1kj, e2kj) = (e1[(k, j)], e2[(k, j)]);
            if e1kj == T::zero_impl() && e2kj == T::zero_impl() {
                continue;
            }
            for i in 0..n {
                let w = e1[(i, k)] * e2kj + e2[(i, k)] * e1kj;
                if w != T::zero_impl() {
                    out[(i, j)] += w * exp_divided_difference2(mu[i], mu[k], mu[j]);
                }
            }
        }
    }
    out
}

impl<T: Scalar> Expm<T> {
    /// `L⁽²⁾(A; E₁, E₂)`, the second Fréchet derivative of exp at `A` (symmetric in `E₁`,
    /// `E₂`): `d²/dt ds exp(A + tE₁ + sE₂)` at 0, computed as the exact second derivative of
    /// the approximant the forward pass evaluated, from its cache (about 8 n×n products per
    /// forward product; docs/math.md §18). Panics with the [`LinalgError`] message if `E₁` or
    /// `E₂` is not n×n or has a non-finite entry, or the result overflows.
    ///
    /// **Accuracy.** Being the derivative of the approximant, it carries, besides rounding,
    /// the approximant's truncation differentiated twice: a few u for the schemes chosen at
    /// ‖A‖₁ ≳ 0.3 (and any s > 0), but up to ~‖2⁻ˢA‖₁ relative for the order-2 Taylor scheme
    /// (‖A‖₁ ≤ 2.6·10⁻⁸), and the whole second derivative for dense `A` with ‖A‖₁ ≤ u, where
    /// the approximant `I + A` is linear and this returns 0. Diagonal input and the eigen path
    /// are exact formulas.
    ///
    /// ```
    /// use expgrad_linalg::Expm;
    /// use faer::mat;
    /// let a = mat![[0.3, 1.0], [-0.5, 0.1f64]];
    /// let f = Expm::new(a.as_ref());
    /// // Commuting directions: L⁽²⁾(A; A, A) = A² e^A.
    /// let l2 = f.frechet2(a.as_ref(), a.as_ref());
    /// assert!((&l2 - &a * &a * f.value()).norm_max() < 1e-14);
    /// ```
    #[track_caller]
    pub fn frechet2(&self, e1: MatRef<'_, T>, e2: MatRef<'_, T>) -> Mat<T> {
        unwrap_or_panic(self.try_frechet2(e1, e2))
    }

    /// Fallible [`Expm::frechet2`]: `ShapeMismatch` for directions that are not n×n,
    /// `NonFinite` for a NaN or infinite entry, `Overflow` when the result does not fit.
    ///
    /// ```
    /// use expgrad_linalg::{Expm, LinalgError};
    /// let f = Expm::new(faer::mat![[1.0, 2.0], [3.0, 4.0f64]].as_ref());
    /// let bad = faer::Mat::<f64>::zeros(3, 3);
    /// let e = faer::Mat::<f64>::identity(2, 2);
    /// let err = f.try_frechet2(e.as_ref(), bad.as_ref());
    /// assert!(matches!(err, Err(LinalgError::ShapeMismatch { .. })));
    /// ```
    pub fn try_frechet2(
        &self,
        e1: MatRef<'_, T>,
        e2: MatRef<'_, T>,
    ) -> Result<Mat<T>, LinalgError> {
        const OP: &str = "expm_frechet2";
        let n = self.dim();
        check_direction(OP, (n, n), e1)?;
        check_direction(OP, (n, n), e2)?;
        let dirs = Dirs { e1, e2, c: None };
        let l = match &self.kind {
            Kind::Diagonal(d) => diagonal_frechet2(d, e1, e2),
            Kind::Hermitian(h) => h.frechet2(e1, e2, false),
            _ => self.hyper(&dirs, self.transposed).t12_only(),
        };
        finite(OP, l)
    }

    /// The tangent of the vector–Jacobian product: for `F = e^A` with cotangent `G`, the
    /// VJP is `Ā = L(Aᴴ, G)` ([`Expm::frechet_adjoint`]); along a tangent `(Ȧ, Ġ)` of
    /// `(A, G)` this returns `(L(Aᴴ, G), L(Aᴴ, Ġ) + L⁽²⁾(Aᴴ; G, Ȧᴴ))`, the value and the
    /// ε-derivative of `L((A + εȦ)ᴴ, G + εĠ)`: what forward-over-reverse Hessian-vector
    /// products need. One fused pass on the transposed cache (about 8 n×n products per
    /// forward product, [`Expm::second_order_products`]); the first output is bitwise
    /// [`Expm::frechet_adjoint`]`(G)`. Panics with the [`LinalgError`] message on bad input
    /// or overflow.
    ///
    /// ```
    /// use expgrad_linalg::Expm;
    /// use faer::{mat, Mat};
    /// let a = mat![[0.2, 0.7], [-0.4, 0.1f64]];
    /// let (g, ad, gd) = (mat![[1.0, 0.5], [0.0, -1.0f64]], mat![[0.0, 1.0], [1.0, 0.0f64]], Mat::<f64>::identity(2, 2));
    /// let f = Expm::new(a.as_ref());
    /// let (v, t) = f.frechet_adjoint_jvp(g.as_ref(), ad.as_ref(), gd.as_ref());
    /// assert_eq!(v, f.frechet_adjoint(g.as_ref()));
    /// // Central difference of the VJP along (Ȧ, Ġ).
    /// let h = 1e-5;
    /// let vjp = |e: f64| Expm::new((&a + &ad * faer::Scale(e)).as_ref()).frechet_adjoint((&g + &gd * faer::Scale(e)).as_ref());
    /// let fd = (vjp(h) - vjp(-h)) * faer::Scale(0.5 / h);
    /// assert!((&t - &fd).norm_max() < 1e-8);
    /// ```
    #[track_caller]
    pub fn frechet_adjoint_jvp(
        &self,
        g: MatRef<'_, T>,
        a_dot: MatRef<'_, T>,
        g_dot: MatRef<'_, T>,
    ) -> (Mat<T>, Mat<T>) {
        unwrap_or_panic(self.try_frechet_adjoint_jvp(g, a_dot, g_dot))
    }

    /// Fallible [`Expm::frechet_adjoint_jvp`]: `ShapeMismatch`, `NonFinite` or `Overflow`.
    ///
    /// ```
    /// use expgrad_linalg::{Expm, LinalgError};
    /// let f = Expm::new(faer::mat![[1.0, 2.0], [3.0, 4.0f64]].as_ref());
    /// let mut g = faer::Mat::<f64>::identity(2, 2);
    /// g[(0, 1)] = f64::NAN;
    /// let z = faer::Mat::<f64>::zeros(2, 2);
    /// let err = f.try_frechet_adjoint_jvp(g.as_ref(), z.as_ref(), z.as_ref());
    /// assert!(matches!(err, Err(LinalgError::NonFinite { .. })));
    /// ```
    pub fn try_frechet_adjoint_jvp(
        &self,
        g: MatRef<'_, T>,
        a_dot: MatRef<'_, T>,
        g_dot: MatRef<'_, T>,
    ) -> Result<(Mat<T>, Mat<T>), LinalgError> {
        const OP: &str = "expm_frechet_adjoint_jvp";
        let n = self.dim();
        check_direction(OP, (n, n), g)?;
        check_direction(OP, (n, n), a_dot)?;
        check_direction(OP, (n, n), g_dot)?;
        let (v, t) = match &self.kind {
            Kind::Diagonal(d) => {
                // Aᴴ = Diag(conj d).
                let first = self.try_frechet_adjoint(g).map_err(|e| e.with_op(OP))?;
                let mut second = self.try_frechet_adjoint(g_dot).map_err(|e| e.with_op(OP))?;
                let dc: Vec<T> = d.iter().map(|x| x.conjugate()).collect();
                let ah = conjugated(a_dot.transpose());
                second += diagonal_frechet2(&dc, g, ah.as_ref());
                (first, second)
            }
            Kind::Hermitian(h) => {
                let first = h.frechet(g, true);
                let mut second = h.frechet(g_dot, true);
                let ah = conjugated(a_dot.transpose());
                second += h.frechet2(g, ah.as_ref(), true);
                (first, second)
            }
            _ if T::IS_COMPLEX => {
                // L(Aᴴ, ·) = conj L(Aᵀ, conj ·), L⁽²⁾(Aᴴ; G, Ȧᴴ) = conj L⁽²⁾(Aᵀ; conj G, Ȧᵀ).
                let (gc, gdc) = (conjugated(g), conjugated(g_dot));
                let dirs = Dirs {
                    e1: gc.as_ref(),
                    e2: a_dot.transpose(),
                    c: Some(gdc.as_ref()),
                };
                let h = self.hyper(&dirs, !self.transposed);
                let out = (conjugated(h.t1.as_ref()), conjugated(h.t12.as_ref()));
                h.recycle();
                out
            }
            _ => {
                let dirs = Dirs {
                    e1: g,
                    e2: a_dot.transpose(),
                    c: Some(g_dot),
                };
                let Hd { t1, t2, t12 } = self.hyper(&dirs, !self.transposed);
                pool::recycle(t2);
                (t1, t12)
            }
        };
        Ok((finite(OP, v)?, finite(OP, t)?))
    }

    /// n×n products of one [`Expm::frechet_adjoint_jvp`] (and of one [`Expm::frechet2`]):
    /// eight per product of the forward program and per squaring (two for each first-order
    /// channel, four for the mixed one); Padé: the same per product of Algorithm 6.4, plus
    /// five for the right-hand sides and three solves (one each); eigen path: the two
    /// first-order adjoints (4 each), the two similarity transforms of the directions and the
    /// one back (2 each), and the n³ sum of second divided differences counted as 2.
    /// Machine-independent, for benchmarks, like [`Expm::forward_products`].
    ///
    /// ```
    /// use expgrad_linalg::Expm;
    /// let a = faer::Mat::<f64>::from_fn(20, 20, |i, j| ((i * 7 + j * 3) % 5) as f64 * 0.05 - 0.1);
    /// let f = Expm::new(a.as_ref());
    /// assert_eq!(f.second_order_products(), 4.0 * f.adjoint_products());
    /// ```
    pub fn second_order_products(&self) -> f64 {
        match &self.kind {
            Kind::Diagonal(_) => 0.0,
            Kind::Hermitian(_) => 4.0 + 4.0 + 6.0 + 2.0,
            Kind::Pade(p) => {
                let high = if p.w1z1.is_some() { 16.0 } else { 0.0 };
                8.0 * p.pows.len() as f64 + high + 8.0 + 5.0 + 3.0 + 8.0 * f64::from(p.s)
            }
            Kind::Taylor(t) => 8.0 * schemes()[t.id].products as f64 + 8.0 * f64::from(t.s),
            Kind::Small(t) => 8.0 * schemes()[t.id].products as f64 + 8.0 * f64::from(t.s),
        }
    }

    /// A bound on the relative truncation error of the approximant's second derivative,
    /// `‖L⁽²⁾_{r−exp}(B; F₁, F₂)‖ ≤ ρ·‖F₁‖‖F₂‖` with `ρ = Σ_k |r_k − 1/k!|·k(k−1)·‖B‖₁^{k−2}`
    /// over the power series of the evaluated approximant `r` at `B = 2⁻ˢA` (0 for the exact
    /// diagonal and eigen paths). The selection bounds the approximant's *value* error by the
    /// unit roundoff; its second derivative loses about `m(m+1)/‖B‖²` of that (`‖B‖` for the
    /// order-2 Taylor scheme), so tests add it to their tolerances. Not part of the API.
    #[doc(hidden)]
    pub fn second_order_truncation(&self) -> f64 {
        use crate::scalar::to_f64;
        let (b, coef, exact_to): (f64, Vec<f64>, usize) = match &self.kind {
            Kind::Diagonal(_) | Kind::Hermitian(_) => return 0.0,
            Kind::Taylor(t) => (
                to_f64(crate::norm1(t.a.as_ref())),
                schemes()[t.id].poly.clone(),
                schemes()[t.id].order,
            ),
            Kind::Small(sm) => (
                to_f64(crate::norm1(sm.node(0))),
                schemes()[sm.id].poly.clone(),
                schemes()[sm.id].order,
            ),
            Kind::Pade(p) => {
                // r = p/q, q(x) = p(−x): the series by long division.
                let pc = crate::expm::pade::coefficients(p.m);
                let q = |j: usize| if j % 2 == 0 { pc[j] } else { -pc[j] };
                let mut r: Vec<f64> = Vec::with_capacity(TERMS);
                for k in 0..TERMS {
                    let mut v = pc.get(k).copied().unwrap_or(0.0);
                    for j in 1..=k.min(p.m) {
                        v -= q(j) * r[k - j];
                    }
                    r.push(v / q(0));
                }
                (to_f64(crate::norm1(p.a.as_ref())), r, 2 * p.m)
            }
        };
        const TERMS: usize = 200;
        let (mut inv_fact, mut rho) = (1.0f64, 0.0f64);
        for k in 0..TERMS {
            if k > 0 {
                inv_fact /= k as f64;
            }
            if k > exact_to && k >= 2 {
                let c = coef.get(k).copied().unwrap_or(0.0) - inv_fact;
                rho += c.abs() * (k * (k - 1)) as f64 * b.powi(k as i32 - 2);
            }
        }
        rho
    }

    /// The hyper-dual pass at `Ã` (the cached matrix, transposed when `tr`); Taylor, Small
    /// and Padé kinds only.
    fn hyper(&self, dirs: &Dirs<'_, T>, tr: bool) -> Hd<T> {
        match &self.kind {
            Kind::Taylor(t) => t.hyper(dirs, tr),
            Kind::Pade(p) => p.hyper(dirs, tr),
            Kind::Small(sm) => {
                // The stack-array version of the same program (bitwise the same first
                // channel as the stack path's own first derivative).
                let [t1, t2, t12] = sm.hyper(dirs.e1, dirs.e2, dirs.c, tr);
                Hd { t1, t2, t12 }
            }
            Kind::Diagonal(_) | Kind::Hermitian(_) => unreachable!("no program to differentiate"),
        }
    }
}

impl<T: Scalar> Hd<T> {
    fn t12_only(self) -> Mat<T> {
        pool::recycle(self.t1);
        pool::recycle(self.t2);
        self.t12
    }
}
