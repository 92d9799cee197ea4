//! The trace of a simulated run: every call and its result, every
//! notification delivered or suppressed (and why), every network move,
//! fault and broken invariant, stamped with the step and the virtual time.
//!
//! Each [`TraceEvent`] is a record with real fields, serialised with serde.
//! Three renderings: readable text ([`TraceEvent::to_text`], what `wspsim`
//! prints), JSON lines ([`TraceEvent::to_json`], `wspsim --trace json`),
//! and `tracing` events (target `wspsim`, level `DEBUG`, `WARN` for a
//! broken invariant) for hosts that already collect them. The library
//! never installs a subscriber.
//!
//! # The JSON schema
//!
//! One object a line. Every object has:
//!
//! | field | type | meaning |
//! |---|---|---|
//! | `step` | integer | the step (action or scheduling decision) it happened in, from 1 |
//! | `time_us` | integer | virtual time, in microseconds |
//! | `process` | string, optional | the process (`"app"`), or process and thread (`"app/worker0"`) |
//! | `kind` | string | `call`, `notified`, `suppressed`, `network`, `fault`, `invariant` or `note` |
//!
//! and, by `kind`:
//!
//! | kind | fields |
//! |---|---|
//! | `call` | `call` (the SPI entry, `"WSPRecv"`); `socket` (optional, `"socket#3.1"`); `args` (optional, the other arguments in words); `result`: `{ok, value?, error?, bytes?}` where `error` is `{code, name}` (`{10038, "WSAENOTSOCK"}`) and `bytes` the bytes a send or receive moved |
//! | `notified` | `op` (sequence number), `socket`, `via` (how: `event 7 set`, `routine 0xc0de queued to thread 1`, `port 3 key 11`, `status recorded for polling`), `error` (optional `{code, name}`), `bytes` |
//! | `suppressed` | `op`, `socket`, `why` (`final_cleanup`: S6c; `process_gone`: S11), `error` (optional), `bytes` |
//! | `network` | `steps` (made), `moved` (steps that moved something), `settled` (the run went on until nothing was due) |
//! | `fault` | `fault` (`network_down`, `network_up`, `stall`, `read_again`, `slow_reader`, `reset`, `delay`, `crash`, `read_rate`), `detail` (in words) |
//! | `invariant` | `rule` (`"S6c"`), `message` |
//! | `note` | `text`: a heading or a line of narration (the built-in scenario set) |
//!
//! For example:
//!
//! ```text
//! {"step":4,"time_us":0,"process":"app","kind":"call","call":"WSPRecv","socket":"socket#0.1","args":"4096 bytes, event","result":{"ok":false,"error":{"code":997,"name":"WSA_IO_PENDING"}}}
//! {"step":5,"time_us":0,"process":"app","kind":"suppressed","op":3,"socket":"socket#0.1","why":"final_cleanup","error":{"code":995,"name":"WSA_OPERATION_ABORTED"},"bytes":0}
//! ```

use crate::core::notifier::{Outcome, Suppressed};
use crate::mock::Record;
use crate::sync::lock;
use crate::{OpId, SocketHandle, WsaError};
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

/// One event of a trace. See the module docs for the JSON form.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct TraceEvent {
    /// The step (action or scheduling decision) it happened in, from 1.
    pub step: usize,
    /// Virtual time, in microseconds.
    pub time_us: u64,
    /// The process (and thread) it concerns, when it concerns one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub process: Option<String>,
    /// What happened.
    #[serde(flatten)]
    pub event: Event,
}

/// What a [`TraceEvent`] is about, with its fields.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Event {
    /// A provider call and its result.
    Call {
        /// The SPI entry (`"WSPSend"`).
        call: String,
        /// The socket it was made on.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        socket: Option<String>,
        /// Its other arguments, in words.
        #[serde(default, skip_serializing_if = "String::is_empty")]
        args: String,
        /// What it returned.
        result: CallResult,
    },
    /// A completion delivered to the application.
    Notified {
        /// The operation's sequence number.
        op: u64,
        /// Its socket.
        socket: String,
        /// How the application was told.
        via: String,
        /// The operation's error, if it failed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<ErrorName>,
        /// Bytes transferred.
        bytes: usize,
    },
    /// A completion the rules kept from the application (S6c, S11).
    Suppressed {
        /// The operation's sequence number.
        op: u64,
        /// Its socket.
        socket: String,
        /// Why nobody was told.
        why: Why,
        /// The operation's error.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<ErrorName>,
        /// Bytes transferred.
        bytes: usize,
    },
    /// The network moved.
    Network {
        /// Steps made.
        steps: usize,
        /// Steps that moved something.
        moved: usize,
        /// The run went on until nothing was due.
        settled: bool,
    },
    /// A fault was injected.
    Fault {
        /// Which fault.
        fault: String,
        /// What it did, in words.
        detail: String,
    },
    /// An invariant broke.
    Invariant {
        /// The rule (`"S6c"`, `"S10"`).
        rule: String,
        /// What was seen.
        message: String,
    },
    /// A heading or a line of narration.
    Note {
        /// The text.
        text: String,
    },
}

