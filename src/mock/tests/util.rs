//! A recording sink and small helpers shared by the mock's tests.

use crate::core::error::WsaError;
use crate::core::flags::{FdEvents, MsgFlags};
use crate::core::handle::{OpId, SocketHandle};
use crate::core::transport::{
    AddressFamily, Completed, CompletionSink, Io, Received, SocketKind, Transport, Wait,
};
use crate::mock::{MockTransport, Network};
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// One call the network made on a sink.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Call {
    Complete(OpId, Completed),
    Event(SocketHandle, FdEvents, Option<WsaError>),
    Wake,
}

/// Records every sink call.
#[derive(Default)]
pub(super) struct TestSink {
    calls: Mutex<Vec<Call>>,
}

impl TestSink {
    pub(super) fn calls(&self) -> Vec<Call> {
        self.calls.lock().unwrap().clone()
    }

    pub(super) fn completions(&self) -> Vec<(OpId, Completed)> {
        self.calls()
            .into_iter()
            .filter_map(|c| match c {
                Call::Complete(op, r) => Some((op, r)),
                _ => None,
            })
            .collect()
    }

    /// The completions of `op` (a correct network gives at most one).
    pub(super) fn completions_of(&self, op: OpId) -> Vec<Completed> {
        self.completions()
            .into_iter()
            .filter(|(o, _)| *o == op)
            .map(|(_, r)| r)
            .collect()
    }

    pub(super) fn events_for(&self, s: SocketHandle) -> Vec<(FdEvents, Option<WsaError>)> {
        self.calls()
            .into_iter()
            .filter_map(|c| match c {
                Call::Event(h, e, err) if h == s => Some((e, err)),
                _ => None,
            })
            .collect()
    }
}

impl CompletionSink for TestSink {
    fn complete(&self, op: OpId, result: Completed) {
        self.calls.lock().unwrap().push(Call::Complete(op, result));
    }

    fn network_event(&self, socket: SocketHandle, events: FdEvents, error: Option<WsaError>) {
        self.calls
            .lock()
            .unwrap()
            .push(Call::Event(socket, events, error));
    }

    fn wake(&self) {
        self.calls.lock().unwrap().push(Call::Wake);
    }
}

/// A provider instance as the tests drive it: a transport and its sink.
pub(super) struct Host {
    pub(super) t: MockTransport,
    pub(super) sink: Arc<TestSink>,
    /// The sequence numbers [`connect`] registers its attempts under, one
    /// each (an attempt's completion must not be taken for a later one's).
    next_seq: AtomicU64,
}

pub(super) fn host(net: &Network, ip: [u8; 4]) -> Host {
    let node = net.add_node(Ipv4Addr::from(ip).into());
    let t = net.transport(node);
    let sink = Arc::new(TestSink::default());
    t.attach(sink.clone());
    Host {
        t,
        sink,
        next_seq: AtomicU64::new(1_000_000),
    }
}

pub(super) fn h(raw: u64) -> SocketHandle {
    SocketHandle::from_raw(raw)
}

pub(super) fn op(socket: SocketHandle, seq: u64) -> OpId {
    OpId { socket, seq }
}

pub(super) fn addr(ip: [u8; 4], port: u16) -> SocketAddr {
    SocketAddr::from((Ipv4Addr::from(ip), port))
}

/// Connects `s` to `to` as a blocking caller would: starts the attempt
/// and runs the network until it has ended; the connect's result.
pub(super) fn connect(
    net: &Network,
    x: &Host,
    s: SocketHandle,
    to: SocketAddr,
) -> Result<(), WsaError> {
    let attempt = op(s, x.next_seq.fetch_add(1, Ordering::Relaxed));
    if x.t.connect(s, to, attempt)? == Io::Done(()) {
        return Ok(());
    }
    for _ in 0..100_000 {
        match x.sink.completions_of(attempt).first() {
            Some(Completed::Connected) => return Ok(()),
            Some(Completed::Failed(e)) => return Err(*e),
            Some(other) => panic!("a connect completed as {other:?}"),
            None => {
                net.step();
            }
        }
    }
    panic!("the connect to {to} never ended")
}

/// `len` bytes of a recognisable pattern, starting at `offset` of it.
pub(super) fn pattern(offset: usize, len: usize) -> Vec<u8> {
    (offset..offset + len).map(|i| (i % 251) as u8).collect()
}

pub(super) const A: [u8; 4] = [10, 0, 0, 1];
pub(super) const B: [u8; 4] = [10, 0, 0, 2];

/// A client on A (handle 1) connected to a server on B (listener handle 1,
/// accepted handle 2, listening at B:80), everything delivered.
pub(super) fn connected_pair(net: &Network) -> (Host, Host) {
    let a = host(net, A);
    let b = host(net, B);
    b.t.open(h(1), AddressFamily::Inet, SocketKind::Stream)
        .unwrap();
    b.t.bind(h(1), addr(B, 80)).unwrap();
    b.t.listen(h(1), 5).unwrap();
    a.t.open(h(1), AddressFamily::Inet, SocketKind::Stream)
        .unwrap();
    connect(net, &a, h(1), addr(B, 80)).unwrap();
    assert_eq!(
        b.t.accept(h(1), h(2), Wait::No).unwrap(),
        Io::Done(addr(A, 49152))
    );
    net.run_until_idle(1000);
    (a, b)
}

/// Reads everything available now from a stream socket.
pub(super) fn read_now(t: &MockTransport, s: SocketHandle) -> Vec<u8> {
    let mut out = Vec::new();
    while let Ok(Io::Done(r)) = t.recv(s, 100_000, MsgFlags::empty(), Wait::No) {
        if r.data.is_empty() {
            break;
        }
        out.extend(r.data);
    }
    out
}

/// The data of a `Received` completion.
pub(super) fn received(c: &Completed) -> &Received {
    match c {
        Completed::Received(r) => r,
        other => panic!("expected a receive, got {other:?}"),
    }
}
