//! The text of one Postfix line after the syslog tag.

use super::{Daemon, Delivery, Disconnect, Event, SmtpReject, Tls};
use crate::error::RejectCode;
use crate::fields::{parse_counters, parse_peer, parse_reply, unbracket, Pairs, Peer};

/// A fact about one queued message.
#[derive(Debug, Clone, PartialEq)]
pub enum QueueEvent<'a> {
    /// smtpd: `client=name[ip]` with optional SASL fields.
    Client {
        client: Peer<'a>,
        sasl_method: Option<&'a str>,
        sasl_username: Option<&'a str>,
        sasl_sender: Option<&'a str>,
    },
    /// pickup: `uid=0 from=<root>`.
    Pickup { uid: Option<u32>, from: &'a str },
    /// cleanup: `message-id=<...>` (may be empty).
    MessageId(&'a str),
    /// cleanup or smtpd dropped or held the message: `reject`, `discard`,
    /// `hold`, `milter-reject`, with the rest of the line.
    Stopped { action: &'a str, text: &'a str },
    /// qmgr: `from=<x>, size=N, nrcpt=N (queue active)`.
    Queued {
        from: &'a str,
        size: Option<u64>,
        nrcpt: Option<u32>,
    },
    /// qmgr: `from=<x>, status=expired, returned to sender`.
    Expired { from: &'a str },
    /// qmgr or postsuper: the message left the queue.
    Removed,
    /// A delivery agent's attempt for one recipient.
    Delivery(Delivery<'a>),
    /// bounce: `sender non-delivery notification: NEWID`.
    Notice { kind: &'a str, notice_id: &'a str },
    /// smtpd rejected one recipient of a message that already has a queue id.
    Reject(SmtpReject<'a>),
    /// Any other known remark about the message (`lost connection with`,
    /// `host ... said`, `skipped, still being delivered`, warnings).
    Note,
}

/// A fact about an SMTP session.
#[derive(Debug, Clone, PartialEq)]
pub enum SessionEvent<'a> {
    Connect {
        client: Peer<'a>,
    },
    Disconnect(Disconnect<'a>),
    Tls(Tls<'a>),
    SaslFailure {
        client: Peer<'a>,
        method: &'a str,
        reason: &'a str,
        username: Option<&'a str>,
    },
    Reject(SmtpReject<'a>),
    /// `lost connection after RCPT from ...`, `timeout after DATA from ...`,
    /// `too many errors after ...`: the session ended badly.
    Lost {
        client: Peer<'a>,
        after: &'a str,
    },
    /// postscreen `CONNECT from [ip]:port to [ip]:port`.
    ScreenConnect {
        client: Peer<'a>,
    },
    /// postscreen `DISCONNECT [ip]:port`.
    ScreenDisconnect {
        client: Peer<'a>,
    },
    /// A remark about the session (`improper command pipelining`,
    /// `non-SMTP command`).
    Note {
        client: Peer<'a>,
    },
    /// The SMTP client could not connect: `connect to x[ip]:25: Connection refused`.
    ConnectFailed {
        peer: Peer<'a>,
    },
}

/// Parses the text of a Postfix line written by `daemon`.
pub fn parse_body(daemon: Daemon, body: &str) -> Result<Event<'_>, RejectCode> {
    // Some logs carry trailing junk such as a run of commas.
    let body = body.trim_end_matches(|c: char| c == ',' || c.is_whitespace());
    if is_diagnostic(body) {
        return Ok(diagnostic(daemon, body));
    }
    if let Some((queue_id, rest)) = split_queue_id(body) {
        let event = match daemon {
            Daemon::Smtpd => smtpd_queue(rest)?,
            Daemon::Client(_) | Daemon::LocalAgent(_) => agent_queue(rest)?,
            Daemon::Qmgr => qmgr_queue(rest)?,
            Daemon::Cleanup => cleanup_queue(rest)?,
            Daemon::Pickup => pickup_queue(rest)?,
            Daemon::Bounce => bounce_queue(rest)?,
            Daemon::Postsuper => match rest {
                "removed" => QueueEvent::Removed,
                _ => QueueEvent::Note,
            },
            Daemon::Postscreen | Daemon::Auxiliary => return Err(RejectCode::UnrecognisedLine),
        };
        return Ok(Event::Queue { queue_id, event });
    }
    match daemon {
        Daemon::Smtpd => smtpd_session(body),
        Daemon::Postscreen => postscreen(body),
        Daemon::Client(_) => client_session(body),
        Daemon::Postsuper | Daemon::Qmgr | Daemon::Bounce if !body.is_empty() => Ok(Event::Informational),
        _ => Err(RejectCode::UnrecognisedLine),
    }
}

fn is_diagnostic(body: &str) -> bool {
    ["warning: ", "fatal: ", "panic: ", "error: ", "statistics: "]
        .iter()
        .any(|prefix| body.starts_with(prefix))
}

/// Diagnostics are informational, except SASL failures, which belong to the
/// session of the client that failed.
fn diagnostic(daemon: Daemon, body: &str) -> Event<'_> {
    if daemon == Daemon::Smtpd {
        if let Some(rest) = body.strip_prefix("warning: ") {
            if let Some(event) = sasl_failure(rest) {
                return Event::Session(event);
            }
        }
    }
    Event::Informational
}

/// `unknown[192.0.2.1]: SASL LOGIN authentication failed: reason[, sasl_username=x]`
fn sasl_failure(text: &str) -> Option<SessionEvent<'_>> {
    let (client, rest) = parse_peer(text)?;
    let rest = rest.strip_prefix(": SASL ")?;
    let (method, rest) = rest.split_once(" authentication failed:")?;
    let rest = rest.trim_start();
    let (reason, username) = match rest.rfind(", sasl_username=") {
        Some(at) => (&rest[..at], Some(&rest[at + ", sasl_username=".len()..])),
        None => match rest.strip_prefix("sasl_username=") {
            Some(name) => ("", Some(name)),
            None => (rest, None),
        },
    };
    Some(SessionEvent::SaslFailure {
        client,
        method,
        reason,
        username,
    })
}

/// Splits `QUEUEID: rest`. Short queue ids are upper-case hexadecimal, five
/// or more digits. Long ids (`enable_long_queue_ids`) are 12 or more letters
/// and digits with both kinds present, which keeps words such as `warning`
/// or `NOQUEUE` out.
fn split_queue_id(body: &str) -> Option<(&str, &str)> {
    let colon = body.find(": ")?;
    let id = &body[..colon];
    is_queue_id(id).then(|| (id, &body[colon + 2..]))
}

fn is_queue_id(id: &str) -> bool {
    let short = id.len() >= 5
        && id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b));
    let long = id.len() >= 12
        && id.bytes().all(|b| b.is_ascii_alphanumeric())
        && id.bytes().any(|b| b.is_ascii_digit())
        && id.bytes().any(|b| b.is_ascii_alphabetic());
    short || long
}

fn smtpd_queue(rest: &str) -> Result<QueueEvent<'_>, RejectCode> {
    if let Some(fields) = rest.strip_prefix("client=") {
        let (client, after) = parse_peer(fields).ok_or(RejectCode::BadFieldValue)?;
        let mut event = QueueEvent::Client {
            client,
            sasl_method: None,
            sasl_username: None,
            sasl_sender: None,
        };
        if let QueueEvent::Client {
            sasl_method,
            sasl_username,
            sasl_sender,
            ..
        } = &mut event
        {
            for (key, value) in Pairs::comma_separated(after) {
                match key {
                    "sasl_method" => *sasl_method = Some(value),
                    "sasl_username" => *sasl_username = Some(value),
                    "sasl_sender" => *sasl_sender = Some(value),
                    _ => {}
                }
            }
        }
        return Ok(event);
    }
    if let Some(reject) = rest.strip_prefix("reject: ") {
        return Ok(QueueEvent::Reject(smtp_reject(reject)?));
    }
    for action in ["discard: ", "hold: ", "filter: ", "warn: ", "redirect: "] {
        if let Some(text) = rest.strip_prefix(action) {
            return Ok(QueueEvent::Stopped {
                action: &action[..action.len() - 2],
                text,
            });
        }
    }
    Err(RejectCode::UnrecognisedLine)
}

