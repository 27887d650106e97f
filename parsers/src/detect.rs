//! Guessing the format of a log file from its first lines.

use crate::syslog;

/// Log formats that relayaudit recognises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Format {
    Postfix,
    Sendmail,
    Qmail,
    ExchangeMessageTracking,
    ExchangeSmtp,
    Domino,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Postfix => "postfix",
            Format::Sendmail => "sendmail",
            Format::Qmail => "qmail",
            Format::ExchangeMessageTracking => "exchange-msgtrk",
            Format::ExchangeSmtp => "exchange-smtp",
            Format::Domino => "domino",
        }
    }

    /// Whether this version parses the format (the others are only detected).
    pub fn is_parsed(self) -> bool {
        self == Format::Postfix
    }
}

/// A detected format with the evidence for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Detection {
    pub format: Option<Format>,
    pub evidence: String,
}

/// How many lines are sampled.
pub const SAMPLE_LINES: usize = 200;

/// Looks at up to [`SAMPLE_LINES`] lines and picks the format most of them
/// show. Syslog lines vote by their program tag; W3C headers and TAI64N
/// stamps vote for Exchange and qmail.
pub fn detect<'a>(lines: impl IntoIterator<Item = &'a str>) -> Detection {
    let mut votes = [0usize; 6];
    let mut sampled = 0usize;
    for line in lines.into_iter().take(SAMPLE_LINES) {
        sampled += 1;
        if let Some(format) = vote(line) {
            votes[format as usize] += 1;
        }
    }
    let formats = [
        Format::Postfix,
        Format::Sendmail,
        Format::Qmail,
        Format::ExchangeMessageTracking,
        Format::ExchangeSmtp,
        Format::Domino,
    ];
    let (best, count) = formats
        .iter()
        .map(|format| (*format, votes[*format as usize]))
        .max_by_key(|(format, count)| (*count, std::cmp::Reverse(*format)))
        .expect("six formats");
    if count == 0 {
        return Detection {
            format: None,
            evidence: format!("none of the {sampled} sampled lines has a known form"),
        };
    }
    Detection {
        format: Some(best),
        evidence: format!("{count} of {sampled} sampled lines look like {}", best.as_str()),
    }
}

fn vote(line: &str) -> Option<Format> {
    let line = line.trim_end_matches('\r');
    if line.starts_with("#Log-type: Message Tracking") || line.starts_with("#Fields: date-time,client-ip") {
        return Some(Format::ExchangeMessageTracking);
    }
    if line.starts_with("#Log-type: SMTP") || line.starts_with("#Fields: date-time,connector-id") {
        return Some(Format::ExchangeSmtp);
    }
    if line.starts_with("@4000") {
        return Some(Format::Qmail);
    }
    if let Ok(prefix) = syslog::parse_prefix(line) {
        let program = prefix.program;
        if crate::postfix::daemon_of(program).is_some() {
            return Some(Format::Postfix);
        }
        if matches!(
            program,
            "sendmail" | "sm-mta" | "sm-msp-queue" | "sm-acceptingconnections"
        ) {
            return Some(Format::Sendmail);
        }
        if program.starts_with("qmail") {
            return Some(Format::Qmail);
        }
        return None;
    }
    if line.contains("SMTP Server") || line.contains("Router: ") || line.contains("Mail Router") {
        return Some(Format::Domino);
    }
    let bytes = line.as_bytes();
    if bytes.len() > 24 && bytes[4] == b'-' && bytes[10] == b'T' && line.contains(",SMTP") {
        return Some(Format::ExchangeSmtp);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postfix_lines_win() {
        let lines = [
            "Mar  5 13:59:15 mx postfix/smtpd[1]: connect from a[10.0.0.1]",
            "Mar  5 13:59:15 mx opendkim[2]: x",
            "Mar  5 13:59:15 mx postfix/qmgr[3]: ABCDE12345: removed",
        ];
        let detection = detect(lines);
        assert_eq!(detection.format, Some(Format::Postfix));
        assert_eq!(detection.evidence, "2 of 3 sampled lines look like postfix");
    }

    #[test]
    fn other_formats() {
        assert_eq!(
            detect(["@400000004b7f3a4c2f8a0c2c new msg 1"]).format,
            Some(Format::Qmail)
        );
        assert_eq!(
            detect(["Feb 25 14:34:10 mx sm-mta[1]: x"]).format,
            Some(Format::Sendmail)
        );
        assert_eq!(
            detect(["#Log-type: Message Tracking Log"]).format,
            Some(Format::ExchangeMessageTracking)
        );
        assert_eq!(detect(["hello world"]).format, None);
    }
}
