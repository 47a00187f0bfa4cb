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

use super::nft_elems::Elems;
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
    /// Only the text listing was read ([`Listing::TextFirst`],
    /// [`Listing::TerseAndKernel`]): `present` and `text` are set, sets and
    /// chains are not, until [`resolve`].
    #[serde(skip)]
    pub json_pending: bool,
    /// With [`Listing::TerseAndKernel`]: `text` is the terse listing (no
    /// set elements), and these are each set's elements as the kernel
    /// holds them, by set name.
    #[serde(skip)]
    pub kernel_elems: Option<super::nft_kernel::Dumps>,
    /// A desired table taken from netc's artifact as written, not as nft
    /// lists it ([`NftState::from_artifact`]): only for a target without
    /// the table, where the plan creates it whole and needs no comparison.
    /// Rules and elements carry their artifact text; verification compares
    /// the shape and learns the canonical form from the table just loaded
    /// (`verify`). The cache key of the artifact rides along for that.
    #[serde(skip)]
    pub uncanonical: Option<String>,
    /// A desired table predicted from the one netc applied last
    /// ([`super::nft_predict`]), with the artifact's cache key: exact in
    /// shape and content unless the prediction missed, which verification
    /// finds and mends.
    #[serde(skip)]
    pub predicted: Option<String>,
    /// With [`predicted`](Self::predicted): the text `nft -a list` should
    /// print for the predicted table (handles aside, elements in any
    /// order), so verification can read the text listing alone
    /// (`verify`). None when the text could not be predicted.
    #[serde(skip)]
    pub predicted_listing: Option<String>,
    /// With [`predicted_listing`](Self::predicted_listing): the objects
    /// whose text differs from the table applied last (`set NAME`,
    /// `chain NAME`), all that verification needs to list.
    #[serde(skip)]
    pub predicted_changed: Vec<String>,
    /// Set name → digest of its elements as the kernel holds them
    /// ([`super::nft_kernel::digest`]), kept in the cache beside a
    /// canonical table (`crate::cache::kernel_key`). A plan then tells
    /// the kernel still holds a set from the kernel's dump alone, without
    /// reading the set's elements (100,000 at the largest benchmark);
    /// only for sets whose elements are unchanged since read from that
    /// entry ([`NftSet::kernel_digest`]).
    #[serde(skip)]
    pub kernel_digests: BTreeMap<String, String>,
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
    /// Elements, sorted by their JSON serialisation (read from the cache
    /// only when looked at: [`Elems`]).
    pub elems: Elems,
}

impl NftSet {
    /// The digest `st` keeps for this set, while this set's elements are
    /// the ones read with it ([`NftState::kernel_digests`]).
    pub fn kernel_digest<'a>(&self, st: &'a NftState) -> Option<&'a str> {
        if !self.elems.is_read() {
            return None;
        }
        st.kernel_digests.get(&self.name).map(String::as_str)
    }

    /// Whether string keys are quoted in nft's text (sets and maps of
    /// interface names); None: no text form.
    pub fn quoting(&self) -> Option<bool> {
        match self.decl.get("type") {
            Some(Value::String(t)) => Some(t == "ifname"),
            Some(Value::Array(ts)) if !ts.iter().any(|t| t == "ifname") => Some(false),
            _ => None,
        }
    }

    /// `elems` as nft writes them between `{` and `}`; None: no text form.
    pub fn elems_text<'a>(&self, elems: impl IntoIterator<Item = &'a Elem>) -> Option<String> {
        let q = self.quoting()?;
        let parts: Option<Vec<String>> = elems.into_iter().map(|e| e.text(q)).collect();
        Some(parts?.join(", "))
    }
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

impl NftState {
    /// The desired table as netc's emitted artifact writes it (see
    /// [`NftState::uncanonical`]); `key` is the artifact's cache key.
    ///
    /// Reads the emitter's own layout (targets/src/nftables.rs): blocks one
    /// tab deep, their lines two deep, set elements one per line three deep
    /// or inline in `elements = { … }`; comment lines skipped.
    pub fn from_artifact(text: &str, key: &str) -> NftState {
        let body = artifact_body(text);
        let mut st = NftState {
            present: true,
            text: body.to_string(),
            has_text: true,
            uncanonical: Some(key.to_string()),
            ..NftState::default()
        };
        enum Block {
            Set(NftSet, Vec<String>, bool),
            Chain(NftChain, Vec<String>),
        }
        let mut cur: Option<Block> = None;
        let elems = |t: &str, out: &mut Vec<Elem>| {
            for e in t.split(',') {
                let e = e.trim().trim_end_matches('}').trim();
                if !e.is_empty() {
                    out.push(Elem::Str(e.to_string()));
                }
            }
        };
        for line in body.lines() {
            let t = line.trim();
            if t.is_empty() || t.starts_with('#') {
                continue;
            }
            let depth = line.len() - line.trim_start_matches('\t').len();
            match (depth, &mut cur) {
                (1, _) if t == "}" => match cur.take() {
                    Some(Block::Set(mut set, decl, _)) => {
                        set.decl_text = decl.join("; ");
                        st.sets.push(set);
                    }
                    Some(Block::Chain(mut c, decl)) => {
                        c.decl_text = decl.join("; ");
                        st.chains.push(c);
                    }
                    None => {}
                },
                (1, _) => {
                    let mut w = t.split_whitespace();
                    let (kind, name) = (w.next().unwrap_or(""), w.next().unwrap_or(""));
                    cur = match kind {
                        "set" | "map" => Some(Block::Set(
                            NftSet {
                                kind: kind.to_string(),
                                name: name.to_string(),
                                decl: Value::Null,
                                decl_text: String::new(),
                                elems: Elems::default(),
                            },
                            Vec::new(),
                            false,
                        )),
                        "chain" => Some(Block::Chain(
                            NftChain {
                                name: name.to_string(),
                                decl: Value::Null,
                                decl_text: String::new(),
                                rules: Vec::new(),
                            },
                            Vec::new(),
                        )),
                        _ => None,
                    };
                }
                (_, Some(Block::Set(set, decl, in_elems))) => {
                    if let Some(rest) = t.strip_prefix("elements = {") {
                        elems(rest, set.elems.make_mut());
                        *in_elems = !rest.trim_end().ends_with('}');
                    } else if *in_elems {
                        elems(t, set.elems.make_mut());
                        *in_elems = !t.ends_with('}');
                    } else {
                        decl.push(t.to_string());
                    }
                }
                (_, Some(Block::Chain(c, decl))) => {
                    if ["type ", "policy ", "comment ", "devices "]
                        .iter()
                        .any(|p| t.starts_with(p))
                    {
                        decl.push(t.to_string());
                    } else {
                        c.rules.push(NftRule {
                            handle: 0,
                            body: Value::Null,
                            text: t.to_string(),
                        });
                    }
                }
                _ => {}
            }
        }
        st.sets.sort_by(|a, b| a.name.cmp(&b.name));
        st.chains.sort_by(|a, b| a.name.cmp(&b.name));
        st
    }

