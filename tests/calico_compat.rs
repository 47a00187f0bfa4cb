//! Calico compatibility: for every scenario of Calico's own confd template
//! tests (projectcalico/calico `confd/tests/mock_data/calicoctl/<scenario>/input.yaml`
//! and `confd/tests/compiled_templates/<scenario>/bird.cfg` / `bird6.cfg`, the
//! BIRD 1.6 configs Calico generates for node `kube-master`; docs/calico.md
//! §3), netc compiles the input, emits kube-master's BIRD 2 config, and the
//! configs are parsed into sessions that are compared field by field —
//! netc's IPv4 sessions with bird.cfg, its IPv6 sessions with bird6.cfg:
//! neighbor, port, AS, local AS, source address, passive, rr client, cluster
//! id, next hop, password present, ttl security / multihop, graceful restart
//! time, keepalive, allow local as, whether the export filter treats the peer
//! as iBGP, and which BGPFilter functions the import and export filters call,
//! in order and with which argument. The BGPFilter functions themselves are
//! compared by meaning (same names and parameters, same rule statements with
//! addresses and prefixes compared as values, whitespace ignored). The pools'
//! kernel and export actions (bird_ipam.cfg / bird6_ipam.cfg) are compared
//! too.
//!
//! Every difference must be listed in [`INTENDED`] with its reason (the
//! README's "Differences from Calico" table is copied from it); any other
//! difference fails the test, and so does a listed one that no longer occurs.
//!
//! The scenarios are vendored in `tests/data/calico-confd/` (one folder per
//! scenario, its path with `/` written as `__`, e.g. `mesh__ipip-always`;
//! Apache-2.0, see LICENSE.md and README.md there). `NETC_CALICO_CONFD`
//! names another folder of the same layout to run against instead.

mod common;

use netc_compiler::lower::Cluster;
use netc_compiler::{alloc, load, validate, SourceMap};
use netc_targets::SecretMap;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The node whose config Calico's expected files are for.
const NODE: &str = "kube-master";

/// Differences between netc and Calico that are intended:
/// (scenario, session, field, reason). `*` matches any scenario or session.
const INTENDED: &[(&str, &str, &str, &str)] = &[(
    "explicit_peering__global",
    "Global_10_192_0_3_port_150",
    "source address",
    "bindMode NodeIP: BIRD 2 has no `listen bgp address`; netc binds the listener with the \
     template's `local <node IP>` + `strict bind on`, and in BIRD 2 `local <ip>` is also every \
     session's source address, so with bindMode NodeIP a BGPPeer's sourceAddress: None still \
     sources from the node IP",
)];

/// Inputs Calico accepts and netc rejects on purpose: (scenario, the text
/// netc rejects, what the comparison uses instead, netc's diagnostic (a
/// substring), reason). The test checks that netc still rejects the original
/// (else the entry is stale) and compares sessions on the rewritten input.
/// (Empty since netc reads YAML 1.1 scalars as calicoctl does: the
/// route-reflector scenario's unquoted `routeReflector: true` label now loads
/// as the string "true", with warning W0109.)
const INPUT_REWRITES: &[(&str, &str, &str, &str, &str)] = &[];

/// Differences of form the comparison reads through on purpose (the parser
/// maps both sides to the same meaning); listed so that the report, and the
/// README's "Differences from Calico" table, name them.
const TOLERATED_FORMS: &[&str] = &[
    "one BIRD 2 daemon for both families: Calico's bird6.cfg protocols, functions and filters \
     are netc's IPv6 channel sessions, `bgp_template_v6`, `calico_export_to_bgp_peers_v6()`, \
     `calico_aggr_v6()`, `calico_kernel_programming_v6`, `kernel_v6`, `static_v6`; BGPFilter \
     function names are Calico's exactly (`'bgp_<name>_importFilterV6'`)",
    "BIRD 2 syntax: session filters live in the `ipv4 { }` / `ipv6 { }` channel, the template's \
     `local [<ip>] [port <p>] as <n>` replaces `local as` + `listen bgp`",
    "BGPFilter rules are compared as statements with addresses and prefixes in canonical form \
     and whitespace removed: Calico copies the cidr as the user wrote it (`9000:0::0/64`), netc \
     writes the parsed prefix (`9000::/64`)",
    "IPv6 kernel filter: like Calico, netc writes only the pools' `reject` lines (the filter's \
     final `accept` covers the rest); for IPv4 both write an explicit line per pool",
];

