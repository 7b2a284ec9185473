//! `expm` (and `expm_frechet`, `expm_frechet_block`) on the published test matrices used by
//! SciPy and by Al-Mohy & Higham.
//!
//! Sources:
//! * John Burkardt, `test_matrix_exponential` (the 14 real tests, 2012–2013; C++ version
//!   `r8mat_exp_a` / `r8mat_exp_expa`), as transcribed in SciPy's
//!   `scipy/sparse/linalg/tests/test_matfuncs.py` (`test_burkardt_1` … `test_burkardt_14`).
//!   Burkardt collected them from Laub (SIAM Rev. 52, 2010), Moler & Van Loan (SIAM Rev. 45,
//!   2003), Moler (Cleve's Corner, 23 July 2012), Ward (SIAM J. Numer. Anal. 14, 1977), NAG
//!   F01ECF and Wikipedia.
//! * SciPy's other `TestExpM` cases: `test_2x2_input` / `test_nx2x2_input` (symbolic
//!   results), `test_bidiagonal_sparse`, `test_padecases_dtype_float`, `test_pascal`
//!   (gh-8029), `test_exp_sinch_overflow`, `test_overscaling_example` (the 2005 algorithm's
//!   wrong answer on Moler's matrix), and `TestExpmFrechet`.
//! * Al-Mohy & Higham (2009), §1 and §6: the over-scaling example `[[1, b], [0, -1]]`.
//!
//! References are exact closed forms evaluated in f64 wherever one exists: several published
//! printed values are *less* accurate than the digits they print (Burkardt 2, 12 and 14; see
//! those tests). Tolerances: `common::tol_exp(A) = 8·n·u·max(κ_exp(A), 1)`; where the
//! reference is only known to a printed number of digits, `max(tol_exp, ρ)` with `ρ` the half
//! unit in the last printed digit of every entry, as a relative Frobenius bound
//! (`Printed::rel`). Where the normwise κ makes `tol_exp` vacuous (≥ 1: Moler's badly scaled
//! matrix, triangular matrices with huge off-diagonal entries) the assertion uses the
//! componentwise variant `tol_exp_componentwise` (same backward error 8nu, but relative to
//! each |a_ij|), documented at its definition.
//!
//! Run with `cargo test --release -p expgrad-linalg --test published -- --nocapture` to see the
//! measured error, tolerance, κ and the `(m, s)` chosen for every matrix.
mod common;
use common::*;
use expgrad_linalg::{Expm, expm, expm_frechet, expm_frechet_block};
use faer::{Mat, MatRef, Scale};

const E: f64 = std::f64::consts::E;

/// Row-major literal to `Mat`.
fn m<const C: usize>(rows: &[[f64; C]]) -> Mat<f64> {
    Mat::from_fn(rows.len(), C, |i, j| rows[i][j])
}

/// Relative accuracy of a closed form evaluated in f64: a handful of roundings and `exp`
/// calls (≤ 1 ulp each) on terms of one sign or with mild cancellation. Checked offline
/// against mpmath 1.3 (50–60 digits) for the 2×2, Laub, Moler–Van Loan, Wikipedia, Ward #1,
/// Ward #3, bidiagonal and sinch closed forms: all within 3.3e-16 (3u) of the exact value.
/// Never the binding tolerance (`tol_exp ≥ 16u`); recorded so the `max` rule is explicit.
const CLOSED_FORM: f64 = 4.0 * U64;

/// A reference printed in decimal: the values, and the relative Frobenius bound
/// `ρ = ‖H‖_F / ‖X‖_F` with `H_ij` the half unit in the last printed digit of entry (i, j).
struct Printed {
    value: Mat<f64>,
    half: Mat<f64>,
    rel: f64,
}

fn half_unit(s: &str) -> f64 {
    let (mant, exp) = match s.find(['e', 'E']) {
        Some(k) => (&s[..k], s[k + 1..].parse::<i32>().unwrap()),
        None => (s, 0),
    };
    let decimals = mant.find('.').map_or(0, |p| mant.len() - p - 1) as i32;
    0.5 * 10f64.powi(exp - decimals)
}

fn printed<const C: usize>(rows: &[[&str; C]]) -> Printed {
    let value = Mat::from_fn(rows.len(), C, |i, j| rows[i][j].parse::<f64>().unwrap());
    let half = Mat::from_fn(rows.len(), C, |i, j| half_unit(rows[i][j]));
    Printed {
        rel: half.norm_l2() / value.norm_l2(),
        value,
        half,
    }
}

/// Which condition-based tolerance a check uses.
#[derive(Clone, Copy)]
enum Cond {
    /// `tol_exp(A) = 8·n·u·max(κ, 1)`, κ the normwise relative condition number.
    Normwise,
    /// `tol_exp_componentwise(A)`: for badly scaled or triangular A, where κ is vacuous.
    Componentwise,
}

/// Computes `expm(A)`, compares with `want` (relative Frobenius error), prints the measured
/// error, the tolerance `max(condition-based tolerance, ref_rel)`, the normwise κ and `(m, s)`,
/// and asserts. Returns `(err, tol)`.
#[track_caller]
fn check_with(
    name: &str,
    a: MatRef<'_, f64>,
    want: MatRef<'_, f64>,
    ref_rel: f64,
    cond: Cond,
) -> (f64, f64) {
    let f = Expm::new(a);
    let got = expm(a);
    assert_eq!(got, f.value(), "{name}: expm and Expm::new disagree");
    let kappa = cond_exp(a);
    let (cond_tol, label) = match cond {
        Cond::Normwise => (tol_exp(a), "tol_exp"),
        Cond::Componentwise => (tol_exp_componentwise(a), "tol_cw"),
    };
    let tol = cond_tol.max(ref_rel);
    let mut worst = 0.0f64;
    // Both families at the same tolerance (the default is one of them).
    for family in FAMILIES {
        let f = Expm::try_new_with(a, family).unwrap();
        let err = rel_err(f.value(), want);
        println!(
            "{name:<44} n={:<3} κ={kappa:<9.2e} {:<6} (m,s)={:<8} err={err:<9.2e} tol={tol:<9.2e} \
             [{label} {cond_tol:.1e}, ref {ref_rel:.1e}]",
            a.nrows(),
            f.approximant(),
            format!("{:?}", f.params()),
        );
        assert!(
            err <= tol,
            "{name}: {family:?} relative error {err:.3e} > tolerance {tol:.3e} (κ = {kappa:.3e}, \
             (m, s) = {:?})",
            f.params()
        );
        worst = worst.max(err);
    }
    (worst, tol)
}

