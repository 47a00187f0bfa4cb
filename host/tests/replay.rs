//! The host layer driven by real recordings, without root: readers,
//! planner, apply, verification and rollback run against the tool outputs
//! recorded in `tests/fixtures/` (re-recorded by the root package's
//! `tests/host_record.rs`; see its header). Each fixture directory is one
//! namespace at one moment:
//!
//! | fixture                      | what                                                     |
//! |------------------------------|----------------------------------------------------------|
//! | `foreign`                    | node-a's lab before any apply: only foreign objects      |
//! | `vxlan-nft`                  | golden `vxlan-always` node-a applied, nftables backend    |
//! | `vxlan-nft-edited`           | then applied again with an edited input                  |
//! | `vxlan-ipt`                  | the same node applied with the iptables backend          |
//! | `*-scratch`                  | the firewall artifacts loaded into an empty namespace    |
//!
//! Foreign objects in every lab: veths `eth0`, `fveth0`, `cali0a1b2c3d4e5`; a
//! VXLAN device `vxlan.other` with an address, a permanent neighbour and a
//! remote FDB entry; a permanent neighbour on `eth0`; routes of protocols
//! static and boot (one in table 100); nft tables `ip foreign` and
//! `inet other`; iptables chain `FOREIGN` with a jump from FORWARD, a rule in
//! INPUT; an ip6tables rule in INPUT; an IPv6 address on `eth0`.

use netc_host::apply;
use netc_host::exec::replay::{Recording, Replay};
use netc_host::exec::Exec;
use netc_host::plan::{self, Action, Op, Plan, Step};
use netc_host::state::nft::Elem;
use netc_host::state::{self, BirdFile, BirdState, LinkKind, RouteSpec, State};
use netc_host::{Backend, Error, Target};
use netc_ir::HostIr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

fn fixture_dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn recording(name: &str) -> Recording {
    match Recording::load(&fixture_dir(name)) {
        Ok(r) => r,
        Err(e) => panic!("fixture {name}: {e}"),
    }
}

fn replay(names: &[&str]) -> Arc<Replay> {
    Arc::new(Replay::new(names.iter().map(|n| recording(n)).collect()))
}

fn exec(r: &Arc<Replay>) -> Exec {
    Exec::with_runner(Some("fixture".into()), r.clone())
}

/// The live state recorded in fixture `name` (its BIRD file included, as
/// if at the default path: all fixtures are one target).
fn live(name: &str) -> State {
    let r = replay(&[name]);
    // Every scenario is node-a: read the parameters its desired state names,
    // as host_record did.
    let keys = netc_host::desired::kernel_objects(&ir("vxlan-nft"))
        .unwrap_or_else(|e| panic!("{e}"))
        .sysctl_keys();
    match state::read_with(&exec(&r), &fixture_dir(name).join("bird.conf"), true, &keys) {
        Ok((mut s, _)) => {
            s.bird.path = PathBuf::from(netc_host::target::DEFAULT_BIRD_CONFIG);
            s
        }
        Err(e) => panic!("reading fixture {name}: {e}"),
    }
}

fn default_bird() -> PathBuf {
    PathBuf::from(netc_host::target::DEFAULT_BIRD_CONFIG)
}

fn artifact(name: &str, file: &str) -> Option<String> {
    std::fs::read_to_string(fixture_dir(name).join("artifacts").join(file)).ok()
}

fn ir(name: &str) -> HostIr {
    let text = artifact(name, "ir.json").unwrap_or_default();
    match serde_json::from_str(&text) {
        Ok(ir) => ir,
        Err(e) => panic!("fixture {name}: ir.json: {e}"),
    }
}

