//! The two scalar bounds of the crate: [`Scalar`] (`f32`, `f64`, `c32`, `c64`) and [`Real`]
//! (`f32`, `f64`).
//!
//! Every algorithm whose mathematics is the same over ℝ and ℂ — the scaling-and-squaring
//! forward, its Fréchet derivative and adjoint, the action and its reverse pass, the norms and
//! estimators — is written once against [`Scalar`]. What a complex scalar changes is collected
//! here, in a handful of methods: norms and the choice of degree and scaling work on moduli
//! ([`Scalar::modulus`], values of the associated real type `T::Real`), the θ tables and Taylor
//! coefficients are real and enter through [`Scalar::from_real`], and every transpose in an
//! adjoint becomes a conjugate transpose (faer's `adjoint()`, which is the transpose for real
//! types). Code that needs an ordering or `num_traits::Float` on the scalar itself (the
//! batched phylogenetic kernels, the condition-number estimate, the diagonal-scaling Jacobian)
//! asks for [`Real`].
//!
//! The method names are distinct from `num_traits::Float`'s (`modulus`, not `abs`;
//! `exponential`, not `exp`) so that real code, which has both traits in scope, is never
//! ambiguous.
//!
//! Tests: `crates/linalg/tests/precision.rs` (f32 against f64), `crates/linalg/tests/complex.rs`.

use core::fmt::Debug;
use core::ops::{Add, AddAssign, Div, Mul, MulAssign, Neg, Sub, SubAssign};
use faer::traits::{ComplexField, RealField};
use faer::{c32, c64};
use num_traits::Float;

/// A scalar the matrix-exponential kernels run on: `f32`, `f64`, `c32` or `c64` (faer's
/// complex types). Implemented for exactly those four; not meant to be implemented elsewhere.
///
/// ```
/// use expgrad_linalg::Scalar;
/// use faer::c64;
/// let z = c64::new(3.0, 4.0);
/// assert_eq!(z.modulus(), 5.0);
/// assert_eq!(z.conjugate(), c64::new(3.0, -4.0));
/// assert_eq!(2.0f64.modulus(), 2.0);
/// assert!(c64::IS_COMPLEX && !f64::IS_COMPLEX);
/// ```
pub trait Scalar:
    ComplexField<Real: RealField + Float + Default + Debug + Send + Sync + 'static>
    + Copy
    + Default
    + Debug
    + Send
    + Sync
    + 'static
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
    + AddAssign
    + SubAssign
    + MulAssign
{
    /// Whether the type is complex (`c32`, `c64`).
    const IS_COMPLEX: bool;
    /// `r + 0i`.
    fn from_real(r: Self::Real) -> Self;
    /// `x` converted from `f64` (a table constant, a count).
    fn lit(x: f64) -> Self {
        Self::from_real(<Self::Real as num_traits::NumCast>::from(x).unwrap_or_else(Float::nan))
    }
    /// The real part.
    fn re(self) -> Self::Real;
    /// The imaginary part (zero for a real type).
    fn im(self) -> Self::Real;
    /// The complex conjugate (the identity for a real type).
    fn conjugate(self) -> Self;
    /// `|z|`.
    fn modulus(self) -> Self::Real;
    /// `|z|²`.
    fn modulus_sq(self) -> Self::Real {
        let (r, i) = (self.re(), self.im());
        r * r + i * i
    }
    /// `e^z`.
    fn exponential(self) -> Self;
    /// `sinh z`.
    fn hyperbolic_sine(self) -> Self;
    /// Whether both parts are finite.
    fn is_finite_value(self) -> bool;
    /// `z · r` for a real `r`.
    fn scale_real(self, r: Self::Real) -> Self;
    /// `re + i·im` (`im` is ignored by a real type).
    fn from_parts(re: Self::Real, im: Self::Real) -> Self;
    /// The slice as its real and imaginary parts interleaved (`[re₀, im₀, re₁, …]`; the slice
    /// itself for a real type): real-coefficient linear combinations run on it at twice the
    /// length instead of as complex products.
    fn as_parts(s: &[Self]) -> &[Self::Real];
    /// [`Scalar::as_parts`], mutable.
    fn as_parts_mut(s: &mut [Self]) -> &mut [Self::Real];
}

/// A real scalar: `f32` or `f64`. The bound of code that needs an ordering or
/// `num_traits::Float` on the scalar itself.
///
/// ```
/// fn needs_real<T: expgrad_linalg::Real>() {}
/// needs_real::<f64>();
/// needs_real::<f32>();
/// ```
pub trait Real: Scalar<Real = Self> + RealField + Float + PartialOrd {}

