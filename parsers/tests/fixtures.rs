//! The fixture logs under `fixtures/postfix/kinds`, one per group of line
//! forms, each checked against the rows it must produce.

use std::path::{Path, PathBuf};

use relayaudit_parsers::time::YearSource;
use relayaudit_parsers::{ingest_set, IngestOptions, MessageRecord, SessionRecord, Source, Tables};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/postfix/kinds")
        .join(name)
}

fn ingest(name: &str) -> Tables {
    ingest_with(&[fixture(name)], YearSource::Option(2024), "UTC")
}

fn ingest_with(paths: &[PathBuf], year: YearSource, zone: &str) -> Tables {
    let sources: Vec<Source> = paths
        .iter()
        .map(|path| Source {
            name: path.file_name().unwrap().to_string_lossy().into_owned(),
            path: Some(path.clone()),
        })
        .collect();
    let options = IngestOptions {
        year,
        zone: zone.parse().unwrap(),
        progress: None,
    };
    let (tables, _) = ingest_set(&sources, None, &options).unwrap();
    let counts = &tables.counts;
    assert_eq!(counts.read, counts.used + counts.other_program + counts.rejected);
    tables
}

fn message<'a>(tables: &'a Tables, queue_id: &str) -> &'a MessageRecord {
    let found: Vec<_> = tables
        .messages
        .iter()
        .filter(|m| m.queue_id == queue_id)
        .collect();
    assert_eq!(found.len(), 1, "messages with queue id {queue_id}");
    found[0]
}

fn session_from<'a>(tables: &'a Tables, ip: &str) -> &'a SessionRecord {
    let found: Vec<_> = tables
        .sessions
        .iter()
        .filter(|s| s.client_ip.as_deref() == Some(ip))
        .collect();
    assert_eq!(found.len(), 1, "sessions from {ip}");
    found[0]
}

/// 2024-03-07T02:09:33Z in microseconds.
const MARCH_7_020933_US: i64 = 1_709_777_373_000_000;

#[test]
fn mixed_stamps_with_offsets() {
    let tables = ingest("stamps.log");
    assert_eq!(tables.counts.rejected, 0, "{:?}", tables.rejects);
    let m = message(&tables, "1A2B3C4D5E");
    // The classic `Mar 7 02:09:34` client line starts the message.
    assert_eq!(m.received_at.unwrap().utc_us, MARCH_7_020933_US + 1_000_000);
    assert_eq!(m.received_at.unwrap().offset_seconds, None);
    assert_eq!(m.message_id.as_deref(), Some("m1@app.example.com"));
    assert_eq!(m.envelope_from.as_deref(), Some("a@example.com"));
    let d = &tables.deliveries[0];
    // 02:09:36.5 at -00:30 is 02:39:36.5 UTC.
    assert_eq!(
        d.attempt_at.utc_us,
        MARCH_7_020933_US + 30 * 60_000_000 + 3_500_000
    );
    assert_eq!(d.attempt_at.offset_seconds, Some(-1800));
}

#[test]
fn zone_applies_to_classic_stamps_only() {
    let tables = ingest_with(&[fixture("stamps.log")], YearSource::Option(2024), "Asia/Tokyo");
    let m = message(&tables, "1A2B3C4D5E");
    assert_eq!(
        m.received_at.unwrap().utc_us,
        MARCH_7_020933_US + 1_000_000 - 9 * 3_600_000_000
    );
    let d = &tables.deliveries[0];
    assert_eq!(
        d.attempt_at.utc_us,
        MARCH_7_020933_US + 30 * 60_000_000 + 3_500_000
    );
}

