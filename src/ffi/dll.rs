//! What a provider author supplies ([`ProviderDll`]), and the one instance
//! per process the exports share ([`Dll`]).

use super::abi::SOCKET;
use super::host::Host;
use crate::{
    Provider, ProviderConfig, ServiceFlags, SocketHandle, Transport, Waiter, WsaError, WsaResult,
};
use std::sync::Arc;

/// Settings of a provider DLL: configuration, not code.
#[derive(Clone, Debug)]
pub struct DllConfig {
    /// The core's settings, among them the version range `WSPStartup`
    /// accepts (S2).
    pub provider: ProviderConfig,
    /// `WSPDATA::szDescription` (at most 255 UTF-16 units are kept).
    pub description: &'static str,
    /// What the provider offers (`XP1_*`). The shim enforces it:
    /// `WSPSocket` offers stream sockets only with
    /// `XP1_GUARANTEED_DELIVERY`, datagram sockets only with
    /// `XP1_CONNECTIONLESS`, and `MSG_OOB` needs `XP1_EXPEDITED_DATA`.
    pub service_flags: ServiceFlags,
}

impl Default for DllConfig {
    /// Versions 2.0 to 2.2, TCP- and UDP-like sockets, graceful close.
    fn default() -> Self {
        DllConfig {
            provider: ProviderConfig::default(),
            description: "winsock-provider",
            service_flags: ServiceFlags::CONNECTIONLESS
                | ServiceFlags::GUARANTEED_DELIVERY
                | ServiceFlags::GUARANTEED_ORDER
                | ServiceFlags::GRACEFUL_CLOSE
                | ServiceFlags::EXPEDITED_DATA,
        }
    }
}

/// A provider DLL: its transport, its waiter, its settings. Implement it
/// and invoke [`export_provider!`](crate::export_provider) in a `cdylib`.
///
/// ```no_run
/// use winsock_provider::ffi::{DllConfig, ProviderDll};
/// use winsock_provider::mock::{MockTransport, Network};
/// use winsock_provider::ThreadWaiter;
/// use std::net::Ipv4Addr;
///
/// struct Mine;
///
/// impl ProviderDll for Mine {
///     type Transport = MockTransport;
///     type Waiter = ThreadWaiter;
///     fn config() -> DllConfig {
///         DllConfig { description: "mine", ..DllConfig::default() }
///     }
///     fn create() -> (Self, MockTransport, ThreadWaiter) {
///         let net = Network::new(1);
///         let node = net.add_node(Ipv4Addr::new(10, 0, 0, 1).into());
///         (Mine, net.transport(node), ThreadWaiter::new())
///     }
/// }
///
/// winsock_provider::export_provider!(Mine);
/// ```
pub trait ProviderDll: Sized + Send + Sync + 'static {
    /// The data plane.
    type Transport: Transport;
    /// How blocking calls wait.
    type Waiter: Waiter;

    /// The settings; read once.
    fn config() -> DllConfig {
        DllConfig::default()
    }

    /// Builds the instance, once per process, at the first call into the DLL.
    fn create() -> (Self, Self::Transport, Self::Waiter);

    /// Runs after every entry point, outside the core's locks (a simulated
    /// network pumps itself here). The default does nothing.
    fn after_call(&self) {}

    /// Runs at the start of every `WSPStartup`, before the core's startup,
    /// with what ws2_32 passed: the catalog entry being started and its
    /// upcall table. A layered provider keeps them to start its next
    /// provider (spec §11). The default does nothing.
    fn startup_args(
        &self,
        transport: &Self::Transport,
        protocol: &super::abi::WSAPROTOCOL_INFOW,
        upcalls: &super::abi::WSPUPCALLTABLE,
    ) {
        let _ = (transport, protocol, upcalls);
    }
}

/// The process's one instance of a [`ProviderDll`], implemented by
/// [`export_provider!`](crate::export_provider) (which owns the static).
pub trait Exported: ProviderDll {
    /// The instance, created at the first call.
    fn dll() -> &'static Dll<Self>;
    /// The instance, if any call created it.
    fn loaded() -> Option<&'static Dll<Self>>;
}

/// The core of a [`ProviderDll`].
pub type ProviderOf<D> = Provider<<D as ProviderDll>::Transport, <D as ProviderDll>::Waiter>;

/// A provider DLL's state: the core, the host side, the author's part. The
/// process has one, made by [`export_provider!`](crate::export_provider)
/// at the first call into the DLL and reached through [`Exported::dll`].
pub struct Dll<D: ProviderDll> {
    pub(crate) provider: ProviderOf<D>,
    pub(crate) host: Arc<Host>,
    pub(crate) config: DllConfig,
    app: D,
}

impl<D: ProviderDll> std::fmt::Debug for Dll<D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dll")
            .field("config", &self.config)
            .field("host", &self.host)
            .finish_non_exhaustive()
    }
}

impl<D: ProviderDll> Default for Dll<D> {
    fn default() -> Self {
        Self::new()
    }
}

impl<D: ProviderDll> Dll<D> {
    /// Builds the instance: [`ProviderDll::create`] and a core over it.
    pub fn new() -> Self {
        let config = D::config();
        let (app, transport, waiter) = D::create();
        Dll {
            provider: Provider::new(config.provider.clone(), transport, waiter),
            host: Arc::default(),
            config,
            app,
        }
    }

    /// The core: what the DLL's entries call into (for an author's own
    /// exports and for tests: its counts, its transport).
    pub fn provider(&self) -> &ProviderOf<D> {
        &self.provider
    }

    /// The author's part, as [`ProviderDll::create`] made it.
    pub fn app(&self) -> &D {
        &self.app
    }

    /// The settings, as [`ProviderDll::config`] gave them.
    pub fn config(&self) -> &DllConfig {
        &self.config
    }

    /// Overlapped operations the shim carries now (their `WSAOVERLAPPED`
    /// not written yet): 0 after the final cleanup (S6c, S6f).
    pub fn in_flight(&self) -> usize {
        self.host.inflight.len()
    }

    /// The core handle behind the host's `s`, for an entry that takes a
    /// socket. The gate answers first (S4): before any startup and after
    /// the last cleanup every call is `WSANOTINITIALISED`, whatever the
    /// handle. Then `WSAENOTSOCK` when the host does not know `s`, and also
    /// when it still answers for it but the socket behind it is closed or
    /// from before the last cleanup (S6h, S13): every entry checks the
    /// handle against the core's table here, even one whose work never
    /// reaches the core.
    pub(crate) fn handle(&self, s: SOCKET) -> WsaResult<SocketHandle> {
        if !self.provider.is_open() {
            return Err(WsaError::NotInitialised);
        }
        let h = self.host.handle_of(s)?;
        self.provider.check_open(h)?;
        Ok(h)
    }
}
