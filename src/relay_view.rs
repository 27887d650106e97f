//! Which mail would go through the relay, and how the relay would see it.
//!
//! Smarthost mode: the on-premises MTA hands its outbound mail to the relay,
//! and a delivery goes to the relay unless it is local. Local means a local
//! delivery agent (`local`, `virtual`, `lmtp`, `pipe`), a content filter hop
//! (a loopback relay, or a `queued as` reply for a copy on the same host), or
//! a recipient in a domain the policy lists as local. With
//! `route_internal = true` every delivery but the content filter hops goes to
//! the relay. Bounces made locally (`error`, `discard`, `retry` agents)
//! never leave the host.
//!
//! Both modes replay the same messages. In smarthost mode they all travel
//! over the one connection of the policy's `[smarthost]`; in direct mode
//! each travels over the inbound session of the client that sent it (see
//! [`direct`]).

mod direct;
mod evidence;

use std::collections::{BTreeSet, HashMap, HashSet};

use relayaudit_parsers::{DeliveryRecord, MessageRecord, Tables};

use crate::policy::Policy;
use crate::replay::model::{
    ConnectionSample, Finding, LogLine, Mode, Provenance, RelayConnection, RelayMessage, ReplayInput,
    SMARTHOST_KEY,
};

pub use evidence::SmarthostEvidence;

/// The note codes of the findings, one list per module.
pub(crate) const NOTE_CODES: &[&[&str]] = &[direct::NOTE_CODES, evidence::NOTE_CODES];

/// The relay's view of the logs in one mode: what to replay, and what was
/// learned on the way.
#[derive(Debug, Clone)]
pub struct RelayView {
    pub input: ReplayInput,
    pub report: ViewReport,
}

/// Facts the view learned for the summary.
#[derive(Debug, Clone)]
pub struct ViewReport {
    pub mode: Mode,
    pub counts: ViewCounts,
    /// Conflicts between the policy and the logs, and other facts about the
    /// connections to check.
    pub findings: Vec<Finding>,
    /// Smarthost mode: what the logs show of today's smart host.
    pub evidence: Option<SmarthostEvidence>,
}

/// Builds the relay's view of `tables` in `mode`.
pub fn build(tables: &Tables, policy: &Policy, mode: Mode) -> RelayView {
    let (selected, counts) = select(tables, policy);
    match mode {
        Mode::Smarthost => smarthost_view(tables, policy, selected, counts),
        Mode::Direct => direct::direct_view(tables, policy, selected, counts),
    }
}

fn smarthost_view(
    tables: &Tables,
    policy: &Policy,
    selected: Vec<Selected<'_>>,
    counts: ViewCounts,
) -> RelayView {
    let samples = smarthost_samples(&selected);
    let messages = selected
        .into_iter()
        .map(|chosen| relay_message(chosen, policy, 0))
        .collect();
    let evidence = evidence::gather(tables, policy);
    let findings = evidence::findings(&evidence, policy);
    RelayView {
        input: ReplayInput {
            mode: Mode::Smarthost,
            connections: vec![RelayConnection::smarthost(policy)],
            messages,
            samples,
        },
        report: ViewReport {
            mode: Mode::Smarthost,
            counts,
            findings,
            evidence: Some(evidence),
        },
    }
}

