//! The optimised Taylor evaluation schemes, as straight-line programs.
//!
//! Each scheme evaluates a polynomial `P(B) ≈ e^B` that agrees with the exponential's Taylor
//! series to order `m`, with fewer matrix products than Paterson–Stockmeyer and no linear
//! solve:
//!
//! | scheme | order | degree | products | source |
//! |---|---:|---:|---:|---|
//! | T1, T2, T4 | 1, 2, 4 | = order | 0, 1, 2 | Horner / one nested product |
//! | T8, T12, T18 | 8, 12, 18 | 8, 12, 24 | 3, 4, 5 | Bader, Blanes & Casas, *Mathematics* 7 (2019) 1174 |
//! | S24, S30 | 24, 30 | 24, 30 | 6, 7 | Sastre, Ibáñez & Defez, *Appl. Math. Comput.* 340 (2019) 206 |
//!
//! A program is a list of [`Step`]s over nodes: node 0 is `B`, each step appends one node, the
//! last node is `P(B)`. The same program drives the forward pass, the Fréchet derivative
//! (each product `X_i·X_j` becomes `L_i·X_j + X_i·L_j`) and, through [`poly_coefficients`],
//! the structured low-rank derivatives, so that every derivative is that of the polynomial
//! actually evaluated. `scripts/theta_poly.py` expands every program exactly, checks the
//! order conditions `p_k = 1/k!` (k ≤ m) to rounding, and computes the θ tables below.
//!
//! Tests: the unit tests below, `crates/linalg/tests/{degrees,published,precision}.rs`.

use std::sync::OnceLock;

/// One instruction of a scheme.
#[derive(Clone, Debug)]
pub(crate) enum Step {
    /// `Σ c·node + c₀·I`.
    Comb(Vec<(usize, f64)>, f64),
    /// `node_i · node_j`.
    Prod(usize, usize),
}

/// A Taylor scheme: its order, product count, and θ for f64 and f32.
#[derive(Debug)]
pub(crate) struct Scheme {
    /// Order `m`: `P(x) = Σ_{k≤m} x^k/k! + O(x^{m+1})`.
    pub(crate) order: usize,
    /// Matrix products of the forward evaluation.
    pub(crate) products: usize,
    /// Largest `‖B‖` (in the α sense) with relative backward error ≤ 2⁻⁵³.
    pub(crate) theta_f64: f64,
    /// The same for 2⁻²⁴.
    pub(crate) theta_f32: f64,
    /// The program.
    pub(crate) steps: Vec<Step>,
    /// Monomial coefficients of the polynomial the program evaluates ([`poly_coefficients`]).
    pub(crate) poly: Vec<f64>,
}

/// The Taylor schemes, by increasing cost (index = the scheme's id).
pub(crate) fn schemes() -> &'static [Scheme] {
    static S: OnceLock<Vec<Scheme>> = OnceLock::new();
    S.get_or_init(build)
}

// θ from scripts/theta_poly.py (u = 2^-53 and 2^-24; N = 150 and 200 terms agree).
#[allow(clippy::excessive_precision)]
const TABLE: [(usize, usize, f64, f64); 8] = [
    (1, 0, 2.220446049250305e-16, 1.192092800768788e-7),
    (2, 1, 2.580956802971767e-8, 5.978858893805233e-4),
    (4, 2, 3.397168839976962e-4, 5.116619363445086e-2),
    (8, 3, 4.991228871115319e-2, 5.800524627688765e-1),
    (12, 4, 2.996158913811586e-1, 1.461661507209035),
    (18, 5, 1.090863719290152, 3.010066362817691),
    (24, 6, 2.21904886934859, 4.649782224096835),
    (30, 7, 3.539666348761693, 6.321082126305199),
];

#[allow(clippy::excessive_precision)]
const B12: [[f64; 4]; 4] = [
    [
        9.0198e-16,
        0.46932117595418237389,
        -0.20099424927047284052,
        -0.04623946134063071740,
    ],
    [
        5.31597895759871264183,
        1.19926790417132231573,
        0.01179296240992997031,
        0.01108844528519167989,
    ],
    [
        0.18188869982170434744,
        0.05502798439925399070,
        0.09351590770535414968,
        0.00610700528898058230,
    ],
    [
        -2.0861320e-13,
        -0.13181061013830184015,
        -0.02027855540589259079,
        -0.00675951846863086359,
    ],
];

