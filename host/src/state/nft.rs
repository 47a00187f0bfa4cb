//! netc's nftables table, `inet netc`, and nothing else:
//! `nft -j list table inet netc` for the exact content (compared as JSON)
//! and `nft -a list table inet netc` for the same rules as nft text (shown
//! in plans, used to re-add rules, and loadable as a whole for a full
//! replacement or a rollback). Other tables are never listed.
//!
//! Normalisation, applied identically to the live table and to the desired
//! one (which is loaded into a scratch namespace and read back by this very
//! module): handles dropped, counter and quota values zeroed, dynamic set
//! element expiry dropped, set elements sorted.

use crate::exec::Exec;
use crate::Error;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct NftState {
    /// The table exists.
    pub present: bool,
    /// Named sets, sorted by name.
    pub sets: Vec<NftSet>,
    /// Chains, sorted by name.
    pub chains: Vec<NftChain>,
    /// Every other object (named counters, quotas, flowtables…),
    /// compared as a whole; any change there reloads the table.
    pub others: Vec<Value>,
    /// `nft -a list table inet netc` as printed: loadable with `nft -f`.
    /// Empty when only the JSON was read (see [`read`]).
    pub text: String,
    /// The text listing was read: rule texts, declaration texts and `text`
    /// are filled in.
    #[serde(default)]
    pub has_text: bool,
}

