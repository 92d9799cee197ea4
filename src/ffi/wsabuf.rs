//! `WSABUF` arrays: gathered into one slice for a send, captured for a
//! receive so that data arriving later is scattered into them in array
//! order (the SPI: the array itself is transient, the buffers belong to the
//! provider until the operation completes).

use super::abi::WSABUF;
use super::guard;
use crate::WsaError;

/// Checks the `(lpBuffers, dwBufferCount)` pair with the one pointer check
/// (S13): `WSAEFAULT` when the array is not a valid pointer with a count
/// above zero, or any buffer with a length is not.
///
/// # Safety
/// When it passes the check, `buffers` must point to `count` readable
/// `WSABUF`s.
unsafe fn array<'a>(buffers: *const WSABUF, count: u32) -> Result<&'a [WSABUF], WsaError> {
    if count == 0 {
        return Ok(&[]);
    }
    let buffers = guard::valid(buffers.cast_mut())?;
    // SAFETY: not null, aligned, `count` elements: the caller's promise.
    let array = unsafe { std::slice::from_raw_parts(buffers, count as usize) };
    for b in array {
        guard::bytes(b.buf, b.len as usize)?;
    }
    Ok(array)
}

/// The bytes of a send, gathered in array order.
///
/// # Safety
/// As [`array`], and each buffer readable for its length.
pub(super) unsafe fn gather(buffers: *const WSABUF, count: u32) -> Result<Vec<u8>, WsaError> {
    // SAFETY: the caller's promise.
    let array = unsafe { array(buffers, count) }?;
    let mut out = Vec::with_capacity(array.iter().map(|b| b.len as usize).sum());
    for b in array.iter().filter(|b| b.len > 0) {
        // SAFETY: checked by `array`; readable for `len` bytes by the promise.
        out.extend_from_slice(unsafe { std::slice::from_raw_parts(b.buf, b.len as usize) });
    }
    Ok(out)
}

/// A receive's buffers, captured when the call is made.
#[derive(Debug)]
pub(crate) struct Scatter {
    parts: Vec<(*mut u8, usize)>,
}

// SAFETY: the pointers are only written through while the operation is
// pending, and the SPI makes the application keep the buffers valid and
// untouched until it completes, whichever thread completes it.
unsafe impl Send for Scatter {}

impl Scatter {
    /// Captures the array (the array itself may be gone when data arrives).
    ///
    /// # Safety
    /// As [`array`].
    pub(crate) unsafe fn capture(buffers: *const WSABUF, count: u32) -> Result<Self, WsaError> {
        // SAFETY: the caller's promise.
        let array = unsafe { array(buffers, count) }?;
        Ok(Scatter {
            parts: array
                .iter()
                .filter(|b| b.len > 0)
                .map(|b| (b.buf, b.len as usize))
                .collect(),
        })
    }

    /// Total room.
    pub(crate) fn capacity(&self) -> usize {
        self.parts.iter().map(|&(_, n)| n).sum()
    }

    /// Copies `data` into the buffers in order, no holes; returns the bytes
    /// written (never more than the capacity).
    ///
    /// # Safety
    /// The buffers captured must still be valid for writes (the operation
    /// has not completed before).
    pub(crate) unsafe fn fill(&self, mut data: &[u8]) -> usize {
        let mut written = 0;
        for &(ptr, len) in &self.parts {
            if data.is_empty() {
                break;
            }
            let n = len.min(data.len());
            // SAFETY: `ptr` is writable for `len >= n` bytes (the caller's
            // promise) and cannot overlap `data`, which the core owns.
            unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), ptr, n) };
            data = &data[n..];
            written += n;
        }
        written
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn buf(b: &mut [u8]) -> WSABUF {
        WSABUF {
            len: b.len() as u32,
            buf: b.as_mut_ptr(),
        }
    }

    /// Data goes into the buffers in array order with no holes; empty
    /// buffers are skipped; a null buffer with a length is WSAEFAULT (S13).
    #[test]
    fn scatter_fills_in_order_and_gather_reads_in_order() {
        let (mut a, mut b, mut c) = ([0u8; 2], [0u8; 0], [0u8; 4]);
        let array = [buf(&mut a), buf(&mut b), buf(&mut c)];
        let s = unsafe { Scatter::capture(array.as_ptr(), 3) }.unwrap();
        assert_eq!(s.capacity(), 6);
        assert_eq!(unsafe { s.fill(b"hello, world") }, 6);
        assert_eq!((&a, &c), (b"he", b"llo,"));
        let g = unsafe { gather(array.as_ptr(), 3) }.unwrap();
        assert_eq!(g, b"hello,");
        let bad = [WSABUF {
            len: 1,
            buf: std::ptr::null_mut(),
        }];
        assert_eq!(
            unsafe { gather(bad.as_ptr(), 1) }.err(),
            Some(WsaError::Fault)
        );
        assert_eq!(
            unsafe { Scatter::capture(std::ptr::null(), 1) }.err(),
            Some(WsaError::Fault)
        );
        assert_eq!(unsafe { gather(std::ptr::null(), 0) }, Ok(vec![]));
    }
}