/// Scenario inputs netc reads but does not turn into BIRD config, by design.
/// Listed so that the report says which parts of a scenario were not compared.
const NOT_COMPARED: &[&str] = &[
    "IPAM block CIDRs: Calico's come from the test harness's IPAM state, netc's from its own \
     allocation (netc.lock); only per-pool actions are compared",
    "the kernel, device and direct protocols' options: netc's differ by design (README, \
     \"Differences from Calico\": kernel `learn` + import; tunnel devices excluded from \
     `protocol direct`); checked by `bird -p` in scenario_configs_pass_bird_parse, not here",
];

fn scenarios_dir() -> PathBuf {
    if let Ok(d) = std::env::var("NETC_CALICO_CONFD") {
        return PathBuf::from(d);
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/calico-confd")
}

// ---------------------------------------------------------------------------
// a small parser for `protocol bgp` blocks, BIRD 1.6 and BIRD 2 alike

/// Replace string literals by `"…"` placeholders and drop `#` comments, so
/// that a password or a comment cannot be mistaken for a statement.
fn strip(conf: &str) -> String {
    let mut out = String::with_capacity(conf.len());
    let mut chars = conf.chars().peekable();
    let mut in_comment = false;
    while let Some(c) = chars.next() {
        if in_comment {
            if c == '\n' {
                in_comment = false;
                out.push('\n');
            }
            continue;
        }
        match c {
            '#' => in_comment = true,
            '"' => {
                for d in chars.by_ref() {
                    if d == '"' {
                        break;
                    }
                }
                out.push_str("\"…\"");
            }
            _ => out.push(c),
        }
    }
    out
}

/// The body of the block that starts at `open` (the index of its `{`).
fn block_body(text: &str, open: usize) -> &str {
    let mut depth = 0usize;
    for (i, c) in text[open..].char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return &text[open + 1..open + i];
                }
            }
            _ => {}
        }
    }
    &text[open + 1..]
}

/// Statements of a body: text between `;`, `{` and `}`, whitespace collapsed.
fn statements(body: &str) -> Vec<String> {
    body.split([';', '{', '}'])
        .map(|s| s.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|s| !s.is_empty())
        .collect()
}

/// A session as BIRD reads it, with the template's defaults applied.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Session {
    fields: BTreeMap<&'static str, String>,
}

/// Template defaults that a session inherits.
#[derive(Default)]
struct TemplateDefaults {
    local_as: Option<String>,
    local_ip: Option<String>,
}

/// Defaults of every `template bgp NAME { … }`, by name.
fn template_defaults(conf: &str) -> BTreeMap<String, TemplateDefaults> {
    let mut out = BTreeMap::new();
    let mut from = 0;
    while let Some(i) = conf[from..].find("template bgp ") {
        let start = from + i;
        let Some(open) = conf[start..].find('{').map(|o| start + o) else {
            break;
        };
        let name = conf[start + "template bgp ".len()..open].trim().to_string();
        let body = block_body(conf, open);
        from = open + body.len() + 1;
        let mut t = TemplateDefaults::default();
        for st in statements(body) {
            // BIRD 1.6: `local as N`; BIRD 2: `local [ip] [port p] as N`.
            if let Some(rest) = st.strip_prefix("local ") {
                let words: Vec<&str> = rest.split(' ').collect();
                if let Some(pos) = words.iter().position(|w| *w == "as") {
                    t.local_as = words.get(pos + 1).map(|s| s.to_string());
                }
                if let Some(first) = words.first() {
                    if first.parse::<std::net::IpAddr>().is_ok() {
                        t.local_ip = Some(first.to_string());
                    }
                }
            }
        }
        out.insert(name, t);
    }
    out
}

/// The BGPFilter calls (`'bgp_…'(…)`) in the first `<which> filter { … }`
/// block of a session body, in order.
fn filter_calls(body: &str, which: &str) -> String {
    let Some(i) = body.find(&format!("{which} filter")) else {
        return "-".into();
    };
    let Some(open) = body[i..].find('{').map(|o| i + o) else {
        return "-".into();
    };
    let calls: Vec<String> = statements(block_body(body, open))
        .into_iter()
        .filter(|st| st.starts_with("'bgp_"))
        .map(|st| st.replace(' ', ""))
        .collect();
    if calls.is_empty() {
        "none".into()
    } else {
        calls.join(" ")
    }
}

