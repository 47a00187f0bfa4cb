//! Arbitrary text → `Selector::parse`. A parse never panics; an error points
//! inside the input at a character boundary; a selector's canonical text
//! parses back to an equal selector and is a fixed point; evaluation on
//! labels made from the input never panics.
#![no_main]
use libfuzzer_sys::fuzz_target;
use netc_compiler::selector::Selector;
use std::collections::BTreeMap;

fuzz_target!(|data: &[u8]| {
    let Ok(src) = std::str::from_utf8(data) else {
        return;
    };
    match Selector::parse(src) {
        Err(e) => {
            assert!(
                e.offset <= src.len(),
                "error offset {} past {}",
                e.offset,
                src.len()
            );
            assert!(
                src.is_char_boundary(e.offset),
                "error offset inside a character"
            );
            let _ = e.to_string();
        }
        Ok(s) => {
            let text = s.to_string();
            let again = Selector::parse(&text)
                .unwrap_or_else(|e| panic!("canonical text {text:?} does not parse: {e}"));
            assert_eq!(
                again, s,
                "canonical text {text:?} parses to a different selector"
            );
            assert_eq!(
                again.to_string(),
                text,
                "canonical text is not a fixed point"
            );
            let mut labels = BTreeMap::new();
            for (i, l) in s.labels().into_iter().enumerate() {
                labels.insert(
                    l,
                    if i % 2 == 0 {
                        String::new()
                    } else {
                        src.to_string()
                    },
                );
            }
            let a = s.matches(&labels);
            assert_eq!(
                a,
                again.matches(&labels),
                "re-parsed selector evaluates differently"
            );
            let _ = s.matches(&BTreeMap::new());
        }
    }
});
