//! The CTMC example recovers its rates: exactly from expected counts, and within 4 standard
//! errors from simulated counts. Its command line takes intervals with commas or spaces,
//! negative numbers reach its own checks, and bad input is an error naming the interval and
//! the op, never a panic.
#[allow(dead_code)]
#[path = "../ctmc_rates/main.rs"]
mod ctmc_rates;

use clap::CommandFactory;
use ctmc_rates::{Args, cli, model};

fn parse(args: &[&str]) -> Args {
    let argv = std::iter::once("ctmc_rates").chain(args.iter().copied());
    cli::try_parse_from::<Args, _, _>(argv).unwrap_or_else(|e| panic!("{args:?}: {e}"))
}

#[test]
fn recovers_rates_from_expected_counts() {
    let chain = model::Chain::example(4, 11);
    let data = chain.expected(&[0.5, 2.0], 1000).unwrap();
    let fit = model::fit(
        &chain.p,
        &data,
        vec![0.0; 4],
        &model::FitOptions {
            gtol: 1e-12,
            ..Default::default()
        },
        |_| {},
    )
    .unwrap();
    assert!(fit.converged(), "{}", fit.reason());
    for i in 0..4 {
        let rel = (fit.x[i].exp() - chain.rates[i]).abs() / chain.rates[i];
        assert!(rel <= 1e-6, "state {i}: relative error {rel:e}");
    }
}

/// The exact observed information (forward over reverse through `expm`) against central
/// differences of gradients: the differences err by O(h²·‖∇³ℓ‖) + O(u·|ℓ|/h) ≈ 1e-8 relative at
/// h = 1e-5; the exact one is symmetric to rounding.
#[test]
fn exact_information_matches_differences_of_gradients() {
    let chain = model::Chain::example(5, 3);
    let data = chain.simulate(&[0.25, 1.0, 3.0], 800, 4);
    let theta: Vec<f64> = chain.rates.iter().map(|r| r.ln() + 0.1).collect();
    let exact = model::observed_information(&chain.p, &data, &theta).unwrap();
    let fd = model::observed_information_fd(&chain.p, &data, &theta).unwrap();
    let scale = exact.norm_max();
    assert!(
        (&exact - &fd).norm_max() <= 1e-6 * scale,
        "{exact:?} vs {fd:?}"
    );
    for i in 0..5 {
        for j in 0..5 {
            assert!((exact[(i, j)] - exact[(j, i)]).abs() <= 1e-12 * scale);
        }
    }
}

#[test]
fn simulated_estimates_within_four_standard_errors() {
    let chain = model::Chain::example(4, 5);
    let data = chain.simulate(&[0.5, 2.0], 1500, 6);
    let fit = model::fit(
        &chain.p,
        &data,
        vec![0.0; 4],
        &model::FitOptions {
            gtol: 1e-10,
            ..Default::default()
        },
        |_| {},
    )
    .unwrap();
    assert!(fit.converged(), "{}", fit.reason());
    let se = model::standard_errors(&chain.p, &data, &fit.x).unwrap();
    for (i, (se, rate)) in se.iter().zip(&chain.rates).enumerate() {
        let z = (fit.x[i].exp() - rate) / se;
        assert!(
            z.abs() <= 4.0 && *se < 0.2 * rate,
            "state {i}: z = {z}, se = {se}"
        );
    }
}

#[test]
fn help_starts_with_what_the_example_does_and_shows_the_list_syntax() {
    let help = Args::command().render_long_help().to_string();
    assert!(
        help.starts_with("Estimate the exit rates of a continuous-time Markov chain"),
        "{help}"
    );
    assert!(!help.contains("first-class primitive"), "{help}");
    // The default is shown in the syntax the option takes.
    assert!(help.contains("[default: 0.25,1,3]"), "{help}");
}

#[test]
fn intervals_take_commas_and_spaces() {
    assert_eq!(parse(&[]).intervals, [0.25, 1.0, 3.0]);
    assert_eq!(parse(&["--intervals", "0.5,2"]).intervals, [0.5, 2.0]);
    let a = parse(&["--intervals", "0.5", "2", "--seed", "3"]);
    assert_eq!((a.intervals, a.seed), (vec![0.5, 2.0], 3));
    assert_eq!(parse(&["--intervals", "-1,2"]).intervals, [-1.0, 2.0]);
}

#[test]
fn bad_values_are_usage_errors_before_any_work() {
    for (args, says) in [
        (
            &["--intervals", "-1"][..],
            "--intervals: t = -1.0 (interval 0)",
        ),
        (&["--intervals", "1", "-2"], "t = -2.0 (interval 1)"),
        (&["--intervals", "nan"], "t = NaN"),
        (&["--intervals", "1e300"], "jumps"),
        (&["--states", "1"], "--states 1"),
        (&["--states", "100000"], "--states 100000"),
        (&["--per-state", "0"], "--per-state 0"),
    ] {
        let mut out = Vec::new();
        let e = ctmc_rates::run(&parse(args), &mut out).unwrap_err();
        assert_eq!(e.code, 2, "{args:?}: {e}");
        assert!(e.message.contains(says), "{args:?}: {e}");
        assert!(out.is_empty(), "{args:?}");
    }
}

/// Intervals too short to see any jump carry no information on the rates: the example
/// fails (exit code 1) instead of reporting rates with infinite standard errors.
#[test]
fn uninformative_data_is_a_failure_not_a_result() {
    let e = ctmc_rates::run(
        &parse(&["--intervals", "1e-320", "--per-state", "50"]),
        &mut Vec::new(),
    )
    .unwrap_err();
    assert_eq!(e.code, 1, "{e}");
}

/// Counts where `exp(tQ)` underflows to 0 and absurd rates: errors naming the interval and
/// the op, never a panic.
#[test]
fn evaluation_errors_name_the_interval_and_the_op() {
    let chain = model::Chain::example(3, 1);
    let mut data = chain.expected(&[1.0, 5e-324], 10).unwrap();
    data[1].n = faer::Mat::from_fn(3, 3, |_, _| 1.0);
    let e = model::neg_loglik_and_grad(&chain.p, &data, &[0.0; 3]).unwrap_err();
    assert!(e.starts_with("interval 1 (t = 5e-324): log"), "{e}");
    let e = model::neg_loglik_and_grad(&chain.p, &data, &[f64::NAN; 3]).unwrap_err();
    assert!(e.contains("θ[0]"), "{e}");
    match model::neg_loglik_and_grad(&chain.p, &data[..1], &[800.0; 3]) {
        Ok((f, g)) => assert!(f.is_finite() && g.iter().all(|x| x.is_finite())),
        Err(e) => assert!(
            e.starts_with("rates") || e.starts_with("interval 0 (t = 1)"),
            "{e}"
        ),
    }
}
