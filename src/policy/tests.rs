use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use ipnet::IpNet;

use crate::policy::read::accepted_keys;
use crate::policy::users::read_users;
use crate::policy::*;

const POLICY_PATH: &str = "p.toml";

fn parse_ok(text: &str) -> Policy {
    match parse(text, Path::new(POLICY_PATH)) {
        Ok(policy) => policy,
        Err(error) => panic!("expected the policy to load, got: {error}"),
    }
}

fn parse_err(text: &str) -> PolicyError {
    match parse(text, Path::new(POLICY_PATH)) {
        Ok(policy) => panic!("expected an error, got {policy:?}"),
        Err(error) => error,
    }
}

fn net(text: &str) -> IpNet {
    text.parse().expect("test range parses")
}

/// The built-in default as `parse` returns it for a file with no `[[relay]]`.
fn default_for_file() -> Policy {
    let mut policy = Policy::builtin_default();
    policy.path = Some(PathBuf::from(POLICY_PATH));
    policy.relays.clear();
    policy
}

fn users_from(csv: &str) -> Result<Users, PolicyError> {
    read_users(csv.as_bytes(), Path::new("users.csv"))
}

#[test]
fn builtin_default_values() {
    let policy = Policy::builtin_default();
    assert_eq!(policy.path, None);
    assert!(policy.organisation.domains.is_empty());
    assert!(policy.organisation.subdomains);
    assert_eq!(policy.organisation.users, None);
    assert_eq!(policy.organisation.account, Account::Paid);
    assert!(policy.organisation.comprehensive_storage);
    assert_eq!(
        policy.relays,
        vec![RelaySetting {
            name: "default".to_owned(),
            allowed_senders: AllowedSenders::Any,
            allowed_ips: vec![],
            require_smtp_auth: false,
            require_tls: false,
        }]
    );
    assert_eq!(policy.smarthost.egress_ip, None);
    assert_eq!(policy.smarthost.helo, "");
    assert!(policy.smarthost.tls);
    assert_eq!(policy.smarthost.auth_user, "");
    assert_eq!(policy.smarthost.port, 587);
    assert_eq!(policy.limits.user_messages_per_day, 10_000);
    assert_eq!(policy.limits.user_recipients_per_day, 10_000);
    assert_eq!(policy.limits.org_recipients_per_day, 4_600_000);
    assert_eq!(policy.limits.org_recipients_per_10min, 319_444);
    assert_eq!(policy.limits.recipients_per_transaction, 100);
    assert_eq!(policy.limits.max_message_bytes, 26_214_400);
    assert_eq!(policy.limits.day_window_seconds, 86_400);
    assert_eq!(policy.limits.short_window_seconds, 600);
    assert!(policy.limits.explicit.is_empty());
    assert!(!policy.routing.route_internal);
    assert!(policy.routing.local_domains.is_empty());
    assert!(policy.sources.is_empty());

    assert_eq!(policy.smarthost.evidence_hosts, ["smtp-relay.gmail.com"]);
    assert!(policy.nat.is_empty());
    assert_eq!(policy.dos, Dos::defaults());
    assert_eq!(policy.dos.generic_helo, HeloAction::Warning);
    assert_eq!(policy.dos.max_connections_per_minute, 60);
    assert_eq!(policy.dos.min_messages_per_connection, 1.5);
    assert!(policy.describe_assumptions().is_empty());
}

#[test]
fn empty_file_equals_default() {
    assert_eq!(parse_ok(""), default_for_file());
    assert_eq!(parse_ok("# only a comment\n\n"), default_for_file());
    let empty_sections = "[organisation]\n[smarthost]\n[limits]\n[routing]\n[sources]\n";
    assert_eq!(parse_ok(empty_sections), default_for_file());
}

#[test]
fn limit_keys_read_and_write_same_field() {
    for (index, key) in Limits::KEYS.iter().enumerate() {
        let mut limits = Limits::documented();
        let marker = 1_000_000 + index as u64;
        *limits.value_mut(key).expect("every key has a field") = marker;
        assert_eq!(limits.value_of(key), Some(marker), "key {key}");
    }
    assert_eq!(Limits::documented().value_of("no_such_limit"), None);
}

const FULL_EXAMPLE: &str = r#"
[organisation]
domains = ["Example.com", "example.co.jp."]
subdomains = false
users = "users.csv"
account = "paid"
comprehensive_storage = false

[[relay]]
name = "on-prem hub"
allowed_senders = "domain"
allowed_ips = ["203.0.113.0/28", "2001:db8:10::/120", "198.51.100.7"]
require_smtp_auth = true
require_tls = true

[[relay]]
name = "printers"
allowed_senders = "registered"

[smarthost]
egress_ip = "203.0.113.5"
helo = "mail.example.com"
tls = true
auth_user = "relay@example.com"
port = 465
evidence_hosts = ["SMTP-relay.gmail.com.", "192.0.2.25"]

[limits]
user_messages_per_day = 5_000
org_recipients_per_day = 1_000_000
max_message_bytes = 10_485_760

[routing]
route_internal = true
local_domains = ["corp.example.com"]

[sources.postfix]
recipients_per_transaction = 20

[sources.exchange-smtp]

[[nat]]
private = "10.0.0.0/8"
public = "203.0.113.5"

[[nat]]
private = "fd00::/8"
public = "2001:db8::5"

[dos]
min_messages_per_connection = 2
generic_helo_outcome = "throttled"
generic_helo_names = ["MailHost.", "printer"]
"#;

