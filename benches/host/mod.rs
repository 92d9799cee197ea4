//! ws2_32's part for the ABI benchmarks: a handle table and the upcalls a
//! provider makes on the sending path, each as cheap as it can be, so the
//! measure is the provider's.

use std::sync::Mutex;
use winsock_provider::ffi::abi::{SOCKET, WSAOVERLAPPED, WSPUPCALLTABLE};

/// The handle table: `SOCKET` n is entry n - 1, its context.
pub static CONTEXTS: Mutex<Vec<usize>> = Mutex::new(Vec::new());

unsafe extern "system" fn create_handle(_: u32, context: usize, _: *mut i32) -> SOCKET {
    let mut c = CONTEXTS.lock().unwrap();
    c.push(context);
    c.len()
}

unsafe extern "system" fn query_context(s: SOCKET, out: *mut usize, _: *mut i32) -> i32 {
    let c = CONTEXTS.lock().unwrap();
    // SAFETY: the provider passes a live local.
    unsafe { out.write(c[s - 1]) };
    0
}

unsafe extern "system" fn close_handle(_: SOCKET, _: *mut i32) -> i32 {
    0
}

unsafe extern "system" fn event(_: isize, _: *mut i32) -> i32 {
    1
}

/// ws2_32's `WPUCompleteOverlappedRequest`: writes the record, as the
/// host's stand-in (`WSPSetCompletionUpcall`).
pub unsafe extern "system" fn complete(
    _: SOCKET,
    ov: *mut WSAOVERLAPPED,
    _: u32,
    bytes: u32,
    _: *mut i32,
) -> i32 {
    // SAFETY: the provider passes the caller's live record.
    unsafe {
        (*ov).InternalHigh = bytes as usize;
        (*ov).Internal = 0;
    }
    0
}

/// The upcall table.
pub fn upcalls() -> WSPUPCALLTABLE {
    WSPUPCALLTABLE {
        lpWPUCreateSocketHandle: Some(create_handle),
        lpWPUQuerySocketHandleContext: Some(query_context),
        lpWPUCloseSocketHandle: Some(close_handle),
        lpWPUResetEvent: Some(event),
        lpWPUSetEvent: Some(event),
        ..Default::default()
    }
}