#[allow(clippy::excessive_precision)]
const B18: [[f64; 5]; 5] = [
    [
        0.0,
        -1.00365581030144618291e-01,
        -8.02924648241156932449e-03,
        -8.92138498045729985177e-04,
        0.0,
    ],
    [
        0.0,
        3.97849749499645077844e-01,
        1.36783778460411720168e+00,
        4.98289622525382669416e-01,
        -6.37898194594723280150e-04,
    ],
    [
        -1.09676396052962061844e+01,
        1.68015813878906206114e+00,
        5.71779846478865511061e-02,
        -6.98210122488052056106e-03,
        3.34975017086070470649e-05,
    ],
    [
        -9.04316832390810593223e-02,
        -6.76404519071381882256e-02,
        6.75961301770459654925e-02,
        2.95552570429315521194e-02,
        -1.39180257516060693404e-05,
    ],
    [
        0.0,
        0.0,
        -9.23364619367118555360e-02,
        -1.69364939002081722752e-02,
        -1.40086798182036094347e-05,
    ],
];

#[allow(clippy::excessive_precision)]
const S24: [f64; 23] = [
    1.172460202011541e-08,
    9.379681616092325e-08,
    1.406952242413849e-06,
    2.294895435403922e-05,
    2.024281516007681e-03,
    1.430688980356062e-02,
    1.952545843107103e-01,
    2.865001388641538e+00,
    -1.204349003694297e-03,
    2.547056607231984e-03,
    2.721930992200371e-02,
    2.498969092549990e+02,
    2.018492049443954e-02,
    1.965098904519709e-01,
    1.739158441630994e+00,
    8.290085751394409e+00,
    2.919349464582001e-04,
    1.758035313846159e-04,
    1.606091400855144e-02,
    3.655234395347475e-02,
    2.243394407902074e-03,
    -3.005000525808178e-02,
    1.969779342112314e-01,
];

#[allow(clippy::excessive_precision)]
const S30: [f64; 29] = [
    1.556371639324141e-11,
    1.556371639324141e-10,
    2.957106114715868e-09,
    6.204734935438909e-08,
    1.313681421698863e-06,
    3.501669195497238e-05,
    1.283057135586989e-03,
    2.479095151834799e-02,
    4.155284057336423e-01,
    5.951585263506065e+00,
    3.753710741641900e-05,
    2.100333647757715e-04,
    2.630043177655382e-03,
    3.306559506631931e-02,
    6.175954247606858e+01,
    2.742336655922557e-03,
    3.005135891320298e-02,
    2.857950268422422e-01,
    2.991654767354374e+00,
    1.110689398085882e+01,
    8.572383602707347e-06,
    9.027588625491207e-05,
    1.121744731945438e-03,
    8.139086096860678e-03,
    -2.638236222337760e-04,
    6.263526066651383e-05,
    4.985549176118462e-03,
    7.705596948494946e-02,
    5.029302610017967e-01,
];

/// A program under construction: `push` appends a node and returns its index.
struct Prog(Vec<Step>);

impl Prog {
    fn push(&mut self, s: Step) -> usize {
        self.0.push(s);
        self.0.len()
    }
    fn prod(&mut self, i: usize, j: usize) -> usize {
        self.push(Step::Prod(i, j))
    }
    fn comb(&mut self, terms: &[(usize, f64)], id: f64) -> usize {
        self.push(Step::Comb(terms.to_vec(), id))
    }
}

fn t1() -> Vec<Step> {
    let mut p = Prog(Vec::new());
    p.comb(&[(0, 1.0)], 1.0);
    p.0
}

fn t2() -> Vec<Step> {
    let mut p = Prog(Vec::new());
    let a2 = p.prod(0, 0);
    p.comb(&[(0, 1.0), (a2, 0.5)], 1.0);
    p.0
}

fn t4() -> Vec<Step> {
    let mut p = Prog(Vec::new());
    let a2 = p.prod(0, 0);
    let inner = p.comb(&[(0, 1.0 / 6.0), (a2, 1.0 / 24.0)], 0.5);
    let tail = p.prod(a2, inner);
    p.comb(&[(0, 1.0), (tail, 1.0)], 1.0);
    p.0
}

