//! How the next provider's completions and network events reach a layer
//! that is not IFS (spec §11: the layer posts its own operations on the
//! lower socket and completes the caller's when they finish).
//!
//! The layer gives the next provider the upcall table it got from ws2_32
//! with two entries replaced:
//! - `WPUQueueApc`: the layer posts every lower operation with a
//!   completion routine and the relay's [`thread_id`]; the next provider
//!   queues the routine with this upcall, and the relay runs it on its own
//!   thread (the SDK's sample runs such routines on a worker thread that
//!   waits alertably; this thread needs no alertable wait, so it runs the
//!   same on every host);
//! - `WPUPostMessage`: each lower socket is registered with
//!   `WSPAsyncSelect` to a relay window (a key, never a real `HWND`), and
//!   the relay hands each message to the transport that owns the key.
//!
//! Anything else those upcalls are asked to do (another thread, a real
//! window: the next provider serves ws2_32 too) goes to ws2_32's own.
//! Nothing is ever run on the next provider's thread inside its call, so
//! the layer never re-enters the next provider from within it.
//!
//! One relay thread serves the process: started when the first layered
//! transport starts, stopped and joined when the last one stops (so the
//! final cleanup returns only when no thread runs the layer's code).

use super::super::abi::{SOCKET, WSATHREADID, WSPUPCALLTABLE};
use crate::sync::lock;
use crate::{FdEvents, WsaError};
use arc_swap::ArcSwapOption;
use crossbeam_channel::{Sender, unbounded};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::thread::JoinHandle;
use windows_sys::Win32::Foundation::{HANDLE, HWND, LPARAM, WPARAM};
use windows_sys::core::BOOL;

/// A user-mode APC, as `WPUQueueApc` gets it.
type Apc = unsafe extern "system" fn(context: usize);

/// The message every lower socket is registered for (`WM_USER + 0x5753`).
pub(super) const MESSAGE: u32 = 0x0400 + 0x5753;

/// The relay's thread handle in its `WSATHREADID`: no real handle has it
/// (handles are multiples of 4).
const THREAD_MARK: usize = 0x5753_5051;

/// Relay window keys start here: far above any real `HWND` (which are
/// small, 32-bit-significant values).
const WINDOW_BASE: usize = usize::MAX - 0x0FFF_FFFF;

/// What a lower socket's owner hears from the relay thread.
pub(super) trait EventTarget: Send + Sync {
    /// `WSPAsyncSelect`'s message for `socket`: the events and the error.
    fn lower_event(&self, socket: SOCKET, events: FdEvents, error: Option<WsaError>);
}

enum Relayed {
    Apc(Apc, usize),
    Message {
        window: usize,
        socket: SOCKET,
        lparam: LPARAM,
    },
    /// Answered once everything queued before it has run.
    Flush(Sender<()>),
    Stop,
}

#[derive(Default)]
struct Thread {
    users: usize,
    running: Option<(Sender<Relayed>, JoinHandle<()>)>,
}

struct Relay {
    thread: Mutex<Thread>,
    /// Where the upcalls send (none while no thread runs).
    sender: ArcSwapOption<Sender<Relayed>>,
    /// Relay windows, by key.
    targets: Mutex<HashMap<usize, Weak<dyn EventTarget>>>,
    next_window: std::sync::atomic::AtomicUsize,
    /// ws2_32's table, for what is not the relay's.
    host: ArcSwapOption<WSPUPCALLTABLE>,
}

fn relay() -> &'static Relay {
    static RELAY: OnceLock<Relay> = OnceLock::new();
    RELAY.get_or_init(|| Relay {
        thread: Mutex::default(),
        sender: ArcSwapOption::empty(),
        targets: Mutex::default(),
        next_window: std::sync::atomic::AtomicUsize::new(WINDOW_BASE),
        host: ArcSwapOption::empty(),
    })
}

/// The `WSATHREADID` lower operations are posted with.
pub(super) fn thread_id() -> *const WSATHREADID {
    struct Id(WSATHREADID);
    // SAFETY: the id is a plain value no thread writes.
    unsafe impl Sync for Id {}
    static ID: Id = Id(WSATHREADID {
        ThreadHandle: THREAD_MARK as HANDLE,
        Reserved: THREAD_MARK,
    });
    &ID.0
}

/// A user of the relay thread (a layered transport that started): the
/// thread starts with the first. `WSAEPROVIDERFAILEDINIT` when it cannot
/// be started (then nothing was taken).
pub(super) fn acquire() -> Result<(), WsaError> {
    let r = relay();
    let mut t = lock!(r.thread);
    if t.running.is_none() {
        // The thread runs this DLL's code: an unload without cleanup
        // (S11) must not pull it away.
        super::super::pin::pin_module();
        let (tx, rx) = unbounded::<Relayed>();
        let join = std::thread::Builder::new()
            .name("winsock-layer-relay".into())
            .spawn(move || {
                for item in rx {
                    match item {
                        Relayed::Apc(apc, context) => {
                            // SAFETY: an APC the next provider queued, run
                            // once, as `WPUQueueApc` promises.
                            unsafe { apc(context) }
                        }
                        Relayed::Message {
                            window,
                            socket,
                            lparam,
                        } => deliver(window, socket, lparam),
                        Relayed::Flush(done) => {
                            let _ = done.send(());
                        }
                        Relayed::Stop => break,
                    }
                }
            })
            .map_err(|e| {
                tracing::error!(target: "winsock_provider", error = %e, "the relay thread cannot start");
                WsaError::ProviderFailedInit
            })?;
        r.sender.store(Some(Arc::new(tx.clone())));
        t.running = Some((tx, join));
    }
    t.users += 1;
    Ok(())
}

