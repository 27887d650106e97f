//! Connection rules: whether the relay accepts a connection before any
//! message on it. `auth.auth_without_tls` comes first, then the relay
//! setting match (`auth.ip_not_allowed`, `auth.smtp_auth_required`), then
//! the matched setting's `tls.required`, then `dos.generic_helo`. A refusal
//! reaches every recipient of every message on the connection.
//!
//! `dos.no_connection_reuse` depends on many connections at once and is
//! judged in `reuse`.

use crate::note::{Note, Params};
use crate::policy::{HeloAction, Policy};
use crate::replay::helo::generic_helo;
use crate::replay::model::RelayConnection;
use crate::replay::rules::{Decision, AUTH_WITHOUT_TLS, GENERIC_HELO, TLS_REQUIRED};
use crate::replay::setting::{match_setting, MatchReason, SettingMatch};

/// Codes of the refusal and warning details this module writes.
pub(crate) const NOTE_CODES: &[&str] = &["auth_without_tls", "tls_required_plain_text", "generic_helo"];

/// The connection rules' judgement of one connection.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Judgement {
    pub(crate) matched: SettingMatch,
    /// Refuses every recipient on the connection.
    pub(crate) refusal: Option<Decision>,
    /// Detail of a `dos.generic_helo` warning.
    pub(crate) helo_warning: Option<Note>,
    pub(crate) unknown: UnknownFacts,
}

/// Facts a connection lacks, so that a rule could not be judged for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct UnknownFacts {
    /// The address is unknown and some setting lists IP ranges.
    pub(crate) address: bool,
    /// TLS is unknown and the matched setting requires it, or the client
    /// tried SMTP AUTH.
    pub(crate) tls: bool,
    pub(crate) helo: bool,
}

impl Judgement {
    /// Index in `policy.relays` of the matched setting.
    pub(crate) fn setting(&self) -> Option<usize> {
        match &self.matched {
            SettingMatch::Matched { setting, .. } => Some(*setting),
            SettingMatch::NoSettings | SettingMatch::Refused(_) => None,
        }
    }
}

