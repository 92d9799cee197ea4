//! `WSAMSG` (ws2def.h), the message header of `WSARecvMsg` and
//! `WSASendMsg`: checked once when the call is made, and its out-fields
//! written when the receive ends.

use super::abi::{SOCKADDR, WSABUF, WSAMSG};
use super::guard;
use crate::{MsgFlags, WsaError};

/// `MSG_TRUNC`: the datagram was longer than the buffers (mswsock.h).
pub(crate) const MSG_TRUNC: u32 = 0x0100;

/// A `WSAMSG` the caller handed in, its pointers checked (S13).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Message {
    /// The header itself: its `dwFlags`, `namelen` and `Control.len` are
    /// written back.
    pub header: *mut WSAMSG,
    /// `name` (the peer's address) with a pointer to `namelen`, when a
    /// name was given.
    pub name: Option<(*mut SOCKADDR, *mut i32)>,
    /// `lpBuffers` and `dwBufferCount`.
    pub buffers: (*const WSABUF, u32),
    /// The flags in `dwFlags`.
    pub flags: MsgFlags,
}

impl Message {
    /// Reads and checks the header: `WSAEFAULT` for a bad `lpMsg`, a null
    /// `name` with a nonzero `namelen`, or a null `Control.buf` with a
    /// nonzero `Control.len` (the `WSARecvMsg` page's rules, the same for
    /// `WSASendMsg`).
    ///
    /// # Safety
    /// `header` null or pointing to a `WSAMSG` the caller may read and
    /// write, whose buffers are as the SPI documents.
    pub(crate) unsafe fn read(header: *mut WSAMSG) -> Result<Self, WsaError> {
        let checked = guard::valid(header)?;
        // SAFETY: checked just above; the caller's promise.
        let msg = unsafe { &*checked };
        if msg.name.is_null() && msg.namelen != 0 {
            return Err(WsaError::Fault);
        }
        if msg.Control.buf.is_null() && msg.Control.len != 0 {
            return Err(WsaError::Fault);
        }
        let name = (!msg.name.is_null())
            // SAFETY: a field of the checked header.
            .then(|| (msg.name, unsafe { &raw mut (*checked).namelen }));
        Ok(Message {
            header: checked,
            name,
            buffers: (msg.lpBuffers, msg.dwBufferCount),
            flags: MsgFlags::from_bits_retain(msg.dwFlags),
        })
    }
}

/// Writes a receive's flags into the header's `dwFlags` (with `MSG_TRUNC`
/// when the datagram was cut, `WSAEMSGSIZE`) and `Control.len` = 0: no
/// ancillary data is produced.
///
/// # Safety
/// `header` a header [`Message::read`] checked, still the caller's.
pub(crate) unsafe fn write_msg_flags(
    header: *mut WSAMSG,
    flags: MsgFlags,
    error: Option<WsaError>,
) {
    let truncated = if error == Some(WsaError::MessageSize) {
        MSG_TRUNC
    } else {
        0
    };
    // SAFETY: the caller's promise; plain field writes, no reference kept.
    unsafe {
        (&raw mut (*header).dwFlags).write(flags.bits() | truncated);
        (&raw mut (*header).Control.len).write(0);
    }
}
