//! The BIRD config file: a unified diff, secrets masked.

use super::{Action, BirdOp, Change, Op, Step};
use crate::state::BirdState;
use netc_targets::mask::mask_secrets;

pub fn diff(live: &BirdState, want: &BirdState) -> (Vec<Change>, Vec<Op>) {
    if !want.managed {
        return (Vec::new(), Vec::new());
    }
    let path = want.path.display().to_string();
    let old = live.file.as_ref().map(|f| f.contents.as_str());
    let new = want.file.as_ref().map(|f| f.contents.as_str());
    if old == new {
        return (Vec::new(), Vec::new());
    }
    let (action, op) = match (&live.file, &want.file) {
        (_, None) => (
            Action::Delete,
            BirdOp::Remove {
                path: want.path.clone(),
            },
        ),
        (l, Some(w)) => (
            if l.is_some() {
                Action::Update
            } else {
                Action::Create
            },
            BirdOp::Install {
                path: want.path.clone(),
                contents: w.contents.clone(),
                sensitive: w.sensitive,
                existing: l.as_ref().map(|f| f.meta),
            },
        ),
    };
    let (mo, mn) = (
        mask_secrets(old.unwrap_or("")),
        mask_secrets(new.unwrap_or("")),
    );
    let mut c = Change::new(Step::Bird, action, "file", path.clone());
    if mo == mn {
        c.note = Some("a password changed (values hidden)".into());
    } else {
        let td = similar::TextDiff::from_lines(&mo, &mn);
        let d = td
            .unified_diff()
            .context_radius(3)
            .header(
                if old.is_some() { &path } else { "/dev/null" },
                if new.is_some() { &path } else { "/dev/null" },
            )
            .to_string();
        c.diff = Some(d);
    }
    (vec![c], vec![Op::Bird(op)])
}
