//! The transport's locking rule, made safe where it can be: a sink call a
//! transport makes from inside one of its own methods (while the core
//! holds the socket's lock) is deferred until the provider call returns,
//! and then made, once, instead of waiting for ever on that lock.

use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;
use winsock_provider::mock::{MockTransport, MockWaiter, Network, RecordingNotifier};
use winsock_provider::testkit::{Intercept, Intercepted};
use winsock_provider::{
    AddressFamily, CompletionSink, EventKey, FdEvents, Io, MsgFlags, Provider, ProviderConfig,
    SocketFlags, SocketHandle, SocketKind, Transport, Version, Wait, WsaError,
};

/// Reports `FD_OOB` from inside every `send`, through the sink, at once.
#[derive(Default)]
struct Eager {
    sink: Mutex<Option<Arc<dyn CompletionSink>>>,
}

impl Intercept<MockTransport> for Eager {
    fn attach(&self, inner: &MockTransport, sink: Arc<dyn CompletionSink>) {
        *self.sink.lock().unwrap() = Some(sink.clone());
        inner.attach(sink)
    }
    fn send(
        &self,
        inner: &MockTransport,
        s: SocketHandle,
        data: Vec<u8>,
        to: Option<std::net::SocketAddr>,
        w: Wait,
    ) -> Result<Io<usize>, WsaError> {
        let r = inner.send(s, data, to, w);
        if let Some(sink) = self.sink.lock().unwrap().clone() {
            sink.network_event(s, FdEvents::OOB, None);
        }
        r
    }
}

#[test]
fn a_sink_call_from_inside_a_transport_method_is_deferred_not_deadlocked() {
    let net = Network::new(12);
    let node = net.add_node("10.0.0.1".parse().unwrap());
    let echo = "10.0.0.9:7".parse().unwrap();
    net.add_echo_service(echo);
    let p = Provider::new(
        ProviderConfig::default(),
        Intercepted::new(net.transport(node), Eager::default()),
        MockWaiter::new(&net),
    );
    let notes = RecordingNotifier::new();
    p.startup(Version::new(2, 2), Arc::new(notes.clone()))
        .unwrap();
    let s = p
        .socket(
            AddressFamily::Inet,
            SocketKind::Stream,
            SocketFlags::empty(),
        )
        .unwrap();
    p.connect(s, echo).unwrap();
    p.event_select(s, EventKey(3), FdEvents::OOB).unwrap();
    let (tx, rx) = mpsc::channel();
    let sender = p.clone();
    std::thread::spawn(move || {
        let _ = tx.send(sender.send(s, b"x", MsgFlags::empty(), None));
    });
    let sent = rx
        .recv_timeout(Duration::from_secs(10))
        .expect("the send deadlocked on its own socket's lock");
    assert_eq!(sent, Ok(1));
    let oob: Vec<_> = notes
        .network_events()
        .into_iter()
        .filter(|e| e.socket == s && e.events.contains(FdEvents::OOB))
        .collect();
    assert_eq!(oob.len(), 1, "made once, after the send returned");
    assert_eq!(
        p.enum_network_events(s).unwrap().events & FdEvents::OOB,
        FdEvents::OOB
    );
}
