//! The network handle itself: the clock, the step contract, the locking rule.

use super::util::*;
use crate::core::error::WsaError;
use crate::core::flags::{FdEvents, MsgFlags};
use crate::core::handle::{OpId, SocketHandle};
use crate::core::transport::{
    AddressFamily, CloseKind, Completed, CompletionSink, Io, SocketKind, Transport, Wait,
};
use crate::mock::{MockTransport, MockWaiter, Network, RecordingNotifier};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[test]
fn the_public_types_can_be_shared_between_threads() {
    fn shared<T: Send + Sync + Clone + 'static>() {}
    shared::<Network>();
    shared::<MockTransport>();
    shared::<MockWaiter>();
    shared::<RecordingNotifier>();
}

#[test]
fn step_moves_the_clock_only_when_nothing_is_due() {
    let net = Network::new(1);
    assert!(!net.step(), "an empty network is idle");
    let (a, b) = connected_pair(&net);
    let t0 = net.now();
    a.t.send(h(1), b"x".to_vec(), None, Wait::No).unwrap();
    assert!(!net.is_idle());
    assert!(net.step()); // deferred notes or the segment onto the wire
    while net.now() == t0 {
        assert!(net.step());
    }
    assert_eq!(
        net.now(),
        t0 + Duration::from_millis(1),
        "the clock jumps to the arrival"
    );
    net.run_until_idle(100);
    assert!(net.is_idle());
    assert_eq!(read_now(&b.t, h(2)), b"x");
    net.advance(Duration::from_millis(5));
    assert_eq!(net.now(), t0 + Duration::from_millis(6));
}

#[test]
fn transport_calls_never_call_the_sink() {
    let net = Network::new(2);
    let (a, b) = connected_pair(&net);
    let before = (a.sink.calls().len(), b.sink.calls().len());
    b.t.open(h(5), AddressFamily::Inet, SocketKind::Stream)
        .unwrap();
    b.t.bind(h(5), addr(B, 99)).unwrap();
    b.t.listen(h(5), 3).unwrap();
    b.t.accept(h(5), h(6), Wait::Later(op(h(5), 1))).unwrap();
    a.t.open(h(5), AddressFamily::Inet, SocketKind::Stream)
        .unwrap();
    a.t.connect(h(5), addr(B, 99), op(h(5), 9)).unwrap();
    a.t.send(h(1), b"data".to_vec(), None, Wait::No).unwrap();
    a.t.close(h(1), CloseKind::Abortive);
    assert_eq!((a.sink.calls().len(), b.sink.calls().len()), before);
    net.run_until_idle(100);
    assert!(b.sink.calls().len() > before.1);
}

/// A sink that calls back into the network and the transport from inside
/// every completion and event: it would deadlock if the network called it
/// while holding its lock.
struct Reentrant {
    t: Mutex<Option<MockTransport>>,
    seen: Mutex<Vec<usize>>,
}

impl CompletionSink for Reentrant {
    fn complete(&self, _op: OpId, _result: Completed) {
        if let Some(t) = self.t.lock().unwrap().as_ref() {
            let unsent = t.unsent(h(1));
            let _ = t.network().stats();
            let _ = t.recv(h(1), 1, MsgFlags::PEEK, Wait::No);
            self.seen.lock().unwrap().push(unsent);
        }
    }

    fn network_event(&self, socket: SocketHandle, _events: FdEvents, _error: Option<WsaError>) {
        if let Some(t) = self.t.lock().unwrap().as_ref() {
            let _ = t.local_addr(socket);
        }
    }

    fn wake(&self) {
        if let Some(t) = self.t.lock().unwrap().as_ref() {
            let _ = t.network().now();
        }
    }
}

#[test]
fn the_sink_may_call_back_into_the_network() {
    let net = Network::new(3);
    let a = host(&net, A);
    let b = host(&net, B);
    let sink = Arc::new(Reentrant {
        t: Mutex::new(Some(b.t.clone())),
        seen: Mutex::new(Vec::new()),
    });
    b.t.attach(sink.clone());
    b.t.open(h(1), AddressFamily::Inet, SocketKind::Stream)
        .unwrap();
    b.t.bind(h(1), addr(B, 80)).unwrap();
    b.t.listen(h(1), 1).unwrap();
    assert_eq!(
        b.t.accept(h(1), h(2), Wait::Later(op(h(1), 1))).unwrap(),
        Io::Pending
    );
    a.t.open(h(1), AddressFamily::Inet, SocketKind::Stream)
        .unwrap();
    a.t.connect(h(1), addr(B, 80), op(h(1), 9)).unwrap();
    net.run_until_idle(100);
    a.t.send(h(1), b"hi".to_vec(), None, Wait::No).unwrap();
    net.run_until_idle(100);
    assert_eq!(sink.seen.lock().unwrap().len(), 1, "the accept completed");
    // Break the cycle sink -> transport -> network -> sink.
    sink.t.lock().unwrap().take();
}
