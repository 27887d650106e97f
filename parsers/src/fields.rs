//! Small grammars shared by the Postfix line forms: `name[ip]:port`,
//! `key=value, key=value` lists, SMTP replies and smtpd's command counters.
//! Each function takes the text at hand and returns the value and, where the
//! caller needs it, the rest of the input.

/// A peer as Postfix writes it: `name[ip]`, `name[ip]:port` or postscreen's
/// `[ip]:port`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Peer<'a> {
    /// Host name; `unknown` when reverse DNS failed, empty for postscreen.
    pub name: &'a str,
    /// The address as logged, IPv4 or IPv6 (without brackets); `None` for
    /// `unknown`. It is not validated, because anonymised or damaged logs
    /// hold addresses such as `23.23.231.2.123` and the text is evidence.
    pub ip: Option<&'a str>,
    pub port: Option<u16>,
}

/// Reads `name[ip]` with an optional `:port` from the start of `text`.
pub fn parse_peer(text: &str) -> Option<(Peer<'_>, &str)> {
    let open = text.find('[')?;
    let name = &text[..open];
    if name.contains([' ', ',']) {
        return None;
    }
    let close = open + text[open..].find(']')?;
    let inside = &text[open + 1..close];
    if inside.is_empty() || inside.contains(' ') {
        return None;
    }
    let ip = if inside == "unknown" { None } else { Some(inside) };
    let mut rest = &text[close + 1..];
    let mut port = None;
    if let Some(after_colon) = rest.strip_prefix(':') {
        let digits = after_colon.bytes().take_while(u8::is_ascii_digit).count();
        if digits > 0 {
            port = Some(after_colon[..digits].parse().ok()?);
            rest = &after_colon[digits..];
        }
    }
    Some((Peer { name, ip, port }, rest))
}

/// Iterates over `key=value` pairs separated by `, ` (or by spaces when
/// `spaces` is set). A value ends at the separator, except that text in
/// parentheses or angle brackets is kept whole, so `status=sent (250 2.0.0
/// Ok, id=1)` yields the whole reply.
pub struct Pairs<'a> {
    rest: &'a str,
    spaces: bool,
}

impl<'a> Pairs<'a> {
    pub fn comma_separated(text: &'a str) -> Self {
        Pairs {
            rest: text,
            spaces: false,
        }
    }

    pub fn space_separated(text: &'a str) -> Self {
        Pairs {
            rest: text,
            spaces: true,
        }
    }
}

impl<'a> Iterator for Pairs<'a> {
    type Item = (&'a str, &'a str);

    fn next(&mut self) -> Option<Self::Item> {
        let text = self.rest.trim_start_matches([' ', ',']);
        if text.is_empty() {
            self.rest = text;
            return None;
        }
        let eq = text.find('=')?;
        let key = &text[..eq];
        if key.is_empty() || key.contains([' ', ',', '(', '<']) {
            self.rest = text;
            return None;
        }
        let value_start = eq + 1;
        let bytes = text.as_bytes();
        let mut depth_paren = 0usize;
        let mut in_angle = false;
        let mut end = bytes.len();
        let mut i = value_start;
        while i < bytes.len() {
            match bytes[i] {
                b'<' if !in_angle && depth_paren == 0 && i == value_start => in_angle = true,
                b'>' if in_angle => in_angle = false,
                b'(' if !in_angle => depth_paren += 1,
                b')' if !in_angle && depth_paren > 0 => depth_paren -= 1,
                b',' if !self.spaces && !in_angle && depth_paren == 0 => {
                    end = i;
                    break;
                }
                // In comma lists a value may hold spaces (`status=sent (250
                // Ok)`, `nrcpt=1 (queue active)`); in space lists it may not.
                b' ' if self.spaces && !in_angle && depth_paren == 0 => {
                    end = i;
                    break;
                }
                _ => {}
            }
            i += 1;
        }
        let value = &text[value_start..end];
        self.rest = &text[end..];
        Some((key, value))
    }
}

/// Strips the angle brackets of `<address>`; an address without them is
/// returned as is.
pub fn unbracket(value: &str) -> &str {
    value
        .strip_prefix('<')
        .and_then(|v| v.strip_suffix('>'))
        .unwrap_or(value)
}

/// An SMTP reply taken apart: `550 5.7.1 <a@b>: Relay access denied`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Reply<'a> {
    pub code: Option<u16>,
    pub enhanced: Option<&'a str>,
    pub text: &'a str,
}