#[test]
fn full_example_round_trip() {
    let folder = tempfile::tempdir().expect("temporary folder");
    let policy_path = folder.path().join("relay.toml");
    fs::write(&policy_path, FULL_EXAMPLE).expect("write policy");
    fs::write(
        folder.path().join("users.csv"),
        "address,gmail_licence\nalice@example.com,true\nprinter@example.com,false\n",
    )
    .expect("write users");

    let policy = load(&policy_path).expect("full example loads");

    let expected = Policy {
        path: Some(policy_path.clone()),
        organisation: Organisation {
            domains: vec!["example.com".to_owned(), "example.co.jp".to_owned()],
            subdomains: false,
            users: Some(Users {
                path: folder.path().join("users.csv"),
                by_address: BTreeMap::from([
                    ("alice@example.com".to_owned(), true),
                    ("printer@example.com".to_owned(), false),
                ]),
            }),
            account: Account::Paid,
            comprehensive_storage: false,
        },
        relays: vec![
            RelaySetting {
                name: "on-prem hub".to_owned(),
                allowed_senders: AllowedSenders::Domain,
                allowed_ips: vec![
                    net("203.0.113.0/28"),
                    net("2001:db8:10::/120"),
                    net("198.51.100.7/32"),
                ],
                require_smtp_auth: true,
                require_tls: true,
            },
            RelaySetting {
                name: "printers".to_owned(),
                allowed_senders: AllowedSenders::Registered,
                allowed_ips: vec![],
                require_smtp_auth: false,
                require_tls: false,
            },
        ],
        smarthost: Smarthost {
            egress_ip: Some("203.0.113.5".parse().expect("address")),
            helo: "mail.example.com".to_owned(),
            tls: true,
            auth_user: "relay@example.com".to_owned(),
            port: 465,
            evidence_hosts: vec!["smtp-relay.gmail.com".to_owned(), "192.0.2.25".to_owned()],
        },
        limits: Limits {
            user_messages_per_day: 5_000,
            org_recipients_per_day: 1_000_000,
            max_message_bytes: 10_485_760,
            explicit: vec![
                "user_messages_per_day".to_owned(),
                "org_recipients_per_day".to_owned(),
                "max_message_bytes".to_owned(),
            ],
            ..Limits::documented()
        },
        routing: Routing {
            route_internal: true,
            local_domains: vec!["corp.example.com".to_owned()],
        },
        sources: BTreeMap::from([
            (
                "exchange-smtp".to_owned(),
                SourceSettings {
                    recipients_per_transaction: 1000,
                },
            ),
            (
                "postfix".to_owned(),
                SourceSettings {
                    recipients_per_transaction: 20,
                },
            ),
        ]),
        nat: vec![
            NatEntry {
                private: net("10.0.0.0/8"),
                public: "203.0.113.5".parse().expect("address"),
            },
            NatEntry {
                private: net("fd00::/8"),
                public: "2001:db8::5".parse().expect("address"),
            },
        ],
        dos: Dos {
            generic_helo: HeloAction::Throttled,
            generic_helo_names: vec!["mailhost".to_owned(), "printer".to_owned()],
            min_messages_per_connection: 2.0,
            explicit: vec![
                "min_messages_per_connection".to_owned(),
                "generic_helo_outcome".to_owned(),
                "generic_helo_names".to_owned(),
            ],
            ..Dos::defaults()
        },
    };
    assert_eq!(policy, expected);

    let assumptions = policy.describe_assumptions();
    let texts: Vec<&str> = assumptions.iter().map(|note| note.text.as_str()).collect();
    assert_eq!(
        texts,
        vec![
            "limits.user_messages_per_day = 5,000 is set by the policy file in place of \
             Google's documented 10,000.",
            "limits.org_recipients_per_day = 1,000,000 is set by the policy file in place of \
             Google's documented 4,600,000.",
            "limits.max_message_bytes = 10,485,760 is set by the policy file in place of \
             Google's documented 26,214,400.",
            "sources.postfix.recipients_per_transaction = 20 is set by the policy file in \
             place of the postfix default of 50.",
        ]
    );
}

#[test]
fn limits_explicit_in_file_order() {
    let policy = parse_ok(
        "[limits]\nshort_window_seconds = 300\nuser_messages_per_day = 10_000\n\
         day_window_seconds = 3_600\n",
    );
    assert_eq!(
        policy.limits.explicit,
        vec![
            "short_window_seconds",
            "user_messages_per_day",
            "day_window_seconds"
        ]
    );
    assert_eq!(policy.limits.short_window_seconds, 300);
    assert_eq!(policy.limits.day_window_seconds, 3_600);
    // Setting a documented value explicitly is recorded but is no assumption.
    assert_eq!(policy.describe_assumptions().len(), 2);
}

#[test]
fn unknown_keys_name_accepted_keys() {
    // (policy text, dotted key, line, column, accepted keys)
    let cases: [(&str, &str, usize, usize, &[&str]); 6] = [
        (
            "colour = 1\n",
            "colour",
            1,
            1,
            &[
                "organisation",
                "relay",
                "smarthost",
                "limits",
                "routing",
                "sources",
                "nat",
                "dos",
            ],
        ),
        (
            "[organisation]\ndomains = []\n  domain = \"example.com\"\n",
            "organisation.domain",
            3,
            3,
            &[
                "domains",
                "subdomains",
                "users",
                "account",
                "comprehensive_storage",
            ],
        ),
        (
            "[[relay]]\nname = \"a\"\nallowed_senders = \"any\"\n\n[[relay]]\nname = \"b\"\n\
             allowed_senders = \"any\"\nallowed_ip = []\n",
            "relay[1].allowed_ip",
            8,
            1,
            &[
                "name",
                "allowed_senders",
                "allowed_ips",
                "require_smtp_auth",
                "require_tls",
            ],
        ),
        (
            "[limits]\nuser_messages_per_hour = 5\n",
            "limits.user_messages_per_hour",
            2,
            1,
            &Limits::KEYS,
        ),
        (
            "[sources.exim]\nrecipients_per_transaction = 5\n",
            "sources.exim",
            1,
            10,
            &SOURCE_FORMATS,
        ),
        (
            "[sources.postfix]\nrecipients = 5\n",
            "sources.postfix.recipients",
            2,
            1,
            &["recipients_per_transaction"],
        ),
    ];
    for (text, expected_key, line, column, expected_accepted) in cases {
        let error = parse_err(text);
        let message = error.to_string();
        let PolicyError::UnknownKey { at, key, accepted } = error else {
            panic!("expected UnknownKey for {text:?}, got {error:?}");
        };
        assert_eq!(key, expected_key);
        assert_eq!((at.line, at.column), (line, column), "position of {key}");
        assert_eq!(accepted, expected_accepted, "accepted keys of {key}");
        let listed = format!("expected one of {}", expected_accepted.join(", "));
        assert!(message.ends_with(&listed), "message {message:?}");
    }
}

