//! The provider DLL driven through the real ABI by a C host.
//!
//! `tests/c/host.c` plays `ws2_32.dll`: it loads the example provider
//! (`examples/loopback_provider.rs`, a `cdylib`) with `dlopen`, passes a
//! recording `WSPUPCALLTABLE` to `WSPStartup` and checks the contract of
//! `tests/c/README.md` (rules S1..S13 of `manual::rules`) through the returned
//! `WSPPROC_TABLE`. This test builds the example and the host, runs the host
//! and passes when every check of the host does.
//!
//! The example is built with its own `CARGO_TARGET_DIR` (`target/c-host`),
//! so the inner `cargo build` never waits for the build lock the running
//! `cargo test` holds on `target/`.
//!
//! Unix only: on Windows the same host is built with MinGW and run by
//! `tests/c/wine-host.sh` (or natively); there is no `cc`/`dlopen` pair to
//! rely on here.

#[cfg(unix)]
#[test]
fn c_host_drives_the_provider_dll_through_the_ws2spi_abi() {
    use std::env::consts::{DLL_PREFIX, DLL_SUFFIX};
    use std::fs::{self, File};
    use std::path::PathBuf;
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};

    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let out = repo.join("target").join("c-host");
    fs::create_dir_all(&out).expect("create target/c-host");

    // 1. The provider DLL.
    let status = Command::new(env!("CARGO"))
        .args(["build", "--example", "loopback_provider"])
        .env("CARGO_TARGET_DIR", &out)
        .current_dir(&repo)
        .status()
        .expect("run cargo build --example loopback_provider");
    assert!(
        status.success(),
        "cargo build --example loopback_provider failed"
    );
    let dll = out
        .join("debug")
        .join("examples")
        .join(format!("{DLL_PREFIX}loopback_provider{DLL_SUFFIX}"));
    assert!(dll.is_file(), "no provider DLL at {}", dll.display());

    // 2. The C host.
    let host = out.join("host");
    let cc = std::env::var_os("CC").unwrap_or_else(|| "cc".into());
    let status = Command::new(&cc)
        .args(["-std=c11", "-Wall", "-Wextra", "-Werror", "-o"])
        .arg(&host)
        .arg(repo.join("tests").join("c").join("host.c"))
        .args(["-ldl", "-lpthread"])
        .status()
        .expect("run the C compiler (cc)");
    assert!(status.success(), "compiling tests/c/host.c failed");

    // 3. Run it, output to files (no pipe to fill up), with a deadline: a
    // provider that blocks forever must fail the test, not hang it.
    let stdout_path = out.join("host.stdout");
    let stderr_path = out.join("host.stderr");
    let mut child = Command::new(&host)
        .arg(&dll)
        .stdin(Stdio::null())
        .stdout(File::create(&stdout_path).expect("create host.stdout"))
        .stderr(File::create(&stderr_path).expect("create host.stderr"))
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

// On other OSes: nothing to do here. Windows builds of the host (MinGW) are
// run by tests/c/wine-host.sh.
