//! Version words and their negotiation (S2).

use super::error::WsaError;
use std::fmt;

/// A Winsock version. As a `WORD` the major number is the **low** byte
/// (`MAKEWORD(major, minor)`), so versions compare as `(major, minor)`, never as
/// raw words (S2).
///
/// ```
/// use winsock_provider::Version;
/// let v = Version::from_word(0x0202);
/// assert_eq!((v.major, v.minor), (2, 2));
/// assert!(Version::new(2, 0) > Version::new(1, 1)); // 0x0002 < 0x0101 as raw words
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct Version {
    /// The major number (low byte of the word).
    pub major: u8,
    /// The minor number (high byte of the word).
    pub minor: u8,
}

impl Version {
    /// Version `major.minor`.
    pub const fn new(major: u8, minor: u8) -> Self {
        Version { major, minor }
    }

    /// Decodes a `WORD` made by `MAKEWORD(major, minor)`.
    pub const fn from_word(word: u16) -> Self {
        Version {
            major: (word & 0xFF) as u8,
            minor: (word >> 8) as u8,
        }
    }

    /// Encodes as `MAKEWORD(major, minor)`.
    pub const fn to_word(self) -> u16 {
        self.major as u16 | ((self.minor as u16) << 8)
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// The versions a provider supports, lowest to highest (default 2.0 to 2.2).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct VersionRange {
    /// The lowest version the provider accepts.
    pub lowest: Version,
    /// The highest version the provider offers.
    pub highest: Version,
}

impl Default for VersionRange {
    fn default() -> Self {
        VersionRange {
            lowest: Version::new(2, 0),
            highest: Version::new(2, 2),
        }
    }
}

/// What a successful startup reports (`WSPDATA`'s two version words).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Negotiated {
    /// `wVersion`: the version the caller is expected to use.
    pub version: Version,
    /// `wHighVersion`: the highest version the provider supports.
    pub high_version: Version,
}

impl VersionRange {
    /// S2: below the lowest is `WSAVERNOTSUPPORTED`; otherwise the caller gets
    /// `min(requested, highest)` and the provider's highest.
    ///
    /// ```
    /// use winsock_provider::{Version, VersionRange, WsaError};
    /// let r = VersionRange::default();
    /// assert_eq!(r.negotiate(Version::new(3, 0)).unwrap().version, Version::new(2, 2));
    /// assert_eq!(r.negotiate(Version::new(1, 1)), Err(WsaError::VersionNotSupported));
    /// ```
    pub fn negotiate(&self, requested: Version) -> Result<Negotiated, WsaError> {
        if requested < self.lowest {
            return Err(WsaError::VersionNotSupported);
        }
        Ok(Negotiated {
            version: requested.min(self.highest),
            high_version: self.highest,
        })
    }
}
