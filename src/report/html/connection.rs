//! The connection block of "clients to reconfigure": how the relay judged
//! the smarthost connection, the findings about the connection and the
//! warning rules that applied, all read from `summary.json`.

use std::fmt::Write as _;

use serde_json::Value;

use super::{code, escape, note_html, number, summary_items, table};
use crate::report::facts::Facts;
use crate::report::load::Evidence;
use crate::report::notes;
use crate::report::text::{self, Lang};

/// Writes the connection block.
pub(super) fn connection_block(out: &mut String, evidence: &Evidence, facts: &Facts, lang: Lang) {
    let words = lang.words();
    let summary = &evidence.summary;
    let _ = writeln!(out, "<h3>{}</h3>", escape(words.connection_heading));
    if facts.mode != "direct" {
        smarthost_verdict(out, summary, lang);
    }

    let _ = writeln!(out, "<h4>{}</h4>", escape(words.findings_heading));
    let findings = summary_items(summary, "/connection/findings");
    if findings.is_empty() {
        let _ = writeln!(out, "<p data-findings=\"none\">{}</p>", escape(words.no_findings));
    } else {
        let _ = writeln!(out, "<p class=\"note\">{}</p>", escape(words.findings_intro));
        out.push_str("<ul class=\"findings\">");
        for finding in findings {
            let code_name = finding.get("code").and_then(Value::as_str).unwrap_or_default();
            let note = notes::render(
                lang,
                code_name,
                finding.get("params").unwrap_or(&Value::Null),
                finding.get("detail").and_then(Value::as_str).unwrap_or_default(),
            );
            let at = match (
                finding.pointer("/example/source_file").and_then(Value::as_str),
                finding.pointer("/example/line").and_then(Value::as_u64),
            ) {
                (Some(file), Some(line)) => format!(
                    " <code class=\"loc\">{}</code>",
                    escape(&format!("{file}:{line}"))
                ),
                _ => String::new(),
            };
            let _ = write!(
                out,
                "<li data-finding=\"{}\">{}{at}</li>",
                escape(code_name),
                note_html(lang, &note)
            );
        }
        out.push_str("</ul>\n");
    }

    let _ = writeln!(out, "<h4>{}</h4>", escape(words.warnings_heading));
    let warnings = summary_items(summary, "/warnings");
    if warnings.is_empty() {
        let _ = writeln!(out, "<p data-warnings=\"none\">{}</p>", escape(words.no_warnings));
        return;
    }
    let _ = writeln!(out, "<p class=\"note\">{}</p>", escape(words.warnings_intro));
    let rows: Vec<Vec<String>> = warnings
        .iter()
        .map(|warning| {
            let rule = warning.get("rule").and_then(Value::as_str).unwrap_or_default();
            let count = |key: &str| warning.get(key).and_then(Value::as_u64).unwrap_or(0);
            let example = notes::render(
                lang,
                warning
                    .get("example_code")
                    .and_then(Value::as_str)
                    .unwrap_or_default(),
                warning.get("example_params").unwrap_or(&Value::Null),
                warning.get("example").and_then(Value::as_str).unwrap_or_default(),
            );
            vec![
                code(rule),
                number(count("messages")),
                number(count("recipients")),
                note_html(lang, &example),
                text::rule(lang, rule).map_or_else(String::new, |words| escape(words.fix)),
            ]
        })
        .collect();
    table(
        out,
        "warnings",
        &[
            words.col_rule,
            words.col_messages,
            words.col_recipients,
            words.col_example,
            words.col_fix,
        ],
        &rows,
    );
}

/// Writes the connection rules' verdict on the smarthost connection: the
/// outcome, the refusing rule if any, and why.
fn smarthost_verdict(out: &mut String, summary: &Value, lang: Lang) {
    let words = lang.words();
    let Some(facts) = summary.pointer("/connection/facts") else {
        return;
    };
    let Some(outcome) = facts.get("outcome").and_then(Value::as_str) else {
        return;
    };
    let rule = facts.get("rule").and_then(Value::as_str).unwrap_or_default();
    let mut verdict = escape(&text::outcome(lang, outcome));
    if !rule.is_empty() {
        let _ = write!(verdict, " {}", code(rule));
    }
    let detail = notes::render(
        lang,
        facts
            .get("detail_code")
            .and_then(Value::as_str)
            .unwrap_or_default(),
        facts.get("detail_params").unwrap_or(&Value::Null),
        facts.get("detail").and_then(Value::as_str).unwrap_or_default(),
    );
    let rows = vec![
        vec![escape(words.col_outcome), verdict],
        vec![escape(words.col_detail), note_html(lang, &detail)],
    ];
    let _ = writeln!(out, "<div data-connection=\"smarthost\">");
    table(out, "facts", &[words.col_item, words.col_value], &rows);
    out.push_str("</div>\n");
}
