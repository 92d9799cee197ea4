//! Keeping the DLL in memory for the life of the process, once code of it
//! may run after ws2_32 unloads it: a completion routine queued to an
//! application thread (it runs whenever that thread next waits
//! alertably), or a layer's relay thread (S11: an unload without cleanup
//! must not pull the code from under a running thread; what cannot be
//! freed safely is leaked on purpose).

/// Pins the module that holds this function (once; later calls do
/// nothing).
#[cfg(windows)]
pub(crate) fn pin_module() {
    use crate::WsaError;
    use std::sync::Once;
    use windows_sys::Win32::System::LibraryLoader::{
        GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS, GET_MODULE_HANDLE_EX_FLAG_PIN, GetModuleHandleExW,
    };
    static PINNED: Once = Once::new();
    PINNED.call_once(|| {
        let mut module = std::ptr::null_mut();
        // SAFETY: FROM_ADDRESS takes any address inside the module (here
        // this function) in place of a name; `module` is a live local.
        let ok = unsafe {
            GetModuleHandleExW(
                GET_MODULE_HANDLE_EX_FLAG_PIN | GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS,
                pin_module as *const () as *const u16,
                &mut module,
            )
        };
        if ok == 0 {
            super::host::upcall_failed("GetModuleHandleExW(PIN)", WsaError::SystemCallFailure);
        }
    });
}

/// Off Windows nothing unloads a provider under a running thread.
#[cfg(not(windows))]
pub(crate) fn pin_module() {}
