//! One generator at many times: `P_b = exp(t_b·Q)`, b = 1..B, sharing everything that can
//! be shared.
//!
//! Forward (docs/math.md §15): the powers `Q⁰ … Q^m` are formed once (`m − 1` products);
//! each `P_b` is the degree-`m` Taylor polynomial of `τ_b·Q`, `τ_b = 2^{−s_b}·t_b`, in that
//! power basis — column `b` of ONE product `[vec Q⁰ … vec Q^m]·C`, `C_kb = τ_b^k/k!` — then
//! squared `s_b` times. `m` is one degree for the whole batch, chosen to minimise the total
//! multiply–adds `(m−1)n³ + B(m+1)n² + Σ_b s_b(m)·n³`, with `s_b(m)` the least `s` for which
//! `2^{−s}|t_b|·α_m ≤ θ_m` (`α_m` from the exact `d_p = ‖Q^p‖₁^{1/p}`, p ≤ 5: Al-Mohy &
//! Higham 2011, Theorem 4.2; θ_m their Taylor table). Independent exponentials of `t_b·Q`
//! would take 3–7 products each before squaring; here a time costs `(m+1)/n` of a product.
//!
//! Reverse: the exact derivative of that computation. Per time, the squarings are undone
//! (`X̄ ← X̄·Xᵀ + Xᵀ·X̄`, the `X` recomputed from the kept `R_b`). Then two products over the
//! whole batch: `H = R̄·Cᵀ` (the cotangent of every power `Q^k`, summed over b) and
//! `I = [vec Q^k]ᵀ·R̄` (giving `t̄_b = 2^{−s_b}·Σ_k C_{k−1,b}·I_kb`, the derivative of
//! `C_kb` in `t_b`). Finally the power chain `Q^k = Q^{k−1}·Q` is reversed once: `2(m−1)`
//! products for the whole batch, not per time.
//!
//! Tests: `crates/linalg/tests/batch.rs`.

mod tangent;

use super::PARALLEL_WORK;
use super::kernels::{mul, mul_add_bt, square_adjoint, square_in_place};
use crate::Real;
use crate::action::plan::theta::taylor_theta;
use crate::error::{LinalgError, unwrap_or_panic};
use crate::finite::{check_finite, check_square_finite};
use crate::norm::norm1;
use faer::{Accum, Mat, MatMut, MatRef, Par};
use rayon::prelude::*;
pub use tangent::TimesAdjointTangent;

/// Highest Taylor degree: θ₁₈ = 1.09 (f64). The power-basis sum rounds with an error that
/// grows like `e^{‖τQ‖}·u`, at most 3u here (Higham, *Functions of Matrices*, §10.3).
const MAX_DEGREE: usize = 18;
/// Lowest degree used when some time needs squaring: rounding in `R_b` is a relative
/// backward error of about `u/θ_m` in `τ_b·Q`, which the squarings carry to `t_b·Q`; θ₁₂ =
/// 0.30 keeps it near 3u (smaller degrees serve only batches that need no squaring).
const MIN_DEGREE_SQUARED: usize = 12;
/// Powers whose exact norms refine `α` (`d_p`, p ≤ 5).
const NORM_POWERS: usize = 5;

