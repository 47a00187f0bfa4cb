//! Reading an [`Elem`] from JSON, fast for the shapes netc's sets hold.
//!
//! `Elem` is an untagged enum: serde's derived reader buffers each element
//! and tries the variants in order, building an error message for every
//! variant that does not fit. A merged set's element is a concatenation of
//! a prefix and a port — the fifth variant, its parts the second and
//! third — so reading 100,000 of them (a cached canonical table, nft's
//! JSON listing) made some 700,000 error messages: ~150 ms of a one-rule
//! apply at 100,000 rules. Here a string, a number, a prefix, a range, a
//! concatenation and a map entry are recognised by their shape; anything
//! else goes to the derived reader ([`Derived`]), so every input reads as
//! it did (the test below holds the two to the same result).

use super::nft::{ConcatElem, Elem, Prefix, PrefixElem, RangeElem, Verdict, WrappedElem};
use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// The derived reader: the variants in `Elem`'s order.
#[derive(Deserialize)]
#[serde(untagged)]
enum Derived {
    Str(String),
    Num(u64),
    Prefix(PrefixElem),
    Range(RangeElem),
    Concat(ConcatElem),
    Wrapped(WrappedElem),
    Verdict(Verdict),
    Mapping(Box<(Elem, Elem)>),
    Other(Value),
}

impl From<Derived> for Elem {
    fn from(d: Derived) -> Elem {
        match d {
            Derived::Str(s) => Elem::Str(s),
            Derived::Num(n) => Elem::Num(n),
            Derived::Prefix(p) => Elem::Prefix(p),
            Derived::Range(r) => Elem::Range(r),
            Derived::Concat(c) => Elem::Concat(c),
            Derived::Wrapped(w) => Elem::Wrapped(Box::new(w)),
            Derived::Verdict(v) => Elem::Verdict(v),
            Derived::Mapping(m) => Elem::Mapping(m),
            Derived::Other(v) => Elem::Other(Box::new(v)),
        }
    }
}

impl<'de> Deserialize<'de> for Elem {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Elem, D::Error> {
        d.deserialize_any(Reader)
    }
}

/// Reads the usual shapes straight from the input: a string, a number and
/// a concatenation without a JSON tree in between (a tree per element was
/// half of reading a 100,000-element table). The rest is read as a tree
/// and handed to [`from_value`].
struct Reader;

