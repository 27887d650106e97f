use super::*;
use crate::fields::Count;

fn smtpd(body: &str) -> Event<'_> {
    parse_body(Daemon::Smtpd, body).unwrap_or_else(|code| panic!("{body}: {code}"))
}

fn queue(daemon: Daemon, body: &str) -> (&str, QueueEvent<'_>) {
    match parse_body(daemon, body) {
        Ok(Event::Queue { queue_id, event }) => (queue_id, event),
        other => panic!("{body}: {other:?}"),
    }
}

#[test]
fn queue_ids_short_and_long() {
    let cases = [
        ("964BA2071B: removed", "964BA2071B"),
        ("ABCDE: removed", "ABCDE"),
        ("4HnkK60lBRz6tl1: removed", "4HnkK60lBRz6tl1"),
        ("90284DE204C8: removed", "90284DE204C8"),
    ];
    for (body, id) in cases {
        assert_eq!(queue(Daemon::Qmgr, body).0, id, "{body}");
    }
    // Long ids are case-sensitive: the same letters in another case are
    // another message.
    assert_ne!(
        queue(Daemon::Qmgr, "4HnkK60lBRz6tl1: removed").0,
        queue(Daemon::Qmgr, "4hnkk60lbrz6tl1: removed").0
    );
    // Words are not queue ids.
    assert_eq!(
        parse_body(Daemon::Qmgr, "warning: open active X: No such file"),
        Ok(Event::Informational)
    );
    assert_eq!(
        parse_body(Daemon::Smtpd, "mx reject: RCPT from a[1.2.3.4]: 554 x"),
        Err(RejectCode::UnrecognisedLine)
    );
}

#[test]
fn client_with_ipv6_and_unknown() {
    let (_, event) = queue(
        Daemon::Smtpd,
        "4HnkK60lBRz6tl1: client=mail.example.com[2001:db8::25]",
    );
    let QueueEvent::Client { client, .. } = event else {
        panic!("{event:?}")
    };
    assert_eq!(client.ip, Some("2001:db8::25"));
    let (_, event) = queue(Daemon::Smtpd, "ABC12: client=unknown[unknown]");
    let QueueEvent::Client { client, .. } = event else {
        panic!("{event:?}")
    };
    assert_eq!(client.ip, None);
    assert_eq!(client.name, "unknown");
}

#[test]
fn client_with_sasl_fields() {
    let (_, event) = queue(
        Daemon::Smtpd,
        "6C72ADE204BF: client=unknown[192.0.2.3], sasl_method=DIGEST-MD5, sasl_username=user3, sasl_sender=a@example.com",
    );
    assert_eq!(
        event,
        QueueEvent::Client {
            client: Peer {
                name: "unknown",
                ip: Some("192.0.2.3"),
                port: None
            },
            sasl_method: Some("DIGEST-MD5"),
            sasl_username: Some("user3"),
            sasl_sender: Some("a@example.com"),
        }
    );
}

#[test]
fn disconnect_counters() {
    let Event::Session(SessionEvent::Disconnect(disconnect)) = smtpd(
        "disconnect from host.example.com[2001:db8::1] ehlo=2 starttls=1 auth=0/1 mail=1 rcpt=0/1 data=0/1 bdat=0/1 quit=1 commands=5/7",
    ) else {
        panic!("not a disconnect")
    };
    assert_eq!(disconnect.client.ip, Some("2001:db8::1"));
    assert_eq!(
        disconnect.counters.auth,
        Some(Count {
            accepted: 0,
            attempted: 1
        })
    );
    assert_eq!(
        disconnect.counters.bdat,
        Some(Count {
            accepted: 0,
            attempted: 1
        })
    );
    assert_eq!(
        disconnect.counters.commands,
        Some(Count {
            accepted: 5,
            attempted: 7
        })
    );
}

