//! Finite-difference gradient checks that users call from their own tests.
//!
//! Two checks, both with central differences refined by one Richardson step (error `O(h⁴)`):
//!
//! * the dot-product identity (JAX's `check_vjp`): for a random direction `t` (one matrix per
//!   input) and a random cotangent `c`, `Σᵢ ⟨vjpᵢ(c), tᵢ⟩ ≈ ⟨c, (f(x + h t) − f(x − h t))/2h⟩`;
//! * for small inputs, the full Jacobian of every input, entry by entry, against
//!   [`Var::jacobian`](crate::Var::jacobian).
//!
//! Over complex scalars, `⟨a, b⟩ = Re Σ conj(aᵢⱼ)·bᵢⱼ` (the real inner product under which the
//! tape's gradients `∂ℓ/∂x + i·∂ℓ/∂y` are adjoints), the random directions and cotangents
//! have random real and imaginary parts, and the full check perturbs the real and the
//! imaginary part of every entry separately, against two reverse sweeps per output entry
//! (seeds `e_k` and `i·e_k`, which give the real and imaginary parts of the output's change).
//!
//! ```
//! use expgrad_tape::{assert_gradcheck, gradcheck};
//! let x = faer::mat![[0.1, 0.4], [-0.3, 0.2f64]];
//! let v = faer::mat![[1.0], [2.0f64]];
//! let report = gradcheck(|xs| xs[0].expm().matmul(xs[1]).sum(), &[x.clone(), v.clone()]);
//! assert!(report.passed, "{report}");
//! assert_gradcheck!(|xs| xs[0].expm().matmul(xs[1]), &[x, v]);
//! ```
//!
//! Tests: `crates/tape/tests/{ops,properties,ergonomics}.rs`.

use crate::{Scalar, Tape, Var};
use core::fmt;
use faer::Mat;
use faer::traits::ComplexField;
use num_traits::ToPrimitive;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Settings of [`gradcheck_with`].
#[derive(Clone, Debug)]
pub struct GradcheckOptions {
    /// Seed of the random direction and cotangent.
    pub seed: u64,
    /// Relative tolerance (default 1e-6: Richardson central differences are accurate to
    /// ~1e-9 relative for smooth, well-scaled functions).
    pub rel_tol: f64,
    /// Absolute tolerance, relative to the scale of the compared quantities (default 1e-9).
    pub abs_tol: f64,
    /// Check the full Jacobian when the inputs have at most this many entries in total
    /// (default 64; 0 disables).
    pub full_jacobian_up_to: usize,
    /// Base step `h` relative to `max(1, max|x|)` (default 1e-3; Richardson uses h and h/2).
    pub step: f64,
    /// Tolerance of the exact identities ([`jvpcheck`]'s `⟨c, J t⟩ = ⟨Jᴴ c, t⟩` between the
    /// tape's JVP and VJP, [`hvpcheck`]'s Hessian symmetry `⟨w, H u⟩ = ⟨H w, u⟩`), relative to
    /// the sizes of the products summed (default 1e-11; rounding, not truncation).
    pub identity_tol: f64,
}

impl Default for GradcheckOptions {
    /// The settings for `f64`.
    fn default() -> Self {
        Self {
            seed: 0x5eed,
            rel_tol: 1e-6,
            abs_tol: 1e-9,
            full_jacobian_up_to: 64,
            step: 1e-3,
            identity_tol: 1e-11,
        }
    }
}

impl GradcheckOptions {
    /// The default settings for the scalar type `T`: [`Default`] for `f64`; for `f32` (unit
    /// roundoff `u = 2⁻²⁴`) a step near `u^{1/5}` (which balances the `O(h⁴)` truncation of
    /// the Richardson difference against the `O(u/h)` rounding) and tolerances of the size of
    /// that rounding, `rel_tol = 5e-3`, `abs_tol = 1e-5`.
    ///
    /// ```
    /// use expgrad_tape::GradcheckOptions;
    /// assert_eq!(GradcheckOptions::for_scalar::<f64>().rel_tol, 1e-6);
    /// assert!(GradcheckOptions::for_scalar::<f32>().step > 1e-2);
    /// ```
    pub fn for_scalar<T: Scalar>() -> Self {
        if <T::Real as num_traits::Float>::epsilon()
            .to_f64()
            .unwrap_or(1.0)
            > 1e-10
        {
            Self {
                rel_tol: 5e-3,
                abs_tol: 1e-5,
                step: 4e-2,
                identity_tol: 1e-4,
                ..Self::default()
            }
        } else {
            Self::default()
        }
    }
}

