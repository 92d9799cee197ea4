//! The provider reports its lifecycle through `tracing` (target
//! `winsock_provider`) for hosts that collect it: spans for startup,
//! cleanup and close; an event with the final cleanup's report (S6); an
//! event for every operation aborted with nobody told (S6c). The shim
//! reports a caught panic the same way, never on the host's stderr (S12).

use std::sync::{Arc, Mutex};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};
use winsock_provider::mock::{MockWaiter, Network, RecordingNotifier};
use winsock_provider::{
    AddressFamily, CompletionMode, EventKey, MsgFlags, OverlappedRequest, Provider, ProviderConfig,
    SocketFlags, SocketKind, Version,
};

/// Spans opened and events (message and fields, as text), in order.
#[derive(Default)]
struct Seen {
    spans: Vec<String>,
    events: Vec<String>,
}

struct Recorder(Arc<Mutex<Seen>>);

struct Text(String);

impl Visit for Text {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.push_str(&format!("{}={value:?} ", field.name()));
    }
}

impl Subscriber for Recorder {
    fn enabled(&self, m: &Metadata<'_>) -> bool {
        m.target() == "winsock_provider"
    }
    fn new_span(&self, span: &Attributes<'_>) -> Id {
        let mut seen = self.0.lock().unwrap();
        seen.spans.push(span.metadata().name().to_string());
        Id::from_u64(seen.spans.len() as u64)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, e: &Event<'_>) {
        let mut text = Text(String::new());
        e.record(&mut text);
        self.0.lock().unwrap().events.push(text.0);
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

/// S6, S6c: a host that uses `tracing` sees the lifecycle: startup, close
/// and cleanup spans, the final cleanup's report, and the operation the
/// final cleanup aborted with nobody told.
#[test]
fn s6_the_lifecycle_is_reported_through_tracing() {
    let seen = Arc::new(Mutex::new(Seen::default()));
    let subscriber = Recorder(seen.clone());
    tracing::subscriber::with_default(subscriber, || {
        let net = Network::new(1);
        let node = net.add_node("10.0.0.1".parse().unwrap());
        let echo = "10.0.0.9:7".parse().unwrap();
        net.add_echo_service(echo);
        let p = Provider::new(
            ProviderConfig::default(),
            net.transport(node),
            MockWaiter::new(&net),
        );
        p.startup(Version::new(2, 2), Arc::new(RecordingNotifier::new()))
            .unwrap();
        let closed = p
            .socket(
                AddressFamily::Inet,
                SocketKind::Stream,
                SocketFlags::empty(),
            )
            .unwrap();
        p.close_socket(closed).unwrap();
        let s = p
            .socket(
                AddressFamily::Inet,
                SocketKind::Stream,
                SocketFlags::OVERLAPPED,
            )
            .unwrap();
        p.connect(s, echo).unwrap();
        let req = OverlappedRequest::new(CompletionMode::Event(EventKey(1)));
        p.recv(s, 10, MsgFlags::empty(), Some(req)).unwrap_err();
        p.cleanup().unwrap();
    });
    let seen = seen.lock().unwrap();
    for span in ["startup", "close", "cleanup"] {
        assert!(
            seen.spans.iter().any(|s| s == span),
            "{span}: {:?}",
            seen.spans
        );
    }
    let report = seen
        .events
        .iter()
        .find(|e| e.contains("final cleanup done (S6)"))
        .expect("the final cleanup's report");
    assert!(report.contains("operations_aborted=1"), "{report}");
    assert!(report.contains("sockets_reset=1"), "{report}");
    assert!(
        seen.events
            .iter()
            .any(|e| e.contains("aborted, nobody told") && e.contains("final cleanup (S6c)")),
        "{:?}",
        seen.events
    );
}

/// S12: a panic caught at the ABI is reported as a `tracing` event (the
/// DLL never writes to the host's stderr) and kept for `last_panic`.
#[test]
fn s12_a_caught_panic_is_reported_through_tracing() {
    let seen = Arc::new(Mutex::new(Seen::default()));
    tracing::subscriber::with_default(Recorder(seen.clone()), || {
        winsock_provider::ffi::contain("a test hook", || panic!("boom in a hook"));
    });
    let seen = seen.lock().unwrap();
    assert!(
        seen.events
            .iter()
            .any(|e| e.contains("boom in a hook") && e.contains("a test hook")),
        "{:?}",
        seen.events
    );
    assert_eq!(
        winsock_provider::ffi::last_panic().as_deref(),
        Some("boom in a hook")
    );
}
