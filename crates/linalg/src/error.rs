//! The one error type of `expgrad-linalg`.

use core::fmt;

/// What can go wrong in a linear-algebra kernel.
///
/// Every fallible function has a `try_` form returning `Result<_, LinalgError>`; the
/// plain form panics with this error's [`Display`](fmt::Display) message, which names the
/// op and the shapes involved.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum LinalgError {
    /// The op needs a square matrix.
    NotSquare {
        /// Name of the op, e.g. `"expm"`.
        op: &'static str,
        /// Shape `(nrows, ncols)` that was given.
        shape: (usize, usize),
    },
    /// Two operands have shapes that do not fit together.
    ShapeMismatch {
        /// Name of the op.
        op: &'static str,
        /// Shape of the first operand.
        lhs: (usize, usize),
        /// Shape of the second operand.
        rhs: (usize, usize),
    },
    /// An input holds a NaN or an infinity.
    NonFinite {
        /// Name of the op.
        op: &'static str,
    },
    /// The exact result has entries too large for the floating-point type.
    Overflow {
        /// Name of the op.
        op: &'static str,
    },
    /// The action of the exponential would exceed its work or memory budget
    /// ([`ActionBudget`](crate::ActionBudget)): its cost grows like `‖tX‖`, so a huge `|t|`
    /// is refused before anything is computed or allocated.
    Budget {
        /// Name of the op.
        op: &'static str,
        /// `‖tX‖`, the norm the parameters were chosen from (`|t|·min(‖X − μI‖₁,
        /// ‖X − μI‖∞)`; NaN when the parameters were fixed by the caller).
        norm: f64,
        /// Matrix–vector products the evaluation would take (`k·m·s`).
        products: f64,
        /// Bytes it would hold (stored Taylor vectors or checkpoints, and work blocks).
        bytes: f64,
        /// The budget's product limit.
        max_products: usize,
        /// The budget's byte limit.
        max_bytes: usize,
    },
    /// An input lies outside the op's domain (e.g. observation times that are not sorted).
    Domain {
        /// Name of the op.
        op: &'static str,
        /// What is wrong.
        what: &'static str,
    },
}

impl fmt::Display for LinalgError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotSquare { op, shape } => write!(
                f,
                "{op}: expected a square matrix, got shape {}x{}",
                shape.0, shape.1
            ),
            Self::ShapeMismatch { op, lhs, rhs } => write!(
                f,
                "{op}: shape mismatch: {}x{} vs {}x{}",
                lhs.0, lhs.1, rhs.0, rhs.1
            ),
            Self::NonFinite { op } => write!(f, "{op}: input contains NaN or infinite entries"),
            Self::Domain { op, what } => write!(f, "{op}: {what}"),
            Self::Overflow { op } => {
                write!(f, "{op}: the result overflows the floating-point range")
            }
            Self::Budget {
                op,
                norm,
                products,
                bytes,
                max_products,
                max_bytes,
            } => write!(
                f,
                "{op}: ‖tX‖ = {norm:.3e} needs {products:.3e} matrix-vector products and \
                 {bytes:.3e} bytes, over the budget of {max_products} products and {max_bytes} \
                 bytes (raise ActionBudget in the options, or use the dense expm)"
            ),
        }
    }
}

impl std::error::Error for LinalgError {}

impl LinalgError {
    /// The same error, attributed to the op `name` (a caller reporting a kernel's error under
    /// its own name, e.g. a tape node).
    pub fn with_op(mut self, name: &'static str) -> Self {
        match &mut self {
            Self::NotSquare { op, .. }
            | Self::ShapeMismatch { op, .. }
            | Self::NonFinite { op }
            | Self::Overflow { op }
            | Self::Budget { op, .. }
            | Self::Domain { op, .. } => *op = name,
        }
        self
    }
}

/// Unwraps `r`, panicking with the error's message (the panicking form of every `try_` op).
#[track_caller]
pub(crate) fn unwrap_or_panic<V>(r: Result<V, LinalgError>) -> V {
    match r {
        Ok(v) => v,
        Err(e) => panic!("{e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_is_send_sync_static() {
        fn check<E: std::error::Error + Send + Sync + 'static>() {}
        check::<LinalgError>();
    }

    #[test]
    fn messages_name_op_and_shapes() {
        let e = LinalgError::ShapeMismatch {
            op: "expm_frechet",
            lhs: (3, 3),
            rhs: (2, 3),
        };
        assert_eq!(e.to_string(), "expm_frechet: shape mismatch: 3x3 vs 2x3");
        let e = LinalgError::NotSquare {
            op: "expm",
            shape: (2, 5),
        };
        assert_eq!(
            e.to_string(),
            "expm: expected a square matrix, got shape 2x5"
        );
        assert!(
            LinalgError::NonFinite { op: "expm" }
                .to_string()
                .contains("NaN")
        );
        assert!(
            LinalgError::Overflow { op: "expm" }
                .to_string()
                .starts_with("expm: ")
        );
    }
}
