//! Helpers shared by the rule modules: spans inside string values, selector
//! fields, name grammars (DNS-1123, Kubernetes qualified names, interface
//! names) and address parsing.
//!
//! Everything here works on user data and must never panic: strings are only
//! sliced with `str::get`, numbers are parsed with checked conversions.

use super::Ctx;
use crate::diag::{codes, Diagnostic};
use crate::load::document::escape_segment;
use crate::load::Origin;
use crate::model::Kind;
use crate::selector::Selector;
use crate::source::Span;
use ipnet::IpNet;
use std::net::IpAddr;

/// Escape a map key (label, annotation) for use in a JSON pointer.
pub(crate) fn seg(key: &str) -> String {
    escape_segment(key)
}

/// Span of `len` bytes starting at byte `start` of the string `text`, which is
/// the value at `ptr`. Accounts for the opening quote of a quoted scalar. Falls
/// back to the whole value when the source text differs from the string (block
/// scalars, escapes, line folding) or `start` is not a character boundary.
pub(crate) fn span_in(origin: &Origin, ptr: &str, text: &str, start: usize, len: usize) -> Span {
    let whole = origin.value_span(ptr);
    let quote = if whole.len == text.len() + 2 {
        1
    } else if whole.len == text.len() {
        0
    } else {
        return whole;
    };
    if text.contains('\n') {
        return whole;
    }
    // At the end of an unquoted value there is no closing quote to point at:
    // point at the last character instead of the line break.
    let (start, len) = match text.chars().last() {
        Some(last) if quote == 0 && start >= text.len() => {
            (text.len() - last.len_utf8(), last.len_utf8())
        }
        _ => (start, len),
    };
    let Some(prefix) = text.get(..start) else {
        return whole;
    };
    // Length in bytes, clipped to the string and ending on a char boundary.
    let mut end = start.saturating_add(len).min(text.len());
    while end > start && text.get(start..end).is_none() {
        end -= 1;
    }
    let len = (end - start).max(1);
    whole.shifted(quote + start, quote + prefix.chars().count(), len)
}

/// Byte length of the token-ish thing at `offset` in `text` (a word, or one
/// character), for underlining a selector error.
fn token_len(text: &str, offset: usize) -> usize {
    let Some(rest) = text.get(offset..) else {
        return 1;
    };
    let word: usize = rest
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '/' | '-'))
        .map(char::len_utf8)
        .sum();
    if word > 0 {
        word
    } else {
        rest.chars().next().map(char::len_utf8).unwrap_or(1)
    }
}

pub(crate) const SELECTOR_GRAMMAR: &str = "selector grammar: all(), has(k), k == \"v\", k != \"v\", k in {\"a\", \"b\"}, k not in {...}, k contains/starts with/ends with \"s\", !, &&, ||, ( ); string values are quoted";

/// Parse the selector at `ptr`. On a syntax error, reports E0701 pointing at
/// the offending column inside the string and returns `None`.
pub(crate) fn selector<T>(
    ctx: &Ctx<T>,
    ptr: &str,
    field: &str,
    text: &str,
    out: &mut Vec<Diagnostic>,
) -> Option<Selector> {
    match Selector::parse(text) {
        Ok(s) => Some(s),
        Err(e) => {
            let at = span_in(
                &ctx.r.origin,
                ptr,
                text,
                e.offset,
                token_len(text, e.offset),
            );
            out.push(
                Diagnostic::error(
                    codes::BAD_SELECTOR,
                    format!("`{field}` is not a valid selector: {}", e.message),
                )
                .at(at)
                .label("selector syntax error")
                .resource(ctx.display())
                .note(SELECTOR_GRAMMAR),
            );
            None
        }
    }
}

