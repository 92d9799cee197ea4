//! Building the example provider DLLs for the tests that load them
//! (`c_host.rs`, `layered.rs`). They are built with their own
//! `CARGO_TARGET_DIR` (`target/c-host`), so the inner `cargo build` never
//! waits for the build lock the running `cargo test` holds on `target/`.
#![allow(dead_code)] // each test binary uses a different part

use std::env::consts::{DLL_PREFIX, DLL_SUFFIX};
use std::fs;
use std::path::PathBuf;
use std::process::Command;

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Where the examples (and the C host) are built.
pub fn out() -> PathBuf {
    let out = repo().join("target").join("c-host");
    fs::create_dir_all(&out).expect("create target/c-host");
    out
}

/// Builds an example provider DLL (debug); its path.
pub fn example(name: &str) -> PathBuf {
    build(name, false)
}

/// Builds an example provider DLL optimised (for benchmarks); its path.
pub fn example_release(name: &str) -> PathBuf {
    build(name, true)
}

fn build(name: &str, release: bool) -> PathBuf {
    let mut args = vec!["build", "--example", name];
    if release {
        args.push("--release");
    }
    let status = Command::new(env!("CARGO"))
        .args(&args)
        .env("CARGO_TARGET_DIR", out())
        .current_dir(repo())
        .status()
        .unwrap_or_else(|e| panic!("run cargo build --example {name}: {e}"));
    assert!(status.success(), "cargo build --example {name} failed");
    let dll = out()
        .join(if release { "release" } else { "debug" })
        .join("examples")
        .join(format!("{DLL_PREFIX}{name}{DLL_SUFFIX}"));
    assert!(dll.is_file(), "no provider DLL at {}", dll.display());
    dll
}
