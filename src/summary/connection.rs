//! The connection part of `summary.json` and of the terminal summary:
//! connection facts and where they come from, refusals, warnings, findings,
//! and in direct mode the clients that would break.

use std::fmt::Write as _;

use serde_json::{json, Value};

use crate::note::Note;
use crate::policy::Policy;
use crate::relay_view::{SmarthostEvidence, ViewReport};
use crate::replay::model::{Finding, Mode, ReplayOutput, RuleCount};
use crate::replay::rules::{Rule, ALL};
use crate::replay::text::count_noun;
use crate::summary::format_us;

/// Most clients listed in `summary.json`; `connection.clients_not_listed`
/// counts the rest.
const CLIENTS_LISTED: usize = 100;
/// Most clients listed in the terminal summary.
const TERMINAL_CLIENTS: usize = 10;

fn rule_by_id(id: &str) -> Option<&'static Rule> {
    ALL.iter().find(|rule| rule.id == id)
}

fn rule_count_json(id: &str, count: &RuleCount) -> Value {
    let rule = rule_by_id(id);
    json!({
        "rule": id,
        "reply_code": rule.map(|rule| rule.reply_code),
        "enhanced_code": rule.map(|rule| rule.enhanced_code),
        "code_source": rule.map(|rule| rule.code_source.as_str()),
        "connections": count.connections,
        "messages": count.messages,
        "recipients": count.recipients,
        "example": count.example.text,
        "example_code": count.example.code,
        "example_params": count.example.params_value(),
    })
}