    /// Same sets and chains, each with as many elements and rules: how an
    /// [uncanonical](NftState::uncanonical) desired table is compared with
    /// the table that loading it produced.
    /// A predicted table as the one nft lists with `text`: its canonical
    /// form, to keep once verification has seen it.
    pub fn adopted_as_listed(&self, text: String) -> NftState {
        NftState {
            text,
            has_text: true,
            predicted: None,
            predicted_listing: None,
            predicted_changed: Vec::new(),
            ..self.clone()
        }
    }

    pub fn same_shape(&self, o: &NftState) -> bool {
        self.present == o.present
            && self.others.len() == o.others.len()
            && self.sets.len() == o.sets.len()
            && self.sets.iter().zip(&o.sets).all(|(a, b)| {
                a.name == b.name && a.kind == b.kind && a.elems.len() == b.elems.len()
            })
            && self.chains.len() == o.chains.len()
            && self
                .chains
                .iter()
                .zip(&o.chains)
                .all(|(a, b)| a.name == b.name && a.rules.len() == b.rules.len())
    }
}

/// Which listings of the table to read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Listing {
    /// `nft -j list`: what is compared.
    Json,
    /// Both listings, side by side.
    JsonAndText,
    /// `nft -a list` only, to compare with a desired table whose text is
    /// known ([`resolve`]): the text listing costs two thirds of the JSON
    /// one and needs no JSON parse, and when it equals the desired text
    /// (a no-change plan) nothing else is read.
    TextFirst,
    /// [`Listing::TextFirst`] without set elements (`nft -t -a`), and each
    /// set's elements read from the kernel over netlink: how a plan reads
    /// the table. nft prints elements slowly (0.83 s for the text listing
    /// of a 100,000-element table, 0.33 s without its elements; the
    /// kernel's dump takes 60 ms). A runner that cannot read the kernel (a
    /// replay) reads as [`Listing::TextFirst`].
    TerseAndKernel,
    /// Both listings without set elements (`nft -t`): for a caller that
    /// knows the elements otherwise (verification of a table loaded whole,
    /// `verify`). Sets are listed empty.
    Terse,
    /// Not at all: the caller lists what it needs itself.
    Skip,
}

/// [`read`] with the listings `mode` names.
pub fn read_listing(exec: &Exec, mode: Listing) -> Result<NftState, Error> {
    match mode {
        Listing::Json => read(exec, false),
        Listing::Skip => Ok(NftState::default()),
        Listing::JsonAndText => read(exec, true),
        Listing::Terse => read_with(exec, true, true),
        Listing::TerseAndKernel if exec.reads_kernel() && exec.have_tool("nft") => {
            let mut st = text_only(list_terse(exec, Form::Text)?);
            if !st.present {
                return Ok(st);
            }
            match kernel_dumps(exec, set_names(&st.text)) {
                Some(d) => st.kernel_elems = Some(d),
                // A set the kernel would not dump: list the table as text.
                None => return read_listing(exec, Listing::TextFirst),
            }
            Ok(st)
        }
        Listing::TextFirst | Listing::TerseAndKernel => {
            read_listing_args(exec, &["-a", "list", "table", "inet", super::NFT_TABLE])
        }
    }
}

/// The text listing `args` prints, to be resolved ([`resolve`]).
fn read_listing_args(exec: &Exec, args: &[&str]) -> Result<NftState, Error> {
    if !exec.have_tool("nft") {
        return Ok(NftState::default());
    }
    Ok(text_only(list_table(exec, args)?))
}

/// A table read as its text listing alone (None: there is no table),
/// to be resolved ([`resolve`]).
fn text_only(text: Option<String>) -> NftState {
    match text {
        Some(text) => NftState {
            present: true,
            text,
            has_text: true,
            json_pending: true,
            ..NftState::default()
        },
        None => NftState::default(),
    }
}

/// What `nft args` prints of netc's table; None when there is no table.
fn list_table(exec: &Exec, args: &[&str]) -> Result<Option<String>, Error> {
    let out = exec.read("nft", args)?;
    if out.success() {
        return Ok(Some(out.stdout));
    }
    if out.stderr.contains("No such file or directory") {
        return Ok(None);
    }
    Err(out.check().unwrap_err().into())
}

/// Each named set's elements as the kernel holds them; None when the
/// runner does not read the kernel or a dump fails (a set is missing).
pub fn kernel_dumps<'a>(
    exec: &Exec,
    names: impl IntoIterator<Item = &'a str>,
) -> Option<super::nft_kernel::Dumps> {
    let names: Vec<&str> = names.into_iter().collect();
    names
        .iter()
        .zip(exec.kernel_sets_elements(&names)?)
        .map(|(n, elems)| Some((n.to_string(), elems.ok()?)))
        .collect()
}

/// The names of the sets and maps a text listing declares.
fn set_names(text: &str) -> Vec<&str> {
    text.lines()
        .filter_map(|l| l.strip_prefix('\t').filter(|l| !l.starts_with('\t')))
        .filter_map(|h| {
            let mut w = h.split_whitespace();
            match (w.next(), w.next()) {
                (Some("set" | "map"), Some(name)) => Some(name),
                _ => None,
            }
        })
        .collect()
}

