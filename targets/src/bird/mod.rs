//! BIRD 2 config (being written).
use crate::{Artifact, EmitError, Secrets};
use netc_compiler::ir::HostIr;

pub fn emit(_ir: &HostIr, _secrets: &dyn Secrets) -> Result<Artifact, EmitError> {
    Ok(Artifact {
        file_name: "bird.conf",
        contents: String::new(),
        sensitive: false,
    })
}
