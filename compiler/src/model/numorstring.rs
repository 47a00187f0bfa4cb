//! Calico's "number or string" fields (api/pkg/lib/numorstring): AS numbers,
//! ports and protocols may be written either way in YAML.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A value the user wrote as a number or as a string.
///
/// Written as an untagged enum (`Num` first), read by hand: serde's
/// untagged reader buffers every value before trying each variant, and a
/// policy holds one per port and protocol (a 10,000-rule cluster's typing
/// spent much of its time there). The hand reader takes what the derived
/// one took — an integer that fits `i64`, or a string — and refuses the
/// rest with the derived reader's message; a test holds the two equal.
#[derive(Clone, Debug, Serialize, PartialEq)]
#[serde(untagged)]
pub enum NumOrStr {
    Num(i64),
    Str(String),
}

impl<'de> Deserialize<'de> for NumOrStr {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        const NO_MATCH: &str = "data did not match any variant of untagged enum NumOrStr";
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = NumOrStr;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a number or a string")
            }
            fn visit_i64<E: serde::de::Error>(self, n: i64) -> Result<NumOrStr, E> {
                Ok(NumOrStr::Num(n))
            }
            fn visit_u64<E: serde::de::Error>(self, n: u64) -> Result<NumOrStr, E> {
                i64::try_from(n)
                    .map(NumOrStr::Num)
                    .map_err(|_| E::custom(NO_MATCH))
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<NumOrStr, E> {
                Ok(NumOrStr::Str(s.to_string()))
            }
            fn visit_string<E: serde::de::Error>(self, s: String) -> Result<NumOrStr, E> {
                Ok(NumOrStr::Str(s))
            }
            fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<NumOrStr, E> {
                Err(E::custom(NO_MATCH))
            }
            fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<NumOrStr, E> {
                Err(E::custom(NO_MATCH))
            }
            fn visit_unit<E: serde::de::Error>(self) -> Result<NumOrStr, E> {
                Err(E::custom(NO_MATCH))
            }
            fn visit_none<E: serde::de::Error>(self) -> Result<NumOrStr, E> {
                Err(E::custom(NO_MATCH))
            }
            fn visit_some<D2: serde::Deserializer<'de>>(
                self,
                _: D2,
            ) -> Result<NumOrStr, D2::Error> {
                Err(serde::de::Error::custom(NO_MATCH))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, _: A) -> Result<NumOrStr, A::Error> {
                Err(serde::de::Error::custom(NO_MATCH))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, _: A) -> Result<NumOrStr, A::Error> {
                Err(serde::de::Error::custom(NO_MATCH))
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod read_tests {
    use super::NumOrStr;
    use serde::Deserialize;

    /// The derived untagged reader, kept as the reference. (Its errors
    /// carry no position where ours may: the schema refuses these values
    /// before typing, so the message is never shown for a checked input.)
    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(untagged)]
    enum Derived {
        Num(i64),
        Str(String),
    }

    /// An error's message without serde_json's position, the reference
    /// enum named as ours.
    fn message(e: serde_json::Error) -> String {
        let m = e.to_string().replace("enum Derived", "enum NumOrStr");
        match m.find(" at line ") {
            Some(i) => m[..i].to_string(),
            None => m,
        }
    }

    #[test]
    fn reads_what_the_derived_reader_reads() {
        for text in [
            "80",
            "-1",
            "0",
            "9223372036854775807",
            "9223372036854775808",
            "18446744073709551615",
            "80.0",
            "1e3",
            "\"http\"",
            "\"\"",
            "\"80:90\"",
            "true",
            "null",
            "[]",
            "[80]",
            "{}",
            "{\"a\": 1}",
        ] {
            let same = |ours: Result<NumOrStr, String>, derived: Result<Derived, String>| match (
                &ours, &derived,
            ) {
                (Ok(NumOrStr::Num(a)), Ok(Derived::Num(b))) => assert_eq!(a, b, "{text}"),
                (Ok(NumOrStr::Str(a)), Ok(Derived::Str(b))) => assert_eq!(a, b, "{text}"),
                (Err(a), Err(b)) => assert_eq!(a, b, "{text}"),
                _ => panic!("{text}: ours {ours:?}, derived {derived:?}"),
            };
            same(
                serde_json::from_str(text).map_err(message),
                serde_json::from_str(text).map_err(message),
            );
            // From a JSON value too (the path validation takes for
            // documents that are not cached).
            let v: serde_json::Value = serde_json::from_str(text).unwrap();
            same(
                serde_json::from_value(v.clone()).map_err(message),
                serde_json::from_value(v).map_err(message),
            );
        }
    }
}

impl fmt::Display for NumOrStr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NumOrStr::Num(n) => write!(f, "{n}"),
            NumOrStr::Str(s) => f.write_str(s),
        }
    }
}

/// Parse an AS number: plain `1..=4294967295` or asdot `X.Y` (16-bit
/// halves). AS 0 is reserved (RFC 7607) and BIRD refuses it.
pub fn parse_as_number(v: &NumOrStr) -> Result<u32, String> {
    match parse_as_any(v)? {
        0 => Err(match v {
            NumOrStr::Num(_) => "AS 0 is reserved (RFC 7607) and BIRD refuses it".to_string(),
            NumOrStr::Str(s) => {
                format!("`{s}` is AS 0, which is reserved (RFC 7607) and BIRD refuses it")
            }
        }),
        n => Ok(n),
    }
}

