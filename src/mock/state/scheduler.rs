//! Virtual time and the order of events: one step is one unit of progress,
//! chosen by the seeded RNG among everything that is due now.
//!
//! Everything that can happen is recomputed from the state at each step
//! (rather than kept in an event queue), which keeps the rules in one place
//! and makes "what is due" impossible to get out of sync with the state.
//! Candidates are listed in a fixed order (maps keyed by ids, never hashed),
//! so a seed fixes the whole run.

use super::NetState;
use super::endpoint::{Body, Endpoint, Owner};
use crate::mock::ids::EpId;
use std::time::Duration;

/// One unit of progress.
#[derive(Clone, Copy, Debug)]
enum Action {
    /// Deliver what transport calls and faults left for the sinks.
    Deferred,
    /// Finish the pending operations of a socket that can finish.
    Complete(EpId),
    /// Move one segment (or the FIN) from a send buffer onto the wire.
    Transmit(EpId),
    /// Let a service connection read.
    ServiceRead(EpId),
    /// Take the oldest segment of a connection direction off the wire.
    Deliver(EpId, EpId),
    /// The answer to a connect arrives.
    Resolve(EpId),
    /// Deliver the datagram at this index of the wire list.
    Datagram(usize),
}

/// What a step did.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum StepOutcome {
    /// Something happened.
    Progress,
    /// Nothing was due; the clock moved to the next event (or the limit).
    Advanced,
    /// Nothing was due and nothing is scheduled (before the limit).
    Idle,
}

/// Whether an endpoint certainly has nothing to do: no pending operation,
/// nothing to send, no FIN owed, nothing for a service to read. Only a fast
/// path: everything it lets through is checked in full.
fn quiet(ep: &Endpoint) -> bool {
    if !ep.recvs.is_empty() {
        return false;
    }
    match &ep.body {
        // A connect under way is looked at through `connecting`.
        Body::Idle | Body::Connecting(_) | Body::Datagram(_) => true,
        Body::Listening(l) => l.accepts.is_empty(),
        Body::Connected(c) if c.reset => c.sends.is_empty(),
        Body::Connected(c) => {
            let service_work = matches!(ep.owner, Owner::Service(_))
                && !ep.closed
                && (!c.recv_buf.is_empty() || c.fin_received);
            c.sends.is_empty()
                && c.send_buf.is_empty()
                && (c.fin_sent || !ep.shut_send)
                && !service_work
        }
    }
}

impl NetState {
    /// Everything due now, in a fixed order. Only endpoints in the active set
    /// are looked at; those found with nothing to do (and no service timer)
    /// leave it, so the list is exactly what a scan of every endpoint gives.
    fn candidates(&mut self) -> Vec<Action> {
        let mut v = Vec::new();
        if self.has_deferred() {
            v.push(Action::Deferred);
        }
        if self.down {
            // Nothing moves and nothing completes while the network is down.
            return v;
        }
        let mut idle = Vec::new();
        for &id in &self.active {
            let Some(ep) = self.endpoints.get(&id) else {
                idle.push(id);
                continue;
            };
            let before = v.len();
            if !quiet(ep) {
                if self.completable(id) {
                    v.push(Action::Complete(id));
                }
                if self.can_transmit(id) {
                    v.push(Action::Transmit(id));
                }
                if matches!(ep.owner, Owner::Service(_)) && self.service_can_read(id) {
                    v.push(Action::ServiceRead(id));
                }
            }
            if v.len() == before && self.service_next_read(id).is_none() {
                idle.push(id);
            }
        }
        for id in idle {
            self.active.remove(&id);
        }
        v.extend(self.connects_due().map(Action::Resolve));
        for (&(from, to), q) in &self.wires {
            if q.front().is_some_and(|s| s.due <= self.now) {
                v.push(Action::Deliver(from, to));
            }
        }
        v.extend(
            (0..self.datagrams.len())
                .filter(|&i| self.datagram_due(i))
                .map(Action::Datagram),
        );
        v
    }

    /// The earliest future time at which something becomes due. Call after
    /// [`candidates`](Self::candidates), which prunes the active set.
    fn next_event(&self) -> Option<Duration> {
        if self.down {
            return None;
        }
        let wires = self.wires.values().filter_map(|q| q.front()).map(|s| s.due);
        let datagrams = self
            .datagrams
            .iter()
            .map(|d| d.due)
            .chain(self.next_connect_due());
        // Service timers stay in the active set (see `candidates`).
        let services = self
            .active
            .iter()
            .filter_map(|&id| self.service_next_read(id));
        wires
            .chain(datagrams)
            .chain(services)
            .filter(|&t| t > self.now)
            .min()
    }

    /// Whether nothing is due and nothing is scheduled.
    pub(crate) fn is_idle(&mut self) -> bool {
        self.candidates().is_empty() && self.next_event().is_none()
    }

    /// One unit of progress; if nothing is due, moves the clock to the next
    /// event, but never past `limit`. With a limit and nothing scheduled,
    /// the clock moves to the limit.
    pub(crate) fn step_bounded(&mut self, limit: Option<Duration>) -> StepOutcome {
        let c = self.candidates();
        if !c.is_empty() {
            let i = if c.len() == 1 {
                0
            } else {
                self.rng.below(c.len())
            };
            self.perform(c[i]);
            return StepOutcome::Progress;
        }
        let target = match (self.next_event(), limit) {
            (Some(t), Some(l)) => t.min(l),
            (Some(t), None) => t,
            (None, Some(l)) => l,
            (None, None) => return StepOutcome::Idle,
        };
        if target > self.now {
            self.now = target;
            StepOutcome::Advanced
        } else {
            StepOutcome::Idle
        }
    }

    fn perform(&mut self, a: Action) {
        match a {
            Action::Deferred => self.release_deferred(),
            Action::Complete(id) => self.complete_ops(id),
            Action::Transmit(id) => self.transmit(id),
            Action::ServiceRead(id) => self.service_read(id),
            Action::Deliver(from, to) => self.deliver(from, to),
            Action::Datagram(i) => self.deliver_datagram(i),
            Action::Resolve(id) => self.resolve_connect(id),
        }
    }
}