/// The end of a use: the last one stops the thread and waits for it, after
/// it has run everything queued before.
pub(super) fn release() {
    let r = relay();
    let mut t = lock!(r.thread);
    t.users = t.users.saturating_sub(1);
    if t.users == 0
        && let Some((tx, join)) = t.running.take()
    {
        r.sender.store(None);
        let _ = tx.send(Relayed::Stop);
        if join.join().is_err() {
            tracing::error!(target: "winsock_provider", "the relay thread panicked");
        }
    }
}

/// Returns when the relay thread has run everything queued so far (at
/// once if no thread runs). Never call it on the relay thread.
pub(super) fn flush() {
    let Some(tx) = relay().sender.load_full() else {
        return;
    };
    let (done, wait) = crossbeam_channel::bounded(1);
    if tx.send(Relayed::Flush(done)).is_ok() {
        let _ = wait.recv();
    }
}

/// A relay window for `target`'s lower sockets; unregister it with
/// [`forget_window`].
pub(super) fn window_for(target: Weak<dyn EventTarget>) -> HWND {
    let r = relay();
    let key = r
        .next_window
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    lock!(r.targets).insert(key, target);
    key as HWND
}

/// Forgets a relay window.
pub(super) fn forget_window(window: HWND) {
    lock!(relay().targets).remove(&(window as usize));
}

/// The upcall table for the next provider: `host` with the relay's
/// `WPUQueueApc` and `WPUPostMessage`.
pub(super) fn upcalls_for_next(host: WSPUPCALLTABLE) -> WSPUPCALLTABLE {
    relay().host.store(Some(Arc::new(host)));
    WSPUPCALLTABLE {
        lpWPUQueueApc: Some(queue_apc),
        lpWPUPostMessage: Some(post_message),
        ..host
    }
}

fn deliver(window: usize, socket: SOCKET, lparam: LPARAM) {
    let target = lock!(relay().targets).get(&window).and_then(Weak::upgrade);
    if let Some(target) = target {
        // WSAGETSELECTEVENT and WSAGETSELECTERROR.
        let events = FdEvents::from_bits_truncate((lparam & 0xFFFF) as u32);
        let code = ((lparam >> 16) & 0xFFFF) as i32;
        let error = (code != 0).then(|| super::next::error_of(code));
        target.lower_event(socket, events, error);
    }
}

/// The relay's `WPUQueueApc`.
unsafe extern "system" fn queue_apc(
    thread: *const WSATHREADID,
    apc: Option<Apc>,
    context: usize,
    errno: *mut i32,
) -> i32 {
    if thread == thread_id()
        // SAFETY: a non-null `thread` is readable, WPUQueueApc's contract.
        || (!thread.is_null() && unsafe { (*thread).Reserved == THREAD_MARK && (*thread).ThreadHandle as usize == THREAD_MARK })
    {
        let Some(apc) = apc else {
            // SAFETY: `errno` is writable, the upcall's contract.
            unsafe { errno.write(WsaError::Fault.code()) };
            return -1;
        };
        match relay().sender.load_full() {
            Some(tx) if tx.send(Relayed::Apc(apc, context)).is_ok() => {}
            // No relay thread (the layer stopped): run it here, so that
            // what it owns is freed; the layer ignores a late completion.
            // SAFETY: as on the relay thread.
            _ => unsafe { apc(context) },
        }
        return 0;
    }
    match relay().host.load_full().and_then(|t| t.lpWPUQueueApc) {
        // SAFETY: ws2_32's own upcall, with the caller's arguments.
        Some(f) => unsafe { f(thread, apc, context, errno) },
        None => {
            // SAFETY: as above.
            unsafe { errno.write(WsaError::Fault.code()) };
            -1
        }
    }
}

/// The relay's `WPUPostMessage`.
unsafe extern "system" fn post_message(
    window: HWND,
    message: u32,
    wparam: WPARAM,
    lparam: LPARAM,
) -> BOOL {
    let key = window as usize;
    if message == MESSAGE && key >= WINDOW_BASE && lock!(relay().targets).contains_key(&key) {
        let sent = relay().sender.load_full().is_some_and(|tx| {
            tx.send(Relayed::Message {
                window: key,
                socket: wparam,
                lparam,
            })
            .is_ok()
        });
        return BOOL::from(sent);
    }
    match relay().host.load_full().and_then(|t| t.lpWPUPostMessage) {
        // SAFETY: ws2_32's own upcall, with the caller's arguments.
        Some(f) => unsafe { f(window, message, wparam, lparam) },
        None => 0,
    }
}
