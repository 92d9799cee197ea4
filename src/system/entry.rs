//! One socket of the host transport: the operating system's socket in the
//! state it is in, the operations waiting on it, and how they make
//! progress when it is ready.

use crate::core::error::WsaError;
use crate::core::flags::{FdEvents, MsgFlags};
use crate::core::handle::{OpId, SocketHandle};
use crate::core::transport::{AddressFamily, Completed, Received, SocketKind};
use socket2::{SockRef, Socket};
use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, UdpSocket};

/// The largest datagram a receive can see (the IPv4 limit; IPv6 jumbograms
/// are not carried).
const MAX_DATAGRAM: usize = 65_535;

/// The operating system's socket, by what it has become. A stream starts
/// [`Fresh`](Os::Fresh) and becomes a connection (from the moment its
/// connect starts) or a listener; a datagram socket is one from the start.
pub(crate) enum Os {
    Fresh(Socket),
    Stream(TcpStream),
    Listener(TcpListener),
    Datagram(UdpSocket),
}

impl Os {
    /// The socket, for the options and names every state has.
    pub(crate) fn sock(&self) -> SockRef<'_> {
        match self {
            Os::Fresh(s) => SockRef::from(s),
            Os::Stream(s) => SockRef::from(s),
            Os::Listener(s) => SockRef::from(s),
            Os::Datagram(s) => SockRef::from(s),
        }
    }

    /// The descriptor, for the poller.
    pub(crate) fn raw_fd(&self) -> std::os::fd::RawFd {
        use std::os::fd::AsRawFd;
        match self {
            Os::Fresh(s) => s.as_raw_fd(),
            Os::Stream(s) => s.as_raw_fd(),
            Os::Listener(s) => s.as_raw_fd(),
            Os::Datagram(s) => s.as_raw_fd(),
        }
    }
}

/// A receive waiting for data.
pub(crate) struct PendingRecv {
    pub(crate) op: OpId,
    pub(crate) max: usize,
    pub(crate) flags: MsgFlags,
}

/// A send waiting for room: `data[done..]` still to go.
pub(crate) struct PendingSend {
    pub(crate) op: OpId,
    pub(crate) data: Vec<u8>,
    pub(crate) done: usize,
    pub(crate) to: Option<SocketAddr>,
}

/// What progress produced, for the sink (called after the lock).
pub(crate) enum Out {
    Complete(OpId, Completed),
    Event(SocketHandle, FdEvents, Option<WsaError>),
}

/// A connection an accept took, to become socket `into` (done under the
/// lock, before the accept's completion is delivered).
pub(crate) struct Adopt {
    pub(crate) into: SocketHandle,
    pub(crate) stream: TcpStream,
}

/// One socket.
pub(crate) struct Entry {
    pub(crate) os: Os,
    pub(crate) family: AddressFamily,
    pub(crate) kind: SocketKind,
    /// Registered with the poller under this token.
    pub(crate) token: Option<mio::Token>,
    /// The connect under way (the stream's fd is connecting).
    pub(crate) connecting: Option<OpId>,
    pub(crate) recvs: VecDeque<PendingRecv>,
    pub(crate) sends: VecDeque<PendingSend>,
    pub(crate) accepts: VecDeque<(OpId, SocketHandle)>,
    /// A listener saw a connection arrive that no accept has taken yet.
    pub(crate) acceptable: bool,
    /// Options the host has no socket option for, kept and read back
    /// (`SO_DEBUG`, `SO_EXCLUSIVEADDRUSE`, `SO_DONTROUTE`,
    /// `SO_CONDITIONAL_ACCEPT`).
    pub(crate) kept: super::options::Kept,
}

impl Entry {
    pub(crate) fn new(os: Os, family: AddressFamily, kind: SocketKind) -> Self {
        Entry {
            os,
            family,
            kind,
            token: None,
            connecting: None,
            recvs: VecDeque::new(),
            sends: VecDeque::new(),
            accepts: VecDeque::new(),
            acceptable: false,
            kept: Default::default(),
        }
    }

