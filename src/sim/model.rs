//! The reference model: what a provider driven by the [`Driver`] must have
//! done, and the invariants checked after every step.
//!
//! - every accepted overlapped operation reaches exactly one terminal state
//!   and is notified exactly once, or, when the final cleanup aborted it,
//!   never notified and suppressed once ([`outcome_rule`], S10, S6c);
//! - nothing is left once no startup is in force (S6h);
//! - a stale handle is `WSAENOTSOCK` (or `WSANOTINITIALISED` while no startup
//!   is in force) forever (S4, S6h, S13);
//! - completion routines are queued to the initiating thread;
//! - every byte of every gracefully closed socket reaches its peer, across
//!   final cleanups (S6e, S6g, S7), checked as soon as the connection ends;
//! - a crashed process is never told of anything again (S11), the peers of
//!   its open sockets see a reset, and a socket it closed gracefully before
//!   is untouched once every byte has left the node.
//!
//! The model's bookkeeping grows with what is alive: an operation is
//! checked while pending and a little after, a closed socket until its
//! connection ends, a service until its last connection is gone.
//!
//! [`Driver`]: super::Driver

use super::simulation::{Observation, ProcessId, Simulation};
use super::trace::Event;
use crate::core::op::{OpState, Overlapped};
use crate::mock::{Record, ServiceId};
use crate::{FdEvents, OpId, SocketHandle, ThreadKey, WsaError};
use std::collections::{HashMap, VecDeque};
use std::fmt;

/// How many stale handles are kept for re-checking.
const STALE_KEPT: usize = 64;
/// How many finished operations are kept (for `Poll`, and to catch a late
/// second notification).
const FINISHED_KEPT: usize = 32;

/// S10, S6c: whether an operation now in `state` was told `told` times and
/// suppressed `kept` times as the rules allow. `Err((rule, why))` if not.
/// With `ended`, the operation must have its terminal state by now.
///
/// The one check of an operation's outcome, for every workload.
pub(crate) fn outcome_rule(
    op: OpId,
    state: OpState,
    told: usize,
    kept: usize,
    ended: bool,
) -> Result<(), (&'static str, String)> {
    let ok = match state {
        OpState::Pending => !ended && told == 0 && kept == 0,
        OpState::Delivered | OpState::AbortedNotified => told == 1 && kept == 0,
        OpState::AbortedSilent => told == 0 && kept == 1,
        OpState::Idle | OpState::Completing => false,
    };
    if ok {
        Ok(())
    } else if state == OpState::AbortedSilent && told > 0 {
        Err((
            "S6c",
            format!("{op} was aborted by the final cleanup and notified {told} times"),
        ))
    } else {
        Err((
            "S10",
            format!("{op} is {state:?} with {told} notifications and {kept} suppressions"),
        ))
    }
}

/// A broken invariant: the step, the rule, what was seen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// The step (action) it was seen after.
    pub step: usize,
    /// The rule (`"S6c"`).
    pub rule: String,
    /// What was seen.
    pub message: String,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "step {}: {}: {}", self.step, self.rule, self.message)
    }
}

/// Figures of a run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RunStats {
    /// Actions executed.
    pub actions: usize,
    /// Overlapped operations accepted.
    pub ops_accepted: usize,
    /// Notifications delivered.
    pub delivered: usize,
    /// Notifications suppressed by a final cleanup.
    pub suppressed: usize,
    /// Final cleanups run.
    pub final_cleanups: usize,
    /// Gracefully closed sockets whose bytes were all checked at the peer.
    pub sockets_checked: usize,
    /// Bytes checked at peers.
    pub bytes_checked: u64,
}

