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

    /// Forward mode: the output's tangent `ẏ = Σᵢ (∂f/∂xᵢ)·ẋᵢ` (the JVP), of the output's
    /// shape, from the inputs' tangents (`None` is a zero tangent; the tape calls this only
    /// when at least one is `Some`). `expm`'s is `L(X, Ẋ)` from the cached forward.
    ///
    /// The default returns [`TapeError::NoRule`]: a custom op that implements only
    /// `forward` and `vjp` works in reverse mode and reports itself in forward mode. An op
    /// that is linear in all its inputs jointly can use [`linear_jvp`].
    fn jvp(
        &self,
        residual: &Self::Residual,
        inputs: &[MatRef<'_, T>],
        output: MatRef<'_, T>,
        tangents: &[Option<MatRef<'_, T>>],
    ) -> Result<Mat<T>, TapeError> {
        let _ = (residual, inputs, output, tangents);
        Err(TapeError::NoRule {
            op: self.name(),
            rule: "jvp",
        })
    }

    /// Second order (forward-over-reverse): the VJP and its tangent along the inputs'
    /// tangents. For every input `i` with `needs_grad[i]`, `Some((x̄ᵢ, ẋ̄ᵢ))` with
    ///
    /// * `x̄ᵢ = Jᵢ(x)ᴴ ḡ`, what [`Op::vjp`] returns for `cotangent = ḡ`;
    /// * `ẋ̄ᵢ = Jᵢ(x)ᴴ ġ + d/dε [Jᵢ(x + ε ẋ)ᴴ ḡ]` at ε = 0, with `ġ = cotangent_tangent`
    ///   (`None` is zero) and `ẋ` the tangents in `at`; `None` for a zero tangent.
    ///
    /// The tape's Hessian-vector product ([`Var::hvp`](crate::Var::hvp)) is one forward
    /// tangent sweep ([`Op::jvp`]) and one reverse sweep of this rule. The second term is
    /// the op's second derivative contracted with `ḡ` and `ẋ`: zero for a linear op (use
    /// [`linear_vjp_jvp`]); for `expm` it is `L⁽²⁾(Xᴴ; ḡ, Ẋᴴ)` from the cached forward.
    /// The default returns [`TapeError::NoRule`].
    fn vjp_jvp(
        &self,
        residual: &Self::Residual,
        at: &Tangents<'_, T>,
        cotangent: MatRef<'_, T>,
        cotangent_tangent: Option<MatRef<'_, T>>,
        needs_grad: &[bool],
    ) -> Result<Vec<Option<DualCotangent<T>>>, TapeError> {
        let _ = (residual, at, cotangent, cotangent_tangent, needs_grad);
        Err(TapeError::NoRule {
            op: self.name(),
            rule: "vjp_jvp",
        })
    }
}

/// An input's cotangent and its tangent, from [`Op::vjp_jvp`]: `(x̄, ẋ̄)`, `None` for a zero
/// tangent.
pub type DualCotangent<T> = (Mat<T>, Option<Mat<T>>);

/// The point and the direction at which [`Op::vjp_jvp`] linearises an op: its inputs and their
/// tangents (`None` for zero), its output and the output's tangent (from [`Op::jvp`]).
#[derive(Clone, Copy, Debug)]
pub struct Tangents<'a, T> {
    /// The input values.
    pub inputs: &'a [MatRef<'a, T>],
    /// The inputs' tangents, `None` where zero.
    pub tangents: &'a [Option<MatRef<'a, T>>],
    /// The output value.
    pub output: MatRef<'a, T>,
    /// The output's tangent, `None` where zero.
    pub output_tangent: Option<MatRef<'a, T>>,
}

impl<'a, T> Tangents<'a, T> {
    /// The tangent of input `i`, `None` when zero.
    pub fn tangent(&self, i: usize) -> Option<MatRef<'a, T>> {
        self.tangents.get(i).copied().flatten()
    }
}

