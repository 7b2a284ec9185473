//! Forward-mode and forward-over-reverse rules of `W = exp(X)·V` (V n×k, k small) with
//! matrix–vector work only (docs/math.md §18, "factored second-order rule").
//!
//! * [`Expm::frechet_mul`]: `L(X, E)·V` by the structured formula of [`crate::structured`]
//!   (`L(X,E)v = q⁻¹ Σ_j R₀^{N−1−j} Σ_{i<m} B^i (2⁻ˢE) H_{ij}`), the sum over j taken down the
//!   squaring tree; [`Expm::frechet_mul_adjoint`] is the same at `Xᴴ` (`L(X, E)ᴴ·G`).
//! * [`Expm::frechet_adjoint_factored_jvp`]: the value and tangent of the factored adjoint
//!   `X̄ = L(Xᴴ, U·Vᴴ) = 2⁻ˢ Z Hᵀ` ([`Expm::frechet_adjoint_factored`]) along `(Ẋ, U̇, V̇)`:
//!   every vector of the formula gets its tangent (the Horner vectors, the powers
//!   `Z_i = (Bᵀ)^i z`, the tree vectors `u_j = R₀^j v` and `z_j = (R₀ᵀ)^{N−1−j} q⁻ᵀu`, and
//!   the `q⁻ᵀ` solve), and the tangent is `2⁻ˢ(Ż Hᵀ + Z Ḣᵀ)`, one product of inner dimension
//!   2·N·m·k. The only tangents of matrices needed are applied to vectors: `Ṙ₀ u_j =
//!   q⁻¹ Σ_i B^i Ḃ H_{ij}` reuses the Horner vectors `H`, and `Ṙ₀ᵀ z = q⁻ᵀ Σ_i (Bᵀ)^i Ḃᵀ G_i`
//!   with Horner vectors `G` in `Bᵀ`; the tree tangents follow from `u̇_{j+1} = Ṙ₀u_j + R₀u̇_j`
//!   and `ż_j = Ṙ₀ᵀz_{j+1} + R₀ᵀż_{j+1}`.
//!
//! Both fall back to the dense rules when N·m·k is not small against n, for the small-n and
//! lower-triangular caches and for the exact (diagonal, eigen) paths.
//!
//! Tests: `crates/linalg/tests/second_order_factored.rs`.

use crate::Scalar;
use crate::error::{LinalgError, unwrap_or_panic};
use crate::expm::frechet::{check_direction, finite};
use crate::expm::structured::{Approx, Structured, product};
use crate::expm::{Expm, Kind, all_finite, scale_pow2};
use crate::kernels::{conjugated, gemm, matmul_acc, matmul_into, par_for};
use crate::scalar::pow2;
use faer::{Accum, Mat, MatMut, MatRef};

fn view<T>(m: &Mat<T>, tr: bool) -> MatRef<'_, T> {
    if tr { m.transpose() } else { m.as_ref() }
}

/// The approximant seen from `C̃`: the cached matrix `C` (`tr = false`) or `Cᵀ`.
struct Ctx<'a, T: Scalar, P> {
    p: &'a P,
    tr: bool,
    /// Degree of `p`.
    m: usize,
    c: Vec<T>,
    /// Coefficients of `q(x) = p(−x)` (Padé).
    cq: Option<Vec<T>>,
}

impl<'a, T: Scalar, P: Approx<T>> Ctx<'a, T, P> {
    fn new(p: &'a P, tr: bool) -> Self {
        let c = p.p().to_vec();
        let cq = p.has_q().then(|| {
            c.iter()
                .enumerate()
                .map(|(j, &x)| if j % 2 == 0 { x } else { -x })
                .collect()
        });
        Self {
            p,
            tr,
            m: c.len() - 1,
            c,
            cq,
        }
    }

    fn s(&self) -> usize {
        self.p.s() as usize
    }

