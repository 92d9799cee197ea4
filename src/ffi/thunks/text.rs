//! `WSPAddressToString` and `WSPStringToAddress` (spec §14): the text
//! forms of [`address_text`](crate::address_text), in UTF-16, with the
//! SPI's length rules: a short buffer is `WSAEFAULT` with the length set to
//! what is needed (characters with the NUL for a string, bytes for an
//! address); a bad address, string or family is `WSAEINVAL`.

use super::super::abi::{AF_INET, AF_INET6, AF_UNSPEC, SOCKADDR, SOCKET_ERROR, WSAPROTOCOL_INFOW};
use super::super::dll::Exported;
use super::super::guard::{self, checked_mut};
use super::super::sockaddr;
use super::run;
use crate::{AddressFamily, WsaError, address_text};
use windows_sys::core::{PCWSTR, PWSTR};

/// `WSPAddressToString`: `lpsaAddress` as text into `lpszAddressString`;
/// `*lpdwAddressStringLength` in characters, the NUL included, in and out.
///
/// # Safety
/// As the SPI documents the arguments.
pub(crate) unsafe extern "system" fn address_to_string<D: Exported>(
    address: *const SOCKADDR,
    address_len: u32,
    _info: *const WSAPROTOCOL_INFOW,
    text: PWSTR,
    text_len: *mut u32,
    lp_errno: *mut i32,
) -> i32 {
    // SAFETY: the caller's promise; every pointer is checked before use.
    unsafe {
        run::<D, _>("WSPAddressToString", lp_errno, SOCKET_ERROR, |_| {
            let len = i32::try_from(address_len).map_err(|_| WsaError::InvalidArgument)?;
            let head = guard::bytes(address.cast(), 2.min(address_len as usize))?;
            if address_len < 2 {
                return Err(WsaError::InvalidArgument);
            }
            let family = match head.cast::<u16>().read_unaligned() {
                AF_INET => AddressFamily::Inet,
                AF_INET6 => AddressFamily::Inet6,
                _ => return Err(WsaError::InvalidArgument),
            };
            let addr = sockaddr::read(address, len, family).map_err(|e| match e {
                WsaError::Fault => WsaError::InvalidArgument,
                e => e,
            })?;
            let wide: Vec<u16> = address_text::format(&addr)
                .encode_utf16()
                .chain([0])
                .collect();
            let room = checked_mut(text_len)?;
            let need = wide.len() as u32;
            if text.is_null() || *room < need {
                *room = need;
                return Err(WsaError::Fault);
            }
            let out = guard::bytes_mut(text.cast(), wide.len() * 2)?.cast::<u16>();
            for (i, unit) in wide.iter().enumerate() {
                out.add(i).write_unaligned(*unit);
            }
            *room = need;
            Ok(0)
        })
    }
}

/// `WSPStringToAddress`: the text `AddressString` of `AddressFamily`
/// (`AF_UNSPEC`: either) into `lpAddress`; `*lpAddressLength` in bytes, in
/// and out. On a failure to parse, the length is left alone and the
/// address's family zeroed.
///
/// # Safety
/// As the SPI documents the arguments.
pub(crate) unsafe extern "system" fn string_to_address<D: Exported>(
    text: PCWSTR,
    family: i32,
    _info: *const WSAPROTOCOL_INFOW,
    address: *mut SOCKADDR,
    address_len: *mut i32,
    lp_errno: *mut i32,
) -> i32 {
    // SAFETY: the caller's promise; every pointer is checked before use.
    unsafe {
        run::<D, _>("WSPStringToAddress", lp_errno, SOCKET_ERROR, |_| {
            let text = guard::wide_string(text)?;
            let room = checked_mut(address_len)?;
            let family = match u16::try_from(family) {
                Ok(AF_UNSPEC) => None,
                Ok(AF_INET) => Some(AddressFamily::Inet),
                Ok(AF_INET6) => Some(AddressFamily::Inet6),
                _ => return Err(WsaError::InvalidArgument),
            };
            let addr = match address_text::parse(&text, family) {
                Ok(addr) => addr,
                Err(e) => {
                    if *room >= 2
                        && let Ok(p) = guard::bytes_mut(address.cast(), 2)
                    {
                        p.cast::<u16>().write_unaligned(0);
                    }
                    return Err(e);
                }
            };
            let need = match addr {
                std::net::SocketAddr::V4(_) => 16,
                std::net::SocketAddr::V6(_) => 28,
            };
            if *room < need {
                *room = need;
                return Err(WsaError::Fault);
            }
            sockaddr::write(addr, address, room)?;
            Ok(0)
        })
    }
}
