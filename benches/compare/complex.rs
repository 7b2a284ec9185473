//! The complex tasks of the comparison (`cforward`, `grape`), on the problem files of
//! `peers.py gen` (`cdense_n{n}.json`, `grape_n{n}.json`; formats in `peers.py`).
use super::{Output, Timing, read_json, time, timing};
use expgrad::linalg::{Expm, expm};
use expgrad::tape::Tape;
use faer::{Mat, c64};
use serde_json::Value;
use std::path::Path;
use std::sync::Arc;

/// A complex r×c matrix from the row-major nested lists `{key}_re`, `{key}_im`.
fn cmat(v: &Value, key: &str) -> Mat<c64> {
    let part = |suffix: &str| -> Vec<Vec<f64>> {
        v[format!("{key}_{suffix}")]
            .as_array()
            .unwrap_or_else(|| panic!("problem file: missing {key}_{suffix}"))
            .iter()
            .map(|row| {
                row.as_array()
                    .expect("a row")
                    .iter()
                    .map(|x| x.as_f64().expect("a number"))
                    .collect()
            })
            .collect()
    };
    let (re, im) = (part("re"), part("im"));
    Mat::from_fn(re.len(), re[0].len(), |i, j| c64::new(re[i][j], im[i][j]))
}

/// A GRAPE problem: `X_k = −i·dt·(H₀ + Σ_j u[k, j]·H_j)`, `F = |tr(Tᴴ·U)|²/n²`.
pub struct Grape {
    pub n: usize,
    /// `−i·dt·H₀`.
    pub x0: Arc<Mat<c64>>,
    /// `−i·dt·H_j`.
    pub xs: Arc<[Mat<c64>]>,
    /// `conj(T)`, so that `tr(Tᴴ·U) = ⟨conj(T), U⟩` (the bilinear `dot`).
    pub target_conj: Mat<c64>,
    /// The controls, J × N (column k = slice k).
    pub u: Mat<f64>,
}

pub fn grape_problem(v: &Value) -> Grape {
    let n = v["n"].as_u64().expect("n") as usize;
    let dt = v["dt"].as_f64().expect("dt");
    let idt = c64::new(0.0, -dt);
    let h0 = cmat(v, "h0");
    let (re, im) = (
        v["hc_re"].as_array().expect("hc_re"),
        v["hc_im"].as_array().expect("hc_im"),
    );
    let xs: Vec<Mat<c64>> = re
        .iter()
        .zip(im)
        .map(|(r, i)| {
            let pair = serde_json::json!({"m_re": r, "m_im": i});
            cmat(&pair, "m") * faer::Scale(idt)
        })
        .collect();
    let rows: Vec<Vec<f64>> = v["u"]
        .as_array()
        .expect("u")
        .iter()
        .map(|r| {
            r.as_array()
                .expect("u row")
                .iter()
                .map(|x| x.as_f64().expect("u"))
                .collect()
        })
        .collect();
    let u = Mat::from_fn(xs.len(), rows.len(), |j, k| rows[k][j]);
    Grape {
        n,
        x0: Arc::new(h0 * faer::Scale(idt)),
        xs: xs.into(),
        target_conj: cmat(v, "target").map(|z| z.conj()),
        u,
    }
}

/// Value and gradient (J × N) of the GRAPE fidelity through the tape, as a user writes it:
/// the controls as one real variable, every slice's generator from one `lincomb_offset`
/// node, the propagator from one `expm_chain` node.
pub fn grape_grad(p: &Grape) -> (f64, Mat<f64>) {
    let tape = Tape::<c64>::new();
    let u = tape.real_var(p.u.clone());
    let prop = u.lincomb_offset(&p.x0, &p.xs).expm_chain();
    let c = prop.dot(tape.constant(p.target_conj.clone()));
    let fid = c
        .abs2()
        .scale(c64::new(1.0 / (p.n * p.n) as f64, 0.0))
        .real();
    (fid.value()[(0, 0)].re, fid.backward().wrt_real(u))
}

pub fn run(problems: &Path, quick: bool, outputs_wanted: bool) -> (Vec<Timing>, Vec<Output>) {
    let mut results = Vec::new();
    let mut outputs = Vec::new();
    let ns: &[usize] = if quick {
        &[4, 8, 16, 32]
    } else {
        &[4, 8, 16, 32, 64, 128, 256]
    };
    for &n in ns {
        let file = read_json(&problems.join(format!("cdense_n{n}.json")));
        let x = cmat(&file, "x");
        let mut rec = timing("cforward", n, time(|| expm(x.as_ref()), quick));
        rec.problem = "cdense";
        let f = Expm::new(x.as_ref());
        let (m, s) = f.params();
        rec.note = format!("complex: {} m = {m}, s = {s}", f.approximant());
        results.push(rec);
        if outputs_wanted {
            let e = f.value();
            let mut data: Vec<f64> = Vec::new();
            if n <= 16 {
                let all: Vec<c64> = (0..n)
                    .flat_map(|i| (0..n).map(move |j| (i, j)))
                    .map(|(i, j)| e[(i, j)])
                    .collect();
                data.extend(all.iter().map(|z| z.re));
                data.extend(all.iter().map(|z| z.im));
            } else {
                data.extend([e[(0, 0)].re, e[(0, 0)].im]);
            }
            outputs.push(Output {
                task: "cforward",
                n,
                problem: "cdense",
                value: Some(e.norm_l2()),
                data,
            });
        }
    }
    for n in [4usize, 8, 16, 32, 64] {
        if quick && n > 16 {
            break;
        }
        let p = grape_problem(&read_json(&problems.join(format!("grape_n{n}.json"))));
        let mut rec = timing("grape", n, time(|| grape_grad(&p), quick));
        rec.problem = "grape";
        let degrees: Vec<(usize, u32)> = (0..p.u.ncols())
            .map(|k| {
                let mut x = (*p.x0).clone();
                for j in 0..p.xs.len() {
                    x += &p.xs[j] * faer::Scale(c64::new(p.u[(j, k)], 0.0));
                }
                Expm::new(x.as_ref()).params()
            })
            .collect();
        rec.note = format!(
            "lincomb_offset + expm_chain: {} slices, (m, s) of the first slice {:?}",
            degrees.len(),
            degrees[0]
        );
        results.push(rec);
        if outputs_wanted {
            let (value, g) = grape_grad(&p);
            // data[4k + j] = dF/du[k, j]
            let data = (0..g.ncols())
                .flat_map(|k| (0..g.nrows()).map(move |j| (j, k)))
                .map(|(j, k)| g[(j, k)])
                .collect();
            outputs.push(Output {
                task: "grape",
                n,
                problem: "grape",
                value: Some(value),
                data,
            });
        }
    }
    (results, outputs)
}
