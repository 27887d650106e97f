//! `summary.json`, `manifest.json` and the terminal summary.
//!
//! JSON objects are `serde_json` maps, which keep keys sorted, so the files
//! are byte-identical for the same inputs and options.

mod connection;

use std::fmt::Write as _;

use anyhow::{Context, Result};
use relayaudit_parsers::{LineCounts, Tables};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::cli::InputArgs;
use crate::note::Note;
use crate::policy::Policy;
use crate::relay_view::ViewReport;
use crate::replay::model::{Peak, ReplayOutput};
use crate::replay::text::count_noun;
use crate::run::{hex, Ingested};

/// How many senders the terminal summary lists.
const TERMINAL_TOP_SENDERS: usize = 5;

pub fn line_summary(counts: &LineCounts) -> Value {
    json!({
        "read": counts.read,
        "used": counts.used,
        "other_program": counts.other_program,
        "rejected": counts.rejected,
        "reject_codes": counts.reject_codes,
        "other_programs": counts.other_programs,
    })
}

fn peak_json(peak: &Option<Peak>, limit: Option<u64>) -> Value {
    match peak {
        Some(peak) => json!({
            "value": peak.value,
            "at": format_us(peak.at_us),
            "message_key": peak.message_key,
            "limit": limit,
            "percent_of_limit": limit.map(|limit| round2(100.0 * peak.value as f64 / limit as f64)),
        }),
        None => Value::Null,
    }
}

fn round2(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}

/// Formats microseconds since the epoch as RFC 3339 UTC.
pub fn format_us(us: i64) -> String {
    chrono::DateTime::from_timestamp_micros(us)
        .map(|at| at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string())
        .unwrap_or_else(|| us.to_string())
}

/// Counts the messages of `tables` that are not a content filter's
/// re-injected copy of another: the messages as the sender sent them.
pub fn logical_messages(tables: &Tables) -> usize {
    tables
        .messages
        .iter()
        .filter(|message| message.reinjected_from.is_none())
        .count()
}

/// Builds `summary.json` of `relayaudit ingest`: the line accounting and
/// the row counts.
pub fn ingest_summary(tables: &Tables) -> Value {
    let logical = logical_messages(tables);
    json!({
        "lines": line_summary(&tables.counts),
        "messages": {
            "rows": tables.messages.len(),
            "logical": logical,
            "reinjected_copies": tables.messages.len() - logical,
        },
        "deliveries": tables.deliveries.len(),
        "sessions": tables.sessions.len(),
    })
}

