//! Socket options as Windows answers them (spec §15): which level and name
//! is what, which the core keeps and which it passes to the transport,
//! which protocol an option belongs to, and the length rules of
//! `WSPGetSockOpt` and `WSPSetSockOpt`.
//!
//! Everything here is a pure function of the level, the name, the socket's
//! family and kind, and the bytes; [`Provider::set_option`] and
//! [`Provider::option`] apply it.
//!
//! [`Provider::set_option`]: super::provider::Provider::set_option
//! [`Provider::option`]: super::provider::Provider::option

use super::error::WsaError;
use super::transport::{AddressFamily, SocketKind};

/// The levels (`level` of `WSPGetSockOpt` and `WSPSetSockOpt`) and the
/// options of them that the core knows, with the values of winsock2.h,
/// ws2def.h and ws2ipdef.h.
pub mod names {
    /// `SOL_SOCKET`.
    pub const SOL_SOCKET: i32 = 0xFFFF;
    /// `IPPROTO_IP`.
    pub const IPPROTO_IP: i32 = 0;
    /// `IPPROTO_TCP`.
    pub const IPPROTO_TCP: i32 = 6;
    /// `IPPROTO_UDP`.
    pub const IPPROTO_UDP: i32 = 17;
    /// `IPPROTO_IPV6`.
    pub const IPPROTO_IPV6: i32 = 41;
    /// `SO_DEBUG`.
    pub const SO_DEBUG: i32 = 0x0001;
    /// `SO_ACCEPTCONN`.
    pub const SO_ACCEPTCONN: i32 = 0x0002;
    /// `SO_REUSEADDR`.
    pub const SO_REUSEADDR: i32 = 0x0004;
    /// `SO_KEEPALIVE`.
    pub const SO_KEEPALIVE: i32 = 0x0008;
    /// `SO_DONTROUTE`.
    pub const SO_DONTROUTE: i32 = 0x0010;
    /// `SO_BROADCAST`.
    pub const SO_BROADCAST: i32 = 0x0020;
    /// `SO_LINGER`.
    pub const SO_LINGER: i32 = 0x0080;
    /// `SO_OOBINLINE`.
    pub const SO_OOBINLINE: i32 = 0x0100;
    /// `SO_DONTLINGER` (`~SO_LINGER`).
    pub const SO_DONTLINGER: i32 = !SO_LINGER;
    /// `SO_EXCLUSIVEADDRUSE` (`~SO_REUSEADDR`).
    pub const SO_EXCLUSIVEADDRUSE: i32 = !SO_REUSEADDR;
    /// `SO_SNDBUF`.
    pub const SO_SNDBUF: i32 = 0x1001;
    /// `SO_RCVBUF`.
    pub const SO_RCVBUF: i32 = 0x1002;
    /// `SO_SNDTIMEO`.
    pub const SO_SNDTIMEO: i32 = 0x1005;
    /// `SO_RCVTIMEO`.
    pub const SO_RCVTIMEO: i32 = 0x1006;
    /// `SO_ERROR`.
    pub const SO_ERROR: i32 = 0x1007;
    /// `SO_TYPE`.
    pub const SO_TYPE: i32 = 0x1008;
    /// `SO_MAX_MSG_SIZE`.
    pub const SO_MAX_MSG_SIZE: i32 = 0x2003;
    /// `SO_PROTOCOL_INFOA`.
    pub const SO_PROTOCOL_INFOA: i32 = 0x2004;
    /// `SO_PROTOCOL_INFOW`.
    pub const SO_PROTOCOL_INFOW: i32 = 0x2005;
    /// `SO_UPDATE_ACCEPT_CONTEXT` (set only, after `AcceptEx`).
    pub const SO_UPDATE_ACCEPT_CONTEXT: i32 = 0x700B;
    /// `SO_UPDATE_CONNECT_CONTEXT` (set only, after `ConnectEx`).
    pub const SO_UPDATE_CONNECT_CONTEXT: i32 = 0x7010;
    /// `SO_CONDITIONAL_ACCEPT`.
    pub const SO_CONDITIONAL_ACCEPT: i32 = 0x3002;
    /// `TCP_NODELAY` (`IPPROTO_TCP`).
    pub const TCP_NODELAY: i32 = 0x0001;
    /// `IPV6_V6ONLY` (`IPPROTO_IPV6`).
    pub const IPV6_V6ONLY: i32 = 27;
}