#[test]
fn tls_established_forms() {
    let cases = [
        (
            "Anonymous TLS connection established from mx.example.net[192.0.2.7]:41234: TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits) key-exchange X25519 server-signature RSA-PSS (2048 bits) server-digest SHA256",
            "Anonymous",
            true,
            "TLSv1.3",
            "TLS_AES_256_GCM_SHA384",
            Some("256/256"),
        ),
        (
            "Untrusted TLS connection established from unknown[2001:db8::9]:587: TLSv1.2 with cipher ECDHE-RSA-AES256-GCM-SHA384 (256/256 bits)",
            "Untrusted",
            true,
            "TLSv1.2",
            "ECDHE-RSA-AES256-GCM-SHA384",
            Some("256/256"),
        ),
        (
            "Verified TLS connection established to smtp-relay.gmail.com[142.250.0.1]:587: TLSv1.3 with cipher TLS_AES_128_GCM_SHA256 (128/128 bits)",
            "Verified",
            false,
            "TLSv1.3",
            "TLS_AES_128_GCM_SHA256",
            Some("128/128"),
        ),
    ];
    for (body, trust, inbound, protocol, cipher, bits) in cases {
        let daemon = if inbound {
            Daemon::Smtpd
        } else {
            Daemon::Client("smtp")
        };
        let Ok(Event::Session(SessionEvent::Tls(tls))) = parse_body(daemon, body) else {
            panic!("{body}")
        };
        assert_eq!(tls.trust, trust);
        assert_eq!(tls.inbound, inbound);
        assert_eq!(tls.protocol, protocol);
        assert_eq!(tls.cipher, cipher);
        assert_eq!(tls.bits, bits);
    }
}

#[test]
fn sasl_failures() {
    let cases = [
        (
            "warning: unknown[192.0.2.1]: SASL LOGIN authentication failed: authentication failure",
            "LOGIN",
            "authentication failure",
            None,
        ),
        (
            "warning: unknown[203.0.113.10]: SASL LOGIN authentication failed: (reason unavailable), sasl_username=postmaster@example.org",
            "LOGIN",
            "(reason unavailable)",
            Some("postmaster@example.org"),
        ),
        ("warning: unknown[203.0.113.10]: SASL PLAIN authentication failed: ", "PLAIN", "", None),
        (
            "warning: unknown[203.0.113.10]: SASL LOGIN authentication failed: UGFzc3dvcmQ6",
            "LOGIN",
            "UGFzc3dvcmQ6",
            None,
        ),
        (
            "warning: host[192.0.2.5]: SASL PLAIN authentication failed: sasl_username=bob",
            "PLAIN",
            "",
            Some("bob"),
        ),
    ];
    for (body, expected_method, expected_reason, expected_user) in cases {
        let Event::Session(SessionEvent::SaslFailure {
            method,
            reason,
            username,
            ..
        }) = smtpd(body)
        else {
            panic!("{body}")
        };
        assert_eq!(method, expected_method, "{body}");
        assert_eq!(reason, expected_reason, "{body}");
        assert_eq!(username, expected_user, "{body}");
    }
}

#[test]
fn noqueue_reject_smtpd_layout() {
    let Event::Session(SessionEvent::Reject(reject)) = smtpd(
        "NOQUEUE: reject: RCPT from unknown[127.0.0.1]: 554 5.7.1 <u@d.example>: Recipient address rejected: Relay access denied; from=<a@b.example> to=<u@d.example> proto=ESMTP helo=<localhost>",
    ) else {
        panic!("not a reject")
    };
    assert_eq!(reject.stage, "RCPT");
    assert_eq!(reject.reply.code, Some(554));
    assert_eq!(reject.reply.enhanced, Some("5.7.1"));
    assert_eq!(reject.from, Some("a@b.example"));
    assert_eq!(reject.to, Some("u@d.example"));
    assert_eq!(reject.proto, Some("ESMTP"));
    assert_eq!(reject.helo, Some("localhost"));
}

#[test]
fn noqueue_reject_postscreen_layout() {
    let Ok(Event::Session(SessionEvent::Reject(reject))) = parse_body(
        Daemon::Postscreen,
        "NOQUEUE: reject: RCPT from [192.0.2.9]:5678: 550 5.7.1 Service unavailable; client [192.0.2.9] blocked using zen.example.org; from=<a@b.example>, to=<c@d.example>, proto=ESMTP, helo=<x.example>",
    ) else {
        panic!("not a reject")
    };
    assert_eq!(reject.client.ip, Some("192.0.2.9"));
    assert_eq!(reject.client.port, Some(5678));
    assert_eq!(reject.client.name, "");
    assert_eq!(reject.reply.code, Some(550));
    assert_eq!(reject.from, Some("a@b.example"));
    assert_eq!(reject.to, Some("c@d.example"));
    assert_eq!(reject.helo, Some("x.example"));
}

