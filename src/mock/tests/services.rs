//! Network-resident services.

use super::util::*;
use crate::core::flags::MsgFlags;
use crate::core::transport::{
    AddressFamily, CloseKind, Io, ShutdownHow, SocketKind, Transport, Wait,
};
use crate::mock::Network;
use std::time::Duration;

#[test]
fn echo_sends_back_what_it_reads_then_closes_after_eof() {
    let net = Network::new(1);
    let svc = net.add_echo_service(addr([127, 0, 0, 2], 7));
    let a = host(&net, A);
    a.t.open(h(1), AddressFamily::Inet, SocketKind::Stream)
        .unwrap();
    connect(&net, &a, h(1), addr([127, 0, 0, 2], 7)).unwrap();
    let data = pattern(0, 20_000);
    let mut sent = 0;
    let mut got = Vec::new();
    for _ in 0..10_000 {
        if sent < data.len()
            && let Ok(Io::Done(n)) = a.t.send(h(1), data[sent..].to_vec(), None, Wait::No)
        {
            sent += n;
            if sent == data.len() {
                a.t.shutdown(h(1), ShutdownHow::Send).unwrap();
            }
        }
        net.step();
        got.extend(read_now(&a.t, h(1)));
        if got.len() == data.len() && net.is_idle() {
            break;
        }
    }
    assert_eq!(got, data);
    assert_eq!(
        a.t.recv(h(1), 10, MsgFlags::empty(), Wait::No).unwrap(),
        Io::Done(Default::default())
    );
    assert_eq!(net.service_received(svc), 20_000);
    assert_eq!(net.service_closed_gracefully(svc), 1);
    assert_eq!(net.service_connections(svc), 0);
}

#[test]
fn a_slow_reader_reads_at_its_rate_and_the_rate_can_change() {
    let net = Network::new(2);
    let svc = net.add_discard_service(addr(B, 9), Some(100));
    let a = host(&net, A);
    a.t.open(h(1), AddressFamily::Inet, SocketKind::Stream)
        .unwrap();
    connect(&net, &a, h(1), addr(B, 9)).unwrap();
    a.t.send(h(1), pattern(0, 8000), None, Wait::No).unwrap();
    net.advance(Duration::from_millis(41));
    // Data arrives after 1 ms; then one MSS (1460) per 14.6 ms: reads at 1,
    // 15.6 and 30.2 ms.
    let r = net.service_received(svc);
    assert_eq!(r, 3 * 1460, "about 100 bytes/ms");
    net.set_read_rate(svc, Some(0));
    net.advance(Duration::from_millis(10));
    assert_eq!(net.service_received(svc), r, "a stalled reader");
    assert_eq!(net.stats().bytes_delivered, 8000, "delivered, not read");
    net.set_read_rate(svc, None);
    a.t.close(h(1), CloseKind::Graceful);
    net.run_until_idle(10_000);
    assert_eq!(net.service_received(svc), 8000);
    assert_eq!(net.service_closed_gracefully(svc), 1);
}

#[test]
#[should_panic(expected = "in use")]
fn a_service_cannot_take_a_bound_address() {
    let net = Network::new(3);
    net.add_echo_service(addr(B, 7));
    net.add_discard_service(addr(B, 7), None);
}
