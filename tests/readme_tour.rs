//! The README's tour, run as written: every command line of the `sh`
//! blocks under "## A tour", in order, in one shell (so `export`s carry
//! over), from a scratch directory holding a copy of `examples/`, with the
//! netc under test first on PATH. Each line must exit 0 unless it says
//! `→ exit N` (lines about a kernel without ipip expect 0 on a kernel that
//! has it). The second block works on a scratch namespace and needs root:
//! without root the test skips with a message, unless CI=true.

mod common;

use common::*;
use std::path::Path;

/// (block index, line) for every command of the tour's `sh` blocks.
fn tour_lines(readme: &str) -> Vec<(usize, String)> {
    let start = readme.find("\n## A tour").expect("README has `## A tour`");
    let rest = &readme[start + 1..];
    let end = rest[3..].find("\n## ").map_or(rest.len(), |e| e + 3);
    let section = &rest[..end];
    let mut out = Vec::new();
    let (mut block, mut inside) = (0, false);
    for line in section.lines() {
        if !inside && line.trim() == "```sh" {
            inside = true;
            block += 1;
        } else if inside && line.trim() == "```" {
            inside = false;
        } else if inside && !line.trim().is_empty() && !line.trim_start().starts_with('#') {
            out.push((block, line.to_string()));
        }
    }
    out
}

/// What exit code a tour line promises.
fn expected_exit(line: &str, kernel_has_ipip: bool) -> i32 {
    let Some(at) = line.find("→ exit ") else {
        return 0;
    };
    if line.contains("without ipip") && kernel_has_ipip {
        return 0;
    }
    line[at + "→ exit ".len()..]
        .split(|c: char| !c.is_ascii_digit())
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

fn copy_dir(from: &Path, to: &Path) {
    let o = run("cp", &["-r", from.to_str().unwrap(), to.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
}

#[test]
fn the_readme_tour_runs_as_written() {
    let readme = std::fs::read_to_string(repo().join("README.md")).expect("README");
    let lines = tour_lines(&readme);
    assert!(
        lines.iter().any(|(b, _)| *b == 1) && lines.iter().any(|(b, _)| *b == 2),
        "the tour has its two sh blocks"
    );
    let root = require_root("readme_tour");
    let ipip = kernel_has_link_type("ipip");
    let dir = std::env::temp_dir().join(format!("netc-tour-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("mkdir");
    copy_dir(&repo().join("examples"), &dir.join("examples"));
    let bin = Path::new(env!("CARGO_BIN_EXE_netc")).parent().unwrap();
    let mut script = format!(
        "cd '{}'\nexport PATH='{}':\"$PATH\"\nunset NETC_NODE NETC_INPUT NETC_FIREWALL NETC_CONFIG\n",
        dir.display(),
        bin.display()
    );
    let mut want = Vec::new();
    for (i, (block, line)) in lines.iter().enumerate() {
        if *block == 2 && !root {
            continue;
        }
        script.push_str(line);
        script.push_str(&format!("\necho \"@@tour {i} $?\"\n"));
        want.push((i, expected_exit(line, ipip)));
    }
    if root {
        // A failed line must not leave the namespace behind.
        let _ = run("ip", &["netns", "del", "netc-tour"]);
    }
    let o = run("bash", &["-c", &script]);
    if root {
        let _ = run("ip", &["netns", "del", "netc-tour"]);
        for f in ["/tmp/netc-tour-bird.conf", "/tmp/netc-tour-bird.ctl"] {
            let _ = std::fs::remove_file(f);
        }
    }
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    let _ = std::fs::remove_dir_all(&dir);
    let got: Vec<(usize, i32)> = out
        .lines()
        .filter_map(|l| l.strip_prefix("@@tour "))
        .filter_map(|l| {
            let (i, rc) = l.split_once(' ')?;
            Some((i.parse().ok()?, rc.parse().ok()?))
        })
        .collect();
    for (i, rc) in &want {
        let have = got.iter().find(|(j, _)| j == i).map(|(_, r)| *r);
        assert_eq!(
            have,
            Some(*rc),
            "README tour line `{}` exited {have:?}, the README promises {rc}\n--- output:\n{}",
            lines[*i].1,
            text(&o)
        );
    }
}
