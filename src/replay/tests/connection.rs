//! The connection rules inside the replay: refusals reach every recipient,
//! warnings ride on accepted rows, and the totals count both.

use super::*;
use crate::policy::HeloAction;
use crate::replay::model::{ConnectionSample, Mode, RelayConnection, ReplayInput};
use crate::replay::replay_input;

/// Returns a direct-mode connection from `ip` with TLS, no AUTH and a
/// specific HELO name.
fn client(key: &str, ip: &str) -> RelayConnection {
    RelayConnection {
        key: key.to_string(),
        client_ip: Some(ip.parse().expect("test address")),
        observed_ip: ip.to_string(),
        client_host: format!("{key}.corp.example.com"),
        helo: Some(format!("{key}.corp.example.com")),
        tls: Some(true),
        auth_user: None,
        auth_attempted: false,
        opened_at_us: Some(T0),
        reuse_stream: Some(ip.to_string()),
        provenance: Provenance::default(),
    }
}

fn on(connection: usize, mut message: RelayMessage) -> RelayMessage {
    message.connection = connection;
    message
}

fn direct(connections: Vec<RelayConnection>, messages: Vec<RelayMessage>) -> ReplayInput {
    ReplayInput {
        mode: Mode::Direct,
        connections,
        messages,
        samples: Vec::new(),
    }
}

#[test]
fn tls_required_rejects_plain_smarthost() {
    let mut policy = policy(AllowedSenders::Registered);
    policy.smarthost.tls = false;
    let messages = vec![message("m1", T0, "user1@example.com", numbered("a", 3))];

    let output = replay(messages, &policy);

    assert_all(&output, "m1", "tls.required", Outcome::Rejected);
    let row = &rows(&output, "m1")[0];
    assert_eq!((row.reply_code, row.enhanced_code.as_str()), (530, "5.7.0"));
    assert_eq!(row.code_source, CodeSource::Assumed);
    assert_eq!(row.relay_setting.as_deref(), Some("office"));
    assert_eq!(
        row.detail,
        "relay setting \"office\" requires TLS, and the connection is plain text"
    );
    assert!(has_assumption(
        &output,
        "tls.required decided 3 recipients with reply 530 5.7.0, which is assumed"
    ));
    assert_eq!(output.connections[0].rule, "tls.required");
    assert_eq!(output.connections[0].messages, 1);
}

#[test]
fn refused_connection_skips_sender_and_limit_rules() {
    let mut policy = policy(AllowedSenders::Registered);
    policy.limits.user_messages_per_day = 1;
    let connections = vec![client("bad", "203.0.113.9"), client("good", "192.0.2.20")];
    let messages = vec![
        on(
            0,
            message("refused", T0, "stranger@example.com", numbered("a", 2)),
        ),
        on(1, message("first", T0 + 1, "user1@example.com", numbered("b", 1))),
        on(
            1,
            message("second", T0 + 2, "user1@example.com", numbered("c", 1)),
        ),
    ];

    let output = replay_input(direct(connections, messages), &policy);

    // The connection rule decides, so the sender rule never reads the message.
    assert_all(&output, "refused", "auth.ip_not_allowed", Outcome::Rejected);
    // The refused message did not count against user1's daily limit.
    assert_eq!(only_row(&output, "first").outcome, Outcome::Accepted);
    assert_eq!(only_row(&output, "second").rule, "limit.user_messages");
    assert_eq!(
        only_row(&output, "first").client_ip,
        Some("192.0.2.20".parse().expect("address"))
    );
    assert_eq!(output.stats.relay_setting, None);
    assert_eq!(output.stats.connections.messages_by_setting["office"], 2);
}

#[test]
fn auth_without_tls_in_direct_mode() {
    let policy = policy(AllowedSenders::Any);
    let mut plain = client("app", "192.0.2.30");
    plain.tls = Some(false);
    plain.auth_attempted = true;
    plain.auth_user = Some("app@example.com".to_string());
    let messages = vec![on(0, message("m1", T0, "app@example.com", numbered("a", 2)))];

    let output = replay_input(direct(vec![plain], messages), &policy);

    assert_all(&output, "m1", "auth.auth_without_tls", Outcome::Rejected);
    let row = &rows(&output, "m1")[0];
    assert_eq!((row.reply_code, row.code_source), (530, CodeSource::Documented));
}