fn parse_sessions(raw: &str) -> BTreeMap<String, Session> {
    let conf = strip(raw);
    let templates = template_defaults(&conf);
    let mut out = BTreeMap::new();
    let mut from = 0;
    while let Some(i) = conf[from..].find("protocol bgp ") {
        let start = from + i;
        let header_end = start + conf[start..].find('{').expect("protocol block");
        let header: Vec<&str> = conf[start + "protocol bgp ".len()..header_end]
            .split_whitespace()
            .collect();
        let name = header.first().expect("protocol name").to_string();
        let defaults = match header.as_slice() {
            [_, "from", t] => templates.get(*t),
            _ => None,
        };
        let body = block_body(&conf, header_end);
        from = header_end + body.len() + 1;

        let mut f: BTreeMap<&'static str, String> = BTreeMap::new();
        let mut set = |k: &'static str, v: &str| {
            f.insert(k, v.to_string());
        };
        set("passive", "off");
        set("rr client", "no");
        set("password", "no");
        if let Some(a) = defaults.and_then(|d| d.local_as.as_ref()) {
            set("local as", a);
        }
        if let Some(ip) = defaults.and_then(|d| d.local_ip.as_ref()) {
            set("source address", ip);
        }
        set("import filters", &filter_calls(body, "import"));
        set("export filters", &filter_calls(body, "export"));
        for st in statements(body) {
            let w: Vec<&str> = st.split(' ').collect();
            match w.as_slice() {
                ["neighbor", ip, rest @ ..] => {
                    set("neighbor", &canonical_nets(ip));
                    let mut it = rest.iter();
                    while let Some(k) = it.next() {
                        match *k {
                            "port" => set("port", it.next().copied().unwrap_or("")),
                            "as" => set("as", it.next().copied().unwrap_or("")),
                            _ => {}
                        }
                    }
                }
                ["local", "as", n] => set("local as", n),
                ["source", "address", ip] => set("source address", &canonical_nets(ip)),
                ["passive", v] => set("passive", v),
                ["rr", "client"] => set("rr client", "yes"),
                ["rr", "cluster", "id", id] => set("rr cluster id", id),
                ["next", "hop", v] => set("next hop", v),
                ["password", _] => set("password", "yes"),
                ["ttl", "security", v] => set("ttl security", v),
                ["multihop"] => set("multihop", "yes"),
                ["multihop", n] => set("multihop", n),
                ["graceful", "restart", "time", n] => set("graceful restart time", n),
                ["keepalive", "time", n] => set("keepalive time", n),
                ["allow", "local", "as", n] => set("allow local as", n),
                // netc's IPv6 sessions call the `_v6` twin of the function.
                [call] if call.starts_with("calico_export_to_bgp_peers") => {
                    let internal = call
                        .trim_start_matches("calico_export_to_bgp_peers")
                        .trim_start_matches("_v6")
                        .trim_start_matches('(')
                        .trim_end_matches(')');
                    set("export as iBGP", internal);
                }
                _ => {}
            }
        }
        out.insert(name, Session { fields: f });
    }
    out
}

/// `(cidr, action)` of the `if (net ~ CIDR) then { … accept|reject; }` lines
/// inside a function or filter, restricted to the given CIDRs.
fn pool_actions(raw: &str, header: &str, pools: &BTreeSet<String>) -> BTreeSet<(String, String)> {
    let conf = strip(raw);
    let Some(i) = conf.find(header) else {
        return BTreeSet::new();
    };
    let open = i + conf[i..].find('{').expect("block");
    let body = block_body(&conf, open);
    let mut out = BTreeSet::new();
    for line in body.lines() {
        let l = line.trim();
        let Some(rest) = l.strip_prefix("if (net ~ ") else {
            continue;
        };
        let Some((cidr, tail)) = rest.split_once(')') else {
            continue;
        };
        if !pools.contains(cidr) {
            continue;
        }
        let action = if tail.contains("accept;") {
            "accept"
        } else if tail.contains("reject;") {
            "reject"
        } else {
            continue;
        };
        out.insert((cidr.to_string(), action.to_string()));
    }
    out
}

