//! Tallies of the connection rules: per connection, per rule, and per
//! client in direct mode.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::note::{Note, Params};
use crate::policy::Policy;
use crate::replay::connection::Judgement;
use crate::replay::model::{
    ClientSummary, ConnectionStats, ConnectionVerdict, Mode, RelayConnection, RuleCount,
};
use crate::replay::reuse::ReuseCheck;
use crate::replay::rules::{
    ACCEPTED, ALL, AUTH_WITHOUT_TLS, GENERIC_HELO, IP_NOT_ALLOWED, NO_CONNECTION_REUSE, SMTP_AUTH_REQUIRED,
    TLS_REQUIRED,
};
use crate::replay::setting::{MatchReason, SettingMatch};
use crate::replay::text::count_noun;

/// Codes of the notes this module writes: how an accepted connection
/// matched its setting, then the reasons in `not_judged`.
pub(crate) const NOTE_CODES: &[&str] = &[
    "no_relay_settings_listed",
    "setting_matched_by_range",
    "setting_matched_by_auth",
    "setting_open",
    "setting_address_unknown",
    "connection_rules_without_settings",
    "open_setting_accepts_all",
    "egress_ip_missing",
    "client_address_unknown",
    "tls_unknown",
    "smarthost_helo_missing",
    "helo_unknown",
    "reuse_unmeasured",
];

/// Messages, recipients and warnings of one connection.
#[derive(Debug, Default, Clone)]
struct PerConnection {
    messages: u64,
    recipients: u64,
    /// Refused messages by the rule that refused their first recipient.
    refused_by_rule: BTreeMap<&'static str, u64>,
    /// Messages and recipients that got each warning.
    warned: BTreeMap<&'static str, (u64, u64)>,
}

/// One message, with the facts the connection tally counts.
pub(crate) struct MessageOnConnection<'a> {
    pub(crate) connection: usize,
    pub(crate) recipients: u64,
    /// Rule of the first refused recipient, if any was refused.
    pub(crate) first_refusal: Option<&'static str>,
    /// Warning rules with their details.
    pub(crate) warnings: &'a [(&'static str, Note)],
}

/// Running counts of the connection rules.
#[derive(Debug, Default)]
pub(crate) struct ConnectionTally {
    per_connection: Vec<PerConnection>,
    /// Detail of the first message that got each warning.
    warning_examples: BTreeMap<&'static str, Note>,
    messages_by_setting: BTreeMap<String, u64>,
}

impl ConnectionTally {
    pub(crate) fn new(connections: usize) -> Self {
        ConnectionTally {
            per_connection: vec![PerConnection::default(); connections],
            ..ConnectionTally::default()
        }
    }

    pub(crate) fn record_message(&mut self, message: MessageOnConnection<'_>, setting: Option<&str>) {
        let tally = &mut self.per_connection[message.connection];
        tally.messages += 1;
        tally.recipients += message.recipients;
        if let Some(rule) = message.first_refusal {
            *tally.refused_by_rule.entry(rule).or_insert(0) += 1;
        }
        for (rule, detail) in message.warnings {
            let entry = tally.warned.entry(rule).or_insert((0, 0));
            entry.0 += 1;
            entry.1 += message.recipients;
            self.warning_examples
                .entry(rule)
                .or_insert_with(|| detail.clone());
        }
        if let Some(name) = setting {
            *self.messages_by_setting.entry(name.to_string()).or_insert(0) += 1;
        }
    }