/// Report `global()` in a selector field that does not allow it (E0710).
pub(crate) fn forbid_global<T>(
    ctx: &Ctx<T>,
    ptr: &str,
    field: &str,
    text: &str,
    sel: &Selector,
    out: &mut Vec<Diagnostic>,
) {
    if !sel.uses_global() {
        return;
    }
    let at = match text.find("global") {
        Some(i) => span_in(&ctx.r.origin, ptr, text, i, "global()".len()),
        None => ctx.r.origin.value_span(ptr),
    };
    out.push(
        Diagnostic::error(
            codes::GLOBAL_SELECTOR,
            format!("`global()` is not allowed in `{field}`"),
        )
        .at(at)
        .label("not allowed here")
        .resource(ctx.display())
        .note("global() is only valid, on its own, as the namespaceSelector of a policy rule's source or destination (it selects non-namespaced endpoints and network sets)"),
    );
}

/// Parse an optional selector field and reject `global()` in it.
pub(crate) fn plain_selector<T>(
    ctx: &Ctx<T>,
    ptr: &str,
    field: &str,
    text: Option<&str>,
    out: &mut Vec<Diagnostic>,
) -> Option<Selector> {
    let text = text?;
    let sel = selector(ctx, ptr, field, text, out)?;
    forbid_global(ctx, ptr, field, text, &sel, out);
    Some(sel)
}

/// Why `s` is not a DNS-1123 label (`[a-z0-9]([-a-z0-9]*[a-z0-9])?`, at most
/// 63 characters), or `None` when it is one.
pub(crate) fn dns_label_problem(s: &str) -> Option<String> {
    if s.is_empty() {
        return Some("it is empty".into());
    }
    if s == "." || s == ".." {
        return Some(format!(
            "`{s}` is a directory name, which the kernel refuses as an interface name"
        ));
    }
    let n = s.chars().count();
    if n > 63 {
        return Some(format!("it is {n} characters long (at most 63)"));
    }
    label_chars_problem(s, false)
}

/// Why `s` is not a DNS-1123 subdomain (dot-separated labels, at most 253
/// characters), or `None` when it is one.
pub(crate) fn dns_subdomain_problem(s: &str) -> Option<String> {
    if s.is_empty() {
        return Some("it is empty".into());
    }
    if s == "." || s == ".." {
        return Some(format!(
            "`{s}` is a directory name, which the kernel refuses as an interface name"
        ));
    }
    let n = s.chars().count();
    if n > 253 {
        return Some(format!("it is {n} characters long (at most 253)"));
    }
    for part in s.split('.') {
        if part.is_empty() {
            return Some(if s.starts_with('.') {
                "it starts with `.`".into()
            } else if s.ends_with('.') {
                "it ends with `.`".into()
            } else {
                "it contains `..`".into()
            });
        }
        if let Some(p) = label_chars_problem(part, true) {
            return Some(p);
        }
    }
    None
}

fn label_chars_problem(part: &str, in_subdomain: bool) -> Option<String> {
    for c in part.chars() {
        if c.is_ascii_uppercase() {
            return Some(format!("it contains the upper-case letter `{c}`"));
        }
        if !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-') {
            return Some(format!("it contains {}", describe_char(c)));
        }
    }
    if part.starts_with('-') {
        let what = if in_subdomain {
            "a dot-separated part"
        } else {
            "it"
        };
        return Some(format!("{what} starts with `-`"));
    }
    if part.ends_with('-') {
        let what = if in_subdomain {
            "a dot-separated part"
        } else {
            "it"
        };
        return Some(format!("{what} ends with `-`"));
    }
    None
}

/// Why `s` is not a Kubernetes "name" part of a qualified name or a label
/// value: at most 63 of `[A-Za-z0-9_.-]`, alphanumeric at both ends.
fn k8s_name_problem(s: &str) -> Option<String> {
    let n = s.chars().count();
    if n > 63 {
        return Some(format!("it is {n} characters long (at most 63)"));
    }
    if let Some(c) = s
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
    {
        return Some(format!("it contains {}", describe_char(c)));
    }
    let first = s.chars().next();
    let last = s.chars().last();
    if !first.is_some_and(|c| c.is_ascii_alphanumeric()) {
        return Some("it must start with a letter or digit".into());
    }
    if !last.is_some_and(|c| c.is_ascii_alphanumeric()) {
        return Some("it must end with a letter or digit".into());
    }
    None
}

