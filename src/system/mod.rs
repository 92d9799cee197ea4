//! A transport over the host's sockets (Unix): a base provider whose data
//! plane is the operating system's TCP and UDP, IPv4 and IPv6.
//!
//! Every socket is a non-blocking OS socket (socket2); one I/O thread per
//! provider instance waits for readiness (mio) and finishes the operations
//! that wait: blocking and overlapped sends, receives, accepts and
//! connects. The thread is started by the first startup
//! ([`Transport::start`]) and joined by the final cleanup
//! ([`Transport::stop`]), so a DLL built on it is ready to be unloaded
//! when `WSPCleanup` returns (S6). A gracefully closed socket is handed to
//! the operating system, which sends what it still holds after the
//! provider is gone (S6e, S6g).
//!
//! ```no_run
//! use std::sync::Arc;
//! use winsock_provider::mock::RecordingNotifier;
//! use winsock_provider::system::SystemTransport;
//! use winsock_provider::*;
//!
//! let p = Provider::new(ProviderConfig::default(), SystemTransport::new(), ThreadWaiter::new());
//! p.startup(Version::new(2, 2), Arc::new(RecordingNotifier::new())).unwrap();
//! let s = p.socket(AddressFamily::Inet, SocketKind::Stream, SocketFlags::empty()).unwrap();
//! p.connect(s, "127.0.0.1:7".parse().unwrap()).unwrap();
//! p.send(s, b"hello", MsgFlags::empty(), None).unwrap();
//! p.cleanup().unwrap();
//! ```
//!
//! What the host does not have, or does otherwise:
//! - [`Transport::unsent`] counts only the bytes the transport still holds,
//!   not those in the operating system's send buffer: a lingering close
//!   returns once the OS has taken the data, and the OS finishes sending.
//! - A datagram socket's connect to `AF_UNSPEC` is `WSAEOPNOTSUPP`.
//! - `SO_DEBUG`, `SO_EXCLUSIVEADDRUSE`, `SO_DONTROUTE` and
//!   `SO_CONDITIONAL_ACCEPT` are kept and read back, not applied.
//! - Out-of-band data (`MSG_OOB`) is not carried: `WSAEOPNOTSUPP`.

mod entry;
mod io_thread;
mod options;

use crate::core::error::WsaError;
use crate::core::flags::{FdEvents, MsgFlags};
use crate::core::handle::{OpId, SocketHandle};
use crate::core::protocol::ProtocolInfo;
use crate::core::sockopt::{OptionName, OptionValue};
use crate::core::transport::{
    AddressFamily, CloseKind, CompletionSink, HandOffRefused, Io, Received, ShutdownHow,
    SocketKind, Transport, Wait,
};
use crate::sync::lock;
use entry::{Entry, Os, PendingRecv, PendingSend, shutdown_of, try_accept, try_recv, try_send};
use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The host-socket transport. See the [module docs](self).
pub struct SystemTransport {
    shared: Arc<Shared>,
}

/// What the transport's calls and its I/O thread share.
pub(crate) struct Shared {
    pub(crate) state: Mutex<State>,
    /// The sink, from [`Transport::attach`].
    pub(crate) sink: Mutex<Option<Arc<dyn CompletionSink>>>,
    /// The I/O thread and what stops it, between start and stop.
    pub(crate) running: Mutex<Option<io_thread::Running>>,
}

/// The sockets, under one lock (the I/O thread takes it per batch of
/// readiness events; a transport call per call).
#[derive(Default)]
pub(crate) struct State {
    pub(crate) sockets: HashMap<SocketHandle, Entry>,
    pub(crate) tokens: HashMap<mio::Token, SocketHandle>,
    next_token: usize,
    /// Where sockets are registered while the I/O thread runs.
    pub(crate) registry: Option<mio::Registry>,
}

impl State {
    /// Registers `h`'s OS socket for readiness (both directions, edge
    /// triggered).
    fn register(&mut self, h: SocketHandle) -> Result<(), WsaError> {
        let registry = self.registry.as_ref().ok_or(WsaError::NetworkDown)?;
        let e = self.sockets.get_mut(&h).ok_or(WsaError::NotSocket)?;
        if e.token.is_some() {
            return Ok(());
        }
        // Token 0 is the waker's.
        self.next_token += 1;
        let token = mio::Token(self.next_token);
        let fd = e.os.raw_fd();
        registry.register(
            &mut mio::unix::SourceFd(&fd),
            token,
            mio::Interest::READABLE | mio::Interest::WRITABLE,
        )?;
        e.token = Some(token);
        self.tokens.insert(token, h);
        Ok(())
    }