/// Errors of one input's full-Jacobian check.
#[derive(Clone, Debug)]
pub struct InputReport {
    /// Position of the input.
    pub index: usize,
    /// Its shape.
    pub shape: (usize, usize),
    /// `max |J_tape − J_fd|`.
    pub max_abs_err: f64,
    /// `max |J_tape − J_fd| / max(max |J_fd|, tiny)`.
    pub max_rel_err: f64,
}

/// The outcome of a gradient check.
#[derive(Clone, Debug)]
pub struct GradcheckReport {
    /// `Σᵢ ⟨vjpᵢ(c), tᵢ⟩` from the tape.
    pub vjp_side: f64,
    /// `⟨c, J t⟩` by finite differences.
    pub fd_side: f64,
    /// `|vjp_side − fd_side| / max(|vjp_side|, |fd_side|, tiny)`.
    pub dot_rel_err: f64,
    /// Per-input full-Jacobian errors (empty when the inputs were too large).
    pub inputs: Vec<InputReport>,
    /// Whether every check is within tolerance.
    pub passed: bool,
}

impl fmt::Display for GradcheckReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "gradcheck {}: dot-product identity vjp {:.12e} vs fd {:.12e} (rel err {:.2e})",
            if self.passed { "passed" } else { "FAILED" },
            self.vjp_side,
            self.fd_side,
            self.dot_rel_err
        )?;
        for r in &self.inputs {
            writeln!(
                f,
                "  input {} ({}x{}): max abs err {:.2e}, max rel err {:.2e}",
                r.index, r.shape.0, r.shape.1, r.max_abs_err, r.max_rel_err
            )?;
        }
        Ok(())
    }
}

/// Gradient check of `f` at `inputs` with the default options of the scalar type
/// ([`GradcheckOptions::for_scalar`]): `f64` or `f32`.
pub fn gradcheck<T, F>(f: F, inputs: &[Mat<T>]) -> GradcheckReport
where
    T: Scalar,
    F: for<'t> Fn(&[Var<'t, T>]) -> Var<'t, T>,
{
    gradcheck_with(f, inputs, &GradcheckOptions::for_scalar::<T>())
}

/// Uniform entries in (−1, 1), real and (for complex types) imaginary parts.
fn random_like<T: Scalar>(rng: &mut StdRng, m: &Mat<T>) -> Mat<T> {
    Mat::from_fn(m.nrows(), m.ncols(), |_, _| {
        let re = T::lit(rng.random_range(-1.0..1.0));
        if T::IS_COMPLEX {
            re + T::lit(rng.random_range(-1.0..1.0)) * i_unit::<T>()
        } else {
            re
        }
    })
}

/// The imaginary unit (zero for a real type).
fn i_unit<T: Scalar>() -> T {
    T::from_parts(T::Real::zero_impl(), T::Real::one_impl())
}

/// `⟨a, b⟩ = Re Σ conj(aᵢⱼ)·bᵢⱼ`, accumulated in `f64`.
fn inner<T: Scalar>(a: &Mat<T>, b: &Mat<T>) -> f64 {
    let mut s = 0.0;
    for j in 0..a.ncols() {
        for i in 0..a.nrows() {
            s += f64_of((a[(i, j)].conjugate() * b[(i, j)]).re());
        }
    }
    s
}

fn f64_of<R: num_traits::Float>(x: R) -> f64 {
    x.to_f64().unwrap_or(f64::NAN)
}

