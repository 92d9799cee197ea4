//! `sockaddr_in` and `sockaddr_in6` in and out of the ABI: the one place
//! caller-supplied addresses are read and written.

use super::abi::{AF_INET, AF_INET6, AF_UNSPEC, SOCKADDR, SOCKADDR_IN, SOCKADDR_IN6};
use super::guard::{self, checked_mut};
use crate::{AddressFamily, WsaError};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

const LEN_IN: i32 = size_of::<SOCKADDR_IN>() as i32;
const LEN_IN6: i32 = size_of::<SOCKADDR_IN6>() as i32;

/// The size of `family`'s `sockaddr`.
fn len_of(family: AddressFamily) -> i32 {
    match family {
        AddressFamily::Inet => LEN_IN,
        AddressFamily::Inet6 => LEN_IN6,
    }
}

/// What a caller's `sockaddr` names.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Name {
    /// An address of the socket's family.
    Addr(SocketAddr),
    /// `AF_UNSPEC`: no address (a datagram socket's connect to it
    /// dissolves its association).
    Unspecified,
}

/// Reads the address a caller passed as `(name, namelen)` for a socket of
/// `family`: `WSAEFAULT` when `name` is null or `namelen` is shorter than
/// the family's `sockaddr` (a `sockaddr_in` given to an IPv6 socket), and
/// `WSAEAFNOSUPPORT` for an address of another family.
///
/// # Safety
/// `name`, when not null, must be readable for `namelen` bytes.
pub(super) unsafe fn read(
    name: *const SOCKADDR,
    namelen: i32,
    family: AddressFamily,
) -> Result<SocketAddr, WsaError> {
    // SAFETY: the caller's promise.
    match unsafe { read_name(name, namelen, family) }? {
        Name::Addr(a) => Ok(a),
        Name::Unspecified => Err(WsaError::AddressFamilyNotSupported),
    }
}

/// [`read`], where `AF_UNSPEC` is an answer too (`WSPConnect`).
///
/// # Safety
/// `name`, when not null, must be readable for `namelen` bytes.
pub(super) unsafe fn read_name(
    name: *const SOCKADDR,
    namelen: i32,
    family: AddressFamily,
) -> Result<Name, WsaError> {
    const FAMILY_LEN: usize = size_of::<u16>();
    if namelen < FAMILY_LEN as i32 {
        return Err(WsaError::Fault);
    }
    let head = guard::bytes(name.cast(), FAMILY_LEN)?;
    // SAFETY: two readable bytes (the family comes first in every sockaddr).
    let sa_family = unsafe { (head as *const u16).read_unaligned() };
    if sa_family == AF_UNSPEC {
        return Ok(Name::Unspecified);
    }
    if namelen < len_of(family) {
        return Err(WsaError::Fault);
    }
    let bytes = guard::bytes(name.cast(), len_of(family) as usize)?;
    match family {
        _ if sa_family != family.code() as u16 => Err(WsaError::AddressFamilyNotSupported),
        AddressFamily::Inet => {
            // SAFETY: a whole `SOCKADDR_IN` is readable, the caller's
            // promise; `read_unaligned` asks nothing of the alignment.
            let sin = unsafe { (bytes as *const SOCKADDR_IN).read_unaligned() };
            // SAFETY: every bit pattern of the union is a valid u32.
            let ip = unsafe { sin.sin_addr.S_un.S_addr };
            Ok(Name::Addr(SocketAddr::V4(SocketAddrV4::new(
                Ipv4Addr::from(u32::from_be(ip)),
                u16::from_be(sin.sin_port),
            ))))
        }
        AddressFamily::Inet6 => {
            // SAFETY: a whole `SOCKADDR_IN6` is readable, as above.
            let sin6 = unsafe { (bytes as *const SOCKADDR_IN6).read_unaligned() };
            // SAFETY: every bit pattern of either union is valid.
            let (ip, scope) = unsafe { (sin6.sin6_addr.u.Byte, sin6.Anonymous.sin6_scope_id) };
            Ok(Name::Addr(SocketAddr::V6(SocketAddrV6::new(
                Ipv6Addr::from(ip),
                u16::from_be(sin6.sin6_port),
                u32::from_be(sin6.sin6_flowinfo),
                scope,
            ))))
        }
    }
}

