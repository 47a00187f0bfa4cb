//! The real checkers, for the slow `structured_tools` target: `nft -c -f`,
//! `iptables-restore --test`, `ip6tables-restore --test` (each in a fresh
//! network namespace, `unshare -n`, so the host is never touched) and
//! `bird -p -c`. Artifacts already checked by this process are skipped (many
//! inputs emit identical files), so the cost is paid per distinct artifact.

use netc_targets::ArtifactKind;
use std::collections::HashSet;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Mutex;

static SEEN: Mutex<Option<HashSet<(ArtifactKind, u64)>>> = Mutex::new(None);

fn hash(s: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    s.hash(&mut h);
    h.finish()
}

fn scratch() -> PathBuf {
    let d = std::env::temp_dir().join(format!("netc-fuzz-tools-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&d);
    d
}

fn run(cmd: &[&str], stdin: Option<&str>) -> (bool, String) {
    let mut c = Command::new(cmd[0]);
    c.args(&cmd[1..])
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", cmd[0]));
    if let Some(input) = stdin {
        let mut si = child.stdin.take().expect("stdin");
        let _ = si.write_all(input.as_bytes());
    }
    let o = child.wait_with_output().expect("wait");
    (
        o.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        ),
    )
}

/// Check `text` with the tool that consumes `kind`; panics when it is
/// rejected. Batch files (ip, bridge) are not checked here: they need the
/// devices they name (tests/golden.rs runs them in a prepared namespace).
pub fn check(kind: ArtifactKind, text: &str) {
    let (cmd, stdin): (Vec<String>, Option<&str>) = match kind {
        ArtifactKind::Nftables => {
            let f = scratch().join("nftables.nft");
            std::fs::write(&f, text).expect("write nftables.nft");
            (
                vec![
                    "unshare".into(),
                    "-n".into(),
                    "nft".into(),
                    "-c".into(),
                    "-f".into(),
                    f.display().to_string(),
                ],
                None,
            )
        }
        ArtifactKind::Iptables | ArtifactKind::Ip6tables => {
            let tool = if kind == ArtifactKind::Iptables {
                "iptables-restore"
            } else {
                "ip6tables-restore"
            };
            (
                vec![
                    "unshare".into(),
                    "-n".into(),
                    tool.into(),
                    "--test".into(),
                    "--noflush".into(),
                ],
                Some(text),
            )
        }
        // A node without BGP: comments only, which BIRD rejects and the
        // host layer therefore does not install.
        ArtifactKind::Bird if netc_targets::bird::configures_nothing(text) => return,
        ArtifactKind::Bird => {
            let f = scratch().join("bird.conf");
            std::fs::write(&f, text).expect("write bird.conf");
            (
                vec![
                    "bird".into(),
                    "-p".into(),
                    "-c".into(),
                    f.display().to_string(),
                ],
                None,
            )
        }
        ArtifactKind::Tunnels | ArtifactKind::Fdb | ArtifactKind::Routes => return,
    };
    {
        let mut seen = SEEN.lock().unwrap_or_else(|e| e.into_inner());
        if !seen
            .get_or_insert_with(HashSet::new)
            .insert((kind, hash(text)))
        {
            return;
        }
    }
    let args: Vec<&str> = cmd.iter().map(String::as_str).collect();
    let (ok, out) = run(&args, stdin);
    assert!(
        ok,
        "{} rejected {kind}:\n{out}\n--- {kind} ---\n{text}",
        args.join(" ")
    );
}
