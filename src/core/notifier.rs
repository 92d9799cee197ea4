//! How a completion reaches the application.
//!
//! The core decides **whether** an operation is notified (S7, S9, S10, S6c);
//! a [`Notifier`] only delivers. The ABI shim's notifier makes upcalls
//! (`WPUQueueApc`, `WPUCompleteOverlappedRequest`, `WPUSetEvent`); the mock's
//! [`RecordingNotifier`](crate::mock::RecordingNotifier) writes them down.

use super::error::WsaError;
use super::flags::{FdEvents, MsgFlags};
use super::handle::{OpId, SocketHandle};
use std::fmt;

/// An application thread, as the host names it (a `WSATHREADID` in the shim, a
/// simulated thread in the mock).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct ThreadKey(pub u64);

/// An event object (`WSAEVENT`), as the host names it.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct EventKey(pub u64);

/// A window (`HWND`), as the host names it, for `WSPAsyncSelect`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct WindowKey(pub u64);

/// A completion port, as the host names it.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct PortKey(pub u64);

/// How an overlapped operation reports its completion.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum CompletionMode {
    /// Set this event (`lpOverlapped->hEvent`, no completion routine).
    Event(EventKey),
    /// Queue the completion routine `routine` to the initiating thread (an APC).
    Routine {
        /// The thread that issued the call; the routine runs there.
        thread: ThreadKey,
        /// The host's name for the routine (its address, in the shim).
        routine: u64,
    },
    /// Post to a completion port with this key.
    Port {
        /// The port.
        port: PortKey,
        /// The completion key of the socket's association.
        key: u64,
    },
    /// Nobody is told; the application polls `get_overlapped_result`.
    Polling,
}

impl fmt::Display for CompletionMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CompletionMode::Event(e) => write!(f, "event {}", e.0),
            CompletionMode::Routine { thread, routine } => {
                write!(f, "routine {routine:#x} on thread {}", thread.0)
            }
            CompletionMode::Port { port, key } => write!(f, "port {} key {key}", port.0),
            CompletionMode::Polling => f.write_str("polling"),
        }
    }
}

/// The terminal status of an operation, as `WSPGetOverlappedResult` reports it.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct Outcome {
    /// `None` for success, else the error (`WSA_OPERATION_ABORTED`, ...).
    pub error: Option<WsaError>,
    /// Bytes transferred (`cbTransferred`).
    pub bytes: usize,
    /// Result flags of a receive.
    pub flags: MsgFlags,
}

impl Outcome {
    /// A failed outcome with no bytes.
    pub fn failed(error: WsaError) -> Self {
        Outcome {
            error: Some(error),
            ..Outcome::default()
        }
    }
}

/// One completion to deliver.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Notification {
    /// The operation.
    pub op: OpId,
    /// How the application asked to be told.
    pub mode: CompletionMode,
    /// What happened.
    pub outcome: Outcome,
    /// The caller's token for the operation (in the shim, the ticket under
    /// which it carries the operation's `WSAOVERLAPPED`).
    pub user: u64,
}

/// Why a completion was not delivered.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Suppressed {
    /// S6c: the final cleanup aborted the pending operation; nobody is told.
    FinalCleanup,
    /// S11: the process is gone (crash or exit without cleanup).
    ProcessGone,
}

impl fmt::Display for Suppressed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Suppressed::FinalCleanup => "suppressed by the final cleanup (S6c)",
            Suppressed::ProcessGone => "suppressed: process gone (S11)",
        })
    }
}

/// How a completion reaches the application: delivers what the core
/// decided to deliver. The core decides **whether** an operation is notified
/// (S7, S9, S10, S6c); a notifier only delivers. The ABI shim's notifier
/// makes upcalls (`WPUQueueApc`, `WPUCompleteOverlappedRequest`,
/// `WPUSetEvent`); the mock's
/// [`RecordingNotifier`](crate::mock::RecordingNotifier) writes them down.
///
/// Called from any thread, never
/// with a core lock held, so an implementation may take its own locks; it must
/// not call back into the provider synchronously.
///
/// A host that only counts completions:
///
/// ```
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use winsock_provider::{EventKey, FdEvents, Notification, Notifier, SocketHandle, WindowKey, WsaError};
///
/// #[derive(Default)]
/// struct Counting(AtomicUsize);
///
/// impl Notifier for Counting {
///     fn deliver(&self, _: &Notification) {
///         self.0.fetch_add(1, Ordering::Relaxed);
///     }
///     fn network_event(&self, _: SocketHandle, _: EventKey, _: FdEvents, _: Option<WsaError>) {}
///     fn post_message(&self, _: SocketHandle, _: WindowKey, _: u32, _: FdEvents, _: Option<WsaError>) {}
/// }
/// ```
pub trait Notifier: Send + Sync {
    /// Deliver a completion: set the event, queue the routine, post to the port.
    fn deliver(&self, notification: &Notification);

    /// A completion that the rules keep from the application. The status is
    /// already recorded in the operation; nothing may reach the application.
    /// For traces and tests only; the default does nothing.
    fn suppressed(&self, notification: &Notification, why: Suppressed) {
        let _ = (notification, why);
    }

    /// A `WSPEventSelect` registration saw `events`: set its event object.
    fn network_event(
        &self,
        socket: SocketHandle,
        event: EventKey,
        events: FdEvents,
        error: Option<WsaError>,
    );

    /// A `WSPAsyncSelect` registration saw `events`: post `msg` to `window`
    /// (`WPUPostMessage`, `wParam` the socket, `lParam` the event and error).
    fn post_message(
        &self,
        socket: SocketHandle,
        window: WindowKey,
        msg: u32,
        events: FdEvents,
        error: Option<WsaError>,
    );

    /// The handle of a socket is given back (`WPUCloseSocketHandle` in the shim).
    fn handle_released(&self, socket: SocketHandle) {
        let _ = socket;
    }
}