/// Why `key` is not a Kubernetes qualified name (label key).
pub(crate) fn label_key_problem(key: &str) -> Option<String> {
    let (prefix, name) = match key.split_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, key),
    };
    if let Some(p) = prefix {
        if let Some(why) = dns_subdomain_problem(p) {
            return Some(format!("its prefix `{p}` is not a DNS subdomain: {why}"));
        }
    }
    if name.is_empty() {
        return Some("the name part is empty".into());
    }
    k8s_name_problem(name)
}

/// Why `value` is not a valid label value (may be empty).
pub(crate) fn label_value_problem(value: &str) -> Option<String> {
    if value.is_empty() {
        return None;
    }
    k8s_name_problem(value)
}

/// Why `s` is not a Linux interface name as Calico accepts it
/// (`^[a-zA-Z0-9_.-]{1,15}$`, and not `.` or `..`), or `None`. The rule is
/// [`crate::ir::IfName`]'s, the one every later stage relies on.
pub(crate) fn interface_problem(s: &str) -> Option<String> {
    crate::ir::IfName::check(s).err().map(|e| e.to_string())
}

pub(crate) use crate::ir::describe_char;

/// Parse an address or a CIDR with host bits allowed (`10.0.0.1/24`),
/// as Calico's `cidr` format and policy rule nets do.
pub(crate) fn parse_net_loose(s: &str) -> Result<IpNet, String> {
    if s.contains('/') {
        parse_cidr(s)
    } else {
        s.parse::<IpAddr>().map(IpNet::from).map_err(|_| {
            leading_zero(s).unwrap_or_else(|| format!("`{s}` is not an IP address or CIDR"))
        })
    }
}

/// An IPv4 octet written with a leading zero (`010.0.0.0`): Go (and so
/// Calico) rejects it, and C's inet_aton reads it as octal; never guess.
fn leading_zero(addr: &str) -> Option<String> {
    let v4 = addr.rsplit(':').next().unwrap_or(addr);
    let octets: Vec<&str> = v4.split('.').collect();
    if octets.len() != 4
        || !octets
            .iter()
            .all(|o| !o.is_empty() && o.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    let bad = octets.iter().find(|o| o.len() > 1 && o.starts_with('0'))?;
    Some(format!(
        "`{addr}` has the IPv4 octet `{bad}` with a leading zero; Calico rejects it and other tools read it as octal: write `{}`",
        octets
            .iter()
            .map(|o| o.trim_start_matches('0'))
            .map(|o| if o.is_empty() { "0" } else { o })
            .collect::<Vec<_>>()
            .join(".")
    ))
}

/// Parse a bare IP address the way Go's net.ParseIP does (no leading zeros
/// in IPv4 octets, no zone).
pub fn parse_addr(s: &str) -> Result<IpAddr, String> {
    s.parse::<IpAddr>()
        .map_err(|_| leading_zero(s).unwrap_or_else(|| format!("`{s}` is not an IP address")))
}

/// Parse `address/prefix-length` (host bits allowed) strictly: the address
/// as [`parse_addr`], the length decimal without leading zeros. Unlike the
/// ipnet crate's parser, `010.0.0.0/8` and `10.0.0.0/08` are errors.
pub fn parse_cidr(s: &str) -> Result<IpNet, String> {
    let Some((a, l)) = s.split_once('/') else {
        return Err(format!("`{s}` has no prefix length"));
    };
    let addr = parse_addr(a)?;
    let max = if addr.is_ipv6() { 128 } else { 32 };
    let len_ok =
        !l.is_empty() && l.bytes().all(|b| b.is_ascii_digit()) && (l == "0" || !l.starts_with('0'));
    if len_ok || l.len() < 2 || !l.bytes().all(|b| b.is_ascii_digit()) {
    } else {
        return Err(format!(
            "prefix length `{l}` has a leading zero: write `{}`",
            l.trim_start_matches('0')
        ));
    }
    let len: u8 = match l.parse::<u8>() {
        Ok(n) if len_ok && n <= max => n,
        _ => return Err(format!("`{l}` is not a prefix length (0..{max})")),
    };
    IpNet::new(addr, len).map_err(|_| format!("`{l}` is not a prefix length (0..{max})"))
}

/// Parse a strictly masked CIDR (or a bare address, taken as /32 or /128),
/// Calico's `net` format.
pub(crate) fn parse_net_strict(s: &str) -> Result<IpNet, String> {
    let n = parse_net_loose(s)?;
    if n.trunc() != n {
        return Err(format!(
            "`{s}` has host bits set; the network is `{}`",
            n.trunc()
        ));
    }
    Ok(n)
}

/// `v4`/`v6` for messages.
pub(crate) fn family(n: &IpNet) -> &'static str {
    match n {
        IpNet::V4(_) => "IPv4",
        IpNet::V6(_) => "IPv6",
    }
}

