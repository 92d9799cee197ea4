//! `wspsim`: runs a Winsock service provider on the mock network and shows
//! what an application experiences, step by step.
//!
//! ```text
//! wspsim                                  the built-in scenario set
//! wspsim run FILE...                      scenario files (see `sim::script`)
//! wspsim random --seed N --steps K        K random steps from seed N
//!        [--faults LIST]                  faults allowed: network,stall,crash,stale,reset,slow,delay, all or none
//!        [--no-shrink]                    on a failure, do not shrink it
//! wspsim replay SEED [--steps K]          the same random run again, traced step by step
//! wspsim threads --seed N --runs R         R threaded runs from seed N: application threads
//!        [--threads T --calls C]          racing the final cleanup (see `sim::threaded`)
//! common options: --trace text|json (default text; random: none), --quiet
//! ```
//!
//! Every invariant is checked after every step. On a broken one, `random`
//! prints the failing step, the seed, and a shrunk scenario file that
//! reproduces it (`wspsim run` it). Exit status: 0 all held, 1 something
//! broke, 2 bad arguments or a bad scenario file. (`--seed N --ops K` is the
//! old spelling of `random`.)

use std::process::ExitCode;
use std::time::Instant;
use winsock_provider::sim::script::{Script, StepLine};
use winsock_provider::sim::shrink::shrink;
use winsock_provider::sim::trace::TraceEvent;
use winsock_provider::sim::{Action, Harness, SeededBytes, scenarios, threaded};

const USAGE: &str = "usage:
  wspsim                                  run the built-in scenario set
  wspsim run FILE...                      run scenario files
  wspsim random --seed N --steps K [--faults LIST] [--no-shrink]
                                          K random steps from seed N; LIST: network,stall,crash,stale,reset,slow,delay | all | none
  wspsim replay SEED [--steps K]          replay a random run, traced (default 1000 steps)
  wspsim threads --seed N --runs R [--threads T --calls C]
                                          R runs of T threads x C calls racing the final cleanup
options: --trace text|json   how the step-by-step trace is printed
         --quiet             only the summary";

/// How much of the trace to print, and how.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Trace {
    None,
    Text,
    Json,
}

/// Which fault actions a random run may draw.
#[derive(Clone, Copy, Debug)]
struct Faults {
    network: bool,
    stall: bool,
    crash: bool,
    stale: bool,
    reset: bool,
    slow: bool,
    delay: bool,
}

impl Faults {
    const ALL: Faults = Faults {
        network: true,
        stall: true,
        crash: true,
        stale: true,
        reset: true,
        slow: true,
        delay: true,
    };
    const NONE: Faults = Faults {
        network: false,
        stall: false,
        crash: false,
        stale: false,
        reset: false,
        slow: false,
        delay: false,
    };

    fn parse(list: &str) -> Result<Faults, String> {
        match list {
            "all" => return Ok(Faults::ALL),
            "none" => return Ok(Faults::NONE),
            _ => {}
        }
        let mut f = Faults::NONE;
        for name in list.split(',') {
            match name.trim() {
                "network" => f.network = true,
                "stall" => f.stall = true,
                "crash" => f.crash = true,
                "stale" => f.stale = true,
                "reset" => f.reset = true,
                "slow" => f.slow = true,
                "delay" => f.delay = true,
                other => {
                    return Err(format!(
                        "--faults: unknown fault {other:?} \
                         (network, stall, crash, stale, reset, slow, delay, all, none)"
                    ));
                }
            }
        }
        Ok(f)
    }

    fn allows(&self, a: &Action) -> bool {
        match a {
            Action::NetworkDown(_) => self.network,
            Action::Stall { .. } => self.stall,
            Action::Crash => self.crash,
            Action::UseStale { .. } => self.stale,
            Action::Reset { .. } => self.reset,
            Action::Slow { .. } => self.slow,
            Action::Delay { .. } => self.delay,
            _ => true,
        }
    }
}

enum Command {
    Builtin,
    Threads {
        seed: u64,
        runs: u64,
        threads: usize,
        calls: usize,
    },
    Run {
        files: Vec<String>,
    },
    Random {
        seed: u64,
        steps: usize,
        shrink: bool,
        /// `replay`: traced unless told otherwise.
        replay: bool,
    },
}

struct Args {
    command: Command,
    trace: Option<Trace>,
    quiet: bool,
    faults: Faults,
}

fn number<T: std::str::FromStr>(name: &str, v: Option<String>) -> Result<T, String>
where
    T::Err: std::fmt::Display,
{
    let v = v.ok_or(format!("{name} needs a value"))?;
    v.parse().map_err(|e| format!("{name} {v:?}: {e}"))
}

