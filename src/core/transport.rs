//! What the core asks of the data plane.
//!
//! A transport moves bytes; the core decides what the SPI's rules make of it.
//! Calls come in with the socket's [`SocketHandle`] as the connection's key (the
//! core issues each handle once, so a transport may index its state by it).
//! Operations that cannot finish at once are registered under an [`OpId`] and
//! finished later through the [`CompletionSink`] the transport was attached to.
//!
//! Locking rule (the one thing an implementation must get right): the core
//! calls into the transport while it holds a socket's lock, and a sink call
//! takes socket locks. So the transport must **never** call the sink while
//! it holds a lock of its own that one of its methods could need. Collect
//! completions under your lock; deliver them after it. A sink call made from
//! inside one of the transport's own methods is safe: the core sees that
//! the thread holds a socket's lock and makes the call when the provider
//! call it is inside returns.

use super::error::WsaError;
use super::flags::{FdEvents, MsgFlags};
use super::handle::{OpId, SocketHandle};
use super::protocol::ProtocolInfo;
use super::sockopt::{OptionName, OptionValue};
use std::net::SocketAddr;
use std::sync::Arc;

/// The kind of socket, from `WSPSocket`'s type argument.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum SocketKind {
    /// `SOCK_STREAM`: connected, ordered bytes, graceful close.
    Stream,
    /// `SOCK_DGRAM`: connectionless messages.
    Datagram,
}

/// The address family of a socket, from `WSPSocket`'s `af` argument.
/// A socket's addresses are all of its family; an IPv6 socket may reach
/// IPv4 peers through v4-mapped addresses when it is dual-stack
/// (`IPV6_V6ONLY` off).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum AddressFamily {
    /// `AF_INET` (2): IPv4.
    Inet,
    /// `AF_INET6` (23 on Windows): IPv6.
    Inet6,
}

impl AddressFamily {
    /// The Windows `AF_*` value: 2 or 23.
    pub const fn code(self) -> i32 {
        match self {
            AddressFamily::Inet => 2,
            AddressFamily::Inet6 => 23,
        }
    }

    /// The family of a Windows `AF_*` value; another is `WSAEAFNOSUPPORT`.
    ///
    /// ```
    /// use winsock_provider::{AddressFamily, WsaError};
    /// assert_eq!(AddressFamily::from_code(23), Ok(AddressFamily::Inet6));
    /// assert_eq!(AddressFamily::from_code(10), Err(WsaError::AddressFamilyNotSupported));
    /// ```
    pub const fn from_code(af: i32) -> Result<Self, WsaError> {
        match af {
            2 => Ok(AddressFamily::Inet),
            23 => Ok(AddressFamily::Inet6),
            _ => Err(WsaError::AddressFamilyNotSupported),
        }
    }

    /// The family of an address.
    pub const fn of(addr: &SocketAddr) -> Self {
        match addr {
            SocketAddr::V4(_) => AddressFamily::Inet,
            SocketAddr::V6(_) => AddressFamily::Inet6,
        }
    }

    /// The wildcard address of the family with `port` (`0.0.0.0` or `::`).
    pub fn unspecified(self, port: u16) -> SocketAddr {
        match self {
            AddressFamily::Inet => SocketAddr::from(([0u8; 4], port)),
            AddressFamily::Inet6 => SocketAddr::from(([0u16; 8], port)),
        }
    }
}

/// How a call waits when the transport cannot finish it at once.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Wait {
    /// Non-blocking: finish now or answer [`Io::WouldBlock`]; register nothing.
    No,
    /// Register the operation under this id and finish it later through the sink.
    Later(OpId),
}

/// What a transport call did with a request.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Io<T> {
    /// Finished now with this result.
    Done(T),
    /// Registered (only for [`Wait::Later`]): the sink will get its completion.
    Pending,
    /// Could not finish now, and nothing was registered (only for [`Wait::No`]).
    WouldBlock,
}

impl<T> Io<T> {
    /// Maps the result of a finished call.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Io<U> {
        match self {
            Io::Done(t) => Io::Done(f(t)),
            Io::Pending => Io::Pending,
            Io::WouldBlock => Io::WouldBlock,
        }
    }
}

