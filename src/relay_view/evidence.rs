//! What the logs show of the smart host the MTA relays through today, and
//! where it contradicts the policy's `[smarthost]`.
//!
//! The smart host is recognised by the names and addresses in
//! `smarthost.evidence_hosts`, compared with the `relay=name[ip]:port` of
//! each delivery attempt. Postfix gives four kinds of evidence. The first
//! is the port, and the second the SMTP client's `TLS connection
//! established to` line, which the delivery carries. The third is
//! `conn_use=` for reused connections. The last is the smart host's replies
//! in the delivery status: `SASL authentication failed; server ... said:
//! 535 ...`, `530 5.7.0 Must issue a STARTTLS command first` and `550 5.7.0
//! Mail relay denied`.
//!
//! The egress address and the HELO name the MTA sends are not in Postfix
//! logs, so they are never checked.

use std::collections::BTreeMap;

use relayaudit_parsers::{DeliveryRecord, Tables};
use serde_json::{json, Value};

use crate::note::Note;
use crate::policy::Policy;
use crate::replay::model::{Finding, Provenance};
use crate::replay::text::count_noun;

/// Port on which Google documents TLS (STARTTLS) for the relay.
const TLS_PORT: u16 = 587;

/// Codes of the findings this module writes.
pub(crate) const NOTE_CODES: &[&str] = &[
    "tls_port_undocumented",
    "port_conflict",
    "tls_conflict",
    "tls_unverified",
    "auth_conflict",
    "auth_failed",
    "relay_denied",
];

/// Counts of the deliveries to today's smart host, and an example line of
/// each kind of evidence.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SmarthostEvidence {
    /// The names and addresses searched for, from `smarthost.evidence_hosts`.
    pub hosts: Vec<String>,
    /// Delivery attempts to the smart host (one per recipient).
    pub deliveries: u64,
    /// Delivery attempts per port of the smart host.
    pub ports: BTreeMap<u16, u64>,
    /// Attempts on a connection that Postfix reused (`conn_use=` 2 or more).
    pub reused: u64,
    /// Attempts over a TLS session that the log shows.
    pub tls: u64,
    /// Attempts on a new connection without a TLS handshake in the log.
    pub no_handshake: u64,
    /// Whether the log shows any TLS handshake of the SMTP client, to any
    /// peer. Without one, TLS logging may be off and `no_handshake` proves
    /// nothing.
    pub client_tls_logged: bool,
    /// Replies `SASL authentication failed`.
    pub auth_failures: u64,
    /// Replies demanding STARTTLS before the command.
    pub starttls_demanded: u64,
    /// Replies `Mail relay denied` or `Invalid credentials for relay`.
    pub relay_denied: u64,
    /// First line of each kind of evidence, by finding code.
    examples: BTreeMap<&'static str, Provenance>,
}

/// Gathers the evidence about the smart host from every delivery attempt.
pub(crate) fn gather(tables: &Tables, policy: &Policy) -> SmarthostEvidence {
    let hosts = &policy.smarthost.evidence_hosts;
    let mut evidence = SmarthostEvidence {
        hosts: hosts.clone(),
        ..SmarthostEvidence::default()
    };
    for delivery in &tables.deliveries {
        if delivery.tls_protocol.is_some() {
            evidence.client_tls_logged = true;
        }
        if !is_smarthost(delivery, hosts) {
            continue;
        }
        evidence.deliveries += 1;
        if let Some(port) = delivery.relay_port {
            *evidence.ports.entry(port).or_insert(0) += 1;
            if port != policy.smarthost.port {
                evidence.example("port_conflict", delivery);
            }
        }
        let reused = delivery.conn_use.is_some_and(|uses| uses >= 2);
        if reused {
            evidence.reused += 1;
        }
        if delivery.tls_protocol.is_some() {
            evidence.tls += 1;
            evidence.example("tls_seen", delivery);
        } else if !reused {
            evidence.no_handshake += 1;
            evidence.example("no_handshake", delivery);
        }

        let reply = delivery.reply_text.to_ascii_lowercase();
        if reply.contains("sasl authentication failed") {
            evidence.auth_failures += 1;
            evidence.example("auth_failure", delivery);
        }
        if reply.contains("must issue a starttls command first") {
            evidence.starttls_demanded += 1;
            evidence.example("starttls_demanded", delivery);
        }
        if reply.contains("mail relay denied") || reply.contains("invalid credentials for relay") {
            evidence.relay_denied += 1;
            evidence.example("relay_denied", delivery);
        }
    }
    evidence
}

