//! The kit's rules, each a function of a [`Kit`]: providers over fresh
//! transports of one harness, and the helpers every rule uses.

use super::{Harness, Rule};
use crate::mock::RecordingNotifier;
use crate::option_names::{SO_RCVTIMEO, SOL_SOCKET};
use crate::{
    AddressFamily, CompletionMode, EventKey, FdEvents, Linger, MsgFlags, OpId, OpState, Overlapped,
    OverlappedRequest, Provider, ProviderConfig, SocketFlags, SocketHandle, SocketKind, Version,
    WsaError,
};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

/// Why a rule did not pass.
pub(crate) enum Broken {
    Failed(String),
    Skipped(String),
}

type Checked = Result<(), Broken>;

/// A provider over the harness's transport.
type P<H> = Provider<<H as Harness>::Transport, <H as Harness>::Waiter>;

/// Fails the rule with a message unless `cond`.
macro_rules! ensure {
    ($cond:expr, $($msg:tt)*) => {
        if !$cond {
            return Err(Broken::Failed(format!($($msg)*)));
        }
    };
}

/// Fails the rule unless `got == want`, saying what was compared.
macro_rules! same {
    ($got:expr, $want:expr, $what:expr) => {{
        let (got, want) = ($got, $want);
        if got != want {
            return Err(Broken::Failed(format!(
                "{}: got {:?}, want {:?}",
                $what, got, want
            )));
        }
    }};
}

/// A call that must succeed, or the rule fails saying which.
trait OrFail<T> {
    fn or_fail(self, what: &str) -> Result<T, Broken>;
}

impl<T> OrFail<T> for Result<T, WsaError> {
    fn or_fail(self, what: &str) -> Result<T, Broken> {
        self.map_err(|e| Broken::Failed(format!("{what}: {e}")))
    }
}

/// One rule's world: providers made from the harness, cleaned up after.
pub(crate) struct Kit<'a, H: Harness> {
    h: &'a H,
    made: std::cell::RefCell<Vec<P<H>>>,
}

impl<'a, H: Harness> Kit<'a, H> {
    pub(crate) fn new(h: &'a H) -> Self {
        Kit {
            h,
            made: Default::default(),
        }
    }

    /// A started provider over a fresh transport, and what its notifier
    /// records.
    fn provider(&self) -> Result<(P<H>, RecordingNotifier), Broken> {
        let (t, w) = self.h.make();
        let p = Provider::new(ProviderConfig::default(), t, w);
        let notes = RecordingNotifier::new();
        p.startup(Version::new(2, 2), Arc::new(notes.clone()))
            .or_fail("WSPStartup")?;
        self.made.borrow_mut().push(p.clone());
        Ok((p, notes))
    }

    fn ip(&self, family: AddressFamily) -> Result<IpAddr, Broken> {
        self.h
            .local(family)
            .ok_or_else(|| Broken::Skipped(format!("{family:?} is not carried")))
    }

    /// An overlapped (and blocking) socket.
    fn socket(
        &self,
        p: &P<H>,
        family: AddressFamily,
        kind: SocketKind,
    ) -> Result<SocketHandle, Broken> {
        p.socket(family, kind, SocketFlags::OVERLAPPED)
            .or_fail("WSPSocket")
    }

    /// A listening stream socket and its address.
    fn listener(
        &self,
        p: &P<H>,
        family: AddressFamily,
    ) -> Result<(SocketHandle, SocketAddr), Broken> {
        let l = self.socket(p, family, SocketKind::Stream)?;
        let at = p
            .bind(l, SocketAddr::new(self.ip(family)?, 0))
            .or_fail("WSPBind")?;
        p.listen(l, 8).or_fail("WSPListen")?;
        Ok((l, at))
    }

    /// A connection: `(socket on a, the socket b accepted)`.
    fn pair(
        &self,
        a: &P<H>,
        b: &P<H>,
        family: AddressFamily,
    ) -> Result<(SocketHandle, SocketHandle), Broken> {
        let (l, at) = self.listener(b, family)?;
        let s = self.socket(a, family, SocketKind::Stream)?;
        a.connect(s, at).or_fail("WSPConnect")?;
        let (accepted, _) = b.accept(l).or_fail("WSPAccept")?;
        Ok((s, accepted))
    }