/// A text listing without its set elements (the `elements = { … }`
/// blocks): what `nft -t` prints of the same table.
pub fn without_elements(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_elems = false;
    for line in text.lines() {
        if !in_elems && line.trim_start().starts_with("elements = {") {
            in_elems = !line.trim_end().ends_with('}');
            continue;
        }
        if in_elems {
            in_elems = !line.trim_end().ends_with('}');
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// Finish a [`Listing::TextFirst`] read against the desired table `want`
/// (and, only if that differs, the canonical form of the table netc
/// applied last, which `last` reads).
/// When the live text equals one of their texts (handles and counter values
/// aside), the live table holds exactly that content: nft prints the text
/// from the same kernel objects as the JSON, and those texts were printed
/// by this nft (a scratch load or the listing after netc's own apply, see
/// `desired` and `verify`). Its JSON is then theirs, with the live rule
/// handles. Otherwise (or when `live` is complete already) the table is
/// listed again, both ways.
pub fn resolve(
    exec: &Exec,
    live: NftState,
    want: &NftState,
    last: impl FnOnce() -> Option<NftState>,
) -> Result<NftState, Error> {
    if !live.json_pending {
        return Ok(live);
    }
    if !live.present && !want.present {
        return Ok(NftState::default());
    }
    if let Some(handles) = listed_as(&live, want) {
        return Ok(adopted(&live, want.clone(), &handles));
    }
    // The table applied last is the caller's to give away: adopted, it is
    // moved rather than copied (100,000 elements at the largest benchmark).
    if let Some(l) = last() {
        if let Some(handles) = listed_as(&live, &l) {
            return Ok(adopted(&live, l, &handles));
        }
    }
    netc_ir::timing::timed("read nft (changed)", || read(exec, true))
}

/// The live rule handles of each chain, when `live`'s text listing shows
/// exactly `known`'s content.
fn listed_as(live: &NftState, known: &NftState) -> Option<BTreeMap<String, Vec<u64>>> {
    let same = |known: &NftState| match &live.kernel_elems {
        None => same_text(&live.text, &known.text),
        // A terse listing: the same text without elements, and in the
        // kernel the same elements in every set.
        Some(dumps) => {
            dumps.len() == known.sets.len()
                && same_text(&live.text, &without_elements(&known.text))
                && known
                    .sets
                    .iter()
                    .all(|set| super::nft_kernel::holds(dumps, set, set.kernel_digest(known)))
        }
    };
    if !(live.present
        && known.present
        && known.has_text
        && known.uncanonical.is_none()
        && known.predicted.is_none()
        && same(known))
    {
        return None;
    }
    let handles = chain_handles(&live.text)?;
    let fits = known.chains.iter().all(|c| {
        handles
            .get(&c.name)
            .is_some_and(|h| h.len() == c.rules.len())
    }) && known.chains.len() == handles.len();
    fits.then_some(handles)
}

/// `known` (which [`listed_as`] found listed) with the live handles and,
/// for a full listing, the live text.
fn adopted(live: &NftState, mut st: NftState, handles: &BTreeMap<String, Vec<u64>>) -> NftState {
    for c in &mut st.chains {
        for (r, h) in c.rules.iter_mut().zip(&handles[&c.name]) {
            r.handle = *h;
        }
    }
    // The live text, or for a terse one the known text (the same, with
    // elements; handles in its comments are not read).
    if live.kernel_elems.is_none() {
        st.text = live.text.clone();
    }
    st.has_text = true;
    st.json_pending = false;
    st.kernel_elems = None;
    st
}

/// Two `nft -a list table` listings show the same table: equal line by
/// line once handles are dropped and counter values reset, and with the
/// same elements in each set whatever their order.
///
/// Element order is history, not content: a set of concatenated intervals
/// lists its elements in the order they were added (docs/lab-facts.md,
/// "nftables"), so a table that reached its content by netc's element
/// deltas lists them in another order than the same table loaded whole.
pub fn same_text(a: &str, b: &str) -> bool {
    let (mut x, mut y) = (a.lines(), b.lines());
    loop {
        match (x.next(), y.next()) {
            (None, None) => return true,
            (Some(p), Some(q)) if p == q || listed_line(p) == listed_line(q) => {}
            // Lines differ: equal only as objects in any order, each as
            // items (elements as sets).
            _ => return listed_objects(a) == listed_objects(b),
        }
    }
}

/// A listing line as compared: its handle dropped, counter values reset.
fn listed_line(l: &str) -> String {
    let l = match l.rfind(" # handle ") {
        Some(i) => &l[..i],
        None => l,
    };
    reset_counters_text(l)
}

/// The block of `object` (`set NAME`, `chain NAME`) in a text listing:
/// its opening line to its closing brace.
pub fn object_block<'a>(listing: &'a str, object: &str) -> Option<&'a str> {
    let head = format!("\t{object} {{");
    let start = listing
        .match_indices(&head)
        .map(|(i, _)| i)
        .find(|&i| i == 0 || listing.as_bytes()[i - 1] == b'\n')?;
    let end = listing[start..].find("\n\t}\n").map(|e| start + e + 3)?;
    Some(&listing[start..end])
}

/// A text listing as compared when its lines differ: the lines outside
/// the table's objects (the table's own, its flags), in order, and the
/// objects (`set`, `map`, `chain`… blocks) as [`ListedItem`]s, sorted.
/// nft lists a table's objects in the order they were created: a set or
/// chain that an element or rule delta added is listed last, where a load
/// of the same file lists it in file order. The order of objects means
/// nothing to the kernel (the order of a chain's rules, inside its block,
/// is kept). Compared in order, every plan after such a delta missed the
/// table applied last and read the whole table again.
fn listed_objects(text: &str) -> (Vec<String>, Vec<Vec<ListedItem>>) {
    // A listing cut short: its open block is compared as it is.
    let top = top_level(text);
    let frame = top.frame.iter().map(|l| listed_line(l)).collect();
    let mut objects: Vec<_> = top.blocks.iter().map(|b| listed_items(b)).collect();
    objects.sort();
    (frame, objects)
}

/// A table's text (a listing, or an artifact from its table on) at its top
/// level: the lines outside its objects, and each object's block, from its
/// opening line (one tab deep, ending in `{`) through its closing `\t}`
/// line, as written, in order. A block left open runs to the end of the
/// text, and `open` says so.
pub(crate) struct TopLevel<'a> {
    pub frame: Vec<&'a str>,
    pub blocks: Vec<&'a str>,
    pub open: bool,
}

