//! The syslog prefix: an optional `<PRI>`, a timestamp, the host name and the
//! program tag (`postfix/smtpd[1234]:`).
//!
//! Two timestamp forms are read: the classic BSD form `Mar  7 02:09:33` (no
//! year, no zone) and RFC 3339 (`2024-01-30T06:26:05.404714+09:00`, with or
//! without fraction and offset). RFC 5424's version digit after `<PRI>` is
//! accepted and skipped; its structured data is not parsed yet.

use crate::error::RejectCode;

/// A timestamp as written in the log, before a year or zone is applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stamp {
    /// `Mmm dd hh:mm:ss`: month 1..=12, no year, local time.
    Classic {
        month: u32,
        day: u32,
        hour: u32,
        minute: u32,
        second: u32,
    },
    /// RFC 3339: a full local date and time, with the offset from UTC in
    /// seconds when the stamp has one.
    Rfc3339 {
        year: i32,
        month: u32,
        day: u32,
        hour: u32,
        minute: u32,
        second: u32,
        micros: u32,
        offset_seconds: Option<i32>,
    },
}

/// The parts of one syslog line, borrowed from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Prefix<'a> {
    pub stamp: Stamp,
    pub host: &'a str,
    /// The program tag without the pid: `postfix/smtpd`, `opendkim`.
    pub program: &'a str,
    pub pid: Option<u32>,
    /// Everything after `program[pid]: `.
    pub body: &'a str,
}

const MONTHS: [&[u8; 3]; 12] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];

/// Splits a syslog line into its prefix parts and body.
pub fn parse_prefix(line: &str) -> Result<Prefix<'_>, RejectCode> {
    let rest = skip_priority(line);
    let (stamp, rest) = parse_stamp(rest)?;
    let rest = rest.trim_start_matches(' ');
    // Some syslog daemons write `<facility.level>` between stamp and host.
    let rest = match rest.strip_prefix('<') {
        Some(inner) => match inner.find("> ") {
            Some(end) if !inner[..end].contains(' ') => &inner[end + 2..],
            _ => rest,
        },
        None => rest,
    };
    let (host, rest) = split_word(rest).ok_or(RejectCode::MissingHost)?;
    let (program, pid, body) = parse_tag(rest).ok_or(RejectCode::MissingProgram)?;
    Ok(Prefix {
        stamp,
        host,
        program,
        pid,
        body,
    })
}

/// Skips `<PRI>` and an RFC 5424 version digit after it.
fn skip_priority(line: &str) -> &str {
    let Some(inner) = line.strip_prefix('<') else {
        return line;
    };
    let digits = inner.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 || digits > 3 || !inner[digits..].starts_with('>') {
        return line;
    }
    let rest = &inner[digits + 1..];
    match rest.strip_prefix("1 ") {
        Some(after_version) => after_version,
        None => rest,
    }
}

/// Reads a classic or RFC 3339 stamp and returns it with the rest of the line.
pub fn parse_stamp(text: &str) -> Result<(Stamp, &str), RejectCode> {
    let bytes = text.as_bytes();
    if bytes.len() >= 4 && bytes[..4].iter().all(u8::is_ascii_digit) {
        return parse_rfc3339(text);
    }
    parse_classic(text)
}

fn parse_classic(text: &str) -> Result<(Stamp, &str), RejectCode> {
    let bytes = text.as_bytes();
    if bytes.len() < 14 {
        return Err(RejectCode::BadTimestamp);
    }
    let month = MONTHS
        .iter()
        .position(|name| bytes[..3] == name[..])
        .ok_or(RejectCode::BadTimestamp)? as u32
        + 1;
    if bytes[3] != b' ' {
        return Err(RejectCode::BadTimestamp);
    }
    // The day is padded with a space (`Mar  7`) or written bare (`Mar 7`).
    let mut at = 4;
    if bytes[at] == b' ' {
        at += 1;
    }
    let day_digits = bytes[at..].iter().take_while(|b| b.is_ascii_digit()).count();
    if day_digits == 0 || day_digits > 2 {
        return Err(RejectCode::BadTimestamp);
    }
    let day = digits_value(&bytes[at..at + day_digits]);
    at += day_digits;
    if bytes.get(at) != Some(&b' ') {
        return Err(RejectCode::BadTimestamp);
    }
    at += 1;
    let (hour, minute, second) = parse_clock(bytes.get(at..at + 8).ok_or(RejectCode::BadTimestamp)?)?;
    at += 8;
    if !(1..=31).contains(&day) {
        return Err(RejectCode::BadTimestamp);
    }
    let stamp = Stamp::Classic {
        month,
        day,
        hour,
        minute,
        second,
    };
    Ok((stamp, &text[at..]))
}

