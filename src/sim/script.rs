//! Scenario files: a run written as text, one step a line, with
//! expectations. `wspsim run FILE` runs one; a shrunk failure is printed as
//! one.
//!
//! ```text
//! # What happens if the last cleanup runs while a receive is pending?
//! seed 7                  # the network's seed (optional; default 1; first)
//! startup 2.2
//! socket echo             # a stream socket connected to a new echo service
//! recv 0 event            # socket 0 (the oldest open one), overlapped, event
//! expect error WSA_IO_PENDING
//! cleanup                 # the only startup: the final cleanup
//! expect ok
//! expect delivered 0      # S6c: never told...
//! expect suppressed 1     # ...and the suppression is on record
//! ```
//!
//! Steps (sockets and operations are picked by index, modulo how many
//! there are: 0 is the oldest open one):
//!
//! | line | what |
//! |---|---|
//! | `startup MAJOR.MINOR` | `WSPStartup` |
//! | `cleanup` | `WSPCleanup` |
//! | `socket echo` / `socket discard` | a stream socket connected to a new network service |
//! | `send SOCK BYTES HOW` | `WSPSend`; HOW is `plain`, `event`, `routine`, `port` or `polling` |
//! | `recv SOCK HOW` | `WSPRecv` of up to 4 KiB |
//! | `close SOCK dontlinger` / `abortive` / `linger SECONDS` | `WSPCloseSocket` with that `SO_LINGER` |
//! | `shutdown SOCK HOW` | `WSPShutdown`; HOW is `receive`, `send`, `both` or a raw number |
//! | `nonblocking SOCK on` / `off` | `FIONBIO` |
//! | `event-select SOCK EVENTS` | `WSPEventSelect`; EVENTS is `none` or `read,write,oob,accept,connect,close` (any of them, joined by commas) |
//! | `select SOCK` | `WSPSelect` polling the socket in all three sets |
//! | `poll OP` | `WSPGetOverlappedResult` without waiting, on a tracked operation |
//! | `run STEPS` | the network makes up to STEPS steps (at most 255) |
//! | `stall SOCK on` / `off` | the socket's peer stops reading, or reads again |
//! | `network down` / `up` | fault: the network fails or comes back |
//! | `slow SOCK RATE` | fault: the socket's peer reads RATE bytes per millisecond |
//! | `reset SOCK` | fault: the socket's connection is reset by its peer |
//! | `delay MS` | fault: messages sent from now on take MS milliseconds |
//! | `crash` | fault: the process dies without cleanup and a new one starts (S11) |
//! | `use-stale IDX` | a call on a handle that was closed or freed |
//! | `hand-over SOCK` | `WSPDuplicateSocket`, its `WSPSocket` in the same process, then the original's close: the socket goes on under the new handle |
//! | `ioctl SOCK CODE` | `WSPIoctl`; CODE is `fionread`, `atmark`, `keepalive` or `unknown` (`WSAEOPNOTSUPP`) |
//! | `connectex SERVICE BYTES HOW` | `ConnectEx` to a new `echo` or `discard` service with BYTES (0 to 4095) sent in the same operation, then a wait for it; HOW `plain` is told by an event |
//! | `transmit SOCK BYTES HOW [disconnect]` | `TransmitFile` of BYTES from memory, with `TF_DISCONNECT` when `disconnect` is given |
//!
//! Expectations (checked when reached; every invariant of the driver is
//! checked after every step anyway):
//!
//! | line | holds when |
//! |---|---|
//! | `expect ok` | the last call succeeded |
//! | `expect error NAME` | the last call failed with NAME (`WSAENOTSOCK`) or its code (`10038`) |
//! | `expect delivered N` / `suppressed N` | notifications delivered / suppressed so far |
//! | `expect sockets N` / `pending N` | open sockets / pending overlapped operations now |
//! | `expect startups N` | startups in force |
//! | `expect final-cleanups N` | final cleanups so far |
//!
//! A bad line is reported with its line and column, and nothing runs.
//!
//! # Limits
//!
//! The language is the [`Action`] list written out, so it
//! says only what a random run can do. What it cannot say, and where to go
//! instead:
//!
//! - **A send of more than 65,535 bytes.** `BYTES` is a `u16`
//!   (`send 0 70000 plain` is a parse error). Bigger sends, and sends of
//!   chosen bytes, are written in Rust against
//!   [`Simulation`](super::Simulation) or the [`Provider`](crate::Provider)
//!   directly.
//! - **What a peer received.** The network's services (echo, discard)
//!   count and answer, but no `expect` line reads their side; the model
//!   checks, after every step, that nothing is delivered that was not sent
//!   and, at the end, that every byte of a closed socket was delivered or
//!   counted lost (S6f, S7). To assert on the bytes themselves, use
//!   [`Network`](crate::mock::Network) from Rust.
//! - **The final cleanup's report fields.** `expect ok` / `expect error`
//!   check what `WSPCleanup` returned; the [`FinalCleanupReport`](crate::FinalCleanupReport)
//!   (sockets reset, operations aborted, bytes lost) is in the trace, as
//!   the `WSPCleanup` call's `result.value` (`wspsim run FILE --trace
//!   json`), but has no `expect` line.
//! - **Datagram sockets and several threads.** A script is one thread
//!   calling stream sockets. Thread races are
//!   [`thread_race`](super::thread_race)'s; datagrams are tested in Rust.

