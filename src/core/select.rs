//! `WSPSelect` over the provider's own sockets (spec §13).
//!
//! ws2_32 hands a whole `select()` to the provider of the first socket in
//! the sets: without this entry `select()` fails for every application.
//! The sets are of the provider's handles; each comes back as its ready
//! subset:
//! - **read**: data or the end of the stream waits (`FD_READ` readiness),
//!   a connection waits on a listener (`FD_ACCEPT`), the connection was
//!   closed or reset (`FD_CLOSE`);
//! - **write**: a send can go (`FD_WRITE`; a connect that succeeded makes
//!   a stream writable);
//! - **except**: a non-blocking connect failed (on every later select too,
//!   as Windows does), or out-of-band data waits (`FD_OOB`).
//!
//! A blocking select waits for any of them, up to its timeout. It is one
//! blocking call: `WSPCancelBlockingCall` ends it, so does a close of a
//! socket in its sets (`WSAEINTR`) and the final cleanup (S6b).

use super::error::{WsaError, WsaResult};
use super::flags::FdEvents;
use super::handle::SocketHandle;
use super::op::Overlapped;
use super::provider::Provider;
use super::socket_state::{OpKind, PendingOp};
use super::transport::Transport;
use super::waiter::{WaitResult, Waiter};
use std::time::Duration;

/// The three sets of a select: the handles in each, in the caller's order.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct SelectSets {
    /// `readfds`.
    pub read: Vec<SocketHandle>,
    /// `writefds`.
    pub write: Vec<SocketHandle>,
    /// `exceptfds`.
    pub except: Vec<SocketHandle>,
}

impl SelectSets {
    /// The entries of all three sets: a socket in two sets counts twice,
    /// as `select()`'s answer does.
    pub fn count(&self) -> usize {
        self.read.len() + self.write.len() + self.except.len()
    }

    fn is_empty(&self) -> bool {
        self.count() == 0
    }

    /// Every distinct handle, in first-seen order.
    fn handles(&self) -> Vec<SocketHandle> {
        let mut all = Vec::new();
        for &h in self.read.iter().chain(&self.write).chain(&self.except) {
            if !all.contains(&h) {
                all.push(h);
            }
        }
        all
    }
}

/// A set without repeats (a socket listed twice is reported once).
fn distinct(set: &[SocketHandle]) -> Vec<SocketHandle> {
    let mut out = Vec::with_capacity(set.len());
    for &h in set {
        if !out.contains(&h) {
            out.push(h);
        }
    }
    out
}

impl<T: Transport + 'static, W: Waiter + 'static> Provider<T, W> {
    /// `WSPSelect`: the ready subset of each set (see the module docs).
    /// `timeout` `None` waits until something is ready, zero polls.
    ///
    /// Errors: `WSAEINVAL` when every set is empty; `WSAENOTSOCK` when an
    /// entry is not an open socket of this provider (the sets are then
    /// left as they were); `WSAEINTR` when a close of one of its sockets,
    /// `cancel_blocking_call` or the final cleanup ended the wait.
    ///
    /// ```
    /// use winsock_provider::mock::{MockWaiter, Network, RecordingNotifier};
    /// use winsock_provider::{AddressFamily, Provider, ProviderConfig, SelectSets, SocketFlags, SocketKind, Version};
    /// use std::sync::Arc;
    /// use std::time::Duration;
    ///
    /// let net = Network::new(1);
    /// let node = net.add_node("10.0.0.1".parse().unwrap());
    /// let p = Provider::new(ProviderConfig::default(), net.transport(node), MockWaiter::new(&net));
    /// p.startup(Version::new(2, 2), Arc::new(RecordingNotifier::new())).unwrap();
    /// let s = p.socket(AddressFamily::Inet, SocketKind::Stream, SocketFlags::empty()).unwrap();
    /// // An unconnected stream is in no set: a poll reports nothing.
    /// let sets = SelectSets { read: vec![s], write: vec![s], except: vec![s] };
    /// assert_eq!(p.select(&sets, Some(Duration::ZERO)).unwrap().count(), 0);
    /// ```
    pub fn select(&self, sets: &SelectSets, timeout: Option<Duration>) -> WsaResult<SelectSets> {
        let _call = self.enter()?;
        let inner = &self.inner;
        if sets.is_empty() {
            return Err(WsaError::InvalidArgument);
        }
        let handles = sets.handles();
        for &h in &handles {
            inner.table.with(h, |sock| {
                if sock.closing {
                    Err(WsaError::NotSocket)
                } else {
                    Ok(())
                }
            })??;
        }
        let ready = || -> WsaResult<SelectSets> {
            let mut out = SelectSets::default();
            for h in distinct(&sets.read) {
                if self
                    .ready(h)?
                    .0
                    .intersects(FdEvents::READ | FdEvents::ACCEPT | FdEvents::CLOSE)
                {
                    out.read.push(h);
                }
            }
            for h in distinct(&sets.write) {
                if self.ready(h)?.0.contains(FdEvents::WRITE) {
                    out.write.push(h);
                }
            }
            for h in distinct(&sets.except) {
                let (events, failed_connect) = self.ready(h)?;
                if failed_connect || events.contains(FdEvents::OOB) {
                    out.except.push(h);
                }
            }
            Ok(out)
        };
        let now = ready()?;
        if now.count() > 0 || timeout == Some(Duration::ZERO) {
            return Ok(now);
        }
        // Waiting: one blocking call, registered on the first socket so
        // that a cancel, a close of it and the final cleanup end it.
        let first = handles[0];
        let record = Overlapped::new();
        let id = inner.next_op(first);
        record.begin(id, None)?;
        inner.table.with(first, |sock| {
            sock.pending.push(PendingOp {
                id,
                kind: OpKind::Select,
                record: record.clone(),
                mode: None,
                thread: inner.waiter.current_thread(),
                user: 0,
            })
        })?;
        let deadline = timeout.map(|t| inner.waiter.now() + t);
        let mut found = None;
        let mut closed = false;
        let waited = inner.wait_op(&record, deadline, &mut || match ready() {
            Ok(r) if r.count() > 0 => {
                found = Some(r);
                true
            }
            Ok(_) => false,
            Err(_) => {
                // A socket of the sets was closed under the wait.
                closed = true;
                true
            }
        });
        let _ = inner.table.with(first, |sock| sock.take_op(id));
        if let Some(interrupted) = record.outcome().and_then(|o| o.error) {
            return Err(interrupted);
        }
        record.reject();
        match (found, closed, waited) {
            (Some(r), _, _) => Ok(r),
            (None, true, _) => Err(WsaError::Interrupted),
            (None, false, WaitResult::TimedOut) => Ok(SelectSets::default()),
            (None, false, _) => ready(),
        }
    }

    /// What holds for `s` now: its readiness and whether its last
    /// non-blocking connect failed. `WSAENOTSOCK` once it is closed.
    fn ready(&self, s: SocketHandle) -> WsaResult<(FdEvents, bool)> {
        let inner = &self.inner;
        inner.table.with(s, |sock| {
            if sock.closing {
                return Err(WsaError::NotSocket);
            }
            let failed_connect = !sock.connected && sock.connecting.is_none() && sock.so_error != 0;
            Ok((inner.transport.readiness(s), failed_connect))
        })?
    }
}
