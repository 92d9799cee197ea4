//! Addresses as text, the forms `WSAAddressToString` and
//! `WSAStringToAddress` use (`WSPAddressToString`, `WSPStringToAddress`,
//! spec §14):
//! - IPv4 `a.b.c.d`, with `:port` only when the port is not 0;
//! - IPv6 in its compressed form, `%scope` when the scope id is not 0,
//!   in brackets with `:port` when the port is not 0 (`[fe80::1%3]:80`).
//!
//! Parsing takes those forms, a bare IPv6 address, and the IPv4 shorthands
//! `inet_addr` takes (`1`, `1.2`, `1.2.3`; each part decimal, `0x` hex or
//! `0` octal), ports in the same bases. A port of 0 or above 65535, a
//! trailing space and a bracketed IPv4 address are `WSAEINVAL`.

use super::error::{WsaError, WsaResult};
use super::transport::AddressFamily;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

/// `addr` as `WSAAddressToString` writes it.
///
/// ```
/// use winsock_provider::address_text::format;
/// assert_eq!(format(&"10.0.0.1:0".parse().unwrap()), "10.0.0.1");
/// assert_eq!(format(&"[fe80::1%3]:80".parse().unwrap()), "[fe80::1%3]:80");
/// ```
pub fn format(addr: &SocketAddr) -> String {
    match addr {
        SocketAddr::V4(a) if a.port() == 0 => a.ip().to_string(),
        SocketAddr::V4(a) => format!("{}:{}", a.ip(), a.port()),
        SocketAddr::V6(a) => {
            let mut ip = a.ip().to_string();
            if a.scope_id() != 0 {
                ip = format!("{ip}%{}", a.scope_id());
            }
            if a.port() == 0 {
                ip
            } else {
                format!("[{ip}]:{}", a.port())
            }
        }
    }
}

/// `text` as `WSAStringToAddress` reads it, for `family` (`None`:
/// `AF_UNSPEC`, either). `WSAEINVAL` for anything it does not take.
///
/// ```
/// use winsock_provider::address_text::parse;
/// use winsock_provider::AddressFamily;
/// assert_eq!(parse("127.1:0x50", Some(AddressFamily::Inet)).unwrap().to_string(), "127.0.0.1:80");
/// assert_eq!(parse("[::1]:65535", None).unwrap().to_string(), "[::1]:65535");
/// ```
pub fn parse(text: &str, family: Option<AddressFamily>) -> WsaResult<SocketAddr> {
    let v4 = || parse_v4(text).map(SocketAddr::V4);
    let v6 = || parse_v6(text).map(SocketAddr::V6);
    match family {
        Some(AddressFamily::Inet) => v4(),
        Some(AddressFamily::Inet6) => v6(),
        None => v4().or_else(v6),
    }
    .ok_or(WsaError::InvalidArgument)
}

/// A number in C's bases: `0x` hex, a leading `0` octal, else decimal.
fn number(s: &str) -> Option<u64> {
    if s.is_empty() {
        return None;
    }
    let (digits, radix) = if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        (h, 16)
    } else if s.len() > 1 && s.starts_with('0') {
        (&s[1..], 8)
    } else {
        (s, 10)
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    u64::from_str_radix(digits, radix).ok()
}

/// A port: 1 to 65535.
fn port(s: &str) -> Option<u16> {
    number(s)
        .filter(|&p| (1..=65535).contains(&p))
        .map(|p| p as u16)
}

/// `inet_addr`'s forms: `a`, `a.b` (b 24 bits), `a.b.c` (c 16 bits),
/// `a.b.c.d`, then an optional `:port`.
fn parse_v4(text: &str) -> Option<SocketAddrV4> {
    let (host, port) = match text.split_once(':') {
        Some((h, p)) => (h, port(p)?),
        None => (text, 0),
    };
    let parts: Vec<u64> = host.split('.').map(number).collect::<Option<_>>()?;
    let last_bits = match parts.len() {
        1 => 32,
        2 => 24,
        3 => 16,
        4 => 8,
        _ => return None,
    };
    let (last, leading) = parts.split_last()?;
    if leading.iter().any(|&p| p > 0xFF) || *last >= 1 << last_bits {
        return None;
    }
    let ip = leading
        .iter()
        .enumerate()
        .fold(*last, |acc, (i, &p)| acc | p << (24 - 8 * i));
    Some(SocketAddrV4::new(Ipv4Addr::from(ip as u32), port))
}

/// `[addr%scope]:port`, or a bare `addr%scope`.
fn parse_v6(text: &str) -> Option<SocketAddrV6> {
    let (host, port) = match text.strip_prefix('[') {
        Some(rest) => {
            let (inside, after) = rest.split_once(']')?;
            let port = match after {
                "" => 0,
                p => port(p.strip_prefix(':')?)?,
            };
            (inside, port)
        }
        None => (text, 0),
    };
    let (ip, scope) = match host.split_once('%') {
        Some((ip, scope)) => (ip, u32::try_from(number(scope)?).ok()?),
        None => (host, 0),
    };
    let ip: Ipv6Addr = ip.parse().ok()?;
    Some(SocketAddrV6::new(ip, port, 0, scope))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Spec §14 ([W]): the text forms Windows writes.
    #[test]
    fn spec14_addresses_are_written_as_windows_writes_them() {
        for (addr, text) in [
            ("0.0.0.0:0", "0.0.0.0"),
            ("10.1.2.3:8080", "10.1.2.3:8080"),
            ("[20ab::1]:0", "20ab::1"),
            ("[fe80::1%3]:0", "fe80::1%3"),
            ("[fe80::1%3]:80", "[fe80::1%3]:80"),
            ("[::1]:65535", "[::1]:65535"),
        ] {
            let a: SocketAddr = addr.parse().unwrap();
            assert_eq!(format(&a), text);
            assert_eq!(parse(text, None), Ok(a), "{text} reads back");
        }
    }

    /// Spec §14 ([W]): what parsing takes (the `inet_addr` shorthands, hex
    /// and octal parts and ports, a bare IPv6 address) and refuses (port 0
    /// or above 65535, a trailing space, a bracketed IPv4 address, the
    /// wrong family).
    #[test]
    fn spec14_parsing_takes_the_shorthands_and_refuses_the_rest() {
        let v4 = Some(AddressFamily::Inet);
        let v6 = Some(AddressFamily::Inet6);
        for (text, addr) in [
            ("1", "0.0.0.1:0"),
            ("1.2", "1.0.0.2:0"),
            ("1.2.3", "1.2.0.3:0"),
            ("0x7f.1", "127.0.0.1:0"),
            ("010.0.0.1:0x50", "8.0.0.1:80"),
            ("127.0.0.1:017", "127.0.0.1:15"),
        ] {
            assert_eq!(parse(text, v4), Ok(addr.parse().unwrap()), "{text}");
        }
        assert_eq!(parse("::1", v6), Ok("[::1]:0".parse().unwrap()));
        for bad in [
            "1.2.3.4:0",
            "1.2.3.4:65536",
            "1.2.3.4 ",
            "[1.2.3.4]:80",
            "1.2.3.256",
            "",
            "1..2",
        ] {
            assert_eq!(parse(bad, v4), Err(WsaError::InvalidArgument), "{bad:?}");
        }
        assert_eq!(parse("::1", v4), Err(WsaError::InvalidArgument));
        assert_eq!(parse("1.2.3.4", v6), Err(WsaError::InvalidArgument));
        assert_eq!(parse("[::1]:0", v6), Err(WsaError::InvalidArgument));
    }
}