use super::action::{Action, How, IoctlCode, LingerChoice};
use super::driver::Driver;
use crate::WsaError;
use std::fmt;

/// What an `expect` line checks.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Expect {
    /// The last call succeeded.
    Ok,
    /// The last call failed with this error.
    Error(WsaError),
    /// Notifications delivered so far.
    Delivered(usize),
    /// Notifications suppressed so far.
    Suppressed(usize),
    /// Sockets open now.
    Sockets(usize),
    /// Overlapped operations pending now.
    Pending(usize),
    /// Startups in force.
    Startups(u32),
    /// Final cleanups so far.
    FinalCleanups(usize),
}

/// One line that does something.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Line {
    /// A step.
    Step(Action),
    /// An expectation.
    Expect(Expect),
}

/// A parsed scenario file.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Script {
    /// The network's seed.
    pub seed: u64,
    /// The lines, with their line numbers (1-based).
    pub lines: Vec<(usize, Line)>,
}

/// A line that could not be read: where, and why.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
#[error("{line}:{column}: {message}")]
pub struct ParseError {
    /// 1-based line.
    pub line: usize,
    /// 1-based column of the offending word.
    pub column: usize,
    /// What is wrong.
    pub message: String,
}

/// The outcome of running a script.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct ScriptReport {
    /// Steps run.
    pub steps: usize,
    /// Expectations checked.
    pub expectations: usize,
    /// Failed expectations and broken invariants, each with its line.
    pub failures: Vec<String>,
    /// The driver's step-by-step log ([`Script::run`] with `log`).
    pub log: String,
}

/// The words of a line with their 1-based columns, comments cut.
/// The `FD_*` events a scenario names, with their bits.
const EVENT_NAMES: [(&str, u8); 6] = [
    ("read", 0x1),
    ("write", 0x2),
    ("oob", 0x4),
    ("accept", 0x8),
    ("connect", 0x10),
    ("close", 0x20),
];

