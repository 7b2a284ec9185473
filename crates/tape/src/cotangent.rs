//! Cotangents as the reverse sweep holds them: dense, or a low-rank product kept factored.
//!
//! A thin product `W = F·V` (V n×k, k ≪ n) sends `F̄ = W̄·Vᴴ` back to `F` (`Vᴴ = Vᵀ` for
//! real scalars): rank k. Held factored, it reaches `expm`'s VJP as `(W̄, V)`, which then
//! takes the factored adjoint `L(Xᴴ, W̄Vᴴ)` (O(2ˢ·m·k·n²)) instead of the dense one (O(n³)): `x.expm().matmul(v)` costs
//! what the fused `x.expm_mul(v)` costs, and gives bitwise the same gradient. Ops that do not
//! know the structure receive it densified (the default of [`Op::vjp_factored`]).
//!
//! Tests: `crates/tape/tests/low_rank.rs`.
use crate::{Op, Scalar, TapeError};
use expgrad_linalg::kernels::{conjugated, gemm_conj, par_for};
use faer::traits::ComplexField;
use faer::{Accum, Mat, MatRef};
use num_traits::Float;

/// A cotangent: a dense matrix, or `U·Vᴴ` (`U·Vᵀ` for real scalars) with `U` m×r and `V`
/// n×r held factored.
#[derive(Clone, Debug)]
pub enum Cotangent<T> {
    /// An m×n matrix.
    Dense(Mat<T>),
    /// `U·Vᴴ` (the m×n matrix of rank ≤ r).
    LowRank {
        /// m×r.
        u: Mat<T>,
        /// n×r.
        v: Mat<T>,
    },
}

impl<T: Scalar> Cotangent<T> {
    /// `(m, n)`, the shape of the matrix it stands for.
    pub fn shape(&self) -> (usize, usize) {
        match self {
            Self::Dense(m) => m.shape(),
            Self::LowRank { u, v } => (u.nrows(), v.nrows()),
        }
    }

    /// The matrix itself (one product for a low-rank cotangent).
    ///
    /// ```
    /// use expgrad_tape::Cotangent;
    /// let c = Cotangent::LowRank { u: faer::mat![[1.0], [2.0f64]], v: faer::mat![[3.0], [4.0]] };
    /// assert_eq!(c.to_dense(), faer::mat![[3.0, 4.0], [6.0, 8.0]]);
    /// ```
    pub fn to_dense(&self) -> Mat<T> {
        match self {
            Self::Dense(m) => m.clone(),
            Self::LowRank { u, v } => low_rank_product(u.as_ref(), v.as_ref()),
        }
    }

    /// [`Cotangent::to_dense`], consuming.
    pub fn into_dense(self) -> Mat<T> {
        match self {
            Self::Dense(m) => m,
            Self::LowRank { u, v } => low_rank_product(u.as_ref(), v.as_ref()),
        }
    }

    /// The cotangent `U·Vᴴ`: held factored when its rank `r` is small enough to be worth
    /// keeping (`r ≤ min(m, n)/4`; the factors are copied), else formed densely.
    ///
    /// ```
    /// use expgrad_tape::Cotangent;
    /// let (u, v) = (faer::Mat::<f64>::ones(8, 1), faer::Mat::<f64>::ones(8, 1));
    /// assert!(matches!(Cotangent::low_rank(u.as_ref(), v.as_ref()), Cotangent::LowRank { .. }));
    /// let (u, v) = (faer::Mat::<f64>::ones(8, 4), faer::Mat::<f64>::ones(8, 4));
    /// assert!(matches!(Cotangent::low_rank(u.as_ref(), v.as_ref()), Cotangent::Dense(_)));
    /// ```
    pub fn low_rank(u: MatRef<'_, T>, v: MatRef<'_, T>) -> Self {
        if pays(u.nrows(), v.nrows(), u.ncols()) {
            Self::LowRank {
                u: u.to_owned(),
                v: v.to_owned(),
            }
        } else {
            Self::Dense(low_rank_product(u, v))
        }
    }

    /// `self · α` (the factors' first one scaled).
    pub(crate) fn scaled(self, alpha: T) -> Self {
        match self {
            Self::Dense(m) => Self::Dense(m * faer::Scale(alpha)),
            Self::LowRank { u, v } => Self::LowRank {
                u: u * faer::Scale(alpha),
                v,
            },
        }
    }

    /// The transposed cotangent: `(U·Vᴴ)ᵀ = conj(V)·conj(U)ᴴ`.
    pub(crate) fn transposed(self) -> Self {
        match self {
            Self::Dense(m) => Self::Dense(m.transpose().to_owned()),
            Self::LowRank { u, v } if T::IS_COMPLEX => Self::LowRank {
                u: conjugated(v.as_ref()),
                v: conjugated(u.as_ref()),
            },
            Self::LowRank { u, v } => Self::LowRank { u: v, v: u },
        }
    }