/// [`Op::jvp`] of an op linear in all its inputs jointly (`add`, `transpose`, `sum`, slices…):
/// the forward applied to the tangents, zeros standing in for `None`.
///
/// ```
/// use expgrad_tape::{Op, TapeError, linear_jvp, ops::Add};
/// let a = faer::mat![[1.0, 2.0f64]];
/// let t = linear_jvp(&Add, &[a.as_ref(), a.as_ref()], &[Some(a.as_ref()), None]).unwrap();
/// assert_eq!(t, a);
/// ```
pub fn linear_jvp<T: Scalar, O: Op<T> + ?Sized>(
    op: &O,
    inputs: &[MatRef<'_, T>],
    tangents: &[Option<MatRef<'_, T>>],
) -> Result<Mat<T>, TapeError> {
    let zeros: Vec<Option<Mat<T>>> = inputs
        .iter()
        .zip(tangents)
        .map(|(x, t)| t.is_none().then(|| Mat::zeros(x.nrows(), x.ncols())))
        .collect();
    let args: Vec<MatRef<'_, T>> = tangents
        .iter()
        .zip(&zeros)
        .map(|(t, z)| t.unwrap_or_else(|| z.as_ref().expect("zero stand-in").as_ref()))
        .collect();
    Ok(op.forward(&args)?.0)
}

/// [`Op::vjp_jvp`] of an op linear in all its inputs jointly: its VJP does not depend on the
/// inputs, so `x̄ = vjp(ḡ)` and `ẋ̄ = vjp(ġ)`.
pub fn linear_vjp_jvp<T: Scalar, O: Op<T> + ?Sized>(
    op: &O,
    residual: &O::Residual,
    at: &Tangents<'_, T>,
    cotangent: MatRef<'_, T>,
    cotangent_tangent: Option<MatRef<'_, T>>,
    needs_grad: &[bool],
) -> Result<Vec<Option<DualCotangent<T>>>, TapeError> {
    let bar = op.vjp(residual, at.inputs, at.output, cotangent, needs_grad)?;
    let dot = match cotangent_tangent {
        Some(gd) => op.vjp(residual, at.inputs, at.output, gd, needs_grad)?,
        None => vec![None; bar.len()],
    };
    Ok(bar
        .into_iter()
        .zip(dot)
        .map(|(b, d)| b.map(|b| (b, d)))
        .collect())
}

/// [`Op::jvp`] of an op linear in each input separately (multilinear: `mul`, `matmul`,
/// `dot`, a scaling by a tracked factor, `Diag(l)·A·Diag(r)`): `Σᵢ f(x₁, …, ẋᵢ, …, x_k)`,
/// one forward call per input with a tangent.
pub fn multilinear_jvp<T: Scalar, O: Op<T> + ?Sized>(
    op: &O,
    inputs: &[MatRef<'_, T>],
    tangents: &[Option<MatRef<'_, T>>],
) -> Result<Mat<T>, TapeError> {
    let mut out: Option<Mat<T>> = None;
    let mut args = inputs.to_vec();
    for (i, t) in tangents.iter().enumerate() {
        let Some(t) = t else { continue };
        args[i] = *t;
        let term = op.forward(&args)?.0;
        args[i] = inputs[i];
        out = Some(match out {
            Some(acc) => acc + term,
            None => term,
        });
    }
    match out {
        Some(out) => Ok(out),
        None => {
            let y = op.forward(inputs)?.0;
            Ok(Mat::zeros(y.nrows(), y.ncols()))
        }
    }
}

/// [`Op::vjp_jvp`] of a multilinear op whose VJP does not read the output: the cotangent of
/// input `i` does not depend on `xᵢ`, so `ẋ̄ᵢ = vjpᵢ(x; ġ) + Σ_{j≠i} vjpᵢ(x with ẋⱼ for xⱼ; ḡ)`,
/// each term one call of [`Op::vjp`].
pub fn multilinear_vjp_jvp<T: Scalar, O: Op<T> + ?Sized>(
    op: &O,
    residual: &O::Residual,
    at: &Tangents<'_, T>,
    cotangent: MatRef<'_, T>,
    cotangent_tangent: Option<MatRef<'_, T>>,
    needs_grad: &[bool],
) -> Result<Vec<Option<DualCotangent<T>>>, TapeError> {
    let x = at.inputs;
    let y = at.output;
    let k = x.len();
    let bar = op.vjp(residual, x, y, cotangent, needs_grad)?;
    let mut dot: Vec<Option<Mat<T>>> = match cotangent_tangent {
        Some(gd) => op.vjp(residual, x, y, gd, needs_grad)?,
        None => vec![None; k],
    };
    let mut args = x.to_vec();
    for j in 0..k {
        let Some(t) = at.tangent(j) else { continue };
        // Every other input's cotangent at x with ẋⱼ in place of xⱼ.
        let others: Vec<bool> = (0..k).map(|i| i != j && needs_grad[i]).collect();
        if !others.iter().any(|&b| b) {
            continue;
        }
        args[j] = t;
        let terms = op.vjp(residual, &args, y, cotangent, &others)?;
        args[j] = x[j];
        for (i, term) in terms.into_iter().enumerate() {
            let (Some(term), true) = (term, others[i]) else {
                continue;
            };
            dot[i] = Some(match dot[i].take() {
                Some(acc) => acc + term,
                None => term,
            });
        }
    }
    Ok(bar
        .into_iter()
        .zip(dot)
        .map(|(b, d)| b.map(|b| (b, d)))
        .collect())
}

/// The forward-mode and second-order rules of an op linear in all its inputs jointly, inside
/// its `impl Op<T> for …` block: `jvp` is [`linear_jvp`], `vjp_jvp` is [`linear_vjp_jvp`].
///
/// ```
/// use expgrad_tape::{Op, TapeError};
/// use faer::{Mat, MatRef};
/// /// y = 2x.
/// struct Twice;
/// impl Op<f64> for Twice {
///     type Residual = ();
///     fn name(&self) -> &'static str { "twice" }
///     fn forward(&self, x: &[MatRef<'_, f64>]) -> Result<(Mat<f64>, ()), TapeError> {
///         Ok((x[0] * faer::Scale(2.0), ()))
///     }
///     fn vjp(&self, _: &(), _: &[MatRef<'_, f64>], _: MatRef<'_, f64>, g: MatRef<'_, f64>,
///            needs: &[bool]) -> Result<Vec<Option<Mat<f64>>>, TapeError> {
///         Ok(vec![needs[0].then(|| g * faer::Scale(2.0))])
///     }
///     expgrad_tape::linear_rules!(f64);
/// }
/// let x = faer::mat![[1.0, -1.0f64]];
/// assert!(expgrad_tape::jvpcheck(|v| v[0].apply(Twice, &[]), &[x]).passed);
/// ```
#[macro_export]
macro_rules! linear_rules {
    ($t:ty) => {
        /// Linear: the forward on the tangents.
        fn jvp(
            &self,
            _: &Self::Residual,
            x: &[$crate::__faer::MatRef<'_, $t>],
            _: $crate::__faer::MatRef<'_, $t>,
            t: &[Option<$crate::__faer::MatRef<'_, $t>>],
        ) -> Result<$crate::__faer::Mat<$t>, $crate::TapeError> {
            $crate::linear_jvp(self, x, t)
        }
        /// Linear: the VJP of `ḡ` and of `ġ`.
        fn vjp_jvp(
            &self,
            r: &Self::Residual,
            at: &$crate::Tangents<'_, $t>,
            g: $crate::__faer::MatRef<'_, $t>,
            gd: Option<$crate::__faer::MatRef<'_, $t>>,
            needs: &[bool],
        ) -> Result<Vec<Option<$crate::DualCotangent<$t>>>, $crate::TapeError> {
            $crate::linear_vjp_jvp(self, r, at, g, gd, needs)
        }
    };
}

/// The forward-mode and second-order rules of an op linear in each input separately
/// (multilinear), inside its `impl Op<T> for …` block: [`multilinear_jvp`] and
/// [`multilinear_vjp_jvp`].
#[macro_export]
macro_rules! multilinear_rules {
    ($t:ty) => {
        /// Multilinear: the sum over the inputs with a tangent.
        fn jvp(
            &self,
            _: &Self::Residual,
            x: &[$crate::__faer::MatRef<'_, $t>],
            _: $crate::__faer::MatRef<'_, $t>,
            t: &[Option<$crate::__faer::MatRef<'_, $t>>],
        ) -> Result<$crate::__faer::Mat<$t>, $crate::TapeError> {
            $crate::multilinear_jvp(self, x, t)
        }
        /// Multilinear: each cotangent's tangent from `ġ` and the other inputs' tangents.
        fn vjp_jvp(
            &self,
            r: &Self::Residual,
            at: &$crate::Tangents<'_, $t>,
            g: $crate::__faer::MatRef<'_, $t>,
            gd: Option<$crate::__faer::MatRef<'_, $t>>,
            needs: &[bool],
        ) -> Result<Vec<Option<$crate::DualCotangent<$t>>>, $crate::TapeError> {
            $crate::multilinear_vjp_jvp(self, r, at, g, gd, needs)
        }
    };
}

/// An op together with its residuals, type-erased for storage on the tape.
pub(crate) trait Recorded<T: Scalar> {
    fn name(&self) -> &'static str;
    fn jvp(
        &self,
        inputs: &[MatRef<'_, T>],
        output: MatRef<'_, T>,
        tangents: &[Option<MatRef<'_, T>>],
    ) -> Result<Mat<T>, TapeError>;
    fn vjp_jvp(
        &self,
        at: &Tangents<'_, T>,
        cotangent: MatRef<'_, T>,
        cotangent_tangent: Option<MatRef<'_, T>>,
        needs_grad: &[bool],
    ) -> Result<Vec<Option<DualCotangent<T>>>, TapeError>;
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
    fn jvp(
        &self,
        inputs: &[MatRef<'_, T>],
        output: MatRef<'_, T>,
        tangents: &[Option<MatRef<'_, T>>],
    ) -> Result<Mat<T>, TapeError> {
        self.op.jvp(&self.residual, inputs, output, tangents)
    }
    fn vjp_jvp(
        &self,
        at: &Tangents<'_, T>,
        cotangent: MatRef<'_, T>,
        cotangent_tangent: Option<MatRef<'_, T>>,
        needs_grad: &[bool],
    ) -> Result<Vec<Option<DualCotangent<T>>>, TapeError> {
        self.op
            .vjp_jvp(&self.residual, at, cotangent, cotangent_tangent, needs_grad)
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
