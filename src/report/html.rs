//! `report.html`: one self-contained page with inline CSS and inline SVG
//! charts. It loads nothing from the network and runs no script.
//!
//! Numbers that tests compare with `summary.json` carry a `data-summary`
//! attribute naming the JSON field.

mod connection;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use chrono::{DateTime, TimeZone, Utc};
use serde_json::Value;

use crate::report::charts::{outcome_color, Chart};
use crate::report::facts::{documented_limit, Facts};
use crate::report::load::{Evidence, VerdictRow};
use crate::report::notes::{self, Rendered};
use crate::report::readiness::{self, Readiness};
use crate::report::series::is_taken;
use crate::report::text::{self, count_en, thousands, Lang, Words};

/// Examples listed per rule.
const EXAMPLES_PER_RULE: usize = 5;

/// Senders listed in "senders to fix".
const SENDERS_LISTED: usize = 50;

const STYLE: &str = include_str!("report.css");

/// Order of the known `peaks` keys in the headroom table.
const PEAK_ORDER: [&str; 6] = [
    "org_recipients_10min",
    "org_recipients_day",
    "user_messages",
    "user_unique_recipients",
    "transaction_recipients",
    "message_bytes",
];

/// Per (rule, outcome): the first rows as examples, the distinct messages
/// and the recipient count.
type RuleRows<'a> = BTreeMap<(&'a str, &'a str), (Vec<&'a VerdictRow>, BTreeSet<&'a str>, u64)>;

/// Per (sender, rule): recipients, distinct messages and the first row.
type SenderRows<'a> = BTreeMap<(String, &'a str), (u64, BTreeSet<&'a str>, &'a VerdictRow)>;

/// A chart as the page embeds it.
pub struct EmbeddedChart<'a> {
    pub chart: &'a Chart,
    pub svg: Option<String>,
}

/// Escapes text for HTML element content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// Formats microseconds since the epoch in `zone`: `2024-03-04 09:06:01 UTC`.
fn format_time<Z: TimeZone>(us: i64, zone: &Z) -> String
where
    Z::Offset: std::fmt::Display,
{
    match DateTime::<Utc>::from_timestamp_micros(us) {
        Some(at) => at.with_timezone(zone).format("%Y-%m-%d %H:%M:%S %Z").to_string(),
        None => us.to_string(),
    }
}

/// Names the lines behind a verdict: the message's first line and, when it
/// is another line, the recipient's delivery line (`maillog:12→40`, or
/// `maillog.1:12→maillog:3` across a rotation).
fn location(row: &VerdictRow) -> String {
    let start = format!("{}:{}", row.source_file, row.first_line);
    match &row.delivery {
        Some((file, line)) if *file == row.source_file && *line == row.first_line => start,
        Some((file, line)) if *file == row.source_file => format!("{start}\u{2192}{line}"),
        Some((file, line)) => format!("{start}\u{2192}{file}:{line}"),
        None => start,
    }
}

fn sender_name(sender: &str) -> String {
    if sender.is_empty() {
        "<>".to_string()
    } else {
        sender.to_string()
    }
}