#[test]
fn wrong_types_name_key_and_expected() {
    // (policy text, dotted key, found, expected)
    let cases = [
        (
            "[limits]\nuser_messages_per_day = \"10\"\n",
            "limits.user_messages_per_day",
            "string \"10\"",
            "a positive integer",
        ),
        (
            "[limits]\nmax_message_bytes = 1.5\n",
            "limits.max_message_bytes",
            "float 1.5",
            "a positive integer",
        ),
        (
            "[organisation]\ndomains = \"example.com\"\n",
            "organisation.domains",
            "string \"example.com\"",
            "an array",
        ),
        (
            "[organisation]\nsubdomains = \"yes\"\n",
            "organisation.subdomains",
            "string \"yes\"",
            "true or false",
        ),
        (
            "[organisation]\ndomains = [1]\n",
            "organisation.domains[0]",
            "integer 1",
            "a string",
        ),
        (
            "[smarthost]\nport = \"587\"\n",
            "smarthost.port",
            "string \"587\"",
            "one of 25, 465, 587",
        ),
        (
            "[smarthost]\nhelo = 1979-05-27\n",
            "smarthost.helo",
            "datetime 1979-05-27",
            "a string",
        ),
        ("limits = 5\n", "limits", "integer 5", "a table"),
        (
            "[relay]\nname = \"a\"\n",
            "relay",
            "table",
            "an array of tables; write [[relay]] above each relay setting",
        ),
        ("relay = [\"hub\"]\n", "relay[0]", "string \"hub\"", "a table"),
        (
            "[[relay]]\nname = \"a\"\nallowed_senders = 3\n",
            "relay[0].allowed_senders",
            "integer 3",
            "one of registered, domain, any",
        ),
        (
            "[sources]\npostfix = 50\n",
            "sources.postfix",
            "integer 50",
            "a table",
        ),
    ];
    for (text, expected_key, expected_found, expected_type) in cases {
        let error = parse_err(text);
        let PolicyError::WrongType {
            key, found, expected, ..
        } = error
        else {
            panic!("expected WrongType for {text:?}, got {error:?}");
        };
        assert_eq!(key, expected_key);
        assert_eq!(found, expected_found, "found for {key}");
        assert_eq!(expected, expected_type, "expected for {key}");
    }
}

#[test]
fn invalid_numbers_name_key_and_expected() {
    // (policy text, dotted key, found, expected)
    let cases = [
        (
            "[limits]\nuser_messages_per_day = -5\n",
            "limits.user_messages_per_day",
            "integer -5",
            "a positive integer",
        ),
        (
            "[limits]\nshort_window_seconds = 0\n",
            "limits.short_window_seconds",
            "integer 0",
            "a positive integer",
        ),
        (
            "[sources.qmail]\nrecipients_per_transaction = -1\n",
            "sources.qmail.recipients_per_transaction",
            "integer -1",
            "an integer of 0 or more (0 means no cap)",
        ),
        (
            "[smarthost]\nport = 70000\n",
            "smarthost.port",
            "integer 70000",
            "one of 25, 465, 587",
        ),
    ];
    for (text, expected_key, expected_found, expected_text) in cases {
        let error = parse_err(text);
        let PolicyError::InvalidValue {
            key, found, expected, ..
        } = error
        else {
            panic!("expected InvalidValue for {text:?}, got {error:?}");
        };
        assert_eq!(key, expected_key);
        assert_eq!(found, expected_found, "found for {key}");
        assert_eq!(expected, expected_text, "expected for {key}");
    }
}

#[test]
fn integer_beyond_toml_range_is_syntax_error() {
    let error = parse_err("[limits]\nuser_messages_per_day = 99999999999999999999\n");
    let PolicyError::Syntax { at, message } = error else {
        panic!("expected Syntax, got {error:?}");
    };
    assert_eq!((at.line, at.column), (2, 25));
    assert!(message.contains("too large"), "message {message:?}");
}

#[test]
fn errors_report_line_and_column() {
    let error = parse_err("# policy\n\n[smarthost\nport = 25\n");
    assert!(
        matches!(&error, PolicyError::Syntax { at, .. } if (at.line, at.column) == (3, 11)),
        "got {error:?}"
    );
    assert!(!error.to_string().contains('\n'), "one line: {error}");

    let error = parse_err("[[relay]]\nname = \"hub\"\nallowed_senders = \"domains\"\n");
    assert_eq!(
        error.to_string(),
        "p.toml:3:19: relay[0].allowed_senders: invalid value \"domains\"; \
         expected one of registered, domain, any"
    );
    let PolicyError::InvalidValue { at, key, found, .. } = error else {
        panic!("expected InvalidValue, got {error:?}");
    };
    assert_eq!((at.line, at.column), (3, 19));
    assert_eq!(key, "relay[0].allowed_senders");
    assert_eq!(found, "\"domains\"");

    let error = parse_err(
        "[[relay]]\nname = \"hub\"\nallowed_senders = \"any\"\n\
         allowed_ips = [\"10.1.0.0/16\", \"10.0.0.0/15\"]\n",
    );
    let PolicyError::RangeTooLarge { at, key, .. } = error else {
        panic!("expected RangeTooLarge, got {error:?}");
    };
    assert_eq!(key, "relay[0].allowed_ips[1]");
    assert_eq!((at.line, at.column), (4, 31));

    // Columns count characters: "ü" is two bytes but one column.
    let error = parse_err("organisation = { users = \"ü.csv\", account = \"gold\" }\n");
    let PolicyError::InvalidValue { at, key, .. } = error else {
        panic!("expected InvalidValue, got {error:?}");
    };
    assert_eq!(key, "organisation.account");
    assert_eq!((at.line, at.column), (1, 45));
    assert_eq!(at.path, PathBuf::from(POLICY_PATH));
}

