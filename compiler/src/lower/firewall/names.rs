//! Chain and set names: `<prefix>-<readable slug>-<hash>`, at most
//! [`MAX_NAME_LEN`] characters of `[a-z0-9_-]`. The slug is for people
//! reading `nft list ruleset`; the hash (of everything that identifies the
//! object) keeps names unique however the slug was truncated or mangled.

use crate::ir::MAX_NAME_LEN;
use sha2::{Digest, Sha256};

/// Hex characters of hash in every generated name.
const HASH_LEN: usize = 8;

/// `prefix` must be a short `[a-z][a-z0-9]*`.
pub(super) fn ident(prefix: &str, readable: &str, key: &str) -> String {
    let hash = short_hash(key);
    let room = MAX_NAME_LEN.saturating_sub(prefix.len() + 1 + HASH_LEN + 1);
    let slug = slug(readable, room);
    if slug.is_empty() {
        format!("{prefix}-{hash}")
    } else {
        format!("{prefix}-{slug}-{hash}")
    }
}

pub(super) fn short_hash(key: &str) -> String {
    let d = Sha256::digest(key.as_bytes());
    let mut s = String::with_capacity(HASH_LEN);
    for b in d.iter().take(HASH_LEN / 2) {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

/// Lower-case `[a-z0-9]` runs joined by single `-`, at most `max` long.
pub(super) fn slug(s: &str, max: usize) -> String {
    let mut out = String::new();
    let mut dash = false;
    for c in s.chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            if dash && !out.is_empty() {
                out.push('-');
            }
            dash = false;
            out.push(c);
        } else {
            dash = true;
        }
        if out.len() >= max {
            break;
        }
    }
    out.truncate(max);
    while out.ends_with('-') {
        out.pop();
    }
    out
}

/// A log prefix: `netc <policy>: `, at most 28 characters of `[A-Za-z0-9 _.:/-]`.
pub(super) fn log_prefix(policy: &str) -> String {
    let clean: String = policy
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-' | '/') {
                c
            } else {
                '_'
            }
        })
        .take(28 - "netc : ".len())
        .collect();
    format!("netc {clean}: ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_short_and_safe() {
        let n = ident(
            "pi",
            "GlobalNetworkPolicy default.allow-web-from-everywhere",
            "k",
        );
        assert!(n.len() <= MAX_NAME_LEN, "{n}");
        assert!(n.starts_with("pi-"));
        assert!(n
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'));
        assert_eq!(
            ident("x", "\"; drop", "k").len(),
            "x-drop-".len() + HASH_LEN
        );
        assert_eq!(ident("x", "\";{}", "k"), format!("x-{}", short_hash("k")));
        assert!(log_prefix("a\"b\nc; very long policy name here").len() <= 28);
    }
}
