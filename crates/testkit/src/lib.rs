//! Dev-only fixtures shared by the tests and benches of the expgrad workspace (unpublished,
//! `publish = false`; only ever a dev-dependency).
//!
//! * [`random`]: a seeded [`StdRng`](rand::rngs::StdRng), standard-normal and uniform
//!   matrices, random sparse matrices;
//! * [`sparse`]: the nonzeros of a dense matrix as triplets and CSC/CSR copies of it, and
//!   [`Triplets`], a square matrix assembled from triplets into CSR, CSC or dense form;
//! * [`laplacian`]: negated 1-D and 2-D finite-difference Laplacians (Dirichlet or Neumann);
//! * [`markov`]: Markov generators (dense and CSR);
//! * [`panic_message`]: the message of an expected panic;
//! * `cpu_clock` (feature `criterion`): `ThreadCpuTime`, a criterion measurement of the
//!   thread's CPU time.
//!
//! Every fixture reproduces, draw for draw, the copy it replaced: where two copies differed
//! (e.g. the order of random draws), both are here under their own names, so every test
//! computes the same numbers as before.

#[cfg(feature = "criterion")]
pub mod cpu_clock;
pub mod laplacian;
pub mod markov;
pub mod random;
pub mod sparse;

#[cfg(feature = "criterion")]
pub use cpu_clock::{ThreadCpuTime, cpu_time};
pub use laplacian::{Boundary, neg_laplacian_1d, neg_laplacian_2d};
pub use markov::{into_generator, markov_csr, markov_dense, ring_generator};
pub use random::{crandn, normal, rand_mat, randn, randn_scaled, random_sparse, rng, uniform_mat};
pub use sparse::{Triplets, csc, csr, triplets};

use std::panic::{AssertUnwindSafe, catch_unwind};

/// The message of the panic that `f` is expected to raise (`String` or `&str` payload; empty
/// for any other payload). Panics if `f` returns normally.
pub fn panic_message(f: impl FnOnce()) -> String {
    let err = catch_unwind(AssertUnwindSafe(f)).expect_err("expected a panic");
    err.downcast_ref::<String>()
        .cloned()
        .or_else(|| err.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}
