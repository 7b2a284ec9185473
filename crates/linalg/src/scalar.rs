//! [`Scalar`]: the one bound every kernel of this crate is written against.
//!
//! Today a `Scalar` is a real floating-point type that faer can factor (`f32`, `f64`): faer's
//! [`RealField`] for the linear algebra, and [`num_traits::Float`] for what faer's field traits
//! do not provide — `is_finite`/`is_nan` (the finiteness checks), `abs`, `max`/`min` and the
//! ordering used by the norm estimates and the choice of degree and scaling, `exp`, `ln`,
//! `powf`, and the conversions `T::from(f64)`/`to_f64` for the θ tables. That list is the
//! seam a complex scalar will have to cross: for `c64` those operations act on the modulus or
//! on the real part, so the complex work replaces the `Float` half of this bound with a narrower
//! trait of exactly those operations (with an associated real type for norms), leaving every
//! signature that says `T: Scalar` unchanged.
//!
//! Tests: `crates/linalg/tests/precision.rs` (f32 against f64).

use faer::traits::RealField;
use num_traits::Float;

/// A scalar the matrix-exponential kernels run on: `f32` or `f64`. Blanket-implemented; never
/// implement it by hand.
///
/// ```
/// fn needs_scalar<T: expgrad_linalg::Scalar>() {}
/// needs_scalar::<f64>();
/// needs_scalar::<f32>();
/// ```
pub trait Scalar: RealField + Float + 'static {}

impl<T: RealField + Float + 'static> Scalar for T {}
