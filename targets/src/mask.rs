//! Secret masking for anything netc prints: plans, diffs, logs.

/// Replace the value of every BIRD `password "…"` statement with `"********"`.
pub fn mask_secrets(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        match line.find("password \"") {
            Some(i) => {
                out.push_str(&line[..i]);
                out.push_str("password \"********\";");
                if line.ends_with('\n') {
                    out.push('\n');
                }
            }
            None => out.push_str(line),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn masks_password_lines_only() {
        let t = "protocol bgp x {\n  password \"s3cr\\\"et\";\n  neighbor 10.0.0.1 as 64512;\n}\n";
        let m = super::mask_secrets(t);
        assert!(!m.contains("s3cr"));
        assert!(m.contains("password \"********\";\n"));
        assert!(m.contains("neighbor 10.0.0.1"));
    }
}
