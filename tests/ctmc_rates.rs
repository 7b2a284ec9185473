//! The CTMC example recovers its rates: exactly from expected counts, and within 4 standard
//! errors from simulated counts.
#[path = "../examples/ctmc_rates/model.rs"]
mod model;

#[test]
fn recovers_rates_from_expected_counts() {
    let chain = model::Chain::example(4, 11);
    let data = chain.expected(&[0.5, 2.0], 1000);
    let fit = model::fit(
        &chain.p,
        &data,
        vec![0.0; 4],
        &model::FitOptions {
            tol: 1e-12,
            ..Default::default()
        },
        |_| {},
    )
    .unwrap();
    assert!(fit.converged, "{}", fit.reason);
    for i in 0..4 {
        let rel = (fit.x[i].exp() - chain.rates[i]).abs() / chain.rates[i];
        assert!(rel <= 1e-6, "state {i}: relative error {rel:e}");
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
            tol: 1e-10,
            ..Default::default()
        },
        |_| {},
    )
    .unwrap();
    assert!(fit.converged, "{}", fit.reason);
    let se = model::standard_errors(&chain.p, &data, &fit.x).unwrap();
    for (i, (se, rate)) in se.iter().zip(&chain.rates).enumerate() {
        let z = (fit.x[i].exp() - rate) / se;
        assert!(
            z.abs() <= 4.0 && *se < 0.2 * rate,
            "state {i}: z = {z}, se = {se}"
        );
    }
}
