//! # expgrad-tape
//!
//! A reverse-mode tape over [faer] matrices whose first-class primitive is the matrix
//! exponential: [`Var::expm`] is ONE node whose VJP is the adjoint Fréchet derivative
//! `L(Xᵀ, F̄)` from the cached forward factorisation ([`expgrad_linalg::Expm`]).
//!
//! ```
//! use expgrad_tape::Tape;
//! use faer::Mat;
//!
//! let n = 4;
//! let tape = Tape::new();
//! let x = tape.var(Mat::from_fn(n, n, |i, j| 0.1 * (i as f64 - j as f64)));
//! let v = tape.constant(Mat::from_fn(n, 1, |i, _| 1.0 + i as f64));
//! let c = tape.constant(Mat::from_fn(n, 1, |i, _| if i == 0 { 1.0 } else { 0.0 }));
//! let loss = c.dot(x.expm().matmul(v));     // cᵀ e^X v
//! let grads = loss.backward();
//! let gx = grads.wrt(x);                    // L(Xᵀ, c vᵀ)
//! assert_eq!(gx.shape(), (n, n));
//! assert!(grads.get(v).is_none());          // constants get no adjoint
//! ```
//!
//! * [`Tape`] holds the nodes; [`Var`] is a `Copy` handle; ops are methods on `Var`.
//! * [`Op`] is the public custom-op trait every built-in op implements ([`ops`]).
//! * [`gradcheck`] / [`assert_gradcheck!`] check any op or model against finite differences.
#![warn(missing_docs)]

mod cotangent;
mod error;
mod forward_mode;
mod functional;
mod gradients;
mod op;
mod operand;
pub mod ops;
mod tape;
pub mod testing;
mod var;

/// faer, for the paths of [`linear_rules!`] and [`multilinear_rules!`] in user crates.
#[doc(hidden)]
pub use faer as __faer;

pub use cotangent::Cotangent;
pub use error::TapeError;
pub use functional::{
    hessian, hvp, jvp, try_hessian, try_hvp, try_jvp, try_value_and_grad, value_and_grad,
};
pub use gradients::Gradients;
pub use op::{
    DualCotangent, Op, Tangents, linear_jvp, linear_vjp_jvp, multilinear_jvp, multilinear_vjp_jvp,
};
pub use operand::{IntoVar, ScaleFactor};
pub use ops::{add_n, try_add_n};
pub use tape::Tape;
pub use testing::{
    GradcheckOptions, GradcheckReport, HvpReport, InputReport, JvpReport, gradcheck,
    gradcheck_with, hvpcheck, hvpcheck_with, jvpcheck, jvpcheck_with,
};
pub use var::Var;

/// The scalar types of the tape: those of the kernels, [`expgrad_linalg::Real`] (`f32`, `f64`).
pub use expgrad_linalg::{Real, Scalar};

#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
