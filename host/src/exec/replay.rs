//! Recorded tool outputs, and a [`Runner`] that replays them.
//!
//! A *recording* is what the readers saw on one target at one moment: every
//! command they ran, its exit status, stdout and stderr, and which tools were
//! installed. [`Recorder`] makes one by wrapping the real runner while the
//! readers run ([`record_state`]); [`Recording::save`] writes it as a
//! directory that people can read and review:
//!
//! ```text
//! commands.tsv     one line per command: exit code, TAB, command line
//! tools.txt        the tools that were installed, one per line
//! <slug>.out       stdout of each command (slug: the command line, `_` for spaces)
//! <slug>.err       stderr, when there was any
//! ```
//!
//! [`Replay`] answers reads from a sequence of recordings ("stages"): reads
//! are served from the current stage, and the first read after a write moves
//! to the next one — the kernel changes only when something writes. So an
//! apply can be replayed as: before (snapshot) → writes → after (verify).
//! Writes succeed (unless told to fail) and are kept, with their stdin, for
//! tests to inspect. A read that was not recorded is an error.

use super::{Cmd, ExecError, Output, ProcessRunner, Runner};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Mutex;

/// One recorded run of a command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recorded {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Everything the readers ran on one target at one moment.
#[derive(Clone, Debug, Default)]
pub struct Recording {
    /// For messages (the directory name).
    pub name: String,
    /// Command line (`prog args…`) → its output.
    pub commands: BTreeMap<String, Recorded>,
    /// Tools that were installed.
    pub tools: BTreeSet<String>,
}

fn slug(line: &str) -> String {
    line.chars()
        .map(|c| match c {
            ' ' | '/' => '_',
            c => c,
        })
        .collect()
}

fn io_err(path: &Path, e: std::io::Error) -> std::io::Error {
    std::io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}

impl Recording {
    /// Load a recording saved by [`Recording::save`].
    pub fn load(dir: &Path) -> std::io::Result<Recording> {
        let read = |name: &str| {
            let p = dir.join(name);
            std::fs::read_to_string(&p).map_err(|e| io_err(&p, e))
        };
        let mut rec = Recording {
            name: dir
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            ..Recording::default()
        };
        for line in read("commands.tsv")?.lines().filter(|l| !l.is_empty()) {
            let (code, cmd) = line.split_once('\t').ok_or_else(|| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("{}: bad line `{line}`", dir.join("commands.tsv").display()),
                )
            })?;
            let code = code.parse::<i32>().map_err(|e| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("{}: `{code}`: {e}", dir.join("commands.tsv").display()),
                )
            })?;
            let s = slug(cmd);
            let stdout = read(&format!("{s}.out"))?;
            let stderr = std::fs::read_to_string(dir.join(format!("{s}.err"))).unwrap_or_default();
            rec.commands.insert(
                cmd.to_string(),
                Recorded {
                    code,
                    stdout,
                    stderr,
                },
            );
        }
        rec.tools = read("tools.txt")?
            .lines()
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect();
        Ok(rec)
    }

    /// Write the recording to `dir` (created; files of a previous recording
    /// of the same commands are overwritten).
    pub fn save(&self, dir: &Path) -> std::io::Result<()> {
        std::fs::create_dir_all(dir).map_err(|e| io_err(dir, e))?;
        let write = |name: &str, text: &str| {
            let p = dir.join(name);
            std::fs::write(&p, text).map_err(|e| io_err(&p, e))
        };
        let mut index = String::new();
        for (cmd, r) in &self.commands {
            index.push_str(&format!("{}\t{cmd}\n", r.code));
            let s = slug(cmd);
            write(&format!("{s}.out"), &r.stdout)?;
            if !r.stderr.is_empty() {
                write(&format!("{s}.err"), &r.stderr)?;
            }
        }
        write("commands.tsv", &index)?;
        let mut tools: String = self.tools.iter().map(|t| format!("{t}\n")).collect();
        if tools.is_empty() {
            tools.push('\n');
        }
        write("tools.txt", &tools)
    }
}