#[test]
fn location_from_offset_edges() {
    let path = Path::new("x.toml");
    let text = "ab\ncü\n";
    let position = |offset| {
        let at = Location::from_offset(path, text, offset);
        (at.line, at.column)
    };
    assert_eq!(position(0), (1, 1));
    assert_eq!(position(2), (1, 3));
    assert_eq!(position(3), (2, 1));
    assert_eq!(position(6), (2, 3));
    // An offset inside "ü" moves back to its start.
    assert_eq!(position(5), (2, 2));
    // Offsets past the end clamp to the end.
    assert_eq!(position(99), (3, 1));
}

fn relay_with_ips(ips: &str) -> String {
    format!("[[relay]]\nname = \"hub\"\nallowed_senders = \"any\"\nallowed_ips = [{ips}]\n")
}

#[test]
fn ip_ranges_up_to_65536_addresses() {
    for accepted in ["10.0.0.0/16", "10.0.0.0/17", "2001:db8::/112", "2001:db8::/113"] {
        let policy = parse_ok(&relay_with_ips(&format!("\"{accepted}\"")));
        assert_eq!(policy.relays[0].allowed_ips, vec![net(accepted)]);
    }

    // (range, address count in the message)
    let refused = [
        ("10.0.0.0/15", "131,072"),
        ("0.0.0.0/0", "4,294,967,296"),
        ("2001:db8::/111", "131,072"),
        ("::/0", "2^128"),
    ];
    for (range_text, count) in refused {
        let error = parse_err(&relay_with_ips(&format!("\"{range_text}\"")));
        let message = error.to_string();
        let PolicyError::RangeTooLarge { key, range, .. } = error else {
            panic!("expected RangeTooLarge for {range_text}, got {error:?}");
        };
        assert_eq!(key, "relay[0].allowed_ips[0]");
        assert_eq!(range, net(range_text));
        assert!(
            message.ends_with(&format!(
                "{range_text} contains {count} addresses; the relay accepts at most 65,536 \
                 per range"
            )),
            "message {message:?}"
        );
    }
}

#[test]
fn ip_single_address_becomes_host_range() {
    let policy = parse_ok(&relay_with_ips("\"198.51.100.7\", \"2001:db8::1\""));
    assert_eq!(
        policy.relays[0].allowed_ips,
        vec![net("198.51.100.7/32"), net("2001:db8::1/128")]
    );
}

#[test]
fn ipv4_mapped_ranges_read_as_ipv4() {
    let policy = parse_ok(&relay_with_ips(
        "\"::ffff:198.51.100.0/120\", \"::ffff:198.51.100.9\"",
    ));
    assert_eq!(
        policy.relays[0].allowed_ips,
        vec![net("198.51.100.0/24"), net("198.51.100.9/32")]
    );
    // The whole mapped space is the whole IPv4 space: far too wide.
    let error = parse_err(&relay_with_ips("\"::ffff:0:0/96\""));
    assert!(matches!(error, PolicyError::RangeTooLarge { .. }), "{error:?}");
}

#[test]
fn ip_overlapping_ranges_accepted() {
    let policy = parse_ok(&relay_with_ips(
        "\"10.0.0.0/24\", \"10.0.0.128/25\", \"10.0.0.7\"",
    ));
    assert_eq!(policy.relays[0].allowed_ips.len(), 3);
}

#[test]
fn ip_host_bits_suggest_network_address() {
    let cases = [
        ("10.0.0.5/24", "the network address 10.0.0.0/24"),
        ("2001:db8::1/112", "the network address 2001:db8::/112"),
    ];
    for (range_text, expected_text) in cases {
        let error = parse_err(&relay_with_ips(&format!("\"{range_text}\"")));
        let PolicyError::InvalidValue {
            key, found, expected, ..
        } = error
        else {
            panic!("expected InvalidValue for {range_text}, got {error:?}");
        };
        assert_eq!(key, "relay[0].allowed_ips[0]");
        assert_eq!(found, format!("\"{range_text}\""));
        assert_eq!(expected, expected_text);
    }
}

#[test]
fn ip_malformed_values_rejected() {
    for text in ["10.0.0.300", "10.0.0.0/33", "mail.example.com", "", "10.0.0.0/"] {
        let error = parse_err(&relay_with_ips(&format!("\"{text}\"")));
        assert!(
            matches!(&error, PolicyError::InvalidValue { key, .. } if key == "relay[0].allowed_ips[0]"),
            "{text:?} gave {error:?}"
        );
    }

    let error = parse_err("[smarthost]\negress_ip = \"203.0.113.0/24\"\n");
    assert!(
        matches!(&error, PolicyError::InvalidValue { key, .. } if key == "smarthost.egress_ip"),
        "got {error:?}"
    );
}

#[test]
fn auth_without_tls_rejected() {
    let error = parse_err("[smarthost]\ntls = false\nauth_user = \"relay@example.com\"\n");
    assert!(
        error
            .to_string()
            .contains("the relay offers AUTH only after STARTTLS"),
        "message {error}"
    );
    let PolicyError::AuthWithoutTls { at, key } = error else {
        panic!("expected AuthWithoutTls, got {error:?}");
    };
    assert_eq!(key, "smarthost.auth_user");
    assert_eq!((at.line, at.column), (3, 13));

    // The order of the keys does not matter.
    let error = parse_err("[smarthost]\nauth_user = \"relay\"\ntls = false\n");
    assert!(
        matches!(error, PolicyError::AuthWithoutTls { .. }),
        "got {error:?}"
    );

    let with_tls = parse_ok("[smarthost]\ntls = true\nauth_user = \"relay\"\n");
    assert_eq!(with_tls.smarthost.auth_user, "relay");
    let no_auth = parse_ok("[smarthost]\ntls = false\nauth_user = \"\"\n");
    assert!(!no_auth.smarthost.tls);
}

