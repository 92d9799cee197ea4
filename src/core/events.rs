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

    /// Registers, clears the record, and records at once what already holds
    /// (data waiting: `FD_READ`, room to send: `FD_WRITE`, ...), signalling it
    /// like any later event: a registration made after the data arrived must
    /// not miss it.
    fn register(&self, s: SocketHandle, to: Select, events: FdEvents) -> WsaResult<()> {
        let ready = self.with_open(s, |sock| {
            sock.record = NetworkEvents::default();
            sock.select = (!events.is_empty()).then_some((to, events));
            sock.nonblocking = true;
            Ok(self.inner.transport.readiness(s) & events)
        })?;
        if !ready.is_empty() {
            self.inner.on_network_event(s, ready, None);
        }
        Ok(())
    }

    /// `WSPEnumNetworkEvents`: the events recorded since the last call, and
    /// clears the record, in one step.
    pub fn enum_network_events(&self, s: SocketHandle) -> WsaResult<NetworkEvents> {
        self.with_open(s, |sock| Ok(std::mem::take(&mut sock.record)))
    }
}