/// The result of a traced call.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct CallResult {
    /// Whether the call succeeded.
    pub ok: bool,
    /// What it returned on success, in words (the value's `Debug` form).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// The error on failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorName>,
    /// The bytes a send or receive moved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes: Option<u64>,
}

impl CallResult {
    /// The result of a call: its value's `Debug` form, or its error.
    pub fn of<T: std::fmt::Debug>(r: &Result<T, WsaError>) -> Self {
        match r {
            Ok(v) => CallResult {
                ok: true,
                value: Some(format!("{v:?}")),
                error: None,
                bytes: None,
            },
            Err(e) => CallResult {
                ok: false,
                value: None,
                error: Some(ErrorName::of(*e)),
                bytes: None,
            },
        }
    }

    /// The result of a send or receive that moved `bytes` on success.
    pub fn moved(r: &Result<u64, WsaError>) -> Self {
        CallResult {
            bytes: r.as_ref().ok().copied(),
            ..CallResult::of(r)
        }
    }

    /// `0 (value)` or `SOCKET_ERROR NAME (code)`, as the SPI returns it.
    pub fn to_text(&self) -> String {
        match (&self.error, &self.value) {
            (Some(e), _) => format!("SOCKET_ERROR {} ({})", e.name, e.code),
            (None, Some(v)) => format!("0 ({v})"),
            (None, None) => "0".to_string(),
        }
    }
}

/// A WSA error as a trace shows it.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct ErrorName {
    /// The numeric code (`10038`).
    pub code: i32,
    /// The symbolic name (`"WSAENOTSOCK"`).
    pub name: String,
}

impl ErrorName {
    /// The trace form of `e`.
    pub fn of(e: WsaError) -> Self {
        ErrorName {
            code: e.code(),
            name: e.name().to_string(),
        }
    }
}

/// Why a completion was kept from the application.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Why {
    /// S6c: the final cleanup aborted the operation.
    FinalCleanup,
    /// S11: the process is gone.
    ProcessGone,
}

impl From<Suppressed> for Why {
    fn from(s: Suppressed) -> Self {
        match s {
            Suppressed::FinalCleanup => Why::FinalCleanup,
            Suppressed::ProcessGone => Why::ProcessGone,
        }
    }
}

impl Why {
    fn to_text(self) -> &'static str {
        match self {
            Why::FinalCleanup => "suppressed by the final cleanup (S6c)",
            Why::ProcessGone => "suppressed: process gone (S11)",
        }
    }
}

impl Event {
    /// A call and its result.
    pub fn call<T: std::fmt::Debug>(
        call: &str,
        socket: Option<SocketHandle>,
        args: impl Into<String>,
        r: &Result<T, WsaError>,
    ) -> Self {
        Event::Call {
            call: call.to_string(),
            socket: socket.map(|s| s.to_string()),
            args: args.into(),
            result: CallResult::of(r),
        }
    }

    /// A delivered completion, from what a notifier recorded.
    pub fn notified(r: &Record) -> Self {
        let op = r.op();
        let o = r.outcome();
        Event::Notified {
            op: op.seq,
            socket: op.socket.to_string(),
            via: via(r),
            error: o.error.map(ErrorName::of),
            bytes: o.bytes,
        }
    }

    /// A suppressed completion.
    pub fn suppressed(op: OpId, outcome: &Outcome, why: Suppressed) -> Self {
        Event::Suppressed {
            op: op.seq,
            socket: op.socket.to_string(),
            why: why.into(),
            error: outcome.error.map(ErrorName::of),
            bytes: outcome.bytes,
        }
    }

    /// A fault.
    pub fn fault(fault: &str, detail: impl Into<String>) -> Self {
        Event::Fault {
            fault: fault.to_string(),
            detail: detail.into(),
        }
    }

