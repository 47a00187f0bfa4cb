//! `netc validate`: the pre-commit check.

use super::common::{self, Format};
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Files or directories (searched recursively for *.yaml/*.yml); `-` reads stdin.
    pub paths: Vec<PathBuf>,
    /// Output format for diagnostics.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Treat warnings as errors.
    #[arg(long)]
    pub deny_warnings: bool,
}

/// Exit 0 clean, 1 errors (or warnings with --deny-warnings), 2 usage/I-O errors.
pub fn run(a: Args) -> anyhow::Result<u8> {
    let c = common::check_inputs(&a.paths);
    match a.format {
        Format::Text => {
            common::print_diagnostics(&c);
            eprintln!("{}", common::summary(&c.diags, c.sources.len()));
        }
        Format::Json => {
            let items: Vec<_> = c
                .diags
                .items
                .iter()
                .map(|d| d.to_json(&c.sources))
                .collect();
            let out = serde_json::json!({
                "diagnostics": items,
                "errors": c.diags.error_count(),
                "warnings": c.diags.warning_count(),
                "notes": c.diags.info_count(),
                "files": c.sources.len(),
            });
            println!("{}", serde_json::to_string_pretty(&out)?);
        }
    }
    Ok(if c.io_error {
        2
    } else if c.diags.has_errors() || (a.deny_warnings && c.diags.warning_count() > 0) {
        1
    } else {
        0
    })
}
