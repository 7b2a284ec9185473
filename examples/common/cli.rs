//! Command-line plumbing shared by the examples: exit codes with messages, output paths
//! checked before any work, and negative numbers as option values.
//!
//! Included with `#[path = "../common/cli.rs"] mod cli;` by the examples and, through them,
//! by their tests (`tests/large_diffusion.rs`, …).
#![allow(dead_code)]

use clap::{CommandFactory, Parser};
use std::ffi::{OsStr, OsString};
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Why an example stopped early: exit code 2 for bad input (a usage error), 1 for a failure
/// of the computation or of writing its results. Never a panic.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// The process exit code (1 or 2).
    pub code: u8,
    /// What went wrong, naming the option, the path or the observation and the op.
    pub message: String,
}

impl Failure {
    /// Bad input: exit code 2.
    pub fn usage(message: impl Into<String>) -> Self {
        Self {
            code: 2,
            message: message.into(),
        }
    }

    /// The computation (or the output) failed: exit code 1.
    pub fn run(message: impl Into<String>) -> Self {
        Self {
            code: 1,
            message: message.into(),
        }
    }

    /// Writing the report to stdout failed (a closed pipe, a full disk): exit code 1.
    pub fn stdout(e: std::io::Error) -> Self {
        Self::run(format!("cannot write to stdout: {e}"))
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// `error: <message>` on stderr, and the failure's exit code.
pub fn report(failure: &Failure) -> ExitCode {
    eprintln!("error: {}", failure.message);
    ExitCode::from(failure.code)
}

/// Where an example writes `name` when no path is given: `target/examples/<name>` under the
/// current directory (never a tracked file such as `docs/*.svg`).
pub fn default_output(name: &str) -> PathBuf {
    Path::new("target").join("examples").join(name)
}

/// The output path, checked before any work is done, so that a typo does not cost a whole fit:
///
/// * no path given: [`default_output`]`(default_name)`, creating `target/examples/`;
/// * a path given: its directory must exist (it is not created: a missing directory is more
///   likely a typo than a wish), the path must not be a directory, and the directory must
///   accept a new file (probed by creating and removing an empty one).
///
/// Errors are usage errors (exit code 2) naming the path.
pub fn prepare_output(given: Option<&Path>, default_name: &str) -> Result<PathBuf, Failure> {
    let path = match given {
        Some(p) => p.to_path_buf(),
        None => default_output(default_name),
    };
    if path.as_os_str().is_empty() {
        return Err(Failure::usage("the output path is empty"));
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if given.is_none() {
        std::fs::create_dir_all(&dir).map_err(|e| {
            Failure::usage(format!(
                "{}: cannot create the directory for {}: {e}",
                dir.display(),
                path.display()
            ))
        })?;
    }
    match std::fs::metadata(&dir) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => {
            return Err(Failure::usage(format!(
                "{}: cannot write here: {} is not a directory",
                path.display(),
                dir.display()
            )));
        }
        Err(e) => {
            return Err(Failure::usage(format!(
                "{}: cannot write here: directory {} does not exist ({e}); create it first",
                path.display(),
                dir.display()
            )));
        }
    }
    if path.is_dir() {
        return Err(Failure::usage(format!(
            "{}: is a directory; give a file name",
            path.display()
        )));
    }
    let probe = dir.join(format!(".expgrad-write-probe-{}", std::process::id()));
    std::fs::File::create(&probe)
        .and_then(|_| std::fs::remove_file(&probe))
        .map_err(|e| {
            Failure::usage(format!(
                "{}: cannot write in {}: {e}",
                path.display(),
                dir.display()
            ))
        })?;
    if std::fs::metadata(&path).is_ok_and(|m| m.permissions().readonly()) {
        return Err(Failure::usage(format!(
            "{}: the file exists and is read-only",
            path.display()
        )));
    }
    Ok(path)
}

/// Whether clap reads `s` (after its leading `-`) as a number: digits with at most one `.`
/// (not first) and one exponent `e` with digits after it, no sign (the rule of `clap_lex`).
fn clap_number(s: &str) -> bool {
    let (mut dot, mut e) = (false, None);
    for (i, c) in s.bytes().enumerate() {
        match c {
            b'0'..=b'9' => {}
            b'.' if !dot && e.is_none() && i > 0 => dot = true,
            b'e' | b'E' if e.is_none() && i > 0 => e = Some(i),
            _ => return false,
        }
    }
    !s.is_empty() && e.is_none_or(|i| i + 1 < s.len())
}

/// Whether `s` is meant as a (list of) negative number(s): `-` then a digit, a `.`, `inf` or
/// `nan`.
fn looks_negative(s: &str) -> bool {
    let Some(rest) = s.strip_prefix('-') else {
        return false;
    };
    let lower = rest.to_ascii_lowercase();
    rest.starts_with(|c: char| c.is_ascii_digit() || c == '.')
        || lower.starts_with("inf")
        || lower.starts_with("nan")
}

/// Joins `--opt VALUE` into `--opt=VALUE` when `--opt` is one of `options` and `VALUE`
/// starts with `-` but is not a plain number clap accepts by itself (`-1,2`, `-1e-3`, `-.5`,
/// `-inf`): clap would otherwise take it for an unknown flag (“unexpected argument '-1'”),
/// and the example's own check of the value would never run. Plain negative numbers are
/// left alone, so space-separated lists (`--times -1 2`) still work. Nothing after `--` is
/// touched.
pub fn glue_negative_values(
    args: impl IntoIterator<Item = OsString>,
    options: &[String],
) -> Vec<OsString> {
    let mut out: Vec<OsString> = Vec::new();
    let mut iter = args.into_iter().peekable();
    while let Some(arg) = iter.next() {
        if arg == "--" {
            out.push(arg);
            out.extend(iter);
            break;
        }
        let is_option = arg.to_str().is_some_and(|a| options.iter().any(|o| o == a));
        let glue = is_option
            && iter.peek().and_then(|v| v.to_str()).is_some_and(|v| {
                looks_negative(v) && !clap_number(v.strip_prefix('-').unwrap_or(v))
            });
        if glue {
            let value = iter.next().unwrap_or_default();
            let mut joined = arg;
            joined.push("=");
            joined.push(value);
            out.push(joined);
        } else {
            out.push(arg);
        }
    }
    out
}

/// The long names (`--name`) of the options of `A` that accept negative numbers.
fn numeric_options<A: CommandFactory>() -> Vec<String> {
    A::command()
        .get_arguments()
        .filter(|a| a.is_allow_negative_numbers_set())
        .filter_map(|a| a.get_long().map(|l| format!("--{l}")))
        .collect()
}

/// [`Parser::try_parse_from`] after [`glue_negative_values`] on the options of `A` marked
/// `allow_negative_numbers`.
pub fn try_parse_from<A, I, S>(args: I) -> Result<A, clap::Error>
where
    A: Parser,
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let args = args.into_iter().map(|s| s.as_ref().to_os_string());
    A::try_parse_from(glue_negative_values(args, &numeric_options::<A>()))
}

/// The command line of this process parsed into `A` (see [`try_parse_from`]); on `--help`
/// or `--version` clap prints and exits 0, on a syntax error it prints and exits 2.
pub fn parse<A: Parser>() -> A {
    try_parse_from(std::env::args_os()).unwrap_or_else(|e| e.exit())
}

/// `println!` into a writer, turning a failed write into a [`Failure`] (`?`). Load this
/// file with `#[macro_use]`; the caller has `mod cli` and `std::io::Write` in scope.
#[allow(unused_macros)]
macro_rules! say {
    ($out:expr) => {
        writeln!($out).map_err(cli::Failure::stdout)?
    };
    ($out:expr, $($arg:tt)*) => {
        writeln!($out, $($arg)*).map_err(cli::Failure::stdout)?
    };
}
