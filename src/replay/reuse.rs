//! `dos.no_connection_reuse`: a sender that opens a new connection per
//! message at high volume instead of reusing connections.
//!
//! Connection uses are counted per sending address and UTC minute. A minute
//! in which one address opens more than `dos.max_connections_per_minute`
//! new connections, carrying fewer than `dos.min_messages_per_connection`
//! messages per new connection, is flagged, and the messages whose
//! connection opened in it get the warning.
//!
//! NOTE: minutes are fixed UTC minutes, not a sliding window, so a burst
//! that straddles a minute boundary counts in two halves.

use std::collections::BTreeMap;

use crate::note::{Note, Params};
use crate::policy::Dos;
use crate::replay::model::{BusyMinute, ConnectionSample, SMARTHOST_KEY};
use crate::replay::text::group_thousands;

const MINUTE_US: i64 = 60_000_000;

/// Codes of the warning details this module writes.
pub(crate) const NOTE_CODES: &[&str] = &["connection_reuse_low"];

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct MinuteTally {
    connections: u64,
    messages: u64,
}

/// The flagged minutes of one replay.
#[derive(Debug, Default)]
pub(crate) struct ReuseCheck {
    /// Tallies by stream, then by minute start, of every minute with a
    /// connection use. Nested so that a lookup by `&str` allocates nothing.
    minutes: BTreeMap<String, BTreeMap<i64, MinuteTally>>,
    max_connections: u64,
    min_messages: f64,
}

impl ReuseCheck {
    pub(crate) fn new(samples: &[ConnectionSample], dos: &Dos) -> Self {
        let mut minutes: BTreeMap<String, BTreeMap<i64, MinuteTally>> = BTreeMap::new();
        for sample in samples {
            let start = sample.at_us.div_euclid(MINUTE_US) * MINUTE_US;
            let stream = match minutes.get_mut(sample.stream.as_str()) {
                Some(stream) => stream,
                None => minutes.entry(sample.stream.clone()).or_default(),
            };
            let tally = stream.entry(start).or_default();
            if sample.new_connection {
                tally.connections += 1;
            }
            tally.messages += u64::from(sample.messages);
        }
        ReuseCheck {
            minutes,
            max_connections: dos.max_connections_per_minute,
            min_messages: dos.min_messages_per_connection,
        }
    }

    fn is_flagged(&self, tally: &MinuteTally) -> bool {
        tally.connections > self.max_connections
            && (tally.messages as f64) < self.min_messages * tally.connections as f64
    }

    /// Returns the warning detail when the minute of `at_us` is flagged for
    /// `stream`.
    pub(crate) fn warning(&self, stream: &str, at_us: i64) -> Option<Note> {
        let start = at_us.div_euclid(MINUTE_US) * MINUTE_US;
        let tally = self.minutes.get(stream)?.get(&start)?;
        if !self.is_flagged(tally) {
            return None;
        }
        let sender = if stream == SMARTHOST_KEY {
            "the smart host"
        } else {
            stream
        };
        let params = Params::new()
            .add("connections", tally.connections)
            .add("max_connections", self.max_connections)
            .add("messages", tally.messages)
            .add("min_messages", self.min_messages)
            .add("minute", minute_text(start, "%Y-%m-%dT%H:%M:%SZ"))
            .add("stream", stream);
        let text = format!(
            "{sender} opened {} new connections in the minute from {} UTC, with {:.2} messages \
             per connection; the thresholds are more than {} connections at fewer than {} \
             messages per connection",
            group_thousands(tally.connections),
            minute_text(start, "%Y-%m-%d %H:%M"),
            tally.messages as f64 / tally.connections as f64,
            group_thousands(self.max_connections),
            self.min_messages
        );
        Some(Note::new("connection_reuse_low", params, text))
    }