    /// `B̃ = 2⁻ˢC̃`.
    fn b(&self) -> MatRef<'a, T> {
        view(self.p.scaled(), self.tr)
    }

    /// `R̃_i`.
    fn r(&self, i: usize) -> MatRef<'a, T> {
        view(&self.p.squares()[i], self.tr)
    }

    /// `x ← q(B̃)⁻¹x`.
    fn solve(&self, x: MatMut<'_, T>) {
        if self.tr {
            self.p.solve_q_transpose(x)
        } else {
            self.p.solve_q(x)
        }
    }

    /// Leaves `R̃₀^j v` (j < 2ˢ) of the squaring tree, leaf j in columns `j·k..(j+1)·k`.
    fn tree_up(&self, v: MatRef<'_, T>) -> Mat<T> {
        let k = v.ncols();
        let mut cur = v.to_owned();
        for i in (0..self.s()).rev() {
            let rx = product(self.r(i), cur.as_ref());
            cur = interleave(&cur, &rx, k);
        }
        cur
    }

    /// Leaves `(R̃₀ᵀ)^{N−1−j} top` of the transposed tree.
    fn tree_down(&self, top: MatRef<'_, T>) -> Mat<T> {
        let k = top.ncols();
        let mut cur = top.to_owned();
        for i in (0..self.s()).rev() {
            let ry = product(self.r(i).transpose(), cur.as_ref());
            cur = interleave(&ry, &cur, k);
        }
        cur
    }

    /// Horner blocks in `b` (n×(m·c), block i in columns `i·c..`): `H_{m−1} = c_m u − c^q_m w`,
    /// `H_{i−1} = c_i u − c^q_i w + extra_i + b·H_i` (`w` unused without a denominator; `extra`
    /// an n×(m·c) block matrix or nothing).
    fn horner(
        &self,
        b: MatRef<'_, T>,
        u: MatRef<'_, T>,
        w: MatRef<'_, T>,
        extra: Option<&Mat<T>>,
    ) -> Mat<T> {
        let (n, c) = u.shape();
        let m = self.m;
        let mut h = Mat::<T>::zeros(n, m * c);
        let par = par_for(n);
        // dst += c_i u − c^q_i w (+ extra).
        let seed = |mut dst: MatMut<'_, T>, i: usize, extra: Option<MatRef<'_, T>>| {
            let (ci, qi) = (self.c[i], self.cq.as_ref().map(|q| q[i]));
            for j in 0..c {
                for r in 0..n {
                    let mut x = dst[(r, j)] + ci * u[(r, j)];
                    if let Some(qi) = qi {
                        x -= qi * w[(r, j)];
                    }
                    if let Some(e) = extra {
                        x += e[(r, j)];
                    }
                    dst[(r, j)] = x;
                }
            }
        };
        seed(h.as_mut().subcols_mut((m - 1) * c, c), m, None);
        for i in (1..m).rev() {
            let (lo, hi) = h.as_mut().split_at_col_mut(i * c);
            let mut dst = lo.subcols_mut((i - 1) * c, c);
            matmul_into(dst.as_mut(), b, hi.as_ref().subcols(0, c), par);
            seed(dst, i, extra.map(|e| e.as_ref().subcols(i * c, c)));
        }
        h
    }

    /// `(bd·H, Σ_i b^i·bd·H_i)` for Horner blocks `h` of width c.
    fn sandwich(
        &self,
        b: MatRef<'_, T>,
        bd: MatRef<'_, T>,
        h: &Mat<T>,
        c: usize,
    ) -> (Mat<T>, Mat<T>) {
        let n = h.nrows();
        let m = self.m;
        let bdh = product(bd, h.as_ref());
        let mut acc = bdh.as_ref().subcols((m - 1) * c, c).to_owned();
        for i in (0..m - 1).rev() {
            let mut next = bdh.as_ref().subcols(i * c, c).to_owned();
            matmul_acc(next.as_mut(), b, acc.as_ref(), T::one_impl(), par_for(n));
            acc = next;
        }
        (bdh, acc)
    }
}

/// Blocks of width k: `[x₀, y₀, x₁, y₁, …]`.
fn interleave<T: Scalar>(x: &Mat<T>, y: &Mat<T>, k: usize) -> Mat<T> {
    Mat::from_fn(x.nrows(), 2 * x.ncols(), |r, col| {
        let (leaf, c) = (col / k, col % k);
        let src = if leaf % 2 == 0 { x } else { y };
        src[(r, (leaf / 2) * k + c)]
    })
}

/// Blocks `parity, parity + 2, …` of width k.
fn every_other<T: Scalar>(x: &Mat<T>, k: usize, parity: usize) -> Mat<T> {
    Mat::from_fn(x.nrows(), x.ncols() / 2, |r, col| {
        x[(r, (2 * (col / k) + parity) * k + col % k)]
    })
}

