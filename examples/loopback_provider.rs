//! A whole Winsock provider DLL: the core over the in-process mock network.
//!
//! Build it with `cargo build --example loopback_provider`
//! (`target/debug/examples/libloopback_provider.so` on Linux,
//! `loopback_provider.dll` for a Windows target). `tests/c/host.c` loads it
//! the way ws2_32.dll would and drives its proc table; `tests/c/README.md`
//! is the contract it checks.
//!
//! - The provider's sockets live on 127.0.0.1 and ::1 (AF_INET and AF_INET6
//!   stream and datagram sockets; port 0 binds an ephemeral port).
//! - Simulated peers live in the network, not in the provider, so they
//!   outlive every cleanup: echo on 127.0.0.2:7, discard on 127.0.0.2:9, and
//!   a discard on 127.0.0.2:19 that reads nothing until told to; an echo on
//!   [::2]:7 for IPv6. A host can watch a closed socket's data drain across
//!   the final cleanup (S6e, S6g).
//! - The network moves when the DLL is called (each entry point runs it until
//!   idle before returning, in [`ProviderDll::after_call`]) and while a
//!   blocking call waits (the [`MockWaiter`] pumps it). Time is virtual.
//! - Besides `WSPStartup` and `WSPSetCompletionUpcall`, the DLL exports a few
//!   `loopback_*` hooks that let a test host look at and steer the simulated
//!   peers. They are this example's, not the SPI's.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use winsock_provider::ffi::{DllConfig, Exported, ProviderDll};
use winsock_provider::mock::{MockTransport, MockWaiter, Network, ServiceId};

/// The seed of the network's schedule: every run is the same run.
const SEED: u64 = 0x5157_5350;
/// Where the provider's sockets live.
const LOCAL: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 1);
/// Where the simulated peers live.
const PEERS: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 2);
/// The provider's IPv6 address.
const LOCAL6: Ipv6Addr = Ipv6Addr::LOCALHOST;
/// The simulated peers' IPv6 address.
const PEERS6: Ipv6Addr = Ipv6Addr::new(0, 0, 0, 0, 0, 0, 0, 2);
/// Enough steps to finish anything a call can start; a network that is
/// still busy after that is left for the next call.
const STEPS_PER_CALL: usize = 1_000_000;

/// The example provider: the network it runs on, and its simulated peers.
struct Loopback {
    net: Network,
    /// `(port, service)` of each peer on 127.0.0.2 (the IPv6 echo is not
    /// among them: the hooks speak of the IPv4 peers).
    services: Vec<(u16, ServiceId)>,
}

impl Loopback {
    fn service(&self, port: u16) -> Option<ServiceId> {
        self.services
            .iter()
            .find(|&&(p, _)| p == port)
            .map(|&(_, id)| id)
    }
}

impl ProviderDll for Loopback {
    type Transport = MockTransport;
    type Waiter = MockWaiter;

    fn config() -> DllConfig {
        DllConfig {
            description: "winsock-provider loopback example",
            ..DllConfig::default()
        }
    }

    fn create() -> (Self, MockTransport, MockWaiter) {
        let net = Network::new(SEED);
        let local = net.add_node(IpAddr::V4(LOCAL));
        net.add_address(local, IpAddr::V6(LOCAL6));
        let peers = net.add_node(IpAddr::V4(PEERS));
        net.add_address(peers, IpAddr::V6(PEERS6));
        let at = |port: u16| SocketAddr::from((PEERS, port));
        let services = vec![
            (7, net.add_echo_service(at(7))),
            (9, net.add_discard_service(at(9), None)),
            (19, net.add_discard_service(at(19), Some(0))),
        ];
        net.add_echo_service(SocketAddr::from((PEERS6, 7)));
        let transport = net.transport(local);
        let waiter = MockWaiter::new(&net);
        (Loopback { net, services }, transport, waiter)
    }

    fn after_call(&self) {
        self.net.run_until_idle(STEPS_PER_CALL);
    }
}

winsock_provider::export_provider!(Loopback);

/// Runs `f` on the instance; a panic (there should be none) gives `fallback`
/// instead of crossing the ABI.
fn hook<R>(fallback: R, f: impl FnOnce(&Loopback) -> R) -> R {
    let mut out = None;
    winsock_provider::ffi::contain("loopback hook", || out = Some(f(Loopback::dll().app())));
    out.unwrap_or(fallback)
}

/// Runs the network until idle.
#[unsafe(no_mangle)]
pub extern "C" fn loopback_run() {
    hook((), |l| l.after_call());
}

/// Bytes the service at 127.0.0.2:`port` has read (0 for no such service).
#[unsafe(no_mangle)]
pub extern "C" fn loopback_service_bytes(port: u16) -> u64 {
    hook(0, |l| {
        l.service(port).map_or(0, |s| l.net.service_received(s))
    })
}

/// Connections of the service that were reset.
#[unsafe(no_mangle)]
pub extern "C" fn loopback_service_resets(port: u16) -> u32 {
    hook(0, |l| {
        l.service(port)
            .map_or(0, |s| l.net.service_resets(s) as u32)
    })
}

/// Connections of the service that saw a graceful close after all the data.
#[unsafe(no_mangle)]
pub extern "C" fn loopback_service_graceful(port: u16) -> u32 {
    hook(0, |l| {
        l.service(port)
            .map_or(0, |s| l.net.service_closed_gracefully(s) as u32)
    })
}

/// Sets a service's read rate: `-1` as fast as data comes, `0` stalled, `n`
/// bytes per millisecond of virtual time.
#[unsafe(no_mangle)]
pub extern "C" fn loopback_set_read_rate(port: u16, rate: i32) {
    hook((), |l| {
        if let Some(s) = l.service(port) {
            l.net.set_read_rate(s, usize::try_from(rate).ok());
        }
    });
}

/// Startups of this provider not matched by a cleanup (a layer above it
/// mirrors its own one for one).
#[unsafe(no_mangle)]
pub extern "C" fn loopback_startup_count() -> u32 {
    hook(0, |_| Loopback::dll().provider().startup_count())
}

/// Sockets this provider has open (0 once a final cleanup has run).
#[unsafe(no_mangle)]
pub extern "C" fn loopback_socket_count() -> u32 {
    hook(0, |_| {
        u32::try_from(Loopback::dll().provider().socket_count()).unwrap_or(u32::MAX)
    })
}