macro_rules! real {
    ($t:ty) => {
        impl Scalar for $t {
            const IS_COMPLEX: bool = false;
            #[inline(always)]
            fn from_real(r: $t) -> $t {
                r
            }
            #[inline(always)]
            fn re(self) -> $t {
                self
            }
            #[inline(always)]
            fn im(self) -> $t {
                0.0
            }
            #[inline(always)]
            fn conjugate(self) -> $t {
                self
            }
            #[inline(always)]
            fn modulus(self) -> $t {
                self.abs()
            }
            #[inline(always)]
            fn modulus_sq(self) -> $t {
                self * self
            }
            #[inline(always)]
            fn exponential(self) -> $t {
                self.exp()
            }
            #[inline(always)]
            fn hyperbolic_sine(self) -> $t {
                self.sinh()
            }
            #[inline(always)]
            fn is_finite_value(self) -> bool {
                self.is_finite()
            }
            #[inline(always)]
            fn scale_real(self, r: $t) -> $t {
                self * r
            }
            #[inline(always)]
            fn from_parts(re: $t, _im: $t) -> $t {
                re
            }
            #[inline(always)]
            fn as_parts(s: &[$t]) -> &[$t] {
                s
            }
            #[inline(always)]
            fn as_parts_mut(s: &mut [$t]) -> &mut [$t] {
                s
            }
        }
        impl Real for $t {}
    };
}

macro_rules! complex {
    ($t:ty, $r:ty) => {
        impl Scalar for $t {
            const IS_COMPLEX: bool = true;
            #[inline(always)]
            fn from_real(r: $r) -> $t {
                <$t>::new(r, 0.0)
            }
            #[inline(always)]
            fn re(self) -> $r {
                self.re
            }
            #[inline(always)]
            fn im(self) -> $r {
                self.im
            }
            #[inline(always)]
            fn conjugate(self) -> $t {
                <$t>::new(self.re, -self.im)
            }
            #[inline(always)]
            fn modulus(self) -> $r {
                // √(re² + im²) unless the square over- or underflows (then `hypot`, ~10×
                // slower): the norms of the degree selection take n² of these.
                let s = self.re * self.re + self.im * self.im;
                if s.is_finite() && s >= <$r>::MIN_POSITIVE {
                    s.sqrt()
                } else {
                    self.re.hypot(self.im)
                }
            }
            #[inline(always)]
            fn exponential(self) -> $t {
                self.exp()
            }
            #[inline(always)]
            fn hyperbolic_sine(self) -> $t {
                self.sinh()
            }
            #[inline(always)]
            fn is_finite_value(self) -> bool {
                self.re.is_finite() && self.im.is_finite()
            }
            #[inline(always)]
            fn scale_real(self, r: $r) -> $t {
                <$t>::new(self.re * r, self.im * r)
            }
            #[inline(always)]
            fn from_parts(re: $r, im: $r) -> $t {
                <$t>::new(re, im)
            }
            #[inline(always)]
            fn as_parts(s: &[$t]) -> &[$r] {
                bytemuck::cast_slice(s)
            }
            #[inline(always)]
            fn as_parts_mut(s: &mut [$t]) -> &mut [$r] {
                bytemuck::cast_slice_mut(s)
            }
        }
    };
}

real!(f32);
real!(f64);
complex!(c32, f32);
complex!(c64, f64);

/// `x` as the real type of `T` (a table constant, a count).
#[inline]
pub(crate) fn real<T: Scalar>(x: f64) -> T::Real {
    <T::Real as num_traits::NumCast>::from(x).unwrap_or_else(Float::nan)
}

/// `x` as `f64` (for the choice of degree and scaling, done in `f64`).
#[inline]
pub(crate) fn to_f64<R: Float>(x: R) -> f64 {
    x.to_f64().unwrap_or(f64::NAN)
}

/// `2^k` in the real type of `T`.
#[inline]
pub(crate) fn pow2_real<T: Scalar>(k: i32) -> T::Real {
    real::<T>(2.0).powi(k)
}

/// `2^k` as a `T`.
#[inline]
pub(crate) fn pow2<T: Scalar>(k: i32) -> T {
    T::from_real(pow2_real::<T>(k))
}

/// `x / r` for a real `r`, part by part (for a real type exactly `x / r`; for a complex one it
/// avoids the complex division by `r + 0i`, which rounds `re·r/r²` and can overflow `r²`).
#[inline]
pub(crate) fn div_real<T: Scalar>(x: T, r: T::Real) -> T {
    T::from_parts(x.re() / r, x.im() / r)
}