std::thread_local! {
    static FORCE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Makes [`Expm::frechet_mul`], [`Expm::frechet_mul_adjoint`] and
/// [`Expm::frechet_adjoint_factored_jvp`] take the structured route on this thread whenever
/// the cache has it (every square cached, s < 24), even where the dense route is cheaper: for
/// tests at every squaring count. Not part of the API.
///
/// ```
/// expgrad_linalg::force_factored_second_order(true);
/// expgrad_linalg::force_factored_second_order(false);
/// ```
#[doc(hidden)]
pub fn force_factored_second_order(on: bool) {
    FORCE.with(|f| f.set(on));
}

/// Whether the structured route is cheaper than `dense` n×n products (matrix–vector work
/// counted twice: it runs at a fraction of the speed of a square product). `per_column`:
/// matrix–vector products per leaf column, in units of m.
fn pays<T: Scalar, P: Approx<T>>(p: &P, per_column: usize, dense: f64, n: usize, k: usize) -> bool {
    let s = p.s() as usize;
    let m = p.p().len() - 1;
    Structured::<T, P>::squares_cached(p)
        && s < 24
        && (FORCE.with(std::cell::Cell::get)
            || (2 * per_column * (1usize << s) * m * k) as f64 <= dense * n as f64)
}

/// `L(C̃, e)·v` (C̃ the cache's matrix, transposed when `tr`).
fn mul<T: Scalar, P: Approx<T>>(p: &P, tr: bool, e: MatRef<'_, T>, v: MatRef<'_, T>) -> Mat<T> {
    let cx = Ctx::new(p, tr);
    let (n, k) = v.shape();
    let s = cx.s();
    let mut bd = e.to_owned();
    scale_pow2(&mut bd, -(s as i32));
    let us = cx.tree_up(v);
    let w = if p.has_q() {
        product(cx.r(0), us.as_ref())
    } else {
        Mat::new()
    };
    let h = cx.horner(cx.b(), us.as_ref(), w.as_ref(), None);
    let (_, mut cur) = cx.sandwich(cx.b(), bd.as_ref(), &h, us.ncols());
    // Σ_j R₀^{N−1−j} Y_j down the tree: M_{i+1}[j] = R_i M_i[2j] + M_i[2j+1].
    for i in 0..s {
        let mut next = every_other(&cur, k, 1);
        let even = every_other(&cur, k, 0);
        matmul_acc(
            next.as_mut(),
            cx.r(i),
            even.as_ref(),
            T::one_impl(),
            par_for(n),
        );
        cur = next;
    }
    cx.solve(cur.as_mut());
    cur
}

/// `(L(Cᵀ, U·Vᵀ), its tangent along (Ċ, U̇, V̇))` (plain transposes) for the cached `C`.
fn adjoint_jvp<T: Scalar, P: Approx<T>>(
    p: &P,
    u: MatRef<'_, T>,
    v: MatRef<'_, T>,
    cd: MatRef<'_, T>,
    ud: Option<MatRef<'_, T>>,
    vd: Option<MatRef<'_, T>>,
) -> (Mat<T>, Mat<T>) {
    let cx = Ctx::new(p, false);
    let (n, k) = u.shape();
    let (s, m) = (cx.s(), cx.m);
    let leaves = 1usize << s;
    let cols = leaves * k;
    let par = par_for(n);
    let one = T::one_impl();
    let has_q = p.has_q();
    let (b, bt) = (cx.b(), cx.b().transpose());
    let r0 = cx.r(0);
    let mut bd = cd.to_owned();
    scale_pow2(&mut bd, -(s as i32));
    let bdt = bd.transpose();

    // The factored adjoint's vectors: u_j = R₀^j v, z_j = (R₀ᵀ)^{N−1−j} q⁻ᵀu, H, Z.
    let mut top = u.to_owned();
    p.solve_q_transpose(top.as_mut());
    let us = cx.tree_up(v);
    let z0 = cx.tree_down(top.as_ref());
    let w = if has_q {
        product(r0, us.as_ref())
    } else {
        Mat::new()
    };
    let h = cx.horner(b, us.as_ref(), w.as_ref(), None);

    // D_j = Ṙ₀u_j = q⁻¹ Σ_i B^i Ḃ H_{ij}; u̇_{j+1} = D_j + R₀u̇_j (u̇₀ = v̇); ẇ_j = u̇_{j+1}.
    let (bdh, mut d) = cx.sandwich(b, bd.as_ref(), &h, cols);
    p.solve_q(d.as_mut());
    let mut udot = Mat::<T>::zeros(n, cols + k);
    if let Some(vd) = vd {
        udot.as_mut().subcols_mut(0, k).copy_from(vd);
    }
    for j in 0..leaves {
        let (lo, hi) = udot.as_mut().split_at_col_mut((j + 1) * k);
        let mut next = hi.subcols_mut(0, k);
        next.copy_from(d.as_ref().subcols(j * k, k));
        matmul_acc(next, r0, lo.as_ref().subcols(j * k, k), one, par);
    }
    let wdot = udot.as_ref().subcols(k, cols);
    let udot = udot.as_ref().subcols(0, cols);
    // Ḣ_{i−1} = c_i u̇ − c^q_i ẇ + Ḃ H_i + B Ḣ_i.
    let hdot = cx.horner(b, udot, wdot, Some(&bdh));

    // ṫop = q⁻ᵀ(u̇ − q̇ᵀ top), q̇ᵀy = Σ_i (Bᵀ)^i Ḃᵀ G^q_i(y).
    let mut tdot = match ud {
        Some(ud) => ud.to_owned(),
        None => Mat::zeros(n, k),
    };
    if has_q {
        let minus_top = Mat::from_fn(n, k, |i, j| -top[(i, j)]);
        let zero = Mat::<T>::zeros(n, k);
        let g = cx.horner(bt, zero.as_ref(), minus_top.as_ref(), None);
        let (_, qdt) = cx.sandwich(bt, bdt, &g, k);
        tdot -= qdt;
        p.solve_q_transpose(tdot.as_mut());
    }
    // E_j = Ṙ₀ᵀz_j = q⁻ᵀ Σ_i (Bᵀ)^i Ḃᵀ G_i(z_j, R₀ᵀz_j = z_{j−1}), j ≥ 1;
    // ż_{N−1} = ṫop, ż_j = R₀ᵀż_{j+1} + E_{j+1}.
    let mut zdot0 = Mat::<T>::zeros(n, cols);
    zdot0
        .as_mut()
        .subcols_mut(cols - k, k)
        .copy_from(tdot.as_ref());
    if leaves > 1 {
        let g = cx.horner(
            bt,
            z0.as_ref().subcols(k, cols - k),
            z0.as_ref().subcols(0, cols - k),
            None,
        );
        let (_, mut e) = cx.sandwich(bt, bdt, &g, cols - k);
        p.solve_q_transpose(e.as_mut());
        for j in (0..leaves - 1).rev() {
            let (lo, hi) = zdot0.as_mut().split_at_col_mut((j + 1) * k);
            let mut dst = lo.subcols_mut(j * k, k);
            dst.copy_from(e.as_ref().subcols(j * k, k));
            matmul_acc(dst, r0.transpose(), hi.as_ref().subcols(0, k), one, par);
        }
    }

    // [Ż | Z] and [H | Ḣ]: Z_i = (Bᵀ)^i z, Ż_i = Ḃᵀ Z_{i−1} + Bᵀ Ż_{i−1}.
    let mc = m * cols;
    let mut zz = Mat::<T>::zeros(n, 2 * mc);
    {
        let (mut zdot, mut z) = zz.as_mut().split_at_col_mut(mc);
        z.as_mut().subcols_mut(0, cols).copy_from(z0.as_ref());
        for i in 1..m {
            let (prev, next) = z.as_mut().split_at_col_mut(i * cols);
            matmul_into(
                next.subcols_mut(0, cols),
                bt,
                prev.as_ref().subcols((i - 1) * cols, cols),
                par,
            );
        }
        zdot.as_mut().subcols_mut(0, cols).copy_from(zdot0.as_ref());
        if m > 1 {
            let bdtz = product(bdt, z.as_ref().subcols(0, (m - 1) * cols));
            for i in 1..m {
                let (prev, next) = zdot.as_mut().split_at_col_mut(i * cols);
                let mut dst = next.subcols_mut(0, cols);
                dst.copy_from(bdtz.as_ref().subcols((i - 1) * cols, cols));
                matmul_acc(
                    dst,
                    bt,
                    prev.as_ref().subcols((i - 1) * cols, cols),
                    one,
                    par,
                );
            }
        }
    }
    let mut hh = Mat::<T>::zeros(n, 2 * mc);
    hh.as_mut().subcols_mut(0, mc).copy_from(h.as_ref());
    hh.as_mut().subcols_mut(mc, mc).copy_from(hdot.as_ref());
    drop((h, hdot));

    let scale = pow2::<T>(-(s as i32));
    let mut value = Mat::<T>::zeros(n, n);
    gemm(
        value.as_mut(),
        Accum::Replace,
        zz.as_ref().subcols(mc, mc),
        hh.as_ref().subcols(0, mc).transpose(),
        scale,
        par,
    );
    let mut tangent = Mat::<T>::zeros(n, n);
    gemm(
        tangent.as_mut(),
        Accum::Replace,
        zz.as_ref(),
        hh.transpose(),
        scale,
        par,
    );
    (value, tangent)
}

impl<T: Scalar> Expm<T> {
    /// The work of [`Expm::frechet_mul`] and [`Expm::frechet_adjoint_factored_jvp`] for k
    /// columns, in n×n products (matrix–vector work and the final product counted by their
    /// multiply–adds, a solve with c right-hand sides as c matrix–vector products), or the
    /// dense routes' [`Expm::adjoint_products`] and [`Expm::second_order_products`] when they
    /// fall back. Machine-independent, for benchmarks. Not part of the API.
    ///
    /// ```
    /// use expgrad_linalg::Expm;
    /// let a = faer::Mat::<f64>::from_fn(64, 64, |i, j| ((i * 7 + j * 3) % 5) as f64 * 0.02 - 0.04);
    /// let f = Expm::new(a.as_ref());
    /// let (jvp, second) = f.factored_products(1);
    /// assert!(jvp < f.adjoint_products() && second < f.second_order_products());
    /// ```
    #[doc(hidden)]
    pub fn factored_products(&self, k: usize) -> (f64, f64) {
        let n = self.dim();
        let counts = |s: u32, m: usize, q: bool| {
            let (m, q, kk) = (m as f64, f64::from(u8::from(q)), k as f64);
            let cols = f64::from(1u32 << s.min(30)) * kk;
            let tree = cols - kk;
            let mul = 2.0 * tree + (3.0 * m - 2.0 + 2.0 * q) * cols;
            let horner_sandwich = 3.0 * m - 2.0;
            let second = q * kk
                + 2.0 * tree
                + q * cols
                + horner_sandwich * cols
                + q * cols
                + cols
                + (m - 1.0) * cols
                + q * (horner_sandwich + 1.0) * kk
                + (horner_sandwich + q) * tree
                + tree
                + 3.0 * (m - 1.0) * cols
                + 3.0 * m * cols;
            (mul / n as f64, second / n as f64)
        };
        let (dense1, dense2) = (self.adjoint_products(), self.second_order_products());
        let (c1, c2) = match &self.kind {
            Kind::Pade(p) => counts(p.s, p.m, true),
            Kind::Taylor(t) => counts(t.s, t.p.len() - 1, false),
            _ => return (dense1, dense2),
        };
        let (p1, p2) = match &self.kind {
            Kind::Pade(p) => (pays(&**p, 3, dense1, n, k), pays(&**p, 6, dense2, n, k)),
            Kind::Taylor(t) => (pays(&**t, 3, dense1, n, k), pays(&**t, 6, dense2, n, k)),
            _ => (false, false),
        };
        (
            if p1 { c1 } else { dense1 },
            if p2 && !self.transposed { c2 } else { dense2 },
        )
    }

    /// `L(A, E)·V` (V n×k): the tangent of `W = exp(A)·V` along `Ȧ = E`. For a few columns
    /// it costs O(2ˢ·m·k·n²) matrix–vector work by the structured formula
    /// `L(A,E)v = q⁻¹ Σ_j R₀^{N−1−j} Σ_i B^i (2⁻ˢE) H_{ij}` instead of the O(n³) of
    /// `frechet(E)·V` (the route it falls back to when that is cheaper, for n ≤ 12 and on
    /// the exact diagonal and eigen paths). Panics with the [`LinalgError`] message on bad
    /// shapes, non-finite input or overflow.
    ///
    /// ```
    /// use expgrad_linalg::Expm;
    /// let a = faer::Mat::<f64>::from_fn(20, 20, |i, j| ((i * 7 + j * 3) % 5) as f64 * 0.1 - 0.2);
    /// let e = faer::Mat::<f64>::from_fn(20, 20, |i, j| ((i + 2 * j) % 3) as f64 - 1.0);
    /// let v = faer::Mat::<f64>::from_fn(20, 2, |i, j| (i + j) as f64 * 0.1);
    /// let f = Expm::new(a.as_ref());
    /// let fast = f.frechet_mul(e.as_ref(), v.as_ref());
    /// let dense = f.frechet(e.as_ref()) * &v;
    /// assert!((&fast - &dense).norm_max() < 1e-12 * dense.norm_max());
    /// ```
    #[track_caller]
    pub fn frechet_mul(&self, e: MatRef<'_, T>, v: MatRef<'_, T>) -> Mat<T> {
        unwrap_or_panic(self.try_frechet_mul(e, v))
    }

    /// Fallible [`Expm::frechet_mul`]: `ShapeMismatch` (E not n×n, V without n rows),
    /// `NonFinite`, `Overflow`.
    ///
    /// ```
    /// use expgrad_linalg::{Expm, LinalgError};
    /// let f = Expm::new(faer::mat![[1.0, 2.0], [3.0, 4.0f64]].as_ref());
    /// let (e, v) = (faer::Mat::<f64>::zeros(2, 2), faer::Mat::<f64>::zeros(3, 1));
    /// let err = f.try_frechet_mul(e.as_ref(), v.as_ref());
    /// assert!(matches!(err, Err(LinalgError::ShapeMismatch { .. })));
    /// ```
    pub fn try_frechet_mul(
        &self,
        e: MatRef<'_, T>,
        v: MatRef<'_, T>,
    ) -> Result<Mat<T>, LinalgError> {
        self.mul_impl("expm_frechet_mul", e, v, false)
    }

    /// `L(A, E)ᴴ·G` (G n×k) = `L(Aᴴ, Eᴴ)·G`: the tangent of the cotangent `exp(A)ᴴ·Ḡ` of
    /// `W = exp(A)·V` along `Ȧ = E`, by the same structured formula as
    /// [`Expm::frechet_mul`] on the transposed cache. Panics like [`Expm::frechet_mul`].
    ///
    /// ```
    /// use expgrad_linalg::Expm;
    /// let a = faer::Mat::<f64>::from_fn(20, 20, |i, j| ((i * 7 + j * 3) % 5) as f64 * 0.1 - 0.2);
    /// let e = faer::Mat::<f64>::from_fn(20, 20, |i, j| ((i + 2 * j) % 3) as f64 - 1.0);
    /// let g = faer::Mat::<f64>::from_fn(20, 1, |i, _| i as f64 * 0.1 - 1.0);
    /// let f = Expm::new(a.as_ref());
    /// let fast = f.frechet_mul_adjoint(e.as_ref(), g.as_ref());
    /// let dense = f.frechet(e.as_ref()).transpose() * &g;
    /// assert!((&fast - &dense).norm_max() < 1e-12 * dense.norm_max());
    /// ```
    #[track_caller]
    pub fn frechet_mul_adjoint(&self, e: MatRef<'_, T>, g: MatRef<'_, T>) -> Mat<T> {
        unwrap_or_panic(self.try_frechet_mul_adjoint(e, g))
    }

    /// Fallible [`Expm::frechet_mul_adjoint`]: `ShapeMismatch`, `NonFinite`, `Overflow`.
    ///
    /// ```
    /// use expgrad_linalg::{Expm, LinalgError};
    /// let f = Expm::new(faer::mat![[1.0, 2.0], [3.0, 4.0f64]].as_ref());
    /// let (e, mut g) = (faer::Mat::<f64>::zeros(2, 2), faer::Mat::<f64>::zeros(2, 1));
    /// g[(1, 0)] = f64::NAN;
    /// let err = f.try_frechet_mul_adjoint(e.as_ref(), g.as_ref());
    /// assert!(matches!(err, Err(LinalgError::NonFinite { .. })));
    /// ```
    pub fn try_frechet_mul_adjoint(
        &self,
        e: MatRef<'_, T>,
        g: MatRef<'_, T>,
    ) -> Result<Mat<T>, LinalgError> {
        self.mul_impl("expm_frechet_mul_adjoint", e, g, true)
    }

    /// `L(A, E)·V`, or `L(A, E)ᴴ·V` when `adjoint`.
    fn mul_impl(
        &self,
        op: &'static str,
        e: MatRef<'_, T>,
        v: MatRef<'_, T>,
        adjoint: bool,
    ) -> Result<Mat<T>, LinalgError> {
        let n = self.dim();
        check_direction(op, (n, n), e)?;
        if v.nrows() != n {
            return Err(LinalgError::ShapeMismatch {
                op,
                lhs: (n, n),
                rhs: v.shape(),
            });
        }
        if !all_finite(v) {
            return Err(LinalgError::NonFinite { op });
        }
        let k = v.ncols();
        let dense = self.adjoint_products();
        // The cache is of C = A (or Aᵀ when `transposed`); L(A, E)ᴴ·V = conj(L(Aᵀ, Eᵀ)·conj V).
        let tr = self.transposed != adjoint;
        let run = |v: MatRef<'_, T>| -> Option<Mat<T>> {
            let e = if adjoint { e.transpose() } else { e };
            match &self.kind {
                Kind::Pade(p) if pays(&**p, 3, dense, n, k) => Some(mul(&**p, tr, e, v)),
                Kind::Taylor(t) if pays(&**t, 3, dense, n, k) => Some(mul(&**t, tr, e, v)),
                _ => None,
            }
        };
        let out = if adjoint && T::IS_COMPLEX {
            let vc = conjugated(v);
            run(vc.as_ref()).map(|x| conjugated(x.as_ref()))
        } else {
            run(v)
        };
        let out = match out {
            Some(out) => out,
            None => {
                let l = self.try_frechet(e).map_err(|x| x.with_op(op))?;
                if adjoint {
                    let mut out = Mat::<T>::zeros(n, k);
                    crate::kernels::gemm_conj(
                        out.as_mut(),
                        Accum::Replace,
                        l.transpose(),
                        true,
                        v,
                        false,
                        T::one_impl(),
                        par_for(n),
                    );
                    out
                } else {
                    product(l.as_ref(), v)
                }
            }
        };
        finite(op, out)
    }

    /// The value and tangent of the factored adjoint: for `X̄ = L(Aᴴ, U·Vᴴ)`
    /// ([`Expm::frechet_adjoint_factored`]) along `(Ȧ, U̇, V̇)` (a missing `U̇` or `V̇` is
    /// zero) this returns `(L(Aᴴ, U·Vᴴ), L(Aᴴ, U̇·Vᴴ + U·V̇ᴴ) + L⁽²⁾(Aᴴ; U·Vᴴ, Ȧᴴ))`, the
    /// same as [`Expm::frechet_adjoint_jvp`]`(U·Vᴴ, Ȧ, U̇·Vᴴ + U·V̇ᴴ)`. For a few columns it
    /// differentiates the factored formula `X̄ = 2⁻ˢ Z Hᵀ` vector by vector: O(2ˢ·m·k·n²)
    /// matrix–vector work and one product of inner dimension 2·2ˢ·m·k instead of about eight
    /// n×n products per forward product. Falls back to the dense rule when that is cheaper,
    /// for n ≤ 12, lower-triangular input and the exact paths. Panics with the
    /// [`LinalgError`] message on bad input or overflow.
    ///
    /// ```
    /// use expgrad_linalg::Expm;
    /// let n = 20;
    /// let a = faer::Mat::<f64>::from_fn(n, n, |i, j| ((i * 7 + j * 3) % 5) as f64 * 0.1 - 0.2);
    /// let ad = faer::Mat::<f64>::from_fn(n, n, |i, j| ((i + 2 * j) % 3) as f64 - 1.0);
    /// let col = |c: f64| faer::Mat::<f64>::from_fn(n, 1, |i, _| (i as f64 * c).sin());
    /// let (u, v, ud, vd) = (col(0.3), col(0.7), col(1.1), col(1.9));
    /// let f = Expm::new(a.as_ref());
    /// let (x, t) = f.frechet_adjoint_factored_jvp(u.as_ref(), v.as_ref(), ad.as_ref(), Some(ud.as_ref()), Some(vd.as_ref()));
    /// let g = &u * v.transpose();
    /// let gd = &ud * v.transpose() + &u * vd.transpose();
    /// let (x0, t0) = f.frechet_adjoint_jvp(g.as_ref(), ad.as_ref(), gd.as_ref());
    /// assert!((&x - &x0).norm_max() < 1e-12 * x0.norm_max());
    /// assert!((&t - &t0).norm_max() < 1e-12 * t0.norm_max());
    /// ```
    #[track_caller]
    pub fn frechet_adjoint_factored_jvp(
        &self,
        u: MatRef<'_, T>,
        v: MatRef<'_, T>,
        a_dot: MatRef<'_, T>,
        u_dot: Option<MatRef<'_, T>>,
        v_dot: Option<MatRef<'_, T>>,
    ) -> (Mat<T>, Mat<T>) {
        unwrap_or_panic(self.try_frechet_adjoint_factored_jvp(u, v, a_dot, u_dot, v_dot))
    }

    /// Fallible [`Expm::frechet_adjoint_factored_jvp`]: `ShapeMismatch` (U, V, U̇, V̇ not all
    /// n×k, Ȧ not n×n), `NonFinite`, `Overflow`.
    ///
    /// ```
    /// use expgrad_linalg::{Expm, LinalgError};
    /// let f = Expm::new(faer::mat![[1.0, 2.0], [3.0, 4.0f64]].as_ref());
    /// let (u, v, ad) = (faer::Mat::<f64>::zeros(2, 1), faer::Mat::<f64>::zeros(2, 2), faer::Mat::<f64>::zeros(2, 2));
    /// let err = f.try_frechet_adjoint_factored_jvp(u.as_ref(), v.as_ref(), ad.as_ref(), None, None);
    /// assert!(matches!(err, Err(LinalgError::ShapeMismatch { .. })));
    /// ```
    pub fn try_frechet_adjoint_factored_jvp(
        &self,
        u: MatRef<'_, T>,
        v: MatRef<'_, T>,
        a_dot: MatRef<'_, T>,
        u_dot: Option<MatRef<'_, T>>,
        v_dot: Option<MatRef<'_, T>>,
    ) -> Result<(Mat<T>, Mat<T>), LinalgError> {
        const OP: &str = "expm_frechet_adjoint_jvp";
        let n = self.dim();
        check_direction(OP, (n, n), a_dot)?;
        for x in [Some(v), u_dot, v_dot].into_iter().flatten() {
            if u.nrows() != n || x.shape() != u.shape() {
                return Err(LinalgError::ShapeMismatch {
                    op: OP,
                    lhs: u.shape(),
                    rhs: x.shape(),
                });
            }
        }
        for x in [Some(u), Some(v), u_dot, v_dot].into_iter().flatten() {
            if !all_finite(x) {
                return Err(LinalgError::NonFinite { op: OP });
            }
        }
        let k = u.ncols();
        let dense = self.second_order_products();
        let structured = |u: MatRef<'_, T>, ud: Option<MatRef<'_, T>>| match &self.kind {
            Kind::Pade(p) if !self.transposed && pays(&**p, 6, dense, n, k) => {
                Some(adjoint_jvp(&**p, u, v, a_dot, ud, v_dot))
            }
            Kind::Taylor(t) if !self.transposed && pays(&**t, 6, dense, n, k) => {
                Some(adjoint_jvp(&**t, u, v, a_dot, ud, v_dot))
            }
            _ => None,
        };
        // L(Aᴴ, U·Vᴴ) = conj L(Aᵀ, conj(U)·Vᵀ), and its tangent likewise with conj(U̇).
        let out = if T::IS_COMPLEX {
            let uc = conjugated(u);
            let udc = u_dot.map(conjugated);
            structured(uc.as_ref(), udc.as_ref().map(Mat::as_ref))
                .map(|(x, t)| (conjugated(x.as_ref()), conjugated(t.as_ref())))
        } else {
            structured(u, u_dot)
        };
        let (x, t) = match out {
            Some(out) => out,
            None => {
                let par = par_for(n);
                let mut g = Mat::<T>::zeros(n, n);
                let mut gd = Mat::<T>::zeros(n, n);
                let ab = |dst: MatMut<'_, T>, a: MatRef<'_, T>, b: MatRef<'_, T>| {
                    crate::kernels::gemm_conj(
                        dst,
                        Accum::Add,
                        a,
                        false,
                        b.transpose(),
                        true,
                        T::one_impl(),
                        par,
                    )
                };
                ab(g.as_mut(), u, v);
                if let Some(ud) = u_dot {
                    ab(gd.as_mut(), ud, v);
                }
                if let Some(vd) = v_dot {
                    ab(gd.as_mut(), u, vd);
                }
                return self.try_frechet_adjoint_jvp(g.as_ref(), a_dot, gd.as_ref());
            }
        };
        Ok((finite(OP, x)?, finite(OP, t)?))
    }
}