    /// Returns the minute with the most new connections from one address;
    /// ties go to the earlier minute, then to the stream that sorts first.
    pub(crate) fn busiest(&self) -> Option<BusyMinute> {
        let mut best: Option<(&String, i64, &MinuteTally)> = None;
        for (stream, minutes) in &self.minutes {
            for (&start, tally) in minutes {
                let better = match best {
                    None => tally.connections > 0,
                    Some((_, best_start, best_tally)) => {
                        tally.connections > best_tally.connections
                            || (tally.connections == best_tally.connections && start < best_start)
                    }
                };
                if better {
                    best = Some((stream, start, tally));
                }
            }
        }
        best.map(|(stream, start, tally)| BusyMinute {
            stream: stream.clone(),
            minute_start_us: start,
            connections: tally.connections,
            messages: tally.messages,
        })
    }
}

/// Formats the start of a minute in UTC with the strftime `pattern`.
fn minute_text(start_us: i64, pattern: &str) -> String {
    chrono::DateTime::from_timestamp_micros(start_us)
        .map(|at| at.format(pattern).to_string())
        .unwrap_or_else(|| start_us.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2024-03-04 09:00:00 UTC.
    const T0: i64 = 1_709_542_800_000_000;

    fn dos(max_connections: u64, min_messages: f64) -> Dos {
        Dos {
            max_connections_per_minute: max_connections,
            min_messages_per_connection: min_messages,
            ..Dos::defaults()
        }
    }

    fn sample(stream: &str, at_us: i64, new_connection: bool, messages: u32) -> ConnectionSample {
        ConnectionSample {
            stream: stream.to_string(),
            at_us,
            new_connection,
            messages,
        }
    }

    #[test]
    fn minute_above_threshold_flagged() {
        let samples: Vec<_> = (0..4)
            .map(|index| sample("192.0.2.1", T0 + index * 1_000_000, true, 1))
            .collect();
        let check = ReuseCheck::new(&samples, &dos(3, 1.5));
        let detail = check.warning("192.0.2.1", T0 + 59_000_000).expect("flagged").text;
        assert!(
            detail.starts_with(
                "192.0.2.1 opened 4 new connections in the minute from 2024-03-04 09:00 UTC, \
                 with 1.00 messages per connection"
            ),
            "{detail}"
        );
        assert_eq!(check.warning("192.0.2.1", T0 + 60_000_000), None);
        assert_eq!(check.warning("192.0.2.2", T0), None);
    }

    #[test]
    fn threshold_itself_not_flagged() {
        let samples: Vec<_> = (0..3).map(|index| sample("s", T0 + index, true, 1)).collect();
        let check = ReuseCheck::new(&samples, &dos(3, 1.5));
        assert_eq!(check.warning("s", T0), None);
    }

    #[test]
    fn reused_connections_lift_ratio() {
        // Four new connections and four reuses: 2 messages per connection.
        let mut samples: Vec<_> = (0..4).map(|index| sample("s", T0 + index, true, 1)).collect();
        samples.extend((0..4).map(|index| sample("s", T0 + 10 + index, false, 1)));
        let check = ReuseCheck::new(&samples, &dos(3, 2.0));
        assert_eq!(check.warning("s", T0), None);
        let stricter = ReuseCheck::new(&samples, &dos(3, 2.5));
        assert!(stricter.warning("s", T0).is_some());
    }

    #[test]
    fn busiest_minute_ties_go_earlier() {
        let samples = vec![
            sample("b", T0 + 60_000_000, true, 1),
            sample("b", T0 + 60_000_001, true, 1),
            sample("a", T0 + 120_000_000, true, 3),
            sample("a", T0 + 120_000_001, true, 0),
            sample("c", T0, true, 1),
        ];
        let busiest = ReuseCheck::new(&samples, &dos(60, 1.5))
            .busiest()
            .expect("busiest");
        assert_eq!(busiest.stream, "b");
        assert_eq!(busiest.minute_start_us, T0 + 60_000_000);
        assert_eq!(busiest.connections, 2);
        assert_eq!(ReuseCheck::new(&[], &dos(60, 1.5)).busiest(), None);
    }
}
