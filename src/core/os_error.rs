//! `WsaError` from the operating system's errors, so a transport over OS
//! calls (`std::net`, socket2, mio) needs no table of its own.
//!
//! The raw code decides when there is one: an `errno` value on Unix; a WSA
//! code or a Win32 error on Windows (what `GetLastError` and the
//! completion status of a socket operation give). An error with no raw code
//! (made with `io::Error::new`) is mapped by its kind. What neither knows is
//! `WSASYSCALLFAILURE`.

use super::error::WsaError;
use std::io;

impl From<io::Error> for WsaError {
    /// ```
    /// use std::io;
    /// use winsock_provider::WsaError;
    /// let refused = io::Error::from(io::ErrorKind::ConnectionRefused);
    /// assert_eq!(WsaError::from(refused), WsaError::ConnectionRefused);
    /// ```
    fn from(e: io::Error) -> Self {
        let by_code = e.raw_os_error().and_then(from_os_code);
        by_code.unwrap_or_else(|| from_kind(e.kind()))
    }
}

/// The error for a raw OS code of this platform, if it is a socket error.
fn from_os_code(code: i32) -> Option<WsaError> {
    #[cfg(unix)]
    {
        from_errno(code)
    }
    #[cfg(windows)]
    {
        WsaError::from_code(code).or_else(|| from_win32(code))
    }
    #[cfg(not(any(unix, windows)))]
    {
        let _ = code;
        None
    }
}

/// An `errno` value as Winsock reports the same condition. `EINPROGRESS`
/// (a non-blocking connect under way) is `WSAEWOULDBLOCK`, as Winsock's
/// connect answers; `EPIPE` (the peer is gone: the core has already refused
/// a send after a local `shutdown`) is `WSAECONNRESET`.
#[cfg(unix)]
fn from_errno(errno: i32) -> Option<WsaError> {
    use WsaError::*;
    Some(match errno {
        libc::EINTR => Interrupted,
        libc::EACCES | libc::EPERM => AccessDenied,
        libc::EFAULT => Fault,
        libc::EINVAL => InvalidArgument,
        libc::EMFILE | libc::ENFILE => TooManySockets,
        libc::EINPROGRESS => WouldBlock,
        libc::EALREADY => Already,
        libc::ENOTSOCK | libc::EBADF => NotSocket,
        libc::EDESTADDRREQ => DestinationRequired,
        libc::EMSGSIZE => MessageSize,
        libc::EPROTOTYPE => ProtocolType,
        libc::ENOPROTOOPT => ProtocolOption,
        libc::EPROTONOSUPPORT => ProtocolNotSupported,
        libc::ESOCKTNOSUPPORT => SocketTypeNotSupported,
        libc::EOPNOTSUPP => OperationNotSupported,
        libc::EAFNOSUPPORT | libc::EPFNOSUPPORT => AddressFamilyNotSupported,
        libc::EADDRINUSE => AddressInUse,
        libc::EADDRNOTAVAIL => AddressNotAvailable,
        libc::ENETDOWN => NetworkDown,
        libc::ENETUNREACH => NetworkUnreachable,
        libc::ENETRESET => NetworkReset,
        libc::ECONNABORTED => ConnectionAborted,
        libc::ECONNRESET | libc::EPIPE => ConnectionReset,
        libc::ENOBUFS | libc::ENOMEM => NoBufferSpace,
        libc::EISCONN => IsConnected,
        libc::ENOTCONN => NotConnected,
        libc::ESHUTDOWN => Shutdown,
        libc::ETIMEDOUT => TimedOut,
        libc::ECONNREFUSED => ConnectionRefused,
        libc::EHOSTDOWN => HostDown,
        libc::EHOSTUNREACH => HostUnreachable,
        // EAGAIN and EWOULDBLOCK are one value on Linux and macOS but not
        // everywhere: a guard, not a pattern, so both are matched.
        e if e == libc::EAGAIN || e == libc::EWOULDBLOCK => WouldBlock,
        _ => return None,
    })
}

/// A Win32 error as Winsock reports it: the codes an overlapped socket
/// operation completes with (`ERROR_NETNAME_DELETED` for a reset
/// connection, spec §16) and the common system errors. WSA codes are
/// [`WsaError::from_code`]'s. Compiled on every OS, so its table is tested
/// everywhere.
#[cfg_attr(not(windows), allow(dead_code))]
fn from_win32(code: i32) -> Option<WsaError> {
    use WsaError::*;
    Some(match code {
        5 => AccessDenied,          // ERROR_ACCESS_DENIED
        8 | 14 => NoBufferSpace,    // ERROR_NOT_ENOUGH_MEMORY, ERROR_OUTOFMEMORY
        64 => ConnectionReset,      // ERROR_NETNAME_DELETED
        87 => InvalidArgument,      // ERROR_INVALID_PARAMETER
        121 => TimedOut,            // ERROR_SEM_TIMEOUT
        234 => MessageSize,         // ERROR_MORE_DATA
        1225 => ConnectionRefused,  // ERROR_CONNECTION_REFUSED
        1231 => NetworkUnreachable, // ERROR_NETWORK_UNREACHABLE
        1232 => HostUnreachable,    // ERROR_HOST_UNREACHABLE
        1234 => ConnectionReset,    // ERROR_PORT_UNREACHABLE (a UDP peer's ICMP)
        1236 => ConnectionAborted,  // ERROR_CONNECTION_ABORTED
        _ => return None,
    })
}