#[test]
fn program_names_with_instances_and_services() {
    let tables = ingest("programs.log");
    assert_eq!(tables.counts.rejected, 0, "{:?}", tables.rejects);
    let submission = session_from(&tables, "2001:db8::77");
    assert_eq!(submission.service, "submission/smtpd");
    assert_eq!(submission.auth_user.as_deref(), Some("dana"));
    assert_eq!(submission.messages, 1);
    let smtps: Vec<_> = tables
        .sessions
        .iter()
        .filter(|s| s.service == "smtps/smtpd")
        .collect();
    assert_eq!(smtps.len(), 1);
    let unknown: Vec<_> = tables
        .sessions
        .iter()
        .filter(|s| s.service == "smtp-25/smtpd")
        .collect();
    assert_eq!(unknown.len(), 1);
    assert_eq!(unknown[0].client_ip, None, "unknown[unknown] gives a null IP");
    assert_eq!(unknown[0].lost_after.as_deref(), Some("CONNECT"));

    // The content filter hop links the two queue ids.
    let parent = message(&tables, "2B3C4D5E6F");
    let child = message(&tables, "3C4D5E6F70");
    assert_eq!(
        child.reinjected_from.as_deref(),
        Some(parent.message_key.as_str())
    );
    let hop = tables
        .deliveries
        .iter()
        .find(|d| d.message_key == parent.message_key)
        .unwrap();
    assert_eq!(hop.reinjected_as.as_deref(), Some("3C4D5E6F70"));
    let out = tables
        .deliveries
        .iter()
        .find(|d| d.message_key == child.message_key)
        .unwrap();
    assert_eq!(out.transport, "smtp");
    assert_eq!(out.conn_use, Some(4));
    assert_eq!(out.reinjected_as, None, "a remote `queued as` is not a hop");

    // The stock `relay` service runs the SMTP client under its own name.
    let relayed = message(&tables, "4D5E6F7081");
    let delivery = tables
        .deliveries
        .iter()
        .find(|d| d.message_key == relayed.message_key)
        .unwrap();
    assert_eq!(delivery.transport, "smtp");
    assert_eq!(delivery.relay_port, Some(587));
    assert_eq!(tables.counts.other_program, 0);
}

#[test]
fn long_queue_ids_are_case_sensitive() {
    let tables = ingest("queue-ids.log");
    assert_eq!(tables.counts.rejected, 0, "{:?}", tables.rejects);
    assert_eq!(tables.messages.len(), 4);
    assert_eq!(message(&tables, "4HnkK60lBRz6tl1").size_bytes, Some(512));
    assert_eq!(message(&tables, "4hnkk60lbrz6tl1").size_bytes, Some(640));
    let short = message(&tables, "ABCDE");
    assert_eq!(short.origin, "pickup");
    assert_eq!(
        short.envelope_from.as_deref(),
        Some("root"),
        "a bare local part is a valid sender"
    );
    assert_eq!(short.local_uid, Some(0));
    assert!(short.removed);
    message(&tables, "1234567890AB");
}

#[test]
fn sessions_tls_sasl_and_counters() {
    let tables = ingest("sessions.log");
    assert_eq!(tables.counts.rejected, 0, "{:?}", tables.rejects);
    let failed = session_from(&tables, "198.51.100.23");
    assert_eq!(failed.tls_protocol.as_deref(), Some("TLSv1.3"));
    assert_eq!(failed.tls_cipher.as_deref(), Some("TLS_AES_256_GCM_SHA384"));
    assert_eq!(failed.tls_trust.as_deref(), Some("Anonymous"));
    assert_eq!(failed.client_port, None);
    assert_eq!(failed.auth_failures, 3);
    assert_eq!(failed.auth_failed_user.as_deref(), Some("admin@example.com"));
    assert_eq!(failed.auth_user, None, "a failed login is not an identity");
    // ehlo, helo, starttls, auth, mail, rcpt, data, bdat, rset, quit, unknown, commands
    assert_eq!(failed.counters[0], Some((2, 2)));
    assert_eq!(failed.counters[3], Some((0, 3)));
    assert_eq!(failed.counters[5], Some((0, 1)));
    assert_eq!(failed.counters[7], Some((0, 1)));
    assert_eq!(failed.counters[11], Some((5, 10)));
    assert_eq!(failed.counters[1], None);
    assert!(failed.disconnected_at.is_some());

    let good = session_from(&tables, "2001:db8:5::9");
    assert_eq!(good.tls_trust.as_deref(), Some("Untrusted"));
    assert_eq!(good.tls_protocol.as_deref(), Some("TLSv1.2"));
    assert_eq!(good.auth_method.as_deref(), Some("LOGIN"));
    assert_eq!(good.auth_user.as_deref(), Some("frank@example.com"));
    let m = message(&tables, "5E6F708192");
    assert_eq!(m.session_key.as_deref(), Some(good.session_key.as_str()));
    assert_eq!(m.tls_protocol.as_deref(), Some("TLSv1.2"));
    assert_eq!(m.auth_user.as_deref(), Some("frank@example.com"));

    let rejected = session_from(&tables, "192.0.2.99");
    assert_eq!(rejected.noqueue_rejects, 2);
    assert_eq!(rejected.helo.as_deref(), Some("WIN-ABC"));
    assert!(rejected
        .last_reject
        .as_deref()
        .unwrap()
        .starts_with("450 4.7.1 Client host rejected"));

    let screened = session_from(&tables, "192.0.2.150");
    assert_eq!(screened.service, "postscreen");
    assert_eq!(screened.client_port, Some(40123));
    assert_eq!(screened.noqueue_rejects, 1);
    assert_eq!(screened.helo.as_deref(), Some("bot.example"));
    assert!(screened.disconnected_at.is_some());

    // NOQUEUE rejects never become messages.
    assert_eq!(tables.messages.len(), 1);
}