/// Gradient check of `f` at `inputs` (every input is tracked).
pub fn gradcheck_with<T, F>(f: F, inputs: &[Mat<T>], opts: &GradcheckOptions) -> GradcheckReport
where
    T: Scalar,
    F: for<'t> Fn(&[Var<'t, T>]) -> Var<'t, T>,
{
    let mut rng = StdRng::seed_from_u64(opts.seed);
    let fd = Directional::new(&f, inputs, opts);
    let directional = |dir: &[Mat<T>]| fd.eval(dir);

    let tape = Tape::new();
    let vars: Vec<Var<'_, T>> = inputs.iter().map(|x| tape.var(x.clone())).collect();
    let out = f(&vars);
    let out_value = out.value();
    let c = random_like(&mut rng, &out_value);
    let dirs: Vec<Mat<T>> = inputs.iter().map(|x| random_like(&mut rng, x)).collect();
    let grads = out.backward_with(c.clone());
    let vjp_side: f64 = vars
        .iter()
        .zip(&dirs)
        .map(|(v, d)| inner(&grads.wrt(*v), d))
        .sum();
    let fd_side = inner(&c, &directional(&dirs));
    let denom = vjp_side.abs().max(fd_side.abs());
    let dot_rel_err = if denom > 0.0 {
        (vjp_side - fd_side).abs() / denom
    } else {
        0.0
    };
    let out_scale = f64_of(out_value.norm_max()).max(1.0);
    let mut passed = (vjp_side - fd_side).abs() <= opts.rel_tol * denom + opts.abs_tol * out_scale;

    let total: usize = inputs.iter().map(|x| x.nrows() * x.ncols()).sum();
    let mut reports = Vec::new();
    if total <= opts.full_jacobian_up_to && T::IS_COMPLEX {
        for (i, x) in inputs.iter().enumerate() {
            let (max_abs, max_j) = complex_jacobian_errors(&out, &vars, i, x, &directional);
            passed &= max_abs <= opts.rel_tol * max_j + opts.abs_tol * out_scale;
            reports.push(InputReport {
                index: i,
                shape: x.shape(),
                max_abs_err: max_abs,
                max_rel_err: if max_j > 0.0 {
                    max_abs / max_j
                } else {
                    max_abs
                },
            });
        }
    } else if total <= opts.full_jacobian_up_to {
        for (i, (x, v)) in inputs.iter().zip(&vars).enumerate() {
            let j_tape = out.jacobian(*v);
            let (r, c) = x.shape();
            let mut max_abs: f64 = 0.0;
            let mut max_j: f64 = 0.0;
            for q in 0..c {
                for p in 0..r {
                    let mut dir: Vec<Mat<T>> = inputs
                        .iter()
                        .map(|x| Mat::zeros(x.nrows(), x.ncols()))
                        .collect();
                    dir[i][(p, q)] = T::one_impl();
                    let col = directional(&dir);
                    let (or, _) = col.shape();
                    for k in 0..col.nrows() * col.ncols() {
                        let fd = f64_of(col[(k % or, k / or)].re());
                        max_abs = max_abs.max((f64_of(j_tape[(k, p + q * r)].re()) - fd).abs());
                        max_j = max_j.max(fd.abs());
                    }
                }
            }
            let max_rel = if max_j > 0.0 {
                max_abs / max_j
            } else {
                max_abs
            };
            passed &= max_abs <= opts.rel_tol * max_j + opts.abs_tol * out_scale;
            reports.push(InputReport {
                index: i,
                shape: (r, c),
                max_abs_err: max_abs,
                max_rel_err: max_rel,
            });
        }
    }
    GradcheckReport {
        vjp_side,
        fd_side,
        dot_rel_err,
        inputs: reports,
        passed,
    }
}

/// The full check of input `i` over complex scalars: `(max abs error, max |entry|)` of the real
/// Jacobian (real and imaginary parts of every output entry against real and imaginary
/// perturbations of every input entry) from two reverse sweeps per output entry, against
/// `directional` finite differences.
fn complex_jacobian_errors<'t, T: Scalar>(
    out: &Var<'t, T>,
    vars: &[Var<'t, T>],
    i: usize,
    x: &Mat<T>,
    directional: &dyn Fn(&[Mat<T>]) -> Mat<T>,
) -> (f64, f64) {
    let (or, oc) = out.shape();
    let (r, c) = x.shape();
    // grads[k][part]: the gradient of Re(conj(seed)·out_k) w.r.t. input i, seed = 1 or i.
    let mut grads = Vec::with_capacity(or * oc);
    for k in 0..or * oc {
        let mut pair = Vec::with_capacity(2);
        for seed in [T::one_impl(), i_unit::<T>()] {
            let mut s = Mat::<T>::zeros(or, oc);
            s[(k % or, k / or)] = seed;
            let g = out.backward_with(s);
            pair.push(
                g.get(vars[i])
                    .map(|m| m.to_owned())
                    .unwrap_or_else(|| Mat::zeros(r, c)),
            );
        }
        grads.push(pair);
    }
    let (mut max_abs, mut max_j) = (0.0f64, 0.0f64);
    for q in 0..c {
        for p in 0..r {
            for dir_unit in [T::one_impl(), i_unit::<T>()] {
                let mut dir: Vec<Mat<T>> = vars
                    .iter()
                    .map(|v| Mat::zeros(v.shape().0, v.shape().1))
                    .collect();
                dir[i][(p, q)] = dir_unit;
                let col = directional(&dir);
                for (k, pair) in grads.iter().enumerate() {
                    let fd = col[(k % or, k / or)];
                    // Re⟨g, dir⟩ for the two seeds: the real and imaginary parts of the change.
                    let pred =
                        [0, 1].map(|part| f64_of((pair[part][(p, q)].conjugate() * dir_unit).re()));
                    for (tape, fd) in pred.into_iter().zip([f64_of(fd.re()), f64_of(fd.im())]) {
                        max_abs = max_abs.max((tape - fd).abs());
                        max_j = max_j.max(fd.abs());
                    }
                }
            }
        }
    }
    (max_abs, max_j)
}