use names::*;

/// An option the core passes to the transport: the ones applications set
/// all the time, by name, and any other by its level and name.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[non_exhaustive]
pub enum OptionName {
    /// `SO_DEBUG`.
    Debug,
    /// `SO_REUSEADDR`: bind to an address another socket uses.
    ReuseAddress,
    /// `SO_EXCLUSIVEADDRUSE`: no other socket may bind this address.
    ExclusiveAddressUse,
    /// `SO_KEEPALIVE` (streams).
    KeepAlive,
    /// `SO_DONTROUTE` (IPv4; ignored by Windows).
    DontRoute,
    /// `SO_BROADCAST` (datagrams).
    Broadcast,
    /// `SO_OOBINLINE` (streams): urgent data in the normal stream.
    OobInline,
    /// `SO_CONDITIONAL_ACCEPT` (listening streams).
    ConditionalAccept,
    /// `TCP_NODELAY` (streams): no Nagle delay.
    NoDelay,
    /// `IPV6_V6ONLY` (IPv6 sockets): no IPv4 peers through v4-mapped
    /// addresses. On by default, as on Windows.
    V6Only,
    /// Any other option at a level the core knows, passed down as bytes.
    Other {
        /// The level.
        level: i32,
        /// The option's name.
        name: i32,
    },
}

impl OptionName {
    /// The option's `(level, optname)`, as `WSPSetSockOpt` takes them (a
    /// layered transport passes the option down by them).
    ///
    /// ```
    /// use winsock_provider::{OptionName, option_names::*};
    /// assert_eq!(OptionName::NoDelay.level_and_name(), (IPPROTO_TCP, TCP_NODELAY));
    /// ```
    pub fn level_and_name(self) -> (i32, i32) {
        match self {
            OptionName::Debug => (SOL_SOCKET, SO_DEBUG),
            OptionName::ReuseAddress => (SOL_SOCKET, SO_REUSEADDR),
            OptionName::ExclusiveAddressUse => (SOL_SOCKET, SO_EXCLUSIVEADDRUSE),
            OptionName::KeepAlive => (SOL_SOCKET, SO_KEEPALIVE),
            OptionName::DontRoute => (SOL_SOCKET, SO_DONTROUTE),
            OptionName::Broadcast => (SOL_SOCKET, SO_BROADCAST),
            OptionName::OobInline => (SOL_SOCKET, SO_OOBINLINE),
            OptionName::ConditionalAccept => (SOL_SOCKET, SO_CONDITIONAL_ACCEPT),
            OptionName::NoDelay => (IPPROTO_TCP, TCP_NODELAY),
            OptionName::V6Only => (IPPROTO_IPV6, IPV6_V6ONLY),
            OptionName::Other { level, name } => (level, name),
        }
    }

    /// What a transport answers for an option it does not have:
    /// `WSAENOPROTOOPT` (spec §15).
    pub fn unsupported(self) -> WsaError {
        WsaError::ProtocolOption
    }
}

/// The value of an option the transport keeps.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum OptionValue {
    /// A boolean option (every named [`OptionName`]).
    Bool(bool),
    /// The bytes of an [`OptionName::Other`], as the application gave them.
    Bytes(Vec<u8>),
}

/// How an option's value is laid out, and the length rules that go with
/// it (spec §15, Windows' behaviour).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Shape {
    /// A boolean read and written as one byte: any length from 1 is
    /// accepted and only the first byte is read; a get writes one byte.
    OneByte,
    /// A boolean that accepts a short value: length 0 is accepted and
    /// changes nothing, 1 to 3 bytes are read as they come; a get writes
    /// one byte into a buffer shorter than an `int`, an `int` otherwise.
    ShortBool,
    /// A 4-byte `BOOL`: shorter is `WSAEFAULT`.
    Bool4,
    /// A 4-byte `int` (or `DWORD`): shorter is `WSAEFAULT`.
    Int,
    /// `struct linger` (4 bytes): shorter is `WSAEFAULT`.
    Linger,
    /// Bytes passed through as they are.
    Raw,
}