/// Writes one table: `headers` then `rows`, each cell already escaped HTML.
fn table(out: &mut String, class: &str, headers: &[&str], rows: &[Vec<String>]) {
    let _ = write!(out, "<table class=\"{class}\"><thead><tr>");
    for header in headers {
        let _ = write!(out, "<th>{}</th>", escape(header));
    }
    out.push_str("</tr></thead><tbody>");
    for row in rows {
        out.push_str("<tr>");
        for cell in row {
            let _ = write!(out, "<td>{cell}</td>");
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table>\n");
}

fn number(value: u64) -> String {
    format!("<span class=\"num\">{}</span>", thousands(value))
}

fn summary_number(value: u64, field: &str) -> String {
    format!(
        "<span class=\"num\" data-summary=\"{}\">{}</span>",
        escape(field),
        thousands(value)
    )
}

fn code(text: &str) -> String {
    format!("<code>{}</code>", escape(text))
}

fn section_start(out: &mut String, id: &str, title: &str) {
    let _ = write!(
        out,
        "<section id=\"{id}\" data-section=\"{id}\">\n<h2>{}</h2>\n",
        escape(title)
    );
}

fn figure(out: &mut String, embedded: &EmbeddedChart<'_>, words: &Words) {
    let chart = embedded.chart;
    let _ = write!(
        out,
        "<figure class=\"chart\" id=\"{}\" data-chart=\"{}\">",
        chart.id, chart.id
    );
    match &embedded.svg {
        Some(svg) => {
            out.push_str(svg);
            let _ = write!(
                out,
                "<figcaption><strong>{}</strong> {} <span class=\"files\"><a href=\"{id}.svg\">SVG</a> · <a href=\"{id}.png\">PNG</a></span></figcaption>",
                escape(&chart.title),
                escape(&chart.about),
                id = chart.id
            );
        }
        None => {
            let _ = write!(
                out,
                "<div class=\"chart-missing\" data-missing=\"true\">{}</div><figcaption><strong>{}</strong> {}</figcaption>",
                escape(words.chart_missing),
                escape(&chart.title),
                escape(&chart.about)
            );
        }
    }
    out.push_str("</figure>\n");
}

/// Writes a rendered note as HTML. A note without words in this version
/// keeps the replay's English, marked as such on a Japanese page.
fn note_html(lang: Lang, note: &Rendered) -> String {
    if note.translated || lang == Lang::En {
        return escape(&note.text);
    }
    format!(
        "<span lang=\"en\">{}</span> <span class=\"untranslated\">{}</span>",
        escape(&note.text),
        escape(lang.words().untranslated_mark)
    )
}

/// Returns the items of the array at `pointer` in `summary.json`; none
/// when it is missing.
fn summary_items<'a>(summary: &'a Value, pointer: &str) -> Vec<&'a Value> {
    summary
        .pointer(pointer)
        .and_then(Value::as_array)
        .map(|items| items.iter().collect())
        .unwrap_or_default()
}

/// Builds the whole page.
pub fn page(evidence: &Evidence, facts: &Facts, charts: &[EmbeddedChart<'_>], lang: Lang) -> String {
    let words = lang.words();
    let summary = &evidence.summary;
    let not_judged = summary_items(summary, "/not_judged");
    let open = readiness::OpenPoints {
        rules_not_judged: not_judged.len(),
        warnings: summary_items(summary, "/warnings").len(),
        findings: summary_items(summary, "/connection/findings").len(),
    };
    let (readiness, reasons) = readiness::decide(facts, open, lang);

    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"{}\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{}</title>\n<style>\n{STYLE}</style>\n</head>\n<body>\n<header>\n<h1>{}</h1>\n<p class=\"subtitle\">{}</p>\n</header>\n",
        lang.tag(),
        escape(words.title),
        escape(words.title),
        escape(words.subtitle)
    );
    contents(&mut out, words);
    out.push_str("<main>\n");
    verdict_section(&mut out, evidence, facts, readiness, &reasons, lang);
    break_section(&mut out, evidence, facts, charts, lang);
    senders_section(&mut out, evidence, lang);
    clients_section(&mut out, evidence, facts, lang);
    headroom_section(&mut out, evidence, facts, charts, lang);
    compliance_section(&mut out, evidence, facts, lang);
    assumptions_section(&mut out, evidence, facts, &not_judged, lang);
    provenance_section(&mut out, evidence, facts, lang);
    let _ = write!(
        out,
        "</main>\n<footer><p>{}</p></footer>\n</body>\n</html>\n",
        escape(words.footer)
    );
    out
}

fn contents(out: &mut String, words: &Words) {
    let _ = write!(out, "<nav aria-label=\"{}\"><ol>", escape(words.contents));
    for (number, (id, title)) in [
        ("verdict", words.sec_verdict),
        ("break", words.sec_break),
        ("senders", words.sec_senders),
        ("clients", words.sec_clients),
        ("headroom", words.sec_headroom),
        ("compliance", words.sec_compliance),
        ("assumptions", words.sec_assumptions),
        ("provenance", words.sec_provenance),
    ]
    .into_iter()
    .enumerate()
    {
        let _ = write!(
            out,
            "<li><a href=\"#{id}\">{}. {}</a></li>",
            number + 1,
            escape(title)
        );
    }
    out.push_str("</ol></nav>\n");
}

