//! `wspsim`: runs a Winsock service provider on the mock network and prints
//! what happens, step by step.
//!
//! - `wspsim`: the built-in scenario set (the whole lifecycle).
//! - `wspsim --seed N --ops K`: a random seeded workload of K steps, checked
//!   against the reference model after every step. The same seed prints the
//!   same report.
//! - `--quiet`: print only the summary.
//!
//! Exits 1 if any expectation or invariant fails, 2 on bad arguments.

use std::process::ExitCode;
use std::time::Instant;
use winsock_provider::sim::{Action, Harness, SeededBytes, scenarios};

const USAGE: &str = "usage: wspsim [--seed N --ops K] [--quiet]\n\
  (no arguments)     run the built-in scenario set\n\
  --seed N --ops K   run K random steps from seed N, checking every invariant after each\n\
  --quiet            print only the summary";

struct Args {
    seed: Option<u64>,
    ops: Option<usize>,
    quiet: bool,
}

fn parse(mut args: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut out = Args {
        seed: None,
        ops: None,
        quiet: false,
    };
    while let Some(a) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        match a.as_str() {
            "--seed" => {
                out.seed = Some(
                    value("--seed")?
                        .parse()
                        .map_err(|e| format!("--seed: {e}"))?,
                )
            }
            "--ops" => out.ops = Some(value("--ops")?.parse().map_err(|e| format!("--ops: {e}"))?),
            "--quiet" | "-q" => out.quiet = true,
            "--help" | "-h" => return Err(String::new()),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    if out.ops.is_some() && out.seed.is_none() {
        out.seed = Some(0);
    }
    Ok(out)
}

fn main() -> ExitCode {
    let args = match parse(std::env::args().skip(1)) {
        Ok(a) => a,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("wspsim: {e}");
            }
            eprintln!("{USAGE}");
            return if e.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(2)
            };
        }
    };
    match args.seed {
        None => builtin(args.quiet),
        Some(seed) => random(seed, args.ops.unwrap_or(1000), args.quiet),
    }
}

fn builtin(quiet: bool) -> ExitCode {
    let report = scenarios::run_builtin(1);
    if !quiet {
        print!("{}", report.text);
    }
    println!(
        "\nwspsim: built-in scenarios: {} checks, {} failed",
        report.checks,
        report.failures.len()
    );
    for f in &report.failures {
        println!("FAILED {f}");
    }
    if report.failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn random(seed: u64, ops: usize, quiet: bool) -> ExitCode {
    let started = Instant::now();
    let mut h = Harness::new(seed, !quiet);
    let mut bytes = SeededBytes::new(seed);
    for _ in 0..ops {
        let Some(action) = Action::decode(&mut bytes) else {
            break;
        };
        h.step(action);
        if !quiet {
            print!("{}", h.take_log());
        }
        if !h.failures().is_empty() {
            break;
        }
    }
    h.finish();
    if !quiet {
        print!("{}", h.take_log());
    }
    let s = h.stats();
    println!(
        "\nwspsim: seed {seed}: {} steps, {} overlapped operations, {} notifications delivered, \
         {} suppressed, {} final cleanups, {} closed sockets ({} bytes) checked at their peers",
        s.actions,
        s.ops_accepted,
        s.delivered,
        s.suppressed,
        s.final_cleanups,
        s.sockets_checked,
        s.bytes_checked
    );
    eprintln!("wspsim: {:.2}s wall time", started.elapsed().as_secs_f64());
    if h.failures().is_empty() {
        println!("invariants: all held");
        ExitCode::SUCCESS
    } else {
        for f in h.failures() {
            println!("FAILED {f}");
        }
        println!("reproduce: wspsim --seed {seed} --ops {}", s.actions);
        ExitCode::FAILURE
    }
}