fn parse_rfc3339(text: &str) -> Result<(Stamp, &str), RejectCode> {
    let bytes = text.as_bytes();
    if bytes.len() < 19 || bytes[4] != b'-' || bytes[7] != b'-' || !matches!(bytes[10], b'T' | b't' | b' ') {
        return Err(RejectCode::BadTimestamp);
    }
    let year = fixed_digits(&bytes[0..4])? as i32;
    let month = fixed_digits(&bytes[5..7])?;
    let day = fixed_digits(&bytes[8..10])?;
    let (hour, minute, second) = parse_clock(&bytes[11..19])?;
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return Err(RejectCode::BadTimestamp);
    }
    let mut at = 19;
    let mut micros = 0;
    if bytes.get(at) == Some(&b'.') {
        at += 1;
        let fraction = bytes[at..].iter().take_while(|b| b.is_ascii_digit()).count();
        if fraction == 0 {
            return Err(RejectCode::BadTimestamp);
        }
        // Keep microseconds; digits beyond the sixth are truncated.
        let kept = fraction.min(6);
        micros = digits_value(&bytes[at..at + kept]) * 10u32.pow(6 - kept as u32);
        at += fraction;
    }
    let offset_seconds = match bytes.get(at) {
        Some(b'Z' | b'z') => {
            at += 1;
            Some(0)
        }
        Some(&sign @ (b'+' | b'-')) => {
            let digits = bytes.get(at + 1..at + 6).ok_or(RejectCode::BadTimestamp)?;
            if digits[2] != b':' {
                return Err(RejectCode::BadTimestamp);
            }
            let hours = fixed_digits(&digits[0..2])? as i32;
            let minutes = fixed_digits(&digits[3..5])? as i32;
            if hours > 23 || minutes > 59 {
                return Err(RejectCode::BadTimestamp);
            }
            at += 6;
            let magnitude = hours * 3600 + minutes * 60;
            Some(if sign == b'-' { -magnitude } else { magnitude })
        }
        _ => None,
    };
    let stamp = Stamp::Rfc3339 {
        year,
        month,
        day,
        hour,
        minute,
        second,
        micros,
        offset_seconds,
    };
    Ok((stamp, &text[at..]))
}

/// Parses `hh:mm:ss` from exactly eight bytes.
fn parse_clock(bytes: &[u8]) -> Result<(u32, u32, u32), RejectCode> {
    if bytes.len() != 8 || bytes[2] != b':' || bytes[5] != b':' {
        return Err(RejectCode::BadTimestamp);
    }
    let hour = fixed_digits(&bytes[0..2])?;
    let minute = fixed_digits(&bytes[3..5])?;
    // 60 is a leap second.
    let second = fixed_digits(&bytes[6..8])?;
    if hour > 23 || minute > 59 || second > 60 {
        return Err(RejectCode::BadTimestamp);
    }
    Ok((hour, minute, second))
}

fn fixed_digits(bytes: &[u8]) -> Result<u32, RejectCode> {
    if bytes.iter().all(u8::is_ascii_digit) {
        Ok(digits_value(bytes))
    } else {
        Err(RejectCode::BadTimestamp)
    }
}

fn digits_value(bytes: &[u8]) -> u32 {
    bytes
        .iter()
        .fold(0u32, |value, digit| value * 10 + u32::from(digit - b'0'))
}

/// Splits off one space-delimited word; `None` when nothing follows it.
fn split_word(text: &str) -> Option<(&str, &str)> {
    let end = text.find(' ')?;
    if end == 0 {
        return None;
    }
    Some((&text[..end], &text[end + 1..]))
}

