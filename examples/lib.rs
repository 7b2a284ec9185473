//! The example programs of expgrad live in this package (see the `[[example]]` entries of its
//! manifest); it has no library API. Run one from the workspace root with
//! `cargo run --release --example fit_diag`. A package of its own, so that building an example
//! compiles only what the examples need (clap, plotters, serde), not the benches' criterion.