/// Orders rule ids as the rule table does.
fn in_rule_order<'a, T>(entries: impl Iterator<Item = (&'a &'static str, T)>) -> Vec<(&'static str, T)> {
    let mut sorted: Vec<(&'static str, T)> = entries.map(|(id, value)| (*id, value)).collect();
    sorted.sort_by_key(|(id, _)| ALL.iter().position(|rule| rule.id == *id));
    sorted
}

/// Parses the `detail_params` of a verdict, which the replay serialised
/// from a JSON object.
fn params_value(params: &str) -> Value {
    serde_json::from_str(params).unwrap_or_else(|_| json!({}))
}

fn finding_json(finding: &Finding) -> Value {
    json!({
        "code": finding.note.code,
        "params": finding.note.params_value(),
        "detail": finding.note.text,
        "example": finding.example.as_ref().map(|at| json!({
            "source_file": at.source_file,
            "line": at.first_line,
        })),
    })
}

fn evidence_json(evidence: &SmarthostEvidence) -> Value {
    json!({
        "hosts": evidence.hosts,
        "delivery_attempts": evidence.deliveries,
        "ports": evidence.ports.iter().map(|(port, count)| (port.to_string(), json!(count))).collect::<serde_json::Map<_, _>>(),
        "reused_connections": evidence.reused,
        "tls": evidence.tls,
        "new_connections_without_handshake": evidence.no_handshake,
        "client_tls_logged": evidence.client_tls_logged,
        "auth_failures": evidence.auth_failures,
        "starttls_demanded": evidence.starttls_demanded,
        "relay_denied": evidence.relay_denied,
    })
}

/// Says where the smarthost facts come from.
fn facts_source(evidence: Option<&SmarthostEvidence>) -> String {
    match evidence {
        Some(evidence) if evidence.deliveries > 0 => format!(
            "the policy, checked against {} to {} in the logs",
            count_noun(evidence.deliveries, "delivery attempt"),
            evidence.hosts_text()
        ),
        Some(evidence) => format!(
            "the policy alone; the logs show no delivery to {}",
            evidence.hosts_text()
        ),
        None => "the policy alone".to_string(),
    }
}

/// Builds the `connection` object of `summary.json`.
pub(super) fn connection_json(policy: &Policy, report: &ViewReport, replayed: &ReplayOutput) -> Value {
    let stats = &replayed.stats.connections;
    let facts = match report.mode {
        Mode::Smarthost => {
            let smarthost = &policy.smarthost;
            json!({
                "source": facts_source(report.evidence.as_ref()),
                "egress_ip": smarthost.egress_ip.map(|ip| ip.to_string()),
                "helo": smarthost.helo,
                "tls": smarthost.tls,
                "auth_user": smarthost.auth_user,
                "port": smarthost.port,
                "outcome": replayed.connections.first().map(|verdict| verdict.outcome.as_str()),
                "rule": replayed.connections.first().map(|verdict| verdict.rule),
                "detail": replayed.connections.first().map(|verdict| verdict.detail.as_str()),
                "detail_code": replayed.connections.first().map(|verdict| verdict.detail_code),
                "detail_params": replayed.connections.first().map(|verdict| params_value(&verdict.detail_params)),
            })
        }
        Mode::Direct => json!({
            "source": "the inbound sessions in the logs",
            "nat_entries": policy.nat.len(),
        }),
    };
    let refused: Vec<Value> = in_rule_order(stats.refused.iter())
        .into_iter()
        .map(|(id, count)| rule_count_json(id, count))
        .collect();
    let order = &stats.order_dependent;
    json!({
        "mode": report.mode.as_str(),
        "facts": facts,
        "evidence": report.evidence.as_ref().map(evidence_json),
        "findings": report.findings.iter().map(finding_json).collect::<Vec<_>>(),
        "judged": stats.judged,
        "refused": refused,
        "not_judged": stats.not_judged.iter().map(Note::to_json).collect::<Vec<_>>(),
        "setting_order": {
            "rule": "relay settings are tried in the order of the policy file, and the first that matches judges the senders; Google does not document its order",
            "order_dependent": {
                "connections": order.connections,
                "messages": order.messages,
                "recipients": order.recipients,
                "settings": stats.order_dependent_settings,
            },
        },
        "messages_by_setting": stats.messages_by_setting,
        "busiest_minute": stats.busiest_minute.as_ref().map(|busy| json!({
            "stream": busy.stream,
            "minute": format_us(busy.minute_start_us),
            "new_connections": busy.connections,
            "messages": busy.messages,
        })),
        "clients_with_messages": stats.clients_with_messages,
        "clients_breaking": stats.breaking_clients.len(),
        "clients_not_listed": stats.breaking_clients.len().saturating_sub(CLIENTS_LISTED),
    })
}

/// Builds the `warnings` array of `summary.json`: one entry per warning
/// rule that applied, in rule table order.
pub(super) fn warnings_json(replayed: &ReplayOutput) -> Value {
    let warnings: Vec<Value> = in_rule_order(replayed.stats.connections.warnings.iter())
        .into_iter()
        .map(|(id, count)| rule_count_json(id, count))
        .collect();
    Value::Array(warnings)
}

/// Builds the `clients` array of `summary.json`: direct mode's clients that
/// would break, most refused messages first, at most `CLIENTS_LISTED`.
pub(super) fn clients_json(replayed: &ReplayOutput) -> Value {
    let clients: Vec<Value> = replayed
        .stats
        .connections
        .breaking_clients
        .iter()
        .take(CLIENTS_LISTED)
        .map(|client| {
            json!({
                "ip": client.observed_ip,
                "relay_ip": client.relay_ip,
                "host_names": client.host_names,
                "sessions": client.sessions,
                "messages": client.messages,
                "recipients": client.recipients,
                "refused_messages": client.refused_messages,
                "rule": client.rule,
                "messages_by_rule": client.messages_by_rule,
                "warnings": client.warnings,
            })
        })
        .collect();
    Value::Array(clients)
}

/// Formats the connection section at the top of the terminal summary.
pub(super) fn terminal_connection(policy: &Policy, report: &ViewReport, replayed: &ReplayOutput) -> String {
    let stats = &replayed.stats.connections;
    let mut out = String::new();
    match report.mode {
        Mode::Smarthost => {
            let smarthost = &policy.smarthost;
            let egress = smarthost
                .egress_ip
                .map_or_else(|| "unknown".to_string(), |ip| ip.to_string());
            let helo = if smarthost.helo.is_empty() {
                "unknown"
            } else {
                smarthost.helo.as_str()
            };
            let tls = if smarthost.tls { "TLS" } else { "no TLS" };
            let auth = if smarthost.auth_user.is_empty() {
                "no SMTP AUTH".to_string()
            } else {
                format!("SMTP AUTH as {}", smarthost.auth_user)
            };
            let _ = writeln!(
                out,
                "connection (smarthost mode): egress {egress}, HELO {helo}, {tls}, {auth}, port {}",
                smarthost.port
            );
            let _ = writeln!(out, "  facts from {}", facts_source(report.evidence.as_ref()));
            if let Some(verdict) = replayed.connections.first() {
                if verdict.rule.is_empty() {
                    let _ = writeln!(out, "  accepted: {}", verdict.detail);
                }
            }
        }
        Mode::Direct => {
            let _ = writeln!(
                out,
                "connection (direct mode): {} judged; {} sent relay-bound mail, {} would break",
                count_noun(stats.judged, "session"),
                count_noun(stats.clients_with_messages, "client"),
                stats.breaking_clients.len()
            );
        }
    }

    for (id, count) in in_rule_order(stats.refused.iter()) {
        let rule = rule_by_id(id);
        let outcome = rule.map_or("refused", |rule| rule.outcome.as_str());
        let reply = rule.map_or(String::new(), |rule| {
            format!(" {} {}", rule.reply_code, rule.enhanced_code)
        });
        let scope = match report.mode {
            Mode::Smarthost => format!(
                "{}, {}",
                count_noun(count.messages, "message"),
                count_noun(count.recipients, "recipient")
            ),
            Mode::Direct => format!(
                "{}, {}, {}",
                count_noun(count.connections, "connection"),
                count_noun(count.messages, "message"),
                count_noun(count.recipients, "recipient")
            ),
        };
        let _ = writeln!(
            out,
            "  {outcome:<10} {id}{reply}: {scope}: {}",
            count.example.text
        );
    }
    for (id, count) in in_rule_order(stats.warnings.iter()) {
        let _ = writeln!(
            out,
            "  {:<10} {id}: {}: {}",
            "warning",
            count_noun(count.messages, "message"),
            count.example.text
        );
    }
    if !stats.breaking_clients.is_empty() {
        let _ = writeln!(
            out,
            "  clients that would break (address, name, refused/sent messages, rule):"
        );
        for client in stats.breaking_clients.iter().take(TERMINAL_CLIENTS) {
            let name = client.host_names.first().map_or("-", String::as_str);
            let translated = if client.relay_ip.is_empty() || client.relay_ip == client.observed_ip {
                String::new()
            } else {
                format!(" (seen as {})", client.relay_ip)
            };
            let _ = writeln!(
                out,
                "    {}{translated}  {name}  {}/{}  {}",
                client.observed_ip, client.refused_messages, client.messages, client.rule
            );
        }
        if stats.breaking_clients.len() > TERMINAL_CLIENTS {
            let _ = writeln!(
                out,
                "    ... {} more in summary.json",
                stats.breaking_clients.len() - TERMINAL_CLIENTS
            );
        }
    }
    for finding in &report.findings {
        let _ = writeln!(
            out,
            "  {:<10} {}: {}",
            "finding", finding.note.code, finding.note.text
        );
    }
    if stats.order_dependent.connections > 0 {
        let _ = writeln!(
            out,
            "  {:<10} the verdicts of {} depend on the order of relay settings {}",
            "assumed",
            count_noun(stats.order_dependent.messages, "message"),
            stats.order_dependent_settings.join(", ")
        );
    }
    for note in &stats.not_judged {
        let _ = writeln!(out, "  not judged: {}", note.text);
    }
    out
}
