//! A parsed TOML document that keeps the byte span of every key and value,
//! so that validation errors can point at the exact place in the file.
//!
//! `toml::Value` drops spans, and the errors of serde structs with
//! `deny_unknown_fields` name neither the dotted key nor the array index.
//! This tree keeps spans, keys and array order, and leaves every check to the
//! code that reads it.

use std::fmt;
use std::ops::Range;

use serde::de::value::MapAccessDeserializer;
use serde::de::{self, Deserialize, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_spanned::__unstable::{END_FIELD, NAME as SPANNED_NAME, START_FIELD, VALUE_FIELD};
use serde_spanned::Spanned;

/// A table's entries in the order the parser reports them, which is the
/// order of the file for the keys of one table.
#[derive(Debug, Default)]
pub(crate) struct Table {
    pub entries: Vec<Entry>,
}

#[derive(Debug)]
pub(crate) struct Entry {
    pub key: String,
    /// Span of the key; the value's span when the parser gives none.
    pub key_span: Range<usize>,
    pub value: Value,
}

#[derive(Debug)]
pub(crate) struct Value {
    pub kind: Kind,
    pub span: Range<usize>,
}

#[derive(Debug)]
pub(crate) enum Kind {
    String(String),
    Integer(i64),
    Float(f64),
    Boolean(bool),
    /// A TOML date, time or date-time, as written.
    Datetime(String),
    Array(Vec<Value>),
    Table(Table),
}

impl Table {
    pub fn get(&self, key: &str) -> Option<&Entry> {
        self.entries.iter().find(|entry| entry.key == key)
    }
}

impl Value {
    /// Describes the value's type and value for an error message, for
    /// example `integer -5` or `string "10"`.
    pub fn describe(&self) -> String {
        match &self.kind {
            Kind::String(text) => format!("string {text:?}"),
            Kind::Integer(number) => format!("integer {number}"),
            Kind::Float(number) => format!("float {number}"),
            Kind::Boolean(flag) => format!("boolean {flag}"),
            Kind::Datetime(text) => format!("datetime {text}"),
            Kind::Array(_) => "array".to_owned(),
            Kind::Table(_) => "table".to_owned(),
        }
    }
}

/// Parses `text` into a tree. The error is the TOML parser's, with its span.
pub(crate) fn parse_document(text: &str) -> Result<Table, toml::de::Error> {
    let root = AnySeed { span: 0..0 }.deserialize(toml::Deserializer::new(text))?;
    match root.kind {
        Kind::Table(table) => Ok(table),
        // A TOML document is always a table.
        other => unreachable!("the TOML parser returned a non-table root: {other:?}"),
    }
}

// NOTE: the tree relies on two conventions of toml 0.8 that are not part of
// its documented API. A value or key with a span arrives as a map with the
// three `serde_spanned::__unstable` fields, requested by asking for a struct
// with serde_spanned's private name. Values without a span (implicit tables
// such as `sources` in `[sources.postfix]`) and keys without a span arrive
// plainly. A datetime arrives as a map with one entry whose key is
// `DATETIME_MARKER` (toml_datetime 0.6 `__unstable::FIELD`) and whose value
// is the datetime as a string.
static SPANNED_FIELDS: [&str; 3] = [START_FIELD, END_FIELD, VALUE_FIELD];
const DATETIME_MARKER: &str = "$__toml_private_datetime";

/// Deserializes a value, asking the parser for its span. `fallback` is the
/// span to use when the parser has none: the key's span for a table entry,
/// the array's span for an array item.
struct SpannedSeed {
    fallback: Range<usize>,
}

impl<'de> DeserializeSeed<'de> for SpannedSeed {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        let visitor = TreeVisitor {
            span: self.fallback,
            spanned_protocol: true,
        };
        deserializer.deserialize_struct(SPANNED_NAME, &SPANNED_FIELDS, visitor)
    }
}

/// Deserializes a value whose span is already known.
struct AnySeed {
    span: Range<usize>,
}

impl<'de> DeserializeSeed<'de> for AnySeed {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        let visitor = TreeVisitor {
            span: self.span,
            spanned_protocol: false,
        };
        deserializer.deserialize_any(visitor)
    }
}