    /// An address where nothing listens (a port bound once and let go).
    fn nobody(&self, p: &P<H>, family: AddressFamily) -> Result<SocketAddr, Broken> {
        let s = self.socket(p, family, SocketKind::Stream)?;
        let at = p
            .bind(s, SocketAddr::new(self.ip(family)?, 0))
            .or_fail("WSPBind")?;
        p.close_socket(s).or_fail("WSPCloseSocket")?;
        Ok(at)
    }

    /// Posts an overlapped receive on `s` (event mode) that must pend: its
    /// record and operation.
    fn pending_receive(
        &self,
        p: &P<H>,
        s: SocketHandle,
        key: u64,
    ) -> Result<(Overlapped, OpId), Broken> {
        let req = event_mode(key);
        let rec = req.overlapped.clone();
        same!(
            p.recv(s, 100, MsgFlags::empty(), Some(req)).err(),
            Some(WsaError::IoPending),
            "overlapped receive"
        );
        let op = rec
            .op()
            .ok_or_else(|| Broken::Failed("no operation".into()))?;
        Ok((rec, op))
    }

    /// Lets the network move until `cond` holds (bounded).
    fn eventually(&self, what: &str, mut cond: impl FnMut() -> bool) -> Checked {
        for _ in 0..5000 {
            if cond() {
                return Ok(());
            }
            self.h.settle();
        }
        Err(Broken::Failed(format!("{what}: never happened")))
    }

    /// Events recorded for `s` until `want` are all among them.
    fn events(
        &self,
        p: &P<H>,
        s: SocketHandle,
        want: FdEvents,
    ) -> Result<crate::NetworkEvents, Broken> {
        let mut seen = crate::NetworkEvents::default();
        self.eventually(&format!("{want:?} recorded"), || {
            if let Ok(ev) = p.enum_network_events(s) {
                for bit in ev.events.iter() {
                    if let Some(i) = bit.bit_index() {
                        seen.errors[i] = ev.errors[i];
                    }
                }
                seen.events |= ev.events;
            }
            seen.events.contains(want)
        })?;
        Ok(seen)
    }

    /// Reads (blocking) until end of stream; the bytes.
    fn read_to_end(&self, p: &P<H>, s: SocketHandle) -> Result<Vec<u8>, Broken> {
        let mut all = Vec::new();
        loop {
            let got = p
                .recv(s, 65_536, MsgFlags::empty(), None)
                .or_fail("WSPRecv")?;
            if got.data.is_empty() {
                return Ok(all);
            }
            all.extend(got.data);
        }
    }

    /// Sends on non-blocking `s` until the transport takes no more: the
    /// bytes taken (`fill` of them, a recognisable pattern).
    fn fill(&self, p: &P<H>, s: SocketHandle, most: usize) -> Result<Vec<u8>, Broken> {
        p.set_nonblocking(s, true).or_fail("FIONBIO")?;
        let mut sent = Vec::new();
        while sent.len() < most {
            let chunk: Vec<u8> = (sent.len()..sent.len() + 4096)
                .map(|i| (i % 251) as u8)
                .collect();
            match p.send(s, &chunk, MsgFlags::empty(), None) {
                Ok(n) => sent.extend_from_slice(&chunk[..n]),
                Err(WsaError::WouldBlock) => break,
                Err(e) => return Err(Broken::Failed(format!("WSPSend: {e}"))),
            }
        }
        ensure!(!sent.is_empty(), "nothing could be sent");
        Ok(sent)
    }
}

impl<H: Harness> Drop for Kit<'_, H> {
    /// Every provider the rule made ends with a final cleanup, so a
    /// transport's threads end with the rule.
    fn drop(&mut self) {
        for p in self.made.borrow().iter() {
            while p.cleanup().is_ok() && p.startup_count() > 0 {}
        }
    }
}

fn event_mode(key: u64) -> OverlappedRequest {
    OverlappedRequest::new(CompletionMode::Event(EventKey(key)))
}