/// Options the core answers itself.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum CoreOption {
    Linger,
    DontLinger,
    AcceptConn,
    SendBuffer,
    ReceiveBuffer,
    SendTimeout,
    ReceiveTimeout,
    Error,
    Type,
    MaxMessageSize,
    /// `SO_UPDATE_ACCEPT_CONTEXT` / `SO_UPDATE_CONNECT_CONTEXT` (set only):
    /// after `AcceptEx` / `ConnectEx`; the provider's sockets are whole
    /// already, so there is nothing to update.
    UpdateContext,
}

/// Who keeps an option.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Keeper {
    Core(CoreOption),
    Transport(OptionName),
}

/// An option, resolved for one socket.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct Resolved {
    pub(crate) keeper: Keeper,
    pub(crate) shape: Shape,
    /// Whether `WSPSetSockOpt` may set it (`SO_TYPE` and friends may not:
    /// `WSAENOPROTOOPT`).
    pub(crate) settable: bool,
}

const fn core(option: CoreOption, shape: Shape, settable: bool) -> Resolved {
    Resolved {
        keeper: Keeper::Core(option),
        shape,
        settable,
    }
}

const fn down(name: OptionName, shape: Shape) -> Resolved {
    Resolved {
        keeper: Keeper::Transport(name),
        shape,
        settable: true,
    }
}

/// What `(level, name)` is on a socket of `family` and `kind`:
/// `WSAEINVAL` for a level the core does not know (or `IPPROTO_IPV6` on an
/// IPv4 socket), `WSAENOPROTOOPT` for an option of another protocol
/// (`SO_LINGER` or `TCP_NODELAY` on a datagram socket, `SO_BROADCAST` on a
/// stream). `SO_PROTOCOL_INFOA`/`W` are the shim's (`WSAENOPROTOOPT`
/// here). An unknown name at a known level goes to the transport.
pub(crate) fn resolve(
    level: i32,
    name: i32,
    family: AddressFamily,
    kind: SocketKind,
) -> Result<Resolved, WsaError> {
    let stream = kind == SocketKind::Stream;
    let only = |ok: bool, r: Resolved| {
        if ok {
            Ok(r)
        } else {
            Err(WsaError::ProtocolOption)
        }
    };
    let other = down(OptionName::Other { level, name }, Shape::Raw);
    match level {
        SOL_SOCKET => match name {
            SO_DEBUG => Ok(down(OptionName::Debug, Shape::Bool4)),
            SO_ACCEPTCONN => only(stream, core(CoreOption::AcceptConn, Shape::Bool4, false)),
            SO_REUSEADDR => Ok(down(OptionName::ReuseAddress, Shape::ShortBool)),
            SO_EXCLUSIVEADDRUSE => Ok(down(OptionName::ExclusiveAddressUse, Shape::ShortBool)),
            SO_KEEPALIVE => only(stream, down(OptionName::KeepAlive, Shape::OneByte)),
            SO_DONTROUTE => only(
                family == AddressFamily::Inet,
                down(OptionName::DontRoute, Shape::OneByte),
            ),
            SO_BROADCAST => only(!stream, down(OptionName::Broadcast, Shape::ShortBool)),
            SO_LINGER => only(stream, core(CoreOption::Linger, Shape::Linger, true)),
            SO_DONTLINGER => only(stream, core(CoreOption::DontLinger, Shape::ShortBool, true)),
            SO_OOBINLINE => only(stream, down(OptionName::OobInline, Shape::ShortBool)),
            SO_SNDBUF => Ok(core(CoreOption::SendBuffer, Shape::Int, true)),
            SO_RCVBUF => Ok(core(CoreOption::ReceiveBuffer, Shape::Int, true)),
            SO_SNDTIMEO => Ok(core(CoreOption::SendTimeout, Shape::Int, true)),
            SO_RCVTIMEO => Ok(core(CoreOption::ReceiveTimeout, Shape::Int, true)),
            SO_ERROR => Ok(core(CoreOption::Error, Shape::Int, true)),
            SO_TYPE => Ok(core(CoreOption::Type, Shape::Int, false)),
            SO_MAX_MSG_SIZE => only(!stream, core(CoreOption::MaxMessageSize, Shape::Int, false)),
            SO_CONDITIONAL_ACCEPT => {
                only(stream, down(OptionName::ConditionalAccept, Shape::Bool4))
            }
            SO_PROTOCOL_INFOA | SO_PROTOCOL_INFOW => Err(WsaError::ProtocolOption),
            SO_UPDATE_ACCEPT_CONTEXT | SO_UPDATE_CONNECT_CONTEXT => {
                only(stream, core(CoreOption::UpdateContext, Shape::Raw, true))
            }
            _ => Ok(other),
        },
        IPPROTO_TCP => match name {
            _ if !stream => Err(WsaError::ProtocolOption),
            TCP_NODELAY => Ok(down(OptionName::NoDelay, Shape::OneByte)),
            _ => Ok(other),
        },
        IPPROTO_IPV6 => match name {
            _ if family != AddressFamily::Inet6 => Err(WsaError::InvalidArgument),
            IPV6_V6ONLY => Ok(down(OptionName::V6Only, Shape::OneByte)),
            _ => Ok(other),
        },
        IPPROTO_UDP if stream => Err(WsaError::ProtocolOption),
        IPPROTO_IP | IPPROTO_UDP => Ok(other),
        _ => Err(WsaError::InvalidArgument),
    }
}

