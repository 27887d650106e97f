//! The rule table: stable rule ids and the SMTP reply the relay gives when a
//! rule decides a verdict row.

use crate::note::Note;
use crate::replay::model::{CodeSource, Outcome};

/// One connection, sender or limit rule and the reply it produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    /// Stable id used in verdict rows and stats; empty for [`ACCEPTED`].
    pub id: &'static str,
    pub outcome: Outcome,
    pub reply_code: u16,
    pub enhanced_code: &'static str,
    pub code_source: CodeSource,
}

const fn rule(
    id: &'static str,
    outcome: Outcome,
    reply_code: u16,
    enhanced_code: &'static str,
    code_source: CodeSource,
) -> Rule {
    Rule {
        id,
        outcome,
        reply_code,
        enhanced_code,
        code_source,
    }
}

/// The reply to a recipient that no rule refused or rewrote.
pub const ACCEPTED: Rule = rule("", Outcome::Accepted, 250, "2.0.0", CodeSource::Documented);

pub const AUTH_WITHOUT_TLS: Rule = rule(
    "auth.auth_without_tls",
    Outcome::Rejected,
    530,
    "5.7.0",
    CodeSource::Documented,
);

pub const IP_NOT_ALLOWED: Rule = rule(
    "auth.ip_not_allowed",
    Outcome::Rejected,
    550,
    "5.7.0",
    CodeSource::Documented,
);

pub const SMTP_AUTH_REQUIRED: Rule = rule(
    "auth.smtp_auth_required",
    Outcome::Rejected,
    530,
    "5.7.0",
    CodeSource::Assumed,
);

pub const TLS_REQUIRED: Rule = rule(
    "tls.required",
    Outcome::Rejected,
    530,
    "5.7.0",
    CodeSource::Assumed,
);

/// Decides rows only when the policy sets `dos.generic_helo_outcome =
/// "throttled"`; otherwise it is reported as a warning.
pub const GENERIC_HELO: Rule = rule(
    "dos.generic_helo",
    Outcome::Throttled,
    421,
    "4.7.0",
    CodeSource::Documented,
);

/// Never decides a row: it is reported as a warning. The outcome and reply
/// are those the relay gives when it acts on the rule.
pub const NO_CONNECTION_REUSE: Rule = rule(
    "dos.no_connection_reuse",
    Outcome::Throttled,
    421,
    "4.7.0",
    CodeSource::Documented,
);

pub const NOT_REGISTERED_USER: Rule = rule(
    "sender.not_registered_user",
    Outcome::Rejected,
    550,
    "5.7.0",
    CodeSource::Documented,
);

pub const NO_GMAIL_LICENCE: Rule = rule(
    "sender.no_gmail_licence",
    Outcome::Rejected,
    550,
    "5.7.0",
    CodeSource::Assumed,
);

pub const DOMAIN_NOT_OWNED: Rule = rule(
    "sender.domain_not_owned",
    Outcome::Rejected,
    550,
    "5.7.1",
    CodeSource::Documented,
);

pub const UNIDENTIFIED: Rule = rule(
    "sender.unidentified",
    Outcome::Rejected,
    550,
    "5.7.1",
    CodeSource::Documented,
);

pub const REWRITE_POSTMASTER: Rule = rule(
    "sender.rewrite_postmaster",
    Outcome::Rewritten,
    250,
    "2.0.0",
    CodeSource::Documented,
);

pub const NULL_MULTI_RCPT: Rule = rule(
    "sender.null_multi_rcpt",
    Outcome::Rejected,
    550,
    "5.5.1",
    CodeSource::Assumed,
);

pub const MESSAGE_SIZE: Rule = rule(
    "limit.message_size",
    Outcome::Rejected,
    552,
    "5.3.4",
    CodeSource::Documented,
);

pub const TRANSACTION_RECIPIENTS: Rule = rule(
    "limit.transaction_recipients",
    Outcome::Throttled,
    452,
    "4.5.3",
    CodeSource::Documented,
);

pub const USER_MESSAGES: Rule = rule(
    "limit.user_messages",
    Outcome::Rejected,
    550,
    "5.4.5",
    CodeSource::Documented,
);

pub const USER_RECIPIENTS: Rule = rule(
    "limit.user_recipients",
    Outcome::Rejected,
    550,
    "5.4.5",
    CodeSource::Documented,
);

pub const ORG_RECIPIENTS_DAY: Rule = rule(
    "limit.org_recipients_day",
    Outcome::Rejected,
    550,
    "5.7.1",
    CodeSource::Documented,
);

pub const ORG_RECIPIENTS_10MIN: Rule = rule(
    "limit.org_recipients_10min",
    Outcome::Throttled,
    450,
    "4.2.1",
    CodeSource::Documented,
);

/// Every rule except [`ACCEPTED`], in evaluation order: the connection
/// rules decide before any sender or limit rule.
pub const ALL: [Rule; 18] = [
    AUTH_WITHOUT_TLS,
    IP_NOT_ALLOWED,
    SMTP_AUTH_REQUIRED,
    TLS_REQUIRED,
    GENERIC_HELO,
    NO_CONNECTION_REUSE,
    NOT_REGISTERED_USER,
    NO_GMAIL_LICENCE,
    DOMAIN_NOT_OWNED,
    UNIDENTIFIED,
    REWRITE_POSTMASTER,
    MESSAGE_SIZE,
    USER_MESSAGES,
    NULL_MULTI_RCPT,
    TRANSACTION_RECIPIENTS,
    USER_RECIPIENTS,
    ORG_RECIPIENTS_DAY,
    ORG_RECIPIENTS_10MIN,
];

/// The connection rules, which judge a connection before any message on it.
pub const CONNECTION_RULES: [Rule; 6] = [
    AUTH_WITHOUT_TLS,
    IP_NOT_ALLOWED,
    SMTP_AUTH_REQUIRED,
    TLS_REQUIRED,
    GENERIC_HELO,
    NO_CONNECTION_REUSE,
];

/// A rule that decided a verdict row, with the facts shown to the
/// administrator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Decision {
    pub(crate) rule: Rule,
    pub(crate) detail: Note,
    pub(crate) counter_value: Option<u64>,
    pub(crate) counter_limit: Option<u64>,
}

impl Decision {
    pub(crate) fn new(rule: Rule, detail: Note) -> Self {
        Decision {
            rule,
            detail,
            counter_value: None,
            counter_limit: None,
        }
    }

    pub(crate) fn with_counter(rule: Rule, detail: Note, value: u64, limit: u64) -> Self {
        Decision {
            rule,
            detail,
            counter_value: Some(value),
            counter_limit: Some(limit),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_ids_unique() {
        let mut ids: Vec<&str> = ALL.iter().map(|rule| rule.id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), ALL.len());
    }

    #[test]
    fn reply_class_matches_outcome() {
        for rule in ALL.iter().chain([&ACCEPTED]) {
            let class = rule.reply_code / 100;
            let expected = match rule.outcome {
                Outcome::Accepted | Outcome::Rewritten => 2,
                Outcome::Throttled => 4,
                Outcome::Rejected => 5,
            };
            assert_eq!(class, expected, "reply code of {:?}", rule.id);
            assert!(
                rule.enhanced_code.starts_with(&class.to_string()),
                "enhanced code of {:?}",
                rule.id
            );
        }
    }
}
