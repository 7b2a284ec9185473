//! The grape example: the targets are the gates they claim to be, the fidelity's gradient
//! against central differences, the default CNOT run reaches the documented infidelity, and
//! bad input is a usage error (exit code 2), never a panic.
#[allow(dead_code)]
#[path = "../grape/main.rs"]
mod grape;

use faer::{Mat, c64};
use grape::model::{Gate, Problem};
use grape::{Args, cli};

fn parse(args: &[&str]) -> Args {
    let argv = std::iter::once("grape").chain(args.iter().copied());
    cli::try_parse_from::<Args, _, _>(argv).unwrap_or_else(|e| panic!("{args:?}: {e}"))
}

/// `T|b⟩` as a basis index, for a permutation target.
fn image(p: &Problem, b: usize) -> usize {
    (0..p.n)
        .find(|&i| p.target_conj[(i, b)] == c64::new(1.0, 0.0))
        .expect("a permutation")
}

/// The gradient `g` of `fidelity` at `u` against central differences (h = 1e-5: truncation
/// O(h²·F''') ~ 1e-10, rounding ~ u/h ~ 1e-11) at the given entries.
fn assert_central_differences(
    fidelity: impl Fn(&Mat<f64>) -> f64,
    u: &Mat<f64>,
    g: &Mat<f64>,
    entries: &[(usize, usize)],
) {
    let h = 1e-5;
    for &(r, c) in entries {
        let mut up = u.clone();
        up[(r, c)] += h;
        let mut dn = u.clone();
        dn[(r, c)] -= h;
        let fd = (fidelity(&up) - fidelity(&dn)) / (2.0 * h);
        assert!(
            (g[(r, c)] - fd).abs() <= 1e-8,
            "u[{r}, {c}]: {} vs {fd}",
            g[(r, c)]
        );
    }
}

#[test]
fn targets_are_the_named_gates() {
    let cnot = Problem::new(Gate::Cnot, 2, 4, 1.0);
    // |q0 q1⟩: 10 → 11, 11 → 10, 0x fixed.
    assert_eq!(
        (0..4).map(|b| image(&cnot, b)).collect::<Vec<_>>(),
        [0, 1, 3, 2]
    );
    let toffoli = Problem::new(Gate::Toffoli, 3, 4, 1.0);
    assert_eq!(
        (0..8).map(|b| image(&toffoli, b)).collect::<Vec<_>>(),
        [0, 1, 2, 3, 4, 5, 7, 6]
    );
    // SWAP of the end qubits of 4: |1000⟩ (8) ↔ |0001⟩ (1), |1001⟩ fixed, middle bits kept.
    let chain = Problem::new(Gate::Chain, 4, 4, 1.0);
    assert_eq!(
        (image(&chain, 8), image(&chain, 1), image(&chain, 9)),
        (1, 8, 9)
    );
    assert_eq!(image(&chain, 0b1110), 0b0111);
    assert_eq!(chain.n, 16);
    assert_eq!(chain.controls(), 8);
}

#[test]
fn fidelity_gradient_matches_central_differences() {
    let p = Problem::new(Gate::Toffoli, 3, 12, 3.0);
    let j = p.controls();
    let u = Mat::from_fn(j, 12, |r, c| 0.3 * ((r * 7 + c * 3) % 5) as f64 - 0.6);
    let (f, g) = p.fidelity(&u).unwrap();
    assert!((0.0..=1.0).contains(&f));
    let entries = [(0, 0), (3, 5), (5, 11), (2, 7)];
    assert_central_differences(|u| p.fidelity(u).unwrap().0, &u, &g, &entries);
}

#[test]
fn sparse_transfer_gradient_and_run() {
    // 4 qubits (n = 16), 6 slices: the action route's gradient against central differences.
    let p = grape::model::Transfer::new(4, 6, 3.0).unwrap();
    let u = Mat::from_fn(4, 6, |r, c| 0.2 * ((r * 5 + c * 2) % 7) as f64 - 0.5);
    let (f, g) = p.fidelity(&u).unwrap();
    assert!((0.0..=1.0).contains(&f));
    assert_central_differences(
        |u| p.fidelity(u).unwrap().0,
        &u,
        &g,
        &[(0, 0), (1, 3), (3, 5)],
    );
    let dir = std::env::temp_dir().join(format!("expgrad-transfer-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let svg = dir.join("t.svg");
    let args = parse(&[
        "--gate",
        "transfer",
        "--qubits",
        "5",
        "--target",
        "1e-8",
        "--quiet",
        "--svg",
        svg.to_str().unwrap(),
    ]);
    grape::run(&args).unwrap();
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn default_run_reaches_the_target() {
    let dir = std::env::temp_dir().join(format!("expgrad-grape-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let svg = dir.join("grape.svg");
    let args = parse(&[
        "--quiet",
        "--target",
        "1e-10",
        "--svg",
        svg.to_str().unwrap(),
    ]);
    grape::run(&args).unwrap();
    let text = std::fs::read_to_string(&svg).unwrap();
    assert!(text.contains("<svg") && text.contains("control pulses"));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn bad_input_is_a_usage_error() {
    for argv in [
        &["--gate", "chain", "--qubits", "1"][..],
        &["--gate", "chain", "--qubits", "9"],
        &["--gate", "transfer", "--qubits", "15"],
        &["--time", "-1"],
        &["--slices", "0"],
        &["--target", "nan"],
    ] {
        let err = grape::run(&parse(argv)).expect_err("must fail");
        assert_eq!(err.code, 2, "{argv:?}: {}", err.message);
    }
}
