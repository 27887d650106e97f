//! Replay engine: judges each connection to the relay with the connection
//! rules, then folds the messages in time order through the sender and
//! limit rules of the SMTP relay service as the policy configures them.
//!
//! A connection that the connection rules refuse refuses every recipient of
//! every message on it, and the sender and limit rules do not see them.

pub mod model;
pub mod rules;

mod connection;
mod connection_tally;
mod helo;
mod limits;
mod reuse;
mod sender;
mod setting;
mod stats;
pub(crate) mod text;
mod window;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use serde_json::json;

use crate::note::Note;
use crate::policy::{default_recipients_per_transaction, AllowedSenders, Policy};
use crate::replay::connection::{judge_connection, Judgement};
use crate::replay::connection_tally::{ConnectionTally, MessageOnConnection};
use crate::replay::limits::{check_message_size, check_transaction_position, LimitState};
use crate::replay::model::{
    Mode, RelayConnection, RelayMessage, ReplayInput, ReplayOutput, ReplayStats, Verdict,
};
use crate::replay::reuse::ReuseCheck;
use crate::replay::rules::{Decision, Rule, ACCEPTED, GENERIC_HELO, NO_CONNECTION_REUSE, REWRITE_POSTMASTER};
use crate::replay::sender::{
    check_null_multi_rcpt, identity_unknown_note, judge_sender, not_judged_rules, Rewrite,
};
use crate::replay::setting::{quoted_list, MatchReason, SettingMatch};
use crate::replay::stats::RowTally;
use crate::replay::text::{count_noun, group_thousands};

pub use crate::replay::stats::TOP_SENDERS_LISTED;

/// Codes of the assumptions this module writes.
const ASSUMPTION_CODES: &[&str] = &[
    "no_relay_settings_for_senders",
    "smarthost_setting_by_range",
    "smarthost_setting_by_auth",
    "smarthost_setting_open",
    "smarthost_setting_address_unknown",
    "per_user_limits_without_users",
    "transaction_split_uncapped",
    "transaction_split_default",
    "throttled_not_retried",
    "reuse_thresholds",
    "setting_order_dependent",
];

/// The note codes of every replay module, one list per module.
pub(crate) const NOTE_CODES: &[&[&str]] = &[
    ASSUMPTION_CODES,
    connection::NOTE_CODES,
    connection_tally::NOTE_CODES,
    limits::NOTE_CODES,
    reuse::NOTE_CODES,
    sender::NOTE_CODES,
    setting::NOTE_CODES,
    stats::NOTE_CODES,
];

/// Replays `messages` in smarthost mode: every message arrives over the one
/// connection that `policy.smarthost` describes, and no connection uses are
/// measured for `dos.no_connection_reuse`.
pub fn replay(mut messages: Vec<RelayMessage>, policy: &Policy) -> ReplayOutput {
    for message in &mut messages {
        message.connection = 0;
    }
    let input = ReplayInput {
        mode: Mode::Smarthost,
        connections: vec![RelayConnection::smarthost(policy)],
        messages,
        samples: Vec::new(),
    };
    replay_input(input, policy)
}

/// Judges every connection of `input` with the connection rules of
/// `policy`, then replays the messages through the sender and limit rules.
///
/// Messages are processed in time order. Messages handed over at the same
/// time keep the order of their first delivery lines in the log (file in
/// read order, then line), then of their keys. The output has one verdict per (message, recipient) in that
/// order and depends only on the input, never on hash order or the clock.
///
/// # Panics
///
/// When a message names a connection index outside `input.connections`.
pub fn replay_input(input: ReplayInput, policy: &Policy) -> ReplayOutput {
    let ReplayInput {
        mode,
        connections,
        mut messages,
        samples,
    } = input;
    messages.sort_by(|a, b| {
        a.at_us
            .cmp(&b.at_us)
            .then_with(|| a.first_attempt.cmp(&b.first_attempt))
            .then_with(|| a.message_key.cmp(&b.message_key))
    });

    let judgements: Vec<Judgement> = connections
        .iter()
        .map(|connection| judge_connection(connection, policy))
        .collect();
    let reuse = ReuseCheck::new(&samples, &policy.dos);
    let mut engine = Engine::new(policy, &connections, &judgements, &reuse);
    for (index, message) in messages.iter().enumerate() {
        engine.replay_message(index, message);
    }
    engine.finish(mode, &messages, !samples.is_empty())
}

