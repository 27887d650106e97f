//! Sender rules: whether the chosen relay setting accepts the envelope sender,
//! and the postmaster rewrite of the "any addresses" setting.

use serde_json::json;

use crate::note::{Note, Params};
use crate::policy::{AllowedSenders, Organisation};
use crate::replay::model::RelayMessage;
use crate::replay::rules::{
    Decision, DOMAIN_NOT_OWNED, NOT_REGISTERED_USER, NO_GMAIL_LICENCE, NULL_MULTI_RCPT, REWRITE_POSTMASTER,
    UNIDENTIFIED,
};
use crate::replay::text::group_thousands;

/// Codes of the notes this module writes: verdict details of the sender
/// rules, then the reasons in `not_judged_rules`.
pub(crate) const NOTE_CODES: &[&str] = &[
    "not_registered_user",
    "no_gmail_licence",
    "sender_domain_not_owned",
    "rewrite_postmaster",
    "unidentified_sender",
    "null_sender_multiple_recipients",
    "registered_users_unknown",
    "gmail_licences_unknown",
    "owned_domains_unknown",
    "outside_owned_domains_unknown",
    "sender_identity_unknown",
];

/// The envelope sender that the relay uses after the sender rules.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SenderJudgement {
    /// Lowercase sender that the later rules and the per-user counters see:
    /// the original one, or the postmaster address after a rewrite.
    pub(crate) effective_sender: String,
    pub(crate) rewrite: Option<Rewrite>,
    /// Sender rule that refuses the whole message, if any.
    pub(crate) rejection: Option<Decision>,
    pub(crate) user_limits_apply: bool,
    /// True when the "any addresses" setting could not tell whether the
    /// relay rewrites or refuses an outside sender: no SMTP AUTH identity
    /// names an owned domain and the HELO name is unknown. The sender rules
    /// then accept, the per-user limits do not count the sender, and the
    /// message is counted in `sender_identity_unknown`.
    pub(crate) identity_unknown: bool,
}

/// A postmaster rewrite of the envelope sender.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Rewrite {
    /// Envelope sender as logged.
    pub(crate) from: String,
    pub(crate) to: String,
    pub(crate) detail: Note,
}

/// Parsed shape of an envelope sender.
#[derive(Debug, Clone, Copy, PartialEq)]
enum SenderShape<'a> {
    Null,
    /// A local part without `@`, such as `root`.
    Bare,
    Address {
        domain: &'a str,
    },
}

fn sender_shape(sender: &str) -> SenderShape<'_> {
    if sender.is_empty() {
        return SenderShape::Null;
    }
    match sender.rsplit_once('@') {
        Some((_, domain)) if !domain.is_empty() => SenderShape::Address { domain },
        _ => SenderShape::Bare,
    }
}

/// Names the sender for a verdict detail.
fn describe_sender(sender: &str) -> String {
    match sender_shape(sender) {
        SenderShape::Null => "null envelope sender".to_string(),
        SenderShape::Bare => format!("bare local part {sender}"),
        SenderShape::Address { .. } => sender.to_string(),
    }
}

/// Names the shape of the sender for the `sender_kind` parameter of a note:
/// `null`, `bare` or `address`.
fn sender_kind(sender: &str) -> &'static str {
    match sender_shape(sender) {
        SenderShape::Null => "null",
        SenderShape::Bare => "bare",
        SenderShape::Address { .. } => "address",
    }
}