/// [`check_with`] and the normwise tolerance `tol_exp`.
#[track_caller]
fn check(name: &str, a: MatRef<'_, f64>, want: MatRef<'_, f64>, ref_rel: f64) -> (f64, f64) {
    check_with(name, a, want, ref_rel, Cond::Normwise)
}

/// First-order entrywise bound on `|exp(A + ΔA) − exp(A)|` over all `|ΔA_ij| ≤ δ_ij`:
/// `S = Σ_ij δ_ij |L(A, E_ij)|` (entrywise absolute values), with the library's own Fréchet
/// derivative (as `cond_exp` uses it for κ). Entries with `δ_ij = 0` are skipped, so zero
/// entries of A stay unperturbed (structure, e.g. triangularity, is respected).
fn perturbation_bound(a: MatRef<'_, f64>, delta: MatRef<'_, f64>) -> Mat<f64> {
    let n = a.nrows();
    let f = Expm::new(a);
    let mut s = Mat::<f64>::zeros(n, n);
    for j in 0..n {
        for i in 0..n {
            if delta[(i, j)] == 0.0 {
                continue;
            }
            let mut eij = Mat::<f64>::zeros(n, n);
            eij[(i, j)] = 1.0;
            let l = f.frechet(eij.as_ref());
            s += l.map(|x| x.abs()) * Scale(delta[(i, j)]);
        }
    }
    s
}

/// The componentwise variant of `tol_exp`: the same backward error `8·n·u`, but relative to
/// each entry (`|ΔA| ≤ 8·n·u·|A|`) instead of to `‖A‖`, i.e. `‖S‖_F / ‖e^A‖_F` with `S` from
/// [`perturbation_bound`] (Higham, *Functions of Matrices*, §3.1, componentwise condition).
/// This is the tolerance an algorithm meets if its backward error is componentwise small;
/// used where the normwise κ makes `tol_exp` vacuous (≥ 1): upper triangular matrices with a
/// large off-diagonal (the algorithm keeps triangularity and recomputes the diagonal and
/// superdiagonal exactly) and Moler's badly scaled matrix. Documented per use.
fn tol_exp_componentwise(a: MatRef<'_, f64>) -> f64 {
    let c = 8.0 * a.nrows().max(2) as f64 * U64;
    let delta = a.map(|x| c * x.abs());
    perturbation_bound(a, delta.as_ref()).norm_l2() / expm(a).norm_l2()
}

/// `e^A` of a 2×2 matrix: `e^μ (c(δ) I + s(δ) (A − μI))` with `μ = tr A / 2`,
/// `δ = ((a − d)/2)² + bc`, `c = cosh √δ`, `s = sinh √δ / √δ` (cos, sin for δ < 0).
fn exp2x2(a: MatRef<'_, f64>) -> Mat<f64> {
    let mu = 0.5 * (a[(0, 0)] + a[(1, 1)]);
    let h = 0.5 * (a[(0, 0)] - a[(1, 1)]);
    let delta = h * h + a[(0, 1)] * a[(1, 0)];
    let (c, s) = if delta > 0.0 {
        let r = delta.sqrt();
        (r.cosh(), r.sinh() / r)
    } else if delta < 0.0 {
        let r = (-delta).sqrt();
        (r.cos(), r.sin() / r)
    } else {
        (1.0, 1.0)
    };
    let em = mu.exp();
    Mat::from_fn(2, 2, |i, j| {
        let shifted = a[(i, j)] - if i == j { mu } else { 0.0 };
        em * (if i == j { c } else { 0.0 } + s * shifted)
    })
}

// ---------------------------------------------------------------------------------------
// Burkardt's 14 real tests (SciPy test_burkardt_1 … 14).
// ---------------------------------------------------------------------------------------

#[test]
fn burkardt_01_diagonal() {
    let a = m(&[[1.0, 0.0], [0.0, 2.0]]);
    let want = m(&[[E, 0.0], [0.0, 2f64.exp()]]);
    let (err, _) = check("burkardt 1: diagonal", a.as_ref(), want.as_ref(), 0.0);
    assert_eq!(err, 0.0, "the diagonal path is exact");
}

#[test]
fn burkardt_02_symmetric() {
    // Closed form: eigenvalues (3 ± √37)/2. SciPy/Burkardt print 17 digits, but the two
    // off-diagonal entries differ in the 16th (…753 vs …768): the printed values are off by
    // 2.8e-15 relative (mpmath), beyond their half unit; compared below under the max rule.
    let a = m(&[[1.0, 3.0], [3.0, 2.0]]);
    let want = exp2x2(a.as_ref());
    check(
        "burkardt 2: symmetric [[1,3],[3,2]]",
        a.as_ref(),
        want.as_ref(),
        CLOSED_FORM,
    );
    let p = printed(&[
        ["39.322809708033859", "46.166301438885753"],
        ["46.166301438885768", "54.711576854329110"],
    ]);
    check(
        "burkardt 2: vs printed (17 digits)",
        a.as_ref(),
        p.value.as_ref(),
        p.rel,
    );
}

#[test]
fn burkardt_03_laub() {
    // Laub (2010); eigenvalues −1, −39. SciPy's closed form (Burkardt's C++ table 3 holds
    // the transpose of the answer, to 8 digits).
    let a = m(&[[0.0, 1.0], [-39.0, -40.0]]);
    let (e1, e39) = (E, 39f64.exp());
    let want = m(&[
        [
            39.0 / (38.0 * e1) - 1.0 / (38.0 * e39),
            -(-38f64).exp_m1() / (38.0 * e1),
        ],
        [
            39.0 * (-38f64).exp_m1() / (38.0 * e1),
            -1.0 / (38.0 * e1) + 39.0 / (38.0 * e39),
        ],
    ]);
    check(
        "burkardt 3: Laub [[0,1],[-39,-40]]",
        a.as_ref(),
        want.as_ref(),
        CLOSED_FORM,
    );
}