#[test]
fn relay_requiring_tls_without_smarthost_tls_accepted() {
    let policy = parse_ok(
        "[[relay]]\nname = \"hub\"\nallowed_senders = \"any\"\nrequire_tls = true\n\n\
         [smarthost]\ntls = false\n",
    );
    assert!(policy.relays[0].require_tls);
    assert!(!policy.smarthost.tls);
}

#[test]
fn smarthost_port_values() {
    for port in [25, 465, 587] {
        let policy = parse_ok(&format!("[smarthost]\nport = {port}\n"));
        assert_eq!(policy.smarthost.port, port);
    }
    for port in ["2525", "0", "-587", "588"] {
        let error = parse_err(&format!("[smarthost]\nport = {port}\n"));
        let PolicyError::InvalidValue {
            key, found, expected, ..
        } = error
        else {
            panic!("expected InvalidValue for port {port}, got {error:?}");
        };
        assert_eq!(key, "smarthost.port");
        assert_eq!(found, format!("integer {port}"));
        assert_eq!(expected, "one of 25, 465, 587");
    }
}

#[test]
fn trial_and_unpaid_need_per_user_limits() {
    for account in [Account::Trial, Account::Unpaid] {
        let name = account.as_str();
        let text = format!("[organisation]\naccount = \"{name}\"\n");
        let error = parse_err(&text);
        let message = error.to_string();
        let PolicyError::UnpublishedLimits {
            at,
            key,
            account: found_account,
            missing,
        } = error
        else {
            panic!("expected UnpublishedLimits for {name}, got {error:?}");
        };
        assert_eq!(key, "organisation.account");
        assert_eq!((at.line, at.column), (2, 11));
        assert_eq!(found_account, account);
        assert_eq!(
            missing,
            vec!["limits.user_messages_per_day", "limits.user_recipients_per_day"]
        );
        assert!(
            message.contains("Google publishes per-user relay limits only for paid accounts"),
            "message {message:?}"
        );

        let one_set = format!("{text}[limits]\nuser_recipients_per_day = 2_000\n");
        let error = parse_err(&one_set);
        let PolicyError::UnpublishedLimits { missing, .. } = error else {
            panic!("expected UnpublishedLimits for {name}, got {error:?}");
        };
        assert_eq!(missing, vec!["limits.user_messages_per_day"]);

        let both_set =
            format!("{text}[limits]\nuser_messages_per_day = 500\nuser_recipients_per_day = 10_000\n");
        let policy = parse_ok(&both_set);
        assert_eq!(policy.organisation.account, account);
        assert_eq!(policy.limits.user_messages_per_day, 500);
        let texts: Vec<String> = policy
            .describe_assumptions()
            .into_iter()
            .map(|note| note.text)
            .collect();
        assert_eq!(
            texts,
            vec![
                format!(
                    "limits.user_messages_per_day = 500 is set by the policy file, because \
                     Google does not publish the per-user relay limits of {name} accounts."
                ),
                format!(
                    "limits.user_recipients_per_day = 10,000 is set by the policy file, because \
                     Google does not publish the per-user relay limits of {name} accounts."
                ),
            ]
        );
    }
}

#[test]
fn invalid_account_rejected() {
    let error = parse_err("[organisation]\naccount = \"free\"\n");
    let PolicyError::InvalidValue { key, expected, .. } = error else {
        panic!("expected InvalidValue, got {error:?}");
    };
    assert_eq!(key, "organisation.account");
    assert_eq!(expected, "one of paid, trial, unpaid");
}

#[test]
fn domains_normalised() {
    let policy = parse_ok(
        "[organisation]\ndomains = [\"Example.COM.\", \"xn--bcher-kva.example\", \"a-1.b2.jp\"]\n\
         [routing]\nlocal_domains = [\"Corp.Example.com\"]\n",
    );
    assert_eq!(
        policy.organisation.domains,
        vec!["example.com", "xn--bcher-kva.example", "a-1.b2.jp"]
    );
    assert_eq!(policy.routing.local_domains, vec!["corp.example.com"]);
}

#[test]
fn domains_invalid_rejected() {
    let long_label = "a".repeat(64);
    let invalid = [
        "localhost",
        "exa mple.com",
        "-example.com",
        "example-.com",
        "example..com",
        ".example.com",
        "example.com..",
        "",
        "bücher.example",
        "under_score.example",
        &format!("{long_label}.com"),
    ];
    for domain in invalid {
        let error = parse_err(&format!("[organisation]\ndomains = [\"{domain}\"]\n"));
        let PolicyError::InvalidValue { key, found, .. } = error else {
            panic!("expected InvalidValue for {domain:?}, got {error:?}");
        };
        assert_eq!(key, "organisation.domains[0]");
        assert_eq!(found, format!("{domain:?}"));
    }
}

#[test]
fn domains_duplicate_rejected() {
    let error = parse_err(
        "[organisation]\ndomains = [\n  \"example.com\",\n  \"example.org\",\n  \"EXAMPLE.com.\",\n]\n",
    );
    let PolicyError::Duplicate {
        at,
        key,
        found,
        first_key,
        first_line,
    } = error
    else {
        panic!("expected Duplicate, got {error:?}");
    };
    assert_eq!(key, "organisation.domains[2]");
    assert_eq!(found, "\"example.com\"");
    assert_eq!(first_key, "organisation.domains[0]");
    assert_eq!((at.line, at.column), (5, 3));
    assert_eq!(first_line, 3);

    let error = parse_err("[routing]\nlocal_domains = [\"a.example\", \"a.example\"]\n");
    assert!(
        matches!(&error, PolicyError::Duplicate { key, .. } if key == "routing.local_domains[1]"),
        "got {error:?}"
    );
}

