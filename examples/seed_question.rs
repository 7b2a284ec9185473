//! The question expgrad was built to answer: for `w = exp(Diag(d)·A)·v`, what is `∂w/∂d`?
//!
//! Prints the Jacobian of a 4×4 case by three routes side by side — generic backprop through
//! the tape, Fréchet columns `L(X, eₖaₖᵀ)v`, and the Kronecker closed form — with their
//! differences and timings, then the gradient of a scalar loss.
//!
//! Run: `cargo run --release --example seed_question`
use expgrad::diag::diag_mul;
use expgrad::reference;
use expgrad::tape::Tape;
use faer::Mat;
use std::time::Instant;

fn show(name: &str, m: &Mat<f64>) {
    println!("{name}:");
    for i in 0..m.nrows() {
        let row: Vec<String> = (0..m.ncols())
            .map(|j| format!("{:>14.10}", m[(i, j)]))
            .collect();
        println!("  {}", row.join(" "));
    }
}

fn main() {
    let n = 4;
    // A continuous-time Markov chain: Q = Diag(d)·(P − I), exit rates d, jump matrix P.
    let p = faer::mat![
        [0.0, 0.5, 0.3, 0.2],
        [0.6, 0.0, 0.1, 0.3],
        [0.2, 0.2, 0.0, 0.6],
        [0.4, 0.4, 0.2, 0.0f64],
    ];
    let a = &p - Mat::<f64>::identity(n, n);
    let d = faer::mat![[0.8], [1.5], [0.3], [2.0f64]];
    let v = faer::mat![[1.0], [0.0], [0.0], [0.0f64]];
    let x = Mat::<f64>::from_fn(n, n, |i, j| d[(i, 0)] * a[(i, j)]);

    // 1. Generic backprop: one tape, n reverse sweeps over the recorded forward.
    let t = Instant::now();
    let tape = Tape::new();
    let dv = tape.var(d.clone());
    let w = diag_mul(dv, tape.constant(a.clone()))
        .expm()
        .matmul(tape.constant(v.clone()));
    let j_tape = w.jacobian(dv);
    let t_tape = t.elapsed();

    // 2. Fréchet columns: ∂w/∂dₖ = L(X, eₖaₖᵀ)·v, one factored forward for all k
    //    (expgrad::reference::frechet_columns_jacobian: n calls of Expm::frechet).
    let t = Instant::now();
    let j_frechet = reference::frechet_columns_jacobian(d.as_ref(), a.as_ref(), v.as_ref());
    let t_frechet = t.elapsed();

    // 3. The Kronecker closed form: exponentiate a 2n²×2n² block, O(n⁶)
    //    (expgrad::reference::kronecker_jacobian).
    let t = Instant::now();
    let j_kron = reference::kronecker_jacobian(d.as_ref(), a.as_ref(), v.as_ref());
    let t_kron = t.elapsed();

    println!(
        "w = exp(Diag(d)·(P − I))·v = {:?}\n",
        (0..n).map(|i| w.value()[(i, 0)]).collect::<Vec<_>>()
    );
    show("J by backprop (tape.jacobian)", &j_tape);
    show("J by Fréchet columns", &j_frechet);
    show("J by the Kronecker closed form", &j_kron);
    println!(
        "\nmax |backprop − Fréchet| = {:.1e}, max |backprop − Kronecker| = {:.1e}",
        (&j_tape - &j_frechet).norm_max(),
        (&j_tape - &j_kron).norm_max()
    );
    println!("time: backprop {t_tape:?}, Fréchet {t_frechet:?}, Kronecker {t_kron:?}");
    let identity = (&j_tape * &d - &x * w.value()).norm_max();
    println!("check J·d = X·w (exact identity): max difference {identity:.1e}");

    // The gradient of a scalar loss ℓ = ½‖w − w_obs‖²: one forward, one backward.
    let w_obs = faer::mat![[0.4], [0.3], [0.2], [0.1f64]];
    let tape = Tape::new();
    let dv = tape.var(d.clone());
    let w = diag_mul(dv, tape.constant(a))
        .expm()
        .matmul(tape.constant(v));
    let r = w.sub(tape.constant(w_obs));
    let loss = r.dot(r).scale(0.5);
    let g = loss.backward().wrt(dv);
    println!("\nℓ(d) = ½‖w − w_obs‖² = {:.12}", loss.item());
    println!(
        "∂ℓ/∂d = {:?}",
        (0..n).map(|i| g[(i, 0)]).collect::<Vec<_>>()
    );
}
