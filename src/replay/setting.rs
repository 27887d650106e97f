//! Choice of the relay setting that judges senders in smarthost mode, where
//! every message arrives over the one connection that `policy.smarthost`
//! describes.

use crate::policy::{AllowedSenders, Policy};

/// The relay setting that judges every sender, and why it was chosen.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SettingChoice {
    /// Setting name; `None` when the policy lists no relay settings.
    pub(crate) name: Option<String>,
    pub(crate) allowed_senders: AllowedSenders,
    /// Sentence for `ReplayStats::assumptions`.
    pub(crate) reason: String,
}

/// Chooses the setting from `policy.relays` in file order. The first setting
/// whose IP ranges contain the smarthost egress address wins. Next comes the
/// first setting that requires SMTP AUTH, when the smarthost authenticates.
/// Otherwise the first setting is used. Whether the relay accepts the
/// connection at all is left to the connection rules.
pub(crate) fn choose_setting(policy: &Policy) -> SettingChoice {
    let smarthost = &policy.smarthost;
    let egress = match smarthost.egress_ip {
        Some(ip) => ip.to_string(),
        None => "(not given)".to_string(),
    };

    let Some(first) = policy.relays.first() else {
        return SettingChoice {
            name: None,
            allowed_senders: AllowedSenders::Any,
            reason: "The policy lists no relay settings, so senders are judged as if a setting \
                     allowed any address."
                .to_string(),
        };
    };

    if let Some(ip) = smarthost.egress_ip {
        let by_ip = policy
            .relays
            .iter()
            .find(|setting| setting.allowed_ips.iter().any(|net| net.contains(&ip)));
        if let Some(setting) = by_ip {
            return SettingChoice {
                name: Some(setting.name.clone()),
                allowed_senders: setting.allowed_senders,
                reason: format!(
                    "Relay setting \"{}\" judges the senders because its allowed IP ranges \
                     contain the smarthost egress address {ip}.",
                    setting.name
                ),
            };
        }
    }

    if !smarthost.auth_user.is_empty() {
        let by_auth = policy.relays.iter().find(|setting| setting.require_smtp_auth);
        if let Some(setting) = by_auth {
            return SettingChoice {
                name: Some(setting.name.clone()),
                allowed_senders: setting.allowed_senders,
                reason: format!(
                    "No relay setting allows the smarthost egress address {egress}. Relay \
                     setting \"{}\" judges the senders because it is the first that requires \
                     SMTP AUTH, and the smarthost authenticates as {}.",
                    setting.name, smarthost.auth_user
                ),
            };
        }
    }

    let auth = if smarthost.auth_user.is_empty() {
        "no SMTP AUTH".to_string()
    } else {
        format!("SMTP AUTH as {}", smarthost.auth_user)
    };
    SettingChoice {
        name: Some(first.name.clone()),
        allowed_senders: first.allowed_senders,
        reason: format!(
            "No relay setting matches the smarthost connection (egress address {egress}, \
             {auth}), so the first setting, \"{}\", judges the senders. The connection rules \
             report whether the relay accepts that connection.",
            first.name
        ),
    }
}