/// Data taken by a receive.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct Received {
    /// The bytes, at most the length asked for. Empty on a stream means the
    /// peer closed gracefully.
    pub data: Vec<u8>,
    /// The sender, for datagram sockets.
    pub from: Option<SocketAddr>,
    /// Result flags (`MSG_PARTIAL` when a message was cut).
    pub flags: MsgFlags,
}

/// The result of an operation that the transport finishes later.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Completed {
    /// A send consumed this many bytes.
    Sent(usize),
    /// A receive took this data.
    Received(Received),
    /// An accept produced this connection; its handle is the one given to
    /// [`Transport::accept`], its peer this address.
    Accepted(SocketAddr),
    /// A connect succeeded: the socket is connected.
    Connected,
    /// The operation failed.
    Failed(WsaError),
}

/// How the transport should end a connection.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum CloseKind {
    /// Send what is buffered, then a graceful end (FIN), in the background.
    Graceful,
    /// Discard unsent data; the peer sees a reset.
    Abortive,
}

/// Which directions `shutdown` ends (S8): `SD_RECEIVE` 0, `SD_SEND` 1, `SD_BOTH` 2.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ShutdownHow {
    /// `SD_RECEIVE`
    Receive,
    /// `SD_SEND`
    Send,
    /// `SD_BOTH`
    Both,
}

impl ShutdownHow {
    /// Decodes the `how` argument; another value is `WSAEINVAL` (S8).
    pub fn from_raw(how: i32) -> Result<Self, WsaError> {
        match how {
            0 => Ok(ShutdownHow::Receive),
            1 => Ok(ShutdownHow::Send),
            2 => Ok(ShutdownHow::Both),
            _ => Err(WsaError::InvalidArgument),
        }
    }

    /// Whether sends are shut.
    pub fn sends(self) -> bool {
        matches!(self, ShutdownHow::Send | ShutdownHow::Both)
    }

    /// Whether receives are shut.
    pub fn receives(self) -> bool {
        matches!(self, ShutdownHow::Receive | ShutdownHow::Both)
    }
}

/// Why unsent data of a closed socket could not be handed off at final cleanup.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum HandOffRefused {
    /// The transport dies with the provider: the core must wait for the data to
    /// go (bounded by the cleanup deadline, S6g).
    Unsupported,
    /// The network subsystem is down: the data is lost (S6i).
    NetworkDown,
}

/// What a claimed duplicate is ([`Transport::claim`]): the shape and state
/// of the socket its new handle shares.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct SharedSocket {
    /// The socket's address family.
    pub family: AddressFamily,
    /// Stream or datagram.
    pub kind: SocketKind,
    /// A connected stream (or a datagram socket with a default peer).
    pub connected: bool,
    /// A listening stream.
    pub listening: bool,
    /// Sending was shut down (`SD_SEND`) through another handle.
    pub shut_send: bool,
    /// Receiving was shut down (`SD_RECEIVE`) through another handle.
    pub shut_recv: bool,
}

/// Where a transport sends completions and network events. The provider gives
/// one to [`Transport::attach`] when it is created.
pub trait CompletionSink: Send + Sync {
    /// An operation registered with [`Wait::Later`] finished. A completion for an
    /// operation the core no longer tracks (aborted, or its socket gone) is
    /// ignored, so racing a cancel is harmless (S10).
    fn complete(&self, op: OpId, result: Completed);

    /// Network events happened on a socket (`FD_READ` on arrival, `FD_CLOSE`
    /// with the error of an abortive close, ...), for `WSPEventSelect`.
    fn network_event(&self, socket: SocketHandle, events: FdEvents, error: Option<WsaError>);

    /// Something changed that a blocked caller might wait for; the core passes
    /// it to its [`Waiter`](super::waiter::Waiter).
    fn wake(&self);
}