struct TreeVisitor {
    /// Span given to the value unless the spanned protocol supplies one.
    span: Range<usize>,
    /// Whether a map may be the spanned protocol's map rather than a table.
    spanned_protocol: bool,
}

impl TreeVisitor {
    fn value(self, kind: Kind) -> Value {
        Value {
            kind,
            span: self.span,
        }
    }

    /// Reads the rest of a spanned-protocol map whose `START_FIELD` key has
    /// already been read.
    fn read_spanned<'de, A: MapAccess<'de>>(mut map: A) -> Result<Value, A::Error> {
        let start: usize = map.next_value()?;
        let mut end = None;
        while let Some(key) = map.next_key_seed(KeySeed)? {
            match key.name.as_str() {
                END_FIELD => end = Some(map.next_value::<usize>()?),
                VALUE_FIELD => {
                    let end = end.ok_or_else(|| de::Error::missing_field(END_FIELD))?;
                    return map.next_value_seed(AnySeed { span: start..end });
                }
                other => return Err(de::Error::unknown_field(other, &SPANNED_FIELDS)),
            }
        }
        Err(de::Error::missing_field(VALUE_FIELD))
    }

    fn read_table<'de, A: MapAccess<'de>>(self, first_key: Key, mut map: A) -> Result<Value, A::Error> {
        let mut table = Table::default();
        let mut next_key = Some(first_key);
        while let Some(key) = next_key {
            let key_span = key.span.unwrap_or_else(|| self.span.clone());
            let value = map.next_value_seed(SpannedSeed {
                fallback: key_span.clone(),
            })?;
            table.entries.push(Entry {
                key: key.name,
                key_span,
                value,
            });
            next_key = map.next_key_seed(KeySeed)?;
        }
        Ok(self.value(Kind::Table(table)))
    }
}

impl<'de> Visitor<'de> for TreeVisitor {
    type Value = Value;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("a TOML value")
    }

    fn visit_bool<E: de::Error>(self, flag: bool) -> Result<Value, E> {
        Ok(self.value(Kind::Boolean(flag)))
    }

    fn visit_i64<E: de::Error>(self, number: i64) -> Result<Value, E> {
        Ok(self.value(Kind::Integer(number)))
    }

    fn visit_f64<E: de::Error>(self, number: f64) -> Result<Value, E> {
        Ok(self.value(Kind::Float(number)))
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Value, E> {
        Ok(self.value(Kind::String(text.to_owned())))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        let seed = || SpannedSeed {
            fallback: self.span.clone(),
        };
        while let Some(item) = seq.next_element_seed(seed())? {
            items.push(item);
        }
        Ok(self.value(Kind::Array(items)))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let Some(first_key) = map.next_key_seed(KeySeed)? else {
            return Ok(self.value(Kind::Table(Table::default())));
        };
        if first_key.span.is_none() {
            if self.spanned_protocol && first_key.name == START_FIELD {
                return Self::read_spanned(map);
            }
            if first_key.name == DATETIME_MARKER {
                let text: String = map.next_value()?;
                return Ok(self.value(Kind::Datetime(text)));
            }
        }
        self.read_table(first_key, map)
    }
}

/// A table key with its span, or without one when the parser passes a plain
/// string (a protocol field name, or a key that has no span).
struct Key {
    name: String,
    span: Option<Range<usize>>,
}

struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Key;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Key, D::Error> {
        deserializer.deserialize_struct(SPANNED_NAME, &SPANNED_FIELDS, KeyVisitor)
    }
}

struct KeyVisitor;

impl<'de> Visitor<'de> for KeyVisitor {
    type Value = Key;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("a TOML key")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Key, A::Error> {
        let spanned = Spanned::<String>::deserialize(MapAccessDeserializer::new(map))?;
        Ok(Key {
            span: Some(spanned.span()),
            name: spanned.into_inner(),
        })
    }

    fn visit_str<E: de::Error>(self, name: &str) -> Result<Key, E> {
        Ok(Key {
            name: name.to_owned(),
            span: None,
        })
    }
}