    /// Forgets `h`: deregisters its OS socket and gives it back, to be
    /// dropped (closed) by the caller.
    fn remove(&mut self, h: SocketHandle) -> Option<Entry> {
        let e = self.sockets.remove(&h)?;
        if let Some(token) = e.token {
            self.tokens.remove(&token);
            if let Some(r) = &self.registry {
                let fd = e.os.raw_fd();
                // The socket is closed next anyway, which also deregisters.
                let _ = r.deregister(&mut mio::unix::SourceFd(&fd));
            }
        }
        Some(e)
    }

    fn entry(&mut self, h: SocketHandle) -> Result<&mut Entry, WsaError> {
        self.sockets.get_mut(&h).ok_or(WsaError::NotSocket)
    }
}

impl SystemTransport {
    /// A transport with no socket and no I/O thread yet (the first
    /// startup starts it).
    pub fn new() -> Self {
        SystemTransport {
            shared: Arc::new(Shared {
                state: Mutex::new(State::default()),
                sink: Mutex::new(None),
                running: Mutex::new(None),
            }),
        }
    }

    /// Whether the I/O thread runs (between the first startup and the
    /// final cleanup).
    pub fn is_running(&self) -> bool {
        lock!(self.shared.running).is_some()
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        lock!(self.shared.state)
    }
}

impl Default for SystemTransport {
    fn default() -> Self {
        SystemTransport::new()
    }
}

fn sock_addr(a: SocketAddr) -> SockAddr {
    SockAddr::from(a)
}

fn std_addr(a: SockAddr) -> Result<SocketAddr, WsaError> {
    a.as_socket().ok_or(WsaError::AddressFamilyNotSupported)
}

impl Transport for SystemTransport {
    fn attach(&self, sink: Arc<dyn CompletionSink>) {
        *lock!(self.shared.sink) = Some(sink);
    }

    fn start(&self, _protocol: &ProtocolInfo) -> Result<(), WsaError> {
        let mut running = lock!(self.shared.running);
        if running.is_none() {
            *running = Some(io_thread::start(&self.shared)?);
        }
        Ok(())
    }

    fn stop(&self) {
        let running = lock!(self.shared.running).take();
        if let Some(r) = running {
            r.stop();
        }
        // Whatever is left (nothing, after a final cleanup) is closed now.
        let mut st = self.state();
        let left: Vec<SocketHandle> = st.sockets.keys().copied().collect();
        for h in left {
            st.remove(h);
        }
        st.registry = None;
    }

    fn open(
        &self,
        socket: SocketHandle,
        family: AddressFamily,
        kind: SocketKind,
    ) -> Result<(), WsaError> {
        let domain = match family {
            AddressFamily::Inet => Domain::IPV4,
            AddressFamily::Inet6 => Domain::IPV6,
        };
        let (ty, proto) = match kind {
            SocketKind::Stream => (Type::STREAM, Protocol::TCP),
            SocketKind::Datagram => (Type::DGRAM, Protocol::UDP),
        };
        let s = Socket::new(domain, ty, Some(proto))?;
        s.set_nonblocking(true)?;
        if family == AddressFamily::Inet6 {
            // Windows' default (spec §15); the host's may differ.
            s.set_only_v6(true)?;
        }
        let os = match kind {
            SocketKind::Stream => Os::Fresh(s),
            SocketKind::Datagram => Os::Datagram(s.into()),
        };
        let mut st = self.state();
        st.sockets.insert(socket, Entry::new(os, family, kind));
        if kind == SocketKind::Datagram
            && let Err(e) = st.register(socket)
        {
            st.remove(socket);
            return Err(e);
        }
        Ok(())
    }

    fn bind(&self, socket: SocketHandle, addr: SocketAddr) -> Result<SocketAddr, WsaError> {
        let mut st = self.state();
        let e = st.entry(socket)?;
        let sock = e.os.sock();
        sock.bind(&sock_addr(addr))?;
        std_addr(sock.local_addr()?)
    }

    fn listen(&self, socket: SocketHandle, backlog: u32) -> Result<(), WsaError> {
        let mut st = self.state();
        let mut e = st.sockets.remove(&socket).ok_or(WsaError::NotSocket)?;
        let backlog = i32::try_from(backlog).unwrap_or(i32::MAX);
        let listened = e.os.sock().listen(backlog);
        e.os = match e.os {
            Os::Fresh(s) if listened.is_ok() => Os::Listener(s.into()),
            other => other,
        };
        st.sockets.insert(socket, e);
        listened?;
        st.register(socket)
    }