macro_rules! rules {
    ($( $rule:literal, $name:literal => $check:ident; )*) => {
        /// Every rule of the kit, in the order [`run`](super::run) runs them.
        pub const RULES: &[Rule] = &[$(Rule { rule: $rule, name: $name }),*];

        /// Runs rule `i` of [`RULES`].
        pub(crate) fn check<H: Harness>(i: usize, kit: &Kit<'_, H>) -> Checked {
            let checks: &[fn(&Kit<'_, H>) -> Checked] = &[$($check::<H>),*];
            checks[i](kit)
        }
    };
}

rules! {
    "connect", "a blocking connect, and bytes both ways in order" => connect_and_echo;
    "connect", "a blocking connect where nobody listens: WSAECONNREFUSED" => connect_refused;
    "connect", "non-blocking: WSAEWOULDBLOCK, then FD_CONNECT and FD_WRITE" => connect_nonblocking;
    "connect", "non-blocking, refused: FD_CONNECT with the error, kept in SO_ERROR" => connect_nonblocking_refused;
    "S9", "an overlapped receive pends, then completes once with the data" => s9_pending_receive;
    "S9", "an overlapped receive that finishes at once is still notified once" => s9_immediate_receive;
    "S9/S10", "every completion mode (event, routine, port, polling) tells once" => s9_every_completion_mode;
    "S7", "a close aborts a pending receive, notified once" => s7_close_aborts;
    "S10", "a peer's reset fails a pending receive once: WSAECONNRESET" => s10_reset_fails_pending_receive;
    "flow", "a full send buffer: WSAEWOULDBLOCK, then FD_WRITE when room comes" => flow_control_and_fd_write;
    "S7", "a close interrupts a blocking receive in another thread: WSAEINTR" => s7_close_interrupts;
    "S7", "a graceful close: the peer gets every byte, then the end" => s7_graceful_close;
    "S7", "an abortive close (SO_LINGER {1, 0}): the peer sees a reset" => s7_abortive_close;
    "S8", "shutdown(SD_SEND): the peer sees the end; sends fail; receives go on" => s8_shutdown_send;
    "S6c", "the final cleanup aborts a pending receive, telling nobody" => s6c_final_cleanup_aborts;
    "S6d", "the final cleanup resets an open connection" => s6d_final_cleanup_resets;
    "S6e/S6g", "a closed socket's data reaches the peer after the final cleanup" => s6g_closed_data_outlives_cleanup;
    "S6h", "after the final cleanup, startup works at once" => s6h_restart;
    "S13", "an address in use: WSAEADDRINUSE, the first socket unharmed" => s13_address_in_use;
    "S13", "send and receive on an unconnected stream: WSAENOTCONN" => s13_not_connected;
    "events", "FD_READ when data arrives; FD_ACCEPT when a connection waits" => events_read_and_accept;
    "events", "FD_CLOSE when the peer closes" => events_close;
    "datagram", "a datagram carries its bytes and its sender" => datagram_round_trip;
    "timeout", "SO_RCVTIMEO: a blocking receive fails WSAETIMEDOUT, the socket stays usable" => receive_timeout;
    "IPv6", "a connection over IPv6, bytes both ways" => ipv6_connect;
}

fn echo_both_ways<H: Harness>(kit: &Kit<'_, H>, family: AddressFamily) -> Checked {
    let (a, _) = kit.provider()?;
    let (b, _) = kit.provider()?;
    let (s, t) = kit.pair(&a, &b, family)?;
    same!(a.send(s, b"ping", MsgFlags::empty(), None), Ok(4), "send");
    same!(
        b.recv(t, 100, MsgFlags::empty(), None).map(|r| r.data),
        Ok(b"ping".to_vec()),
        "the peer's receive"
    );
    same!(
        b.send(t, b"pong", MsgFlags::empty(), None),
        Ok(4),
        "the peer's send"
    );
    same!(
        a.recv(s, 100, MsgFlags::empty(), None).map(|r| r.data),
        Ok(b"pong".to_vec()),
        "receive"
    );
    let peer = a.peer_addr(s).or_fail("WSPGetPeerName")?;
    same!(AddressFamily::of(&peer), family, "the peer's family");
    Ok(())
}

fn connect_and_echo<H: Harness>(kit: &Kit<'_, H>) -> Checked {
    echo_both_ways(kit, AddressFamily::Inet)
}

fn ipv6_connect<H: Harness>(kit: &Kit<'_, H>) -> Checked {
    echo_both_ways(kit, AddressFamily::Inet6)
}

fn connect_refused<H: Harness>(kit: &Kit<'_, H>) -> Checked {
    let (a, _) = kit.provider()?;
    let nobody = kit.nobody(&a, AddressFamily::Inet)?;
    let s = kit.socket(&a, AddressFamily::Inet, SocketKind::Stream)?;
    same!(
        a.connect(s, nobody),
        Err(WsaError::ConnectionRefused),
        "connect"
    );
    same!(
        a.socket_error(s),
        Ok(0),
        "SO_ERROR after a blocking connect"
    );
    Ok(())
}

fn connect_nonblocking<H: Harness>(kit: &Kit<'_, H>) -> Checked {
    let (a, _) = kit.provider()?;
    let (b, _) = kit.provider()?;
    let (_l, at) = kit.listener(&b, AddressFamily::Inet)?;
    let s = kit.socket(&a, AddressFamily::Inet, SocketKind::Stream)?;
    a.event_select(s, EventKey(1), FdEvents::CONNECT | FdEvents::WRITE)
        .or_fail("WSPEventSelect")?;
    let r = a.connect(s, at);
    ensure!(
        matches!(r, Ok(()) | Err(WsaError::WouldBlock)),
        "connect: {r:?}"
    );
    let ev = kit.events(&a, s, FdEvents::CONNECT | FdEvents::WRITE)?;
    same!(
        ev.errors[FdEvents::CONNECT.bit_index().unwrap_or(4)],
        None,
        "FD_CONNECT's error"
    );
    same!(a.socket_error(s), Ok(0), "SO_ERROR");
    same!(a.peer_addr(s), Ok(at), "the peer");
    Ok(())
}

fn connect_nonblocking_refused<H: Harness>(kit: &Kit<'_, H>) -> Checked {
    let (a, _) = kit.provider()?;
    let nobody = kit.nobody(&a, AddressFamily::Inet)?;
    let s = kit.socket(&a, AddressFamily::Inet, SocketKind::Stream)?;
    a.event_select(s, EventKey(1), FdEvents::CONNECT)
        .or_fail("WSPEventSelect")?;
    let r = a.connect(s, nobody);
    ensure!(
        r == Err(WsaError::WouldBlock),
        "connect on a non-blocking socket answered {r:?}, not WSAEWOULDBLOCK"
    );
    let ev = kit.events(&a, s, FdEvents::CONNECT)?;
    same!(
        ev.errors[FdEvents::CONNECT.bit_index().unwrap_or(4)],
        Some(WsaError::ConnectionRefused),
        "FD_CONNECT's error"
    );
    same!(
        a.socket_error(s),
        Ok(WsaError::ConnectionRefused.code()),
        "SO_ERROR"
    );
    same!(
        a.socket_error(s),
        Ok(WsaError::ConnectionRefused.code()),
        "SO_ERROR read again"
    );
    Ok(())
}

fn s9_pending_receive<H: Harness>(kit: &Kit<'_, H>) -> Checked {
    let (a, notes) = kit.provider()?;
    let (b, _) = kit.provider()?;
    let (s, t) = kit.pair(&a, &b, AddressFamily::Inet)?;
    let (rec, op) = kit.pending_receive(&a, s, 1)?;
    b.send(t, b"data", MsgFlags::empty(), None)
        .or_fail("the peer's send")?;
    kit.eventually("the completion", || notes.delivered_for(op) > 0)?;
    same!(notes.delivered_for(op), 1, "notifications");
    same!(rec.data(), b"data".to_vec(), "the data");
    Ok(())
}

fn s9_immediate_receive<H: Harness>(kit: &Kit<'_, H>) -> Checked {
    let (a, notes) = kit.provider()?;
    let (b, _) = kit.provider()?;
    let (s, t) = kit.pair(&a, &b, AddressFamily::Inet)?;
    b.send(t, b"now", MsgFlags::empty(), None)
        .or_fail("the peer's send")?;
    kit.eventually("the data's arrival", || a.available(s).unwrap_or(0) >= 3)?;
    let req = event_mode(2);
    let rec = req.overlapped.clone();
    let got = a
        .recv(s, 100, MsgFlags::empty(), Some(req))
        .or_fail("overlapped receive")?;
    same!(got.data, b"now".to_vec(), "the data");
    let op = rec
        .op()
        .ok_or_else(|| Broken::Failed("no operation".into()))?;
    kit.eventually("the notification", || notes.delivered_for(op) > 0)?;
    same!(
        notes.delivered_for(op),
        1,
        "notifications of an immediate completion"
    );
    Ok(())
}

fn s7_close_aborts<H: Harness>(kit: &Kit<'_, H>) -> Checked {
    let (a, notes) = kit.provider()?;
    let (b, _) = kit.provider()?;
    let (s, _t) = kit.pair(&a, &b, AddressFamily::Inet)?;
    let (rec, op) = kit.pending_receive(&a, s, 3)?;
    a.close_socket(s).or_fail("WSPCloseSocket")?;
    same!(rec.state(), OpState::AbortedNotified, "the record");
    same!(
        rec.outcome().and_then(|o| o.error),
        Some(WsaError::OperationAborted),
        "the error"
    );
    same!(notes.delivered_for(op), 1, "notifications");
    Ok(())
}

fn s7_close_interrupts<H: Harness>(kit: &Kit<'_, H>) -> Checked {
    let (a, _) = kit.provider()?;
    let (b, _) = kit.provider()?;
    let (s, _t) = kit.pair(&a, &b, AddressFamily::Inet)?;
    let (tx, rx) = mpsc::channel();
    let reader = a.clone();
    std::thread::spawn(move || {
        let _ = tx.send(reader.recv(s, 100, MsgFlags::empty(), None).map(|r| r.data));
    });
    kit.eventually("the receive waits", || a.pending_operations(s) == Ok(1))?;
    a.close_socket(s).or_fail("WSPCloseSocket")?;
    let got = rx
        .recv_timeout(Duration::from_secs(10))
        .map_err(|_| Broken::Failed("the blocked receive never returned".into()))?;
    same!(got, Err(WsaError::Interrupted), "the blocked receive");
    Ok(())
}

fn s7_graceful_close<H: Harness>(kit: &Kit<'_, H>) -> Checked {
    let (a, _) = kit.provider()?;
    let (b, _) = kit.provider()?;
    let (s, t) = kit.pair(&a, &b, AddressFamily::Inet)?;
    let sent = kit.fill(&a, s, 256 * 1024)?;
    a.close_socket(s).or_fail("WSPCloseSocket")?;
    let got = kit.read_to_end(&b, t)?;
    same!(got.len(), sent.len(), "bytes the peer got");
    ensure!(got == sent, "the peer got other bytes than were sent");
    Ok(())
}

fn s7_abortive_close<H: Harness>(kit: &Kit<'_, H>) -> Checked {
    let (a, _) = kit.provider()?;
    let (b, _) = kit.provider()?;
    let (s, t) = kit.pair(&a, &b, AddressFamily::Inet)?;
    a.set_linger(
        s,
        Linger {
            on: true,
            seconds: 0,
        },
    )
    .or_fail("SO_LINGER")?;
    a.send(s, b"gone", MsgFlags::empty(), None)
        .or_fail("send")?;
    a.close_socket(s).or_fail("WSPCloseSocket")?;
    loop {
        match b.recv(t, 100, MsgFlags::empty(), None) {
            Ok(r) if !r.data.is_empty() => continue,
            other => {
                same!(
                    other.map(|r| r.data),
                    Err(WsaError::ConnectionReset),
                    "the peer's receive"
                );
                return Ok(());
            }
        }
    }
}

fn s8_shutdown_send<H: Harness>(kit: &Kit<'_, H>) -> Checked {
    let (a, _) = kit.provider()?;
    let (b, _) = kit.provider()?;
    let (s, t) = kit.pair(&a, &b, AddressFamily::Inet)?;
    a.send(s, b"last", MsgFlags::empty(), None)
        .or_fail("send")?;
    a.shutdown(s, 1).or_fail("WSPShutdown(SD_SEND)")?;
    same!(
        kit.read_to_end(&b, t)?,
        b"last".to_vec(),
        "the peer's bytes before the end"
    );
    same!(
        a.send(s, b"x", MsgFlags::empty(), None),
        Err(WsaError::Shutdown),
        "a send after SD_SEND"
    );
    b.send(t, b"back", MsgFlags::empty(), None)
        .or_fail("the peer's send")?;
    same!(
        a.recv(s, 100, MsgFlags::empty(), None).map(|r| r.data),
        Ok(b"back".to_vec()),
        "receive after SD_SEND"
    );
    Ok(())
}

fn s6c_final_cleanup_aborts<H: Harness>(kit: &Kit<'_, H>) -> Checked {
    let (a, notes) = kit.provider()?;
    let (b, _) = kit.provider()?;
    let (s, _t) = kit.pair(&a, &b, AddressFamily::Inet)?;
    let (rec, _) = kit.pending_receive(&a, s, 4)?;
    a.cleanup().or_fail_cleanup()?;
    same!(rec.state(), OpState::AbortedSilent, "the record");
    same!(
        rec.outcome().and_then(|o| o.error),
        Some(WsaError::OperationAborted),
        "the error"
    );
    same!(notes.delivered().len(), 0, "notifications");
    same!(notes.suppressed().len(), 1, "suppressions on record");
    Ok(())
}

fn s6d_final_cleanup_resets<H: Harness>(kit: &Kit<'_, H>) -> Checked {
    let (a, _) = kit.provider()?;
    let (b, _) = kit.provider()?;
    let (_s, t) = kit.pair(&a, &b, AddressFamily::Inet)?;
    a.cleanup().or_fail_cleanup()?;
    same!(
        b.recv(t, 100, MsgFlags::empty(), None).map(|r| r.data),
        Err(WsaError::ConnectionReset),
        "the peer's receive"
    );
    Ok(())
}

fn s6g_closed_data_outlives_cleanup<H: Harness>(kit: &Kit<'_, H>) -> Checked {
    let (a, _) = kit.provider()?;
    let (b, _) = kit.provider()?;
    let (s, t) = kit.pair(&a, &b, AddressFamily::Inet)?;
    let sent = kit.fill(&a, s, 256 * 1024)?;
    a.close_socket(s).or_fail("WSPCloseSocket")?;
    a.cleanup().or_fail_cleanup()?;
    let got = kit.read_to_end(&b, t)?;
    same!(
        got.len(),
        sent.len(),
        "bytes the peer got after the final cleanup"
    );
    ensure!(got == sent, "the peer got other bytes than were sent");
    Ok(())
}

fn s6h_restart<H: Harness>(kit: &Kit<'_, H>) -> Checked {
    let (a, notes) = kit.provider()?;
    let (b, _) = kit.provider()?;
    let (old, _) = kit.pair(&a, &b, AddressFamily::Inet)?;
    a.cleanup().or_fail_cleanup()?;
    a.startup(Version::new(2, 2), Arc::new(notes))
        .or_fail("WSPStartup again")?;
    same!(
        a.socket_kind(old),
        Err(WsaError::NotSocket),
        "the old handle"
    );
    let (s, t) = kit.pair(&a, &b, AddressFamily::Inet)?;
    a.send(s, b"again", MsgFlags::empty(), None)
        .or_fail("send")?;
    same!(
        b.recv(t, 100, MsgFlags::empty(), None).map(|r| r.data),
        Ok(b"again".to_vec()),
        "the peer's receive"
    );
    Ok(())
}

fn s13_address_in_use<H: Harness>(kit: &Kit<'_, H>) -> Checked {
    let (a, _) = kit.provider()?;
    let (l, at) = kit.listener(&a, AddressFamily::Inet)?;
    let second = kit.socket(&a, AddressFamily::Inet, SocketKind::Stream)?;
    same!(
        a.bind(second, at).map(|_| ()),
        Err(WsaError::AddressInUse),
        "a second bind"
    );
    let s = kit.socket(&a, AddressFamily::Inet, SocketKind::Stream)?;
    a.connect(s, at).or_fail("connect to the first")?;
    a.accept(l).or_fail("the first accepts")?;
    Ok(())
}

fn s13_not_connected<H: Harness>(kit: &Kit<'_, H>) -> Checked {
    let (a, _) = kit.provider()?;
    let s = kit.socket(&a, AddressFamily::Inet, SocketKind::Stream)?;
    same!(
        a.send(s, b"x", MsgFlags::empty(), None),
        Err(WsaError::NotConnected),
        "send"
    );
    same!(
        a.recv(s, 10, MsgFlags::empty(), None).map(|r| r.data),
        Err(WsaError::NotConnected),
        "receive"
    );
    Ok(())
}

fn events_read_and_accept<H: Harness>(kit: &Kit<'_, H>) -> Checked {
    let (a, _) = kit.provider()?;
    let (b, _) = kit.provider()?;
    let (l, at) = kit.listener(&b, AddressFamily::Inet)?;
    b.event_select(l, EventKey(5), FdEvents::ACCEPT)
        .or_fail("WSPEventSelect")?;
    let s = kit.socket(&a, AddressFamily::Inet, SocketKind::Stream)?;
    a.connect(s, at).or_fail("connect")?;
    kit.events(&b, l, FdEvents::ACCEPT)?;
    b.set_nonblocking(l, false).ok();
    let (t, _) = kit.eventually_accept(&b, l)?;
    a.event_select(s, EventKey(6), FdEvents::READ)
        .or_fail("WSPEventSelect")?;
    b.send(t, b"news", MsgFlags::empty(), None)
        .or_fail("the peer's send")?;
    kit.events(&a, s, FdEvents::READ)?;
    Ok(())
}

fn events_close<H: Harness>(kit: &Kit<'_, H>) -> Checked {
    let (a, _) = kit.provider()?;
    let (b, _) = kit.provider()?;
    let (s, t) = kit.pair(&a, &b, AddressFamily::Inet)?;
    a.event_select(s, EventKey(7), FdEvents::CLOSE)
        .or_fail("WSPEventSelect")?;
    b.close_socket(t).or_fail("the peer's close")?;
    kit.events(&a, s, FdEvents::CLOSE)?;
    Ok(())
}

fn datagram_round_trip<H: Harness>(kit: &Kit<'_, H>) -> Checked {
    let (a, _) = kit.provider()?;
    let (b, _) = kit.provider()?;
    let ip = kit.ip(AddressFamily::Inet)?;
    let u = kit.socket(&a, AddressFamily::Inet, SocketKind::Datagram)?;
    let v = kit.socket(&b, AddressFamily::Inet, SocketKind::Datagram)?;
    let from = a.bind(u, SocketAddr::new(ip, 0)).or_fail("bind")?;
    let to = b
        .bind(v, SocketAddr::new(ip, 0))
        .or_fail("the peer's bind")?;
    same!(
        a.send_to(u, b"dgram", to, MsgFlags::empty(), None),
        Ok(5),
        "send to"
    );
    let got = b
        .recv(v, 100, MsgFlags::empty(), None)
        .or_fail("receive from")?;
    same!(got.data, b"dgram".to_vec(), "the datagram");
    same!(got.from, Some(from), "its sender");
    Ok(())
}

fn receive_timeout<H: Harness>(kit: &Kit<'_, H>) -> Checked {
    let (a, _) = kit.provider()?;
    let (b, _) = kit.provider()?;
    let (s, t) = kit.pair(&a, &b, AddressFamily::Inet)?;
    a.set_option(s, SOL_SOCKET, SO_RCVTIMEO, &100i32.to_ne_bytes())
        .or_fail("SO_RCVTIMEO")?;
    same!(
        a.recv(s, 10, MsgFlags::empty(), None).map(|r| r.data),
        Err(WsaError::TimedOut),
        "a receive with nothing to read"
    );
    b.send(t, b"later", MsgFlags::empty(), None)
        .or_fail("the peer's send")?;
    same!(
        a.recv(s, 10, MsgFlags::empty(), None).map(|r| r.data),
        Ok(b"later".to_vec()),
        "the next receive"
    );
    Ok(())
}

impl<H: Harness> Kit<'_, H> {
    /// Accepts on `l` (made non-blocking by its event selection) once a
    /// connection is there.
    fn eventually_accept(
        &self,
        p: &P<H>,
        l: SocketHandle,
    ) -> Result<(SocketHandle, SocketAddr), Broken> {
        let mut taken = None;
        self.eventually("an accept", || {
            taken = p.accept(l).ok();
            taken.is_some()
        })?;
        taken.ok_or_else(|| Broken::Failed("no connection".into()))
    }
}

/// The final cleanup, which must be the final one and lose nothing.
trait OrFailCleanup {
    fn or_fail_cleanup(self) -> Checked;
}

impl OrFailCleanup for Result<crate::CleanupOutcome, crate::CleanupError> {
    fn or_fail_cleanup(self) -> Checked {
        match self {
            Ok(crate::CleanupOutcome::Final(_)) => Ok(()),
            other => Err(Broken::Failed(format!(
                "the final cleanup answered {other:?}"
            ))),
        }
    }
}

fn s10_reset_fails_pending_receive<H: Harness>(kit: &Kit<'_, H>) -> Checked {
    let (a, notes) = kit.provider()?;
    let (b, _) = kit.provider()?;
    let (s, t) = kit.pair(&a, &b, AddressFamily::Inet)?;
    let (rec, op) = kit.pending_receive(&a, s, 8)?;
    b.set_linger(
        t,
        Linger {
            on: true,
            seconds: 0,
        },
    )
    .or_fail("the peer's SO_LINGER")?;
    b.close_socket(t).or_fail("the peer's abortive close")?;
    kit.eventually("the receive's end", || notes.delivered_for(op) > 0)?;
    same!(
        rec.outcome().and_then(|o| o.error),
        Some(WsaError::ConnectionReset),
        "the receive's error"
    );
    same!(notes.delivered_for(op), 1, "notifications");
    Ok(())
}

fn flow_control_and_fd_write<H: Harness>(kit: &Kit<'_, H>) -> Checked {
    let (a, _) = kit.provider()?;
    let (b, _) = kit.provider()?;
    let (s, t) = kit.pair(&a, &b, AddressFamily::Inet)?;
    a.event_select(s, EventKey(9), FdEvents::WRITE)
        .or_fail("WSPEventSelect")?;
    // Room at first: FD_WRITE is recorded at once (event re-enabling).
    kit.events(&a, s, FdEvents::WRITE)?;
    // Fill until the transport takes nothing more.
    let mut sent = 0usize;
    kit.eventually("a full send buffer", || {
        let chunk = [7u8; 16 * 1024];
        loop {
            match a.send(s, &chunk, MsgFlags::empty(), None) {
                Ok(n) => sent += n,
                Err(WsaError::WouldBlock) => return true,
                Err(_) => return false,
            }
            if sent > 64 * 1024 * 1024 {
                return false;
            }
        }
    })?;
    same!(
        a.send(s, b"more", MsgFlags::empty(), None),
        Err(WsaError::WouldBlock),
        "a send into a full buffer"
    );
    let _ = a.enum_network_events(s);
    // The peer reads everything: room comes back, and FD_WRITE with it.
    let mut got = 0usize;
    let mut seen = FdEvents::empty();
    kit.eventually("FD_WRITE once the peer has read", || {
        b.set_nonblocking(t, true).ok();
        while let Ok(r) = b.recv(t, 65_536, MsgFlags::empty(), None) {
            if r.data.is_empty() {
                break;
            }
            got += r.data.len();
        }
        seen |= a
            .enum_network_events(s)
            .map(|e| e.events)
            .unwrap_or_default();
        got == sent && seen.contains(FdEvents::WRITE)
    })?;
    same!(got, sent, "bytes the peer read");
    Ok(())
}

fn s9_every_completion_mode<H: Harness>(kit: &Kit<'_, H>) -> Checked {
    use crate::{PortKey, ThreadKey};
    let (a, notes) = kit.provider()?;
    let (b, _) = kit.provider()?;
    let (s, t) = kit.pair(&a, &b, AddressFamily::Inet)?;
    let thread = ThreadKey(77);
    let port = PortKey(5);
    let modes = [
        CompletionMode::Event(EventKey(10)),
        CompletionMode::Routine {
            thread,
            routine: 0xc0de,
        },
        CompletionMode::Port { port, key: 11 },
        CompletionMode::Polling,
    ];
    for (i, mode) in modes.into_iter().enumerate() {
        let req = OverlappedRequest::new(mode);
        let rec = req.overlapped.clone();
        same!(
            a.recv(s, 100, MsgFlags::empty(), Some(req)).err(),
            Some(WsaError::IoPending),
            format!("overlapped receive, {mode}")
        );
        let op = rec
            .op()
            .ok_or_else(|| Broken::Failed("no operation".into()))?;
        let data = [i as u8; 3];
        b.send(t, &data, MsgFlags::empty(), None)
            .or_fail("the peer's send")?;
        kit.eventually(&format!("the completion, {mode}"), || {
            notes.delivered_for(op) > 0
        })?;
        same!(notes.delivered_for(op), 1, format!("notifications, {mode}"));
        same!(rec.data(), data.to_vec(), format!("the data, {mode}"));
        match mode {
            CompletionMode::Routine { .. } => {
                let queued: Vec<OpId> = notes.take_routines(thread).iter().map(|r| r.op).collect();
                same!(queued, vec![op], "the routine queued to the thread");
            }
            CompletionMode::Port { .. } => {
                let posted: Vec<OpId> = notes.take_port(port).iter().map(|r| r.op).collect();
                same!(posted, vec![op], "the packet posted to the port");
            }
            _ => {}
        }
        let polled = a
            .get_overlapped_result(s, &rec, false)
            .or_fail("WSPGetOverlappedResult")?;
        same!(polled.bytes, 3, format!("the result read back, {mode}"));
    }
    Ok(())
}