/// `exp(t_b·Q)` for every time `t_b`, with one reverse pass giving `Q̄` (summed over the
/// times) and every `t̄_b`.
///
/// ```
/// use expgrad_linalg::{ExpmTimes, expm};
/// use faer::mat;
/// let q = mat![[-1.0, 1.0], [0.5, -0.5f64]]; // a rate matrix
/// let t = [0.1, 1.0, 30.0];
/// let p = ExpmTimes::new(q.as_ref(), &t);
/// for (b, &tb) in t.iter().enumerate() {
///     let direct = expm((&q * faer::Scale(tb)).as_ref());
///     assert!((p.value(b) - &direct).norm_max() < 1e-14);
/// }
/// // The reverse pass of ℓ = Σ_b ⟨G_b, P_b⟩: Q̄ and every t̄_b in one call.
/// let g = faer::Mat::<f64>::ones(2, 6);
/// let (qbar, tbar) = p.adjoint(g.as_ref());
/// assert_eq!((qbar.shape(), tbar.len()), ((2, 2), 3));
/// ```
#[derive(Clone, Debug)]
pub struct ExpmTimes<T: Real> {
    n: usize,
    t: Vec<T>,
    m: usize,
    s: Vec<u32>,
    /// `vec(Q^k)`, k = 0..=m: an n²×(m+1) column-major matrix.
    powers: Vec<T>,
    /// `C_kb = τ_b^k/k!`: (m+1)×B, column-major.
    coef: Vec<T>,
    /// `R_b` before squaring (n²×B), or empty when no time needs a squaring.
    roots: Vec<T>,
    /// `P_b` (n²×B), which is also the n×(n·B) side-by-side layout.
    values: Vec<T>,
}

/// `⌈log₂ x⌉` for finite `x > 1`, 0 for `x ≤ 1`, from the bits (no `log2` call per time).
fn ceil_log2(x: f64) -> u32 {
    if x.is_nan() || x <= 1.0 {
        return 0;
    }
    let bits = x.to_bits();
    let e = ((bits >> 52) & 0x7ff) as i64 - 1023;
    let exact = bits & ((1u64 << 52) - 1) == 0;
    (if exact { e } else { e + 1 }).max(0) as u32
}

fn col<T>(v: &[T], nn: usize, k: usize) -> &[T] {
    &v[k * nn..(k + 1) * nn]
}

/// Appends `Q^k = Q^{k−1}·Q` to `powers` until it holds `Q⁰ … Q^top`.
fn extend_powers<T: Real>(powers: &mut Vec<T>, n: usize, top: usize) {
    let nn = n * n;
    let mut k = powers.len() / nn;
    powers.resize(nn * (top + 1), T::zero());
    while k <= top {
        let (done, rest) = powers.split_at_mut(k * nn);
        mul(
            &mut rest[..nn],
            col(done, nn, k - 1),
            col(done, nn, 1),
            n,
            false,
            false,
        );
        k += 1;
    }
}

/// `dst = a·b` over whole column-major buffers (`a` r×k, `b` k×c), transposes as asked: the
/// batch-wide products, on all threads when large.
#[allow(clippy::too_many_arguments)]
fn big_product<T: Real>(
    dst: &mut [T],
    a: &[T],
    (ar, ac, ta): (usize, usize, bool),
    b: &[T],
    (br, bc, tb): (usize, usize, bool),
) {
    let av = MatRef::from_column_major_slice(a, ar, ac);
    let bv = MatRef::from_column_major_slice(b, br, bc);
    let av = if ta { av.transpose() } else { av };
    let bv = if tb { bv.transpose() } else { bv };
    let work = av.nrows() * av.ncols() * bv.ncols();
    let par = if work >= PARALLEL_WORK * 16 && rayon::current_num_threads() > 1 {
        Par::rayon(0)
    } else {
        Par::Seq
    };
    let dv = MatMut::from_column_major_slice_mut(dst, av.nrows(), bv.ncols());
    faer::linalg::matmul::matmul(dv, Accum::Replace, av, bv, T::one(), par);
}

/// Whether the per-time loop should run on all threads.
fn parallel(work: usize) -> bool {
    work >= PARALLEL_WORK && rayon::current_num_threads() > 1
}

impl<T: Real> ExpmTimes<T> {
    /// `exp(t_b·Q)` for every `t_b` in `t`. Panics like [`ExpmTimes::try_new`].
    #[track_caller]
    pub fn new(q: MatRef<'_, T>, t: &[T]) -> Self {
        unwrap_or_panic(Self::try_new(q, t))
    }

