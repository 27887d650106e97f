//! End-to-end tests of `replay` on small hand-built policies and messages.

use std::collections::BTreeMap;
use std::net::IpAddr;

use crate::policy::{
    Account, AllowedSenders, Dos, Limits, Organisation, Policy, RelaySetting, Routing, Smarthost,
    SourceSettings, Users,
};
use crate::replay::model::{CodeSource, LogLine, Outcome, Provenance, RelayMessage, ReplayOutput, Verdict};
use crate::replay::replay;

const SECOND_US: i64 = 1_000_000;
const MINUTE_US: i64 = 60 * SECOND_US;
const HOUR_US: i64 = 60 * MINUTE_US;
const DAY_US: i64 = 24 * HOUR_US;
/// 2024-03-09 12:00:00 UTC.
const T0: i64 = 1_709_985_600 * SECOND_US;

fn limits() -> Limits {
    Limits {
        user_messages_per_day: 10_000,
        user_recipients_per_day: 10_000,
        org_recipients_per_day: 1_000_000,
        org_recipients_per_10min: 100_000,
        recipients_per_transaction: 100,
        max_message_bytes: 26_214_400,
        day_window_seconds: 86_400,
        short_window_seconds: 600,
        explicit: Vec::new(),
    }
}

fn relay_setting(name: &str, allowed: AllowedSenders, ips: &[&str], auth: bool) -> RelaySetting {
    RelaySetting {
        name: name.to_string(),
        allowed_senders: allowed,
        allowed_ips: ips.iter().map(|net| net.parse().expect("test CIDR")).collect(),
        require_smtp_auth: auth,
        require_tls: true,
    }
}

/// Policy with owned domains example.com (primary) and example.org, a users
/// file, and one relay setting that allows the smarthost's address.
fn policy(allowed: AllowedSenders) -> Policy {
    let by_address = [
        ("user1@example.com", true),
        ("user2@example.com", true),
        ("nolicence@example.com", false),
    ]
    .into_iter()
    .map(|(address, licence)| (address.to_string(), licence))
    .collect();

    Policy {
        path: None,
        organisation: Organisation {
            domains: vec!["example.com".to_string(), "example.org".to_string()],
            subdomains: false,
            users: Some(Users {
                path: "users.csv".into(),
                by_address,
            }),
            account: Account::Paid,
            comprehensive_storage: false,
        },
        relays: vec![relay_setting("office", allowed, &["192.0.2.0/24"], false)],
        smarthost: Smarthost {
            egress_ip: Some("192.0.2.10".parse().expect("test address")),
            helo: "mail.example.com".to_string(),
            tls: true,
            auth_user: String::new(),
            port: 587,
            evidence_hosts: vec!["smtp-relay.gmail.com".to_string()],
        },
        limits: limits(),
        routing: Routing {
            route_internal: false,
            local_domains: Vec::new(),
        },
        sources: BTreeMap::new(),
        nat: Vec::new(),
        dos: Dos::defaults(),
    }
}

/// Policy like the built-in default: no owned domains, no users file and no
/// relay settings.
fn default_like_policy() -> Policy {
    let mut policy = policy(AllowedSenders::Any);
    policy.organisation.domains.clear();
    policy.organisation.users = None;
    policy.relays.clear();
    policy
}

fn with_split(mut policy: Policy, source_format: &str, split: u64) -> Policy {
    policy.sources.insert(
        source_format.to_string(),
        SourceSettings {
            recipients_per_transaction: split,
        },
    );
    policy
}

fn message(key: &str, at_us: i64, from: &str, recipients: Vec<String>) -> RelayMessage {
    RelayMessage {
        message_key: key.to_string(),
        source_format: "postfix".to_string(),
        at_us,
        envelope_from: from.to_string(),
        size_bytes: Some(2048),
        recipients,
        auth_user: String::new(),
        helo: "mail.example.com".to_string(),
        connection: 0,
        provenance: Provenance {
            source_file: "maillog".to_string(),
            first_line: 1,
            last_line: 4,
        },
        recipient_lines: Vec::new(),
        first_attempt: LogLine::default(),
    }
}

fn addresses(list: &[&str]) -> Vec<String> {
    list.iter().map(|address| address.to_string()).collect()
}

fn numbered(prefix: &str, count: usize) -> Vec<String> {
    (0..count)
        .map(|index| format!("{prefix}{index:05}@example.net"))
        .collect()
}

fn rows<'a>(output: &'a ReplayOutput, key: &str) -> Vec<&'a Verdict> {
    output
        .verdicts
        .iter()
        .filter(|verdict| verdict.message_key == key)
        .collect()
}

fn only_row<'a>(output: &'a ReplayOutput, key: &str) -> &'a Verdict {
    let found = rows(output, key);
    assert_eq!(found.len(), 1, "rows of {key}");
    found[0]
}

fn assert_all(output: &ReplayOutput, key: &str, rule: &str, outcome: Outcome) {
    let found = rows(output, key);
    assert!(!found.is_empty(), "no rows for {key}");
    for verdict in found {
        assert_eq!(verdict.rule, rule, "rule of {key} to {}", verdict.recipient);
        assert_eq!(
            verdict.outcome, outcome,
            "outcome of {key} to {}",
            verdict.recipient
        );
    }
}

fn has_assumption(output: &ReplayOutput, start: &str) -> bool {
    output
        .stats
        .assumptions
        .iter()
        .any(|note| note.text.starts_with(start))
}

// Recipients per transaction.