fn agent_queue(rest: &str) -> Result<QueueEvent<'_>, RejectCode> {
    if rest.starts_with("to=<") {
        return delivery(rest).map(QueueEvent::Delivery);
    }
    const NOTES: [&str; 8] = [
        "lost connection with ",
        "conversation with ",
        "host ",
        "enabling PIX workarounds",
        "breaking line",
        "Server certificate",
        "SASL authentication failed",
        "sender non-delivery notification",
    ];
    if NOTES.iter().any(|note| rest.starts_with(note)) {
        return Ok(QueueEvent::Note);
    }
    Err(RejectCode::UnrecognisedLine)
}

/// Parses `to=<a>, orig_to=<b>, relay=..., conn_use=2, delay=0.1,
/// delays=a/b/c/d, dsn=2.0.0, status=sent (reply)`.
fn delivery(text: &str) -> Result<Delivery<'_>, RejectCode> {
    let mut out = Delivery::default();
    let mut saw_status = false;
    for (key, value) in Pairs::comma_separated(text) {
        match key {
            "to" => out.to = unbracket(value),
            "orig_to" => out.orig_to = Some(unbracket(value)),
            "relay" => {
                out.relay = value;
                out.relay_peer = parse_peer(value).map(|(peer, _)| peer);
            }
            "conn_use" => out.conn_use = Some(value.parse().map_err(|_| RejectCode::BadFieldValue)?),
            "delay" => out.delay = Some(value.parse().map_err(|_| RejectCode::BadFieldValue)?),
            "delays" => out.delays = Some(value),
            "dsn" => out.dsn = Some(value),
            "status" => {
                saw_status = true;
                let (status, reply) = match value.split_once(' ') {
                    Some((status, reply)) => (status, reply.trim()),
                    None => (value, ""),
                };
                out.status = status;
                out.status_text = reply
                    .strip_prefix('(')
                    .and_then(|r| r.strip_suffix(')'))
                    .unwrap_or(reply);
            }
            _ => {}
        }
    }
    if !saw_status || out.relay.is_empty() {
        return Err(RejectCode::UnrecognisedLine);
    }
    Ok(out)
}

