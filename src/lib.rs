//! # expgrad
//!
//! Reverse-mode automatic differentiation whose first-class primitive is the matrix
//! exponential. This facade re-exports the workspace crates:
//!
//! * [`linalg`] (`expgrad-linalg`): `exp(A)`, its Fréchet derivative and the factored
//!   [`linalg::Expm`] cache.
//! * [`tape`] (`expgrad-tape`): the reverse-mode tape, with `expm` as one primitive node, the
//!   public custom-op trait [`tape::Op`] and [`tape::gradcheck`].
//! * [`diag`] (`expgrad-diag`): diagonal scaling ops `Diag(d)·A`, `A·Diag(d)`, built only on
//!   the public op trait, so `∂(exp(Diag(d)·A)·v)/∂d` falls out of generic backprop.
//! * [`reference`](mod@reference): slow reference routes to `∂(exp(Diag(d)A)v)/∂d` (Fréchet columns, the
//!   Kronecker closed form) for tests and teaching.
//! * [`optim`]: L-BFGS (robust to trial points that overflow), Adam, and an argmin adapter,
//!   driven by a closure returning the loss and its gradient.
//! * [`prelude`]: the names a model needs.
//! * [`faer`]: the matrix crate, re-exported so that one dependency suffices.
//!
//! ```
//! use expgrad::linalg::{expm, Expm};
//! use faer::mat;
//!
//! let a = mat![[0.0, 1.0], [-1.0, 0.0f64]];
//! let ea = expm(a.as_ref());
//! assert!((ea[(0, 1)] - 1f64.sin()).abs() < 1e-15);
//! let grad = Expm::new(a.as_ref()).frechet_adjoint(mat![[1.0, 0.0], [0.0, 1.0]].as_ref());
//! assert_eq!(grad.shape(), (2, 2));
//! ```
#![warn(missing_docs)]

#[doc(no_inline)]
pub use faer;

#[doc(inline)]
pub use expgrad_diag as diag;
#[doc(inline)]
pub use expgrad_linalg as linalg;
pub mod optim;
pub mod reference;
#[doc(inline)]
pub use expgrad_tape as tape;

/// The names a model needs: `use expgrad::prelude::*;`.
pub mod prelude {
    pub use expgrad_diag::{
        SparseOrDense, diag_mul, expm_jacobian, expm_multiply_diag, expm_multiply_mul_diag,
        mul_diag,
    };
    pub use expgrad_linalg::{Expm, expm};
    pub use expgrad_tape::{
        Gradients, IntoVar, Tape, Var, add_n, hessian, hvp, jvp, value_and_grad,
    };
    pub use faer::Mat;
}

#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;

#[doc = include_str!("../docs/from_jax.md")]
#[cfg(doctest)]
pub struct FromJaxDoctests;