    /// A broken invariant.
    pub fn invariant(rule: &str, message: impl Into<String>) -> Self {
        Event::Invariant {
            rule: rule.to_string(),
            message: message.into(),
        }
    }

    /// Whether this is a broken invariant.
    pub fn is_invariant(&self) -> bool {
        matches!(self, Event::Invariant { .. })
    }

    /// The event's kind, as the JSON `kind` field names it.
    pub fn kind(&self) -> &'static str {
        match self {
            Event::Call { .. } => "call",
            Event::Notified { .. } => "notified",
            Event::Suppressed { .. } => "suppressed",
            Event::Network { .. } => "network",
            Event::Fault { .. } => "fault",
            Event::Invariant { .. } => "invariant",
            Event::Note { .. } => "note",
        }
    }

    /// The event in words, without step, time or process.
    pub fn to_text(&self) -> String {
        match self {
            Event::Call {
                call,
                socket,
                args,
                result,
            } => {
                let inside = match (socket, args.is_empty()) {
                    (Some(s), true) => format!("({s})"),
                    (Some(s), false) => format!("({s}, {args})"),
                    (None, false) => format!("({args})"),
                    (None, true) => String::new(),
                };
                format!("{call}{inside} -> {}", result.to_text())
            }
            Event::Notified {
                op,
                socket,
                via,
                error,
                bytes,
            } => format!(
                "notified: op{op}@{socket} via {via}, {}",
                status(error, *bytes)
            ),
            Event::Suppressed {
                op, socket, why, ..
            } => format!("suppressed: op{op}@{socket} ({})", why.to_text()),
            Event::Network {
                steps,
                settled: true,
                ..
            } => format!("network settled after {steps} steps"),
            Event::Network { steps, moved, .. } => {
                format!("network: {moved} of {steps} steps moved something")
            }
            Event::Fault { detail, .. } => detail.clone(),
            Event::Invariant { rule, message } => format!("INVARIANT BROKEN: {rule}: {message}"),
            Event::Note { text } => text.clone(),
        }
    }
}

fn status(error: &Option<ErrorName>, bytes: usize) -> String {
    match error {
        Some(e) => format!("{} ({})", e.name, e.code),
        None => format!("{bytes} bytes"),
    }
}

/// How a delivered completion reached the application, in words.
pub fn via(r: &Record) -> String {
    match r {
        Record::EventSet { event, .. } => format!("event {} set", event.0),
        Record::RoutineQueued {
            thread, routine, ..
        } => format!("routine {routine:#x} queued to thread {}", thread.0),
        Record::PortPosted { port, key, .. } => format!("port {} key {key}", port.0),
        Record::PolledOnly { .. } => "status recorded for polling".to_string(),
    }
}

impl TraceEvent {
    /// An event at `step` and virtual time `time`.
    pub fn new(step: usize, time: Duration, process: Option<&str>, event: Event) -> Self {
        TraceEvent {
            step,
            time_us: time.as_micros() as u64,
            process: process.map(str::to_string),
            event,
        }
    }

    /// Virtual time.
    pub fn time(&self) -> Duration {
        Duration::from_micros(self.time_us)
    }

    /// `  step [  time ms] process: what`, as `wspsim` prints it.
    pub fn to_text(&self) -> String {
        let mut out = format!(
            "{:>6} [{:>9.3}ms] ",
            self.step,
            self.time().as_secs_f64() * 1e3
        );
        if let Some(p) = &self.process {
            let _ = write!(out, "{p}: ");
        }
        out.push_str(&self.event.to_text());
        out
    }

    /// One JSON object, on one line (see the module docs).
    pub fn to_json(&self) -> String {
        // Serialising plain strings, integers and enums cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Reads one line of [`to_json`](Self::to_json) back.
    pub fn from_json(line: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(line)
    }

    /// Emits the event through `tracing` (target `wspsim`).
    pub fn emit(&self) {
        let (step, time_us, kind) = (self.step, self.time_us, self.event.kind());
        let process = self.process.as_deref().unwrap_or("");
        if self.event.is_invariant() {
            tracing::warn!(target: "wspsim", step, time_us, kind, process, "{}", self.event.to_text());
        } else {
            tracing::debug!(target: "wspsim", step, time_us, kind, process, "{}", self.event.to_text());
        }
    }
}

/// Where a simulation's events go: kept (for [`Simulation::trace`]), handed
/// to a callback as they happen, emitted through `tracing`; with none of
/// these, a run builds no event at all, so a long run costs nothing for
/// its trace.
///
/// [`Simulation::trace`]: super::Simulation::trace
pub(crate) struct Tracer {
    keep: AtomicBool,
    events: Mutex<Vec<TraceEvent>>,
    sink: Mutex<Option<TraceSink>>,
    has_sink: AtomicBool,
    step: AtomicUsize,
}

/// A callback that receives every event as it happens.
pub type TraceSink = Box<dyn FnMut(&TraceEvent) + Send>;

impl Tracer {
    pub(crate) fn new(keep: bool) -> Self {
        Tracer {
            keep: AtomicBool::new(keep),
            events: Mutex::new(Vec::new()),
            sink: Mutex::new(None),
            has_sink: AtomicBool::new(false),
            step: AtomicUsize::new(0),
        }
    }

