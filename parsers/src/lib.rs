//! Mail server log parsers for relayaudit: line reading, the syslog prefix,
//! time stamps, one module per MTA, correlation into messages, deliveries
//! and sessions, and the Arrow tables built from them. No replay logic lives
//! here.
//!
//! Formats: Postfix is parsed in full. Sendmail, qmail, Exchange and Domino
//! logs are recognised by [`detect`] but not parsed yet.

pub mod columnar;
pub mod detect;
pub mod error;
pub mod fields;
pub mod ingest;
pub mod postfix;
pub mod records;
pub mod shared;
pub mod syslog;
pub mod time;

pub use error::{InputError, RejectCode};
pub use ingest::{ingest_set, IngestOptions, LineCounts, Source, TimeChoice};
pub use records::{DeliveryRecord, Instant, MessageRecord, Provenance, RejectRecord, SessionRecord};
pub use shared::{Interner, SharedStr};

/// The rows built from one set of inputs, with the line accounting.
#[derive(Debug, Default)]
pub struct Tables {
    pub messages: Vec<MessageRecord>,
    pub deliveries: Vec<DeliveryRecord>,
    pub sessions: Vec<SessionRecord>,
    pub rejects: Vec<RejectRecord>,
    pub counts: LineCounts,
    /// Names of the input files, in the order they were read: oldest first
    /// within a rotated set, then set after set.
    pub files: Vec<SharedStr>,
}

impl Tables {
    /// Appends the rows of `other` after this one's.
    pub fn append(&mut self, other: Tables) {
        append_rows(&mut self.messages, other.messages);
        append_rows(&mut self.deliveries, other.deliveries);
        append_rows(&mut self.sessions, other.sessions);
        append_rows(&mut self.rejects, other.rejects);
        self.counts.add(&other.counts);
        self.files.extend(other.files);
    }
}

/// Moves `rows` to the end of `into`, without copying when `into` is empty.
fn append_rows<T>(into: &mut Vec<T>, rows: Vec<T>) {
    if into.is_empty() {
        *into = rows;
    } else {
        into.extend(rows);
    }
}
