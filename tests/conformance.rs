//! The conformance kit (`testkit`) against the transports that come with
//! the crate: the mock network and, on Unix, the host's sockets.

use winsock_provider::testkit::{self, MockHarness};

#[test]
fn the_mock_transport_passes_the_kit() {
    let report = testkit::run(&MockHarness::new());
    println!("{report}");
    report.assert_passed();
}

#[cfg(all(unix, feature = "system"))]
#[test]
fn the_host_socket_transport_passes_the_kit() {
    let report = testkit::run(&testkit::SystemHarness);
    println!("{report}");
    report.assert_passed();
}

mod broken {
    //! A transport that closes every socket abortively, even when asked
    //! for a graceful close: the kit must name the rules it breaks.
    use std::net::IpAddr;
    use winsock_provider::mock::{MockTransport, MockWaiter};
    use winsock_provider::testkit::{Harness, Intercept, Intercepted, MockHarness};
    use winsock_provider::{AddressFamily, CloseKind, SocketHandle, Transport};

    pub struct Abortive;

    impl Intercept<MockTransport> for Abortive {
        fn close(&self, inner: &MockTransport, s: SocketHandle, _: CloseKind) {
            inner.close(s, CloseKind::Abortive)
        }
    }

    pub struct AbortiveHarness(pub MockHarness);

    impl Harness for AbortiveHarness {
        type Transport = Intercepted<MockTransport, Abortive>;
        type Waiter = MockWaiter;
        fn name(&self) -> String {
            "mock, closing abortively".into()
        }
        fn make(&self) -> (Self::Transport, MockWaiter) {
            let (t, w) = self.0.make();
            (Intercepted::new(t, Abortive), w)
        }
        fn local(&self, family: AddressFamily) -> Option<IpAddr> {
            self.0.local(family)
        }
        fn settle(&self) {
            self.0.settle()
        }
    }
}

/// The kit catches a transport that breaks a rule, and names the rules:
/// one that closes every socket abortively fails the graceful close (S7)
/// and the drain across the final cleanup (S6e/S6g), and nothing else.
#[test]
fn a_transport_that_loses_data_at_close_fails_the_rules_it_breaks() {
    let report = testkit::run(&broken::AbortiveHarness(MockHarness::new()));
    println!("{report}");
    let failed: Vec<&str> = report.failures().iter().map(|r| r.rule).collect();
    assert_eq!(failed, ["S7", "S6e/S6g"], "{report}");
    assert!(report.failures()[0].name.contains("graceful"));
}

/// Spec §15: an IPv6 socket is IPv6-only by default (as on Windows); with
/// `IPV6_V6ONLY` off it is dual-stack where the transport is (the host's
/// sockets are): it reaches an IPv4 listener through its v4-mapped address.
#[cfg(all(unix, feature = "system"))]
#[test]
fn the_host_socket_transport_is_dual_stack_with_ipv6_v6only_off() {
    use std::net::SocketAddr;
    use std::sync::Arc;
    use winsock_provider::mock::RecordingNotifier;
    use winsock_provider::option_names::{IPPROTO_IPV6, IPV6_V6ONLY};
    use winsock_provider::system::SystemTransport;
    use winsock_provider::testkit::{Harness, SystemHarness};
    use winsock_provider::*;
    if SystemHarness.local(AddressFamily::Inet6).is_none() {
        eprintln!("no IPv6 loopback on this host: skipped");
        return;
    }
    let p = Provider::new(
        ProviderConfig::default(),
        SystemTransport::new(),
        ThreadWaiter::new(),
    );
    p.startup(Version::new(2, 2), Arc::new(RecordingNotifier::new()))
        .unwrap();
    let l = p
        .socket(
            AddressFamily::Inet,
            SocketKind::Stream,
            SocketFlags::empty(),
        )
        .unwrap();
    let at = p.bind(l, "127.0.0.1:0".parse().unwrap()).unwrap();
    p.listen(l, 4).unwrap();
    let mapped: SocketAddr = format!("[::ffff:127.0.0.1]:{}", at.port()).parse().unwrap();
    let only6 = p
        .socket(
            AddressFamily::Inet6,
            SocketKind::Stream,
            SocketFlags::empty(),
        )
        .unwrap();
    assert_eq!(p.option(only6, IPPROTO_IPV6, IPV6_V6ONLY, 4), Ok(vec![1]));
    assert!(p.connect(only6, mapped).is_err(), "IPv6 only: no IPv4 peer");
    let dual = p
        .socket(
            AddressFamily::Inet6,
            SocketKind::Stream,
            SocketFlags::empty(),
        )
        .unwrap();
    p.set_option(dual, IPPROTO_IPV6, IPV6_V6ONLY, &[0]).unwrap();
    p.connect(dual, mapped).unwrap();
    let (accepted, _) = p.accept(l).unwrap();
    p.send(dual, b"mapped", MsgFlags::empty(), None).unwrap();
    assert_eq!(
        p.recv(accepted, 16, MsgFlags::empty(), None).unwrap().data,
        b"mapped"
    );
    p.cleanup().unwrap();
}
