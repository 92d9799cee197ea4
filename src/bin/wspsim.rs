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
//! wspsim threads --seed N --runs R        R threaded runs from seed N: application threads
//!        [--threads T --calls C]          racing the final cleanup (see `sim::thread_race`)
//! common options: --trace text|json (default text; random: none), --quiet
//! ```
//!
//! `wspsim help COMMAND` (or `COMMAND --help`) tells more of each.
//!
//! Every invariant is checked after every step. On a broken one, `random`
//! prints the failing step, the seed, and a shrunk scenario file that
//! reproduces it (`wspsim run` it). Exit status: 0 all held, 1 something
//! broke, 2 bad arguments or a bad scenario file. (`--seed N --ops K` is the
//! old spelling of `random`.)

use clap::{Parser, Subcommand, ValueEnum};
use std::process::ExitCode;
use std::time::Instant;
use winsock_provider::sim::script::{Script, StepLine};
use winsock_provider::sim::shrink::shrink;
use winsock_provider::sim::trace::TraceEvent;
use winsock_provider::sim::{Action, BrokenRule, Driver, SeededBytes, scenarios, thread_race};

/// Runs a Winsock service provider on a simulated network and shows what an
/// application experiences, step by step. Every invariant is checked after
/// every step; exit status 0 when all held, 1 when one broke, 2 for bad
/// arguments or a bad scenario file.
#[derive(Parser, Debug)]
#[command(name = "wspsim", version, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// How the step-by-step trace is printed (default: text; `random`: none).
    #[arg(long, global = true, value_enum)]
    trace: Option<Format>,
    /// Print only the summary.
    #[arg(long, short, global = true)]
    quiet: bool,
    /// Break a rule on purpose in the provider's notifier (a test that the
    /// checks catch it): `s6c` delivers what the final cleanup suppresses.
    #[arg(long = "break", global = true, value_enum, value_name = "RULE")]
    broken: Option<Broken>,
    /// The old spelling of `random --seed N` (traced).
    #[arg(long, hide = true)]
    seed: Option<u64>,
    /// The old spelling of `random --steps K`.
    #[arg(long, hide = true)]
    ops: Option<usize>,
}

#[derive(Subcommand, Clone, Debug)]
enum Command {
    /// Run the built-in scenario set (the default).
    Builtin,
    /// Run scenario files (the language: the `sim::script` docs).
    Run {
        /// The `.wsp` files.
        #[arg(required = true)]
        files: Vec<String>,
    },
    /// Random steps from a seed; on a failure, shrink it to a scenario file.
    Random {
        /// The seed: the same seed, the same run, on any OS.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// How many steps.
        #[arg(long, default_value_t = 1000)]
        steps: usize,
        /// Faults the run may draw: a comma list of network, stall, crash,
        /// stale, reset, slow, delay; or all, or none.
        #[arg(long, default_value = "all")]
        faults: Faults,
        /// On a failure, do not shrink it.
        #[arg(long)]
        no_shrink: bool,
    },
    /// Replay a random run, traced step by step.
    Replay {
        /// The seed of the run.
        seed: u64,
        /// How many steps.
        #[arg(long, default_value_t = 1000)]
        steps: usize,
        /// The faults the run was made with.
        #[arg(long, default_value = "all")]
        faults: Faults,
    },
    /// Application threads racing the final cleanup, interleaved by the seed.
    Threads {
        /// The first seed; run `i` uses `seed + i`.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// How many runs.
        #[arg(long, default_value_t = 100)]
        runs: u64,
        /// Worker threads per run.
        #[arg(long, default_value_t = 3)]
        threads: usize,
        /// Calls per worker.
        #[arg(long, default_value_t = 20)]
        calls: usize,
    },
}

/// How the trace is printed.
#[derive(Clone, Copy, PartialEq, Eq, Debug, ValueEnum)]
enum Format {
    /// One readable line an event.
    Text,
    /// JSON lines (the schema: the `sim::trace` docs).
    Json,
}

/// A rule broken on purpose.
#[derive(Clone, Copy, PartialEq, Eq, Debug, ValueEnum)]
enum Broken {
    /// S6c: completions the final cleanup suppresses are delivered.
    S6c,
}

