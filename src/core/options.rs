//! Socket options and the questions a socket answers: linger (S7),
//! non-blocking mode, buffer sizes, timeouts, bytes waiting, its kind and
//! addresses; the byte-level `WSPGetSockOpt`, `WSPSetSockOpt` and
//! `WSPIoctl` that the shim calls (the rules are in `sockopt`).

use super::error::{WsaError, WsaResult};
use super::flags::FdEvents;
use super::handle::SocketHandle;
use super::protocol::ProtocolInfo;
use super::provider::Provider;
use super::socket_state::Linger;
use super::sockopt::{self, CoreOption, GetValue, Keeper, OptionName, OptionValue, SetValue};
use super::transport::{AddressFamily, SocketKind, Transport};
use super::waiter::Waiter;
use std::net::SocketAddr;
use std::time::Duration;

impl<T: Transport + 'static, W: Waiter + 'static> Provider<T, W> {
    /// `WSPSetSockOpt`: sets option `name` of `level` from `value` (its
    /// `optlen` bytes), as Windows does (spec §15): the core keeps
    /// `SO_LINGER`, `SO_DONTLINGER`, `SO_SNDTIMEO`, `SO_RCVTIMEO` and
    /// `SO_ERROR`, hands `SO_SNDBUF`/`SO_RCVBUF` to
    /// [`Transport::set_buffers`] and every other option to
    /// [`Transport::set_option`].
    ///
    /// Errors: `WSAEINVAL` for an unknown level (or `IPPROTO_IPV6` on an
    /// IPv4 socket) and a negative buffer size; `WSAENOPROTOOPT` for an
    /// option of another protocol, a read-only one (`SO_TYPE`,
    /// `SO_ACCEPTCONN`) or one the transport does not have; `WSAEFAULT` for
    /// a value shorter than the option's (a one-byte boolean takes 1 byte,
    /// `SO_DONTLINGER` and its kind 0 to 4, `int`s and `linger` 4).
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use winsock_provider::mock::{MockWaiter, Network, RecordingNotifier};
    /// # use winsock_provider::*;
    /// # let net = Network::new(1);
    /// # let node = net.add_node("10.0.0.1".parse().unwrap());
    /// # let p = Provider::new(ProviderConfig::default(), net.transport(node), MockWaiter::new(&net));
    /// # p.startup(Version::new(2, 2), Arc::new(RecordingNotifier::new())).unwrap();
    /// use winsock_provider::option_names::{IPPROTO_TCP, SOL_SOCKET, SO_LINGER, TCP_NODELAY};
    /// let s = p.socket(AddressFamily::Inet, SocketKind::Datagram, SocketFlags::empty()).unwrap();
    /// let linger_on = [1u8, 0, 5, 0]; // struct linger { 1, 5 }
    /// assert_eq!(p.set_option(s, SOL_SOCKET, SO_LINGER, &linger_on), Err(WsaError::ProtocolOption));
    /// assert_eq!(p.set_option(s, IPPROTO_TCP, TCP_NODELAY, &[1]), Err(WsaError::ProtocolOption));
    /// assert_eq!(p.set_option(s, 0x8000, 1, &[1]), Err(WsaError::InvalidArgument));
    /// ```
    pub fn set_option(
        &self,
        s: SocketHandle,
        level: i32,
        name: i32,
        value: &[u8],
    ) -> WsaResult<()> {
        let transport = &self.inner.transport;
        self.with_open(s, |sock| {
            let r = sockopt::resolve(level, name, sock.family, sock.kind)?;
            if !r.settable {
                return Err(WsaError::ProtocolOption);
            }
            let ms = |v: i32| (v != 0).then(|| Duration::from_millis(u64::from(v as u32)));
            match (r.keeper, sockopt::decode(r.shape, value)?) {
                (_, SetValue::Bool(None)) => {}
                (Keeper::Core(CoreOption::Linger), SetValue::Linger(on, seconds)) => {
                    sock.linger = Linger {
                        on: on != 0,
                        seconds,
                    };
                }
                (Keeper::Core(CoreOption::DontLinger), SetValue::Bool(Some(off))) => {
                    // The timeout stays: only the switch moves (spec §10.3).
                    sock.linger.on = !off;
                }
                (Keeper::Core(CoreOption::SendBuffer), SetValue::Int(v)) => {
                    transport.set_buffers(s, Some(buffer_size(v)?), None)?;
                }
                (Keeper::Core(CoreOption::ReceiveBuffer), SetValue::Int(v)) => {
                    transport.set_buffers(s, None, Some(buffer_size(v)?))?;
                }
                (Keeper::Core(CoreOption::SendTimeout), SetValue::Int(v)) => {
                    sock.send_timeout = ms(v);
                }
                (Keeper::Core(CoreOption::ReceiveTimeout), SetValue::Int(v)) => {
                    sock.recv_timeout = ms(v);
                }
                (Keeper::Core(CoreOption::Error), SetValue::Int(v)) => sock.so_error = v,
                (Keeper::Core(CoreOption::UpdateContext), SetValue::Raw(_)) => {}
                (Keeper::Transport(n), SetValue::Bool(Some(b))) => {
                    transport.set_option(s, n, &OptionValue::Bool(b))?;
                }
                (Keeper::Transport(n), SetValue::Raw(bytes)) => {
                    transport.set_option(s, n, &OptionValue::Bytes(bytes))?;
                }
                (keeper, value) => unreachable!("{keeper:?} resolved with {value:?}"),
            }
            Ok(())
        })
    }

