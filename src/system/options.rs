//! The options the core passes down, on the host's sockets: the ones the
//! host has are set on the socket (socket2); the ones it has not
//! (`SO_DEBUG`, `SO_EXCLUSIVEADDRUSE`, `SO_DONTROUTE`,
//! `SO_CONDITIONAL_ACCEPT`) are kept and read back. Options of other
//! names are `WSAENOPROTOOPT`.

use super::entry::Entry;
use crate::core::error::WsaError;
use crate::core::sockopt::{OptionName, OptionValue};

/// The options kept by the transport rather than the host.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Kept {
    debug: bool,
    exclusive_address_use: bool,
    dont_route: bool,
    conditional_accept: bool,
}

/// Sets `name`. `SO_EXCLUSIVEADDRUSE` and `SO_REUSEADDR` exclude each
/// other (`WSAEINVAL`, as Windows answers).
pub(crate) fn set(e: &mut Entry, name: OptionName, value: &OptionValue) -> Result<(), WsaError> {
    let OptionValue::Bool(on) = *value else {
        return Err(name.unsupported());
    };
    let sock = e.os.sock();
    let host = match name {
        OptionName::ReuseAddress if on && e.kept.exclusive_address_use => {
            return Err(WsaError::InvalidArgument);
        }
        OptionName::ExclusiveAddressUse if on && sock.reuse_address()? => {
            return Err(WsaError::InvalidArgument);
        }
        OptionName::ReuseAddress => sock.set_reuse_address(on),
        OptionName::KeepAlive => sock.set_keepalive(on),
        OptionName::Broadcast => sock.set_broadcast(on),
        OptionName::OobInline => sock.set_out_of_band_inline(on),
        OptionName::NoDelay => sock.set_tcp_nodelay(on),
        OptionName::V6Only => sock.set_only_v6(on),
        _ => {
            *kept(&mut e.kept, name)? = on;
            return Ok(());
        }
    };
    host.map_err(WsaError::from)
}

/// The value of `name`.
pub(crate) fn get(e: &Entry, name: OptionName) -> Result<OptionValue, WsaError> {
    let sock = e.os.sock();
    let on = match name {
        OptionName::ReuseAddress => sock.reuse_address()?,
        OptionName::KeepAlive => sock.keepalive()?,
        OptionName::Broadcast => sock.broadcast()?,
        OptionName::OobInline => sock.out_of_band_inline()?,
        OptionName::NoDelay => sock.tcp_nodelay()?,
        OptionName::V6Only => sock.only_v6()?,
        _ => *kept(&mut e.kept.clone(), name)?,
    };
    Ok(OptionValue::Bool(on))
}

fn kept(k: &mut Kept, name: OptionName) -> Result<&mut bool, WsaError> {
    Ok(match name {
        OptionName::Debug => &mut k.debug,
        OptionName::ExclusiveAddressUse => &mut k.exclusive_address_use,
        OptionName::DontRoute => &mut k.dont_route,
        OptionName::ConditionalAccept => &mut k.conditional_accept,
        _ => return Err(name.unsupported()),
    })
}
