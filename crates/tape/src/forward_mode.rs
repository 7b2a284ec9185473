//! Forward mode and second order on the recorded graph: the tangent sweep (JVPs), the
//! forward-over-reverse sweep (Hessian-vector products) and Hessians of small inputs.
//!
//! * [`Var::jvp`] runs [`Op::jvp`](crate::Op::jvp) over the nodes in creation order (a
//!   topological order), from tangents given for tracked leaves: one sweep, whatever the
//!   number of inputs.
//! * [`Var::hvp`] runs that sweep, then one reverse sweep of
//!   [`Op::vjp_jvp`](crate::Op::vjp_jvp) carrying each node's cotangent `ḡ` and its tangent
//!   `ġ`: at a tracked leaf `x`, `ḡ = ∇ℓ(x)` and `ġ = ∇²ℓ(x)·u` (docs/math.md, second order).
//! * [`Var::hessian`] is one such pair of sweeps per entry of the input, on the forward pass
//!   recorded once.
//!
//! Tests: `crates/tape/tests/{forward_mode,second_order}.rs`.

use crate::error::unwrap_or_panic;
use crate::gradients::Gradients;
use crate::op::Tangents;
use crate::tape::{Tape, finite, with_values};
use crate::{Cotangent, Scalar, TapeError, Var};
use core::cell::OnceCell;
use faer::{Mat, MatRef, unzip, zip};

/// `acc += b`, or `acc = b` when empty.
fn accumulate<T: Scalar>(acc: &mut Option<Mat<T>>, b: Mat<T>) {
    match acc {
        Some(a) => zip!(a.as_mut(), b.as_ref()).for_each(|unzip!(a, b)| *a += *b),
        None => *acc = Some(b),
    }
}

/// `Err(ShapeMismatch)` unless `m` has `shape`.
fn check_shape<T>(op: &'static str, shape: (usize, usize), m: &Mat<T>) -> Result<(), TapeError> {
    if m.shape() == shape {
        Ok(())
    } else {
        Err(TapeError::ShapeMismatch {
            op,
            lhs: shape,
            rhs: m.shape(),
        })
    }
}