    /// `WSPGetSockOpt`: the bytes of option `name` of `level`, at most
    /// `capacity` (the caller's `*optlen`); their length is the new
    /// `*optlen` (spec §15: a one-byte boolean is one byte, `SO_DONTLINGER`
    /// and its kind one byte in a buffer shorter than an `int`). Errors as
    /// [`set_option`](Self::set_option), and `WSAEFAULT` for a capacity of
    /// 0 or one shorter than the value. `SO_ERROR` does not clear
    /// (spec §15).
    pub fn option(
        &self,
        s: SocketHandle,
        level: i32,
        name: i32,
        capacity: usize,
    ) -> WsaResult<Vec<u8>> {
        let transport = &self.inner.transport;
        self.with_open(s, |sock| {
            let r = sockopt::resolve(level, name, sock.family, sock.kind)?;
            let ms = |t: Option<Duration>| {
                t.map_or(0, |t| {
                    u32::try_from(t.as_millis()).unwrap_or(u32::MAX) as i32
                })
            };
            let clamp = |n: usize| i32::try_from(n).unwrap_or(i32::MAX);
            let value = match r.keeper {
                Keeper::Core(c) => match c {
                    CoreOption::Linger => {
                        GetValue::Linger(u16::from(sock.linger.on), sock.linger.seconds)
                    }
                    CoreOption::DontLinger => GetValue::Bool(!sock.linger.on),
                    CoreOption::AcceptConn => GetValue::Bool(sock.listening),
                    CoreOption::SendBuffer => GetValue::Int(clamp(transport.buffers(s)?.0)),
                    CoreOption::ReceiveBuffer => GetValue::Int(clamp(transport.buffers(s)?.1)),
                    CoreOption::SendTimeout => GetValue::Int(ms(sock.send_timeout)),
                    CoreOption::ReceiveTimeout => GetValue::Int(ms(sock.recv_timeout)),
                    CoreOption::Error => GetValue::Int(sock.so_error),
                    CoreOption::Type => GetValue::Int(match sock.kind {
                        SocketKind::Stream => 1,
                        SocketKind::Datagram => 2,
                    }),
                    // The largest UDP payload: 65535 less the IPv4 and UDP
                    // headers, or the UDP header alone over IPv6 (spec §15:
                    // Windows reads 65507 or 65527).
                    CoreOption::MaxMessageSize => GetValue::Int(match sock.family {
                        AddressFamily::Inet => 65_507,
                        AddressFamily::Inet6 => 65_527,
                    }),
                    // Set only.
                    CoreOption::UpdateContext => return Err(WsaError::ProtocolOption),
                },
                Keeper::Transport(n) => match transport.option(s, n)? {
                    OptionValue::Bool(b) => GetValue::Bool(b),
                    OptionValue::Bytes(v) => GetValue::Raw(v),
                },
            };
            sockopt::encode(r.shape, value, capacity)
        })
    }