#[test]
fn message_lifecycle_deferrals_bounce_and_notice() {
    let tables = ingest("lifecycle.log");
    assert_eq!(tables.counts.rejected, 0, "{:?}", tables.rejects);
    let slow = message(&tables, "6F708192A3");
    assert_eq!(
        slow.size_bytes,
        Some(5000),
        "repeated qmgr lines do not add up the size"
    );
    assert_eq!(slow.nrcpt, Some(2));
    assert!(slow.expired);
    assert!(slow.removed);
    let attempts: Vec<_> = tables
        .deliveries
        .iter()
        .filter(|d| d.message_key == slow.message_key)
        .collect();
    assert_eq!(attempts.len(), 4, "one message, four attempts");
    let deferred = attempts.iter().filter(|d| d.status == "deferred").count();
    assert_eq!(deferred, 3);
    let bounced = attempts.iter().find(|d| d.status == "bounced").unwrap();
    assert_eq!(bounced.orig_recipient.as_deref(), Some("team@example.com"));
    assert_eq!(bounced.reply_code, Some(552));
    assert_eq!(bounced.enhanced_code.as_deref(), Some("5.2.2"));
    assert_eq!(bounced.smtp_stage.as_deref(), Some("end of DATA"));
    assert_eq!(bounced.dsn.as_deref(), Some("5.2.2"));
    assert_eq!(bounced.delays.as_deref(), Some("0/0/1/4"));
    let none = attempts.iter().find(|d| d.status == "deferred").unwrap();
    assert_eq!(none.relay_host, "none");
    assert_eq!(none.relay_ip, None);

    let notice = message(&tables, "7A8B9CADBE");
    assert_eq!(notice.origin, "bounce");
    assert_eq!(notice.notice_of.as_deref(), Some(slow.message_key.as_str()));
    assert_eq!(
        notice.notice_kind.as_deref(),
        Some("sender non-delivery notification")
    );
    assert_eq!(
        notice.envelope_from.as_deref(),
        Some(""),
        "the null sender is an empty string"
    );

    let cron = message(&tables, "8B9CADBECF");
    assert_eq!(cron.origin, "pickup");
    assert_eq!(cron.envelope_from.as_deref(), Some("root@mx.example.com"));
    let local = tables
        .deliveries
        .iter()
        .find(|d| d.message_key == cron.message_key)
        .unwrap();
    assert_eq!(local.transport, "local");
    assert_eq!(local.relay_host, "local");

    let other = &tables.counts.other_programs;
    for program in [
        "dovecot",
        "opendkim",
        "policyd-spf",
        "postfix/postfix-script",
        "postfix/anvil",
        "postfix/scache",
        "postfix/postdrop",
    ] {
        assert_eq!(
            other.get(program),
            Some(&1),
            "{program} counted as another program"
        );
    }
    assert_eq!(tables.counts.other_program, 7);
}

#[test]
fn crlf_trailing_junk_and_out_of_order_lines() {
    let tables = ingest("crlf-junk.log");
    assert_eq!(tables.counts.read, 7);
    let codes: Vec<_> = tables.rejects.iter().map(|r| (r.line, r.code)).collect();
    assert_eq!(
        codes,
        vec![(5, "unrecognised_line"), (6, "bad_timestamp"), (7, "blank_line")]
    );
    // `removed` came first in the file but the message is still one message.
    let m = message(&tables, "9CADBECFD0");
    assert!(m.removed);
    assert_eq!(m.origin, "smtp");
    assert_eq!(m.provenance.first_line, 1);
    assert_eq!(m.provenance.last_line, 4);
    assert_eq!(m.nrcpt, Some(1), "trailing commas after the remark are ignored");
    assert_eq!(tables.deliveries.len(), 1);
    assert_eq!(tables.deliveries[0].reply_text, "250 ok");
    assert!(!tables.rejects[0].excerpt.ends_with('\r'));
}

#[test]
fn suite_found_its_files() {
    let count = std::fs::read_dir(fixture(""))
        .unwrap()
        .filter(|entry| {
            entry
                .as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|e| e == "log")
        })
        .count();
    assert_eq!(count, 6);
}
