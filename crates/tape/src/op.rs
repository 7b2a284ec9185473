//! The custom-op trait: how every primitive, built-in or not, enters the tape.

use crate::Scalar;
use crate::cotangent::{Cotangent, vjp_dense};
use crate::error::TapeError;
use faer::{Mat, MatRef};

/// A differentiable primitive.
///
/// `forward` maps input values to the output value and the residuals the VJP needs (JAX's
/// `fwd -> (out, res)`); `vjp` maps the output cotangent `ḡ` to one cotangent per input
/// (`None` for inputs whose `needs_grad` entry is `false`, which the op must not compute:
/// untracked inputs cost nothing), or a [`TapeError`] (e.g. an adjoint that overflows): the
/// backward pass stops there and returns it. An error is never encoded as NaN. Built-in ops and outside crates (`expgrad-diag`) use the
/// same trait, through [`Tape::apply`](crate::Tape::apply) / [`Var::apply`](crate::Var::apply).
///
/// ```
/// use expgrad_tape::{Op, Tape, TapeError};
/// use faer::{Mat, MatRef};
///
/// /// y = sinh(x) elementwise; x̄ = ḡ ∘ cosh(x).
/// struct Sinh;
/// impl Op<f64> for Sinh {
///     type Residual = ();
///     fn name(&self) -> &'static str { "sinh" }
///     fn forward(&self, x: &[MatRef<'_, f64>]) -> Result<(Mat<f64>, ()), TapeError> {
///         Ok((x[0].map(|v| v.sinh()), ()))
///     }
///     fn vjp(&self, _: &(), x: &[MatRef<'_, f64>], _: MatRef<'_, f64>, g: MatRef<'_, f64>,
///            needs: &[bool]) -> Result<Vec<Option<Mat<f64>>>, TapeError> {
///         Ok(vec![needs[0].then(|| Mat::from_fn(g.nrows(), g.ncols(), |i, j| g[(i, j)] * x[0][(i, j)].cosh()))])
///     }
/// }
/// let tape = Tape::new();
/// let x = tape.var(faer::mat![[0.5f64]]);
/// let y = x.apply(Sinh, &[]);
/// assert_eq!(y.backward().wrt(x)[(0, 0)], 0.5f64.cosh());
/// ```
pub trait Op<T: Scalar>: 'static {
    /// What the VJP needs besides the inputs and the output (which the tape keeps anyway).
    type Residual: 'static;

    /// Name shown in errors and in the tape's `Debug` listing.
    fn name(&self) -> &'static str;

    /// Output value and residuals from the input values; errors for bad shapes or domain.
    fn forward(&self, inputs: &[MatRef<'_, T>]) -> Result<(Mat<T>, Self::Residual), TapeError>;

    /// One cotangent per input (`None` where `needs_grad[i]` is false), each of that input's
    /// shape, from the output cotangent `cotangent` (of the output's shape); or the error that
    /// stopped the reverse pass (returned by `try_backward`, the message of `backward`'s panic).
    fn vjp(
        &self,
        residual: &Self::Residual,
        inputs: &[MatRef<'_, T>],
        output: MatRef<'_, T>,
        cotangent: MatRef<'_, T>,
        needs_grad: &[bool],
    ) -> Result<Vec<Option<Mat<T>>>, TapeError>;

    /// [`Op::vjp`] for a cotangent that may be held factored ([`Cotangent::LowRank`]), able to
    /// return factored cotangents. The default densifies the cotangent, calls [`Op::vjp`] and
    /// returns dense cotangents; ops that exploit the structure override it (`matmul` emits
    /// and propagates low-rank cotangents, `expm` consumes them with the factored adjoint).
    fn vjp_factored(
        &self,
        residual: &Self::Residual,
        inputs: &[MatRef<'_, T>],
        output: MatRef<'_, T>,
        cotangent: &Cotangent<T>,
        needs_grad: &[bool],
    ) -> Result<Vec<Option<Cotangent<T>>>, TapeError> {
        vjp_dense(self, residual, inputs, output, cotangent, needs_grad)
    }

    /// [`Op::vjp_factored`] writing one cotangent per input into `out` (empty on entry), in
    /// input order, instead of returning a new `Vec`: the entry the tape's reverse sweep calls,
    /// with one buffer for every node. The default calls [`Op::vjp_factored`]; ops on small
    /// matrices, where the two `Vec`s of the default path cost as much as the arithmetic,
    /// override it (the built-in `dot` and `expm_mul`, `expgrad-diag`'s `diag_mul`).
    #[allow(clippy::too_many_arguments)]
    fn vjp_into(
        &self,
        residual: &Self::Residual,
        inputs: &[MatRef<'_, T>],
        output: MatRef<'_, T>,
        cotangent: &Cotangent<T>,
        needs_grad: &[bool],
        out: &mut Vec<Option<Cotangent<T>>>,
    ) -> Result<(), TapeError> {
        out.extend(self.vjp_factored(residual, inputs, output, cotangent, needs_grad)?);
        Ok(())
    }
}

/// An op together with its residuals, type-erased for storage on the tape.
pub(crate) trait Recorded<T: Scalar> {
    fn name(&self) -> &'static str;
    fn vjp_into(
        &self,
        inputs: &[MatRef<'_, T>],
        output: MatRef<'_, T>,
        cotangent: &Cotangent<T>,
        needs_grad: &[bool],
        out: &mut Vec<Option<Cotangent<T>>>,
    ) -> Result<(), TapeError>;
}

pub(crate) struct WithResidual<O: Op<T>, T: Scalar> {
    pub(crate) op: O,
    pub(crate) residual: O::Residual,
}

impl<T: Scalar, O: Op<T>> Recorded<T> for WithResidual<O, T> {
    fn name(&self) -> &'static str {
        self.op.name()
    }
    fn vjp_into(
        &self,
        inputs: &[MatRef<'_, T>],
        output: MatRef<'_, T>,
        cotangent: &Cotangent<T>,
        needs_grad: &[bool],
        out: &mut Vec<Option<Cotangent<T>>>,
    ) -> Result<(), TapeError> {
        self.op
            .vjp_into(&self.residual, inputs, output, cotangent, needs_grad, out)
    }
}
