//! (being written)
use netc_compiler::ir::HostIr;

pub fn emit(_ir: &HostIr) -> String {
    String::new()
}