/// The data plane under a provider.
///
/// A transport moves bytes; the core decides what the SPI's rules make of
/// it. Calls come in with the socket's [`SocketHandle`] as the connection's
/// key (the core issues each handle once, so a transport may index its
/// state by it). Operations that cannot finish at once are registered under
/// an [`OpId`] and finished later through the [`CompletionSink`] the
/// transport was attached to.
///
/// **The locking rule** (the one thing an implementation must get right):
/// the core calls into the transport while it holds a socket's lock, and a
/// sink call takes socket locks. So the transport must **never** call the
/// sink while it holds a lock of its own that one of its methods could need
/// (the method, called under a socket's lock, would wait for yours while
/// the sink call waits for the socket's). Collect completions under your
/// lock; deliver them after it (from an I/O thread of your own, or from the
/// method itself once your lock is released). A sink call made from inside
/// one of the transport's own methods does not wait for the lock its
/// caller holds: the core defers it until the provider call it is inside
/// returns, then makes it once.
///
/// **The lifecycle**: [`start`](Transport::start) at the first startup,
/// [`stop`](Transport::stop) at the final cleanup, after every call has
/// left (S6f) and every socket is reset or handed off (S6d, S6g); the final
/// cleanup returns only when `stop` has. A process that exits without
/// cleanup calls neither (S11). Start again after a stop: a provider is
/// restarted at once (S6h).
///
/// The methods without a default are the data plane itself; the others
/// answer as a transport that keeps no such state would (no readiness to
/// report, nothing unsent, nothing handed off, no buffer settings), so a
/// minimal transport is short.
///
/// Two implementations to read: [`MockTransport`](crate::mock::MockTransport)
/// (a whole in-memory network) and, in `benches/instant/mod.rs`, a
/// transport that finishes every call at once and keeps no state.
///
/// Every method takes the socket's handle. A handle the transport does not
/// know is a bug in the core, and the transport may answer `WSAENOTSOCK`.
pub trait Transport: Send + Sync {
    /// Called once, when the provider is created.
    fn attach(&self, sink: Arc<dyn CompletionSink>);

    /// The first startup (the count goes from 0 to 1): start what the
    /// transport owns (an I/O thread, a connection to a lower layer).
    /// `protocol` is the catalog entry `WSPStartup` was called for. An
    /// error fails that startup, which then changes nothing (S1).
    fn start(&self, protocol: &ProtocolInfo) -> Result<(), WsaError> {
        let _ = protocol;
        Ok(())
    }

    /// A startup after the first (the count goes up from 1 or more). A
    /// layered transport mirrors it to the next provider, one for one
    /// (spec §11). An error fails that startup, which then changes nothing
    /// (S1). Default: nothing to do.
    fn nested_startup(&self, protocol: &ProtocolInfo) -> Result<(), WsaError> {
        let _ = protocol;
        Ok(())
    }

    /// A cleanup that is not the final one (S5: the count goes down and
    /// stays above 0). A layered transport mirrors it to the next provider.
    /// Default: nothing to do.
    fn nested_cleanup(&self) {}

    /// The final cleanup, after the rundown (S6f) and after every socket
    /// was reset or its data handed off or drained (S6d, S6g): stop what
    /// [`start`](Transport::start) started and return only when the
    /// provider could be unloaded (no thread of the transport's left
    /// running its code). Data handed off must outlive this (S6g).
    fn stop(&self) {}

    /// Creates the transport state of a new socket of `family` and `kind`.
    fn open(
        &self,
        socket: SocketHandle,
        family: AddressFamily,
        kind: SocketKind,
    ) -> Result<(), WsaError>;

    /// Binds to a local address (port 0 picks a free one); returns the address bound.
    fn bind(&self, socket: SocketHandle, addr: SocketAddr) -> Result<SocketAddr, WsaError>;

    /// Starts listening (stream sockets).
    fn listen(&self, socket: SocketHandle, backlog: u32) -> Result<(), WsaError>;

    /// Connects a stream socket: starts the attempt, registered under
    /// `op`, and answers [`Io::Pending`]; its end comes through the sink as
    /// [`Completed::Connected`] or [`Completed::Failed`] (`WSAECONNREFUSED`,
    /// `WSAETIMEDOUT`, `WSAENETUNREACH`, ...). [`Io::Done`] when it
    /// connected at once. An error returned here means no attempt started
    /// and nothing changed (`WSAEADDRNOTAVAIL` for a wildcard peer or port
    /// 0, say). The core makes of it what the SPI says: a blocking caller
    /// waits, a non-blocking one gets `WSAEWOULDBLOCK` and later
    /// `FD_CONNECT`, and the error is kept for `SO_ERROR`.
    ///
    /// For a datagram socket it sets the default peer, at once
    /// ([`Io::Done`]).
    fn connect(&self, socket: SocketHandle, addr: SocketAddr, op: OpId)
    -> Result<Io<()>, WsaError>;

