//! Validated newtypes for the link-layer names that reach command lines:
//! [`IfName`] (a Linux interface name) and [`Mac`] (an Ethernet address).
//!
//! Each is built once, through its checked constructor (`TryFrom<&str>`,
//! `FromStr`, serde's `try_from`), so every holder of a value knows it is
//! safe to put on an `ip -batch` / `nft` / `iptables-restore` line: none of
//! them can carry a blank, a newline or a quote. They serialise as plain
//! strings, so `ir.json` shows them as before.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Why a string is not an interface name.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum IfNameError {
    #[error("it is empty")]
    Empty,
    #[error("it is {0} characters long (Linux allows at most 15)")]
    TooLong(usize),
    #[error("it contains {}", describe_char(*.0))]
    BadChar(char),
    #[error("`{0}` is a directory name, which the kernel refuses as an interface name")]
    Dot(&'static str),
}

/// A character as a message shows it: `x`, or a word for blanks.
pub fn describe_char(c: char) -> String {
    match c {
        ' ' => "a space".into(),
        '\t' => "a tab".into(),
        c if c.is_control() => format!("the control character `{}`", c.escape_default()),
        c => format!("`{c}`"),
    }
}

/// A Linux interface name as Calico validates it (`^[A-Za-z0-9_.-]{1,15}$`),
/// and not `.` or `..` (which the kernel refuses).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct IfName(String);

impl IfName {
    /// Check `s` without building a value.
    pub fn check(s: &str) -> Result<(), IfNameError> {
        if s.is_empty() {
            return Err(IfNameError::Empty);
        }
        let n = s.chars().count();
        if n > 15 {
            return Err(IfNameError::TooLong(n));
        }
        if let Some(c) = s
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')))
        {
            return Err(IfNameError::BadChar(c));
        }
        match s {
            "." => Err(IfNameError::Dot(".")),
            ".." => Err(IfNameError::Dot("..")),
            _ => Ok(()),
        }
    }

    /// `s` is a valid interface name.
    pub fn is_valid(s: &str) -> bool {
        Self::check(s).is_ok()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// For this crate's own constants, which a test checks.
    pub(crate) fn from_static(s: &'static str) -> IfName {
        debug_assert!(Self::is_valid(s));
        IfName(s.to_string())
    }
}

impl TryFrom<&str> for IfName {
    type Error = IfNameError;
    fn try_from(s: &str) -> Result<Self, Self::Error> {
        Self::check(s)?;
        Ok(IfName(s.to_string()))
    }
}

impl TryFrom<String> for IfName {
    type Error = IfNameError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::check(&s)?;
        Ok(IfName(s))
    }
}

impl FromStr for IfName {
    type Err = IfNameError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        IfName::try_from(s)
    }
}

impl From<IfName> for String {
    fn from(n: IfName) -> String {
        n.0
    }
}

impl AsRef<str> for IfName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl std::ops::Deref for IfName {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl PartialEq<str> for IfName {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for IfName {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl fmt::Display for IfName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why a string is not a MAC address.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MacError {
    #[error("`{0}` is not a MAC address (six hex octets, e.g. `66:9a:1b:2c:3d:4e`)")]
    Syntax(String),
}

/// An Ethernet (EUI-48) address. Parsed from six hex octets separated by
/// `:` or `-` (either case, as Go's net.ParseMAC that Calico uses accepts);
/// shown lower-case and colon-separated, as iproute2 prints it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Mac([u8; 6]);

impl Mac {
    pub const fn new(octets: [u8; 6]) -> Mac {
        Mac(octets)
    }

    pub fn octets(&self) -> [u8; 6] {
        self.0
    }

    /// The group (multicast) bit of the first octet is set.
    pub fn is_multicast(&self) -> bool {
        self.0[0] & 1 == 1
    }

