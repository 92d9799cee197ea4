//! A transport that finishes every call at once and keeps no state, shared
//! by the benchmarks: what they measure is the layers above it.

use std::net::SocketAddr;
use std::sync::Arc;
use winsock_provider::{
    AddressFamily, CloseKind, CompletionSink, Io, MsgFlags, OpId, Received, ShutdownHow,
    SocketHandle, SocketKind, Transport, Wait, WsaError,
};

/// A transport that finishes everything at once and keeps no state: what is
/// measured is the core.
pub struct Instant;

impl Transport for Instant {
    fn attach(&self, _: Arc<dyn CompletionSink>) {}
    fn open(&self, _: SocketHandle, _: AddressFamily, _: SocketKind) -> Result<(), WsaError> {
        Ok(())
    }
    fn bind(&self, _: SocketHandle, a: SocketAddr) -> Result<SocketAddr, WsaError> {
        Ok(a)
    }
    fn listen(&self, _: SocketHandle, _: u32) -> Result<(), WsaError> {
        Ok(())
    }
    fn connect(&self, _: SocketHandle, _: SocketAddr, _: OpId) -> Result<Io<()>, WsaError> {
        Ok(Io::Done(()))
    }
    fn accept(
        &self,
        _: SocketHandle,
        _: SocketHandle,
        _: Wait,
    ) -> Result<Io<SocketAddr>, WsaError> {
        Ok(Io::WouldBlock)
    }
    fn send(
        &self,
        _: SocketHandle,
        d: Vec<u8>,
        _: Option<SocketAddr>,
        _: Wait,
    ) -> Result<Io<usize>, WsaError> {
        Ok(Io::Done(d.len()))
    }
    fn recv(
        &self,
        _: SocketHandle,
        _: usize,
        _: MsgFlags,
        _: Wait,
    ) -> Result<Io<Received>, WsaError> {
        Ok(Io::Done(Received::default()))
    }
    fn cancel(&self, _: OpId) {}
    fn shutdown(&self, _: SocketHandle, _: ShutdownHow) -> Result<(), WsaError> {
        Ok(())
    }
    fn close(&self, _: SocketHandle, _: CloseKind) {}
    fn local_addr(&self, _: SocketHandle) -> Result<SocketAddr, WsaError> {
        Err(WsaError::InvalidArgument)
    }
    fn peer_addr(&self, _: SocketHandle) -> Result<SocketAddr, WsaError> {
        Err(WsaError::NotConnected)
    }
    // The rest are the trait's defaults: no readiness known, nothing
    // unsent, no hand-off, no buffer settings.
}
