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
        mul_jvp("expm_mul", f, x[1], t[0], t[1])
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
    /// `X̄ = L(Xᴴ, Ḡ·Vᴴ)` with tangent along `Ẋ` and `(Ḡ·Vᴴ)˙ = Ġ·Vᴴ + Ḡ·V̇ᴴ`
    /// ([`Expm::try_frechet_adjoint_jvp`]); `V̄ = e^{Xᴴ}·Ḡ` with tangent
    /// `e^{Xᴴ}·Ġ + L(X, Ẋ)ᴴ·Ḡ`.
    fn vjp_jvp(
        &self,
        f: &Expm<T>,
        at: &crate::Tangents<'_, T>,
        g: MatRef<'_, T>,
        gd: Option<MatRef<'_, T>>,
        needs: &[bool],
    ) -> Result<Vec<Option<crate::DualCotangent<T>>>, TapeError> {
        let v = at.inputs[1];
        let (xd, vd) = (at.tangent(0), at.tangent(1));
        Ok(mul_vjp_jvp("expm_mul", f, v, g, [xd, vd, gd], needs)?.into())
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
/// `Ẇ = L(X, Ẋ)·V + e^X·V̇` for `W = e^X·V` (either tangent may be zero): the forward-mode rule
/// of one exponential times a block, shared with `expm_batch_mul`.
pub(crate) fn mul_jvp<T: Scalar>(
    op: &'static str,
    f: &Expm<T>,
    v: MatRef<'_, T>,
    xd: Option<MatRef<'_, T>>,
    vd: Option<MatRef<'_, T>>,
) -> Result<Mat<T>, TapeError> {
    let mut out = match xd {
        Some(xd) => f.try_frechet_mul(xd, v).map_err(|e| e.with_op(op))?,
        None => Mat::zeros(v.nrows(), v.ncols()),
    };
    if let Some(vd) = vd {
        out += product(f.value(), vd);
    }
    Ok(out)
}

/// The second-order rule of `W = e^X·V` for the tangents `[Ẋ, V̇, Ġ]`: `X̄ = L(Xᴴ, Ḡ·Vᴴ)` with
/// its tangent along `Ẋ` and `Ġ·Vᴴ + Ḡ·V̇ᴴ`, and `V̄ = e^{Xᴴ}·Ḡ` with tangent
/// `e^{Xᴴ}·Ġ + L(X, Ẋ)ᴴ·Ḡ`. Shared with `expm_batch_mul`.
pub(crate) fn mul_vjp_jvp<T: Scalar>(
    op: &'static str,
    f: &Expm<T>,
    v: MatRef<'_, T>,
    g: MatRef<'_, T>,
    [xd, vd, gd]: [Option<MatRef<'_, T>>; 3],
    needs: &[bool],
) -> Result<[Option<crate::DualCotangent<T>>; 2], TapeError> {
    let at = |e: expgrad_linalg::LinalgError| TapeError::from(e.with_op(op));
    let xbar = match (needs[0], xd) {
        (false, _) => None,
        // The factored adjoint differentiated vector by vector (U = Ḡ, V, U̇ = Ġ, V̇).
        (true, Some(xd)) => {
            let (bar, dot) = f
                .try_frechet_adjoint_factored_jvp(g, v, xd, gd, vd)
                .map_err(at)?;
            Some((bar, Some(dot)))
        }
        // No Ẋ: the tangent is the factored adjoint of Ġ·Vᴴ + Ḡ·V̇ᴴ = [Ġ Ḡ]·[V V̇]ᴴ.
        (true, None) => {
            let bar = f.try_frechet_adjoint_factored(g, v).map_err(at)?;
            let dot = super::sum_terms([
                gd.map(|gd| f.try_frechet_adjoint_factored(gd, v))
                    .transpose()
                    .map_err(at)?,
                vd.map(|vd| f.try_frechet_adjoint_factored(g, vd))
                    .transpose()
                    .map_err(at)?,
            ]);
            Some((bar, dot))
        }
    };
    let vbar = match needs[1] {
        true => {
            // (e^{Xᴴ}Ḡ)˙ = e^{Xᴴ}Ġ + L(X, Ẋ)ᴴḠ, the latter structured.
            let l = xd
                .map(|xd| f.try_frechet_mul_adjoint(xd, g).map_err(at))
                .transpose()?;
            let dot = super::sum_terms([gd.map(|gd| product_ah_b(f.value(), gd)), l]);
            Some((product_ah_b(f.value(), g), dot))
        }
        false => None,
    };
    Ok([xbar, vbar])
}

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