pub(crate) fn top_level(text: &str) -> TopLevel<'_> {
    let (mut frame, mut blocks) = (Vec::new(), Vec::new());
    let mut start: Option<usize> = None;
    let mut at = 0;
    for line in text.split_inclusive('\n') {
        let here = at;
        at += line.len();
        let l = line.strip_suffix('\n').unwrap_or(line);
        let l = l.strip_suffix('\r').unwrap_or(l);
        match start {
            Some(from) if l == "\t}" => {
                blocks.push(&text[from..at]);
                start = None;
            }
            Some(_) => {}
            None if l.starts_with('\t')
                && !l.starts_with("\t\t")
                && listed_line(l).trim_end().ends_with('{') =>
            {
                start = Some(here);
            }
            None if !l.trim().is_empty() => frame.push(l),
            None => {}
        }
    }
    blocks.extend(start.map(|from| &text[from..]));
    TopLevel {
        frame,
        blocks,
        open: start.is_some(),
    }
}

/// One line of a listing (handle dropped, counters reset), or a set's
/// elements, sorted.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
enum ListedItem {
    Line(String),
    Elements(Vec<String>),
}

/// A text listing as [`ListedItem`]s: nft writes `elements = { a, b,` and
/// continues on lines of their own up to the closing `}`.
fn listed_items(text: &str) -> Vec<ListedItem> {
    let mut out = Vec::new();
    let mut lines = text.lines();
    while let Some(l) = lines.next() {
        let Some(i) = l.find("elements = {") else {
            out.push(ListedItem::Line(listed_line(l)));
            continue;
        };
        let mut block = l[i + "elements = {".len()..].to_string();
        while !block.trim_end().ends_with('}') {
            match lines.next() {
                Some(next) => {
                    block.push(' ');
                    block.push_str(next);
                }
                None => break,
            }
        }
        let body = block.trim_end().trim_end_matches('}');
        let mut elems: Vec<String> = body
            .split(',')
            .map(|e| e.split_whitespace().collect::<Vec<_>>().join(" "))
            .filter(|e| !e.is_empty())
            .collect();
        elems.sort();
        out.push(ListedItem::Line(l[..i].to_string()));
        out.push(ListedItem::Elements(elems));
    }
    out
}

/// Chain name → handles of its rules in listing order, from a `-a` text
/// listing; None when a rule line has no handle.
fn chain_handles(text: &str) -> Option<BTreeMap<String, Vec<u64>>> {
    let mut m: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    let mut cur: Option<String> = None;
    for line in text.lines() {
        if let Some(h) = line.strip_prefix('\t').filter(|l| !l.starts_with('\t')) {
            cur = h
                .strip_prefix("chain ")
                .and_then(|r| r.split_whitespace().next())
                .map(str::to_string);
            if let Some(c) = &cur {
                m.entry(c.clone()).or_default();
            }
            continue;
        }
        let Some(c) = &cur else { continue };
        let Some(body) = line.strip_prefix("\t\t") else {
            continue;
        };
        // Declaration lines of a chain (`type filter hook …;`, `comment`)
        // carry no handle; rules always do in a `-a` listing.
        let decl = body.starts_with("type ")
            || body.starts_with("comment ")
            || body.starts_with("policy ");
        match body.rfind(" # handle ") {
            Some(i) => m
                .get_mut(c)?
                .push(body[i + " # handle ".len()..].trim().parse().ok()?),
            None if decl || body.trim().is_empty() => {}
            None => return None,
        }
    }
    Some(m)
}

/// Read the table. The JSON listing is always read (it is what is
/// compared); the text listing only `with_text` — each listing costs as much
/// as the other (at 10,000 named sets, seconds), so verification and
/// no-change plans read only the JSON, and the text is fetched when a plan
/// has firewall changes ([`NftState::attach_text`]).
pub fn read(exec: &Exec, with_text: bool) -> Result<NftState, Error> {
    read_with(exec, with_text, false)
}

/// [`read`], without set elements when `terse` ([`Listing::Terse`]).
fn read_with(exec: &Exec, with_text: bool, terse: bool) -> Result<NftState, Error> {
    if !exec.have_tool("nft") {
        return Ok(NftState::default());
    }
    let list = |form: Form| {
        if terse {
            list_terse(exec, form)
        } else {
            list_table(
                exec,
                &[form.flag(), "list", "table", "inet", super::NFT_TABLE],
            )
        }
    };
    // The two listings are independent kernel dumps: run them side by side.
    let (json, text) = std::thread::scope(|sc| {
        let text = with_text.then(|| sc.spawn(|| list(Form::Text)));
        let json = list(Form::Json);
        let text = text.map(|h| h.join().unwrap_or(Ok(None)));
        (json, text)
    });
    let Some(json) = json? else {
        return Ok(NftState::default());
    };
    let mut st = netc_ir::timing::timed("read nft.parse", || parse(&json, ""))?;
    if let Some(text) = text {
        // A table that vanished between the two listings fails the next step anyway.
        st.attach_text(&text?.unwrap_or_default());
    }
    Ok(st)
}

/// Which listing of the table: text with handles (`-a`) or JSON (`-j`).
#[derive(Clone, Copy)]
enum Form {
    Text,
    Json,
}

impl Form {
    fn flag(self) -> &'static str {
        match self {
            Form::Text => "-a",
            Form::Json => "-j",
        }
    }
}

