//! The replay's notes in the report's language.
//!
//! A note in `summary.json` or `verdicts.parquet` has a stable code, its
//! parameters and an English sentence. This module writes each code from
//! its parameters in English and in Japanese, side by side in one table, so
//! both languages come from the same place. The English it writes is the
//! replay's own sentence, word for word. Rule ids, addresses, host names,
//! setting names and reply codes stay as they are, and counts get thousands
//! separators.
//!
//! A code this version has no words for, or a note whose parameters lack a
//! value the words need, falls back to the replay's English sentence, and
//! the page marks it as untranslated.

mod caveats;
mod details;
mod findings;

use serde_json::{Map, Value};

use crate::report::text::{count_en, thousands, Lang};

/// Writes one note in one language; `None` when a parameter is missing or
/// has an unexpected type.
type Render = fn(Lang, &Params<'_>) -> Option<String>;

/// One row of the table: a note code and the function that writes it.
type Entry = (&'static str, Render);

/// A note as the page shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub text: String,
    /// False when the text is the replay's English sentence because this
    /// version has no words for the note.
    pub translated: bool,
}

/// Writes the note `code` with `params` in `lang`. `english` is the
/// replay's sentence, used when the table has no words for the note.
pub fn render(lang: Lang, code: &str, params: &Value, english: &str) -> Rendered {
    let written = entry(code).and_then(|render| {
        let params = Params(params.as_object()?);
        render(lang, &params)
    });
    match written {
        Some(text) => Rendered {
            text,
            translated: true,
        },
        None => Rendered {
            text: english.to_string(),
            translated: false,
        },
    }
}

/// Writes a note of `summary.json`: a `{code, params, text}` object, or a
/// plain English string as versions before note codes wrote it.
pub fn render_json(lang: Lang, note: &Value) -> Rendered {
    match note {
        Value::String(text) => render(lang, "", &Value::Null, text),
        _ => render(
            lang,
            note.get("code").and_then(Value::as_str).unwrap_or_default(),
            note.get("params").unwrap_or(&Value::Null),
            note.get("text").and_then(Value::as_str).unwrap_or_default(),
        ),
    }
}

fn entry(code: &str) -> Option<Render> {
    details::ENTRIES
        .iter()
        .chain(caveats::ENTRIES)
        .chain(findings::ENTRIES)
        .find(|(known, _)| *known == code)
        .map(|(_, render)| *render)
}

/// Typed access to the parameters of one note. Each accessor returns
/// `None` when the key is missing or has another type.
struct Params<'a>(&'a Map<String, Value>);

impl<'a> Params<'a> {
    fn text(&self, key: &str) -> Option<&'a str> {
        self.0.get(key)?.as_str()
    }

    /// Returns a string that may be null: `Some(None)` for null.
    fn text_or_null(&self, key: &str) -> Option<Option<&'a str>> {
        match self.0.get(key)? {
            Value::Null => Some(None),
            value => Some(Some(value.as_str()?)),
        }
    }

    fn number(&self, key: &str) -> Option<u64> {
        self.0.get(key)?.as_u64()
    }

    /// Returns a count with thousands separators: `10,001`.
    fn count(&self, key: &str) -> Option<String> {
        self.number(key).map(thousands)
    }

    /// Returns a count that is present only in some modes.
    fn optional_number(&self, key: &str) -> Option<Option<u64>> {
        match self.0.get(key) {
            None => Some(None),
            Some(value) => Some(Some(value.as_u64()?)),
        }
    }

    fn float(&self, key: &str) -> Option<f64> {
        self.0.get(key)?.as_f64()
    }

    fn flag(&self, key: &str) -> Option<bool> {
        self.0.get(key)?.as_bool()
    }

    fn list(&self, key: &str) -> Option<Vec<&'a str>> {
        self.0.get(key)?.as_array()?.iter().map(Value::as_str).collect()
    }
}

