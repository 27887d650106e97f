use serde_json::{json, Value};

use super::*;

/// Returns one note per code with the replay's English sentence for it.
/// The sentences are the replay's own, so the English table must match
/// them.
fn samples() -> Vec<(&'static str, Value, &'static str)> {
    vec![
        (
            "not_registered_user",
            json!({ "sender": "root", "sender_kind": "bare" }),
            "bare local part root is not a registered user",
        ),
        (
            "no_gmail_licence",
            json!({ "sender": "frank@example.com" }),
            "frank@example.com is a registered user without a Gmail licence",
        ),
        (
            "sender_domain_not_owned",
            json!({ "sender": "gina@printer.local", "sender_kind": "address", "domain": "printer.local" }),
            "sender domain printer.local is not an owned domain",
        ),
        (
            "rewrite_postmaster",
            json!({
                "sender": "a@other.org",
                "sender_kind": "address",
                "to": "postmaster@example.org",
                "domain": "example.org",
                "identified_by": "smtp_auth",
                "identity": "relay@example.org",
            }),
            "a@other.org is outside the owned domains, so the relay rewrites it to \
             postmaster@example.org because SMTP AUTH as relay@example.org identifies example.org",
        ),
        (
            "unidentified_sender",
            json!({ "sender": "", "sender_kind": "null", "auth_user": "", "helo": "mx9.other.net" }),
            "null envelope sender is outside the owned domains, and neither SMTP AUTH (none) nor \
             HELO (mx9.other.net) identifies the organisation",
        ),
        (
            "null_sender_multiple_recipients",
            json!({ "recipients": 1200 }),
            "null envelope sender with 1,200 recipients in one transaction",
        ),
        (
            "message_too_large",
            json!({ "size_bytes": 30_000_000, "limit_bytes": 26_214_400 }),
            "message of 30,000,000 bytes is larger than the limit of 26,214,400 bytes",
        ),
        (
            "transaction_recipient_over_limit",
            json!({ "position": 101, "limit": 100 }),
            "recipient 101 of this transaction; limit 100 per transaction",
        ),
        (
            "user_messages_over_limit",
            json!({ "sender": "bulk@example.com", "value": 10_001, "limit": 10_000, "window_seconds": 86_400 }),
            "bulk@example.com would reach 10,001 messages in 24 h; limit 10,000",
        ),
        (
            "user_recipients_over_limit",
            json!({ "sender": "bulk@example.com", "value": 10_001, "limit": 10_000, "window_seconds": 86_400 }),
            "bulk@example.com would reach 10,001 unique recipients in 24 h; limit 10,000",
        ),
        (
            "org_recipients_over_limit",
            json!({ "value": 319_445, "limit": 319_444, "window_seconds": 600 }),
            "the organisation would reach 319,445 recipients in 10 min; limit 319,444",
        ),
        (
            "auth_without_tls",
            json!({}),
            "the client tried SMTP AUTH on a plain-text connection, and the relay offers AUTH only \
             after STARTTLS",
        ),
        (
            "tls_required_plain_text",
            json!({ "setting": "printers" }),
            "relay setting \"printers\" requires TLS, and the connection is plain text",
        ),
        (
            "generic_helo",
            json!({ "helo": "localhost", "form": "localhost" }),
            "HELO name \"localhost\" is a localhost name",
        ),
        (
            "smtp_auth_required_in_range",
            json!({ "setting": "apps", "address": "192.0.2.7", "range": "192.0.2.0/24", "auth_attempted": true }),
            "relay setting \"apps\" allows 192.0.2.7 (range 192.0.2.0/24) but requires SMTP AUTH, \
             and the connection tried SMTP AUTH without success",
        ),
        (
            "address_not_in_ranges",
            json!({ "address": "198.51.100.90", "settings": ["hub", "printers"] }),
            "198.51.100.90 is in no allowed IP range of relay settings \"hub\" and \"printers\"",
        ),
        (
            "smtp_auth_required",
            json!({ "settings": ["apps"], "auth_attempted": false }),
            "relay setting \"apps\" requires SMTP AUTH, and the connection did not authenticate",
        ),
        (
            "no_relay_settings_listed",
            json!({}),
            "the policy lists no relay settings",
        ),
        (
            "setting_matched_by_range",
            json!({ "setting": "hub", "range": "203.0.113.0/28" }),
            "relay setting \"hub\" allows the address (range 203.0.113.0/28)",
        ),
        (
            "setting_matched_by_auth",
            json!({ "setting": "apps", "auth_user": "relay@example.com" }),
            "relay setting \"apps\" accepts SMTP AUTH as relay@example.com",
        ),
        (
            "setting_open",
            json!({ "setting": "open" }),
            "relay setting \"open\" lists no IP ranges and does not require SMTP AUTH",
        ),
        (
            "setting_address_unknown",
            json!({ "setting": "hub" }),
            "relay setting \"hub\" is taken to allow the address, which is unknown",
        ),
        (
            "connection_reuse_low",
            json!({
                "stream": "192.0.2.40",
                "minute": "2024-03-04T09:00:00Z",
                "connections": 1_203,
                "messages": 1_300,
                "max_connections": 1_000,
                "min_messages": 1.5,
            }),
            "192.0.2.40 opened 1,203 new connections in the minute from 2024-03-04 09:00 UTC, with \
             1.08 messages per connection; the thresholds are more than 1,000 connections at fewer \
             than 1.5 messages per connection",
        ),
        (
            "registered_users_unknown",
            json!({ "rules": ["sender.not_registered_user"] }),
            "sender.not_registered_user: the policy names no users file, so registered users are unknown",
        ),
        (
            "gmail_licences_unknown",
            json!({ "rules": ["sender.no_gmail_licence"] }),
            "sender.no_gmail_licence: the policy names no users file, so Gmail licences are unknown",
        ),
        (
            "owned_domains_unknown",
            json!({ "rules": ["sender.domain_not_owned"] }),
            "sender.domain_not_owned: the policy lists no owned domains",
        ),
        (
            "outside_owned_domains_unknown",
            json!({ "rules": ["sender.unidentified"] }),
            "sender.unidentified: the policy lists no owned domains, so no sender is known to be \
             outside them",
        ),
        (
            "connection_rules_without_settings",
            json!({ "rules": ["auth.ip_not_allowed", "auth.smtp_auth_required", "tls.required"] }),
            "auth.ip_not_allowed, auth.smtp_auth_required, tls.required: the policy lists no relay \
             settings",
        ),
        (
            "open_setting_accepts_all",
            json!({ "rules": ["auth.ip_not_allowed", "auth.smtp_auth_required"], "messages": 2_500 }),
            "auth.ip_not_allowed, auth.smtp_auth_required: the matched relay setting lists no IP \
             ranges and does not require SMTP AUTH, so it accepts every connection (2,500 messages)",
        ),
        (
            "egress_ip_missing",
            json!({ "rules": ["auth.ip_not_allowed"] }),
            "auth.ip_not_allowed: the policy gives no smarthost.egress_ip",
        ),
        (
            "client_address_unknown",
            json!({ "rules": ["auth.ip_not_allowed"], "connections": 1, "messages": 1 }),
            "auth.ip_not_allowed: the client address is unknown for 1 connection carrying 1 message",
        ),
        (
            "tls_unknown",
            json!({ "rules": ["tls.required", "auth.auth_without_tls"], "connections": 3, "messages": 1_024 }),
            "tls.required, auth.auth_without_tls: the logs do not show whether TLS was used for 3 \
             connections carrying 1,024 messages",
        ),
        (
            "smarthost_helo_missing",
            json!({ "rules": ["dos.generic_helo"] }),
            "dos.generic_helo: the policy gives no smarthost.helo",
        ),
        (
            "helo_unknown",
            json!({ "rules": ["dos.generic_helo"], "connections": 2, "messages": 5 }),
            "dos.generic_helo: the HELO name is unknown for 2 connections carrying 5 messages, \
             because Postfix logs it only in reject lines",
        ),
        (
            "sender_identity_unknown",
            json!({ "rules": ["sender.unidentified", "sender.rewrite_postmaster"], "messages": 3 }),
            "sender.unidentified, sender.rewrite_postmaster: 3 messages from senders outside the \
             owned domains came without SMTP AUTH and with an unknown HELO name, so whether the \
             relay rewrites or refuses them is not known; the sender rules accept them and the per-user \
             limits do not count them",
        ),
        (
            "reuse_unmeasured",
            json!({ "rules": ["dos.no_connection_reuse"], "connections": 4 }),
            "dos.no_connection_reuse: 4 connections with messages have no known address or connect \
             time",
        ),
        (
            "no_relay_settings_for_senders",
            json!({}),
            "The policy lists no relay settings, so senders are judged as if a setting allowed any \
             address.",
        ),
        (
            "smarthost_setting_by_range",
            json!({ "setting": "hub", "egress_ip": "203.0.113.5" }),
            "Relay setting \"hub\" judges the senders because its allowed IP ranges contain the \
             smarthost egress address 203.0.113.5.",
        ),
        (
            "smarthost_setting_by_auth",
            json!({ "setting": "apps", "auth_user": "relay@example.com" }),
            "Relay setting \"apps\" judges the senders because it requires SMTP AUTH and the \
             smarthost authenticates as relay@example.com.",
        ),
        (
            "smarthost_setting_open",
            json!({ "setting": "open" }),
            "Relay setting \"open\" judges the senders because it lists no IP ranges and does not \
             require SMTP AUTH.",
        ),
        (
            "smarthost_setting_address_unknown",
            json!({ "setting": "hub" }),
            "Relay setting \"hub\" judges the senders because the policy gives no smarthost egress \
             address, so its IP ranges are taken to allow the smart host.",
        ),
        (
            "per_user_limits_without_users",
            json!({}),
            "The policy names no users file, so the per-user limits apply to every non-null \
             envelope sender that is not rewritten.",
        ),
        (
            "transaction_split_uncapped",
            json!({ "source_format": "domino" }),
            "Messages from domino logs go to the relay in one transaction each, because the policy \
             sets no recipients_per_transaction for domino and the MTA has no known cap.",
        ),
        (
            "transaction_split_default",
            json!({ "source_format": "postfix", "recipients": 50 }),
            "Messages from postfix logs are split into transactions of 50 recipients, the MTA's \
             default, because the policy sets no recipients_per_transaction for postfix.",
        ),
        (
            "assumed_reply_code",
            json!({ "rule": "sender.no_gmail_licence", "recipients": 1, "reply_code": 550, "enhanced_code": "5.7.0" }),
            "sender.no_gmail_licence decided 1 recipient with reply 550 5.7.0, which is assumed \
             because Google documents no reply for that case.",
        ),
        (
            "throttled_not_retried",
            json!({ "recipients": 12_345 }),
            "The replay does not retry throttled recipients (12,345 recipients), and the limit \
             windows do not count them. A real MTA retries them later, and those retries could meet \
             other limits.",
        ),
        (
            "reuse_thresholds",
            json!({ "max_connections_per_minute": 60, "min_messages_per_connection": 1.5, "set_by_policy": false }),
            "dos.no_connection_reuse warns when one address opens more than 60 new connections in a \
             UTC minute at fewer than 1.5 messages per connection. Google publishes no such \
             thresholds; these are relayaudit's defaults.",
        ),
        (
            "setting_order_dependent",
            json!({ "settings": ["hub", "apps", "printers"], "connections": 2, "messages": 3, "recipients": 1_001 }),
            "2 connections match more than one of the relay settings \"hub\", \"apps\" and \
             \"printers\", which differ in allowed senders or TLS. Google does not document the \
             order in which it tries settings; relayaudit takes the first in the policy file, so \
             the verdicts of 3 messages (1,001 recipients) depend on that order.",
        ),
        (
            "policy_per_user_limit",
            json!({ "key": "user_messages_per_day", "value": 2_000, "account": "trial" }),
            "limits.user_messages_per_day = 2,000 is set by the policy file, because Google does not \
             publish the per-user relay limits of trial accounts.",
        ),
        (
            "policy_limit_differs",
            json!({ "key": "org_recipients_per_10min", "value": 1_000, "documented": 319_444 }),
            "limits.org_recipients_per_10min = 1,000 is set by the policy file in place of Google's \
             documented 319,444.",
        ),
        (
            "policy_transaction_split",
            json!({ "source_format": "postfix", "value": 0, "default": 50 }),
            "sources.postfix.recipients_per_transaction = 0 (no cap) is set by the policy file in \
             place of the postfix default of 50.",
        ),
        (
            "tls_port_undocumented",
            json!({ "port": 465, "tls_port": 587 }),
            "the policy says TLS on port 465, but Google documents TLS (STARTTLS) on port 587 only; \
             the replay still takes the connection as TLS",
        ),
        (
            "port_conflict",
            json!({
                "hosts": ["smtp-relay.gmail.com"],
                "port": 587,
                "other_ports": [{ "port": 25, "attempts": 12 }, { "port": 465, "attempts": 1 }],
            }),
            "the policy says port 587, but the logs show 12 delivery attempts to port 25 and 1 \
             delivery attempt to port 465 of smtp-relay.gmail.com",
        ),
        (
            "tls_conflict",
            json!({ "hosts": ["smtp-relay.gmail.com"], "attempts": 3, "policy_tls": true, "evidence": "starttls_demanded" }),
            "the policy says TLS, but smtp-relay.gmail.com answered 3 delivery attempts with \"Must \
             issue a STARTTLS command first\", so the MTA sent in plain text",
        ),
        (
            "tls_unverified",
            json!({ "hosts": ["smtp-relay.gmail.com", "192.0.2.25"] }),
            "the logs show no TLS handshake of the SMTP client at all, so TLS to \
             smtp-relay.gmail.com, 192.0.2.25 cannot be checked; Postfix logs it with \
             smtp_tls_loglevel = 1 or more",
        ),
        (
            "auth_conflict",
            json!({ "hosts": ["smtp-relay.gmail.com"], "attempts": 1 }),
            "the policy gives no auth_user, but the logs show the MTA trying SMTP AUTH with \
             smtp-relay.gmail.com (1 delivery attempt failed)",
        ),
        (
            "auth_failed",
            json!({ "hosts": ["smtp-relay.gmail.com"], "attempts": 2, "auth_user": "relay@example.com" }),
            "smtp-relay.gmail.com refused SMTP AUTH for 2 delivery attempts; the replay still takes \
             the smarthost as authenticated as relay@example.com",
        ),
        (
            "relay_denied",
            json!({ "hosts": ["smtp-relay.gmail.com"], "attempts": 1 }),
            "smtp-relay.gmail.com already answered 1 delivery attempt with \"Mail relay denied\" or \
             \"Invalid credentials for relay\"; check the allowed IP ranges and smarthost.egress_ip",
        ),
        (
            "private_address_without_nat",
            json!({
                "addresses": ["10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5"],
                "clients": 7,
                "messages": 1_500,
            }),
            "private client addresses that no [[nat]] entry translates: 10.0.0.1, 10.0.0.2, \
             10.0.0.3, 10.0.0.4, 10.0.0.5, and 2 more (7 clients, 1,500 relay-bound messages); the \
             relay never sees such an address, so add [[nat]] entries for them",
        ),
    ]
}

