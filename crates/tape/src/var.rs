//! `Var`: a `Copy` handle to a node of a [`Tape`], and the reverse-mode entry points.

use crate::Scalar;
use crate::error::{TapeError, unwrap_or_panic};
use crate::gradients::Gradients;
use crate::op::Op;
use crate::tape::Tape;
use faer::Mat;

/// A matrix-valued variable on a [`Tape`]: the index of its node plus a reference to the tape.
pub struct Var<'t, T = f64> {
    pub(crate) tape: &'t Tape<T>,
    pub(crate) index: usize,
    pub(crate) generation: u32,
}

impl<T> Clone for Var<'_, T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for Var<'_, T> {}

impl<T> core::fmt::Debug for Var<'_, T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Var(#{})", self.index)
    }
}

impl<'t, T: Scalar> Var<'t, T> {
    /// The tape this variable lives on.
    pub fn tape(self) -> &'t Tape<T> {
        self.tape
    }

    /// Index of the node on the tape.
    pub fn index(self) -> usize {
        self.index
    }

    /// A copy of the value.
    #[track_caller]
    pub fn value(self) -> Mat<T> {
        self.live("value");
        self.tape.nodes.borrow()[self.index].value.clone()
    }

    /// `(nrows, ncols)` of the value.
    #[track_caller]
    pub fn shape(self) -> (usize, usize) {
        self.live("shape");
        self.tape.nodes.borrow()[self.index].value.shape()
    }

    /// The single entry of a 1×1 value; panics (naming the shape) otherwise.
    #[track_caller]
    pub fn item(self) -> T {
        let s = self.shape();
        if s != (1, 1) {
            panic!(
                "{}",
                TapeError::NotScalar {
                    op: "item",
                    shape: s
                }
            );
        }
        self.tape.nodes.borrow()[self.index].value[(0, 0)]
    }

    /// Whether gradients flow through this variable (it is a `var` or depends on one).
    pub fn is_tracked(self) -> bool {
        self.live("is_tracked");
        self.tape.nodes.borrow()[self.index].tracked
    }

    #[track_caller]
    fn live(self, op: &'static str) {
        if self.generation != self.tape.generation.get() {
            panic!("{}", TapeError::ForeignVar { op });
        }
    }

    /// Records `op(self, others...)`: the entry point for custom ops. Panics on bad input.
    #[track_caller]
    pub fn apply<O: Op<T>>(self, op: O, others: &[Var<'t, T>]) -> Var<'t, T> {
        unwrap_or_panic(self.try_apply(op, others))
    }

    /// Fallible [`Var::apply`].
    pub fn try_apply<O: Op<T>>(
        self,
        op: O,
        others: &[Var<'t, T>],
    ) -> Result<Var<'t, T>, TapeError> {
        if others.len() < 4 {
            let mut inputs = [self; 4];
            inputs[1..=others.len()].copy_from_slice(others);
            return self.tape.try_apply(op, &inputs[..=others.len()]);
        }
        let mut inputs = Vec::with_capacity(others.len() + 1);
        inputs.push(self);
        inputs.extend_from_slice(others);
        self.tape.try_apply(op, &inputs)
    }

    /// Gradients of this 1×1 output (seed 1). Panics naming the shape if it is not 1×1.
    #[track_caller]
    pub fn backward(self) -> Gradients<'t, T> {
        unwrap_or_panic(self.try_backward())
    }

    /// Fallible [`Var::backward`].
    pub fn try_backward(self) -> Result<Gradients<'t, T>, TapeError> {
        self.tape.check(self, "backward")?;
        let shape = self.shape();
        if shape != (1, 1) {
            return Err(TapeError::NotScalar {
                op: "backward",
                shape,
            });
        }
        let mut seed = expgrad_linalg::kernels::small_scratch::<T>(1, 1);
        seed[(0, 0)] = T::one_impl();
        self.tape.backward_from(self.index, seed)
    }

    /// Vector–Jacobian product: gradients of `⟨seed, self⟩` for a cotangent `seed` of this
    /// output's shape.
    #[track_caller]
    pub fn backward_with(self, seed: Mat<T>) -> Gradients<'t, T> {
        unwrap_or_panic(self.try_backward_with(seed))
    }

    /// Fallible [`Var::backward_with`].
    pub fn try_backward_with(self, seed: Mat<T>) -> Result<Gradients<'t, T>, TapeError> {
        self.tape.check(self, "backward_with")?;
        let shape = self.shape();
        if seed.shape() != shape {
            return Err(TapeError::ShapeMismatch {
                op: "backward_with",
                lhs: shape,
                rhs: seed.shape(),
            });
        }
        crate::tape::finite("backward_with", &seed)?;
        self.tape.backward_from(self.index, seed)
    }

    /// The Jacobian `∂ vec(self) / ∂ vec(input)` (column-major `vec` on both sides): one
    /// reverse sweep per output entry over the recorded forward (never re-run). For complex
    /// scalars, row k is the conjugate of the gradient of `Re self_k`, which is the complex
    /// derivative `∂ self_k / ∂ input` when the map is holomorphic.
    #[track_caller]
    pub fn jacobian(self, input: Var<'t, T>) -> Mat<T> {
        unwrap_or_panic(self.try_jacobian(input))
    }

    /// Fallible [`Var::jacobian`].
    pub fn try_jacobian(self, input: Var<'t, T>) -> Result<Mat<T>, TapeError> {
        self.tape.check(self, "jacobian")?;
        self.tape.check(input, "jacobian")?;
        let (r, c) = self.shape();
        let (ir, ic) = input.shape();
        let mut jac = Mat::<T>::zeros(r * c, ir * ic);
        for k in 0..r * c {
            let mut seed = Mat::<T>::zeros(r, c);
            seed[(k % r, k / r)] = T::one_impl();
            let g = self.tape.backward_from(self.index, seed)?;
            if let Some(gi) = g.get(input) {
                for q in 0..ic {
                    for p in 0..ir {
                        jac[(k, p + q * ir)] = gi[(p, q)].conjugate();
                    }
                }
            }
        }
        Ok(jac)
    }
}

macro_rules! binary_operator {
    ($tr:ident, $method:ident) => {
        impl<'t, T: Scalar> core::ops::$tr for Var<'t, T> {
            type Output = Var<'t, T>;
            #[track_caller]
            fn $method(self, rhs: Self) -> Var<'t, T> {
                Var::$method(self, rhs)
            }
        }
    };
}
binary_operator!(Add, add);
binary_operator!(Sub, sub);
// `*` and `/` are elementwise, as in PyTorch; the matrix product is `matmul`.
binary_operator!(Mul, mul);
binary_operator!(Div, div);

impl<'t, T: Scalar> core::ops::Neg for Var<'t, T> {
    type Output = Var<'t, T>;
    #[track_caller]
    fn neg(self) -> Var<'t, T> {
        Var::neg(self)
    }
}
