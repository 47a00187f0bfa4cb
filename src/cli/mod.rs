//! Subcommand definitions (clap derive) and dispatch.

mod build;
mod common;
mod explain;
mod schema;
mod validate;

use clap::{Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(
    name = "netc",
    version,
    about = "Declarative network compiler: Calico-style YAML in, host network state out",
    propagate_version = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Check desired state: schema, Calico's rules and cross-resource checks.
    Validate(validate::Args),
    /// Compile desired state into per-node artifacts (or --check committed ones).
    Build(build::Args),
    /// Print the JSON Schema of one kind, or of all kinds as a JSON object.
    Schema(schema::Args),
    /// Explain a diagnostic code (e.g. `netc explain E0301`).
    Explain(explain::Args),
}

pub fn run(cli: Cli) -> anyhow::Result<u8> {
    match cli.command {
        Command::Validate(a) => validate::run(a),
        Command::Build(a) => build::run(a),
        Command::Schema(a) => schema::run(a),
        Command::Explain(a) => explain::run(a),
    }
}
