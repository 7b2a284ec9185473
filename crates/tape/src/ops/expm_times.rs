//! One generator at many times, `P_b = exp(t_b·Q)` for b = 1..B, as ONE node.
//!
//! Forward: [`ExpmTimes`] (the powers of `Q` formed once, every `P_b` a column of one product,
//! then its own squarings), kept as the residual. VJP: `Q̄ = Σ_b ∂ℓ/∂Q` and every `t̄_b` from
//! that cache in one reverse pass ([`ExpmTimes::try_adjoint`]): two batch-wide products and
//! the power chain reversed once, not `B` adjoints.
//!
//! Tests: `crates/tape/tests/batch.rs`.
use crate::{IntoVar, Op, Real, TapeError, Var};
use expgrad_linalg::ExpmTimes;
use faer::{Mat, MatRef};

/// `[exp(t_1·Q) … exp(t_B·Q)]` (n×(n·B)) from `Q` (n×n) and the times `t` (B×1).
/// VJP: `Q̄` summed over the times and `t̄_b = ⟨Ḡ_b, ∂P_b/∂t_b⟩`, exact for the evaluated
/// approximant.
pub struct ExpmTimesOp;

impl<T: Real> Op<T> for ExpmTimesOp {
    type Residual = ExpmTimes<T>;
    /// `Ṗ_b` along `(Q̇, ṫ)`: the tangent of the shared-power program ([`ExpmTimes::try_jvp`]).
    fn jvp(
        &self,
        p: &ExpmTimes<T>,
        x: &[MatRef<'_, T>],
        _: MatRef<'_, T>,
        t: &[Option<MatRef<'_, T>>],
    ) -> Result<Mat<T>, TapeError> {
        let (qd, td) = directions(p, x, t);
        p.try_jvp(qd.as_ref(), &td)
            .map_err(|e| e.with_op("expm_times").into())
    }
    /// The reverse pass and its tangent ([`ExpmTimes::try_adjoint_jvp`]).
    fn vjp_jvp(
        &self,
        p: &ExpmTimes<T>,
        at: &crate::Tangents<'_, T>,
        g: MatRef<'_, T>,
        gd: Option<MatRef<'_, T>>,
        needs: &[bool],
    ) -> Result<Vec<Option<crate::DualCotangent<T>>>, TapeError> {
        if !needs[0] && !needs[1] {
            return Ok(vec![None, None]);
        }
        let (qd, td) = directions(p, at.inputs, at.tangents);
        let (qbar, tbar, qbar_d, tbar_d) = p
            .try_adjoint_jvp(g, qd.as_ref(), &td, gd)
            .map_err(|e| e.with_op("expm_times"))?;
        let column = |v: &[T]| Mat::from_fn(v.len(), 1, |i, _| v[i]);
        Ok(vec![
            needs[0].then_some((qbar, Some(qbar_d))),
            needs[1].then(|| (column(&tbar), Some(column(&tbar_d)))),
        ])
    }
    fn name(&self) -> &'static str {
        "expm_times"
    }
    fn forward(&self, x: &[MatRef<'_, T>]) -> Result<(Mat<T>, ExpmTimes<T>), TapeError> {
        let (q, t) = (x[0], x[1]);
        if t.ncols() != 1 && t.nrows() > 0 {
            return Err(TapeError::ShapeMismatch {
                op: "expm_times",
                lhs: q.shape(),
                rhs: t.shape(),
            });
        }
        let times: Vec<T> = t.col(0).iter().copied().collect();
        let p = ExpmTimes::try_new(q, &times)?;
        Ok((p.values().to_owned(), p))
    }
    fn vjp(
        &self,
        p: &ExpmTimes<T>,
        _: &[MatRef<'_, T>],
        _: MatRef<'_, T>,
        g: MatRef<'_, T>,
        needs: &[bool],
    ) -> Result<Vec<Option<Mat<T>>>, TapeError> {
        if !needs[0] && !needs[1] {
            return Ok(vec![None, None]);
        }
        let (qbar, tbar) = p.try_adjoint(g).map_err(|e| e.with_op("expm_times"))?;
        Ok(vec![
            needs[0].then_some(qbar),
            needs[1].then(|| Mat::from_fn(tbar.len(), 1, |i, _| tbar[i])),
        ])
    }
}

impl<'t, T: Real> Var<'t, T> {
    /// `exp(t_b·self)` for every time `t_b` of the column `t` (B×1), side by side in one
    /// n×(n·B) value (block `b` in columns `b·n..(b+1)·n`; take one with
    /// [`Var::slice`]). One node: the forward shares the powers of `self` across the times
    /// and the VJP gives `self`'s gradient (summed over the times) and every `t_b`'s in one
    /// reverse pass. Panics naming the op and the shapes for a non-square `self`, a `t` that
    /// is not a column, non-finite input or overflow.
    ///
    /// ```
    /// use expgrad_tape::Tape;
    /// use faer::mat;
    /// let tape = Tape::new();
    /// let q = tape.var(mat![[-1.0, 1.0], [2.0, -2.0f64]]);
    /// let t = tape.var(mat![[0.1], [0.5], [2.0f64]]);
    /// let p = q.expm_times(t); // 2×6
    /// let second = p.slice(0..2, 2..4); // exp(0.5·Q)
    /// let loss = second.entry(0, 1);
    /// let g = loss.backward();
    /// assert_eq!(g.wrt(t).shape(), (3, 1));
    /// assert_eq!(g.wrt(t)[(0, 0)], 0.0); // only t_2 moves exp(t_2·Q)
    /// ```
    #[track_caller]
    pub fn expm_times(self, t: impl IntoVar<'t, T>) -> Var<'t, T> {
        self.apply(ExpmTimesOp, &[t.into_var(self.tape)])
    }

    /// Fallible [`Var::expm_times`].
    pub fn try_expm_times(self, t: impl IntoVar<'t, T>) -> Result<Var<'t, T>, TapeError> {
        self.try_apply(ExpmTimesOp, &[t.into_var(self.tape)])
    }
}

/// The tangents of `Q` and of the times, zeros standing in for `None`.
pub(crate) fn directions<T: Real>(
    p: &ExpmTimes<T>,
    x: &[MatRef<'_, T>],
    t: &[Option<MatRef<'_, T>>],
) -> (Mat<T>, Vec<T>) {
    let n = p.dim();
    let qd = t[0].map_or_else(|| Mat::zeros(n, n), |m| m.to_owned());
    let td = t[1].map_or_else(
        || vec![T::zero(); x[1].nrows()],
        |m| m.col(0).iter().copied().collect(),
    );
    (qd, td)
}
