//! The one error type of the provider (S12).
//!
//! Every variant maps to exactly one Windows Sockets error code, and every code
//! the core can produce has exactly one variant. The ABI shim writes
//! [`WsaError::code`] into `*lpErrno`; Rust hosts match on the variant.

use thiserror::Error;

macro_rules! wsa_errors {
    ($( $(#[$doc:meta])* $variant:ident = $code:literal, $name:literal, $text:literal; )*) => {
        /// A Windows Sockets error, one variant per WSA code (S12).
        ///
        /// ```
        /// use winsock_provider::WsaError;
        /// assert_eq!(WsaError::NotSocket.code(), 10038);
        /// assert_eq!(WsaError::from_code(10038), Some(WsaError::NotSocket));
        /// assert_eq!(WsaError::NotSocket.name(), "WSAENOTSOCK");
        /// ```
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Error)]
        #[non_exhaustive]
        pub enum WsaError {
            $( $(#[$doc])* #[error("{} ({}): {}", $name, $code, $text)] $variant, )*
        }

        impl WsaError {
            /// Every variant, in code order.
            pub const ALL: &'static [WsaError] = &[$(WsaError::$variant),*];

            /// The numeric WSA code that `*lpErrno` receives.
            pub const fn code(self) -> i32 {
                match self { $(WsaError::$variant => $code,)* }
            }

            /// The symbolic name from winsock2.h, e.g. `"WSAENOTSOCK"`.
            pub const fn name(self) -> &'static str {
                match self { $(WsaError::$variant => $name,)* }
            }

            /// The variant for a numeric code, if the core knows it.
            pub const fn from_code(code: i32) -> Option<WsaError> {
                match code { $($code => Some(WsaError::$variant),)* _ => None }
            }
        }
    };
}

wsa_errors! {
    /// The handle of an event object is not valid (`WSA_INVALID_HANDLE`).
    InvalidHandle = 6, "WSA_INVALID_HANDLE", "specified event object handle is invalid";
    /// The overlapped operation was aborted by a close or by the final cleanup.
    OperationAborted = 995, "WSA_OPERATION_ABORTED", "overlapped operation aborted";
    /// `get_overlapped_result` without waiting, on an operation still pending.
    IoIncomplete = 996, "WSA_IO_INCOMPLETE", "overlapped I/O event object not in signaled state";
    /// An overlapped operation was started and will complete later.
    IoPending = 997, "WSA_IO_PENDING", "overlapped operation will complete later";
    /// A blocking call was interrupted (by a close, the final cleanup or a cancel).
    Interrupted = 10004, "WSAEINTR", "interrupted function call";
    /// The access was refused (a broadcast without `SO_BROADCAST`, an
    /// address another socket holds exclusively).
    AccessDenied = 10013, "WSAEACCES", "permission denied";
    /// A required pointer or buffer is missing, misaligned or too small.
    Fault = 10014, "WSAEFAULT", "bad address";
    /// An argument has an invalid value.
    InvalidArgument = 10022, "WSAEINVAL", "invalid argument";
    /// The provider cannot create more sockets.
    TooManySockets = 10024, "WSAEMFILE", "too many open sockets";
    /// A non-blocking call cannot complete now.
    WouldBlock = 10035, "WSAEWOULDBLOCK", "resource temporarily unavailable";
    /// A blocking operation is already in progress on this thread.
    InProgress = 10036, "WSAEINPROGRESS", "operation now in progress";
    /// A non-blocking connect is already in progress on this socket.
    Already = 10037, "WSAEALREADY", "operation already in progress";
    /// The handle does not name an open socket (unknown, closed or stale).
    NotSocket = 10038, "WSAENOTSOCK", "socket operation on nonsocket";
    /// A datagram socket has no destination.
    DestinationRequired = 10039, "WSAEDESTADDRREQ", "destination address required";
    /// A message is larger than the protocol allows, or than the buffer given.
    MessageSize = 10040, "WSAEMSGSIZE", "message too long";
    /// The protocol does not support this socket type.
    ProtocolType = 10041, "WSAEPROTOTYPE", "protocol wrong type for socket";
    /// An unknown or unsupported option or level (`WSPGetSockOpt`, `WSPSetSockOpt`).
    ProtocolOption = 10042, "WSAENOPROTOOPT", "bad protocol option";
    /// The protocol is not supported.
    ProtocolNotSupported = 10043, "WSAEPROTONOSUPPORT", "protocol not supported";
    /// The socket type is not supported.
    SocketTypeNotSupported = 10044, "WSAESOCKTNOSUPPORT", "socket type not supported";
    /// The operation is not supported by this socket or provider.
    OperationNotSupported = 10045, "WSAEOPNOTSUPP", "operation not supported";
    /// The address family is not supported.
    AddressFamilyNotSupported = 10047, "WSAEAFNOSUPPORT", "address family not supported";
    /// The local address is already in use.
    AddressInUse = 10048, "WSAEADDRINUSE", "address already in use";
    /// The address is not valid in this context.
    AddressNotAvailable = 10049, "WSAEADDRNOTAVAIL", "cannot assign requested address";
    /// The network subsystem has failed.
    NetworkDown = 10050, "WSAENETDOWN", "network is down";
    /// The network cannot be reached.
    NetworkUnreachable = 10051, "WSAENETUNREACH", "network is unreachable";
    /// The connection was broken while an operation was in progress.
    NetworkReset = 10052, "WSAENETRESET", "network dropped connection on reset";
    /// The connection was aborted locally.
    ConnectionAborted = 10053, "WSAECONNABORTED", "software caused connection abort";
    /// The peer reset the connection.
    ConnectionReset = 10054, "WSAECONNRESET", "connection reset by peer";
    /// No buffer space is available.
    NoBufferSpace = 10055, "WSAENOBUFS", "no buffer space available";
    /// The socket is already connected.
    IsConnected = 10056, "WSAEISCONN", "socket is already connected";
    /// The socket is not connected.
    NotConnected = 10057, "WSAENOTCONN", "socket is not connected";
    /// The direction was shut down with `shutdown`.
    Shutdown = 10058, "WSAESHUTDOWN", "cannot send after socket shutdown";
    /// The connection attempt timed out.
    TimedOut = 10060, "WSAETIMEDOUT", "connection timed out";
    /// Nothing listens at the address.
    ConnectionRefused = 10061, "WSAECONNREFUSED", "connection refused";
    /// The host is down.
    HostDown = 10064, "WSAEHOSTDOWN", "host is down";
    /// No route to the host.
    HostUnreachable = 10065, "WSAEHOSTUNREACH", "no route to host";
    /// Too many processes use the provider (the reference count is exhausted).
    ProcessLimit = 10067, "WSAEPROCLIM", "too many processes";
    /// The network subsystem is not ready.
    SystemNotReady = 10091, "WSASYSNOTREADY", "network subsystem is unavailable";
    /// The requested version is below the provider's lowest (S2).
    VersionNotSupported = 10092, "WSAVERNOTSUPPORTED", "winsock version out of range";
    /// No startup is in force, or the final cleanup is running (S4).
    NotInitialised = 10093, "WSANOTINITIALISED", "successful WSPStartup not yet performed";
    /// The peer closed a message-oriented connection gracefully.
    Disconnected = 10101, "WSAEDISCON", "graceful shutdown in progress";
    /// A provider's `WSPStartup` filled its procedure table with a null
    /// entry (a layered provider refuses such a next provider, spec §11).
    InvalidProcTable = 10104, "WSAEINVALIDPROCTABLE", "invalid procedure table from service provider";
    /// The provider failed to initialise; also a panic caught in startup (S12).
    ProviderFailedInit = 10106, "WSAEPROVIDERFAILEDINIT", "service provider failed to initialize";
    /// A system call failed; also a panic caught in any other entry point (S12).
    SystemCallFailure = 10107, "WSASYSCALLFAILURE", "system call failure";
    /// A catalog change that cannot be made: the caller is no
    /// administrator, or the GUID is already installed (`WSCInstallProvider`).
    NoRecovery = 11003, "WSANO_RECOVERY", "this is a nonrecoverable error";
}

/// The `Result` of every fallible provider call.
pub type WsaResult<T> = Result<T, WsaError>;

#[cfg(test)]
mod tests {
    use super::*;

    /// S12: each variant maps to exactly one code, and back.
    #[test]
    fn s12_codes_are_unique_and_round_trip() {
        let mut seen = std::collections::HashSet::new();
        for &e in WsaError::ALL {
            assert!(seen.insert(e.code()), "code {} used twice", e.code());
            assert_eq!(WsaError::from_code(e.code()), Some(e));
            assert!(e.to_string().starts_with(e.name()));
        }
        assert_eq!(WsaError::from_code(12345), None);
    }
}