fn words(text: &str) -> Vec<(usize, &str)> {
    let text = text.split('#').next().unwrap_or("");
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices() {
        match (c.is_whitespace(), start) {
            (false, None) => start = Some(i),
            (true, Some(s)) => {
                out.push((s + 1, &text[s..i]));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        out.push((s + 1, &text[s..]));
    }
    out
}

/// Reads the words of one line.
struct Cursor<'a> {
    line: usize,
    words: Vec<(usize, &'a str)>,
    next: usize,
    end_column: usize,
}

impl<'a> Cursor<'a> {
    fn error(&self, column: usize, message: impl Into<String>) -> ParseError {
        ParseError {
            line: self.line,
            column,
            message: message.into(),
        }
    }

    /// The next word, or an error naming what was expected.
    fn word(&mut self, what: &str) -> Result<(usize, &'a str), ParseError> {
        let w = self
            .words
            .get(self.next)
            .copied()
            .ok_or_else(|| self.error(self.end_column, format!("expected {what}")))?;
        self.next += 1;
        Ok(w)
    }

    fn number<T: std::str::FromStr>(&mut self, what: &str) -> Result<T, ParseError> {
        let (col, w) = self.word(what)?;
        w.parse()
            .map_err(|_| self.error(col, format!("expected {what}, found {w:?}")))
    }

    fn choice<T: Copy>(&mut self, what: &str, options: &[(&str, T)]) -> Result<T, ParseError> {
        let (col, w) = self.word(what)?;
        options
            .iter()
            .find(|(name, _)| *name == w)
            .map(|&(_, v)| v)
            .ok_or_else(|| {
                let names: Vec<&str> = options.iter().map(|(n, _)| *n).collect();
                self.error(
                    col,
                    format!("expected {what} ({}), found {w:?}", names.join(", ")),
                )
            })
    }

    fn on_off(&mut self) -> Result<bool, ParseError> {
        self.choice("on or off", &[("on", true), ("off", false)])
    }

    fn how(&mut self) -> Result<How, ParseError> {
        self.choice(
            "how",
            &[
                ("plain", How::Plain),
                ("event", How::Event),
                ("routine", How::Routine),
                ("port", How::Port),
                ("polling", How::Polling),
            ],
        )
    }

    fn done(&self) -> Result<(), ParseError> {
        match self.words.get(self.next) {
            Some(&(col, w)) => Err(self.error(col, format!("unexpected {w:?}"))),
            None => Ok(()),
        }
    }
}

fn parse_error_name(c: &Cursor<'_>, col: usize, w: &str) -> Result<WsaError, ParseError> {
    let found = match w.parse::<i32>() {
        Ok(code) => WsaError::from_code(code),
        Err(_) => WsaError::ALL.iter().copied().find(|e| e.name() == w),
    };
    found.ok_or_else(|| c.error(col, format!("unknown error {w:?}")))
}

fn parse_line(c: &mut Cursor<'_>) -> Result<Line, ParseError> {
    let (col, verb) = c.word("a step")?;
    let step = |a| Ok(Line::Step(a));
    let line = match verb {
        "startup" => {
            let (vcol, v) = c.word("a version (2.2)")?;
            let parsed = v
                .split_once('.')
                .and_then(|(a, b)| Some((a.parse().ok()?, b.parse().ok()?)));
            let Some((major, minor)) = parsed else {
                return Err(c.error(vcol, format!("expected a version like 2.2, found {v:?}")));
            };
            step(Action::Startup(major, minor))
        }
        "cleanup" => step(Action::Cleanup),
        "socket" => {
            let echo = c.choice("a service", &[("echo", true), ("discard", false)])?;
            step(Action::Socket { echo })
        }
        "send" => {
            let sock = c.number("a socket index")?;
            let len = c.number("a byte count (1 to 65535)")?;
            if len == 0 {
                return Err(c.error(c.words[c.next - 1].0, "a send needs at least 1 byte"));
            }
            step(Action::Send {
                sock,
                len,
                how: c.how()?,
            })
        }
        "recv" => step(Action::Recv {
            sock: c.number("a socket index")?,
            how: c.how()?,
        }),
        "close" => {
            let sock = c.number("a socket index")?;
            let linger = match c.choice(
                "a linger setting",
                &[("dontlinger", 0), ("abortive", 1), ("linger", 2)],
            )? {
                0 => LingerChoice::Off,
                1 => LingerChoice::Abortive,
                _ => LingerChoice::Timed(c.number("seconds")?),
            };
            step(Action::Close { sock, linger })
        }
        "shutdown" => {
            let sock = c.number("a socket index")?;
            let (hcol, h) = c.word("how (receive, send, both or a number)")?;
            let how = match h {
                "receive" => 0,
                "send" => 1,
                "both" => 2,
                n => n.parse().map_err(|_| {
                    c.error(
                        hcol,
                        format!("expected receive, send, both or a number, found {n:?}"),
                    )
                })?,
            };
            step(Action::Shutdown { sock, how })
        }
        "nonblocking" => step(Action::NonBlocking {
            sock: c.number("a socket index")?,
            on: c.on_off()?,
        }),
        "event-select" => {
            let sock = c.number("a socket index")?;
            let (col, list) = c.word("events (none, or read,write,oob,accept,connect,close)")?;
            let mut events = 0u8;
            if list != "none" {
                for name in list.split(',') {
                    let bit = EVENT_NAMES
                        .iter()
                        .find(|(n, _)| *n == name)
                        .map(|&(_, b)| b)
                        .ok_or_else(|| {
                            c.error(col, format!("expected an event (read, write, oob, accept, connect, close), found {name:?}"))
                        })?;
                    events |= bit;
                }
            }
            step(Action::EventSelect { sock, events })
        }
        "select" => step(Action::Select {
            sock: c.number("a socket index")?,
        }),
        "poll" => step(Action::Poll {
            op: c.number("an operation index")?,
        }),
        "run" => step(Action::Run {
            steps: c.number("a step count (0 to 255)")?,
        }),
        "stall" => step(Action::Stall {
            sock: c.number("a socket index")?,
            on: c.on_off()?,
        }),
        "network" => step(Action::NetworkDown(
            c.choice("down or up", &[("down", true), ("up", false)])?,
        )),
        "slow" => {
            let sock = c.number("a socket index")?;
            let rate: u8 = c.number("bytes per millisecond (1 to 255)")?;
            if rate == 0 {
                return Err(c.error(
                    c.words[c.next - 1].0,
                    "a slow reader reads at least 1 byte/ms (use stall)",
                ));
            }
            step(Action::Slow { sock, rate })
        }
        "reset" => step(Action::Reset {
            sock: c.number("a socket index")?,
        }),
        "delay" => {
            let ms: u8 = c.number("milliseconds (1 to 255)")?;
            if ms == 0 {
                return Err(c.error(c.words[c.next - 1].0, "a delay is at least 1 ms"));
            }
            step(Action::Delay { ms })
        }
        "crash" => step(Action::Crash),
        "use-stale" => step(Action::UseStale {
            idx: c.number("a stale handle index")?,
        }),
        "hand-over" => step(Action::HandOver {
            sock: c.number("a socket index")?,
        }),
        "ioctl" => step(Action::Ioctl {
            sock: c.number("a socket index")?,
            code: c.choice(
                "an ioctl",
                &[
                    ("fionread", IoctlCode::Fionread),
                    ("atmark", IoctlCode::AtMark),
                    ("keepalive", IoctlCode::KeepAlive),
                    ("unknown", IoctlCode::Unknown),
                ],
            )?,
        }),
        "connectex" => {
            let echo = c.choice("a service", &[("echo", true), ("discard", false)])?;
            let len: u16 = c.number("a byte count (0 to 4095)")?;
            if len > 4095 {
                return Err(c.error(
                    c.words[c.next - 1].0,
                    "ConnectEx sends at most 4095 bytes here",
                ));
            }
            step(Action::ConnectEx {
                echo,
                len,
                how: c.how()?,
            })
        }
        "transmit" => {
            let sock = c.number("a socket index")?;
            let len = c.number("a byte count (1 to 65535)")?;
            if len == 0 {
                return Err(c.error(
                    c.words[c.next - 1].0,
                    "a transmission needs at least 1 byte",
                ));
            }
            let how = c.how()?;
            let disconnect = c.words.get(c.next).is_some()
                && c.choice("disconnect (or nothing)", &[("disconnect", true)])?;
            step(Action::Transmit {
                sock,
                len,
                how,
                disconnect,
            })
        }
        "expect" => {
            let (wcol, what) = c.word("an expectation")?;
            let e = match what {
                "ok" => Expect::Ok,
                "error" => {
                    let (ecol, name) = c.word("an error name or code")?;
                    Expect::Error(parse_error_name(c, ecol, name)?)
                }
                "delivered" => Expect::Delivered(c.number("a count")?),
                "suppressed" => Expect::Suppressed(c.number("a count")?),
                "sockets" => Expect::Sockets(c.number("a count")?),
                "pending" => Expect::Pending(c.number("a count")?),
                "startups" => Expect::Startups(c.number("a count")?),
                "final-cleanups" => Expect::FinalCleanups(c.number("a count")?),
                other => {
                    return Err(c.error(wcol, format!("unknown expectation {other:?}")));
                }
            };
            Ok(Line::Expect(e))
        }
        other => Err(c.error(col, format!("unknown step {other:?}"))),
    }?;
    c.done()?;
    Ok(line)
}

impl Script {
    /// Parses a scenario file. The first error stops it.
    pub fn parse(text: &str) -> Result<Script, ParseError> {
        let mut script = Script {
            seed: 1,
            lines: Vec::new(),
        };
        for (i, raw) in text.lines().enumerate() {
            let mut c = Cursor {
                line: i + 1,
                words: words(raw),
                next: 0,
                end_column: raw.split('#').next().unwrap_or("").trim_end().len() + 1,
            };
            if c.words.is_empty() {
                continue;
            }
            if c.words[0].1 == "seed" {
                if !script.lines.is_empty() {
                    return Err(c.error(1, "seed must come before the first step"));
                }
                c.next = 1;
                script.seed = c.number("a seed")?;
                c.done()?;
                continue;
            }
            script.lines.push((i + 1, parse_line(&mut c)?));
        }
        Ok(script)
    }

    /// A script of these steps, with no expectations.
    pub fn from_actions(seed: u64, actions: &[Action]) -> Script {
        Script {
            seed,
            lines: actions
                .iter()
                .enumerate()
                .map(|(i, a)| (i + 2, Line::Step(*a)))
                .collect(),
        }
    }

    /// Runs the script on a fresh driver. With `log`, the report carries
    /// the step-by-step log.
    pub fn run(&self, log: bool) -> ScriptReport {
        let mut h = Driver::new(self.seed, log);
        let mut text = String::new();
        let mut report = self.run_with(&mut h, |h| text.push_str(&h.take_log()));
        report.log = text;
        report
    }

    /// Runs the script on `h` (made with this script's seed), calling
    /// `after_line` after every line and at the end (to take its trace).
    pub fn run_with(
        &self,
        h: &mut Driver,
        mut after_line: impl FnMut(&mut Driver),
    ) -> ScriptReport {
        let mut report = ScriptReport::default();
        let mut invariants_seen = 0;
        for &(line, l) in &self.lines {
            match l {
                Line::Step(a) => {
                    h.step(a);
                    report.steps += 1;
                }
                Line::Expect(e) => {
                    report.expectations += 1;
                    if let Some(got) = check(h, e) {
                        report
                            .failures
                            .push(format!("line {line}: expected {e}, got {got}"));
                    }
                }
            }
            for f in &h.failures()[invariants_seen..] {
                report.failures.push(format!("line {line}: {f}"));
            }
            invariants_seen = h.failures().len();
            after_line(h);
        }
        h.finish();
        for f in &h.failures()[invariants_seen..] {
            report.failures.push(format!("at the end: {f}"));
        }
        after_line(h);
        report
    }
}

/// What was found instead, when `e` does not hold.
fn check(h: &Driver, e: Expect) -> Option<String> {
    let last = || match h.last_result() {
        None => "no call yet".to_string(),
        Some(None) => "ok".to_string(),
        Some(Some(err)) => format!("error {}", err.name()),
    };
    let count = |got: usize, want: usize| (got != want).then(|| got.to_string());
    let s = h.stats();
    match e {
        Expect::Ok => (h.last_result() != Some(None)).then(last),
        Expect::Error(want) => (h.last_result() != Some(Some(want))).then(last),
        Expect::Delivered(n) => count(s.delivered, n),
        Expect::Suppressed(n) => count(s.suppressed, n),
        Expect::Sockets(n) => count(h.open_sockets(), n),
        Expect::Pending(n) => count(h.pending_operations(), n),
        Expect::Startups(n) => count(h.startup_count() as usize, n as usize),
        Expect::FinalCleanups(n) => count(s.final_cleanups, n),
    }
}

impl fmt::Display for Expect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expect::Ok => f.write_str("ok"),
            Expect::Error(e) => write!(f, "error {}", e.name()),
            Expect::Delivered(n) => write!(f, "delivered {n}"),
            Expect::Suppressed(n) => write!(f, "suppressed {n}"),
            Expect::Sockets(n) => write!(f, "sockets {n}"),
            Expect::Pending(n) => write!(f, "pending {n}"),
            Expect::Startups(n) => write!(f, "startups {n}"),
            Expect::FinalCleanups(n) => write!(f, "final-cleanups {n}"),
        }
    }
}

