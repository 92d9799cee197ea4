//! The design manual: the rules every doc and test cites, the layers, and
//! a whole example provider. (It has no code; rustls's `manual` is its
//! model.)
//!
//! - [`rules`]: the semantic decisions S1 to S14, each under a heading of
//!   its number (`manual::rules#s6c`);
//! - [`layers`]: the core, its three seams (transport, notifier, waiter),
//!   the ABI shim, the mock and the simulator, and who each is for;
//! - [`anchors`]: what the implementations this design was read against
//!   get wrong;
//! - [`example_provider`]: `examples/loopback_provider.rs`, a whole provider
//!   DLL, and the C host contract it meets.

#[doc = include_str!("rules.md")]
pub mod rules {}

#[doc = include_str!("layers.md")]
pub mod layers {}

#[doc = include_str!("anchors.md")]
pub mod anchors {}

/// `examples/loopback_provider.rs`: a whole provider DLL, the core over the
/// in-process mock network. `tests/c/host.c` loads it the way `ws2_32.dll`
/// would and checks the contract below.
///
/// ```text
#[doc = include_str!("../../examples/loopback_provider.rs")]
/// ```
///
#[doc = include_str!("../../tests/c/README.md")]
pub mod example_provider {}