#[test]
fn relay_required_keys() {
    let error = parse_err(
        "[[relay]]\nname = \"hub\"\nallowed_senders = \"any\"\n\n[[relay]]\n\
         allowed_senders = \"any\"\n",
    );
    let PolicyError::MissingKey { at, key, .. } = error else {
        panic!("expected MissingKey, got {error:?}");
    };
    assert_eq!(key, "relay[1].name");
    assert_eq!((at.line, at.column), (5, 1));

    let error = parse_err("[[relay]]\nname = \"hub\"\n");
    let PolicyError::MissingKey { key, expected, .. } = error else {
        panic!("expected MissingKey, got {error:?}");
    };
    assert_eq!(key, "relay[0].allowed_senders");
    assert_eq!(expected, "one of registered, domain, any");

    for name in ["\"\"", "\"  \""] {
        let error = parse_err(&format!("[[relay]]\nname = {name}\nallowed_senders = \"any\"\n"));
        assert!(
            matches!(&error, PolicyError::InvalidValue { key, .. } if key == "relay[0].name"),
            "name {name} gave {error:?}"
        );
    }
}

#[test]
fn relay_names_unique() {
    let error = parse_err(
        "[[relay]]\nname = \"hub\"\nallowed_senders = \"any\"\n\n\
         [[relay]]\nname = \"hub\"\nallowed_senders = \"domain\"\n",
    );
    let PolicyError::Duplicate {
        at,
        key,
        first_key,
        first_line,
        ..
    } = error
    else {
        panic!("expected Duplicate, got {error:?}");
    };
    assert_eq!(key, "relay[1].name");
    assert_eq!(first_key, "relay[0].name");
    assert_eq!(at.line, 6);
    assert_eq!(first_line, 2);
}

#[test]
fn relay_order_and_inline_tables_kept() {
    let policy = parse_ok(
        "relay = [\n  { name = \"b\", allowed_senders = \"any\" },\n  \
         { name = \"a\", allowed_senders = \"registered\" },\n]\n",
    );
    let names: Vec<&str> = policy.relays.iter().map(|relay| relay.name.as_str()).collect();
    assert_eq!(names, vec!["b", "a"]);
}

#[test]
fn sources_overrides_and_defaults() {
    let policy = parse_ok(
        "[sources.postfix]\nrecipients_per_transaction = 0\n\n[sources.qmail]\n\n\
         [sources.domino]\nrecipients_per_transaction = 25\n",
    );
    let per_source: Vec<(&str, u64)> = policy
        .sources
        .iter()
        .map(|(name, settings)| (name.as_str(), settings.recipients_per_transaction))
        .collect();
    assert_eq!(per_source, vec![("domino", 25), ("postfix", 0), ("qmail", 1)]);
    let notes = policy.describe_assumptions();
    let texts: Vec<&str> = notes.iter().map(|note| note.text.as_str()).collect();
    assert_eq!(
        texts,
        vec![
            "sources.domino.recipients_per_transaction = 25 is set by the policy file in place \
             of the domino default of 0 (no cap).",
            "sources.postfix.recipients_per_transaction = 0 (no cap) is set by the policy file \
             in place of the postfix default of 50.",
        ]
    );
}

#[test]
fn users_path_relative_to_policy_folder() {
    let folder = tempfile::tempdir().expect("temporary folder");
    let nested = folder.path().join("conf");
    fs::create_dir(&nested).expect("create folder");
    fs::write(
        nested.join("people.csv"),
        "address,gmail_licence\na@example.com,TRUE\n",
    )
    .expect("write users");
    let policy_path = nested.join("relay.toml");
    fs::write(&policy_path, "[organisation]\nusers = \"people.csv\"\n").expect("write policy");

    let policy = load(&policy_path).expect("policy loads");
    let users = policy.organisation.users.expect("users loaded");
    assert_eq!(users.path, nested.join("people.csv"));
    assert_eq!(users.licence_of("A@Example.com"), Some(true));
}

#[test]
fn users_missing_file_names_resolved_path() {
    let folder = tempfile::tempdir().expect("temporary folder");
    let policy_path = folder.path().join("relay.toml");
    fs::write(&policy_path, "[organisation]\nusers = \"missing.csv\"\n").expect("write policy");

    let error = load(&policy_path).expect_err("missing users file");
    let expected_path = folder.path().join("missing.csv");
    assert!(
        error
            .to_string()
            .starts_with(&expected_path.display().to_string()),
        "message {error}"
    );
    let PolicyError::UsersRead { path, source } = error else {
        panic!("expected UsersRead, got {error:?}");
    };
    assert_eq!(path, expected_path);
    assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
}

#[test]
fn users_empty_path_rejected() {
    let error = parse_err("[organisation]\nusers = \" \"\n");
    assert!(
        matches!(&error, PolicyError::InvalidValue { key, .. } if key == "organisation.users"),
        "got {error:?}"
    );
}

#[test]
fn policy_missing_file_names_path() {
    let folder = tempfile::tempdir().expect("temporary folder");
    let policy_path = folder.path().join("absent.toml");
    let error = load(&policy_path).expect_err("missing policy file");
    assert!(
        error.to_string().starts_with(&policy_path.display().to_string()),
        "message {error}"
    );
    let PolicyError::Read { path, source } = error else {
        panic!("expected Read, got {error:?}");
    };
    assert_eq!(path, policy_path);
    assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
}

#[test]
fn users_csv_happy_path() {
    let csv = "\u{feff} Name , GMAIL_Licence,Address \n\
               Alice, true ,Alice@Example.com\n\
               Printer,False,printer@example.com\n";
    let users = users_from(csv).expect("users load");
    assert_eq!(users.path, PathBuf::from("users.csv"));
    assert_eq!(
        users.by_address,
        BTreeMap::from([
            ("alice@example.com".to_owned(), true),
            ("printer@example.com".to_owned(), false),
        ])
    );
}