/// Parameters that choose a wording rather than appear in it.
const WORDING_KEYS: [&str; 8] = [
    "sender_kind",
    "identified_by",
    "form",
    "evidence",
    "policy_tls",
    "auth_attempted",
    "set_by_policy",
    "account",
];

/// Returns the texts that a note with `params` must show: every string,
/// every count with thousands separators, every list item. Window lengths
/// and minutes are shown in the report's own form.
fn expected_texts(lang: Lang, params: &Value) -> Vec<String> {
    let mut expected = Vec::new();
    for (key, value) in params.as_object().expect("params are an object") {
        if WORDING_KEYS.contains(&key.as_str()) {
            continue;
        }
        match (key.as_str(), value) {
            ("window_seconds", value) => expected.push(window(lang, value.as_u64().unwrap())),
            ("minute", Value::String(minute)) => expected.push(minute[..16].replace('T', " ")),
            // The smart host is named in words rather than by its stream key.
            ("stream", Value::String(stream)) if stream == "smarthost" => {}
            (_, value) => collect_values(value, &mut expected),
        }
    }
    expected
}

fn collect_values(value: &Value, expected: &mut Vec<String>) {
    match value {
        Value::String(text) if !text.is_empty() => expected.push(text.clone()),
        Value::Number(number) => match number.as_u64() {
            Some(count) => expected.push(thousands(count)),
            None => expected.push(number.as_f64().unwrap().to_string()),
        },
        Value::Array(items) => items.iter().for_each(|item| collect_values(item, expected)),
        Value::Object(fields) => fields.values().for_each(|field| collect_values(field, expected)),
        _ => {}
    }
}

