//! Owned rows of the output tables, built by the correlator and turned into
//! Arrow columns by [`crate::columnar`]. Field names are the column names.
//!
//! Values that many rows repeat (file names, message and session keys, host
//! names, statuses, TLS parameters) are [`SharedStr`]s, stored once.

pub use crate::shared::SharedStr;

/// Origin of a row: the input file and its 1-based line numbers.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Provenance {
    pub source_file: SharedStr,
    pub first_line: u64,
    pub last_line: u64,
}

/// A time in microseconds since the Unix epoch (UTC), with the offset the log
/// wrote when it had one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, PartialOrd, Ord)]
pub struct Instant {
    pub utc_us: i64,
    pub offset_seconds: Option<i32>,
}

/// One message accepted by the on-premises MTA.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MessageRecord {
    /// `host/queue_id/first_line`: unique even when Postfix reuses a queue id.
    pub message_key: SharedStr,
    pub source_format: &'static str,
    pub host: SharedStr,
    pub queue_id: String,
    pub message_id: Option<String>,
    /// The first line of the message (smtpd `client=`, pickup, or whatever
    /// line showed the queue id first when the message began before the log).
    pub received_at: Option<Instant>,
    /// Envelope sender; empty string for the null sender `<>`, `None` when
    /// the log never showed it.
    pub envelope_from: Option<String>,
    pub size_bytes: Option<u64>,
    pub nrcpt: Option<u32>,
    /// Entry path of the message: `smtp`, `pickup`, `bounce` (a notice made
    /// by Postfix), or `unknown` when the log starts after it was queued.
    pub origin: &'static str,
    pub client_ip: Option<SharedStr>,
    pub client_host: Option<SharedStr>,
    pub helo: Option<SharedStr>,
    pub auth_method: Option<SharedStr>,
    pub auth_user: Option<SharedStr>,
    /// smtpd's `sasl_sender=` (the MAIL FROM AUTH= parameter).
    pub sasl_sender: Option<String>,
    pub tls_protocol: Option<SharedStr>,
    pub tls_cipher: Option<SharedStr>,
    pub session_key: Option<SharedStr>,
    /// pickup's `uid=` for locally submitted mail.
    pub local_uid: Option<u32>,
    /// The message this one is a re-injected copy of (content filter hop).
    pub reinjected_from: Option<SharedStr>,
    /// The original message of a bounce or delay notice.
    pub notice_of: Option<SharedStr>,
    /// `sender non-delivery notification`, `postmaster non-delivery
    /// notification`, `sender delay notification`, ...
    pub notice_kind: Option<String>,
    /// Reason the MTA dropped the message before queueing it (`reject`,
    /// `discard`, `milter-reject`), if it did.
    pub stopped: Option<String>,
    pub expired: bool,
    /// True when Postfix logged `removed`; false when the log ended first or
    /// the state was dropped after the idle bound.
    pub removed: bool,
    pub provenance: Provenance,
}

/// One delivery attempt for one recipient.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DeliveryRecord {
    pub message_key: SharedStr,
    pub recipient: String,
    pub orig_recipient: Option<String>,
    pub attempt_at: Instant,
    /// The delivery agent: `smtp`, `lmtp`, `local`, `virtual`, `pipe`,
    /// `error`, `discard`.
    pub transport: &'static str,
    /// `relay=` name part, or the whole value when it has no brackets
    /// (`none`, `local`, `dovecot`).
    pub relay_host: SharedStr,
    pub relay_ip: Option<SharedStr>,
    pub relay_port: Option<u16>,
    pub status: SharedStr,
    pub dsn: Option<SharedStr>,
    pub reply_code: Option<u16>,
    pub enhanced_code: Option<SharedStr>,
    pub reply_text: String,
    /// The SMTP command that the reply is for (`RCPT TO`, `end of DATA`).
    pub smtp_stage: Option<SharedStr>,
    pub delay_s: Option<f64>,
    pub delays: Option<String>,
    pub conn_use: Option<u32>,
    /// Protocol and cipher of the SMTP client's TLS session with this peer,
    /// from the `TLS connection established to` line that the same process
    /// logged for the same address and port before the delivery. `None`
    /// when the log shows no such line: a plain connection, TLS logging
    /// turned off, or a cached connection opened by another process.
    pub tls_protocol: Option<SharedStr>,
    pub tls_cipher: Option<SharedStr>,
    /// Queue id of the copy a content filter re-injected (`queued as ID`
    /// in the reply, on the same host).
    pub reinjected_as: Option<String>,
    pub provenance: Provenance,
}

/// One SMTP session of smtpd (or postscreen).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SessionRecord {
    pub session_key: SharedStr,
    pub host: SharedStr,
    /// `smtpd` or `postscreen`, with the service name when it has one
    /// (`submission/smtpd`).
    pub service: SharedStr,
    pub client_ip: Option<SharedStr>,
    pub client_host: Option<SharedStr>,
    pub client_port: Option<u16>,
    pub connected_at: Option<Instant>,
    pub disconnected_at: Option<Instant>,
    pub helo: Option<SharedStr>,
    pub tls_protocol: Option<SharedStr>,
    pub tls_cipher: Option<SharedStr>,
    pub tls_trust: Option<SharedStr>,
    pub auth_method: Option<SharedStr>,
    pub auth_user: Option<SharedStr>,
    pub auth_failures: u32,
    /// The user name of the last failed SASL login, as logged.
    pub auth_failed_user: Option<String>,
    /// smtpd's accepted/attempted counters from `disconnect from`, in the
    /// order of [`COUNTER_NAMES`].
    pub counters: [Option<(u32, u32)>; COUNTER_NAMES.len()],
    pub messages: u32,
    pub noqueue_rejects: u32,
    /// The reply of the last `NOQUEUE: reject`.
    pub last_reject: Option<String>,
    /// `lost connection after RCPT` and similar endings.
    pub lost_after: Option<String>,
    pub provenance: Provenance,
}

/// Command counters on `disconnect from`, as column stems.
pub const COUNTER_NAMES: [&str; 12] = [
    "ehlo", "helo", "starttls", "auth", "mail", "rcpt", "data", "bdat", "rset", "quit", "unknown", "commands",
];

/// One line that was not used, with why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RejectRecord {
    pub source_file: SharedStr,
    pub line: u64,
    pub code: &'static str,
    pub excerpt: String,
}

/// Maximum excerpt length kept in a reject row, in bytes (cut at a character
/// boundary).
pub const EXCERPT_BYTES: usize = 200;

pub fn excerpt(line: &str) -> String {
    if line.len() <= EXCERPT_BYTES {
        return line.to_string();
    }
    let mut end = EXCERPT_BYTES;
    while !line.is_char_boundary(end) {
        end -= 1;
    }
    line[..end].to_string()
}