fn parse(args: Vec<String>) -> Result<Args, String> {
    let mut it = args.into_iter().peekable();
    let mut command = match it.peek().map(String::as_str) {
        Some("run") => {
            it.next();
            let mut files = Vec::new();
            while let Some(f) = it.next_if(|a| !a.starts_with("--")) {
                files.push(f);
            }
            if files.is_empty() {
                return Err("run needs a scenario file".into());
            }
            Command::Run { files }
        }
        Some("replay") => {
            it.next();
            Command::Random {
                seed: number("replay", it.next())?,
                steps: 1000,
                shrink: true,
                replay: true,
            }
        }
        Some("threads") => {
            it.next();
            Command::Threads {
                seed: 0,
                runs: 100,
                threads: 3,
                calls: 20,
            }
        }
        Some("random") => {
            it.next();
            Command::Random {
                seed: 0,
                steps: 1000,
                shrink: true,
                replay: false,
            }
        }
        // The old spelling: `--seed N --ops K` is `random`, traced.
        Some("--seed" | "--ops") => Command::Random {
            seed: 0,
            steps: 1000,
            shrink: true,
            replay: true,
        },
        _ => Command::Builtin,
    };
    let mut out = Args {
        command: Command::Builtin,
        trace: None,
        quiet: false,
        faults: Faults::ALL,
    };
    while let Some(a) = it.next() {
        match (a.as_str(), &mut command) {
            ("--seed", Command::Random { seed, .. }) => *seed = number("--seed", it.next())?,
            ("--steps" | "--ops", Command::Random { steps, .. }) => *steps = number(&a, it.next())?,
            ("--no-shrink", Command::Random { shrink, .. }) => *shrink = false,
            ("--seed", Command::Threads { seed, .. }) => *seed = number("--seed", it.next())?,
            ("--runs", Command::Threads { runs, .. }) => *runs = number("--runs", it.next())?,
            ("--threads", Command::Threads { threads, .. }) => {
                *threads = number("--threads", it.next())?
            }
            ("--calls", Command::Threads { calls, .. }) => *calls = number("--calls", it.next())?,
            ("--faults", Command::Random { .. }) => {
                out.faults = Faults::parse(&it.next().ok_or("--faults needs a list")?)?
            }
            ("--trace", _) => {
                out.trace = Some(match it.next().as_deref() {
                    Some("text") => Trace::Text,
                    Some("json") => Trace::Json,
                    other => return Err(format!("--trace: expected text or json, got {other:?}")),
                })
            }
            ("--quiet" | "-q", _) => out.quiet = true,
            ("--help" | "-h", _) => return Err(String::new()),
            (other, _) => return Err(format!("unknown argument {other:?}")),
        }
    }
    out.command = command;
    Ok(out)
}

fn main() -> ExitCode {
    let args = match parse(std::env::args().skip(1).collect()) {
        Ok(a) => a,
        Err(e) if e.is_empty() => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("wspsim: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let trace = if args.quiet {
        Trace::None
    } else {
        args.trace.unwrap_or(Trace::Text)
    };
    match args.command {
        Command::Builtin => builtin(args.quiet),
        Command::Threads {
            seed,
            runs,
            threads,
            calls,
        } => threaded_runs(seed, runs, threads, calls, args.trace == Some(Trace::Text)),
        Command::Run { ref files } => {
            let mut status = ExitCode::SUCCESS;
            for file in files {
                match run_file(file, trace) {
                    Outcome::Passed => {}
                    Outcome::Failed => status = ExitCode::FAILURE,
                    Outcome::BadFile => return ExitCode::from(2),
                }
            }
            status
        }
        Command::Random {
            seed,
            steps,
            shrink,
            replay,
        } => {
            let default = if replay { Trace::Text } else { Trace::None };
            let trace = if args.quiet {
                Trace::None
            } else {
                args.trace.unwrap_or(default)
            };
            random(seed, steps, args.faults, shrink, trace)
        }
    }
}

fn print_trace(events: Vec<TraceEvent>, trace: Trace) {
    for e in events {
        match trace {
            Trace::None => {}
            Trace::Text => println!("{}", e.to_text()),
            Trace::Json => println!("{}", e.to_json()),
        }
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

/// How one scenario file went.
enum Outcome {
    Passed,
    Failed,
    BadFile,
}

fn run_file(file: &str, trace: Trace) -> Outcome {
    let text = match std::fs::read_to_string(file) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("wspsim: {file}: {e}");
            return Outcome::BadFile;
        }
    };
    let script = match Script::parse(&text) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("wspsim: {file}:{e}");
            return Outcome::BadFile;
        }
    };
    let mut h = Harness::new(script.seed, trace != Trace::None);
    let report = script.run_with(&mut h, |h| print_trace(h.take_trace(), trace));
    println!(
        "\nwspsim: {file}: {} steps, {} expectations, {} failed",
        report.steps,
        report.expectations,
        report.failures.len()
    );
    for f in &report.failures {
        println!("FAILED {f}");
    }
    if report.failures.is_empty() {
        Outcome::Passed
    } else {
        Outcome::Failed
    }
}

