//! Adjoints from one backward sweep, keyed by `Var`.

use crate::Scalar;
use crate::cotangent::Cotangent;
use crate::tape::Tape;
use crate::var::Var;
use core::cell::OnceCell;
use expgrad_linalg::kernels;
use faer::Mat;

/// The result of a backward sweep: `∂(output·seed)/∂v` for every tracked `v` it reached.
pub struct Gradients<'t, T = f64> {
    pub(crate) tape: &'t Tape<T>,
    pub(crate) generation: u32,
    /// The adjoints as the sweep left them (a low-rank one stays factored) …
    pub(crate) adj: Vec<Option<Cotangent<T>>>,
    /// … the low-rank ones formed as dense matrices on first request (the list itself is
    /// made on the first such request; a dense adjoint is returned as it is).
    pub(crate) dense: OnceCell<Vec<OnceCell<Mat<T>>>>,
}

impl<T: Scalar> Gradients<'_, T> {
    /// The real part of the adjoint of `v` (zeros when `v` does not reach the output): the
    /// gradient with respect to a real parameter that enters a complex model as `v`
    /// (see [`Tape::real_var`](crate::Tape::real_var)). For real scalars, the adjoint itself.
    #[track_caller]
    pub fn wrt_real(&self, v: Var<'_, T>) -> Mat<T::Real> {
        let (r, c) = v.shape();
        match self.get(v) {
            Some(g) => g.map(|x: &T| x.re()),
            None => Mat::zeros(r, c),
        }
    }

    /// The adjoint of `v`, or `None` when `v` does not reach the output (or is untracked).
    /// Panics if `v` belongs to another tape.
    #[track_caller]
    pub fn get(&self, v: Var<'_, T>) -> Option<&Mat<T>> {
        self.check(v);
        match self.adj.get(v.index)?.as_ref()? {
            Cotangent::Dense(m) => Some(m),
            low_rank => {
                let dense = self
                    .dense
                    .get_or_init(|| (0..self.adj.len()).map(|_| OnceCell::new()).collect());
                Some(dense[v.index].get_or_init(|| low_rank.to_dense()))
            }
        }
    }

    /// The adjoint of `v`, zeros of `v`'s shape when `v` does not reach the output.
    #[track_caller]
    pub fn wrt(&self, v: Var<'_, T>) -> Mat<T> {
        match self.get(v) {
            Some(g) => {
                let mut out = kernels::small_scratch(g.nrows(), g.ncols());
                out.copy_from(g);
                out
            }
            None => {
                let (r, c) = v.shape();
                Mat::zeros(r, c)
            }
        }
    }

    #[track_caller]
    fn check(&self, v: Var<'_, T>) {
        assert!(
            core::ptr::eq(v.tape, self.tape) && v.generation == self.generation,
            "Gradients::get: a Var from another tape (or from before tape.clear()) was used"
        );
    }
}

impl<T> Drop for Gradients<'_, T> {
    /// The adjoint list goes back to the tape for the next sweep, its matrices with it.
    fn drop(&mut self) {
        // The next sweep (or `Tape::clear`) recycles the adjoints it holds.
        self.tape.spare_adj.set(core::mem::take(&mut self.adj));
    }
}

impl<T: Scalar> core::fmt::Debug for Gradients<'_, T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let reached: Vec<String> = self
            .adj
            .iter()
            .enumerate()
            .filter_map(|(i, a)| {
                a.as_ref()
                    .map(|a| format!("#{i}: {}x{}", a.shape().0, a.shape().1))
            })
            .collect();
        write!(f, "Gradients [{}]", reached.join(", "))
    }
}