/// An open socket as the model knows it.
#[derive(Debug)]
pub(crate) struct Sock {
    pub(crate) h: SocketHandle,
    pub(crate) service: ServiceId,
    pub(crate) echo: bool,
    pub(crate) nonblocking: bool,
    pub(crate) shut_send: bool,
    pub(crate) shut_recv: bool,
    pub(crate) stalled: bool,
    /// The connection was reset (a fault): sends and receives may fail, and
    /// a crash has nothing left to reset.
    pub(crate) reset: bool,
    /// Bytes the provider accepted for sending.
    pub(crate) sent: u64,
    /// Whether `sent` is exactly what the peer must get (no aborted send, no
    /// network outage while it mattered).
    pub(crate) exact: bool,
    /// Its `WSPEventSelect` mask (empty: none).
    pub(crate) selected: FdEvents,
    /// `FD_CLOSE` recorded for it (spec §12: once).
    pub(crate) closes_recorded: usize,
    /// A `TF_DISCONNECT` transmission still pending: its success ends the
    /// sending, so nothing more is sent or shut down until it has ended.
    pub(crate) disconnecting: Option<Overlapped>,
}

/// An overlapped operation the model follows.
#[derive(Debug, Clone)]
pub(crate) struct TrackedOp {
    pub(crate) ov: Overlapped,
    pub(crate) id: OpId,
    pub(crate) send: bool,
    /// Its bytes are in the socket's `sent` already (it finished at once).
    pub(crate) counted: bool,
    pub(crate) pending_at_final_cleanup: bool,
    /// Notifications and suppressions when it was checked to its end.
    pub(crate) ended_with: (usize, usize),
}

/// A closed socket whose peer's count is checked when the connection ends.
#[derive(Debug)]
pub(crate) struct Closed {
    pub(crate) service: ServiceId,
    pub(crate) h: SocketHandle,
    pub(crate) sent: u64,
    pub(crate) exact: bool,
}

/// The model's state. The [`Driver`](super::Driver) changes it as it acts;
/// [`check`](Self::check) holds it against the simulation after every step.
#[derive(Debug, Default)]
pub(crate) struct Model {
    /// Startups in force.
    pub(crate) count: u32,
    pub(crate) sockets: Vec<Sock>,
    pub(crate) stale: VecDeque<SocketHandle>,
    /// Operations not checked to their end yet.
    pub(crate) ops: Vec<TrackedOp>,
    /// Operations checked to their end, kept a little while.
    pub(crate) finished: VecDeque<TrackedOp>,
    pub(crate) closed: Vec<Closed>,
    /// Services whose socket is gone, to remove once their last connection
    /// has ended (their address is then free again).
    pub(crate) retiring: Vec<ServiceId>,
    /// Notifications and suppressions seen, per tracked operation.
    pub(crate) seen: HashMap<OpId, (usize, usize)>,
    /// Services a crash must reset, with the resets they had before.
    pub(crate) reset_expected: Vec<(ServiceId, usize)>,
    pub(crate) net_down: bool,
    pub(crate) failures: Vec<Failure>,
    pub(crate) stats: RunStats,
    /// Ports of services removed, to reuse.
    pub(crate) free_ports: Vec<u16>,
}

/// The application thread the driver plays.
pub(crate) const APP_THREAD: ThreadKey = ThreadKey(1);

impl Model {
    pub(crate) fn fail(&mut self, sim: &Simulation, rule: &str, message: String) {
        if sim.tracing() {
            sim.record(None, Event::invariant(rule, message.clone()));
        }
        self.failures.push(Failure {
            step: self.stats.actions,
            rule: rule.to_string(),
            message,
        });
    }

    pub(crate) fn expect<T: fmt::Debug>(
        &mut self,
        sim: &Simulation,
        rule: &str,
        call: &str,
        got: &Result<T, WsaError>,
        want: WsaError,
    ) {
        if got.as_ref().err() != Some(&want) {
            let shown = match got {
                Ok(v) => format!("0 ({v:?})"),
                Err(e) => format!("SOCKET_ERROR {} ({})", e.name(), e.code()),
            };
            let message = format!(
                "{call} returned {shown}, expected {} ({})",
                want.name(),
                want.code()
            );
            self.fail(sim, rule, message);
        }
    }