#[test]
fn users_csv_bad_licence_value() {
    let error = users_from("address,gmail_licence\na@example.com,true\nb@example.com,yes\n")
        .expect_err("bad licence");
    assert_eq!(
        error.to_string(),
        "users.csv:3: gmail_licence: invalid value \"yes\"; expected true or false"
    );
    let PolicyError::UsersInvalidValue {
        path,
        line,
        column,
        found,
        expected,
    } = error
    else {
        panic!("expected UsersInvalidValue, got {error:?}");
    };
    assert_eq!(path, PathBuf::from("users.csv"));
    assert_eq!(line, 3);
    assert_eq!(column, "gmail_licence");
    assert_eq!(found, "yes");
    assert_eq!(expected, "true or false");
}

#[test]
fn users_csv_bad_address() {
    for address in ["alice", "@example.com", "alice@", "a@b@example.com", ""] {
        let error =
            users_from(&format!("address,gmail_licence\n\"{address}\",true\n")).expect_err("bad address");
        let PolicyError::UsersInvalidValue {
            line, column, found, ..
        } = error
        else {
            panic!("expected UsersInvalidValue for {address:?}, got {error:?}");
        };
        assert_eq!(line, 2);
        assert_eq!(column, "address");
        assert_eq!(found, address);
    }
}

#[test]
fn users_csv_missing_column() {
    let error = users_from("address,licence\na@example.com,true\n").expect_err("missing column");
    let PolicyError::UsersMissingColumn { path, column, header } = error else {
        panic!("expected UsersMissingColumn, got {error:?}");
    };
    assert_eq!(path, PathBuf::from("users.csv"));
    assert_eq!(column, "gmail_licence");
    assert_eq!(header, vec!["address", "licence"]);

    let error = users_from("").expect_err("empty file");
    assert_eq!(
        error.to_string(),
        "users.csv:1: missing column \"address\"; the header row has no columns"
    );
    assert!(
        matches!(&error, PolicyError::UsersMissingColumn { column, .. } if column == "address"),
        "got {error:?}"
    );
}

#[test]
fn users_csv_duplicate_address() {
    let error =
        users_from("address,gmail_licence\na@example.com,true\nb@example.com,true\nA@EXAMPLE.COM,false\n")
            .expect_err("duplicate address");
    let PolicyError::UsersDuplicate {
        line,
        first_line,
        address,
        ..
    } = error
    else {
        panic!("expected UsersDuplicate, got {error:?}");
    };
    assert_eq!(address, "a@example.com");
    assert_eq!(line, 4);
    assert_eq!(first_line, 2);
}

#[test]
fn users_csv_ragged_row() {
    let error =
        users_from("address,gmail_licence\na@example.com,true\nb@example.com\n").expect_err("ragged row");
    let PolicyError::UsersCsv { line, message, .. } = error else {
        panic!("expected UsersCsv, got {error:?}");
    };
    assert_eq!(line, Some(3));
    assert_eq!(message, "the row has 1 fields but the header has 2");
}

#[test]
fn owned_domain_of_with_subdomains() {
    let organisation = Organisation {
        subdomains: true,
        ..parse_ok("[organisation]\ndomains = [\"example.com\", \"example.co.jp\"]\n").organisation
    };
    let cases = [
        ("example.com", Some("example.com")),
        ("EXAMPLE.com.", Some("example.com")),
        ("mail.example.com", Some("example.com")),
        ("a.b.example.co.jp", Some("example.co.jp")),
        ("badexample.com", None),
        ("example.com.evil.test", None),
        ("co.jp", None),
    ];
    for (domain, owner) in cases {
        assert_eq!(organisation.owned_domain_of(domain), owner, "{domain}");
    }
}

#[test]
fn owned_domain_of_without_subdomains() {
    let organisation =
        parse_ok("[organisation]\ndomains = [\"example.com\"]\nsubdomains = false\n").organisation;
    let cases = [
        ("example.com", Some("example.com")),
        ("Example.Com", Some("example.com")),
        ("mail.example.com", None),
        ("badexample.com", None),
    ];
    for (domain, owner) in cases {
        assert_eq!(organisation.owned_domain_of(domain), owner, "{domain}");
    }
}

#[test]
fn starter_loads_as_builtin_default() {
    let mut expected = Policy::builtin_default();
    expected.path = Some(PathBuf::from(POLICY_PATH));
    assert_eq!(parse_ok(starter_text()), expected);
}

#[test]
fn starter_lists_every_key() {
    let starter = starter_text();
    for (section, keys) in accepted_keys() {
        for key in keys {
            let listed = if section.is_empty() {
                let header = format!("[{key}]");
                let array_header = format!("[[{key}]]");
                let dotted_header = format!("[{key}.");
                starter.contains(&header)
                    || starter.contains(&array_header)
                    || starter.contains(&dotted_header)
            } else {
                starter.contains(&format!("{key} = "))
            };
            assert!(listed, "starter lacks {section} {key}");
        }
    }
    for format in SOURCE_FORMATS {
        assert!(starter.contains(format), "starter lacks source {format}");
    }
    assert!(starter.contains("# users = "), "users stays commented out");
}

// Connection rules: [[nat]], [dos] and smarthost.evidence_hosts.

#[test]
fn nat_translation_most_specific_wins() {
    let policy = parse_ok(
        "[[nat]]\nprivate = \"10.0.0.0/8\"\npublic = \"203.0.113.5\"\n\n\
         [[nat]]\nprivate = \"10.1.0.0/16\"\npublic = \"203.0.113.6\"\n\n\
         [[nat]]\nprivate = \"10.1.2.3\"\npublic = \"2001:db8::7\"\n",
    );
    let translate = |text: &str| policy.translate(text.parse().expect("address")).0.to_string();
    assert_eq!(translate("10.200.0.1"), "203.0.113.5");
    assert_eq!(translate("10.1.9.9"), "203.0.113.6");
    assert_eq!(translate("10.1.2.3"), "2001:db8::7");
    // No entry contains the address: it is returned unchanged.
    assert_eq!(translate("192.0.2.1"), "192.0.2.1");
    let (_, entry) = policy.translate("192.0.2.1".parse().expect("address"));
    assert_eq!(entry, None);
}

