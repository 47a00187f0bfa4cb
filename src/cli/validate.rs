//! `netc validate`: the pre-commit and CI check.

use super::common;
use netc_compiler::diag::{ci, JSON_FORMAT_VERSION};
use std::path::PathBuf;

/// How `validate` reports.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum DiagFormat {
    /// rustc-style, with the source line (colour on a terminal), on stderr.
    #[default]
    Text,
    /// One JSON document on stdout (`format_version` says which shape).
    Json,
    /// GitHub Actions workflow annotations (`::error file=…,line=…::…`) on stdout.
    Github,
    /// A SARIF 2.1.0 log on stdout (GitHub code scanning, IDEs).
    Sarif,
}

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Files or directories (searched recursively for *.yaml/*.yml); `-`
    /// reads stdin [default: NETC_INPUT, the config file's `input`, else the
    /// current directory when it holds netc input].
    pub paths: Vec<PathBuf>,
    /// Output format for diagnostics.
    #[arg(long, value_enum, default_value_t = DiagFormat::Text)]
    pub format: DiagFormat,
    /// Treat warnings as errors.
    #[arg(long)]
    pub deny_warnings: bool,
}

/// Exit 0 clean, 1 errors (or warnings with --deny-warnings), 2 usage/I-O errors.
pub fn run(a: Args) -> anyhow::Result<u8> {
    let paths = match super::config::inputs(&a.paths) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e:#}");
            return Ok(2);
        }
    };
    let c = common::check_inputs(&paths);
    let summary = common::summary(&c.diags, c.sources.len());
    match a.format {
        DiagFormat::Text => {
            common::print_diagnostics(&c);
            eprintln!("{summary}");
        }
        DiagFormat::Json => {
            let items: Vec<_> = c
                .diags
                .items
                .iter()
                .map(|d| d.to_json(&c.sources))
                .collect();
            let out = serde_json::json!({
                "format_version": JSON_FORMAT_VERSION,
                "diagnostics": items,
                "errors": c.diags.error_count(),
                "warnings": c.diags.warning_count(),
                "notes": c.diags.info_count(),
                "files": c.sources.len(),
            });
            println!("{}", serde_json::to_string_pretty(&out)?);
        }
        DiagFormat::Github => {
            print!("{}", ci::github_annotations(&c.diags.items, &c.sources));
            eprintln!("{summary}");
        }
        DiagFormat::Sarif => {
            let log = ci::sarif(&c.diags.items, &c.sources, env!("CARGO_PKG_VERSION"));
            println!("{}", serde_json::to_string_pretty(&log)?);
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
