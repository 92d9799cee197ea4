//! The price of a layer (spec §11): the same send straight to the next
//! provider and through the counting layer above it, both through their
//! `WSPPROC_TABLE`s, in the same run. The DLLs are the examples
//! (`loopback_provider` below, `counting_layer` above), loaded as ws2_32
//! loads them; the sends are datagrams to the loopback network's discard
//! service, non-blocking and overlapped (event mode, finishing at once).
//!
//! Through the layer a send crosses the layer's shim and core, its
//! transport, and then the same call into the next provider; an
//! overlapped one also posts the layer's own operation below, whose
//! completion routine runs on the relay thread.
//!
//! Run: `cargo bench --bench layered` (Unix). Compare ratios, not times.

#[cfg(unix)]
#[path = "../tests/example_dlls/mod.rs"]
mod example_dlls;

#[cfg(unix)]
mod host;

#[cfg(unix)]
mod bench {
    use super::example_dlls;
    use super::host::{complete, upcalls};
    use criterion::Criterion;
    use std::hint::black_box;
    use std::path::Path;
    use winsock_provider::ServiceFlags;
    use winsock_provider::ffi::abi::{
        AF_INET, INVALID_SOCKET, IPPROTO_UDP, SOCK_DGRAM, SOCKADDR, SOCKADDR_IN, SOCKET, WSABUF,
        WSAOVERLAPPED, WSAPROTOCOL_INFOW, WSPDATA, WSPPROC_TABLE, WSPUPCALLTABLE,
    };

    type StartupFn = unsafe extern "system" fn(
        u16,
        *const WSPDATA,
        *const WSAPROTOCOL_INFOW,
        WSPUPCALLTABLE,
        *mut WSPPROC_TABLE,
    ) -> i32;
    type SetCompletionFn = unsafe extern "system" fn(
        Option<unsafe extern "system" fn(SOCKET, *mut WSAOVERLAPPED, u32, u32, *mut i32) -> i32>,
    ) -> i32;
    type AddEntryFn = unsafe extern "system" fn(*const WSAPROTOCOL_INFOW, *const u16) -> i32;
    type ProviderIdFn = unsafe extern "system" fn(*mut windows_sys::core::GUID) -> i32;