#[test]
fn nat_private_range_any_size() {
    let policy = parse_ok("[[nat]]\nprivate = \"0.0.0.0/0\"\npublic = \"203.0.113.5\"\n");
    assert_eq!(policy.nat[0].private, net("0.0.0.0/0"));
}

#[test]
fn nat_errors_name_key() {
    // (policy text, dotted key)
    let cases = [
        ("[[nat]]\npublic = \"203.0.113.5\"\n", "nat[0].private"),
        ("[[nat]]\nprivate = \"10.0.0.0/8\"\n", "nat[0].public"),
        (
            "[[nat]]\nprivate = \"10.0.0.0/8\"\npublic = \"203.0.113.0/24\"\n",
            "nat[0].public",
        ),
        (
            "[[nat]]\nprivate = \"10.0.0.1/8\"\npublic = \"203.0.113.5\"\n",
            "nat[0].private",
        ),
        (
            "[[nat]]\nprivate = \"10.0.0.0/8\"\npublic = \"203.0.113.5\"\nport = 25\n",
            "nat[0].port",
        ),
        ("nat = \"10.0.0.0/8\"\n", "nat"),
    ];
    for (text, expected_key) in cases {
        let error = parse_err(text);
        let key = match &error {
            PolicyError::MissingKey { key, .. }
            | PolicyError::InvalidValue { key, .. }
            | PolicyError::UnknownKey { key, .. }
            | PolicyError::WrongType { key, .. } => key.clone(),
            other => panic!("unexpected error for {text:?}: {other:?}"),
        };
        assert_eq!(key, expected_key, "error {error}");
    }
}

#[test]
fn nat_duplicate_private_range() {
    let error = parse_err(
        "[[nat]]\nprivate = \"10.0.0.0/8\"\npublic = \"203.0.113.5\"\n\n\
         [[nat]]\nprivate = \"10.0.0.0/8\"\npublic = \"203.0.113.6\"\n",
    );
    let PolicyError::Duplicate {
        key,
        first_key,
        first_line,
        ..
    } = error
    else {
        panic!("expected Duplicate, got {error:?}");
    };
    assert_eq!(key, "nat[1].private");
    assert_eq!(first_key, "nat[0].private");
    assert_eq!(first_line, 2);
}

#[test]
fn dos_values_read() {
    let policy = parse_ok(
        "[dos]\nmax_connections_per_minute = 10\nmin_messages_per_connection = 1.25\n\
         generic_helo_names = [\" Relay.Local. \"]\n",
    );
    assert_eq!(policy.dos.max_connections_per_minute, 10);
    assert_eq!(policy.dos.min_messages_per_connection, 1.25);
    assert_eq!(policy.dos.generic_helo_names, ["relay.local"]);
    assert_eq!(policy.dos.generic_helo, HeloAction::Warning);
    assert_eq!(
        policy.dos.explicit,
        [
            "max_connections_per_minute",
            "min_messages_per_connection",
            "generic_helo_names"
        ]
    );
}

#[test]
fn dos_invalid_values_rejected() {
    // (policy text, dotted key, expected)
    let cases = [
        (
            "[dos]\ngeneric_helo_outcome = \"rejected\"\n",
            "dos.generic_helo_outcome",
            "one of warning, throttled",
        ),
        (
            "[dos]\nmax_connections_per_minute = 0\n",
            "dos.max_connections_per_minute",
            "a positive integer",
        ),
        (
            "[dos]\nmin_messages_per_connection = 0.0\n",
            "dos.min_messages_per_connection",
            "a number greater than 0, such as 1.5",
        ),
        (
            "[dos]\nmin_messages_per_connection = nan\n",
            "dos.min_messages_per_connection",
            "a number greater than 0, such as 1.5",
        ),
        (
            "[dos]\ngeneric_helo_names = [\"\"]\n",
            "dos.generic_helo_names[0]",
            "a HELO name without spaces, such as mailhost",
        ),
        (
            "[dos]\ngeneric_helo_names = [\"two words\"]\n",
            "dos.generic_helo_names[0]",
            "a HELO name without spaces, such as mailhost",
        ),
    ];
    for (text, expected_key, expected_text) in cases {
        let error = parse_err(text);
        let PolicyError::InvalidValue { key, expected, .. } = &error else {
            panic!("expected InvalidValue for {text:?}, got {error:?}");
        };
        assert_eq!(key, expected_key);
        assert_eq!(expected, expected_text, "expected text for {key}");
    }

    let error = parse_err("[dos]\nmin_messages_per_connection = \"2\"\n");
    assert!(
        matches!(&error, PolicyError::WrongType { key, .. } if key == "dos.min_messages_per_connection"),
        "got {error:?}"
    );
    let error = parse_err("[dos]\ngeneric_helo_names = [\"a.example\", \"A.example.\"]\n");
    assert!(
        matches!(&error, PolicyError::Duplicate { key, .. } if key == "dos.generic_helo_names[1]"),
        "got {error:?}"
    );
}

#[test]
fn evidence_hosts_read_and_checked() {
    let policy = parse_ok("[smarthost]\nevidence_hosts = [\"Relay.Example.com.\", \"2001:db8::25\"]\n");
    assert_eq!(
        policy.smarthost.evidence_hosts,
        ["relay.example.com", "2001:db8::25"]
    );
    let empty = parse_ok("[smarthost]\nevidence_hosts = []\n");
    assert!(empty.smarthost.evidence_hosts.is_empty());

    let error = parse_err("[smarthost]\nevidence_hosts = [\"relay host\"]\n");
    assert!(
        matches!(&error, PolicyError::InvalidValue { key, .. } if key == "smarthost.evidence_hosts[0]"),
        "got {error:?}"
    );
}