    /// `WSPIoctl` without an overlapped record (spec §14). Here:
    /// - `FIONBIO` (a 4-byte `u_long`, nonzero: non-blocking);
    /// - `FIONREAD` (4 bytes back: the bytes a receive could take now);
    /// - `SIOCATMARK` (a 4-byte `BOOL` back: TRUE while no out-of-band data
    ///   waits);
    /// - `SIO_KEEPALIVE_VALS` (`struct tcp_keepalive`, 12 bytes in:
    ///   keep-alive on or off for the transport; a datagram socket is
    ///   `WSAENOPROTOOPT`).
    ///
    /// Any other code is the transport's ([`Transport::ioctl`], default
    /// `WSAEOPNOTSUPP`, as Windows answers an unknown code). The bytes to write back, at most `output_capacity`;
    /// `WSAEFAULT` when `input` or the capacity is too short.
    pub fn ioctl(
        &self,
        s: SocketHandle,
        code: u32,
        input: &[u8],
        output_capacity: usize,
    ) -> WsaResult<Vec<u8>> {
        const FIONBIO: u32 = 0x8004_667E;
        const FIONREAD: u32 = 0x4004_667F;
        const SIOCATMARK: u32 = 0x4004_7307;
        const SIO_KEEPALIVE_VALS: u32 = 0x9800_0004;
        match code {
            SIOCATMARK => {
                if output_capacity < 4 {
                    return Err(WsaError::Fault);
                }
                let oob = self.with_open(s, |_| {
                    Ok(self.inner.transport.readiness(s).contains(FdEvents::OOB))
                })?;
                Ok(u32::from(!oob).to_ne_bytes().to_vec())
            }
            SIO_KEEPALIVE_VALS => {
                let onoff: [u8; 4] = input
                    .get(..4)
                    .filter(|_| input.len() >= 12)
                    .and_then(|b| b.try_into().ok())
                    .ok_or(WsaError::Fault)?;
                self.with_open(s, |sock| {
                    if sock.kind != SocketKind::Stream {
                        return Err(WsaError::ProtocolOption);
                    }
                    let on = OptionValue::Bool(u32::from_ne_bytes(onoff) != 0);
                    // The times are the transport's business; one without
                    // keep-alive has nothing to apply.
                    match self
                        .inner
                        .transport
                        .set_option(s, OptionName::KeepAlive, &on)
                    {
                        Ok(()) | Err(WsaError::ProtocolOption) => Ok(Vec::new()),
                        Err(e) => Err(e),
                    }
                })
            }
            FIONBIO => {
                let v: [u8; 4] = input
                    .get(..4)
                    .and_then(|b| b.try_into().ok())
                    .ok_or(WsaError::Fault)?;
                self.set_nonblocking(s, u32::from_ne_bytes(v) != 0)?;
                Ok(Vec::new())
            }
            FIONREAD => {
                if output_capacity < 4 {
                    return Err(WsaError::Fault);
                }
                let n = self.available(s)?;
                Ok(u32::try_from(n).unwrap_or(u32::MAX).to_ne_bytes().to_vec())
            }
            _ => self.with_open(s, |_| {
                self.inner.transport.ioctl(s, code, input, output_capacity)
            }),
        }
    }

    /// `SO_PROTOCOL_INFOW`: the protocol entry the provider was started
    /// for, with the socket's own family, type and protocol.
    pub fn socket_protocol_info(&self, s: SocketHandle) -> WsaResult<ProtocolInfo> {
        let started = self.protocol_info();
        self.with_open(s, |sock| {
            let mut info = ProtocolInfo::base(started.catalog_entry_id, sock.family, sock.kind);
            info.provider_id = started.provider_id;
            info.chain = started.chain.clone();
            info.provider_flags = started.provider_flags;
            info.version = started.version;
            info.name = started.name.clone();
            Ok(info)
        })
    }