/// A value as `WSPSetSockOpt` gave it, decoded by its shape.
#[derive(Clone, PartialEq, Eq, Debug)]
pub(crate) enum SetValue {
    /// A boolean, or (for [`Shape::ShortBool`] with length 0) nothing to
    /// change.
    Bool(Option<bool>),
    /// An `int`.
    Int(i32),
    /// `struct linger`: `(l_onoff, l_linger)`.
    Linger(u16, u16),
    /// Bytes as given.
    Raw(Vec<u8>),
}

/// Reads a `WSPSetSockOpt` value of `shape` from `bytes` (its `optlen`
/// bytes): `WSAEFAULT` when too short (spec §15's length table).
pub(crate) fn decode(shape: Shape, bytes: &[u8]) -> Result<SetValue, WsaError> {
    let int = |b: &[u8]| -> Result<i32, WsaError> {
        let four: [u8; 4] = b
            .get(..4)
            .and_then(|b| b.try_into().ok())
            .ok_or(WsaError::Fault)?;
        Ok(i32::from_ne_bytes(four))
    };
    Ok(match shape {
        Shape::OneByte => SetValue::Bool(Some(*bytes.first().ok_or(WsaError::Fault)? != 0)),
        Shape::ShortBool => match bytes.len() {
            0 => SetValue::Bool(None),
            n => SetValue::Bool(Some(bytes[..n.min(4)].iter().any(|&b| b != 0))),
        },
        Shape::Bool4 => SetValue::Bool(Some(int(bytes)? != 0)),
        Shape::Int => SetValue::Int(int(bytes)?),
        Shape::Linger => {
            let b: [u8; 4] = bytes
                .get(..4)
                .and_then(|b| b.try_into().ok())
                .ok_or(WsaError::Fault)?;
            SetValue::Linger(
                u16::from_ne_bytes([b[0], b[1]]),
                u16::from_ne_bytes([b[2], b[3]]),
            )
        }
        Shape::Raw => SetValue::Raw(bytes.to_vec()),
    })
}

/// A value for `WSPGetSockOpt`.
#[derive(Clone, PartialEq, Eq, Debug)]
pub(crate) enum GetValue {
    Bool(bool),
    Int(i32),
    Linger(u16, u16),
    Raw(Vec<u8>),
}

