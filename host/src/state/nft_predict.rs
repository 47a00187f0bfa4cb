//! Predict nft's canonical listing of a new firewall artifact from the one
//! netc applied last, when the two differ only in set elements — the usual
//! shape of a policy edit once rules are merged into sets (one rule changed
//! = one element out, one in). The plan then needs no scratch namespace.
//!
//! The prediction is the last applied table's canonical state (from the
//! cache) with the removed elements taken out and the added ones put in,
//! each written the way nft lists it: `a . b` as a concatenation, `a/len`
//! as a prefix (a full-length one as the plain address), an address range
//! that is exactly a prefix as that prefix, a one-value range as the value.
//! Anything else — a change outside set elements, a map element, an
//! element the old state does not hold — gives no prediction, and the
//! caller canonicalises the slow way. A wrong prediction costs time, never
//! correctness: verification compares the prediction with the table the
//! apply produced and, on any difference, canonicalises in a scratch
//! namespace and compares again (`verify`).

use super::nft::{
    ConcatElem, Elem, NftState, Prefix, PrefixElem, RangeElem, Verdict, VerdictTarget,
};
use serde_json::json;
use std::net::IpAddr;

/// The canonical state of `new_artifact` (cache key `new_key`), given the
/// canonical state `old` of `old_artifact`; None when it cannot be predicted.
pub fn predict(
    old_artifact: &str,
    old: &NftState,
    new_artifact: &str,
    new_key: &str,
) -> Option<NftState> {
    // Only the objects the two artifacts write differently are read (an
    // edited rule changes a set or two of 64; reading both artifacts whole
    // was 25 ms at 100,000 rules). The others are byte for byte the same,
    // so they pass every comparison below.
    let (old_changed, new_changed) = differing(old_artifact, new_artifact)?;
    let a = NftState::from_artifact(&old_changed, "");
    let b = NftState::from_artifact(&new_changed, "");
    // Everything but set elements and rule comments must be written
    // identically (a merged rule's comment names its source rules, so it
    // changes when a rule is added or removed).
    let same_chains = a.chains.len() == b.chains.len()
        && a.chains.iter().zip(&b.chains).all(|(x, y)| {
            x.name == y.name
                && x.decl_text == y.decl_text
                && x.rules.len() == y.rules.len()
                && x.rules.iter().zip(&y.rules).all(|(r, s)| {
                    r.text == s.text || split_comment(&r.text).0 == split_comment(&s.text).0
                })
        });
    let same_sets = a.sets.len() == b.sets.len()
        && a.sets
            .iter()
            .zip(&b.sets)
            .all(|(x, y)| x.name == y.name && x.kind == y.kind && x.decl_text == y.decl_text);
    if !same_chains || !same_sets || !old.present || !old.has_text || !old.others.is_empty() {
        return None;
    }
    let mut st = old.clone();
    // What changed, for the predicted text listing: (chain, rule index,
    // old comment, new comment) and the names of sets whose elements did.
    let mut comments: Vec<(String, usize, String, String)> = Vec::new();
    let mut changed_sets: Vec<String> = Vec::new();
    for (x, y) in a.chains.iter().zip(&b.chains) {
        for (i, (r, s)) in x.rules.iter().zip(&y.rules).enumerate() {
            if r.text == s.text {
                continue;
            }
            let ((_, was), (_, now)) = (split_comment(&r.text), split_comment(&s.text));
            let rule = st
                .chains
                .iter_mut()
                .find(|c| c.name == x.name)?
                .rules
                .get_mut(i)?;
            let (Some(was), Some(now)) = (was, now) else {
                return None;
            };
            // The listed rule must carry the comment the old artifact wrote.
            let body = rule.body.as_object_mut()?;
            if body.get("comment")?.as_str()? != was {
                return None;
            }
            body.insert("comment".into(), json!(now));
            let (listed, listed_comment) = split_comment(&rule.text);
            if listed_comment != Some(was) {
                return None;
            }
            rule.text = format!("{listed} comment \"{now}\"");
            comments.push((x.name.clone(), i, was.to_string(), now.to_string()));
        }
    }
    for (x, y) in a.sets.iter().zip(&b.sets) {
        // The artifacts' elements are texts as written; the plan's element
        // diff finds the changed ones (around the lists' common head and
        // tail: one edited rule costs no hash of 100,000 texts).
        let (gone, new) = crate::plan::elem_changes(&x.elems, &y.elems);
        let (gone, new) = (texts(gone), texts(new));
        if gone.is_empty() && new.is_empty() {
            continue;
        }
        if x.kind != "set" {
            return None;
        }
        let set = st.sets.iter_mut().find(|s| s.name == x.name)?;
        let elems = set.elems.make_mut();
        for t in gone {
            let e = listed(t)?;
            let i = elems.iter().position(|x| *x == e)?;
            elems.remove(i);
        }
        place(elems, new.into_iter().map(listed).collect::<Option<_>>()?);
        changed_sets.push(set.name.clone());
    }
    st.predicted_listing = listing(&old.text, &st, &changed_sets, &comments);
    st.predicted_changed = changed_sets
        .iter()
        .map(|s| format!("set {s}"))
        .chain(comments.iter().map(|(c, ..)| format!("chain {c}")))
        .collect();
    st.predicted_changed.sort();
    st.predicted_changed.dedup();
    // A loadable text for a full reload; the live text is read before any
    // comparison of texts, so this one is never compared.
    st.text = super::nft::artifact_body(new_artifact).to_string();
    st.predicted = Some(new_key.to_string());
    Some(st)
}