fn is_japanese(c: char) -> bool {
    matches!(c, '\u{3040}'..='\u{30ff}' | '\u{4e00}'..='\u{9fff}')
}

#[test]
fn every_emitted_code_has_words() {
    let samples = samples();
    for code in crate::note::emitted_codes() {
        assert!(entry(code).is_some(), "{code} has no words");
        assert!(
            samples.iter().any(|(sample, _, _)| *sample == code),
            "{code} has no sample in this test"
        );
    }
}

#[test]
fn english_matches_replay_sentences() {
    for (code, params, english) in samples() {
        let rendered = render(Lang::En, code, &params, "(replay text)");
        assert!(rendered.translated, "{code} fell back");
        assert_eq!(rendered.text, english, "{code}");
    }
}

#[test]
fn japanese_names_every_parameter() {
    for (code, params, english) in samples() {
        let rendered = render(Lang::Ja, code, &params, english);
        assert!(rendered.translated, "{code} fell back");
        assert!(
            rendered.text.chars().any(is_japanese),
            "{code}: {}",
            rendered.text
        );
        assert_ne!(rendered.text, english, "{code}");
        for value in expected_texts(Lang::Ja, &params) {
            assert!(
                rendered.text.contains(&value),
                "{code}: {value:?} missing from {}",
                rendered.text
            );
        }
    }
}