/// The outcome of a forward-mode check ([`jvpcheck`]).
#[derive(Clone, Debug)]
pub struct JvpReport {
    /// `max |J t − fd| / max(max |fd|, 1)` entrywise: the tape's JVP against Richardson
    /// central differences along the random tangent `t`.
    pub fd_rel_err: f64,
    /// `|⟨c, J t⟩ − Σᵢ ⟨Jᵢᴴ c, tᵢ⟩|` relative to the sizes of the products: forward mode
    /// against reverse mode (the dot-product identity), exact up to rounding.
    pub identity_rel_err: f64,
    /// Whether both are within tolerance.
    pub passed: bool,
}

impl fmt::Display for JvpReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "jvpcheck {}: JVP vs finite differences rel err {:.2e}, ⟨c, Jt⟩ vs ⟨Jᴴc, t⟩ rel err {:.2e}",
            if self.passed { "passed" } else { "FAILED" },
            self.fd_rel_err,
            self.identity_rel_err
        )
    }
}

/// Forward-mode check of `f` at `inputs` (every input tracked) with the default options of
/// the scalar type: the tape's JVP ([`Tape::jvp`]) along a random tangent against central
/// differences, and against the tape's VJP by the dot-product identity
/// `⟨c, J t⟩ = Σᵢ ⟨Jᵢᴴ c, tᵢ⟩` (the test Julia's ChainRules `frule` for `exp!` failed).
///
/// ```
/// use expgrad_tape::jvpcheck;
/// let x = faer::mat![[0.1, 0.4], [-0.3, 0.2f64]];
/// let report = jvpcheck(|xs| xs[0].expm().matmul(xs[1]), &[x.clone(), x]);
/// assert!(report.passed, "{report}");
/// ```
pub fn jvpcheck<T, F>(f: F, inputs: &[Mat<T>]) -> JvpReport
where
    T: Scalar,
    F: for<'t> Fn(&[Var<'t, T>]) -> Var<'t, T>,
{
    jvpcheck_with(f, inputs, &GradcheckOptions::for_scalar::<T>())
}

/// [`jvpcheck`] with options (`seed`, `step`, `rel_tol`/`abs_tol` for the finite
/// differences, `identity_tol` for the identity).
pub fn jvpcheck_with<T, F>(f: F, inputs: &[Mat<T>], opts: &GradcheckOptions) -> JvpReport
where
    T: Scalar,
    F: for<'t> Fn(&[Var<'t, T>]) -> Var<'t, T>,
{
    let mut rng = StdRng::seed_from_u64(opts.seed);
    let directional = Directional::new(&f, inputs, opts);
    let tape = Tape::new();
    let vars: Vec<Var<'_, T>> = inputs.iter().map(|x| tape.var(x.clone())).collect();
    let out = f(&vars);
    let c = random_like(&mut rng, &out.value());
    let dirs: Vec<Mat<T>> = inputs.iter().map(|x| random_like(&mut rng, x)).collect();
    let seeds: Vec<(Var<'_, T>, Mat<T>)> = vars.iter().copied().zip(dirs.iter().cloned()).collect();
    let ydot = tape.jvp(out, &seeds);
    let fd = directional.eval(&dirs);
    let (err, size) = max_err(&ydot, &fd);
    let fd_rel_err = err / size.max(1.0);
    let fd_ok = err <= opts.rel_tol * size + opts.abs_tol * directional.out_scale;
    let grads = out.backward_with(c.clone());
    let lhs = inner(&c, &ydot);
    let mut denom = norm_f(&c) * norm_f(&ydot);
    let mut rhs = 0.0;
    for (v, d) in vars.iter().zip(&dirs) {
        let g = grads.wrt(*v);
        rhs += inner(&g, d);
        denom += norm_f(&g) * norm_f(d);
    }
    let identity_rel_err = (lhs - rhs).abs() / denom.max(f64::MIN_POSITIVE);
    JvpReport {
        fd_rel_err,
        identity_rel_err,
        passed: fd_ok && identity_rel_err <= opts.identity_tol,
    }
}

/// The outcome of a second-order check ([`hvpcheck`]).
#[derive(Clone, Debug)]
pub struct HvpReport {
    /// `max |H u − fd| / max(max |fd|, 1)` over the inputs: the tape's Hessian-vector product
    /// against Richardson central differences of the tape's gradient along `u`.
    pub fd_rel_err: f64,
    /// `|⟨w, H u⟩ − ⟨H w, u⟩|` relative to the sizes of the products, for a second random
    /// direction `w`: the symmetry of the Hessian, exact up to rounding.
    pub symmetry_rel_err: f64,
    /// Whether both are within tolerance.
    pub passed: bool,
}

impl fmt::Display for HvpReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "hvpcheck {}: HVP vs finite differences of the gradient rel err {:.2e}, symmetry rel err {:.2e}",
            if self.passed { "passed" } else { "FAILED" },
            self.fd_rel_err,
            self.symmetry_rel_err
        )
    }
}

