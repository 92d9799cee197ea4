//! `WSPEventSelect`, `WSPEnumNetworkEvents` and `WSPAsyncSelect`. The
//! events are signalled through the host: `WPUSetEvent` and
//! `WPUPostMessage` (see [`Host`](super::super::host::Host)).

use super::super::abi::{SOCKET, SOCKET_ERROR, WSANETWORKEVENTS};
use super::super::dll::Exported;
use super::super::guard::checked_mut;
use super::run;
use crate::{EventKey, FdEvents, WindowKey, WsaError, WsaResult};
use windows_sys::Win32::Foundation::{HANDLE, HWND};
use windows_sys::Win32::Networking::WinSock::WSAEVENT;

/// `lNetworkEvents` as flags: bits outside `FD_ALL_EVENTS` are `WSAEINVAL`.
fn events(bits: i32) -> WsaResult<FdEvents> {
    FdEvents::from_bits(bits as u32).ok_or(WsaError::InvalidArgument)
}

/// `WSPEventSelect` (0 cancels; the socket becomes non-blocking).
///
/// # Safety
/// `lp_errno` null or writable.
pub(crate) unsafe extern "system" fn event_select<D: Exported>(
    s: SOCKET,
    event: WSAEVENT,
    network_events: i32,
    lp_errno: *mut i32,
) -> i32 {
    // SAFETY: the caller's promise.
    unsafe {
        run::<D, _>("WSPEventSelect", lp_errno, SOCKET_ERROR, |dll| {
            let h = dll.handle(s)?;
            let wanted = events(network_events)?;
            if event == 0 && !wanted.is_empty() {
                return Err(WsaError::InvalidArgument);
            }
            dll.provider
                .event_select(h, EventKey(event as u64), wanted)
                .map(|()| 0)
        })
    }
}

/// `WSPEnumNetworkEvents`: the event (if given) is reset with
/// `WPUResetEvent`, then the record copied out and cleared. Resetting
/// first keeps both promises of the SPI: a failed call changes nothing (a
/// bad event handle fails before the record is touched), and no event is
/// lost (one recorded after the reset sets the event again). Only the
/// `iErrorCode` slots of reported events are written.
///
/// # Safety
/// `out` writable; `lp_errno` null or writable.
pub(crate) unsafe extern "system" fn enum_network_events<D: Exported>(
    s: SOCKET,
    event: HANDLE,
    out: *mut WSANETWORKEVENTS,
    lp_errno: *mut i32,
) -> i32 {
    // SAFETY: the caller's promise.
    unsafe {
        run::<D, _>("WSPEnumNetworkEvents", lp_errno, SOCKET_ERROR, |dll| {
            let h = dll.handle(s)?;
            let out = checked_mut(out)?;
            if !event.is_null() {
                dll.host.upcalls.reset_event(event as WSAEVENT)?;
            }
            let recorded = dll.provider.enum_network_events(h)?;
            out.lNetworkEvents = recorded.events.bits() as i32;
            for bit in recorded.events.iter() {
                if let Some(i) = bit.bit_index() {
                    out.iErrorCode[i] = recorded.errors[i].map_or(0, |e| e.code());
                }
            }
            Ok(0)
        })
    }
}

/// `WSPAsyncSelect`: events are posted as `wMsg` to `hWnd` with
/// `WPUPostMessage` (0 cancels; the socket becomes non-blocking).
///
/// # Safety
/// `lp_errno` null or writable.
pub(crate) unsafe extern "system" fn async_select<D: Exported>(
    s: SOCKET,
    window: HWND,
    msg: u32,
    network_events: i32,
    lp_errno: *mut i32,
) -> i32 {
    // SAFETY: the caller's promise.
    unsafe {
        run::<D, _>("WSPAsyncSelect", lp_errno, SOCKET_ERROR, |dll| {
            let h = dll.handle(s)?;
            let wanted = events(network_events)?;
            if window.is_null() && !wanted.is_empty() {
                return Err(WsaError::InvalidArgument);
            }
            dll.provider
                .async_select(h, WindowKey(window as usize as u64), msg, wanted)
                .map(|()| 0)
        })
    }
}