#[test]
fn burkardt_04_moler_van_loan() {
    // Moler & Van Loan: A = U diag(−17, −1) V with V = U⁻¹.
    let a = m(&[[-49.0, 24.0], [-64.0, 31.0]]);
    let u = m(&[[3.0, 1.0], [4.0, 2.0]]);
    let v = m(&[[1.0, -0.5], [-2.0, 1.5]]);
    let d = m(&[[(-17f64).exp(), 0.0], [0.0, (-1f64).exp()]]);
    let want = &u * &d * &v;
    check(
        "burkardt 4: Moler-Van Loan [[-49,24],[-64,31]]",
        a.as_ref(),
        want.as_ref(),
        CLOSED_FORM,
    );
}

#[test]
fn burkardt_05_nilpotent() {
    let a = m(&[
        [0.0, 6.0, 0.0, 0.0],
        [0.0, 0.0, 6.0, 0.0],
        [0.0, 0.0, 0.0, 6.0],
        [0.0, 0.0, 0.0, 0.0],
    ]);
    let want = m(&[
        [1.0, 6.0, 18.0, 36.0],
        [0.0, 1.0, 6.0, 18.0],
        [0.0, 0.0, 1.0, 6.0],
        [0.0, 0.0, 0.0, 1.0],
    ]);
    check(
        "burkardt 5: strictly upper triangular (6s)",
        a.as_ref(),
        want.as_ref(),
        0.0,
    );
}

#[test]
fn burkardt_06_jordan_block() {
    let a = m(&[[1.0, 1.0], [0.0, 1.0]]);
    let want = m(&[[E, E], [0.0, E]]);
    check(
        "burkardt 6: Jordan block [[1,1],[0,1]]",
        a.as_ref(),
        want.as_ref(),
        CLOSED_FORM,
    );
}

#[test]
fn burkardt_07_near_jordan() {
    // [[1+ε, 1], [0, 1−ε]], ε = 2⁻⁵². Exact: [[e^{1+ε}, e·sinh(ε)/ε], [0, e^{1−ε}]]
    // (SciPy's desired [[e, e], [0, e]] is this to O(ε)). Burkardt's C++ table drops the
    // (0,1) entry of A while keeping it in exp(A); SciPy's transcription is consistent.
    let eps = f64::EPSILON;
    let a = m(&[[1.0 + eps, 1.0], [0.0, 1.0 - eps]]);
    let want = m(&[
        [(1.0 + eps).exp(), E * (eps.sinh() / eps)],
        [0.0, (1.0 - eps).exp()],
    ]);
    check(
        "burkardt 7: [[1+eps,1],[0,1-eps]]",
        a.as_ref(),
        want.as_ref(),
        CLOSED_FORM,
    );
    let scipy = m(&[[E, E], [0.0, E]]);
    check(
        "burkardt 7: vs SciPy's [[e,e],[0,e]]",
        a.as_ref(),
        scipy.as_ref(),
        2.0 * eps,
    );
}

#[test]
fn burkardt_08_wikipedia() {
    let a = m(&[[21.0, 17.0, 6.0], [-5.0, -1.0, -6.0], [4.0, 4.0, 16.0]]);
    let (e4, e16) = (4f64.exp(), 16f64.exp());
    let want = m(&[
        [13.0 * e16 - e4, 13.0 * e16 - 5.0 * e4, 2.0 * e16 - 2.0 * e4],
        [
            -9.0 * e16 + e4,
            -9.0 * e16 + 5.0 * e4,
            -2.0 * e16 + 2.0 * e4,
        ],
        [16.0 * e16, 16.0 * e16, 4.0 * e16],
    ]) * Scale(0.25);
    check(
        "burkardt 8: Wikipedia 3x3",
        a.as_ref(),
        want.as_ref(),
        CLOSED_FORM,
    );
}

#[test]
fn burkardt_09_nag_f01ecf() {
    // NAG F01ECF example: the reference is printed to 4 decimals (7 digits) only.
    let a = m(&[
        [1.0, 2.0, 2.0, 2.0],
        [3.0, 1.0, 1.0, 2.0],
        [3.0, 2.0, 1.0, 2.0],
        [3.0, 3.0, 3.0, 1.0],
    ]);
    let p = printed(&[
        ["740.7038", "610.8500", "542.2743", "549.1753"],
        ["731.2510", "603.5524", "535.0884", "542.2743"],
        ["823.7630", "679.4257", "603.5524", "610.8500"],
        ["998.4355", "823.7630", "731.2510", "740.7038"],
    ]);
    check(
        "burkardt 9: NAG F01ECF (printed, 7 digits)",
        a.as_ref(),
        p.value.as_ref(),
        p.rel,
    );
}

#[test]
fn burkardt_10_ward_1() {
    // Ward #1: defective, nonderogatory, eigenvalues 3, 3, 6. Hermite interpolation of e^x at
    // (3, 3, 6): with N = A − 3I, e^A = e³(I + N) + (e⁶ − 4e³)/9 · N².
    let a = m(&[[4.0, 2.0, 0.0], [1.0, 4.0, 1.0], [1.0, 1.0, 4.0]]);
    let want = ward1_exp(1.0);
    check(
        "burkardt 10: Ward #1 (closed form)",
        a.as_ref(),
        want.as_ref(),
        CLOSED_FORM,
    );
    let p = printed(&[
        [
            "147.8666224463699",
            "183.7651386463682",
            "71.79703239999647",
        ],
        [
            "127.7810855231823",
            "183.7651386463682",
            "91.88256932318415",
        ],
        [
            "127.7810855231824",
            "163.6796017231806",
            "111.9681062463718",
        ],
    ]);
    check(
        "burkardt 10: Ward #1 vs printed (16 digits)",
        a.as_ref(),
        p.value.as_ref(),
        p.rel,
    );
}