    /// A datagram socket's connect to an `AF_UNSPEC` address: forget its
    /// default peer (WSPConnect: the association is dissolved). Default:
    /// `WSAEOPNOTSUPP`.
    fn dissolve(&self, socket: SocketHandle) -> Result<(), WsaError> {
        let _ = socket;
        Err(WsaError::OperationNotSupported)
    }

    /// Accepts a connection on `listener` as the new socket `socket`. The
    /// core does not call [`open`](Transport::open) for `socket`: accepting
    /// creates its state. If a [`Wait::Later`] accept is cancelled, the core
    /// then closes `socket` abortively, so a connection that raced the cancel
    /// does not leak.
    fn accept(
        &self,
        listener: SocketHandle,
        socket: SocketHandle,
        wait: Wait,
    ) -> Result<Io<SocketAddr>, WsaError>;

    /// Sends `data` (to `to`, for an unconnected datagram socket). A stream
    /// send with [`Wait::No`] may take only a part; with [`Wait::Later`] it
    /// completes when all of it has been taken. The buffer is the
    /// transport's from now on: a send that completes later keeps it.
    fn send(
        &self,
        socket: SocketHandle,
        data: Vec<u8>,
        to: Option<SocketAddr>,
        wait: Wait,
    ) -> Result<Io<usize>, WsaError>;

    /// Receives at most `max` bytes (one message, for datagrams).
    fn recv(
        &self,
        socket: SocketHandle,
        max: usize,
        flags: MsgFlags,
        wait: Wait,
    ) -> Result<Io<Received>, WsaError>;

    /// Forgets a registered operation; its completion, if it races, is ignored.
    fn cancel(&self, op: OpId);

    /// Ends one or both directions; never blocks (S8).
    fn shutdown(&self, socket: SocketHandle, how: ShutdownHow) -> Result<(), WsaError>;

    /// Ends the socket. After a graceful close the transport keeps sending
    /// its unsent data in the background.
    fn close(&self, socket: SocketHandle, how: CloseKind);

    /// The local address, if bound (`WSAEINVAL` if not, as
    /// `WSPGetSockName` answers).
    fn local_addr(&self, socket: SocketHandle) -> Result<SocketAddr, WsaError>;

    /// The peer's address, if connected (`WSAENOTCONN` if not).
    fn peer_addr(&self, socket: SocketHandle) -> Result<SocketAddr, WsaError>;

    /// The network events that hold for the socket right now: `FD_READ` when
    /// data (or end of stream) waits, `FD_WRITE` when a send would take
    /// bytes, `FD_ACCEPT` when a connection waits, `FD_CLOSE` after the
    /// peer's FIN or reset. A new event-select registration records these at
    /// once, as `WSPEventSelect` does. Default: none known.
    fn readiness(&self, socket: SocketHandle) -> FdEvents {
        let _ = socket;
        FdEvents::empty()
    }

    /// Bytes accepted by earlier sends that have not left this node yet.
    /// Default: 0 (everything sent has left, or the transport cannot tell).
    fn unsent(&self, socket: SocketHandle) -> usize {
        let _ = socket;
        0
    }

    /// Final cleanup: give the unsent data of a gracefully closed socket to a
    /// part of the transport that outlives the provider (S6g). Default:
    /// [`HandOffRefused::Unsupported`], so the core waits for the data to
    /// go, up to its drain deadline.
    fn hand_off(&self, socket: SocketHandle) -> Result<(), HandOffRefused> {
        let _ = socket;
        Err(HandOffRefused::Unsupported)
    }

    /// Sets the send and receive buffer sizes (`SO_SNDBUF`, `SO_RCVBUF`).
    /// Default: `WSAENOPROTOOPT` (the transport has no such setting).
    fn set_buffers(
        &self,
        socket: SocketHandle,
        send: Option<usize>,
        recv: Option<usize>,
    ) -> Result<(), WsaError> {
        let _ = (socket, send, recv);
        Err(WsaError::ProtocolOption)
    }