fn qmgr_queue(rest: &str) -> Result<QueueEvent<'_>, RejectCode> {
    if rest == "removed" {
        return Ok(QueueEvent::Removed);
    }
    if rest.starts_with("skipped, still being delivered") {
        return Ok(QueueEvent::Note);
    }
    if !rest.starts_with("from=<") {
        return Err(RejectCode::UnrecognisedLine);
    }
    let mut from = None;
    let mut size = None;
    let mut nrcpt = None;
    let mut expired = false;
    for (key, value) in Pairs::comma_separated(rest) {
        match key {
            "from" => from = Some(unbracket(value)),
            "size" => size = Some(value.parse().map_err(|_| RejectCode::BadFieldValue)?),
            "nrcpt" => {
                // `nrcpt=1 (queue active)`: the count is the leading digits.
                let digits = value.split(' ').next().unwrap_or(value);
                nrcpt = Some(digits.parse().map_err(|_| RejectCode::BadFieldValue)?);
            }
            "status" if value.starts_with("expired") => expired = true,
            _ => {}
        }
    }
    let from = from.ok_or(RejectCode::UnrecognisedLine)?;
    if expired {
        return Ok(QueueEvent::Expired { from });
    }
    Ok(QueueEvent::Queued { from, size, nrcpt })
}

fn cleanup_queue(rest: &str) -> Result<QueueEvent<'_>, RejectCode> {
    if let Some(id) = rest.strip_prefix("message-id=") {
        return Ok(QueueEvent::MessageId(unbracket(id.trim())));
    }
    if rest.starts_with("resent-message-id=") {
        return Ok(QueueEvent::Note);
    }
    for action in [
        "milter-reject",
        "milter-discard",
        "milter-hold",
        "reject",
        "discard",
        "hold",
    ] {
        if let Some(text) = rest.strip_prefix(action).and_then(|t| t.strip_prefix(": ")) {
            return Ok(QueueEvent::Stopped { action, text });
        }
    }
    for action in [
        "warning: ",
        "replace: ",
        "redirect: ",
        "filter: ",
        "info: ",
        "prepend: ",
        "bcc: ",
        "milter-",
    ] {
        if rest.starts_with(action) {
            return Ok(QueueEvent::Note);
        }
    }
    Err(RejectCode::UnrecognisedLine)
}