    /// Whether an event would go anywhere.
    pub(crate) fn wanted(&self) -> bool {
        self.keep.load(Ordering::Relaxed)
            || self.has_sink.load(Ordering::Relaxed)
            || tracing::enabled!(target: "wspsim", tracing::Level::WARN)
    }

    pub(crate) fn set_keep(&self, keep: bool) {
        self.keep.store(keep, Ordering::Relaxed);
    }

    pub(crate) fn set_sink(&self, sink: Option<TraceSink>) {
        self.has_sink.store(sink.is_some(), Ordering::Relaxed);
        *lock!(self.sink) = sink;
    }

    pub(crate) fn step(&self) -> usize {
        self.step.load(Ordering::Relaxed)
    }

    pub(crate) fn set_step(&self, step: usize) {
        self.step.store(step, Ordering::Relaxed);
    }

    pub(crate) fn next_step(&self) {
        self.step.fetch_add(1, Ordering::Relaxed);
    }

    /// Records `event` at the current step and `time`, if it goes anywhere.
    pub(crate) fn record(&self, time: Duration, process: Option<&str>, event: Event) {
        if !self.wanted() {
            return;
        }
        let event = TraceEvent::new(self.step(), time, process, event);
        event.emit();
        if let Some(sink) = lock!(self.sink).as_mut() {
            sink(&event);
        }
        if self.keep.load(Ordering::Relaxed) {
            lock!(self.events).push(event);
        }
    }

    pub(crate) fn events(&self) -> Vec<TraceEvent> {
        lock!(self.events).clone()
    }

    pub(crate) fn take(&self) -> Vec<TraceEvent> {
        std::mem::take(&mut *lock!(self.events))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The JSON form has the fields of the schema in the module docs, reads
    /// back to the same event, and escapes what JSON must escape.
    #[test]
    fn json_lines_have_the_schemas_fields_and_read_back() {
        let e = TraceEvent::new(
            12,
            Duration::from_micros(1500),
            Some("app"),
            Event::call(
                "WSPRecv",
                Some(SocketHandle::new(0, 1)),
                "4096 bytes, \"event\"\n",
                &Err::<(), _>(WsaError::IoPending),
            ),
        );
        let json = e.to_json();
        assert_eq!(
            json,
            r#"{"step":12,"time_us":1500,"process":"app","kind":"call","call":"WSPRecv","socket":"socket#0.1","args":"4096 bytes, \"event\"\n","result":{"ok":false,"error":{"code":997,"name":"WSA_IO_PENDING"}}}"#
        );
        assert_eq!(TraceEvent::from_json(&json).unwrap(), e);
        assert_eq!(
            e.to_text(),
            "    12 [    1.500ms] app: WSPRecv(socket#0.1, 4096 bytes, \"event\"\n) -> SOCKET_ERROR WSA_IO_PENDING (997)"
        );
        let s = TraceEvent::new(
            3,
            Duration::ZERO,
            None,
            Event::suppressed(
                OpId {
                    socket: SocketHandle::new(0, 1),
                    seq: 7,
                },
                &Outcome::failed(WsaError::OperationAborted),
                Suppressed::FinalCleanup,
            ),
        );
        assert_eq!(
            s.to_json(),
            r#"{"step":3,"time_us":0,"kind":"suppressed","op":7,"socket":"socket#0.1","why":"final_cleanup","error":{"code":995,"name":"WSA_OPERATION_ABORTED"},"bytes":0}"#
        );
        assert_eq!(
            s.to_text(),
            "     3 [    0.000ms] suppressed: op7@socket#0.1 (suppressed by the final cleanup (S6c))"
        );
    }
}
