//! `sockaddr_in` in and out of the ABI: the one place caller-supplied
//! addresses are read and written.

use super::abi::{AF_INET, SOCKADDR, SOCKADDR_IN};
use super::guard::{self, checked_mut};
use crate::WsaError;
use std::net::{Ipv4Addr, SocketAddrV4};

const LEN: i32 = size_of::<SOCKADDR_IN>() as i32;

/// Reads an IPv4 address the caller passed as `(name, namelen)`:
/// `WSAEFAULT` when `name` is null or `namelen` too short,
/// `WSAEAFNOSUPPORT` for another family.
///
/// # Safety
/// `name`, when not null, must be readable for `namelen` bytes.
pub(super) unsafe fn read(name: *const SOCKADDR, namelen: i32) -> Result<SocketAddrV4, WsaError> {
    if namelen < LEN {
        return Err(WsaError::Fault);
    }
    let name = guard::bytes(name.cast(), LEN as usize)?;
    // SAFETY: at least `size_of::<SOCKADDR_IN>()` readable bytes, the
    // caller's promise; `read_unaligned` asks nothing of the alignment.
    let sin = unsafe { (name as *const SOCKADDR_IN).read_unaligned() };
    if sin.sin_family != AF_INET {
        return Err(WsaError::AddressFamilyNotSupported);
    }
    // SAFETY: every bit pattern of the union is a valid u32.
    let ip = unsafe { sin.sin_addr.S_un.S_addr };
    Ok(SocketAddrV4::new(
        Ipv4Addr::from(u32::from_be(ip)),
        u16::from_be(sin.sin_port),
    ))
}

/// Writes `addr` to the caller's `(name, *namelen)` and sets `*namelen`:
/// `WSAEFAULT` when either is null or the buffer is too short (then nothing
/// is written).
///
/// # Safety
/// `namelen`, when not null and aligned, must be writable; `name`, when not
/// null, writable for `*namelen` bytes.
pub(super) unsafe fn write(
    addr: SocketAddrV4,
    name: *mut SOCKADDR,
    namelen: *mut i32,
) -> Result<(), WsaError> {
    // SAFETY: the caller's promise.
    let len = unsafe { checked_mut(namelen) }?;
    if *len < LEN {
        return Err(WsaError::Fault);
    }
    let name = guard::bytes_mut(name.cast(), LEN as usize)?;
    let mut sin = SOCKADDR_IN {
        sin_family: AF_INET,
        sin_port: addr.port().to_be(),
        ..Default::default()
    };
    sin.sin_addr.S_un.S_addr = u32::from(*addr.ip()).to_be();
    // SAFETY: `*len` bytes writable, at least the struct's size;
    // `write_unaligned` asks nothing of the alignment.
    unsafe { (name as *mut SOCKADDR_IN).write_unaligned(sin) };
    *len = LEN;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// S13: short, null and foreign addresses are refused, and a refused
    /// write changes nothing.
    #[test]
    fn s13_addresses_round_trip_and_bad_ones_are_refused() {
        let addr = SocketAddrV4::new(Ipv4Addr::new(127, 0, 0, 2), 7);
        let mut sin: SOCKADDR_IN = Default::default();
        let mut len = LEN;
        unsafe { write(addr, &mut sin as *mut _ as *mut SOCKADDR, &mut len) }.unwrap();
        assert_eq!(sin.sin_port, 7u16.to_be());
        let p = &sin as *const _ as *const SOCKADDR;
        assert_eq!(unsafe { read(p, len) }, Ok(addr));
        assert_eq!(unsafe { read(p, 15) }, Err(WsaError::Fault));
        assert_eq!(unsafe { read(std::ptr::null(), 16) }, Err(WsaError::Fault));
        let foreign = SOCKADDR_IN {
            sin_family: 23,
            ..sin
        };
        let p = &foreign as *const _ as *const SOCKADDR;
        assert_eq!(
            unsafe { read(p, 16) },
            Err(WsaError::AddressFamilyNotSupported)
        );
        let mut short = 8;
        let mut untouched = [0u8; 16];
        assert_eq!(
            unsafe { write(addr, untouched.as_mut_ptr() as *mut SOCKADDR, &mut short) },
            Err(WsaError::Fault)
        );
        assert_eq!((short, untouched), (8, [0; 16]));
    }
}