    /// `exp(t_b·Q)` for every `t_b` in `t`; `Err` for a non-square or non-finite `Q`, a
    /// non-finite time, or a result that overflows.
    pub fn try_new(q: MatRef<'_, T>, t: &[T]) -> Result<Self, LinalgError> {
        const OP: &str = "expm_times";
        check_square_finite(OP, q)?;
        if t.iter().any(|x| !x.is_finite()) {
            return Err(LinalgError::NonFinite { op: OP });
        }
        let (n, nb) = (q.nrows(), t.len());
        let nn = n * n;
        let mut powers = vec![T::zero(); 2 * nn];
        for i in 0..n {
            powers[i * n + i] = T::one();
            for j in 0..n {
                powers[nn + j * n + i] = q[(i, j)];
            }
        }
        extend_powers(&mut powers, n, NORM_POWERS);
        let d: Vec<f64> = (1..=NORM_POWERS)
            .map(|k| {
                let a = MatRef::from_column_major_slice(col(&powers, nn, k), n, n);
                norm1(a)
                    .to_f64()
                    .unwrap_or(f64::INFINITY)
                    .powf(1.0 / k as f64)
            })
            .collect();
        let (m, s) = choose(&d, t, n);
        powers.truncate(nn * (NORM_POWERS + 1).min(m + 1));
        extend_powers(&mut powers, n, m);
        let rows = m + 1;
        let mut coef = vec![T::zero(); rows * nb];
        for (b, c) in coef.chunks_exact_mut(rows).enumerate() {
            let tau = t[b] * T::from(0.5f64.powi(s[b] as i32)).unwrap();
            c[0] = T::one();
            for k in 1..rows {
                c[k] = c[k - 1] * tau / T::from(k as f64).unwrap();
            }
        }
        let mut values = vec![T::zero(); nn * nb];
        big_product(
            &mut values,
            &powers,
            (nn, rows, false),
            &coef,
            (rows, nb, false),
        );
        let squarings: usize = s.iter().map(|&x| x as usize).sum();
        let roots = if squarings > 0 {
            values.clone()
        } else {
            Vec::new()
        };
        if squarings > 0 {
            // One scratch matrix per worker, not per time.
            let scratch = || vec![T::zero(); nn];
            let square = |tmp: &mut Vec<T>, (v, &sb): (&mut [T], &u32)| {
                for _ in 0..sb {
                    square_in_place(v, tmp, n);
                }
            };
            if parallel(squarings * nn * n) {
                values
                    .par_chunks_mut(nn)
                    .zip(s.par_iter())
                    .for_each_init(scratch, square);
            } else {
                let mut tmp = scratch();
                values
                    .chunks_mut(nn)
                    .zip(s.iter())
                    .for_each(|x| square(&mut tmp, x));
            }
        }
        if values.iter().any(|x| !x.is_finite()) {
            return Err(LinalgError::Overflow { op: OP });
        }
        Ok(Self {
            n,
            t: t.to_vec(),
            m,
            s,
            powers,
            coef,
            roots,
            values,
        })
    }