    /// Builds the per-connection verdicts and the totals.
    pub(crate) fn finish(
        self,
        mode: Mode,
        connections: &[RelayConnection],
        judgements: &[Judgement],
        reuse: &ReuseCheck,
        policy: &Policy,
    ) -> (Vec<ConnectionVerdict>, ConnectionStats) {
        let mut stats = ConnectionStats {
            mode,
            judged: connections.len() as u64,
            messages_by_setting: self.messages_by_setting.clone(),
            busiest_minute: reuse.busiest(),
            ..ConnectionStats::default()
        };
        let mut verdicts = Vec::with_capacity(connections.len());
        let mut order_settings: Vec<usize> = Vec::new();

        for (index, connection) in connections.iter().enumerate() {
            let judgement = &judgements[index];
            let tally = &self.per_connection[index];
            let warnings = connection_warnings(connection, judgement, tally, reuse);
            let verdict = connection_verdict(connection, judgement, tally, warnings, policy);

            if let Some(refusal) = &judgement.refusal {
                add_count(
                    stats.refused.entry(refusal.rule.id).or_default(),
                    tally.messages,
                    tally.recipients,
                    &refusal.detail,
                );
            }
            // A connection that carries no replayed message brings no mail
            // to the relay: its warnings stay on its session row only.
            let carried_warnings: &[&'static str] = if tally.messages > 0 {
                &verdict.warnings
            } else {
                &[]
            };
            for rule in carried_warnings {
                let (messages, recipients) = tally.warned.get(rule).copied().unwrap_or((0, 0));
                let example = self.warning_example(rule, judgement);
                add_count(
                    stats.warnings.entry(rule).or_default(),
                    messages,
                    recipients,
                    &example,
                );
            }
            if let SettingMatch::Matched {
                setting,
                also_matching,
                ..
            } = &judgement.matched
            {
                if !also_matching.is_empty() {
                    add_count(
                        &mut stats.order_dependent,
                        tally.messages,
                        tally.recipients,
                        &Note::default(),
                    );
                    order_settings.push(*setting);
                    order_settings.extend(also_matching);
                }
            }
            verdicts.push(verdict);
        }

        order_settings.sort_unstable();
        order_settings.dedup();
        stats.order_dependent_settings = order_settings
            .into_iter()
            .map(|index| policy.relays[index].name.clone())
            .collect();
        stats.not_judged = not_judged(mode, connections, judgements, &self.per_connection, policy);
        if mode == Mode::Direct {
            let (clients, with_messages) = breaking_clients(connections, &verdicts, &self.per_connection);
            stats.breaking_clients = clients;
            stats.clients_with_messages = with_messages;
        }
        (verdicts, stats)
    }

    fn warning_example(&self, rule: &'static str, judgement: &Judgement) -> Note {
        if let Some(example) = self.warning_examples.get(rule) {
            return example.clone();
        }
        if rule == GENERIC_HELO.id {
            return judgement.helo_warning.clone().unwrap_or_default();
        }
        Note::default()
    }
}

fn add_count(count: &mut RuleCount, messages: u64, recipients: u64, detail: &Note) {
    count.connections += 1;
    count.messages += messages;
    count.recipients += recipients;
    if count.example.text.is_empty() {
        count.example = detail.clone();
    }
}

/// Warning rules of an accepted connection, in rule table order. Reuse
/// applies when any message on it got the warning, or when the minute in
/// which it opened is flagged.
fn connection_warnings(
    connection: &RelayConnection,
    judgement: &Judgement,
    tally: &PerConnection,
    reuse: &ReuseCheck,
) -> Vec<&'static str> {
    if judgement.refusal.is_some() {
        return Vec::new();
    }
    let mut warnings = Vec::new();
    if judgement.helo_warning.is_some() {
        warnings.push(GENERIC_HELO.id);
    }
    let opened_flagged = match (&connection.reuse_stream, connection.opened_at_us) {
        (Some(stream), Some(at_us)) => reuse.warning(stream, at_us).is_some(),
        _ => false,
    };
    if opened_flagged || tally.warned.contains_key(NO_CONNECTION_REUSE.id) {
        warnings.push(NO_CONNECTION_REUSE.id);
    }
    warnings
}

fn connection_verdict(
    connection: &RelayConnection,
    judgement: &Judgement,
    tally: &PerConnection,
    warnings: Vec<&'static str>,
    policy: &Policy,
) -> ConnectionVerdict {
    let relay_setting = judgement.setting().map(|index| policy.relays[index].name.clone());
    let (rule, detail) = match &judgement.refusal {
        Some(refusal) => (refusal.rule, refusal.detail.clone()),
        None => (ACCEPTED, match_detail(judgement, policy)),
    };
    let Note {
        code: detail_code,
        params: detail_params,
        text: detail,
    } = detail;
    ConnectionVerdict {
        key: connection.key.clone(),
        client_ip: connection.client_ip,
        outcome: rule.outcome,
        rule: rule.id,
        reply_code: rule.reply_code,
        enhanced_code: rule.enhanced_code,
        detail,
        detail_code,
        detail_params,
        relay_setting,
        warnings,
        messages: tally.messages,
        recipients: tally.recipients,
    }
}

