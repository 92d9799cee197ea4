#![cfg(all(unix, feature = "system"))]
use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::Arc;
use winsock_provider::mock::RecordingNotifier;
use winsock_provider::system::SystemTransport;
use winsock_provider::*;

#[test]
fn smoke() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let at = l.local_addr().unwrap();
    std::thread::spawn(move || {
        let (mut c, _) = l.accept().unwrap();
        let mut buf = [0u8; 100];
        loop {
            let n = c.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            c.write_all(&buf[..n]).unwrap();
        }
    });
    let p = Provider::new(
        ProviderConfig::default(),
        SystemTransport::new(),
        ThreadWaiter::new(),
    );
    p.startup(Version::new(2, 2), Arc::new(RecordingNotifier::new()))
        .unwrap();
    assert!(p.transport().is_running());
    let s = p
        .socket(
            AddressFamily::Inet,
            SocketKind::Stream,
            SocketFlags::empty(),
        )
        .unwrap();
    p.connect(s, at).unwrap();
    assert_eq!(p.send(s, b"hello", MsgFlags::empty(), None), Ok(5));
    let got = p.recv(s, 100, MsgFlags::empty(), None).unwrap();
    assert_eq!(got.data, b"hello");
    p.close_socket(s).unwrap();
    p.cleanup().unwrap();
    assert!(!p.transport().is_running());
}
