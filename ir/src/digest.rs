//! Content digests: the short SHA-256 hex strings that make generated names
//! unique (chains, sets, iptables chains) and that fingerprint state and
//! cache entries. One implementation, so every stage spells them alike.

use sha2::{Digest, Sha256};
use std::fmt::Write;

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// Lower-case hex of the first `bytes` bytes (at most 32) of SHA-256(`data`).
pub fn sha256_hex(data: &[u8], bytes: usize) -> String {
    let d = Sha256::digest(data);
    hex(&d[..bytes.min(d.len())])
}

#[cfg(test)]
mod tests {
    #[test]
    fn known_digest() {
        // SHA-256("abc") = ba7816bf…
        assert_eq!(super::sha256_hex(b"abc", 4), "ba7816bf");
        assert_eq!(super::sha256_hex(b"abc", 99).len(), 64);
    }
}