impl<'de> Visitor<'de> for Reader {
    type Value = Elem;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a set element")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Elem, E> {
        Ok(Elem::Str(v.to_string()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Elem, E> {
        Ok(Elem::Str(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Elem, E> {
        Ok(Elem::Num(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Elem, E> {
        tree(Value::from(v))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Elem, E> {
        tree(Value::from(v))
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Elem, E> {
        tree(Value::Bool(v))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Elem, E> {
        tree(Value::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Elem, E> {
        tree(Value::Null)
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Elem, A::Error> {
        let mut items = Vec::new();
        while let Some(v) = seq.next_element::<Value>()? {
            items.push(v);
        }
        tree(Value::Array(items))
    }

    fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Elem, A::Error> {
        let mut obj = serde_json::Map::new();
        if let Some(key) = map.next_key::<String>()? {
            if key == "concat" {
                // A list is read element by element; anything else (or a
                // second key) as the tree it is.
                let parts: ConcatParts = map.next_value()?;
                match (parts, map.next_key::<String>()?) {
                    (ConcatParts::Elems(concat), None) => {
                        return Ok(Elem::Concat(ConcatElem { concat }));
                    }
                    (parts, next) => {
                        obj.insert(key, parts.into_value().map_err(de::Error::custom)?);
                        if let Some(k) = next {
                            let v = map.next_value::<Value>()?;
                            obj.insert(k, v);
                        }
                    }
                }
            } else {
                let v = map.next_value::<Value>()?;
                obj.insert(key, v);
            }
        }
        while let Some((k, v)) = map.next_entry::<String, Value>()? {
            obj.insert(k, v);
        }
        tree(Value::Object(obj))
    }
}

/// A concatenation's value: a list read element by element, or any other
/// value as a tree.
enum ConcatParts {
    Elems(Vec<Elem>),
    Tree(Value),
}

impl ConcatParts {
    /// The tree the value was read from, for a concatenation beside other
    /// keys (which nft never lists): each element written back as it
    /// reads. That is the tree as read except for what an element's
    /// reading drops (a `null` property of a wrapped element), and the
    /// whole is then kept as [`Elem::Other`], as the derived reader keeps it.
    fn into_value(self) -> Result<Value, serde_json::Error> {
        match self {
            ConcatParts::Elems(v) => serde_json::to_value(v),
            ConcatParts::Tree(v) => Ok(v),
        }
    }
}

impl<'de> Deserialize<'de> for ConcatParts {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<ConcatParts, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = ConcatParts;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a concatenation")
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<ConcatParts, A::Error> {
                let mut v = Vec::with_capacity(seq.size_hint().unwrap_or(4));
                while let Some(e) = seq.next_element::<Elem>()? {
                    v.push(e);
                }
                Ok(ConcatParts::Elems(v))
            }
            fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<ConcatParts, A::Error> {
                let v = Value::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(ConcatParts::Tree(v))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ConcatParts, E> {
                Ok(ConcatParts::Tree(Value::from(v)))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<ConcatParts, E> {
                Ok(ConcatParts::Tree(Value::from(v)))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<ConcatParts, E> {
                Ok(ConcatParts::Tree(Value::from(v)))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<ConcatParts, E> {
                Ok(ConcatParts::Tree(Value::from(v)))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<ConcatParts, E> {
                Ok(ConcatParts::Tree(Value::Bool(v)))
            }
            fn visit_unit<E: de::Error>(self) -> Result<ConcatParts, E> {
                Ok(ConcatParts::Tree(Value::Null))
            }
        }
        d.deserialize_any(V)
    }
}

/// [`from_value`] with a reader's error.
fn tree<E: de::Error>(v: Value) -> Result<Elem, E> {
    from_value(v).map_err(E::custom)
}

/// The element `v` holds, as the derived reader would read it.
fn from_value(v: Value) -> Result<Elem, serde_json::Error> {
    match v {
        Value::String(s) => Ok(Elem::Str(s)),
        Value::Number(n) if n.is_u64() => Ok(Elem::Num(n.as_u64().unwrap_or_default())),
        // Any two-element array is a map entry: no earlier variant reads one.
        Value::Array(a) => match <[Value; 2]>::try_from(a) {
            Ok([k, v]) => Ok(Elem::Mapping(Box::new((from_value(k)?, from_value(v)?)))),
            Err(a) => slow(Value::Array(a)),
        },
        Value::Object(m) if m.len() == 1 => {
            let (key, inner) = m.into_iter().next().unwrap_or_default();
            match (key.as_str(), inner) {
                ("concat", Value::Array(parts)) => Ok(Elem::Concat(ConcatElem {
                    concat: parts
                        .into_iter()
                        .map(from_value)
                        .collect::<Result<_, _>>()?,
                })),
                ("range", Value::Array(ends)) if ends.len() == 2 => {
                    match <[Value; 2]>::try_from(ends) {
                        Ok([a, b]) => Ok(Elem::Range(RangeElem {
                            range: Box::new((from_value(a)?, from_value(b)?)),
                        })),
                        Err(ends) => slow(json_object("range", Value::Array(ends))),
                    }
                }
                ("prefix", Value::Object(p)) if prefix_shape(&p) => {
                    let addr = p["addr"].as_str().unwrap_or_default().to_string();
                    let len = p["len"].as_u64().and_then(|l| u8::try_from(l).ok());
                    Ok(Elem::Prefix(PrefixElem {
                        prefix: Prefix {
                            addr,
                            len: len.unwrap_or_default(),
                        },
                    }))
                }
                (key, inner) => slow(json_object(key, inner)),
            }
        }
        v => slow(v),
    }
}

/// `{key: inner}`.
fn json_object(key: &str, inner: Value) -> Value {
    Value::Object([(key.to_string(), inner)].into_iter().collect())
}

/// `{"addr": <string>, "len": <0..=255>}` and nothing else.
fn prefix_shape(p: &serde_json::Map<String, Value>) -> bool {
    p.len() == 2
        && p.get("addr").is_some_and(Value::is_string)
        && p.get("len")
            .and_then(Value::as_u64)
            .is_some_and(|l| l <= u64::from(u8::MAX))
}

fn slow(v: Value) -> Result<Elem, serde_json::Error> {
    serde_json::from_value::<Derived>(v).map(Elem::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Both readers on every shape: the ones recognised, their near misses,
    /// and the ones left to the derived reader.
    #[test]
    fn reads_as_the_derived_reader_does() {
        let samples = [
            r#""10.0.0.1""#,
            r#"22"#,
            r#"-1"#,
            r#"1.5"#,
            r#"{"prefix":{"addr":"10.0.0.0","len":24}}"#,
            r#"{"prefix":{"addr":"10.0.0.0","len":300}}"#,
            r#"{"prefix":{"addr":"10.0.0.0","len":24,"x":1}}"#,
            r#"{"prefix":{"addr":7,"len":24}}"#,
            r#"{"range":["10.0.0.1","10.0.0.9"]}"#,
            r#"{"range":[80,90]}"#,
            r#"{"range":[80]}"#,
            r#"{"range":[80,90,100]}"#,
            r#"{"concat":[{"prefix":{"addr":"10.0.0.0","len":24}},10000,"tcp"]}"#,
            r#"{"concat":[{"range":[1,2]},{"elem":{"val":3,"comment":"c"}}]}"#,
            r#"{"concat":5}"#,
            r#"{"concat":"tcp"}"#,
            r#"{"concat":{"a":[1]}}"#,
            r#"{"concat":null}"#,
            r#"{"concat":[],"x":1}"#,
            r#"{"concat":[1,"a",{"range":[1,2]}],"x":1,"y":[2]}"#,
            r#"{"x":1,"concat":[1]}"#,
            r#"{"concat":[{"concat":[1,2]},[3,4],-2,0.5,true,null]}"#,
            r#"["eth0",{"goto":{"target":"c"}}]"#,
            r#"["lo",{"accept":null}]"#,
            r#"[{"prefix":{"addr":"10.0.0.0","len":8}},{"jump":{"target":"x"}}]"#,
            r#"[1]"#,
            r#"[1,2,3]"#,
            r#"[{"prefix":{"addr":"10.0.0.0","len":8}}]"#,
            r#"{"elem":{"val":"10.0.0.1","timeout":30,"expires":10}}"#,
            r#"{"elem":{"val":{"concat":[1,2]},"counter":{"packets":1,"bytes":2}}}"#,
            r#"{"accept":null}"#,
            r#"{"jump":{"target":"c"}}"#,
            r#"{"set":"@x"}"#,
            r#"{}"#,
            r#"null"#,
            r#"true"#,
        ];
        for s in samples {
            let fast: Elem = serde_json::from_str(s).expect(s);
            let derived: Elem = serde_json::from_str::<Derived>(s).expect(s).into();
            assert_eq!(fast, derived, "{s}");
            // And what it reads writes back as it was read (the cache).
            let again: Elem =
                serde_json::from_str(&serde_json::to_string(&fast).expect(s)).expect(s);
            assert_eq!(again, fast, "{s}");
        }
    }
}
