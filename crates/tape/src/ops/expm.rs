//! The matrix exponential as ONE primitive node.
//!
//! Forward: [`expgrad_linalg::Expm`] (Al-Mohy & Higham 2009 scaling and squaring), kept as the
//! residual. VJP: `X̄ = L(Xᴴ, F̄)` (`L(Xᵀ, F̄)` for real X), the adjoint Fréchet derivative, from that cached
//! factorisation (`Expm::frechet_adjoint`, about two forward passes): never the 2n×2n block,
//! never the Padé steps taped as separate nodes.
//!
//! Tests: `crates/tape/tests/{ops,semantics}.rs`.
use crate::{Cotangent, Op, Scalar, TapeError, Var};
use expgrad_linalg::Expm;
use faer::{Mat, MatRef};

/// Matrix exponential `F = e^X` of a square matrix. VJP: `X̄ = L(Xᴴ, F̄)`.
pub struct ExpmOp;

impl<T: Scalar> Op<T> for ExpmOp {
    type Residual = Expm<T>;
    /// `Ẏ = L(X, Ẋ)`, the Fréchet derivative from the cached forward.
    fn jvp(
        &self,
        f: &Expm<T>,
        _: &[MatRef<'_, T>],
        _: MatRef<'_, T>,
        t: &[Option<MatRef<'_, T>>],
    ) -> Result<Mat<T>, TapeError> {
        f.try_frechet(t[0].expect("a tangent"))
            .map_err(|e| e.with_op("expm").into())
    }
    fn name(&self) -> &'static str {
        "expm"
    }
    fn forward(&self, x: &[MatRef<'_, T>]) -> Result<(Mat<T>, Expm<T>), TapeError> {
        let f = Expm::try_new(x[0])?;
        Ok((f.value().to_owned(), f))
    }
    fn vjp(
        &self,
        f: &Expm<T>,
        _: &[MatRef<'_, T>],
        _: MatRef<'_, T>,
        g: MatRef<'_, T>,
        needs: &[bool],
    ) -> Result<Vec<Option<Mat<T>>>, TapeError> {
        let xbar = match needs[0] {
            true => Some(f.try_frechet_adjoint(g).map_err(|e| e.with_op("expm"))?),
            false => None,
        };
        Ok(vec![xbar])
    }
    /// `X̄ = L(Xᴴ, Ḡ)` and its tangent `L(Xᴴ, Ġ) + L⁽²⁾(Xᴴ; Ḡ, Ẋᴴ)`, one fused pass on the
    /// cached forward ([`Expm::try_frechet_adjoint_jvp`]).
    fn vjp_jvp(
        &self,
        f: &Expm<T>,
        at: &crate::Tangents<'_, T>,
        g: MatRef<'_, T>,
        gd: Option<MatRef<'_, T>>,
        needs: &[bool],
    ) -> Result<Vec<Option<crate::DualCotangent<T>>>, TapeError> {
        if !needs[0] {
            return Ok(vec![None]);
        }
        Ok(vec![Some(adjoint_jvp("expm", f, g, at.tangent(0), gd)?)])
    }
    /// A factored cotangent `F̄ = U·Vᴴ` (from a thin `matmul`, `sum`, a column…) takes the
    /// factored adjoint `L(Xᴴ, U·Vᴴ)`, as `expm_mul` does.
    fn vjp_factored(
        &self,
        f: &Expm<T>,
        x: &[MatRef<'_, T>],
        out: MatRef<'_, T>,
        g: &Cotangent<T>,
        needs: &[bool],
    ) -> Result<Vec<Option<Cotangent<T>>>, TapeError> {
        match g {
            Cotangent::LowRank { u, v } if needs[0] => {
                let xbar = f
                    .try_frechet_adjoint_factored(u.as_ref(), v.as_ref())
                    .map_err(|e| e.with_op("expm"))?;
                Ok(vec![Some(Cotangent::Dense(xbar))])
            }
            Cotangent::LowRank { .. } => Ok(vec![None]),
            Cotangent::Dense(_) => crate::cotangent::vjp_dense(self, f, x, out, g, needs),
        }
    }
}

/// `(L(Xᴴ, Ḡ), its tangent)` along `Ẋ` and `Ġ` (either may be zero): the second-order rule
/// of one exponential, shared by `expm`, `expm_mul`, the batches and the chain.
pub(crate) fn adjoint_jvp<T: Scalar>(
    op: &'static str,
    f: &Expm<T>,
    g: MatRef<'_, T>,
    xd: Option<MatRef<'_, T>>,
    gd: Option<MatRef<'_, T>>,
) -> Result<crate::DualCotangent<T>, TapeError> {
    let at = |e: expgrad_linalg::LinalgError| TapeError::from(e.with_op(op));
    match xd {
        Some(xd) => {
            let zeros;
            let gd = match gd {
                Some(gd) => gd,
                None => {
                    zeros = Mat::zeros(g.nrows(), g.ncols());
                    zeros.as_ref()
                }
            };
            let (bar, dot) = f.try_frechet_adjoint_jvp(g, xd, gd).map_err(at)?;
            Ok((bar, Some(dot)))
        }
        None => Ok((
            f.try_frechet_adjoint(g).map_err(at)?,
            gd.map(|gd| f.try_frechet_adjoint(gd))
                .transpose()
                .map_err(at)?,
        )),
    }
}

impl<'t, T: Scalar> Var<'t, T> {
    /// Matrix exponential `e^self`, one node. Panics like [`Expm::new`] (non-square,
    /// non-finite, overflow), naming the op and the shape.
    #[track_caller]
    pub fn expm(self) -> Var<'t, T> {
        self.apply(ExpmOp, &[])
    }
    /// Fallible [`Var::expm`].
    pub fn try_expm(self) -> Result<Var<'t, T>, TapeError> {
        self.try_apply(ExpmOp, &[])
    }
}
