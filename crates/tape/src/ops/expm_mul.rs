//! `W = exp(X)·V` as ONE node: the cheap way to differentiate the action of the exponential
//! on a few vectors.
//!
//! Forward: [`Expm`] then one product. VJP: `V̄ = exp(X)ᵀ·W̄` and `X̄ = L(Xᵀ, W̄·Vᵀ)` from
//! [`Expm::frechet_adjoint_factored`], which uses the rank-k structure of the cotangent:
//! O(2ˢ·m·k·n²) instead of the O(n³) of `x.expm().matmul(v)`'s generic adjoint — for a few
//! columns the gradient costs little more than the forward.
//!
//! Tests: `crates/tape/tests/ops.rs`.
use super::matmul::{product, product_ah_b};
use crate::{Cotangent, IntoVar, Op, Scalar, TapeError, Var};
use expgrad_linalg::Expm;
use faer::{Mat, MatRef};

/// `W = exp(X)·V` (X n×n, V n×k) as one node. VJP: `X̄ = L(Xᵀ, W̄Vᵀ)` (factored),
/// `V̄ = exp(X)ᵀW̄`.
pub struct ExpmMul;

impl<T: Scalar> Op<T> for ExpmMul {
    type Residual = Expm<T>;
    /// `Ẇ = L(X, Ẋ)·V + e^X·V̇`.
    fn jvp(
        &self,
        f: &Expm<T>,
        x: &[MatRef<'_, T>],
        _: MatRef<'_, T>,
        t: &[Option<MatRef<'_, T>>],
    ) -> Result<Mat<T>, TapeError> {
        let mut out = match t[0] {
            Some(xd) => {
                let l = f.try_frechet(xd).map_err(|e| e.with_op("expm_mul"))?;
                product(l.as_ref(), x[1])
            }
            None => Mat::zeros(x[1].nrows(), x[1].ncols()),
        };
        if let Some(vd) = t[1] {
            out += product(f.value(), vd);
        }
        Ok(out)
    }
    fn name(&self) -> &'static str {
        "expm_mul"
    }
    fn forward(&self, x: &[MatRef<'_, T>]) -> Result<(Mat<T>, Expm<T>), TapeError> {
        let (a, v) = (x[0], x[1]);
        if a.nrows() != a.ncols() {
            return Err(TapeError::NotSquare {
                op: "expm_mul",
                shape: a.shape(),
            });
        }
        if v.nrows() != a.nrows() {
            return Err(TapeError::ShapeMismatch {
                op: "expm_mul",
                lhs: a.shape(),
                rhs: v.shape(),
            });
        }
        let f = Expm::try_new(a)?;
        Ok((product(f.value(), v), f))
    }
    fn vjp(
        &self,
        f: &Expm<T>,
        x: &[MatRef<'_, T>],
        _: MatRef<'_, T>,
        g: MatRef<'_, T>,
        needs: &[bool],
    ) -> Result<Vec<Option<Mat<T>>>, TapeError> {
        Ok(cotangents(f, x, g, needs)?.into())
    }
    fn vjp_into(
        &self,
        f: &Expm<T>,
        x: &[MatRef<'_, T>],
        y: MatRef<'_, T>,
        g: &Cotangent<T>,
        needs: &[bool],
        out: &mut Vec<Option<Cotangent<T>>>,
    ) -> Result<(), TapeError> {
        let Cotangent::Dense(g) = g else {
            out.extend(self.vjp_factored(f, x, y, g, needs)?);
            return Ok(());
        };
        let cs = cotangents(f, x, g.as_ref(), needs)?;
        out.extend(cs.map(|c| c.map(Cotangent::Dense)));
        Ok(())
    }
}

/// `(L(Xᴴ, W̄Vᴴ), exp(X)ᴴW̄)` where needed.
fn cotangents<T: Scalar>(
    f: &Expm<T>,
    x: &[MatRef<'_, T>],
    g: MatRef<'_, T>,
    needs: &[bool],
) -> Result<[Option<Mat<T>>; 2], TapeError> {
    let xbar = match needs[0] {
        true => Some(
            f.try_frechet_adjoint_factored(g, x[1])
                .map_err(|e| e.with_op("expm_mul"))?,
        ),
        false => None,
    };
    Ok([xbar, needs[1].then(|| product_ah_b(f.value(), g))])
}

impl<'t, T: Scalar> Var<'t, T> {
    /// `exp(self)·v` as one node (self n×n, v n×k). Same value as
    /// `self.expm().matmul(v)`, but its gradient w.r.t. `self` costs O(2ˢ·m·k·n²) instead of
    /// O(n³): use it whenever only the action on a few vectors is needed. Panics naming the
    /// op and shapes on a mismatch.
    ///
    /// ```
    /// use expgrad_tape::Tape;
    /// use faer::mat;
    /// let tape = Tape::new();
    /// let x = tape.var(mat![[-1.0, 0.5], [0.2, -0.3f64]]);
    /// let v = tape.constant(mat![[1.0], [2.0]]);
    /// let g1 = x.expm_mul(v).sum().backward().wrt(x);
    /// let g2 = x.expm().matmul(v).sum().backward().wrt(x);
    /// assert!((&g1 - &g2).norm_max() < 1e-14);
    /// ```
    #[track_caller]
    pub fn expm_mul(self, v: impl IntoVar<'t, T>) -> Var<'t, T> {
        self.apply(ExpmMul, &[v.into_var(self.tape)])
    }

    /// Fallible [`Var::expm_mul`].
    pub fn try_expm_mul(self, v: impl IntoVar<'t, T>) -> Result<Var<'t, T>, TapeError> {
        self.try_apply(ExpmMul, &[v.into_var(self.tape)])
    }
}