/// An error without a raw code, by its kind.
fn from_kind(kind: io::ErrorKind) -> WsaError {
    use io::ErrorKind as K;
    match kind {
        K::WouldBlock => WsaError::WouldBlock,
        K::Interrupted => WsaError::Interrupted,
        K::ConnectionRefused => WsaError::ConnectionRefused,
        K::ConnectionReset | K::BrokenPipe => WsaError::ConnectionReset,
        K::ConnectionAborted => WsaError::ConnectionAborted,
        K::NotConnected => WsaError::NotConnected,
        K::AddrInUse => WsaError::AddressInUse,
        K::AddrNotAvailable => WsaError::AddressNotAvailable,
        K::NetworkDown => WsaError::NetworkDown,
        K::NetworkUnreachable => WsaError::NetworkUnreachable,
        K::HostUnreachable => WsaError::HostUnreachable,
        K::TimedOut => WsaError::TimedOut,
        K::InvalidInput => WsaError::InvalidArgument,
        K::PermissionDenied => WsaError::AccessDenied,
        K::Unsupported => WsaError::OperationNotSupported,
        K::OutOfMemory => WsaError::NoBufferSpace,
        _ => WsaError::SystemCallFailure,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every raw code of this platform that names a socket condition maps
    /// to the WSA error Winsock gives for it.
    #[cfg(unix)]
    #[test]
    fn errno_values_map_to_their_wsa_errors() {
        let cases = [
            (libc::ECONNREFUSED, WsaError::ConnectionRefused),
            (libc::ECONNRESET, WsaError::ConnectionReset),
            (libc::EPIPE, WsaError::ConnectionReset),
            (libc::EINPROGRESS, WsaError::WouldBlock),
            (libc::EAGAIN, WsaError::WouldBlock),
            (libc::EALREADY, WsaError::Already),
            (libc::EISCONN, WsaError::IsConnected),
            (libc::ENOTCONN, WsaError::NotConnected),
            (libc::EADDRINUSE, WsaError::AddressInUse),
            (libc::EADDRNOTAVAIL, WsaError::AddressNotAvailable),
            (libc::EAFNOSUPPORT, WsaError::AddressFamilyNotSupported),
            (libc::ENETUNREACH, WsaError::NetworkUnreachable),
            (libc::EHOSTUNREACH, WsaError::HostUnreachable),
            (libc::ETIMEDOUT, WsaError::TimedOut),
            (libc::EMSGSIZE, WsaError::MessageSize),
            (libc::ENOPROTOOPT, WsaError::ProtocolOption),
            (libc::EMFILE, WsaError::TooManySockets),
            (libc::EACCES, WsaError::AccessDenied),
            (libc::EINTR, WsaError::Interrupted),
        ];
        for (errno, want) in cases {
            let e = io::Error::from_raw_os_error(errno);
            assert_eq!(WsaError::from(e), want, "errno {errno}");
        }
        assert_eq!(
            WsaError::from(io::Error::from_raw_os_error(libc::ENOENT)),
            WsaError::SystemCallFailure,
            "not a socket error"
        );
    }

    /// On Windows the raw code is a WSA code or a Win32 error.
    #[cfg(windows)]
    #[test]
    fn wsa_and_win32_codes_map_to_their_wsa_errors() {
        for &want in WsaError::ALL {
            let e = io::Error::from_raw_os_error(want.code());
            assert_eq!(WsaError::from(e), want);
        }
        let e = io::Error::from_raw_os_error(64);
        assert_eq!(WsaError::from(e), WsaError::ConnectionReset);
    }

    /// The Win32 table, on every OS (spec §16: a reset connection completes
    /// overlapped I/O with `ERROR_NETNAME_DELETED`).
    #[test]
    fn win32_errors_of_socket_operations_are_their_wsa_errors() {
        assert_eq!(from_win32(64), Some(WsaError::ConnectionReset));
        assert_eq!(from_win32(1225), Some(WsaError::ConnectionRefused));
        assert_eq!(from_win32(1236), Some(WsaError::ConnectionAborted));
        assert_eq!(from_win32(2), None, "ERROR_FILE_NOT_FOUND");
    }

    /// An error made from a kind alone maps by its kind.
    #[test]
    fn errors_without_a_code_map_by_kind() {
        use io::ErrorKind as K;
        let cases = [
            (K::WouldBlock, WsaError::WouldBlock),
            (K::ConnectionRefused, WsaError::ConnectionRefused),
            (K::BrokenPipe, WsaError::ConnectionReset),
            (K::TimedOut, WsaError::TimedOut),
            (K::AddrInUse, WsaError::AddressInUse),
            (K::InvalidInput, WsaError::InvalidArgument),
            (K::Other, WsaError::SystemCallFailure),
        ];
        for (kind, want) in cases {
            assert_eq!(
                WsaError::from(io::Error::new(kind, "test")),
                want,
                "{kind:?}"
            );
        }
    }
}