/// Applies the sender rules of the `allowed` setting to `message`.
///
/// Rules that need information the policy lacks (owned domains, a users
/// file) accept the sender, and `not_judged_rules` lists them.
pub(crate) fn judge_sender(
    message: &RelayMessage,
    allowed: AllowedSenders,
    organisation: &Organisation,
) -> SenderJudgement {
    let sender = message.envelope_from.to_ascii_lowercase();
    let shape = sender_shape(&sender);
    let owned_domain = match shape {
        SenderShape::Address { domain } => organisation.owned_domain_of(domain),
        SenderShape::Null | SenderShape::Bare => None,
    };
    let domains_known = !organisation.domains.is_empty();

    let mut rejection = None;
    let mut rewrite = None;
    let mut identity_unknown = false;
    match allowed {
        AllowedSenders::Registered => {
            if let Some(users) = &organisation.users {
                if users.licence_of(&sender).is_none() {
                    let detail = Note::new(
                        "not_registered_user",
                        Params::new()
                            .add("sender", &sender)
                            .add("sender_kind", sender_kind(&sender)),
                        format!("{} is not a registered user", describe_sender(&sender)),
                    );
                    rejection = Some(Decision::new(NOT_REGISTERED_USER, detail));
                }
            }
        }
        AllowedSenders::Domain => {
            if domains_known && owned_domain.is_none() {
                rejection = Some(Decision::new(DOMAIN_NOT_OWNED, not_owned_detail(&sender)));
            }
        }
        AllowedSenders::Any => {
            if domains_known && owned_domain.is_none() {
                match identify_customer(message, organisation) {
                    Some(identity) => {
                        let domain = &identity.domain;
                        let to = format!("postmaster@{domain}");
                        let detail = Note::new(
                            "rewrite_postmaster",
                            Params::new()
                                .add("domain", domain)
                                .add("identified_by", identity.source)
                                .add("identity", &identity.name)
                                .add("sender", &sender)
                                .add("sender_kind", sender_kind(&sender))
                                .add("to", &to),
                            format!(
                                "{} is outside the owned domains, so the relay rewrites it to {to} \
                                 because {} identifies {domain}",
                                describe_sender(&sender),
                                identity.phrase()
                            ),
                        );
                        rewrite = Some(Rewrite {
                            from: message.envelope_from.clone(),
                            to,
                            detail,
                        });
                    }
                    // Postfix logs the client's HELO only in reject lines,
                    // and a smarthost policy may not give it: an unknown name
                    // could still name an owned domain.
                    None if message.helo.is_empty() => identity_unknown = true,
                    None => {
                        let detail = Note::new(
                            "unidentified_sender",
                            Params::new()
                                .add("auth_user", &message.auth_user)
                                .add("helo", &message.helo)
                                .add("sender", &sender)
                                .add("sender_kind", sender_kind(&sender)),
                            format!(
                                "{} is outside the owned domains, and neither SMTP AUTH ({}) nor \
                                 HELO ({}) identifies the organisation",
                                describe_sender(&sender),
                                or_none(&message.auth_user),
                                or_none(&message.helo)
                            ),
                        );
                        rejection = Some(Decision::new(UNIDENTIFIED, detail));
                    }
                }
            }
        }
    }

    // The licence check concerns the sender's own account, which a rewritten
    // message no longer names.
    if rejection.is_none() && rewrite.is_none() {
        rejection = check_licence(&sender, organisation);
    }

    let effective_sender = match &rewrite {
        Some(rewrite) => rewrite.to.clone(),
        None => sender,
    };
    // When the relay might either rewrite the sender or refuse the message,
    // neither outcome counts the logged address as a user.
    let user_limits_apply = match &organisation.users {
        _ if identity_unknown => false,
        Some(users) => users.licence_of(&effective_sender).is_some(),
        // Without a users file every non-null sender counts as a user, except
        // a rewritten one: the postmaster address replaces senders that are
        // not users.
        None => !effective_sender.is_empty() && rewrite.is_none(),
    };

    SenderJudgement {
        effective_sender,
        rewrite,
        rejection,
        user_limits_apply,
        identity_unknown,
    }
}

/// Says that `messages` messages from outside senders were accepted because
/// neither SMTP AUTH nor a known HELO name showed whether the relay would
/// rewrite them to postmaster@ an owned domain or refuse them.
pub(crate) fn identity_unknown_note(messages: u64) -> Note {
    Note::new(
        "sender_identity_unknown",
        json!({ "rules": [UNIDENTIFIED.id, REWRITE_POSTMASTER.id], "messages": messages }),
        format!(
            "{}, {}: {} from senders outside the owned domains came without SMTP AUTH \
             and with an unknown HELO name, so whether the relay rewrites or refuses them is \
             not known; the sender rules accept them and the per-user limits do not count them",
            UNIDENTIFIED.id,
            REWRITE_POSTMASTER.id,
            crate::replay::text::count_noun(messages, "message")
        ),
    )
}

/// Lists, as notes reading `rule id: reason`, the sender rules of the
/// `allowed` setting that the organisation data is too sparse to judge.
/// Those rules accept. Each note names its rule in the `rules` parameter.
pub(crate) fn not_judged_rules(allowed: AllowedSenders, organisation: &Organisation) -> Vec<Note> {
    let no_users = organisation.users.is_none();
    let no_domains = organisation.domains.is_empty();
    let mut not_judged = Vec::new();
    let note = |code: &'static str, rule: &str, reason: &str| {
        Note::new(code, json!({ "rules": [rule] }), format!("{rule}: {reason}"))
    };

    if allowed == AllowedSenders::Registered && no_users {
        not_judged.push(note(
            "registered_users_unknown",
            NOT_REGISTERED_USER.id,
            "the policy names no users file, so registered users are unknown",
        ));
    }
    if no_users {
        not_judged.push(note(
            "gmail_licences_unknown",
            NO_GMAIL_LICENCE.id,
            "the policy names no users file, so Gmail licences are unknown",
        ));
    }
    if allowed == AllowedSenders::Domain && no_domains {
        not_judged.push(note(
            "owned_domains_unknown",
            DOMAIN_NOT_OWNED.id,
            "the policy lists no owned domains",
        ));
    }
    if allowed == AllowedSenders::Any && no_domains {
        for rule in [UNIDENTIFIED, REWRITE_POSTMASTER] {
            not_judged.push(note(
                "outside_owned_domains_unknown",
                rule.id,
                "the policy lists no owned domains, so no sender is known to be outside them",
            ));
        }
    }
    not_judged
}

