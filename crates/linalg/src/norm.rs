//! Induced matrix norms and a deterministic 1-norm estimator.
//!
//! faer's `Mat::norm_l1` is the *entrywise* sum of absolute values; the scaling-and-squaring
//! algorithms need the *induced* 1-norm `‖A‖₁ = max_j Σ_i |a_ij|` (the largest column sum),
//! which is what [`norm1`] returns.

use crate::Scalar;
use crate::kernels::{matmul_into, par_for};
use crate::onenormest::onenormest;
use crate::scalar::real;
use faer::{Mat, MatRef, unzip, zip};
use num_traits::{Float, ToPrimitive};

/// Induced 1-norm `‖A‖₁ = max_j Σ_i |a_ij|` (largest absolute column sum). 0 for empty `A`.
///
/// ```
/// let a = faer::mat![[1.0, -2.0], [3.0, 4.0f64]];
/// assert_eq!(expgrad_linalg::norm1(a.as_ref()), 6.0);
/// ```
pub fn norm1<T: Scalar>(a: MatRef<'_, T>) -> T::Real {
    let zero = <T::Real as num_traits::Zero>::zero();
    let by = |modulus: fn(T) -> T::Real| {
        a.col_iter()
            .map(|c| c.iter().fold(zero, |s, x| s + modulus(*x)))
            .fold(zero, |m, x| m.max(x))
    };
    if !T::IS_COMPLEX {
        return by(T::modulus);
    }
    // √(re² + im²) without a range check vectorises. A square that underflowed (|z| < √min)
    // changes a column sum by at most n·√min, below u·lo; one that overflowed makes the result
    // infinite or above hi. Outside [lo, hi], redo with the guarded modulus.
    let fast = by(|x: T| (x.re() * x.re() + x.im() * x.im()).sqrt());
    let n = crate::scalar::real::<T>(a.nrows().max(1) as f64);
    let lo = <T::Real as Float>::min_positive_value().sqrt() / <T::Real as Float>::epsilon() * n;
    let hi = <T::Real as Float>::max_value().sqrt() / n;
    if fast.is_finite() && fast >= lo && fast <= hi {
        fast
    } else {
        by(T::modulus)
    }
}

/// Induced ∞-norm `‖A‖∞ = max_i Σ_j |a_ij|` (largest absolute row sum). 0 for empty `A`.
///
/// ```
/// let a = faer::mat![[1.0, -2.0], [3.0, 4.0f64]];
/// assert_eq!(expgrad_linalg::norm_inf(a.as_ref()), 7.0);
/// ```
pub fn norm_inf<T: Scalar>(a: MatRef<'_, T>) -> T::Real {
    norm1(a.transpose())
}

/// `log2 ‖A‖₁`, computed without overflow even when the column sums exceed the
/// floating-point range (entries near `T::MAX`). `-inf` for a zero matrix.
pub(crate) fn log2_norm1<T: Scalar>(a: MatRef<'_, T>) -> T::Real {
    let big = norm1(a);
    if big.is_finite() {
        return big.log2();
    }
    // Every entry is finite (checked by callers), so scaling by 2^-64 cannot overflow the sum
    // (the modulus of a complex entry is at most √2 times its largest part).
    let zero = <T::Real as num_traits::Zero>::zero();
    let k = real::<T>(64.0);
    let scale = real::<T>(2.0).powf(-k);
    let scaled = a.col_iter().map(|c| {
        c.iter()
            .fold(zero, |s, x| s + x.scale_real(scale).modulus())
    });
    scaled.fold(zero, |m, x| m.max(x)).log2() + k
}

/// `log2 ‖ |A|^p ‖₁` exactly, for increasing `p`: for a nonnegative matrix the 1-norm is the
/// largest entry of `(|A|ᵀ)^p 1`, so each further power is one matrix–vector product (faer's
/// SIMD kernel), O(n²). The vector is renormalised at every step so that it neither overflows
/// nor underflows; `-inf` once `|A|^p = 0` (nilpotent).
pub(crate) struct AbsPowerNorms<T: Scalar> {
    abs_t: Mat<T::Real>,
    r: Mat<T::Real>,
    tmp: Mat<T::Real>,
    p: usize,
    log2: f64,
}

impl<T: Scalar> AbsPowerNorms<T> {
    pub(crate) fn new(a: MatRef<'_, T>) -> Self {
        let n = a.nrows();
        Self {
            abs_t: {
                let mut m = crate::memory::zeros::<T::Real>(n, n);
                zip!(&mut m, a.transpose()).for_each(|unzip!(m, x)| *m = x.modulus());
                m
            },
            r: Mat::from_fn(n, 1, |_, _| real::<T>(1.0)),
            tmp: Mat::zeros(n, 1),
            p: 0,
            log2: 0.0,
        }
    }

    /// `log2 ‖ |A|^p ‖₁` for `p` ≥ every `p` asked before.
    pub(crate) fn log2_norm(&mut self, p: usize) -> f64 {
        while self.p < p && self.log2 > f64::NEG_INFINITY {
            matmul_into(
                self.tmp.as_mut(),
                self.abs_t.as_ref(),
                self.r.as_ref(),
                faer::Par::Seq,
            );
            let zero = real::<T>(0.0);
            let m = self.tmp.col(0).iter().fold(zero, |m, x| m.max(*x));
            if m == zero {
                self.log2 = f64::NEG_INFINITY;
                break;
            }
            let inv = m.recip();
            zip!(&mut self.r, &self.tmp).for_each(|unzip!(r, t)| *r = *t * inv);
            self.log2 += m.log2().to_f64().unwrap();
            self.p += 1;
        }
        self.log2
    }
}