#[test]
fn generic_helo_warning_rides_on_rows() {
    let mut policy = policy(AllowedSenders::Registered);
    policy.smarthost.helo = "localhost".to_string();
    let messages = vec![
        message("m1", T0, "user1@example.com", numbered("a", 2)),
        message("m2", T0 + 1, "stranger@example.com", numbered("b", 1)),
    ];

    let output = replay(messages, &policy);

    assert_all(&output, "m1", "", Outcome::Accepted);
    for verdict in &output.verdicts {
        assert_eq!(verdict.warnings, ["dos.generic_helo"], "{}", verdict.message_key);
    }
    assert_eq!(only_row(&output, "m2").rule, "sender.not_registered_user");
    let warned = &output.stats.connections.warnings["dos.generic_helo"];
    assert_eq!(
        (warned.connections, warned.messages, warned.recipients),
        (1, 2, 3)
    );
    assert_eq!(warned.example.text, "HELO name \"localhost\" is a localhost name");
    assert_eq!(warned.example.code, "generic_helo");
    assert_eq!(output.connections[0].warnings, ["dos.generic_helo"]);
    assert_eq!(output.connections[0].outcome, Outcome::Accepted);
}

#[test]
fn generic_helo_throttled_when_policy_says() {
    let mut policy = policy(AllowedSenders::Registered);
    policy.smarthost.helo = "[192.0.2.10]".to_string();
    policy.dos.generic_helo = HeloAction::Throttled;
    let messages = vec![message("m1", T0, "user1@example.com", numbered("a", 2))];

    let output = replay(messages, &policy);

    assert_all(&output, "m1", "dos.generic_helo", Outcome::Throttled);
    let row = &rows(&output, "m1")[0];
    assert_eq!((row.reply_code, row.enhanced_code.as_str()), (421, "4.7.0"));
    assert!(row.warnings.is_empty());
    assert!(has_assumption(
        &output,
        "The replay does not retry throttled recipients (2 recipients)"
    ));
}

#[test]
fn unknown_helo_not_judged_in_smarthost() {
    let mut policy = policy(AllowedSenders::Registered);
    policy.smarthost.helo = String::new();
    policy.dos.generic_helo = HeloAction::Throttled;
    let output = replay(
        vec![message("m1", T0, "user1@example.com", numbered("a", 1))],
        &policy,
    );
    assert_eq!(only_row(&output, "m1").outcome, Outcome::Accepted);
    assert!(output
        .stats
        .connections
        .not_judged
        .iter()
        .any(|note| note.text == "dos.generic_helo: the policy gives no smarthost.helo"));
}

#[test]
fn order_dependent_settings_marked() {
    let mut policy = policy(AllowedSenders::Any);
    policy.relays = vec![
        relay_setting("wide", AllowedSenders::Any, &["192.0.2.0/24"], false),
        relay_setting("strict", AllowedSenders::Registered, &["192.0.2.10/32"], false),
    ];
    let messages = vec![message("m1", T0, "a@other.org", numbered("a", 2))];

    let output = replay(messages, &policy);

    assert_eq!(output.stats.relay_setting.as_deref(), Some("wide"));
    let connections = &output.stats.connections;
    assert_eq!(connections.order_dependent.messages, 1);
    assert_eq!(connections.order_dependent.recipients, 2);
    assert_eq!(connections.order_dependent_settings, ["wide", "strict"]);
    assert!(has_assumption(
        &output,
        "The smarthost connection matches more than one of the relay settings \"wide\" and \"strict\""
    ));
}

#[test]
fn same_judging_settings_not_order_dependent() {
    let mut policy = policy(AllowedSenders::Any);
    policy.relays = vec![
        relay_setting("a", AllowedSenders::Any, &["192.0.2.0/24"], false),
        relay_setting("b", AllowedSenders::Any, &["192.0.2.10/32"], false),
    ];
    let output = replay(
        vec![message("m1", T0, "a@example.com", numbered("a", 1))],
        &policy,
    );
    assert_eq!(output.stats.connections.order_dependent.connections, 0);
    assert!(!has_assumption(
        &output,
        "The smarthost connection matches more than one"
    ));
}