/// The desired state of fixture `name` as `desired::build` makes it: kernel
/// objects from the IR, the firewall as listed from the scratch namespace
/// it was loaded into (fixture `<name>-scratch`), BIRD from the artifact.
fn desired(name: &str, backend: Backend, bird_path: &Path) -> State {
    let mut st = match netc_host::desired::kernel_objects(&ir(name)) {
        Ok(s) => s,
        Err(e) => panic!("fixture {name}: {e}"),
    };
    let scratch = replay(&[&format!("{name}-scratch")]);
    let sx = exec(&scratch);
    match backend {
        Backend::Nftables => st.nft = state::nft::read(&sx, true).unwrap_or_else(|e| panic!("{e}")),
        Backend::Iptables => {
            st.iptables = state::iptables::read(&sx).unwrap_or_else(|e| panic!("{e}"));
            netc_host::desired::add_hook_jumps(&mut st.iptables);
        }
    }
    st.bird = BirdState {
        managed: true,
        path: bird_path.to_path_buf(),
        file: artifact(name, "bird.conf").map(|contents| BirdFile {
            sensitive: state::bird::contains_secret(&contents),
            contents,
            meta: Default::default(),
        }),
    };
    st
}

fn steps(p: &Plan) -> Vec<Step> {
    p.steps.iter().map(|s| s.step).collect()
}

fn changes(p: &Plan) -> Vec<String> {
    p.changes
        .iter()
        .map(|c| format!("{} {} {}", c.action.symbol(), c.resource, c.id))
        .collect()
}

/// Every command line and script the plan would run, as one text.
fn commands(p: &Plan) -> String {
    let mut s = String::new();
    for st in &p.steps {
        for op in &st.ops {
            match op {
                Op::Ip { batch } | Op::Bridge { batch } => {
                    for l in batch {
                        s.push_str(l);
                        s.push('\n');
                    }
                }
                Op::Nft { script, .. } | Op::IptRestore { script, .. } => s.push_str(script),
                Op::Bird(_) => s.push_str("(bird)\n"),
                Op::Sysctl { assignments } => {
                    s.push_str(&format!("sysctl -w {}\n", assignments.join(" ")))
                }
            }
        }
    }
    s
}

/// Names only foreign objects carry (`eth0` is also the VXLAN device's
/// underlay, netc's own setting, so it is not in the list).
const FOREIGN_NAMES: &[&str] = &[
    "fveth0",
    "vxlan.other",
    "10.77.0.",
    "192.168.10.99",
    "aa:bb:cc",
    "10.99.0.0",
    "10.98.0.0",
    "10.97.0.0",
    "table 100",
    "foreign",
    "FOREIGN",
    "inet other",
    "203.0.113.7",
    "2001:db8::7",
    "fd00:99::",
];

fn assert_no_foreign(what: &str, text: &str) {
    for f in FOREIGN_NAMES {
        assert!(!text.contains(f), "{what} names foreign `{f}`:\n{text}");
    }
}

/// The fixtures were recorded from the golden case's artifacts: when the
/// emitters change them, the recordings must be made again.
#[test]
fn fixtures_were_recorded_from_the_current_golden_artifacts() {
    let golden =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../golden/vxlan-always/expected/node-a");
    for name in ["vxlan-nft", "vxlan-ipt"] {
        for f in [
            "nftables.nft",
            "iptables.rules",
            "ip6tables.rules",
            "bird.conf",
            "ir.json",
        ] {
            let want = std::fs::read_to_string(golden.join(f)).ok();
            assert!(
                artifact(name, f) == want,
                "fixture {name}: artifacts/{f} differs from golden/vxlan-always/expected/node-a/{f}: \
                 re-record with `sudo -E cargo test --test host_record -- --ignored`"
            );
        }
    }
}

// ---------------------------------------------------------------- readers

#[test]
fn a_host_with_only_foreign_objects_reads_as_empty() {
    let r = replay(&["foreign"]);
    let (st, facts) = state::read(&exec(&r), &fixture_dir("foreign").join("bird.conf"), true)
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(st.links.is_empty() && st.addresses.is_empty(), "{st:#?}");
    assert!(st.neighbors.is_empty() && st.fdb.is_empty() && st.routes.is_empty());
    assert!(!st.nft.present, "`nft list` said: no such table");
    assert!(st.iptables.is_empty(), "{:#?}", st.iptables);
    assert!(st.bird.file.is_none());
    // The guard still sees every link and address.
    for l in ["lo", "eth0", "fveth0", "vxlan.other", "cali0a1b2c3d4e5"] {
        assert!(facts.links.iter().any(|x| x == l), "{l}: {:?}", facts.links);
    }
    let has = |a: &str| facts.addresses.iter().any(|(_, n)| n.to_string() == a);
    assert!(has("10.0.0.1/24") && has("192.168.10.11/24") && has("fd00:99::1/64"));
}

