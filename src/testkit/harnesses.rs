//! The two harnesses that come with the crate: the mock network, and the
//! host's sockets over loopback.

use super::Harness;
use crate::AddressFamily;
use crate::mock::{MockTransport, MockWaiter, Network, NodeId};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The kit on the mock network: every transport is a process on one node
/// with 10.0.0.1 and fd00::1; waits move virtual time.
pub struct MockHarness {
    net: Network,
    node: NodeId,
}

const MOCK_V4: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const MOCK_V6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 1);

impl MockHarness {
    /// A network with one node (seed 1).
    pub fn new() -> Self {
        let net = Network::new(1);
        let node = net.add_node(IpAddr::V4(MOCK_V4));
        net.add_address(node, IpAddr::V6(MOCK_V6));
        MockHarness { net, node }
    }

    /// The network, for a test that wants to look at it.
    pub fn network(&self) -> &Network {
        &self.net
    }
}

impl Default for MockHarness {
    fn default() -> Self {
        MockHarness::new()
    }
}

impl Harness for MockHarness {
    type Transport = MockTransport;
    type Waiter = MockWaiter;

    fn name(&self) -> String {
        "mock".into()
    }

    fn make(&self) -> (MockTransport, MockWaiter) {
        (self.net.transport(self.node), MockWaiter::new(&self.net))
    }

    fn local(&self, family: AddressFamily) -> Option<IpAddr> {
        Some(match family {
            AddressFamily::Inet => IpAddr::V4(MOCK_V4),
            AddressFamily::Inet6 => IpAddr::V6(MOCK_V6),
        })
    }

    fn settle(&self) {
        self.net.run_until_idle(10_000);
    }
}

/// The kit on the host's sockets, over 127.0.0.1 and ::1 (IPv6 when the
/// host has a loopback address for it).
#[cfg(all(unix, feature = "system"))]
#[derive(Default)]
pub struct SystemHarness;

#[cfg(all(unix, feature = "system"))]
impl Harness for SystemHarness {
    type Transport = crate::system::SystemTransport;
    type Waiter = crate::ThreadWaiter;

    fn name(&self) -> String {
        "system".into()
    }

    fn make(&self) -> (Self::Transport, Self::Waiter) {
        (
            crate::system::SystemTransport::new(),
            crate::ThreadWaiter::new(),
        )
    }

    fn local(&self, family: AddressFamily) -> Option<IpAddr> {
        let ip = match family {
            AddressFamily::Inet => IpAddr::V4(Ipv4Addr::LOCALHOST),
            AddressFamily::Inet6 => IpAddr::V6(Ipv6Addr::LOCALHOST),
        };
        // A host without an IPv6 loopback cannot bind ::1.
        std::net::TcpListener::bind((ip, 0)).ok().map(|_| ip)
    }

    fn settle(&self) {
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
}
