//! Chain and set names: `<prefix>-<readable slug>-<hash>`, at most
//! [`MAX_NAME_LEN`] characters of `[a-z0-9_-]`. The slug is for people
//! reading `nft list ruleset`; the hash (of everything that identifies the
//! object) keeps names unique however the slug was truncated or mangled.

use crate::ir::Name;

/// Hex characters of hash in every generated name.
const HASH_LEN: usize = 8;

/// `<prefix>-<readable slug>-<hash of key>`; [`Name::compose`] keeps it valid.
pub(super) fn ident(prefix: &str, readable: &str, key: &str) -> Name {
    Name::compose(prefix, readable, &short_hash(key))
}

/// A fixed name (`fs-in`, `d-input`…), composed the same way.
pub(super) fn fixed(name: &str) -> Name {
    let (prefix, rest) = name.split_once('-').unwrap_or((name, ""));
    Name::compose(prefix, rest, "")
}

pub(super) fn short_hash(key: &str) -> String {
    crate::ir::digest::sha256_hex(key.as_bytes(), HASH_LEN / 2)
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
        assert!(n.as_str().len() <= crate::ir::MAX_NAME_LEN, "{n}");
        assert!(n.as_str().starts_with("pi-"));
        assert_eq!(
            ident("x", "\"; drop", "k").as_str().len(),
            "x-drop-".len() + HASH_LEN
        );
        assert_eq!(
            ident("x", "\";{}", "k").as_str(),
            format!("x-{}", short_hash("k"))
        );
        assert!(log_prefix("a\"b\nc; very long policy name here").len() <= 28);
    }
}
