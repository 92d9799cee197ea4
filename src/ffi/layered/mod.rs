//! Layered service providers (LSPs): a provider over the next provider in
//! its protocol chain (spec §11).
//!
//! A layer author writes [`Layer`] hooks (see each call and its data on
//! the way down and back; change it or refuse it), says who the layer is
//! ([`LayerProvider`]: its hidden entry's GUID, its settings) and invokes
//! [`export_layered_provider!`](crate::export_layered_provider) in a
//! `cdylib`. The crate does the rest:
//! - at `WSPStartup`: finds the layer in the chain it was started for,
//!   resolves the next entry through a [`Resolver`] (the system catalog
//!   on Windows, or entries the host supplied with `WSPAddCatalogEntry`),
//!   loads that DLL ([`NextProvider`]) and starts it with the entry the
//!   chain says (the base's own, or the same chain entry for another
//!   layer); every later startup and cleanup is mirrored one for one;
//! - sockets: each application socket is the layer's own (its own handle,
//!   made with the layer's catalog id) over a next-provider socket;
//!   every call is mapped and passed down ([`LayeredTransport`]), options
//!   and ioctls the core does not keep included, untouched;
//! - overlapped I/O: each application operation is the layer's operation
//!   in its core; the layer posts its own operation below and completes
//!   the application's when it finishes, so S6c, S7 and S10 hold at the
//!   layer's level whatever the next provider does with its own;
//! - the final cleanup: S6 at the layer's level, then the next provider's
//!   `WSPCleanup` (its closed sockets keep draining, S6e through the
//!   stack); it returns when both could be unloaded.
//!
//! **Completions from below.** A next provider without IFS handles (one
//! built with this crate, say) completes through upcalls: the layer gives
//! it ws2_32's upcall table with `WPUQueueApc` and `WPUPostMessage`
//! replaced, posts every lower operation with a completion routine for the
//! relay's thread, and registers every lower socket with `WSPAsyncSelect`
//! to a relay window (see `relay`). This path runs here, on every host, in
//! the tests and the C host's stacks.
//!
//! A next provider with IFS handles (`XP1_IFS_HANDLES`: the system's
//! TCP/IP provider) completes through the handle: on Windows the layer
//! associates each lower socket with a completion port of its own and
//! reads it on one thread (`ifs`); network events still come through the
//! relay window. **That path is compiled for both Windows targets and has
//! never run**: no IFS provider exists off Windows, and Wine's ws2_32 loads
//! no provider DLLs from a catalog. Off Windows a next provider that says
//! it has IFS handles is refused at startup (`WSAEPROVIDERFAILEDINIT`).
//!
//! Installation: [`catalog`](crate::catalog) plans the catalog entries.

mod hooks;
#[cfg(windows)]
mod ifs;
mod lower_op;
mod next;
mod relay;
mod resolve;
mod transport;

pub use hooks::Layer;
pub use next::{NextProvider, StartupFn, error_of};
#[cfg(windows)]
pub use resolve::SystemCatalog;
pub use resolve::{
    CatalogEntry, DefaultCatalog, HostCatalog, Resolver, add_catalog_entry, write_provider_id,
};
pub use transport::{LayeredTransport, NextSource, SIO_QUERY_TARGET_PNP_HANDLE};

use super::abi::{WSAPROTOCOL_INFOW, WSPUPCALLTABLE};
use super::{Dll, DllConfig, Exported, ProviderDll};
use crate::ThreadWaiter;
use std::marker::PhantomData;

/// A layered provider DLL: its hooks, and who it is in the catalog.
pub trait LayerProvider: Layer + Sized {
    /// The GUID of the layer's hidden catalog entry (`ChainLen` 0), in
    /// `ProtocolInfo`'s byte order: how the layer finds itself in a chain.
    /// The install plan writes the hidden entry with it.
    const PROVIDER_ID: [u8; 16];

    /// The settings. Default: [`DllConfig::default`] described as a layer.
    fn config() -> DllConfig {
        DllConfig {
            description: "winsock-provider layer",
            ..DllConfig::default()
        }
    }

    /// Builds the hooks, once per process.
    fn create() -> Self;

    /// Where the catalog is read. Default: [`DefaultCatalog`].
    fn resolver() -> Box<dyn Resolver> {
        Box::new(DefaultCatalog)
    }
}

/// The [`ProviderDll`] of a [`LayerProvider`]: a core over a
/// [`LayeredTransport`], blocking calls waiting on real threads.
pub struct LayerDll<L>(PhantomData<fn() -> L>);

impl<L: LayerProvider> ProviderDll for LayerDll<L> {
    type Transport = LayeredTransport<L>;
    type Waiter = ThreadWaiter;

    fn config() -> DllConfig {
        L::config()
    }

    fn create() -> (Self, LayeredTransport<L>, ThreadWaiter) {
        let source = NextSource::Catalog {
            provider_id: L::PROVIDER_ID,
            resolver: L::resolver(),
        };
        (
            LayerDll(PhantomData),
            LayeredTransport::new(L::create(), source),
            ThreadWaiter::new(),
        )
    }