/// Recipients per outbound transaction for `source_format`, and whether the
/// policy set it (rather than the MTA's default). 0 means no cap.
fn transaction_split(policy: &Policy, source_format: &str) -> (u64, bool) {
    match policy.sources.get(source_format) {
        Some(source) => (source.recipients_per_transaction, true),
        None => (default_recipients_per_transaction(source_format), false),
    }
}

struct Engine<'p> {
    policy: &'p Policy,
    connections: &'p [RelayConnection],
    judgements: &'p [Judgement],
    reuse: &'p ReuseCheck,
    limits: LimitState<'p>,
    verdicts: Vec<Verdict>,
    tally: RowTally,
    connection_tally: ConnectionTally,
    /// Transaction split of each source format seen, with whether the policy
    /// set it.
    splits: BTreeMap<String, (u64, bool)>,
    /// Relay settings (by index) whose allowed senders judged a message.
    settings_used: Vec<usize>,
    /// Messages whose sender identity the "any addresses" setting could not
    /// establish (see `SenderJudgement::identity_unknown`).
    identity_unknown: u64,
}

/// Facts shared by every row of one message.
struct RowContext<'a> {
    rewrite: Option<&'a Rewrite>,
    relay_setting: Option<&'a str>,
    warnings: Vec<&'static str>,
}

impl<'p> Engine<'p> {
    fn new(
        policy: &'p Policy,
        connections: &'p [RelayConnection],
        judgements: &'p [Judgement],
        reuse: &'p ReuseCheck,
    ) -> Self {
        Engine {
            policy,
            connections,
            judgements,
            reuse,
            limits: LimitState::new(&policy.limits),
            verdicts: Vec::new(),
            tally: RowTally::default(),
            connection_tally: ConnectionTally::new(connections.len()),
            identity_unknown: 0,
            splits: BTreeMap::new(),
            settings_used: Vec::new(),
        }
    }

    fn replay_message(&mut self, index: usize, message: &RelayMessage) {
        self.tally.messages += 1;
        self.limits.advance_to(message.at_us);

        let split = self.split_of(&message.source_format);
        let chunk_len = match usize::try_from(split) {
            Ok(0) | Err(_) => message.recipients.len().max(1),
            Ok(len) => len,
        };
        let largest_transaction = message.recipients.len().min(chunk_len) as u64;
        self.limits
            .observe_offer(index, message.size_bytes, largest_transaction);

        let connection = &self.connections[message.connection];
        let judgement = &self.judgements[message.connection];
        let setting_index = judgement.setting();
        let setting = setting_index.map(|index| &self.policy.relays[index]);
        let warnings = self.message_warnings(connection, judgement, message);
        let sender_key = message.envelope_from.to_ascii_lowercase();

        let first_refusal = if let Some(refusal) = &judgement.refusal {
            let context = RowContext {
                rewrite: None,
                relay_setting: setting.map(|setting| setting.name.as_str()),
                warnings: Vec::new(),
            };
            for position in 0..message.recipients.len() {
                let transaction = u32::try_from(position / chunk_len).unwrap_or(u32::MAX);
                self.push_row(
                    message,
                    (transaction, position),
                    refusal.clone(),
                    &context,
                    &sender_key,
                );
            }
            Some(refusal.rule.id)
        } else {
            let allowed = setting.map_or(AllowedSenders::Any, |setting| setting.allowed_senders);
            if let Some(index) = setting_index {
                if !self.settings_used.contains(&index) {
                    self.settings_used.push(index);
                }
            }
            let warning_ids: Vec<&'static str> = warnings.iter().map(|(rule, _)| *rule).collect();
            let relay_setting = setting.map(|setting| setting.name.as_str());
            self.judge_senders_and_limits(
                index,
                message,
                (allowed, relay_setting),
                chunk_len,
                warning_ids,
                &sender_key,
            )
        };

        self.connection_tally.record_message(
            MessageOnConnection {
                connection: message.connection,
                recipients: message.recipients.len() as u64,
                first_refusal,
                warnings: &warnings,
            },
            if judgement.refusal.is_none() {
                setting.map(|setting| setting.name.as_str())
            } else {
                None
            },
        );
    }