/// netc's table without set elements, exactly as `nft -t -a list table
/// inet netc` (or `-t -j`) prints it; None when there is no such table.
///
/// Why through `nft -t list ruleset inet`: nft 1.0.6 fetches every set's
/// elements for `list table` even with `-t`, which then prints none
/// (0.40 s at 100,000 elements), but not for a terse `list ruleset`
/// (under 10 ms); docs/lab-facts.md, "nftables". The ruleset listing holds
/// every `inet` table, and netc's is cut out of it: the text block from
/// `table inet netc {` to its closing brace, the JSON objects of that
/// table (tests hold both to nft's listing of the table). Should the
/// ruleset listing fail (a foreign table this nft cannot print), the table
/// is listed by name.
fn list_terse(exec: &Exec, form: Form) -> Result<Option<String>, Error> {
    let flag = form.flag();
    let out = exec.read("nft", &["-t", flag, "list", "ruleset", "inet"])?;
    if out.success() {
        let table = match form {
            Form::Text => Some(table_of_ruleset_text(&out.stdout, super::NFT_TABLE)),
            Form::Json => table_of_ruleset_json(&out.stdout, super::NFT_TABLE),
        };
        if let Some(t) = table {
            return Ok(t);
        }
    }
    list_table(
        exec,
        &["-t", flag, "list", "table", "inet", super::NFT_TABLE],
    )
}

/// Table `inet NAME` of a text ruleset listing (`nft -a list ruleset
/// inet`), as `nft -a list table inet NAME` prints it; None when the
/// ruleset has no such table. Inside a table every line is indented, so
/// its closing brace is the first line that is `}` alone.
pub(crate) fn table_of_ruleset_text(ruleset: &str, name: &str) -> Option<String> {
    let head = format!("table inet {name} {{");
    let mut lines = ruleset.lines();
    let first = lines.find(|l| *l == head || l.starts_with(&format!("{head} ")))?;
    let mut out = String::with_capacity(ruleset.len().min(1 << 20));
    out.push_str(first);
    out.push('\n');
    for l in lines {
        out.push_str(l);
        out.push('\n');
        if l == "}" {
            return Some(out);
        }
    }
    // No closing brace: not a listing nft printed whole.
    None
}

/// Table `inet NAME` of a JSON ruleset listing (`nft -j list ruleset
/// inet`): the metainfo, the table and every object whose `table` is
/// NAME, as `nft -j list table inet NAME` prints them. Some(None) when
/// the ruleset has no such table; None when the listing does not parse.
pub(crate) fn table_of_ruleset_json(ruleset: &str, name: &str) -> Option<Option<String>> {
    let mut v: Value = serde_json::from_str(ruleset.trim()).ok()?;
    let items = v.get_mut("nftables")?.as_array_mut()?;
    let mut found = false;
    items.retain(|o| {
        let Some((kind, body)) = o.as_object().and_then(|m| m.iter().next()) else {
            return false;
        };
        match kind.as_str() {
            "metainfo" => true,
            "table" => {
                let ours = body.get("name").and_then(Value::as_str) == Some(name);
                found |= ours;
                ours
            }
            _ => body.get("table").and_then(Value::as_str) == Some(name),
        }
    });
    Some(found.then(|| v.to_string()))
}

/// `nft -a list table inet netc`.
pub fn read_text(exec: &Exec) -> Result<String, Error> {
    list_text(exec, &["-a", "list", "table", "inet", super::NFT_TABLE])
}

/// What `nft args` prints; its failure an error.
fn list_text(exec: &Exec, args: &[&str]) -> Result<String, Error> {
    Ok(exec.read("nft", args)?.check()?.stdout)
}

