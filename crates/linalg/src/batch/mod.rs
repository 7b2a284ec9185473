//! Many exponentials at once, each batch one object with one reverse pass.
//!
//! * [`ExpmTimes`]: one generator at many times, `P_b = exp(t_b·Q)`, b = 1..B (phylogenetic
//!   branch lengths, observation intervals of a continuous-time Markov model). The powers of
//!   `Q` are formed once and every `P_b` is a combination of them, so the per-time cost is a
//!   column of one matrix product plus its own squarings (docs/math.md §15).
//! * [`ExpmBatch`]: `B` independent matrices, each through [`Expm`](crate::Expm), in parallel
//!   above a measured size.
//!
//! Both hold the `B` results side by side in one `n×(n·B)` matrix, block `b` in columns
//! `b·n..(b+1)·n`: the layout the tape's batched nodes use.
//!
//! Tests: `crates/linalg/tests/batch.rs`.

mod independent;
mod kernels;
mod times;

pub use independent::ExpmBatch;
pub use times::{ExpmTimes, TimesAdjointTangent};

/// Work (multiply–adds) from which a batch runs its per-matrix loop on all Rayon threads.
pub(crate) const PARALLEL_WORK: usize = 1 << 18;