/// `exp(t·A)` for Ward #1 `A = 3I + N`, `N = [[1,2,0],[1,1,1],[1,1,1]]`, `N² = 1·[3,4,2]`:
/// `e^{3t}(I + tN) + c(t) N²` with `c(t) = (e^{6t} − (1 + 3t)e^{3t}) / 9`.
fn ward1_exp(t: f64) -> Mat<f64> {
    let n = m(&[[1.0, 2.0, 0.0], [1.0, 1.0, 1.0], [1.0, 1.0, 1.0]]);
    let (e3, e6) = ((3.0 * t).exp(), (6.0 * t).exp());
    let c = (e6 - (1.0 + 3.0 * t) * e3) / 9.0;
    (Mat::<f64>::identity(3, 3) + &n * Scale(t)) * Scale(e3) + (&n * &n) * Scale(c)
}

#[test]
fn burkardt_11_ward_2() {
    // Ward #2: symmetric, eigenvalues 20, 30, 40 (A itself printed to 16 digits). No closed
    // form for the printed A; the printed reference (16 digits) agrees with mpmath's
    // exp of the binary A to 4.4e-15, within tol_exp (κ ≈ ‖A‖_F).
    let a = m(&[
        [29.87942128909879, 0.7815750847907159, -2.289519314033932],
        [0.7815750847907159, 25.72656945571064, 8.680737820540137],
        [-2.289519314033932, 8.680737820540137, 34.39400925519054],
    ]);
    let p = printed(&[
        [
            "5.496313853692378E+15",
            "-1.823188097200898E+16",
            "-3.047577080858001E+16",
        ],
        [
            "-1.823188097200899E+16",
            "6.060522870222108E+16",
            "1.012918429302482E+17",
        ],
        [
            "-3.047577080858001E+16",
            "1.012918429302482E+17",
            "1.692944112408493E+17",
        ],
    ]);
    check(
        "burkardt 11: Ward #2 (printed, 16 digits)",
        a.as_ref(),
        p.value.as_ref(),
        p.rel,
    );
}

/// Ward #3 and its spectral projectors: eigenvalues −1, −2, −20, `P_k` integer matrices
/// (`Π_{j≠k} (A − λ_j I)/(λ_k − λ_j)`, computed exactly), `exp(tA) = Σ e^{λ_k t} P_k`.
fn ward3() -> (Mat<f64>, [(f64, Mat<f64>); 3]) {
    let a = m(&[
        [-131.0, 19.0, 18.0],
        [-390.0, 56.0, 54.0],
        [-387.0, 57.0, 52.0],
    ]);
    let p1 = m(&[[-3.0, 1.0, 0.0], [-12.0, 4.0, 0.0], [-9.0, 3.0, 0.0]]);
    let p2 = m(&[[-3.0, 0.0, 1.0], [-9.0, 0.0, 3.0], [-12.0, 0.0, 4.0]]);
    let p20 = m(&[[7.0, -1.0, -1.0], [21.0, -3.0, -3.0], [21.0, -3.0, -3.0]]);
    // Exact checks of the decomposition: Σ P_k = I, Σ λ_k P_k = A.
    assert_eq!(&p1 + &p2 + &p20, Mat::<f64>::identity(3, 3));
    assert_eq!(
        &p1 * Scale(-1.0) + &p2 * Scale(-2.0) + &p20 * Scale(-20.0),
        a
    );
    (a, [(-1.0, p1), (-2.0, p2), (-20.0, p20)])
}

fn ward3_exp(t: f64) -> Mat<f64> {
    let (_, parts) = ward3();
    let mut x = Mat::<f64>::zeros(3, 3);
    for (l, p) in &parts {
        x += p * Scale((l * t).exp());
    }
    x
}

#[test]
fn burkardt_12_ward_3() {
    // Ward #3, eigenvalues −1, −2, −20: exact spectral decomposition. The printed reference
    // (SciPy/Burkardt, 16 digits) is off by 2.0e-12 relative (e.g. its (0,1) entry
    // 0.3678794391096522 vs the exact e⁻¹ − e⁻²⁰ = 0.36787943911028870): not used to assert.
    let (a, _) = ward3();
    let want = ward3_exp(1.0);
    check(
        "burkardt 12: Ward #3 (spectral closed form)",
        a.as_ref(),
        want.as_ref(),
        CLOSED_FORM,
    );
    let p = printed(&[
        [
            "-1.509644158793135",
            "0.3678794391096522",
            "0.1353352811751005",
        ],
        [
            "-5.632570799891469",
            "1.471517758499875",
            "0.4060058435250609",
        ],
        [
            "-4.934938326088363",
            "1.103638317328798",
            "0.5413411267617766",
        ],
    ]);
    println!(
        "  (published Ward #3 digits vs the closed form: rel diff {:.2e}, printed half unit {:.1e})",
        rel_err(p.value.as_ref(), want.as_ref()),
        p.rel
    );
}

#[test]
fn burkardt_13_forsythe() {
    // Ward #4: the Forsythe matrix (ones on the superdiagonal, ε = 10⁻ⁿ in the corner);
    // Aⁿ = εI, so e^A_ij = Σ_q ε^q/(qn + d)! for d = j − i ≥ 0 and Σ_q ε^{q+1}/((q+1)n + d)!
    // for d < 0: positive series, summed to full precision.
    for n in [2usize, 3, 4, 10] {
        let eps = 10f64.powi(-(n as i32));
        let a = Mat::<f64>::from_fn(n, n, |i, j| {
            if j == i + 1 {
                1.0
            } else if i == n - 1 && j == 0 {
                eps
            } else {
                0.0
            }
        });
        let inv_fact = |k: usize| (1..=k).fold(1.0, |acc, i| acc / i as f64);
        let want = Mat::<f64>::from_fn(n, n, |i, j| {
            let d = j as i64 - i as i64;
            let (mut sum, mut q) = (0.0, 0usize);
            loop {
                let (k, w) = if d >= 0 {
                    (q * n + d as usize, eps.powi(q as i32))
                } else {
                    ((((q + 1) * n) as i64 + d) as usize, eps.powi(q as i32 + 1))
                };
                let term = w * inv_fact(k);
                sum += term;
                if term < 1e-20 * sum {
                    break;
                }
                q += 1;
            }
            sum
        });
        check(
            &format!("burkardt 13: Forsythe n={n}"),
            a.as_ref(),
            want.as_ref(),
            CLOSED_FORM,
        );
    }
}