fn pickup_queue(rest: &str) -> Result<QueueEvent<'_>, RejectCode> {
    let mut uid = None;
    let mut from = None;
    for (key, value) in Pairs::space_separated(rest) {
        match key {
            "uid" => uid = Some(value.parse().map_err(|_| RejectCode::BadFieldValue)?),
            "from" => from = Some(unbracket(value)),
            _ => {}
        }
    }
    let from = from.ok_or(RejectCode::UnrecognisedLine)?;
    Ok(QueueEvent::Pickup { uid, from })
}

fn bounce_queue(rest: &str) -> Result<QueueEvent<'_>, RejectCode> {
    let (kind, notice_id) = rest.rsplit_once(": ").ok_or(RejectCode::UnrecognisedLine)?;
    if !kind.ends_with("notification") || !is_queue_id(notice_id) {
        return Err(RejectCode::UnrecognisedLine);
    }
    Ok(QueueEvent::Notice { kind, notice_id })
}

fn smtpd_session(body: &str) -> Result<Event<'_>, RejectCode> {
    if let Some(rest) = body.strip_prefix("connect from ") {
        let (client, _) = parse_peer(rest).ok_or(RejectCode::BadFieldValue)?;
        return Ok(Event::Session(SessionEvent::Connect { client }));
    }
    if let Some(rest) = body.strip_prefix("disconnect from ") {
        let (client, after) = parse_peer(rest).ok_or(RejectCode::BadFieldValue)?;
        let counters = parse_counters(after).ok_or(RejectCode::BadFieldValue)?;
        return Ok(Event::Session(SessionEvent::Disconnect(Disconnect {
            client,
            counters,
        })));
    }
    if let Some(rest) = body.strip_prefix("NOQUEUE: reject: ") {
        return Ok(Event::Session(SessionEvent::Reject(smtp_reject(rest)?)));
    }
    if let Some(rest) = body.strip_prefix("NOQUEUE: ") {
        if let Some(from) = rest.find(" from ") {
            if let Some((client, _)) = parse_peer(&rest[from + " from ".len()..]) {
                return Ok(Event::Session(SessionEvent::Note { client }));
            }
        }
        return Err(RejectCode::UnrecognisedLine);
    }
    for lead in [
        "lost connection after ",
        "timeout after ",
        "too many errors after ",
    ] {
        if let Some(rest) = body.strip_prefix(lead) {
            let from = rest.find(" from ").ok_or(RejectCode::UnrecognisedLine)?;
            let (client, _) = parse_peer(&rest[from + " from ".len()..]).ok_or(RejectCode::BadFieldValue)?;
            return Ok(Event::Session(SessionEvent::Lost {
                client,
                after: &rest[..from],
            }));
        }
    }
    if let Some(tls) = tls_established(body) {
        return Ok(Event::Session(SessionEvent::Tls(tls)));
    }
    for lead in [
        "improper command pipelining after ",
        "non-SMTP command from ",
        "Illegal address syntax from ",
    ] {
        if let Some(rest) = body.strip_prefix(lead) {
            let start = rest.find(" from ").map(|at| at + " from ".len()).unwrap_or(0);
            let (client, _) = parse_peer(&rest[start..]).ok_or(RejectCode::BadFieldValue)?;
            return Ok(Event::Session(SessionEvent::Note { client }));
        }
    }
    if body.starts_with("SSL_accept error from ") || body.starts_with("TLS SNI ") {
        return Ok(Event::Informational);
    }
    Err(RejectCode::UnrecognisedLine)
}

/// Parses the text after `reject: ` in smtpd's and postscreen's layouts:
/// `RCPT from name[ip]: 554 5.7.1 <a>: text; from=<a> to=<b> proto=ESMTP
/// helo=<x>` (smtpd, space separated) or `RCPT from [ip]:port: 550 ...;
/// from=<a>, to=<b>, proto=ESMTP, helo=<x>` (postscreen, comma separated).
fn smtp_reject(text: &str) -> Result<SmtpReject<'_>, RejectCode> {
    let (stage, rest) = text.split_once(" from ").ok_or(RejectCode::UnrecognisedLine)?;
    let (client, rest) = parse_peer(rest).ok_or(RejectCode::BadFieldValue)?;
    let rest = rest.strip_prefix(": ").ok_or(RejectCode::UnrecognisedLine)?;
    // The reply ends at the last `; ` that is followed by `from=`.
    let (reply_text, fields) = match rest.rfind("; from=") {
        Some(at) => (&rest[..at], &rest[at + 2..]),
        None => (rest, ""),
    };
    let mut reject = SmtpReject {
        stage,
        client,
        reply: parse_reply(reply_text),
        from: None,
        to: None,
        proto: None,
        helo: None,
    };
    let pairs = if fields.contains(">, ") {
        Pairs::comma_separated(fields)
    } else {
        Pairs::space_separated(fields)
    };
    for (key, value) in pairs {
        match key {
            "from" => reject.from = Some(unbracket(value)),
            "to" => reject.to = Some(unbracket(value)),
            "proto" => reject.proto = Some(value),
            "helo" => reject.helo = Some(unbracket(value)),
            _ => {}
        }
    }
    Ok(reject)
}