/// The bytes `WSPGetSockOpt` writes for `value` of `shape` into a buffer
/// of `capacity` bytes (its `*optlen`); their length is the new `*optlen`.
/// `WSAEFAULT` for a capacity of 0, or one shorter than the value (spec
/// §15: a one-byte boolean writes one byte, a short-capable one writes one
/// byte into a buffer shorter than an `int`).
pub(crate) fn encode(shape: Shape, value: GetValue, capacity: usize) -> Result<Vec<u8>, WsaError> {
    if capacity == 0 {
        return Err(WsaError::Fault);
    }
    let fits = |v: Vec<u8>| {
        if v.len() <= capacity {
            Ok(v)
        } else {
            Err(WsaError::Fault)
        }
    };
    match (shape, value) {
        (Shape::OneByte, GetValue::Bool(b)) => Ok(vec![u8::from(b)]),
        (Shape::ShortBool, GetValue::Bool(b)) if capacity < 4 => Ok(vec![u8::from(b)]),
        (_, GetValue::Bool(b)) => fits(i32::from(b).to_ne_bytes().to_vec()),
        (_, GetValue::Int(i)) => fits(i.to_ne_bytes().to_vec()),
        (_, GetValue::Linger(on, secs)) => {
            let mut v = on.to_ne_bytes().to_vec();
            v.extend(secs.to_ne_bytes());
            fits(v)
        }
        (_, GetValue::Raw(bytes)) => fits(bytes),
    }
}

/// `WSPSetSockOpt` with a negative `optlen` (spec §15): `WSAENOBUFS` for a
/// one-byte option or one outside `SOL_SOCKET`; otherwise Windows goes on
/// and reads an `int`, so the length to read is returned.
pub(crate) fn negative_length(
    level: i32,
    name: i32,
    family: AddressFamily,
    kind: SocketKind,
) -> Result<usize, WsaError> {
    let r = resolve(level, name, family, kind)?;
    if level != SOL_SOCKET || r.shape == Shape::OneByte {
        Err(WsaError::NoBufferSpace)
    } else {
        Ok(size_of::<i32>())
    }
}

#[cfg(test)]
mod tests {
    /// Every named option's `(level, name)` resolves back to it, so a
    /// layered transport passes down exactly what the application set.
    #[test]
    fn level_and_name_round_trips_through_resolve() {
        use OptionName::*;
        let all = [
            Debug,
            ReuseAddress,
            ExclusiveAddressUse,
            KeepAlive,
            DontRoute,
            ConditionalAccept,
            NoDelay,
            OobInline,
        ];
        for name in all {
            let (level, optname) = name.level_and_name();
            let r = resolve(level, optname, AddressFamily::Inet, SocketKind::Stream).unwrap();
            assert_eq!(r.keeper, Keeper::Transport(name));
        }
        let (level, optname) = Broadcast.level_and_name();
        let r = resolve(level, optname, AddressFamily::Inet, SocketKind::Datagram).unwrap();
        assert_eq!(r.keeper, Keeper::Transport(Broadcast));
        let (level, optname) = V6Only.level_and_name();
        let r = resolve(level, optname, AddressFamily::Inet6, SocketKind::Stream).unwrap();
        assert_eq!(r.keeper, Keeper::Transport(V6Only));
    }

    use super::*;
    const V4: AddressFamily = AddressFamily::Inet;
    const V6: AddressFamily = AddressFamily::Inet6;
    const TCP: SocketKind = SocketKind::Stream;
    const UDP: SocketKind = SocketKind::Datagram;

    /// Spec §15: an option of another protocol is `WSAENOPROTOOPT`; an
    /// unknown level is `WSAEINVAL` (Wine's levels 0xFFFFFFFF, 0x8000,
    /// 0x800, 0x1234FFFF, 0x8000FFFF), not `WSAENOPROTOOPT`.
    #[test]
    fn options_of_another_protocol_and_unknown_levels() {
        let refused = |level, name, family, kind| resolve(level, name, family, kind).err();
        assert_eq!(
            refused(SOL_SOCKET, SO_LINGER, V4, UDP),
            Some(WsaError::ProtocolOption),
            "SO_LINGER on a datagram socket"
        );
        assert_eq!(
            refused(IPPROTO_TCP, TCP_NODELAY, V4, UDP),
            Some(WsaError::ProtocolOption)
        );
        assert_eq!(
            refused(SOL_SOCKET, SO_BROADCAST, V4, TCP),
            Some(WsaError::ProtocolOption)
        );
        assert_eq!(
            refused(SOL_SOCKET, SO_DONTROUTE, V6, TCP),
            Some(WsaError::ProtocolOption)
        );
        assert_eq!(
            refused(IPPROTO_IPV6, IPV6_V6ONLY, V4, TCP),
            Some(WsaError::InvalidArgument)
        );
        for level in [-1, 0x8000, 0x800, 0x1234_FFFF, 0x8000_FFFFu32 as i32] {
            assert_eq!(
                refused(level, SO_DEBUG, V4, TCP),
                Some(WsaError::InvalidArgument)
            );
        }
        assert_eq!(refused(SOL_SOCKET, SO_LINGER, V4, TCP), None);
        assert_eq!(
            resolve(SOL_SOCKET, -1, V4, TCP).unwrap().keeper,
            Keeper::Transport(OptionName::Other {
                level: SOL_SOCKET,
                name: -1
            }),
            "an unknown name at a known level goes to the transport"
        );
    }

