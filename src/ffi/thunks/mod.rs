//! One `extern "system"` function per `WSPPROC_TABLE` entry, generic over
//! the provider ([`Exported`]). Each runs its body through `run`: the one
//! panic boundary and `*lpErrno` writer (S12), with the gate answering
//! before anything else (S4) and pointers checked before any state changes
//! (S13).
//!
//! Files by job: [`lifecycle`] (startup, cleanup), [`sockets`] (create,
//! name, connect, close), [`io`] (send, receive, overlapped results),
//! [`options`] (socket options, ioctl), [`events`] (event and window
//! select), [`select`] (`WSPSelect`), [`text`] (address strings),
//! [`extensions`] (what `SIO_GET_EXTENSION_FUNCTION_POINTER` hands out) and
//! [`messages`] (`WSARecvMsg`, `WSASendMsg`), [`transmit`] (`TransmitFile`,
//! `TransmitPackets`), [`unsupported`] (the entries
//! that answer `WSAEOPNOTSUPP`).

pub(super) mod events;
pub(super) mod extensions;
pub(super) mod io;
pub(super) mod lifecycle;
pub(super) mod messages;
pub(super) mod options;
pub(super) mod select;
pub(super) mod sockets;
pub(super) mod text;
pub(super) mod transmit;
pub(super) mod unsupported;

use super::abi::WSPPROC_TABLE;
use super::dll::{Dll, Exported};
use super::guard;
use crate::{WsaError, WsaResult};

/// The complete table: 30 entries, none null.
pub(super) fn proc_table<D: Exported>() -> WSPPROC_TABLE {
    WSPPROC_TABLE {
        lpWSPAccept: Some(sockets::accept::<D>),
        lpWSPAddressToString: Some(text::address_to_string::<D>),
        lpWSPAsyncSelect: Some(events::async_select::<D>),
        lpWSPBind: Some(sockets::bind::<D>),
        lpWSPCancelBlockingCall: Some(io::cancel_blocking_call::<D>),
        lpWSPCleanup: Some(lifecycle::cleanup::<D>),
        lpWSPCloseSocket: Some(sockets::close_socket::<D>),
        lpWSPConnect: Some(sockets::connect::<D>),
        lpWSPDuplicateSocket: Some(sockets::duplicate_socket::<D>),
        lpWSPEnumNetworkEvents: Some(events::enum_network_events::<D>),
        lpWSPEventSelect: Some(events::event_select::<D>),
        lpWSPGetOverlappedResult: Some(io::get_overlapped_result::<D>),
        lpWSPGetPeerName: Some(sockets::get_peer_name::<D>),
        lpWSPGetSockName: Some(sockets::get_sock_name::<D>),
        lpWSPGetSockOpt: Some(options::get_sock_opt::<D>),
        lpWSPGetQOSByName: Some(unsupported::get_qos_by_name::<D>),
        lpWSPIoctl: Some(options::ioctl::<D>),
        lpWSPJoinLeaf: Some(unsupported::join_leaf::<D>),
        lpWSPListen: Some(sockets::listen::<D>),
        lpWSPRecv: Some(io::recv::<D>),
        lpWSPRecvDisconnect: Some(sockets::recv_disconnect::<D>),
        lpWSPRecvFrom: Some(io::recv_from::<D>),
        lpWSPSelect: Some(select::select::<D>),
        lpWSPSend: Some(io::send::<D>),
        lpWSPSendDisconnect: Some(sockets::send_disconnect::<D>),
        lpWSPSendTo: Some(io::send_to::<D>),
        lpWSPSetSockOpt: Some(options::set_sock_opt::<D>),
        lpWSPShutdown: Some(sockets::shutdown::<D>),
        lpWSPSocket: Some(sockets::socket::<D>),
        lpWSPStringToAddress: Some(text::string_to_address::<D>),
    }
}

/// Runs an entry's body **inside the gate**: the instance is created on
/// first use, inside the boundary (a panicking `create` is caught too);
/// outside a startup the call is `WSANOTINITIALISED` before anything else
/// happens (S4); otherwise the whole body, the shim's work as much as the
/// core's, and then the author's
/// [`after_call`](super::ProviderDll::after_call), run counted inside the
/// provider. A final cleanup therefore waits for every piece of it (S6f),
/// and what the shim makes or releases for the call (a host handle, an
/// overlapped record in flight, an event reset, a queued routine) is seen
/// by the cleanup whole or not at all (S6d, S6h). On `Err` the code goes to
/// `*lp_errno` and `fail` is returned.
///
/// # Safety
/// `lp_errno` null or writable (as [`guard::boundary`]).
unsafe fn run<D: Exported, R>(
    name: &str,
    lp_errno: *mut i32,
    fail: R,
    body: impl FnOnce(&'static Dll<D>) -> WsaResult<R>,
) -> R {
    // SAFETY: the caller's promise.
    unsafe {
        guard::boundary(name, lp_errno, fail, WsaError::SystemCallFailure, || {
            let dll = D::dll();
            let inside = dll.provider.enter();
            let r = match inside {
                Ok(_) => body(dll),
                Err(e) => Err(e),
            };
            after_call(dll);
            drop(inside);
            r
        })
    }
}

/// [`run`] for `WSPCleanup`, which must not count itself inside the
/// provider whose rundown it waits for.
///
/// # Safety
/// As [`run`].
unsafe fn run_outside_gate<D: Exported, R>(
    name: &str,
    lp_errno: *mut i32,
    fail: R,
    body: impl FnOnce(&'static Dll<D>) -> WsaResult<R>,
) -> R {
    // SAFETY: the caller's promise.
    unsafe {
        guard::boundary(name, lp_errno, fail, WsaError::SystemCallFailure, || {
            let dll = D::dll();
            let r = body(dll);
            after_call(dll);
            r
        })
    }
}

/// The author's [`after_call`](super::ProviderDll::after_call), in a boundary
/// of its own: the call it follows is done, and a panic here must not turn
/// its result into a failure that changed state (S12, S13). The panic is
/// logged and forgotten.
pub(crate) fn after_call<D: Exported>(dll: &Dll<D>) {
    guard::contain("after_call", || dll.app().after_call());
}
