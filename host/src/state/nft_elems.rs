//! A set's elements, read from the cache's JSON only when something looks
//! at them.
//!
//! Why: a plan reads the canonical table netc applied last from its cache
//! (`crate::cache`), and at 100,000 rules that is 9 MB of JSON, 100,000
//! elements: reading them all took ~130 ms of a one-rule apply
//! (BENCHMARKS.md, "Plan and apply"). A one-rule change touches one or two
//! sets; the others are carried from the table applied last to the
//! prediction, compared with the live table read from the same cache
//! entry, and written back to the cache, all without anyone needing their
//! elements one by one. So an [`Elems`] read from JSON keeps the JSON
//! text, and turns it into elements on first use ([`std::ops::Deref`]; all
//! copies share that reading) or first change ([`Elems::make_mut`]).
//!
//! What stays exact:
//! - Two lists that both still hold the JSON they were read from are equal
//!   exactly when their texts are: the texts were written by the same
//!   serializer from element lists, and reading them back is a function.
//!   Any other pair is compared element by element.
//! - Written out, a list still holding its text writes that text: the
//!   same bytes serializing its elements would give.
//! - A text that does not read as a list of elements (a damaged cache
//!   entry) reads as one element that nothing equals
//!   ([`Elem::Other`] holding the text), so the set differs from any
//!   table it is compared with and the plan loads it whole: a damaged
//!   cache costs time, never a wrong plan.

use super::nft::Elem;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;
use std::sync::{Arc, OnceLock};

/// A set's elements; see the module's notes.
#[derive(Clone)]
pub struct Elems(Repr);

#[derive(Clone)]
enum Repr {
    /// Read from JSON and unchanged since; shared by every copy, so the
    /// elements are read at most once whichever copy asks first.
    Read(Arc<Read>),
    /// Given as elements, or changed.
    Owned(Vec<Elem>),
}

struct Read {
    raw: Box<RawValue>,
    parsed: OnceLock<Vec<Elem>>,
}

impl Elems {
    /// The elements, to change: read first if they were not, and the JSON
    /// they came from forgotten.
    pub fn make_mut(&mut self) -> &mut Vec<Elem> {
        if let Repr::Read(r) = &self.0 {
            let v = r.elements().clone();
            self.0 = Repr::Owned(v);
        }
        match &mut self.0 {
            Repr::Owned(v) => v,
            Repr::Read(_) => unreachable!("replaced above"),
        }
    }

    /// Unchanged since read from JSON: what was known of that JSON (a
    /// kernel digest stored beside it) still holds.
    pub fn is_read(&self) -> bool {
        matches!(self.0, Repr::Read(_))
    }

    /// Whether the elements are still only JSON text: nothing has looked
    /// at them yet.
    pub fn unread(&self) -> bool {
        matches!(&self.0, Repr::Read(r) if r.parsed.get().is_none())
    }
}

impl Read {
    fn elements(&self) -> &Vec<Elem> {
        self.parsed.get_or_init(|| {
            serde_json::from_str(self.raw.get()).unwrap_or_else(|_| {
                vec![Elem::Other(Box::new(serde_json::Value::String(
                    self.raw.get().to_string(),
                )))]
            })
        })
    }
}

impl Default for Elems {
    fn default() -> Elems {
        Elems(Repr::Owned(Vec::new()))
    }
}

impl From<Vec<Elem>> for Elems {
    fn from(v: Vec<Elem>) -> Elems {
        Elems(Repr::Owned(v))
    }
}

impl FromIterator<Elem> for Elems {
    fn from_iter<I: IntoIterator<Item = Elem>>(it: I) -> Elems {
        Elems::from(it.into_iter().collect::<Vec<_>>())
    }
}

/// The elements, read on first use.
impl std::ops::Deref for Elems {
    type Target = Vec<Elem>;
    fn deref(&self) -> &Vec<Elem> {
        match &self.0 {
            Repr::Read(r) => r.elements(),
            Repr::Owned(v) => v,
        }
    }
}

impl<'a> IntoIterator for &'a Elems {
    type Item = &'a Elem;
    type IntoIter = std::slice::Iter<'a, Elem>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl PartialEq for Elems {
    fn eq(&self, o: &Elems) -> bool {
        match (&self.0, &o.0) {
            (Repr::Read(a), Repr::Read(b)) => Arc::ptr_eq(a, b) || a.raw.get() == b.raw.get(),
            _ => **self == **o,
        }
    }
}

impl std::fmt::Debug for Elems {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&**self, f)
    }
}

impl Serialize for Elems {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match &self.0 {
            Repr::Read(r) => r.raw.serialize(s),
            Repr::Owned(v) => v.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for Elems {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Elems, D::Error> {
        let raw: Box<RawValue> = Deserialize::deserialize(d)?;
        Ok(Elems(Repr::Read(Arc::new(Read {
            raw,
            parsed: OnceLock::new(),
        }))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn elems(json: &str) -> Elems {
        serde_json::from_str(json).unwrap()
    }

    const SET: &str = r#"["10.0.0.1",{"prefix":{"addr":"10.1.0.0","len":16}},{"concat":[{"prefix":{"addr":"10.2.0.0","len":24}},80]}]"#;

    #[test]
    fn read_elements_equal_the_elements_read_at_once() {
        let lazy = elems(SET);
        assert!(lazy.unread());
        let eager: Vec<Elem> = serde_json::from_str(SET).unwrap();
        assert_eq!(*lazy, eager);
        assert!(!lazy.unread());
    }

    #[test]
    fn unread_lists_compare_by_their_text_and_read_ones_by_their_elements() {
        let (a, b) = (elems(SET), elems(SET));
        assert_eq!(a, b);
        assert!(a.unread() && b.unread(), "equal texts need no reading");
        // Copies share one reading.
        let copy = a.clone();
        assert_eq!(copy.len(), 3);
        assert!(!a.unread());
        let other = elems(r#"["10.0.0.1"]"#);
        assert_ne!(a, other);
        // One read, one not: by elements.
        let eager = Elems::from(serde_json::from_str::<Vec<Elem>>(SET).unwrap());
        assert_eq!(eager, a);
        assert_eq!(a, eager);
        assert_ne!(eager, other);
    }

    #[test]
    fn written_out_they_give_the_bytes_their_elements_give() {
        let eager: Vec<Elem> = serde_json::from_str(SET).unwrap();
        let written = serde_json::to_string(&eager).unwrap();
        let lazy = elems(&written);
        assert_eq!(serde_json::to_string(&lazy).unwrap(), written);
        assert!(lazy.unread());
        // Changed: the text is forgotten and the elements written.
        let mut changed = lazy.clone();
        changed.make_mut().remove(0);
        // The original keeps its text (and its elements).
        assert_eq!(serde_json::to_string(&lazy).unwrap(), written);
        assert_eq!(*lazy, eager);
        let want = serde_json::to_string(&eager[1..]).unwrap();
        assert_eq!(serde_json::to_string(&changed).unwrap(), want);
        assert_ne!(changed, lazy);
    }

    #[test]
    fn a_damaged_text_equals_nothing() {
        let broken = elems(r#"{"not":"a list"}"#);
        assert_eq!(broken.len(), 1);
        assert_ne!(broken, Elems::from(Vec::new()));
        assert_ne!(broken, elems(SET));
        assert!(matches!(broken[0], Elem::Other(_)));
    }
}
