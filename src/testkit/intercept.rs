//! A transport with some of its calls intercepted: for a test that plants
//! a fault in one method (a close that is always abortive, a start that
//! fails) or watches one (which calls came, in which order), and passes
//! every other call through untouched.
//!
//! ```
//! use winsock_provider::mock::{MockTransport, Network};
//! use winsock_provider::testkit::{Intercept, Intercepted};
//! use winsock_provider::{CloseKind, SocketHandle, Transport};
//!
//! /// Every close is abortive, whatever the core asks for.
//! struct AlwaysAbortive;
//!
//! impl Intercept<MockTransport> for AlwaysAbortive {
//!     fn close(&self, inner: &MockTransport, s: SocketHandle, _how: CloseKind) {
//!         inner.close(s, CloseKind::Abortive)
//!     }
//! }
//!
//! let net = Network::new(1);
//! let node = net.add_node("10.0.0.1".parse().unwrap());
//! let transport = Intercepted::new(net.transport(node), AlwaysAbortive);
//! # let _ = transport;
//! ```

use crate::{
    AddressFamily, CloseKind, CompletionSink, FdEvents, HandOffRefused, Io, MsgFlags, OpId,
    OptionName, OptionValue, ProtocolInfo, Received, SharedSocket, ShutdownHow, SocketHandle,
    SocketKind, Transport, Wait, WsaError,
};
use std::net::SocketAddr;
use std::sync::Arc;

/// The calls of a [`Transport`], each given the inner transport; every
/// method passes the call through unless overridden.
#[allow(missing_docs)] // each method is the Transport method of its name
pub trait Intercept<T: Transport>: Send + Sync {
    fn attach(&self, inner: &T, sink: Arc<dyn CompletionSink>) {
        inner.attach(sink)
    }
    fn start(&self, inner: &T, protocol: &ProtocolInfo) -> Result<(), WsaError> {
        inner.start(protocol)
    }
    fn nested_startup(&self, inner: &T, protocol: &ProtocolInfo) -> Result<(), WsaError> {
        inner.nested_startup(protocol)
    }
    fn nested_cleanup(&self, inner: &T) {
        inner.nested_cleanup()
    }
    fn stop(&self, inner: &T) {
        inner.stop()
    }
    fn open(
        &self,
        inner: &T,
        s: SocketHandle,
        f: AddressFamily,
        k: SocketKind,
    ) -> Result<(), WsaError> {
        inner.open(s, f, k)
    }
    fn bind(&self, inner: &T, s: SocketHandle, a: SocketAddr) -> Result<SocketAddr, WsaError> {
        inner.bind(s, a)
    }
    fn listen(&self, inner: &T, s: SocketHandle, backlog: u32) -> Result<(), WsaError> {
        inner.listen(s, backlog)
    }
    fn connect(
        &self,
        inner: &T,
        s: SocketHandle,
        a: SocketAddr,
        op: OpId,
    ) -> Result<Io<()>, WsaError> {
        inner.connect(s, a, op)
    }
    fn dissolve(&self, inner: &T, s: SocketHandle) -> Result<(), WsaError> {
        inner.dissolve(s)
    }
    fn accept(
        &self,
        inner: &T,
        l: SocketHandle,
        s: SocketHandle,
        w: Wait,
    ) -> Result<Io<SocketAddr>, WsaError> {
        inner.accept(l, s, w)
    }
    fn send(
        &self,
        inner: &T,
        s: SocketHandle,
        data: Vec<u8>,
        to: Option<SocketAddr>,
        w: Wait,
    ) -> Result<Io<usize>, WsaError> {
        inner.send(s, data, to, w)
    }
    fn recv(
        &self,
        inner: &T,
        s: SocketHandle,
        max: usize,
        flags: MsgFlags,
        w: Wait,
    ) -> Result<Io<Received>, WsaError> {
        inner.recv(s, max, flags, w)
    }
    fn cancel(&self, inner: &T, op: OpId) {
        inner.cancel(op)
    }
    fn shutdown(&self, inner: &T, s: SocketHandle, how: ShutdownHow) -> Result<(), WsaError> {
        inner.shutdown(s, how)
    }
    fn close(&self, inner: &T, s: SocketHandle, how: CloseKind) {
        inner.close(s, how)
    }
    fn reuse(&self, inner: &T, s: SocketHandle) -> Result<(), WsaError> {
        inner.reuse(s)
    }
    fn duplicate(&self, inner: &T, s: SocketHandle, process: u32) -> Result<u32, WsaError> {
        inner.duplicate(s, process)
    }
    fn claim(&self, inner: &T, s: SocketHandle, token: u32) -> Result<SharedSocket, WsaError> {
        inner.claim(s, token)
    }
    fn local_addr(&self, inner: &T, s: SocketHandle) -> Result<SocketAddr, WsaError> {
        inner.local_addr(s)
    }
    fn peer_addr(&self, inner: &T, s: SocketHandle) -> Result<SocketAddr, WsaError> {
        inner.peer_addr(s)
    }
    fn readiness(&self, inner: &T, s: SocketHandle) -> FdEvents {
        inner.readiness(s)
    }
    fn unsent(&self, inner: &T, s: SocketHandle) -> usize {
        inner.unsent(s)
    }
    fn hand_off(&self, inner: &T, s: SocketHandle) -> Result<(), HandOffRefused> {
        inner.hand_off(s)
    }
    fn set_buffers(
        &self,
        inner: &T,
        s: SocketHandle,
        send: Option<usize>,
        recv: Option<usize>,
    ) -> Result<(), WsaError> {
        inner.set_buffers(s, send, recv)
    }
    fn buffers(&self, inner: &T, s: SocketHandle) -> Result<(usize, usize), WsaError> {
        inner.buffers(s)
    }
    fn set_option(
        &self,
        inner: &T,
        s: SocketHandle,
        name: OptionName,
        value: &OptionValue,
    ) -> Result<(), WsaError> {
        inner.set_option(s, name, value)
    }
    fn option(
        &self,
        inner: &T,
        s: SocketHandle,
        name: OptionName,
    ) -> Result<OptionValue, WsaError> {
        inner.option(s, name)
    }
    fn ioctl(
        &self,
        inner: &T,
        s: SocketHandle,
        code: u32,
        input: &[u8],
        capacity: usize,
    ) -> Result<Vec<u8>, WsaError> {
        inner.ioctl(s, code, input, capacity)
    }
    fn available(&self, inner: &T, s: SocketHandle) -> Result<usize, WsaError> {
        inner.available(s)
    }
}