#[test]
fn reading_an_applied_node_keeps_netcs_objects_only() {
    let st = live("vxlan-nft");
    assert_eq!(st.links.len(), 1);
    let l = &st.links[0];
    assert_eq!(l.name, "vxlan.calico");
    assert_eq!(
        l.kind,
        LinkKind::Vxlan {
            vni: 4096,
            port: 4789,
            local: Some("10.0.0.1".parse().unwrap_or_else(|e| panic!("{e}"))),
            parent: Some("eth0".parse().unwrap_or_else(|e| panic!("{e}"))),
            learning: false,
        }
    );
    assert_eq!(
        (l.mtu, l.mac.map(|m| m.to_string()), l.up),
        (1450, Some("66:57:0f:f0:5a:20".to_string()), true)
    );
    // IPv6 link-local address of vxlan.calico is the kernel's.
    let addrs: Vec<String> = st
        .addresses
        .iter()
        .map(|a| format!("{} {}", a.dev, a.addr))
        .collect();
    assert_eq!(addrs, vec!["vxlan.calico 10.67.0.0/32"]);
    let neigh: Vec<String> = st
        .neighbors
        .iter()
        .map(|n| format!("{} {} {}", n.dev, n.ip, n.mac))
        .collect();
    assert_eq!(
        neigh,
        vec![
            "vxlan.calico 10.67.0.64 92:ef:37:c6:15:71",
            "vxlan.calico 10.67.0.128 0a:2c:d5:e2:9d:b9",
        ]
    );
    let fdb: Vec<String> = st
        .fdb
        .iter()
        .map(|f| format!("{} {} {}", f.dev, f.mac, f.dst))
        .collect();
    assert_eq!(
        fdb,
        vec![
            "vxlan.calico 0a:2c:d5:e2:9d:b9 10.0.1.3",
            "vxlan.calico 92:ef:37:c6:15:71 10.0.0.2"
        ]
    );
    let routes: Vec<String> = st
        .routes
        .iter()
        .map(|r| format!("{} {}", r.id(), r.spec.words()))
        .collect();
    assert_eq!(
        routes,
        vec![
            "10.67.0.0/26 blackhole",
            "10.67.0.5/32 dev cali0a1b2c3d4e5 scope link",
            "10.67.0.64/26 via 10.67.0.64 dev vxlan.calico onlink",
            "10.67.0.128/26 via 10.67.0.128 dev vxlan.calico onlink",
        ]
    );
    assert!(st
        .routes
        .iter()
        .all(|r| !matches!(r.spec, RouteSpec::Other { .. })));
    // nft: netc's table with its texts; iptables: nothing (FOREIGN, the
    // INPUT and ip6tables rules are someone else's).
    assert!(st.nft.present && st.nft.has_text);
    assert!(!st.nft.chains.is_empty() && !st.nft.sets.is_empty());
    for c in &st.nft.chains {
        for r in &c.rules {
            assert!(r.handle > 0 && !r.text.is_empty(), "{}: {r:?}", c.name);
            assert!(!r.text.contains("# handle"), "{}", r.text);
        }
    }
    let map = st
        .nft
        .set("d-input-map")
        .unwrap_or_else(|| panic!("d-input-map"));
    assert_eq!(map.kind, "map");
    assert_eq!(map.decl_text, "type ifname : verdict");
    // Every element of the real listing parses into a typed shape and
    // translates back to nft text (so set changes can be deltas).
    for set in &st.nft.sets {
        for e in &set.elems {
            assert!(!matches!(e, Elem::Other(_)), "{}: {e:?}", set.name);
            assert!(e.text(set.kind == "map").is_some(), "{}: {e:?}", set.name);
        }
    }
    let texts: Vec<Option<String>> = map.elems.iter().map(|e| e.text(true)).collect();
    assert_eq!(
        texts,
        vec![Some(
            "\"cali0a1b2c3d4e5\" : goto wo-cali0a1b2c3-8c4f4fb8".to_string()
        )]
    );
    let pools = st.nft.set("nat-pools4").map(|s| s.elems.clone());
    assert_eq!(
        pools
            .unwrap_or_default()
            .iter()
            .map(|e| e.text(false))
            .collect::<Vec<_>>(),
        vec![Some("10.67.0.0/16".to_string())]
    );
    assert!(st.iptables.is_empty(), "{:#?}", st.iptables);
    assert!(st
        .bird
        .file
        .as_ref()
        .is_some_and(|f| f.contents.contains("protocol")));
    assert_no_foreign(
        "the live state",
        &serde_json::to_string(&st).unwrap_or_default(),
    );
}

