//! `wsp-install` from the command line (spec §11): `plan` shows what an
//! install would write, anywhere (here against a TCP/IP catalog like
//! Windows' own); a DLL that is not a layer is refused; `install` and
//! `remove` need Windows.
#![cfg(all(unix, feature = "cli"))]

mod example_dlls;

use std::process::Command;

fn wsp_install(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_wsp-install"))
        .args(args)
        .output()
        .expect("run wsp-install");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `plan` prints the catalog as the install would leave it: the layer's
/// chains over the four TCP/IP bases first, its hidden entry last, the
/// name taken from the DLL, the GUID from its `WSPLayerProviderId`.
#[test]
fn spec11_plan_shows_the_chains_first_and_the_hidden_entry() {
    let layer = example_dlls::example("counting_layer");
    let (code, out, err) = wsp_install(&["plan", layer.to_str().unwrap(), "--name", "counting"]);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().filter(|l| !l.starts_with('#')).collect();
    assert_eq!(lines.len(), 9, "{out}");
    assert!(
        lines[0].contains("chain [1005, 1001]")
            && lines[0].contains("counting over [MSAFD Tcpip [TCP/IP]]"),
        "{out}"
    );
    assert!(lines[3].contains("chain [1005, 1004]"), "{out}");
    assert!(
        lines[8].contains("1005  chain []") && lines[8].contains("counting"),
        "{out}"
    );
}

/// A DLL that is not a layer built with this crate, a bad `--over`, and
/// (off Windows) `install` are refused with exit status 2 and a reason.
#[test]
fn what_cannot_be_installed_is_refused_with_a_reason() {
    let base = example_dlls::example("loopback_provider");
    let layer = example_dlls::example("counting_layer");
    let (code, _, err) = wsp_install(&["plan", base.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains("not a layer DLL"), "{err}");
    let (code, _, err) = wsp_install(&["plan", layer.to_str().unwrap(), "--over", "10x1"]);
    assert_eq!(code, 2);
    assert!(err.contains("--over"), "{err}");
    let (code, _, err) = wsp_install(&["plan", layer.to_str().unwrap(), "--over", "4242"]);
    assert_eq!(code, 1);
    assert!(err.contains("4242"), "{err}");
    let (code, _, err) = wsp_install(&["install", layer.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains("Windows"), "{err}");
}
