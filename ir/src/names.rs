//! Firewall object names and typed references between firewall objects.
//!
//! Every chain and set in the IR has a [`Name`]: at most [`MAX_NAME_LEN`]
//! characters of `[a-z0-9_-]`, starting with a letter and containing a `-`.
//! That alphabet is a subset of what both nft and iptables accept unquoted, a
//! name with a `-` can never be an nft keyword, and `netc-` + name fits
//! iptables' 28-character chain-name limit. A `Name` can only be built through
//! [`Name::new`] (checked) or [`Name::compose`] (sanitising, infallible), so
//! emitters never re-check names.
//!
//! A chain or set that points at another object holds a [`Ref<T>`], typed by
//! what it points at: a tier chain's list is `Vec<Ref<PolicyChain>>`, a rule
//! matches `Ref<AddrSet>`s. A reference to the wrong kind of object does not
//! compile, and [`crate::Firewall::check`] proves every reference resolves
//! (lowering calls it before handing the IR on; deserialising an IR calls it
//! too), so a resolved lookup can only miss on an IR that never passed either.
//!
//! Both serialise as the plain name string, so `ir.json` reads as before.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::marker::PhantomData;

/// Longest chain or set name lowering produces.
pub const MAX_NAME_LEN: usize = 23;

/// Why a string is not a valid [`Name`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("chain/set name `{0}` is empty or longer than {MAX_NAME_LEN} characters")]
    Length(String),
    #[error("chain/set name `{0}` must be `[a-z0-9_-]`, start with a letter and contain a `-`")]
    Alphabet(String),
}

/// A validated chain or set name.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Name(String);

/// Debug-formats as the quoted string (see [`Ref`]'s Debug).
impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.0.as_str(), f)
    }
}

impl Name {
    /// Check `s` against the name rules.
    pub fn new(s: &str) -> Result<Name, NameError> {
        if s.is_empty() || s.len() > MAX_NAME_LEN {
            return Err(NameError::Length(s.to_string()));
        }
        let b = s.as_bytes();
        let alphabet = b
            .iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, b'_' | b'-'));
        if !alphabet || !b[0].is_ascii_lowercase() || !b.contains(&b'-') {
            return Err(NameError::Alphabet(s.to_string()));
        }
        Ok(Name(s.to_string()))
    }

    /// `<prefix>-<slug>-<hash>` (or `<prefix>-<hash>` when `slug` is empty),
    /// cut to [`MAX_NAME_LEN`] by shortening the slug. Every part is reduced
    /// to `[a-z0-9]` runs first, and an empty or digit-first prefix becomes
    /// `x`, so the result is always a valid name.
    pub fn compose(prefix: &str, slug: &str, hash: &str) -> Name {
        let mut prefix = alnum(prefix, MAX_NAME_LEN / 2, false);
        if !prefix.starts_with(|c: char| c.is_ascii_lowercase()) {
            prefix.insert(0, 'x');
        }
        let hash = alnum(hash, MAX_NAME_LEN / 2, false);
        let fixed = prefix.len() + 1 + hash.len() + usize::from(!hash.is_empty());
        let slug = alnum(slug, MAX_NAME_LEN.saturating_sub(fixed), true);
        let mut s = prefix;
        for part in [slug.as_str(), hash.as_str()] {
            if !part.is_empty() {
                s.push('-');
                s.push_str(part);
            }
        }
        if !s.contains('-') {
            s.push('-');
        }
        s.truncate(MAX_NAME_LEN);
        Name(s)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Lower-case `[a-z0-9]` runs of `s`, joined by single `-` when `dashes`,
/// at most `max` characters, never ending in `-`.
fn alnum(s: &str, max: usize, dashes: bool) -> String {
    let mut out = String::new();
    let mut gap = false;
    for c in s.chars().map(|c| c.to_ascii_lowercase()) {
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            if gap && dashes && !out.is_empty() {
                out.push('-');
            }
            gap = false;
            out.push(c);
        } else {
            gap = true;
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

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for Name {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl PartialEq<str> for Name {
    fn eq(&self, o: &str) -> bool {
        self.0 == o
    }
}
impl PartialEq<&str> for Name {
    fn eq(&self, o: &&str) -> bool {
        self.0 == *o
    }
}

impl Serialize for Name {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Name {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Name, D::Error> {
        let s = String::deserialize(d)?;
        Name::new(&s).map_err(serde::de::Error::custom)
    }
}

/// A reference to a firewall object of type `T` (a chain or a set), by name.
pub struct Ref<T> {
    name: Name,
    to: PhantomData<fn() -> T>,
}

impl<T> Ref<T> {
    pub fn new(name: Name) -> Ref<T> {
        Ref {
            name,
            to: PhantomData,
        }
    }
    pub fn name(&self) -> &Name {
        &self.name
    }
    pub fn as_str(&self) -> &str {
        self.name.as_str()
    }
}

impl<T> From<&Name> for Ref<T> {
    fn from(n: &Name) -> Ref<T> {
        Ref::new(n.clone())
    }
}

// Manual impls: derives would demand the same traits of `T`.
impl<T> Clone for Ref<T> {
    fn clone(&self) -> Self {
        Ref::new(self.name.clone())
    }
}
/// Debug-formats as the quoted name, exactly as the `String` it replaced:
/// lowering hashes `{:?}` of `OnAllow` into chain names, and those names
/// must not change.
impl<T> fmt::Debug for Ref<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.name.as_str(), f)
    }
}
impl<T> fmt::Display for Ref<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.name.fmt(f)
    }
}
impl<T> PartialEq for Ref<T> {
    fn eq(&self, o: &Self) -> bool {
        self.name == o.name
    }
}
impl<T> Eq for Ref<T> {}
impl<T> PartialEq<&str> for Ref<T> {
    fn eq(&self, o: &&str) -> bool {
        self.name == *o
    }
}
impl<T> std::hash::Hash for Ref<T> {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        self.name.hash(h)
    }
}
impl<T> PartialOrd for Ref<T> {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl<T> Ord for Ref<T> {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        self.name.cmp(&o.name)
    }
}
impl<T> Serialize for Ref<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.name.serialize(s)
    }
}
impl<'de, T> Deserialize<'de> for Ref<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Ref<T>, D::Error> {
        Name::deserialize(d).map(Ref::new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_enforces_the_alphabet() {
        assert!(Name::new("pi-web-1a2b3c4d").is_ok());
        for bad in [
            "",
            "web",
            "1a-b",
            "Pi-web",
            "pi web-x",
            "pi-we;b",
            &"a-".repeat(12),
        ] {
            assert!(Name::new(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn compose_is_always_valid() {
        for (p, s, h) in [
            ("pi", "web-ingress", "15a10af8"),
            ("", "", ""),
            ("9x", "ÄÖ;\n", "zz"),
            ("pi", &"very-long-slug-".repeat(5), "0123abcd"),
            ("d-input", "", ""),
        ] {
            let n = Name::compose(p, s, h);
            assert_eq!(Name::new(n.as_str()).as_ref(), Ok(&n), "{p:?} {s:?} {h:?}");
        }
        assert_eq!(
            Name::compose("pi", "web-ingress", "15a10af8").as_str(),
            "pi-web-ingress-15a10af8"
        );
    }

    #[test]
    fn refs_serialise_as_names_and_deserialise_checked() {
        let r: Ref<u8> = Ref::new(Name::new("s-abc").unwrap());
        assert_eq!(serde_json::to_string(&r).unwrap(), "\"s-abc\"");
        assert!(serde_json::from_str::<Ref<u8>>("\"bad name\"").is_err());
    }
}