    fn load(path: &Path) -> &'static libloading::Library {
        // SAFETY: the examples are provider DLLs; never unloaded.
        Box::leak(Box::new(unsafe { libloading::Library::new(path) }.unwrap()))
    }

    fn sym<T: Copy>(lib: &libloading::Library, name: &[u8]) -> T {
        // SAFETY: the examples' exports, with these types.
        *unsafe { lib.get::<T>(name) }.unwrap()
    }

    /// A catalog entry for UDP over IPv4 with `chain`.
    fn entry(id: u32, chain: &[u32]) -> WSAPROTOCOL_INFOW {
        // SAFETY: a plain C struct; zeroes are valid.
        let mut info: WSAPROTOCOL_INFOW = unsafe { std::mem::zeroed() };
        info.dwCatalogEntryId = id;
        info.iAddressFamily = i32::from(AF_INET);
        info.iSocketType = SOCK_DGRAM;
        info.iProtocol = IPPROTO_UDP;
        info.dwServiceFlags1 =
            (ServiceFlags::CONNECTIONLESS | ServiceFlags::MESSAGE_ORIENTED).bits();
        info.ProtocolChain.ChainLen = chain.len() as i32;
        info.ProtocolChain.ChainEntries[..chain.len()].copy_from_slice(chain);
        info
    }

    /// Starts a provider for `info` and makes a non-blocking datagram
    /// socket connected to the discard service.
    fn started(lib: &libloading::Library, info: &WSAPROTOCOL_INFOW) -> (WSPPROC_TABLE, SOCKET) {
        let set: SetCompletionFn = sym(lib, b"WSPSetCompletionUpcall\0");
        let startup: StartupFn = sym(lib, b"WSPStartup\0");
        // SAFETY: live locals, as the exports take them.
        unsafe { set(Some(complete)) };
        // SAFETY: plain C structs; zeroes are valid.
        let (mut data, mut table): (WSPDATA, WSPPROC_TABLE) = unsafe { std::mem::zeroed() };
        // SAFETY: as above (`lpWSPData` is written though declared const).
        let r = unsafe {
            startup(
                0x0202,
                (&raw mut data).cast_const(),
                info,
                upcalls(),
                &mut table,
            )
        };
        assert_eq!(r, 0, "WSPStartup");
        let mut errno = 0;
        // SAFETY: the table's entries, with live locals.
        let s = unsafe {
            table.lpWSPSocket.unwrap()(
                i32::from(AF_INET),
                SOCK_DGRAM,
                IPPROTO_UDP,
                info,
                0,
                1,
                &mut errno,
            )
        };
        assert_ne!(s, INVALID_SOCKET, "WSPSocket: {errno}");
        let mut to = SOCKADDR_IN {
            sin_family: AF_INET,
            sin_port: 9u16.to_be(),
            ..Default::default()
        };
        to.sin_addr.S_un.S_addr = u32::from_be_bytes([127, 0, 0, 2]).to_be();
        // SAFETY: as above.
        let r = unsafe {
            table.lpWSPConnect.unwrap()(
                s,
                (&raw const to).cast::<SOCKADDR>(),
                16,
                std::ptr::null(),
                std::ptr::null_mut(),
                std::ptr::null(),
                std::ptr::null(),
                &mut errno,
            )
        };
        assert_eq!(r, 0, "WSPConnect: {errno}");
        let mut on = 1u32;
        let mut n = 0u32;
        // SAFETY: as above; FIONBIO.
        let r = unsafe {
            table.lpWSPIoctl.unwrap()(
                s,
                0x8004_667E,
                (&raw mut on).cast(),
                4,
                std::ptr::null_mut(),
                0,
                &mut n,
                std::ptr::null_mut(),
                None,
                std::ptr::null(),
                &mut errno,
            )
        };
        assert_eq!(r, 0, "FIONBIO: {errno}");
        (table, s)
    }

    fn send_nonblocking(t: &WSPPROC_TABLE, s: SOCKET, buf: &WSABUF) -> i32 {
        let (mut n, mut errno) = (0u32, 0);
        // SAFETY: the table's entry, with live locals.
        unsafe {
            t.lpWSPSend.unwrap()(
                s,
                buf,
                1,
                &mut n,
                0,
                std::ptr::null_mut(),
                None,
                std::ptr::null(),
                &mut errno,
            )
        }
    }

    fn send_overlapped(t: &WSPPROC_TABLE, s: SOCKET, buf: &WSABUF, ov: &mut WSAOVERLAPPED) -> i32 {
        let (mut n, mut errno) = (0u32, 0);
        // SAFETY: as above; the send finishes at once, so the record is
        // free again for the next one.
        unsafe {
            t.lpWSPSend.unwrap()(s, buf, 1, &mut n, 0, ov, None, std::ptr::null(), &mut errno)
        }
    }

    pub fn send(c: &mut Criterion) {
        let base_path = example_dlls::example_release("loopback_provider");
        let layer_path = example_dlls::example_release("counting_layer");
        let base = load(&base_path);
        let layer = load(&layer_path);

        // The layer's catalog: the base entry, its hidden entry, its chain.
        let provider_id: ProviderIdFn = sym(layer, b"WSPLayerProviderId\0");
        let add: AddEntryFn = sym(layer, b"WSPAddCatalogEntry\0");
        let base_info = entry(1002, &[1002]);
        let mut hidden = entry(2001, &[]);
        // SAFETY: a live local.
        assert_eq!(unsafe { provider_id(&mut hidden.ProviderId) }, 0);
        let chain = entry(2002, &[2001, 1002]);
        let wide =
            |p: &Path| -> Vec<u16> { p.to_str().unwrap().encode_utf16().chain([0]).collect() };
        for (info, path) in [
            (&base_info, &base_path),
            (&hidden, &layer_path),
            (&chain, &layer_path),
        ] {
            // SAFETY: live locals.
            assert_eq!(unsafe { add(info, wide(path).as_ptr()) }, 0);
        }

        let (direct, ds) = started(base, &base_info);
        let (layered, ls) = started(layer, &chain);
        let data = [7u8; 64];
        let buf = WSABUF {
            len: data.len() as u32,
            buf: data.as_ptr().cast_mut(),
        };
        let mut g = c.benchmark_group("layered_send");
        g.bench_function("baseline_next_provider_nonblocking", |b| {
            b.iter(|| black_box(send_nonblocking(&direct, ds, &buf)))
        });
        g.bench_function("through_the_layer_nonblocking", |b| {
            b.iter(|| black_box(send_nonblocking(&layered, ls, &buf)))
        });
        let mut ov = WSAOVERLAPPED {
            hEvent: 1 as _,
            ..Default::default()
        };
        g.bench_function("baseline_next_provider_overlapped_event", |b| {
            b.iter(|| black_box(send_overlapped(&direct, ds, &buf, &mut ov)))
        });
        g.bench_function("through_the_layer_overlapped_event", |b| {
            b.iter(|| black_box(send_overlapped(&layered, ls, &buf, &mut ov)))
        });
        g.finish();
    }
}

#[cfg(unix)]
criterion::criterion_group!(benches, bench::send);
#[cfg(unix)]
criterion::criterion_main!(benches);

#[cfg(not(unix))]
fn main() {
    eprintln!("the layered benchmark loads the example DLLs with dlopen: Unix only");
}
