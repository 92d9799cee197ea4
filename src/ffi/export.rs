//! The exports a provider DLL needs beyond its proc table, and the macro
//! that emits them: [`export_provider!`](crate::export_provider).

use super::abi::CompleteOverlappedFn;
use super::dll::Exported;
use super::guard;
use crate::{Detach, WsaError};
use std::ffi::c_void;

/// `DLL_PROCESS_DETACH`.
const DLL_PROCESS_DETACH: u32 = 0;

/// The body of the exported `WSPSetCompletionUpcall`: 0, or the S12 code of
/// a caught panic.
pub fn set_completion_upcall<D: Exported>(f: Option<CompleteOverlappedFn>) -> i32 {
    guard::returning_code(
        "WSPSetCompletionUpcall",
        WsaError::SystemCallFailure,
        || {
            D::dll().host.set_completion_upcall(f);
            Ok(())
        },
    )
}

/// The body of the exported `DllMain` (S11), which does nothing but this:
/// - detach while the process exits (`lpvReserved` not null): nothing at
///   all, not even a look at the provider; other threads are gone and
///   their locks may be held forever;
/// - detach by `FreeLibrary` (`lpvReserved` null): the core gives up
///   without waiting or telling anyone ([`Detach::Unload`]): the loader
///   lock is held, so nothing may wait for another thread.
///
/// Always `TRUE`; a panic is caught, as at every export.
pub fn dll_main<D: Exported>(reason: u32, reserved: *mut c_void) -> i32 {
    if reason == DLL_PROCESS_DETACH
        && reserved.is_null()
        && let Some(dll) = D::loaded()
    {
        guard::contain("DllMain", || {
            dll.provider.process_detach(Detach::Unload);
        });
    }
    1
}

/// Turns a [`ProviderDll`](crate::ffi::ProviderDll) into a provider DLL's
/// exports. Invoke it once, in a `cdylib`:
///
/// - `WSPStartup`, checked at compile time to have the `LPWSPSTARTUP` type
///   (`WSPUPCALLTABLE` by value);
/// - `WSPSetCompletionUpcall(f)`: a host that is not ws2_32 (a test host, a
///   simulator) gives the DLL its `WPUCompleteOverlappedRequest`, which
///   ws2_32 exports rather than passes in the upcall table. On Windows,
///   without one, ws2_32's own is used;
/// - on Windows, `DllMain` (S11, see [`dll_main`]).
///
/// [`ProviderDll`](crate::ffi::ProviderDll) shows a whole invocation;
/// `examples/loopback_provider.rs` is a whole DLL.
#[macro_export]
macro_rules! export_provider {
    ($dll:ty) => {
        const _: () = {
            static INSTANCE: ::std::sync::OnceLock<$crate::ffi::Dll<$dll>> =
                ::std::sync::OnceLock::new();

            impl $crate::ffi::Exported for $dll {
                fn dll() -> &'static $crate::ffi::Dll<$dll> {
                    INSTANCE.get_or_init($crate::ffi::Dll::new)
                }
                fn loaded() -> ::core::option::Option<&'static $crate::ffi::Dll<$dll>> {
                    INSTANCE.get()
                }
            }
        };

        $crate::__export_provider_entries!($dll);
    };
}

/// The exports every provider DLL has (`WSPStartup`,
/// `WSPSetCompletionUpcall`, `DllMain`), for a type that is
/// [`Exported`](crate::ffi::Exported). Used by
/// [`export_provider!`](crate::export_provider) and
/// [`export_layered_provider!`](crate::export_layered_provider).
#[doc(hidden)]
#[macro_export]
macro_rules! __export_provider_entries {
    ($dll:ty) => {
        /// The provider's entry point (`LPWSPSTARTUP`).
        ///
        /// # Safety
        /// As `WSPStartup` documents its arguments.
        #[unsafe(no_mangle)]
        pub unsafe extern "system" fn WSPStartup(
            requested: u16,
            data: *const $crate::ffi::__export::WSPDATA,
            info: *const $crate::ffi::__export::WSAPROTOCOL_INFOW,
            upcalls: $crate::ffi::__export::WSPUPCALLTABLE,
            table: *mut $crate::ffi::__export::WSPPROC_TABLE,
        ) -> i32 {
            // SAFETY: the caller's promise, passed on.
            unsafe { $crate::ffi::__export::startup::<$dll>(requested, data, info, upcalls, table) }
        }

        const _: $crate::ffi::__export::LPWSPSTARTUP =
            $crate::ffi::__export::assert_wsp_startup(WSPStartup);

        /// Gives the DLL the host's `WPUCompleteOverlappedRequest`.
        #[unsafe(no_mangle)]
        pub extern "system" fn WSPSetCompletionUpcall(
            complete: ::core::option::Option<$crate::ffi::__export::CompleteOverlappedFn>,
        ) -> i32 {
            $crate::ffi::__export::set_completion_upcall::<$dll>(complete)
        }

        /// The calling thread's last error set by an extension function
        /// (`ConnectEx`, ...), for a host that is not ws2_32 (on Windows
        /// it is also the thread's `GetLastError()`).
        #[unsafe(no_mangle)]
        pub extern "system" fn WSPLastError() -> i32 {
            $crate::ffi::last_error()
        }

        /// Process detach (S11); nothing else.
        #[cfg(windows)]
        #[unsafe(no_mangle)]
        pub extern "system" fn DllMain(
            _module: *mut ::core::ffi::c_void,
            reason: u32,
            reserved: *mut ::core::ffi::c_void,
        ) -> i32 {
            $crate::ffi::__export::dll_main::<$dll>(reason, reserved)
        }
    };
}
