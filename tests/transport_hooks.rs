//! The transport's lifecycle hooks: `start` at the first startup (with the
//! protocol entry), `stop` at the final cleanup after every call has left
//! and every socket was reset or handed off (S6d, S6f, S6g), before the
//! cleanup returns (S6); a failed start fails the startup and changes
//! nothing (S1); a restart starts again (S6h); process exit and unload call
//! neither (S11).

use std::sync::{Arc, Mutex};
use winsock_provider::mock::{MockTransport, MockWaiter, Network, RecordingNotifier};
use winsock_provider::testkit::{Intercept, Intercepted};
use winsock_provider::{
    AddressFamily, CloseKind, Detach, HandOffRefused, MsgFlags, ProtocolInfo, Provider,
    ProviderConfig, SocketFlags, SocketHandle, SocketKind, Transport, Version, WsaError,
};

/// What the transport heard, in order.
type Log = Arc<Mutex<Vec<String>>>;

/// The mock, with its lifecycle hooks recorded (and `start` failing on
/// demand), and the closes and hand-offs around them.
struct Hooked {
    log: Log,
    fail_start: Arc<Mutex<Option<WsaError>>>,
}

impl Hooked {
    fn note(&self, what: String) {
        self.log.lock().unwrap().push(what);
    }
}

impl Intercept<MockTransport> for Hooked {
    fn start(&self, _: &MockTransport, protocol: &ProtocolInfo) -> Result<(), WsaError> {
        if let Some(e) = *self.fail_start.lock().unwrap() {
            self.note(format!("start {} refused", protocol.catalog_entry_id));
            return Err(e);
        }
        self.note(format!("start {}", protocol.catalog_entry_id));
        Ok(())
    }
    fn nested_startup(&self, _: &MockTransport, protocol: &ProtocolInfo) -> Result<(), WsaError> {
        if let Some(e) = *self.fail_start.lock().unwrap() {
            self.note(format!(
                "nested startup {} refused",
                protocol.catalog_entry_id
            ));
            return Err(e);
        }
        self.note(format!("nested startup {}", protocol.catalog_entry_id));
        Ok(())
    }
    fn nested_cleanup(&self, _: &MockTransport) {
        self.note("nested cleanup".into());
    }
    fn stop(&self, _: &MockTransport) {
        self.note("stop".into());
    }
    fn close(&self, inner: &MockTransport, s: SocketHandle, how: CloseKind) {
        self.note(format!("close {how:?}"));
        inner.close(s, how)
    }
    fn hand_off(&self, inner: &MockTransport, s: SocketHandle) -> Result<(), HandOffRefused> {
        self.note("hand off".into());
        inner.hand_off(s)
    }
}

type Hooks = Intercepted<MockTransport, Hooked>;

struct Rig {
    p: Provider<Hooks, MockWaiter>,
    log: Log,
    fail_start: Arc<Mutex<Option<WsaError>>>,
    net: Network,
}

fn rig() -> Rig {
    let net = Network::new(5);
    let node = net.add_node("10.0.0.1".parse().unwrap());
    net.add_echo_service("10.0.0.9:7".parse().unwrap());
    net.add_discard_service("10.0.0.9:9".parse().unwrap(), Some(0));
    let log = Log::default();
    let fail_start = Arc::new(Mutex::new(None));
    let t = Intercepted::new(
        net.transport(node),
        Hooked {
            log: log.clone(),
            fail_start: fail_start.clone(),
        },
    );
    let p = Provider::new(ProviderConfig::default(), t, MockWaiter::new(&net));
    Rig {
        p,
        log,
        fail_start,
        net,
    }
}

fn start(r: &Rig, catalog: u32) -> Result<(), WsaError> {
    let info = ProtocolInfo::base(catalog, AddressFamily::Inet, SocketKind::Stream);
    let notes = Arc::new(RecordingNotifier::new());
    r.p.startup_for(Version::new(2, 2), &info, notes)
        .map(|_| ())
}

fn log(r: &Rig) -> Vec<String> {
    r.log.lock().unwrap().clone()
}