/// Writes `addr` to the caller's `(name, *namelen)` and sets `*namelen`:
/// `WSAEFAULT` when either is null or the buffer is shorter than the
/// address's `sockaddr` (then nothing is written).
///
/// # Safety
/// `namelen`, when not null and aligned, must be writable; `name`, when not
/// null, writable for `*namelen` bytes.
pub(super) unsafe fn write(
    addr: SocketAddr,
    name: *mut SOCKADDR,
    namelen: *mut i32,
) -> Result<(), WsaError> {
    // SAFETY: the caller's promise.
    let len = unsafe { checked_mut(namelen) }?;
    let need = len_of(AddressFamily::of(&addr));
    if *len < need {
        return Err(WsaError::Fault);
    }
    let name = guard::bytes_mut(name.cast(), need as usize)?;
    match addr {
        SocketAddr::V4(a) => {
            let mut sin = SOCKADDR_IN {
                sin_family: AF_INET,
                sin_port: a.port().to_be(),
                ..Default::default()
            };
            sin.sin_addr.S_un.S_addr = u32::from(*a.ip()).to_be();
            // SAFETY: `need` bytes writable (checked above);
            // `write_unaligned` asks nothing of the alignment.
            unsafe { (name as *mut SOCKADDR_IN).write_unaligned(sin) };
        }
        SocketAddr::V6(a) => {
            let mut sin6 = SOCKADDR_IN6 {
                sin6_family: AF_INET6,
                sin6_port: a.port().to_be(),
                sin6_flowinfo: a.flowinfo().to_be(),
                ..Default::default()
            };
            sin6.sin6_addr.u.Byte = a.ip().octets();
            sin6.Anonymous.sin6_scope_id = a.scope_id();
            // SAFETY: as above.
            unsafe { (name as *mut SOCKADDR_IN6).write_unaligned(sin6) };
        }
    }
    *len = need;
    Ok(())
}

/// A `sockaddr` the shim owns, for the calls it makes into another
/// provider (a layered provider's next provider): room for either family,
/// with its length.
#[derive(Clone, Copy)]
#[repr(C)]
pub(super) struct Storage {
    sin6: SOCKADDR_IN6,
    /// The length in bytes: the address's, or the room when empty.
    pub(super) len: i32,
}

impl Storage {
    /// Room for an address to be written (`WSPGetSockName`, `WSPAccept`,
    /// `WSPRecvFrom`).
    pub(super) fn empty() -> Self {
        Storage {
            sin6: SOCKADDR_IN6::default(),
            len: LEN_IN6,
        }
    }

    /// `addr` as its family's `sockaddr`.
    pub(super) fn of(addr: SocketAddr) -> Self {
        let mut s = Storage::empty();
        // SAFETY: `s` is a live local with room for either family.
        let written = unsafe { write(addr, s.as_mut_ptr(), &mut s.len) };
        debug_assert!(written.is_ok(), "a sockaddr_in6 holds every address");
        s
    }

    /// The address for a call that reads one.
    pub(super) fn as_ptr(&self) -> *const SOCKADDR {
        (&raw const self.sin6).cast()
    }

    /// The address for a call that writes one (with `&mut self.len`).
    pub(super) fn as_mut_ptr(&mut self) -> *mut SOCKADDR {
        (&raw mut self.sin6).cast()
    }