#[test]
fn reuse_warning_from_samples() {
    let mut policy = policy(AllowedSenders::Registered);
    policy.dos.max_connections_per_minute = 2;
    let mut input = direct(
        vec![client("app", "192.0.2.40")],
        vec![on(0, message("m1", T0, "user1@example.com", numbered("a", 1)))],
    );
    input.samples = (0..3)
        .map(|index| ConnectionSample {
            stream: "192.0.2.40".to_string(),
            at_us: T0 + index * SECOND_US,
            new_connection: true,
            messages: 1,
        })
        .collect();

    let output = replay_input(input, &policy);

    let row = only_row(&output, "m1");
    assert_eq!(row.outcome, Outcome::Accepted);
    assert_eq!(row.warnings, ["dos.no_connection_reuse"]);
    assert_eq!(output.connections[0].warnings, ["dos.no_connection_reuse"]);
    let warned = &output.stats.connections.warnings["dos.no_connection_reuse"];
    assert_eq!(warned.messages, 1);
    assert!(
        warned
            .example
            .text
            .starts_with("192.0.2.40 opened 3 new connections"),
        "{}",
        warned.example.text
    );
    assert!(has_assumption(
        &output,
        "dos.no_connection_reuse warns when one address opens more than 2 new connections"
    ));
    let busiest = output
        .stats
        .connections
        .busiest_minute
        .as_ref()
        .expect("busiest minute");
    assert_eq!(busiest.connections, 3);
}

#[test]
fn breaking_clients_listed() {
    let policy = policy(AllowedSenders::Registered);
    let mut printer = client("printer", "203.0.113.9");
    printer.client_host = "printer.corp.example.com".to_string();
    let connections = vec![
        printer.clone(),
        client("app", "192.0.2.20"),
        RelayConnection {
            key: "printer-2".to_string(),
            ..printer
        },
        client("quiet", "192.0.2.21"),
    ];
    let messages = vec![
        on(0, message("p1", T0, "user1@example.com", numbered("a", 2))),
        on(1, message("a1", T0 + 1, "stranger@example.com", numbered("b", 1))),
        on(1, message("a2", T0 + 2, "user1@example.com", numbered("c", 1))),
        on(2, message("p2", T0 + 3, "user1@example.com", numbered("d", 1))),
    ];

    let output = replay_input(direct(connections, messages), &policy);

    let connections = &output.stats.connections;
    assert_eq!(connections.judged, 4);
    assert_eq!(connections.clients_with_messages, 2);
    let clients: Vec<(&str, u64, u64, &str)> = connections
        .breaking_clients
        .iter()
        .map(|client| {
            (
                client.observed_ip.as_str(),
                client.messages,
                client.refused_messages,
                client.rule,
            )
        })
        .collect();
    assert_eq!(
        clients,
        [
            ("203.0.113.9", 2, 2, "auth.ip_not_allowed"),
            ("192.0.2.20", 2, 1, "sender.not_registered_user"),
        ]
    );
    let printer = &connections.breaking_clients[0];
    assert_eq!(printer.sessions, 2);
    assert_eq!(printer.recipients, 3);
    assert_eq!(printer.host_names, ["printer.corp.example.com"]);
    // The quiet client carried no message but still has a verdict.
    assert_eq!(output.connections[3].outcome, Outcome::Accepted);
    assert_eq!(output.connections[3].messages, 0);
}

#[test]
fn unknown_facts_listed_as_not_judged() {
    let policy = policy(AllowedSenders::Registered);
    let mut unknown = client("app", "192.0.2.20");
    unknown.client_ip = None;
    unknown.observed_ip = String::new();
    unknown.tls = None;
    unknown.helo = None;
    unknown.reuse_stream = None;
    let messages = vec![on(0, message("m1", T0, "user1@example.com", numbered("a", 1)))];

    let output = replay_input(direct(vec![unknown], messages), &policy);

    assert_eq!(only_row(&output, "m1").outcome, Outcome::Accepted);
    let lines = &output.stats.connections.not_judged;
    let rules: Vec<&str> = lines
        .iter()
        .map(|note| note.text.split(':').next().unwrap_or(""))
        .collect();
    assert_eq!(
        rules,
        [
            "auth.ip_not_allowed",
            "tls.required, auth.auth_without_tls",
            "dos.generic_helo",
            "dos.no_connection_reuse"
        ]
    );
    assert_eq!(
        lines[0].text,
        "auth.ip_not_allowed: the client address is unknown for 1 connection carrying 1 message"
    );
    assert_eq!(lines[0].code, "client_address_unknown");
    assert_eq!(
        lines[0].params,
        r#"{"connections":1,"messages":1,"rules":["auth.ip_not_allowed"]}"#
    );
}
