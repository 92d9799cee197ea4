//! The socket table: O(1) lookup by generation-tagged handle, with no
//! process-wide lock on the lookup path (S14).
//!
//! Slots live in pages that are created on first use and never move, so a
//! lookup is an index computation, a lock-free `OnceLock::get` and the lock of
//! that one slot. Only allocation and release touch the shared free list.
//! A slot's generation survives every release and every final cleanup, which
//! is what keeps an old handle from ever naming a new socket (S6h).

use super::error::WsaError;
use super::handle::{MAX_GENERATION, MAX_SLOTS, SocketHandle};
use crate::sync::{AtomicUsize, Mutex, Ordering, lock};
use crossbeam_utils::CachePadded;
use std::sync::OnceLock;

/// Slots a page. Under loom, pages of two keep the models small.
const PAGE_SIZE: usize = if cfg!(loom) { 2 } else { 256 };

#[cfg(not(loom))]
std::thread_local! {
    /// How many socket locks this thread holds while running a
    /// [`Table::with`] closure (the core calls the transport there).
    static HELD: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}
#[cfg(loom)]
loom::thread_local! {
    /// Loom's threads share one OS thread: the count is loom's per thread.
    static HELD: std::cell::Cell<usize> = std::cell::Cell::new(0);
}

/// Counts one socket lock held by this thread, until dropped (a panic
/// included).
struct Held;

impl Held {
    fn enter() -> Self {
        HELD.with(|h| h.set(h.get() + 1));
        Held
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        HELD.with(|h| h.set(h.get() - 1));
    }
}

/// Whether this thread runs inside a [`Table::with`] closure, holding a
/// socket's lock: a sink call made now (by a transport, from inside one of
/// its methods) must not take a socket's lock, so the core defers it.
pub(crate) fn holding_a_socket_lock() -> bool {
    HELD.with(|h| h.get() > 0)
}

enum Entry<S> {
    Free,
    /// Allocated but not yet a socket (the transport is still opening it, or an
    /// accept is waiting for its connection). Lookups do not see it.
    Reserved,
    Live(S),
}

struct SlotInner<S> {
    generation: u64,
    entry: Entry<S>,
}

struct Slot<S> {
    inner: Mutex<SlotInner<S>>,
}

struct FreeList {
    free: Vec<usize>,
    next_unused: usize,
}

/// A page of slots, created on first use. Each slot has its own cache line,
/// so threads working on neighbouring sockets do not contend (S14).
type Page<S> = OnceLock<Box<[CachePadded<Slot<S>>]>>;

/// A fixed-capacity table of `S` keyed by [`SocketHandle`].
pub(crate) struct Table<S> {
    pages: Box<[Page<S>]>,
    capacity: usize,
    free: Mutex<FreeList>,
    live: AtomicUsize,
}

impl<S> Table<S> {
    /// A table that holds at most `capacity` sockets at once.
    pub(crate) fn new(capacity: usize) -> Self {
        let capacity = capacity.min(MAX_SLOTS);
        let pages = capacity.div_ceil(PAGE_SIZE);
        let table = Table {
            pages: (0..pages).map(|_| OnceLock::new()).collect(),
            capacity,
            free: Mutex::new(FreeList {
                free: Vec::new(),
                next_unused: 0,
            }),
            live: AtomicUsize::new(0),
        };
        // Loom has no `OnceLock`: its models make every page before any
        // thread runs, and explore what the slots' locks and the free
        // list do from there.
        #[cfg(loom)]
        for page in 0..pages {
            table.slot_or_create(page * PAGE_SIZE);
        }
        table
    }

    fn slot(&self, index: usize) -> Option<&Slot<S>> {
        let page = self.pages.get(index / PAGE_SIZE)?.get()?;
        page.get(index % PAGE_SIZE).map(|s| &**s)
    }

    fn slot_or_create(&self, index: usize) -> &Slot<S> {
        let page = self.pages[index / PAGE_SIZE].get_or_init(|| {
            (0..PAGE_SIZE)
                .map(|_| {
                    CachePadded::new(Slot {
                        inner: Mutex::new(SlotInner {
                            generation: 1,
                            entry: Entry::Free,
                        }),
                    })
                })
                .collect()
        });
        &page[index % PAGE_SIZE]
    }

    /// Allocates a slot in the `Reserved` state: `WSAEMFILE` when full.
    pub(crate) fn reserve(&self) -> Result<SocketHandle, WsaError> {
        let index = {
            let mut f = lock!(self.free);
            match f.free.pop() {
                Some(i) => i,
                None if f.next_unused < self.capacity => {
                    f.next_unused += 1;
                    f.next_unused - 1
                }
                None => return Err(WsaError::TooManySockets),
            }
        };
        let slot = self.slot_or_create(index);
        let mut inner = lock!(slot.inner);
        debug_assert!(matches!(inner.entry, Entry::Free));
        inner.entry = Entry::Reserved;
        self.live.fetch_add(1, Ordering::Relaxed);
        Ok(SocketHandle::new(index, inner.generation))
    }

    /// Reserved → Live.
    pub(crate) fn install(&self, h: SocketHandle, value: S) {
        if let Some(slot) = h.index().and_then(|i| self.slot(i)) {
            let mut inner = lock!(slot.inner);
            if inner.generation == h.generation() && matches!(inner.entry, Entry::Reserved) {
                inner.entry = Entry::Live(value);
            }
        }
    }