/// Shorthand for building a `Ctx`.
pub(crate) fn ctx<T>(r: &crate::model::Resource<T>, kind: Kind) -> Ctx<'_, T> {
    Ctx { r, kind }
}

/// `a`, `a and b`, `a, b and 2 more` — for listing names in a message.
pub(crate) fn list_names<S: AsRef<str>>(names: &[S], max: usize) -> String {
    let shown: Vec<String> = names
        .iter()
        .take(max)
        .map(|s| format!("`{}`", s.as_ref()))
        .collect();
    let rest = names.len().saturating_sub(max);
    match (shown.len(), rest) {
        (0, _) => String::new(),
        (1, 0) => shown[0].clone(),
        (_, 0) => {
            let (last, init) = shown
                .split_last()
                .map(|(l, i)| (l.clone(), i))
                .unwrap_or_default();
            format!("{} and {}", init.join(", "), last)
        }
        (_, r) => format!("{} and {r} more", shown.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(dns_subdomain_problem("a.b-c.d"), None);
        assert!(dns_subdomain_problem("A").is_some());
        assert!(dns_subdomain_problem("a..b").is_some());
        assert!(dns_subdomain_problem("-a").is_some());
        assert!(dns_label_problem("a.b").is_some());
        assert_eq!(label_key_problem("netc.dev/role"), None);
        assert!(label_key_problem("bad key").is_some());
        assert!(label_key_problem("/x").is_some());
        assert_eq!(label_value_problem(""), None);
        assert!(label_value_problem("-x").is_some());
        assert_eq!(interface_problem("eth0.100"), None);
        assert!(interface_problem("a-very-long-interface").is_some());
        assert!(dns_label_problem("é").is_some());
    }

    #[test]
    fn nets() {
        assert!(parse_net_loose("10.0.0.1/24").is_ok());
        assert!(parse_net_strict("10.0.0.1/24").is_err());
        assert!(parse_net_strict("10.0.0.0/24").is_ok());
        assert!(parse_net_loose("10.0.0.0/33").is_err());
        assert!(parse_net_loose("x").is_err());
        // ipnet's own parser reads these as 10.0.0.0/8; Calico rejects them.
        assert!(parse_net_loose("010.0.0.0/8").is_err());
        assert!(parse_net_loose("10.0.0.0/08").is_err());
        assert!(parse_net_loose("10.00.0.1").is_err());
        assert!(parse_net_loose("::ffff:10.0.0.1").is_ok());
        assert!(parse_net_loose("10.0.0.0/0").is_ok());
        assert!(parse_cidr("010.0.0.0/8")
            .unwrap_err()
            .contains("write `10.0.0.0`"));
    }

    #[test]
    fn listing() {
        assert_eq!(list_names(&["a"], 3), "`a`");
        assert_eq!(list_names(&["a", "b"], 3), "`a` and `b`");
        assert_eq!(list_names(&["a", "b", "c", "d"], 2), "`a`, `b` and 2 more");
    }
}