fn moler() -> Mat<f64> {
    m(&[
        [0.0, 1e-8, 0.0],
        [-(2e10 + 4e8 / 6.0), -3.0, 2e10],
        [200.0 / 3.0, 0.0, -200.0 / 3.0],
    ])
}

#[test]
fn burkardt_14_moler_badly_scaled() {
    // Moler (Cleve's Corner 2012): the badly scaled matrix that made MATLAB's expm (Higham
    // 2005) over-scale. No closed form; reference: mpmath 1.3 `expm` of the binary A at 60
    // and at 120 digits (they agree to 2e-62), rounded to 20 digits. The published values
    // (SciPy 15 digits, Burkardt 16 digits) are within 1.8e-14 / 1.2e-14 of it, more than
    // their half unit. The normwise κ is 3e18 (tol_exp ≈ 1e4, vacuous, printed for the
    // record); the assertions that mean something use the componentwise variant
    // (`tol_exp_componentwise`, |ΔA| ≤ 8nu|A|), which is ~3e-12 here.
    let a = moler();
    let hp = printed(&[
        [
            "0.4468494682831737842",
            "1.5404415738395201465e-9",
            "0.46281145355877362632",
        ],
        [
            "-5743067.779479561738",
            "-0.015283003868682250089",
            "-4526542.7127841015679",
        ],
        [
            "0.44772297784949330989",
            "1.5427048451959121974e-9",
            "0.46348064883765004214",
        ],
    ]);
    check(
        "burkardt 14: Moler (mpmath, 20 digits)",
        a.as_ref(),
        hp.value.as_ref(),
        hp.rel,
    );
    check_with(
        "burkardt 14: Moler (mpmath) componentwise",
        a.as_ref(),
        hp.value.as_ref(),
        hp.rel,
        Cond::Componentwise,
    );
    let scipy = printed(&[
        [
            "0.446849468283175",
            "1.54044157383952e-09",
            "0.462811453558774",
        ],
        [
            "-5743067.77947947",
            "-0.0152830038686819",
            "-4526542.71278401",
        ],
        [
            "0.447722977849494",
            "1.54270484519591e-09",
            "0.463480648837651",
        ],
    ]);
    check_with(
        "burkardt 14: Moler vs SciPy (15 digits)",
        a.as_ref(),
        scipy.value.as_ref(),
        scipy.rel,
        Cond::Componentwise,
    );
    let burkardt = printed(&[
        [
            "4.468494682831735E-01",
            "1.540441573839520E-09",
            "4.628114535587735E-01",
        ],
        [
            "-5.743067779479621E+06",
            "-1.528300386868247E-02",
            "-4.526542712784168E+06",
        ],
        [
            "4.477229778494929E-01",
            "1.542704845195912E-09",
            "4.634806488376499E-01",
        ],
    ]);
    check_with(
        "burkardt 14: Moler vs Burkardt (16 digits)",
        a.as_ref(),
        burkardt.value.as_ref(),
        burkardt.rel,
        Cond::Componentwise,
    );
}

#[test]
fn scipy_overscaling_example() {
    // SciPy test_overscaling_example: on Moler's matrix the Higham (2005) algorithm returns
    // this (entries ~1e25, completely wrong); the 2009 algorithm must not.
    let a = moler();
    let wrong = m(&[
        [
            1.7465684381715e+17,
            -923050477.783131,
            -1.73117355055901e+17,
        ],
        [
            -3.07408665108297e+25,
            1.62463553675545e+17,
            3.04699053651329e+25,
        ],
        [
            1.09189154376804e+17,
            -577057840.468934,
            -1.08226721572342e+17,
        ],
    ]);
    let got = expm(a.as_ref());
    let f = Expm::new(a.as_ref());
    let d = rel_err(got.as_ref(), wrong.as_ref());
    println!(
        "scipy overscaling: (m,s)={:?}, distance to the 2005 answer {d:.2e}",
        f.params()
    );
    assert!(d > 0.99, "close to the over-scaled 2005 answer: {d:e}");
    assert!(
        got.norm_max() < 1e7,
        "entries blew up: {:e}",
        got.norm_max()
    );
}

// ---------------------------------------------------------------------------------------
// Al-Mohy & Higham (2009): over-scaling of [[1, b], [0, −1]].
// ---------------------------------------------------------------------------------------

#[test]
fn al_mohy_higham_overscaling_2x2() {
    // exp = [[e, b(e − 1/e)/2], [0, 1/e]] = [[e, b sinh 1], [0, 1/e]]. The normwise κ grows
    // like b² (a perturbation in the zero (2,1) position is amplified by b²), so tol_exp is
    // vacuous for b ≥ 1e8; over-scaling (s ~ log₂ b squarings) destroys the small entries,
    // which the normwise error (dominated by the b entry) cannot see. So the assertion is
    // entrywise, with the componentwise variant of tol_exp: |ΔA| ≤ 8nu|A| (zeros stay zero,
    // the algorithm keeps triangularity), entry bound S = Σ δ_ij |L(A, E_ij)|, plus the
    // closed form's own rounding.
    for b in [1e4, 1e8, 1e16] {
        let a = m(&[[1.0, b], [0.0, -1.0]]);
        let want = m(&[[E, b * 1f64.sinh()], [0.0, 1.0 / E]]);
        let name = format!("Al-Mohy-Higham [[1,b],[0,-1]] b={b:e}");
        check(&name, a.as_ref(), want.as_ref(), CLOSED_FORM);
        check_with(
            &format!("{name} (cw)"),
            a.as_ref(),
            want.as_ref(),
            CLOSED_FORM,
            Cond::Componentwise,
        );
        let delta = a.map(|x| 8.0 * 2.0 * U64 * x.abs());
        let s = perturbation_bound(a.as_ref(), delta.as_ref());
        for family in FAMILIES {
            let f = Expm::try_new_with(a.as_ref(), family).unwrap();
            let got = f.value();
            for (i, j) in [(0, 0), (0, 1), (1, 1)] {
                let rel = (got[(i, j)] - want[(i, j)]).abs() / want[(i, j)].abs();
                let tol = (s[(i, j)] / want[(i, j)].abs()).max(CLOSED_FORM);
                println!(
                    "    {family:?} {:?} entry ({i},{j}): rel err {rel:.2e}, tol {tol:.2e}",
                    f.params()
                );
                assert!(
                    rel <= tol,
                    "{name}: {family:?} entry ({i},{j}) rel err {rel:e} > {tol:e}"
                );
            }
            assert_eq!(got[(1, 0)], 0.0);
        }
    }
}

