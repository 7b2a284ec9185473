//! The GRAPE problems: qubit operators, drift and control Hamiltonians, targets, and the gate
//! fidelity with its gradient through the tape.
//!
//! Piecewise-constant controls `u_jk` (control j, slice k) give the slice generators
//! `X_k = −iΔt·(H₀ + Σ_j u_jk·H_j)` (one `lincomb_offset` node for all slices), the
//! propagator `U = exp(X_{N−1})···exp(X₀)` (one `expm_chain` node: one cached forward and one
//! Fréchet adjoint `L(X_kᴴ, Ū_k)` per slice, whatever the number of controls) and the
//! phase-insensitive gate fidelity `F = |tr(Tᴴ·U)|²/n²`.
use expgrad::tape::{Tape, TapeError};
use faer::{Mat, c64};
use std::sync::Arc;

fn cz(re: f64, im: f64) -> c64 {
    c64::new(re, im)
}

/// The single-qubit Pauli matrices X, Y, Z.
pub fn pauli() -> [Mat<c64>; 3] {
    let (o, l, i) = (cz(0.0, 0.0), cz(1.0, 0.0), cz(0.0, 1.0));
    [
        faer::mat![[o, l], [l, o]],
        faer::mat![[o, -i], [i, o]],
        faer::mat![[l, o], [o, -l]],
    ]
}

/// The Kronecker product `a ⊗ b`.
pub fn kron(a: &Mat<c64>, b: &Mat<c64>) -> Mat<c64> {
    let (ra, ca) = a.shape();
    let (rb, cb) = b.shape();
    Mat::from_fn(ra * rb, ca * cb, |i, j| {
        a[(i / rb, j / cb)] * b[(i % rb, j % cb)]
    })
}

/// `op` acting on qubit k of q (qubit 0 the leftmost Kronecker factor).
pub fn on_qubit(op: &Mat<c64>, k: usize, q: usize) -> Mat<c64> {
    let id = Mat::<c64>::identity(2, 2);
    let mut out = Mat::<c64>::identity(1, 1);
    for i in 0..q {
        out = kron(&out, if i == k { op } else { &id });
    }
    out
}

/// The permutation matrix of a classical gate on q qubits: basis state `b` goes to `f(b)`.
fn permutation(q: usize, f: impl Fn(usize) -> usize) -> Mat<c64> {
    let n = 1 << q;
    Mat::from_fn(n, n, |i, j| {
        if i == f(j) {
            cz(1.0, 0.0)
        } else {
            cz(0.0, 0.0)
        }
    })
}

/// Bit of qubit k (qubit 0 the most significant) in basis state `b` of q qubits.
fn bit(b: usize, k: usize, q: usize) -> usize {
    (b >> (q - 1 - k)) & 1
}

/// The gates the example can aim for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Gate {
    /// CNOT on two qubits (n = 4): control qubit 0, target qubit 1.
    Cnot,
    /// Toffoli on three qubits (n = 8): controls 0 and 1, target 2.
    Toffoli,
    /// A Heisenberg spin chain of `--qubits` qubits: SWAP of the two end qubits.
    Chain,
    /// State transfer `|10…0⟩ → |0…01⟩` along an XY chain of `--qubits` qubits (default 12,
    /// n = 4096) through the sparse complex action: nothing n×n is formed.
    Transfer,
}

/// A gate-synthesis problem.
pub struct Problem {
    /// Hilbert-space dimension 2^q.
    pub n: usize,
    /// `−iΔt·H₀`.
    pub x0: Arc<Mat<c64>>,
    /// `−iΔt·H_j`, one per control.
    pub xs: Arc<[Mat<c64>]>,
    /// Names of the controls (for the plot).
    pub names: Vec<String>,
    /// `conj(T)`: `tr(Tᴴ·U) = Σ conj(T)∘U`, the bilinear `dot`.
    pub target_conj: Mat<c64>,
    /// Time slices N and their length Δt.
    pub slices: usize,
    /// Slice length.
    pub dt: f64,
}

impl Problem {
    /// A Heisenberg chain `H₀ = J Σ_k (X_kX_{k+1} + Y_kY_{k+1} + Z_kZ_{k+1})` (J = 1) with
    /// the controls X_k and Y_k on every qubit, over total time `time` in `slices` slices.
    pub fn new(gate: Gate, qubits: usize, slices: usize, time: f64) -> Self {
        let q = match gate {
            Gate::Cnot => 2,
            Gate::Toffoli => 3,
            Gate::Chain | Gate::Transfer => qubits,
        };
        let n = 1 << q;
        let [x, y, z] = pauli();
        let mut h0 = Mat::<c64>::zeros(n, n);
        for k in 0..q.saturating_sub(1) {
            for p in [&x, &y, &z] {
                h0 += on_qubit(p, k, q) * on_qubit(p, k + 1, q);
            }
        }
        let dt = time / slices as f64;
        let idt = cz(0.0, -dt);
        let mut xs = Vec::new();
        let mut names = Vec::new();
        for k in 0..q {
            for (p, name) in [(&x, "X"), (&y, "Y")] {
                xs.push(on_qubit(p, k, q) * faer::Scale(idt));
                names.push(format!("{name}{k}"));
            }
        }
        let target = match gate {
            Gate::Cnot => permutation(2, |b| b ^ bit(b, 0, 2)),
            Gate::Toffoli => permutation(3, |b| b ^ (bit(b, 0, 3) & bit(b, 1, 3))),
            Gate::Chain | Gate::Transfer => permutation(q, |b| {
                let (first, last) = (bit(b, 0, q), bit(b, q - 1, q));
                let cleared = b & !(1 << (q - 1)) & !1;
                cleared | (last << (q - 1)) | first
            }),
        };
        Self {
            n,
            x0: Arc::new(h0 * faer::Scale(idt)),
            xs: xs.into(),
            names,
            target_conj: target.map(|v| v.conj()),
            slices,
            dt,
        }
    }