    /// Returns the warnings (rule id and detail) that apply to `message`
    /// on an accepted connection, in rule table order.
    fn message_warnings(
        &self,
        connection: &RelayConnection,
        judgement: &Judgement,
        message: &RelayMessage,
    ) -> Vec<(&'static str, Note)> {
        let mut warnings = Vec::new();
        if judgement.refusal.is_some() {
            return warnings;
        }
        if let Some(detail) = &judgement.helo_warning {
            warnings.push((GENERIC_HELO.id, detail.clone()));
        }
        if let Some(stream) = &connection.reuse_stream {
            let at_us = connection.opened_at_us.unwrap_or(message.at_us);
            if let Some(detail) = self.reuse.warning(stream, at_us) {
                warnings.push((NO_CONNECTION_REUSE.id, detail));
            }
        }
        warnings
    }

    /// Applies the sender and limit rules to a message on an accepted
    /// connection and returns the rule of its first refused recipient.
    fn judge_senders_and_limits(
        &mut self,
        index: usize,
        message: &RelayMessage,
        (allowed, relay_setting): (AllowedSenders, Option<&str>),
        chunk_len: usize,
        warnings: Vec<&'static str>,
        sender_key: &str,
    ) -> Option<&'static str> {
        let judgement = judge_sender(message, allowed, &self.policy.organisation);
        if judgement.identity_unknown {
            self.identity_unknown += 1;
        }
        let context = RowContext {
            rewrite: judgement.rewrite.as_ref(),
            relay_setting,
            warnings,
        };
        let user = judgement
            .user_limits_apply
            .then_some(judgement.effective_sender.as_str());

        // NOTE: the first rule that refuses decides, so a message rejected by
        // a sender rule is not also checked against the size limit.
        let message_decision = judgement
            .rejection
            .clone()
            .or_else(|| check_message_size(&self.policy.limits, message.size_bytes));

        // Each outbound transaction is a message to the relay, so the
        // per-user message limit counts transactions.
        let mut first_refusal = None;
        for (transaction, chunk) in message.recipients.chunks(chunk_len).enumerate() {
            let transaction_start = transaction * chunk_len;
            let transaction = u32::try_from(transaction).unwrap_or(u32::MAX);
            let transaction_decision = message_decision
                .clone()
                .or_else(|| check_null_multi_rcpt(&message.envelope_from, chunk.len()))
                .or_else(|| user.and_then(|sender| self.limits.check_user_messages(sender)));

            let mut any_accepted = false;
            for (offset, recipient) in chunk.iter().enumerate() {
                let recipient_key = recipient.to_ascii_lowercase();
                let decision = match &transaction_decision {
                    Some(decision) => Some(decision.clone()),
                    None => self.judge_recipient(offset as u64 + 1, user, &recipient_key),
                };
                // NOTE: a throttled (4xx) recipient is neither counted nor
                // retried. A real MTA retries it later, and the retry would
                // count against the windows then.
                let decision = match decision {
                    Some(decision) => {
                        first_refusal.get_or_insert(decision.rule.id);
                        decision
                    }
                    None => {
                        self.limits.commit_recipient(index, user, &recipient_key);
                        any_accepted = true;
                        match context.rewrite {
                            Some(rewrite) => Decision::new(REWRITE_POSTMASTER, rewrite.detail.clone()),
                            None => Decision::new(ACCEPTED, Note::default()),
                        }
                    }
                };
                self.push_row(
                    message,
                    (transaction, transaction_start + offset),
                    decision,
                    &context,
                    sender_key,
                );
            }
            if let (true, Some(sender)) = (any_accepted, user) {
                self.limits.commit_user_message(index, sender);
            }
        }