impl SmarthostEvidence {
    fn example(&mut self, kind: &'static str, delivery: &DeliveryRecord) {
        self.examples.entry(kind).or_insert_with(|| Provenance {
            source_file: delivery.provenance.source_file.to_string(),
            first_line: delivery.provenance.first_line,
            last_line: delivery.provenance.last_line,
        });
    }

    fn example_of(&self, kind: &str) -> Option<Provenance> {
        self.examples.get(kind).cloned()
    }

    /// Returns the names searched for, for messages: `smtp-relay.gmail.com` or
    /// `a, b`.
    pub fn hosts_text(&self) -> String {
        if self.hosts.is_empty() {
            "(no evidence_hosts)".to_string()
        } else {
            self.hosts.join(", ")
        }
    }
}

/// Returns whether a delivery went to one of `hosts`, by name or address.
fn is_smarthost(delivery: &DeliveryRecord, hosts: &[String]) -> bool {
    let name_matches = hosts.iter().any(|host| {
        delivery
            .relay_host
            .trim_end_matches('.')
            .eq_ignore_ascii_case(host)
    });
    let address_matches = delivery
        .relay_ip
        .as_deref()
        .is_some_and(|ip| hosts.iter().any(|host| host.eq_ignore_ascii_case(ip)));
    name_matches || address_matches
}

/// Compares the evidence with the policy's `[smarthost]` and returns one
/// finding per conflict, and the policy facts that contradict Google's
/// documented ports.
pub(crate) fn findings(evidence: &SmarthostEvidence, policy: &Policy) -> Vec<Finding> {
    let smarthost = &policy.smarthost;
    let hosts = evidence.hosts_text();
    let mut findings = Vec::new();
    // Parameters of a finding about `count` delivery attempts to the hosts,
    // with `extra` parameters added.
    let about_attempts = |count: u64, extra: Value| {
        let mut params = json!({ "hosts": evidence.hosts, "attempts": count });
        if let (Some(params), Value::Object(extra)) = (params.as_object_mut(), extra) {
            params.extend(extra);
        }
        params
    };

    if smarthost.tls && smarthost.port != TLS_PORT {
        findings.push(finding(
            "tls_port_undocumented",
            json!({ "port": smarthost.port, "tls_port": TLS_PORT }),
            format!(
                "the policy says TLS on port {}, but Google documents TLS (STARTTLS) on port {TLS_PORT} \
                 only; the replay still takes the connection as TLS",
                smarthost.port
            ),
            None,
        ));
    }

    let other_ports: Vec<(u16, u64)> = evidence
        .ports
        .iter()
        .filter(|(port, _)| **port != smarthost.port)
        .map(|(port, count)| (*port, *count))
        .collect();
    if !other_ports.is_empty() {
        let phrases: Vec<String> = other_ports
            .iter()
            .map(|(port, count)| format!("{} to port {port}", attempts(*count)))
            .collect();
        let ports: Vec<Value> = other_ports
            .iter()
            .map(|(port, count)| json!({ "port": port, "attempts": count }))
            .collect();
        findings.push(finding(
            "port_conflict",
            json!({ "hosts": evidence.hosts, "port": smarthost.port, "other_ports": ports }),
            format!(
                "the policy says port {}, but the logs show {} of {hosts}",
                smarthost.port,
                phrases.join(" and ")
            ),
            evidence.example_of("port_conflict"),
        ));
    }

    if smarthost.tls {
        if evidence.starttls_demanded > 0 {
            findings.push(finding(
                "tls_conflict",
                about_attempts(
                    evidence.starttls_demanded,
                    json!({ "policy_tls": true, "evidence": "starttls_demanded" }),
                ),
                format!(
                    "the policy says TLS, but {hosts} answered {} with \"Must issue a STARTTLS \
                     command first\", so the MTA sent in plain text",
                    attempts(evidence.starttls_demanded)
                ),
                evidence.example_of("starttls_demanded"),
            ));
        } else if evidence.no_handshake > 0 && evidence.client_tls_logged {
            findings.push(finding(
                "tls_conflict",
                about_attempts(
                    evidence.no_handshake,
                    json!({ "policy_tls": true, "evidence": "no_handshake" }),
                ),
                format!(
                    "the policy says TLS, but {} on new connections to {hosts} show no TLS \
                     handshake while the log shows the SMTP client's handshakes with other peers",
                    attempts(evidence.no_handshake)
                ),
                evidence.example_of("no_handshake"),
            ));
        } else if evidence.deliveries > 0 && !evidence.client_tls_logged {
            findings.push(finding(
                "tls_unverified",
                json!({ "hosts": evidence.hosts }),
                format!(
                    "the logs show no TLS handshake of the SMTP client at all, so TLS to {hosts} \
                     cannot be checked; Postfix logs it with smtp_tls_loglevel = 1 or more"
                ),
                None,
            ));
        }
    } else if evidence.tls > 0 {
        findings.push(finding(
            "tls_conflict",
            about_attempts(
                evidence.tls,
                json!({ "policy_tls": false, "evidence": "tls_seen" }),
            ),
            format!(
                "the policy says no TLS, but {} to {hosts} went over TLS",
                attempts(evidence.tls)
            ),
            evidence.example_of("tls_seen"),
        ));
    }

    if evidence.auth_failures > 0 {
        let example = evidence.example_of("auth_failure");
        findings.push(if smarthost.auth_user.is_empty() {
            finding(
                "auth_conflict",
                about_attempts(evidence.auth_failures, json!({})),
                format!(
                    "the policy gives no auth_user, but the logs show the MTA trying SMTP AUTH with \
                     {hosts} ({} failed)",
                    attempts(evidence.auth_failures)
                ),
                example,
            )
        } else {
            finding(
                "auth_failed",
                about_attempts(
                    evidence.auth_failures,
                    json!({ "auth_user": smarthost.auth_user }),
                ),
                format!(
                    "{hosts} refused SMTP AUTH for {}; the replay still takes the smarthost as \
                     authenticated as {}",
                    attempts(evidence.auth_failures),
                    smarthost.auth_user
                ),
                example,
            )
        });
    }

    if evidence.relay_denied > 0 {
        findings.push(finding(
            "relay_denied",
            about_attempts(evidence.relay_denied, json!({})),
            format!(
                "{hosts} already answered {} with \"Mail relay denied\" or \"Invalid credentials for \
                 relay\"; check the allowed IP ranges and smarthost.egress_ip",
                attempts(evidence.relay_denied)
            ),
            evidence.example_of("relay_denied"),
        ));
    }
    findings
}

