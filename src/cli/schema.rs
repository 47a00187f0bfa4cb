//! `netc schema [KIND]`: the embedded JSON Schemas, for editors.

use netc_compiler::model::Kind;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Kind to print (e.g. IPPool); all kinds as one JSON object when omitted.
    pub kind: Option<String>,
}

pub fn run(a: Args) -> anyhow::Result<u8> {
    match a.kind {
        Some(k) => {
            let kind = Kind::ALL
                .iter()
                .copied()
                .find(|x| x.as_str().eq_ignore_ascii_case(&k))
                .ok_or_else(|| {
                    anyhow::anyhow!(
                        "unknown kind `{k}`; kinds: {}",
                        Kind::ALL
                            .iter()
                            .map(|k| k.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                })?;
            print!("{}", netc_compiler::schema::schema_text(kind));
        }
        None => {
            let mut all = serde_json::Map::new();
            for k in Kind::ALL {
                let v: serde_json::Value =
                    serde_json::from_str(netc_compiler::schema::schema_text(*k))?;
                all.insert(k.as_str().to_string(), v);
            }
            println!("{}", serde_json::to_string_pretty(&all)?);
        }
    }
    Ok(0)
}
