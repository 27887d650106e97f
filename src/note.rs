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
    /// Builds a note from a code, a JSON object of parameters and the
    /// English sentence.
    pub fn new(code: &'static str, params: Value, text: String) -> Note {
        debug_assert!(
            emitted_codes().any(|listed| listed == code),
            "note code {code:?} is missing from its module's NOTE_CODES"
        );
        debug_assert!(params.is_object(), "parameters of {code:?} are not an object");
        Note {
            code,
            // `serde_json::Map` is a BTreeMap here (no `preserve_order`
            // feature), so the keys come out sorted.
            params: params.to_string(),
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
    fn empty_note_has_empty_object() {
        assert_eq!(Note::default().params_value(), json!({}));
    }
}
