//! The tape: a `Vec` of nodes in creation order, which is a topological order, so the
//! backward pass is one reverse loop (as in the `reverse` crate and Stan's `grad()`).
//!
//! Tests: `crates/tape/tests/{semantics,misuse,properties}.rs`.

use crate::Scalar;
use crate::cotangent::Cotangent;
use crate::error::{TapeError, unwrap_or_panic};
use crate::gradients::Gradients;
use crate::op::{Op, Recorded, WithResidual};
use crate::var::Var;
use core::cell::{Cell, OnceCell, RefCell};
use core::fmt;
use expgrad_linalg::kernels;
use faer::{Mat, MatRef};

/// One recorded value: a leaf (`op = None`) or the output of an op on earlier nodes.
pub(crate) struct Node<T> {
    pub(crate) value: Mat<T>,
    pub(crate) op: Option<Box<dyn Recorded<T>>>,
    /// `parents[p0..p0 + np]` in the tape's flat parent list.
    pub(crate) p0: usize,
    pub(crate) np: usize,
    /// A tracked variable, or computed from one: its adjoint is wanted.
    pub(crate) tracked: bool,
}

/// A reverse-mode tape of matrix-valued nodes.
///
/// `Var`s are small `Copy` handles into it; ops are methods on `Var`. Ops whose inputs are
/// all untracked record a value but no op (nothing is differentiated through them).
///
/// ```
/// use expgrad_tape::Tape;
/// use faer::mat;
/// let tape = Tape::new();
/// let x = tape.var(mat![[0.1, 0.2], [0.3, -0.4f64]]);
/// let c = tape.constant(mat![[1.0, 0.0], [0.0, 2.0]]);
/// let loss = x.expm().dot(c);            // ⟨C, e^X⟩
/// let g = loss.backward().wrt(x);        // L(Xᵀ, C)
/// assert_eq!(g.shape(), (2, 2));
/// ```
pub struct Tape<T = f64> {
    pub(crate) nodes: RefCell<Vec<Node<T>>>,
    pub(crate) parents: RefCell<Vec<usize>>,
    pub(crate) generation: Cell<u32>,
    /// The reverse sweep's buffers, kept between sweeps (a dropped [`Gradients`] gives its
    /// adjoint list back): a sweep over a small model allocates only its cotangents.
    pub(crate) spare_adj: Cell<Vec<Option<Cotangent<T>>>>,
    spare_grads: Cell<Vec<Option<Cotangent<T>>>>,
}

/// Inputs gathered on the stack by [`Tape::try_apply`] and the reverse sweep (more go
/// through a `Vec`).
const STACK_INPUTS: usize = 4;