/// An action as a scenario line.
pub struct StepLine(pub Action);

impl fmt::Display for StepLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let how = |h: How| match h {
            How::Plain => "plain",
            How::Event => "event",
            How::Routine => "routine",
            How::Port => "port",
            How::Polling => "polling",
        };
        match self.0 {
            Action::Startup(major, minor) => write!(f, "startup {major}.{minor}"),
            Action::Cleanup => f.write_str("cleanup"),
            Action::Socket { echo } => {
                write!(f, "socket {}", if echo { "echo" } else { "discard" })
            }
            Action::Send { sock, len, how: h } => write!(f, "send {sock} {len} {}", how(h)),
            Action::Recv { sock, how: h } => write!(f, "recv {sock} {}", how(h)),
            Action::Close { sock, linger } => match linger {
                LingerChoice::Off => write!(f, "close {sock} dontlinger"),
                LingerChoice::Abortive => write!(f, "close {sock} abortive"),
                LingerChoice::Timed(s) => write!(f, "close {sock} linger {s}"),
            },
            Action::Shutdown { sock, how } => write!(f, "shutdown {sock} {how}"),
            Action::NonBlocking { sock, on } => {
                write!(f, "nonblocking {sock} {}", if on { "on" } else { "off" })
            }
            Action::EventSelect { sock, events } => {
                let names: Vec<&str> = EVENT_NAMES
                    .iter()
                    .filter(|(_, b)| events & b != 0)
                    .map(|(n, _)| *n)
                    .collect();
                if names.is_empty() {
                    write!(f, "event-select {sock} none")
                } else {
                    write!(f, "event-select {sock} {}", names.join(","))
                }
            }
            Action::Select { sock } => write!(f, "select {sock}"),
            Action::Poll { op } => write!(f, "poll {op}"),
            Action::Run { steps } => write!(f, "run {steps}"),
            Action::Stall { sock, on } => {
                write!(f, "stall {sock} {}", if on { "on" } else { "off" })
            }
            Action::NetworkDown(down) => {
                write!(f, "network {}", if down { "down" } else { "up" })
            }
            Action::Slow { sock, rate } => write!(f, "slow {sock} {rate}"),
            Action::Reset { sock } => write!(f, "reset {sock}"),
            Action::Delay { ms } => write!(f, "delay {ms}"),
            Action::Crash => f.write_str("crash"),
            Action::UseStale { idx } => write!(f, "use-stale {idx}"),
            Action::Ioctl { sock, code } => write!(f, "ioctl {sock} {code}"),
            Action::HandOver { sock } => write!(f, "hand-over {sock}"),
            Action::ConnectEx { echo, len, how: h } => write!(
                f,
                "connectex {} {len} {}",
                if echo { "echo" } else { "discard" },
                how(h)
            ),
            Action::Transmit {
                sock,
                len,
                how: h,
                disconnect,
            } => write!(
                f,
                "transmit {sock} {len} {}{}",
                how(h),
                if disconnect { " disconnect" } else { "" }
            ),
        }
    }
}

