//! Property tests: the loader and validator never panic, whatever the input —
//! arbitrary text, and arbitrary resource shapes under every kind with
//! plausible and implausible field values. Bounded case counts keep CI fast.

use netc_compiler::model::Kind;
use netc_compiler::{load, validate, SourceMap};
use proptest::prelude::*;

fn run(text: &str) {
    let mut sm = SourceMap::new();
    let id = sm.add("fuzz.yaml", text);
    let (raws, _) = load::load_source(id, &sm);
    let (_, diags) = validate::validate(raws);
    // Rendering must not panic either, and every span must lie in the file.
    let r = netc_compiler::diag::Renderer::new(&sm);
    for d in &diags.items {
        if let Some(s) = d.span {
            assert!(s.offset <= text.len(), "span past end of file: {d:?}");
        }
        let _ = r.render(d);
    }
}

/// Field names netc knows, plus a few near-misses, to reach deep code paths.
const KEYS: &[&str] = &[
    "cidr",
    "ipipMode",
    "vxlanMode",
    "blockSize",
    "nodeSelector",
    "natOutgoing",
    "disabled",
    "allowedUses",
    "asNumber",
    "peerIP",
    "peerSelector",
    "node",
    "password",
    "secretKeyRef",
    "name",
    "key",
    "bgp",
    "ipv4Address",
    "routeReflectorClusterID",
    "selector",
    "order",
    "types",
    "ingress",
    "egress",
    "action",
    "protocol",
    "notProtocol",
    "icmp",
    "type",
    "code",
    "source",
    "destination",
    "nets",
    "notNets",
    "ports",
    "notPorts",
    "interfaceName",
    "expectedIPs",
    "ipNetworks",
    "preDNAT",
    "doNotTrack",
    "applyOnForward",
    "nodeToNodeMeshEnabled",
    "communities",
    "prefixAdvertisements",
    "value",
    "listenPort",
    "reachableBy",
    "ttlSecurity",
    "localASNumber",
    "keepOriginalNextHop",
    "nextHopMode",
    "ipVersion",
    "namespaceSelector",
    "labels",
    "annotations",
    "tier",
    "services",
    "http",
    "serviceAccounts",
    "ipipmode",
    "",
];

const SCALARS: &[&str] = &[
    "10.0.0.0/16",
    "10.0.0.1/16",
    "::/0",
    "0.0.0.0/0",
    "fe80::/10",
    "169.254.0.0/16",
    "Always",
    "CrossSubnet",
    "Never",
    "all()",
    "has(x)",
    "\"!has(x)\"",
    "a == 'b'",
    "a ==",
    "((((",
    "TCP",
    "ICMP",
    "ICMPv6",
    "Accept",
    "Reject",
    "In",
    "Equal",
    "RemotePeers",
    "iBGP",
    "65000:1",
    "65000:1:2",
    "fd00::/8",
    "eth*",
    "0",
    "-1",
    "65536",
    "4294967296",
    "1.10",
    "99999.1",
    "80:20",
    "http",
    "10.0.0.1:179",
    "[::1]:179",
    "[::1]",
    "true",
    "null",
    "~",
    "1e999",
    "\"\"",
    "Allow",
    "Pass",
    "Ingress",
    "Egress",
    "default",
    "node.x",
    "224.0.0.1",
    "é",
    "\"a\\\"b\"",
    "{}",
    "[]",
];

fn value() -> impl Strategy<Value = String> {
    let leaf = prop::sample::select(SCALARS).prop_map(|s| s.to_string());
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(|v| format!("[{}]", v.join(", "))),
            prop::collection::vec((prop::sample::select(KEYS), inner), 0..5).prop_map(|kv| {
                let body: Vec<String> = kv.iter().map(|(k, v)| format!("{k:?}: {v}")).collect();
                format!("{{{}}}", body.join(", "))
            }),
        ]
    })
}

fn resource() -> impl Strategy<Value = String> {
    (
        prop::sample::select(Kind::ALL),
        prop::sample::select(&["a", "b", "node.a", "default", "Bad_Name", ""][..]),
        value(),
        value(),
    )
        .prop_map(|(k, name, spec, meta)| {
            format!(
                "apiVersion: projectcalico.org/v3\nkind: {}\nmetadata: {{name: {name:?}, labels: {meta}}}\nspec: {spec}\n",
                k.as_str()
            )
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_never_panics(s in "\\PC{0,400}") {
        run(&s);
    }

    #[test]
    fn arbitrary_yamlish_never_panics(s in "[-:{}\\[\\],&*!|>'\"#%@` \n\ta-z0-9]{0,300}") {
        run(&s);
    }

    #[test]
    fn arbitrary_resources_never_panic(docs in prop::collection::vec(resource(), 1..6)) {
        run(&docs.join("---\n"));
    }
}