#[test]
fn iptables_backend_reads_netc_chains_and_hook_jumps_only() {
    let st = live("vxlan-ipt");
    assert!(!st.nft.present);
    let filter = st
        .iptables
        .table("ipv4", "filter")
        .unwrap_or_else(|| panic!("{:#?}", st.iptables));
    assert!(filter.chains.iter().all(|c| c.name.starts_with("netc-")));
    assert!(filter.chains.iter().any(|c| c.name == "netc-INPUT"));
    let jumps: Vec<(&str, &str)> = filter
        .jumps
        .iter()
        .map(|j| (j.chain.as_str(), j.spec.as_str()))
        .collect();
    assert!(jumps.contains(&("INPUT", "-j netc-INPUT")), "{jumps:?}");
    assert!(
        jumps.iter().all(|(_, s)| !s.contains("FOREIGN")),
        "{jumps:?}"
    );
    // netc's jump is first in INPUT: it was inserted before the foreign rule.
    let input = filter.jumps.iter().find(|j| j.chain == "INPUT");
    assert_eq!(input.map(|j| j.pos), Some(0));
    assert!(st.iptables.table("ipv6", "filter").is_some());
    assert_no_foreign(
        "the live state",
        &serde_json::to_string(&st).unwrap_or_default(),
    );
}

// ---------------------------------------------------------------- planner

#[test]
fn desired_equal_to_live_plans_nothing() {
    for (name, backend) in [
        ("vxlan-nft", Backend::Nftables),
        ("vxlan-nft-edited", Backend::Nftables),
        ("vxlan-ipt", Backend::Iptables),
    ] {
        let live = live(name);
        let want = desired(name, backend, &default_bird());
        let p = plan::diff(&live, &want);
        assert!(p.is_empty(), "{name}: {:#?}", changes(&p));
        assert_eq!(
            netc_host::verify::compare(&live, &want),
            netc_host::verify::Verification::Matches
        );
    }
}

#[test]
fn first_apply_plan_creates_everything_in_dependency_order() {
    let bird = fixture_dir("foreign").join("bird.conf");
    let p = plan::diff(
        &live("foreign"),
        &desired("vxlan-nft", Backend::Nftables, &bird),
    );
    assert_eq!(
        steps(&p),
        vec![
            Step::Links,
            Step::Addresses,
            Step::Neighbors,
            Step::Routes,
            Step::Interfaces,
            Step::Firewall,
            Step::Bird
        ]
    );
    assert!(
        p.changes
            .iter()
            .all(|c| c.action == Action::Create || c.step == Step::Interfaces),
        "{:#?}",
        changes(&p)
    );
    // The change list follows the steps too.
    let order: Vec<Step> = p.changes.iter().map(|c| c.step).collect();
    let mut sorted = order.clone();
    sorted.sort();
    assert_eq!(order, sorted);
    let cmds = commands(&p);
    assert!(cmds.starts_with(
        "link add vxlan.calico type vxlan id 4096 dstport 4789 local 10.0.0.1 dev eth0 nolearning\n\
         link set vxlan.calico address 66:57:0f:f0:5a:20 mtu 1450 up\n\
         link set vxlan.calico alias netc\n\
         addr add 10.67.0.0/32 dev vxlan.calico\n"
    ), "{cmds}");
    assert!(
        cmds.contains("fdb replace 92:ef:37:c6:15:71 dev vxlan.calico dst 10.0.0.2 self permanent"),
        "{cmds}"
    );
    assert!(
        cmds.contains(
            "route replace 10.67.0.128/26 via 10.67.0.128 dev vxlan.calico onlink proto 233"
        ),
        "{cmds}"
    );
    let Some(Op::Nft { full, .. }) = p.steps[5].ops.first() else {
        panic!("{:#?}", p.steps[5]);
    };
    assert!(*full, "a new table is loaded whole");
    assert_no_foreign("the plan", &cmds);
    let s = p.summary();
    // The workload interface exists (the CNI made it): its settings change.
    assert_eq!((s.change, s.destroy), (1, 0));
}