        first_refusal
    }

    /// Applies the per-recipient limit rules in order. Returns `None` when
    /// the relay accepts the recipient.
    fn judge_recipient(&self, position: u64, user: Option<&str>, recipient_key: &str) -> Option<Decision> {
        check_transaction_position(&self.policy.limits, position)
            .or_else(|| user.and_then(|sender| self.limits.check_user_recipient(sender, recipient_key)))
            .or_else(|| self.limits.check_org_recipient())
    }

    fn split_of(&mut self, source_format: &str) -> u64 {
        if let Some(&(split, _)) = self.splits.get(source_format) {
            return split;
        }
        let entry = transaction_split(self.policy, source_format);
        self.splits.insert(source_format.to_string(), entry);
        entry.0
    }

    /// Adds the verdict row of the recipient at `position` in
    /// `message.recipients`, carried by relay transaction `transaction`.
    fn push_row(
        &mut self,
        message: &RelayMessage,
        (transaction, position): (u32, usize),
        decision: Decision,
        context: &RowContext<'_>,
        sender_key: &str,
    ) {
        let recipient = &message.recipients[position];
        let delivery = message.recipient_lines.get(position).cloned();
        let rule: Rule = decision.rule;
        self.tally.record_row(sender_key, rule);

        let (rewritten_from, rewritten_to) = match context.rewrite {
            Some(rewrite) => (rewrite.from.clone(), rewrite.to.clone()),
            None => (String::new(), String::new()),
        };
        let Note {
            code: detail_code,
            params: detail_params,
            text: detail,
        } = decision.detail;
        self.verdicts.push(Verdict {
            message_key: message.message_key.clone(),
            recipient: recipient.to_string(),
            transaction,
            outcome: rule.outcome,
            rule: rule.id.to_string(),
            reply_code: rule.reply_code,
            enhanced_code: rule.enhanced_code.to_string(),
            code_source: rule.code_source,
            detail,
            detail_code,
            detail_params,
            rewritten_from,
            rewritten_to,
            counter_value: decision.counter_value,
            counter_limit: decision.counter_limit,
            relay_setting: context.relay_setting.map(str::to_string),
            client_ip: self.connections[message.connection].client_ip,
            warnings: context.warnings.clone(),
            provenance: message.provenance.clone(),
            delivery,
            at_us: message.at_us,
        });
    }

    fn finish(self, mode: Mode, messages: &[RelayMessage], reuse_measured: bool) -> ReplayOutput {
        let organisation = &self.policy.organisation;
        let mut assumptions = Vec::new();
        if mode == Mode::Smarthost {
            if let Some(note) = smarthost_setting_note(self.policy, self.judgements) {
                assumptions.push(note);
            }
        }
        if organisation.users.is_none() {
            assumptions.push(Note::new(
                "per_user_limits_without_users",
                json!({}),
                "The policy names no users file, so the per-user limits apply to every \
                 non-null envelope sender that is not rewritten."
                    .to_string(),
            ));
        }
        for (source_format, &(split, from_policy)) in &self.splits {
            if from_policy {
                continue;
            }
            let name = if source_format.is_empty() {
                "(unnamed)"
            } else {
                source_format.as_str()
            };
            let note = if split == 0 {
                Note::new(
                    "transaction_split_uncapped",
                    json!({ "source_format": source_format }),
                    format!(
                        "Messages from {name} logs go to the relay in one transaction each, because \
                         the policy sets no recipients_per_transaction for {name} and the MTA has \
                         no known cap."
                    ),
                )
            } else {
                Note::new(
                    "transaction_split_default",
                    json!({ "source_format": source_format, "recipients": split }),
                    format!(
                        "Messages from {name} logs are split into transactions of {} recipients, \
                         the MTA's default, because the policy sets no recipients_per_transaction \
                         for {name}.",
                        group_thousands(split)
                    ),
                )
            };
            assumptions.push(note);
        }
        assumptions.extend(self.tally.assumed_code_notes());
        if self.tally.throttled_rows > 0 {
            assumptions.push(Note::new(
                "throttled_not_retried",
                json!({ "recipients": self.tally.throttled_rows }),
                format!(
                    "The replay does not retry throttled recipients ({}), and the limit windows \
                     do not count them. A real MTA retries them later, and those retries could \
                     meet other limits.",
                    count_noun(self.tally.throttled_rows, "recipient")
                ),
            ));
        }
        if reuse_measured {
            assumptions.push(reuse_threshold_note(self.policy));
        }

        let not_judged = if self.policy.relays.is_empty() {
            not_judged_rules(AllowedSenders::Any, organisation)
        } else {
            let mut used = self.settings_used.clone();
            used.sort_unstable();
            let mut notes: Vec<Note> = Vec::new();
            for index in used {
                for note in not_judged_rules(self.policy.relays[index].allowed_senders, organisation) {
                    if !notes.contains(&note) {
                        notes.push(note);
                    }
                }
            }
            notes
        };
        let mut not_judged = not_judged;
        if self.identity_unknown > 0 {
            not_judged.push(identity_unknown_note(self.identity_unknown));
        }
        let relay_setting = match mode {
            Mode::Smarthost => self
                .judgements
                .first()
                .and_then(Judgement::setting)
                .map(|index| self.policy.relays[index].name.clone()),
            Mode::Direct => None,
        };

        let (connections, connection_stats) =
            self.connection_tally
                .finish(mode, self.connections, self.judgements, self.reuse, self.policy);
        if let Some(note) = order_note(mode, &connection_stats) {
            assumptions.push(note);
        }

        let stats = ReplayStats {
            messages_replayed: self.tally.messages,
            recipients_replayed: self.tally.rows,
            rows_by_rule: self.tally.rows_by_rule(),
            top_senders: self.tally.top_senders(),
            not_judged,
            assumptions,
            relay_setting,
            peaks: self.limits.peaks(messages),
            connections: connection_stats,
        };
        ReplayOutput {
            verdicts: self.verdicts,
            connections,
            stats,
        }
    }
}