    /// `exp(t_b·Q)` (n×n).
    pub fn value(&self, b: usize) -> MatRef<'_, T> {
        let nn = self.n * self.n;
        MatRef::from_column_major_slice(col(&self.values, nn, b), self.n, self.n)
    }

    /// Every `exp(t_b·Q)` side by side: n×(n·B), block `b` in columns `b·n..(b+1)·n`.
    pub fn values(&self) -> MatRef<'_, T> {
        MatRef::from_column_major_slice(&self.values, self.n, self.n * self.t.len())
    }

    /// `n`, the order of `Q`.
    pub fn dim(&self) -> usize {
        self.n
    }

    /// `B`, the number of times.
    pub fn len(&self) -> usize {
        self.t.len()
    }

    /// Whether there are no times.
    pub fn is_empty(&self) -> bool {
        self.t.is_empty()
    }

    /// The Taylor degree `m` shared by the batch.
    pub fn degree(&self) -> usize {
        self.m
    }

    /// The number of squarings `s_b` of every time.
    pub fn squarings(&self) -> &[u32] {
        &self.s
    }

    /// Multiply–adds of the forward pass in units of n×n products (n³): the shared powers,
    /// the combination (`B(m+1)/n`) and the squarings.
    pub fn forward_products(&self) -> f64 {
        let sq: u32 = self.s.iter().sum();
        (self.m.max(NORM_POWERS) - 1) as f64
            + (self.len() * (self.m + 1)) as f64 / self.n.max(1) as f64
            + sq as f64
    }

    /// The reverse pass of `ℓ = Σ_b ⟨G_b, P_b⟩` for the cotangent `G` (n×(n·B), block `b`
    /// the cotangent of `exp(t_b·Q)`): `(Q̄, t̄)` with `Q̄ = ∂ℓ/∂Q` (summed over every time)
    /// and `t̄_b = ∂ℓ/∂t_b`. Panics like [`ExpmTimes::try_adjoint`].
    #[track_caller]
    pub fn adjoint(&self, g: MatRef<'_, T>) -> (Mat<T>, Vec<T>) {
        unwrap_or_panic(self.try_adjoint(g))
    }

    /// [`ExpmTimes::adjoint`]; `Err` for a cotangent of the wrong shape, non-finite, or an
    /// adjoint that overflows.
    pub fn try_adjoint(&self, g: MatRef<'_, T>) -> Result<(Mat<T>, Vec<T>), LinalgError> {
        const OP: &str = "expm_times adjoint";
        let (n, nb, m) = (self.n, self.len(), self.m);
        let nn = n * n;
        if g.shape() != (n, n * nb) {
            return Err(LinalgError::ShapeMismatch {
                op: OP,
                lhs: (n, n * nb),
                rhs: g.shape(),
            });
        }
        check_finite(OP, g)?;
        // R̄: the cotangent of every R_b, column b of an n²×B buffer.
        let mut rbar = vec![T::zero(); nn * nb];
        for (j, c) in rbar.chunks_exact_mut(n).enumerate() {
            for (i, x) in c.iter_mut().enumerate() {
                *x = g[(i, j)];
            }
        }
        let squarings: usize = self.s.iter().map(|&x| x as usize).sum();
        if squarings > 0 {
            // One chain buffer per worker (X_0 … X_{s−1} and a scratch), grown as needed.
            let undo = |chain: &mut Vec<T>, ((gb, &sb), root): ((&mut [T], &u32), &[T])| {
                if sb == 0 {
                    return;
                }
                let sb = sb as usize;
                // X_0 = R_b, X_{i+1} = X_i², i < s_b: recomputed bitwise as the forward did.
                if chain.len() < nn * (sb + 1) {
                    chain.resize(nn * (sb + 1), T::zero());
                }
                chain[..nn].copy_from_slice(root);
                for i in 1..sb {
                    let (done, rest) = chain.split_at_mut(i * nn);
                    mul(
                        &mut rest[..nn],
                        col(done, nn, i - 1),
                        col(done, nn, i - 1),
                        n,
                        false,
                        false,
                    );
                }
                let (xs, tmp) = chain.split_at_mut(sb * nn);
                for i in (0..sb).rev() {
                    square_adjoint(gb, col(xs, nn, i), &mut tmp[..nn], n);
                }
            };
            if parallel(3 * squarings * nn * n) {
                rbar.par_chunks_mut(nn)
                    .zip(self.s.par_iter())
                    .zip(self.roots.par_chunks(nn))
                    .for_each_init(Vec::new, undo);
            } else {
                let mut chain = Vec::new();
                rbar.chunks_mut(nn)
                    .zip(self.s.iter())
                    .zip(self.roots.chunks(nn))
                    .for_each(|x| undo(&mut chain, x));
            }
        }
        let rows = m + 1;
        // H = R̄·Cᵀ (n²×(m+1)) and I = [vec Q^k]ᵀ·R̄ ((m+1)×B).
        let mut h = vec![T::zero(); nn * rows];
        big_product(&mut h, &rbar, (nn, nb, false), &self.coef, (rows, nb, true));
        let mut ip = vec![T::zero(); rows * nb];
        big_product(
            &mut ip,
            &self.powers,
            (nn, rows, true),
            &rbar,
            (nn, nb, false),
        );
        let tbar: Vec<T> = (0..nb)
            .map(|b| {
                let (c, i) = (col(&self.coef, rows, b), col(&ip, rows, b));
                let sum = (1..rows).fold(T::zero(), |acc, k| acc + c[k - 1] * i[k]);
                sum * T::from(0.5f64.powi(self.s[b] as i32)).unwrap()
            })
            .collect();
        // The power chain Q^k = Q^{k−1}·Q, reversed once for the whole batch.
        let q = col(&self.powers, nn, 1);
        let mut qbar = vec![T::zero(); nn];
        for k in (2..rows).rev() {
            let (lo, hi) = h.split_at_mut(k * nn);
            let hk = &hi[..nn];
            mul(&mut qbar, col(&self.powers, nn, k - 1), hk, n, true, true);
            mul_add_bt(&mut lo[(k - 1) * nn..], hk, q, n);
        }
        for (x, &y) in qbar.iter_mut().zip(col(&h, nn, 1)) {
            *x += y;
        }
        if qbar.iter().chain(&tbar).any(|x| !x.is_finite()) {
            return Err(LinalgError::Overflow { op: OP });
        }
        Ok((
            MatRef::from_column_major_slice(&qbar, n, n).to_owned(),
            tbar,
        ))
    }
}

