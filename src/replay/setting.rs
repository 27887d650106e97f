//! Matching of a connection against the relay settings.
//!
//! A setting lists what identifies a connection: its allowed IP ranges, if
//! it lists any, and SMTP AUTH, if it requires it. A connection matches a
//! setting when it meets every one of them. Google does not document the
//! order in which it tries several settings, so relayaudit tries them in
//! the order of the policy file and takes the first match. When a later
//! setting matches too and would judge differently, the verdicts depend on
//! that order, and the match lists it in `also_matching`.

use std::net::IpAddr;

use crate::note::{Note, Params};
use crate::policy::RelaySetting;
use crate::replay::model::RelayConnection;
use crate::replay::rules::{Decision, IP_NOT_ALLOWED, SMTP_AUTH_REQUIRED};
use ipnet::IpNet;

/// Codes of the refusal details this module writes.
pub(crate) const NOTE_CODES: &[&str] = &[
    "smtp_auth_required_in_range",
    "address_not_in_ranges",
    "smtp_auth_required",
];

/// Reason a connection matches its setting.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum MatchReason {
    /// The setting's allowed range contains the address, and the
    /// connection authenticated if the setting requires it.
    IpRange(IpNet),
    /// The setting lists no IP ranges, requires SMTP AUTH, and the
    /// connection authenticated as this user.
    Auth(String),
    /// The setting lists no IP ranges and does not require SMTP AUTH.
    Open,
    /// The setting lists IP ranges, but the address is unknown, so it is
    /// taken to be allowed.
    IpUnknown,
}

/// The outcome of matching one connection against the relay settings.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum SettingMatch {
    /// The policy lists no relay settings.
    NoSettings,
    Matched {
        /// Index in `policy.relays`.
        setting: usize,
        reason: MatchReason,
        /// Later settings that match too and differ in allowed senders or
        /// in requiring TLS, so a different order would judge differently.
        also_matching: Vec<usize>,
    },
    /// No setting matches: `auth.ip_not_allowed` or
    /// `auth.smtp_auth_required` refuses the connection.
    Refused(Decision),
}

/// Facts a connection offers to identify itself.
struct Identity<'a> {
    ip: Option<IpAddr>,
    auth_user: Option<&'a str>,
}

/// Result of one setting judging an identity.
enum Fit {
    Match(MatchReason),
    /// The address is known and in none of the setting's ranges.
    IpOutside,
    /// The address fits but the setting requires SMTP AUTH, which the
    /// connection did not complete.
    AuthMissing {
        ip_range: Option<IpNet>,
    },
}

fn fit(setting: &RelaySetting, identity: &Identity<'_>) -> Fit {
    let ip_range = match (setting.allowed_ips.is_empty(), identity.ip) {
        (true, _) => None,
        (false, Some(ip)) => match setting.allowed_ips.iter().find(|range| range.contains(&ip)) {
            Some(range) => Some(*range),
            None => return Fit::IpOutside,
        },
        (false, None) => None,
    };
    if setting.require_smtp_auth && identity.auth_user.is_none() {
        return Fit::AuthMissing { ip_range };
    }
    let reason = match (ip_range, identity.auth_user) {
        (Some(range), _) => MatchReason::IpRange(range),
        (None, _) if !setting.allowed_ips.is_empty() => MatchReason::IpUnknown,
        (None, Some(user)) if setting.require_smtp_auth => MatchReason::Auth(user.to_string()),
        (None, _) => MatchReason::Open,
    };
    Fit::Match(reason)
}

