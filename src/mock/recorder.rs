//! [`RecordingNotifier`]: a [`Notifier`] that writes down what the core
//! delivers, what it suppresses, the network events and the handle releases,
//! and keeps completion routines and port packets in queues that a test
//! drains (as an alertable wait or `GetQueuedCompletionStatus` would).

use crate::core::error::WsaError;
use crate::core::flags::FdEvents;
use crate::core::handle::{OpId, SocketHandle};
use crate::core::notifier::{
    CompletionMode, EventKey, Notification, Notifier, Outcome, PortKey, Suppressed, ThreadKey,
    WindowKey,
};
use crate::sync::lock;
use crossbeam_channel::{Receiver, Sender};
use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex};

/// One delivered (or suppressed) completion, by how it reached (or would have
/// reached) the application.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Record {
    /// The event object was set.
    EventSet {
        /// The event.
        event: EventKey,
        /// The operation.
        op: OpId,
        /// Its terminal status.
        outcome: Outcome,
    },
    /// The completion routine was queued to the thread.
    RoutineQueued {
        /// The initiating thread.
        thread: ThreadKey,
        /// The routine.
        routine: u64,
        /// The operation.
        op: OpId,
        /// Its terminal status.
        outcome: Outcome,
    },
    /// A packet was posted to the completion port.
    PortPosted {
        /// The port.
        port: PortKey,
        /// The completion key.
        key: u64,
        /// The operation.
        op: OpId,
        /// Its terminal status.
        outcome: Outcome,
    },
    /// Polling mode: nothing reaches the application, but the core still
    /// declared the completion delivered (the status is there to be polled).
    PolledOnly {
        /// The operation.
        op: OpId,
        /// Its terminal status.
        outcome: Outcome,
    },
}

impl Record {
    /// The record of a notification.
    pub fn of(n: &Notification) -> Self {
        let (op, outcome) = (n.op, n.outcome.clone());
        match n.mode {
            CompletionMode::Event(event) => Record::EventSet { event, op, outcome },
            CompletionMode::Routine { thread, routine } => Record::RoutineQueued {
                thread,
                routine,
                op,
                outcome,
            },
            CompletionMode::Port { port, key } => Record::PortPosted {
                port,
                key,
                op,
                outcome,
            },
            CompletionMode::Polling => Record::PolledOnly { op, outcome },
        }
    }

    /// The operation.
    pub fn op(&self) -> OpId {
        match self {
            Record::EventSet { op, .. }
            | Record::RoutineQueued { op, .. }
            | Record::PortPosted { op, .. }
            | Record::PolledOnly { op, .. } => *op,
        }
    }

    /// The terminal status.
    pub fn outcome(&self) -> &Outcome {
        match self {
            Record::EventSet { outcome, .. }
            | Record::RoutineQueued { outcome, .. }
            | Record::PortPosted { outcome, .. }
            | Record::PolledOnly { outcome, .. } => outcome,
        }
    }
}

/// A completion routine waiting for its thread's next alertable wait.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueuedRoutine {
    /// The routine.
    pub routine: u64,
    /// The operation.
    pub op: OpId,
    /// Its terminal status (`dwError`, `cbTransferred`, `dwFlags`).
    pub outcome: Outcome,
    /// The caller's token (`lpOverlapped`).
    pub user: u64,
}

/// A completion packet waiting in a port.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PortPacket {
    /// The completion key.
    pub key: u64,
    /// The operation.
    pub op: OpId,
    /// Its terminal status.
    pub outcome: Outcome,
    /// The caller's token (`lpOverlapped`).
    pub user: u64,
}

/// A completion the core kept from the application, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SuppressedRecord {
    /// What would have been delivered.
    pub record: Record,
    /// Why it was not.
    pub why: Suppressed,
}

/// A `WSPEventSelect` event object set for network events.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetworkEventRecord {
    /// The socket.
    pub socket: SocketHandle,
    /// The event object.
    pub event: EventKey,
    /// The events.
    pub events: FdEvents,
    /// The error that came with them.
    pub error: Option<WsaError>,
}

/// A window message posted for network events (`WSPAsyncSelect`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PostedMessage {
    /// The socket (`wParam`).
    pub socket: SocketHandle,
    /// The window.
    pub window: WindowKey,
    /// The message number given to `WSPAsyncSelect`.
    pub msg: u32,
    /// The events (`WSAGETSELECTEVENT(lParam)`).
    pub events: FdEvents,
    /// The error (`WSAGETSELECTERROR(lParam)`).
    pub error: Option<WsaError>,
}

/// An unbounded channel kept whole, so either end can be cloned out of the
/// map and used without the map's lock.
struct Queue<T> {
    tx: Sender<T>,
    rx: Receiver<T>,
}

impl<T> Default for Queue<T> {
    fn default() -> Self {
        let (tx, rx) = crossbeam_channel::unbounded();
        Queue { tx, rx }
    }
}