/// `f(&[values of idx…])`, the values gathered on the stack when there are at most
/// [`STACK_INPUTS`] of them.
pub(crate) fn with_values<T, R>(
    nodes: &[Node<T>],
    idx: &[usize],
    f: impl FnOnce(&[MatRef<'_, T>]) -> R,
) -> R {
    if idx.len() <= STACK_INPUTS {
        let empty: &[T] = &[];
        let mut stack = [MatRef::from_column_major_slice(empty, 0, 0); STACK_INPUTS];
        for (s, &i) in stack.iter_mut().zip(idx) {
            *s = nodes[i].value.as_ref();
        }
        f(&stack[..idx.len()])
    } else {
        let heap: Vec<MatRef<'_, T>> = idx.iter().map(|&i| nodes[i].value.as_ref()).collect();
        f(&heap)
    }
}

impl<T: Scalar> Default for Tape<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Scalar> Tape<T> {
    /// An empty tape.
    pub fn new() -> Self {
        Self {
            nodes: RefCell::new(Vec::new()),
            parents: RefCell::new(Vec::new()),
            generation: Cell::new(0),
            spare_adj: Cell::new(Vec::new()),
            spare_grads: Cell::new(Vec::new()),
        }
    }

    /// A tracked input: gradients are computed with respect to it. A NaN or ∞ in `value` is
    /// reported (`NonFinite`, or `expm`'s own error) by the first op that uses it; use
    /// [`Tape::try_var`] to reject it at once.
    pub fn var(&self, value: Mat<T>) -> Var<'_, T> {
        self.push_leaf(value, true)
    }

    /// [`Tape::var`] that returns `NonFinite` for a NaN or ∞ entry.
    pub fn try_var(&self, value: Mat<T>) -> Result<Var<'_, T>, TapeError> {
        finite("var", &value)?;
        Ok(self.push_leaf(value, true))
    }

    /// A tracked real parameter in a model over `T`: `value` (real) as a variable with zero
    /// imaginary parts. Its derivative is the real part of its adjoint,
    /// [`Gradients::wrt_real`] (`∂ℓ/∂x` when the imaginary part is never perturbed). For real
    /// scalars, the same as [`Tape::var`].
    ///
    /// ```
    /// use faer::c64;
    /// let tape = expgrad_tape::Tape::<c64>::new();
    /// let u = tape.real_var(faer::mat![[0.3f64]]);
    /// let i = tape.scalar(c64::new(0.0, 1.0));
    /// let loss = u.scale(i).exp().abs2().sum().real(); // |e^{iu}|² = 1
    /// let du = loss.backward().wrt_real(u);
    /// assert!(du[(0, 0)].abs() < 1e-15);
    /// ```
    pub fn real_var(&self, value: Mat<T::Real>) -> Var<'_, T> {
        self.var(value.map(|x| T::from_real(*x)))
    }

    /// An untracked input (data): no gradient flows into it, and ops on constants only
    /// record no op. Non-finite entries are reported by the first op that uses them; use
    /// [`Tape::try_constant`] to reject them at once.
    pub fn constant(&self, value: Mat<T>) -> Var<'_, T> {
        self.push_leaf(value, false)
    }

    /// [`Tape::constant`] that returns `NonFinite` for a NaN or ∞ entry.
    pub fn try_constant(&self, value: Mat<T>) -> Result<Var<'_, T>, TapeError> {
        finite("constant", &value)?;
        Ok(self.push_leaf(value, false))
    }

    /// A 1×1 constant `value` (a time, a weight, a step).
    ///
    /// ```
    /// let tape = expgrad_tape::Tape::new();
    /// let t = tape.scalar(0.5);
    /// let x = tape.var(faer::mat![[1.0, 2.0f64]]);
    /// assert_eq!(x.scale(t).value(), faer::mat![[0.5, 1.0]]);
    /// ```
    pub fn scalar(&self, value: T) -> Var<'_, T> {
        self.constant(Mat::from_fn(1, 1, |_, _| value))
    }

    /// A tracked 1×1 variable `value`.
    pub fn scalar_var(&self, value: T) -> Var<'_, T> {
        self.var(Mat::from_fn(1, 1, |_, _| value))
    }

    /// Number of nodes recorded.
    pub fn len(&self) -> usize {
        self.nodes.borrow().len()
    }

    /// Whether no node is recorded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Capacity of the node buffer (it is kept by [`Tape::clear`]).
    pub fn capacity(&self) -> usize {
        self.nodes.borrow().capacity()
    }

    /// Forgets every node but keeps the buffers, for optimisation loops: memory stays flat.
    /// `Var`s recorded before are invalidated: using one panics (`ForeignVar`). Small node
    /// values go to the thread's pool of small matrices, for the next iteration's ops.
    pub fn clear(&self) {
        for node in self.nodes.borrow_mut().drain(..) {
            kernels::small_recycle(node.value);
        }
        let mut adj = self.spare_adj.take();
        recycle_adjoints(&mut adj);
        self.spare_adj.set(adj);
        self.parents.borrow_mut().clear();
        self.generation.set(self.generation.get().wrapping_add(1));
    }

    /// Records `op` applied to `inputs`. Panics with the op's error message on bad input.
    #[track_caller]
    pub fn apply<O: Op<T>>(&self, op: O, inputs: &[Var<'_, T>]) -> Var<'_, T> {
        unwrap_or_panic(self.try_apply(op, inputs))
    }

    /// Records `op` applied to `inputs`, or returns the op's error.
    pub fn try_apply<O: Op<T>>(
        &self,
        op: O,
        inputs: &[Var<'_, T>],
    ) -> Result<Var<'_, T>, TapeError> {
        for v in inputs {
            self.check(*v, op.name())?;
        }
        let (value, residual, tracked) = {
            let nodes = self.nodes.borrow();
            let tracked = inputs.iter().any(|v| nodes[v.index].tracked);
            let mut idx = [0usize; STACK_INPUTS];
            let heap: Vec<usize>;
            let idx: &[usize] = if inputs.len() <= STACK_INPUTS {
                for (s, v) in idx.iter_mut().zip(inputs) {
                    *s = v.index;
                }
                &idx[..inputs.len()]
            } else {
                heap = inputs.iter().map(|v| v.index).collect();
                &heap
            };
            let (value, residual) = with_values(&nodes, idx, |values| op.forward(values))?;
            finite(op.name(), &value)?;
            (value, residual, tracked)
        };
        if !tracked {
            return Ok(self.push_leaf(value, false));
        }
        let mut parents = self.parents.borrow_mut();
        let p0 = parents.len();
        parents.extend(inputs.iter().map(|v| v.index));
        drop(parents);
        let rec: Box<dyn Recorded<T>> = Box::new(WithResidual { op, residual });
        Ok(self.push(Node {
            value,
            op: Some(rec),
            p0,
            np: inputs.len(),
            tracked: true,
        }))
    }

    fn push_leaf(&self, value: Mat<T>, tracked: bool) -> Var<'_, T> {
        let p0 = self.parents.borrow().len();
        self.push(Node {
            value,
            op: None,
            p0,
            np: 0,
            tracked,
        })
    }

    fn push(&self, node: Node<T>) -> Var<'_, T> {
        let mut nodes = self.nodes.borrow_mut();
        nodes.push(node);
        Var {
            tape: self,
            index: nodes.len() - 1,
            generation: self.generation.get(),
        }
    }

    /// `Err(ForeignVar)` unless `v` belongs to this tape, recorded since the last clear.
    /// The shape of `v`, or `ForeignVar` naming `op`.
    pub(crate) fn try_shape(
        &self,
        v: Var<'_, T>,
        op: &'static str,
    ) -> Result<(usize, usize), TapeError> {
        self.check(v, op)?;
        Ok(self.nodes.borrow()[v.index].value.shape())
    }

    pub(crate) fn check(&self, v: Var<'_, T>, op: &'static str) -> Result<(), TapeError> {
        if core::ptr::eq(v.tape, self) && v.generation == self.generation.get() {
            Ok(())
        } else {
            Err(TapeError::ForeignVar { op })
        }
    }

    /// Reverse sweep from node `out` seeded with `seed` (checked by the caller). The first VJP
    /// error stops it; a non-finite cotangent (e.g. from an elementwise op whose adjoint
    /// overflows) is reported at the op whose VJP produced it.
    pub(crate) fn backward_from(
        &self,
        out: usize,
        seed: Mat<T>,
    ) -> Result<Gradients<'_, T>, TapeError> {
        let nodes = self.nodes.borrow();
        let parents = self.parents.borrow();
        let mut adj = self.spare_adj.take();
        recycle_adjoints(&mut adj);
        adj.resize_with(out + 1, || None);
        if nodes[out].tracked {
            adj[out] = Some(Cotangent::Dense(seed));
        }
        let mut grads = self.spare_grads.take();
        let mut needs_heap: Vec<bool> = Vec::new();
        for i in (0..=out).rev() {
            let node = &nodes[i];
            let Some(op) = &node.op else { continue };
            let Some(g) = adj[i].take() else { continue };
            let ps = &parents[node.p0..node.p0 + node.np];
            let mut needs_stack = [false; STACK_INPUTS];
            let needs: &[bool] = if ps.len() <= STACK_INPUTS {
                for (s, &p) in needs_stack.iter_mut().zip(ps) {
                    *s = nodes[p].tracked;
                }
                &needs_stack[..ps.len()]
            } else {
                needs_heap.clear();
                needs_heap.extend(ps.iter().map(|&p| nodes[p].tracked));
                &needs_heap
            };
            grads.clear();
            with_values(&nodes, ps, |inputs| {
                op.vjp_into(inputs, node.value.as_ref(), &g, needs, &mut grads)
            })?;
            assert_eq!(
                grads.len(),
                ps.len(),
                "{}: vjp returned {} cotangents for {} inputs",
                op.name(),
                grads.len(),
                ps.len()
            );
            for (k, gk) in grads.drain(..).enumerate() {
                let (Some(gk), true) = (gk, needs[k]) else {
                    continue;
                };
                if !gk.is_finite() {
                    return Err(TapeError::NonFinite { op: op.name() });
                }
                let p = ps[k];
                let shape = nodes[p].value.shape();
                assert!(
                    gk.shape() == shape,
                    "{}: vjp returned a {}x{} cotangent for input {k} of shape {}x{}",
                    op.name(),
                    gk.shape().0,
                    gk.shape().1,
                    shape.0,
                    shape.1
                );
                adj[p] = Some(match adj[p].take() {
                    Some(acc) => {
                        // Two finite contributions can sum to ±∞ (found by the fuzzer).
                        let sum = acc.add_to(gk);
                        if !sum.is_finite() {
                            return Err(TapeError::NonFinite { op: op.name() });
                        }
                        sum
                    }
                    None => gk,
                });
            }
            adj[i] = Some(g);
        }
        self.spare_grads.set(grads);
        // Factored adjoints are formed on request; one whose entries could overflow (the bound
        // r·max|u|·max|v| is not finite) is formed and checked now, so that none is ±∞ later.
        for (i, a) in adj.iter_mut().enumerate() {
            if let Some(c @ Cotangent::LowRank { .. }) = a
                && !c.entries_bounded()
            {
                let m = c.to_dense();
                finite(nodes[i].op.as_ref().map_or("backward", |op| op.name()), &m)?;
                *c = Cotangent::Dense(m);
            }
        }
        Ok(Gradients {
            tape: self,
            generation: self.generation.get(),
            dense: OnceCell::new(),
            adj,
        })
    }
}