/// `α_m = min max(d_p, d_{p+1})` over `p(p−1) ≤ m+1` (`d_1 = ‖Q‖₁` is always a bound).
fn alpha(d: &[f64], m: usize) -> f64 {
    (1..d.len())
        .take_while(|&p| p * (p - 1) <= m + 1)
        .fold(d[0], |a, p| a.min(d[p - 1].max(d[p])))
}

/// The shared degree `m` and every `s_b`, minimising the multiply–adds of the forward pass.
fn choose<T: Real>(d: &[f64], t: &[T], n: usize) -> (usize, Vec<u32>) {
    let (theta, _) = taylor_theta::<T>();
    let abs_t: Vec<f64> = t
        .iter()
        .map(|x| x.abs().to_f64().unwrap_or(f64::INFINITY))
        .collect();
    let (n2, n3) = ((n * n) as f64, (n * n * n) as f64);
    let mut best: Option<(f64, usize)> = None;
    for m in 1..=MAX_DEGREE {
        let r = alpha(d, m) / theta[m - 1];
        let sq: u64 = abs_t.iter().map(|&x| ceil_log2(x * r) as u64).sum();
        if m < MIN_DEGREE_SQUARED && sq > 0 {
            continue;
        }
        let cost =
            (m.max(NORM_POWERS) - 1) as f64 * n3 + (t.len() * (m + 1)) as f64 * n2 + sq as f64 * n3;
        if best.is_none_or(|(c, _)| cost <= c) {
            best = Some((cost, m));
        }
    }
    let m = best.map_or(MAX_DEGREE, |(_, m)| m);
    let r = alpha(d, m) / theta[m - 1];
    (m, abs_t.iter().map(|&x| ceil_log2(x * r)).collect())
}

#[cfg(test)]
mod tests {
    use super::ceil_log2;

    #[test]
    fn ceil_log2_from_bits() {
        for (x, want) in [
            (0.5, 0),
            (1.0, 0),
            (1.5, 1),
            (2.0, 1),
            (2.1, 2),
            (1024.0, 10),
            (1025.0, 11),
        ] {
            assert_eq!(ceil_log2(x), want, "x = {x}");
        }
        assert_eq!(ceil_log2(f64::NAN), 0);
    }
}