/// A token of an address or prefix written in its canonical form, so that
/// `9000:0::0/64` and `9000::/64` compare equal.
fn canonical_nets(stmt: &str) -> String {
    let mut out = String::new();
    let mut tok = String::new();
    let flush = |tok: &mut String, out: &mut String| {
        if tok.contains('/') {
            if let Ok(n) = tok.parse::<ipnet::IpNet>() {
                out.push_str(&n.to_string());
                tok.clear();
                return;
            }
        } else if tok.contains(':') || tok.matches('.').count() == 3 {
            if let Ok(a) = tok.parse::<std::net::IpAddr>() {
                out.push_str(&a.to_string());
                tok.clear();
                return;
            }
        }
        out.push_str(tok);
        tok.clear();
    };
    for c in stmt.chars() {
        if c.is_ascii_hexdigit() || matches!(c, ':' | '.' | '/') {
            tok.push(c);
        } else {
            flush(&mut tok, &mut out);
            if !c.is_whitespace() {
                out.push(c);
            }
        }
    }
    flush(&mut tok, &mut out);
    out
}

/// BGPFilter functions: name → (parameters, normalised rule statements).
fn filter_functions(raw: &str) -> BTreeMap<String, (String, Vec<String>)> {
    let conf = strip(raw);
    let mut out = BTreeMap::new();
    let mut from = 0;
    while let Some(i) = conf[from..].find("function '") {
        let start = from + i + "function '".len();
        let Some(q) = conf[start..].find('\'') else {
            break;
        };
        let name = conf[start..start + q].to_string();
        let Some(open) = conf[start..].find('{').map(|o| start + o) else {
            break;
        };
        let params = conf[start + q + 1..open]
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        let body = block_body(&conf, open);
        from = open + body.len() + 1;
        let rules = body
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(canonical_nets)
            .collect();
        out.insert(name, (params, rules));
    }
    out
}

// ---------------------------------------------------------------------------
// the comparison

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Difference {
    scenario: String,
    session: String,
    field: String,
    calico: String,
    netc: String,
}

/// Load and validate; Err carries the error diagnostics.
fn load_model(input: &str) -> Result<validate::ValidModel, Vec<String>> {
    let mut sm = SourceMap::new();
    let id = sm.add("input.yaml", input.to_string());
    let (raws, diags) = load::load_source(id, &sm);
    let errors: Vec<String> = diags
        .iter()
        .filter(|d| d.is_error())
        .map(|d| format!("{} {}", d.code, d.message))
        .collect();
    if !errors.is_empty() {
        return Err(errors);
    }
    let (model, diags) = validate::validate(raws);
    model.ok_or_else(|| {
        diags
            .items
            .iter()
            .filter(|d| d.is_error())
            .map(|d| {
                format!(
                    "{} {} ({})",
                    d.code,
                    d.message,
                    d.resource.clone().unwrap_or_default()
                )
            })
            .collect()
    })
}

/// kube-master's bird.conf and the IPv4 pool CIDRs.
fn netc_config(name: &str, dir: &Path) -> Result<(String, BTreeSet<String>), String> {
    let mut input = std::fs::read_to_string(dir.join("input.yaml")).map_err(|e| e.to_string())?;
    for (sc, from, to, diag, _) in INPUT_REWRITES.iter().filter(|r| r.0 == name) {
        match load_model(&input) {
            Ok(_) => {
                return Err(format!(
                    "INPUT_REWRITES entry is stale: netc accepts the original ({sc}: {diag})"
                ))
            }
            Err(errs) if errs.iter().any(|e| e.contains(diag)) => {}
            Err(errs) => {
                return Err(format!(
                    "netc rejects input.yaml differently than listed: {errs:?}"
                ))
            }
        }
        if !input.contains(from) {
            return Err(format!(
                "INPUT_REWRITES entry does not apply: {from:?} not in input.yaml"
            ));
        }
        input = input.replacen(from, to, 1);
    }
    let model = load_model(&input)
        .map_err(|errs| format!("netc rejects input.yaml (unsupported fields?): {errs:?}"))?;
    let pools: BTreeSet<String> = model
        .ip_pools
        .iter()
        .filter_map(|p| p.spec.cidr.parse::<ipnet::IpNet>().ok())
        .map(|n| n.trunc().to_string())
        .collect();
    let lock = alloc::allocate(&model, None).map_err(|e| e.to_string())?;
    let cluster = Cluster::new(&model, &lock);
    let ir = cluster.lower_node(NODE).map_err(|e| e.to_string())?;
    // The scenarios use no passwords; any reference still gets a value.
    let mut secrets = SecretMap::default();
    if let Some(b) = &ir.bgp {
        for s in &b.sessions {
            if let Some(r) = &s.password {
                secrets
                    .0
                    .entry(r.name.clone())
                    .or_default()
                    .insert(r.key.clone(), "test-secret".into());
            }
        }
    }
    let a = netc_targets::bird::emit(&ir, &secrets).map_err(|e| e.to_string())?;
    Ok((a, pools))
}