/// Build the state from the JSON listing and the `-a` text listing of the same table.
pub fn parse(json: &str, text: &str) -> Result<NftState, Error> {
    let listing: json::Listing = serde_json::from_str(json.trim())
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
    for obj in listing.nftables {
        match obj {
            json::Object::Metainfo(_) => {}
            json::Object::Table(_) => st.present = true,
            json::Object::Set(set) => st.sets.push(set.into_state("set", &decls)),
            json::Object::Map(set) => st.sets.push(set.into_state("map", &decls)),
            json::Object::Chain(c) => {
                let c = c.into_state(&decls);
                chains.insert(c.name.clone(), c);
            }
            json::Object::Rule(r) => {
                let handle = r.handle.unwrap_or(0);
                let mut body = Value::Object(r.body);
                zero_counters(&mut body);
                rules.push((
                    r.chain,
                    NftRule {
                        handle,
                        body,
                        text: texts.get(&handle).cloned().unwrap_or_default(),
                    },
                ));
            }
            json::Object::Other(mut o) => {
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

/// nft's JSON listing (libnftables-json(5)) as netc reads it. Objects netc
/// takes apart are typed; what it compares as a whole stays JSON: a set's
/// or chain's declaration (every property, whatever nft adds), a rule's
/// statements (nft's expression language is open-ended: an unknown
/// statement must compare, not fail to parse), other object kinds.
mod json {
    use super::Elem;
    use serde::de::IgnoredAny;
    use serde::Deserialize;
    use serde_json::{Map, Value};

    #[derive(Debug, Deserialize)]
    pub struct Listing {
        #[serde(default)]
        pub nftables: Vec<Object>,
    }

    /// One entry of the listing: `{"<kind>": {…}}`.
    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "lowercase")]
    pub enum Object {
        Metainfo(IgnoredAny),
        Table(IgnoredAny),
        Set(SetObj),
        Map(SetObj),
        Chain(ChainObj),
        Rule(RuleObj),
        /// Named counters, quotas, flowtables…: kept whole.
        #[serde(untagged)]
        Other(Value),
    }

    /// A named set or map.
    #[derive(Debug, Deserialize)]
    pub struct SetObj {
        pub name: String,
        #[serde(default, rename = "handle")]
        pub _handle: IgnoredAny,
        #[serde(default)]
        pub elem: Vec<Elem>,
        /// Everything else: family, table, type, flags, policy, comment…
        #[serde(flatten)]
        pub decl: Map<String, Value>,
    }

    #[derive(Debug, Deserialize)]
    pub struct ChainObj {
        pub name: String,
        #[serde(default, rename = "handle")]
        pub _handle: IgnoredAny,
        /// family, table, and for base chains type, hook, prio, policy.
        #[serde(flatten)]
        pub decl: Map<String, Value>,
    }

    #[derive(Debug, Deserialize)]
    pub struct RuleObj {
        pub chain: String,
        #[serde(default)]
        pub handle: Option<u64>,
        #[serde(default, rename = "family")]
        pub _family: IgnoredAny,
        #[serde(default, rename = "table")]
        pub _table: IgnoredAny,
        /// `expr`, `comment`: what is compared.
        #[serde(flatten)]
        pub body: Map<String, Value>,
    }
}

/// An artifact from its table's definition on (after the lines that
/// create and delete the table).
pub fn artifact_body(text: &str) -> &str {
    match text.find("\ntable inet netc {") {
        Some(i) => &text[i + 1..],
        None => text,
    }
}

/// The declaration as an object with its name (and without handle and
/// elements), as compared.
fn decl_value(name: &str, mut decl: Map<String, Value>) -> Value {
    decl.insert("name".to_string(), Value::from(name));
    Value::Object(decl)
}

impl json::SetObj {
    fn into_state(self, kind: &str, decls: &BTreeMap<String, String>) -> NftSet {
        let mut elems: Vec<Elem> = self.elem.into_iter().map(Elem::normalised).collect();
        elems.sort_by_cached_key(Elem::key);
        NftSet {
            kind: kind.to_string(),
            decl_text: decls.get(&self.name).cloned().unwrap_or_default(),
            decl: decl_value(&self.name, self.decl),
            name: self.name,
            elems: elems.into(),
        }
    }
}

impl json::ChainObj {
    fn into_state(self, decls: &BTreeMap<String, String>) -> NftChain {
        NftChain {
            decl_text: decls.get(&self.name).cloned().unwrap_or_default(),
            decl: decl_value(&self.name, self.decl),
            name: self.name,
            rules: Vec::new(),
        }
    }
}

/// A set or map element as nft lists it. Read by `nft_elem` (fast for
/// the usual shapes, the derived reader for the rest).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Elem {
    /// An address, interface name, port or other value in nft's spelling.
    Str(String),
    Num(u64),
    Prefix(PrefixElem),
    Range(RangeElem),
    Concat(ConcatElem),
    /// A value with per-element properties (timeout, comment, counter).
    /// Boxed, as is `Other`: they are rare, and unboxed they made every
    /// element 88 bytes instead of 40 (100,000 per table copy).
    Wrapped(Box<WrappedElem>),
    Verdict(Verdict),
    /// A map element: `[key, value]`.
    Mapping(Box<(Elem, Elem)>),
    /// Any other shape, kept as listed; never translated to text (a
    /// change to such a set reloads the table).
    Other(Box<Value>),
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrefixElem {
    pub prefix: Prefix,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Prefix {
    pub addr: String,
    pub len: u8,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RangeElem {
    pub range: Box<(Elem, Elem)>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConcatElem {
    pub concat: Vec<Elem>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WrappedElem {
    pub elem: ElemProps,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ElemProps {
    pub val: Box<Elem>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<u64>,
    /// Time left (dynamic sets): dropped when normalising.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub counter: Option<Counter>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Counter {
    pub packets: u64,
    pub bytes: u64,
}

/// A verdict map's value.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Accept(()),
    Drop(()),
    Continue(()),
    Return(()),
    Jump(VerdictTarget),
    Goto(VerdictTarget),
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerdictTarget {
    pub target: String,
}

// Elements are hashed to diff two sets (`plan::nft`) without writing each
// as JSON. A JSON value has no `Hash`, and two equal objects may list their
// keys in another order (serde_json's `preserve_order`): an `Other` element
// hashes nothing beyond its variant, which equal values share.
impl Eq for Elem {}

impl std::hash::Hash for Elem {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        std::mem::discriminant(self).hash(h);
        match self {
            Elem::Str(s) => s.hash(h),
            Elem::Num(n) => n.hash(h),
            Elem::Prefix(p) => p.hash(h),
            Elem::Range(r) => r.hash(h),
            Elem::Concat(c) => c.hash(h),
            Elem::Wrapped(w) => w.hash(h),
            Elem::Verdict(v) => v.hash(h),
            Elem::Mapping(m) => m.hash(h),
            Elem::Other(_) => {}
        }
    }
}

impl Elem {
    /// The comparison key: the element's JSON.
    pub fn key(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Without what changes on its own: expiry dropped, counters zeroed.
    fn normalised(self) -> Elem {
        match self {
            Elem::Wrapped(mut w) => {
                w.elem.expires = None;
                if let Some(c) = w.elem.counter.as_mut() {
                    *c = Counter {
                        packets: 0,
                        bytes: 0,
                    };
                }
                Elem::Wrapped(w)
            }
            Elem::Other(mut v) => {
                if let Some(inner) = v.get_mut("elem").and_then(Value::as_object_mut) {
                    inner.remove("expires");
                }
                zero_counters(&mut v);
                Elem::Other(v)
            }
            e => e,
        }
    }

    /// The element as nft text (for `add element` / `delete element`), or
    /// None for shapes netc does not translate (then the table is reloaded
    /// whole). `quote_strings`: the key type is a string type (ifname).
    pub fn text(&self, quote_strings: bool) -> Option<String> {
        match self {
            Elem::Str(s) => Some(if quote_strings {
                format!("\"{s}\"")
            } else {
                s.clone()
            }),
            Elem::Num(n) => Some(n.to_string()),
            Elem::Prefix(p) => Some(format!("{}/{}", p.prefix.addr, p.prefix.len)),
            Elem::Range(r) => Some(format!(
                "{}-{}",
                r.range.0.text(quote_strings)?,
                r.range.1.text(quote_strings)?
            )),
            Elem::Concat(c) => {
                let parts: Option<Vec<String>> =
                    c.concat.iter().map(|x| x.text(quote_strings)).collect();
                Some(parts?.join(" . "))
            }
            // Elements with timeout/comment/counter: only the plain value is translatable.
            Elem::Wrapped(w) => {
                let p = &w.elem;
                if p.timeout.is_some() || p.comment.is_some() || p.counter.is_some() {
                    return None;
                }
                p.val.text(quote_strings)
            }
            Elem::Mapping(kv) => Some(format!(
                "{} : {}",
                kv.0.text(quote_strings)?,
                kv.1.value_text()?
            )),
            Elem::Verdict(_) | Elem::Other(_) => None,
        }
    }

    /// A map value: verdicts as nft verdicts, data as values.
    fn value_text(&self) -> Option<String> {
        match self {
            Elem::Verdict(v) => Some(match v {
                Verdict::Accept(()) => "accept".to_string(),
                Verdict::Drop(()) => "drop".to_string(),
                Verdict::Continue(()) => "continue".to_string(),
                Verdict::Return(()) => "return".to_string(),
                Verdict::Jump(t) => format!("jump {}", t.target),
                Verdict::Goto(t) => format!("goto {}", t.target),
            }),
            e => e.text(false),
        }
    }
}

fn set_kind() -> String {
    "set".to_string()
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

#[cfg(test)]
mod tests {
    use super::*;

    const JSON: &str = r#"{"nftables": [{"metainfo": {"version": "1.0.6"}}, {"table": {"family": "inet", "name": "netc", "handle": 2}}, {"set": {"family": "inet", "name": "s4", "table": "netc", "type": "ipv4_addr", "handle": 3, "flags": ["interval"], "elem": [{"prefix": {"addr": "10.0.0.0", "len": 24}}, "10.1.0.5"]}}, {"chain": {"family": "inet", "table": "netc", "name": "pol", "handle": 1}}, {"rule": {"family": "inet", "table": "netc", "chain": "pol", "handle": 5, "comment": "p1 rule 0", "expr": [{"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "saddr"}}, "right": "@s4"}}, {"counter": {"packets": 7, "bytes": 99}}, {"accept": null}]}}]}"#;
    const TEXT: &str = "table inet netc { # handle 2\n\tset s4 { # handle 3\n\t\ttype ipv4_addr\n\t\tflags interval\n\t\telements = { 10.0.0.0/24, 10.1.0.5 }\n\t}\n\n\tchain pol { # handle 1\n\t\tip saddr @s4 counter packets 7 bytes 99 accept comment \"p1 rule 0\" # handle 5\n\t}\n}\n";

    #[test]
    fn a_table_is_cut_out_of_a_ruleset_listing() {
        // Foreign tables before and after, one whose name starts with netc's.
        let foreign = "table inet aaa { # handle 1\n\tchain c { # handle 1\n\t}\n}\n";
        let prefix = "table inet netc2 { # handle 7\n\tchain c { # handle 1\n\t}\n}\n";
        let ruleset = format!("{foreign}{prefix}{TEXT}{foreign}");
        assert_eq!(
            table_of_ruleset_text(&ruleset, "netc").as_deref(),
            Some(TEXT)
        );
        assert_eq!(
            table_of_ruleset_text(&ruleset, "netc2").as_deref(),
            Some(prefix)
        );
        // Without handles (`nft -t list ruleset`) the header has no comment.
        let bare = "table inet netc {\n\tchain c {\n\t}\n}\n";
        assert_eq!(
            table_of_ruleset_text(&format!("{foreign}{bare}"), "netc").as_deref(),
            Some(bare)
        );
        assert_eq!(
            table_of_ruleset_text(&format!("{foreign}{prefix}"), "netc"),
            None
        );
        // A listing cut short is not a table.
        assert_eq!(table_of_ruleset_text(&TEXT[..TEXT.len() - 2], "netc"), None);

        let mut all: Value = serde_json::from_str(JSON).unwrap();
        let items = all["nftables"].as_array_mut().unwrap();
        items.insert(
            1,
            serde_json::json!({"table": {"family": "inet", "name": "netc2", "handle": 7}}),
        );
        items.push(serde_json::json!({"chain": {"family": "inet", "table": "netc2", "name": "pol", "handle": 1}}));
        items.push(serde_json::json!({"counter": {"family": "inet", "table": "aaa", "name": "n", "handle": 2, "packets": 0, "bytes": 0}}));
        let cut = table_of_ruleset_json(&all.to_string(), "netc")
            .unwrap()
            .unwrap();
        let want: Value = serde_json::from_str(JSON).unwrap();
        assert_eq!(serde_json::from_str::<Value>(&cut).unwrap(), want);
        let without: Value = serde_json::json!({"nftables": [{"metainfo": {}}, {"table": {"family": "inet", "name": "aaa", "handle": 1}}]});
        assert_eq!(
            table_of_ruleset_json(&without.to_string(), "netc"),
            Some(None)
        );
        assert_eq!(table_of_ruleset_json("not json", "netc"), None);
    }

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

    fn elem(json: &str) -> Elem {
        serde_json::from_str(json).unwrap_or_else(|e| panic!("{json}: {e}"))
    }

    #[test]
    fn listings_equal_up_to_element_order() {
        let a = "table inet netc { # handle 7
\tset s { # handle 3
\t\ttype ipv4_addr . inet_service
\t\tflags interval
\t\telements = { 10.0.0.0/24 . 80,
\t\t\t     10.0.1.0/24 . 81,
\t\t\t     10.0.2.0/24 . 82 }
\t}
\tset t { # handle 4
\t\ttype ipv4_addr
\t\telements = { 10.9.0.1, 10.9.0.2 }
\t}
\tchain c { # handle 5
\t\tip saddr . th dport @s counter packets 5 bytes 300 accept # handle 9
\t}
}
";
        // The same content reached by deleting and adding elements: the
        // kernel lists them in another order; other handles and counters too.
        let b = a
            .replace(
                "10.0.0.0/24 . 80,\n\t\t\t     10.0.1.0/24 . 81,\n\t\t\t     10.0.2.0/24 . 82 }",
                "10.0.1.0/24 . 81,\n\t\t\t     10.0.2.0/24 . 82,\n\t\t\t     10.0.0.0/24 . 80 }",
            )
            .replace("{ 10.9.0.1, 10.9.0.2 }", "{ 10.9.0.2, 10.9.0.1 }")
            .replace("# handle 9", "# handle 12")
            .replace("packets 5 bytes 300", "packets 0 bytes 0");
        assert_ne!(a, b);
        assert!(same_text(a, &b) && same_text(&b, a));
        // Different elements, an element moved between sets, a rule changed:
        // not the same table.
        for (from, to) in [
            ("10.0.0.0/24 . 80 }", "10.0.3.0/24 . 80 }"),
            ("10.0.0.0/24 . 80 }", "10.0.0.0/24 . 80, 10.0.3.0/24 . 83 }"),
            ("{ 10.9.0.2, 10.9.0.1 }", "{ 10.9.0.1 }"),
            ("{ 10.9.0.2, 10.9.0.1 }", "{ 10.9.0.2, 10.0.0.0/24 . 80 }"),
            ("packets 0 bytes 0 accept", "packets 0 bytes 0 drop"),
        ] {
            let c = b.replace(from, to);
            assert_ne!(c, b, "{from}");
            assert!(!same_text(a, &c), "{from} -> {to}");
        }
        // A set that a delta added is listed after the objects created
        // before it: the same table. Rules reordered inside a chain, a set
        // left out or one listed twice are not.
        let set_t = "\tset t { # handle 4\n\t\ttype ipv4_addr\n\t\telements = { 10.9.0.1, 10.9.0.2 }\n\t}\n";
        let moved = a.replace(set_t, "").replace(
            "\t}\n}\n",
            &format!("\t}}\n{}}}\n", set_t.replace("handle 4", "handle 40")),
        );
        assert!(
            moved.ends_with("\t}\n}\n")
                && moved.find("set t").unwrap() > moved.find("chain c").unwrap()
        );
        assert!(same_text(a, &moved) && same_text(&moved, a), "{moved}");
        let two_rules = a.replace(
            "accept # handle 9\n",
            "accept # handle 9\n\t\tdrop # handle 10\n",
        );
        let swapped = a.replace(
            "accept # handle 9\n",
            "drop # handle 10\n\t\tip saddr . th dport @s counter packets 5 bytes 300 accept # handle 9\n",
        );
        assert!(!same_text(&two_rules, &swapped));
        assert!(!same_text(a, &a.replace(set_t, "")));
        let twice = a.replace(set_t, &format!("{set_t}{set_t}"));
        assert!(!same_text(a, &twice) && !same_text(&twice, a));
    }

    /// A kernel digest read with a table is trusted for a set only while
    /// the set's elements are the ones read with it.
    #[test]
    fn a_kernel_digest_holds_only_for_the_elements_read_with_it() {
        let json = r#"{"present":true,"sets":[{"kind":"set","name":"a","decl":{"type":"ipv4_addr"},"decl_text":"","elems":["10.0.0.1"]},{"kind":"set","name":"b","decl":{"type":"ipv4_addr"},"decl_text":"","elems":["10.0.0.2"]}],"chains":[],"others":[],"text":"","has_text":true}"#;
        let mut st: NftState = serde_json::from_str(json).unwrap();
        st.kernel_digests.insert("a".into(), "d".into());
        assert_eq!(st.sets[0].kernel_digest(&st), Some("d"));
        assert_eq!(st.sets[1].kernel_digest(&st), None, "no digest of its own");
        // Carried by a copy (a prediction starts from one) until changed.
        let mut copy = st.clone();
        assert_eq!(copy.sets[0].kernel_digest(&copy), Some("d"));
        copy.sets[0]
            .elems
            .make_mut()
            .push(Elem::Str("10.0.0.3".into()));
        assert_eq!(copy.sets[0].kernel_digest(&copy), None);
        // Elements given rather than read carry none either.
        copy.sets[0].elems = vec![Elem::Str("10.0.0.1".into())].into();
        assert_eq!(copy.sets[0].kernel_digest(&copy), None);
    }

    #[test]
    fn element_text() {
        let t = |j: &str, q: bool| elem(j).text(q);
        assert_eq!(
            t(r#"{"prefix":{"addr":"10.0.0.0","len":24}}"#, false).as_deref(),
            Some("10.0.0.0/24")
        );
        assert_eq!(
            t(r#"{"range":["10.0.0.1","10.0.0.9"]}"#, false).as_deref(),
            Some("10.0.0.1-10.0.0.9")
        );
        assert_eq!(t(r#""eth0""#, true).as_deref(), Some("\"eth0\""));
        assert_eq!(
            t(r#"["cali1", {"goto": {"target": "wo-x"}}]"#, true).as_deref(),
            Some("\"cali1\" : goto wo-x")
        );
        assert_eq!(
            t(r#"{"concat":["10.0.0.1", 443]}"#, false).as_deref(),
            Some("10.0.0.1 . 443")
        );
        assert_eq!(
            t(r#"{"elem":{"val":"10.0.0.1","timeout":30}}"#, false),
            None
        );
        assert_eq!(
            t(r#"{"elem":{"val":"10.0.0.1"}}"#, false).as_deref(),
            Some("10.0.0.1")
        );
        // Unknown shapes are kept, not translated.
        assert!(matches!(
            elem(r#"{"prefix":{"addr":"10.0.0.0","len":24,"x":1}}"#),
            Elem::Other(_)
        ));
        assert_eq!(t(r#"{"symbol":"x"}"#, false), None);
    }

    #[test]
    fn elements_are_normalised_and_serialise_as_listed() {
        let e = elem(r#"{"elem":{"val":"10.0.0.1","timeout":30,"expires":12,"counter":{"packets":3,"bytes":9}}}"#)
            .normalised();
        assert_eq!(
            e.key(),
            r#"{"elem":{"val":"10.0.0.1","timeout":30,"counter":{"packets":0,"bytes":0}}}"#
        );
        for j in [
            r#"{"prefix":{"addr":"10.0.0.0","len":24}}"#,
            r#"["cali1",{"goto":{"target":"wo-x"}}]"#,
            r#"["cali1",{"accept":null}]"#,
            r#"{"range":["10.0.0.1","10.0.0.9"]}"#,
        ] {
            assert_eq!(elem(j).key(), j);
        }
    }
}