    /// Unsent bytes still in the transport's hands (not yet given to the
    /// operating system).
    pub(crate) fn unsent(&self) -> usize {
        self.sends.iter().map(|s| s.data.len() - s.done).sum()
    }

    /// Removes `op` from whatever it waits in; whether it was there.
    pub(crate) fn forget(&mut self, op: OpId) -> bool {
        let before = self.recvs.len() + self.sends.len() + self.accepts.len();
        self.recvs.retain(|r| r.op != op);
        self.sends.retain(|s| s.op != op);
        self.accepts.retain(|(o, _)| *o != op);
        before != self.recvs.len() + self.sends.len() + self.accepts.len()
    }
}

/// An error of an I/O call: `None` for "not now" (would block).
fn now_or_never<T>(r: io::Result<T>) -> Result<Option<T>, WsaError> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(None),
        Err(e) if e.kind() == io::ErrorKind::Interrupted => Ok(None),
        Err(e) => Err(WsaError::from(e)),
    }
}

/// One receive on `os` now: `Ok(None)` when nothing is there yet.
pub(crate) fn try_recv(os: &Os, max: usize, flags: MsgFlags) -> Result<Option<Received>, WsaError> {
    let peek = flags.contains(MsgFlags::PEEK);
    match os {
        Os::Stream(s) => {
            let mut buf = vec![0u8; max];
            let n = if peek {
                now_or_never(s.peek(&mut buf))?
            } else {
                now_or_never((&*s).read(&mut buf))?
            };
            Ok(n.map(|n| {
                buf.truncate(n);
                Received {
                    data: buf,
                    from: None,
                    flags: MsgFlags::empty(),
                }
            }))
        }
        Os::Datagram(s) => {
            // One byte more than asked shows whether the message was cut.
            let mut buf = vec![0u8; max.saturating_add(1).min(MAX_DATAGRAM + 1)];
            let got = if peek {
                now_or_never(s.peek_from(&mut buf))?
            } else {
                now_or_never(s.recv_from(&mut buf))?
            };
            Ok(got.map(|(n, from)| {
                let cut = n > max;
                buf.truncate(n.min(max));
                Received {
                    data: buf,
                    from: Some(from),
                    flags: if cut {
                        MsgFlags::PARTIAL
                    } else {
                        MsgFlags::empty()
                    },
                }
            }))
        }
        Os::Fresh(_) | Os::Listener(_) => Err(WsaError::NotConnected),
    }
}

/// Writes what `os` takes now of `data`: the bytes taken, `Ok(None)` when
/// it takes nothing (would block).
pub(crate) fn try_send(
    os: &Os,
    data: &[u8],
    to: Option<SocketAddr>,
) -> Result<Option<usize>, WsaError> {
    match os {
        Os::Stream(s) => now_or_never((&*s).write(data)),
        Os::Datagram(s) => match to {
            Some(to) => now_or_never(s.send_to(data, to)),
            None => now_or_never(s.send(data)),
        },
        Os::Fresh(_) | Os::Listener(_) => Err(WsaError::NotConnected),
    }
}

/// Accepts one connection from a listener now, non-blocking.
pub(crate) fn try_accept(os: &Os) -> Result<Option<(TcpStream, SocketAddr)>, WsaError> {
    match os {
        Os::Listener(l) => match now_or_never(l.accept())? {
            Some((s, peer)) => {
                s.set_nonblocking(true).map_err(WsaError::from)?;
                Ok(Some((s, peer)))
            }
            None => Ok(None),
        },
        _ => Err(WsaError::InvalidArgument),
    }
}

/// The `SHUT_*` of a Winsock `how`.
pub(crate) fn shutdown_of(how: crate::ShutdownHow) -> Shutdown {
    match how {
        crate::ShutdownHow::Receive => Shutdown::Read,
        crate::ShutdownHow::Send => Shutdown::Write,
        crate::ShutdownHow::Both => Shutdown::Both,
    }
}