pub fn replay_summary(
    ingested: &Ingested,
    policy: &Policy,
    report: &ViewReport,
    replayed: &ReplayOutput,
) -> Value {
    let view = &report.counts;
    let stats = &replayed.stats;
    let tables = &ingested.tables;
    let logical = logical_messages(tables);
    let outcomes: Vec<Value> = stats
        .rows_by_rule
        .iter()
        .map(|((rule, outcome), count)| json!({ "rule": rule, "outcome": outcome, "recipients": count }))
        .collect();
    let mut totals = serde_json::Map::new();
    for ((_, outcome), count) in &stats.rows_by_rule {
        let entry = totals.entry(outcome.to_string()).or_insert(json!(0));
        *entry = json!(entry.as_u64().unwrap_or(0) + count);
    }
    let top: Vec<Value> = stats
        .top_senders
        .iter()
        .map(|s| {
            json!({
                "sender": s.sender,
                "rejected_recipients": s.rejected_recipients,
                "throttled_recipients": s.throttled_recipients,
                "dominant_rule": s.dominant_rule,
            })
        })
        .collect();
    let limits = &policy.limits;
    let assumptions: Vec<Value> = stats
        .assumptions
        .iter()
        .chain(&policy.describe_assumptions())
        .map(Note::to_json)
        .collect();
    let not_judged: Vec<Value> = stats.not_judged.iter().map(Note::to_json).collect();
    json!({
        "lines": line_summary(&tables.counts),
        "messages": {
            "rows": tables.messages.len(),
            "logical": logical,
            "reinjected_copies": tables.messages.len() - logical,
            "replayed": view.replayed,
            "local_only": view.local_only,
            "content_filter_hops": view.content_filter_hops,
            "content_filter_no_copy": view.content_filter_no_copy,
            "address_probes": view.address_probes,
            "no_delivery": view.no_delivery,
            "sender_unknown": view.sender_unknown,
            "sender_unknown_recipients": view.sender_unknown_recipients,
            "no_inbound_session": view.no_inbound_session,
            "no_inbound_session_recipients": view.no_inbound_session_recipients,
        },
        "mode": report.mode.as_str(),
        "connection": connection::connection_json(policy, report, replayed),
        "warnings": connection::warnings_json(replayed),
        "clients": connection::clients_json(replayed),
        "deliveries": tables.deliveries.len(),
        "sessions": tables.sessions.len(),
        "recipients_replayed": stats.recipients_replayed,
        "outcomes": totals,
        "outcomes_by_rule": outcomes,
        "top_senders": top,
        "relay_setting": stats.relay_setting,
        "policy": policy_facts(policy),
        "not_judged": not_judged,
        "assumptions": assumptions,
        "peaks": {
            "user_messages": peak_json(&stats.peaks.user_messages, Some(limits.user_messages_per_day)),
            "user_unique_recipients": peak_json(&stats.peaks.user_unique_recipients, Some(limits.user_recipients_per_day)),
            "org_recipients_day": peak_json(&stats.peaks.org_recipients_day, Some(limits.org_recipients_per_day)),
            "org_recipients_10min": peak_json(&stats.peaks.org_recipients_10min, Some(limits.org_recipients_per_10min)),
            "transaction_recipients": peak_json(&stats.peaks.transaction_recipients, Some(limits.recipients_per_transaction)),
            "message_bytes": peak_json(&stats.peaks.message_bytes, Some(limits.max_message_bytes)),
        },
    })
}

/// Describes the policy's limits, window lengths and organisation for the
/// report: chart lines, archival and the numbers Google does not document.
fn policy_facts(policy: &Policy) -> Value {
    let limits = &policy.limits;
    let organisation = &policy.organisation;
    json!({
        "limits": {
            "user_messages_per_day": limits.user_messages_per_day,
            "user_recipients_per_day": limits.user_recipients_per_day,
            "org_recipients_per_day": limits.org_recipients_per_day,
            "org_recipients_per_10min": limits.org_recipients_per_10min,
            "recipients_per_transaction": limits.recipients_per_transaction,
            "max_message_bytes": limits.max_message_bytes,
            "day_window_seconds": limits.day_window_seconds,
            "short_window_seconds": limits.short_window_seconds,
        },
        "limits_set_by_policy": limits.explicit,
        "account": organisation.account.as_str(),
        "comprehensive_storage": organisation.comprehensive_storage,
        "domains": organisation.domains,
        "subdomains": organisation.subdomains,
    })
}

fn file_digest(path: &std::path::Path) -> Result<String> {
    let bytes = std::fs::read(path).with_context(|| format!("failed to read {}", path.display()))?;
    Ok(hex(&Sha256::digest(&bytes)))
}

pub fn manifest(
    ingested: &Ingested,
    args: &InputArgs,
    policy: Option<&Policy>,
    command: &str,
) -> Result<Value> {
    let policy_json = match policy {
        Some(policy) => match &policy.path {
            Some(path) => json!({
                "path": path.display().to_string(),
                "sha256": file_digest(path)?,
                "users": match &policy.organisation.users {
                    Some(users) => json!({
                        "path": users.path.display().to_string(),
                        "sha256": file_digest(&users.path)?,
                    }),
                    None => Value::Null,
                },
            }),
            None => json!({ "path": Value::Null, "builtin_default": true }),
        },
        None => Value::Null,
    };
    Ok(json!({
        "tool": "relayaudit",
        "version": env!("CARGO_PKG_VERSION"),
        "command": command,
        "options": {
            "format": format!("{:?}", args.format).to_lowercase(),
            "year": args.year,
            "tz": ingested.zone,
        },
        "inputs": ingested.inputs,
        "sets": ingested.sets,
        "policy": policy_json,
    }))
}

