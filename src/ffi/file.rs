//! Reading the files `TransmitFile` and `TransmitPackets` send, from the
//! application's file `HANDLE` (Windows: `ReadFile`). A host that is not
//! Windows has no file handles to read: there a file is `WSAEOPNOTSUPP`.

use crate::WsaError;

/// Where a read starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum From {
    /// The file's current position (which the read moves on).
    Current,
    /// This byte offset.
    Offset(u64),
}

/// Appends to `out` the next `len` bytes of `file` (`None`: up to the end
/// of the file; fewer when the file ends first). `WSAENOBUFS` when the
/// memory for them cannot be had, `WSAEINVAL` when the file cannot be read
/// (the OS error is reported through `tracing`).
///
/// # Safety
/// `file` is a handle the caller may read from.
#[cfg(windows)]
pub(crate) unsafe fn read(
    file: windows_sys::Win32::Foundation::HANDLE,
    from: From,
    len: Option<u64>,
    out: &mut Vec<u8>,
) -> Result<(), WsaError> {
    use windows_sys::Win32::Foundation::{ERROR_HANDLE_EOF, ERROR_IO_PENDING, GetLastError};
    use windows_sys::Win32::Storage::FileSystem::ReadFile;
    use windows_sys::Win32::System::IO::{GetOverlappedResult, OVERLAPPED};
    const CHUNK: u64 = 64 * 1024;
    let mut offset = match from {
        From::Current => None,
        From::Offset(at) => Some(at),
    };
    let mut left = len.unwrap_or(u64::MAX);
    while left > 0 {
        let want = left.min(CHUNK) as usize;
        out.try_reserve(want).map_err(|_| WsaError::NoBufferSpace)?;
        let start = out.len();
        let spare = out.spare_capacity_mut();
        let mut n = 0u32;
        // SAFETY: `spare` has room for `want` bytes; `file` is readable by
        // the caller's promise; the OVERLAPPED (with no event) lives until
        // GetOverlappedResult has waited for the read.
        let read = unsafe {
            match offset {
                None => {
                    ReadFile(
                        file,
                        spare.as_mut_ptr().cast(),
                        want as u32,
                        &mut n,
                        std::ptr::null_mut(),
                    ) != 0
                }
                Some(at) => {
                    let mut ov: OVERLAPPED = std::mem::zeroed();
                    ov.Anonymous.Anonymous.Offset = at as u32;
                    ov.Anonymous.Anonymous.OffsetHigh = (at >> 32) as u32;
                    ReadFile(
                        file,
                        spare.as_mut_ptr().cast(),
                        want as u32,
                        &mut n,
                        &mut ov,
                    ) != 0
                        || (GetLastError() == ERROR_IO_PENDING
                            && GetOverlappedResult(file, &ov, &mut n, 1) != 0)
                }
            }
        };
        if !read {
            // SAFETY: reads the calling thread's last error.
            let code = unsafe { GetLastError() };
            if code == ERROR_HANDLE_EOF {
                break;
            }
            tracing::warn!(target: "winsock_provider", code, "ReadFile failed for a transmitted file");
            return Err(WsaError::InvalidArgument);
        }
        if n == 0 {
            break;
        }
        // SAFETY: ReadFile wrote `n` bytes (at most `want`) into the spare room.
        unsafe { out.set_len(start + n as usize) };
        left -= u64::from(n);
        offset = offset.map(|at| at + u64::from(n));
    }
    Ok(())
}

/// See the Windows version: no file handles here.
///
/// # Safety
/// None needed; kept `unsafe` to match the Windows version.
#[cfg(not(windows))]
pub(crate) unsafe fn read(
    _file: windows_sys::Win32::Foundation::HANDLE,
    _from: From,
    _len: Option<u64>,
    _out: &mut Vec<u8>,
) -> Result<(), WsaError> {
    Err(WsaError::OperationNotSupported)
}