/// Parses `program[pid]: body` or `program: body`.
fn parse_tag(text: &str) -> Option<(&str, Option<u32>, &str)> {
    let colon = text
        .find(": ")
        .or_else(|| text.strip_suffix(':').map(|t| t.len()))?;
    let tag = &text[..colon];
    if tag.is_empty() || tag.contains(' ') {
        return None;
    }
    let body = text.get(colon + 2..).unwrap_or("");
    match tag.find('[') {
        Some(open) if tag.ends_with(']') => {
            let pid = tag[open + 1..tag.len() - 1].parse().ok()?;
            Some((&tag[..open], Some(pid), body))
        }
        Some(_) => None,
        None => Some((tag, None, body)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classic(month: u32, day: u32, hour: u32, minute: u32, second: u32) -> Stamp {
        Stamp::Classic {
            month,
            day,
            hour,
            minute,
            second,
        }
    }

    #[test]
    fn stamp_forms() {
        let cases: &[(&str, Stamp, &str)] = &[
            ("Mar  7 02:09:33 host", classic(3, 7, 2, 9, 33), " host"),
            ("Mar 7 02:09:33 host", classic(3, 7, 2, 9, 33), " host"),
            ("Dec 31 23:59:60 h", classic(12, 31, 23, 59, 60), " h"),
            (
                "2024-08-26T01:33:38.572449+00:00 m",
                Stamp::Rfc3339 {
                    year: 2024,
                    month: 8,
                    day: 26,
                    hour: 1,
                    minute: 33,
                    second: 38,
                    micros: 572_449,
                    offset_seconds: Some(0),
                },
                " m",
            ),
            (
                "2024-01-30T06:26:05.4+09:00 m",
                Stamp::Rfc3339 {
                    year: 2024,
                    month: 1,
                    day: 30,
                    hour: 6,
                    minute: 26,
                    second: 5,
                    micros: 400_000,
                    offset_seconds: Some(9 * 3600),
                },
                " m",
            ),
            (
                "2024-01-30T06:26:05-05:30 m",
                Stamp::Rfc3339 {
                    year: 2024,
                    month: 1,
                    day: 30,
                    hour: 6,
                    minute: 26,
                    second: 5,
                    micros: 0,
                    offset_seconds: Some(-(5 * 3600 + 1800)),
                },
                " m",
            ),
            (
                "2024-01-30T06:26:05.123456789Z m",
                Stamp::Rfc3339 {
                    year: 2024,
                    month: 1,
                    day: 30,
                    hour: 6,
                    minute: 26,
                    second: 5,
                    micros: 123_456,
                    offset_seconds: Some(0),
                },
                " m",
            ),
            (
                "2024-01-30T06:26:05 m",
                Stamp::Rfc3339 {
                    year: 2024,
                    month: 1,
                    day: 30,
                    hour: 6,
                    minute: 26,
                    second: 5,
                    micros: 0,
                    offset_seconds: None,
                },
                " m",
            ),
        ];
        for (text, expected, rest) in cases {
            let (stamp, remainder) = parse_stamp(text).unwrap_or_else(|e| panic!("{text}: {e:?}"));
            assert_eq!(stamp, *expected, "{text}");
            assert_eq!(remainder, *rest, "{text}");
        }
    }

    #[test]
    fn stamp_invalid() {
        for text in [
            "",
            "Mar",
            "Foo  7 02:09:33 h",
            "Mar  7 2:09:33 h",
            "Mar 32 02:09:33 h",
            "Mar  7 24:00:00 h",
            "2024-13-01T00:00:00Z h",
            "2024-01-01T00:00:00.Z h",
            "2024-01-01X00:00:00 h",
            "2024-01-01T00:00:00+0900 h",
        ] {
            assert_eq!(
                parse_stamp(text).map(|s| s.0),
                Err(RejectCode::BadTimestamp),
                "{text:?}"
            );
        }
    }

    #[test]
    fn prefix_with_priority_and_pid() {
        let prefix =
            parse_prefix("<22>Mar  7 02:09:33 mx postfix/smtpd[123]: connect from a[1.2.3.4]").unwrap();
        assert_eq!(prefix.host, "mx");
        assert_eq!(prefix.program, "postfix/smtpd");
        assert_eq!(prefix.pid, Some(123));
        assert_eq!(prefix.body, "connect from a[1.2.3.4]");
    }

    #[test]
    fn prefix_rfc5424_version() {
        let prefix = parse_prefix("<22>1 2024-08-26T01:33:38Z mx postfix-out/smtp[9]: x").unwrap();
        assert_eq!(prefix.program, "postfix-out/smtp");
        assert_eq!(prefix.body, "x");
    }

    #[test]
    fn prefix_facility_level_before_host() {
        let prefix = parse_prefix("Feb 25 14:34:10 <mail.notice> mx sm-mta[1]: body").unwrap();
        assert_eq!(prefix.host, "mx");
        assert_eq!(prefix.program, "sm-mta");
    }

    #[test]
    fn prefix_without_pid() {
        let prefix = parse_prefix("Mar  7 02:09:33 mx postfix: fatal: usage").unwrap();
        assert_eq!(prefix.program, "postfix");
        assert_eq!(prefix.pid, None);
        assert_eq!(prefix.body, "fatal: usage");
    }

    #[test]
    fn prefix_missing_program() {
        assert_eq!(parse_prefix("Mar  7 02:09:33 mx"), Err(RejectCode::MissingHost));
        assert_eq!(
            parse_prefix("Mar  7 02:09:33 mx just words"),
            Err(RejectCode::MissingProgram)
        );
        assert_eq!(
            parse_prefix("Mar  7 02:09:33 mx prog[x]: body"),
            Err(RejectCode::MissingProgram)
        );
    }
}