/// `Anonymous TLS connection established from name[ip]:port: TLSv1.3 with
/// cipher TLS_AES_256_GCM_SHA384 (256/256 bits) key-exchange ...`.
fn tls_established(body: &str) -> Option<Tls<'_>> {
    let (trust, rest) = body.split_once(" TLS connection established ")?;
    if !matches!(trust, "Anonymous" | "Untrusted" | "Trusted" | "Verified") {
        return None;
    }
    let (inbound, rest) = match rest.strip_prefix("from ") {
        Some(rest) => (true, rest),
        None => (false, rest.strip_prefix("to ")?),
    };
    let (peer, rest) = parse_peer(rest)?;
    let rest = rest.strip_prefix(": ")?;
    let (protocol, rest) = rest.split_once(" with cipher ")?;
    let (cipher, rest) = match rest.split_once(' ') {
        Some((cipher, rest)) => (cipher, rest),
        None => (rest, ""),
    };
    let bits = rest
        .strip_prefix('(')
        .and_then(|r| r.split_once(" bits)"))
        .map(|(bits, _)| bits);
    Some(Tls {
        trust,
        inbound,
        peer,
        protocol,
        cipher,
        bits,
    })
}

fn client_session(body: &str) -> Result<Event<'_>, RejectCode> {
    if let Some(tls) = tls_established(body) {
        return Ok(Event::Session(SessionEvent::Tls(tls)));
    }
    if let Some(rest) = body.strip_prefix("connect to ") {
        let (peer, _) = parse_peer(rest).ok_or(RejectCode::BadFieldValue)?;
        return Ok(Event::Session(SessionEvent::ConnectFailed { peer }));
    }
    if body.starts_with("Host offered STARTTLS") || body.starts_with("SSL_connect error") {
        return Ok(Event::Informational);
    }
    Err(RejectCode::UnrecognisedLine)
}

fn postscreen(body: &str) -> Result<Event<'_>, RejectCode> {
    if let Some(rest) = body.strip_prefix("CONNECT from ") {
        let (client, _) = parse_peer(rest).ok_or(RejectCode::BadFieldValue)?;
        return Ok(Event::Session(SessionEvent::ScreenConnect { client }));
    }
    if let Some(rest) = body.strip_prefix("DISCONNECT ") {
        let (client, _) = parse_peer(rest).ok_or(RejectCode::BadFieldValue)?;
        return Ok(Event::Session(SessionEvent::ScreenDisconnect { client }));
    }
    if let Some(rest) = body.strip_prefix("NOQUEUE: reject: ") {
        return Ok(Event::Session(SessionEvent::Reject(smtp_reject(rest)?)));
    }
    // postscreen's test results and verdicts: upper-case words first.
    const VERDICTS: [&str; 16] = [
        "PASS ",
        "PREGREET ",
        "DNSBL ",
        "HANGUP ",
        "COMMAND ",
        "WHITELISTED ",
        "BLACKLISTED ",
        "ALLOWLISTED ",
        "DENYLISTED ",
        "BARE NEWLINE ",
        "NON-SMTP COMMAND ",
        "WHITELIST VETO ",
        "cache ",
        "BDAT ",
        "DATA ",
        "ALLOWLIST VETO ",
    ];
    if VERDICTS.iter().any(|lead| body.starts_with(lead)) {
        return Ok(Event::Informational);
    }
    Err(RejectCode::UnrecognisedLine)
}

#[cfg(test)]
mod tests;