/// Returns one connection use per outbound transaction of the replayed messages:
/// the deliveries of one message attempted at the same time to the same
/// peer. A transaction opens a new connection unless Postfix logged
/// `conn_use=` 2 or more. Attempts that reached no peer (`relay=none`) are
/// left out.
fn smarthost_samples(selected: &[Selected<'_>]) -> Vec<ConnectionSample> {
    let mut samples = Vec::new();
    for chosen in selected {
        let mut seen = BTreeSet::new();
        for delivery in &chosen.deliveries {
            let Some(relay_ip) = delivery.relay_ip.as_deref() else {
                continue;
            };
            let transaction = (
                delivery.attempt_at.utc_us,
                delivery.relay_host.as_str(),
                relay_ip,
                delivery.relay_port,
            );
            if !seen.insert(transaction) {
                continue;
            }
            samples.push(ConnectionSample {
                stream: SMARTHOST_KEY.to_string(),
                at_us: delivery.attempt_at.utc_us,
                new_connection: delivery.conn_use.is_none_or(|uses| uses < 2),
                messages: 1,
            });
        }
    }
    samples
}

/// Counts of messages that were not replayed, and why.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ViewCounts {
    /// Messages replayed: at least one relay-bound recipient, a known
    /// envelope sender and, in direct mode, an inbound session.
    pub replayed: u64,
    /// Messages whose deliveries all stayed on the host.
    pub local_only: u64,
    /// Messages whose only deliveries handed them to a content filter; the
    /// re-injected copy is replayed in their place.
    pub content_filter_hops: u64,
    /// Messages whose only deliveries handed them to a content filter, with
    /// no re-injected copy in the log: the filter discarded or refused them
    /// (amavis logs `250 2.7.0 Ok, discarded`), or the copy came after the
    /// log ends.
    pub content_filter_no_copy: u64,
    /// Address verification probes (`status=deliverable` or
    /// `undeliverable`): Postfix ends the session after RCPT TO, so the
    /// relay receives no message.
    pub address_probes: u64,
    /// Messages with no delivery line in the log.
    pub no_delivery: u64,
    /// Messages with relay-bound deliveries but no envelope sender in the
    /// log (their qmgr line is before the log starts). Sender rules cannot
    /// judge them, so they are left out of the replay.
    pub sender_unknown: u64,
    /// Relay-bound recipients of `sender_unknown` messages.
    pub sender_unknown_recipients: u64,
    /// Direct mode: messages with relay-bound deliveries but no inbound
    /// SMTP session (pickup, bounces made locally, or a session before the
    /// log starts). No client connection can be judged for them, so they
    /// are left out of the replay and of `replayed`.
    pub no_inbound_session: u64,
    /// Relay-bound recipients of `no_inbound_session` messages.
    pub no_inbound_session_recipients: u64,
}

/// A message with relay-bound deliveries and a known envelope sender.
#[derive(Debug, Clone)]
struct Selected<'t> {
    message: &'t MessageRecord,
    envelope_from: &'t str,
    recipients: Vec<String>,
    /// Line of each recipient's first relay-bound delivery.
    recipient_lines: Vec<LogLine>,
    /// Time and line of the first relay-bound delivery attempt.
    at_us: i64,
    first_attempt: LogLine,
    /// Relay-bound delivery attempts.
    deliveries: Vec<&'t DeliveryRecord>,
}

/// Builds the relay's view of every message in smarthost mode.
pub fn relay_messages(tables: &Tables, policy: &Policy) -> (Vec<RelayMessage>, ViewCounts) {
    let (selected, counts) = select(tables, policy);
    let messages = selected
        .into_iter()
        .map(|chosen| relay_message(chosen, policy, 0))
        .collect();
    (messages, counts)
}

/// Picks the messages that go to the relay, in the order of the messages
/// table.
fn select<'t>(tables: &'t Tables, policy: &Policy) -> (Vec<Selected<'t>>, ViewCounts) {
    // The correlator emits each message's deliveries right after it, in the
    // order of the messages table, so one pass pairs them.
    let mut counts = ViewCounts::default();
    let mut out = Vec::new();
    let mut next_delivery = 0;
    let mut seen = HashSet::new();
    let mut file_ranks: HashMap<&str, usize> = HashMap::new();
    for (rank, file) in tables.files.iter().enumerate() {
        file_ranks.entry(file.as_str()).or_insert(rank);
    }
    let rank_of = |delivery: &DeliveryRecord| {
        file_ranks
            .get(delivery.provenance.source_file.as_str())
            .copied()
            .unwrap_or(usize::MAX)
    };
    let log_line = |delivery: &DeliveryRecord| LogLine {
        file_rank: rank_of(delivery),
        line: delivery.provenance.first_line,
        source_file: delivery.provenance.source_file.to_string(),
    };
    // Messages that a content filter re-injected as another queue entry.
    let has_copy: HashSet<&str> = tables
        .messages
        .iter()
        .filter_map(|message| message.reinjected_from.as_deref())
        .collect();
    for message in &tables.messages {
        let start = next_delivery;
        while tables
            .deliveries
            .get(next_delivery)
            .is_some_and(|d| d.message_key == message.message_key)
        {
            next_delivery += 1;
        }
        let deliveries = &tables.deliveries[start..next_delivery];
        if deliveries.is_empty() {
            counts.no_delivery += 1;
            continue;
        }
        if deliveries.iter().all(is_address_probe) {
            counts.address_probes += 1;
            continue;
        }
        seen.clear();
        let mut recipients = Vec::new();
        let mut recipient_lines = Vec::new();
        // (time, file rank, line) of the first attempt, and its delivery.
        let mut first_attempt: Option<((i64, usize, u64), &DeliveryRecord)> = None;
        let mut relay_bound = Vec::new();
        for delivery in deliveries.iter().filter(|d| goes_to_relay(d, policy)) {
            if seen.insert(delivery.recipient.to_ascii_lowercase()) {
                recipients.push(delivery.recipient.clone());
                recipient_lines.push(log_line(delivery));
            }
            let order = (
                delivery.attempt_at.utc_us,
                rank_of(delivery),
                delivery.provenance.first_line,
            );
            if first_attempt.is_none_or(|(first, _)| order < first) {
                first_attempt = Some((order, delivery));
            }
            relay_bound.push(delivery);
        }
        let Some(((at_us, _, _), first_delivery)) = first_attempt else {
            if !deliveries.iter().all(is_content_filter_hop) {
                counts.local_only += 1;
            } else if has_copy.contains(message.message_key.as_str()) {
                counts.content_filter_hops += 1;
            } else {
                counts.content_filter_no_copy += 1;
            }
            continue;
        };
        let Some(envelope_from) = &message.envelope_from else {
            counts.sender_unknown += 1;
            counts.sender_unknown_recipients += recipients.len() as u64;
            continue;
        };
        counts.replayed += 1;
        out.push(Selected {
            message,
            envelope_from,
            recipients,
            recipient_lines,
            at_us,
            first_attempt: log_line(first_delivery),
            deliveries: relay_bound,
        });
    }
    debug_assert_eq!(
        next_delivery,
        tables.deliveries.len(),
        "deliveries follow their messages"
    );
    (out, counts)
}

