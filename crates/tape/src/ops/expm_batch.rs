//! `B` independent exponentials `exp(X_b)` as ONE node.
//!
//! Forward: [`ExpmBatch`] (one cached [`Expm`](expgrad_linalg::Expm) per block, Rayon across
//! the blocks above a measured size). VJP: `X̄_b = L(X_bᵀ, Ḡ_b)` per block from those caches.
//!
//! Tests: `crates/tape/tests/batch.rs`.
use crate::{Op, Real, TapeError, Var};
use expgrad_linalg::ExpmBatch;
use faer::{Mat, MatRef};

/// `[exp(X_1) … exp(X_B)]` from `[X_1 … X_B]` (both n×(n·B)). VJP: `X̄_b = L(X_bᵀ, Ḡ_b)`.
pub struct ExpmBatchOp;

impl<T: Real> Op<T> for ExpmBatchOp {
    type Residual = ExpmBatch<T>;
    /// `Ẏ_b = L(X_b, Ẋ_b)` per block.
    fn jvp(
        &self,
        b: &ExpmBatch<T>,
        _: &[MatRef<'_, T>],
        _: MatRef<'_, T>,
        t: &[Option<MatRef<'_, T>>],
    ) -> Result<Mat<T>, TapeError> {
        let (n, xd) = (b.dim(), t[0].expect("a tangent"));
        let mut out = Mat::zeros(n, n * b.len());
        for k in 0..b.len() {
            let l = b
                .get(k)
                .try_frechet(xd.subcols(k * n, n))
                .map_err(|e| e.with_op("expm_batch"))?;
            out.subcols_mut(k * n, n).copy_from(l);
        }
        Ok(out)
    }
    /// `expm`'s second-order rule per block.
    fn vjp_jvp(
        &self,
        b: &ExpmBatch<T>,
        at: &crate::Tangents<'_, T>,
        g: MatRef<'_, T>,
        gd: Option<MatRef<'_, T>>,
        needs: &[bool],
    ) -> Result<Vec<Option<crate::DualCotangent<T>>>, TapeError> {
        if !needs[0] {
            return Ok(vec![None]);
        }
        let n = b.dim();
        fn block<T>(m: MatRef<'_, T>, k: usize, n: usize) -> MatRef<'_, T> {
            m.subcols(k * n, n)
        }
        let mut bar = Mat::zeros(n, n * b.len());
        let mut dot = Mat::zeros(n, n * b.len());
        for k in 0..b.len() {
            let (xb, xd) = super::expm::adjoint_jvp(
                "expm_batch",
                b.get(k),
                block(g, k, n),
                at.tangent(0).map(|m| block(m, k, n)),
                gd.map(|m| block(m, k, n)),
            )?;
            bar.subcols_mut(k * n, n).copy_from(xb);
            if let Some(xd) = xd {
                dot.subcols_mut(k * n, n).copy_from(xd);
            }
        }
        Ok(vec![Some((bar, Some(dot)))])
    }
    fn name(&self) -> &'static str {
        "expm_batch"
    }
    fn forward(&self, x: &[MatRef<'_, T>]) -> Result<(Mat<T>, ExpmBatch<T>), TapeError> {
        let b = ExpmBatch::try_new(x[0])?;
        Ok((b.values().to_owned(), b))
    }
    fn vjp(
        &self,
        b: &ExpmBatch<T>,
        _: &[MatRef<'_, T>],
        _: MatRef<'_, T>,
        g: MatRef<'_, T>,
        needs: &[bool],
    ) -> Result<Vec<Option<Mat<T>>>, TapeError> {
        let xbar = match needs[0] {
            true => Some(b.try_adjoint(g).map_err(|e| e.with_op("expm_batch"))?),
            false => None,
        };
        Ok(vec![xbar])
    }
}

impl<'t, T: Real> Var<'t, T> {
    /// `exp(X_b)` of every n×n block of `self` (n×(n·B), block `b` in columns
    /// `b·n..(b+1)·n`), side by side, as one node. Panics naming the op and the shape when
    /// the number of columns is not a multiple of the number of rows, or like
    /// [`Var::expm`] for a block.
    ///
    /// ```
    /// use expgrad_tape::Tape;
    /// use faer::mat;
    /// let tape = Tape::new();
    /// let x = tape.var(mat![[0.0, 1.0, -1.0, 0.0], [0.0, 0.0, 0.0, 2.0f64]]);
    /// let e = x.expm_batch();
    /// assert_eq!(e.value()[(0, 1)], 1.0); // exp([[0, 1], [0, 0]]) = [[1, 1], [0, 1]]
    /// assert_eq!(x.slice(0..2, 2..4).expm().value(), e.slice(0..2, 2..4).value());
    /// ```
    #[track_caller]
    pub fn expm_batch(self) -> Var<'t, T> {
        self.apply(ExpmBatchOp, &[])
    }

    /// Fallible [`Var::expm_batch`].
    pub fn try_expm_batch(self) -> Result<Var<'t, T>, TapeError> {
        self.try_apply(ExpmBatchOp, &[])
    }
}