    /// `SO_LINGER` / `SO_DONTLINGER` (S7).
    pub fn set_linger(&self, s: SocketHandle, linger: Linger) -> WsaResult<()> {
        self.with_open(s, |sock| {
            sock.linger = linger;
            Ok(())
        })
    }

    /// The socket's `SO_LINGER` setting.
    pub fn linger(&self, s: SocketHandle) -> WsaResult<Linger> {
        self.with_open(s, |sock| Ok(sock.linger))
    }

    /// `FIONBIO`. A socket with an event-select registration cannot be made
    /// blocking again: `WSAEINVAL`.
    pub fn set_nonblocking(&self, s: SocketHandle, nonblocking: bool) -> WsaResult<()> {
        self.with_open(s, |sock| {
            if !nonblocking && sock.select.is_some() {
                return Err(WsaError::InvalidArgument);
            }
            sock.nonblocking = nonblocking;
            Ok(())
        })
    }

    /// Whether the socket is non-blocking.
    pub fn is_nonblocking(&self, s: SocketHandle) -> WsaResult<bool> {
        self.with_open(s, |sock| Ok(sock.nonblocking))
    }

    /// `SO_SNDBUF` and `SO_RCVBUF` (either may be left as it is).
    pub fn set_buffers(
        &self,
        s: SocketHandle,
        send: Option<usize>,
        recv: Option<usize>,
    ) -> WsaResult<()> {
        self.with_open(s, |_| self.inner.transport.set_buffers(s, send, recv))
    }

    /// `SO_SNDBUF` and `SO_RCVBUF` as the transport has them.
    pub fn buffers(&self, s: SocketHandle) -> WsaResult<(usize, usize)> {
        self.with_open(s, |_| self.inner.transport.buffers(s))
    }

    /// `FIONREAD`: bytes a receive could take now without waiting.
    pub fn available(&self, s: SocketHandle) -> WsaResult<usize> {
        self.with_open(s, |_| self.inner.transport.available(s))
    }

    /// Operations pending on `s` now: overlapped ones and blocking calls
    /// waiting inside the provider (a lingering close counts as one). For
    /// hosts and tests that must know a call has started waiting.
    pub fn pending_operations(&self, s: SocketHandle) -> WsaResult<usize> {
        let _call = self.enter()?;
        self.inner.table.with(s, |sock| sock.pending.len())
    }

    /// `SO_ERROR`: the code of the last non-blocking connect's error, 0 if
    /// none. Reading does not clear it (spec §15: Windows keeps it until a
    /// connect succeeds); a blocking connect's error is that call's answer
    /// and is not kept.
    pub fn socket_error(&self, s: SocketHandle) -> WsaResult<i32> {
        self.with_open(s, |sock| Ok(sock.so_error))
    }

    /// Sets `SO_ERROR` to `code`, which later reads give back (spec §15:
    /// Windows allows it).
    pub fn set_socket_error(&self, s: SocketHandle, code: i32) -> WsaResult<()> {
        self.with_open(s, |sock| {
            sock.so_error = code;
            Ok(())
        })
    }

    /// The socket's address family (`WSPSocket`'s `af`).
    pub fn address_family(&self, s: SocketHandle) -> WsaResult<AddressFamily> {
        self.with_open(s, |sock| Ok(sock.family))
    }

    /// `SO_TYPE`: the socket's kind.
    pub fn socket_kind(&self, s: SocketHandle) -> WsaResult<SocketKind> {
        self.with_open(s, |sock| Ok(sock.kind))
    }

    /// `WSPGetSockName`.
    pub fn local_addr(&self, s: SocketHandle) -> WsaResult<SocketAddr> {
        self.with_open(s, |_| self.inner.transport.local_addr(s))
    }

    /// `WSPGetPeerName`.
    pub fn peer_addr(&self, s: SocketHandle) -> WsaResult<SocketAddr> {
        self.with_open(s, |_| self.inner.transport.peer_addr(s))
    }
}

/// `SO_SNDBUF`/`SO_RCVBUF` from an `int`: negative is `WSAEINVAL`.
fn buffer_size(v: i32) -> WsaResult<usize> {
    usize::try_from(v).map_err(|_| WsaError::InvalidArgument)
}
