//! The state of one socket (or one end of a connection) inside the network.
//!
//! Plain data: the rules that change it live in `stream.rs`, `datagram.rs`
//! and `scheduler.rs`.

use crate::core::handle::{OpId, SocketHandle};
use crate::core::transport::AddressFamily;
use crate::mock::ids::{EpId, InstanceId, ServiceId};
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::Duration;

/// Copies the first `n` bytes of a buffer (`n` at most its length) with two
/// slice copies rather than byte by byte.
pub(crate) fn copy_front(buf: &VecDeque<u8>, n: usize) -> Vec<u8> {
    let (a, b) = buf.as_slices();
    let from_a = n.min(a.len());
    let mut out = Vec::with_capacity(n);
    out.extend_from_slice(&a[..from_a]);
    out.extend_from_slice(&b[..n - from_a]);
    out
}

/// Removes and returns the first `n` bytes of a buffer (`n` at most its length).
pub(crate) fn take_front(buf: &mut VecDeque<u8>, n: usize) -> Vec<u8> {
    let out = copy_front(buf, n);
    buf.drain(..n);
    out
}

/// Which port namespace an endpoint binds in (TCP and UDP ports are separate).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub(crate) enum Proto {
    Stream,
    Datagram,
}

/// Who an endpoint answers to, which decides where its completions and
/// network events go (if anywhere).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Owner {
    /// A socket of a provider instance (open, or closed and still draining).
    Socket(InstanceId, SocketHandle),
    /// A connection waiting in a listener's accept queue: it has no handle yet.
    Queued(InstanceId),
    /// A connection accepted by a network-resident service.
    Service(ServiceId),
    /// Handed off at final cleanup (S6g): nobody is told anything any more.
    HandedOff,
    /// Closed gracefully by a process that then crashed, with every byte
    /// already gone from the node: the connection belongs to the network
    /// from then on (as a real transport owns a closed connection, not the
    /// process) and ends as any would; nobody is told anything (S11).
    Released,
}

impl Owner {
    /// The provider instance that hears about this endpoint, if any.
    pub(crate) fn instance(self) -> Option<InstanceId> {
        match self {
            Owner::Socket(i, _) | Owner::Queued(i) => Some(i),
            Owner::Service(_) | Owner::HandedOff | Owner::Released => None,
        }
    }
}

/// A receive registered with `Wait::Later`.
#[derive(Debug)]
pub(crate) struct PendingRecv {
    /// The instance that posted it (a shared socket has several).
    pub(crate) inst: InstanceId,
    pub(crate) op: OpId,
    pub(crate) max: usize,
    /// `MSG_PEEK`: the completion copies the data and leaves it buffered.
    pub(crate) peek: bool,
}

/// A send registered with `Wait::Later`; `taken` bytes of `data` are already
/// in the send buffer (they stay there if the send is cancelled).
#[derive(Debug)]
pub(crate) struct PendingSend {
    /// The instance that posted it (a shared socket has several).
    pub(crate) inst: InstanceId,
    pub(crate) op: OpId,
    pub(crate) data: Vec<u8>,
    pub(crate) taken: usize,
}

/// A listening stream socket.
#[derive(Debug, Default)]
pub(crate) struct Listen {
    /// At least 1 (a backlog of 0 would refuse everything; Windows raises it too).
    pub(crate) backlog: usize,
    /// Established connections not accepted yet, oldest first.
    pub(crate) queue: VecDeque<EpId>,
    /// Pending accepts: the instance that posted each, and the handle it
    /// will give the new connection.
    pub(crate) accepts: VecDeque<(InstanceId, OpId, SocketHandle)>,
}

/// One end of an established stream connection.
#[derive(Debug)]
pub(crate) struct Conn {
    pub(crate) peer: EpId,
    pub(crate) peer_addr: SocketAddr,
    /// Bytes taken from the application, not on the wire yet.
    pub(crate) send_buf: VecDeque<u8>,
    /// Bytes that arrived, not read yet.
    pub(crate) recv_buf: VecDeque<u8>,
    /// Bytes this end put on the wire that have not arrived yet (flow control).
    pub(crate) in_flight: usize,
    pub(crate) fin_sent: bool,
    pub(crate) fin_received: bool,
    /// The connection was reset: every later call and pending operation fails.
    pub(crate) reset: bool,
    pub(crate) sends: VecDeque<PendingSend>,
    /// A send found no room (`WouldBlock` or pending): `FD_WRITE` is owed
    /// when room appears.
    pub(crate) want_write: bool,
    /// Rate-limited service readers: the earliest virtual time of the next read.
    pub(crate) next_read_at: Duration,
}