    pub(crate) fn retire_handle(&mut self, h: SocketHandle) {
        self.stale.push_back(h);
        if self.stale.len() > STALE_KEPT {
            self.stale.pop_front();
        }
    }

    /// The invariants that hold after every step.
    pub(crate) fn check(&mut self, sim: &mut Simulation, app: ProcessId) {
        for o in sim.take_observed() {
            match o {
                Observation::Delivered(_, rec) => self.delivered(sim, &rec),
                Observation::Suppressed(_, rec, _) => {
                    self.stats.suppressed += 1;
                    self.seen.entry(rec.op()).or_default().1 += 1;
                }
            }
        }
        self.check_network_events(sim, app);
        // The notifier's own record is not needed: what it saw came here.
        sim.notes(app).clear();
        self.check_operations(sim);
        let late = sim.after_crash();
        if late > 0 {
            let message = format!("crashed processes were notified {late} times");
            self.fail(sim, "S11", message);
        }
        let provider = sim.provider(app);
        if self.count == 0 && (provider.socket_count() != 0 || !self.ops.is_empty()) {
            let message = format!(
                "no startup in force but {} sockets and {} pending operations",
                provider.socket_count(),
                self.ops.len()
            );
            self.fail(sim, "S6h", message);
        }
        let want = if self.count == 0 {
            WsaError::NotInitialised
        } else {
            WsaError::NotSocket
        };
        for i in 0..self.stale.len() {
            let h = self.stale[i];
            let r = sim.provider(app).socket_kind(h);
            if r != Err(want) {
                self.fail(sim, "S6h/S13", format!("stale {h} answered {r:?}"));
            }
        }
        self.check_resets(sim, false);
        self.check_closed(sim, false);
        self.retire_services(sim);
    }

    /// Spec §12 and S7 for every network event recorded since the last
    /// step: only for an open socket (none after its close), only events
    /// its registration selected, and `FD_CLOSE` once.
    fn check_network_events(&mut self, sim: &Simulation, app: ProcessId) {
        for e in sim.notes(app).network_events() {
            let Some(i) = self.sockets.iter().position(|s| s.h == e.socket) else {
                let message = format!("{:?} recorded for {}, which is closed", e.events, e.socket);
                self.fail(sim, "S7", message);
                continue;
            };
            let s = &mut self.sockets[i];
            if !s.selected.contains(e.events) {
                let message = format!(
                    "{:?} recorded for {}, registered for {:?}",
                    e.events, e.socket, s.selected
                );
                self.fail(sim, "spec12", message);
                continue;
            }
            if e.events.contains(FdEvents::CLOSE) {
                s.closes_recorded += 1;
                if s.closes_recorded > 1 {
                    let message = format!("FD_CLOSE recorded twice for {}", e.socket);
                    self.fail(sim, "spec12", message);
                }
            }
        }
    }

    fn delivered(&mut self, sim: &Simulation, rec: &Record) {
        self.stats.delivered += 1;
        let id = rec.op();
        if let Record::RoutineQueued { thread, .. } = rec
            && *thread != APP_THREAD
        {
            let message = format!("{id}: routine queued to {thread:?}, not the initiating thread");
            self.fail(sim, "S9", message);
        }
        match self.seen.get_mut(&id) {
            Some(seen) => seen.0 += 1,
            None => {
                let message = format!("{id} was notified, but is no operation being followed");
                self.fail(sim, "S10", message);
            }
        }
    }

