//! Replay engine: folds messages in time order through the sender and limit
//! rules of the SMTP relay service as the policy configures them.
//!
//! Connection rules (allowed IP, SMTP AUTH, TLS, HELO) are judged elsewhere.

pub mod model;
pub mod rules;

mod limits;
mod sender;
mod setting;
mod stats;
mod text;
mod window;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use crate::policy::{default_recipients_per_transaction, Policy};
use crate::replay::limits::{check_message_size, check_transaction_position, LimitState};
use crate::replay::model::{RelayMessage, ReplayOutput, ReplayStats, Verdict};
use crate::replay::rules::{Decision, Rule, ACCEPTED, REWRITE_POSTMASTER};
use crate::replay::sender::{check_null_multi_rcpt, judge_sender, not_judged_rules, SenderJudgement};
use crate::replay::setting::{choose_setting, SettingChoice};
use crate::replay::stats::RowTally;
use crate::replay::text::{count_noun, group_thousands};

pub use crate::replay::stats::TOP_SENDERS_LISTED;

/// Replays `messages` through the sender and limit rules of `policy`.
///
/// Messages are processed in `(at_us, message_key)` order, ties keeping their
/// input order. The output has one verdict per (message, recipient) in that
/// order and depends only on the input, never on hash order or the clock.
pub fn replay(mut messages: Vec<RelayMessage>, policy: &Policy) -> ReplayOutput {
    messages.sort_by(|a, b| {
        a.at_us
            .cmp(&b.at_us)
            .then_with(|| a.message_key.cmp(&b.message_key))
    });

    let setting = choose_setting(policy);
    let mut engine = Engine::new(policy, &setting);
    for (index, message) in messages.iter().enumerate() {
        engine.replay_message(index, message);
    }
    engine.finish(&messages)
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
    setting: &'p SettingChoice,
    limits: LimitState<'p>,
    verdicts: Vec<Verdict>,
    tally: RowTally,
    /// Transaction split of each source format seen, with whether the policy
    /// set it.
    splits: BTreeMap<String, (u64, bool)>,
}

impl<'p> Engine<'p> {
    fn new(policy: &'p Policy, setting: &'p SettingChoice) -> Self {
        Engine {
            policy,
            setting,
            limits: LimitState::new(&policy.limits),
            verdicts: Vec::new(),
            tally: RowTally::default(),
            splits: BTreeMap::new(),
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

        let judgement = judge_sender(message, self.setting.allowed_senders, &self.policy.organisation);
        let sender_key = message.envelope_from.to_ascii_lowercase();
        let user = judgement
            .user_limits_apply
            .then_some(judgement.effective_sender.as_str());

        let message_decision = judgement
            .rejection
            .clone()
            .or_else(|| check_message_size(&self.policy.limits, message.size_bytes))
            .or_else(|| user.and_then(|sender| self.limits.check_user_messages(sender)));

        let mut any_accepted = false;
        for (transaction, chunk) in message.recipients.chunks(chunk_len).enumerate() {
            let transaction = u32::try_from(transaction).unwrap_or(u32::MAX);
            let transaction_decision = message_decision
                .clone()
                .or_else(|| check_null_multi_rcpt(&message.envelope_from, chunk.len()));

            for (offset, recipient) in chunk.iter().enumerate() {
                let recipient_key = recipient.to_ascii_lowercase();
                let decision = match &transaction_decision {
                    Some(decision) => Some(decision.clone()),
                    None => self.judge_recipient(offset as u64 + 1, user, &recipient_key),
                };
                // NOTE: a throttled (4xx) recipient is neither counted nor
                // retried. A real MTA retries it later, and the retry would
                // count against the windows then.
                if decision.is_none() {
                    self.limits.commit_recipient(index, user, &recipient_key);
                    any_accepted = true;
                }
                self.push_row(message, transaction, recipient, decision, &judgement, &sender_key);
            }
        }

        if let (true, Some(sender)) = (any_accepted, user) {
            self.limits.commit_user_message(index, sender);
        }
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

    fn push_row(
        &mut self,
        message: &RelayMessage,
        transaction: u32,
        recipient: &str,
        decision: Option<Decision>,
        judgement: &SenderJudgement,
        sender_key: &str,
    ) {
        let decision = match (decision, &judgement.rewrite) {
            (Some(decision), _) => decision,
            (None, Some(rewrite)) => Decision::new(REWRITE_POSTMASTER, rewrite.detail.clone()),
            (None, None) => Decision::new(ACCEPTED, String::new()),
        };
        let rule: Rule = decision.rule;
        self.tally.record_row(sender_key, rule);

        let (rewritten_from, rewritten_to) = match &judgement.rewrite {
            Some(rewrite) => (rewrite.from.clone(), rewrite.to.clone()),
            None => (String::new(), String::new()),
        };
        self.verdicts.push(Verdict {
            message_key: message.message_key.clone(),
            recipient: recipient.to_string(),
            transaction,
            outcome: rule.outcome,
            rule: rule.id.to_string(),
            reply_code: rule.reply_code,
            enhanced_code: rule.enhanced_code.to_string(),
            code_source: rule.code_source,
            detail: decision.detail,
            rewritten_from,
            rewritten_to,
            counter_value: decision.counter_value,
            counter_limit: decision.counter_limit,
            provenance: message.provenance.clone(),
            at_us: message.at_us,
        });
    }

    fn finish(self, messages: &[RelayMessage]) -> ReplayOutput {
        let organisation = &self.policy.organisation;
        let mut assumptions = vec![self.setting.reason.clone()];
        if organisation.users.is_none() {
            assumptions.push(
                "The policy names no users file, so the per-user limits apply to every \
                 non-null envelope sender that is not rewritten."
                    .to_string(),
            );
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
            let sentence = if split == 0 {
                format!(
                    "Messages from {name} logs go to the relay in one transaction each, because \
                     the policy sets no recipients_per_transaction for {name} and the MTA has no \
                     known cap."
                )
            } else {
                format!(
                    "Messages from {name} logs are split into transactions of {} recipients, \
                     the MTA's default, because the policy sets no recipients_per_transaction \
                     for {name}.",
                    group_thousands(split)
                )
            };
            assumptions.push(sentence);
        }
        assumptions.extend(self.tally.assumed_code_sentences());
        if self.tally.throttled_rows > 0 {
            assumptions.push(format!(
                "The replay does not retry throttled recipients ({}), and the limit windows \
                 do not count them. A real MTA retries them later, and those retries could \
                 meet other limits.",
                count_noun(self.tally.throttled_rows, "recipient")
            ));
        }

        let stats = ReplayStats {
            messages_replayed: self.tally.messages,
            recipients_replayed: self.tally.rows,
            rows_by_rule: self.tally.rows_by_rule(),
            top_senders: self.tally.top_senders(),
            not_judged: not_judged_rules(self.setting.allowed_senders, organisation),
            assumptions,
            relay_setting: self.setting.name.clone(),
            peaks: self.limits.peaks(messages),
        };
        ReplayOutput {
            verdicts: self.verdicts,
            stats,
        }
    }
}