/// Wraps the real runner and keeps every read it runs (writes are refused:
/// recording must not change the target).
#[derive(Debug, Default)]
pub struct Recorder {
    inner: ProcessRunner,
    rec: Mutex<Recording>,
}

impl Recorder {
    pub fn new() -> Recorder {
        Recorder::default()
    }

    /// What was recorded so far.
    pub fn recording(&self) -> Recording {
        self.rec.lock().map(|r| r.clone()).unwrap_or_default()
    }
}

impl Runner for Recorder {
    fn run(&self, cmd: &Cmd<'_>) -> Result<Output, ExecError> {
        if cmd.writes {
            return Err(ExecError::NotRecorded {
                cmd: cmd.line(),
                stage: "recording (writes are refused)".into(),
            });
        }
        let out = self.inner.run(cmd)?;
        if let Ok(mut r) = self.rec.lock() {
            r.commands.insert(
                cmd.line(),
                Recorded {
                    code: out.code.unwrap_or(-1),
                    stdout: out.stdout.clone(),
                    stderr: out.stderr.clone(),
                },
            );
        }
        Ok(out)
    }

    fn have_tool(&self, prog: &str) -> bool {
        let have = self.inner.have_tool(prog);
        if have {
            if let Ok(mut r) = self.rec.lock() {
                r.tools.insert(prog.to_string());
            }
        }
        have
    }
}

/// Record what [`crate::state::read`] runs on `netns` (JSON listings, and
/// the nft text listing too), for [`Replay`].
/// `sysctls`: the workload interface parameters to read too (the desired
/// state's [`crate::state::State::sysctl_keys`]); a replay must read the same.
pub fn record_state(
    netns: Option<String>,
    bird_config: &Path,
    sysctls: &[(netc_ir::IfName, netc_ir::IfaceSysctl)],
) -> Result<Recording, crate::Error> {
    let rec = std::sync::Arc::new(Recorder::new());
    let exec = super::Exec::with_runner(netns, rec.clone());
    crate::state::read_with(&exec, bird_config, true, sysctls)?;
    Ok(rec.recording())
}

/// A write the replay saw.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Write {
    /// `prog args…`
    pub cmd: String,
    pub stdin: Option<String>,
}

#[derive(Debug, Default)]
struct Progress {
    stage: usize,
    wrote: bool,
    writes: Vec<Write>,
    /// (command-line prefix, stderr, failures left): writes that fail.
    failing: Vec<(String, String, usize)>,
}

/// Replays recordings: see the module documentation.
#[derive(Debug)]
pub struct Replay {
    stages: Vec<Recording>,
    progress: Mutex<Progress>,
}

impl Replay {
    /// Serve reads from `stages` in turn, moving on after each run of writes.
    pub fn new(stages: Vec<Recording>) -> Replay {
        Replay {
            stages,
            progress: Mutex::new(Progress::default()),
        }
    }

    /// The next `times` writes whose command line starts with `prefix` exit
    /// 1 with `stderr`.
    pub fn fail_writes(self, prefix: &str, stderr: &str, times: usize) -> Replay {
        if let Ok(mut p) = self.progress.lock() {
            p.failing
                .push((prefix.to_string(), stderr.to_string(), times));
        }
        self
    }

    /// The writes run so far, in order.
    pub fn writes(&self) -> Vec<Write> {
        self.progress
            .lock()
            .map(|p| p.writes.clone())
            .unwrap_or_default()
    }

    /// The name of the stage reads come from now.
    pub fn stage(&self) -> String {
        let i = self.progress.lock().map(|p| p.stage).unwrap_or(0);
        self.stages
            .get(i)
            .map(|s| s.name.clone())
            .unwrap_or_default()
    }
}