// ---------------------------------------------------------------------------------------
// SciPy's other TestExpM cases.
// ---------------------------------------------------------------------------------------

#[test]
fn scipy_2x2_symbolic() {
    // test_2x2_input and test_nx2x2_input: integer matrices with integer eigenvalues and
    // SciPy's symbolic results.
    type M2 = [[f64; 2]; 2];
    let cases: [(M2, M2); 5] = [
        (
            [[1.0, 4.0], [1.0, 1.0]],
            [
                [(E.powi(4) + 1.0) / (2.0 * E), (E.powi(4) - 1.0) / E],
                [(E.powi(4) - 1.0) / 4.0 / E, (E.powi(4) + 1.0) / (2.0 * E)],
            ],
        ),
        (
            [[1.0, 3.0], [1.0, -1.0]],
            [
                [
                    1.0 / (4.0 * E * E) + (3.0 * E * E) / 4.0,
                    (3.0 * E * E) / 4.0 - 3.0 / (4.0 * E * E),
                ],
                [
                    E * E / 4.0 - 1.0 / (4.0 * E * E),
                    3.0 / (4.0 * E * E) + E * E / 4.0,
                ],
            ],
        ),
        (
            [[1.0, 3.0], [4.0, 5.0]],
            [
                [
                    3.0 / (4.0 * E) + E.powi(7) / 4.0,
                    -3.0 / (8.0 * E) + (3.0 * E.powi(7)) / 8.0,
                ],
                [
                    -1.0 / (2.0 * E) + E.powi(7) / 2.0,
                    1.0 / (4.0 * E) + (3.0 * E.powi(7)) / 4.0,
                ],
            ],
        ),
        (
            [[1.0, 3.0], [5.0, 3.0]],
            [
                [
                    5.0 / (8.0 * E * E) + (3.0 * E.powi(6)) / 8.0,
                    -3.0 / (8.0 * E * E) + (3.0 * E.powi(6)) / 8.0,
                ],
                [
                    -5.0 / (8.0 * E * E) + (5.0 * E.powi(6)) / 8.0,
                    3.0 / (8.0 * E * E) + (5.0 * E.powi(6)) / 8.0,
                ],
            ],
        ),
        (
            [[4.0, 5.0], [-3.0, -4.0]],
            [
                [
                    -3.0 / (2.0 * E) + (5.0 * E) / 2.0,
                    -5.0 / (2.0 * E) + (5.0 * E) / 2.0,
                ],
                [
                    3.0 / (2.0 * E) - (3.0 * E) / 2.0,
                    5.0 / (2.0 * E) - (3.0 * E) / 2.0,
                ],
            ],
        ),
    ];
    for (a, want) in cases {
        let (a, want) = (m(&a), m(&want));
        // Transcription check: SciPy's symbolic result equals the generic 2×2 closed form.
        assert!(rel_err(exp2x2(a.as_ref()).as_ref(), want.as_ref()) <= 2.0 * CLOSED_FORM);
        let name = format!(
            "scipy 2x2 {:?}",
            [[a[(0, 0)], a[(0, 1)]], [a[(1, 0)], a[(1, 1)]]]
        );
        check(&name, a.as_ref(), want.as_ref(), CLOSED_FORM);
    }
}

#[test]
fn scipy_bidiagonal() {
    // test_bidiagonal_sparse (upper bidiagonal, repeated eigenvalue 1).
    let a = m(&[[1.0, 3.0, 0.0], [0.0, 1.0, 5.0], [0.0, 0.0, 2.0]]);
    let (e1, e2) = (E, 2f64.exp());
    let want = m(&[
        [e1, 3.0 * e1, 15.0 * (e2 - 2.0 * e1)],
        [0.0, e1, 5.0 * (e2 - e1)],
        [0.0, 0.0, e2],
    ]);
    check(
        "scipy bidiagonal [[1,3,0],[0,1,5],[0,0,2]]",
        a.as_ref(),
        want.as_ref(),
        CLOSED_FORM,
    );
}

#[test]
fn scipy_pade_cases_scaled_identity() {
    // test_padecases_dtype_float: scale·I₃ (SciPy allows 100 ulp; the diagonal path is exact).
    for scale in [1e-2, 1e-1, 5e-1, 1.0, 10.0] {
        let a = Mat::<f64>::identity(3, 3) * Scale(scale);
        let want = Mat::<f64>::identity(3, 3) * Scale(scale.exp());
        let (err, _) = check(
            &format!("scipy scaled identity {scale}"),
            a.as_ref(),
            want.as_ref(),
            0.0,
        );
        assert_eq!(err, 0.0);
    }
}

#[test]
fn scipy_pascal() {
    // test_pascal (gh-8029): A = diag(1..n, −1)·scale, (n+1)×(n+1), nilpotent; e^A is the
    // lower Pascal matrix, e^A_ij = Π_{k=j+1..i} A_{k,k−1} / (i−j)! = C(i, j)·Π (A_{k,k−1}/k).
    // C(i, j) exactly in u128 (< 2¹²⁸ for i ≤ 119) then rounded; the product of
    // A_{k,k−1}/k (each = scale up to the rounding of k·scale and of the quotient) carries
    // ≤ 2(i − j) roundings: reference relative error ≤ (2n + 1)u, recorded as `ref_rel`.
    // Like SciPy, cases with scale^n < 1e-300 are skipped.
    for scale in [1.0f64, 1e-3, 1e-6] {
        for n in [0usize, 1, 2, 5, 10, 30, 50, 100, 119] {
            if scale.powi(n as i32) < 1e-300 {
                continue;
            }
            let dim = n + 1;
            let a = Mat::<f64>::from_fn(
                dim,
                dim,
                |i, j| if i == j + 1 { i as f64 * scale } else { 0.0 },
            );
            let mut binom = vec![vec![0u128; dim]; dim];
            for i in 0..dim {
                binom[i][0] = 1;
                for j in 1..=i {
                    binom[i][j] = binom[i - 1][j - 1] + if j < i { binom[i - 1][j] } else { 0 };
                }
            }
            let want = Mat::<f64>::from_fn(dim, dim, |i, j| {
                if i < j {
                    return 0.0;
                }
                let prod: f64 = (j + 1..=i).map(|k| a[(k, k - 1)] / k as f64).product();
                binom[i][j] as f64 * prod
            });
            let ref_rel = (2 * n + 1) as f64 * U64;
            check(
                &format!("scipy pascal n={n} scale={scale:e}"),
                a.as_ref(),
                want.as_ref(),
                ref_rel,
            );
        }
    }
}

