//! What the replay engine reads and writes.

use std::collections::BTreeMap;
use std::net::IpAddr;

use crate::note::Note;

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
    /// SMTP AUTH identity the relay would see, as the connection has it;
    /// empty when the connection does not authenticate.
    pub auth_user: String,
    /// HELO/EHLO name the relay would see, as the connection has it; empty
    /// when unknown.
    pub helo: String,
    /// Index in [`ReplayInput::connections`] of the connection that carries
    /// the message.
    pub connection: usize,
    pub provenance: Provenance,
    /// The line of each recipient's first relay-bound delivery attempt, in
    /// the order of `recipients`; empty when the input has no lines.
    pub recipient_lines: Vec<LogLine>,
    /// The line of the first relay-bound delivery attempt. It orders the
    /// messages handed over at the same time (classic syslog stamps have
    /// whole seconds) as the log does.
    pub first_attempt: LogLine,
}

/// One line of a log file. Lines compare in the order they were read.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct LogLine {
    /// Position of the file in the order the inputs were read.
    pub file_rank: usize,
    /// 1-based line number.
    pub line: u64,
    pub source_file: String,
}

/// Source of the relay connections that the replay judges.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum Mode {
    /// The on-premises MTA relays all its mail over one connection that the
    /// policy's `[smarthost]` describes.
    #[default]
    Smarthost,
    /// Each client seen in the logs connects to the relay itself, as its
    /// inbound session shows.
    Direct,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Smarthost => "smarthost",
            Mode::Direct => "direct",
        }
    }
}

/// One SMTP connection to the relay, as the connection rules see it.
/// `None` in a fact means the logs and the policy do not show it, and the
/// rules that need it are not judged for this connection.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RelayConnection {
    /// `smarthost`, or the inbound session key in direct mode.
    pub key: String,
    /// The address from which the client reaches the relay, after
    /// `[[nat]]` translation.
    pub client_ip: Option<IpAddr>,
    /// The address as the logs show it; empty in smarthost mode.
    pub observed_ip: String,
    /// Reverse DNS name of the client as the logs show it; empty when none.
    pub client_host: String,
    pub helo: Option<String>,
    pub tls: Option<bool>,
    /// SMTP AUTH identity after a successful AUTH.
    pub auth_user: Option<String>,
    /// Whether the client sent AUTH, whether or not it succeeded.
    pub auth_attempted: bool,
    /// When the connection opened; `None` in smarthost mode, where the
    /// reuse rule looks at the time of each message.
    pub opened_at_us: Option<i64>,
    /// The [`ConnectionSample::stream`] this connection's uses count in;
    /// `None` when they are not counted.
    pub reuse_stream: Option<String>,
    /// The log lines of the inbound session in direct mode.
    pub provenance: Provenance,
}

impl RelayConnection {
    /// Builds the one connection of smarthost mode, as the policy's
    /// `[smarthost]` describes it. An empty `helo` is unknown.
    pub fn smarthost(policy: &crate::policy::Policy) -> RelayConnection {
        let smarthost = &policy.smarthost;
        let auth_user = (!smarthost.auth_user.is_empty()).then(|| smarthost.auth_user.clone());
        RelayConnection {
            key: SMARTHOST_KEY.to_string(),
            client_ip: smarthost.egress_ip,
            observed_ip: String::new(),
            client_host: String::new(),
            helo: (!smarthost.helo.is_empty()).then(|| smarthost.helo.clone()),
            tls: Some(smarthost.tls),
            auth_attempted: auth_user.is_some(),
            auth_user,
            opened_at_us: None,
            reuse_stream: Some(SMARTHOST_KEY.to_string()),
            provenance: Provenance::default(),
        }
    }
}

/// Connection key and reuse stream of the smarthost connection.
pub const SMARTHOST_KEY: &str = "smarthost";

/// One connection use for `dos.no_connection_reuse`: a transaction that
/// opened or reused a connection (smarthost), or an inbound session with
/// the messages it carried (direct).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionSample {
    /// The sending address as it reaches the relay, or `smarthost`.
    pub stream: String,
    pub at_us: i64,
    pub new_connection: bool,
    pub messages: u32,
}

/// Everything the replay judges: connections, the messages on them and the
/// connection uses that the reuse rule counts.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ReplayInput {
    pub mode: Mode,
    pub connections: Vec<RelayConnection>,
    pub messages: Vec<RelayMessage>,
    pub samples: Vec<ConnectionSample>,
}

/// A fact about the connection that the administrator should check, such
/// as a conflict between the policy and the logs. Findings never change a
/// verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The finding's code (stable snake_case, such as `tls_conflict`), its
    /// parameters and its English sentence.
    pub note: Note,
    /// A log line that shows it, when there is one.
    pub example: Option<Provenance>,
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
    /// English sentence explaining the rule's decision; empty when accepted.
    pub detail: String,
    /// Stable code of `detail`; empty when accepted.
    pub detail_code: &'static str,
    /// Parameters of `detail` as a JSON object with sorted keys; `{}` when
    /// accepted.
    pub detail_params: String,
    /// Envelope sender before a rewrite; empty when nothing was rewritten.
    pub rewritten_from: String,
    pub rewritten_to: String,
    /// Counter value that triggered a limit, after adding this message or
    /// recipient; `None` when no limit decided the row.
    pub counter_value: Option<u64>,
    /// The limit the counter was compared with.
    pub counter_limit: Option<u64>,
    /// Relay setting whose allowed senders judged the row; `None` when no
    /// setting matched the connection or the policy lists none.
    pub relay_setting: Option<String>,
    /// The connecting address as it reaches the relay; `None` when
    /// unknown.
    pub client_ip: Option<IpAddr>,
    /// Warning rules (`dos.*`) that apply to the connection of an accepted
    /// connection, in rule table order. They do not change the outcome.
    pub warnings: Vec<&'static str>,
    pub provenance: Provenance,
    /// The line of the recipient's first relay-bound delivery attempt;
    /// `None` when the input has no lines.
    pub delivery: Option<LogLine>,
    /// When the MTA would hand the message to the relay: the message's
    /// `RelayMessage::at_us`, which orders the replay and times the windows.
    pub at_us: i64,
}

