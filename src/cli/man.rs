//! `netc man`: the manual page (roff) on stdout, or every page into a directory.
//!
//! `netc man | man -l -`, or `netc man --dir /usr/local/share/man/man1`
//! (netc.1 plus netc-build.1, netc-plan.1, … for each subcommand).

use anyhow::Context;
use clap::CommandFactory;
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Write netc.1 and one page per subcommand (netc-SUBCOMMAND.1) into DIR.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

pub fn run(a: Args) -> anyhow::Result<u8> {
    let cmd = super::Cli::command();
    match a.dir {
        Some(dir) => {
            std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
            clap_mangen::generate_to(cmd, &dir)
                .with_context(|| format!("writing man pages into {}", dir.display()))?;
            eprintln!("wrote man pages into {}", dir.display());
        }
        None => {
            let mut out = Vec::new();
            clap_mangen::Man::new(cmd).render(&mut out)?;
            use std::io::Write;
            std::io::stdout().write_all(&out)?;
        }
    }
    Ok(0)
}
