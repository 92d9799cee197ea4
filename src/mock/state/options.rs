//! The options a mock socket keeps (the booleans applications set all the
//! time), and what some of them change: `SO_EXCLUSIVEADDRUSE` and
//! `SO_REUSEADDR` exclude each other, `IPV6_V6ONLY` is fixed once bound,
//! `SO_BROADCAST` lets a datagram go to 255.255.255.255. The others are
//! kept and read back: the model has no Nagle delay, keep-alives or urgent
//! data for them to change. There is no dual stack: an IPv6 socket reaches
//! IPv6 addresses only, whatever `IPV6_V6ONLY` says.

use super::NetState;
use crate::core::error::WsaError;
use crate::core::handle::SocketHandle;
use crate::core::sockopt::{OptionName, OptionValue};
use crate::mock::ids::InstanceId;

/// The boolean options of one endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Options {
    pub(crate) debug: bool,
    pub(crate) reuse_address: bool,
    pub(crate) exclusive_address_use: bool,
    pub(crate) keep_alive: bool,
    pub(crate) dont_route: bool,
    pub(crate) broadcast: bool,
    pub(crate) oob_inline: bool,
    pub(crate) conditional_accept: bool,
    pub(crate) no_delay: bool,
    /// On by default, as on Windows (spec §15).
    pub(crate) v6_only: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            debug: false,
            reuse_address: false,
            exclusive_address_use: false,
            keep_alive: false,
            dont_route: false,
            broadcast: false,
            oob_inline: false,
            conditional_accept: false,
            no_delay: false,
            v6_only: true,
        }
    }
}

impl Options {
    /// The field of a named option; `None` for [`OptionName::Other`].
    fn slot(&mut self, name: OptionName) -> Option<&mut bool> {
        Some(match name {
            OptionName::Debug => &mut self.debug,
            OptionName::ReuseAddress => &mut self.reuse_address,
            OptionName::ExclusiveAddressUse => &mut self.exclusive_address_use,
            OptionName::KeepAlive => &mut self.keep_alive,
            OptionName::DontRoute => &mut self.dont_route,
            OptionName::Broadcast => &mut self.broadcast,
            OptionName::OobInline => &mut self.oob_inline,
            OptionName::ConditionalAccept => &mut self.conditional_accept,
            OptionName::NoDelay => &mut self.no_delay,
            OptionName::V6Only => &mut self.v6_only,
            _ => return None,
        })
    }
}

impl NetState {
    /// Sets a named boolean option. `WSAEINVAL` for `SO_EXCLUSIVEADDRUSE`
    /// and `SO_REUSEADDR` together, and for `IPV6_V6ONLY` once bound (as
    /// Windows answers); `WSAENOPROTOOPT` for an option the model does not
    /// keep.
    pub(crate) fn set_option(
        &mut self,
        inst: InstanceId,
        h: SocketHandle,
        name: OptionName,
        value: &OptionValue,
    ) -> Result<(), WsaError> {
        self.check(inst)?;
        let id = self.ep_of(inst, h)?;
        let OptionValue::Bool(on) = *value else {
            return Err(name.unsupported());
        };
        let ep = self.ep_mut(id);
        let o = &ep.options;
        let clash = match name {
            OptionName::ExclusiveAddressUse => on && o.reuse_address,
            OptionName::ReuseAddress => on && o.exclusive_address_use,
            OptionName::V6Only => ep.local.is_some() && on != o.v6_only,
            _ => false,
        };
        if clash {
            return Err(WsaError::InvalidArgument);
        }
        let slot = ep.options.slot(name).ok_or(name.unsupported())?;
        *slot = on;
        Ok(())
    }

    /// A named boolean option's value.
    pub(crate) fn option(
        &self,
        inst: InstanceId,
        h: SocketHandle,
        name: OptionName,
    ) -> Result<OptionValue, WsaError> {
        self.check(inst)?;
        let mut options = self.ep(self.ep_of(inst, h)?).options;
        let on = *options.slot(name).ok_or(name.unsupported())?;
        Ok(OptionValue::Bool(on))
    }
}