pub fn terminal_lines(counts: &LineCounts) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "lines: {} read = {} used + {} other programs + {} rejected",
        counts.read, counts.used, counts.other_program, counts.rejected
    );
    if !counts.reject_codes.is_empty() {
        let codes: Vec<String> = counts
            .reject_codes
            .iter()
            .map(|(code, count)| format!("{code} {count}"))
            .collect();
        let _ = writeln!(
            out,
            "  rejected lines by code: {} (see rejects.parquet)",
            codes.join(", ")
        );
    }
    out
}

/// Formats the terminal summary of a replay. The connection rules come
/// first, because one wrong IP range rejects every message.
pub fn terminal_replay(
    ingested: &Ingested,
    policy: &Policy,
    report: &ViewReport,
    replayed: &ReplayOutput,
) -> String {
    let view = &report.counts;
    let stats = &replayed.stats;
    let mut out = connection::terminal_connection(policy, report, replayed);
    out.push_str(&terminal_lines(&ingested.tables.counts));
    let logical = logical_messages(&ingested.tables);
    let mut parts = vec![
        format!("{} replayed through the relay", view.replayed),
        format!("{} stayed local", view.local_only),
        format!("{} without a delivery line", view.no_delivery),
        format!("{} with no sender in the log", view.sender_unknown),
    ];
    if view.content_filter_no_copy > 0 {
        parts.push(format!(
            "{} stopped at a content filter",
            view.content_filter_no_copy
        ));
    }
    if view.address_probes > 0 {
        parts.push(format!("{} address verification probes", view.address_probes));
    }
    if view.no_inbound_session > 0 {
        parts.push(format!("{} with no inbound session", view.no_inbound_session));
    }
    let _ = writeln!(
        out,
        "messages: {logical} ({}; {} counted under their re-injected copy)",
        parts.join(", "),
        count_noun(view.content_filter_hops, "content filter hop")
    );
    if view.no_inbound_session > 0 {
        let _ = writeln!(
            out,
            "messages with no inbound session: {} ({}), not replayed: direct mode judges each message with its client's session",
            view.no_inbound_session,
            count_noun(view.no_inbound_session_recipients, "recipient")
        );
    }
    let _ = writeln!(out, "recipients replayed: {}", stats.recipients_replayed);
    if let Some(setting) = &stats.relay_setting {
        let _ = writeln!(out, "relay setting: {setting}");
    }
    let _ = writeln!(out, "outcomes by rule:");
    for ((rule, outcome), count) in &stats.rows_by_rule {
        let rule = if rule.is_empty() {
            "(no rule)"
        } else {
            rule.as_str()
        };
        let _ = writeln!(out, "  {outcome:<10} {rule:<32} {count}");
    }
    let rejected: Vec<_> = stats
        .top_senders
        .iter()
        .filter(|s| s.rejected_recipients > 0)
        .take(TERMINAL_TOP_SENDERS)
        .collect();
    if !rejected.is_empty() {
        let _ = writeln!(out, "senders with the most rejected recipients:");
        for sender in rejected {
            let name = if sender.sender.is_empty() {
                "<>"
            } else {
                sender.sender.as_str()
            };
            let _ = writeln!(
                out,
                "  {name:<40} {:>8}  {}",
                sender.rejected_recipients, sender.dominant_rule
            );
        }
    }
    if !stats.not_judged.is_empty() {
        let _ = writeln!(out, "not judged with this policy:");
        for note in &stats.not_judged {
            let _ = writeln!(out, "  {}", note.text);
        }
    }
    if policy.path.is_none() {
        let _ = writeln!(
            out,
            "no --policy given: Google's documented limits were used with allowed senders \"any\""
        );
    }
    out
}