/// A named set or map (maps: verdict maps for dispatch, data maps).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct NftSet {
    /// `set` or `map`.
    #[serde(default = "set_kind")]
    pub kind: String,
    pub name: String,
    /// The set object without handle and elements (type, flags, policy …).
    pub decl: Value,
    /// The declaration as nft text (`type ipv4_addr; flags interval; auto-merge`):
    /// compared too, since nft's JSON omits some properties (auto-merge).
    pub decl_text: String,
    /// Elements, JSON, sorted by their serialisation.
    pub elems: Vec<Value>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct NftChain {
    pub name: String,
    /// The chain object without handle (type, hook, prio, policy for base chains).
    pub decl: Value,
    /// The declaration as nft text (`type filter hook input priority filter; policy accept;`,
    /// comment): compared too, since nft's JSON omits chain comments.
    pub decl_text: String,
    pub rules: Vec<NftRule>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct NftRule {
    /// Kernel handle (live side: used to delete and position rules).
    pub handle: u64,
    /// `{"expr": [...], "comment": ...}`, normalised. This is what is compared.
    pub body: Value,
    /// The rule as nft text, without handle; counters reset.
    pub text: String,
}

impl NftRule {
    /// The comparison key.
    pub fn key(&self) -> String {
        self.body.to_string()
    }
}

impl NftState {
    /// Drop what changes without a change of meaning (handles, counter
    /// values in the text) and what is read only sometimes (texts), for
    /// fingerprints.
    pub fn clear_volatile(&mut self) {
        self.text.clear();
        self.has_text = false;
        for s in &mut self.sets {
            s.decl_text.clear();
        }
        for c in &mut self.chains {
            c.decl_text.clear();
            for r in &mut c.rules {
                r.handle = 0;
                r.text.clear();
            }
        }
    }

    /// Fill in rule and declaration texts from a `-a` text listing of the
    /// same table (rules are matched by handle, declarations by name).
    pub fn attach_text(&mut self, text: &str) {
        let rules = rule_texts(text);
        let decls = decl_texts(text);
        for s in &mut self.sets {
            s.decl_text = decls.get(&s.name).cloned().unwrap_or_default();
        }
        for c in &mut self.chains {
            c.decl_text = decls.get(&c.name).cloned().unwrap_or_default();
            for r in &mut c.rules {
                r.text = rules.get(&r.handle).cloned().unwrap_or_default();
            }
        }
        self.text = text.to_string();
        self.has_text = !text.is_empty();
    }

    /// When `other` (with texts) has exactly this content, take its texts
    /// (matched by position): the table netc loaded last need not be listed
    /// again as text. Returns whether it did.
    pub fn adopt_text(&mut self, other: &NftState) -> bool {
        if !other.has_text || !self.same_content(other) {
            return false;
        }
        for (s, o) in self.sets.iter_mut().zip(&other.sets) {
            s.decl_text = o.decl_text.clone();
        }
        for (c, o) in self.chains.iter_mut().zip(&other.chains) {
            c.decl_text = o.decl_text.clone();
            for (r, x) in c.rules.iter_mut().zip(&o.rules) {
                r.text = x.text.clone();
            }
        }
        self.text = other.text.clone();
        self.has_text = true;
        true
    }

    /// Equal as the JSON listings say (handles and texts aside).
    pub fn same_content(&self, o: &NftState) -> bool {
        self.present == o.present
            && self.others == o.others
            && self.sets.len() == o.sets.len()
            && self.sets.iter().zip(&o.sets).all(|(a, b)| {
                a.name == b.name && a.kind == b.kind && a.decl == b.decl && a.elems == b.elems
            })
            && self.chains.len() == o.chains.len()
            && self.chains.iter().zip(&o.chains).all(|(a, b)| {
                a.name == b.name
                    && a.decl == b.decl
                    && a.rules.len() == b.rules.len()
                    && a.rules.iter().zip(&b.rules).all(|(x, y)| x.body == y.body)
            })
    }

    /// A script that replaces the whole table with this state in one
    /// transaction (or deletes it when absent).
    pub fn replace_script(&self) -> String {
        let table = format!("inet {}", super::NFT_TABLE);
        if self.present {
            format!(
                "table {table}\ndelete table {table}\n{}\n",
                self.text.trim_end()
            )
        } else {
            format!("table {table}\ndelete table {table}\n")
        }
    }

    pub fn set(&self, name: &str) -> Option<&NftSet> {
        self.sets.iter().find(|s| s.name == name)
    }

    pub fn chain(&self, name: &str) -> Option<&NftChain> {
        self.chains.iter().find(|c| c.name == name)
    }
}

/// Read the table. The JSON listing is always read (it is what is
/// compared); the text listing only `with_text` — each listing costs as much
/// as the other (at 10,000 named sets, seconds), so verification and
/// no-change plans read only the JSON, and the text is fetched when a plan
/// has firewall changes ([`NftState::attach_text`]).
pub fn read(exec: &Exec, with_text: bool) -> Result<NftState, Error> {
    if !exec.have_tool("nft") {
        return Ok(NftState::default());
    }
    let table = super::NFT_TABLE;
    // The two listings are independent kernel dumps: run them side by side.
    let (out, text) = std::thread::scope(|sc| {
        let text = with_text.then(|| sc.spawn(|| read_text(exec)));
        let out = exec.read("nft", &["-j", "list", "table", "inet", table]);
        let text = text.map(|h| h.join().unwrap_or_else(|_| Ok(String::new())));
        (out, text)
    });
    let out = out?;
    if !out.success() {
        if out.stderr.contains("No such file or directory") {
            return Ok(NftState::default());
        }
        return Err(out.check().unwrap_err().into());
    }
    let mut st = parse(&out.stdout, "")?;
    if let Some(text) = text {
        // A table that vanished between the two listings fails the next step anyway.
        st.attach_text(&text.unwrap_or_default());
    }
    Ok(st)
}

/// `nft -a list table inet netc`.
pub fn read_text(exec: &Exec) -> Result<String, Error> {
    Ok(exec
        .read("nft", &["-a", "list", "table", "inet", super::NFT_TABLE])?
        .check()?
        .stdout)
}

/// Build the state from the JSON listing and the `-a` text listing of the same table.
pub fn parse(json: &str, text: &str) -> Result<NftState, Error> {
    let v: Value = serde_json::from_str(json.trim())
        .map_err(|e| Error::parse("nft -j list table", e.to_string()))?;
    let texts = rule_texts(text);
    let decls = decl_texts(text);
    let mut st = NftState {
        present: false,
        text: text.to_string(),
        has_text: !text.is_empty(),
        ..NftState::default()
    };
    let mut chains: BTreeMap<String, NftChain> = BTreeMap::new();
    let mut rules: Vec<(String, NftRule)> = Vec::new();
    for obj in v
        .get("nftables")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let Some((kind, body)) = obj.as_object().and_then(|m| m.iter().next()) else {
            continue;
        };
        match kind.as_str() {
            "metainfo" => {}
            "table" => st.present = true,
            "set" | "map" => {
                let mut decl = body.clone();
                let mut elems = Vec::new();
                if let Some(m) = decl.as_object_mut() {
                    m.remove("handle");
                    if let Some(Value::Array(e)) = m.remove("elem") {
                        elems = e.into_iter().map(normalise_elem).collect();
                    }
                }
                elems.sort_by_cached_key(|e| e.to_string());
                let name = str_field(body, "name");
                st.sets.push(NftSet {
                    kind: kind.clone(),
                    decl_text: decls.get(&name).cloned().unwrap_or_default(),
                    name,
                    decl,
                    elems,
                });
            }
            "chain" => {
                let mut decl = body.clone();
                if let Some(m) = decl.as_object_mut() {
                    m.remove("handle");
                }
                let name = str_field(body, "name");
                chains.insert(
                    name.clone(),
                    NftChain {
                        decl_text: decls.get(&name).cloned().unwrap_or_default(),
                        name,
                        decl,
                        rules: Vec::new(),
                    },
                );
            }
            "rule" => {
                let handle = body.get("handle").and_then(Value::as_u64).unwrap_or(0);
                let mut b = Map::new();
                if let Some(m) = body.as_object() {
                    for (k, v) in m {
                        if !matches!(k.as_str(), "handle" | "family" | "table" | "chain") {
                            b.insert(k.clone(), v.clone());
                        }
                    }
                }
                let mut b = Value::Object(b);
                zero_counters(&mut b);
                rules.push((
                    str_field(body, "chain"),
                    NftRule {
                        handle,
                        body: b,
                        text: texts.get(&handle).cloned().unwrap_or_default(),
                    },
                ));
            }
            _ => {
                let mut o = obj.clone();
                strip_key(&mut o, "handle");
                zero_counters(&mut o);
                st.others.push(o);
            }
        }
    }
    // Rules come after their chains in nft's listing, in chain order.
    for (chain, r) in rules {
        if let Some(c) = chains.get_mut(&chain) {
            c.rules.push(r);
        }
    }
    st.chains = chains.into_values().collect();
    st.sets.sort_by(|a, b| a.name.cmp(&b.name));
    st.others.sort_by_cached_key(|o| o.to_string());
    Ok(st)
}