    fn startup_args(
        &self,
        transport: &LayeredTransport<L>,
        protocol: &WSAPROTOCOL_INFOW,
        upcalls: &WSPUPCALLTABLE,
    ) {
        transport.startup_args(protocol, upcalls);
    }
}

/// Returns when the relay has delivered everything the next provider
/// reported so far (its completions and network events) to the layer's
/// core: what a host that steps a simulated network below calls before it
/// looks at what the application was told. The body of the
/// `WSPLayerFlush` export; always 0.
pub fn flush() -> i32 {
    crate::ffi::contain("WSPLayerFlush", relay::flush);
    0
}

/// The process's one instance of a layer, implemented by
/// [`export_layered_provider!`](crate::export_layered_provider).
pub trait LayerExported: LayerProvider {
    /// The instance, created at the first call.
    fn dll() -> &'static Dll<LayerDll<Self>>;
    /// The instance, if any call created it.
    fn loaded() -> Option<&'static Dll<LayerDll<Self>>>;
}

impl<L: LayerExported> Exported for LayerDll<L> {
    fn dll() -> &'static Dll<Self> {
        L::dll()
    }
    fn loaded() -> Option<&'static Dll<Self>> {
        L::loaded()
    }
}

/// Turns a [`LayerProvider`] into a layered provider DLL's exports.
/// Invoke it once, in a `cdylib`: `WSPStartup`, `WSPSetCompletionUpcall`
/// and `DllMain` as [`export_provider!`](crate::export_provider) emits
/// them, and two exports of this crate's:
/// - `WSPAddCatalogEntry(const WSAPROTOCOL_INFOW *, const WCHAR *path)`,
///   by which a host that is not ws2_32 supplies the catalog entries (the
///   layer's hidden entry, its chains, the next providers with their DLLs)
///   the layer resolves its chain in ([`HostCatalog`]);
/// - `WSPLayerProviderId(GUID *)`: the GUID of the layer's hidden entry
///   ([`LayerProvider::PROVIDER_ID`]), so an installer or a host writes
///   the catalog the DLL expects;
/// - `WSPLayerFlush(void)`: see [`flush`].
///
/// `examples/counting_layer.rs` is a whole one.
#[macro_export]
macro_rules! export_layered_provider {
    ($layer:ty) => {
        const _: () = {
            static INSTANCE: ::std::sync::OnceLock<
                $crate::ffi::Dll<$crate::ffi::layered::LayerDll<$layer>>,
            > = ::std::sync::OnceLock::new();

            impl $crate::ffi::layered::LayerExported for $layer {
                fn dll() -> &'static $crate::ffi::Dll<$crate::ffi::layered::LayerDll<$layer>> {
                    INSTANCE.get_or_init($crate::ffi::Dll::new)
                }
                fn loaded() -> ::core::option::Option<
                    &'static $crate::ffi::Dll<$crate::ffi::layered::LayerDll<$layer>>,
                > {
                    INSTANCE.get()
                }
            }
        };

        $crate::__export_provider_entries!($crate::ffi::layered::LayerDll<$layer>);

        /// Writes the GUID of the layer's hidden catalog entry (what an
        /// installer writes, and how the layer finds itself in a chain):
        /// 0, or `WSAEFAULT` for a bad pointer.
        ///
        /// # Safety
        /// `id` writable.
        #[unsafe(no_mangle)]
        pub unsafe extern "system" fn WSPLayerProviderId(
            id: *mut $crate::ffi::__export::GUID,
        ) -> i32 {
            // SAFETY: the caller's promise, passed on.
            unsafe {
                $crate::ffi::layered::write_provider_id(
                    id,
                    <$layer as $crate::ffi::layered::LayerProvider>::PROVIDER_ID,
                )
            }
        }

        /// Returns when every completion and network event the next
        /// provider reported so far has reached the layer's core (and so
        /// the application): for a host that steps a simulated network
        /// below and then looks (layer by layer, bottom first). Always 0.
        #[unsafe(no_mangle)]
        pub extern "system" fn WSPLayerFlush() -> i32 {
            $crate::ffi::layered::flush()
        }

        /// Adds a catalog entry and its DLL's path (UTF-16) to the
        /// catalog this layer resolves its chain in: 0, or `WSAEFAULT`.
        ///
        /// # Safety
        /// `info` readable; `path` a NUL-terminated UTF-16 string.
        #[unsafe(no_mangle)]
        pub unsafe extern "system" fn WSPAddCatalogEntry(
            info: *const $crate::ffi::__export::WSAPROTOCOL_INFOW,
            path: *const u16,
        ) -> i32 {
            // SAFETY: the caller's promise, passed on.
            unsafe { $crate::ffi::layered::add_catalog_entry(info, path) }
        }
    };
}
