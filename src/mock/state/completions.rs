//! Finishing pending operations: accepts, sends, receives (stream and
//! datagram). Always done by a step, never inside a transport call, so the
//! sink is only called with no lock held.

use super::NetState;
use super::endpoint::{Body, Message, Owner, copy_front, take_front};
use crate::core::error::WsaError;
use crate::core::flags::MsgFlags;
use crate::core::handle::OpId;
use crate::core::transport::{Completed, Received};
use crate::mock::ids::EpId;
use crate::mock::ids::InstanceId;

/// Cuts a datagram to `max` bytes. The rest is discarded and the result
/// carries `MSG_PARTIAL` (rather than failing with `WSAEMSGSIZE`, which is
/// what Windows does for datagram sockets: a flag keeps the data and lets the
/// core decide what to report).
pub(crate) fn cut(msg: Message, max: usize) -> Received {
    let mut data = msg.data;
    let flags = if data.len() > max {
        data.truncate(max);
        MsgFlags::PARTIAL
    } else {
        MsgFlags::empty()
    };
    Received {
        data,
        from: Some(msg.from),
        flags,
    }
}

/// A completion for the trace, without the payload.
fn describe(result: &Completed) -> String {
    match result {
        Completed::Sent(n) => format!("sent {n}"),
        Completed::Received(r) => format!(
            "received {} bytes{}",
            r.data.len(),
            if r.flags.is_empty() { "" } else { " (partial)" }
        ),
        Completed::Accepted(peer) => format!("accepted {peer}"),
        Completed::Connected => "connected".to_string(),
        Completed::Failed(e) => format!("failed {}", e.name()),
    }
}

impl NetState {
    /// Whether [`complete_ops`](Self::complete_ops) would finish anything.
    pub(crate) fn completable(&self, id: EpId) -> bool {
        let ep = self.ep(id);
        if !matches!(ep.owner, Owner::Socket(..)) {
            return false;
        }
        match &ep.body {
            Body::Idle | Body::Connecting(_) => false,
            Body::Listening(l) => !l.accepts.is_empty() && !l.queue.is_empty(),
            Body::Connected(c) if c.reset => !ep.recvs.is_empty() || !c.sends.is_empty(),
            Body::Connected(c) => {
                (!c.sends.is_empty() && self.send_room(id) > 0)
                    || (!ep.recvs.is_empty()
                        && (!c.recv_buf.is_empty() || c.fin_received || ep.shut_recv))
            }
            Body::Datagram(d) => !ep.recvs.is_empty() && (!d.queue.is_empty() || ep.shut_recv),
        }
    }

    /// Finishes every pending operation of one socket that can finish now.
    pub(crate) fn complete_ops(&mut self, id: EpId) {
        if !matches!(self.ep(id).owner, Owner::Socket(..)) {
            return;
        }
        // Each operation goes back to the instance that posted it.
        let mut done: Vec<(InstanceId, OpId, Completed)> = Vec::new();
        let room = self.send_room(id);
        let ep = self.ep_mut(id);
        let shut_recv = ep.shut_recv;
        match &mut ep.body {
            Body::Idle | Body::Connecting(_) => {}
            Body::Listening(l) => {
                let mut pairs = Vec::new();
                while !l.accepts.is_empty() && !l.queue.is_empty() {
                    let (inst, op, h) = l.accepts.pop_front().expect("checked");
                    pairs.push((inst, op, h, l.queue.pop_front().expect("checked")));
                }
                for (inst, op, h, q) in pairs {
                    // The completion goes before the events `adopt` emits for
                    // the new socket: the core learns of the handle first.
                    let peer = self
                        .ep(q)
                        .conn()
                        .expect("queued endpoints are connected")
                        .peer_addr;
                    self.trace(|_| format!("complete {op}: accepted {peer}"));
                    self.complete(inst, op, Completed::Accepted(peer));
                    self.adopt(inst, h, q);
                }
            }
            Body::Connected(c) if c.reset => {
                let failed = Completed::Failed(WsaError::ConnectionReset);
                done.extend(ep.recvs.drain(..).map(|r| (r.inst, r.op, failed.clone())));
                done.extend(c.sends.drain(..).map(|s| (s.inst, s.op, failed.clone())));
            }
            Body::Connected(c) => {
                let mut room = room;
                while room > 0
                    && let Some(s) = c.sends.front_mut()
                {
                    let n = room.min(s.data.len() - s.taken);
                    c.send_buf.extend(&s.data[s.taken..s.taken + n]);
                    s.taken += n;
                    room -= n;
                    if s.taken == s.data.len() {
                        done.push((s.inst, s.op, Completed::Sent(s.data.len())));
                        c.sends.pop_front();
                    }
                }
                while let Some(r) = ep.recvs.front() {
                    let result = if shut_recv {
                        Completed::Failed(WsaError::Shutdown)
                    } else if !c.recv_buf.is_empty() {
                        let n = r.max.min(c.recv_buf.len());
                        let data = if r.peek {
                            copy_front(&c.recv_buf, n)
                        } else {
                            take_front(&mut c.recv_buf, n)
                        };
                        Completed::Received(Received {
                            data,
                            ..Received::default()
                        })
                    } else if c.fin_received {
                        Completed::Received(Received::default())
                    } else {
                        break;
                    };
                    done.push((r.inst, r.op, result));
                    ep.recvs.pop_front();
                }
            }
            Body::Datagram(d) => {
                while let Some(r) = ep.recvs.front() {
                    let result = if shut_recv {
                        Completed::Failed(WsaError::Shutdown)
                    } else if r.peek && !d.queue.is_empty() {
                        let f = &d.queue[0];
                        Completed::Received(cut(
                            Message {
                                data: f.data.clone(),
                                from: f.from,
                            },
                            r.max,
                        ))
                    } else if let Some(m) = d.queue.pop_front() {
                        d.queued_bytes -= m.data.len();
                        Completed::Received(cut(m, r.max))
                    } else {
                        break;
                    };
                    done.push((r.inst, r.op, result));
                    ep.recvs.pop_front();
                }
            }
        }
        for (inst, op, result) in done {
            self.trace(|_| format!("complete {op}: {}", describe(&result)));
            self.complete(inst, op, result);
        }
        self.owe_write_event(id);
    }
}
