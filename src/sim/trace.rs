//! Trace events of a simulated run: every call and its result, every
//! notification delivered or suppressed (and why), every network change,
//! fault and broken invariant, stamped with the step and the virtual time.
//!
//! Three renderings: readable text ([`TraceEvent::to_text`]), JSON lines
//! ([`TraceEvent::to_json`]), and `tracing` events (target `wspsim`, level
//! `DEBUG`, `WARN` for a broken invariant) for hosts that already collect
//! them. The library never installs a subscriber.

use std::fmt::Write as _;
use std::time::Duration;

/// What a trace event is about.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum TraceKind {
    /// A provider call and its result.
    Call,
    /// A completion delivered to the application.
    Notified,
    /// A completion the rules kept from the application (S6c, S11).
    Suppressed,
    /// The network moved.
    Network,
    /// A fault was injected (network down or up, a stall, a crash).
    Fault,
    /// An invariant broke.
    Invariant,
}

impl TraceKind {
    /// The kind's name in JSON.
    pub fn name(self) -> &'static str {
        match self {
            TraceKind::Call => "call",
            TraceKind::Notified => "notified",
            TraceKind::Suppressed => "suppressed",
            TraceKind::Network => "network",
            TraceKind::Fault => "fault",
            TraceKind::Invariant => "invariant",
        }
    }
}

/// One event.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct TraceEvent {
    /// The step (action) it happened in, from 1.
    pub step: usize,
    /// Virtual time.
    pub time: Duration,
    /// What it is about.
    pub kind: TraceKind,
    /// What happened, in words.
    pub text: String,
}

impl TraceEvent {
    /// `  step [  time ms] text`, as `wspsim` prints it.
    pub fn to_text(&self) -> String {
        format!(
            "{:>6} [{:>9.3}ms] {}",
            self.step,
            self.time.as_secs_f64() * 1e3,
            self.text
        )
    }

    /// One JSON object, on one line.
    pub fn to_json(&self) -> String {
        format!(
            r#"{{"step":{},"time_us":{},"kind":"{}","text":"{}"}}"#,
            self.step,
            self.time.as_micros(),
            self.kind.name(),
            json_escape(&self.text)
        )
    }

    /// Emits the event through `tracing`.
    pub fn emit(&self) {
        let (step, time_us, kind, text) = (
            self.step,
            self.time.as_micros() as u64,
            self.kind.name(),
            self.text.as_str(),
        );
        if self.kind == TraceKind::Invariant {
            tracing::warn!(target: "wspsim", step, time_us, kind, "{text}");
        } else {
            tracing::debug!(target: "wspsim", step, time_us, kind, "{text}");
        }
    }
}

/// A string's JSON form, without the quotes.
fn json_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Quotes, backslashes and control characters are escaped; the text form
    /// is what `wspsim` always printed.
    #[test]
    fn json_lines_escape_and_text_keeps_its_format() {
        let e = TraceEvent {
            step: 12,
            time: Duration::from_micros(1500),
            kind: TraceKind::Suppressed,
            text: "op \"7\"\\x\n\u{1}".into(),
        };
        assert_eq!(
            e.to_json(),
            r#"{"step":12,"time_us":1500,"kind":"suppressed","text":"op \"7\"\\x\n\u0001"}"#
        );
        assert_eq!(e.to_text(), "    12 [    1.500ms] op \"7\"\\x\n\u{1}");
    }
}
