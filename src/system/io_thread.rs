//! The transport's one I/O thread: waits for readiness, lets the sockets
//! that are ready make progress under the lock, and reports what finished
//! to the core after it (the locking rule of `core::transport`).

use super::Shared;
use super::entry::{Adopt, Entry, Out};
use crate::core::error::WsaError;
use crate::core::transport::SocketKind;
use crate::sync::lock;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;

/// The waker's token; sockets count from 1.
const WAKER: mio::Token = mio::Token(0);

/// A running I/O thread, and what stops it.
pub(crate) struct Running {
    waker: mio::Waker,
    stop: Arc<AtomicBool>,
    thread: JoinHandle<()>,
}

impl Running {
    /// Stops the thread and waits for it to end: after this, no code of
    /// the transport runs on it.
    pub(crate) fn stop(self) {
        self.stop.store(true, Ordering::Release);
        if self.waker.wake().is_ok() {
            let _ = self.thread.join();
        }
    }
}

/// Starts the I/O thread and makes its registry the one sockets register
/// with.
pub(crate) fn start(shared: &Arc<Shared>) -> Result<Running, WsaError> {
    let poll = mio::Poll::new()?;
    let waker = mio::Waker::new(poll.registry(), WAKER)?;
    lock!(shared.state).registry = Some(poll.registry().try_clone()?);
    let stop = Arc::new(AtomicBool::new(false));
    let thread = {
        let (shared, stop) = (shared.clone(), stop.clone());
        std::thread::Builder::new()
            .name("winsock-provider-io".into())
            .spawn(move || run(poll, &shared, &stop))?
    };
    Ok(Running {
        waker,
        stop,
        thread,
    })
}

fn run(mut poll: mio::Poll, shared: &Shared, stop: &AtomicBool) {
    let mut events = mio::Events::with_capacity(256);
    loop {
        if let Err(e) = poll.poll(&mut events, None) {
            if e.kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            tracing::error!(target: "winsock_provider", error = %e, "I/O thread: poll failed");
            return;
        }
        if stop.load(Ordering::Acquire) {
            return;
        }
        let mut out = Vec::new();
        {
            let mut st = lock!(shared.state);
            let mut adopt: Vec<Adopt> = Vec::new();
            for ev in events.iter() {
                if ev.token() == WAKER {
                    continue;
                }
                let Some(&h) = st.tokens.get(&ev.token()) else {
                    continue;
                };
                let Some(e) = st.sockets.get_mut(&h) else {
                    continue;
                };
                let readable = ev.is_readable() || ev.is_read_closed() || ev.is_error();
                let writable = ev.is_writable() || ev.is_error();
                e.progress(
                    h,
                    readable,
                    writable,
                    ev.is_read_closed(),
                    &mut out,
                    &mut adopt,
                );
            }
            for a in adopt {
                let family = match a.stream.local_addr() {
                    Ok(std::net::SocketAddr::V6(_)) => crate::AddressFamily::Inet6,
                    _ => crate::AddressFamily::Inet,
                };
                let e = Entry::new(
                    super::entry::Os::Stream(a.stream),
                    family,
                    SocketKind::Stream,
                );
                st.sockets.insert(a.into, e);
                if let Err(err) = st.register(a.into) {
                    tracing::warn!(target: "winsock_provider", error = %err, "accepted socket not registered");
                }
            }
        }
        deliver(shared, out);
    }
}

/// Reports to the core, with no lock of the transport's held.
fn deliver(shared: &Shared, out: Vec<Out>) {
    if out.is_empty() {
        return;
    }
    let Some(sink) = lock!(shared.sink).clone() else {
        return;
    };
    for o in out {
        match o {
            Out::Complete(op, result) => sink.complete(op, result),
            Out::Event(h, events, error) => sink.network_event(h, events, error),
        }
    }
}
