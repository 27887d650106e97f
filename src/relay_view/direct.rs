//! Direct mode: each client seen in the logs connects to the relay itself,
//! with the address, TLS, SMTP AUTH and HELO of its inbound smtpd session.
//!
//! Facts are taken from the session as Postfix logged it:
//! - address: `client=name[ip]`, translated by the policy's `[[nat]]`;
//! - TLS: a `TLS connection established from` line, `starttls=` in the
//!   `disconnect from` counters, or a wrapper-mode service (`smtps`,
//!   `submissions`, `465`). A session whose `disconnect from` line shows no
//!   accepted STARTTLS is plain text; without that line TLS is unknown.
//! - AUTH: `sasl_username=` on the `client=` line; an attempt also shows in
//!   `auth=` counters and in SASL failure warnings;
//! - HELO: Postfix logs it only in reject lines (`helo=<...>`), so it is
//!   often unknown, which leaves `dos.generic_helo` not judged.
//!
//! A content filter's re-injected copy is judged with the session of the
//! original message, and the filter's own loopback sessions are not
//! clients. postscreen sessions are not clients either: the client's
//! smtpd session follows them. Messages with no inbound session (pickup,
//! bounces made locally, sessions before the log starts) cannot be judged
//! as any client's and are counted in `ViewCounts::no_inbound_session`.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::IpAddr;

use relayaudit_parsers::records::COUNTER_NAMES;
use relayaudit_parsers::{MessageRecord, SessionRecord, Tables};
use serde_json::json;

use super::{relay_message_with, RelayView, Selected, ViewCounts, ViewReport};
use crate::note::Note;
use crate::policy::Policy;
use crate::replay::model::{ConnectionSample, Finding, Mode, Provenance, RelayConnection, ReplayInput};
use crate::replay::text::count_noun;

/// Maximum number of content filter hops followed back to the original.
const MAX_REINJECTION_HOPS: usize = 8;
/// Most private addresses named in the finding about missing NAT entries.
const LISTED_ADDRESSES: usize = 5;

/// Codes of the findings this module writes.
pub(crate) const NOTE_CODES: &[&str] = &["private_address_without_nat"];

pub(super) fn direct_view(
    tables: &Tables,
    policy: &Policy,
    selected: Vec<Selected<'_>>,
    mut counts: ViewCounts,
) -> RelayView {
    let messages_by_key: HashMap<&str, &MessageRecord> = tables
        .messages
        .iter()
        .map(|message| (message.message_key.as_str(), message))
        .collect();
    let filter_sessions = content_filter_sessions(tables);

    let mut connections = Vec::new();
    let mut connection_of: HashMap<&str, usize> = HashMap::new();
    let mut session_messages: Vec<u32> = Vec::new();
    for session in &tables.sessions {
        if session.service == "postscreen" || filter_sessions.contains(session.session_key.as_str()) {
            continue;
        }
        connection_of.insert(session.session_key.as_str(), connections.len());
        connections.push(session_connection(session, policy));
        session_messages.push(session.messages);
    }

    let mut messages = Vec::with_capacity(selected.len());
    let mut carried = vec![0u64; connections.len()];
    for chosen in selected {
        let session_key = origin_session(chosen.message, &messages_by_key);
        let Some(&index) = session_key.and_then(|key| connection_of.get(key)) else {
            counts.replayed -= 1;
            counts.no_inbound_session += 1;
            counts.no_inbound_session_recipients += chosen.recipients.len() as u64;
            continue;
        };
        carried[index] += 1;
        let connection: &RelayConnection = &connections[index];
        let auth_user = connection.auth_user.clone().unwrap_or_default();
        let helo = connection.helo.clone().unwrap_or_default();
        messages.push(relay_message_with(chosen, &auth_user, &helo, index));
    }

    // NOTE: every timed session counts as a new connection, including
    // sessions that carry no relay-bound message, so a busy client whose
    // mail mostly stays local can reach the reuse threshold sooner.
    let samples = connections
        .iter()
        .zip(&session_messages)
        .filter_map(|(connection, &messages)| {
            Some(ConnectionSample {
                stream: connection.reuse_stream.clone()?,
                at_us: connection.opened_at_us?,
                new_connection: true,
                messages,
            })
        })
        .collect();
    let findings = untranslated_private_addresses(&connections, &carried, policy)
        .into_iter()
        .collect();

    RelayView {
        input: ReplayInput {
            mode: Mode::Direct,
            connections,
            messages,
            samples,
        },
        report: ViewReport {
            mode: Mode::Direct,
            counts,
            findings,
            evidence: None,
        },
    }
}