#[test]
fn an_edit_plans_exactly_its_changes() {
    let p = plan::diff(
        &live("vxlan-nft"),
        &desired("vxlan-nft-edited", Backend::Nftables, &default_bird()),
    );
    let kernel: Vec<String> = changes(&p)
        .into_iter()
        .filter(|c| !c.contains(" nft ") && !c.contains(" file "))
        .collect();
    assert_eq!(
        kernel,
        vec![
            "~ tunnel vxlan.calico",
            "- neighbour 10.67.0.128 dev vxlan.calico",
            "- fdb entry 0a:2c:d5:e2:9d:b9 dev vxlan.calico",
            "- route 10.67.0.5/32",
            "- route 10.67.0.128/26",
            "+ route 10.67.0.9/32",
        ]
    );
    let cmds = commands(&p);
    // In place, and without re-setting the address (which would flush the
    // device's neighbours).
    assert!(
        cmds.starts_with("link set vxlan.calico mtu 1350 up\n"),
        "{cmds}"
    );
    assert!(
        cmds.contains("neigh del 10.67.0.128 dev vxlan.calico\n"),
        "{cmds}"
    );
    assert!(cmds.contains("route del 10.67.0.5/32"), "{cmds}");
    assert!(
        !cmds.contains("link del") && !cmds.contains("addr "),
        "{cmds}"
    );
    // The workload kept its interface, so its firewall is unchanged; the
    // BIRD config loses node-c's session.
    assert_eq!(
        steps(&p),
        vec![Step::Links, Step::Neighbors, Step::Routes, Step::Bird]
    );
    let file = p.changes.iter().find(|c| c.resource == "file");
    let diff = file.and_then(|c| c.diff.as_deref()).unwrap_or("");
    assert!(diff.contains("-protocol bgp Mesh_10_0_1_3"), "{diff}");
    assert_no_foreign("the plan", &cmds);
}

#[test]
fn rollback_plan_is_the_diff_back_to_the_snapshot() {
    let snapshot = live("vxlan-nft");
    let now = live("vxlan-nft-edited");
    let forward = plan::diff(&snapshot, &now);
    let back = plan::diff(&now, &snapshot);
    // Each change is undone: creates become deletes and the other way round.
    let mut fwd: Vec<(String, String, Action)> = forward
        .changes
        .iter()
        .map(|c| (c.resource.clone(), c.id.clone(), c.action))
        .collect();
    let mut inv: Vec<(String, String, Action)> = back
        .changes
        .iter()
        .map(|c| {
            let a = match c.action {
                Action::Create => Action::Delete,
                Action::Delete => Action::Create,
                a => a,
            };
            (c.resource.clone(), c.id.clone(), a)
        })
        .collect();
    fwd.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    inv.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    assert_eq!(fwd, inv);
    let cmds = commands(&back);
    assert!(
        cmds.starts_with("link set vxlan.calico mtu 1450 up\n"),
        "{cmds}"
    );
    assert!(
        cmds.contains(
            "neigh replace 10.67.0.128 lladdr 0a:2c:d5:e2:9d:b9 dev vxlan.calico nud permanent"
        ),
        "{cmds}"
    );
    assert!(
        cmds.contains("route replace 10.67.0.5/32 dev cali0a1b2c3d4e5 scope link proto 233"),
        "{cmds}"
    );
    // Going back lands exactly on the snapshot.
    assert!(plan::diff(&snapshot, &snapshot).is_empty());
}