    /// Whether every stored entry (the factors, for a low-rank cotangent) is finite.
    pub(crate) fn is_finite(&self) -> bool {
        let fin = |m: &Mat<T>| m.col_iter().all(|c| c.iter().all(|x| x.is_finite_value()));
        match self {
            Self::Dense(m) => fin(m),
            Self::LowRank { u, v } => fin(u) && fin(v),
        }
    }

    /// Whether every entry of the matrix is bounded by a finite number: always for a dense
    /// cotangent (checked when stored), `r·max|u|·max|v|` finite for a factored one.
    pub(crate) fn entries_bounded(&self) -> bool {
        match self {
            Self::Dense(_) => true,
            Self::LowRank { u, v } => {
                let max = |m: &Mat<T>| {
                    m.col_iter()
                        .flat_map(|c| c.iter())
                        .fold(T::Real::zero_impl(), |a, b| a.max(b.modulus()))
                };
                (max(u) * max(v) * T::lit(u.ncols() as f64).re()).is_finite()
            }
        }
    }

    /// `self + other`: factors side by side while the rank stays small, else dense.
    ///
    /// ```
    /// use expgrad_tape::Cotangent;
    /// let one = faer::Mat::<f64>::ones(8, 1);
    /// let a = Cotangent::low_rank(one.as_ref(), one.as_ref());
    /// let s = a.clone().add_to(a);
    /// assert_eq!(s.to_dense(), faer::Mat::<f64>::ones(8, 8) * faer::Scale(2.0));
    /// ```
    pub fn add_to(self, other: Self) -> Self {
        match (self, other) {
            (Self::LowRank { u: u1, v: v1 }, Self::LowRank { u: u2, v: v2 })
                if pays(u1.nrows(), v1.nrows(), u1.ncols() + u2.ncols()) =>
            {
                let hcat = |a: Mat<T>, b: Mat<T>| {
                    let (r1, r2) = (a.ncols(), b.ncols());
                    Mat::from_fn(a.nrows(), r1 + r2, |i, j| {
                        if j < r1 { a[(i, j)] } else { b[(i, j - r1)] }
                    })
                };
                Self::LowRank {
                    u: hcat(u1, u2),
                    v: hcat(v1, v2),
                }
            }
            (Self::Dense(mut a), b) | (b, Self::Dense(mut a)) => {
                match b {
                    Self::Dense(b) => a += &b,
                    Self::LowRank { u, v } => {
                        let n = a.nrows().max(a.ncols());
                        gemm_conj(
                            a.as_mut(),
                            Accum::Add,
                            u.as_ref(),
                            false,
                            v.transpose(),
                            true,
                            T::one_impl(),
                            par_for(n),
                        );
                    }
                }
                Self::Dense(a)
            }
            (a, b) => Self::Dense(a.into_dense() + b.into_dense()),
        }
    }
}

/// Rank r of an m×n matrix is worth keeping factored: r ≤ min(m, n)/4.
fn pays(m: usize, n: usize, r: usize) -> bool {
    4 * r <= m.min(n)
}

fn low_rank_product<T: Scalar>(u: MatRef<'_, T>, v: MatRef<'_, T>) -> Mat<T> {
    let mut out = Mat::zeros(u.nrows(), v.nrows());
    let n = out.nrows().max(out.ncols());
    gemm_conj(
        out.as_mut(),
        Accum::Replace,
        u,
        false,
        v.transpose(),
        true,
        T::one_impl(),
        par_for(n),
    );
    out
}

/// The default of [`Op::vjp_factored`]: densify, call [`Op::vjp`], wrap the results.
pub(crate) fn vjp_dense<T: Scalar, O: Op<T> + ?Sized>(
    op: &O,
    residual: &O::Residual,
    inputs: &[MatRef<'_, T>],
    output: MatRef<'_, T>,
    cotangent: &Cotangent<T>,
    needs_grad: &[bool],
) -> Result<Vec<Option<Cotangent<T>>>, TapeError> {
    let dense;
    let g = match cotangent {
        Cotangent::Dense(m) => m.as_ref(),
        Cotangent::LowRank { u, v } => {
            dense = low_rank_product(u.as_ref(), v.as_ref());
            dense.as_ref()
        }
    };
    Ok(op
        .vjp(residual, inputs, output, g, needs_grad)?
        .into_iter()
        .map(|c| c.map(Cotangent::Dense))
        .collect())
}