/// Describes how an accepted connection matched its setting.
fn match_detail(judgement: &Judgement, policy: &Policy) -> Note {
    match &judgement.matched {
        SettingMatch::NoSettings => Note::new(
            "no_relay_settings_listed",
            Params::new(),
            "the policy lists no relay settings".to_string(),
        ),
        SettingMatch::Refused(decision) => decision.detail.clone(),
        SettingMatch::Matched { setting, reason, .. } => {
            let name = &policy.relays[*setting].name;
            match reason {
                MatchReason::IpRange(range) => Note::new(
                    "setting_matched_by_range",
                    Params::new().add("range", range.to_string()).add("setting", name),
                    format!("relay setting \"{name}\" allows the address (range {range})"),
                ),
                MatchReason::Auth(user) => Note::new(
                    "setting_matched_by_auth",
                    Params::new().add("auth_user", user).add("setting", name),
                    format!("relay setting \"{name}\" accepts SMTP AUTH as {user}"),
                ),
                MatchReason::Open => Note::new(
                    "setting_open",
                    Params::new().add("setting", name),
                    format!("relay setting \"{name}\" lists no IP ranges and does not require SMTP AUTH"),
                ),
                MatchReason::IpUnknown => Note::new(
                    "setting_address_unknown",
                    Params::new().add("setting", name),
                    format!("relay setting \"{name}\" is taken to allow the address, which is unknown"),
                ),
            }
        }
    }
}

/// Connections and the messages they carried that a rule could not be
/// judged for.
#[derive(Debug, Clone, Copy)]
struct Scope {
    mode: Mode,
    connections: u64,
    messages: u64,
}

impl Scope {
    /// Phrases the scope: `N messages` in smarthost mode, where there is
    /// one connection, and `N connections carrying M messages` in direct
    /// mode.
    fn phrase(self) -> String {
        match self.mode {
            Mode::Smarthost => count_noun(self.messages, "message"),
            Mode::Direct => format!(
                "{} carrying {}",
                count_noun(self.connections, "connection"),
                count_noun(self.messages, "message")
            ),
        }
    }

    /// Adds the scope to the parameters of a note. Smarthost mode has one
    /// connection, so only the messages are given.
    fn add_to(self, params: &mut Value) {
        params["messages"] = json!(self.messages);
        if self.mode == Mode::Direct {
            params["connections"] = json!(self.connections);
        }
    }
}

/// Builds a note reading `rule, rule: reason` that names `rules` in its
/// `rules` parameter, with the scope when one is given.
fn not_judged_note(code: &'static str, rules: &[&str], scope: Option<Scope>, reason: String) -> Note {
    let mut params = json!({ "rules": rules });
    if let Some(scope) = scope {
        scope.add_to(&mut params);
    }
    Note::new(code, params, format!("{}: {reason}", rules.join(", ")))
}

/// Lists, as notes reading `rule id: reason`, the connection rules that
/// some connections lack the facts to judge, with how many connections and
/// messages that leaves unjudged.
fn not_judged(
    mode: Mode,
    connections: &[RelayConnection],
    judgements: &[Judgement],
    tallies: &[PerConnection],
    policy: &Policy,
) -> Vec<Note> {
    let mut notes = Vec::new();
    if policy.relays.is_empty() {
        notes.push(not_judged_note(
            "connection_rules_without_settings",
            &[IP_NOT_ALLOWED.id, SMTP_AUTH_REQUIRED.id, TLS_REQUIRED.id],
            None,
            "the policy lists no relay settings".to_string(),
        ));
    }

    let count_where = |flag: &dyn Fn(&Judgement) -> bool| {
        let mut scope = Scope {
            mode,
            connections: 0,
            messages: 0,
        };
        for (judgement, tally) in judgements.iter().zip(tallies) {
            if flag(judgement) {
                scope.connections += 1;
                scope.messages += tally.messages;
            }
        }
        scope
    };

    let open = count_where(&|judgement| {
        matches!(
            judgement.matched,
            SettingMatch::Matched {
                reason: MatchReason::Open,
                ..
            }
        )
    });
    if open.connections > 0 {
        notes.push(not_judged_note(
            "open_setting_accepts_all",
            &[IP_NOT_ALLOWED.id, SMTP_AUTH_REQUIRED.id],
            Some(open),
            format!(
                "the matched relay setting lists no IP ranges and does not require SMTP AUTH, so \
                 it accepts every connection ({})",
                open.phrase()
            ),
        ));
    }
    let address = count_where(&|judgement| judgement.unknown.address);
    if address.connections > 0 {
        notes.push(match mode {
            Mode::Smarthost => not_judged_note(
                "egress_ip_missing",
                &[IP_NOT_ALLOWED.id],
                None,
                "the policy gives no smarthost.egress_ip".to_string(),
            ),
            Mode::Direct => not_judged_note(
                "client_address_unknown",
                &[IP_NOT_ALLOWED.id],
                Some(address),
                format!("the client address is unknown for {}", address.phrase()),
            ),
        });
    }
    let tls = count_where(&|judgement| judgement.unknown.tls);
    if tls.connections > 0 {
        notes.push(not_judged_note(
            "tls_unknown",
            &[TLS_REQUIRED.id, AUTH_WITHOUT_TLS.id],
            Some(tls),
            format!("the logs do not show whether TLS was used for {}", tls.phrase()),
        ));
    }
    let helo = count_where(&|judgement| judgement.unknown.helo);
    if helo.connections > 0 {
        notes.push(match mode {
            Mode::Smarthost => not_judged_note(
                "smarthost_helo_missing",
                &[GENERIC_HELO.id],
                None,
                "the policy gives no smarthost.helo".to_string(),
            ),
            Mode::Direct => not_judged_note(
                "helo_unknown",
                &[GENERIC_HELO.id],
                Some(helo),
                format!(
                    "the HELO name is unknown for {}, because Postfix logs it only in reject lines",
                    helo.phrase()
                ),
            ),
        });
    }
    let unmeasured = connections
        .iter()
        .zip(tallies)
        .filter(|(connection, tally)| connection.reuse_stream.is_none() && tally.messages > 0)
        .count() as u64;
    if unmeasured > 0 && mode == Mode::Direct {
        notes.push(Note::new(
            "reuse_unmeasured",
            json!({ "rules": [NO_CONNECTION_REUSE.id], "connections": unmeasured }),
            format!(
                "{}: {} with messages have no known address or connect time",
                NO_CONNECTION_REUSE.id,
                count_noun(unmeasured, "connection")
            ),
        ));
    }
    notes
}