impl<T: Scalar> Drop for AbsPowerNorms<T> {
    fn drop(&mut self) {
        crate::memory::recycle(core::mem::replace(&mut self.abs_t, Mat::new()));
    }
}

/// Below this size the powers whose norms the scaling needs are formed exactly (cheaper
/// there than the estimator's overhead); above, they are estimated.
pub(crate) const EXACT_NORMS_BELOW: usize = 48;

/// Lower bound (usually exact) for `‖F₁F₂⋯F_k‖₁` where every factor is n×n.
///
/// For `n ≤ EXACT_BELOW` the product is formed and its norm taken exactly (cheaper than the
/// iteration there). Above, the block 1-norm estimator of Higham & Tisseur (SIAM J. Matrix
/// Anal. Appl. 21(4), 2000, Algorithm 2.4) with `t = 2` columns, at most 5 iterations, using
/// only products of the factors with n×2 blocks; its starting block is fixed, so the result
/// is deterministic.
pub(crate) fn norm1_of_product<T: Scalar>(factors: &[MatRef<'_, T>]) -> T::Real {
    let n = factors[0].nrows();
    if n <= EXACT_NORMS_BELOW {
        let mut acc = factors[factors.len() - 1].to_owned();
        let mut tmp = Mat::<T>::zeros(n, n);
        for f in factors[..factors.len() - 1].iter().rev() {
            matmul_into(tmp.as_mut(), *f, acc.as_ref(), par_for(n));
            core::mem::swap(&mut acc, &mut tmp);
        }
        return norm1(acc.as_ref());
    }
    onenormest(n, |x, transpose| {
        // Bᴴx = conj(Bᵀ conj(x)): the transposed products on conjugated blocks.
        let mut cur = if transpose {
            crate::kernels::conjugated(x)
        } else {
            x.to_owned()
        };
        let mut tmp = Mat::<T>::zeros(n, x.ncols());
        let order: Vec<usize> = if transpose {
            (0..factors.len()).collect()
        } else {
            (0..factors.len()).rev().collect()
        };
        for i in order {
            let f = if transpose {
                factors[i].transpose()
            } else {
                factors[i]
            };
            matmul_into(tmp.as_mut(), f, cur.as_ref(), par_for(n));
            core::mem::swap(&mut cur, &mut tmp);
        }
        if transpose && T::IS_COMPLEX {
            cur = crate::kernels::conjugated(cur.as_ref());
        }
        cur
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lcg_mat(n: usize, seed: u64) -> Mat<f64> {
        let mut state = seed;
        Mat::from_fn(n, n, |_, _| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
        })
    }

    #[test]
    fn induced_norms() {
        let a = faer::mat![[1.0, -2.0, 0.5], [3.0, 4.0, -7.0]];
        assert_eq!(norm1(a.as_ref()), 7.5);
        assert_eq!(norm_inf(a.as_ref()), 14.0);
        assert_eq!(norm1(Mat::<f64>::zeros(0, 0).as_ref()), 0.0);
    }

    #[test]
    fn log2_norm_survives_huge_entries() {
        let a = Mat::<f64>::from_fn(3, 3, |_, _| f64::MAX / 2.0);
        let got = log2_norm1(a.as_ref());
        let want = (f64::MAX / 2.0).log2() + 3f64.log2();
        assert!((got - want).abs() < 1e-12, "{got} vs {want}");
    }

    #[test]
    fn abs_power_norm_matches_dense_power() {
        let a = lcg_mat(7, 3);
        let abs = a.map(|x| x.abs());
        let mut p = abs.clone();
        for _ in 1..5 {
            p = &p * &abs;
        }
        let want = norm1(p.as_ref()).log2();
        let mut norms = AbsPowerNorms::new(a.as_ref());
        assert!((norms.log2_norm(1) - norm1(abs.as_ref()).log2()).abs() < 1e-12);
        let got = norms.log2_norm(5);
        assert!((got - want).abs() < 1e-12);
        let nil = faer::mat![[0.0, 1.0], [0.0, 0.0f64]];
        assert_eq!(
            AbsPowerNorms::new(nil.as_ref()).log2_norm(3),
            f64::NEG_INFINITY
        );
    }

    #[test]
    fn estimator_is_a_tight_lower_bound() {
        for (n, seed) in [(60usize, 1u64), (100, 2), (130, 3)] {
            let a = lcg_mat(n, seed);
            let b = lcg_mat(n, seed + 10);
            let exact = norm1((&a * &b).as_ref());
            let est: f64 = onenormest(n, |x, tr| {
                if tr {
                    b.transpose() * (a.transpose() * x)
                } else {
                    &a * (&b * x)
                }
            });
            assert!(
                est <= exact * (1.0 + 1e-12),
                "estimate {est} above the norm {exact}"
            );
            assert!(est >= 0.5 * exact, "estimate {est} far below {exact}");
            let via = norm1_of_product(&[a.as_ref(), b.as_ref()]);
            assert_eq!(via, est);
        }
    }
}