    /// Runs `f` on the live socket `h`, under that socket's lock only.
    /// `WSAENOTSOCK` for an unknown, reserved, released or stale handle.
    pub(crate) fn with<R>(
        &self,
        h: SocketHandle,
        f: impl FnOnce(&mut S) -> R,
    ) -> Result<R, WsaError> {
        let slot = h
            .index()
            .and_then(|i| self.slot(i))
            .ok_or(WsaError::NotSocket)?;
        let mut inner = lock!(slot.inner);
        if inner.generation != h.generation() {
            return Err(WsaError::NotSocket);
        }
        match &mut inner.entry {
            Entry::Live(s) => {
                let _held = Held::enter();
                Ok(f(s))
            }
            _ => Err(WsaError::NotSocket),
        }
    }

    /// Releases `h` (live or reserved) and returns its value. The generation
    /// moves on, so `h` is stale from now on; a slot whose generation is used
    /// up is retired instead of reused.
    pub(crate) fn remove(&self, h: SocketHandle) -> Option<S> {
        let index = h.index()?;
        let slot = self.slot(index)?;
        let taken = {
            let mut inner = lock!(slot.inner);
            if inner.generation != h.generation() || matches!(inner.entry, Entry::Free) {
                return None;
            }
            let taken = std::mem::replace(&mut inner.entry, Entry::Free);
            inner.generation += 1;
            if inner.generation < MAX_GENERATION {
                lock!(self.free).free.push(index);
            }
            taken
        };
        self.live.fetch_sub(1, Ordering::Relaxed);
        match taken {
            Entry::Live(s) => Some(s),
            _ => None,
        }
    }

    /// The handles of every live socket, at the time each slot was looked at.
    pub(crate) fn live_handles(&self) -> Vec<SocketHandle> {
        let mut out = Vec::new();
        for (p, page) in self.pages.iter().enumerate() {
            let Some(page) = page.get() else { continue };
            for (i, slot) in page.iter().enumerate() {
                let inner = lock!(slot.inner);
                if matches!(inner.entry, Entry::Live(_)) {
                    out.push(SocketHandle::new(p * PAGE_SIZE + i, inner.generation));
                }
            }
        }
        out
    }

    /// How many slots are reserved or live.
    pub(crate) fn len(&self) -> usize {
        self.live.load(Ordering::Relaxed)
    }

    /// Releases every reserved slot (the final cleanup, after rundown, when no
    /// call can still be filling one).
    pub(crate) fn release_reserved(&self) {
        for (p, page) in self.pages.iter().enumerate() {
            let Some(page) = page.get() else { continue };
            for (i, slot) in page.iter().enumerate() {
                let generation = {
                    let inner = lock!(slot.inner);
                    matches!(inner.entry, Entry::Reserved).then_some(inner.generation)
                };
                if let Some(g) = generation {
                    self.remove(SocketHandle::new(p * PAGE_SIZE + i, g));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_finds_only_the_current_generation() {
        let t: Table<u32> = Table::new(4);
        let h = t.reserve().unwrap();
        assert_eq!(
            t.with(h, |v| *v),
            Err(WsaError::NotSocket),
            "reserved is not a socket yet"
        );
        t.install(h, 7);
        assert_eq!(t.with(h, |v| *v), Ok(7));
        assert_eq!(t.remove(h), Some(7));
        assert_eq!(t.with(h, |v| *v), Err(WsaError::NotSocket));
        let h2 = t.reserve().unwrap();
        t.install(h2, 8);
        assert_eq!(h2.index(), h.index(), "the slot is reused");
        assert_ne!(h2, h, "but never under the same handle (S6h)");
        assert_eq!(t.with(h, |v| *v), Err(WsaError::NotSocket));
    }

    /// S6f, S6h: a call that reserved a slot, lost it to the final
    /// cleanup (`release_reserved`), and installs late cannot land in the
    /// slot another call reserved since: the late install is dropped, the
    /// new reservation stands and fills.
    #[test]
    fn s6h_a_late_install_cannot_land_in_a_slot_reserved_since() {
        let t: Table<u32> = Table::new(1);
        let old = t.reserve().unwrap();
        t.release_reserved();
        let new = t.reserve().unwrap();
        assert_eq!(new.index(), old.index(), "the same slot");
        t.install(old, 1);
        assert_eq!(
            t.with(new, |v| *v),
            Err(WsaError::NotSocket),
            "still reserved"
        );
        assert_eq!(t.with(old, |v| *v), Err(WsaError::NotSocket));
        t.install(new, 2);
        assert_eq!(t.with(new, |v| *v), Ok(2));
        assert_eq!(t.len(), 1);
    }

    /// S6h, S13: a remove with a stale handle (the socket was closed, and
    /// its slot holds a new socket now) removes nothing: the new socket and
    /// the count stay.
    #[test]
    fn s6h_a_remove_with_a_stale_handle_cannot_remove_the_new_socket() {
        let t: Table<u32> = Table::new(1);
        let old = t.reserve().unwrap();
        t.install(old, 1);
        assert_eq!(t.remove(old), Some(1));
        let new = t.reserve().unwrap();
        t.install(new, 2);
        assert_eq!(t.remove(old), None);
        assert_eq!(t.with(new, |v| *v), Ok(2));
        assert_eq!(t.len(), 1);
        assert_eq!(t.live_handles(), vec![new]);
    }

    #[test]
    fn full_table_is_wsaemfile() {
        let t: Table<u32> = Table::new(2);
        t.reserve().unwrap();
        t.reserve().unwrap();
        assert_eq!(t.reserve(), Err(WsaError::TooManySockets));
        assert_eq!(t.len(), 2);
    }

    /// S13: handles the table never issued are rejected, whatever their bits.
    #[test]
    fn s13_bogus_handles_are_not_sockets() {
        let t: Table<u32> = Table::new(300);
        for raw in [0, 1, u64::MAX, 0xdead_beef, 1 << 24 | 299] {
            assert_eq!(
                t.with(SocketHandle::from_raw(raw), |v| *v),
                Err(WsaError::NotSocket)
            );
        }
    }
}