/// Builds the relay connection of one inbound session.
fn session_connection(session: &SessionRecord, policy: &Policy) -> RelayConnection {
    let observed_ip = session.client_ip.as_deref().unwrap_or_default().to_string();
    let client_ip = observed_ip
        .parse::<IpAddr>()
        .ok()
        .map(|address| policy.translate(address.to_canonical()).0);
    let opened_at_us = session.connected_at.map(|at| at.utc_us);
    let auth_attempted = session.auth_user.is_some()
        || session.auth_failures > 0
        || counter(session, "auth").is_some_and(|(_, attempted)| attempted > 0);
    RelayConnection {
        key: session.session_key.to_string(),
        client_ip,
        observed_ip,
        client_host: session
            .client_host
            .as_deref()
            .filter(|name| *name != "unknown")
            .unwrap_or_default()
            .to_string(),
        helo: session.helo.as_deref().map(str::to_string),
        tls: session_tls(session),
        auth_user: session.auth_user.as_deref().map(str::to_string),
        auth_attempted,
        opened_at_us,
        reuse_stream: match (client_ip, opened_at_us) {
            (Some(address), Some(_)) => Some(address.to_string()),
            _ => None,
        },
        provenance: Provenance {
            source_file: session.provenance.source_file.to_string(),
            first_line: session.provenance.first_line,
            last_line: session.provenance.last_line,
        },
    }
}

/// Whether the session used TLS: `Some(false)` only when its
/// `disconnect from` line shows no accepted STARTTLS on a service that is
/// not in wrapper mode.
fn session_tls(session: &SessionRecord) -> Option<bool> {
    if session.tls_protocol.is_some() {
        return Some(true);
    }
    if counter(session, "starttls").is_some_and(|(accepted, _)| accepted > 0) {
        return Some(true);
    }
    let first = session.service.split('/').next().unwrap_or_default();
    if matches!(first, "smtps" | "submissions" | "465") {
        return Some(true);
    }
    // Every `disconnect from` line carries `commands=`.
    counter(session, "commands").map(|_| false)
}

/// Returns the (accepted, attempted) value of a `disconnect from` counter.
fn counter(session: &SessionRecord, name: &str) -> Option<(u32, u32)> {
    let index = COUNTER_NAMES.iter().position(|known| *known == name)?;
    session.counters[index]
}

/// Returns the inbound session of the message a copy was re-injected from,
/// following content filter hops back to the original.
fn origin_session<'t>(
    message: &'t MessageRecord,
    by_key: &HashMap<&str, &'t MessageRecord>,
) -> Option<&'t str> {
    let mut current = message;
    for _ in 0..MAX_REINJECTION_HOPS {
        match current.reinjected_from.as_deref() {
            None => return current.session_key.as_deref(),
            Some(parent) => current = by_key.get(parent)?,
        }
    }
    None
}

/// Sessions that only carried re-injected copies: a content filter handing
/// mail back to Postfix, not a client.
fn content_filter_sessions(tables: &Tables) -> HashSet<&str> {
    let mut copies = HashSet::new();
    let mut originals = HashSet::new();
    for message in &tables.messages {
        let Some(key) = message.session_key.as_deref() else {
            continue;
        };
        if message.reinjected_from.is_some() {
            copies.insert(key);
        } else {
            originals.insert(key);
        }
    }
    copies.retain(|key| !originals.contains(key));
    copies
}

/// Returns a finding when clients with relay-bound messages connect from
/// private addresses that no `[[nat]]` entry translates. No connection
/// reaches the relay from such an address, so their verdicts are likely
/// wrong.
fn untranslated_private_addresses(
    connections: &[RelayConnection],
    carried: &[u64],
    policy: &Policy,
) -> Option<Finding> {
    let mut found: BTreeMap<IpAddr, (u64, Provenance)> = BTreeMap::new();
    for (connection, &messages) in connections.iter().zip(carried) {
        let Ok(address) = connection.observed_ip.parse::<IpAddr>() else {
            continue;
        };
        let address = address.to_canonical();
        if messages == 0 || !is_private(address) || policy.translate(address).1.is_some() {
            continue;
        }
        let entry = found
            .entry(address)
            .or_insert_with(|| (0, connection.provenance.clone()));
        entry.0 += messages;
    }
    let example = found.values().next().map(|(_, provenance)| provenance.clone())?;
    let total: u64 = found.values().map(|(messages, _)| messages).sum();
    let mut listed: Vec<String> = found
        .keys()
        .take(LISTED_ADDRESSES)
        .map(IpAddr::to_string)
        .collect();
    if found.len() > LISTED_ADDRESSES {
        listed.push(format!("and {} more", found.len() - LISTED_ADDRESSES));
    }
    let params = json!({
        "addresses": found.keys().take(LISTED_ADDRESSES).map(IpAddr::to_string).collect::<Vec<_>>(),
        "clients": found.len(),
        "messages": total,
    });
    let text = format!(
        "private client addresses that no [[nat]] entry translates: {} ({}, {}); the relay never \
         sees such an address, so add [[nat]] entries for them",
        listed.join(", "),
        count_noun(found.len() as u64, "client"),
        count_noun(total, "relay-bound message")
    );
    Some(Finding {
        note: Note::new("private_address_without_nat", params, text),
        example: Some(example),
    })
}

