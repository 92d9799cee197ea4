//! Hand-off at final cleanup (S6g): a closed socket's data outlives the
//! provider instance.

use super::util::*;
use crate::core::transport::{
    AddressFamily, CloseKind, HandOffRefused, SocketKind, Transport, Wait,
};
use crate::mock::{Network, NetworkConfig};
use std::time::Duration;

/// A client on A with 16000 bytes for a slow discard service (more than its
/// 8192-byte receive buffer), closed gracefully.
fn closed_with_data(net: &Network, rate: Option<usize>) -> (Host, crate::mock::ServiceId) {
    let svc = net.add_discard_service(addr([127, 0, 0, 2], 9), rate);
    let a = host(net, A);
    a.t.open(h(1), AddressFamily::Inet, SocketKind::Stream)
        .unwrap();
    connect(net, &a, h(1), addr([127, 0, 0, 2], 9)).unwrap();
    a.t.set_buffers(h(1), Some(16_000), None).unwrap();
    assert_eq!(
        a.t.send(h(1), pattern(0, 16_000), None, Wait::No).unwrap(),
        crate::Io::Done(16_000)
    );
    a.t.close(h(1), CloseKind::Graceful);
    (a, svc)
}

#[test]
fn handed_off_data_keeps_draining_after_the_transport_is_dropped() {
    let net = Network::new(1);
    let (a, svc) = closed_with_data(&net, Some(100));
    net.advance(Duration::from_millis(5));
    assert!(
        a.t.unsent(h(1)) > 0,
        "a slow reader keeps data in the send buffer"
    );
    assert_eq!(a.t.hand_off(h(1)), Ok(()));
    assert_eq!(a.t.unsent(h(1)), 0, "no longer the instance's");
    let st = net.stats();
    assert_eq!(st.handed_off_sockets, 1);
    assert_eq!(st.handed_off_draining, 1);
    assert!(st.handed_off_bytes > 0);
    drop(a);
    net.run_until_idle(100_000);
    assert_eq!(net.service_received(svc), 16_000);
    assert_eq!(
        net.service_closed_gracefully(svc),
        1,
        "the FIN followed the data"
    );
    assert_eq!(net.service_resets(svc), 0);
    let st = net.stats();
    assert_eq!((st.handed_off_draining, st.handed_off_bytes), (0, 0));
    // 100 bytes/ms: the last of 11 reads of at most 1460 bytes at 1 + 10 * 14.6 ms.
    assert!(net.now() >= Duration::from_millis(147), "{:?}", net.now());
}

#[test]
fn without_hand_off_a_dropped_transport_resets_its_sockets() {
    let net = Network::with_config(
        2,
        NetworkConfig {
            hand_off: false,
            ..NetworkConfig::default()
        },
    );
    let (a, svc) = closed_with_data(&net, Some(0));
    assert_eq!(a.t.hand_off(h(1)), Err(HandOffRefused::Unsupported));
    net.run_until_idle(100_000);
    assert!(a.t.unsent(h(1)) > 0, "a stalled reader keeps the data here");
    drop(a);
    net.run_until_idle(100_000);
    assert_eq!(net.service_resets(svc), 1);
    assert_eq!(net.service_closed_gracefully(svc), 0);
}

#[test]
fn hand_off_can_be_switched_and_is_refused_while_down() {
    let net = Network::new(3);
    let (a, _svc) = closed_with_data(&net, Some(0));
    net.set_hand_off_supported(false);
    assert_eq!(a.t.hand_off(h(1)), Err(HandOffRefused::Unsupported));
    net.set_hand_off_supported(true);
    net.set_down(true);
    assert_eq!(a.t.hand_off(h(1)), Err(HandOffRefused::NetworkDown));
    net.set_down(false);
    assert_eq!(a.t.hand_off(h(1)), Ok(()));
    // Handing off a socket that is already gone is not an error.
    assert_eq!(a.t.hand_off(h(1)), Ok(()));
}