#[derive(Default)]
struct Log {
    delivered: Vec<Notification>,
    suppressed: Vec<SuppressedRecord>,
    events: Vec<NetworkEventRecord>,
    messages: Vec<PostedMessage>,
    released: Vec<SocketHandle>,
}

#[derive(Default)]
struct Inner {
    log: Mutex<Log>,
    routines: Mutex<BTreeMap<ThreadKey, Queue<QueuedRoutine>>>,
    ports: Mutex<BTreeMap<PortKey, Queue<PortPacket>>>,
}

/// A [`Notifier`] for tests and simulators. Clones share the record, so a
/// test keeps one and gives another to the provider.
///
/// ```
/// use std::sync::Arc;
/// use winsock_provider::mock::RecordingNotifier;
/// use winsock_provider::Notifier;
/// let notes = RecordingNotifier::new();
/// let for_provider: Arc<dyn Notifier> = Arc::new(notes.clone());
/// # drop(for_provider);
/// assert!(notes.delivered().is_empty());
/// ```
#[derive(Clone, Default)]
pub struct RecordingNotifier {
    inner: Arc<Inner>,
}

impl RecordingNotifier {
    /// An empty recorder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every delivered completion, in delivery order.
    pub fn delivered(&self) -> Vec<Record> {
        lock!(self.inner.log)
            .delivered
            .iter()
            .map(Record::of)
            .collect()
    }

    /// Every delivered notification as the core gave it (with `user`).
    pub fn delivered_notifications(&self) -> Vec<Notification> {
        lock!(self.inner.log).delivered.clone()
    }

    /// How many times `op`'s completion was delivered (S10: at most once).
    pub fn delivered_for(&self, op: OpId) -> usize {
        lock!(self.inner.log)
            .delivered
            .iter()
            .filter(|n| n.op == op)
            .count()
    }

    /// Every suppressed completion, in order.
    pub fn suppressed(&self) -> Vec<SuppressedRecord> {
        lock!(self.inner.log).suppressed.clone()
    }

    /// How many times `op`'s completion was suppressed.
    pub fn suppressed_for(&self, op: OpId) -> usize {
        lock!(self.inner.log)
            .suppressed
            .iter()
            .filter(|s| s.record.op() == op)
            .count()
    }

    /// Every event object set for network events, in order.
    pub fn network_events(&self) -> Vec<NetworkEventRecord> {
        lock!(self.inner.log).events.clone()
    }

    /// Every window message posted for network events (`WSPAsyncSelect`), in order.
    pub fn posted_messages(&self) -> Vec<PostedMessage> {
        lock!(self.inner.log).messages.clone()
    }

    /// Every handle given back, in order.
    pub fn released(&self) -> Vec<SocketHandle> {
        lock!(self.inner.log).released.clone()
    }

    /// Runs a thread's alertable wait: takes every completion routine queued
    /// to `thread`, oldest first.
    pub fn take_routines(&self, thread: ThreadKey) -> Vec<QueuedRoutine> {
        let rx = lock!(self.inner.routines)
            .get(&thread)
            .map(|q| q.rx.clone());
        rx.map(|rx| rx.try_iter().collect()).unwrap_or_default()
    }

    /// Dequeues every packet posted to `port`, oldest first.
    pub fn take_port(&self, port: PortKey) -> Vec<PortPacket> {
        let rx = lock!(self.inner.ports).get(&port).map(|q| q.rx.clone());
        rx.map(|rx| rx.try_iter().collect()).unwrap_or_default()
    }

    /// Forgets everything recorded and queued.
    pub fn clear(&self) {
        *lock!(self.inner.log) = Log::default();
        lock!(self.inner.routines).clear();
        lock!(self.inner.ports).clear();
    }
}

impl fmt::Debug for RecordingNotifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let log = lock!(self.inner.log);
        f.debug_struct("RecordingNotifier")
            .field("delivered", &log.delivered.len())
            .field("suppressed", &log.suppressed.len())
            .field("events", &log.events.len())
            .field("released", &log.released.len())
            .finish()
    }
}

impl Notifier for RecordingNotifier {
    fn deliver(&self, n: &Notification) {
        lock!(self.inner.log).delivered.push(n.clone());
        let (op, outcome, user) = (n.op, n.outcome.clone(), n.user);
        match n.mode {
            CompletionMode::Routine { thread, routine } => {
                let tx = lock!(self.inner.routines)
                    .entry(thread)
                    .or_default()
                    .tx
                    .clone();
                // Cannot fail: the queue holds its own receiver.
                let _ = tx.send(QueuedRoutine {
                    routine,
                    op,
                    outcome,
                    user,
                });
            }
            CompletionMode::Port { port, key } => {
                let tx = lock!(self.inner.ports).entry(port).or_default().tx.clone();
                let _ = tx.send(PortPacket {
                    key,
                    op,
                    outcome,
                    user,
                });
            }
            CompletionMode::Event(_) | CompletionMode::Polling => {}
        }
    }

