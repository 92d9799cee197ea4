//! The per-socket state the table holds, and the public option types.

use super::error::WsaError;
use super::flags::{FdEvents, SocketFlags};
use super::handle::{OpId, SocketHandle};
use super::notifier::{CompletionMode, EventKey, ThreadKey, WindowKey};
use super::op::Overlapped;
use super::transport::{AddressFamily, SocketKind};

/// `SO_LINGER` (S7). The default is off (`SO_DONTLINGER`): a graceful close
/// in the background.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct Linger {
    /// `l_onoff`
    pub on: bool,
    /// `l_linger`, in seconds.
    pub seconds: u16,
}

/// What `WSPEnumNetworkEvents` reports: the events recorded since the last
/// call, and an error for each (indexed by `FD_x_BIT`).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct NetworkEvents {
    /// The events recorded.
    pub events: FdEvents,
    /// `iErrorCode[FD_x_BIT]`: only slots of recorded events are meaningful.
    pub errors: [Option<WsaError>; FdEvents::MAX_EVENTS],
}

impl NetworkEvents {
    pub(crate) fn add(&mut self, events: FdEvents, error: Option<WsaError>) {
        for bit in events.iter() {
            if let Some(i) = bit.bit_index() {
                self.errors[i] = error;
            }
        }
        self.events |= events;
    }
}

/// Where a socket's network events go (`WSPEventSelect` or `WSPAsyncSelect`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Select {
    Event(EventKey),
    Window { window: WindowKey, msg: u32 },
}

/// What an operation is, for aborting it the right way.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum OpKind {
    /// A send or a receive: aborting it needs nothing beyond cancelling it.
    Transfer,
    /// A `TransmitFile` or `TransmitPackets` send: without an overlapped
    /// record it waits until every byte is taken, on a non-blocking socket
    /// too (a part sent and the rest dropped would lose data); with
    /// `disconnect` (`TF_DISCONNECT`), once it succeeds, the socket's
    /// sending is shut down (the peer sees the end after the last byte).
    /// Aborted as a transfer.
    Transmit { disconnect: bool },
    /// A blocking accept; `into` is the reserved handle of the new socket.
    Accept { into: SocketHandle },
    /// A blocking close waiting out its linger time.
    Linger,
    /// A blocking `WSPSelect`, registered on the first socket of its sets.
    Select,
    /// An `AcceptEx`: the connection goes into the application's own
    /// socket `socket`, then, when `receive` is not 0, the operation goes
    /// on as a receive of at most `receive` bytes on that socket.
    AcceptInto {
        socket: SocketHandle,
        receive: usize,
    },
    /// A connect. `background` for a non-blocking socket's: nobody waits
    /// for it and nobody is notified; its end is recorded as `FD_CONNECT`
    /// and in `SO_ERROR`.
    Connect { background: bool },
}

/// One accepted operation that has not finished.
#[derive(Clone, Debug)]
pub(crate) struct PendingOp {
    pub(crate) id: OpId,
    pub(crate) kind: OpKind,
    pub(crate) record: Overlapped,
    /// `None` for a blocking call: its caller waits, nobody is notified.
    pub(crate) mode: Option<CompletionMode>,
    pub(crate) thread: ThreadKey,
    pub(crate) user: u64,
}

impl PendingOp {
    /// A blocking call: its caller waits inside the provider for it.
    pub(crate) fn is_blocking(&self) -> bool {
        self.mode.is_none() && !self.is_background()
    }

    /// A non-blocking connect under way: no caller waits, nobody is told.
    pub(crate) fn is_background(&self) -> bool {
        matches!(self.kind, OpKind::Connect { background: true })
    }
}

/// A socket in the table.
#[derive(Debug)]
pub(crate) struct Socket {
    pub(crate) family: AddressFamily,
    pub(crate) kind: SocketKind,
    pub(crate) flags: SocketFlags,
    pub(crate) nonblocking: bool,
    pub(crate) linger: Linger,
    /// `SO_SNDTIMEO` and `SO_RCVTIMEO`: how long a blocking send or
    /// receive waits before `WSAETIMEDOUT` (`None`: for ever).
    pub(crate) send_timeout: Option<std::time::Duration>,
    pub(crate) recv_timeout: Option<std::time::Duration>,
    pub(crate) shut_send: bool,
    pub(crate) shut_recv: bool,
    pub(crate) connected: bool,
    /// A connect under way (its operation).
    pub(crate) connecting: Option<OpId>,
    /// `SO_ERROR`: the code of the last non-blocking connect's error (0:
    /// none), kept until a connect succeeds or the application sets
    /// another (reading it does not clear it, spec §15).
    pub(crate) so_error: i32,
    pub(crate) listening: bool,
    /// A close is under way (lingering); the handle already reads as closed.
    pub(crate) closing: bool,
    pub(crate) pending: Vec<PendingOp>,
    pub(crate) select: Option<(Select, FdEvents)>,
    pub(crate) record: NetworkEvents,
    /// The events that may be signalled now (spec §12): each is disarmed
    /// when signalled and armed again by its re-enabling call (`FD_READ`
    /// and `FD_OOB` by a receive, `FD_ACCEPT` by an accept, `FD_WRITE` by
    /// a send that failed `WSAEWOULDBLOCK` or a connect, `FD_CONNECT` by a
    /// connect); `FD_CLOSE` is signalled once.
    pub(crate) armed: FdEvents,
    /// A connect that ended while no registration took `FD_CONNECT`: an
    /// event-select registration made later records it (spec §12).
    pub(crate) unreported_connect: Option<Option<WsaError>>,
    /// The error the transport gave with the socket's `FD_CLOSE` (`None`
    /// for a graceful close), kept from when it came: a registration made
    /// later records `FD_CLOSE` with it (spec §12).
    pub(crate) close_error: Option<WsaError>,
    /// A pending `ConnectEx`'s send buffer: sent by the same operation once
    /// the connect succeeds, dropped if it fails.
    pub(crate) connect_data: Option<Vec<u8>>,
}

impl Socket {
    pub(crate) fn new(family: AddressFamily, kind: SocketKind, flags: SocketFlags) -> Self {
        Socket {
            family,
            kind,
            flags,
            nonblocking: false,
            linger: Linger::default(),
            send_timeout: None,
            recv_timeout: None,
            shut_send: false,
            shut_recv: false,
            connected: false,
            connecting: None,
            so_error: 0,
            listening: false,
            closing: false,
            pending: Vec::new(),
            select: None,
            record: NetworkEvents::default(),
            armed: FdEvents::REENABLED,
            unreported_connect: None,
            close_error: None,
            connect_data: None,
        }
    }

    /// Takes the pending operation `id` out, if it is still pending here.
    pub(crate) fn take_op(&mut self, id: OpId) -> Option<PendingOp> {
        let i = self.pending.iter().position(|p| p.id == id)?;
        Some(self.pending.remove(i))
    }

    /// Takes every pending operation matching `pick`, in posting order.
    pub(crate) fn take_ops(&mut self, pick: impl Fn(&PendingOp) -> bool) -> Vec<PendingOp> {
        let (taken, kept) = std::mem::take(&mut self.pending)
            .into_iter()
            .partition(|p| pick(p));
        self.pending = kept;
        taken
    }
}

/// `WSAEAFNOSUPPORT` unless `addr` is of the socket's family.
pub(crate) fn check_family(sock: &Socket, addr: &std::net::SocketAddr) -> Result<(), WsaError> {
    if AddressFamily::of(addr) == sock.family {
        Ok(())
    } else {
        Err(WsaError::AddressFamilyNotSupported)
    }
}
