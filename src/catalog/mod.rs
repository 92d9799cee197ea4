//! The Winsock catalog as a layered provider sees it, without touching
//! one: where a layer stands in a protocol chain and which provider comes
//! next ([`chain`]), and what installing a layer writes ([`plan`]). Pure
//! functions over [`ProtocolInfo`](crate::ProtocolInfo), tested on every
//! OS; the ABI shim (`ffi::layered`) and the Windows install tool apply
//! them to a real catalog.
//!
//! Source: spec §11 (`WSAPROTOCOLCHAIN`, finding and loading the next
//! provider, installing a layered provider).

pub mod chain;
pub mod plan;

pub use chain::{ChainError, NextInChain, hidden_entry_id, next_in_chain};
pub use plan::{
    InstallPlan, LayerSpec, PlanError, bases_of, chain_entry_id, provider_order, removal,
};