impl Entry {
    /// Everything the socket can do now that it is ready: a connect that
    /// ended, accepts, sends and receives in posting order; the network
    /// events an event-select registration hears. `readable` and
    /// `writable` are what the poller reported; `closed`, the peer's end.
    pub(crate) fn progress(
        &mut self,
        h: SocketHandle,
        readable: bool,
        writable: bool,
        closed: bool,
        out: &mut Vec<Out>,
        adopt: &mut Vec<Adopt>,
    ) {
        if let (Some(op), Os::Stream(s)) = (self.connecting, &self.os) {
            match connect_outcome(s) {
                None => return,
                Some(result) => {
                    self.connecting = None;
                    let failed = result.is_err();
                    let done = result.map_or_else(Completed::Failed, |()| Completed::Connected);
                    out.push(Out::Complete(op, done));
                    if failed {
                        return;
                    }
                }
            }
        }
        if readable {
            self.acceptable = matches!(self.os, Os::Listener(_));
            self.progress_accepts(out, adopt);
            self.progress_recvs(out);
        }
        if writable {
            self.progress_sends(out);
        }
        let mut events = FdEvents::empty();
        if readable && self.recvs.is_empty() {
            events |= match self.os {
                Os::Listener(_) if self.acceptable => FdEvents::ACCEPT,
                Os::Listener(_) | Os::Fresh(_) => FdEvents::empty(),
                Os::Stream(_) | Os::Datagram(_) => FdEvents::READ,
            };
        }
        let can_write = matches!(self.os, Os::Stream(_) | Os::Datagram(_));
        if writable && self.sends.is_empty() && can_write {
            events |= FdEvents::WRITE;
        }
        if closed && matches!(self.os, Os::Stream(_)) {
            events |= FdEvents::CLOSE;
        }
        if !events.is_empty() {
            out.push(Out::Event(h, events, None));
        }
    }

    fn progress_accepts(&mut self, out: &mut Vec<Out>, adopt: &mut Vec<Adopt>) {
        while let Some(&(op, into)) = self.accepts.front() {
            match try_accept(&self.os) {
                Ok(Some((stream, peer))) => {
                    self.accepts.pop_front();
                    adopt.push(Adopt { into, stream });
                    out.push(Out::Complete(op, Completed::Accepted(peer)));
                }
                Ok(None) => {
                    self.acceptable = false;
                    break;
                }
                Err(e) => {
                    self.accepts.pop_front();
                    out.push(Out::Complete(op, Completed::Failed(e)));
                }
            }
        }
    }

    fn progress_recvs(&mut self, out: &mut Vec<Out>) {
        while let Some(r) = self.recvs.front() {
            match try_recv(&self.os, r.max, r.flags) {
                Ok(Some(got)) => {
                    let op = r.op;
                    self.recvs.pop_front();
                    out.push(Out::Complete(op, Completed::Received(got)));
                }
                Ok(None) => break,
                Err(e) => {
                    let op = r.op;
                    self.recvs.pop_front();
                    out.push(Out::Complete(op, Completed::Failed(e)));
                }
            }
        }
    }

    fn progress_sends(&mut self, out: &mut Vec<Out>) {
        while let Some(s) = self.sends.front_mut() {
            match try_send(&self.os, &s.data[s.done..], s.to) {
                Ok(Some(n)) => {
                    s.done += n;
                    if s.done == s.data.len() {
                        let (op, total) = (s.op, s.data.len());
                        self.sends.pop_front();
                        out.push(Out::Complete(op, Completed::Sent(total)));
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    let op = s.op;
                    self.sends.pop_front();
                    out.push(Out::Complete(op, Completed::Failed(e)));
                }
            }
        }
    }
}

/// How a non-blocking connect ended: `None` while it is under way.
fn connect_outcome(s: &TcpStream) -> Option<Result<(), WsaError>> {
    match s.take_error() {
        Ok(Some(e)) | Err(e) => Some(Err(WsaError::from(e))),
        Ok(None) => match s.peer_addr() {
            Ok(_) => Some(Ok(())),
            Err(e) if e.kind() == io::ErrorKind::NotConnected => None,
            Err(e) => Some(Err(WsaError::from(e))),
        },
    }
}