/// Returns `sender.no_gmail_licence` when `sender` is a registered user
/// without a Gmail licence.
fn check_licence(sender: &str, organisation: &Organisation) -> Option<Decision> {
    let users = organisation.users.as_ref()?;
    if users.licence_of(sender) != Some(false) {
        return None;
    }
    let detail = Note::new(
        "no_gmail_licence",
        Params::new().add("sender", sender),
        format!("{sender} is a registered user without a Gmail licence"),
    );
    Some(Decision::new(NO_GMAIL_LICENCE, detail))
}

fn not_owned_detail(sender: &str) -> Note {
    let (params, text) = match sender_shape(sender) {
        SenderShape::Null => (
            Params::new().add("sender", sender).add("sender_kind", "null"),
            "null envelope sender has no domain, so it is in no owned domain".to_string(),
        ),
        SenderShape::Bare => (
            Params::new().add("sender", sender).add("sender_kind", "bare"),
            format!("bare local part {sender} has no domain, so it is in no owned domain"),
        ),
        SenderShape::Address { domain } => (
            Params::new()
                .add("domain", domain)
                .add("sender", sender)
                .add("sender_kind", "address"),
            format!("sender domain {domain} is not an owned domain"),
        ),
    };
    Note::new("sender_domain_not_owned", params, text)
}

fn or_none(value: &str) -> &str {
    if value.is_empty() {
        "none"
    } else {
        value
    }
}

/// The customer identity that permits a postmaster rewrite.
struct Identity {
    /// The owned domain identified.
    domain: String,
    /// `smtp_auth` or `helo`.
    source: &'static str,
    /// The SMTP AUTH user or the HELO name, lowercase.
    name: String,
}

impl Identity {
    /// Names the source for the English detail: `SMTP AUTH as a@b` or
    /// `HELO mx.b`.
    fn phrase(&self) -> String {
        match self.source {
            "smtp_auth" => format!("SMTP AUTH as {}", self.name),
            _ => format!("HELO {}", self.name),
        }
    }
}

/// Returns the owned domain that identifies the customer and its source.
/// SMTP AUTH wins over HELO. A bare AUTH user identifies the primary
/// domain.
fn identify_customer(message: &RelayMessage, organisation: &Organisation) -> Option<Identity> {
    let auth_user = message.auth_user.to_ascii_lowercase();
    if !auth_user.is_empty() {
        let auth_domain = match auth_user.rsplit_once('@') {
            Some((_, domain)) => organisation.owned_domain_of(domain),
            None => organisation.domains.first().map(String::as_str),
        };
        if let Some(domain) = auth_domain {
            return Some(Identity {
                domain: domain.to_string(),
                source: "smtp_auth",
                name: auth_user,
            });
        }
    }

    let helo = message.helo.trim_end_matches('.').to_ascii_lowercase();
    // A HELO name is a host name, so a host under an owned domain identifies
    // it even when the policy does not count subdomains as owned.
    let helo_domain = organisation.domains.iter().find(|owned| {
        helo == **owned
            || (helo.len() > owned.len()
                && helo.ends_with(owned.as_str())
                && helo.as_bytes()[helo.len() - owned.len() - 1] == b'.')
    });
    helo_domain.map(|domain| Identity {
        domain: domain.clone(),
        source: "helo",
        name: helo.clone(),
    })
}

/// Returns `sender.null_multi_rcpt` when the null sender addresses more than
/// one recipient in one transaction. The relay rejects such a message as a
/// whole, so every recipient of the transaction gets the rule, the first
/// included. The check reads the envelope sender as the MTA sent it, before
/// any postmaster rewrite applies.
pub(crate) fn check_null_multi_rcpt(
    envelope_sender: &str,
    transaction_recipients: usize,
) -> Option<Decision> {
    if !envelope_sender.is_empty() || transaction_recipients <= 1 {
        return None;
    }
    let detail = Note::new(
        "null_sender_multiple_recipients",
        Params::new().add("recipients", transaction_recipients),
        format!(
            "null envelope sender with {} recipients in one transaction",
            group_thousands(transaction_recipients as u64)
        ),
    );
    Some(Decision::new(NULL_MULTI_RCPT, detail))
}
