//! Address sets shared between policies. A node's policies are lowered on
//! all cores; a set named by its content is shared by every rule with the
//! same nets, and it must keep the comment of the first policy in
//! evaluation order — as a one-thread lowering gives — whatever order the
//! threads finish in.

use netc_compiler::ir::Firewall;
use netc_compiler::lower::Cluster;
use netc_compiler::{alloc, load, validate, SourceMap};

/// One host endpoint and `n` global policies (orders n-1 … 0, so file
/// order is the reverse of evaluation order), each allowing the same net.
fn input(n: usize) -> String {
    let mut y = String::from(
        "apiVersion: projectcalico.org/v3\nkind: Node\nmetadata:\n  name: fw\nspec:\n  bgp:\n    ipv4Address: 192.0.2.1/24\n---\napiVersion: projectcalico.org/v3\nkind: HostEndpoint\nmetadata:\n  name: fw-eth0\n  labels: {role: fw}\nspec:\n  node: fw\n  interfaceName: eth0\n",
    );
    for i in 0..n {
        let order = n - 1 - i;
        // A large policy first in the file makes its thread finish last.
        let extra = if i == 0 { 1000 } else { 1 };
        y.push_str(&format!(
            "---\napiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata:\n  name: p{order}\nspec:\n  order: {order}\n  selector: role == 'fw'\n  types: [Ingress]\n  ingress:\n  - action: Allow\n    protocol: TCP\n    source:\n      nets: [10.1.0.0/16, 10.200.0.0/16]\n"
        ));
        for k in 0..extra {
            y.push_str(&format!(
                "  - action: Allow\n    protocol: TCP\n    source:\n      nets: [10.{}.{}.0/24]\n",
                2 + k / 256,
                k % 256
            ));
        }
    }
    y
}

fn lower(text: &str) -> Firewall {
    let mut sm = SourceMap::new();
    let id = sm.add("p.yaml", text);
    let (raws, diags) = load::load_source(id, &sm);
    assert!(diags.is_empty(), "{diags:#?}");
    let (model, diags) = validate::validate(raws);
    let model = model.unwrap_or_else(|| panic!("{:#?}", diags.items));
    let lock = alloc::allocate(&model, None).expect("allocation");
    let ir = Cluster::new(&model, &lock).lower_node("fw").expect("lower");
    ir.firewall
}

#[test]
fn a_shared_set_keeps_the_first_policys_comment() {
    let text = input(6);
    let fw = lower(&text);
    let shared: Vec<_> = fw
        .sets
        .iter()
        .filter(|s| {
            let net = |t: &str| t.parse::<ipnet::IpNet>().unwrap();
            s.elements == [net("10.1.0.0/16"), net("10.200.0.0/16")]
        })
        .collect();
    assert_eq!(shared.len(), 1, "one set for the shared net");
    // p0 is evaluated first (order 0) though it is last in the file.
    assert_eq!(shared[0].comment, "source nets of GlobalNetworkPolicy p0");
    // Every policy's first rule refers to that one set.
    let refs = fw
        .policies
        .iter()
        .filter(|p| {
            p.rules[0]
                .matches
                .src
                .in_sets
                .iter()
                .any(|r| r.as_str() == shared[0].name.as_str())
        })
        .count();
    assert_eq!(refs, 6);
    // And lowering is deterministic run to run.
    for _ in 0..3 {
        assert_eq!(
            serde_json::to_string(&lower(&text)).unwrap(),
            serde_json::to_string(&fw).unwrap()
        );
    }
}