impl Conn {
    pub(crate) fn new(peer: EpId, peer_addr: SocketAddr) -> Self {
        Conn {
            peer,
            peer_addr,
            send_buf: VecDeque::new(),
            recv_buf: VecDeque::new(),
            in_flight: 0,
            fin_sent: false,
            fin_received: false,
            reset: false,
            sends: VecDeque::new(),
            want_write: false,
            next_read_at: Duration::ZERO,
        }
    }
}

/// One queued datagram.
#[derive(Debug)]
pub(crate) struct Message {
    pub(crate) data: Vec<u8>,
    pub(crate) from: SocketAddr,
}

/// A datagram socket.
#[derive(Debug, Default)]
pub(crate) struct Dgram {
    /// The default peer set by `connect`; datagrams from others are dropped.
    pub(crate) peer: Option<SocketAddr>,
    pub(crate) queue: VecDeque<Message>,
    /// Sum of the queued payloads, checked against the receive buffer size.
    pub(crate) queued_bytes: usize,
}

/// A connect on its way: the SYN and its answer, due back at `due`.
#[derive(Debug)]
pub(crate) struct Connecting {
    pub(crate) op: OpId,
    pub(crate) target: SocketAddr,
    pub(crate) due: Duration,
}

/// What an endpoint is doing.
#[derive(Debug)]
pub(crate) enum Body {
    /// A stream socket neither listening nor connected.
    Idle,
    /// A stream socket whose connect is under way.
    Connecting(Connecting),
    Listening(Listen),
    Connected(Conn),
    Datagram(Dgram),
}

/// One socket, or one end of a connection, inside the network.
#[derive(Debug)]
pub(crate) struct Endpoint {
    pub(crate) owner: Owner,
    /// The socket's other handles (`WSPDuplicateSocket`), each an
    /// instance's: the socket ends when the last of them and `owner` has
    /// closed. Network events go to `owner` only; when it closes, the
    /// first of these takes its place.
    pub(crate) holders: Vec<(InstanceId, SocketHandle)>,
    /// Duplicates made and not claimed yet: each keeps the socket alive,
    /// as a handle duplicated into the target process does.
    pub(crate) unclaimed: usize,
    pub(crate) family: AddressFamily,
    pub(crate) proto: Proto,
    pub(crate) local: Option<SocketAddr>,
    /// Bound to the wildcard address (`local` holds the node's address the
    /// model routes by): `getsockname` shows the wildcard until the socket
    /// has a peer, as Windows does.
    pub(crate) bound_wildcard: bool,
    /// The boolean options the application set.
    pub(crate) options: super::options::Options,
    /// `SO_SNDBUF` (0 behaves as one segment, see `NetState::eff`).
    pub(crate) send_cap: usize,
    /// `SO_RCVBUF` (0 behaves as one segment).
    pub(crate) recv_cap: usize,
    /// The application closed it (it may still be draining).
    pub(crate) closed: bool,
    pub(crate) shut_send: bool,
    pub(crate) shut_recv: bool,
    /// Pending receives, filled in posting order.
    pub(crate) recvs: VecDeque<PendingRecv>,
    pub(crate) body: Body,
}

impl Endpoint {
    pub(crate) fn new(
        owner: Owner,
        family: AddressFamily,
        proto: Proto,
        send_cap: usize,
        recv_cap: usize,
    ) -> Self {
        Endpoint {
            owner,
            holders: Vec::new(),
            unclaimed: 0,
            family,
            proto,
            local: None,
            bound_wildcard: false,
            options: super::options::Options::default(),
            send_cap,
            recv_cap,
            closed: false,
            shut_send: false,
            shut_recv: false,
            recvs: VecDeque::new(),
            body: match proto {
                Proto::Stream => Body::Idle,
                Proto::Datagram => Body::Datagram(Dgram::default()),
            },
        }
    }

    pub(crate) fn conn(&self) -> Option<&Conn> {
        match &self.body {
            Body::Connected(c) => Some(c),
            _ => None,
        }
    }

    pub(crate) fn conn_mut(&mut self) -> Option<&mut Conn> {
        match &mut self.body {
            Body::Connected(c) => Some(c),
            _ => None,
        }
    }

    /// Whether arriving stream data is kept (otherwise it is discarded).
    pub(crate) fn takes_stream_data(&self) -> bool {
        !self.closed && !self.shut_recv && self.conn().is_some_and(|c| !c.reset)
    }

    /// Bytes in the send buffer (0 for anything but a connection).
    pub(crate) fn unsent(&self) -> usize {
        self.conn().map_or(0, |c| c.send_buf.len())
    }
}
