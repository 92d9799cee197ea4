//! `WSPEventSelect`, `WSPAsyncSelect` and `WSPEnumNetworkEvents`.

use super::error::WsaResult;
use super::flags::FdEvents;
use super::handle::SocketHandle;
use super::notifier::{EventKey, WindowKey};
use super::provider::Provider;
use super::socket_state::{NetworkEvents, Select};
use super::transport::Transport;
use super::waiter::Waiter;

impl<T: Transport + 'static, W: Waiter + 'static> Provider<T, W> {
    /// `WSPEventSelect`: from now on, `events` on `s` set `event`. Replaces an
    /// earlier registration (of either kind), clears the record and makes the
    /// socket non-blocking. Empty `events` cancels the registration.
    pub fn event_select(
        &self,
        s: SocketHandle,
        event: EventKey,
        events: FdEvents,
    ) -> WsaResult<()> {
        self.register(s, Select::Event(event), events)
    }

    /// `WSPAsyncSelect`: from now on, `events` on `s` post `msg` to `window`.
    /// Replaces an earlier registration (of either kind), clears the record
    /// and makes the socket non-blocking. Empty `events` cancels it.
    pub fn async_select(
        &self,
        s: SocketHandle,
        window: WindowKey,
        msg: u32,
        events: FdEvents,
    ) -> WsaResult<()> {
        self.register(s, Select::Window { window, msg }, events)
    }

    /// Registers, clears the record, and signals at once what already holds
    /// (data waiting: `FD_READ`, room to send: `FD_WRITE`, ...): a
    /// registration made after the data arrived must not miss it. What was
    /// already signalled and not re-enabled since stays quiet in event mode,
    /// and is posted again in message mode (spec §12, as Windows does); a
    /// connect that ended before any registration took `FD_CONNECT` is
    /// recorded by an event-select registration (with `FD_WRITE`), and not
    /// posted by an async-select one (only `FD_WRITE` is).
    fn register(&self, s: SocketHandle, to: Select, events: FdEvents) -> WsaResult<()> {
        if !events.is_empty() {
            self.inner
                .selected_once
                .store(true, std::sync::atomic::Ordering::Release);
        }
        let (ready, connect, close_error) = self.with_open(s, |sock| {
            sock.record = NetworkEvents::default();
            sock.select = (!events.is_empty()).then_some((to, events));
            sock.nonblocking = true;
            if matches!(to, Select::Window { .. }) {
                sock.armed = FdEvents::REENABLED;
            }
            let connect = match to {
                Select::Event(_) if events.contains(FdEvents::CONNECT) => {
                    sock.unreported_connect.take()
                }
                Select::Event(_) => None,
                Select::Window { .. } => sock.unreported_connect.take().and(None),
            };
            let ready = self.inner.transport.readiness(s) & events;
            Ok((ready, connect, sock.close_error))
        })?;
        if let Some(error) = connect
            && let Ok(_call) = self.enter()
        {
            self.inner.signal(s, FdEvents::CONNECT, error);
        }
        // FD_CLOSE with the error its connection ended with (a reset:
        // WSAECONNRESET), the others with none.
        let others = ready - FdEvents::CLOSE;
        if !others.is_empty() {
            self.inner.on_network_event(s, others, None);
        }
        if ready.contains(FdEvents::CLOSE) {
            self.inner.on_network_event(s, FdEvents::CLOSE, close_error);
        }
        Ok(())
    }

    /// `WSPEnumNetworkEvents`: the events recorded since the last call, and
    /// clears the record, in one step.
    pub fn enum_network_events(&self, s: SocketHandle) -> WsaResult<NetworkEvents> {
        self.with_open(s, |sock| Ok(std::mem::take(&mut sock.record)))
    }
}
