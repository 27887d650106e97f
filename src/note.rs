//! Notes for the administrator in machine-readable form: a stable code, the
//! parameters the sentence names, and the English sentence.
//!
//! The replay writes notes into `summary.json` (assumptions, rules not
//! judged, connection findings and warnings) and into the `detail_code` and
//! `detail_params` columns of `verdicts.parquet`. The report renders each
//! code from its parameters in the report's language. The English `text`
//! stays for readers that show the sentence as it is, such as the terminal
//! summary.
//!
//! Every module that writes notes lists its codes in a `NOTE_CODES` const,
//! so that the report's tests can check that each code has words.

use serde::Serialize;
use serde_json::{json, Map, Value};

/// One sentence for the administrator, with its code and parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    /// Stable snake_case code, such as `per_user_limits_without_users`;
    /// empty for the empty note of an accepted verdict row.
    pub code: &'static str,
    /// The parameters as a JSON object with sorted keys. It is serialised
    /// once, so that copying a note onto each verdict row copies one string.
    pub params: String,
    /// The English sentence.
    pub text: String,
}

impl Note {
    /// Builds a note from a code, its parameters and the English sentence.
    pub fn new(code: &'static str, params: impl Into<Params>, text: String) -> Note {
        debug_assert!(
            emitted_codes().any(|listed| listed == code),
            "note code {code:?} is missing from its module's NOTE_CODES"
        );
        Note {
            code,
            params: params.into().finish(),
            text,
        }
    }

    /// Returns the parameters as a JSON value; an empty object for the
    /// empty note.
    pub fn params_value(&self) -> Value {
        serde_json::from_str(&self.params).unwrap_or_else(|_| Value::Object(Map::new()))
    }

    /// Returns the note as `summary.json` stores it:
    /// `{"code": ..., "params": {...}, "text": ...}`.
    pub fn to_json(&self) -> Value {
        json!({
            "code": self.code,
            "params": self.params_value(),
            "text": self.text,
        })
    }
}

impl Default for Note {
    /// Returns the empty note: no code, no parameters, no sentence.
    fn default() -> Self {
        Note {
            code: "",
            params: "{}".to_string(),
            text: String::new(),
        }
    }
}

/// The parameters of a note, written as JSON while they are added.
///
/// The replay builds a verdict detail for each rewritten or refused message
/// and each recipient over a limit, so those parameters go straight into
/// one string instead of through a `serde_json::Map`. Keys must be added in sorted order, so that the
/// object reads as a sorted map would; debug builds check it.
#[derive(Debug, Clone)]
pub struct Params {
    json: Vec<u8>,
    last_key: &'static str,
}

impl Params {
    pub fn new() -> Params {
        Params {
            json: b"{".to_vec(),
            last_key: "",
        }
    }

    /// Adds `key` with `value`, which must serialise to JSON without error:
    /// a string, number, boolean, null, or a list or map of those.
    pub fn add(mut self, key: &'static str, value: impl Serialize) -> Params {
        debug_assert!(
            self.last_key < key,
            "parameter {key:?} added after {:?}",
            self.last_key
        );
        self.last_key = key;
        if self.json.len() > 1 {
            self.json.push(b',');
        }
        self.json.push(b'"');
        self.json.extend_from_slice(key.as_bytes());
        self.json.extend_from_slice(b"\":");
        if serde_json::to_writer(&mut self.json, &value).is_err() {
            // NOTE: only a map with non-string keys fails to serialise, and
            // no note passes one; null keeps the object valid if one does.
            self.json.extend_from_slice(b"null");
        }
        self
    }

    fn finish(mut self) -> String {
        self.json.push(b'}');
        // serde_json writes UTF-8, and the keys are UTF-8 strings.
        String::from_utf8(self.json)
            .unwrap_or_else(|error| String::from_utf8_lossy(error.as_bytes()).into_owned())
    }
}

impl Default for Params {
    fn default() -> Self {
        Params::new()
    }
}

impl From<Value> for Params {
    /// Takes the parameters from a JSON object, whose keys
    /// `serde_json::Map` keeps sorted (this build has no `preserve_order`
    /// feature).
    fn from(value: Value) -> Params {
        debug_assert!(value.is_object(), "note parameters {value} are not an object");
        let mut params = Params::new();
        if let Value::Object(fields) = value {
            for (key, field) in fields {
                if params.json.len() > 1 {
                    params.json.push(b',');
                }
                let _ = serde_json::to_writer(&mut params.json, &key);
                params.json.push(b':');
                let _ = serde_json::to_writer(&mut params.json, &field);
            }
        }
        params
    }
}

/// Returns every note code that the replay, the policy and the relay view
/// can write, module by module.
pub fn emitted_codes() -> impl Iterator<Item = &'static str> {
    crate::replay::NOTE_CODES
        .iter()
        .chain(crate::policy::NOTE_CODES)
        .chain(crate::relay_view::NOTE_CODES)
        .flat_map(|codes| codes.iter().copied())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_keys_sorted() {
        let note = Note::new(
            "throttled_not_retried",
            json!({ "zeta": 1, "alpha": "a" }),
            "text".to_string(),
        );
        assert_eq!(note.params, r#"{"alpha":"a","zeta":1}"#);
    }

    #[test]
    fn codes_unique() {
        let mut codes: Vec<&str> = emitted_codes().collect();
        let count = codes.len();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), count, "a code is listed twice");
    }

    #[test]
    fn params_builder_matches_sorted_map() {
        let built = Params::new()
            .add("address", Option::<&str>::None)
            .add("count", 10_001u64)
            .add("names", ["a \"b\"", "ü"])
            .add("ratio", 1.5)
            .add("seen", true)
            .finish();
        let from_map = Params::from(json!({
            "seen": true,
            "ratio": 1.5,
            "names": ["a \"b\"", "ü"],
            "count": 10_001,
            "address": null,
        }))
        .finish();
        assert_eq!(built, from_map);
        assert_eq!(
            built,
            r#"{"address":null,"count":10001,"names":["a \"b\"","ü"],"ratio":1.5,"seen":true}"#
        );
    }

    #[test]
    fn empty_note_has_empty_object() {
        assert_eq!(Note::default().params_value(), json!({}));
    }
}