/// Groups direct-mode connections by the address the logs show and returns
/// the clients with refused messages, most refused first, then by address,
/// and the number of clients with relay-bound messages.
fn breaking_clients(
    connections: &[RelayConnection],
    verdicts: &[ConnectionVerdict],
    tallies: &[PerConnection],
) -> (Vec<ClientSummary>, u64) {
    let mut clients: BTreeMap<&str, ClientSummary> = BTreeMap::new();
    for ((connection, verdict), tally) in connections.iter().zip(verdicts).zip(tallies) {
        let address = if connection.observed_ip.is_empty() {
            "unknown"
        } else {
            connection.observed_ip.as_str()
        };
        let client = clients.entry(address).or_insert_with(|| ClientSummary {
            observed_ip: address.to_string(),
            relay_ip: String::new(),
            host_names: Vec::new(),
            sessions: 0,
            messages: 0,
            recipients: 0,
            refused_messages: 0,
            messages_by_rule: BTreeMap::new(),
            rule: "",
            warnings: Vec::new(),
        });
        if let (true, Some(ip)) = (client.relay_ip.is_empty(), connection.client_ip) {
            client.relay_ip = ip.to_string();
        }
        if !connection.client_host.is_empty() && !client.host_names.contains(&connection.client_host) {
            client.host_names.push(connection.client_host.clone());
        }
        client.sessions += 1;
        client.messages += tally.messages;
        client.recipients += tally.recipients;
        for (rule, messages) in &tally.refused_by_rule {
            client.refused_messages += messages;
            *client.messages_by_rule.entry(rule).or_insert(0) += messages;
        }
        if tally.messages > 0 {
            for rule in &verdict.warnings {
                if !client.warnings.contains(rule) {
                    client.warnings.push(rule);
                }
            }
        }
    }

    let with_messages = clients.values().filter(|client| client.messages > 0).count() as u64;
    let rank = |rule: &str| ALL.iter().position(|known| known.id == rule).unwrap_or(ALL.len());
    let mut breaking: Vec<ClientSummary> = clients
        .into_values()
        .filter(|client| client.refused_messages > 0)
        .map(|mut client| {
            client.host_names.sort();
            client.warnings.sort_by_key(|rule| rank(rule));
            let mut best: Option<(&'static str, u64)> = None;
            for (&rule, &messages) in &client.messages_by_rule {
                let better = match best {
                    None => true,
                    Some((best_rule, best_messages)) => {
                        messages > best_messages
                            || (messages == best_messages && rank(rule) < rank(best_rule))
                    }
                };
                if better {
                    best = Some((rule, messages));
                }
            }
            client.rule = best.map_or("", |(rule, _)| rule);
            client
        })
        .collect();
    // Addresses sort as addresses (192.0.2.9 before 192.0.2.10), and
    // unparsable ones last.
    breaking.sort_by_cached_key(|client| {
        let address = client.observed_ip.parse::<std::net::IpAddr>().ok();
        (
            std::cmp::Reverse(client.refused_messages),
            address.is_none(),
            address,
            client.observed_ip.clone(),
        )
    });
    (breaking, with_messages)
}
