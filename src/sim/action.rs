//! The steps of a random workload, and how bytes decode into them.
//!
//! One decoder serves every source of randomness: `wspsim --seed` feeds it a
//! seeded byte stream, the property test feeds it proptest's byte vectors
//! (which shrink), and the fuzz target feeds it libFuzzer's input.

use std::fmt;

/// How a send or receive is issued.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum How {
    /// No overlapped record: blocking or non-blocking as the socket is.
    Plain,
    /// Overlapped, completion sets an event.
    Event,
    /// Overlapped, completion routine queued to the initiating thread.
    Routine,
    /// Overlapped, completion posted to a port.
    Port,
    /// Overlapped, nobody told; the application polls.
    Polling,
}

/// The `SO_LINGER` a close uses.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum LingerChoice {
    /// `SO_DONTLINGER`: graceful, in the background.
    Off,
    /// On with timeout 0: abortive.
    Abortive,
    /// On with this many seconds.
    Timed(u16),
}

/// The `WSPIoctl` codes the workload issues (spec §14).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum IoctlCode {
    /// `FIONREAD`: 4 bytes back.
    Fionread,
    /// `SIOCATMARK`: 4 bytes back, TRUE (the workload sends no urgent data).
    AtMark,
    /// `SIO_KEEPALIVE_VALS`: keep-alive on, nothing back.
    KeepAlive,
    /// A code nobody knows: `WSAEOPNOTSUPP`, as Windows answers it.
    Unknown,
}

/// One step of the workload. Socket and operation indices pick among the
/// ones the harness tracks (modulo their number).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Action {
    /// `WSPStartup` with this version (`major`, `minor`).
    Startup(u8, u8),
    /// `WSPCleanup`.
    Cleanup,
    /// A stream socket connected to a new network service (echo or discard).
    Socket {
        /// Echo service (it sends back) instead of a discard sink.
        echo: bool,
    },
    /// Send `len` bytes.
    Send {
        /// Which open socket.
        sock: u8,
        /// How many bytes.
        len: u16,
        /// How.
        how: How,
    },
    /// Receive up to 4 KiB.
    Recv {
        /// Which open socket.
        sock: u8,
        /// How.
        how: How,
    },
    /// Close with a linger setting.
    Close {
        /// Which open socket.
        sock: u8,
        /// The linger setting.
        linger: LingerChoice,
    },
    /// `WSPShutdown` with a raw `how` (3 is invalid).
    Shutdown {
        /// Which open socket.
        sock: u8,
        /// 0, 1, 2, or 3 (invalid).
        how: u8,
    },
    /// `FIONBIO`.
    NonBlocking {
        /// Which open socket.
        sock: u8,
        /// On or off.
        on: bool,
    },
    /// `WSPEventSelect` for these `FD_*` bits (the low six: `FD_READ` to
    /// `FD_CLOSE`; none cancels the registration).
    EventSelect {
        /// Which open socket.
        sock: u8,
        /// The `FD_*` mask, its low six bits used.
        events: u8,
    },
    /// `WSPSelect` polling the socket in all three sets.
    Select {
        /// Which open socket.
        sock: u8,
    },
    /// `WSPGetOverlappedResult` without waiting, on a tracked operation.
    Poll {
        /// Which operation.
        op: u8,
    },
    /// Let the network make this many steps.
    Run {
        /// Steps.
        steps: u8,
    },
    /// Stop (or restart) the reading of a socket's service.
    Stall {
        /// Which open socket.
        sock: u8,
        /// Stall (true) or read at full speed again.
        on: bool,
    },
    /// The network goes down or comes back.
    NetworkDown(bool),
    /// The socket's peer reads `rate` bytes per millisecond (a slow reader).
    Slow {
        /// Which open socket.
        sock: u8,
        /// Bytes per millisecond, at least 1.
        rate: u8,
    },
    /// The connection of a socket is reset (the peer aborts it).
    Reset {
        /// Which open socket.
        sock: u8,
    },
    /// Messages sent from now on take this long to arrive.
    Delay {
        /// Milliseconds, at least 1.
        ms: u8,
    },
    /// The process crashes (S11) and a new one starts on the same node.
    Crash,
    /// Use a handle that was closed (or freed by a final cleanup).
    UseStale {
        /// Which stale handle.
        idx: u8,
    },
    /// `WSPIoctl` with one of the codes the workload knows.
    Ioctl {
        /// Which open socket.
        sock: u8,
        /// The code.
        code: IoctlCode,
    },
    /// `ConnectEx` to a new network service, sending `len` bytes (0: none)
    /// in the same operation; the workload's thread then waits for it.
    ConnectEx {
        /// Echo service instead of a discard sink.
        echo: bool,
        /// Bytes sent with the connect (at most 4095).
        len: u16,
        /// How it is told (`Plain` is told by an event: ConnectEx is
        /// always overlapped).
        how: How,
    },
    /// `WSPDuplicateSocket`, the `WSPSocket` that claims the duplicate in
    /// the same process, then the original's close: the socket goes on
    /// under its new handle (a hand-over, as .NET's `DuplicateAndClose`).
    HandOver {
        /// Which open socket.
        sock: u8,
    },
    /// `TransmitFile` of `len` bytes from memory, with `TF_DISCONNECT` or
    /// not.
    Transmit {
        /// Which open socket.
        sock: u8,
        /// How many bytes.
        len: u16,
        /// How.
        how: How,
        /// `TF_DISCONNECT`: the sending ends once the bytes are sent.
        disconnect: bool,
    },
}

