//! Shrinking a failing run to a short one.
//!
//! A random run that breaks an invariant usually does so after thousands of
//! steps, most of them beside the point. [`shrink`] looks for a shorter list
//! of actions that still fails the same way: it removes chunks of actions
//! (halves, quarters, ... single actions, as delta debugging does), then
//! makes the survivors simpler (fewer bytes, fewer network steps, plain calls
//! instead of overlapped ones), and keeps every change after which the run
//! still fails. Runs are deterministic, so a candidate is judged by running
//! it once from scratch.

use super::action::{Action, How, LingerChoice};

/// The most candidate runs one shrink tries; enough for a few thousand
/// steps, bounded so a slow failure still ends.
pub const MAX_ATTEMPTS: usize = 4000;

/// What a shrink found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shrunk {
    /// The shortest failing list found.
    pub actions: Vec<Action>,
    /// Candidate runs tried.
    pub attempts: usize,
}

/// A shorter list of `actions` for which `fails` still holds. `fails` must
/// hold for `actions` itself (else `actions` comes back unchanged) and must
/// be deterministic.
///
/// ```
/// use winsock_provider::sim::{Action, shrink::shrink};
/// // "Fails" whenever a cleanup comes after a crash.
/// let fails = |a: &[Action]| {
///     let crash = a.iter().position(|x| *x == Action::Crash);
///     crash.is_some_and(|c| a[c..].contains(&Action::Cleanup))
/// };
/// let mut long = vec![Action::Run { steps: 9 }; 50];
/// long.insert(10, Action::Crash);
/// long.push(Action::Cleanup);
/// let s = shrink(long, fails);
/// assert_eq!(s.actions, [Action::Crash, Action::Cleanup]);
/// ```
pub fn shrink(actions: Vec<Action>, fails: impl FnMut(&[Action]) -> bool) -> Shrunk {
    let mut judge = Judge { fails, attempts: 0 };
    if !judge.fails(&actions) {
        return Shrunk {
            actions,
            attempts: 1,
        };
    }
    let mut best = actions;
    // Remove chunks, from half the list down to single actions; after a
    // success, retry the same size at the same place.
    let mut chunk = best.len().div_ceil(2).max(1);
    loop {
        let mut start = 0;
        while start < best.len() && judge.may_try() {
            let end = (start + chunk).min(best.len());
            let candidate: Vec<Action> =
                best[..start].iter().chain(&best[end..]).copied().collect();
            if judge.fails(&candidate) {
                best = candidate;
            } else {
                start += chunk;
            }
        }
        if chunk == 1 || !judge.may_try() {
            break;
        }
        chunk = chunk.div_ceil(2);
    }
    // Make each survivor simpler, as long as that keeps the failure.
    for i in 0..best.len() {
        let mut changed = true;
        while changed && judge.may_try() {
            changed = false;
            for simpler in simpler(best[i]) {
                let mut candidate = best.clone();
                candidate[i] = simpler;
                if judge.fails(&candidate) {
                    best = candidate;
                    changed = true;
                    break;
                }
            }
        }
    }
    Shrunk {
        actions: best,
        attempts: judge.attempts,
    }
}

/// Runs candidates and counts them.
struct Judge<F> {
    fails: F,
    attempts: usize,
}

impl<F: FnMut(&[Action]) -> bool> Judge<F> {
    fn fails(&mut self, candidate: &[Action]) -> bool {
        self.attempts += 1;
        (self.fails)(candidate)
    }

    fn may_try(&self) -> bool {
        self.attempts < MAX_ATTEMPTS
    }
}