impl Runner for Replay {
    fn run(&self, cmd: &Cmd<'_>) -> Result<Output, ExecError> {
        let line = cmd.line();
        let mut p = self.progress.lock().map_err(|_| ExecError::NotRecorded {
            cmd: line.clone(),
            stage: "(poisoned)".into(),
        })?;
        if cmd.writes {
            p.wrote = true;
            p.writes.push(Write {
                cmd: line.clone(),
                stdin: cmd.stdin.map(str::to_string),
            });
            let failed = p
                .failing
                .iter_mut()
                .find(|(pre, _, left)| *left > 0 && line.starts_with(pre.as_str()))
                .map(|(_, e, left)| {
                    *left -= 1;
                    e.clone()
                });
            return Ok(Output {
                code: Some(if failed.is_some() { 1 } else { 0 }),
                stdout: String::new(),
                stderr: failed.unwrap_or_default(),
                cmd: line,
            });
        }
        if p.wrote {
            p.wrote = false;
            if p.stage + 1 < self.stages.len() {
                p.stage += 1;
            }
        }
        let stage = self.stages.get(p.stage);
        match stage.and_then(|s| s.commands.get(&line)) {
            Some(r) => Ok(Output {
                code: Some(r.code),
                stdout: r.stdout.clone(),
                stderr: r.stderr.clone(),
                cmd: line,
            }),
            None => Err(ExecError::NotRecorded {
                cmd: line,
                stage: stage.map(|s| s.name.clone()).unwrap_or_default(),
            }),
        }
    }

    fn have_tool(&self, prog: &str) -> bool {
        let i = self.progress.lock().map(|p| p.stage).unwrap_or(0);
        self.stages.get(i).is_some_and(|s| s.tools.contains(prog))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exec::Exec;
    use std::sync::Arc;

    fn rec(name: &str, out: &str) -> Recording {
        let mut r = Recording {
            name: name.into(),
            ..Recording::default()
        };
        r.commands.insert(
            "ip -j neigh".into(),
            Recorded {
                code: 0,
                stdout: out.into(),
                stderr: String::new(),
            },
        );
        r.tools.insert("ip".into());
        r
    }

    #[test]
    fn reads_move_to_the_next_stage_only_after_writes() {
        let replay = Arc::new(Replay::new(vec![rec("a", "A"), rec("b", "B")]));
        let exec = Exec::with_runner(Some("ns".into()), replay.clone());
        let read = || exec.read("ip", &["-j", "neigh"]).map(|o| o.stdout);
        assert_eq!(read().ok().as_deref(), Some("A"));
        assert_eq!(read().ok().as_deref(), Some("A"));
        let w = exec.write("ip", &["-batch", "-"], Some("link del x\n"));
        assert!(w.is_ok_and(|o| o.success()));
        assert_eq!(read().ok().as_deref(), Some("B"));
        // No further stage: stays at the last one.
        let _ = exec.write("ip", &["-batch", "-"], Some("x\n"));
        assert_eq!(read().ok().as_deref(), Some("B"));
        assert_eq!(replay.writes().len(), 2);
        assert_eq!(replay.writes()[0].stdin.as_deref(), Some("link del x\n"));
        assert!(matches!(
            exec.read("ip", &["-j", "route"]),
            Err(ExecError::NotRecorded { .. })
        ));
    }

    #[test]
    fn failing_writes_exit_non_zero() {
        let replay = Arc::new(Replay::new(vec![rec("a", "A")]).fail_writes("nft", "Error: no", 1));
        let exec = Exec::with_runner(None, replay);
        let o = exec.write("nft", &["-f", "-"], Some("x"));
        assert!(o.is_ok_and(|o| !o.success() && o.stderr == "Error: no"));
        // Only once.
        let o = exec.write("nft", &["-f", "-"], Some("x"));
        assert!(o.is_ok_and(|o| o.success()));
    }

    #[test]
    fn save_and_load_round_trip() {
        let dir = std::env::temp_dir().join(format!("netc-replay-{}", std::process::id()));
        let mut r = rec("x", "[]\n");
        r.commands.insert(
            "nft -j list table inet netc".into(),
            Recorded {
                code: 1,
                stdout: String::new(),
                stderr: "Error: No such file or directory\n".into(),
            },
        );
        assert!(r.save(&dir).is_ok());
        let back = Recording::load(&dir);
        let _ = std::fs::remove_dir_all(&dir);
        let back = back.unwrap_or_default();
        assert_eq!(back.commands, r.commands);
        assert_eq!(back.tools, r.tools);
    }
}