/// Matches `connection` against `settings` in file order.
///
/// A setting whose ranges cannot be checked, because the address is
/// unknown, matches only when no setting matches on known facts. Its IP
/// rule is then not judged.
pub(crate) fn match_setting(connection: &RelayConnection, settings: &[RelaySetting]) -> SettingMatch {
    if settings.is_empty() {
        return SettingMatch::NoSettings;
    }
    let identity = Identity {
        ip: connection.client_ip,
        auth_user: connection.auth_user.as_deref(),
    };
    let fits: Vec<Fit> = settings.iter().map(|setting| fit(setting, &identity)).collect();

    let matching: Vec<usize> = fits
        .iter()
        .enumerate()
        .filter(|(_, fit)| matches!(fit, Fit::Match(reason) if *reason != MatchReason::IpUnknown))
        .map(|(index, _)| index)
        .collect();
    let matching = if matching.is_empty() {
        fits.iter()
            .enumerate()
            .filter(|(_, fit)| matches!(fit, Fit::Match(_)))
            .map(|(index, _)| index)
            .collect()
    } else {
        matching
    };

    if let Some((&first, rest)) = matching.split_first() {
        let chosen = &settings[first];
        let also_matching = rest
            .iter()
            .copied()
            .filter(|&other| {
                settings[other].allowed_senders != chosen.allowed_senders
                    || settings[other].require_tls != chosen.require_tls
            })
            .collect();
        let Fit::Match(reason) = &fits[first] else {
            unreachable!("matching holds only matches");
        };
        return SettingMatch::Matched {
            setting: first,
            reason: reason.clone(),
            also_matching,
        };
    }
    SettingMatch::Refused(refusal(connection, settings, &fits))
}

/// Chooses the rule that refuses a connection no setting matches. A setting
/// whose ranges contain the address but that requires SMTP AUTH points at
/// the missing AUTH. Failing that, a setting with ranges points at the
/// address. Otherwise every setting requires SMTP AUTH.
fn refusal(connection: &RelayConnection, settings: &[RelaySetting], fits: &[Fit]) -> Decision {
    let known_address = connection.client_ip.map(|ip| ip.to_string());
    let address = known_address.as_deref().unwrap_or("unknown");

    let auth_missing_in_range = fits.iter().enumerate().find_map(|(index, fit)| match fit {
        Fit::AuthMissing {
            ip_range: Some(range),
        } => Some((index, *range)),
        _ => None,
    });
    if let Some((index, range)) = auth_missing_in_range {
        let detail = Note::new(
            "smtp_auth_required_in_range",
            Params::new()
                .add("address", &known_address)
                .add("auth_attempted", connection.auth_attempted)
                .add("range", range.to_string())
                .add("setting", &settings[index].name),
            format!(
                "relay setting \"{}\" allows {address} (range {range}) but requires SMTP AUTH, \
                 and the connection {}",
                settings[index].name,
                auth_phrase(connection)
            ),
        );
        return Decision::new(SMTP_AUTH_REQUIRED, detail);
    }

    let ranged: Vec<&str> = settings
        .iter()
        .filter(|setting| !setting.allowed_ips.is_empty())
        .map(|setting| setting.name.as_str())
        .collect();
    if !ranged.is_empty() {
        let detail = Note::new(
            "address_not_in_ranges",
            Params::new()
                .add("address", &known_address)
                .add("settings", &ranged),
            format!(
                "{address} is in no allowed IP range of relay setting{} {}",
                if ranged.len() == 1 { "" } else { "s" },
                quoted_list(&ranged)
            ),
        );
        return Decision::new(IP_NOT_ALLOWED, detail);
    }

    let names: Vec<&str> = settings.iter().map(|setting| setting.name.as_str()).collect();
    let detail = Note::new(
        "smtp_auth_required",
        Params::new()
            .add("auth_attempted", connection.auth_attempted)
            .add("settings", &names),
        format!(
            "relay setting{} {} require{} SMTP AUTH, and the connection {}",
            if names.len() == 1 { "" } else { "s" },
            quoted_list(&names),
            if names.len() == 1 { "s" } else { "" },
            auth_phrase(connection)
        ),
    );
    Decision::new(SMTP_AUTH_REQUIRED, detail)
}

fn auth_phrase(connection: &RelayConnection) -> &'static str {
    if connection.auth_attempted {
        "tried SMTP AUTH without success"
    } else {
        "did not authenticate"
    }
}