#[test]
fn japanese_variants() {
    let cases = [
        (
            "sender_domain_not_owned",
            json!({ "sender": "", "sender_kind": "null" }),
            "空のエンベロープ送信者 <> にはドメインがないため、どの所有ドメインにも属しません。",
        ),
        (
            "rewrite_postmaster",
            json!({
                "sender": "a@other.org",
                "sender_kind": "address",
                "to": "postmaster@example.org",
                "domain": "example.org",
                "identified_by": "helo",
                "identity": "mx1.example.org",
            }),
            "a@other.org は所有ドメイン外のアドレスです。HELO 名 mx1.example.org で example.org が識別されるため、リレーはエンベロープ送信者を postmaster@example.org に書き換えます。",
        ),
        (
            "tls_unknown",
            json!({ "rules": ["tls.required"], "messages": 1_024 }),
            "tls.required: メッセージ 1,024 通で TLS を使ったかどうかが、ログからはわかりません。",
        ),
        (
            "connection_reuse_low",
            json!({
                "stream": "smarthost",
                "minute": "2024-03-04T09:00:00Z",
                "connections": 5,
                "messages": 5,
                "max_connections": 4,
                "min_messages": 2.0,
            }),
            "スマートホストは 2024-03-04 09:00 (UTC) からの 1 分間に新しい接続を 5 回開いてメッセージ 5 通を送り、1 接続あたりのメッセージ数は 1.00 でした。しきい値は、新しい接続が 4 回を超え、かつ 1 接続あたりのメッセージ数が 2 未満の場合です。",
        ),
        (
            "generic_helo",
            json!({ "helo": "localhost", "form": "localhost" }),
            "HELO 名「localhost」は localhost を表す名前です。",
        ),
        (
            "generic_helo",
            json!({ "helo": "mailhost", "form": "no_dot" }),
            "HELO 名「mailhost」はドットを含まない名前です。",
        ),
        (
            "policy_per_user_limit",
            json!({ "key": "user_messages_per_day", "value": 500, "account": "unpaid" }),
            "limits.user_messages_per_day = 500 はポリシー ファイルで設定した値です。Google は未払い残高のあるアカウントのユーザーごとのリレー上限を公開していません。",
        ),
    ];
    for (code, params, expected) in cases {
        assert_eq!(render(Lang::Ja, code, &params, "").text, expected, "{code}");
    }
}