fn finding(code: &'static str, params: Value, text: String, example: Option<Provenance>) -> Finding {
    Finding {
        note: Note::new(code, params, text),
        example,
    }
}

fn attempts(count: u64) -> String {
    count_noun(count, "delivery attempt")
}

#[cfg(test)]
mod tests {
    use super::*;
    use relayaudit_parsers::Instant;

    fn delivery(host: &str, ip: &str, port: u16) -> DeliveryRecord {
        DeliveryRecord {
            message_key: "m".into(),
            recipient: "a@example.net".to_string(),
            attempt_at: Instant::default(),
            transport: "smtp",
            relay_host: host.into(),
            relay_ip: Some(ip.into()),
            relay_port: Some(port),
            status: "sent".into(),
            reply_text: "250 2.0.0 OK".to_string(),
            ..DeliveryRecord::default()
        }
    }

    fn tables(deliveries: Vec<DeliveryRecord>) -> Tables {
        Tables {
            deliveries,
            ..Tables::default()
        }
    }

    fn codes(findings: &[Finding]) -> Vec<&'static str> {
        findings.iter().map(|finding| finding.note.code).collect()
    }

    #[test]
    fn agreeing_logs_give_no_finding() {
        let policy = Policy::builtin_default();
        let mut relayed = delivery("smtp-relay.gmail.com", "142.250.1.28", 587);
        relayed.tls_protocol = Some("TLSv1.3".into());
        let evidence = gather(&tables(vec![relayed]), &policy);
        assert_eq!(evidence.deliveries, 1);
        assert_eq!(evidence.tls, 1);
        assert!(findings(&evidence, &policy).is_empty());
    }

    #[test]
    fn other_hosts_ignored() {
        let policy = Policy::builtin_default();
        let evidence = gather(
            &tables(vec![delivery("mx.example.net", "192.0.2.1", 25)]),
            &policy,
        );
        assert_eq!(evidence.deliveries, 0);
        assert!(findings(&evidence, &policy).is_empty());
    }

    #[test]
    fn host_matched_by_address() {
        let mut policy = Policy::builtin_default();
        policy.smarthost.evidence_hosts = vec!["192.0.2.25".to_string()];
        let evidence = gather(
            &tables(vec![delivery("relay.example.com", "192.0.2.25", 587)]),
            &policy,
        );
        assert_eq!(evidence.deliveries, 1);
    }

    #[test]
    fn plain_text_contradicts_tls_policy() {
        let policy = Policy::builtin_default();
        let mut elsewhere = delivery("mx.example.net", "192.0.2.1", 25);
        elsewhere.tls_protocol = Some("TLSv1.2".into());
        let plain = delivery("smtp-relay.gmail.com", "142.250.1.28", 587);
        let evidence = gather(&tables(vec![elsewhere, plain]), &policy);
        assert_eq!(evidence.no_handshake, 1);
        assert_eq!(codes(&findings(&evidence, &policy)), ["tls_conflict"]);

        // Without any client handshake in the log, TLS cannot be checked.
        let plain = delivery("smtp-relay.gmail.com", "142.250.1.28", 587);
        let evidence = gather(&tables(vec![plain]), &policy);
        assert_eq!(codes(&findings(&evidence, &policy)), ["tls_unverified"]);
    }

    #[test]
    fn starttls_demand_contradicts_tls_policy() {
        let policy = Policy::builtin_default();
        let mut refused = delivery("smtp-relay.gmail.com", "142.250.1.28", 587);
        refused.status = "bounced".into();
        refused.reply_text = "host smtp-relay.gmail.com[142.250.1.28] said: 530 5.7.0 Must issue a \
                              STARTTLS command first. - gsmtp (in reply to MAIL FROM command)"
            .to_string();
        let evidence = gather(&tables(vec![refused]), &policy);
        let found = findings(&evidence, &policy);
        assert_eq!(codes(&found), ["tls_conflict"]);
        assert!(found[0].note.text.contains("Must issue a STARTTLS command first"));
    }

    #[test]
    fn tls_contradicts_plain_policy() {
        let mut policy = Policy::builtin_default();
        policy.smarthost.tls = false;
        let mut relayed = delivery("smtp-relay.gmail.com", "142.250.1.28", 587);
        relayed.tls_protocol = Some("TLSv1.3".into());
        let evidence = gather(&tables(vec![relayed]), &policy);
        assert_eq!(codes(&findings(&evidence, &policy)), ["tls_conflict"]);
    }

    #[test]
    fn port_auth_and_relay_replies() {
        let mut policy = Policy::builtin_default();
        policy.smarthost.auth_user = "relay@example.com".to_string();
        let mut on_25 = delivery("smtp-relay.gmail.com", "142.250.1.28", 25);
        on_25.tls_protocol = Some("TLSv1.3".into());
        on_25.reply_text = "SASL authentication failed; server smtp-relay.gmail.com[142.250.1.28] \
                            said: 535-5.7.8 Username and Password not accepted."
            .to_string();
        let mut denied = delivery("smtp-relay.gmail.com", "142.250.1.28", 587);
        denied.tls_protocol = Some("TLSv1.3".into());
        denied.reply_text = "host smtp-relay.gmail.com[142.250.1.28] said: 550 5.7.0 Mail relay \
                             denied [203.0.113.5]. (in reply to MAIL FROM command)"
            .to_string();
        let evidence = gather(&tables(vec![on_25, denied]), &policy);
        let found = findings(&evidence, &policy);
        assert_eq!(codes(&found), ["port_conflict", "auth_failed", "relay_denied"]);
        assert_eq!(
            found[0].note.text,
            "the policy says port 587, but the logs show 1 delivery attempt to port 25 of \
             smtp-relay.gmail.com"
        );

        policy.smarthost.auth_user.clear();
        assert_eq!(
            codes(&findings(&evidence, &policy)),
            ["port_conflict", "auth_conflict", "relay_denied"]
        );
    }

    #[test]
    fn tls_on_undocumented_port() {
        let mut policy = Policy::builtin_default();
        policy.smarthost.port = 465;
        let found = findings(&gather(&tables(Vec::new()), &policy), &policy);
        assert_eq!(codes(&found), ["tls_port_undocumented"]);
    }
}