/// Simpler forms of an action, simplest first.
fn simpler(a: Action) -> Vec<Action> {
    let plain = |how: How| how != How::Plain;
    match a {
        Action::Send { sock, len, how } => {
            let mut v = Vec::new();
            if sock != 0 {
                v.push(Action::Send { sock: 0, len, how });
            }
            if len > 1 {
                v.push(Action::Send { sock, len: 1, how });
            }
            if plain(how) {
                v.push(Action::Send {
                    sock,
                    len,
                    how: How::Plain,
                });
            }
            v
        }
        Action::Recv { sock, how } => {
            let mut v = Vec::new();
            if sock != 0 {
                v.push(Action::Recv { sock: 0, how });
            }
            if plain(how) {
                v.push(Action::Recv {
                    sock,
                    how: How::Plain,
                });
            }
            v
        }
        Action::Run { steps } if steps > 1 => {
            vec![Action::Run { steps: 1 }, Action::Run { steps: steps / 2 }]
        }
        Action::Close { sock, linger } => {
            let mut v = Vec::new();
            if sock != 0 {
                v.push(Action::Close { sock: 0, linger });
            }
            if linger != LingerChoice::Off {
                v.push(Action::Close {
                    sock,
                    linger: LingerChoice::Off,
                });
            }
            v
        }
        Action::Shutdown { sock, how } if sock != 0 => vec![Action::Shutdown { sock: 0, how }],
        Action::NonBlocking { sock, on } if sock != 0 => {
            vec![Action::NonBlocking { sock: 0, on }]
        }
        Action::Poll { op } if op != 0 => vec![Action::Poll { op: 0 }],
        Action::EventSelect { sock, events } if sock != 0 => {
            vec![Action::EventSelect { sock: 0, events }]
        }
        Action::Select { sock } if sock != 0 => vec![Action::Select { sock: 0 }],
        Action::Stall { sock, on } if sock != 0 => vec![Action::Stall { sock: 0, on }],
        Action::Slow { sock, rate } if sock != 0 => vec![Action::Slow { sock: 0, rate }],
        Action::Reset { sock } if sock != 0 => vec![Action::Reset { sock: 0 }],
        Action::Delay { ms } if ms != 1 => vec![Action::Delay { ms: 1 }],
        Action::UseStale { idx } if idx != 0 => vec![Action::UseStale { idx: 0 }],
        Action::Ioctl { sock, code } if sock != 0 => vec![Action::Ioctl { sock: 0, code }],
        Action::HandOver { sock } if sock != 0 => vec![Action::HandOver { sock: 0 }],
        Action::ConnectEx { echo, len, how } if len != 0 || echo => vec![Action::ConnectEx {
            echo: false,
            len: 0,
            how,
        }],
        Action::Transmit {
            sock,
            len,
            how,
            disconnect,
        } if sock != 0 || disconnect => vec![Action::Transmit {
            sock: 0,
            len,
            how,
            disconnect: false,
        }],
        Action::Startup(major, minor) if (major, minor) != (2, 2) => {
            vec![Action::Startup(2, 2)]
        }
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A failure that needs two particular actions in order is shrunk to
    /// exactly those two, simplified.
    #[test]
    fn shrinks_to_the_two_actions_that_matter_and_simplifies_them() {
        let fails = |a: &[Action]| {
            let send = a.iter().position(|x| matches!(x, Action::Send { .. }));
            send.is_some_and(|s| a[s..].iter().any(|x| matches!(x, Action::Close { .. })))
        };
        let mut long = Vec::new();
        for i in 0..300u16 {
            long.push(Action::Run {
                steps: (i % 200) as u8,
            });
            if i == 100 {
                long.push(Action::Send {
                    sock: 3,
                    len: 500,
                    how: How::Routine,
                });
            }
            if i == 250 {
                long.push(Action::Close {
                    sock: 2,
                    linger: LingerChoice::Timed(3),
                });
            }
        }
        let s = shrink(long, fails);
        assert_eq!(
            s.actions,
            [
                Action::Send {
                    sock: 0,
                    len: 1,
                    how: How::Plain
                },
                Action::Close {
                    sock: 0,
                    linger: LingerChoice::Off
                }
            ]
        );
        assert!(s.attempts < 200, "{} attempts", s.attempts);
    }

    /// A run that does not fail is given back as it is.
    #[test]
    fn a_passing_run_is_not_shrunk() {
        let actions = vec![Action::Cleanup; 5];
        let s = shrink(actions.clone(), |_| false);
        assert_eq!((s.actions, s.attempts), (actions, 1));
    }
}
