//! The action of the matrix exponential, `exp(tX)·V`, for large sparse or structured `X`,
//! and its exact discrete-adjoint reverse pass (docs/math.md §8).
//!
//! Forward: Al-Mohy & Higham, *Computing the action of the matrix exponential, with an
//! application to exponential integrators*, SIAM J. Sci. Comput. 33(2), 2011 (Algorithm 3.2):
//! `s` steps of a degree-`m` truncated Taylor series of `exp(τ(X − μI))`, `τ = t/s`, with
//! early termination, using only products with `X` ([`LinOp`]). Reverse: the adjoint of that
//! recurrence, with products with `Xᵀ`; `X̄` is handed over as rank-one terms
//! ([`ActionCotangent`]) that a structured operator contracts in O(nnz) per term.
//!
//! Generic over [`Scalar`](crate::Scalar): over `c32`/`c64` (e.g. `X = H` Hermitian,
//! `t = −iτ`, the propagator) the norms, the choice of `(m, s)` and the stopping test work on
//! moduli, `μ` and `η` are complex, [`LinOp::apply_transpose`] stays the plain transpose, and
//! the reverse pass returns the cotangents of `Re tr(Aᴴ B)` by conjugating at its entry and
//! exit (docs/math.md §8, "The action over complex scalars").
//!
//! Files: `linop` (the operator trait, dense impls), `sparse` (CSC/CSR), `diag_scaled`
//! (`Diag(d)·A`, `A·Diag(d)`), `theta` (the θ_m tables), `options`, `params` (choice of
//! `(m, s)`), `taylor` (the one step kernel), `forward` (untaped), `taped` ([`ExpmAction`]
//! and its reverse pass), `cotangent`, `diag_cotangent`, `pattern_cotangent` (sinks), `workspace` (recycled blocks).

mod adjoint;
mod forward;
mod op;
pub(crate) mod plan;
mod taylor;
mod workspace;

#[allow(deprecated)]
pub use adjoint::RankOne;
pub use adjoint::{
    ActionCotangent, ActionDualCotangent, ActionTangent, DenseCotangent, DiagCotangent, ExpmAction,
    ExpmActionTimes, LowRankTerm, NoCotangent, PooledAction, SparsePatternCotangent,
};
pub use forward::{ActionStats, expm_multiply, try_expm_multiply, try_expm_multiply_with};
pub use op::{DiagScaled, GradLinOp, LinOp, Side};
pub use plan::{
    ActionBudget, ActionParams, DEFAULT_STORE_BUDGET_BYTES, ExpmActionOptions, StorePolicy,
};
pub use workspace::ActionWorkspace;