fn verdict_section(
    out: &mut String,
    evidence: &Evidence,
    facts: &Facts,
    readiness: Readiness,
    reasons: &[String],
    lang: Lang,
) {
    let words = lang.words();
    let summary = &evidence.summary;
    section_start(out, "verdict", words.sec_verdict);
    let _ = writeln!(
        out,
        "<p class=\"badge {key}\" data-readiness=\"{key}\">{}</p>",
        escape(readiness.name(lang)),
        key = readiness.key()
    );
    let _ = writeln!(out, "<h3>{}</h3>", escape(words.reasons));
    if reasons.is_empty() {
        let _ = writeln!(out, "<p>{}</p>", escape(words.no_reasons));
    } else {
        out.push_str("<ul class=\"reasons\">");
        for reason in reasons {
            let _ = write!(out, "<li>{}</li>", escape(reason));
        }
        out.push_str("</ul>\n");
    }
    let _ = writeln!(
        out,
        "<p class=\"rule-statement\">{}</p>",
        escape(words.verdict_rule)
    );

    let _ = writeln!(out, "<h3>{}</h3>", escape(words.key_figures));
    let get = |pointer: &str| summary.pointer(pointer).and_then(Value::as_u64).unwrap_or(0);
    let mut rows = vec![
        vec![
            escape(words.messages_read),
            summary_number(get("/messages/logical"), "messages.logical"),
        ],
        vec![
            escape(words.messages_replayed),
            summary_number(get("/messages/replayed"), "messages.replayed"),
        ],
        vec![
            escape(words.recipients_replayed),
            summary_number(get("/recipients_replayed"), "recipients_replayed"),
        ],
    ];
    let totals = facts.outcome_totals();
    for outcome in ["accepted", "rewritten", "throttled", "rejected"]
        .into_iter()
        .chain(
            totals
                .keys()
                .copied()
                .filter(|o| !matches!(*o, "accepted" | "rewritten" | "throttled" | "rejected")),
        )
    {
        let count = totals.get(outcome).copied().unwrap_or(0);
        rows.push(vec![
            format!(
                "<span class=\"swatch\" style=\"background:{}\"></span>{}",
                css_color(outcome_color(outcome)),
                escape(&text::outcome(lang, outcome))
            ),
            summary_number(count, &format!("outcomes.{outcome}")),
        ]);
    }
    // Direct mode judges each client with the setting that matches it, so
    // there is no single setting: list them with their messages.
    let by_setting: Vec<String> = summary
        .pointer("/connection/messages_by_setting")
        .and_then(Value::as_object)
        .map(|settings| {
            settings
                .iter()
                .filter_map(|(name, count)| Some((name, count.as_u64()?)))
                .map(|(name, count)| match lang {
                    Lang::En => format!("{} ({})", escape(name), count_en(count, "message")),
                    Lang::Ja => format!("{} (メッセージ {} 通)", escape(name), thousands(count)),
                })
                .collect()
        })
        .unwrap_or_default();
    let setting = match summary.get("relay_setting").and_then(Value::as_str) {
        Some(name) => escape(name),
        None if !by_setting.is_empty() => by_setting.join(", "),
        None => escape(words.none),
    };
    rows.push(vec![escape(words.relay_setting), setting]);
    table(out, "figures", &[words.col_item, words.col_value], &rows);
    out.push_str("</section>\n");
}

fn css_color(color: (u8, u8, u8)) -> String {
    format!("#{:02x}{:02x}{:02x}", color.0, color.1, color.2)
}

