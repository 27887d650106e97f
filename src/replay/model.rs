//! What the replay engine reads and writes.

use std::collections::BTreeMap;

/// Where a verdict row, message or delivery came from in the logs.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Provenance {
    pub source_file: String,
    pub first_line: u64,
    pub last_line: u64,
}

/// One message as the relay would receive it from the on-premises MTA: the
/// relay-bound recipients of one accepted message, before the MTA splits
/// them into transactions.
#[derive(Debug, Clone, PartialEq)]
pub struct RelayMessage {
    pub message_key: String,
    /// `postfix`, `sendmail`, ...: picks the per-source transaction split.
    pub source_format: String,
    /// When the MTA would hand the message to the relay, in microseconds since
    /// the Unix epoch (UTC).
    pub at_us: i64,
    /// Envelope sender as logged; empty for the null sender `<>`. A bare local
    /// part (`root`) is valid.
    pub envelope_from: String,
    /// Size in bytes as the MTA logged it; `None` when the log has no size.
    pub size_bytes: Option<u64>,
    /// Relay-bound recipients, unique, in the order the log first shows them.
    pub recipients: Vec<String>,
    /// SMTP AUTH identity the relay would see (smarthost: from the policy).
    pub auth_user: String,
    /// HELO/EHLO name the relay would see (smarthost: from the policy).
    pub helo: String,
    pub provenance: Provenance,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Outcome {
    Accepted,
    Rewritten,
    Throttled,
    Rejected,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Accepted => "accepted",
            Outcome::Rewritten => "rewritten",
            Outcome::Throttled => "throttled",
            Outcome::Rejected => "rejected",
        }
    }
}

/// Whether a reply code is the one Google documents for the condition or the
/// closest documented Gmail code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CodeSource {
    Documented,
    Assumed,
}

impl CodeSource {
    pub fn as_str(self) -> &'static str {
        match self {
            CodeSource::Documented => "documented",
            CodeSource::Assumed => "assumed",
        }
    }
}

/// One row of `verdicts`: a (message, recipient) pair as the relay would see it.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub message_key: String,
    pub recipient: String,
    /// Index (from 0) of the relay transaction of this message that carries
    /// the recipient.
    pub transaction: u32,
    pub outcome: Outcome,
    /// Stable rule id such as `limit.user_messages`; empty when accepted.
    pub rule: String,
    /// SMTP reply the relay would give; 250 for accepted and rewritten rows.
    pub reply_code: u16,
    pub enhanced_code: String,
    pub code_source: CodeSource,
    pub detail: String,
    /// Envelope sender before a rewrite; empty when nothing was rewritten.
    pub rewritten_from: String,
    pub rewritten_to: String,
    /// Counter value that triggered a limit, after adding this message or
    /// recipient; `None` when no limit decided the row.
    pub counter_value: Option<u64>,
    /// The limit the counter was compared with.
    pub counter_limit: Option<u64>,
    pub provenance: Provenance,
    /// When the MTA would hand the message to the relay: the message's
    /// `RelayMessage::at_us`, which orders the replay and times the windows.
    pub at_us: i64,
}

/// Result of a replay: the verdict rows in processing order and their totals.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplayOutput {
    pub verdicts: Vec<Verdict>,
    pub stats: ReplayStats,
}

/// Totals, peak counters and caveats of one replay.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ReplayStats {
    pub messages_replayed: u64,
    /// Verdict rows, one per (message, recipient).
    pub recipients_replayed: u64,
    /// Verdict rows per (rule id, outcome name). Accepted rows are under rule
    /// `""` and rewritten ones under `sender.rewrite_postmaster`.
    pub rows_by_rule: BTreeMap<(String, &'static str), u64>,
    /// Senders with the most rejected plus throttled recipients, most first,
    /// ties in address order. Holds at most `TOP_SENDERS_LISTED` entries.
    pub top_senders: Vec<SenderRejections>,
    /// `rule id: reason` for each rule that this policy gives too little
    /// information to judge. Such a rule accepts every message.
    pub not_judged: Vec<String>,
    /// Sentences stating what the replay assumed, such as the relay setting
    /// chosen and reply codes that Google does not document.
    pub assumptions: Vec<String>,
    /// Name of the relay setting that judged the senders; `None` when the
    /// policy lists no relay settings.
    pub relay_setting: Option<String>,
    pub peaks: Peaks,
}

/// One envelope sender's refused recipients.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SenderRejections {
    /// Envelope sender as logged, lowercase; empty for the null sender.
    pub sender: String,
    pub rejected_recipients: u64,
    pub throttled_recipients: u64,
    /// Rule that refused the most of these recipients; ties go to the rule id
    /// that sorts first.
    pub dominant_rule: String,
}

/// Highest value a counter reached, and the first message that reached it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peak {
    pub value: u64,
    pub at_us: i64,
    pub message_key: String,
}

/// Peak of each limit counter, for headroom reports; `None` when the counter
/// never moved.
///
/// The window counters count accepted traffic only, so they never exceed
/// their limits. `transaction_recipients` and `message_bytes` are what the
/// MTA offered, whatever the relay did with it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Peaks {
    /// Messages one user had accepted in the day window.
    pub user_messages: Option<Peak>,
    /// Unique recipients one user had accepted in the day window.
    pub user_unique_recipients: Option<Peak>,
    /// Recipients the organisation had accepted in the day window.
    pub org_recipients_day: Option<Peak>,
    /// Recipients the organisation had accepted in the short window.
    pub org_recipients_10min: Option<Peak>,
    /// Recipients in one transaction.
    pub transaction_recipients: Option<Peak>,
    /// Size of one message in bytes.
    pub message_bytes: Option<Peak>,
}