    pub fn is_zero(&self) -> bool {
        self.0 == [0; 6]
    }
}

impl FromStr for Mac {
    type Err = MacError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || MacError::Syntax(s.escape_debug().to_string());
        let sep = if s.contains(':') { ':' } else { '-' };
        let mut out = [0u8; 6];
        let mut parts = s.split(sep);
        for o in out.iter_mut() {
            let p = parts.next().ok_or_else(bad)?;
            if p.len() != 2 || !p.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(bad());
            }
            *o = u8::from_str_radix(p, 16).map_err(|_| bad())?;
        }
        if parts.next().is_some() {
            return Err(bad());
        }
        Ok(Mac(out))
    }
}

impl TryFrom<&str> for Mac {
    type Error = MacError;
    fn try_from(s: &str) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl TryFrom<String> for Mac {
    type Error = MacError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<Mac> for String {
    fn from(m: Mac) -> String {
        m.to_string()
    }
}

impl fmt::Display for Mac {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d, e, g] = self.0;
        write!(f, "{a:02x}:{b:02x}:{c:02x}:{d:02x}:{e:02x}:{g:02x}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ifnames() {
        for ok in [
            "eth0",
            "bond0.100",
            "vxlan.calico",
            "vxlan-v6.calico",
            "a",
            "cali0a1b2c3d4e5",
        ] {
            assert_eq!(
                IfName::try_from(ok).map(|n| n.to_string()),
                Ok(ok.to_string())
            );
        }
        assert_eq!(IfName::check(""), Err(IfNameError::Empty));
        assert_eq!(
            IfName::check("a-very-long-interface"),
            Err(IfNameError::TooLong(21))
        );
        assert_eq!(
            IfName::check("eth0 table 5"),
            Err(IfNameError::BadChar(' '))
        );
        assert_eq!(
            IfName::check("cali1\nroute"),
            Err(IfNameError::BadChar('\n'))
        );
        assert_eq!(IfName::check("eth0\";"), Err(IfNameError::BadChar('"')));
        assert_eq!(IfName::check("é"), Err(IfNameError::BadChar('é')));
        assert!(IfName::check(".").is_err() && IfName::check("..").is_err());
        assert!(IfName::is_valid("..."));
    }

    #[test]
    fn ifname_serde_is_a_string() {
        let n: IfName = "eth0".parse().unwrap();
        assert_eq!(serde_json::to_string(&n).unwrap(), "\"eth0\"");
        assert_eq!(serde_json::from_str::<IfName>("\"eth0\"").unwrap(), n);
        assert!(serde_json::from_str::<IfName>("\"eth0 x\"").is_err());
    }

    #[test]
    fn macs() {
        let m: Mac = "66:9A:1b:2c:3d:4e".parse().unwrap();
        assert_eq!(m.to_string(), "66:9a:1b:2c:3d:4e");
        assert_eq!("66-9a-1b-2c-3d-4e".parse::<Mac>(), Ok(m));
        for bad in [
            "",
            "66:9a:1b:2c:3d",
            "66:9a:1b:2c:3d:4e:5f",
            "gg:9a:1b:2c:3d:4e",
            "6:9a:1b:2c:3d:4e0",
            "66:9a:1b:2c:3d:4e dev lo",
            "é",
        ] {
            assert!(bad.parse::<Mac>().is_err(), "{bad}");
        }
        assert!("01:00:5e:00:00:01".parse::<Mac>().unwrap().is_multicast());
        assert!("00:00:00:00:00:00".parse::<Mac>().unwrap().is_zero());
        assert_eq!(serde_json::to_string(&m).unwrap(), "\"66:9a:1b:2c:3d:4e\"");
        assert_eq!(
            serde_json::from_str::<Mac>("\"66:9a:1b:2c:3d:4e\"").unwrap(),
            m
        );
    }

    #[test]
    fn mac_order_is_text_order() {
        let a: Mac = "0a:00:00:00:00:00".parse().unwrap();
        let b: Mac = "a0:00:00:00:00:00".parse().unwrap();
        assert!(a < b && a.to_string() < b.to_string());
    }
}