    fn connect(
        &self,
        socket: SocketHandle,
        addr: SocketAddr,
        op: OpId,
    ) -> Result<Io<()>, WsaError> {
        let mut st = self.state();
        let mut e = st.sockets.remove(&socket).ok_or(WsaError::NotSocket)?;
        let started = match (&e.os, e.kind) {
            (Os::Datagram(d), _) => d
                .connect(addr)
                .map(|()| Io::Done(()))
                .map_err(WsaError::from),
            (Os::Listener(_), _) => Err(WsaError::InvalidArgument),
            (_, _) if e.connecting.is_some() => Err(WsaError::Already),
            (os, _) => match os.sock().connect(&sock_addr(addr)) {
                Ok(()) => Ok(Io::Done(())),
                Err(err) => match WsaError::from(err) {
                    // EINPROGRESS: under way.
                    WsaError::WouldBlock => Ok(Io::Pending),
                    other => Err(other),
                },
            },
        };
        if let Ok(Io::Pending) = started {
            e.connecting = Some(op);
        }
        if started.is_ok() {
            e.os = match e.os {
                Os::Fresh(s) => Os::Stream(s.into()),
                other => other,
            };
        }
        st.sockets.insert(socket, e);
        let started = started?;
        st.register(socket)?;
        Ok(started)
    }

    fn accept(
        &self,
        listener: SocketHandle,
        socket: SocketHandle,
        wait: Wait,
    ) -> Result<Io<SocketAddr>, WsaError> {
        let mut st = self.state();
        let l = st.entry(listener)?;
        let family = l.family;
        // Accepts are served in posting order.
        let taken = if l.accepts.is_empty() {
            try_accept(&l.os)?
        } else {
            None
        };
        match (taken, wait) {
            (Some((stream, peer)), _) => {
                let e = Entry::new(Os::Stream(stream), family, SocketKind::Stream);
                st.sockets.insert(socket, e);
                st.register(socket)?;
                Ok(Io::Done(peer))
            }
            (None, Wait::No) => Ok(Io::WouldBlock),
            (None, Wait::Later(op)) => {
                st.entry(listener)?.accepts.push_back((op, socket));
                Ok(Io::Pending)
            }
        }
    }

    fn send(
        &self,
        socket: SocketHandle,
        data: Vec<u8>,
        to: Option<SocketAddr>,
        wait: Wait,
    ) -> Result<Io<usize>, WsaError> {
        let mut st = self.state();
        let e = st.entry(socket)?;
        // Sends go in posting order: while one waits, a later one waits too.
        let taken = if e.sends.is_empty() && !data.is_empty() {
            try_send(&e.os, &data, to)?.unwrap_or(0)
        } else {
            0
        };
        match wait {
            _ if taken == data.len() => Ok(Io::Done(taken)),
            Wait::No if taken > 0 => Ok(Io::Done(taken)),
            Wait::No => Ok(Io::WouldBlock),
            Wait::Later(op) => {
                e.sends.push_back(PendingSend {
                    op,
                    data,
                    done: taken,
                    to,
                });
                Ok(Io::Pending)
            }
        }
    }

    fn recv(
        &self,
        socket: SocketHandle,
        max: usize,
        flags: MsgFlags,
        wait: Wait,
    ) -> Result<Io<Received>, WsaError> {
        if flags.contains(MsgFlags::OOB) {
            return Err(WsaError::OperationNotSupported);
        }
        let mut st = self.state();
        let e = st.entry(socket)?;
        // Receives are filled in posting order.
        let got = if e.recvs.is_empty() {
            try_recv(&e.os, max, flags)?
        } else {
            None
        };
        match (got, wait) {
            (Some(r), _) => Ok(Io::Done(r)),
            (None, Wait::No) => Ok(Io::WouldBlock),
            (None, Wait::Later(op)) => {
                e.recvs.push_back(PendingRecv { op, max, flags });
                Ok(Io::Pending)
            }
        }
    }

    fn cancel(&self, op: OpId) {
        let mut st = self.state();
        if let Some(e) = st.sockets.get_mut(&op.socket)
            && (e.forget(op) || e.connecting == Some(op))
        {
            // A connect given up: its socket cannot be trusted to connect
            // again cleanly; the core closes it or connects anew.
            if e.connecting == Some(op) {
                e.connecting = None;
            }
            return;
        }
        // An accept files its operation under the listener.
        for e in st.sockets.values_mut() {
            if e.forget(op) {
                return;
            }
        }
    }