fn parse_as_any(v: &NumOrStr) -> Result<u32, String> {
    match v {
        NumOrStr::Num(n) => {
            u32::try_from(*n).map_err(|_| format!("AS number {n} is outside 0..4294967295"))
        }
        NumOrStr::Str(s) => {
            if let Some((hi, lo)) = s.split_once('.') {
                let hi: u32 = hi
                    .parse()
                    .map_err(|_| format!("`{s}` is not an asdot AS number"))?;
                let lo: u32 = lo
                    .parse()
                    .map_err(|_| format!("`{s}` is not an asdot AS number"))?;
                if hi > 65535 || lo > 65535 {
                    return Err(format!("asdot `{s}` needs two 16-bit halves (0..65535)"));
                }
                Ok((hi << 16) | lo)
            } else {
                s.parse::<u32>()
                    .map_err(|_| format!("`{s}` is not an AS number"))
            }
        }
    }
}

pub use netc_ir::Protocol;

/// Parse a Calico protocol field (a name or a number in 1..255).
pub fn parse_protocol(v: &NumOrStr) -> Result<Protocol, String> {
    match v {
        NumOrStr::Num(n) => match *n {
            1..=255 => Ok(Protocol::from_number(*n as u8)),
            _ => Err(format!("protocol number {n} is outside 1..255")),
        },
        NumOrStr::Str(s) => match s.to_ascii_lowercase().as_str() {
            "tcp" => Ok(Protocol::Tcp),
            "udp" => Ok(Protocol::Udp),
            "icmp" => Ok(Protocol::Icmp),
            "icmpv6" => Ok(Protocol::IcmpV6),
            "sctp" => Ok(Protocol::Sctp),
            "udplite" => Ok(Protocol::UdpLite),
            other => match other.parse::<i64>() {
                Ok(n) => parse_protocol(&NumOrStr::Num(n)),
                Err(_) => Err(format!("unknown protocol `{s}`")),
            },
        },
    }
}

/// A checked port match: a single port or an inclusive range, or a named port.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum PortMatch {
    Range(u16, u16),
    Named(String),
}

impl PortMatch {
    pub fn parse(v: &NumOrStr) -> Result<PortMatch, String> {
        match v {
            NumOrStr::Num(n) => match u16::try_from(*n) {
                Ok(p) => Ok(PortMatch::Range(p, p)),
                Err(_) => Err(format!("port {n} is outside 0..65535")),
            },
            NumOrStr::Str(s) => {
                if let Some((lo, hi)) = s.split_once(':') {
                    let lo: u16 = lo
                        .parse()
                        .map_err(|_| format!("`{s}` is not a port range `lo:hi`"))?;
                    let hi: u16 = hi
                        .parse()
                        .map_err(|_| format!("`{s}` is not a port range `lo:hi`"))?;
                    if lo > hi {
                        return Err(format!("port range `{s}` has its start after its end"));
                    }
                    Ok(PortMatch::Range(lo, hi))
                } else if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
                    s.parse::<u16>()
                        .map(|p| PortMatch::Range(p, p))
                        .map_err(|_| format!("port `{s}` is outside 0..65535"))
                } else if is_iana_svc_name(s) {
                    Ok(PortMatch::Named(s.clone()))
                } else {
                    Err(format!(
                        "`{s}` is neither a port, a range `lo:hi` nor a named port"
                    ))
                }
            }
        }
    }
}

/// Kubernetes IANA_SVC_NAME: 1-15 chars of [a-z0-9-], at least one letter,
/// no leading/trailing/double hyphen.
pub fn is_iana_svc_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 15
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && s.bytes().any(|b| b.is_ascii_lowercase())
        && !s.starts_with('-')
        && !s.ends_with('-')
        && !s.contains("--")
}

/// Parse a Go duration (`1h2m3.5s`, `300ms`) into seconds.
pub fn parse_duration_secs(s: &str) -> Result<f64, String> {
    let bad = || format!("`{s}` is not a duration (e.g. `120s`, `2m`, `1h30m`)");
    if s == "0" {
        return Ok(0.0);
    }
    let mut rest = s;
    let mut total = 0.0;
    if rest.is_empty() {
        return Err(bad());
    }
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(bad)?;
        if num_len == 0 {
            return Err(bad());
        }
        let n: f64 = rest[..num_len].parse().map_err(|_| bad())?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let mult = match &rest[..unit_len] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return Err(bad()),
        };
        total += n * mult;
        rest = &rest[unit_len..];
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn as_numbers() {
        assert_eq!(parse_as_number(&NumOrStr::Num(64512)), Ok(64512));
        assert_eq!(parse_as_number(&NumOrStr::Str("1.10".into())), Ok(65546));
        assert!(parse_as_number(&NumOrStr::Num(-1)).is_err());
        assert!(parse_as_number(&NumOrStr::Num(4294967296)).is_err());
        assert!(parse_as_number(&NumOrStr::Str("65536.1".into())).is_err());
    }

    #[test]
    fn ports() {
        assert_eq!(
            PortMatch::parse(&NumOrStr::Str("1000:2000".into())),
            Ok(PortMatch::Range(1000, 2000))
        );
        assert!(PortMatch::parse(&NumOrStr::Str("2000:1000".into())).is_err());
        assert_eq!(
            PortMatch::parse(&NumOrStr::Str("http".into())),
            Ok(PortMatch::Named("http".into()))
        );
        assert!(PortMatch::parse(&NumOrStr::Num(70000)).is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration_secs("1h30m"), Ok(5400.0));
        assert_eq!(parse_duration_secs("250ms"), Ok(0.25));
        assert!(parse_duration_secs("10").is_err());
        assert!(parse_duration_secs("").is_err());
    }

    #[test]
    fn protocols() {
        assert_eq!(
            parse_protocol(&NumOrStr::Str("tcp".into())),
            Ok(Protocol::Tcp)
        );
        assert_eq!(parse_protocol(&NumOrStr::Num(17)), Ok(Protocol::Udp));
        assert!(parse_protocol(&NumOrStr::Num(0)).is_err());
    }
}