fn break_section(
    out: &mut String,
    evidence: &Evidence,
    facts: &Facts,
    charts: &[EmbeddedChart<'_>],
    lang: Lang,
) {
    let words = lang.words();
    section_start(out, "break", words.sec_break);
    let _ = writeln!(out, "<p>{}</p>", escape(words.break_intro));

    // Per (rule, outcome): examples and distinct messages, in relay order.
    let mut by_rule: RuleRows<'_> = BTreeMap::new();
    for row in evidence.verdicts.iter().filter(|row| row.outcome != "accepted") {
        let entry = by_rule
            .entry((row.rule.as_str(), row.outcome.as_str()))
            .or_default();
        if entry.0.len() < EXAMPLES_PER_RULE {
            entry.0.push(row);
        }
        entry.1.insert(row.message_key.as_str());
        entry.2 += 1;
    }
    if by_rule.is_empty() {
        let _ = writeln!(out, "<p class=\"ok\">{}</p>", escape(words.nothing_breaks));
    }
    for ((rule, outcome), (examples, messages, recipients)) in &by_rule {
        let first = examples[0];
        let assumed = if first.code_source == "assumed" {
            format!(" <span class=\"assumed\">({})</span>", escape(words.assumed_mark))
        } else {
            String::new()
        };
        let _ = write!(
            out,
            "<article class=\"rule\" data-rule=\"{}\">\n<h3>{} <span class=\"outcome {outcome}\">{}</span></h3>\n",
            escape(rule),
            code(rule),
            escape(&text::outcome(lang, outcome)),
        );
        let meaning = text::rule(lang, rule);
        let rows = vec![
            vec![
                escape(words.col_reply),
                format!(
                    "{}{assumed}",
                    code(&format!("{} {}", first.reply_code, first.enhanced_code))
                ),
            ],
            vec![escape(words.col_recipients), number(*recipients)],
            vec![escape(words.col_messages), number(messages.len() as u64)],
            vec![
                escape(words.col_meaning),
                meaning.as_ref().map_or_else(String::new, |m| escape(m.meaning)),
            ],
            vec![
                escape(words.col_fix),
                meaning.as_ref().map_or_else(String::new, |m| escape(m.fix)),
            ],
        ];
        table(out, "facts", &[words.col_item, words.col_value], &rows);
        let _ = writeln!(out, "<h4>{}</h4>", escape(words.examples));
        examples_table(out, evidence, facts, examples, lang);
        if *recipients > examples.len() as u64 {
            let _ = writeln!(
                out,
                "<p class=\"note\">{}</p>",
                escape(&text::more_examples(lang, examples.len(), *recipients))
            );
        }
        out.push_str("</article>\n");
    }
    for embedded in charts.iter().filter(|c| c.chart.id == "chart-4-verdicts-by-rule") {
        figure(out, embedded, words);
    }
    out.push_str("</section>\n");
}

/// Writes the example rows of one rule. The counter column appears only
/// when a limit decided some of the rows.
fn examples_table(
    out: &mut String,
    evidence: &Evidence,
    facts: &Facts,
    examples: &[&VerdictRow],
    lang: Lang,
) {
    let words = lang.words();
    let with_counter = examples.iter().any(|row| row.counter_value.is_some());
    let rows: Vec<Vec<String>> = examples
        .iter()
        .map(|row| {
            let sender = evidence
                .messages
                .get(&row.message_key)
                .map(|m| sender_name(&m.envelope_from))
                .unwrap_or_default();
            let detail = notes::render(lang, &row.detail_code, &row.detail_params, &row.detail);
            let mut cells = vec![
                format!("<code class=\"loc\">{}</code>", escape(&location(row))),
                escape(&format_time(row.at_us, &facts.zone)),
                escape(&sender),
                escape(&row.recipient),
            ];
            if with_counter {
                cells.push(match (row.counter_value, row.counter_limit) {
                    (Some(value), Some(limit)) => format!("{} / {}", thousands(value), thousands(limit)),
                    _ => String::new(),
                });
            }
            cells.push(note_html(lang, &detail));
            cells
        })
        .collect();
    let mut headers = vec![
        words.col_location,
        words.col_relay_time,
        words.col_sender,
        words.col_recipient,
    ];
    if with_counter {
        headers.push(words.col_counter);
    }
    headers.push(words.col_detail);
    table(out, "examples", &headers, &rows);
}

fn senders_section(out: &mut String, evidence: &Evidence, lang: Lang) {
    let words = lang.words();
    section_start(out, "senders", words.sec_senders);
    let _ = writeln!(out, "<p>{}</p>", escape(words.senders_intro));

    // (sender, rule) -> (recipients, messages, first row)
    let mut by_sender: SenderRows<'_> = BTreeMap::new();
    for row in evidence
        .verdicts
        .iter()
        .filter(|row| row.outcome == "rejected" && row.rule.starts_with("sender."))
    {
        let sender = evidence
            .messages
            .get(&row.message_key)
            .map(|m| m.envelope_from.to_ascii_lowercase())
            .unwrap_or_default();
        let entry = by_sender
            .entry((sender, row.rule.as_str()))
            .or_insert_with(|| (0, BTreeSet::new(), row));
        entry.0 += 1;
        entry.1.insert(row.message_key.as_str());
    }
    if by_sender.is_empty() {
        let _ = writeln!(out, "<p class=\"ok\">{}</p>", escape(words.no_senders));
        out.push_str("</section>\n");
        return;
    }
    let mut ranked: Vec<_> = by_sender.into_iter().collect();
    // Stable: equal counts stay in (sender, rule) order.
    ranked.sort_by_key(|entry| std::cmp::Reverse(entry.1 .0));
    let rows: Vec<Vec<String>> = ranked
        .iter()
        .take(SENDERS_LISTED)
        .map(|((sender, rule), (recipients, messages, first))| {
            vec![
                escape(&sender_name(sender)),
                code(rule),
                number(*recipients),
                number(messages.len() as u64),
                format!("<code class=\"loc\">{}</code>", escape(&location(first))),
                text::rule(lang, rule).map_or_else(String::new, |m| escape(m.fix)),
            ]
        })
        .collect();
    table(
        out,
        "senders",
        &[
            words.col_sender,
            words.col_rule,
            words.col_recipients,
            words.col_messages,
            words.col_location,
            words.col_fix,
        ],
        &rows,
    );
    if ranked.len() > SENDERS_LISTED {
        let _ = writeln!(
            out,
            "<p class=\"note\">{}</p>",
            escape(&text::more_examples(lang, SENDERS_LISTED, ranked.len() as u64))
        );
    }
    out.push_str("</section>\n");
}

fn json_cell(value: &Value) -> String {
    match value {
        Value::String(text) => escape(text),
        Value::Number(number) => match number.as_u64() {
            Some(value) => thousands(value),
            None => escape(&number.to_string()),
        },
        Value::Array(items) => items.iter().map(json_cell).collect::<Vec<_>>().join(", "),
        Value::Object(fields) => fields
            .iter()
            .map(|(key, value)| format!("{}: {}", escape(key), json_cell(value)))
            .collect::<Vec<_>>()
            .join("<br>"),
        Value::Null => String::new(),
        other => escape(&other.to_string()),
    }
}

/// Lists `summary.clients` in direct mode; in smarthost mode the one
/// connection is the MTA's, so no client is listed. Every key of the client
/// objects gets a column, so new fields appear without a code change. Then
/// the connection block follows in both modes.
fn clients_section(out: &mut String, evidence: &Evidence, facts: &Facts, lang: Lang) {
    let words = lang.words();
    section_start(out, "clients", words.sec_clients);
    if facts.mode != "direct" {
        let _ = writeln!(
            out,
            "<p data-clients=\"not-applicable\">{}</p>",
            escape(words.clients_not_applicable)
        );
    } else {
        clients_table(out, evidence, lang);
    }
    connection::connection_block(out, evidence, facts, lang);
    out.push_str("</section>\n");
}

/// Writes the clients of `summary.clients` as a table with one column per
/// key of the client objects. A key gets a header in the report's language
/// when this version has words for it.
fn clients_table(out: &mut String, evidence: &Evidence, lang: Lang) {
    let words = lang.words();
    match evidence.summary.get("clients").and_then(Value::as_array) {
        None => {
            let _ = writeln!(out, "<p>{}</p>", escape(words.clients_none));
        }
        Some(clients) if clients.is_empty() => {
            let _ = writeln!(out, "<p>{}</p>", escape(words.clients_none));
        }
        Some(clients) => {
            let _ = writeln!(out, "<p>{}</p>", escape(words.clients_intro));
            let keys: BTreeSet<&str> = clients
                .iter()
                .filter_map(Value::as_object)
                .flat_map(|client| client.keys().map(String::as_str))
                .collect();
            // Known fields first, in the order an administrator reads them,
            // then any others in name order.
            let mut columns: Vec<&str> = text::CLIENT_FIELDS
                .iter()
                .copied()
                .filter(|key| keys.contains(key))
                .collect();
            columns.extend(keys.iter().filter(|key| !text::CLIENT_FIELDS.contains(key)));
            let headers: Vec<&str> = columns
                .iter()
                .map(|key| text::client_field(lang, key).unwrap_or(key))
                .collect();
            let rows: Vec<Vec<String>> = clients
                .iter()
                .map(|client| {
                    columns
                        .iter()
                        .map(|column| client.get(*column).map(json_cell).unwrap_or_default())
                        .collect()
                })
                .collect();
            table(out, "clients", &headers, &rows);
        }
    }
}

fn headroom_section(
    out: &mut String,
    evidence: &Evidence,
    facts: &Facts,
    charts: &[EmbeddedChart<'_>],
    lang: Lang,
) {
    let words = lang.words();
    section_start(out, "headroom", words.sec_headroom);
    let _ = writeln!(out, "<p>{}</p>", escape(words.headroom_intro));
    let day = text::window(lang, facts.day_window_s());
    let short = text::window(lang, facts.short_window_s());
    let mut rows = Vec::new();
    if let Some(peaks) = evidence.summary.get("peaks").and_then(Value::as_object) {
        // Windows first, shortest first, then per-message limits; keys this
        // version does not know follow in name order.
        let mut ordered: Vec<(&String, &Value)> = peaks.iter().collect();
        ordered.sort_by_key(|(key, _)| {
            PEAK_ORDER
                .iter()
                .position(|known| known == key)
                .unwrap_or(PEAK_ORDER.len())
        });
        for (key, peak) in ordered {
            let name = escape(&text::peak_name(lang, key, &day, &short));
            let limit = peak.get("limit").and_then(Value::as_u64);
            let Some(value) = peak.get("value").and_then(Value::as_u64) else {
                rows.push(vec![
                    name,
                    limit.map_or_else(String::new, number),
                    escape(words.no_peak),
                    String::new(),
                    String::new(),
                    String::new(),
                ]);
                continue;
            };
            let when = peak
                .get("at")
                .and_then(Value::as_str)
                .and_then(|at| DateTime::parse_from_rfc3339(at).ok())
                .map(|at| {
                    at.with_timezone(&facts.zone)
                        .format("%Y-%m-%d %H:%M:%S %Z")
                        .to_string()
                })
                .unwrap_or_default();
            let share = limit.map_or_else(String::new, |limit| text::percent(value, limit));
            let over = limit.is_some_and(|limit| value > limit);
            rows.push(vec![
                name,
                limit.map_or_else(String::new, |limit| {
                    summary_number(limit, &format!("peaks.{key}.limit"))
                }),
                summary_number(value, &format!("peaks.{key}.value")),
                if over {
                    format!("<strong class=\"over\">{}</strong>", escape(&share))
                } else {
                    escape(&share)
                },
                escape(&when),
                peak.get("message_key")
                    .and_then(Value::as_str)
                    .map_or_else(String::new, code),
            ]);
        }
    }
    table(
        out,
        "headroom",
        &[
            words.col_limit,
            words.col_relay_limit,
            words.col_peak,
            words.col_percent,
            words.col_when,
            words.col_message,
        ],
        &rows,
    );
    let _ = writeln!(out, "<h3>{}</h3>", escape(words.charts));
    for embedded in charts.iter().filter(|c| c.chart.id != "chart-4-verdicts-by-rule") {
        figure(out, embedded, words);
    }
    out.push_str("</section>\n");
}

fn compliance_section(out: &mut String, evidence: &Evidence, facts: &Facts, lang: Lang) {
    let words = lang.words();
    section_start(out, "compliance", words.sec_compliance);
    let storage = match facts.comprehensive_storage {
        Some(true) => words.storage_on,
        Some(false) => words.storage_off,
        None => words.storage_unknown,
    };
    let _ = writeln!(out, "<p>{}</p>", escape(storage));

    let mut external = (0u64, BTreeSet::new());
    let mut internal = (0u64, BTreeSet::new());
    for row in evidence.verdicts.iter().filter(|row| is_taken(&row.outcome)) {
        let bucket = if facts.is_owned(&row.recipient) {
            &mut internal
        } else {
            &mut external
        };
        bucket.0 += 1;
        bucket.1.insert(row.message_key.as_str());
    }
    let _ = write!(
        out,
        "<h3>{}</h3>\n<p data-archive=\"external\">{}</p>\n",
        escape(words.external_heading),
        escape(&text::external_sentence(
            lang,
            external.0,
            external.1.len() as u64,
            facts.comprehensive_storage
        ))
    );
    let _ = write!(
        out,
        "<h3>{}</h3>\n<p data-archive=\"internal\">{}</p>\n",
        escape(words.internal_heading),
        escape(&text::internal_sentence(
            lang,
            internal.0,
            internal.1.len() as u64
        ))
    );

    let _ = writeln!(out, "<h3>{}</h3>", escape(words.rewritten_heading));
    let mut rewrites: BTreeMap<(&str, &str), (u64, &VerdictRow)> = BTreeMap::new();
    for row in evidence
        .verdicts
        .iter()
        .filter(|row| !row.rewritten_to.is_empty())
    {
        rewrites
            .entry((row.rewritten_from.as_str(), row.rewritten_to.as_str()))
            .or_insert((0, row))
            .0 += 1;
    }
    if rewrites.is_empty() {
        let _ = writeln!(out, "<p>{}</p>", escape(words.no_rewrites));
    } else {
        let rows: Vec<Vec<String>> = rewrites
            .iter()
            .map(|((from, to), (recipients, first))| {
                vec![
                    escape(&sender_name(from)),
                    escape(to),
                    number(*recipients),
                    format!("<code class=\"loc\">{}</code>", escape(&location(first))),
                ]
            })
            .collect();
        table(
            out,
            "rewrites",
            &[
                words.col_from,
                words.col_to,
                words.col_recipients,
                words.col_location,
            ],
            &rows,
        );
    }

    let _ = writeln!(out, "<h3>{}</h3>", escape(words.null_sender_heading));
    let null_messages: BTreeSet<&str> = evidence
        .messages
        .iter()
        .filter(|(_, message)| message.envelope_from.is_empty())
        .map(|(key, _)| key.as_str())
        .collect();
    let null_rows: Vec<&VerdictRow> = evidence
        .verdicts
        .iter()
        .filter(|row| null_messages.contains(row.message_key.as_str()))
        .collect();
    let refused = null_rows.iter().filter(|row| !is_taken(&row.outcome)).count() as u64;
    let _ = writeln!(
        out,
        "<p data-null-sender=\"{}\">{}</p>",
        null_messages.len(),
        escape(&text::null_sender_sentence(
            lang,
            null_messages.len() as u64,
            null_rows.len() as u64,
            refused
        ))
    );
    out.push_str("</section>\n");
}

fn assumptions_section(
    out: &mut String,
    evidence: &Evidence,
    facts: &Facts,
    not_judged: &[&Value],
    lang: Lang,
) {
    let words = lang.words();
    section_start(out, "assumptions", words.sec_assumptions);

    let _ = writeln!(out, "<h3>{}</h3>", escape(words.assumed_codes_heading));
    let mut assumed: BTreeMap<(&str, String), u64> = BTreeMap::new();
    for row in evidence
        .verdicts
        .iter()
        .filter(|row| row.code_source == "assumed")
    {
        *assumed
            .entry((
                row.rule.as_str(),
                format!("{} {}", row.reply_code, row.enhanced_code),
            ))
            .or_insert(0) += 1;
    }
    if assumed.is_empty() {
        let _ = writeln!(out, "<p>{}</p>", escape(words.no_assumed_codes));
    } else {
        out.push_str("<ul class=\"assumed-codes\">");
        for ((rule, reply), recipients) in &assumed {
            let _ = write!(
                out,
                "<li data-assumed-rule=\"{}\">{}</li>",
                escape(rule),
                escape(&text::assumed_code_sentence(lang, rule, reply, *recipients))
            );
        }
        out.push_str("</ul>\n");
    }

    let _ = writeln!(out, "<h3>{}</h3>", escape(words.policy_numbers_heading));
    let mut numbers: Vec<String> = Vec::new();
    if facts.account != "paid" {
        numbers.push(text::account_sentence(lang, &facts.account));
    }
    for key in &facts.limits_set_by_policy {
        let value = facts.limit(key);
        let documented = documented_limit(key);
        if documented != Some(value) || facts.account != "paid" {
            numbers.push(text::policy_number_sentence(
                lang,
                key,
                value,
                documented,
                &facts.account,
            ));
        }
    }
    if numbers.is_empty() {
        let _ = writeln!(out, "<p>{}</p>", escape(words.no_policy_numbers));
    } else {
        out.push_str("<ul>");
        for sentence in &numbers {
            let _ = write!(out, "<li>{}</li>", escape(sentence));
        }
        out.push_str("</ul>\n");
    }

    let summary = &evidence.summary;
    for (heading, kind, items) in [
        (words.not_judged_heading, "not-judged", not_judged.to_vec()),
        (
            words.connection_not_judged_heading,
            "connection-not-judged",
            summary_items(summary, "/connection/not_judged"),
        ),
        (
            words.engine_notes_heading,
            "assumptions",
            summary_items(summary, "/assumptions"),
        ),
    ] {
        if items.is_empty() {
            continue;
        }
        let _ = writeln!(out, "<h3>{}</h3>", escape(heading));
        let _ = write!(out, "<ul class=\"notes\" data-notes=\"{kind}\">");
        for item in items {
            let note = notes::render_json(lang, item);
            let _ = write!(out, "<li>{}</li>", note_html(lang, &note));
        }
        out.push_str("</ul>\n");
    }
    out.push_str("</section>\n");
}

fn provenance_section(out: &mut String, evidence: &Evidence, facts: &Facts, lang: Lang) {
    let words = lang.words();
    let manifest = &evidence.manifest;
    section_start(out, "provenance", words.sec_provenance);
    let _ = writeln!(out, "<p>{}</p>", escape(words.provenance_intro));
    let text_at = |pointer: &str| {
        manifest
            .pointer(pointer)
            .and_then(Value::as_str)
            .unwrap_or_default()
    };

    let mut rows = vec![
        vec![
            escape(words.tool),
            escape(&format!("{} {}", text_at("/tool"), text_at("/version"))),
        ],
        vec![escape(words.command), code(text_at("/command"))],
    ];
    let policy = if manifest
        .pointer("/policy/builtin_default")
        .and_then(Value::as_bool)
        == Some(true)
    {
        escape(words.builtin_policy)
    } else {
        format!(
            "{}<br><code class=\"sha\">SHA-256 {}</code>",
            code(text_at("/policy/path")),
            escape(text_at("/policy/sha256"))
        )
    };
    rows.push(vec![escape(words.policy_file), policy]);
    if manifest.pointer("/policy/users/path").is_some() {
        rows.push(vec![
            escape(words.users_file),
            format!(
                "{}<br><code class=\"sha\">SHA-256 {}</code>",
                code(text_at("/policy/users/path")),
                escape(text_at("/policy/users/sha256"))
            ),
        ]);
    }
    let mut years: Vec<String> = Vec::new();
    if let Some(sets) = manifest.get("sets").and_then(Value::as_array) {
        for set in sets {
            let year = set
                .get("first_year")
                .and_then(Value::as_i64)
                .map_or_else(|| words.year_not_given.to_string(), |year| year.to_string());
            let source = text::year_source(
                lang,
                set.get("year_source").and_then(Value::as_str).unwrap_or_default(),
            );
            let base = set.get("base").and_then(Value::as_str).unwrap_or_default();
            years.push(format!(
                "{} ({}: {})",
                escape(&year),
                escape(base),
                escape(&source)
            ));
        }
    }
    rows.push(vec![escape(words.year), years.join("<br>")]);
    rows.push(vec![escape(words.zone), code(facts.zone.name())]);
    rows.push(vec![escape(words.mode), code(&facts.mode)]);
    table(out, "provenance", &[words.col_item, words.col_value], &rows);

    let _ = writeln!(out, "<h3>{}</h3>", escape(words.inputs));
    let inputs: Vec<Vec<String>> = manifest
        .get("inputs")
        .and_then(Value::as_array)
        .map(|inputs| {
            inputs
                .iter()
                .map(|input| {
                    vec![
                        code(input.get("name").and_then(Value::as_str).unwrap_or_default()),
                        number(input.get("bytes").and_then(Value::as_u64).unwrap_or(0)),
                        format!(
                            "<code class=\"sha\">{}</code>",
                            escape(input.get("sha256").and_then(Value::as_str).unwrap_or_default())
                        ),
                    ]
                })
                .collect()
        })
        .unwrap_or_default();
    table(
        out,
        "inputs",
        &[words.col_file, words.col_bytes, "SHA-256"],
        &inputs,
    );
    out.push_str("</section>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_markup() {
        assert_eq!(
            escape("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }

    #[test]
    fn time_in_zone() {
        let zone: chrono_tz::Tz = "Asia/Tokyo".parse().unwrap();
        assert_eq!(
            format_time(1_709_542_807_000_000, &zone),
            "2024-03-04 18:00:07 JST"
        );
        assert_eq!(
            format_time(1_709_542_807_000_000, &chrono_tz::UTC),
            "2024-03-04 09:00:07 UTC"
        );
    }
}
