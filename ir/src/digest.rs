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

/// SHA-256 over a sequence of parts, each prefixed by its length, so two
/// different sequences never hash alike (`"ab", "c"` ≠ `"a", "bc"`): the
/// shape of every cache key.
#[derive(Default)]
pub struct Parts(Sha256);

impl Parts {
    pub fn new() -> Parts {
        Parts::default()
    }

    pub fn add(&mut self, part: &[u8]) -> &mut Parts {
        self.0.update((part.len() as u64).to_le_bytes());
        self.0.update(part);
        self
    }

    /// Lower-case hex of the first `bytes` bytes (at most 32) of the digest.
    pub fn hex(self, bytes: usize) -> String {
        let d = self.0.finalize();
        hex(&d[..bytes.min(d.len())])
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn known_digest() {
        // SHA-256("abc") = ba7816bf…
        assert_eq!(super::sha256_hex(b"abc", 4), "ba7816bf");
        assert_eq!(super::sha256_hex(b"abc", 99).len(), 64);
    }

    #[test]
    fn parts_are_length_prefixed() {
        let key = |parts: &[&[u8]]| {
            let mut p = super::Parts::new();
            for x in parts {
                p.add(x);
            }
            p.hex(16)
        };
        assert_ne!(key(&[b"ab", b"c"]), key(&[b"a", b"bc"]));
        assert_eq!(key(&[b"ab", b"c"]), key(&[b"ab", b"c"]));
        assert_eq!(key(&[b"x"]).len(), 32);
    }
}