/// The two artifacts cut down to the top-level objects (sets, maps,
/// chains) they write differently, in a table of their own each; None when
/// they do not write the same objects in the same order, differ outside
/// their objects (comments aside: reading an artifact skips them) or leave
/// an object open.
fn differing(old: &str, new: &str) -> Option<(String, String)> {
    use super::nft::{artifact_body, top_level};
    let (a, b) = (top_level(artifact_body(old)), top_level(artifact_body(new)));
    let head = |block: &str| block.lines().next().unwrap_or_default().to_string();
    let frame = |lines: &[&str]| -> Vec<String> {
        lines
            .iter()
            .filter(|l| !l.trim_start().starts_with('#'))
            .map(|l| l.to_string())
            .collect()
    };
    if a.open
        || b.open
        || a.blocks.len() != b.blocks.len()
        || a.blocks
            .iter()
            .zip(&b.blocks)
            .any(|(x, y)| head(x) != head(y))
        || frame(&a.frame) != frame(&b.frame)
    {
        return None;
    }
    let open = format!("table inet {} {{\n", netc_ir::NFT_TABLE);
    let (mut x, mut y) = (open.clone(), open);
    for (p, q) in a.blocks.iter().zip(&b.blocks) {
        if p != q {
            x.push_str(p);
            y.push_str(q);
        }
    }
    x.push_str("}\n");
    y.push_str("}\n");
    Some((x, y))
}

/// The element texts among `elems` (an artifact's elements are texts as
/// written; other shapes are left out).
fn texts(elems: Vec<&Elem>) -> Vec<&str> {
    elems
        .into_iter()
        .filter_map(|e| match e {
            Elem::Str(t) => Some(t.as_str()),
            _ => None,
        })
        .collect()
}

/// Add `new` to `elems`, which are sorted by [`Elem::key`] (a listing's
/// or a prediction's elements always are), where a stable sort would put
/// them: a few additions are placed by binary search, so the 100,000
/// other elements need no key of their own; many are added and sorted.
fn place(elems: &mut Vec<Elem>, new: Vec<Elem>) {
    debug_assert!(
        elems.windows(2).all(|w| w[0].key() <= w[1].key()),
        "elements not in key order"
    );
    if new.len() > 64 {
        elems.extend(new);
        elems.sort_by_cached_key(Elem::key);
        return;
    }
    for e in new {
        let k = e.key();
        let at = elems.partition_point(|x| x.key() <= k);
        elems.insert(at, e);
    }
}