/// Formats names as `"a"`, `"a" and "b"` or `"a", "b" and "c"`.
pub(crate) fn quoted_list(names: &[&str]) -> String {
    let quoted: Vec<String> = names.iter().map(|name| format!("\"{name}\"")).collect();
    match quoted.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::AllowedSenders;

    fn setting(name: &str, allowed: AllowedSenders, ips: &[&str], auth: bool) -> RelaySetting {
        RelaySetting {
            name: name.to_string(),
            allowed_senders: allowed,
            allowed_ips: ips.iter().map(|net| net.parse().expect("test range")).collect(),
            require_smtp_auth: auth,
            require_tls: false,
        }
    }

    fn connection(ip: Option<&str>, auth_user: Option<&str>) -> RelayConnection {
        RelayConnection {
            key: "test".to_string(),
            client_ip: ip.map(|text| text.parse().expect("test address")),
            auth_user: auth_user.map(str::to_string),
            auth_attempted: auth_user.is_some(),
            ..RelayConnection::default()
        }
    }

    fn matched_index(result: &SettingMatch) -> Option<usize> {
        match result {
            SettingMatch::Matched { setting, .. } => Some(*setting),
            _ => None,
        }
    }

    fn refused_rule(result: &SettingMatch) -> Option<&'static str> {
        match result {
            SettingMatch::Refused(decision) => Some(decision.rule.id),
            _ => None,
        }
    }

    #[test]
    fn ipv4_range_boundaries() {
        let settings = [setting("hub", AllowedSenders::Any, &["192.0.2.64/26"], false)];
        for inside in ["192.0.2.64", "192.0.2.127"] {
            let result = match_setting(&connection(Some(inside), None), &settings);
            assert_eq!(matched_index(&result), Some(0), "{inside}");
        }
        for outside in ["192.0.2.63", "192.0.2.128"] {
            let result = match_setting(&connection(Some(outside), None), &settings);
            assert_eq!(refused_rule(&result), Some("auth.ip_not_allowed"), "{outside}");
        }
    }

    #[test]
    fn ipv6_range_boundaries() {
        let settings = [setting("hub", AllowedSenders::Any, &["2001:db8:10::/112"], false)];
        for inside in ["2001:db8:10::", "2001:db8:10::ffff"] {
            let result = match_setting(&connection(Some(inside), None), &settings);
            assert_eq!(matched_index(&result), Some(0), "{inside}");
        }
        for outside in ["2001:db8:f:ffff:ffff:ffff:ffff:ffff", "2001:db8:10::1:0"] {
            let result = match_setting(&connection(Some(outside), None), &settings);
            assert_eq!(refused_rule(&result), Some("auth.ip_not_allowed"), "{outside}");
        }
    }

    #[test]
    fn single_address_range() {
        let settings = [setting("one", AllowedSenders::Any, &["198.51.100.7/32"], false)];
        assert_eq!(
            matched_index(&match_setting(&connection(Some("198.51.100.7"), None), &settings)),
            Some(0)
        );
        assert_eq!(
            refused_rule(&match_setting(&connection(Some("198.51.100.8"), None), &settings)),
            Some("auth.ip_not_allowed")
        );
    }

    #[test]
    fn only_second_setting_matches() {
        let settings = [
            setting("printers", AllowedSenders::Registered, &["10.9.0.0/24"], false),
            setting("hub", AllowedSenders::Domain, &["192.0.2.0/24"], false),
        ];
        let result = match_setting(&connection(Some("192.0.2.10"), None), &settings);
        let SettingMatch::Matched {
            setting,
            reason,
            also_matching,
        } = result
        else {
            panic!("expected a match, got {result:?}");
        };
        assert_eq!(setting, 1);
        assert_eq!(
            reason,
            MatchReason::IpRange("192.0.2.0/24".parse().expect("range"))
        );
        assert!(also_matching.is_empty());
    }

    #[test]
    fn first_of_several_matches_in_file_order() {
        let settings = [
            setting("wide", AllowedSenders::Any, &["192.0.2.0/24"], false),
            setting("narrow", AllowedSenders::Domain, &["192.0.2.10/32"], false),
            setting("same", AllowedSenders::Any, &["192.0.2.0/25"], false),
        ];
        let result = match_setting(&connection(Some("192.0.2.10"), None), &settings);
        let SettingMatch::Matched {
            setting,
            also_matching,
            ..
        } = result
        else {
            panic!("expected a match, got {result:?}");
        };
        assert_eq!(setting, 0);
        // "same" judges like "wide", so only "narrow" makes the order matter.
        assert_eq!(also_matching, [1]);
    }

    #[test]
    fn auth_setting_matches_authenticated_connection() {
        let settings = [
            setting("hub", AllowedSenders::Domain, &["192.0.2.0/24"], false),
            setting("apps", AllowedSenders::Any, &[], true),
        ];
        let result = match_setting(
            &connection(Some("203.0.113.9"), Some("app@example.com")),
            &settings,
        );
        assert_eq!(matched_index(&result), Some(1));
        let SettingMatch::Matched { reason, .. } = result else {
            unreachable!();
        };
        assert_eq!(reason, MatchReason::Auth("app@example.com".to_string()));
    }

    #[test]
    fn unauthenticated_connection_in_auth_setting_range() {
        let settings = [setting("hub", AllowedSenders::Any, &["192.0.2.0/24"], true)];
        let result = match_setting(&connection(Some("192.0.2.10"), None), &settings);
        assert_eq!(refused_rule(&result), Some("auth.smtp_auth_required"));
        let authenticated = match_setting(&connection(Some("192.0.2.10"), Some("u")), &settings);
        assert_eq!(matched_index(&authenticated), Some(0));
        // Outside the range, AUTH does not help.
        let outside = match_setting(&connection(Some("198.51.100.1"), Some("u")), &settings);
        assert_eq!(refused_rule(&outside), Some("auth.ip_not_allowed"));
    }

    #[test]
    fn auth_only_settings_refuse_with_auth_rule() {
        let settings = [setting("apps", AllowedSenders::Any, &[], true)];
        let result = match_setting(&connection(Some("192.0.2.10"), None), &settings);
        assert_eq!(refused_rule(&result), Some("auth.smtp_auth_required"));
    }

    #[test]
    fn unknown_address_matches_after_known_facts() {
        let settings = [
            setting("hub", AllowedSenders::Domain, &["192.0.2.0/24"], false),
            setting("apps", AllowedSenders::Any, &[], true),
        ];
        let authenticated = match_setting(&connection(None, Some("u")), &settings);
        assert_eq!(matched_index(&authenticated), Some(1));
        let unauthenticated = match_setting(&connection(None, None), &settings);
        let SettingMatch::Matched { setting, reason, .. } = unauthenticated else {
            panic!("expected a match, got {unauthenticated:?}");
        };
        assert_eq!(setting, 0);
        assert_eq!(reason, MatchReason::IpUnknown);
    }

    #[test]
    fn open_setting_matches_everything() {
        let settings = [setting("default", AllowedSenders::Any, &[], false)];
        let result = match_setting(&connection(None, None), &settings);
        let SettingMatch::Matched { reason, .. } = result else {
            panic!("expected a match, got {result:?}");
        };
        assert_eq!(reason, MatchReason::Open);
        assert_eq!(
            match_setting(&connection(None, None), &[]),
            SettingMatch::NoSettings
        );
    }

    #[test]
    fn quoted_lists() {
        assert_eq!(quoted_list(&["a"]), "\"a\"");
        assert_eq!(quoted_list(&["a", "b"]), "\"a\" and \"b\"");
        assert_eq!(quoted_list(&["a", "b", "c"]), "\"a\", \"b\" and \"c\"");
    }
}