#[test]
fn transaction_of_100_accepted() {
    let policy = with_split(policy(AllowedSenders::Registered), "postfix", 200);
    let messages = vec![message("m1", T0, "user1@example.com", numbered("r", 100))];

    let output = replay(messages, &policy);

    assert_eq!(output.verdicts.len(), 100);
    assert_all(&output, "m1", "", Outcome::Accepted);
    assert!(output.verdicts.iter().all(|verdict| verdict.transaction == 0));
}

#[test]
fn transaction_of_101_throttles_last() {
    let policy = with_split(policy(AllowedSenders::Registered), "postfix", 200);
    let messages = vec![message("m1", T0, "user1@example.com", numbered("r", 101))];

    let output = replay(messages, &policy);

    assert_eq!(output.verdicts.len(), 101);
    assert!(output.verdicts[..100]
        .iter()
        .all(|verdict| verdict.outcome == Outcome::Accepted));
    let last = &output.verdicts[100];
    assert_eq!(last.transaction, 0);
    assert_eq!(last.rule, "limit.transaction_recipients");
    assert_eq!(last.outcome, Outcome::Throttled);
    assert_eq!(last.reply_code, 452);
    assert_eq!(last.enhanced_code, "4.5.3");
    assert_eq!(last.code_source, CodeSource::Documented);
    assert_eq!(last.counter_value, Some(101));
    assert_eq!(last.counter_limit, Some(100));
    assert_eq!(
        last.detail,
        "recipient 101 of this transaction; limit 100 per transaction"
    );
    assert_eq!(last.detail_code, "transaction_recipient_over_limit");
    assert_eq!(last.detail_params, r#"{"limit":100,"position":101}"#);
    let accepted = &output.verdicts[0];
    assert_eq!(
        (accepted.detail_code, accepted.detail_params.as_str()),
        ("", "{}")
    );
}

#[test]
fn transaction_of_200_throttles_second_hundred() {
    let policy = with_split(policy(AllowedSenders::Registered), "postfix", 200);
    let messages = vec![message("m1", T0, "user1@example.com", numbered("r", 250))];

    let output = replay(messages, &policy);

    let throttled: Vec<(u32, usize)> = output
        .verdicts
        .iter()
        .enumerate()
        .filter(|(_, verdict)| verdict.outcome == Outcome::Throttled)
        .map(|(index, verdict)| (verdict.transaction, index))
        .collect();
    assert_eq!(throttled.len(), 100);
    assert_eq!(throttled.first(), Some(&(0, 100)));
    assert_eq!(throttled.last(), Some(&(0, 199)));
    assert!(output.verdicts[200..]
        .iter()
        .all(|verdict| verdict.transaction == 1 && verdict.outcome == Outcome::Accepted));
}

#[test]
fn user_messages_count_transactions() {
    let mut policy = policy(AllowedSenders::Registered);
    policy.limits.user_messages_per_day = 2;
    // Postfix splits 120 recipients into transactions of 50, 50 and 20:
    // three messages to the relay.
    let messages = vec![
        message("m1", T0, "user1@example.com", numbered("r", 120)),
        message("m2", T0 + 1, "user1@example.com", numbered("s", 1)),
    ];

    let output = replay(messages, &policy);

    let by_transaction = |key: &str, transaction: u32| -> Vec<&str> {
        let mut rules: Vec<&str> = rows(&output, key)
            .into_iter()
            .filter(|verdict| verdict.transaction == transaction)
            .map(|verdict| verdict.rule.as_str())
            .collect();
        rules.dedup();
        rules
    };
    assert_eq!(by_transaction("m1", 0), [""]);
    assert_eq!(by_transaction("m1", 1), [""]);
    assert_eq!(by_transaction("m1", 2), ["limit.user_messages"]);
    assert_eq!(by_transaction("m2", 0), ["limit.user_messages"]);
    let refused = only_row(&output, "m2");
    assert_eq!((refused.counter_value, refused.counter_limit), (Some(3), Some(2)));
}

#[test]
fn default_postfix_split_never_throttles() {
    let policy = policy(AllowedSenders::Registered);
    let messages = vec![message("m1", T0, "user1@example.com", numbered("r", 101))];

    let output = replay(messages, &policy);

    assert_all(&output, "m1", "", Outcome::Accepted);
    let transactions: Vec<u32> = output
        .verdicts
        .iter()
        .map(|verdict| verdict.transaction)
        .collect();
    assert_eq!(transactions[0], 0);
    assert_eq!(transactions[49], 0);
    assert_eq!(transactions[50], 1);
    assert_eq!(transactions[99], 1);
    assert_eq!(transactions[100], 2);
    assert!(has_assumption(
        &output,
        "Messages from postfix logs are split into transactions of 50 recipients"
    ));
    let peak = output.stats.peaks.transaction_recipients.as_ref();
    assert_eq!(peak.map(|peak| peak.value), Some(50));
}

// Per-user messages.

#[test]
fn user_messages_boundary_and_slide() {
    let policy = policy(AllowedSenders::Registered);
    let mut messages: Vec<RelayMessage> = (0..10_001)
        .map(|index| {
            message(
                &format!("m{index:05}"),
                T0 + index * SECOND_US,
                "user1@example.com",
                addresses(&["dest@example.net"]),
            )
        })
        .collect();
    messages.push(message(
        "still-inside",
        T0 + DAY_US - 1,
        "user1@example.com",
        addresses(&["dest@example.net"]),
    ));
    messages.push(message(
        "first-left",
        T0 + DAY_US,
        "User1@Example.com",
        addresses(&["dest@example.net"]),
    ));

    let output = replay(messages, &policy);

    assert_eq!(only_row(&output, "m00000").outcome, Outcome::Accepted);
    assert_eq!(only_row(&output, "m09999").outcome, Outcome::Accepted);

    let rejected = only_row(&output, "m10000");
    assert_eq!(rejected.rule, "limit.user_messages");
    assert_eq!(rejected.outcome, Outcome::Rejected);
    assert_eq!(rejected.reply_code, 550);
    assert_eq!(rejected.enhanced_code, "5.4.5");
    assert_eq!(rejected.counter_value, Some(10_001));
    assert_eq!(rejected.counter_limit, Some(10_000));
    assert_eq!(
        rejected.detail,
        "user1@example.com would reach 10,001 messages in 24 h; limit 10,000"
    );

    assert_eq!(only_row(&output, "still-inside").rule, "limit.user_messages");
    // The first message, exactly 24 h earlier, is outside the window.
    assert_eq!(only_row(&output, "first-left").outcome, Outcome::Accepted);

    let peak = output.stats.peaks.user_messages.as_ref().expect("peak");
    assert_eq!(peak.value, 10_000);
    assert_eq!(peak.message_key, "m09999");
}

// Per-user unique recipients.

#[test]
fn user_unique_recipients_boundary() {
    let policy = policy(AllowedSenders::Registered);
    let messages = vec![
        message("m1", T0, "user1@example.com", numbered("r", 10_001)),
        message(
            "repeat",
            T0 + SECOND_US,
            "user1@example.com",
            addresses(&["R00000@Example.NET"]),
        ),
        message(
            "new",
            T0 + 2 * SECOND_US,
            "user1@example.com",
            addresses(&["fresh@example.net"]),
        ),
        message(
            "other-user",
            T0 + 3 * SECOND_US,
            "user2@example.com",
            addresses(&["fresh@example.net"]),
        ),
    ];

    let output = replay(messages, &policy);

    let first = rows(&output, "m1");
    assert_eq!(first.len(), 10_001);
    assert_eq!(first[9_999].outcome, Outcome::Accepted);
    let over = first[10_000];
    assert_eq!(over.rule, "limit.user_recipients");
    assert_eq!(over.outcome, Outcome::Rejected);
    assert_eq!(over.reply_code, 550);
    assert_eq!(over.enhanced_code, "5.4.5");
    assert_eq!(over.counter_value, Some(10_001));
    assert_eq!(over.counter_limit, Some(10_000));
    assert_eq!(
        over.detail,
        "user1@example.com would reach 10,001 unique recipients in 24 h; limit 10,000"
    );

    assert_eq!(only_row(&output, "repeat").outcome, Outcome::Accepted);
    assert_eq!(only_row(&output, "new").rule, "limit.user_recipients");
    assert_eq!(only_row(&output, "new").counter_value, Some(10_001));
    assert_eq!(only_row(&output, "other-user").outcome, Outcome::Accepted);

    let peak = output.stats.peaks.user_unique_recipients.as_ref();
    assert_eq!(peak.map(|peak| peak.value), Some(10_000));
}

// Message size.

#[test]
fn message_size_boundary() {
    let policy = policy(AllowedSenders::Registered);
    let mut at_limit = message("at-limit", T0, "user1@example.com", numbered("a", 1));
    at_limit.size_bytes = Some(26_214_400);
    let mut over = message("over", T0 + SECOND_US, "user1@example.com", numbered("b", 3));
    over.size_bytes = Some(26_214_401);
    let mut unknown = message(
        "unknown",
        T0 + 2 * SECOND_US,
        "user1@example.com",
        numbered("c", 1),
    );
    unknown.size_bytes = None;

    let output = replay(vec![at_limit, over, unknown], &policy);

    assert_eq!(only_row(&output, "at-limit").outcome, Outcome::Accepted);
    assert_eq!(only_row(&output, "unknown").outcome, Outcome::Accepted);
    assert_all(&output, "over", "limit.message_size", Outcome::Rejected);
    let rejected = rows(&output, "over")[0];
    assert_eq!(rejected.reply_code, 552);
    assert_eq!(rejected.enhanced_code, "5.3.4");
    assert_eq!(rejected.counter_value, Some(26_214_401));
    assert_eq!(rejected.counter_limit, Some(26_214_400));
    assert_eq!(
        rejected.detail,
        "message of 26,214,401 bytes is larger than the limit of 26,214,400 bytes"
    );

    let peak = output.stats.peaks.message_bytes.as_ref().expect("peak");
    assert_eq!(peak.value, 26_214_401);
    assert_eq!(peak.message_key, "over");
}

// Organisation windows.

#[test]
fn org_day_limit_and_slide() {
    let mut policy = policy(AllowedSenders::Registered);
    policy.limits.org_recipients_per_day = 3;
    let messages = vec![
        message("m1", T0, "user1@example.com", numbered("a", 1)),
        message("m2", T0 + HOUR_US, "user2@example.com", numbered("b", 2)),
        message("m3", T0 + 2 * HOUR_US, "user1@example.com", numbered("c", 1)),
        message("m4", T0 + DAY_US - 1, "user2@example.com", numbered("d", 1)),
        message("m5", T0 + DAY_US, "user2@example.com", numbered("e", 1)),
    ];

    let output = replay(messages, &policy);

    assert_all(&output, "m2", "", Outcome::Accepted);
    let over = only_row(&output, "m3");
    assert_eq!(over.rule, "limit.org_recipients_day");
    assert_eq!(over.outcome, Outcome::Rejected);
    assert_eq!(over.reply_code, 550);
    assert_eq!(over.enhanced_code, "5.7.1");
    assert_eq!(over.counter_value, Some(4));
    assert_eq!(over.counter_limit, Some(3));
    assert_eq!(
        over.detail,
        "the organisation would reach 4 recipients in 24 h; limit 3"
    );
    assert_eq!(only_row(&output, "m4").rule, "limit.org_recipients_day");
    assert_eq!(only_row(&output, "m5").outcome, Outcome::Accepted);

    let peak = output.stats.peaks.org_recipients_day.as_ref().expect("peak");
    assert_eq!(peak.value, 3);
    assert_eq!(peak.message_key, "m2");
}

#[test]
fn org_short_limit_throttles() {
    let mut policy = policy(AllowedSenders::Registered);
    policy.limits.org_recipients_per_10min = 3;
    let messages = vec![
        message("m1", T0, "user1@example.com", numbered("a", 4)),
        message("m2", T0 + 5 * MINUTE_US, "user2@example.com", numbered("b", 1)),
        message("m3", T0 + 10 * MINUTE_US, "user2@example.com", numbered("c", 1)),
    ];

    let output = replay(messages, &policy);

    let first = rows(&output, "m1");
    assert!(first[..3]
        .iter()
        .all(|verdict| verdict.outcome == Outcome::Accepted));
    let over = first[3];
    assert_eq!(over.rule, "limit.org_recipients_10min");
    assert_eq!(over.outcome, Outcome::Throttled);
    assert_eq!(over.reply_code, 450);
    assert_eq!(over.enhanced_code, "4.2.1");
    assert_eq!(over.counter_value, Some(4));
    assert_eq!(over.counter_limit, Some(3));
    assert_eq!(
        over.detail,
        "the organisation would reach 4 recipients in 10 min; limit 3"
    );

    // The throttled recipient was not counted, so the value is 4 again.
    let second = only_row(&output, "m2");
    assert_eq!(second.rule, "limit.org_recipients_10min");
    assert_eq!(second.counter_value, Some(4));
    assert_eq!(only_row(&output, "m3").outcome, Outcome::Accepted);
    assert!(has_assumption(
        &output,
        "The replay does not retry throttled recipients (2 recipients)"
    ));
}

#[test]
fn day_window_across_midnight() {
    let mut policy = policy(AllowedSenders::Registered);
    policy.limits.user_messages_per_day = 2;
    // 2024-03-10 00:00:00 UTC.
    let midnight = 1_710_028_800 * SECOND_US;
    let messages = vec![
        message("noon", T0, "user1@example.com", numbered("a", 1)),
        message(
            "late",
            midnight - MINUTE_US,
            "user1@example.com",
            numbered("b", 1),
        ),
        message(
            "early",
            midnight + MINUTE_US,
            "user1@example.com",
            numbered("c", 1),
        ),
        message("next-noon", T0 + DAY_US, "user1@example.com", numbered("d", 1)),
    ];

    let output = replay(messages, &policy);

    assert_eq!(only_row(&output, "late").outcome, Outcome::Accepted);
    let early = only_row(&output, "early");
    assert_eq!(early.rule, "limit.user_messages");
    assert_eq!(early.counter_value, Some(3));
    assert_eq!(only_row(&output, "next-noon").outcome, Outcome::Accepted);
}

#[test]
fn short_window_across_year_change() {
    let mut policy = policy(AllowedSenders::Registered);
    policy.limits.org_recipients_per_10min = 1;
    // 2024-12-31 23:55:00 UTC and 2025-01-01 00:05:00 UTC.
    let new_year_eve = 1_735_689_300 * SECOND_US;
    let new_year = 1_735_689_900 * SECOND_US;
    let messages = vec![
        message("eve", new_year_eve, "user1@example.com", numbered("a", 1)),
        message("inside", new_year - 1, "user1@example.com", numbered("b", 1)),
        message("outside", new_year, "user1@example.com", numbered("c", 1)),
    ];

    let output = replay(messages, &policy);

    assert_eq!(only_row(&output, "eve").outcome, Outcome::Accepted);
    assert_eq!(only_row(&output, "inside").rule, "limit.org_recipients_10min");
    assert_eq!(only_row(&output, "outside").outcome, Outcome::Accepted);
}

// Sender rules.

#[test]
fn registered_setting_rejects_unknown_sender() {
    let policy = policy(AllowedSenders::Registered);
    let messages = vec![
        message("user", T0, "User1@Example.com", numbered("a", 1)),
        message("stranger", T0 + 1, "stranger@example.com", numbered("b", 2)),
        message("null", T0 + 2, "", numbered("c", 1)),
    ];

    let output = replay(messages, &policy);

    assert_eq!(only_row(&output, "user").outcome, Outcome::Accepted);
    assert_all(
        &output,
        "stranger",
        "sender.not_registered_user",
        Outcome::Rejected,
    );
    let stranger = rows(&output, "stranger")[0];
    assert_eq!(stranger.reply_code, 550);
    assert_eq!(stranger.enhanced_code, "5.7.0");
    assert_eq!(stranger.code_source, CodeSource::Documented);
    assert_eq!(stranger.detail, "stranger@example.com is not a registered user");
    assert_eq!(stranger.counter_value, None);

    let null = only_row(&output, "null");
    assert_eq!(null.rule, "sender.not_registered_user");
    assert!(null.detail.contains("null envelope sender"), "{}", null.detail);
}

#[test]
fn unlicensed_user_rejected_in_every_setting() {
    for allowed in [
        AllowedSenders::Registered,
        AllowedSenders::Domain,
        AllowedSenders::Any,
    ] {
        let policy = policy(allowed);
        let messages = vec![message("m1", T0, "nolicence@example.com", numbered("a", 1))];

        let output = replay(messages, &policy);

        let verdict = only_row(&output, "m1");
        assert_eq!(verdict.rule, "sender.no_gmail_licence", "{allowed:?}");
        assert_eq!(verdict.outcome, Outcome::Rejected, "{allowed:?}");
        assert_eq!(verdict.reply_code, 550, "{allowed:?}");
        assert_eq!(verdict.enhanced_code, "5.7.0", "{allowed:?}");
        assert_eq!(verdict.code_source, CodeSource::Assumed, "{allowed:?}");
        assert!(
            has_assumption(&output, "sender.no_gmail_licence decided 1 recipient "),
            "{allowed:?}"
        );
    }
}

#[test]
fn domain_setting_rejects_foreign_domain() {
    let policy = policy(AllowedSenders::Domain);
    let messages = vec![
        message("foreign", T0, "a@other.org", numbered("a", 1)),
        message("bare", T0 + 1, "root", numbered("b", 1)),
        message("null", T0 + 2, "", numbered("c", 1)),
        message("owned", T0 + 3, "anyone@example.org", numbered("d", 1)),
        message("subdomain", T0 + 4, "a@sub.example.com", numbered("e", 1)),
    ];

    let output = replay(messages, &policy);

    let foreign = only_row(&output, "foreign");
    assert_eq!(foreign.rule, "sender.domain_not_owned");
    assert_eq!(foreign.outcome, Outcome::Rejected);
    assert_eq!(foreign.reply_code, 550);
    assert_eq!(foreign.enhanced_code, "5.7.1");
    assert_eq!(foreign.detail, "sender domain other.org is not an owned domain");

    let bare = only_row(&output, "bare");
    assert_eq!(bare.rule, "sender.domain_not_owned");
    assert!(bare.detail.contains("bare local part root"), "{}", bare.detail);
    let null = only_row(&output, "null");
    assert_eq!(null.rule, "sender.domain_not_owned");
    assert!(null.detail.contains("null envelope sender"), "{}", null.detail);

    assert_eq!(only_row(&output, "owned").outcome, Outcome::Accepted);
    assert_eq!(only_row(&output, "subdomain").rule, "sender.domain_not_owned");
}

#[test]
fn domain_setting_accepts_subdomain_when_owned() {
    let mut policy = policy(AllowedSenders::Domain);
    policy.organisation.subdomains = true;
    let messages = vec![message("m1", T0, "a@sub.example.com", numbered("a", 1))];

    let output = replay(messages, &policy);

    assert_eq!(only_row(&output, "m1").outcome, Outcome::Accepted);
}

#[test]
fn any_setting_rewrites_via_auth() {
    let policy = policy(AllowedSenders::Any);
    let mut by_address = message("address", T0, "A@Other.org", numbered("a", 2));
    by_address.auth_user = "relay@example.org".to_string();
    by_address.helo = "gw.other.net".to_string();
    let mut bare = message("bare", T0 + 1, "a@other.org", numbered("b", 1));
    bare.auth_user = "relay".to_string();
    bare.helo = "gw.other.net".to_string();

    let output = replay(vec![by_address, bare], &policy);

    assert_all(
        &output,
        "address",
        "sender.rewrite_postmaster",
        Outcome::Rewritten,
    );
    let rewritten = rows(&output, "address")[0];
    assert_eq!(rewritten.reply_code, 250);
    assert_eq!(rewritten.enhanced_code, "2.0.0");
    assert_eq!(rewritten.code_source, CodeSource::Documented);
    assert_eq!(rewritten.rewritten_from, "A@Other.org");
    assert_eq!(rewritten.rewritten_to, "postmaster@example.org");
    assert!(
        rewritten.detail.contains("SMTP AUTH as relay@example.org"),
        "{}",
        rewritten.detail
    );
    assert_eq!(rewritten.detail_code, "rewrite_postmaster");
    assert_eq!(
        rewritten.detail_params,
        r#"{"domain":"example.org","identified_by":"smtp_auth","identity":"relay@example.org","sender":"a@other.org","sender_kind":"address","to":"postmaster@example.org"}"#
    );

    // A bare AUTH user identifies the primary domain.
    let bare = only_row(&output, "bare");
    assert_eq!(bare.outcome, Outcome::Rewritten);
    assert_eq!(bare.rewritten_to, "postmaster@example.com");
}

#[test]
fn any_setting_rewrites_via_helo() {
    let policy = policy(AllowedSenders::Any);
    let mut plain = message("plain", T0, "a@other.org", numbered("a", 1));
    plain.helo = "mx1.example.org".to_string();
    let mut foreign_auth = message("foreign-auth", T0 + 1, "a@other.org", numbered("b", 1));
    foreign_auth.auth_user = "x@other.net".to_string();
    foreign_auth.helo = "Mail.Example.com.".to_string();
    let mut null = message("null", T0 + 2, "", numbered("c", 2));
    null.helo = "example.com".to_string();

    let output = replay(vec![plain, foreign_auth, null], &policy);

    let plain = only_row(&output, "plain");
    assert_eq!(plain.outcome, Outcome::Rewritten);
    assert_eq!(plain.rewritten_to, "postmaster@example.org");
    assert!(plain.detail.contains("HELO mx1.example.org"), "{}", plain.detail);

    let foreign_auth = only_row(&output, "foreign-auth");
    assert_eq!(foreign_auth.outcome, Outcome::Rewritten);
    assert_eq!(foreign_auth.rewritten_to, "postmaster@example.com");

    // The relay refuses the second RCPT of MAIL FROM:<> before any rewrite
    // can happen, so both recipients are rejected; the rewrite stays on the
    // rows as evidence.
    assert_all(&output, "null", "sender.null_multi_rcpt", Outcome::Rejected);
    assert_eq!(rows(&output, "null")[0].rewritten_from, "");
    assert_eq!(rows(&output, "null")[0].rewritten_to, "postmaster@example.com");
}

#[test]
fn any_setting_rejects_unidentified() {
    let policy = policy(AllowedSenders::Any);
    let mut no_auth = message("no-auth", T0, "a@other.org", numbered("a", 2));
    no_auth.helo = "gw.other.net".to_string();
    let mut foreign_auth = message("foreign-auth", T0 + 1, "a@other.org", numbered("b", 1));
    foreign_auth.auth_user = "x@other.net".to_string();
    foreign_auth.helo = "notexample.com".to_string();
    let owned = message("owned", T0 + 2, "user1@example.com", numbered("c", 1));

    let output = replay(vec![no_auth, foreign_auth, owned], &policy);

    assert_all(&output, "no-auth", "sender.unidentified", Outcome::Rejected);
    let verdict = rows(&output, "no-auth")[0];
    assert_eq!(verdict.reply_code, 550);
    assert_eq!(verdict.enhanced_code, "5.7.1");
    assert_eq!(verdict.code_source, CodeSource::Documented);
    assert_eq!(
        verdict.detail,
        "a@other.org is outside the owned domains, and neither SMTP AUTH (none) nor HELO \
         (gw.other.net) identifies the organisation"
    );
    assert_eq!(verdict.rewritten_to, "");

    assert_eq!(only_row(&output, "foreign-auth").rule, "sender.unidentified");

    let owned = only_row(&output, "owned");
    assert_eq!(owned.outcome, Outcome::Accepted);
    assert_eq!(owned.rewritten_to, "");
}

#[test]
fn rewritten_then_throttled_keeps_rewrite() {
    let mut policy = policy(AllowedSenders::Any);
    policy.limits.org_recipients_per_10min = 1;
    let mut first = message("first", T0, "a@other.org", numbered("a", 1));
    first.auth_user = "relay@example.com".to_string();
    let mut second = first.clone();
    second.message_key = "second".to_string();
    second.at_us = T0 + SECOND_US;

    let output = replay(vec![first, second], &policy);

    assert_eq!(only_row(&output, "first").outcome, Outcome::Rewritten);
    let second = only_row(&output, "second");
    assert_eq!(second.rule, "limit.org_recipients_10min");
    assert_eq!(second.outcome, Outcome::Throttled);
    assert_eq!(second.rewritten_from, "a@other.org");
    assert_eq!(second.rewritten_to, "postmaster@example.com");
}

#[test]
fn rewritten_sender_skips_user_limits() {
    let mut policy = policy(AllowedSenders::Any);
    policy.limits.user_messages_per_day = 1;
    let messages: Vec<RelayMessage> = (0..3)
        .map(|index| {
            let mut message = message(
                &format!("m{index}"),
                T0 + index * SECOND_US,
                "a@other.org",
                numbered("a", 1),
            );
            message.auth_user = "relay@example.com".to_string();
            message
        })
        .collect();

    let output = replay(messages, &policy);

    assert!(output
        .verdicts
        .iter()
        .all(|verdict| verdict.outcome == Outcome::Rewritten));
    assert_eq!(output.stats.peaks.user_messages, None);
}

#[test]
fn null_sender_one_and_two_recipients() {
    let policy = default_like_policy();
    let mut qmail = message("qmail-two", T0 + 2, "", numbered("c", 2));
    qmail.source_format = "qmail".to_string();
    let messages = vec![
        message("one", T0, "", numbered("a", 1)),
        message("two", T0 + 1, "", numbered("b", 2)),
        qmail,
    ];

    let output = replay(messages, &policy);

    assert_eq!(only_row(&output, "one").outcome, Outcome::Accepted);
    assert_all(&output, "two", "sender.null_multi_rcpt", Outcome::Rejected);
    let two = rows(&output, "two")[0];
    assert_eq!(two.reply_code, 550);
    assert_eq!(two.enhanced_code, "5.5.1");
    assert_eq!(two.code_source, CodeSource::Assumed);
    assert_eq!(
        two.detail,
        "null envelope sender with 2 recipients in one transaction"
    );

    // qmail sends one recipient per transaction, so each bounce has one.
    let split: Vec<(u32, Outcome)> = rows(&output, "qmail-two")
        .iter()
        .map(|verdict| (verdict.transaction, verdict.outcome))
        .collect();
    assert_eq!(split, [(0, Outcome::Accepted), (1, Outcome::Accepted)]);
    assert!(has_assumption(
        &output,
        "sender.null_multi_rcpt decided 2 recipients"
    ));
}

// Policies that lack data.

#[test]
fn any_setting_with_unknown_helo_not_judged() {
    let mut policy = policy(AllowedSenders::Any);
    policy.organisation.users = None;
    policy.limits.user_messages_per_day = 1;
    // No HELO in the log and no SMTP AUTH: the relay might rewrite or refuse.
    let mut unknown = message("unknown-helo", T0, "a@other.org", numbered("a", 2));
    unknown.helo = String::new();
    let mut foreign_auth = message("foreign-auth", T0 + 1, "b@other.org", numbered("b", 1));
    foreign_auth.auth_user = "x@other.net".to_string();
    foreign_auth.helo = String::new();
    // The same sender again: neither a rewrite nor a refusal would count it
    // as a user, so the limit of 1 message does not apply.
    let mut again = message("unknown-again", T0 + 2, "a@other.org", numbered("c", 1));
    again.helo = String::new();

    let output = replay(vec![unknown, foreign_auth, again], &policy);

    assert_all(&output, "unknown-helo", "", Outcome::Accepted);
    assert_all(&output, "foreign-auth", "", Outcome::Accepted);
    assert_all(&output, "unknown-again", "", Outcome::Accepted);
    let notes: Vec<&str> = output
        .stats
        .not_judged
        .iter()
        .filter(|note| note.code == "sender_identity_unknown")
        .map(|note| note.text.as_str())
        .collect();
    assert_eq!(
        notes,
        [
            "sender.unidentified, sender.rewrite_postmaster: 3 messages from senders outside the \
          owned domains came without SMTP AUTH and with an unknown HELO name, so whether the \
          relay rewrites or refuses them is not known; the sender rules accept them and the per-user \
             limits do not count them"
        ]
    );
}

#[test]
fn default_policy_not_judged() {
    let mut policy = default_like_policy();
    policy.limits.user_messages_per_day = 1;
    let messages = vec![
        message("foreign", T0, "a@anywhere.net", numbered("a", 1)),
        message("bare-1", T0 + 1, "root", numbered("b", 1)),
        message("bare-2", T0 + 2, "root", numbered("c", 1)),
        message("null-1", T0 + 3, "", numbered("d", 1)),
        message("null-2", T0 + 4, "", numbered("e", 1)),
    ];

    let output = replay(messages, &policy);

    assert_eq!(only_row(&output, "foreign").outcome, Outcome::Accepted);
    assert_eq!(only_row(&output, "bare-1").outcome, Outcome::Accepted);
    // Without a users file every non-null sender is held to per-user limits.
    assert_eq!(only_row(&output, "bare-2").rule, "limit.user_messages");
    assert_eq!(only_row(&output, "null-1").outcome, Outcome::Accepted);
    assert_eq!(only_row(&output, "null-2").outcome, Outcome::Accepted);

    let stats = &output.stats;
    let not_judged: Vec<&str> = stats
        .not_judged
        .iter()
        .map(|note| note.text.split(':').next().unwrap_or(""))
        .collect();
    assert_eq!(
        not_judged,
        [
            "sender.no_gmail_licence",
            "sender.unidentified",
            "sender.rewrite_postmaster"
        ]
    );
    assert_eq!(stats.relay_setting, None);
    assert!(has_assumption(&output, "The policy lists no relay settings"));
    assert!(has_assumption(&output, "The policy names no users file"));
}

#[test]
fn registered_without_users_not_judged() {
    let mut policy = policy(AllowedSenders::Registered);
    policy.organisation.users = None;
    let messages = vec![message("m1", T0, "stranger@example.com", numbered("a", 1))];

    let output = replay(messages, &policy);

    assert_eq!(only_row(&output, "m1").outcome, Outcome::Accepted);
    let not_judged = &output.stats.not_judged;
    assert!(not_judged[0].text.starts_with("sender.not_registered_user: "));
    assert_eq!(not_judged[0].code, "registered_users_unknown");
    assert_eq!(
        not_judged[0].params,
        r#"{"rules":["sender.not_registered_user"]}"#
    );
    assert!(not_judged[1].text.starts_with("sender.no_gmail_licence: "));
    assert_eq!(output.stats.not_judged.len(), 2);
}

#[test]
fn domain_without_domains_not_judged() {
    let mut policy = policy(AllowedSenders::Domain);
    policy.organisation.domains.clear();
    let messages = vec![message("m1", T0, "a@other.org", numbered("a", 1))];

    let output = replay(messages, &policy);

    assert_eq!(only_row(&output, "m1").outcome, Outcome::Accepted);
    let texts: Vec<&str> = output
        .stats
        .not_judged
        .iter()
        .map(|note| note.text.as_str())
        .collect();
    assert_eq!(
        texts,
        ["sender.domain_not_owned: the policy lists no owned domains"]
    );
}

// Relay setting choice.

fn three_settings() -> Policy {
    let mut policy = policy(AllowedSenders::Registered);
    policy.relays = vec![
        relay_setting(
            "registered",
            AllowedSenders::Registered,
            &["198.51.100.0/24"],
            false,
        ),
        relay_setting("domain", AllowedSenders::Domain, &["192.0.2.0/24"], false),
        relay_setting("any-auth", AllowedSenders::Any, &[], true),
    ];
    policy
}

fn chosen_setting(policy: &Policy) -> Option<String> {
    replay(Vec::new(), policy).stats.relay_setting
}

#[test]
fn setting_chosen_by_egress_ip() {
    let policy = three_settings();
    assert_eq!(chosen_setting(&policy).as_deref(), Some("domain"));
}

#[test]
fn setting_chosen_by_auth() {
    let mut policy = three_settings();
    policy.smarthost.egress_ip = Some("203.0.113.5".parse::<IpAddr>().expect("address"));
    policy.smarthost.auth_user = "relay@example.com".to_string();
    assert_eq!(chosen_setting(&policy).as_deref(), Some("any-auth"));

    policy.smarthost.egress_ip = None;
    assert_eq!(chosen_setting(&policy).as_deref(), Some("any-auth"));
}

#[test]
fn no_setting_matches_rejects_everything() {
    let mut policy = three_settings();
    policy.smarthost.egress_ip = Some("203.0.113.5".parse::<IpAddr>().expect("address"));
    let messages = vec![
        message("m1", T0, "a@other.org", numbered("a", 3)),
        message("m2", T0 + 1, "user1@example.com", numbered("b", 1)),
    ];

    let output = replay(messages, &policy);

    assert_eq!(output.stats.relay_setting, None);
    assert_all(&output, "m1", "auth.ip_not_allowed", Outcome::Rejected);
    assert_all(&output, "m2", "auth.ip_not_allowed", Outcome::Rejected);
    let row = &rows(&output, "m1")[0];
    assert_eq!((row.reply_code, row.enhanced_code.as_str()), (550, "5.7.0"));
    assert_eq!(row.code_source, CodeSource::Documented);
    assert_eq!(
        row.detail,
        "203.0.113.5 is in no allowed IP range of relay settings \"registered\" and \"domain\""
    );
    assert_eq!(row.relay_setting, None);
    assert!(!has_assumption(&output, "Relay setting"));
    let refused = &output.stats.connections.refused["auth.ip_not_allowed"];
    assert_eq!(
        (refused.connections, refused.messages, refused.recipients),
        (1, 2, 4)
    );
}

// Stats and ordering.

#[test]
fn stats_count_rows_and_senders() {
    let mut policy = policy(AllowedSenders::Registered);
    policy.limits.user_messages_per_day = 1;
    let messages = vec![
        message("m1", T0, "user1@example.com", numbered("a", 2)),
        message("m2", T0 + 1, "user1@example.com", numbered("b", 3)),
        message("m3", T0 + 2, "stranger@example.com", numbered("c", 3)),
        message("m4", T0 + 3, "other@example.com", numbered("d", 1)),
    ];

    let output = replay(messages, &policy);
    let stats = &output.stats;

    assert_eq!(stats.messages_replayed, 4);
    assert_eq!(stats.recipients_replayed, 9);
    let count =
        |rule: &str, outcome: &'static str| stats.rows_by_rule.get(&(rule.to_string(), outcome)).copied();
    assert_eq!(count("", "accepted"), Some(2));
    assert_eq!(count("limit.user_messages", "rejected"), Some(3));
    assert_eq!(count("sender.not_registered_user", "rejected"), Some(4));
    assert_eq!(stats.rows_by_rule.len(), 3);

    let top: Vec<(&str, u64, &str)> = stats
        .top_senders
        .iter()
        .map(|entry| {
            (
                entry.sender.as_str(),
                entry.rejected_recipients,
                entry.dominant_rule.as_str(),
            )
        })
        .collect();
    assert_eq!(
        top,
        [
            ("stranger@example.com", 3, "sender.not_registered_user"),
            ("user1@example.com", 3, "limit.user_messages"),
            ("other@example.com", 1, "sender.not_registered_user"),
        ]
    );
    assert_eq!(stats.relay_setting.as_deref(), Some("office"));
    assert!(has_assumption(
        &output,
        "Relay setting \"office\" judges the senders"
    ));
}

#[test]
fn verdicts_in_time_order() {
    let policy = policy(AllowedSenders::Registered);
    let mut late = message("a-late", T0 + SECOND_US, "user1@example.com", numbered("a", 1));
    late.provenance.first_line = 9;
    let messages = vec![
        late,
        message("b-early", T0, "user1@example.com", numbered("b", 1)),
        message("a-early", T0, "user1@example.com", numbered("c", 1)),
    ];

    let output = replay(messages, &policy);

    let keys: Vec<&str> = output
        .verdicts
        .iter()
        .map(|verdict| verdict.message_key.as_str())
        .collect();
    assert_eq!(keys, ["a-early", "b-early", "a-late"]);
    assert_eq!(output.verdicts[2].provenance.first_line, 9);
}

/// Returns a varied workload that hits most rules under small limits.
fn mixed_workload() -> Vec<RelayMessage> {
    let senders = [
        "user1@example.com",
        "user2@example.com",
        "nolicence@example.com",
        "a@other.org",
        "",
        "root",
    ];
    (0..300_i64)
        .map(|index| {
            let sender = senders[(index % 6) as usize];
            let recipient_count = (index % 4 + 1) as usize;
            let recipients = (0..recipient_count)
                .map(|offset| format!("r{}@example.net", (index * 7 + offset as i64) % 40))
                .collect();
            // Three messages share each timestamp.
            let mut message = message(
                &format!("m{index:03}"),
                T0 + (index / 3) * 30 * SECOND_US,
                sender,
                recipients,
            );
            if index % 5 == 0 {
                message.auth_user = "relay@example.com".to_string();
            }
            if index % 11 == 0 {
                message.size_bytes = Some(30_000_000);
            }
            message
        })
        .collect()
}

/// Shuffles `items` with a fixed-seed xorshift generator.
fn shuffle<T>(items: &mut [T], mut seed: u64) {
    for index in (1..items.len()).rev() {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let other = (seed % (index as u64 + 1)) as usize;
        items.swap(index, other);
    }
}

#[test]
fn shuffled_input_same_output() {
    let mut policy = policy(AllowedSenders::Any);
    policy.limits.user_messages_per_day = 20;
    policy.limits.user_recipients_per_day = 15;
    policy.limits.org_recipients_per_10min = 25;
    policy.limits.org_recipients_per_day = 500;

    let expected = replay(mixed_workload(), &policy);
    let outcomes: std::collections::BTreeSet<Outcome> =
        expected.verdicts.iter().map(|verdict| verdict.outcome).collect();
    assert_eq!(outcomes.len(), 4, "workload covers every outcome");

    for seed in [1, 42, 0x9E37_79B9_7F4A_7C15] {
        let mut messages = mixed_workload();
        shuffle(&mut messages, seed);
        assert_eq!(replay(messages, &policy), expected, "seed {seed}");
    }
    let mut reversed = mixed_workload();
    reversed.reverse();
    assert_eq!(replay(reversed, &policy), expected, "reversed input");
}

mod connection;
