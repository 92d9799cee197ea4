//! `WSPSelect` (spec §13): the caller's `fd_set`s read, turned into the
//! core's handles, selected on, and rewritten to their ready subsets.
//!
//! An `fd_set` is `u_int fd_count; SOCKET fd_array[FD_SETSIZE]`, the array
//! at the pointer's size (8 on 64-bit, after padding; 4 on 32-bit), and an
//! application may define a bigger `FD_SETSIZE`: `fd_count` entries are
//! read, however many that is. Each set is rewritten in place with the
//! caller's own `SOCKET` values, in their order.

use super::super::abi::SOCKET;
use super::super::dll::{Dll, Exported};
use super::super::guard;
use super::run;
use crate::{SelectSets, SocketHandle, WsaError, WsaResult};
use std::time::Duration;
use windows_sys::Win32::Networking::WinSock::{FD_SET, TIMEVAL};

/// The most entries a set may have (a count above it is garbage).
const MAX_SET: usize = 1 << 16;

/// Where `fd_array` starts in an `fd_set`.
const ARRAY_AT: usize = size_of::<usize>();

/// One caller set: where it is and the sockets it named.
struct CallerSet {
    set: *mut FD_SET,
    sockets: Vec<SOCKET>,
}

/// Reads a set (`None` for a null pointer): `WSAEFAULT` for memory that
/// is not the caller's.
///
/// # Safety
/// `set` null, or readable for its `fd_count` entries.
unsafe fn read_set(set: *mut FD_SET) -> WsaResult<Option<CallerSet>> {
    let Some(set) = guard::optional(set)? else {
        return Ok(None);
    };
    // SAFETY: the caller's promise; `optional` checked the pointer.
    let count = unsafe { std::ptr::addr_of!((*set).fd_count).read_unaligned() } as usize;
    // However big an application's FD_SETSIZE, not this: a garbage count
    // must not read the whole address space.
    if count > MAX_SET {
        return Err(WsaError::InvalidArgument);
    }
    let bytes = count
        .checked_mul(size_of::<SOCKET>())
        .and_then(|n| n.checked_add(ARRAY_AT))
        .ok_or(WsaError::Fault)?;
    let base = guard::bytes(set.cast::<u8>(), bytes)?;
    let sockets = (0..count)
        .map(|i| {
            // SAFETY: within the `bytes` the caller promised readable.
            unsafe {
                base.add(ARRAY_AT + i * size_of::<SOCKET>())
                    .cast::<SOCKET>()
                    .read_unaligned()
            }
        })
        .collect();
    Ok(Some(CallerSet { set, sockets }))
}

/// The core's handles of a set's sockets (`WSAENOTSOCK` for one that is
/// not this provider's open socket).
fn handles<D: Exported>(dll: &Dll<D>, set: &Option<CallerSet>) -> WsaResult<Vec<SocketHandle>> {
    set.as_ref()
        .map_or(&[][..], |s| &s.sockets[..])
        .iter()
        .map(|&s| dll.handle(s))
        .collect()
}

/// Rewrites a set to the sockets whose handles are in `ready`, in the
/// caller's order, each once.
///
/// # Safety
/// As [`read_set`], and writable.
unsafe fn write_set(set: &Option<CallerSet>, handles: &[SocketHandle], ready: &[SocketHandle]) {
    let Some(set) = set else { return };
    let mut kept: Vec<SOCKET> = Vec::new();
    for (&s, h) in set.sockets.iter().zip(handles) {
        if ready.contains(h) && !kept.contains(&s) {
            kept.push(s);
        }
    }
    let base = set.set.cast::<u8>();
    // SAFETY: the caller's promise: the set is writable over the entries it
    // had, and `kept` has no more.
    unsafe {
        std::ptr::addr_of_mut!((*set.set).fd_count).write_unaligned(kept.len() as u32);
        for (i, s) in kept.iter().enumerate() {
            base.add(ARRAY_AT + i * size_of::<SOCKET>())
                .cast::<SOCKET>()
                .write_unaligned(*s);
        }
    }
}

/// The timeout: `None` for a null pointer (wait until something is
/// ready); `WSAEINVAL` for a negative one.
///
/// # Safety
/// `timeout` null or readable.
unsafe fn read_timeout(timeout: *const TIMEVAL) -> WsaResult<Option<Duration>> {
    let Some(t) = guard::optional(timeout.cast_mut())? else {
        return Ok(None);
    };
    // SAFETY: the caller's promise; checked above.
    let t = unsafe { t.read_unaligned() };
    if t.tv_sec < 0 || t.tv_usec < 0 {
        return Err(WsaError::InvalidArgument);
    }
    Ok(Some(
        Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64),
    ))
}

/// `WSPSelect`: the number of ready entries (a socket in two sets counts
/// twice), each set rewritten to its ready subset; or `SOCKET_ERROR` with
/// `WSAEINVAL` (no set, every set empty, a negative timeout),
/// `WSAENOTSOCK` (an entry that is not this provider's open socket; the
/// sets are left as they were), `WSAEFAULT`, or `WSAEINTR` (a close of one
/// of the sockets, `WSPCancelBlockingCall` or the final cleanup ended the
/// wait). `nfds` is ignored, as the SPI says.
///
/// # Safety
/// As the SPI documents the arguments.
pub(crate) unsafe extern "system" fn select<D: Exported>(
    _nfds: i32,
    readfds: *mut FD_SET,
    writefds: *mut FD_SET,
    exceptfds: *mut FD_SET,
    timeout: *const TIMEVAL,
    lp_errno: *mut i32,
) -> i32 {
    // SAFETY: the caller's promise; every pointer is checked before use.
    unsafe {
        run::<D, _>(
            "WSPSelect",
            lp_errno,
            super::super::abi::SOCKET_ERROR,
            |dll| {
                let (read, write, except) = (
                    read_set(readfds)?,
                    read_set(writefds)?,
                    read_set(exceptfds)?,
                );
                if read.is_none() && write.is_none() && except.is_none() {
                    return Err(WsaError::InvalidArgument);
                }
                let timeout = read_timeout(timeout)?;
                let sets = SelectSets {
                    read: handles(dll, &read)?,
                    write: handles(dll, &write)?,
                    except: handles(dll, &except)?,
                };
                let ready = dll.provider.select(&sets, timeout)?;
                write_set(&read, &sets.read, &ready.read);
                write_set(&write, &sets.write, &ready.write);
                write_set(&except, &sets.except, &ready.except);
                Ok(i32::try_from(ready.count()).unwrap_or(i32::MAX))
            },
        )
    }
}