    /// The send and receive buffer sizes now in force (`SO_SNDBUF`,
    /// `SO_RCVBUF`). Default: `WSAENOPROTOOPT`.
    fn buffers(&self, socket: SocketHandle) -> Result<(usize, usize), WsaError> {
        let _ = socket;
        Err(WsaError::ProtocolOption)
    }

    /// Sets an option the core passes down (spec §15): the booleans
    /// applications set all the time, by name, and any other option of a
    /// level the core knows as [`OptionName::Other`] with its bytes. The
    /// core has checked that the option belongs to the socket's protocol.
    /// Default: `WSAENOPROTOOPT`.
    fn set_option(
        &self,
        socket: SocketHandle,
        name: OptionName,
        value: &OptionValue,
    ) -> Result<(), WsaError> {
        let _ = (socket, value);
        Err(name.unsupported())
    }

    /// The value of an option the core passes down (see
    /// [`set_option`](Transport::set_option)). Default: `WSAENOPROTOOPT`.
    fn option(&self, socket: SocketHandle, name: OptionName) -> Result<OptionValue, WsaError> {
        let _ = socket;
        Err(name.unsupported())
    }

    /// An ioctl the core does not handle itself (it handles `FIONBIO` and
    /// `FIONREAD`): `input` as the application gave it, at most
    /// `output_capacity` bytes back. Default: `WSAEOPNOTSUPP`, as Windows
    /// answers an unknown code (spec §14; the `WSPIoctl` page says
    /// `WSAEINVAL`, Windows and Wine say `WSAEOPNOTSUPP`, and that is what
    /// applications test for). Overlapped, the shim reports it as Windows
    /// does: `WSA_IO_PENDING`, then a completion with that error.
    fn ioctl(
        &self,
        socket: SocketHandle,
        code: u32,
        input: &[u8],
        output_capacity: usize,
    ) -> Result<Vec<u8>, WsaError> {
        let _ = (socket, code, input, output_capacity);
        Err(WsaError::OperationNotSupported)
    }

    /// Bytes a receive could take now without waiting (`FIONREAD`): all the
    /// buffered bytes of a stream, the size of the next datagram. Default:
    /// `WSAEOPNOTSUPP`.
    fn available(&self, socket: SocketHandle) -> Result<usize, WsaError> {
        let _ = socket;
        Err(WsaError::OperationNotSupported)
    }

    /// `DisconnectEx` with `TF_REUSE_SOCKET` (spec §14): the connection of
    /// `socket` ends gracefully in the background (its unsent bytes still
    /// delivered, nobody told of it any more) and `socket` is a fresh
    /// socket of the same family and kind: unbound, unconnected, its
    /// pending operations forgotten (the core ends them, S7). Default:
    /// `WSAEOPNOTSUPP`.
    fn reuse(&self, socket: SocketHandle) -> Result<(), WsaError> {
        let _ = socket;
        Err(WsaError::OperationNotSupported)
    }

    /// `WSPDuplicateSocket` (spec §14): a token (never 0) naming a
    /// duplicate of `socket` for the process `process`, which claims it
    /// once with [`claim`](Transport::claim). From now on the socket ends
    /// only when the token is claimed and every handle of it is closed: a
    /// [`close`](Transport::close) of one handle while others remain gives
    /// up that handle alone (its pending operations forgotten, as for any
    /// close), and changes nothing on the wire. Default: `WSAEOPNOTSUPP`.
    fn duplicate(&self, socket: SocketHandle, process: u32) -> Result<u32, WsaError> {
        let _ = (socket, process);
        Err(WsaError::OperationNotSupported)
    }

    /// `WSPSocket` from a duplicate's `WSAPROTOCOL_INFOW`: `socket` (a new
    /// handle, not opened) becomes another handle of the socket `token`
    /// names. Single use: a token claimed already, unknown, or not meant
    /// for this process is `WSAEINVAL`. Default: `WSAEOPNOTSUPP`.
    fn claim(&self, socket: SocketHandle, token: u32) -> Result<SharedSocket, WsaError> {
        let _ = (socket, token);
        Err(WsaError::OperationNotSupported)
    }
}