/// Builds the message as the relay receives it over `connection`, whose
/// AUTH identity and HELO name the sender rules read: the policy's
/// `[smarthost]` values in smarthost mode.
fn relay_message(chosen: Selected<'_>, policy: &Policy, connection: usize) -> RelayMessage {
    relay_message_with(
        chosen,
        &policy.smarthost.auth_user,
        &policy.smarthost.helo,
        connection,
    )
}

fn relay_message_with(chosen: Selected<'_>, auth_user: &str, helo: &str, connection: usize) -> RelayMessage {
    let message = chosen.message;
    RelayMessage {
        message_key: message.message_key.to_string(),
        source_format: message.source_format.to_string(),
        at_us: chosen.at_us,
        envelope_from: chosen.envelope_from.to_string(),
        size_bytes: message.size_bytes,
        recipients: chosen.recipients,
        recipient_lines: chosen.recipient_lines,
        auth_user: auth_user.to_string(),
        helo: helo.to_string(),
        connection,
        provenance: Provenance {
            source_file: message.provenance.source_file.to_string(),
            first_line: message.provenance.first_line,
            last_line: message.provenance.last_line,
        },
        first_attempt: chosen.first_attempt,
    }
}

/// Returns whether a delivery handed the message to a content filter on this host:
/// a `queued as` reply for a copy on the same host, or an SMTP delivery to a
/// loopback address.
pub fn is_content_filter_hop(delivery: &DeliveryRecord) -> bool {
    let loopback = delivery
        .relay_ip
        .as_deref()
        .is_some_and(relayaudit_parsers::fields::is_loopback);
    delivery.reinjected_as.is_some() || (delivery.transport == "smtp" && loopback)
}

/// Returns whether a delivery line reports an address verification probe
/// rather than a delivery.
pub fn is_address_probe(delivery: &DeliveryRecord) -> bool {
    matches!(delivery.status.as_str(), "deliverable" | "undeliverable")
}

/// Returns whether a delivery attempt would have been handed to the relay.
pub fn goes_to_relay(delivery: &DeliveryRecord, policy: &Policy) -> bool {
    if is_content_filter_hop(delivery) || is_address_probe(delivery) {
        return false;
    }
    if matches!(delivery.transport, "error" | "discard" | "retry" | "other") {
        return false;
    }
    if policy.routing.route_internal {
        return true;
    }
    if delivery.transport != "smtp" {
        return false;
    }
    match domain_of(&delivery.recipient) {
        Some(domain) => !policy.routing.is_local_domain(domain),
        // A bare local part is delivered on the host.
        None => false,
    }
}

/// Returns the domain part of an address, if it has one.
pub fn domain_of(address: &str) -> Option<&str> {
    address
        .rsplit_once('@')
        .map(|(_, domain)| domain)
        .filter(|d| !d.is_empty())
}
