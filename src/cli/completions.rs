//! `netc completions SHELL`: a completion script on stdout.
//!
//! bash:  `netc completions bash > /etc/bash_completion.d/netc`
//! zsh:   `netc completions zsh > "${fpath[1]}/_netc"`
//! fish:  `netc completions fish > ~/.config/fish/completions/netc.fish`

use clap::CommandFactory;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

pub fn run(a: Args) -> anyhow::Result<u8> {
    let mut cmd = super::Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(a.shell, &mut cmd, "netc", &mut out);
    use std::io::Write;
    std::io::stdout().write_all(&out)?;
    Ok(0)
}