fn is_v6_session(s: &Session) -> bool {
    s.fields
        .get("neighbor")
        .and_then(|n| n.parse::<std::net::IpAddr>().ok())
        .is_some_and(|a| a.is_ipv6())
}

fn compare(name: &str, dir: &Path) -> Result<Vec<Difference>, String> {
    let read = |f: &str| std::fs::read_to_string(dir.join("expected").join(f));
    let calico = read("bird.cfg").map_err(|e| e.to_string())?;
    let calico_ipam = read("bird_ipam.cfg").map_err(|e| e.to_string())?;
    // Scenarios without bird6 files have no IPv6 side: netc must have none either.
    let calico6 = read("bird6.cfg").unwrap_or_default();
    let calico6_ipam = read("bird6_ipam.cfg").unwrap_or_default();
    let (netc, pools) = netc_config(name, dir)?;
    let mut diffs = Vec::new();
    let mut diff = |session: &str, field: &str, c: Option<&String>, n: Option<&String>| {
        if c != n {
            diffs.push(Difference {
                scenario: name.to_string(),
                session: session.to_string(),
                field: field.to_string(),
                calico: c.cloned().unwrap_or_else(|| "-".into()),
                netc: n.cloned().unwrap_or_else(|| "-".into()),
            });
        }
    };

    // Daemon settings: router id (bird6.cfg has its own; netc's one daemon
    // has one, which must equal both) and the BGP listen port (Calico:
    // `listen bgp [address A] port N;`, netc: `local [A] port N as …` in the
    // session templates; 179 when neither says).
    let router_id = |conf: &str| {
        strip(conf).lines().find_map(|l| {
            l.trim()
                .strip_prefix("router id ")
                .map(|r| r.trim_end_matches(';').trim().to_string())
        })
    };
    let listen_port = |conf: &str, calico_form: bool| {
        let port_of = |l: &str| {
            l.split_whitespace()
                .skip_while(|w| *w != "port")
                .nth(1)
                .map(|p| p.trim_end_matches(';').to_string())
        };
        let text = strip(conf);
        let found = if calico_form {
            text.lines()
                .find(|l| l.trim().starts_with("listen bgp"))
                .and_then(port_of)
        } else {
            text.lines()
                .find(|l| l.trim().starts_with("local ") && l.contains(" port "))
                .and_then(port_of)
        };
        Some(found.unwrap_or_else(|| "179".into()))
    };
    diff(
        "(daemon)",
        "router id",
        router_id(&calico).as_ref(),
        router_id(&netc).as_ref(),
    );
    if !calico6.is_empty() {
        diff(
            "(daemon v6)",
            "router id",
            router_id(&calico6).as_ref(),
            router_id(&netc).as_ref(),
        );
    }
    diff(
        "(daemon)",
        "listen port",
        listen_port(&calico, true).as_ref(),
        listen_port(&netc, false).as_ref(),
    );

    let all = parse_sessions(&netc);
    // Guard against a parser that silently finds nothing: a scenario with
    // BGPFilters must yield filter functions and filter calls on both sides.
    let input = std::fs::read_to_string(dir.join("input.yaml")).map_err(|e| e.to_string())?;
    if input.contains("kind: BGPFilter") {
        let referenced = input.contains("filters:");
        let found = |conf: &str| {
            !filter_functions(conf).is_empty()
                && (!referenced
                    || parse_sessions(conf)
                        .values()
                        .any(|s| s.fields.values().any(|v| v.starts_with("'bgp_"))))
        };
        if !(found(&calico) || found(&calico6)) || !found(&netc) {
            return Err("no BGPFilter functions or calls parsed".into());
        }
    }
    for (v6, calico_conf) in [(false, &calico), (true, &calico6)] {
        let cs = parse_sessions(calico_conf);
        let ns: BTreeMap<&String, &Session> =
            all.iter().filter(|(_, s)| is_v6_session(s) == v6).collect();
        let names: BTreeSet<&String> = cs.keys().chain(ns.keys().copied()).collect();
        for s in names {
            match (cs.get(s), ns.get(s)) {
                (Some(c), Some(n)) => {
                    let fields: BTreeSet<&&str> = c.fields.keys().chain(n.fields.keys()).collect();
                    for f in fields {
                        diff(s, f, c.fields.get(*f), n.fields.get(*f));
                    }
                }
                (c, n) => diff(
                    s,
                    "session",
                    c.map(|_| "present".to_string()).as_ref(),
                    n.map(|_| "present".to_string()).as_ref(),
                ),
            }
        }

        // BGPFilter functions of this family.
        let suffix = if v6 { "FilterV6" } else { "FilterV4" };
        let cf = filter_functions(calico_conf);
        let nf: BTreeMap<String, (String, Vec<String>)> = filter_functions(&netc)
            .into_iter()
            .filter(|(k, _)| k.ends_with(suffix))
            .collect();
        let fnames: BTreeSet<&String> = cf.keys().chain(nf.keys()).collect();
        for f in fnames {
            let c = cf.get(f);
            let n = nf.get(f);
            let show = |x: Option<&(String, Vec<String>)>, part: usize| {
                x.map(|(p, r)| if part == 0 { p.clone() } else { r.join(" | ") })
            };
            diff(
                &format!("function {f}"),
                "parameters",
                show(c, 0).as_ref(),
                show(n, 0).as_ref(),
            );
            diff(
                &format!("function {f}"),
                "rules",
                show(c, 1).as_ref(),
                show(n, 1).as_ref(),
            );
        }
    }

    for (v6, ipam) in [(false, &calico_ipam), (true, &calico6_ipam)] {
        let fam_pools: BTreeSet<String> = pools
            .iter()
            .filter(|p| p.contains(':') == v6)
            .cloned()
            .collect();
        let suffix = if v6 { "_v6" } else { "" };
        for (header, what) in [
            ("filter calico_kernel_programming", "kernel programming"),
            ("function calico_export_to_bgp_peers", "export to peers"),
        ] {
            let c = pool_actions(ipam, header, &fam_pools);
            let n = pool_actions(&netc, &format!("{header}{suffix}"), &fam_pools);
            for cidr in &fam_pools {
                let pick = |set: &BTreeSet<(String, String)>| {
                    let v: Vec<&str> = set
                        .iter()
                        .filter(|(p, _)| p == cidr)
                        .map(|(_, a)| a.as_str())
                        .collect();
                    (!v.is_empty()).then(|| v.join(","))
                };
                diff(
                    &format!("pool {cidr}"),
                    what,
                    pick(&c).as_ref(),
                    pick(&n).as_ref(),
                );
            }
        }
    }
    Ok(diffs)
}

