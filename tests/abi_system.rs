//! The host-socket provider through the ABI (what `examples/system_provider`
//! exports), with real peers this test starts on 127.0.0.1 and ::1: bytes
//! both ways over IPv4 and IPv6, an overlapped receive completed from the
//! I/O thread, a refused connect, and a final cleanup that returns with
//! the I/O thread gone (S6). Same harness as tests/abi.rs.
#![cfg(all(unix, feature = "system"))]

mod abi_host;

use abi_host::*;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::ptr::{null, null_mut};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use winsock_provider::ThreadWaiter;
use winsock_provider::ffi::abi::{AF_INET, AF_INET6, SOCKADDR, SOCKET, WSAOVERLAPPED};
use winsock_provider::ffi::{DllConfig, Exported, ProviderDll};
use winsock_provider::system::SystemTransport;

struct SystemDll;

impl ProviderDll for SystemDll {
    type Transport = SystemTransport;
    type Waiter = ThreadWaiter;
    fn config() -> DllConfig {
        DllConfig {
            description: "abi system test",
            ..DllConfig::default()
        }
    }
    fn create() -> (Self, SystemTransport, ThreadWaiter) {
        (SystemDll, SystemTransport::new(), ThreadWaiter::new())
    }
}

winsock_provider::export_provider!(SystemDll);

const WSAECONNREFUSED: i32 = 10061;

/// An echo server on `at` (port 0: any), for one connection; its address.
fn echo_server(at: &str) -> Option<SocketAddr> {
    let l = TcpListener::bind(at).ok()?;
    let addr = l.local_addr().ok()?;
    std::thread::spawn(move || {
        if let Ok((mut c, _)) = l.accept() {
            let mut buf = [0u8; 4096];
            while let Ok(n) = c.read(&mut buf) {
                if n == 0 || c.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
        }
    });
    Some(addr)
}

fn connect_to(
    t: &winsock_provider::ffi::abi::WSPPROC_TABLE,
    s: SOCKET,
    to: SocketAddr,
) -> (i32, i32) {
    let (v4, v6);
    let (name, len): (*const SOCKADDR, i32) = match to {
        SocketAddr::V4(a) => {
            v4 = sockaddr(a);
            ((&raw const v4).cast(), 16)
        }
        SocketAddr::V6(a) => {
            v6 = sockaddr6(a);
            ((&raw const v6).cast(), 28)
        }
    };
    // SAFETY: live locals; null optional arguments.
    errno_of(|e| unsafe {
        t.lpWSPConnect.unwrap()(s, name, len, null(), null_mut(), null(), null(), e)
    })
}

#[test]
fn real_bytes_over_ipv4_and_ipv6_through_the_abi() {
    let _g = serial();
    let t = started();
    let v4 = echo_server("127.0.0.1:0").expect("a loopback listener");
    let s = new_socket_in(&t, i32::from(AF_INET));
    assert_eq!(connect_to(&t, s, v4), (0, 0));
    send(&t, s, b"hello v4");
    assert_eq!(recv_blocking(&t, s), b"hello v4");
    match echo_server("[::1]:0") {
        Some(v6) => {
            let s = new_socket_in(&t, i32::from(AF_INET6));
            assert_eq!(connect_to(&t, s, v6), (0, 0));
            send(&t, s, b"hello v6");
            assert_eq!(recv_blocking(&t, s), b"hello v6");
        }
        None => eprintln!("no IPv6 loopback on this host: the IPv6 half is skipped"),
    }
    reset(&t);
    assert!(
        !SystemDll::dll().provider().transport().is_running(),
        "S6: the final cleanup returned with the I/O thread gone"
    );
}

#[test]
fn an_overlapped_receive_completes_from_the_io_thread() {
    let _g = serial();
    let t = started();
    let at = echo_server("127.0.0.1:0").expect("a loopback listener");
    let s = new_socket_in(&t, i32::from(AF_INET));
    assert_eq!(connect_to(&t, s, at), (0, 0));
    let before = COMPLETIONS.load(Ordering::SeqCst);
    let mut ov = WSAOVERLAPPED::default();
    let mut buf = [0u8; 16];
    assert_eq!(
        post_recv(&t, s, &mut buf, &mut ov, false),
        (-1, WSA_IO_PENDING)
    );
    send(&t, s, b"echoed");
    let deadline = Instant::now() + Duration::from_secs(10);
    while COMPLETIONS.load(Ordering::SeqCst) == before {
        assert!(Instant::now() < deadline, "the receive never completed");
        std::thread::sleep(Duration::from_millis(1));
    }
    assert_eq!(
        COMPLETIONS.load(Ordering::SeqCst),
        before + 1,
        "exactly once (S10)"
    );
    assert_eq!(&buf[..6], b"echoed");
    assert_eq!(ov.InternalHigh, 6);
    reset(&t);
}

#[test]
fn a_connect_where_nobody_listens_is_refused() {
    let _g = serial();
    let t = started();
    let nobody = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let s = new_socket_in(&t, i32::from(AF_INET));
    assert_eq!(connect_to(&t, s, nobody), (-1, WSAECONNREFUSED));
    reset(&t);
}