#[test]
fn switching_backends_builds_the_new_firewall_before_removing_the_old() {
    let bird = fixture_dir("vxlan-nft").join("bird.conf");
    let p = plan::diff(
        &live("vxlan-nft"),
        &desired("vxlan-ipt", Backend::Iptables, &bird),
    );
    let fw = p
        .steps
        .iter()
        .find(|s| s.step == Step::Firewall)
        .unwrap_or_else(|| panic!("no firewall step"));
    let kinds: Vec<&str> = fw
        .ops
        .iter()
        .map(|o| match o {
            Op::IptRestore { .. } => "iptables",
            Op::Nft { .. } => "nft",
            _ => "other",
        })
        .collect();
    assert_eq!(kinds.last(), Some(&"nft"), "{kinds:?}");
    assert!(
        kinds[..kinds.len() - 1].iter().all(|k| *k == "iptables"),
        "{kinds:?}"
    );
    let Some(Op::Nft { script, .. }) = fw.ops.last() else {
        panic!()
    };
    assert!(script.contains("delete table inet netc"), "{script}");
    assert!(
        !script.contains("other") && !script.contains("foreign"),
        "{script}"
    );
}

// ---------------------------------------------------------------- apply

fn target(dir: &Path) -> Target {
    Target {
        netns: Some("fixture".into()),
        firewall: Backend::Nftables,
        bird_config: dir.join("bird.conf"),
        bird_socket: dir.join("bird.ctl"),
    }
}

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("netc-replay-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap_or_else(|e| panic!("{e}"));
    d
}

#[test]
fn apply_runs_the_steps_in_order_and_verifies() {
    let dir = temp_dir("apply");
    let t = target(&dir);
    // Before: the foreign-only host; after the writes: the applied one.
    let r = replay(&["foreign", "vxlan-nft"]);
    let ex = exec(&r);
    let (snapshot, _) = state::read(&ex, &t.bird_config, false).unwrap_or_else(|e| panic!("{e}"));
    let want = desired("vxlan-nft", Backend::Nftables, &t.bird_config);
    let p = plan::diff(&snapshot, &want);
    let report = apply::apply(&ex, &t, &p, &snapshot, &want);
    let bird = std::fs::read_to_string(&t.bird_config).ok();
    let _ = std::fs::remove_dir_all(&dir);
    let report = report.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(report.summary, p.summary());
    let progs: Vec<String> = r.writes().iter().map(|w| w.cmd.clone()).collect();
    // The device steps run in plan order; the firewall step runs on a
    // thread of its own beside them (`apply::execute`), so its one write
    // may come anywhere among theirs.
    let devices: Vec<&String> = progs.iter().filter(|c| *c != "nft -f -").collect();
    assert_eq!(
        devices,
        vec![
            "ip -batch -",
            "ip -batch -",
            "ip -batch -",
            "bridge -batch -",
            "ip -batch -",
        ],
        "{progs:?}"
    );
    assert_eq!(
        progs.iter().filter(|c| *c == "nft -f -").count(),
        1,
        "{progs:?}"
    );
    // The BIRD file was installed (BIRD is not running: a warning says so).
    assert_eq!(bird, artifact("vxlan-nft", "bird.conf"));
    assert!(report
        .warnings
        .iter()
        .any(|w| w.contains("BIRD is not running")));
    assert_eq!(ex.writes().len(), 7, "{:?}", ex.writes());
}

