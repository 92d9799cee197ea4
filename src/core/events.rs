//! `WSPEventSelect` and `WSPEnumNetworkEvents`.

use super::error::WsaResult;
use super::flags::FdEvents;
use super::handle::SocketHandle;
use super::notifier::EventKey;
use super::provider::Provider;
use super::socket::NetworkEvents;
use super::transport::Transport;
use super::waiter::Waiter;

impl<T: Transport + 'static, W: Waiter + 'static> Provider<T, W> {
    /// `WSPEventSelect`: from now on, `events` on `s` set `event`. Replaces an
    /// earlier registration, clears the record and makes the socket
    /// non-blocking. Empty `events` cancels the registration.
    pub fn event_select(
        &self,
        s: SocketHandle,
        event: EventKey,
        events: FdEvents,
    ) -> WsaResult<()> {
        self.with_open(s, |sock| {
            sock.record = NetworkEvents::default();
            sock.select = (!events.is_empty()).then_some((event, events));
            sock.nonblocking = true;
            Ok(())
        })
    }

    /// `WSPEnumNetworkEvents`: the events recorded since the last call, and
    /// clears the record, in one step.
    pub fn enum_network_events(&self, s: SocketHandle) -> WsaResult<NetworkEvents> {
        self.with_open(s, |sock| Ok(std::mem::take(&mut sock.record)))
    }
}