    /// Spec §15's length table for `WSPSetSockOpt`: one-byte booleans read
    /// the first byte of any length from 1 (0x100 reads as off);
    /// short-capable ones take 0 to 3 bytes (0x100 as an int reads as on);
    /// `int`s and `linger` need 4 (`SO_DONTLINGER` with length 1 is fine,
    /// `SO_LINGER` with 2 is `WSAEFAULT`).
    #[test]
    fn set_lengths_follow_windows() {
        let v100 = 0x100i32.to_ne_bytes();
        assert_eq!(
            decode(Shape::OneByte, &v100),
            Ok(SetValue::Bool(Some(false)))
        );
        assert_eq!(decode(Shape::OneByte, &[]), Err(WsaError::Fault));
        assert_eq!(
            decode(Shape::ShortBool, &v100),
            Ok(SetValue::Bool(Some(true)))
        );
        assert_eq!(
            decode(Shape::ShortBool, &[1]),
            Ok(SetValue::Bool(Some(true)))
        );
        assert_eq!(decode(Shape::ShortBool, &[]), Ok(SetValue::Bool(None)));
        assert_eq!(decode(Shape::Int, &[1, 0]), Err(WsaError::Fault));
        assert_eq!(decode(Shape::Linger, &[1, 0]), Err(WsaError::Fault));
        assert_eq!(
            decode(Shape::Int, &7i32.to_ne_bytes()),
            Ok(SetValue::Int(7))
        );
        assert_eq!(
            decode(Shape::Bool4, &2i32.to_ne_bytes()),
            Ok(SetValue::Bool(Some(true)))
        );
    }

    /// Spec §15's length table for `WSPGetSockOpt`: `*optlen` 0 is always
    /// `WSAEFAULT`; one-byte booleans write 1 byte into a 1, 2 or 4-byte
    /// buffer; short-capable ones write 1, 1 and 4; `int`s refuse 1 and 2.
    #[test]
    fn get_lengths_follow_windows() {
        let lens = |shape, value: GetValue| -> Vec<Result<usize, WsaError>> {
            [0, 1, 2, 4]
                .into_iter()
                .map(|cap| encode(shape, value.clone(), cap).map(|v| v.len()))
                .collect()
        };
        let f = Err(WsaError::Fault);
        assert_eq!(
            lens(Shape::OneByte, GetValue::Bool(true)),
            [f, Ok(1), Ok(1), Ok(1)]
        );
        assert_eq!(
            lens(Shape::ShortBool, GetValue::Bool(true)),
            [f, Ok(1), Ok(1), Ok(4)]
        );
        assert_eq!(lens(Shape::Int, GetValue::Int(9)), [f, f, f, Ok(4)]);
        assert_eq!(
            lens(Shape::Linger, GetValue::Linger(1, 5)),
            [f, f, f, Ok(4)]
        );
    }

    /// Spec §15: a negative `optlen` is `WSAENOBUFS` for one-byte options
    /// and options outside `SOL_SOCKET`, and reads an `int` otherwise.
    #[test]
    fn negative_lengths() {
        assert_eq!(
            negative_length(SOL_SOCKET, SO_KEEPALIVE, V4, TCP),
            Err(WsaError::NoBufferSpace)
        );
        assert_eq!(
            negative_length(IPPROTO_TCP, TCP_NODELAY, V4, TCP),
            Err(WsaError::NoBufferSpace)
        );
        assert_eq!(negative_length(SOL_SOCKET, SO_RCVBUF, V4, TCP), Ok(4));
    }
}