    /// S10, S6c for every operation followed; ended ones move to `finished`.
    fn check_operations(&mut self, sim: &Simulation) {
        let mut still = Vec::new();
        for op in std::mem::take(&mut self.ops) {
            let (told, kept) = self.seen.get(&op.id).copied().unwrap_or_default();
            let state = op.ov.state();
            if let Err((rule, message)) = outcome_rule(op.id, state, told, kept, false) {
                self.fail(sim, rule, message);
            }
            if state == OpState::Pending {
                still.push(op);
                continue;
            }
            if op.send
                && !op.counted
                && state == OpState::Delivered
                && let Some(sock) = self.sockets.iter_mut().find(|x| x.h == op.id.socket)
            {
                sock.sent += op.ov.outcome().map_or(0, |o| o.bytes as u64);
            }
            self.finished.push_back(TrackedOp {
                ended_with: (told, kept),
                ..op
            });
        }
        self.ops = still;
        // Ended operations stay followed a little while: a second
        // notification is caught (once).
        for i in 0..self.finished.len() {
            let op = &self.finished[i];
            let now = self.seen.get(&op.id).copied().unwrap_or_default();
            if now != op.ended_with {
                let (id, state) = (op.id, op.ov.state());
                self.finished[i].ended_with = now;
                if let Err((rule, message)) = outcome_rule(id, state, now.0, now.1, true) {
                    self.fail(sim, rule, message);
                }
            }
        }
        while self.finished.len() > FINISHED_KEPT {
            if let Some(op) = self.finished.pop_front() {
                self.seen.remove(&op.id);
            }
        }
    }

    /// S11: every peer a crash had to reset saw the reset (checked as it
    /// comes; at the end, what never came is a failure).
    pub(crate) fn check_resets(&mut self, sim: &Simulation, at_end: bool) {
        let net = sim.network();
        let (seen, missing): (Vec<_>, Vec<_>) = std::mem::take(&mut self.reset_expected)
            .into_iter()
            .partition(|&(svc, before)| net.service_resets(svc) > before);
        for (svc, _) in seen {
            self.retire_service(sim, svc);
        }
        if at_end {
            for (svc, _) in missing {
                let message = format!("a peer of a crashed process saw no reset ({svc:?})");
                self.fail(sim, "S11", message);
            }
        } else {
            self.reset_expected = missing;
        }
    }

    /// S6e, S6g, S7: a closed socket whose connection has ended (or every
    /// one, `at_end`) delivered exactly what was sent; its service retires.
    pub(crate) fn check_closed(&mut self, sim: &Simulation, at_end: bool) {
        let net = sim.network();
        let (ended, open): (Vec<_>, Vec<_>) = std::mem::take(&mut self.closed)
            .into_iter()
            .partition(|c| at_end || net.service_connections(c.service) == 0);
        self.closed = open;
        for c in ended {
            let got = net.service_received(c.service);
            if c.exact {
                self.stats.sockets_checked += 1;
                self.stats.bytes_checked += c.sent;
                if got != c.sent {
                    let message = format!(
                        "{} closed gracefully with {} bytes sent, peer got {got}",
                        c.h, c.sent
                    );
                    self.fail(sim, "S6e/S6g/S7", message);
                }
            } else if got > c.sent + 65_535 * 64 {
                let message = format!("{}: peer got {got} bytes, more than was ever sent", c.h);
                self.fail(sim, "S7", message);
            }
            self.retire_service(sim, c.service);
        }
    }

    /// A service whose socket is gone: it reads what it still has (a peer
    /// reads in the end), then its last connection ends and it is removed.
    pub(crate) fn retire_service(&mut self, sim: &Simulation, service: ServiceId) {
        sim.network().set_read_rate(service, None);
        self.retiring.push(service);
    }

    /// Removes the services whose last connection has ended; their ports
    /// are free again.
    fn retire_services(&mut self, sim: &Simulation) {
        let net = sim.network();
        let mut kept = Vec::new();
        for svc in std::mem::take(&mut self.retiring) {
            let port = net.service_addr(svc).map(|a| a.port());
            if net.remove_service(svc) {
                self.free_ports.extend(port);
            } else {
                kept.push(svc);
            }
        }
        self.retiring = kept;
    }
}