/// The actions of a random run: seeded, with the faults not allowed left out.
fn actions(seed: u64, faults: Faults) -> impl Iterator<Item = Action> {
    let mut bytes = SeededBytes::new(seed);
    std::iter::from_fn(move || Action::decode(&mut bytes)).filter(move |a| faults.allows(a))
}

/// How often a long run reports its progress (to stderr).
const PROGRESS_EVERY: usize = 100_000;

fn random(seed: u64, steps: usize, faults: Faults, shrink_it: bool, trace: Trace) -> ExitCode {
    let started = Instant::now();
    let mut h = Harness::new(seed, trace != Trace::None);
    let mut taken = Vec::new();
    for action in actions(seed, faults).take(steps) {
        taken.push(action);
        h.step(action);
        print_trace(h.take_trace(), trace);
        if !h.failures().is_empty() {
            break;
        }
        if taken.len() % PROGRESS_EVERY == 0 && taken.len() < steps {
            let rate = taken.len() as f64 / started.elapsed().as_secs_f64();
            eprintln!(
                "wspsim: {} of {steps} steps, {rate:.0} steps/s",
                taken.len()
            );
        }
    }
    h.finish();
    print_trace(h.take_trace(), trace);
    let s = h.stats();
    let secs = started.elapsed().as_secs_f64();
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
    eprintln!(
        "wspsim: {secs:.2}s wall time, {:.0} steps/s",
        s.actions as f64 / secs.max(1e-9)
    );
    if h.failures().is_empty() {
        println!("invariants: all held");
        return ExitCode::SUCCESS;
    }
    for f in h.failures() {
        println!("FAILED {f}");
    }
    println!("reproduce: wspsim replay {seed} --steps {}", s.actions);
    if shrink_it {
        let rule = rule_of(&h.failures()[0]);
        let shrunk = shrink(taken, |candidate| {
            let mut h = Harness::new(seed, false);
            h.run(candidate);
            h.failures().iter().any(|f| rule_of(f) == rule)
        });
        println!(
            "shrunk to {} steps ({} runs tried); as a scenario file (wspsim run FILE):\n",
            shrunk.actions.len(),
            shrunk.attempts
        );
        println!("# seed {seed}: breaks {rule}");
        println!("seed {seed}");
        for a in &shrunk.actions {
            println!("{}", StepLine(*a));
        }
    }
    ExitCode::FAILURE
}

fn threaded_runs(seed: u64, runs: u64, threads: usize, calls: usize, trace: bool) -> ExitCode {
    let started = Instant::now();
    let mut total = threaded::ThreadedReport::default();
    for run in 0..runs {
        let r = threaded::run(seed.wrapping_add(run), threads, calls);
        if trace {
            print!("== seed {}\n{}", seed.wrapping_add(run), r.trace);
        }
        total.calls += r.calls;
        total.operations += r.operations;
        total.aborted_by_final_cleanup += r.aborted_by_final_cleanup;
        total.interrupted += r.interrupted;
        total.decisions += r.decisions;
        total.failures.extend(r.failures);
        if run > 0 && run % 1000 == 0 {
            eprintln!("wspsim: {run} of {runs} runs");
        }
    }
    println!(
        "\nwspsim threads: seeds {seed}..{}: {runs} runs of {threads} threads x {calls} calls: \
         {} calls, {} overlapped operations ({} aborted by the final cleanup), \
         {} blocking calls interrupted, {} scheduling decisions",
        seed.wrapping_add(runs),
        total.calls,
        total.operations,
        total.aborted_by_final_cleanup,
        total.interrupted,
        total.decisions
    );
    eprintln!("wspsim: {:.2}s wall time", started.elapsed().as_secs_f64());
    if total.failures.is_empty() {
        println!("invariants: all held");
        ExitCode::SUCCESS
    } else {
        for f in &total.failures {
            println!("FAILED {f}");
        }
        ExitCode::FAILURE
    }
}

/// The rule a failure names: `step 12: S6c: ...` is `S6c`. Shrinking keeps
/// to failures of the same rule, so it does not wander off to another bug.
fn rule_of(failure: &str) -> &str {
    let rest = failure.split_once(": ").map_or(failure, |(_, r)| r);
    rest.split(':').next().unwrap_or(rest).trim()
}