impl From<Broken> for BrokenRule {
    fn from(b: Broken) -> Self {
        match b {
            Broken::S6c => BrokenRule::S6c,
        }
    }
}

/// Which fault actions a random run may draw.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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

impl std::str::FromStr for Faults {
    type Err = String;

    fn from_str(list: &str) -> Result<Faults, String> {
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
                        "unknown fault {other:?} \
                         (network, stall, crash, stale, reset, slow, delay, all, none)"
                    ));
                }
            }
        }
        Ok(f)
    }
}

/// How much of the trace to print, and how.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Trace {
    None,
    Text,
    Json,
}

impl Cli {
    /// The trace to print: `default` unless told otherwise.
    fn trace(&self, default: Trace) -> Trace {
        match (self.quiet, self.trace) {
            (true, _) => Trace::None,
            (false, Some(Format::Text)) => Trace::Text,
            (false, Some(Format::Json)) => Trace::Json,
            (false, None) => default,
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let broken = cli.broken.map(BrokenRule::from);
    let command = match (&cli.command, cli.seed, cli.ops) {
        (None, Some(_), _) | (None, _, Some(_)) => Command::Replay {
            seed: cli.seed.unwrap_or(0),
            steps: cli.ops.unwrap_or(1000),
            faults: Faults::ALL,
        },
        (None, None, None) => Command::Builtin,
        (Some(command), _, _) => command.clone(),
    };
    match command {
        Command::Builtin => builtin(cli.quiet),
        Command::Threads {
            seed,
            runs,
            threads,
            calls,
        } => threaded_runs(seed, runs, threads, calls, cli.trace == Some(Format::Text)),
        Command::Run { ref files } => {
            let trace = cli.trace(Trace::Text);
            let mut status = ExitCode::SUCCESS;
            for file in files {
                match run_file(file, trace, broken) {
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
            faults,
            no_shrink,
        } => random(
            seed,
            steps,
            faults,
            !no_shrink,
            cli.trace(Trace::None),
            broken,
        ),
        Command::Replay {
            seed,
            steps,
            faults,
        } => random(seed, steps, faults, true, cli.trace(Trace::Text), broken),
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

/// A driver for `seed`, tracing when told, with the rule broken if asked.
fn driver(seed: u64, trace: bool, broken: Option<BrokenRule>) -> Driver {
    let mut d = Driver::new(seed, trace);
    if let Some(rule) = broken {
        d.break_rule(rule);
    }
    d
}

fn run_file(file: &str, trace: Trace, broken: Option<BrokenRule>) -> Outcome {
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
    let mut d = driver(script.seed, trace != Trace::None, broken);
    let report = script.run_with(&mut d, |d| print_trace(d.take_trace(), trace));
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

fn random(
    seed: u64,
    steps: usize,
    faults: Faults,
    shrink_it: bool,
    trace: Trace,
    broken: Option<BrokenRule>,
) -> ExitCode {
    let started = Instant::now();
    let mut d = driver(seed, trace != Trace::None, broken);
    let mut done = 0;
    for action in actions(seed, faults).take(steps) {
        done += 1;
        d.step(action);
        print_trace(d.take_trace(), trace);
        if !d.failures().is_empty() {
            break;
        }
        if done % PROGRESS_EVERY == 0 && done < steps {
            let rate = done as f64 / started.elapsed().as_secs_f64();
            eprintln!("wspsim: {done} of {steps} steps, {rate:.0} steps/s");
        }
    }
    d.finish();
    print_trace(d.take_trace(), trace);
    let s = d.stats();
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
    if d.failures().is_empty() {
        println!("invariants: all held");
        return ExitCode::SUCCESS;
    }
    for f in d.failures() {
        println!("FAILED {f}");
    }
    println!("reproduce: wspsim replay {seed} --steps {}", s.actions);
    if shrink_it {
        let rule = d.failures()[0].rule.clone();
        // The run is its seed: the actions are drawn again, not kept.
        let taken: Vec<Action> = actions(seed, faults).take(done).collect();
        let shrunk = shrink(taken, |candidate| {
            let mut d = driver(seed, false, broken);
            d.run(candidate);
            d.failures().iter().any(|f| f.rule == rule)
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
    let mut total = thread_race::ThreadedReport::default();
    for run in 0..runs {
        let r = thread_race::run(seed.wrapping_add(run), threads, calls);
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