fn set_kind() -> String {
    "set".to_string()
}

fn str_field(v: &Value, k: &str) -> String {
    v.get(k).and_then(Value::as_str).unwrap_or("").to_string()
}

fn normalise_elem(mut e: Value) -> Value {
    if let Some(inner) = e.get_mut("elem").and_then(Value::as_object_mut) {
        inner.remove("expires");
    }
    zero_counters(&mut e);
    e
}

fn strip_key(v: &mut Value, key: &str) {
    match v {
        Value::Object(m) => {
            m.remove(key);
            for (_, x) in m.iter_mut() {
                strip_key(x, key);
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|x| strip_key(x, key)),
        _ => {}
    }
}

/// Counter values and quota usage change with traffic: zero them.
fn zero_counters(v: &mut Value) {
    match v {
        Value::Object(m) => {
            for (k, x) in m.iter_mut() {
                match (k.as_str(), x) {
                    ("counter", Value::Object(c)) => {
                        for f in ["packets", "bytes"] {
                            if c.contains_key(f) {
                                c.insert(f.to_string(), Value::from(0));
                            }
                        }
                    }
                    ("quota", Value::Object(q)) => {
                        q.remove("used");
                    }
                    (_, x) => zero_counters(x),
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(zero_counters),
        _ => {}
    }
}

/// handle → rule text, from `nft -a list table …`: rule lines are indented
/// two tabs and end in `# handle N`.
fn rule_texts(text: &str) -> BTreeMap<u64, String> {
    let mut m = BTreeMap::new();
    for line in text.lines() {
        if !line.starts_with("\t\t") {
            continue;
        }
        let Some(i) = line.rfind(" # handle ") else {
            continue;
        };
        let Ok(h) = line[i + " # handle ".len()..].trim().parse::<u64>() else {
            continue;
        };
        m.insert(h, reset_counters_text(line[..i].trim()));
    }
    m
}

/// name → declaration text of every set, map and chain block in an
/// `nft list table` listing: the block's own lines (two tabs deep, no
/// handle), without elements, joined with `; `.
fn decl_texts(text: &str) -> BTreeMap<String, String> {
    let mut m = BTreeMap::new();
    let mut cur: Option<(String, Vec<String>)> = None;
    let mut in_elements = false;
    for line in text.lines() {
        if let Some(h) = line.strip_prefix('\t').filter(|l| !l.starts_with('\t')) {
            if h == "}" {
                if let Some((name, parts)) = cur.take() {
                    m.insert(name, parts.join("; "));
                }
                continue;
            }
            let mut it = h.split_whitespace();
            if let (Some("set" | "map" | "chain" | "flowtable"), Some(name)) =
                (it.next(), it.next())
            {
                cur = Some((name.to_string(), Vec::new()));
                in_elements = false;
            }
            continue;
        }
        let Some((_, parts)) = cur.as_mut() else {
            continue;
        };
        let Some(body) = line.strip_prefix("\t\t") else {
            continue;
        };
        if in_elements {
            in_elements = !body.trim_end().ends_with('}');
            continue;
        }
        if body.starts_with('\t') || body.contains(" # handle ") {
            continue;
        }
        if body.starts_with("elements = {") {
            in_elements = !body.trim_end().ends_with('}');
            continue;
        }
        let d = body.trim().trim_end_matches(';').trim();
        if !d.is_empty() {
            parts.push(d.to_string());
        }
    }
    m
}

/// `counter packets 12 bytes 3400` → `counter packets 0 bytes 0`.
pub fn reset_counters_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find("counter packets ") {
        out.push_str(&rest[..i]);
        let after = &rest[i + "counter packets ".len()..];
        let n1 = after.chars().take_while(char::is_ascii_digit).count();
        let after2 = &after[n1..];
        if n1 > 0 && after2.starts_with(" bytes ") {
            let a3 = &after2[" bytes ".len()..];
            let n2 = a3.chars().take_while(char::is_ascii_digit).count();
            out.push_str("counter packets 0 bytes 0");
            rest = &a3[n2..];
        } else {
            out.push_str("counter packets ");
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

/// An element as nft text (for `add element` / `delete element`), or None
/// for shapes netc does not translate (then the table is reloaded whole).
/// `quote_strings`: the key type is a string type (ifname). Map elements
/// are `[key, value]`; verdict values are written as nft verdicts.
pub fn elem_text(e: &Value, quote_strings: bool) -> Option<String> {
    if let Value::Array(kv) = e {
        if kv.len() != 2 {
            return None;
        }
        return Some(format!(
            "{} : {}",
            elem_text(&kv[0], quote_strings)?,
            verdict_or_value(&kv[1])?
        ));
    }
    match e {
        Value::String(s) => Some(if quote_strings {
            format!("\"{s}\"")
        } else {
            s.clone()
        }),
        Value::Number(n) => Some(n.to_string()),
        Value::Object(m) => {
            if let Some(p) = m.get("prefix") {
                let addr = p.get("addr")?.as_str()?;
                let len = p.get("len")?.as_u64()?;
                Some(format!("{addr}/{len}"))
            } else if let Some(Value::Array(r)) = m.get("range") {
                if r.len() != 2 {
                    return None;
                }
                Some(format!(
                    "{}-{}",
                    elem_text(&r[0], quote_strings)?,
                    elem_text(&r[1], quote_strings)?
                ))
            } else if let Some(Value::Array(c)) = m.get("concat") {
                let parts: Option<Vec<String>> =
                    c.iter().map(|x| elem_text(x, quote_strings)).collect();
                Some(parts?.join(" . "))
            } else if let Some(inner) = m.get("elem") {
                // Elements with timeout/comment: only the plain value is translatable.
                let o = inner.as_object()?;
                if o.keys().any(|k| k != "val") {
                    return None;
                }
                elem_text(o.get("val")?, quote_strings)
            } else {
                None
            }
        }
        _ => None,
    }
}

fn verdict_or_value(v: &Value) -> Option<String> {
    if let Value::Object(m) = v {
        if m.len() == 1 {
            let (k, x) = m.iter().next()?;
            match (k.as_str(), x) {
                ("jump" | "goto", Value::Object(t)) => {
                    return Some(format!("{k} {}", t.get("target")?.as_str()?));
                }
                ("accept" | "drop" | "continue" | "return", Value::Null) => {
                    return Some(k.clone());
                }
                _ => {}
            }
        }
    }
    elem_text(v, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    const JSON: &str = r#"{"nftables": [{"metainfo": {"version": "1.0.6"}}, {"table": {"family": "inet", "name": "netc", "handle": 2}}, {"set": {"family": "inet", "name": "s4", "table": "netc", "type": "ipv4_addr", "handle": 3, "flags": ["interval"], "elem": [{"prefix": {"addr": "10.0.0.0", "len": 24}}, "10.1.0.5"]}}, {"chain": {"family": "inet", "table": "netc", "name": "pol", "handle": 1}}, {"rule": {"family": "inet", "table": "netc", "chain": "pol", "handle": 5, "comment": "p1 rule 0", "expr": [{"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "saddr"}}, "right": "@s4"}}, {"counter": {"packets": 7, "bytes": 99}}, {"accept": null}]}}]}"#;
    const TEXT: &str = "table inet netc { # handle 2\n\tset s4 { # handle 3\n\t\ttype ipv4_addr\n\t\tflags interval\n\t\telements = { 10.0.0.0/24, 10.1.0.5 }\n\t}\n\n\tchain pol { # handle 1\n\t\tip saddr @s4 counter packets 7 bytes 99 accept comment \"p1 rule 0\" # handle 5\n\t}\n}\n";

    #[test]
    fn normalises_handles_and_counters() {
        let s = parse(JSON, TEXT).unwrap();
        assert!(s.present);
        assert_eq!(s.sets[0].elems.len(), 2);
        assert!(s.sets[0].decl.get("handle").is_none());
        assert_eq!(s.sets[0].decl_text, "type ipv4_addr; flags interval");
        let r = &s.chains[0].rules[0];
        assert_eq!(r.handle, 5);
        assert!(r.key().contains("\"packets\":0"));
        assert_eq!(
            r.text,
            "ip saddr @s4 counter packets 0 bytes 0 accept comment \"p1 rule 0\""
        );
    }

    #[test]
    fn element_text() {
        let e: Value = serde_json::from_str(r#"{"prefix":{"addr":"10.0.0.0","len":24}}"#).unwrap();
        assert_eq!(elem_text(&e, false).unwrap(), "10.0.0.0/24");
        let r: Value = serde_json::from_str(r#"{"range":["10.0.0.1","10.0.0.9"]}"#).unwrap();
        assert_eq!(elem_text(&r, false).unwrap(), "10.0.0.1-10.0.0.9");
        assert_eq!(elem_text(&Value::from("eth0"), true).unwrap(), "\"eth0\"");
        let m: Value = serde_json::from_str(r#"["cali1", {"goto": {"target": "wo-x"}}]"#).unwrap();
        assert_eq!(elem_text(&m, true).unwrap(), "\"cali1\" : goto wo-x");
    }
}