/// Bader, Blanes & Casas (2019), eq. (10). The coefficients solve the order conditions
/// `p_k = 1/k!`, k ≤ 8, with `x₃ = 2/3`; note `x₇ = (89 − √177)/(3360·x₃)` (with 5040 in
/// place of 3360 the polynomial is off by a third in `p₈`; `scripts/theta_poly.py` checks).
fn t8() -> Vec<Step> {
    let r = 177f64.sqrt();
    let x3 = 2.0 / 3.0;
    let x1 = x3 * (1.0 + r) / 88.0;
    let x2 = x3 * (1.0 + r) / 352.0;
    let x4 = (-271.0 + 29.0 * r) / (315.0 * x3);
    let x5 = (-11.0 + 11.0 * r) / (1260.0 * x3);
    let x6 = (-99.0 + 11.0 * r) / (5040.0 * x3);
    let x7 = (89.0 - r) / (3360.0 * x3);
    let y2 = (857.0 - 58.0 * r) / 630.0;
    let mut p = Prog(Vec::new());
    let a2 = p.prod(0, 0);
    let f = p.comb(&[(0, x1), (a2, x2)], 0.0);
    let a4 = p.prod(a2, f);
    let left = p.comb(&[(a2, x3), (a4, 1.0)], 0.0);
    let right = p.comb(&[(0, x5), (a2, x6), (a4, x7)], x4);
    let a8 = p.prod(left, right);
    p.comb(&[(0, 1.0), (a2, y2), (a8, 1.0)], 1.0);
    p.0
}

/// Bader, Blanes & Casas (2019), eq. (11): `q₆₁ = q₃₃ + q₃₄²`, `P = q₃₁ + (q₃₂ + q₆₁)q₆₁`.
fn t12() -> Vec<Step> {
    let mut p = Prog(Vec::new());
    let a2 = p.prod(0, 0);
    let a3 = p.prod(a2, 0);
    let q: Vec<usize> = B12
        .iter()
        .map(|b| p.comb(&[(0, b[1]), (a2, b[2]), (a3, b[3])], b[0]))
        .collect();
    let sq = p.prod(q[3], q[3]);
    let q61 = p.comb(&[(q[2], 1.0), (sq, 1.0)], 0.0);
    let left = p.comb(&[(q[1], 1.0), (q61, 1.0)], 0.0);
    let prod = p.prod(left, q61);
    p.comb(&[(q[0], 1.0), (prod, 1.0)], 0.0);
    p.0
}

/// Bader, Blanes & Casas (2019), eq. (16): `q₉₁ = q₃₁q₆₄ + q₆₃`, `P = q₆₁ + (q₆₂ + q₉₁)q₉₁`.
fn t18() -> Vec<Step> {
    let mut p = Prog(Vec::new());
    let a2 = p.prod(0, 0);
    let a3 = p.prod(a2, 0);
    let a6 = p.prod(a3, a3);
    let q: Vec<usize> = B18
        .iter()
        .map(|b| p.comb(&[(0, b[1]), (a2, b[2]), (a3, b[3]), (a6, b[4])], b[0]))
        .collect();
    let q31q64 = p.prod(q[0], q[4]);
    let q91 = p.comb(&[(q31q64, 1.0), (q[3], 1.0)], 0.0);
    let left = p.comb(&[(q[2], 1.0), (q91, 1.0)], 0.0);
    let prod = p.prod(left, q91);
    p.comb(&[(q[1], 1.0), (prod, 1.0)], 0.0);
    p.0
}