#[test]
fn delivery_lines() {
    let (_, event) = queue(
        Daemon::Client("smtp"),
        "4HnkK60lBRz6tl1: to=<u@example.net>, orig_to=<alias@example.com>, relay=mx.example.net[2001:db8::5]:25, conn_use=3, delay=1.2, delays=0.1/0.01/0.5/0.59, dsn=5.7.1, status=bounced (host mx.example.net[2001:db8::5] said: 550 5.7.1 Rejected (in reply to end of DATA command))",
    );
    let QueueEvent::Delivery(delivery) = event else {
        panic!("{event:?}")
    };
    assert_eq!(delivery.to, "u@example.net");
    assert_eq!(delivery.orig_to, Some("alias@example.com"));
    let peer = delivery.relay_peer.unwrap();
    assert_eq!(
        (peer.name, peer.ip, peer.port),
        ("mx.example.net", Some("2001:db8::5"), Some(25))
    );
    assert_eq!(delivery.conn_use, Some(3));
    assert_eq!(delivery.delay, Some(1.2));
    assert_eq!(delivery.delays, Some("0.1/0.01/0.5/0.59"));
    assert_eq!(delivery.dsn, Some("5.7.1"));
    assert_eq!(delivery.status, "bounced");
    let reply = crate::fields::parse_delivery_reply(delivery.status_text);
    assert_eq!(reply.reply.code, Some(550));
    assert_eq!(reply.stage, Some("end of DATA"));

    for (body, relay, status) in [
        ("ABCDE1: to=<u@x.example>, relay=none, delay=299084, delays=299084/0/0/0, dsn=4.4.1, status=deferred (connect to x.example[192.0.2.1]:25: Connection refused)", "none", "deferred"),
        ("ABCDE1: to=<root@h.example>, relay=local, delay=0.02, delays=0/0/0/0.02, dsn=2.0.0, status=sent (delivered to mailbox)", "local", "sent"),
        ("ABCDE1: to=<u@h.example>, relay=none, delay=432000, delays=432000/0/0/0, dsn=4.4.1, status=expired, returned to sender", "none", "expired,"),
    ] {
        let daemon = if relay == "local" { Daemon::LocalAgent("local") } else { Daemon::Client("smtp") };
        let (_, event) = queue(daemon, body);
        let QueueEvent::Delivery(delivery) = event else { panic!("{event:?}") };
        assert_eq!(delivery.relay, relay, "{body}");
        assert!(delivery.status.starts_with(status.trim_end_matches(',')), "{body}");
    }
}

#[test]
fn qmgr_lines() {
    let (_, event) = queue(
        Daemon::Qmgr,
        "964BA2071B: from=<user1@d2.example.org>, size=708, nrcpt=1 (queue active)",
    );
    assert_eq!(
        event,
        QueueEvent::Queued {
            from: "user1@d2.example.org",
            size: Some(708),
            nrcpt: Some(1)
        }
    );
    let (_, event) = queue(
        Daemon::Qmgr,
        "964BA2071B: from=<>, size=2100, nrcpt=1 (queue active)",
    );
    assert!(matches!(event, QueueEvent::Queued { from: "", .. }));
    let (_, event) = queue(
        Daemon::Qmgr,
        "964BA2071B: from=<a@b.example>, status=expired, returned to sender",
    );
    assert_eq!(event, QueueEvent::Expired { from: "a@b.example" });
    assert_eq!(
        parse_body(
            Daemon::Qmgr,
            "964BA2071B: from=<a@b>, size=x, nrcpt=1 (queue active)"
        ),
        Err(RejectCode::BadFieldValue)
    );
}

#[test]
fn pickup_bare_local_part() {
    let (_, event) = queue(Daemon::Pickup, "8F1E2A1: uid=0 from=<root>");
    assert_eq!(
        event,
        QueueEvent::Pickup {
            uid: Some(0),
            from: "root"
        }
    );
}

#[test]
fn bounce_notice() {
    let (id, event) = queue(
        Daemon::Bounce,
        "920A4110013E: sender non-delivery notification: E67EE1100BD1",
    );
    assert_eq!(id, "920A4110013E");
    assert_eq!(
        event,
        QueueEvent::Notice {
            kind: "sender non-delivery notification",
            notice_id: "E67EE1100BD1"
        }
    );
}

#[test]
fn trailing_commas_ignored() {
    let (_, event) = queue(Daemon::Qmgr, "964BA2071B: removed,,,,,");
    assert_eq!(event, QueueEvent::Removed);
}

#[test]
fn session_endings() {
    let Event::Session(SessionEvent::Lost { after, client }) =
        smtpd("lost connection after DATA (approximately 1234 bytes) from localhost[127.0.0.1]")
    else {
        panic!()
    };
    assert_eq!(after, "DATA (approximately 1234 bytes)");
    assert_eq!(client.ip, Some("127.0.0.1"));
    assert!(matches!(
        smtpd("improper command pipelining after HELO from localhost[127.0.0.1]: QUIT\\r\\n"),
        Event::Session(SessionEvent::Note { .. })
    ));
}
