//! The command lines of the option-less examples `expm` and `custom_op`: `--help` starts with
//! what the example does (not the crate description), unknown options are refused, and the
//! run prints its report and succeeds.
// Each example loads `examples/common/cli.rs` as its own module, as the binaries do.
#![allow(clippy::duplicate_mod)]
#[allow(dead_code)]
#[path = "../custom_op.rs"]
mod custom_op;
#[allow(dead_code)]
#[path = "../expm.rs"]
mod expm;

use clap::CommandFactory;
use clap::error::ErrorKind;

#[test]
fn expm_help_run_and_unknown_options() {
    let help = expm::Args::command().render_long_help().to_string();
    assert!(
        help.starts_with("A first look at expgrad's matrix exponential"),
        "{help}"
    );
    let parse = |args: &[&str]| {
        expm::cli::try_parse_from::<expm::Args, _, _>(
            std::iter::once("expm").chain(args.iter().copied()),
        )
    };
    assert_eq!(
        parse(&["--help"]).unwrap_err().kind(),
        ErrorKind::DisplayHelp
    );
    assert_eq!(
        parse(&["-1"]).unwrap_err().kind(),
        ErrorKind::UnknownArgument
    );
    let mut out = Vec::new();
    expm::run(&parse(&[]).unwrap(), &mut out).unwrap();
    let out = String::from_utf8(out).unwrap();
    assert!(
        out.starts_with(
            "‖A‖₁ = 4.150, taylor approximant of degree m = 30, squarings s = 0, 7 products"
        ),
        "{out}"
    );
    assert!(out.contains("central difference"), "{out}");
}

#[test]
fn custom_op_help_run_and_unknown_options() {
    let help = custom_op::Args::command().render_long_help().to_string();
    assert!(
        help.starts_with("Add a primitive from outside the tape crate"),
        "{help}"
    );
    let parse = |args: &[&str]| {
        custom_op::cli::try_parse_from::<custom_op::Args, _, _>(
            std::iter::once("custom_op").chain(args.iter().copied()),
        )
    };
    assert_eq!(parse(&["-h"]).unwrap_err().kind(), ErrorKind::DisplayHelp);
    assert_eq!(
        parse(&["--x", "1"]).unwrap_err().kind(),
        ErrorKind::UnknownArgument
    );
    let mut out = Vec::new();
    custom_op::run(&parse(&[]).unwrap(), &mut out).unwrap();
    let out = String::from_utf8(out).unwrap();
    assert!(out.starts_with("loss = "), "{out}");
}