/// Parses a reply that may start with a three-digit code and an enhanced
/// status code (`x.y.z`). Text without a code is returned whole.
pub fn parse_reply(text: &str) -> Reply<'_> {
    let text = text.trim();
    let bytes = text.as_bytes();
    let has_code = bytes.len() >= 3
        && bytes[..3].iter().all(u8::is_ascii_digit)
        && matches!(bytes[0], b'2'..=b'5')
        && bytes.get(3).is_none_or(|b| matches!(b, b' ' | b'-'));
    if !has_code {
        return Reply {
            code: None,
            enhanced: None,
            text,
        };
    }
    let code = text[..3].parse().ok();
    let rest = text[3..].trim_start_matches([' ', '-']);
    let word_end = rest.find(' ').unwrap_or(rest.len());
    let word = &rest[..word_end];
    if is_enhanced_code(word) {
        Reply {
            code,
            enhanced: Some(word),
            text: rest[word_end..].trim_start(),
        }
    } else {
        Reply {
            code,
            enhanced: None,
            text: rest,
        }
    }
}

/// Returns whether `word` is an enhanced status code such as `5.7.1` (RFC 3463).
pub fn is_enhanced_code(word: &str) -> bool {
    let mut parts = word.split('.');
    let class_ok = matches!(parts.next(), Some("2" | "4" | "5"));
    let subject_ok = parts
        .next()
        .is_some_and(|p| (1..=3).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit()));
    let detail_ok = parts
        .next()
        .is_some_and(|p| (1..=3).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit()));
    class_ok && subject_ok && detail_ok && parts.next().is_none()
}

/// The remote reply inside a delivery status, split from the SMTP stage that
/// Postfix appends: `host x[ip] said: 550 5.1.1 No such user (in reply to
/// RCPT TO command)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DeliveryReply<'a> {
    pub reply: Reply<'a>,
    /// The command that the reply is for: `RCPT TO`, `end of DATA`, `MAIL FROM`.
    pub stage: Option<&'a str>,
    /// The queue id in a `queued as ID` reply, which links a content filter
    /// hop to the re-injected message.
    pub queued_as: Option<&'a str>,
}

/// Parses the text in parentheses after `status=...`.
pub fn parse_delivery_reply(text: &str) -> DeliveryReply<'_> {
    let mut body = text.trim();
    let mut stage = None;
    if let Some(open) = body.rfind("(in reply to ") {
        if let Some(inner) = body[open + "(in reply to ".len()..].strip_suffix(')') {
            stage = Some(inner.strip_suffix(" command").unwrap_or(inner));
            body = body[..open].trim_end();
        }
    }
    // `host mx.example.com[192.0.2.1] said: 550 ...` carries the remote reply
    // after `said: `.
    if let Some(said) = body.find(" said: ") {
        body = &body[said + " said: ".len()..];
    }
    let reply = parse_reply(body);
    let queued_as = body.rfind("queued as ").and_then(|at| {
        let id = &body[at + "queued as ".len()..];
        let end = id.find(|c: char| !c.is_ascii_alphanumeric()).unwrap_or(id.len());
        (end > 0).then(|| &id[..end])
    });
    DeliveryReply {
        reply,
        stage,
        queued_as,
    }
}

/// smtpd's per-command counters on `disconnect from`: each is `n` (all
/// accepted) or `accepted/attempted`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CommandCounters {
    pub ehlo: Option<Count>,
    pub helo: Option<Count>,
    pub starttls: Option<Count>,
    pub auth: Option<Count>,
    pub mail: Option<Count>,
    pub rcpt: Option<Count>,
    pub data: Option<Count>,
    pub bdat: Option<Count>,
    pub rset: Option<Count>,
    pub quit: Option<Count>,
    pub unknown: Option<Count>,
    pub commands: Option<Count>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Count {
    pub accepted: u32,
    pub attempted: u32,
}

/// Parses `ehlo=2 starttls=1 auth=0/1 ... commands=5/7`. Counters of other
/// commands (`noop`, `vrfy`, `etrn`) are skipped. Returns `None` when a value
/// is not a count.
pub fn parse_counters(text: &str) -> Option<CommandCounters> {
    let mut counters = CommandCounters::default();
    for word in text.split_ascii_whitespace() {
        let (key, value) = word.split_once('=')?;
        let count = match value.split_once('/') {
            Some((accepted, attempted)) => Count {
                accepted: accepted.parse().ok()?,
                attempted: attempted.parse().ok()?,
            },
            None => {
                let n = value.parse().ok()?;
                Count {
                    accepted: n,
                    attempted: n,
                }
            }
        };
        let slot = match key {
            "ehlo" => &mut counters.ehlo,
            "helo" => &mut counters.helo,
            "starttls" => &mut counters.starttls,
            "auth" => &mut counters.auth,
            "mail" => &mut counters.mail,
            "rcpt" => &mut counters.rcpt,
            "data" => &mut counters.data,
            "bdat" => &mut counters.bdat,
            "rset" => &mut counters.rset,
            "quit" => &mut counters.quit,
            "unknown" => &mut counters.unknown,
            "commands" => &mut counters.commands,
            _ => continue,
        };
        *slot = Some(count);
    }
    Some(counters)
}

