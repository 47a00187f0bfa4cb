//! Subcommand definitions (clap derive) and dispatch.

mod apply;
mod build;
mod common;
mod confirm;
mod explain;
mod plan;
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
    /// Show what apply would change on the host (or --netns), terraform-style.
    Plan(plan::Args),
    /// Converge the host (or --netns) to a node's desired state: verified, rolled back on failure.
    Apply(apply::Args),
    /// Keep an apply made with --confirm-within (or --rollback to undo it now).
    Confirm(confirm::Args),
    /// Print the JSON Schema of one kind, or of all kinds as a JSON object.
    Schema(schema::Args),
    /// Explain a diagnostic code (e.g. `netc explain E0301`).
    Explain(explain::Args),
}

pub fn run(cli: Cli) -> anyhow::Result<u8> {
    match cli.command {
        Command::Validate(a) => validate::run(a),
        Command::Build(a) => build::run(a),
        Command::Plan(a) => plan::run(a),
        Command::Apply(a) => apply::run(a),
        Command::Confirm(a) => confirm::run(a),
        Command::Schema(a) => schema::run(a),
        Command::Explain(a) => explain::run(a),
    }
}