/// Result of a replay: the verdict rows in processing order, the verdict on
/// each connection and their totals.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplayOutput {
    pub verdicts: Vec<Verdict>,
    /// One per [`ReplayInput::connections`] entry, in the same order.
    pub connections: Vec<ConnectionVerdict>,
    pub stats: ReplayStats,
}

/// The connection rules' verdict on one connection.
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectionVerdict {
    /// [`RelayConnection::key`]: `smarthost` or the inbound session key.
    pub key: String,
    /// The connecting address as it reaches the relay; `None` when
    /// unknown.
    pub client_ip: Option<IpAddr>,
    /// `accepted`, `rejected` or `throttled`.
    pub outcome: Outcome,
    /// Rule id that refused the connection; empty when accepted.
    pub rule: &'static str,
    pub reply_code: u16,
    pub enhanced_code: &'static str,
    /// English sentence on the refusal, or on how the connection matched
    /// its relay setting.
    pub detail: String,
    /// Stable code of `detail`.
    pub detail_code: &'static str,
    /// Parameters of `detail` as a JSON object with sorted keys.
    pub detail_params: String,
    /// The matched relay setting, if any.
    pub relay_setting: Option<String>,
    /// Warning rules that apply, in rule table order.
    pub warnings: Vec<&'static str>,
    /// Relay-bound messages and recipients the connection carried.
    pub messages: u64,
    pub recipients: u64,
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
    /// One note (`rule id: reason` in English) for each rule that this
    /// policy gives too little information to judge. Such a rule accepts
    /// every message.
    pub not_judged: Vec<Note>,
    /// Notes stating what the replay assumed, such as the relay setting
    /// chosen and reply codes that Google does not document.
    pub assumptions: Vec<Note>,
    /// Smarthost mode: name of the relay setting that judged the senders;
    /// `None` when no setting matched, the policy lists none, or in direct
    /// mode.
    pub relay_setting: Option<String>,
    pub peaks: Peaks,
    pub connections: ConnectionStats,
}

/// Totals of the connection rules.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ConnectionStats {
    pub mode: Mode,
    /// Connections judged: 1 in smarthost mode, the inbound sessions in
    /// direct mode.
    pub judged: u64,
    /// Connections, messages and recipients each connection rule refused,
    /// by rule id.
    pub refused: BTreeMap<&'static str, RuleCount>,
    /// The same for warning rules, counting accepted connections only.
    pub warnings: BTreeMap<&'static str, RuleCount>,
    /// One note (`rule id: reason` in English) for each connection rule
    /// that some connections lack the facts to judge.
    pub not_judged: Vec<Note>,
    /// Connections that match more than one relay setting, where the
    /// settings would judge differently.
    pub order_dependent: RuleCount,
    /// Names of the relay settings involved in `order_dependent`.
    pub order_dependent_settings: Vec<String>,
    /// Messages judged by each relay setting's allowed senders.
    pub messages_by_setting: BTreeMap<String, u64>,
    /// The minute with the most new connections from one address.
    pub busiest_minute: Option<BusyMinute>,
    /// Direct mode: the clients whose mail the relay would refuse in part
    /// or in full, most refused messages first.
    pub breaking_clients: Vec<ClientSummary>,
    /// Direct mode: clients with relay-bound messages.
    pub clients_with_messages: u64,
}

/// How many connections, messages and recipients a rule reached, with one
/// example detail.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RuleCount {
    pub connections: u64,
    pub messages: u64,
    pub recipients: u64,
    /// The detail of the first connection the rule reached.
    pub example: Note,
}

/// New connections that one address opened in one UTC minute.
#[derive(Debug, Clone, PartialEq)]
pub struct BusyMinute {
    pub stream: String,
    pub minute_start_us: i64,
    pub connections: u64,
    pub messages: u64,
}

/// One client in direct mode whose mail the relay would refuse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientSummary {
    /// The address as the logs show it.
    pub observed_ip: String,
    /// The address the relay sees, after NAT; empty when unknown.
    pub relay_ip: String,
    /// Reverse DNS names the logs show for the address, sorted.
    pub host_names: Vec<String>,
    pub sessions: u64,
    pub messages: u64,
    pub recipients: u64,
    /// Messages with at least one rejected or throttled recipient.
    pub refused_messages: u64,
    /// Refused messages by the rule that refused their first recipient.
    pub messages_by_rule: BTreeMap<&'static str, u64>,
    /// The rule with the most refused messages; ties go to the rule table
    /// order, so connection rules come first.
    pub rule: &'static str,
    pub warnings: Vec<&'static str>,
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