fn intended(d: &Difference) -> Option<usize> {
    INTENDED.iter().position(|(sc, se, f, _)| {
        (*sc == "*" || *sc == d.scenario) && (*se == "*" || *se == d.session) && *f == d.field
    })
}

#[test]
fn bgp_sessions_match_calico_confd() {
    let root = scenarios_dir();
    let entries = std::fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("Calico scenarios not readable at {}: {e}", root.display()));
    let mut dirs: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("input.yaml").is_file() && p.join("expected/bird.cfg").is_file())
        .collect();
    dirs.sort();
    assert!(!dirs.is_empty(), "no scenarios under {}", root.display());

    let mut failures = Vec::new();
    let mut unexpected = Vec::new();
    let mut used = vec![false; INTENDED.len()];
    let mut report = Vec::new();
    for dir in &dirs {
        let name = dir
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("?")
            .to_string();
        match compare(&name, dir) {
            Err(e) => failures.push(format!("{name}: {e}")),
            Ok(diffs) => {
                report.push(format!("{name}: {} difference(s)", diffs.len()));
                for d in diffs {
                    match intended(&d) {
                        Some(i) => used[i] = true,
                        None => unexpected.push(d),
                    }
                }
            }
        }
    }
    eprintln!("Calico confd comparison ({} scenarios):", dirs.len());
    for r in &report {
        eprintln!("  {r}");
    }
    for (sc, _, _, diag, why) in INPUT_REWRITES {
        eprintln!("  input rewritten: {sc}: netc rejects `{diag}`: {why}");
    }
    for t in TOLERATED_FORMS {
        eprintln!("  tolerated form: {t}");
    }
    for n in NOT_COMPARED {
        eprintln!("  not compared: {n}");
    }
    let stale: Vec<&(&str, &str, &str, &str)> = INTENDED
        .iter()
        .zip(&used)
        .filter(|(_, u)| !**u)
        .map(|(e, _)| e)
        .collect();
    let mut msg = String::new();
    for f in &failures {
        msg.push_str(&format!("scenario failed: {f}\n"));
    }
    for d in &unexpected {
        msg.push_str(&format!(
            "{} / {} / {}: Calico `{}`, netc `{}`\n",
            d.scenario, d.session, d.field, d.calico, d.netc
        ));
    }
    for s in &stale {
        msg.push_str(&format!(
            "listed difference no longer occurs (remove it from INTENDED): {} / {} / {}\n",
            s.0, s.1, s.2
        ));
    }
    assert!(msg.is_empty(), "differences from Calico confd:\n{msg}");
}

