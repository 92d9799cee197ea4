//! `wsp-install`: puts a layered provider built with this crate into the
//! Winsock catalog, and takes it out again (spec §11).
//!
//! ```text
//! wsp-install list                         the catalog, in order
//! wsp-install plan LAYER.dll [--over ...]  what install would write (a dry run)
//! wsp-install install LAYER.dll [--over ...] [--name NAME]
//! wsp-install remove LAYER.dll
//! ```
//!
//! The layer's GUID comes from the DLL itself (`WSPLayerProviderId`). By
//! default the layer goes over every visible base entry of IPv4 and IPv6
//! (`--over tcpip`); `--over 1001,1002` names catalog ids. A 64-bit process
//! writes the 64-bit catalog and a 32-bit one the 32-bit catalog: run both
//! builds to install into both. `install` and `remove` need an
//! administrator and Windows; `list` and `plan` run anywhere (elsewhere
//! than on Windows, against a small TCP/IP catalog like Windows' own).
//! Exit status: 0 done, 1 the catalog refused, 2 bad arguments.

use clap::{Parser, Subcommand};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use winsock_provider::catalog::{LayerSpec, bases_of};
use winsock_provider::ffi::install::{self, MemoryCatalog};

/// Installs a layered provider built with winsock-provider into the
/// Winsock catalog, or removes it.
#[derive(Parser, Debug)]
#[command(name = "wsp-install", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Prints the catalog: id, chain, family, type, protocol, name, DLL.
    List,
    /// Prints the catalog as `install` would leave it, writing nothing.
    Plan(Target),
    /// Installs the layer: its hidden entry, one chain per entry it goes
    /// over, the chains first in the order.
    Install(Target),
    /// Removes the layer's chains and hidden entry (refused while another
    /// layer goes over it).
    Remove {
        /// The layer's DLL (its GUID is read from it).
        dll: PathBuf,
    },
}

#[derive(clap::Args, Debug)]
struct Target {
    /// The layer's DLL, as every process will load it (an absolute path).
    dll: PathBuf,
    /// What to go over: `tcpip` (every visible IPv4 and IPv6 base entry)
    /// or catalog ids separated by commas.
    #[arg(long, default_value = "tcpip")]
    over: String,
    /// The layer's name in the catalog (default: the DLL's file stem).
    #[arg(long)]
    name: Option<String>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Usage(why)) => {
            eprintln!("wsp-install: {why}");
            ExitCode::from(2)
        }
        Err(Failure::Refused(why)) => {
            eprintln!("wsp-install: {why}");
            ExitCode::from(1)
        }
    }
}

enum Failure {
    Usage(String),
    Refused(String),
}

fn run(command: Command) -> Result<(), Failure> {
    match command {
        Command::List => {
            print(&system_copy()?);
            Ok(())
        }
        Command::Plan(target) => {
            let mut dry = system_copy()?;
            let (spec, over) = spec_of(&target, &dry)?;
            let done = install::install_layer(&mut dry, spec, &target.dll, &over)
                .map_err(|e| Failure::Refused(e.to_string()))?;
            println!(
                "# install would add the hidden entry {} and the chains {:?}:",
                done.hidden_id, done.chain_ids
            );
            print(&dry);
            Ok(())
        }
        Command::Install(target) => install_into_system(&target),
        Command::Remove { dll } => remove_from_system(&dll),
    }
}

/// The layer's spec and the ids it goes over.
fn spec_of(target: &Target, catalog: &MemoryCatalog) -> Result<(LayerSpec, Vec<u32>), Failure> {
    // SAFETY: the user names the layer DLL to install; loading it here is
    // what installing it makes every process do.
    let provider_id = unsafe { install::layer_provider_id(&target.dll) }.map_err(|e| {
        Failure::Usage(format!(
            "{}: not a layer DLL built with winsock-provider ({e})",
            target.dll.display()
        ))
    })?;
    let name = target.name.clone().unwrap_or_else(|| {
        target
            .dll
            .file_stem()
            .map_or("layer".into(), |s| s.to_string_lossy().into_owned())
    });
    let entries: Vec<_> = catalog
        .with_paths()
        .iter()
        .map(|(e, _)| install::decode(e))
        .collect();
    let over = if target.over == "tcpip" {
        bases_of(&entries, &[2, 23])
    } else {
        target
            .over
            .split(',')
            .map(|id| id.trim().parse::<u32>())
            .collect::<Result<_, _>>()
            .map_err(|_| {
                Failure::Usage(format!("--over {}: ids separated by commas", target.over))
            })?
    };
    Ok((
        LayerSpec {
            name,
            provider_id,
            ifs: false,
        },
        over,
    ))
}

fn print(catalog: &MemoryCatalog) {
    for (raw, path) in catalog.with_paths() {
        let e = install::decode(raw);
        println!(
            "{:>6}  chain {:?}  af {:>2} type {} proto {:>2}  {}  {}",
            e.catalog_entry_id,
            e.chain.entries,
            e.address_family,
            e.socket_type,
            e.protocol,
            e.name,
            path.display()
        );
    }
}

/// The system's catalog, copied (Windows), or the demo TCP/IP catalog.
#[cfg(windows)]
fn system_copy() -> Result<MemoryCatalog, Failure> {
    use winsock_provider::ffi::layered::{Resolver, SystemCatalog};
    let entries = SystemCatalog
        .entries()
        .map_err(|e| Failure::Refused(format!("reading the catalog: {e}")))?;
    Ok(MemoryCatalog::from_entries(
        entries.into_iter().map(|e| (e.info, e.path)).collect(),
    ))
}

#[cfg(not(windows))]
fn system_copy() -> Result<MemoryCatalog, Failure> {
    println!("# not Windows: a TCP/IP catalog like Windows' own stands in for the system's");
    Ok(MemoryCatalog::tcpip())
}

#[cfg(windows)]
fn install_into_system(target: &Target) -> Result<(), Failure> {
    use winsock_provider::ffi::install::{SystemCatalogWriter, Which};
    let (spec, over) = spec_of(target, &system_copy()?)?;
    let mut writer = SystemCatalogWriter {
        which: Which::Native,
    };
    let done = install::install_layer(&mut writer, spec, &target.dll, &over)
        .map_err(|e| Failure::Refused(e.to_string()))?;
    println!(
        "installed: hidden entry {}, chains {:?}",
        done.hidden_id, done.chain_ids
    );
    Ok(())
}

#[cfg(not(windows))]
fn install_into_system(_: &Target) -> Result<(), Failure> {
    Err(Failure::Usage(
        "install writes the Windows catalog: run it on Windows (plan shows what it would write)"
            .into(),
    ))
}

#[cfg(windows)]
fn remove_from_system(dll: &Path) -> Result<(), Failure> {
    use winsock_provider::ffi::install::{SystemCatalogWriter, Which};
    // SAFETY: as in `spec_of`.
    let provider_id = unsafe { install::layer_provider_id(dll) }
        .map_err(|e| Failure::Usage(format!("{}: {e}", dll.display())))?;
    let mut writer = SystemCatalogWriter {
        which: Which::Native,
    };
    let removed = install::remove_layer(&mut writer, provider_id)
        .map_err(|e| Failure::Refused(e.to_string()))?;
    println!("removed {} entries", removed.len());
    Ok(())
}

#[cfg(not(windows))]
fn remove_from_system(_: &Path) -> Result<(), Failure> {
    Err(Failure::Usage(
        "remove writes the Windows catalog: run it on Windows".into(),
    ))
}