/// nft's listing of a table loaded whole from an artifact, without
/// listing its set elements: `terse` is the table as `nft -t` lists it
/// (everything but set elements, a third of the cost of a full listing at
/// 10,000 elements and more), `artifact` the artifact as written
/// ([`NftState::from_artifact`]); each set's elements are the artifact's,
/// written the way nft lists them. None when a set of one is missing from
/// the other or an element cannot be written so.
///
/// This trusts the artifact's elements to be the table's: the caller
/// reads them from the kernel first (`verify`, `state::nft_kernel`).
pub fn with_artifact_elements(terse: &NftState, artifact: &NftState) -> Option<NftState> {
    with_listed_elements(terse, artifact, listed_elements(artifact))
}

/// Each of the artifact's sets' elements as nft lists them, sorted as a
/// listing's are (by name; None for a set whose elements cannot be
/// written so): the part of [`with_artifact_elements`] that needs no
/// listing, so a caller can prepare it while nft lists the table.
pub fn listed_elements(artifact: &NftState) -> Vec<(String, Option<Vec<Elem>>)> {
    artifact
        .sets
        .iter()
        .map(|from| {
            let elems = from
                .elems
                .iter()
                .map(|e| match e {
                    Elem::Str(t) if from.kind == "map" => listed_mapping(t),
                    Elem::Str(t) => listed(t),
                    _ => None,
                })
                .collect::<Option<Vec<_>>>()
                .map(|mut v| {
                    v.sort_by_cached_key(Elem::key);
                    v
                });
            (from.name.clone(), elems)
        })
        .collect()
}

/// [`with_artifact_elements`] with the artifact's elements prepared by
/// [`listed_elements`].
pub fn with_listed_elements(
    terse: &NftState,
    artifact: &NftState,
    mut listed: Vec<(String, Option<Vec<Elem>>)>,
) -> Option<NftState> {
    if terse.sets.len() != artifact.sets.len() || !terse.has_text {
        return None;
    }
    let mut st = terse.clone();
    for set in &mut st.sets {
        let from = artifact.sets.iter().find(|a| a.name == set.name)?;
        if from.kind != set.kind || !set.elems.is_empty() {
            return None;
        }
        let (_, elems) = listed.iter_mut().find(|(n, _)| *n == set.name)?;
        set.elems = elems.take()?.into();
    }
    let names: Vec<String> = st.sets.iter().map(|s| s.name.clone()).collect();
    st.text = listing(&terse.text, &st, &names, &[])?;
    Some(st)
}

/// A verdict map's element of an artifact (`"eth0" : goto c`), as nft's
/// JSON listing shows it.
fn listed_mapping(text: &str) -> Option<Elem> {
    let (k, v) = text.split_once(" : ")?;
    let mut w = v.split_whitespace();
    let verdict = match (w.next()?, w.next(), w.next()) {
        ("accept", None, _) => Verdict::Accept(()),
        ("drop", None, _) => Verdict::Drop(()),
        ("continue", None, _) => Verdict::Continue(()),
        ("return", None, _) => Verdict::Return(()),
        (kind @ ("jump" | "goto"), Some(target), None) => {
            let target = target.trim_matches('"');
            if !target
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c))
            {
                return None;
            }
            let target = VerdictTarget {
                target: target.to_string(),
            };
            if kind == "jump" {
                Verdict::Jump(target)
            } else {
                Verdict::Goto(target)
            }
        }
        _ => return None,
    };
    Some(Elem::Mapping(Box::new((
        listed(k)?,
        Elem::Verdict(verdict),
    ))))
}