    /// Number of controls J.
    pub fn controls(&self) -> usize {
        self.xs.len()
    }

    /// Fidelity `F(u)` and `∂F/∂u` (J × N) for the controls `u` (J × N, column k = slice k).
    pub fn fidelity(&self, u: &Mat<f64>) -> Result<(f64, Mat<f64>), TapeError> {
        let tape = Tape::<c64>::new();
        let uv = tape.real_var(u.clone());
        let prop = uv
            .try_lincomb_offset(&self.x0, &self.xs)?
            .try_expm_chain()?;
        let c = prop.try_dot(tape.constant(self.target_conj.clone()))?;
        let fid = c
            .abs2()
            .scale(cz(1.0 / (self.n * self.n) as f64, 0.0))
            .real();
        let value = fid.value()[(0, 0)].re;
        Ok((value, fid.try_backward()?.wrt_real(uv)))
    }

    /// The propagator `U(u)` (for the unitarity check of the report).
    pub fn propagator(&self, u: &Mat<f64>) -> Result<Mat<c64>, TapeError> {
        let tape = Tape::<c64>::new();
        let uv = tape.constant(u.map(|v| cz(*v, 0.0)));
        Ok(uv
            .try_lincomb_offset(&self.x0, &self.xs)?
            .try_expm_chain()?
            .value())
    }
}

/// State transfer along an XY spin chain of q qubits (n = 2^q, up to 16,384 at q = 14):
/// `H(u) = Σ_k (X_kX_{k+1} + Y_kY_{k+1}) + Σ_k u_k Z_k` with a local field on every site as
/// the controls, `|ψ₀⟩ = |10…0⟩`, target `|0…01⟩`, fidelity `|⟨target|ψ_N⟩|²`. Every slice
/// is the action `exp(−iΔt·H(u_k))·ψ` of a sparse Hamiltonian (one `expm_multiply_lincomb`
/// node, exact reverse pass): no n×n matrix is ever formed.
pub struct Transfer {
    /// Hilbert-space dimension 2^q.
    pub n: usize,
    /// Qubits q (= controls).
    pub qubits: usize,
    /// `H₀` and the `Z_k`, as one sparse combination.
    pub hamiltonian: Arc<expgrad::tape::ops::SparseLincomb<c64>>,
    /// Slices N and their length Δt.
    pub slices: usize,
    /// Slice length.
    pub dt: f64,
}

impl Transfer {
    /// The chain of `qubits` qubits over total time `time` in `slices` slices.
    pub fn new(qubits: usize, slices: usize, time: f64) -> Result<Self, TapeError> {
        use faer::sparse::{SparseRowMat, Triplet};
        let q = qubits;
        let n = 1usize << q;
        let mask = |k: usize| 1usize << (q - 1 - k);
        // X_kX_{k+1} + Y_kY_{k+1} = 2(σ⁺σ⁻ + σ⁻σ⁺): flips the pair when its bits differ.
        let mut hop = Vec::new();
        for b in 0..n {
            for k in 0..q - 1 {
                let (x, y) = (b & mask(k) != 0, b & mask(k + 1) != 0);
                if x != y {
                    hop.push(Triplet::new(b ^ mask(k) ^ mask(k + 1), b, cz(2.0, 0.0)));
                }
            }
        }
        let build = |t: &[Triplet<usize, usize, c64>]| {
            SparseRowMat::<usize, c64>::try_new_from_triplets(n, n, t).map_err(|_| {
                TapeError::Domain {
                    op: "transfer",
                    what: "the Hamiltonian could not be assembled",
                }
            })
        };
        let h0 = build(&hop)?;
        let zs: Vec<SparseRowMat<usize, c64>> = (0..q)
            .map(|k| {
                let t: Vec<_> = (0..n)
                    .map(|b| Triplet::new(b, b, cz(if b & mask(k) != 0 { -1.0 } else { 1.0 }, 0.0)))
                    .collect();
                build(&t)
            })
            .collect::<Result<_, _>>()?;
        let refs: Vec<_> = zs.iter().map(|z| z.as_ref()).collect();
        let hamiltonian = Arc::new(expgrad::tape::ops::SparseLincomb::try_new(
            h0.as_ref(),
            &refs,
        )?);
        Ok(Self {
            n,
            qubits: q,
            hamiltonian,
            slices,
            dt: time / slices as f64,
        })
    }

    /// Fidelity `|⟨0…01|ψ_N⟩|²` and its gradient w.r.t. the fields `u` (q × N).
    pub fn fidelity(&self, u: &Mat<f64>) -> Result<(f64, Mat<f64>), TapeError> {
        let tape = Tape::<c64>::new();
        let uv = tape.real_var(u.clone());
        let start = 1usize << (self.qubits - 1);
        let mut psi = tape.constant(Mat::from_fn(self.n, 1, |i, _| {
            if i == start {
                cz(1.0, 0.0)
            } else {
                cz(0.0, 0.0)
            }
        }));
        let t = tape.scalar(cz(0.0, -self.dt));
        for k in 0..self.slices {
            let uk = uv.try_slice(0..self.qubits, k..k + 1)?;
            psi = uk.try_expm_multiply_lincomb(&self.hamiltonian, psi, t)?;
        }
        let fid = psi.try_slice(1..2, 0..1)?.abs2().real();
        let value = fid.value()[(0, 0)].re;
        Ok((value, fid.try_backward()?.wrt_real(uv)))
    }
}