impl<T: Scalar> Tape<T> {
    /// Forward mode: the tangent of `output` for the given tangents of tracked variables
    /// (`tape.var`), one sweep over the recorded graph: `J·ẋ` (zeros when no given input
    /// reaches `output`). Panics with the error's message; see [`Tape::try_jvp`].
    ///
    /// ```
    /// use expgrad_tape::Tape;
    /// let tape = Tape::new();
    /// let x = tape.var(faer::mat![[0.0, 1.0], [0.0, 0.0f64]]);
    /// let y = x.expm();
    /// // L(X, E) for nilpotent X and E = I: d/dε e^{X+εI} = e^X.
    /// let ydot = tape.jvp(y, &[(x, faer::Mat::identity(2, 2))]);
    /// assert!((&ydot - y.value()).norm_max() < 1e-15);
    /// ```
    #[track_caller]
    pub fn jvp(&self, output: Var<'_, T>, tangents: &[(Var<'_, T>, Mat<T>)]) -> Mat<T> {
        unwrap_or_panic(self.try_jvp(output, tangents))
    }

    /// Fallible [`Tape::jvp`]: `Domain` for a tangent given to a constant or to an op's
    /// output, `ShapeMismatch` for a tangent of the wrong shape, `NonFinite`, `NoRule` for an
    /// op without [`Op::jvp`](crate::Op::jvp), or the op's own error.
    pub fn try_jvp(
        &self,
        output: Var<'_, T>,
        tangents: &[(Var<'_, T>, Mat<T>)],
    ) -> Result<Mat<T>, TapeError> {
        self.check(output, "jvp")?;
        let mut tan = self.tangent_sweep(output.index, tangents)?;
        Ok(tan[output.index].take().unwrap_or_else(|| {
            let (r, c) = output.shape();
            Mat::zeros(r, c)
        }))
    }

    /// The tangents of nodes `0..=out` from `seeds` on tracked leaves (`None` = zero).
    pub(crate) fn tangent_sweep(
        &self,
        out: usize,
        seeds: &[(Var<'_, T>, Mat<T>)],
    ) -> Result<Vec<Option<Mat<T>>>, TapeError> {
        const OP: &str = "jvp";
        let nodes = self.nodes.borrow();
        let parents = self.parents.borrow();
        let mut tan: Vec<Option<Mat<T>>> = (0..=out).map(|_| None).collect();
        for (v, t) in seeds {
            self.check(*v, OP)?;
            let node = &nodes[v.index];
            if node.op.is_some() || !node.tracked {
                return Err(TapeError::Domain {
                    op: OP,
                    what: "tangents are given for tracked variables (tape.var), not for constants or op outputs",
                });
            }
            check_shape(OP, node.value.shape(), t)?;
            finite(OP, t)?;
            if v.index <= out {
                accumulate(&mut tan[v.index], t.clone());
            }
        }
        for i in 0..=out {
            let node = &nodes[i];
            let Some(op) = &node.op else { continue };
            let ps = &parents[node.p0..node.p0 + node.np];
            if ps.iter().all(|&p| tan[p].is_none()) {
                continue;
            }
            let t = {
                let ts: Vec<Option<MatRef<'_, T>>> = ps
                    .iter()
                    .map(|&p| tan[p].as_ref().map(Mat::as_ref))
                    .collect();
                with_values(&nodes, ps, |inputs| {
                    op.jvp(inputs, node.value.as_ref(), &ts)
                })?
            };
            assert!(
                t.shape() == node.value.shape(),
                "{}: jvp returned a {}x{} tangent for an output of shape {}x{}",
                op.name(),
                t.nrows(),
                t.ncols(),
                node.value.nrows(),
                node.value.ncols()
            );
            finite(op.name(), &t)?;
            tan[i] = Some(t);
        }
        Ok(tan)
    }

    /// Forward-over-reverse from the 1×1 node `out` with the node tangents `tan`: the
    /// gradient (`ḡ`) and its tangent (`ġ`) of every node.
    #[allow(clippy::type_complexity)]
    pub(crate) fn hvp_sweep(
        &self,
        out: usize,
        tan: &[Option<Mat<T>>],
    ) -> Result<(Vec<Option<Mat<T>>>, Vec<Option<Mat<T>>>), TapeError> {
        let nodes = self.nodes.borrow();
        let parents = self.parents.borrow();
        let mut adj: Vec<Option<Mat<T>>> = (0..=out).map(|_| None).collect();
        let mut adj_t: Vec<Option<Mat<T>>> = (0..=out).map(|_| None).collect();
        if nodes[out].tracked {
            adj[out] = Some(Mat::from_fn(1, 1, |_, _| T::one_impl()));
        }
        let mut ts: Vec<Option<MatRef<'_, T>>> = Vec::new();
        let mut needs: Vec<bool> = Vec::new();
        for i in (0..=out).rev() {
            let node = &nodes[i];
            let Some(op) = &node.op else { continue };
            let Some(g) = adj[i].take() else { continue };
            let gd = adj_t[i].take();
            let ps = &parents[node.p0..node.p0 + node.np];
            needs.clear();
            needs.extend(ps.iter().map(|&p| nodes[p].tracked));
            ts.clear();
            ts.extend(ps.iter().map(|&p| tan[p].as_ref().map(Mat::as_ref)));
            let res = with_values(&nodes, ps, |inputs| {
                let at = Tangents {
                    inputs,
                    tangents: &ts,
                    output: node.value.as_ref(),
                    output_tangent: tan[i].as_ref().map(Mat::as_ref),
                };
                op.vjp_jvp(&at, g.as_ref(), gd.as_ref().map(Mat::as_ref), &needs)
            })?;
            assert_eq!(
                res.len(),
                ps.len(),
                "{}: vjp_jvp returned {} cotangents for {} inputs",
                op.name(),
                res.len(),
                ps.len()
            );
            for (k, r) in res.into_iter().enumerate() {
                let (Some((b, d)), true) = (r, needs[k]) else {
                    continue;
                };
                let p = ps[k];
                let shape = nodes[p].value.shape();
                for m in core::iter::once(&b).chain(d.as_ref()) {
                    assert!(
                        m.shape() == shape,
                        "{}: vjp_jvp returned a {}x{} cotangent for input {k} of shape {}x{}",
                        op.name(),
                        m.nrows(),
                        m.ncols(),
                        shape.0,
                        shape.1
                    );
                    finite(op.name(), m)?;
                }
                accumulate(&mut adj[p], b);
                if let Some(d) = d {
                    accumulate(&mut adj_t[p], d);
                }
                for m in [&adj[p], &adj_t[p]].into_iter().flatten() {
                    finite(op.name(), m)?;
                }
            }
            adj[i] = Some(g);
            adj_t[i] = gd;
        }
        Ok((adj, adj_t))
    }

    fn gradients(&self, adj: Vec<Option<Mat<T>>>) -> Gradients<'_, T> {
        Gradients {
            tape: self,
            generation: self.generation.get(),
            dense: OnceCell::new(),
            adj: adj.into_iter().map(|m| m.map(Cotangent::Dense)).collect(),
        }
    }
}

impl<'t, T: Scalar> Var<'t, T> {
    /// Forward mode from this output: `J·ẋ` for tangents of tracked variables, one sweep
    /// ([`Tape::jvp`]). Panics with the error's message; see [`Var::try_jvp`].
    ///
    /// ```
    /// use expgrad_tape::Tape;
    /// let tape = Tape::new();
    /// let x = tape.var(faer::mat![[0.3, -0.1], [0.2, 0.4f64]]);
    /// let v = tape.constant(faer::mat![[1.0], [2.0f64]]);
    /// let y = x.expm_mul(v);                                // e^X v
    /// let e = faer::mat![[1.0, 0.0], [0.0, -1.0f64]];
    /// let ydot = y.jvp(&[(x, e.clone())]);                  // L(X, E) v
    /// let l = expgrad_linalg::Expm::new(x.value().as_ref()).frechet(e.as_ref());
    /// assert!((&ydot - &l * v.value()).norm_max() < 1e-14);
    /// ```
    #[track_caller]
    pub fn jvp(self, tangents: &[(Var<'t, T>, Mat<T>)]) -> Mat<T> {
        unwrap_or_panic(self.try_jvp(tangents))
    }

    /// Fallible [`Var::jvp`].
    pub fn try_jvp(self, tangents: &[(Var<'t, T>, Mat<T>)]) -> Result<Mat<T>, TapeError> {
        self.tape.try_jvp(self, tangents)
    }

    /// Hessian-vector product of this 1×1 output `ℓ`: `(∇ℓ, ∇²ℓ·u)` as two [`Gradients`]
    /// (read either with `wrt`), for directions `u` given per tracked variable (`None`
    /// elsewhere is zero). Forward over reverse: one tangent sweep, then one reverse sweep
    /// of [`Op::vjp_jvp`](crate::Op::vjp_jvp), exact (no finite differences). For complex
    /// scalars the Hessian is that of `ℓ` as a function of the real and imaginary parts, and
    /// both results follow the gradient convention `∂/∂x + i·∂/∂y`. Panics with the error's
    /// message; see [`Var::try_hvp`].
    ///
    /// ```
    /// use expgrad_tape::Tape;
    /// let tape = Tape::new();
    /// let x = tape.var(faer::mat![[1.0, 2.0f64]]);
    /// let loss = x.square().mul(x).sum();                   // Σ x³
    /// let (g, h) = loss.hvp(&[(x, faer::mat![[1.0, 1.0]])]);
    /// assert_eq!(g.wrt(x), faer::mat![[3.0, 12.0]]);        // 3x²
    /// assert_eq!(h.wrt(x), faer::mat![[6.0, 12.0]]);        // 6x ∘ u
    /// ```
    #[track_caller]
    pub fn hvp(self, directions: &[(Var<'t, T>, Mat<T>)]) -> (Gradients<'t, T>, Gradients<'t, T>) {
        unwrap_or_panic(self.try_hvp(directions))
    }

    /// Fallible [`Var::hvp`]: `NotScalar` unless this output is 1×1, the errors of
    /// [`Tape::try_jvp`], `NoRule` for an op without [`Op::vjp_jvp`](crate::Op::vjp_jvp).
    #[allow(clippy::type_complexity)]
    pub fn try_hvp(
        self,
        directions: &[(Var<'t, T>, Mat<T>)],
    ) -> Result<(Gradients<'t, T>, Gradients<'t, T>), TapeError> {
        self.tape.check(self, "hvp")?;
        let shape = self.shape();
        if shape != (1, 1) {
            return Err(TapeError::NotScalar { op: "hvp", shape });
        }
        let tan = self.tape.tangent_sweep(self.index, directions)?;
        let (adj, adj_t) = self.tape.hvp_sweep(self.index, &tan)?;
        Ok((self.tape.gradients(adj), self.tape.gradients(adj_t)))
    }

    /// The Hessian of this 1×1 output with respect to one tracked variable `input` (k×l):
    /// the kl×kl matrix `∂²ℓ / ∂vec(x) ∂vec(x)ᵀ` (column-major `vec`), column `j` the
    /// Hessian-vector product along the unit direction `e_j`: kl pairs of sweeps on the
    /// forward pass recorded once. For complex scalars, column `j` is the product along the
    /// real direction `e_j`. Panics with the error's message; see [`Var::try_hessian`].
    ///
    /// ```
    /// use expgrad_tape::Tape;
    /// let tape = Tape::new();
    /// let x = tape.var(faer::mat![[1.0], [2.0f64]]);
    /// let loss = x.square().mul(x).sum();                   // Σ x³: H = Diag(6x)
    /// assert_eq!(loss.hessian(x), faer::mat![[6.0, 0.0], [0.0, 12.0]]);
    /// ```
    #[track_caller]
    pub fn hessian(self, input: Var<'t, T>) -> Mat<T> {
        unwrap_or_panic(self.try_hessian(input))
    }

    /// Fallible [`Var::hessian`].
    pub fn try_hessian(self, input: Var<'t, T>) -> Result<Mat<T>, TapeError> {
        const OP: &str = "hessian";
        self.tape.check(self, OP)?;
        self.tape.check(input, OP)?;
        let shape = self.shape();
        if shape != (1, 1) {
            return Err(TapeError::NotScalar { op: OP, shape });
        }
        let (r, c) = input.shape();
        let n = r * c;
        let mut h = Mat::<T>::zeros(n, n);
        for j in 0..n {
            let mut u = Mat::<T>::zeros(r, c);
            u[(j % r, j / r)] = T::one_impl();
            let tan = self.tape.tangent_sweep(self.index, &[(input, u)])?;
            let (_, mut adj_t) = self.tape.hvp_sweep(self.index, &tan)?;
            if let Some(col) = adj_t.get_mut(input.index).and_then(Option::take) {
                for q in 0..c {
                    for p in 0..r {
                        h[(p + q * r, j)] = col[(p, q)];
                    }
                }
            }
        }
        Ok(h)
    }
}