impl fmt::Display for Script {
    /// The script as a file that parses back to it (expectations included).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "seed {}", self.seed)?;
        for (_, l) in &self.lines {
            match l {
                Line::Step(a) => writeln!(f, "{}", StepLine(*a))?,
                Line::Expect(e) => writeln!(f, "expect {e}")?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::SeededBytes;

    /// Every action the decoder makes prints as a line that parses back to
    /// it.
    #[test]
    fn every_decoded_action_round_trips_through_its_line() {
        let mut bytes = SeededBytes::new(5);
        let actions: Vec<Action> = (0..3000)
            .map_while(|_| Action::decode(&mut bytes))
            .collect();
        let script = Script::from_actions(9, &actions);
        let parsed = Script::parse(&script.to_string()).unwrap();
        let back: Vec<Action> = parsed
            .lines
            .iter()
            .map(|(_, l)| match l {
                Line::Step(a) => *a,
                Line::Expect(_) => unreachable!("no expectations were written"),
            })
            .collect();
        assert_eq!((parsed.seed, back), (9, actions));
    }

    /// A bad line says where: line and column of the offending word.
    #[test]
    fn bad_lines_are_reported_with_line_and_column() {
        let cases = [
            ("startup 2.2\nsend 0 10 sideways\n", 2, 11, "expected how"),
            ("fly 3\n", 1, 1, "unknown step \"fly\""),
            ("socket echo\n  close 0 linger\n", 2, 17, "expected seconds"),
            ("expect error WSAEBOGUS\n", 1, 14, "unknown error"),
            ("run 300\n", 1, 5, "expected a step count"),
            ("cleanup now\n", 1, 9, "unexpected \"now\""),
            ("cleanup\nseed 3\n", 2, 1, "seed must come before"),
            ("send 0 0 plain\n", 1, 8, "at least 1 byte"),
            // The documented limit: a send is at most 65,535 bytes.
            ("send 0 70000 plain\n", 1, 8, "byte count (1 to 65535)"),
        ];
        for (text, line, column, message) in cases {
            let e = Script::parse(text).unwrap_err();
            assert_eq!((e.line, e.column), (line, column), "{text:?}: {e}");
            assert!(e.message.contains(message), "{text:?}: {e}");
        }
    }

    /// S6c through a script: the expectations pass as written, and a wrong
    /// one is reported with its line.
    #[test]
    fn s6c_script_expectations_hold_and_a_wrong_one_is_reported() {
        let text = "seed 3\nstartup 2.2\nsocket echo\nrecv 0 event\nexpect error WSA_IO_PENDING\n\
                    cleanup\nexpect ok\nexpect delivered 0\nexpect suppressed 1\nexpect sockets 0\n";
        let report = Script::parse(text).unwrap().run(false);
        assert_eq!(report.failures, Vec::<String>::new());
        assert_eq!((report.steps, report.expectations), (4, 5));
        let wrong = text.replace("expect delivered 0", "expect delivered 1");
        let report = Script::parse(&wrong).unwrap().run(false);
        assert_eq!(report.failures, ["line 8: expected delivered 1, got 0"]);
    }
}