#[test]
fn unknown_code_keeps_english() {
    let rendered = render(
        Lang::Ja,
        "future_note",
        &json!({}),
        "A sentence from a later version.",
    );
    assert_eq!(
        rendered,
        Rendered {
            text: "A sentence from a later version.".to_string(),
            translated: false,
        }
    );
}

#[test]
fn missing_parameter_keeps_english() {
    let rendered = render(
        Lang::Ja,
        "no_gmail_licence",
        &json!({ "address": "frank@example.com" }),
        "frank@example.com is a registered user without a Gmail licence",
    );
    assert!(!rendered.translated);
    assert_eq!(
        rendered.text,
        "frank@example.com is a registered user without a Gmail licence"
    );
}

#[test]
fn summary_json_forms() {
    let note = json!({
        "code": "throttled_not_retried",
        "params": { "recipients": 2 },
        "text": "The replay does not retry throttled recipients (2 recipients), ...",
    });
    let rendered = render_json(Lang::Ja, &note);
    assert!(rendered.translated);
    assert!(rendered.text.contains("(2 件)"), "{}", rendered.text);

    // Versions before note codes wrote plain English strings.
    let old = render_json(Lang::Ja, &json!("An English sentence."));
    assert_eq!(old.text, "An English sentence.");
    assert!(!old.translated);
}
