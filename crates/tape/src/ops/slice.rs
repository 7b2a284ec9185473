//! A block of entries `a[rows, cols]` (entries, rows, columns, sub-blocks). VJP: the
//! cotangent placed in a zero matrix of the input's shape.
//!
//! Tests: `crates/tape/tests/ergonomics.rs`.
use crate::{Cotangent, Op, Scalar, TapeError, Var};
use core::ops::Range;
use faer::{Mat, MatRef};

/// The block `a[rows, cols]` (half-open ranges). VJP: `ā` is zero except `ā[rows, cols] = ḡ`.
pub struct Slice {
    /// Rows taken.
    pub rows: Range<usize>,
    /// Columns taken.
    pub cols: Range<usize>,
}

impl<T: Scalar> Op<T> for Slice {
    type Residual = ();
    crate::linear_rules!(T);
    fn name(&self) -> &'static str {
        "slice"
    }
    fn forward(&self, x: &[MatRef<'_, T>]) -> Result<(Mat<T>, ()), TapeError> {
        let (r, c) = x[0].shape();
        let (rows, cols) = (&self.rows, &self.cols);
        if rows.start > rows.end || cols.start > cols.end || rows.end > r || cols.end > c {
            return Err(TapeError::ShapeMismatch {
                op: "slice",
                lhs: (r, c),
                rhs: (rows.end, cols.end),
            });
        }
        let block = x[0].submatrix(rows.start, cols.start, rows.len(), cols.len());
        Ok((block.to_owned(), ()))
    }
    fn vjp(
        &self,
        _: &(),
        x: &[MatRef<'_, T>],
        _: MatRef<'_, T>,
        g: MatRef<'_, T>,
        needs: &[bool],
    ) -> Result<Vec<Option<Mat<T>>>, TapeError> {
        Ok(vec![needs[0].then(|| {
            let mut out = Mat::zeros(x[0].nrows(), x[0].ncols());
            out.as_mut()
                .submatrix_mut(self.rows.start, self.cols.start, g.nrows(), g.ncols())
                .copy_from(g);
            out
        })])
    }
    /// `ā = P·ḡ·Qᵀ` with `P`, `Q` the selecting columns of the identity: a column, row or
    /// entry (or any thin block) goes back factored, of rank min(rows, cols) of the block.
    fn vjp_factored(
        &self,
        _: &(),
        x: &[MatRef<'_, T>],
        _: MatRef<'_, T>,
        g: &Cotangent<T>,
        needs: &[bool],
    ) -> Result<Vec<Option<Cotangent<T>>>, TapeError> {
        if !needs[0] {
            return Ok(vec![None]);
        }
        let g = g.to_dense();
        let (m, n) = x[0].shape();
        let (p, q) = g.shape();
        let (r0, c0) = (self.rows.start, self.cols.start);
        let pick = |len: usize, start: usize, k: usize| {
            Mat::from_fn(len, k, |i, j| {
                if i == start + j {
                    T::one_impl()
                } else {
                    T::zero_impl()
                }
            })
        };
        let place = |len: usize, start: usize, block: MatRef<'_, T>| {
            let mut out = Mat::zeros(len, block.ncols());
            out.as_mut()
                .submatrix_mut(start, 0, block.nrows(), block.ncols())
                .copy_from(block);
            out
        };
        Ok(vec![Some(if q <= p {
            Cotangent::low_rank(place(m, r0, g.as_ref()).as_ref(), pick(n, c0, q).as_ref())
        } else {
            // U·Vᴴ with V = conj(G)ᵀ placed: Vᴴ holds G in the block's columns.
            let gc = super::conjugated(g.as_ref());
            Cotangent::low_rank(
                pick(m, r0, p).as_ref(),
                place(n, c0, gc.transpose()).as_ref(),
            )
        })])
    }
}

impl<'t, T: Scalar> Var<'t, T> {
    /// The block `self[rows, cols]` (half-open ranges). Panics naming the shape and the
    /// ranges' ends if they do not fit.
    ///
    /// ```
    /// use expgrad_tape::Tape;
    /// let tape = Tape::new();
    /// let x = tape.var(faer::mat![[1.0, 2.0, 3.0], [4.0, 5.0, 6.0f64]]);
    /// assert_eq!(x.slice(0..2, 1..3).value(), faer::mat![[2.0, 3.0], [5.0, 6.0]]);
    /// assert_eq!(x.entry(1, 2).item(), 6.0);
    /// assert_eq!(x.col(0).value(), faer::mat![[1.0], [4.0]]);
    /// let g = x.row(1).sum().backward().wrt(x);
    /// assert_eq!(g, faer::mat![[0.0, 0.0, 0.0], [1.0, 1.0, 1.0]]);
    /// ```
    #[track_caller]
    pub fn slice(self, rows: Range<usize>, cols: Range<usize>) -> Var<'t, T> {
        self.apply(Slice { rows, cols }, &[])
    }

    /// Fallible [`Var::slice`].
    pub fn try_slice(
        self,
        rows: Range<usize>,
        cols: Range<usize>,
    ) -> Result<Var<'t, T>, TapeError> {
        self.try_apply(Slice { rows, cols }, &[])
    }

    /// The entry `(i, j)` as a 1×1 variable.
    #[track_caller]
    pub fn entry(self, i: usize, j: usize) -> Var<'t, T> {
        self.slice(i..i + 1, j..j + 1)
    }

    /// Fallible [`Var::entry`].
    pub fn try_entry(self, i: usize, j: usize) -> Result<Var<'t, T>, TapeError> {
        self.try_slice(i..i + 1, j..j + 1)
    }

    /// Column `j` as an n×1 variable.
    #[track_caller]
    pub fn col(self, j: usize) -> Var<'t, T> {
        let r = self.shape().0;
        self.slice(0..r, j..j + 1)
    }

    /// Fallible [`Var::col`].
    pub fn try_col(self, j: usize) -> Result<Var<'t, T>, TapeError> {
        let r = self.tape.try_shape(self, "col")?.0;
        self.try_slice(0..r, j..j + 1)
    }

    /// Row `i` as a 1×m variable.
    #[track_caller]
    pub fn row(self, i: usize) -> Var<'t, T> {
        let c = self.shape().1;
        self.slice(i..i + 1, 0..c)
    }

    /// Fallible [`Var::row`].
    pub fn try_row(self, i: usize) -> Result<Var<'t, T>, TapeError> {
        let c = self.tape.try_shape(self, "row")?.1;
        self.try_slice(i..i + 1, 0..c)
    }
}