/// `inner` with the calls [`Intercept`] overrides intercepted.
pub struct Intercepted<T, I> {
    /// The transport calls pass through to.
    pub inner: T,
    /// What intercepts them.
    pub intercept: I,
}

impl<T: Transport, I: Intercept<T>> Intercepted<T, I> {
    /// `inner`, its calls going through `intercept`.
    pub fn new(inner: T, intercept: I) -> Self {
        Intercepted { inner, intercept }
    }
}

impl<T: Transport, I: Intercept<T>> Transport for Intercepted<T, I> {
    fn attach(&self, sink: Arc<dyn CompletionSink>) {
        self.intercept.attach(&self.inner, sink)
    }
    fn start(&self, protocol: &ProtocolInfo) -> Result<(), WsaError> {
        self.intercept.start(&self.inner, protocol)
    }
    fn nested_startup(&self, protocol: &ProtocolInfo) -> Result<(), WsaError> {
        self.intercept.nested_startup(&self.inner, protocol)
    }
    fn nested_cleanup(&self) {
        self.intercept.nested_cleanup(&self.inner)
    }
    fn stop(&self) {
        self.intercept.stop(&self.inner)
    }
    fn open(&self, s: SocketHandle, f: AddressFamily, k: SocketKind) -> Result<(), WsaError> {
        self.intercept.open(&self.inner, s, f, k)
    }
    fn bind(&self, s: SocketHandle, a: SocketAddr) -> Result<SocketAddr, WsaError> {
        self.intercept.bind(&self.inner, s, a)
    }
    fn listen(&self, s: SocketHandle, backlog: u32) -> Result<(), WsaError> {
        self.intercept.listen(&self.inner, s, backlog)
    }
    fn connect(&self, s: SocketHandle, a: SocketAddr, op: OpId) -> Result<Io<()>, WsaError> {
        self.intercept.connect(&self.inner, s, a, op)
    }
    fn dissolve(&self, s: SocketHandle) -> Result<(), WsaError> {
        self.intercept.dissolve(&self.inner, s)
    }
    fn accept(
        &self,
        l: SocketHandle,
        s: SocketHandle,
        w: Wait,
    ) -> Result<Io<SocketAddr>, WsaError> {
        self.intercept.accept(&self.inner, l, s, w)
    }
    fn send(
        &self,
        s: SocketHandle,
        data: Vec<u8>,
        to: Option<SocketAddr>,
        w: Wait,
    ) -> Result<Io<usize>, WsaError> {
        self.intercept.send(&self.inner, s, data, to, w)
    }
    fn recv(
        &self,
        s: SocketHandle,
        max: usize,
        flags: MsgFlags,
        w: Wait,
    ) -> Result<Io<Received>, WsaError> {
        self.intercept.recv(&self.inner, s, max, flags, w)
    }
    fn cancel(&self, op: OpId) {
        self.intercept.cancel(&self.inner, op)
    }
    fn shutdown(&self, s: SocketHandle, how: ShutdownHow) -> Result<(), WsaError> {
        self.intercept.shutdown(&self.inner, s, how)
    }
    fn close(&self, s: SocketHandle, how: CloseKind) {
        self.intercept.close(&self.inner, s, how)
    }
    fn reuse(&self, s: SocketHandle) -> Result<(), WsaError> {
        self.intercept.reuse(&self.inner, s)
    }
    fn duplicate(&self, s: SocketHandle, process: u32) -> Result<u32, WsaError> {
        self.intercept.duplicate(&self.inner, s, process)
    }
    fn claim(&self, s: SocketHandle, token: u32) -> Result<SharedSocket, WsaError> {
        self.intercept.claim(&self.inner, s, token)
    }
    fn local_addr(&self, s: SocketHandle) -> Result<SocketAddr, WsaError> {
        self.intercept.local_addr(&self.inner, s)
    }
    fn peer_addr(&self, s: SocketHandle) -> Result<SocketAddr, WsaError> {
        self.intercept.peer_addr(&self.inner, s)
    }
    fn readiness(&self, s: SocketHandle) -> FdEvents {
        self.intercept.readiness(&self.inner, s)
    }
    fn unsent(&self, s: SocketHandle) -> usize {
        self.intercept.unsent(&self.inner, s)
    }
    fn hand_off(&self, s: SocketHandle) -> Result<(), HandOffRefused> {
        self.intercept.hand_off(&self.inner, s)
    }
    fn set_buffers(
        &self,
        s: SocketHandle,
        send: Option<usize>,
        recv: Option<usize>,
    ) -> Result<(), WsaError> {
        self.intercept.set_buffers(&self.inner, s, send, recv)
    }
    fn buffers(&self, s: SocketHandle) -> Result<(usize, usize), WsaError> {
        self.intercept.buffers(&self.inner, s)
    }
    fn set_option(
        &self,
        s: SocketHandle,
        name: OptionName,
        value: &OptionValue,
    ) -> Result<(), WsaError> {
        self.intercept.set_option(&self.inner, s, name, value)
    }
    fn option(&self, s: SocketHandle, name: OptionName) -> Result<OptionValue, WsaError> {
        self.intercept.option(&self.inner, s, name)
    }
    fn ioctl(
        &self,
        s: SocketHandle,
        code: u32,
        input: &[u8],
        capacity: usize,
    ) -> Result<Vec<u8>, WsaError> {
        self.intercept.ioctl(&self.inner, s, code, input, capacity)
    }
    fn available(&self, s: SocketHandle) -> Result<usize, WsaError> {
        self.intercept.available(&self.inner, s)
    }
}