/// Applies the connection rules of `policy` to `connection`.
pub(crate) fn judge_connection(connection: &RelayConnection, policy: &Policy) -> Judgement {
    let mut unknown = UnknownFacts {
        address: connection.client_ip.is_none() && policy.relays.iter().any(|s| !s.allowed_ips.is_empty()),
        ..UnknownFacts::default()
    };

    // The relay offers AUTH only after STARTTLS, so AUTH on a plain
    // connection fails before any setting can match on it.
    let auth_without_tls = connection.auth_attempted && connection.tls == Some(false);
    if connection.auth_attempted && connection.tls.is_none() {
        unknown.tls = true;
    }
    let matched = if auth_without_tls {
        let unauthenticated = RelayConnection {
            auth_user: None,
            ..connection.clone()
        };
        match_setting(&unauthenticated, &policy.relays)
    } else {
        match_setting(connection, &policy.relays)
    };
    if matches!(
        matched,
        SettingMatch::Matched {
            reason: MatchReason::IpUnknown,
            ..
        }
    ) {
        unknown.address = true;
    }

    let mut refusal = None;
    if auth_without_tls {
        let detail = Note::new(
            "auth_without_tls",
            Params::new(),
            "the client tried SMTP AUTH on a plain-text connection, and the relay offers AUTH \
             only after STARTTLS"
                .to_string(),
        );
        refusal = Some(Decision::new(AUTH_WITHOUT_TLS, detail));
    }
    match &matched {
        SettingMatch::Refused(decision) => {
            refusal = refusal.or_else(|| Some(decision.clone()));
        }
        SettingMatch::Matched { setting, .. } => {
            let setting = &policy.relays[*setting];
            if setting.require_tls {
                match connection.tls {
                    Some(false) => {
                        let detail = Note::new(
                            "tls_required_plain_text",
                            Params::new().add("setting", &setting.name),
                            format!(
                                "relay setting \"{}\" requires TLS, and the connection is plain text",
                                setting.name
                            ),
                        );
                        refusal = refusal.or_else(|| Some(Decision::new(TLS_REQUIRED, detail)));
                    }
                    Some(true) => {}
                    None => unknown.tls = true,
                }
            }
        }
        SettingMatch::NoSettings => {}
    }

    let mut helo_warning = None;
    match &connection.helo {
        None => unknown.helo = true,
        Some(name) => {
            if let Some(form) = generic_helo(name, &policy.dos.generic_helo_names) {
                let detail = Note::new(
                    "generic_helo",
                    Params::new().add("form", form.key()).add("helo", name),
                    format!("HELO name \"{name}\" is {}", form.describe()),
                );
                match policy.dos.generic_helo {
                    HeloAction::Throttled => {
                        refusal = refusal.or_else(|| Some(Decision::new(GENERIC_HELO, detail)));
                    }
                    HeloAction::Warning => helo_warning = Some(detail),
                }
            }
        }
    }

    Judgement {
        matched,
        refusal,
        helo_warning,
        unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::{AllowedSenders, RelaySetting};

    fn policy_with(settings: Vec<RelaySetting>) -> Policy {
        let mut policy = Policy::builtin_default();
        policy.relays = settings;
        policy
    }

    fn setting(ips: &[&str], auth: bool, tls: bool) -> RelaySetting {
        RelaySetting {
            name: "hub".to_string(),
            allowed_senders: AllowedSenders::Any,
            allowed_ips: ips.iter().map(|net| net.parse().expect("test range")).collect(),
            require_smtp_auth: auth,
            require_tls: tls,
        }
    }

    fn connection(tls: Option<bool>, auth_user: Option<&str>, helo: Option<&str>) -> RelayConnection {
        RelayConnection {
            key: "test".to_string(),
            client_ip: Some("192.0.2.10".parse().expect("address")),
            tls,
            auth_user: auth_user.map(str::to_string),
            auth_attempted: auth_user.is_some(),
            helo: helo.map(str::to_string),
            ..RelayConnection::default()
        }
    }

    fn refused_by(judgement: &Judgement) -> Option<&'static str> {
        judgement.refusal.as_ref().map(|decision| decision.rule.id)
    }

    #[test]
    fn auth_with_tls_accepted() {
        let policy = policy_with(vec![setting(&[], true, true)]);
        let judgement = judge_connection(&connection(Some(true), Some("app@example.com"), None), &policy);
        assert_eq!(refused_by(&judgement), None);
        assert_eq!(judgement.setting(), Some(0));
    }

    #[test]
    fn auth_without_tls_rejected() {
        let policy = policy_with(vec![setting(&[], true, false)]);
        let judgement = judge_connection(&connection(Some(false), Some("app@example.com"), None), &policy);
        assert_eq!(refused_by(&judgement), Some("auth.auth_without_tls"));

        // The rule applies even where the setting only checks the address.
        let by_ip = policy_with(vec![setting(&["192.0.2.0/24"], false, false)]);
        let judgement = judge_connection(&connection(Some(false), Some("app@example.com"), None), &by_ip);
        assert_eq!(refused_by(&judgement), Some("auth.auth_without_tls"));
        assert_eq!(judgement.setting(), Some(0));
    }

    #[test]
    fn auth_with_unknown_tls_not_judged() {
        let policy = policy_with(vec![setting(&[], true, false)]);
        let judgement = judge_connection(&connection(None, Some("app@example.com"), None), &policy);
        assert_eq!(refused_by(&judgement), None);
        assert!(judgement.unknown.tls);
    }

    #[test]
    fn plain_connection_with_required_tls() {
        let policy = policy_with(vec![setting(&["192.0.2.0/24"], false, true)]);
        let plain = judge_connection(&connection(Some(false), None, None), &policy);
        assert_eq!(refused_by(&plain), Some("tls.required"));
        let encrypted = judge_connection(&connection(Some(true), None, None), &policy);
        assert_eq!(refused_by(&encrypted), None);
        let unknown = judge_connection(&connection(None, None, None), &policy);
        assert_eq!(refused_by(&unknown), None);
        assert!(unknown.unknown.tls);
    }

    #[test]
    fn address_rule_before_tls_and_helo() {
        let policy = policy_with(vec![setting(&["198.51.100.0/24"], false, true)]);
        let judgement = judge_connection(&connection(Some(false), None, Some("localhost")), &policy);
        assert_eq!(refused_by(&judgement), Some("auth.ip_not_allowed"));
        assert_eq!(judgement.setting(), None);
    }

    #[test]
    fn generic_helo_warning_or_throttle() {
        let mut policy = policy_with(vec![setting(&["192.0.2.0/24"], false, false)]);
        let warned = judge_connection(&connection(Some(true), None, Some("localhost")), &policy);
        assert_eq!(refused_by(&warned), None);
        let warning = warned.helo_warning.as_ref().expect("a warning");
        assert_eq!(warning.text, "HELO name \"localhost\" is a localhost name");
        assert_eq!(warning.params, r#"{"form":"localhost","helo":"localhost"}"#);

        policy.dos.generic_helo = HeloAction::Throttled;
        let throttled = judge_connection(&connection(Some(true), None, Some("[192.0.2.10]")), &policy);
        assert_eq!(refused_by(&throttled), Some("dos.generic_helo"));
        assert_eq!(throttled.helo_warning, None);

        let fine = judge_connection(&connection(Some(true), None, Some("app1.example.com")), &policy);
        assert_eq!(refused_by(&fine), None);
    }

    #[test]
    fn unknown_helo_not_judged() {
        let mut policy = policy_with(vec![setting(&["192.0.2.0/24"], false, false)]);
        policy.dos.generic_helo = HeloAction::Throttled;
        let judgement = judge_connection(&connection(Some(true), None, None), &policy);
        assert_eq!(refused_by(&judgement), None);
        assert!(judgement.unknown.helo);
        // An empty name is known, and generic.
        let empty = judge_connection(&connection(Some(true), None, Some("")), &policy);
        assert_eq!(refused_by(&empty), Some("dos.generic_helo"));
    }

    #[test]
    fn no_settings_judges_only_helo() {
        let mut policy = policy_with(Vec::new());
        policy.dos.generic_helo = HeloAction::Throttled;
        let judgement = judge_connection(&connection(Some(false), None, Some("mx1.example.com")), &policy);
        assert_eq!(judgement.matched, SettingMatch::NoSettings);
        assert_eq!(refused_by(&judgement), None);
    }
}
