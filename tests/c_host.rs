//! The provider DLLs driven through the real ABI by a C host.
//!
//! `tests/c/host.c` plays `ws2_32.dll`: it loads an example provider (a
//! `cdylib`) with `dlopen`, passes a recording `WSPUPCALLTABLE` to
//! `WSPStartup` and checks the contract of `tests/c/README.md` (rules
//! S1..S13 of `manual::rules`) through the returned `WSPPROC_TABLE`:
//! - `examples/loopback_provider.rs` (the mock network) with every check;
//! - `examples/system_provider.rs` (the host's sockets) with `--system`:
//!   real bytes over 127.0.0.1 and ::1, with peers the host starts
//!   (`tests/c/peers.c`);
//! - stacks of layered providers (`--layer`, spec §11): the counting layer
//!   over the loopback provider, a chain of three (counting over
//!   pass-through over loopback), and the counting layer over the system
//!   provider. Every check runs through the top layer, plus the layered
//!   ones (startups and cleanups mirrored, nothing left below after the
//!   final cleanup, exact counts at close).
//!
//! These tests build the example and the host, run the host and pass when
//! every check of the host does. The examples are built with their own
//! `CARGO_TARGET_DIR` (`target/c-host`), so the inner `cargo build` never
//! waits for the build lock the running `cargo test` holds on `target/`.
//!
//! Unix only: on Windows the same host is built with MinGW and run by
//! `tests/c/wine-host.sh` (or natively); there is no `cc`/`dlopen` pair to
//! rely on here.
#![cfg(unix)]

mod example_dlls;

use example_dlls::{example, out, repo};
use std::fs::{self, File};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The C host, compiled once for the test binary.
fn host() -> PathBuf {
    static HOST: OnceLock<PathBuf> = OnceLock::new();
    HOST.get_or_init(|| {
        let host = out().join("host");
        let c = repo().join("tests").join("c");
        let cc = std::env::var_os("CC").unwrap_or_else(|| "cc".into());
        let status = Command::new(&cc)
            .args(["-std=c11", "-Wall", "-Wextra", "-Werror", "-o"])
            .arg(&host)
            .arg(c.join("host.c"))
            .arg(c.join("peers.c"))
            .args(["-ldl", "-lpthread"])
            .status()
            .expect("run the C compiler (cc)");
        assert!(status.success(), "compiling tests/c/host.c failed");
        host
    })
    .clone()
}

/// Runs the host on `dll` with `args`, output to files (no pipe to fill
/// up), with a deadline: a provider that blocks forever must fail the
/// test, not hang it. Passes when every check passed.
fn run_host(dll: &PathBuf, args: &[&str], tag: &str) {
    let stdout_path = out().join(format!("{tag}.stdout"));
    let stderr_path = out().join(format!("{tag}.stderr"));
    let mut child = Command::new(host())
        .arg(dll)
        .args(args)
        .stdin(Stdio::null())
        .stdout(File::create(&stdout_path).expect("create the host's stdout"))
        .stderr(File::create(&stderr_path).expect("create the host's stderr"))
        .spawn()
        .expect("start the C host");
    let deadline = Instant::now() + Duration::from_secs(300);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the C host") {
            break Some(status);
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let stdout = fs::read_to_string(&stdout_path).unwrap_or_default();
    let stderr = fs::read_to_string(&stderr_path).unwrap_or_default();
    print!("{stdout}");
    if !stderr.is_empty() {
        eprint!("{stderr}");
    }
    let status = status.expect("the C host did not finish within 300 s (killed)");
    let last = stdout.lines().last().unwrap_or("");
    assert!(
        status.success() && last.ends_with(" 0 failed"),
        "the C host failed ({status}): {last}"
    );
}

#[test]
fn c_host_drives_the_provider_dll_through_the_ws2spi_abi() {
    run_host(&example("loopback_provider"), &[], "host");
}

/// The system provider with real peers over 127.0.0.1 and ::1.
#[cfg(feature = "system")]
#[test]
fn c_host_drives_the_system_provider_with_real_bytes() {
    run_host(&example("system_provider"), &["--system"], "host-system");
}

/// Spec §11: the counting layer over the loopback provider, every check
/// through the layer.
#[test]
fn c_host_drives_the_counting_layer_over_the_loopback_provider() {
    let layer = example("counting_layer");
    run_host(
        &example("loopback_provider"),
        &["--layer", layer.to_str().unwrap()],
        "host-layered",
    );
}

/// Spec §11: a chain of three: counting over pass-through over loopback,
/// each layer resolving its own next provider.
#[test]
fn c_host_drives_a_chain_of_three() {
    let middle = example("passthrough_layer");
    let top = example("counting_layer");
    run_host(
        &example("loopback_provider"),
        &[
            "--layer",
            middle.to_str().unwrap(),
            "--layer",
            top.to_str().unwrap(),
        ],
        "host-chain-of-three",
    );
}

/// Spec §11: the counting layer over the system provider, real bytes.
#[cfg(feature = "system")]
#[test]
fn c_host_drives_the_counting_layer_over_the_system_provider() {
    let layer = example("counting_layer");
    run_host(
        &example("system_provider"),
        &["--system", "--layer", layer.to_str().unwrap()],
        "host-layered-system",
    );
}