/// Explains which relay setting judges the smarthost connection, or `None`
/// when no setting matches (the connection rules report that).
fn smarthost_setting_note(policy: &Policy, judgements: &[Judgement]) -> Option<Note> {
    let judgement = judgements.first()?;
    let egress = match policy.smarthost.egress_ip {
        Some(ip) => ip.to_string(),
        None => "(not given)".to_string(),
    };
    match &judgement.matched {
        SettingMatch::NoSettings => Some(Note::new(
            "no_relay_settings_for_senders",
            json!({}),
            "The policy lists no relay settings, so senders are judged as if a setting allowed \
             any address."
                .to_string(),
        )),
        SettingMatch::Refused(_) => None,
        SettingMatch::Matched { setting, reason, .. } => {
            let name = &policy.relays[*setting].name;
            let (code, params, why) = match reason {
                MatchReason::IpRange(_) => (
                    "smarthost_setting_by_range",
                    json!({ "setting": name, "egress_ip": egress }),
                    format!("its allowed IP ranges contain the smarthost egress address {egress}"),
                ),
                MatchReason::Auth(user) => (
                    "smarthost_setting_by_auth",
                    json!({ "setting": name, "auth_user": user }),
                    format!("it requires SMTP AUTH and the smarthost authenticates as {user}"),
                ),
                MatchReason::Open => (
                    "smarthost_setting_open",
                    json!({ "setting": name }),
                    "it lists no IP ranges and does not require SMTP AUTH".to_string(),
                ),
                MatchReason::IpUnknown => (
                    "smarthost_setting_address_unknown",
                    json!({ "setting": name }),
                    "the policy gives no smarthost egress address, so its IP ranges are taken to \
                     allow the smart host"
                        .to_string(),
                ),
            };
            let text = format!("Relay setting \"{name}\" judges the senders because {why}.");
            Some(Note::new(code, params, text))
        }
    }
}

/// States the order in which relay settings are tried, when the verdicts
/// of some connections depend on it.
fn order_note(mode: Mode, stats: &crate::replay::model::ConnectionStats) -> Option<Note> {
    let count = &stats.order_dependent;
    if count.connections == 0 {
        return None;
    }
    let names: Vec<&str> = stats
        .order_dependent_settings
        .iter()
        .map(String::as_str)
        .collect();
    let mut params = json!({
        "settings": names,
        "messages": count.messages,
        "recipients": count.recipients,
    });
    let which = match mode {
        Mode::Smarthost => "The smarthost connection matches".to_string(),
        Mode::Direct => {
            params["connections"] = json!(count.connections);
            format!("{} match", count_noun(count.connections, "connection"))
        }
    };
    let text = format!(
        "{which} more than one of the relay settings {}, which differ in allowed senders or TLS. \
         Google does not document the order in which it tries settings; relayaudit takes the \
         first in the policy file, so the verdicts of {} ({}) depend on that order.",
        quoted_list(&names),
        count_noun(count.messages, "message"),
        count_noun(count.recipients, "recipient")
    );
    Some(Note::new("setting_order_dependent", params, text))
}

/// States the `dos.no_connection_reuse` thresholds and where they come from.
fn reuse_threshold_note(policy: &Policy) -> Note {
    let dos = &policy.dos;
    let from_file = dos
        .explicit
        .iter()
        .any(|key| key == "max_connections_per_minute" || key == "min_messages_per_connection");
    let source = if from_file {
        "set in the policy file"
    } else {
        "relayaudit's defaults"
    };
    Note::new(
        "reuse_thresholds",
        json!({
            "max_connections_per_minute": dos.max_connections_per_minute,
            "min_messages_per_connection": dos.min_messages_per_connection,
            "set_by_policy": from_file,
        }),
        format!(
            "dos.no_connection_reuse warns when one address opens more than {} new connections in \
             a UTC minute at fewer than {} messages per connection. Google publishes no such \
             thresholds; these are {source}.",
            group_thousands(dos.max_connections_per_minute),
            dos.min_messages_per_connection
        ),
    )
}