/// SciPy test_exp_sinch_overflow's 7×7 matrix `L = [[N, C], [0, 0]]` (a binary tree's
/// transition generator), `N = I − K` with `K² = 0`, and
/// `exp(−tL) = [[e^{−t}(I + tK), (I + K)(e^{−t}(I + tK) − I)C], [0, I]]`
/// (from `exp([[P, Q], [0, 0]]) = [[e^P, P⁻¹(e^P − I)Q], [0, I]]` and `N⁻¹ = I + K`).
fn sinch_l() -> Mat<f64> {
    m(&[
        [1.0, -0.5, -0.5, 0.0, 0.0, 0.0, 0.0],
        [0.0, 1.0, 0.0, -0.5, -0.5, 0.0, 0.0],
        [0.0, 0.0, 1.0, 0.0, 0.0, -0.5, -0.5],
        [0.0; 7],
        [0.0; 7],
        [0.0; 7],
        [0.0; 7],
    ])
}

fn sinch_exp(t: f64) -> Mat<f64> {
    let l = sinch_l();
    let eye3 = Mat::<f64>::identity(3, 3);
    let k = &eye3 - l.submatrix(0, 0, 3, 3);
    let c = l.submatrix(0, 3, 3, 4).to_owned();
    let top_left = (&eye3 + &k * Scale(t)) * Scale((-t).exp());
    let top_right = (&eye3 + &k) * (&top_left - &eye3) * &c;
    let mut x = Mat::<f64>::identity(7, 7);
    x.submatrix_mut(0, 0, 3, 3).copy_from(&top_left);
    x.submatrix_mut(0, 3, 3, 4).copy_from(&top_right);
    x
}

#[test]
fn scipy_exp_sinch_overflow() {
    // SciPy checks expm(−2¹¹L) against 11 squarings of expm(−L); here both against the
    // closed form (e^{−2048} underflows to 0: the reference is exact to 1e-880).
    let l = sinch_l();
    for t in [1.0, 2048.0] {
        let a = &l * Scale(-t);
        check(
            &format!("scipy exp_sinch_overflow t={t}"),
            a.as_ref(),
            sinch_exp(t).as_ref(),
            CLOSED_FORM,
        );
    }
}

#[test]
fn scipy_triangularity_perturbation() {
    // test_triangularity_perturbation (Al-Mohy & Higham 2012, logm experiment 1): X = the
    // printed (18 digits) logarithm of the upper triangular A below; exp(X) should give A back
    // (A is exact: 5-digit input data). SciPy asserts rtol 1e-4. κ_exp(X) ≈ 1e36 (SciPy's
    // expm_cond test), so tol_exp is vacuous: a normwise backward error u‖X‖ (‖X‖ ≈ 3e14)
    // could move the diagonal by 0.03. Componentwise variant (`perturbation_bound`), upper
    // triangle only (X is triangular and the algorithm keeps it so): |ΔX_ij| ≤ h_ij + 8nu|X_ij|
    // with h_ij the half unit of the printed X_ij (the reference is exp of the *printed* log,
    // which differs from the binary X by ≤ h_ij + u|X_ij|).
    let a = m(&[
        [3.2346e-1, 3e4, 3e4, 3e4],
        [0.0, 3.0089e-1, 3e4, 3e4],
        [0.0, 0.0, 3.221e-1, 3e4],
        [0.0, 0.0, 0.0, 3.0744e-1],
    ]);
    let x = printed(&[
        [
            "-1.12867982029050462e+00",
            "9.61418377142025565e+04",
            "-4.52485573953179264e+09",
            "2.92496941103871812e+14",
        ],
        [
            "0.00000000000000000e+00",
            "-1.20101052953082288e+00",
            "9.63469687211303099e+04",
            "-4.68104828911105442e+09",
        ],
        [
            "0.00000000000000000e+00",
            "0.00000000000000000e+00",
            "-1.13289322264498393e+00",
            "9.53249183094775653e+04",
        ],
        [
            "0.00000000000000000e+00",
            "0.00000000000000000e+00",
            "0.00000000000000000e+00",
            "-1.17947533272554850e+00",
        ],
    ]);
    let (xm, half) = (x.value, x.half);
    let n = 4;
    let upper = |c: f64| {
        Mat::<f64>::from_fn(n, n, |i, j| {
            if i <= j {
                half[(i, j)] + c * xm[(i, j)].abs()
            } else {
                0.0
            }
        })
    };
    let tol = perturbation_bound(xm.as_ref(), upper(8.0 * n as f64 * U64).as_ref()).norm_l2()
        / a.norm_l2();
    let inherent = perturbation_bound(xm.as_ref(), upper(U64).as_ref()).norm_l2() / a.norm_l2();
    let f = Expm::new(xm.as_ref());
    let err = rel_err(f.value(), a.as_ref());
    println!(
        "{:<44} n=4   κ={:<9.2e} (m,s)={:<8} err={err:<9.2e} tol={tol:<9.2e} \
         [componentwise, upper; input rounding alone {inherent:.1e}; normwise tol_exp {:.1e}]",
        "scipy triangularity (A-M & H 2012, exp. 1)",
        cond_exp(xm.as_ref()),
        format!("{:?}", f.params()),
        tol_exp(xm.as_ref())
    );
    assert!(
        err <= tol,
        "relative error {err:.3e} > componentwise tolerance {tol:.3e}"
    );
}

