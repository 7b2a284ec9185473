//! The actions `W_b = exp(t_b·Q)·V_b` for many times sharing one generator, as ONE node.
//!
//! Forward: [`ExpmTimes`] then one n×k product per time. VJP: `V̄_b = P_bᵀ·W̄_b`, and the
//! cotangent `P̄_b = W̄_b·V_bᵀ` of every `P_b` through [`ExpmTimes::try_adjoint`]: `Q̄`
//! (summed over the times) and every `t̄_b` in one reverse pass.
//!
//! Tests: `crates/tape/tests/batch.rs`.
use crate::{IntoVar, Op, Real, TapeError, Var};
use expgrad_linalg::ExpmTimes;
use expgrad_linalg::kernels::gemm;
use faer::{Accum, Mat, MatRef, Par};

/// `[exp(t_1·Q)·V_1 … exp(t_B·Q)·V_B]` (n×(k·B)) from `Q` (n×n), the times `t` (B×1) and
/// `V = [V_1 … V_B]` (n×(k·B)). VJP: `V̄_b = P_bᵀW̄_b`; `Q̄`, `t̄` from `P̄_b = W̄_bV_bᵀ`.
pub struct ExpmTimesMul;

/// The op name in errors.
const OP: &str = "expm_times_mul";

impl<T: Real> Op<T> for ExpmTimesMul {
    type Residual = ExpmTimes<T>;
    /// `Ẇ_b = Ṗ_b·V_b + P_b·V̇_b`, `Ṗ` from [`ExpmTimes::try_jvp`].
    fn jvp(
        &self,
        p: &ExpmTimes<T>,
        x: &[MatRef<'_, T>],
        _: MatRef<'_, T>,
        t: &[Option<MatRef<'_, T>>],
    ) -> Result<Mat<T>, TapeError> {
        let v = x[2];
        let pd = match (t[0], t[1]) {
            (None, None) => None,
            _ => {
                let (qd, td) = super::expm_times::directions(p, &x[..2], &t[..2]);
                Some(p.try_jvp(qd.as_ref(), &td).map_err(|e| e.with_op(OP))?)
            }
        };
        let mut out = Mat::zeros(v.nrows(), v.ncols());
        if let Some(pd) = &pd {
            out += per_time(p, pd.as_ref(), false, v);
        }
        if let Some(vd) = t[2] {
            out += per_time(p, p.values(), false, vd);
        }
        Ok(out)
    }
    /// `P̄_b = W̄_b·V_bᵀ` and its tangent `Ġ_b·V_bᵀ + W̄_b·V̇_bᵀ` through
    /// [`ExpmTimes::try_adjoint_jvp`]; `V̄_b = P_bᵀ·W̄_b` with tangent `Ṗ_bᵀ·W̄_b + P_bᵀ·Ġ_b`.
    fn vjp_jvp(
        &self,
        p: &ExpmTimes<T>,
        at: &crate::Tangents<'_, T>,
        g: MatRef<'_, T>,
        gd: Option<MatRef<'_, T>>,
        needs: &[bool],
    ) -> Result<Vec<Option<crate::DualCotangent<T>>>, TapeError> {
        let (x, t) = (at.inputs, at.tangents);
        let v = x[2];
        let (qd, td) = super::expm_times::directions(p, &x[..2], &t[..2]);
        let mut out = vec![None, None, None];
        if needs[0] || needs[1] {
            let pbar = outer(p, g, v);
            let mut pbar_d = gd.map(|gd| outer(p, gd, v));
            if let Some(vd) = t[2] {
                let term = outer(p, g, vd);
                pbar_d = Some(match pbar_d {
                    Some(acc) => acc + term,
                    None => term,
                });
            }
            let (qbar, tbar, qbar_d, tbar_d) = p
                .try_adjoint_jvp(
                    pbar.as_ref(),
                    qd.as_ref(),
                    &td,
                    pbar_d.as_ref().map(Mat::as_ref),
                )
                .map_err(|e| e.with_op(OP))?;
            let column = |v: &[T]| Mat::from_fn(v.len(), 1, |i, _| v[i]);
            out[0] = needs[0].then_some((qbar, Some(qbar_d)));
            out[1] = needs[1].then(|| (column(&tbar), Some(column(&tbar_d))));
        }
        if needs[2] {
            let vbar = per_time(p, p.values(), true, g);
            let mut vbar_d = gd.map(|gd| per_time(p, p.values(), true, gd));
            if t[0].is_some() || t[1].is_some() {
                let pd = p.try_jvp(qd.as_ref(), &td).map_err(|e| e.with_op(OP))?;
                let term = per_time(p, pd.as_ref(), true, g);
                vbar_d = Some(match vbar_d {
                    Some(acc) => acc + term,
                    None => term,
                });
            }
            out[2] = Some((vbar, vbar_d));
        }
        Ok(out)
    }
    fn name(&self) -> &'static str {
        OP
    }
    fn forward(&self, x: &[MatRef<'_, T>]) -> Result<(Mat<T>, ExpmTimes<T>), TapeError> {
        let (q, t, v) = (x[0], x[1], x[2]);
        let b = t.nrows();
        if (t.ncols() != 1 && b > 0) || v.nrows() != q.nrows() || (b == 0 && v.ncols() > 0) {
            return Err(TapeError::ShapeMismatch {
                op: OP,
                lhs: q.shape(),
                rhs: v.shape(),
            });
        }
        if b > 0 && v.ncols() % b != 0 {
            return Err(TapeError::ShapeMismatch {
                op: OP,
                lhs: t.shape(),
                rhs: v.shape(),
            });
        }
        let times: Vec<T> = t.col(0).iter().copied().collect();
        let p = ExpmTimes::try_new(q, &times).map_err(|e| e.with_op(OP))?;
        let w = per_time(&p, p.values(), false, v);
        Ok((w, p))
    }
    fn vjp(
        &self,
        p: &ExpmTimes<T>,
        x: &[MatRef<'_, T>],
        _: MatRef<'_, T>,
        g: MatRef<'_, T>,
        needs: &[bool],
    ) -> Result<Vec<Option<Mat<T>>>, TapeError> {
        let (b, v) = (p.len(), x[2]);
        let (mut qbar, mut tbar) = (None, None);
        if needs[0] || needs[1] {
            let pbar = outer(p, g, v);
            let (q, t) = p.try_adjoint(pbar.as_ref()).map_err(|e| e.with_op(OP))?;
            qbar = needs[0].then_some(q);
            tbar = needs[1].then(|| Mat::from_fn(b, 1, |i, _| t[i]));
        }
        let vbar = needs[2].then(|| per_time(p, p.values(), true, g));
        Ok(vec![qbar, tbar, vbar])
    }
}

impl<'t, T: Real> Var<'t, T> {
    /// `exp(t_b·self)·V_b` for every time `t_b` of the column `t` (B×1) and block `V_b` of
    /// `v` (n×(k·B), block `b` in columns `b·k..(b+1)·k`), side by side (n×(k·B)), as one
    /// node. The same value as `self.expm_times(t)` followed by one product per block, with
    /// the exponentials never on the tape. Panics naming the op and the shapes on a mismatch.
    ///
    /// ```
    /// use expgrad_tape::Tape;
    /// use faer::mat;
    /// let tape = Tape::new();
    /// let q = tape.var(mat![[-1.0, 1.0], [2.0, -2.0f64]]);
    /// let t = tape.var(mat![[0.1], [2.0f64]]);
    /// let v = tape.constant(mat![[1.0, 0.0], [0.0, 1.0f64]]); // V_1 = e_1, V_2 = e_2
    /// let w = q.expm_times_mul(t, v); // [exp(0.1·Q)·e_1, exp(2·Q)·e_2]
    /// let direct = q.expm_times(t).value();
    /// assert_eq!(w.value()[(1, 1)], direct[(1, 3)]);
    /// ```
    #[track_caller]
    pub fn expm_times_mul(self, t: impl IntoVar<'t, T>, v: impl IntoVar<'t, T>) -> Var<'t, T> {
        let (t, v) = (t.into_var(self.tape), v.into_var(self.tape));
        self.apply(ExpmTimesMul, &[t, v])
    }

    /// Fallible [`Var::expm_times_mul`].
    pub fn try_expm_times_mul(
        self,
        t: impl IntoVar<'t, T>,
        v: impl IntoVar<'t, T>,
    ) -> Result<Var<'t, T>, TapeError> {
        let (t, v) = (t.into_var(self.tape), v.into_var(self.tape));
        self.try_apply(ExpmTimesMul, &[t, v])
    }
}

/// `[M_b·U_b]_b` (or `[M_bᵀ·U_b]_b` when `tr`) for the n×n blocks `M_b` of `m` (n×(n·B)) and
/// the column blocks `U_b` of `u` (n×(k·B)).
fn per_time<T: Real>(p: &ExpmTimes<T>, m: MatRef<'_, T>, tr: bool, u: MatRef<'_, T>) -> Mat<T> {
    let (n, b) = (p.dim(), p.len());
    let k = u.ncols().checked_div(b).unwrap_or(0);
    let mut out = Mat::zeros(n, u.ncols());
    for j in 0..b {
        let mb = m.subcols(j * n, n);
        let mb = if tr { mb.transpose() } else { mb };
        gemm(
            out.subcols_mut(j * k, k),
            Accum::Replace,
            mb,
            u.subcols(j * k, k),
            T::one_impl(),
            Par::Seq,
        );
    }
    out
}

/// `[G_b·V_bᵀ]_b` (n×(n·B)): the cotangent of every `P_b` from the output cotangent.
fn outer<T: Real>(p: &ExpmTimes<T>, g: MatRef<'_, T>, v: MatRef<'_, T>) -> Mat<T> {
    let (n, b) = (p.dim(), p.len());
    let k = v.ncols().checked_div(b).unwrap_or(0);
    let mut out = Mat::zeros(n, n * b);
    for j in 0..b {
        gemm(
            out.subcols_mut(j * n, n),
            Accum::Replace,
            g.subcols(j * k, k),
            v.subcols(j * k, k).transpose(),
            T::one_impl(),
            Par::Seq,
        );
    }
    out
}