/// The text `nft -a list table` prints for `st`, written from `old_text`
/// (the listing of the table applied last): the element blocks of
/// `changed_sets` written again from `st`'s elements (in their own order:
/// comparisons take a set's elements in any order), and the comments of
/// the rules in `comments` replaced. None when a block is not where it is
/// expected (the caller then reads the JSON listing too).
fn listing(
    old_text: &str,
    st: &NftState,
    changed_sets: &[String],
    comments: &[(String, usize, String, String)],
) -> Option<String> {
    let mut out = String::with_capacity(old_text.len() + 4096);
    let mut lines = old_text.lines();
    // The set or chain being read: (is a chain, name); rule index in a chain.
    let mut block: Option<(bool, &str)> = None;
    let mut rule = 0usize;
    let mut elements_written = false;
    let elements_line = |name: &str| -> Option<String> {
        let set = st.sets.iter().find(|s| s.name == name)?;
        if set.elems.is_empty() {
            return Some(String::new());
        }
        Some(format!(
            "\t\telements = {{ {} }}\n",
            set.elems_text(set.elems.iter())?
        ))
    };
    while let Some(line) = lines.next() {
        if let Some(head) = line.strip_prefix('\t').filter(|l| !l.starts_with('\t')) {
            if head == "}" {
                // A changed set that had no elements gets them last.
                if let Some((false, name)) = block {
                    if changed_sets.iter().any(|s| s == name) && !elements_written {
                        out.push_str(&elements_line(name)?);
                    }
                }
                block = None;
            } else {
                let mut words = head.split_whitespace();
                let (kind, name) = (words.next()?, words.next()?);
                block = match kind {
                    "chain" => Some((true, name)),
                    "set" | "map" => Some((false, name)),
                    _ => None,
                };
                rule = 0;
                elements_written = false;
            }
            out.push_str(line);
            out.push('\n');
            continue;
        }
        match block {
            Some((false, name))
                if line.contains("elements = {") && changed_sets.iter().any(|s| s == name) =>
            {
                // Skip the old block, up to the line that closes it.
                let mut l = line;
                while !l.trim_end().ends_with('}') {
                    l = lines.next()?;
                }
                out.push_str(&elements_line(name)?);
                elements_written = true;
            }
            Some((true, chain)) if line.starts_with("\t\t") && line.contains(" # handle ") => {
                let mut l = line.to_string();
                if let Some((_, _, was, now)) = comments
                    .iter()
                    .find(|(c, i, _, _)| c == chain && *i == rule)
                {
                    let (from, to) = (format!(" comment \"{was}\""), format!(" comment \"{now}\""));
                    let at = l.rfind(&from)?;
                    l.replace_range(at..at + from.len(), &to);
                }
                rule += 1;
                out.push_str(&l);
                out.push('\n');
            }
            _ => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    Some(out)
}

/// A rule's text before its trailing `comment "…"`, and the comment when
/// it is a plain one (no quote or backslash: what nft prints unchanged).
fn split_comment(rule: &str) -> (&str, Option<&str>) {
    if let Some(i) = rule.rfind(" comment \"") {
        let c = &rule[i + " comment \"".len()..];
        if let Some(c) = c.strip_suffix('"') {
            if !c.contains(['"', '\\']) {
                return (&rule[..i], Some(c));
            }
        }
    }
    (rule, None)
}

/// One element of an artifact, as nft's JSON listing shows it. Built
/// directly, not through a JSON value: a table loaded whole converts every
/// element (`with_artifact_elements`), and deserialising the untagged
/// [`Elem`] from a value tries each variant in turn.
fn listed(text: &str) -> Option<Elem> {
    let mut parts = text
        .split(" . ")
        .map(component)
        .collect::<Option<Vec<Elem>>>()?;
    Some(if parts.len() == 1 {
        parts.pop()?
    } else {
        Elem::Concat(ConcatElem { concat: parts })
    })
}

fn component(t: &str) -> Option<Elem> {
    let t = t.trim();
    if t.is_empty() || t.contains(['{', '}', ',', ' ']) {
        return None;
    }
    if let Some(s) = t.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
        return Some(Elem::Str(s.to_string()));
    }
    if let Some((a, len)) = t.split_once('/') {
        let a: IpAddr = a.parse().ok()?;
        let len: u8 = len.parse().ok()?;
        return Some(prefix(a, len));
    }
    if let Ok(a) = t.parse::<IpAddr>() {
        return Some(Elem::Str(a.to_string()));
    }
    if let Ok(n) = t.parse::<u64>() {
        return Some(Elem::Num(n));
    }
    if let Some((lo, hi)) = t.split_once('-') {
        if let (Ok(a), Ok(b)) = (lo.parse::<IpAddr>(), hi.parse::<IpAddr>()) {
            return address_range(a, b);
        }
        if let (Ok(a), Ok(b)) = (lo.parse::<u64>(), hi.parse::<u64>()) {
            return Some(if a == b {
                Elem::Num(a)
            } else {
                range(Elem::Num(a), Elem::Num(b))
            });
        }
        return None;
    }
    // A name nft prints as written (`tcp`, an unquoted interface name).
    t.chars()
        .all(|c| c.is_ascii_alphanumeric() || "_.".contains(c))
        .then(|| Elem::Str(t.to_string()))
}

fn range(a: Elem, b: Elem) -> Elem {
    Elem::Range(RangeElem {
        range: Box::new((a, b)),
    })
}

fn bits(a: IpAddr) -> (u128, u8) {
    match a {
        IpAddr::V4(x) => (u128::from(u32::from(x)), 32),
        IpAddr::V6(x) => (u128::from(x), 128),
    }
}

fn prefix(a: IpAddr, len: u8) -> Elem {
    let (_, max) = bits(a);
    if len >= max {
        Elem::Str(a.to_string())
    } else {
        Elem::Prefix(PrefixElem {
            prefix: Prefix {
                addr: a.to_string(),
                len,
            },
        })
    }
}

/// nft lists an address range that covers exactly one prefix as that prefix.
fn address_range(a: IpAddr, b: IpAddr) -> Option<Elem> {
    let ((x, max), (y, max_b)) = (bits(a), bits(b));
    if max != max_b || y < x {
        return None;
    }
    if x == y {
        return Some(Elem::Str(a.to_string()));
    }
    let size = y.wrapping_sub(x).wrapping_add(1);
    if size != 0 && size.is_power_of_two() && x % size == 0 {
        let host_bits = size.trailing_zeros() as u8;
        return Some(prefix(a, max - host_bits));
    }
    Some(range(Elem::Str(a.to_string()), Elem::Str(b.to_string())))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Placing a few elements by binary search gives what a stable sort
    /// of all of them gives.
    /// Only the objects written differently are kept, each artifact's in
    /// a table of its own, and they read as the whole artifacts' do.
    #[test]
    fn only_the_objects_written_differently_are_read() {
        let artifact = |port: u16, rule: &str| {
            format!(
                "# netc firewall\ntable inet netc\ndelete table inet netc\ntable inet netc {{\n\tset a {{\n\t\ttype inet_service\n\t\tflags interval\n\t\telements = {{\n\t\t\t{port},\n\t\t\t22\n\t\t}}\n\t}}\n\n\tset b {{\n\t\ttype inet_service\n\t\telements = {{ 53 }}\n\t}}\n\n\tchain c {{\n\t\t# {rule}\n\t\ttcp dport @a accept comment \"{rule}\"\n\t}}\n}}\n"
            )
        };
        let (old, new) = (artifact(80, "r1"), artifact(81, "r1"));
        let (x, y) = differing(&old, &new).expect("same objects");
        assert!(
            x.contains("set a") && !x.contains("set b") && !x.contains("chain c"),
            "{x}"
        );
        let (a, b) = (
            NftState::from_artifact(&x, ""),
            NftState::from_artifact(&y, ""),
        );
        let whole = NftState::from_artifact(&new, "");
        assert_eq!(b.sets.len(), 1);
        assert_eq!(b.sets[0].elems, whole.sets[0].elems);
        assert_ne!(a.sets[0].elems, b.sets[0].elems);
        // A changed comment is a changed chain.
        let (_, y) = differing(&old, &artifact(80, "r2")).expect("same objects");
        assert!(y.contains("chain c") && !y.contains("set a"), "{y}");
        // Nothing changed: nothing to read.
        let (x, _) = differing(&old, &old).expect("same objects");
        assert!(NftState::from_artifact(&x, "").sets.is_empty());
        // Other objects, or objects in another order: no prediction.
        assert!(differing(&old, &old.replace("set b", "set z")).is_none());
        assert!(differing(&old, &old.replace("\t}\n\n\tchain c", "\n\tchain c")).is_none());
        assert_eq!(
            super::super::nft::artifact_body(&new),
            &new[new.find("table inet netc {").unwrap()..]
        );
    }

    #[test]
    fn placed_elements_are_where_a_sort_puts_them() {
        let all: Vec<Elem> = [
            "10.0.3.0/24 . 80",
            "10.0.1.0/24 . 22",
            "10.0.2.0/24 . 443",
            "10.0.9.0/24 . 1",
        ]
        .iter()
        .map(|t| listed(t).expect(t))
        .collect();
        for n in 0..all.len() {
            let mut elems: Vec<Elem> = all[..n].to_vec();
            elems.sort_by_cached_key(Elem::key);
            let mut want = all.clone();
            want.sort_by_cached_key(Elem::key);
            place(&mut elems, all[n..].to_vec());
            assert_eq!(elems, want);
        }
    }

    fn key(t: &str) -> String {
        listed(t).expect(t).key()
    }

    #[test]
    fn elements_as_nft_lists_them() {
        assert_eq!(
            key("10.100.0.0/24 . 10000"),
            r#"{"concat":[{"prefix":{"addr":"10.100.0.0","len":24}},10000]}"#
        );
        assert_eq!(key("10.0.0.1/32"), r#""10.0.0.1""#);
        assert_eq!(
            key("10.0.0.0-10.0.0.255"),
            r#"{"prefix":{"addr":"10.0.0.0","len":24}}"#
        );
        assert_eq!(
            key("10.0.0.1-10.0.0.5"),
            r#"{"range":["10.0.0.1","10.0.0.5"]}"#
        );
        assert_eq!(
            key("2001:db8::/64"),
            r#"{"prefix":{"addr":"2001:db8::","len":64}}"#
        );
        assert_eq!(key("80-80"), "80");
        assert_eq!(key("tcp . 22"), r#"{"concat":["tcp",22]}"#);
        assert_eq!(key("\"eth0\""), r#""eth0""#);
        assert!(listed("eth0 : goto x").is_none());
        assert!(listed("10.0.0.5-10.0.0.1").is_none());
    }

    #[test]
    fn verdict_map_elements_as_nft_lists_them() {
        let key = |t: &str| listed_mapping(t).expect(t).key();
        assert_eq!(
            key("\"eth0\" : goto hi-eth0-1a"),
            r#"["eth0",{"goto":{"target":"hi-eth0-1a"}}]"#
        );
        assert_eq!(key("\"lo\" : jump x"), r#"["lo",{"jump":{"target":"x"}}]"#);
        assert_eq!(key("\"wg0\" : accept"), r#"["wg0",{"accept":null}]"#);
        assert_eq!(key("\"wg1\" : drop"), r#"["wg1",{"drop":null}]"#);
        // What nft's JSON reader makes of that text, the same value.
        let e: Elem = serde_json::from_str(r#"["eth0",{"goto":{"target":"c"}}]"#).expect("elem");
        assert_eq!(listed_mapping("\"eth0\" : goto c"), Some(e));
        assert!(listed_mapping("\"eth0\" : goto").is_none());
        assert!(listed_mapping("\"eth0\" : queue num 1").is_none());
    }
}