/// Picks the English or the Japanese text.
fn pick<T>(lang: Lang, en: T, ja: T) -> T {
    match lang {
        Lang::En => en,
        Lang::Ja => ja,
    }
}

/// Quotes names as a list: `"a", "b" and "c"` or `「a」、「b」、「c」`.
fn quoted_list(lang: Lang, names: &[&str]) -> String {
    match lang {
        Lang::En => {
            let quoted: Vec<String> = names.iter().map(|name| format!("\"{name}\"")).collect();
            match quoted.split_last() {
                None => String::new(),
                Some((last, [])) => last.clone(),
                Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
            }
        }
        Lang::Ja => names
            .iter()
            .map(|name| format!("「{name}」"))
            .collect::<Vec<_>>()
            .join("、"),
    }
}

/// Joins the smart host names the logs were searched for.
fn hosts(lang: Lang, params: &Params<'_>) -> Option<String> {
    let hosts = params.list("hosts")?;
    Some(if hosts.is_empty() {
        pick(lang, "(no evidence_hosts)", "(evidence_hosts なし)").to_string()
    } else {
        hosts.join(pick(lang, ", ", "、"))
    })
}

/// Joins the rule ids of a note about rules that could not be judged.
fn rules(lang: Lang, params: &Params<'_>) -> Option<String> {
    Some(params.list("rules")?.join(pick(lang, ", ", "、")))
}

/// Names a count of delivery attempts: `3 delivery attempts` or
/// `配送の試行 3 件`.
fn attempts(lang: Lang, count: u64) -> String {
    match lang {
        Lang::En => count_en(count, "delivery attempt"),
        Lang::Ja => format!("配送の試行 {} 件", thousands(count)),
    }
}

/// Names the envelope sender of a verdict detail from its `sender` and
/// `sender_kind` parameters.
fn sender(lang: Lang, params: &Params<'_>) -> Option<String> {
    let sender = params.text("sender")?;
    Some(match (params.text("sender_kind")?, lang) {
        ("null", Lang::En) => "null envelope sender".to_string(),
        ("null", Lang::Ja) => "空のエンベロープ送信者 <>".to_string(),
        ("bare", Lang::En) => format!("bare local part {sender}"),
        ("bare", Lang::Ja) => format!("ドメイン部のない送信者 {sender}"),
        ("address", _) => sender.to_string(),
        _ => return None,
    })
}

/// Names a window length as the replay's details do: `24 h`, `10 min`,
/// `90 s`; in Japanese `24時間`, `10分間`, `90秒間`.
fn window(lang: Lang, seconds: u64) -> String {
    match lang {
        Lang::En if seconds > 0 && seconds.is_multiple_of(3600) => {
            format!("{} h", thousands(seconds / 3600))
        }
        Lang::En if seconds > 0 && seconds.is_multiple_of(60) => {
            format!("{} min", thousands(seconds / 60))
        }
        Lang::En => format!("{} s", thousands(seconds)),
        Lang::Ja => crate::report::text::window(lang, seconds),
    }
}

/// Phrases the connections and messages a connection rule could not be
/// judged for. Direct mode gives `connections`; smarthost mode has one
/// connection and gives only `messages`.
fn scope(lang: Lang, params: &Params<'_>) -> Option<String> {
    let messages = params.number("messages")?;
    Some(match (params.optional_number("connections")?, lang) {
        (None, Lang::En) => count_en(messages, "message"),
        (None, Lang::Ja) => format!("メッセージ {} 通", thousands(messages)),
        (Some(connections), Lang::En) => format!(
            "{} carrying {}",
            count_en(connections, "connection"),
            count_en(messages, "message")
        ),
        (Some(connections), Lang::Ja) => format!(
            "接続 {} 件 (メッセージ {} 通)",
            thousands(connections),
            thousands(messages)
        ),
    })
}

#[cfg(test)]
mod tests;