impl Action {
    /// Decodes the next action from a byte source; `None` when it runs dry.
    /// Weights favour the calls that make interesting states.
    pub fn decode(bytes: &mut impl Iterator<Item = u8>) -> Option<Action> {
        let tag = bytes.next()?;
        let mut b = || bytes.next().unwrap_or(0);
        let how = |v: u8| match v % 5 {
            0 => How::Plain,
            1 => How::Event,
            2 => How::Routine,
            3 => How::Port,
            _ => How::Polling,
        };
        Some(match tag % 37 {
            0 | 31 => match b() % 8 {
                0 => Action::Startup(1, 1),
                1 => Action::Startup(2, 0),
                2 => Action::Startup(3, 1),
                _ => Action::Startup(2, 2),
            },
            1 | 2 => Action::Cleanup,
            3..=5 => Action::Socket { echo: b() % 3 == 0 },
            6..=11 => {
                let sock = b();
                let len = u16::from_le_bytes([b(), b() % 64]);
                Action::Send {
                    sock,
                    len: len.max(1),
                    how: how(b()),
                }
            }
            12..=14 => Action::Recv {
                sock: b(),
                how: how(b()),
            },
            15..=17 => {
                let sock = b();
                let linger = match b() % 4 {
                    0 | 1 => LingerChoice::Off,
                    2 => LingerChoice::Abortive,
                    _ => LingerChoice::Timed(u16::from(b() % 5) + 1),
                };
                Action::Close { sock, linger }
            }
            18 => Action::Shutdown {
                sock: b(),
                how: b() % 4,
            },
            19 => Action::NonBlocking {
                sock: b(),
                on: b() % 2 == 0,
            },
            20 | 21 => Action::Poll { op: b() },
            22..=24 => Action::Run { steps: b() },
            25 => Action::Select { sock: b() },
            26 => Action::EventSelect {
                sock: b(),
                events: b() & 0x3F,
            },
            27 => Action::Stall {
                sock: b(),
                on: b() % 3 != 0,
            },
            28 => match b() % 3 {
                0 => Action::Slow {
                    sock: b(),
                    rate: b().max(1),
                },
                1 => Action::Reset { sock: b() },
                _ => Action::Delay { ms: b().max(1) },
            },
            29 => Action::NetworkDown(b() % 4 == 0),
            32 => Action::Ioctl {
                sock: b(),
                code: match b() % 4 {
                    0 => IoctlCode::Fionread,
                    1 => IoctlCode::AtMark,
                    2 => IoctlCode::KeepAlive,
                    _ => IoctlCode::Unknown,
                },
            },
            33 => Action::ConnectEx {
                echo: b() % 3 == 0,
                len: u16::from_le_bytes([b(), b() % 16]),
                how: how(b()),
            },
            36 => Action::HandOver { sock: b() },
            34 | 35 => {
                let sock = b();
                let len = u16::from_le_bytes([b(), b() % 64]);
                Action::Transmit {
                    sock,
                    len: len.max(1),
                    how: how(b()),
                    disconnect: b() % 4 == 0,
                }
            }
            // A crash ends everything the process owns: keep it rare.
            _ => match b() {
                0..=7 => Action::Crash,
                idx => Action::UseStale { idx },
            },
        })
    }

    /// Decodes every action in `bytes`.
    pub fn decode_all(bytes: &[u8]) -> Vec<Action> {
        let mut it = bytes.iter().copied();
        std::iter::from_fn(|| Action::decode(&mut it)).collect()
    }
}

impl fmt::Display for How {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            How::Plain => "plain",
            How::Event => "overlapped/event",
            How::Routine => "overlapped/routine",
            How::Port => "overlapped/port",
            How::Polling => "overlapped/polling",
        })
    }
}

impl fmt::Display for IoctlCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            IoctlCode::Fionread => "fionread",
            IoctlCode::AtMark => "atmark",
            IoctlCode::KeepAlive => "keepalive",
            IoctlCode::Unknown => "unknown",
        })
    }
}

impl fmt::Display for LingerChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LingerChoice::Off => f.write_str("SO_DONTLINGER"),
            LingerChoice::Abortive => f.write_str("SO_LINGER{on,0}"),
            LingerChoice::Timed(s) => write!(f, "SO_LINGER{{on,{s}s}}"),
        }
    }
}

/// A small seeded generator (SplitMix64) for `wspsim --seed`: the same seed
/// gives the same bytes on every OS.
#[derive(Clone, Debug)]
pub struct SeededBytes {
    state: u64,
    word: u64,
    left: u8,
}

impl SeededBytes {
    /// A stream of bytes determined by `seed`.
    pub fn new(seed: u64) -> Self {
        SeededBytes {
            state: seed,
            word: 0,
            left: 0,
        }
    }
}

impl Iterator for SeededBytes {
    type Item = u8;

    fn next(&mut self) -> Option<u8> {
        if self.left == 0 {
            self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            self.word = z ^ (z >> 31);
            self.left = 8;
        }
        self.left -= 1;
        let byte = self.word as u8;
        self.word >>= 8;
        Some(byte)
    }
}
