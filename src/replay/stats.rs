//! Tallies of verdict rows for `ReplayStats`.

use std::collections::BTreeMap;

use serde_json::json;

use crate::note::Note;
use crate::replay::model::{CodeSource, Outcome, SenderRejections};
use crate::replay::rules::{Rule, ALL};
use crate::replay::text::count_noun;

/// Codes of the assumptions this module writes.
pub(crate) const NOTE_CODES: &[&str] = &["assumed_reply_code"];

/// Maximum number of entries in `ReplayStats::top_senders`.
pub const TOP_SENDERS_LISTED: usize = 20;

#[derive(Debug, Default)]
struct SenderTally {
    rejected: u64,
    throttled: u64,
    rows_by_rule: BTreeMap<&'static str, u64>,
}

/// Running counts of verdict rows.
#[derive(Debug, Default)]
pub(crate) struct RowTally {
    pub(crate) messages: u64,
    pub(crate) rows: u64,
    pub(crate) throttled_rows: u64,
    rows_by_rule: BTreeMap<(&'static str, &'static str), u64>,
    /// Refused rows per lowercase envelope sender as logged.
    senders: BTreeMap<String, SenderTally>,
}

impl RowTally {
    /// Counts one verdict row that `rule` decided, for the message from
    /// `sender` (lowercase, as logged).
    pub(crate) fn record_row(&mut self, sender: &str, rule: Rule) {
        self.rows += 1;
        *self
            .rows_by_rule
            .entry((rule.id, rule.outcome.as_str()))
            .or_insert(0) += 1;

        let refused = matches!(rule.outcome, Outcome::Rejected | Outcome::Throttled);
        if !refused {
            return;
        }
        if rule.outcome == Outcome::Throttled {
            self.throttled_rows += 1;
        }
        // Look up before inserting so that the common case allocates nothing.
        let tally = match self.senders.get_mut(sender) {
            Some(tally) => tally,
            None => self.senders.entry(sender.to_string()).or_default(),
        };
        match rule.outcome {
            Outcome::Throttled => tally.throttled += 1,
            _ => tally.rejected += 1,
        }
        *tally.rows_by_rule.entry(rule.id).or_insert(0) += 1;
    }

    pub(crate) fn rows_by_rule(&self) -> BTreeMap<(String, &'static str), u64> {
        self.rows_by_rule
            .iter()
            .map(|(&(rule, outcome), &count)| ((rule.to_string(), outcome), count))
            .collect()
    }

    /// Returns the senders with the most refused (rejected plus throttled)
    /// recipients, most first, ties in address order.
    pub(crate) fn top_senders(&self) -> Vec<SenderRejections> {
        let mut ranked: Vec<(&String, &SenderTally)> = self.senders.iter().collect();
        // The sort is stable and `senders` iterates in address order, which
        // breaks ties.
        ranked.sort_by(|a, b| {
            let refused_a = a.1.rejected + a.1.throttled;
            let refused_b = b.1.rejected + b.1.throttled;
            refused_b.cmp(&refused_a)
        });
        ranked
            .into_iter()
            .take(TOP_SENDERS_LISTED)
            .map(|(sender, tally)| SenderRejections {
                sender: sender.clone(),
                rejected_recipients: tally.rejected,
                throttled_recipients: tally.throttled,
                dominant_rule: dominant_rule(&tally.rows_by_rule).to_string(),
            })
            .collect()
    }

    /// Returns one note per rule with an assumed reply code that decided at
    /// least one row, in rule table order.
    pub(crate) fn assumed_code_notes(&self) -> Vec<Note> {
        ALL.iter()
            .filter(|rule| rule.code_source == CodeSource::Assumed)
            .filter_map(|rule| {
                let rows = self
                    .rows_by_rule
                    .get(&(rule.id, rule.outcome.as_str()))
                    .copied()
                    .filter(|&rows| rows > 0)?;
                let text = format!(
                    "{} decided {} with reply {} {}, which is assumed because Google documents \
                     no reply for that case.",
                    rule.id,
                    count_noun(rows, "recipient"),
                    rule.reply_code,
                    rule.enhanced_code
                );
                let params = json!({
                    "rule": rule.id,
                    "recipients": rows,
                    "reply_code": rule.reply_code,
                    "enhanced_code": rule.enhanced_code,
                });
                Some(Note::new("assumed_reply_code", params, text))
            })
            .collect()
    }
}

/// Returns the rule with the most rows; ties go to the id that sorts first.
fn dominant_rule(rows_by_rule: &BTreeMap<&'static str, u64>) -> &'static str {
    let mut best: Option<(&'static str, u64)> = None;
    for (&rule, &rows) in rows_by_rule {
        if best.is_none_or(|(_, best_rows)| rows > best_rows) {
            best = Some((rule, rows));
        }
    }
    best.map_or("", |(rule, _)| rule)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::replay::rules::{ACCEPTED, ORG_RECIPIENTS_10MIN, USER_MESSAGES, USER_RECIPIENTS};

    #[test]
    fn top_senders_ranked_then_by_address() {
        let mut tally = RowTally::default();
        tally.record_row("b@example.com", USER_MESSAGES);
        tally.record_row("a@example.com", USER_MESSAGES);
        tally.record_row("c@example.com", USER_MESSAGES);
        tally.record_row("c@example.com", ORG_RECIPIENTS_10MIN);
        tally.record_row("d@example.com", ACCEPTED);

        let top = tally.top_senders();
        let senders: Vec<&str> = top.iter().map(|entry| entry.sender.as_str()).collect();
        assert_eq!(senders, ["c@example.com", "a@example.com", "b@example.com"]);
        assert_eq!(top[0].rejected_recipients, 1);
        assert_eq!(top[0].throttled_recipients, 1);
    }

    #[test]
    fn dominant_rule_tie_goes_to_first_id() {
        let mut tally = RowTally::default();
        tally.record_row("a@example.com", USER_RECIPIENTS);
        tally.record_row("a@example.com", USER_MESSAGES);
        tally.record_row("a@example.com", ORG_RECIPIENTS_10MIN);
        tally.record_row("a@example.com", ORG_RECIPIENTS_10MIN);
        assert_eq!(tally.top_senders()[0].dominant_rule, "limit.org_recipients_10min");

        let mut tied = RowTally::default();
        tied.record_row("a@example.com", USER_RECIPIENTS);
        tied.record_row("a@example.com", USER_MESSAGES);
        assert_eq!(tied.top_senders()[0].dominant_rule, "limit.user_messages");
    }

    #[test]
    fn top_senders_capped() {
        let mut tally = RowTally::default();
        for index in 0..TOP_SENDERS_LISTED + 5 {
            tally.record_row(&format!("user{index:02}@example.com"), USER_MESSAGES);
        }
        assert_eq!(tally.top_senders().len(), TOP_SENDERS_LISTED);
    }
}