#[test]
fn parser_reads_both_dialects() {
    let b1 = r#"
template bgp bgp_template { local as 64512; }
protocol bgp Mesh_10_0_0_3 from bgp_template {
  neighbor 10.0.0.3 port 1790 as 64512;
  source address 10.0.0.2;  # comment; with { braces
  ttl security off;
  multihop;
  import filter { accept; };
  export filter { calico_export_to_bgp_peers(true); reject; };
  passive on;
  password "a;b}c";
}
"#;
    let b2 = r#"
template bgp bgp_template { local 10.0.0.2 port 1790 as 64512; }
protocol bgp Mesh_10_0_0_3 from bgp_template {
  neighbor 10.0.0.3 port 1790 as 64512;
  ttl security off;
  multihop;
  passive on;
  password "a;b}c";
  ipv4 { import filter { accept; }; export filter { calico_export_to_bgp_peers(true); reject; }; };
}
"#;
    let a = parse_sessions(b1);
    let b = parse_sessions(b2);
    assert_eq!(a, b);
    let s = &a["Mesh_10_0_0_3"].fields;
    assert_eq!(s["port"], "1790");
    assert_eq!(s["password"], "yes");
    assert_eq!(s["export as iBGP"], "true");
    assert_eq!(s["source address"], "10.0.0.2");
}

/// Every scenario's netc config (both families, BGPFilter functions) is
/// accepted by BIRD 2 itself.
#[test]
fn scenario_configs_pass_bird_parse() {
    if !common::require_tool("scenario_configs_pass_bird_parse", "bird") {
        return;
    }
    let root = scenarios_dir();
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("Calico scenarios not readable at {}: {e}", root.display()))
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("input.yaml").is_file())
        .collect();
    dirs.sort();
    let tmp = std::env::temp_dir().join(format!("netc-compat-bird-{}", std::process::id()));
    let mut bad = Vec::new();
    for dir in &dirs {
        let name = dir.file_name().and_then(|n| n.to_str()).unwrap_or("?");
        let (conf, _) = netc_config(name, dir).unwrap_or_else(|e| panic!("{name}: {e}"));
        let path = common::write_temp(&tmp, &format!("{name}.conf"), &conf);
        let o = common::run("bird", &["-p", "-c", path.to_str().unwrap_or_default()]);
        if !o.status.success() {
            bad.push(format!("{name}: {}", common::text(&o)));
        }
    }
    let _ = std::fs::remove_dir_all(&tmp);
    assert!(bad.is_empty(), "bird -p -c rejected:\n{}", bad.join("\n"));
}