/// Returns whether `ip` is a loopback address, in IPv4, IPv6 or IPv4-mapped
/// IPv6 form (`::ffff:127.0.0.1`).
pub fn is_loopback(ip: &str) -> bool {
    ip.parse::<std::net::IpAddr>()
        .is_ok_and(|address| address.to_canonical().is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_forms() {
        for ip in ["127.0.0.1", "127.3.4.5", "::1", "::ffff:127.0.0.1"] {
            assert!(is_loopback(ip), "{ip}");
        }
        for ip in ["192.0.2.1", "::ffff:192.0.2.1", "2001:db8::1", "unknown", ""] {
            assert!(!is_loopback(ip), "{ip}");
        }
    }

    /// Input, then the expected name, IP, port and rest of the input.
    type PeerCase<'a> = (&'a str, &'a str, Option<&'a str>, Option<u16>, &'a str);

    #[test]
    fn peer_forms() {
        let cases: &[PeerCase] = &[
            (
                "mail.example.com[192.0.2.1]",
                "mail.example.com",
                Some("192.0.2.1"),
                None,
                "",
            ),
            (
                "mx[192.0.2.1]:25, delay",
                "mx",
                Some("192.0.2.1"),
                Some(25),
                ", delay",
            ),
            ("unknown[unknown]", "unknown", None, None, ""),
            ("h[2001:db8::1]:587 x", "h", Some("2001:db8::1"), Some(587), " x"),
            (
                "[192.0.2.9]:5678: 550",
                "",
                Some("192.0.2.9"),
                Some(5678),
                ": 550",
            ),
            (
                "h[23.23.231.2.123]:25",
                "h",
                Some("23.23.231.2.123"),
                Some(25),
                "",
            ),
            (
                "localhost[127.0.0.1]: x",
                "localhost",
                Some("127.0.0.1"),
                None,
                ": x",
            ),
        ];
        for (text, name, ip, port, rest) in cases {
            let (peer, remainder) = parse_peer(text).unwrap_or_else(|| panic!("{text}"));
            assert_eq!(peer.name, *name, "{text}");
            assert_eq!(peer.ip, *ip, "{text}");
            assert_eq!(peer.port, *port, "{text}");
            assert_eq!(remainder, *rest, "{text}");
        }
    }

    #[test]
    fn peer_invalid() {
        for text in [
            "no brackets",
            "a b[1.2.3.4]",
            "h[]",
            "h[1.2.3.4",
            "h[1.2.3.4]:99999",
        ] {
            assert!(parse_peer(text).is_none(), "{text}");
        }
    }

    #[test]
    fn pairs_comma_list() {
        let text = "to=<a@b.example>, orig_to=<c>, relay=none, delay=0.1, dsn=4.4.1, status=deferred (connect to x[1.2.3.4]:25: Connection refused)";
        let pairs: Vec<_> = Pairs::comma_separated(text).collect();
        assert_eq!(
            pairs,
            vec![
                ("to", "<a@b.example>"),
                ("orig_to", "<c>"),
                ("relay", "none"),
                ("delay", "0.1"),
                ("dsn", "4.4.1"),
                (
                    "status",
                    "deferred (connect to x[1.2.3.4]:25: Connection refused)"
                ),
            ]
        );
    }

    #[test]
    fn pairs_keep_commas_in_angle_brackets_and_parentheses() {
        let text = "from=<a,b@c>, status=sent (250 ok, id=1), size=5";
        let pairs: Vec<_> = Pairs::comma_separated(text).collect();
        assert_eq!(
            pairs,
            vec![
                ("from", "<a,b@c>"),
                ("status", "sent (250 ok, id=1)"),
                ("size", "5")
            ]
        );
    }

    #[test]
    fn pairs_keep_remark_and_skip_trailing_commas() {
        let mut pairs = Pairs::comma_separated("from=<a@b>, size=5, nrcpt=1 (queue active),,,");
        assert_eq!(pairs.next(), Some(("from", "<a@b>")));
        assert_eq!(pairs.next(), Some(("size", "5")));
        assert_eq!(pairs.next(), Some(("nrcpt", "1 (queue active)")));
        assert_eq!(pairs.next(), None);
    }

    #[test]
    fn pairs_space_list() {
        let pairs: Vec<_> = Pairs::space_separated("from=<a@b> to=<c@d> proto=ESMTP helo=<x y>").collect();
        assert_eq!(
            pairs,
            vec![
                ("from", "<a@b>"),
                ("to", "<c@d>"),
                ("proto", "ESMTP"),
                ("helo", "<x y>")
            ]
        );
    }

    #[test]
    fn reply_forms() {
        let cases: &[(&str, Option<u16>, Option<&str>, &str)] = &[
            (
                "250 2.0.0 Ok: queued as ABC",
                Some(250),
                Some("2.0.0"),
                "Ok: queued as ABC",
            ),
            (
                "554 5.7.1 Service unavailable",
                Some(554),
                Some("5.7.1"),
                "Service unavailable",
            ),
            ("250 OK id=1sI2pY", Some(250), None, "OK id=1sI2pY"),
            (
                "250 2.6.0  <x@y> Queued",
                Some(250),
                Some("2.6.0"),
                "<x@y> Queued",
            ),
            ("450-4.7.1 wait", Some(450), Some("4.7.1"), "wait"),
            (
                "delivered via dovecot service",
                None,
                None,
                "delivered via dovecot service",
            ),
            ("2500 not a code", None, None, "2500 not a code"),
            ("999 bad class", None, None, "999 bad class"),
        ];
        for (text, code, enhanced, rest) in cases {
            let reply = parse_reply(text);
            assert_eq!(reply.code, *code, "{text}");
            assert_eq!(reply.enhanced, *enhanced, "{text}");
            assert_eq!(reply.text, *rest, "{text}");
        }
    }

    #[test]
    fn delivery_reply_stage_and_queue_id() {
        let reply = parse_delivery_reply(
            "host mx.example.com[192.0.2.1] said: 550 5.1.1 <u@example.com>: no such user (in reply to RCPT TO command)",
        );
        assert_eq!(reply.reply.code, Some(550));
        assert_eq!(reply.reply.enhanced, Some("5.1.1"));
        assert_eq!(reply.stage, Some("RCPT TO"));
        assert_eq!(reply.queued_as, None);

        let reply = parse_delivery_reply(
            "250 2.0.0 from MTA(smtp:[127.0.0.1]:10025): 250 2.0.0 Ok: queued as 90284DE204C8",
        );
        assert_eq!(reply.reply.code, Some(250));
        assert_eq!(reply.queued_as, Some("90284DE204C8"));

        let reply =
            parse_delivery_reply("host x[1.2.3.4] said: 552 5.3.4 too big (in reply to end of DATA command)");
        assert_eq!(reply.stage, Some("end of DATA"));
        assert_eq!(reply.reply.code, Some(552));
    }

    #[test]
    fn counters_forms() {
        let counters = parse_counters(
            "ehlo=2 starttls=1 auth=0/1 mail=1 rcpt=0/1 data=0/1 bdat=0/1 quit=1 commands=5/7",
        )
        .unwrap();
        assert_eq!(
            counters.ehlo,
            Some(Count {
                accepted: 2,
                attempted: 2
            })
        );
        assert_eq!(
            counters.auth,
            Some(Count {
                accepted: 0,
                attempted: 1
            })
        );
        assert_eq!(
            counters.rcpt,
            Some(Count {
                accepted: 0,
                attempted: 1
            })
        );
        assert_eq!(
            counters.commands,
            Some(Count {
                accepted: 5,
                attempted: 7
            })
        );
        assert_eq!(counters.helo, None);
        let counters = parse_counters("ehlo=1 mail=2 rcpt=2 data=2 noop=1 quit=1 commands=9").unwrap();
        assert_eq!(
            counters.mail,
            Some(Count {
                accepted: 2,
                attempted: 2
            })
        );
        assert!(parse_counters("ehlo=x").is_none());
    }

    #[test]
    fn enhanced_code_shapes() {
        for word in ["2.0.0", "5.7.1", "4.4.1", "5.1.10", "5.100.999"] {
            assert!(is_enhanced_code(word), "{word}");
        }
        for word in ["3.0.0", "5.7", "5.7.1.1", "5.a.1", "x", "5..1"] {
            assert!(!is_enhanced_code(word), "{word}");
        }
    }
}
