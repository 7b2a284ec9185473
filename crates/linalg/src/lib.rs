//! # expgrad-linalg
//!
//! Dense numerics for the matrix exponential on [faer]: `exp(A)` by scaling and squaring
//! (Al-Mohy & Higham 2009), its Fréchet derivative `L(A, E)` and adjoint `L(Aᵀ, G)` (Al-Mohy
//! & Higham 2009, Algorithm 6.4), and the factored [`Expm`] that reuses one forward pass for
//! any number of derivative directions. Knows nothing of AD.
//! For large sparse or structured `X`, [`expm_multiply`] computes the action `exp(tX)·V`
//! (Al-Mohy & Higham 2011) through a [`LinOp`], and [`ExpmAction`] tapes it for an exact
//! discrete-adjoint reverse pass (`V̄`, `t̄`, and `X̄` as low-rank terms, e.g. `d̄` of
//! `Diag(d)·A` via [`DiagCotangent`]). The exponential, its derivatives and the action are
//! generic over [`Scalar`] (`f32`, `f64`, `c32`, `c64`; complex cotangents are those of
//! `Re tr(Aᴴ B)`); the batched [`ExpmBatch`] and [`ExpmTimes`] over [`Real`].
//!
//! ```
//! use expgrad_linalg::{expm, expm_frechet, Expm};
//! use faer::mat;
//!
//! let a = mat![[-1.0, 2.0], [0.5, -3.0f64]];
//! let e = mat![[0.0, 1.0], [0.0, 0.0f64]];
//! let ea = expm(a.as_ref());
//! let (ea2, l) = expm_frechet(a.as_ref(), e.as_ref());
//! assert!((&ea - &ea2).norm_max() < 1e-15);
//! // The VJP of exp: ⟨G, L(A, E)⟩ = ⟨L(Aᵀ, G), E⟩.
//! let g = mat![[1.0, -2.0], [0.25, 3.0f64]];
//! let f = Expm::new(a.as_ref());
//! let lhs = (g.transpose() * &l).diagonal().column_vector().sum();
//! let rhs = (f.frechet_adjoint(g.as_ref()).transpose() * &e).diagonal().column_vector().sum();
//! assert!((lhs - rhs).abs() < 1e-14);
//! ```
#![warn(missing_docs)]

mod action;
mod batch;
mod error;
mod expm;
mod finite;
#[doc(hidden)]
pub mod kernels;
mod memory;
mod norm;
mod onenormest;
mod scalar;

#[allow(deprecated)]
pub use action::RankOne;
pub use action::{
    ActionBudget, ActionCotangent, ActionDualCotangent, ActionParams, ActionStats, ActionTangent,
    ActionWorkspace, DEFAULT_STORE_BUDGET_BYTES, DenseCotangent, DiagCotangent, DiagScaled,
    ExpmAction, ExpmActionOptions, ExpmActionTimes, GradLinOp, LinOp, LowRankTerm, NoCotangent,
    PooledAction, Side, SparsePatternCotangent, StorePolicy, expm_multiply, try_expm_multiply,
    try_expm_multiply_with,
};
pub use batch::{ExpmBatch, ExpmTimes, TimesAdjointTangent};
pub use error::LinalgError;
#[doc(hidden)]
pub use expm::force_factored_second_order;
pub use expm::{
    Expm, ExpmFamily, expm, expm_frechet, try_expm, try_expm_diag_jacobian, try_expm_frechet,
};
pub use expm::{expm_frechet_block, expm_frechet2_block, try_expm_frechet2_block};
pub use norm::{norm_inf, norm1};
pub use scalar::{Real, Scalar};

#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