/// Sastre, Ibáñez & Defez (2019), the order-`3q ± …` formulas with powers `B..B^q`:
/// `y₀ = B^q·Σc·B^j`, `y₁ = (y₀ + Σc·B^j)(y₀ + Σc·B^j) + c·y₀ + Σc·B^j`,
/// `P = y₁(y₀ + Σc·B^j) + Σc·B^j + B + I` (q = 4: order 24, q = 5: order 30).
fn sastre(c: &[f64], q: usize) -> Vec<Step> {
    let mut p = Prog(Vec::new());
    let mut pw = vec![0usize];
    for k in 2..=q {
        let prev = pw[k - 2];
        let next = if k % 2 == 0 {
            p.prod(pw[k / 2 - 1], pw[k / 2 - 1])
        } else {
            p.prod(prev, 0)
        };
        pw.push(next);
    }
    // hi(j) = B^{q−j}: the powers from the top down.
    let hi = |j: usize| pw[q - 1 - j];
    let mut k = 0;
    let mut take = |cnt: usize, extra: &[(usize, f64)]| -> Vec<(usize, f64)> {
        let mut v: Vec<(usize, f64)> = (0..cnt).map(|j| (hi(j), c[k + j])).collect();
        k += cnt;
        v.extend_from_slice(extra);
        v
    };
    let inner = take(q, &[]);
    let inner = p.comb(&inner, 0.0);
    let y0 = p.prod(hi(0), inner);
    // f1, f2, f3 read only y0 and the powers.
    let f1 = take(q, &[(y0, 1.0)]);
    let f2 = take(q - 1, &[(y0, 1.0)]);
    let cy0 = take(1, &[]);
    let y1_terms = take(q, &[(y0, cy0[0].1)]);
    let f3 = take(q, &[(y0, 1.0)]);
    let f1 = p.comb(&f1, 0.0);
    let f2 = p.comb(&f2, 0.0);
    let f3 = p.comb(&f3, 0.0);
    let f12 = p.prod(f1, f2);
    let mut y1 = y1_terms;
    y1.push((f12, 1.0));
    let y1 = p.comb(&y1, 0.0);
    let top = p.prod(y1, f3);
    let out = take(q - 1, &[(top, 1.0), (0, 1.0)]);
    p.comb(&out, 1.0);
    debug_assert_eq!(k, c.len());
    p.0
}

fn build() -> Vec<Scheme> {
    let programs = [
        t1(),
        t2(),
        t4(),
        t8(),
        t12(),
        t18(),
        sastre(&S24, 4),
        sastre(&S30, 5),
    ];
    programs
        .into_iter()
        .zip(TABLE)
        .map(|(steps, (order, products, theta_f64, theta_f32))| Scheme {
            order,
            products,
            theta_f64,
            theta_f32,
            poly: poly_coefficients(&steps),
            steps,
        })
        .collect()
}

/// The monomial coefficients `p_0..p_deg` of a scheme's polynomial, by running its program
/// on polynomials (in f64, from the same rounded coefficients the matrices see).
pub(crate) fn poly_coefficients(steps: &[Step]) -> Vec<f64> {
    let mut nodes: Vec<Vec<f64>> = vec![vec![0.0, 1.0]];
    for s in steps {
        let next = match s {
            Step::Comb(terms, id) => {
                let deg = terms
                    .iter()
                    .map(|(i, _)| nodes[*i].len())
                    .max()
                    .unwrap_or(1);
                let mut out = vec![0.0; deg.max(1)];
                out[0] += id;
                for (i, c) in terms {
                    for (k, x) in nodes[*i].iter().enumerate() {
                        out[k] += c * x;
                    }
                }
                out
            }
            Step::Prod(i, j) => {
                let (a, b) = (&nodes[*i], &nodes[*j]);
                let mut out = vec![0.0; a.len() + b.len() - 1];
                for (k, x) in a.iter().enumerate() {
                    for (l, y) in b.iter().enumerate() {
                        out[k + l] += x * y;
                    }
                }
                out
            }
        };
        nodes.push(next);
    }
    let mut p = nodes.pop().unwrap();
    while p.len() > 1 && p[p.len() - 1] == 0.0 {
        p.pop();
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORDERS: [usize; 8] = [1, 2, 4, 8, 12, 18, 24, 30];

    #[test]
    fn every_scheme_has_its_order_and_product_count() {
        for (s, &order) in schemes().iter().zip(ORDERS.iter()) {
            assert_eq!(s.order, order);
            let prods = s
                .steps
                .iter()
                .filter(|st| matches!(st, Step::Prod(..)))
                .count();
            assert_eq!(prods, s.products, "order {order}");
            let p = poly_coefficients(&s.steps);
            let mut fact = 1.0f64;
            for (k, pk) in p.iter().enumerate().take(order + 1) {
                if k > 0 {
                    fact *= k as f64;
                }
                // f64 expansion of the rounded coefficients: a few ulps of cancellation.
                assert!(
                    (pk * fact - 1.0).abs() < 5e-14,
                    "order {order}: p_{k}·{k}! = {}",
                    pk * fact
                );
            }
        }
    }

    #[test]
    fn thetas_increase_with_cost() {
        let s = schemes();
        for w in s.windows(2) {
            assert!(w[0].theta_f64 < w[1].theta_f64 && w[0].theta_f32 < w[1].theta_f32);
            assert!(w[0].products < w[1].products);
        }
    }
}
