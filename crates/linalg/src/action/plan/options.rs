//! Options of the action of the exponential: how `(m, s)` is chosen and what the taped
//! forward keeps for the reverse pass.
//!
//! Tests: `crates/linalg/tests/{action_forward,action_storage,action_budget}.rs`.

/// How the Taylor degree `m` and the number of steps `s` are chosen (Al-Mohy & Higham 2011,
/// §3). Every norm is of `t·X_s`, with `|t|` (so `t < 0` is handled correctly, unlike SciPy's
/// `expm_multiply`, scipy#16375).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ActionParams {
    /// The paper's Algorithm 3.2 / `expmv`: from `ν = |t|·min(‖X_s‖₁, ‖X_s‖∞)` while `ν` is
    /// below the skip bound `4θ₅₅·p_max(p_max+3)/(m_max·k)` (eq. 3.13, where estimating
    /// cannot pay off), else from `α_p = max(d_p, d_{p+1})`, `d_p ≈ ‖(tX_s)^p‖₁^{1/p}`
    /// estimated with the deterministic Higham–Tisseur estimator, `2 ≤ p ≤ 8`, until the
    /// estimation has cost as many products as the best forward pass found. Non-normal
    /// operators can get much smaller `s` this way.
    #[default]
    Auto,
    /// `ν = |t|·min(‖X_s‖₁, ‖X_s‖∞)` only: `m = argmin_m m·⌈ν/θ_m⌉`, `s = ⌈ν/θ_m⌉`. Costs no
    /// product when the operator has exact norms (all built-in ones do).
    NormOnly,
    /// Fixed degree `m ≥ 1` and steps `s ≥ 1` (no backward-error guarantee).
    Fixed {
        /// Taylor degree.
        m: usize,
        /// Number of steps.
        s: usize,
    },
}

/// What [`ExpmAction`](crate::ExpmAction) keeps from its forward pass for the reverse pass.
///
/// Both policies give bitwise-identical results: the checkpointed reverse recomputes each
/// step's Taylor vectors with exactly the operations of the forward pass.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StorePolicy {
    /// Keep every Taylor vector `b_{k−1}` of every step (and the operator's `raw` products):
    /// about `Σ j_i · n·k` values (twice that for `Diag(d)·A`). The reverse pass costs `m·s`
    /// products with `Xᵀ`.
    All,
    /// Keep only the step inputs `u_0..u_{s−1}` (`s·n·k` values) and recompute one step's
    /// Taylor vectors at a time in the reverse pass: `Σ j_i` more products, memory
    /// `(s + 1)·n·k` values plus one step's vectors.
    Checkpoint,
    /// [`All`](Self::All) if its bound `m·s·n·k` values (doubled when the operator keeps raw
    /// products) fits in `budget_bytes`, else [`Checkpoint`](Self::Checkpoint).
    Auto {
        /// Memory budget for the stored Taylor vectors, in bytes.
        budget_bytes: usize,
    },
}

/// The default memory budget of [`StorePolicy::Auto`]: 256 MiB.
pub const DEFAULT_STORE_BUDGET_BYTES: usize = 256 << 20;

impl Default for StorePolicy {
    fn default() -> Self {
        Self::Auto {
            budget_bytes: DEFAULT_STORE_BUDGET_BYTES,
        }
    }
}

/// The work and memory one evaluation of the action may take, checked before it starts.
///
/// The cost of `exp(tX)·V` grows like `‖tX‖`: `s` steps of degree `m` with `m·s ≈ ‖tX‖/θ_m`,
/// and under [`StorePolicy::All`] `m·s` stored n×k blocks. Every entry point plans `(m, s)`
/// first and returns [`LinalgError::Budget`](crate::LinalgError::Budget) — naming the op,
/// `‖tX‖` and this budget — when `k·m·s` exceeds `products` or the blocks it would hold exceed
/// `bytes`, instead of running for hours or aborting on an allocation.
///
/// ```
/// use expgrad_linalg::{try_expm_multiply, ActionBudget, LinalgError};
/// let x = faer::mat![[-2.0, 1.0], [1.0, -2.0f64]];
/// let v = faer::mat![[1.0], [0.0f64]];
/// let err = try_expm_multiply(&x, 1e20, v.as_ref()).unwrap_err();
/// assert!(matches!(err, LinalgError::Budget { .. }));
/// assert_eq!(ActionBudget::default().products, 100_000_000);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ActionBudget {
    /// Largest number of matrix–vector products (`k·m·s`; an n×k product counts `k`).
    /// Default 10⁸: about a minute of products at n ≈ 10³ dense or n ≈ 10⁴ sparse.
    pub products: usize,
    /// Largest number of bytes held for the evaluation (stored vectors, checkpoints, work
    /// blocks). Default 8 GiB.
    pub bytes: usize,
}

impl Default for ActionBudget {
    fn default() -> Self {
        Self {
            products: 100_000_000,
            bytes: 8 << 30,
        }
    }
}

impl ActionBudget {
    /// No limit (the caller accepts any cost; an allocation that cannot be served still
    /// aborts the process, as any Rust allocation does).
    pub fn unlimited() -> Self {
        Self {
            products: usize::MAX,
            bytes: usize::MAX,
        }
    }

    /// At most `products` matrix–vector products.
    pub fn products(mut self, products: usize) -> Self {
        self.products = products;
        self
    }

    /// At most `bytes` bytes.
    pub fn bytes(mut self, bytes: usize) -> Self {
        self.bytes = bytes;
        self
    }
}

/// Options of [`ExpmAction`](crate::ExpmAction) and
/// [`try_expm_multiply_with`](crate::try_expm_multiply_with).
///
/// ```
/// use expgrad_linalg::{ActionParams, ExpmActionOptions, StorePolicy};
/// let opts = ExpmActionOptions::default()
///     .params(ActionParams::NormOnly)
///     .store(StorePolicy::Checkpoint);
/// assert_eq!(opts.store, StorePolicy::Checkpoint);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct ExpmActionOptions {
    /// How `(m, s)` is chosen. Default [`ActionParams::Auto`].
    pub params: ActionParams,
    /// What the taped forward keeps. Default [`StorePolicy::Auto`] with 256 MiB.
    pub store: StorePolicy,
    /// The work and memory bound checked before the evaluation starts.
    pub budget: ActionBudget,
}

impl ExpmActionOptions {
    /// With `params` as the parameter choice.
    pub fn params(mut self, params: ActionParams) -> Self {
        self.params = params;
        self
    }

    /// With `store` as the store policy.
    pub fn store(mut self, store: StorePolicy) -> Self {
        self.store = store;
        self
    }

    /// With `budget` as the work and memory bound.
    pub fn budget(mut self, budget: ActionBudget) -> Self {
        self.budget = budget;
        self
    }
}
