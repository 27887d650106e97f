//! Postfix log lines: which daemon wrote a line and what it reports.
//!
//! [`parse_body`] turns the text after the syslog tag into one [`Event`],
//! borrowing from the line. It does not keep state; the correlator joins the
//! events into messages, deliveries and sessions.
//!
//! Not handled yet: postscreen's per-test results (`PREGREET`, `DNSBL rank`)
//! are counted as informational lines, and milter `reject`/`discard` actions
//! from cleanup end the message without recording the milter's reply.

mod body;
pub mod correlate;

pub use body::{parse_body, QueueEvent, SessionEvent};

use crate::fields::{CommandCounters, Peer, Reply};

/// Kind of Postfix daemon named by a program tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Daemon {
    Smtpd,
    Postscreen,
    /// The SMTP or LMTP client; the value is `smtp` or `lmtp`.
    Client(&'static str),
    Qmgr,
    Cleanup,
    Pickup,
    /// A local delivery agent: `local`, `virtual`, `pipe`, `error`,
    /// `discard`, `retry`.
    LocalAgent(&'static str),
    Bounce,
    Postsuper,
    /// A Postfix helper whose lines carry no message or session facts
    /// (anvil, scache, master, postfix-script, postdrop, ...): counted with
    /// the lines of other programs.
    Auxiliary,
}

/// Classifies a program tag. Postfix tags start with `postfix` (or an
/// instance name such as `postfix-out`), then optional service names, then
/// the daemon: `postfix/submission/smtpd`, `postfix-mx/content-filter/smtp`.
/// Returns `None` for programs that are not Postfix.
pub fn daemon_of(program: &str) -> Option<Daemon> {
    if !program.starts_with("postfix") {
        return None;
    }
    let first = program.split('/').next().unwrap_or(program);
    if first != "postfix" && !first.starts_with("postfix-") {
        return None;
    }
    let last = program.rsplit('/').next().unwrap_or(program);
    if last == first {
        return Some(Daemon::Auxiliary);
    }
    Some(match last {
        "smtpd" => Daemon::Smtpd,
        "postscreen" => Daemon::Postscreen,
        "smtp" => Daemon::Client("smtp"),
        // The `relay` service of the stock master.cf runs smtp(8), and logs
        // may name it by the service alone.
        "relay" => Daemon::Client("smtp"),
        "lmtp" => Daemon::Client("lmtp"),
        "qmgr" | "oqmgr" => Daemon::Qmgr,
        "cleanup" => Daemon::Cleanup,
        "pickup" => Daemon::Pickup,
        "local" => Daemon::LocalAgent("local"),
        "virtual" => Daemon::LocalAgent("virtual"),
        "pipe" => Daemon::LocalAgent("pipe"),
        "error" => Daemon::LocalAgent("error"),
        "discard" => Daemon::LocalAgent("discard"),
        "retry" => Daemon::LocalAgent("retry"),
        "bounce" => Daemon::Bounce,
        "postsuper" => Daemon::Postsuper,
        _ => Daemon::Auxiliary,
    })
}

/// Fact reported by one Postfix line.
#[derive(Debug, Clone, PartialEq)]
pub enum Event<'a> {
    /// A line about one queued message: `QUEUEID: ...`.
    Queue {
        queue_id: &'a str,
        event: QueueEvent<'a>,
    },
    /// A line about an SMTP session of smtpd, postscreen or the SMTP client.
    Session(SessionEvent<'a>),
    /// A warning, statistic or notice that carries no message or session
    /// fact, but is a known Postfix form.
    Informational,
}

/// A `NOQUEUE: reject:` (or `QUEUEID: reject:`) line of smtpd or postscreen.
#[derive(Debug, Clone, PartialEq)]
pub struct SmtpReject<'a> {
    /// `RCPT`, `MAIL`, `CONNECT`, `END-OF-MESSAGE`, ...
    pub stage: &'a str,
    pub client: Peer<'a>,
    pub reply: Reply<'a>,
    pub from: Option<&'a str>,
    pub to: Option<&'a str>,
    pub proto: Option<&'a str>,
    pub helo: Option<&'a str>,
}

/// The fields of a delivery attempt line.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Delivery<'a> {
    pub to: &'a str,
    pub orig_to: Option<&'a str>,
    /// `relay=` as written: `name[ip]:port`, `none`, `local`, `dovecot`.
    pub relay: &'a str,
    pub relay_peer: Option<Peer<'a>>,
    pub conn_use: Option<u32>,
    pub delay: Option<f64>,
    pub delays: Option<&'a str>,
    pub dsn: Option<&'a str>,
    pub status: &'a str,
    /// The text in parentheses after the status.
    pub status_text: &'a str,
}

/// `Anonymous TLS connection established from name[ip]:port: TLSv1.3 with
/// cipher X (256/256 bits)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tls<'a> {
    /// `Anonymous`, `Untrusted`, `Trusted` or `Verified`.
    pub trust: &'a str,
    /// True for `established from` (inbound), false for `to` (outbound).
    pub inbound: bool,
    pub peer: Peer<'a>,
    pub protocol: &'a str,
    pub cipher: &'a str,
    pub bits: Option<&'a str>,
}

/// smtpd's `disconnect from` line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Disconnect<'a> {
    pub client: Peer<'a>,
    pub counters: CommandCounters,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn daemon_names() {
        let cases: &[(&str, Option<Daemon>)] = &[
            ("postfix/smtpd", Some(Daemon::Smtpd)),
            ("postfix/submission/smtpd", Some(Daemon::Smtpd)),
            ("postfix/smtps/smtpd", Some(Daemon::Smtpd)),
            ("postfix/smtp-25/smtpd", Some(Daemon::Smtpd)),
            ("postfix/10025/smtpd", Some(Daemon::Smtpd)),
            ("postfix-out/smtp", Some(Daemon::Client("smtp"))),
            ("postfix-mx/content-filter/smtp", Some(Daemon::Client("smtp"))),
            ("postfix/amavis/smtp", Some(Daemon::Client("smtp"))),
            ("postfix/relay", Some(Daemon::Client("smtp"))),
            ("postfix/relay/smtp", Some(Daemon::Client("smtp"))),
            ("postfix/lmtp", Some(Daemon::Client("lmtp"))),
            ("postfix/qmgr", Some(Daemon::Qmgr)),
            ("postfix/pipe", Some(Daemon::LocalAgent("pipe"))),
            ("postfix/anvil", Some(Daemon::Auxiliary)),
            ("postfix/postfix-script", Some(Daemon::Auxiliary)),
            ("postfix", Some(Daemon::Auxiliary)),
            ("postfixadmin", None),
            ("opendkim", None),
            ("sendmail", None),
        ];
        for (program, expected) in cases {
            assert_eq!(daemon_of(program), *expected, "{program}");
        }
    }
}