// ---------------------------------------------------------------------------------------
// Fréchet derivative: SciPy TestExpmFrechet and a few of the matrices above.
// ---------------------------------------------------------------------------------------

/// Checks `expm_frechet(A, E)` against the quadrature of the closed form `exp_at(s) = e^{sA}`
/// (error estimated by halving the panel width, added to the tolerance) and against
/// `expm_frechet_block` (two computed values: twice the tolerance).
#[track_caller]
fn check_frechet(
    name: &str,
    a: MatRef<'_, f64>,
    e: MatRef<'_, f64>,
    exp_at: impl Fn(f64) -> Mat<f64>,
) {
    let (ea, l) = expm_frechet(a, e);
    let (eb, lb) = expm_frechet_block(a, e);
    assert_eq!(ea, expm(a), "{name}: expm_frechet's exp differs from expm");
    let lq = frechet_quadrature(&exp_at, e, 16);
    let quad_err = rel_err(frechet_quadrature(&exp_at, e, 8).as_ref(), lq.as_ref());
    let tol = tol_frechet(a, e);
    let (err_q, err_b) = (
        rel_err(l.as_ref(), lq.as_ref()),
        rel_err(l.as_ref(), lb.as_ref()),
    );
    let err_blk_q = rel_err(lb.as_ref(), lq.as_ref());
    println!(
        "{name:<44} n={:<3} (m,s)={:<8} L vs quad {err_q:.2e} (tol {:.2e}, quad {quad_err:.1e}) | \
         L vs block {err_b:.2e} (tol {:.2e}) | block vs quad {err_blk_q:.2e} | exp(A) vs block {:.1e}",
        a.nrows(),
        format!("{:?}", Expm::new(a).params()),
        tol + quad_err,
        2.0 * tol,
        rel_err(eb.as_ref(), ea.as_ref()),
    );
    assert!(
        err_q <= tol + quad_err,
        "{name}: L vs quadrature {err_q:.3e} > {:.3e}",
        tol + quad_err
    );
    assert!(
        err_b <= 2.0 * tol,
        "{name}: L vs block {err_b:.3e} > {:.3e}",
        2.0 * tol
    );
    assert!(
        err_blk_q <= tol + quad_err,
        "{name}: block vs quadrature {err_blk_q:.3e}"
    );
}

#[test]
fn scipy_expm_frechet() {
    // TestExpmFrechet.test_expm_frechet, test_problematic_matrix, and
    // test_small_norm_expm_frechet (A, E scaled so ‖A‖₁ sits between consecutive ℓ_m of
    // Al-Mohy & Higham's Table 6.1, as SciPy's ell_table_61).
    let a = m(&[[1.0, 2.0], [5.0, 6.0]]);
    let e = m(&[[3.0, 4.0], [7.0, 8.0]]);
    check_frechet("scipy frechet [[1,2],[5,6]]", a.as_ref(), e.as_ref(), |s| {
        exp2x2((&a * Scale(s)).as_ref())
    });
    let ap = m(&[[1.50591997, 1.93537998], [0.41203263, 0.23443516]]);
    let ep = m(&[[1.87864034, 2.07055038], [1.34102727, 0.67341123]]);
    check_frechet("scipy frechet problematic", ap.as_ref(), ep.as_ref(), |s| {
        exp2x2((&ap * Scale(s)).as_ref())
    });
    let ell = [
        (1, 2.11e-8),
        (3, 1.08e-2),
        (5, 2.00e-1),
        (7, 7.83e-1),
        (9, 1.78e0),
        (11, 3.13e0),
        (13, 4.74e0),
        (15, 6.56e0),
    ];
    let norm1 = 8.0; // ‖[[1,2],[5,6]]‖₁
    for w in ell.windows(2) {
        let target = 0.5 * (w[0].1 + w[1].1);
        let sc = target / norm1;
        let (as_, es) = (&a * Scale(sc), &e * Scale(sc));
        check_frechet(
            &format!("scipy frechet small norm m={}..{}", w[0].0, w[1].0),
            as_.as_ref(),
            es.as_ref(),
            |s| exp2x2((&as_ * Scale(s)).as_ref()),
        );
    }
}

#[test]
fn published_frechet() {
    // L(A, E) on published matrices whose e^{sA} has a closed form, with a fixed E.
    let e3 = m(&[[0.5, -1.0, 2.0], [1.5, 0.25, -0.75], [-2.0, 1.0, 1.0]]);
    let (w3, _) = ward3();
    check_frechet("frechet Ward #3", w3.as_ref(), e3.as_ref(), ward3_exp);
    let w1 = m(&[[4.0, 2.0, 0.0], [1.0, 4.0, 1.0], [1.0, 1.0, 4.0]]);
    check_frechet("frechet Ward #1", w1.as_ref(), e3.as_ref(), ward1_exp);
    let e2 = m(&[[1.0, -2.0], [0.5, 3.0]]);
    for a in [
        m(&[[0.0, 1.0], [-39.0, -40.0]]),
        m(&[[-49.0, 24.0], [-64.0, 31.0]]),
        m(&[[1.0, 3.0], [3.0, 2.0]]),
        m(&[[1.0, 1e4], [0.0, -1.0]]),
    ] {
        let name = format!(
            "frechet {:?}",
            [[a[(0, 0)], a[(0, 1)]], [a[(1, 0)], a[(1, 1)]]]
        );
        check_frechet(&name, a.as_ref(), e2.as_ref(), |s| {
            exp2x2((&a * Scale(s)).as_ref())
        });
    }
    let l = sinch_l();
    let e7 = Mat::<f64>::from_fn(7, 7, |i, j| ((i * 3 + j * 5) % 7) as f64 - 3.0);
    check_frechet(
        "frechet exp_sinch L",
        (-&l).as_ref(),
        e7.as_ref(),
        sinch_exp,
    );
}

#[test]
fn published_digits() {
    // The printed-reference bound ρ of `printed`: a half unit in the last printed digit.
    assert_eq!(half_unit("740.7038"), 0.5e-4);
    assert_eq!(half_unit("5.496313853692378E+15"), 0.5);
    assert!((half_unit("1.54044157383952e-09") / 0.5e-23 - 1.0).abs() < 1e-12);
}