/// Returns whether `address` can never reach the relay as a client: private
/// (RFC 1918), shared (RFC 6598), loopback, link-local or unique local.
fn is_private(address: IpAddr) -> bool {
    match address {
        IpAddr::V4(v4) => {
            let [first, second, ..] = v4.octets();
            let shared = first == 100 && (64..128).contains(&second);
            v4.is_private() || v4.is_loopback() || v4.is_link_local() || shared
        }
        IpAddr::V6(v6) => v6.is_loopback() || v6.is_unique_local() || v6.is_unicast_link_local(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(service: &str) -> SessionRecord {
        SessionRecord {
            session_key: "mx1/smtpd[1]/log:1".into(),
            service: service.into(),
            client_ip: Some("10.0.0.5".into()),
            ..SessionRecord::default()
        }
    }

    fn with_counter(mut session: SessionRecord, name: &str, value: (u32, u32)) -> SessionRecord {
        let index = COUNTER_NAMES
            .iter()
            .position(|known| *known == name)
            .expect("counter name");
        session.counters[index] = Some(value);
        session
    }

    #[test]
    fn tls_from_session_facts() {
        let mut logged = session("smtpd");
        logged.tls_protocol = Some("TLSv1.3".into());
        assert_eq!(session_tls(&logged), Some(true));

        let starttls = with_counter(
            with_counter(session("smtpd"), "starttls", (1, 1)),
            "commands",
            (5, 5),
        );
        assert_eq!(session_tls(&starttls), Some(true));

        let failed = with_counter(
            with_counter(session("smtpd"), "starttls", (0, 1)),
            "commands",
            (4, 5),
        );
        assert_eq!(session_tls(&failed), Some(false));

        let plain = with_counter(session("smtpd"), "commands", (5, 5));
        assert_eq!(session_tls(&plain), Some(false));

        assert_eq!(session_tls(&session("smtpd")), None);
        assert_eq!(session_tls(&session("smtps/smtpd")), Some(true));
        assert_eq!(session_tls(&session("submissions/smtpd")), Some(true));
        assert_eq!(
            session_tls(&with_counter(session("submission/smtpd"), "commands", (5, 5))),
            Some(false)
        );
    }

    #[test]
    fn auth_attempt_from_counters_and_failures() {
        let policy = Policy::builtin_default();
        let plain = session_connection(&session("smtpd"), &policy);
        assert!(!plain.auth_attempted);

        let counted = session_connection(&with_counter(session("smtpd"), "auth", (0, 1)), &policy);
        assert!(counted.auth_attempted);
        assert_eq!(counted.auth_user, None);

        let mut failed = session("smtpd");
        failed.auth_failures = 1;
        assert!(session_connection(&failed, &policy).auth_attempted);

        let mut succeeded = session("smtpd");
        succeeded.auth_user = Some("app@example.com".into());
        let connection = session_connection(&succeeded, &policy);
        assert!(connection.auth_attempted);
        assert_eq!(connection.auth_user.as_deref(), Some("app@example.com"));
    }

    #[test]
    fn nat_translates_address() {
        let mut policy = Policy::builtin_default();
        policy.nat.push(crate::policy::NatEntry {
            private: "10.0.0.0/8".parse().expect("range"),
            public: "203.0.113.5".parse().expect("address"),
        });
        let mut record = session("smtpd");
        record.connected_at = Some(relayaudit_parsers::Instant {
            utc_us: 1_000_000,
            offset_seconds: None,
        });
        let connection = session_connection(&record, &policy);
        assert_eq!(connection.observed_ip, "10.0.0.5");
        assert_eq!(
            connection.client_ip,
            Some("203.0.113.5".parse().expect("address"))
        );
        assert_eq!(connection.reuse_stream.as_deref(), Some("203.0.113.5"));

        // Without a connect time, the session is not counted for reuse.
        let untimed = session_connection(&session("smtpd"), &policy);
        assert_eq!(untimed.reuse_stream, None);
    }

    #[test]
    fn ipv4_mapped_client_read_as_ipv4() {
        let mut policy = Policy::builtin_default();
        policy.nat.push(crate::policy::NatEntry {
            private: "10.0.0.0/8".parse().expect("range"),
            public: "203.0.113.5".parse().expect("address"),
        });
        let mut mapped = session("smtpd");
        mapped.client_ip = Some("::ffff:10.0.0.5".into());
        let connection = session_connection(&mapped, &policy);
        assert_eq!(
            connection.client_ip,
            Some("203.0.113.5".parse().expect("address"))
        );

        mapped.client_ip = Some("::ffff:192.0.2.5".into());
        let connection = session_connection(&mapped, &policy);
        assert_eq!(connection.client_ip, Some("192.0.2.5".parse().expect("address")));
    }

    #[test]
    fn private_addresses() {
        for private in [
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "100.64.0.1",
            "127.0.0.1",
            "169.254.1.1",
            "fd00::1",
            "fe80::1",
            "::1",
        ] {
            assert!(is_private(private.parse().expect("address")), "{private}");
        }
        for public in ["192.0.2.1", "100.128.0.1", "172.32.0.1", "2001:db8::1"] {
            assert!(!is_private(public.parse().expect("address")), "{public}");
        }
    }
}
