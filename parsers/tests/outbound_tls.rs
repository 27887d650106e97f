//! The SMTP client's `TLS connection established to` lines reach the
//! deliveries that went over that TLS session, and no others.

use relayaudit_parsers::time::YearSource;
use relayaudit_parsers::{ingest_set, DeliveryRecord, IngestOptions, Source};

fn deliveries(log: &str) -> Vec<DeliveryRecord> {
    let options = IngestOptions {
        year: YearSource::Option(2024),
        zone: "UTC".parse().expect("zone"),
        progress: None,
    };
    let source = Source {
        name: "-".to_string(),
        path: None,
    };
    let (tables, _) = ingest_set(&[source], Some(log.as_bytes()), &options).expect("log reads");
    assert_eq!(tables.counts.rejected, 0, "rejects: {:?}", tables.rejects);
    tables.deliveries
}

fn tls_of<'a>(deliveries: &'a [DeliveryRecord], recipient: &str) -> Option<&'a str> {
    deliveries
        .iter()
        .find(|delivery| delivery.recipient == recipient)
        .unwrap_or_else(|| panic!("no delivery to {recipient}"))
        .tls_protocol
        .as_deref()
}

const RELAY: &str = "smtp-relay.gmail.com[142.250.1.28]:587";

#[test]
fn handshake_reaches_same_process_delivery() {
    let log = format!(
        "Mar  4 10:00:00 mx1 postfix/smtp[300]: Trusted TLS connection established to {RELAY}: TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)\n\
         Mar  4 10:00:01 mx1 postfix/smtp[300]: 1A2B3C4D5E: to=<a@example.net>, relay={RELAY}, delay=1, delays=0/0/0.5/0.5, dsn=2.0.0, status=sent (250 2.0.0 OK)\n\
         Mar  4 10:00:01 mx1 postfix/smtp[300]: 1A2B3C4D5E: to=<b@example.net>, relay={RELAY}, delay=1, delays=0/0/0.5/0.5, dsn=2.0.0, status=sent (250 2.0.0 OK)\n\
         Mar  4 10:00:02 mx1 postfix/smtp[301]: 2B3C4D5E6F: to=<c@example.net>, relay={RELAY}, delay=1, delays=0/0/0.5/0.5, dsn=2.0.0, status=sent (250 2.0.0 OK)\n"
    );
    let deliveries = deliveries(&log);

    assert_eq!(tls_of(&deliveries, "a@example.net"), Some("TLSv1.3"));
    assert_eq!(tls_of(&deliveries, "b@example.net"), Some("TLSv1.3"));
    let first = &deliveries[0];
    assert_eq!(first.tls_cipher.as_deref(), Some("TLS_AES_256_GCM_SHA384"));
    // Another process logged no handshake.
    assert_eq!(tls_of(&deliveries, "c@example.net"), None);
}

#[test]
fn handshake_not_given_to_other_peer_or_new_connection() {
    let log = format!(
        "Mar  4 10:00:00 mx1 postfix/smtp[300]: Untrusted TLS connection established to {RELAY}: TLSv1.2 with cipher ECDHE-RSA-AES128-GCM-SHA256 (128/128 bits)\n\
         Mar  4 10:00:01 mx1 postfix/smtp[300]: 1A2B3C4D5E: to=<a@example.net>, relay={RELAY}, delay=1, delays=0/0/0.5/0.5, dsn=2.0.0, status=sent (250 2.0.0 OK)\n\
         Mar  4 10:00:02 mx1 postfix/smtp[300]: 2B3C4D5E6F: to=<b@example.org>, relay=mx.example.org[192.0.2.7]:25, delay=1, delays=0/0/0.5/0.5, dsn=2.0.0, status=sent (250 ok)\n\
         Mar  4 10:00:03 mx1 postfix/smtp[300]: 3C4D5E6F7A: to=<c@example.net>, relay={RELAY}, conn_use=2, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (250 2.0.0 OK)\n\
         Mar  4 10:00:04 mx1 postfix/smtp[300]: 4D5E6F7A8B: to=<d@example.net>, relay={RELAY}, delay=1, delays=0/0/0.5/0.5, dsn=2.0.0, status=sent (250 2.0.0 OK)\n"
    );
    let deliveries = deliveries(&log);

    assert_eq!(tls_of(&deliveries, "a@example.net"), Some("TLSv1.2"));
    assert_eq!(tls_of(&deliveries, "b@example.org"), None);
    // A reused connection carries the handshake of the connection it reuses.
    assert_eq!(tls_of(&deliveries, "c@example.net"), Some("TLSv1.2"));
    // A new connection for another message needs a handshake of its own.
    assert_eq!(tls_of(&deliveries, "d@example.net"), None);
}