/// Second-order check of a scalar-valued `f` (1×1 output) at `inputs` with the default
/// options of the scalar type: the tape's Hessian-vector product ([`Var::hvp`]) along a
/// random direction against central differences of the tape's gradient, and the symmetry
/// of the Hessian. Panics if the output is not 1×1.
///
/// ```
/// use expgrad_tape::hvpcheck;
/// let x = faer::mat![[0.1, 0.4], [-0.3, 0.2f64]];
/// let v = faer::mat![[1.0], [2.0f64]];
/// let report = hvpcheck(|xs| xs[0].expm().matmul(xs[1]).square().sum(), &[x, v]);
/// assert!(report.passed, "{report}");
/// ```
pub fn hvpcheck<T, F>(f: F, inputs: &[Mat<T>]) -> HvpReport
where
    T: Scalar,
    F: for<'t> Fn(&[Var<'t, T>]) -> Var<'t, T>,
{
    hvpcheck_with(f, inputs, &GradcheckOptions::for_scalar::<T>())
}

/// [`hvpcheck`] with options.
#[track_caller]
pub fn hvpcheck_with<T, F>(f: F, inputs: &[Mat<T>], opts: &GradcheckOptions) -> HvpReport
where
    T: Scalar,
    F: for<'t> Fn(&[Var<'t, T>]) -> Var<'t, T>,
{
    let mut rng = StdRng::seed_from_u64(opts.seed);
    let u: Vec<Mat<T>> = inputs.iter().map(|x| random_like(&mut rng, x)).collect();
    let w: Vec<Mat<T>> = inputs.iter().map(|x| random_like(&mut rng, x)).collect();
    let grad_at = |xs: &[Mat<T>]| -> Vec<Mat<T>> {
        let tape = Tape::new();
        let vars: Vec<Var<'_, T>> = xs.iter().map(|x| tape.var(x.clone())).collect();
        let g = f(&vars).backward();
        vars.iter().map(|v| g.wrt(*v)).collect()
    };
    let hvp_at = |dir: &[Mat<T>]| -> Vec<Mat<T>> {
        let tape = Tape::new();
        let vars: Vec<Var<'_, T>> = inputs.iter().map(|x| tape.var(x.clone())).collect();
        let seeds: Vec<(Var<'_, T>, Mat<T>)> =
            vars.iter().copied().zip(dir.iter().cloned()).collect();
        let (_, h) = f(&vars).hvp(&seeds);
        vars.iter().map(|v| h.wrt(*v)).collect()
    };
    let hu = hvp_at(&u);
    let hw = hvp_at(&w);
    // Richardson central differences of the gradient along u.
    let h = opts.step
        * inputs
            .iter()
            .map(|x| f64_of(x.norm_max()))
            .fold(1.0, f64::max);
    let shifted = |t: f64| -> Vec<Mat<T>> {
        let xs: Vec<Mat<T>> = inputs
            .iter()
            .zip(&u)
            .map(|(x, d)| x + d * faer::Scale(T::lit(t)))
            .collect();
        grad_at(&xs)
    };
    let diff = |h: f64| -> Vec<Mat<T>> {
        shifted(h)
            .into_iter()
            .zip(shifted(-h))
            .map(|(a, b)| (a - b) * faer::Scale(T::lit(0.5 / h)))
            .collect()
    };
    let fd: Vec<Mat<T>> = diff(h / 2.0)
        .into_iter()
        .zip(diff(h))
        .map(|(a, b)| (a * faer::Scale(T::lit(4.0)) - b) * faer::Scale(T::lit(1.0 / 3.0)))
        .collect();
    let g0 = grad_at(inputs);
    let g_scale = g0.iter().map(|g| f64_of(g.norm_max())).fold(1.0, f64::max);
    let (mut err, mut size) = (0.0f64, 0.0f64);
    for (a, b) in hu.iter().zip(&fd) {
        let (e, s) = max_err(a, b);
        err = err.max(e);
        size = size.max(s);
    }
    let fd_ok = err <= opts.rel_tol * size + opts.abs_tol * g_scale;
    let (mut lhs, mut rhs, mut denom) = (0.0, 0.0, 0.0);
    for i in 0..inputs.len() {
        lhs += inner(&w[i], &hu[i]);
        rhs += inner(&hw[i], &u[i]);
        denom += norm_f(&w[i]) * norm_f(&hu[i]) + norm_f(&hw[i]) * norm_f(&u[i]);
    }
    let symmetry_rel_err = (lhs - rhs).abs() / denom.max(f64::MIN_POSITIVE);
    HvpReport {
        fd_rel_err: err / size.max(1.0),
        symmetry_rel_err,
        passed: fd_ok && symmetry_rel_err <= opts.identity_tol,
    }
}

/// `(max |a − b|, max |b|)` entrywise (moduli), in `f64`.
fn max_err<T: Scalar>(a: &Mat<T>, b: &Mat<T>) -> (f64, f64) {
    let (mut err, mut size) = (0.0f64, 0.0f64);
    for j in 0..a.ncols() {
        for i in 0..a.nrows() {
            err = err.max(f64_of((a[(i, j)] - b[(i, j)]).modulus()));
            size = size.max(f64_of(b[(i, j)].modulus()));
        }
    }
    (err, size)
}

/// The Frobenius norm, in `f64`.
fn norm_f<T: Scalar>(a: &Mat<T>) -> f64 {
    inner(a, a).sqrt()
}

/// Richardson central differences of `f` along a direction, with the output's scale.
struct Directional<'f, T: Scalar, F> {
    f: &'f F,
    inputs: &'f [Mat<T>],
    h: f64,
    out_scale: f64,
}

