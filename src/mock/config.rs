//! The knobs of a mock network.

use std::time::Duration;

/// The largest datagram payload (65535 - 20 byte IPv4 header - 8 byte UDP
/// header); a larger send is `WSAEMSGSIZE`.
pub const MAX_DATAGRAM: usize = 65_507;

/// The first ephemeral port (the IANA dynamic range, as Windows uses it).
pub const EPHEMERAL_FIRST: u16 = 49_152;

/// Settings fixed when the [`Network`](super::Network) is built (hand-off
/// support can also be switched later with
/// [`Network::set_hand_off_supported`](super::Network::set_hand_off_supported)).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetworkConfig {
    /// Default `SO_SNDBUF` of a new socket, in bytes (8192).
    pub send_buffer: usize,
    /// Default `SO_RCVBUF` of a new socket, in bytes (8192).
    pub recv_buffer: usize,
    /// Virtual time a segment or datagram spends on the wire (1 ms).
    pub latency: Duration,
    /// Largest payload of one stream segment (1460). Values below 1 count as 1.
    pub mss: usize,
    /// How long a connect to an address no node has waits before it fails
    /// with `WSAETIMEDOUT` (21 s, Windows' default: the first SYN and two
    /// retransmissions).
    pub connect_timeout: Duration,
    /// Whether [`Transport::hand_off`](crate::Transport::hand_off) is accepted
    /// (true). When false it answers
    /// [`HandOffRefused::Unsupported`](crate::HandOffRefused::Unsupported), so
    /// the core must wait for the data itself (S6g).
    pub hand_off: bool,
}

impl Default for NetworkConfig {
    fn default() -> Self {
        NetworkConfig {
            send_buffer: 8192,
            recv_buffer: 8192,
            latency: Duration::from_millis(1),
            mss: 1460,
            connect_timeout: Duration::from_secs(21),
            hand_off: true,
        }
    }
}