#[test]
fn a_failing_step_rolls_back_to_the_snapshot() {
    let dir = temp_dir("rollback");
    let t = target(&dir);
    // The firewall step fails once; the kernel then looks like the applied
    // node (tunnels, routes … made it), and after the rollback's writes like
    // the snapshot again.
    let r = Arc::new(
        Replay::new(vec![
            recording("foreign"),
            recording("vxlan-nft"),
            recording("foreign"),
        ])
        .fail_writes(
            "nft -f -",
            "Error: Could not process rule: No buffer space available",
            1,
        ),
    );
    let ex = exec(&r);
    let (snapshot, _) = state::read(&ex, &t.bird_config, false).unwrap_or_else(|e| panic!("{e}"));
    let want = desired("vxlan-nft", Backend::Nftables, &t.bird_config);
    let p = plan::diff(&snapshot, &want);
    let res = apply::apply(&ex, &t, &p, &snapshot, &want);
    let bird_written = t.bird_config.exists();
    let _ = std::fs::remove_dir_all(&dir);
    let Err(Error::Apply(f)) = res else {
        panic!("expected an apply failure: {res:?}")
    };
    assert_eq!(f.step, Some(Step::Firewall));
    assert_eq!(f.failed, "step 5/6 (firewall)");
    assert!(
        matches!(&f.cause, apply::StepError::Exec(netc_host::exec::ExecError::Failed { stderr, .. })
            if stderr.contains("No buffer space available")),
        "{}",
        f.cause
    );
    assert!(
        matches!(f.rollback, apply::Rollback::Restored),
        "{:?}",
        f.rollback
    );
    assert!(!bird_written, "the BIRD step never ran");
    // The rollback undid what the live state showed, tunnel first (it
    // takes its neighbours, FDB entries and routes along), then the table.
    let w = r.writes();
    let rb: Vec<String> = w[6..]
        .iter()
        .map(|w| format!("{} | {}", w.cmd, w.stdin.as_deref().unwrap_or("").trim()))
        .collect();
    assert_eq!(rb.len(), 3, "{rb:#?}");
    assert!(
        rb[0].starts_with("ip -batch - | link del vxlan.calico"),
        "{rb:#?}"
    );
    assert_eq!(
        rb[1],
        "ip -batch - | route del blackhole 10.67.0.0/26 proto 233\nroute del 10.67.0.5/32 proto 233"
    );
    assert_eq!(rb[2], "nft -f - | delete table inet netc");
    assert_no_foreign(
        "the rollback",
        &rb.join("\n").replace("dev eth0 nolearning", ""),
    );
}

#[test]
fn a_verification_difference_rolls_back() {
    let dir = temp_dir("verify");
    let t = target(&dir);
    // The writes "succeed" but the kernel still shows the old state.
    let r = replay(&["foreign"]);
    let ex = exec(&r);
    let (snapshot, _) = state::read(&ex, &t.bird_config, false).unwrap_or_else(|e| panic!("{e}"));
    let mut want = desired("vxlan-nft", Backend::Nftables, &t.bird_config);
    want.bird.managed = false;
    want.bird.file = None;
    let p = plan::diff(&snapshot, &want);
    let res = apply::apply(&ex, &t, &p, &snapshot, &want);
    let _ = std::fs::remove_dir_all(&dir);
    let Err(Error::Apply(f)) = res else {
        panic!("expected a verification failure: {res:?}")
    };
    assert_eq!((f.failed.as_str(), f.step), ("verification", None));
    let apply::StepError::Verification { differences, .. } = &f.cause else {
        panic!("{}", f.cause)
    };
    assert!(
        differences.iter().any(|d| d == "+ tunnel vxlan.calico"),
        "{differences:?}"
    );
    // Live equals the snapshot: nothing to undo, restored.
    assert!(matches!(f.rollback, apply::Rollback::Restored));
}

#[test]
fn a_second_apply_of_the_same_input_writes_nothing() {
    let r = replay(&["vxlan-nft"]);
    let ex = exec(&r);
    let bird = fixture_dir("vxlan-nft").join("bird.conf");
    let want = desired("vxlan-nft", Backend::Nftables, &bird);
    let (snapshot, _) =
        state::read_with(&ex, &bird, false, &want.sysctl_keys()).unwrap_or_else(|e| panic!("{e}"));
    let p = plan::diff(&snapshot, &want);
    assert!(p.is_empty(), "{:#?}", changes(&p));
    let t = Target {
        bird_config: bird,
        ..target(&fixture_dir("vxlan-nft"))
    };
    let report = apply::apply(&ex, &t, &p, &snapshot, &want).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(report.summary, p.summary());
    assert!(r.writes().is_empty() && ex.writes().is_empty());
}