/// S1, S5, S6: one start at the first startup, with its protocol entry;
/// a nested startup hook for each later one and a nested cleanup hook for
/// each non-final cleanup (what a layered transport mirrors to the next
/// provider, spec §11), no stop at a non-final cleanup; one stop at
/// the final one, after the open socket was reset and the closed one's
/// data handed off (S6d, S6g), before the cleanup returned.
#[test]
fn s6_start_at_the_first_startup_and_stop_last_in_the_final_cleanup() {
    let r = rig();
    start(&r, 1001).unwrap();
    start(&r, 1002).unwrap();
    assert_eq!(log(&r), ["start 1001", "nested startup 1002"]);
    assert_eq!(r.p.protocol_info().catalog_entry_id, 1001);

    let open =
        r.p.socket(
            AddressFamily::Inet,
            SocketKind::Stream,
            SocketFlags::empty(),
        )
        .unwrap();
    r.p.connect(open, "10.0.0.9:7".parse().unwrap()).unwrap();
    let closed =
        r.p.socket(
            AddressFamily::Inet,
            SocketKind::Stream,
            SocketFlags::empty(),
        )
        .unwrap();
    r.p.connect(closed, "10.0.0.9:9".parse().unwrap()).unwrap();
    r.p.set_nonblocking(closed, true).unwrap();
    r.p.send(closed, &[1; 100_000], MsgFlags::empty(), None)
        .unwrap();
    r.p.close_socket(closed).unwrap();

    r.p.cleanup().unwrap();
    assert!(
        !log(&r).contains(&"stop".to_string()),
        "not at a non-final cleanup (S5)"
    );
    r.p.cleanup().unwrap();
    assert_eq!(
        log(&r),
        [
            "start 1001",
            "nested startup 1002",
            "close Graceful",
            "nested cleanup",
            "close Abortive",
            "hand off",
            "stop"
        ],
        "the reset (S6d) and the hand-off (S6g) come before the stop"
    );
    drop(r.net);
}

/// S1: a start that fails fails the startup, which changes nothing: no
/// startup is counted and calls are still refused; a later startup whose
/// start succeeds works.
#[test]
fn s1_a_failed_start_fails_the_startup_and_changes_nothing() {
    let r = rig();
    *r.fail_start.lock().unwrap() = Some(WsaError::SystemNotReady);
    assert_eq!(start(&r, 7), Err(WsaError::SystemNotReady));
    assert_eq!(r.p.startup_count(), 0);
    assert_eq!(
        r.p.socket(
            AddressFamily::Inet,
            SocketKind::Stream,
            SocketFlags::empty()
        ),
        Err(WsaError::NotInitialised)
    );
    *r.fail_start.lock().unwrap() = None;
    start(&r, 8).unwrap();
    assert_eq!(r.p.startup_count(), 1);
    assert_eq!(log(&r), ["start 7 refused", "start 8"]);
}

/// S6h: after a final cleanup, a startup starts the transport again.
#[test]
fn s6h_a_restart_starts_the_transport_again() {
    let r = rig();
    start(&r, 1).unwrap();
    r.p.cleanup().unwrap();
    start(&r, 2).unwrap();
    r.p.cleanup().unwrap();
    assert_eq!(log(&r), ["start 1", "stop", "start 2", "stop"]);
}

/// S11: neither process exit nor an unload without cleanup stops the
/// transport (nothing may be done, nothing may wait).
#[test]
fn s11_process_exit_and_unload_call_no_hook() {
    let r = rig();
    start(&r, 1).unwrap();
    r.p.process_detach(Detach::ProcessExit);
    r.p.process_detach(Detach::Unload);
    assert_eq!(log(&r), ["start 1"]);
}

/// S1, spec §11: a nested startup the transport refuses (a layered
/// transport whose next provider's startup failed) fails that startup and
/// changes nothing: the count stays where it was and no cleanup hook runs.
#[test]
fn s1_a_refused_nested_startup_fails_that_startup_and_changes_nothing() {
    let r = rig();
    start(&r, 1).unwrap();
    *r.fail_start.lock().unwrap() = Some(WsaError::ProviderFailedInit);
    assert_eq!(start(&r, 2), Err(WsaError::ProviderFailedInit));
    assert_eq!(r.p.startup_count(), 1);
    *r.fail_start.lock().unwrap() = None;
    r.p.cleanup().unwrap();
    assert_eq!(log(&r), ["start 1", "nested startup 2 refused", "stop"]);
}