    fn shutdown(&self, socket: SocketHandle, how: ShutdownHow) -> Result<(), WsaError> {
        let mut st = self.state();
        let e = st.entry(socket)?;
        match &e.os {
            Os::Stream(_) | Os::Datagram(_) => {
                e.os.sock().shutdown(shutdown_of(how))?;
                Ok(())
            }
            Os::Fresh(_) | Os::Listener(_) => Err(WsaError::NotConnected),
        }
    }

    fn close(&self, socket: SocketHandle, how: CloseKind) {
        let Some(e) = self.state().remove(socket) else {
            return;
        };
        if how == CloseKind::Abortive {
            // SO_LINGER {1, 0}: the close resets the connection.
            let _ = e.os.sock().set_linger(Some(Duration::ZERO));
        }
        // Dropping the socket closes it; after a graceful close the OS
        // sends what it still holds, then the FIN.
        drop(e);
    }

    fn local_addr(&self, socket: SocketHandle) -> Result<SocketAddr, WsaError> {
        let mut st = self.state();
        let a = std_addr(st.entry(socket)?.os.sock().local_addr()?)?;
        if a.port() == 0 {
            return Err(WsaError::InvalidArgument);
        }
        Ok(a)
    }

    fn peer_addr(&self, socket: SocketHandle) -> Result<SocketAddr, WsaError> {
        let mut st = self.state();
        let e = st.entry(socket)?;
        if e.connecting.is_some() {
            return Err(WsaError::NotConnected);
        }
        std_addr(e.os.sock().peer_addr()?)
    }

    fn readiness(&self, socket: SocketHandle) -> FdEvents {
        let mut st = self.state();
        let Ok(e) = st.entry(socket) else {
            return FdEvents::empty();
        };
        match &e.os {
            Os::Stream(s) if e.connecting.is_none() => match s.peek(&mut [0u8; 1]) {
                Ok(0) => FdEvents::READ | FdEvents::CLOSE | FdEvents::WRITE,
                Ok(_) => FdEvents::READ | FdEvents::WRITE,
                Err(_) => FdEvents::WRITE,
            },
            Os::Datagram(d) => match d.peek_from(&mut [0u8; 1]) {
                Ok(_) => FdEvents::READ | FdEvents::WRITE,
                Err(_) => FdEvents::WRITE,
            },
            Os::Listener(_) if e.acceptable => FdEvents::ACCEPT,
            _ => FdEvents::empty(),
        }
    }

    fn unsent(&self, socket: SocketHandle) -> usize {
        self.state().sockets.get(&socket).map_or(0, Entry::unsent)
    }

    fn hand_off(&self, _socket: SocketHandle) -> Result<(), HandOffRefused> {
        // The operating system holds what is unsent and outlives us.
        Ok(())
    }

    fn set_buffers(
        &self,
        socket: SocketHandle,
        send: Option<usize>,
        recv: Option<usize>,
    ) -> Result<(), WsaError> {
        let mut st = self.state();
        let sock = st.entry(socket)?.os.sock();
        if let Some(n) = send {
            sock.set_send_buffer_size(n)?;
        }
        if let Some(n) = recv {
            sock.set_recv_buffer_size(n)?;
        }
        Ok(())
    }

    fn buffers(&self, socket: SocketHandle) -> Result<(usize, usize), WsaError> {
        let mut st = self.state();
        let sock = st.entry(socket)?.os.sock();
        Ok((sock.send_buffer_size()?, sock.recv_buffer_size()?))
    }

    fn available(&self, socket: SocketHandle) -> Result<usize, WsaError> {
        let mut st = self.state();
        let e = st.entry(socket)?;
        let mut buf = vec![0u8; 65_536];
        let n = match &e.os {
            Os::Stream(s) => s.peek(&mut buf),
            Os::Datagram(d) => d.peek_from(&mut buf).map(|(n, _)| n),
            Os::Fresh(_) | Os::Listener(_) => return Ok(0),
        };
        match n {
            Ok(n) => Ok(n),
            Err(err) if err.kind() == std::io::ErrorKind::WouldBlock => Ok(0),
            Err(err) => Err(err.into()),
        }
    }

    fn set_option(
        &self,
        socket: SocketHandle,
        name: OptionName,
        value: &OptionValue,
    ) -> Result<(), WsaError> {
        options::set(self.state().entry(socket)?, name, value)
    }

    fn option(&self, socket: SocketHandle, name: OptionName) -> Result<OptionValue, WsaError> {
        options::get(self.state().entry(socket)?, name)
    }
}
