//! Which mail would go through the relay, and how the relay would see it.
//!
//! Smarthost mode: the on-premises MTA hands its outbound mail to the relay.
//! A delivery goes to the relay when it is not local: local means a local
//! delivery agent (`local`, `virtual`, `lmtp`, `pipe`), a content filter hop
//! (a loopback relay or a `queued as` reply for a copy on the same host), or
//! a recipient in a domain the policy lists as local. With
//! `route_internal = true` every delivery but the content filter hops goes to
//! the relay. Bounces made locally (`error`, `discard`, `retry` agents)
//! never leave the host.

use std::collections::{HashMap, HashSet};

use relayaudit_parsers::{DeliveryRecord, MessageRecord, Tables};

use crate::policy::Policy;
use crate::replay::model::{Provenance, RelayMessage};

/// Counts of messages that were not replayed, and why.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ViewCounts {
    /// Messages with at least one relay-bound recipient.
    pub replayed: u64,
    /// Messages whose deliveries all stayed on the host.
    pub local_only: u64,
    /// Messages whose only deliveries handed them to a content filter; the
    /// re-injected copy is replayed in their place.
    pub content_filter_hops: u64,
    /// Messages with no delivery line in the log.
    pub no_delivery: u64,
    /// Messages with relay-bound deliveries but no envelope sender in the
    /// log (their qmgr line is before the log starts). Sender rules cannot
    /// judge them, so they are left out of the replay.
    pub sender_unknown: u64,
    /// Relay-bound recipients of `sender_unknown` messages.
    pub sender_unknown_recipients: u64,
}

/// Builds the relay's view of every message.
pub fn relay_messages(tables: &Tables, policy: &Policy) -> (Vec<RelayMessage>, ViewCounts) {
    let mut by_message: HashMap<&str, Vec<&DeliveryRecord>> = HashMap::new();
    for delivery in &tables.deliveries {
        by_message
            .entry(delivery.message_key.as_str())
            .or_default()
            .push(delivery);
    }
    let mut counts = ViewCounts::default();
    let mut out = Vec::new();
    for message in &tables.messages {
        let Some(deliveries) = by_message.get(message.message_key.as_str()) else {
            counts.no_delivery += 1;
            continue;
        };
        let mut seen = HashSet::new();
        let mut recipients = Vec::new();
        let mut first_attempt: Option<i64> = None;
        for delivery in deliveries.iter().filter(|d| goes_to_relay(d, policy)) {
            if seen.insert(delivery.recipient.to_ascii_lowercase()) {
                recipients.push(delivery.recipient.clone());
            }
            let at = delivery.attempt_at.utc_us;
            first_attempt = Some(first_attempt.map_or(at, |first| first.min(at)));
        }
        let Some(at_us) = first_attempt else {
            if deliveries.iter().all(|d| is_content_filter_hop(d)) {
                counts.content_filter_hops += 1;
            } else {
                counts.local_only += 1;
            }
            continue;
        };
        let Some(envelope_from) = &message.envelope_from else {
            counts.sender_unknown += 1;
            counts.sender_unknown_recipients += recipients.len() as u64;
            continue;
        };
        counts.replayed += 1;
        out.push(relay_message(message, envelope_from, recipients, at_us, policy));
    }
    (out, counts)
}

fn relay_message(
    message: &MessageRecord,
    envelope_from: &str,
    recipients: Vec<String>,
    at_us: i64,
    policy: &Policy,
) -> RelayMessage {
    RelayMessage {
        message_key: message.message_key.clone(),
        source_format: message.source_format.to_string(),
        at_us,
        envelope_from: envelope_from.to_string(),
        size_bytes: message.size_bytes,
        recipients,
        auth_user: policy.smarthost.auth_user.clone(),
        helo: policy.smarthost.helo.clone(),
        connection: 0,
        provenance: Provenance {
            source_file: message.provenance.source_file.clone(),
            first_line: message.provenance.first_line,
            last_line: message.provenance.last_line,
        },
    }
}

/// Whether a delivery handed the message to a content filter on this host:
/// a `queued as` reply for a copy on the same host, or an SMTP delivery to a
/// loopback address.
pub fn is_content_filter_hop(delivery: &DeliveryRecord) -> bool {
    let loopback = delivery
        .relay_ip
        .as_deref()
        .is_some_and(|ip| ip.starts_with("127.") || ip == "::1");
    delivery.reinjected_as.is_some() || (delivery.transport == "smtp" && loopback)
}

/// Whether a delivery attempt would have been handed to the relay.
pub fn goes_to_relay(delivery: &DeliveryRecord, policy: &Policy) -> bool {
    if is_content_filter_hop(delivery) {
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

/// The domain part of an address, if it has one.
pub fn domain_of(address: &str) -> Option<&str> {
    address
        .rsplit_once('@')
        .map(|(_, domain)| domain)
        .filter(|d| !d.is_empty())
}
