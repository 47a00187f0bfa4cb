//! The netlink set reader (`state::nft_kernel`) against the real kernel:
//! sets of every key layout netc emits (one field with and without
//! intervals, concatenations of addresses, ports and protocols, IPv4 and
//! IPv6, intervals that touch, run to the last address or are one value,
//! a verdict map keyed by interface names),
//! loaded by nft, must read back as exactly the elements nft lists — and a
//! set changed behind the reader's back must read as different.
//!
//! Root only: skipped with a message otherwise, unless CI=true.

mod common;

use common::Netns;
use netc_host::exec::Exec;
use netc_host::state::nft;
use netc_host::state::nft_kernel::same_elements;

const TABLE: &str = r#"
table inet netc {
	set v4 {
		type ipv4_addr
		flags interval
		elements = { 0.0.0.0/8, 10.0.0.0/24, 10.0.1.0-10.0.1.9, 10.0.1.10, 10.0.2.7,
			     192.168.0.0/16, 255.0.0.0/8 }
	}
	set v4hash {
		type ipv4_addr
		elements = { 10.9.9.9, 172.16.0.1 }
	}
	set ports {
		type inet_service
		flags interval
		elements = { 22, 80-90, 443, 65000-65535 }
	}
	set v6 {
		type ipv6_addr
		flags interval
		elements = { ::/8, 2001:db8::/32, 2001:db9::1, fd00::1-fd00::ff, ff00::/8 }
	}
	set v4svc {
		type ipv4_addr . inet_service
		flags interval
		elements = { 10.100.0.0/24 . 10000, 10.100.1.0/24 . 10001-10010,
			     0.0.0.0/0 . 22, 10.1.2.3 . 0-65535 }
	}
	map ifaces {
		type ifname : verdict
		elements = { "eth0" : goto c1, "veth-ab12" : jump c2, "lo" : accept, "wg0" : drop }
	}
	chain c1 {
	}
	chain c2 {
	}
	set v6proto {
		type ipv6_addr . inet_service . inet_proto
		flags interval
		elements = { 2001:db8::/64 . 53 . udp, 2001:db8::/64 . 53 . tcp,
			     ::/0 . 8080-8090 . tcp }
	}
}
"#;

#[test]
fn kernel_elements_match_nfts_listing_and_see_changes() {
    if !common::require_root("kernel_elements_match_nfts_listing_and_see_changes")
        || !common::require_tool("kernel_elements_match_nfts_listing_and_see_changes", "nft")
    {
        return;
    }
    let ns = Netns::new("kset");
    let o = ns.exec_stdin("nft", &["-f", "-"], TABLE);
    assert!(o.status.success(), "nft -f: {}", common::text(&o));
    let exec = Exec::new(Some(ns.name.clone()));
    let listed = nft::read(&exec, true).expect("nft lists the table");
    assert_eq!(listed.sets.len(), 7, "{listed:?}");
    for set in &listed.sets {
        let elems = exec
            .kernel_set_elements(&set.name)
            .expect("the process runner reads the kernel")
            .expect("the dump succeeds");
        assert!(!elems.is_empty(), "set {}: no elements read", set.name);
        assert_eq!(
            same_elements(&elems, set),
            Some(true),
            "set {}: the kernel's elements {elems:?} differ from nft's listing {:?}",
            set.name,
            set.elems
        );
    }

    // Changed behind the reader's back: one element more, one less, one
    // interval one longer. Each is seen against the listing taken before.
    let changes = [
        "add element inet netc v4 { 10.0.3.0/24 }",
        "delete element inet netc ports { 443 }",
        "delete element inet netc v4svc { 10.100.1.0/24 . 10001-10010 }; add element inet netc v4svc { 10.100.1.0/24 . 10001-10011 }",
        "delete element inet netc v6proto { 2001:db8::/64 . 53 . tcp }",
        "add element inet netc v4hash { 10.9.9.8 }",
        "delete element inet netc ifaces { \"eth0\" }; add element inet netc ifaces { \"eth0\" : goto c2 }",
    ];
    for change in changes {
        let o = ns.exec_stdin("nft", &["-f", "-"], change);
        assert!(o.status.success(), "{change}: {}", common::text(&o));
    }
    for name in ["v4", "ports", "v4svc", "v6proto", "v4hash", "ifaces"] {
        let set = listed.sets.iter().find(|s| s.name == name).expect("set");
        let elems = exec
            .kernel_set_elements(name)
            .expect("reads")
            .expect("dump");
        assert_eq!(
            same_elements(&elems, set),
            Some(false),
            "set {name}: a change went unseen"
        );
    }
    // The untouched set still matches.
    let v6 = listed.sets.iter().find(|s| s.name == "v6").expect("v6");
    let elems = exec
        .kernel_set_elements("v6")
        .expect("reads")
        .expect("dump");
    assert_eq!(same_elements(&elems, v6), Some(true));
    // A set that does not exist is an error, not an empty set.
    assert!(exec
        .kernel_set_elements("nosuchset")
        .expect("reads")
        .is_err());
}
