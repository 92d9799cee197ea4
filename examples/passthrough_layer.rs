//! The smallest layered provider: every call passes down unchanged. With
//! `counting_layer` it makes a chain of three (counting over pass-through
//! over a base provider), each layer resolving its own next provider.
//!
//! Build it with `cargo build --example passthrough_layer`.

use winsock_provider::ffi::DllConfig;
use winsock_provider::ffi::layered::{Layer, LayerProvider};

/// No state, no hooks: `Layer`'s defaults pass every call down.
struct PassThrough;

impl Layer for PassThrough {}

impl LayerProvider for PassThrough {
    /// `{9a55e1a4-0b5e-4c0e-9a1d-9a55e1a40002}`.
    const PROVIDER_ID: [u8; 16] = [
        0xa4, 0xe1, 0x55, 0x9a, 0x5e, 0x0b, 0x0e, 0x4c, 0x9a, 0x1d, 0x9a, 0x55, 0xe1, 0xa4, 0x00,
        0x02,
    ];

    fn config() -> DllConfig {
        DllConfig {
            description: "winsock-provider pass-through layer example",
            ..DllConfig::default()
        }
    }

    fn create() -> Self {
        PassThrough
    }
}

winsock_provider::export_layered_provider!(PassThrough);