    /// The address written into it: `WSAEAFNOSUPPORT` for a family other
    /// than `AF_INET` and `AF_INET6`, `WSAEFAULT` for a short length.
    pub(super) fn addr(&self) -> Result<SocketAddr, WsaError> {
        let family = AddressFamily::from_code(i32::from(self.sin6.sin6_family))?;
        // SAFETY: `self` is readable for `len` bytes, up to its size.
        unsafe { read(self.as_ptr(), self.len.min(LEN_IN6), family) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name_of<T>(v: &T) -> *const SOCKADDR {
        v as *const T as *const SOCKADDR
    }

    /// S13: short, null and foreign addresses are refused, and a refused
    /// write changes nothing.
    #[test]
    fn s13_addresses_round_trip_and_bad_ones_are_refused() {
        let v4 = AddressFamily::Inet;
        let addr: SocketAddr = "127.0.0.2:7".parse().unwrap();
        let mut sin: SOCKADDR_IN = Default::default();
        let mut len = LEN_IN;
        unsafe { write(addr, &mut sin as *mut _ as *mut SOCKADDR, &mut len) }.unwrap();
        assert_eq!(sin.sin_port, 7u16.to_be());
        let p = name_of(&sin);
        assert_eq!(unsafe { read(p, len, v4) }, Ok(addr));
        assert_eq!(unsafe { read(p, 15, v4) }, Err(WsaError::Fault));
        assert_eq!(
            unsafe { read(std::ptr::null(), 16, v4) },
            Err(WsaError::Fault)
        );
        let mut short = 8;
        let mut untouched = [0u8; 16];
        assert_eq!(
            unsafe { write(addr, untouched.as_mut_ptr() as *mut SOCKADDR, &mut short) },
            Err(WsaError::Fault)
        );
        assert_eq!((short, untouched), (8, [0; 16]));
    }

    /// An owned sockaddr round-trips both families and refuses a foreign
    /// one.
    #[test]
    fn storage_round_trips_both_families() {
        for a in ["10.0.0.1:80", "[fe80::1%3]:443"] {
            let addr: SocketAddr = a.parse().unwrap();
            assert_eq!(Storage::of(addr).addr(), Ok(addr));
        }
        assert_eq!(Storage::of("1.2.3.4:5".parse().unwrap()).len, LEN_IN);
        let mut foreign = Storage::empty();
        foreign.sin6.sin6_family = 99;
        assert_eq!(foreign.addr(), Err(WsaError::AddressFamilyNotSupported));
    }

    /// IPv6 addresses (spec §15) round-trip with their scope and flow.
    #[test]
    fn ipv6_addresses_round_trip() {
        let v6 = AddressFamily::Inet6;
        let addr = SocketAddr::V6(SocketAddrV6::new("fe80::1".parse().unwrap(), 443, 5, 3));
        let mut sin6: SOCKADDR_IN6 = Default::default();
        let mut len = LEN_IN6;
        unsafe { write(addr, &mut sin6 as *mut _ as *mut SOCKADDR, &mut len) }.unwrap();
        assert_eq!((len, sin6.sin6_family), (28, AF_INET6));
        assert_eq!(unsafe { read(name_of(&sin6), len, v6) }, Ok(addr));
        let mut short = 16;
        let mut untouched = [0u8; 28];
        assert_eq!(
            unsafe { write(addr, untouched.as_mut_ptr() as *mut SOCKADDR, &mut short) },
            Err(WsaError::Fault),
            "a sockaddr_in's room is too short for an IPv6 address"
        );
        assert_eq!((short, untouched), (16, [0; 28]));
    }

    /// S13, spec §15: an address of the wrong family is refused: a
    /// `sockaddr_in` (16 bytes) given to an IPv6 socket is too short
    /// (`WSAEFAULT`); a `sockaddr_in6` given to an IPv4 socket is of a
    /// family it does not support (`WSAEAFNOSUPPORT`); `AF_UNSPEC` is no
    /// address.
    #[test]
    fn s13_an_address_of_the_wrong_family_is_refused() {
        let sin = SOCKADDR_IN {
            sin_family: AF_INET,
            ..Default::default()
        };
        let sin6 = SOCKADDR_IN6 {
            sin6_family: AF_INET6,
            ..Default::default()
        };
        let v4 = AddressFamily::Inet;
        let v6 = AddressFamily::Inet6;
        assert_eq!(
            unsafe { read(name_of(&sin), LEN_IN, v6) },
            Err(WsaError::Fault)
        );
        assert_eq!(
            unsafe { read(name_of(&sin6), LEN_IN6, v4) },
            Err(WsaError::AddressFamilyNotSupported)
        );
        let unspec = SOCKADDR_IN::default();
        assert_eq!(
            unsafe { read_name(name_of(&unspec), LEN_IN, v4) },
            Ok(Name::Unspecified)
        );
        assert_eq!(
            unsafe { read(name_of(&unspec), LEN_IN, v4) },
            Err(WsaError::AddressFamilyNotSupported)
        );
        assert_eq!(
            unsafe { read_name(name_of(&unspec), 1, v4) },
            Err(WsaError::Fault)
        );
    }
}
