//! The error type of the tape.

use core::fmt;
use expgrad_linalg::LinalgError;

/// What can go wrong when recording or differentiating.
///
/// Every op has a `try_` form returning `Result<Var, TapeError>`; the plain form panics with
/// this error's message, which names the op and the shapes.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum TapeError {
    /// Operand shapes do not fit the op.
    ShapeMismatch {
        /// Name of the op.
        op: &'static str,
        /// Shape of the first operand.
        lhs: (usize, usize),
        /// Shape of the second operand (or the requested shape).
        rhs: (usize, usize),
    },
    /// The op needs a square matrix.
    NotSquare {
        /// Name of the op.
        op: &'static str,
        /// Shape that was given.
        shape: (usize, usize),
    },
    /// `backward()` needs a 1×1 output (use `backward_with` otherwise).
    NotScalar {
        /// Name of the call.
        op: &'static str,
        /// Shape of the output.
        shape: (usize, usize),
    },
    /// A `Var` of another tape (or of a tape cleared since) was passed.
    ForeignVar {
        /// Name of the op.
        op: &'static str,
    },
    /// An input lies outside the op's domain (e.g. `log` of a non-positive entry), or a seed
    /// or value is NaN/∞.
    Domain {
        /// Name of the op.
        op: &'static str,
        /// What is wrong.
        what: &'static str,
    },
    /// A value (an input, an op's result, or a cotangent in the backward pass) holds a NaN or
    /// an infinity: expgrad reports it at the op that produced it, never propagates it.
    NonFinite {
        /// The op (or `var`, `constant`, `backward`) where it appeared.
        op: &'static str,
    },
    /// A forward-mode or second-order sweep reached an op that does not implement the rule
    /// (a custom op that overrides only `forward` and `vjp`): implement [`Op::jvp`] and
    /// [`Op::vjp_jvp`](crate::Op::vjp_jvp) for it.
    ///
    /// [`Op::jvp`]: crate::Op::jvp
    NoRule {
        /// Name of the op.
        op: &'static str,
        /// The missing rule, `"jvp"` or `"vjp_jvp"`.
        rule: &'static str,
    },
    /// An error of the numerical kernel other than a shape or a non-finite input: an
    /// overflow, an exceeded [`ActionBudget`](expgrad_linalg::ActionBudget).
    Linalg(LinalgError),
}

impl fmt::Display for TapeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ShapeMismatch { op, lhs, rhs } => {
                write!(
                    f,
                    "{op}: shape mismatch: {}x{} vs {}x{}",
                    lhs.0, lhs.1, rhs.0, rhs.1
                )
            }
            Self::NotSquare { op, shape } => {
                write!(
                    f,
                    "{op}: expected a square matrix, got shape {}x{}",
                    shape.0, shape.1
                )
            }
            Self::NotScalar { op, shape } => write!(
                f,
                "{op}: the output must be 1x1, got shape {}x{} (use backward_with for a seed)",
                shape.0, shape.1
            ),
            Self::ForeignVar { op } => {
                write!(
                    f,
                    "{op}: a Var from another tape (or from before tape.clear()) was used"
                )
            }
            Self::Domain { op, what } => write!(f, "{op}: {what}"),
            Self::NonFinite { op } => write!(
                f,
                "{op}: NaN or infinite entries (overflow or invalid input)"
            ),
            Self::NoRule { op, rule } => write!(
                f,
                "{op}: the op has no {rule} rule (implement Op::{rule} to use it in forward mode or second order)"
            ),
            Self::Linalg(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for TapeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Linalg(e) => Some(e),
            _ => None,
        }
    }
}

/// One variant per condition: a kernel's shape and finiteness errors become the tape's own
/// ([`ShapeMismatch`](TapeError::ShapeMismatch), [`NotSquare`](TapeError::NotSquare),
/// [`NonFinite`](TapeError::NonFinite)); the rest (overflow, budget) are wrapped.
impl From<LinalgError> for TapeError {
    fn from(e: LinalgError) -> Self {
        match e {
            LinalgError::NotSquare { op, shape } => Self::NotSquare { op, shape },
            LinalgError::ShapeMismatch { op, lhs, rhs } => Self::ShapeMismatch { op, lhs, rhs },
            LinalgError::NonFinite { op } => Self::NonFinite { op },
            LinalgError::Domain { op, what } => Self::Domain { op, what },
            e => Self::Linalg(e),
        }
    }
}

/// Unwraps, panicking with the error's message.
#[track_caller]
pub(crate) fn unwrap_or_panic<V>(r: Result<V, TapeError>) -> V {
    match r {
        Ok(v) => v,
        Err(e) => panic!("{e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_is_send_sync() {
        fn check<E: std::error::Error + Send + Sync + 'static>() {}
        check::<TapeError>();
    }
}