impl<'f, T, F> Directional<'f, T, F>
where
    T: Scalar,
    F: for<'t> Fn(&[Var<'t, T>]) -> Var<'t, T>,
{
    fn new(f: &'f F, inputs: &'f [Mat<T>], opts: &GradcheckOptions) -> Self {
        let scale = inputs
            .iter()
            .map(|x| f64_of(x.norm_max()))
            .fold(1.0, f64::max);
        let mut this = Self {
            f,
            inputs,
            h: opts.step * scale,
            out_scale: 1.0,
        };
        this.out_scale = f64_of(this.value(inputs).norm_max()).max(1.0);
        this
    }

    fn value(&self, xs: &[Mat<T>]) -> Mat<T> {
        let tape = Tape::new();
        let vars: Vec<Var<'_, T>> = xs.iter().map(|x| tape.constant(x.clone())).collect();
        (self.f)(&vars).value()
    }

    fn eval(&self, dir: &[Mat<T>]) -> Mat<T> {
        let at = |t: f64| -> Mat<T> {
            let xs: Vec<Mat<T>> = self
                .inputs
                .iter()
                .zip(dir)
                .map(|(x, d)| x + d * faer::Scale(T::lit(t)))
                .collect();
            self.value(&xs)
        };
        let d = |h: f64| (at(h) - at(-h)) * faer::Scale(T::lit(0.5 / h));
        (d(self.h / 2.0) * faer::Scale(T::lit(4.0)) - d(self.h)) * faer::Scale(T::lit(1.0 / 3.0))
    }
}

/// Panics with the [`GradcheckReport`] unless [`gradcheck`] passes:
/// `assert_gradcheck!(|xs| ..., &[inputs])` or with a third argument, the
/// [`GradcheckOptions`].
#[macro_export]
macro_rules! assert_gradcheck {
    ($f:expr, $inputs:expr $(,)?) => {{
        let report = $crate::gradcheck($f, $inputs);
        assert!(report.passed, "{report}");
        report
    }};
    ($f:expr, $inputs:expr, $opts:expr $(,)?) => {{
        let report = $crate::gradcheck_with($f, $inputs, $opts);
        assert!(report.passed, "{report}");
        report
    }};
}