    fn suppressed(&self, n: &Notification, why: Suppressed) {
        lock!(self.inner.log).suppressed.push(SuppressedRecord {
            record: Record::of(n),
            why,
        });
    }

    fn network_event(
        &self,
        socket: SocketHandle,
        event: EventKey,
        events: FdEvents,
        error: Option<WsaError>,
    ) {
        lock!(self.inner.log).events.push(NetworkEventRecord {
            socket,
            event,
            events,
            error,
        });
    }

    fn post_message(
        &self,
        socket: SocketHandle,
        window: WindowKey,
        msg: u32,
        events: FdEvents,
        error: Option<WsaError>,
    ) {
        lock!(self.inner.log).messages.push(PostedMessage {
            socket,
            window,
            msg,
            events,
            error,
        });
    }

    fn handle_released(&self, socket: SocketHandle) {
        lock!(self.inner.log).released.push(socket);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn note(seq: u64, mode: CompletionMode) -> Notification {
        Notification {
            op: OpId {
                socket: SocketHandle::from_raw(1),
                seq,
            },
            mode,
            outcome: Outcome {
                bytes: seq as usize,
                ..Outcome::default()
            },
            user: 100 + seq,
        }
    }

    #[test]
    fn records_each_mode_distinctly_and_in_order() {
        let r = RecordingNotifier::new();
        r.deliver(&note(1, CompletionMode::Event(EventKey(9))));
        r.deliver(&note(
            2,
            CompletionMode::Routine {
                thread: ThreadKey(3),
                routine: 0x40,
            },
        ));
        r.deliver(&note(
            3,
            CompletionMode::Port {
                port: PortKey(5),
                key: 77,
            },
        ));
        r.deliver(&note(4, CompletionMode::Polling));
        let d = r.delivered();
        assert!(matches!(
            d[0],
            Record::EventSet {
                event: EventKey(9),
                ..
            }
        ));
        assert!(matches!(
            d[1],
            Record::RoutineQueued {
                thread: ThreadKey(3),
                routine: 0x40,
                ..
            }
        ));
        assert!(matches!(
            d[2],
            Record::PortPosted {
                port: PortKey(5),
                key: 77,
                ..
            }
        ));
        assert!(matches!(d[3], Record::PolledOnly { .. }));
        assert_eq!(
            d.iter().map(|x| x.op().seq).collect::<Vec<_>>(),
            [1, 2, 3, 4]
        );
        assert_eq!(r.delivered_for(note(2, CompletionMode::Polling).op), 1);
        assert_eq!(
            r.delivered_for(OpId {
                socket: SocketHandle::from_raw(1),
                seq: 99
            }),
            0
        );
    }

    #[test]
    fn routines_queue_per_thread_and_drain_once() {
        let r = RecordingNotifier::new();
        let t1 = ThreadKey(1);
        let t2 = ThreadKey(2);
        r.deliver(&note(
            1,
            CompletionMode::Routine {
                thread: t1,
                routine: 1,
            },
        ));
        r.deliver(&note(
            2,
            CompletionMode::Routine {
                thread: t2,
                routine: 1,
            },
        ));
        r.deliver(&note(
            3,
            CompletionMode::Routine {
                thread: t1,
                routine: 1,
            },
        ));
        let got: Vec<u64> = r.take_routines(t1).iter().map(|q| q.op.seq).collect();
        assert_eq!(got, [1, 3]);
        assert!(r.take_routines(t1).is_empty(), "an APC runs once");
        assert_eq!(r.take_routines(t2)[0].user, 102);
        assert!(r.take_routines(ThreadKey(42)).is_empty());
    }

    #[test]
    fn ports_suppressions_events_and_releases_are_kept() {
        let r = RecordingNotifier::new();
        r.deliver(&note(
            1,
            CompletionMode::Port {
                port: PortKey(1),
                key: 5,
            },
        ));
        Notifier::suppressed(
            &r,
            &note(2, CompletionMode::Event(EventKey(1))),
            Suppressed::FinalCleanup,
        );
        r.network_event(SocketHandle::from_raw(7), EventKey(2), FdEvents::READ, None);
        r.handle_released(SocketHandle::from_raw(7));
        assert_eq!(
            r.take_port(PortKey(1)),
            vec![PortPacket {
                key: 5,
                op: note(1, CompletionMode::Polling).op,
                outcome: note(1, CompletionMode::Polling).outcome,
                user: 101
            }]
        );
        let s = r.suppressed();
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].why, Suppressed::FinalCleanup);
        assert_eq!(r.suppressed_for(s[0].record.op()), 1);
        assert_eq!(
            r.delivered_for(s[0].record.op()),
            0,
            "suppressed is not delivered"
        );
        assert_eq!(r.network_events()[0].events, FdEvents::READ);
        assert_eq!(r.released(), vec![SocketHandle::from_raw(7)]);
        r.clear();
        assert!(r.delivered().is_empty() && r.suppressed().is_empty() && r.released().is_empty());
    }
}