/// Empties `adj` (a dropped [`Gradients`]' adjoints), its small matrices to the thread's pool.
fn recycle_adjoints<T: Scalar>(adj: &mut Vec<Option<Cotangent<T>>>) {
    for c in adj.drain(..).flatten() {
        match c {
            Cotangent::Dense(m) => kernels::small_recycle(m),
            Cotangent::LowRank { u, v } => {
                kernels::small_recycle(u);
                kernels::small_recycle(v);
            }
        }
    }
}

/// `Err(NonFinite)` unless every entry of `m` is finite.
pub(crate) fn finite<T: Scalar>(op: &'static str, m: &Mat<T>) -> Result<(), TapeError> {
    if m.col_iter().all(|c| c.iter().all(|x| x.is_finite_value())) {
        Ok(())
    } else {
        Err(TapeError::NonFinite { op })
    }
}

impl<T: Scalar> fmt::Debug for Tape<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let nodes = self.nodes.borrow();
        let parents = self.parents.borrow();
        writeln!(f, "Tape ({} nodes)", nodes.len())?;
        for (i, n) in nodes.iter().enumerate() {
            let name = match (&n.op, n.tracked) {
                (Some(op), _) => op.name(),
                (None, true) => "var",
                (None, false) => "constant",
            };
            let ps = &parents[n.p0..n.p0 + n.np];
            let shapes: Vec<String> = ps
                .iter()
                .map(|&p| format!("{}x{}", nodes[p].value.nrows(), nodes[p].value.ncols()))
                .collect();
            writeln!(
                f,
                "  #{i:<4} {name:<12} {}x{}  parents {ps:?} {}",
                n.value.nrows(),
                n.value.ncols(),
                if shapes.is_empty() {
                    String::new()
                } else {
                    format!("({})", shapes.join(", "))
                }
            )?;
        }
        Ok(())
    }
}
