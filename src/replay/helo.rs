//! Generic HELO/EHLO names, which the relay may throttle with 421 4.7.0
//! (`dos.generic_helo`) because they do not identify the sending server.

use std::net::IpAddr;

use crate::policy::DEFAULT_EVIDENCE_HOST;

/// Form that makes a HELO name generic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum GenericHelo {
    Empty,
    Localhost,
    /// `[192.0.2.1]`, `[IPv6:2001:db8::1]`, or a bare address.
    IpLiteral,
    /// The relay's own name, `smtp-relay.gmail.com`.
    RelayName,
    /// Listed in the policy's `dos.generic_helo_names`.
    Listed,
    /// A single label such as `mailhost`.
    NoDot,
}

impl GenericHelo {
    /// Names the form for the `form` parameter of a note.
    pub(crate) fn key(self) -> &'static str {
        match self {
            GenericHelo::Empty => "empty",
            GenericHelo::Localhost => "localhost",
            GenericHelo::IpLiteral => "ip_literal",
            GenericHelo::RelayName => "relay_name",
            GenericHelo::Listed => "listed",
            GenericHelo::NoDot => "no_dot",
        }
    }

    /// Describes the form for a verdict detail.
    pub(crate) fn describe(self) -> &'static str {
        match self {
            GenericHelo::Empty => "an empty name",
            GenericHelo::Localhost => "a localhost name",
            GenericHelo::IpLiteral => "an IP literal",
            GenericHelo::RelayName => "the relay's own name",
            GenericHelo::Listed => "listed in dos.generic_helo_names",
            GenericHelo::NoDot => "a name without a dot",
        }
    }
}

/// Returns why `name` is generic, or `None` for a name that identifies a
/// host. Case and a trailing dot are ignored. `listed` contains lowercase
/// names without a trailing dot.
pub(crate) fn generic_helo(name: &str, listed: &[String]) -> Option<GenericHelo> {
    let trimmed = name.trim();
    let name = trimmed.strip_suffix('.').unwrap_or(trimmed).to_ascii_lowercase();
    if name.is_empty() {
        return Some(GenericHelo::Empty);
    }
    if name == "localhost" || name == "localhost.localdomain" {
        return Some(GenericHelo::Localhost);
    }
    if is_ip_literal(&name) {
        return Some(GenericHelo::IpLiteral);
    }
    if name == DEFAULT_EVIDENCE_HOST {
        return Some(GenericHelo::RelayName);
    }
    if listed.contains(&name) {
        return Some(GenericHelo::Listed);
    }
    if !name.contains('.') {
        return Some(GenericHelo::NoDot);
    }
    None
}

/// Returns whether `name` (lowercase) is an address literal of RFC 5321 section
/// 4.1.3 or a bare address, which clients send in place of one.
fn is_ip_literal(name: &str) -> bool {
    let inner = match name.strip_prefix('[').and_then(|rest| rest.strip_suffix(']')) {
        Some(inner) => inner.strip_prefix("ipv6:").unwrap_or(inner),
        None => name,
    };
    inner.parse::<IpAddr>().is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generic_forms() {
        let listed = vec!["mailhost.corp.example.com".to_string()];
        let cases: &[(&str, Option<GenericHelo>)] = &[
            ("", Some(GenericHelo::Empty)),
            ("   ", Some(GenericHelo::Empty)),
            ("localhost", Some(GenericHelo::Localhost)),
            ("LOCALHOST.localdomain.", Some(GenericHelo::Localhost)),
            ("[192.0.2.1]", Some(GenericHelo::IpLiteral)),
            ("[IPv6:2001:db8::1]", Some(GenericHelo::IpLiteral)),
            ("192.0.2.1", Some(GenericHelo::IpLiteral)),
            ("2001:db8::1", Some(GenericHelo::IpLiteral)),
            ("smtp-relay.gmail.com", Some(GenericHelo::RelayName)),
            ("SMTP-Relay.Gmail.com.", Some(GenericHelo::RelayName)),
            ("mailhost.corp.example.com", Some(GenericHelo::Listed)),
            ("MailHost.Corp.Example.com.", Some(GenericHelo::Listed)),
            ("mailhost", Some(GenericHelo::NoDot)),
            ("printer-3f", Some(GenericHelo::NoDot)),
            ("mx1.example.com", None),
            ("mx1.example.com.", None),
            ("smtp.gmail.com", None),
            ("[192.0.2.1", None),
            ("[not.an.address]", None),
        ];
        for (name, expected) in cases {
            assert_eq!(generic_helo(name, &listed), *expected, "{name:?}");
        }
    }

    #[test]
    fn listed_names_only_when_listed() {
        assert_eq!(generic_helo("mailhost.corp.example.com", &[]), None);
    }
}
