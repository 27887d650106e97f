//! The numbers behind the charts, computed from the verdict rows.
//!
//! Windows slide as in the replay engine: a recipient accepted at `t` is in
//! the window of length `L` that ends at `T` when `T - L < t <= T`. Only
//! recipients the relay takes (outcome `accepted` or `rewritten`) count,
//! timed by the message's relay time, so the highest point of each window
//! series equals the engine's peak for that window.

use std::borrow::Cow;
use std::collections::{BTreeMap, VecDeque};

use rustc_hash::{FxHashMap, FxHashSet};

use crate::report::load::{AttemptRow, MessageRow, VerdictRow};

/// A step function over time: each point keeps its value until the next.
pub type Steps = Vec<(i64, u64)>;

/// Returns whether the relay takes a recipient with this outcome.
pub fn is_taken(outcome: &str) -> bool {
    matches!(outcome, "accepted" | "rewritten")
}

/// Returns (relay time, recipients taken) per relay time, in time order.
pub fn taken_recipients(verdicts: &[VerdictRow]) -> Vec<(i64, u64)> {
    let mut by_time: BTreeMap<i64, u64> = BTreeMap::new();
    for row in verdicts.iter().filter(|row| is_taken(&row.outcome)) {
        *by_time.entry(row.at_us).or_insert(0) += 1;
    }
    by_time.into_iter().collect()
}

/// Returns the sliding sum of `events` (time-ordered) over `window_us`, with
/// one point wherever the sum changes.
pub fn sliding_sum(events: &[(i64, u64)], window_us: i64) -> Steps {
    let mut points: Steps = Vec::new();
    let mut total = 0u64;
    let mut leaving = 0usize;
    let mut arriving = 0usize;
    while arriving < events.len() || leaving < arriving {
        let next_arrival = events.get(arriving).map(|&(at, _)| at);
        let next_departure = (leaving < arriving).then(|| events[leaving].0.saturating_add(window_us));
        let now = match (next_arrival, next_departure) {
            (Some(a), Some(d)) => a.min(d),
            (Some(a), None) => a,
            (None, Some(d)) => d,
            (None, None) => break,
        };
        // A recipient taken at `now - window` has left the window at `now`.
        while leaving < arriving && events[leaving].0.saturating_add(window_us) <= now {
            total -= events[leaving].1;
            leaving += 1;
        }
        while arriving < events.len() && events[arriving].0 <= now {
            total += events[arriving].1;
            arriving += 1;
        }
        push_step(&mut points, now, total);
    }
    points
}

/// Returns the sliding count of distinct keys of `events` (time-ordered)
/// over `window_us`.
pub fn sliding_unique(events: &[(i64, &str)], window_us: i64) -> Steps {
    let mut points: Steps = Vec::new();
    let mut counts: FxHashMap<&str, u32> = FxHashMap::default();
    let mut inside: VecDeque<(i64, &str)> = VecDeque::new();
    let mut arriving = 0usize;
    loop {
        let next_arrival = events.get(arriving).map(|&(at, _)| at);
        let next_departure = inside.front().map(|&(at, _)| at.saturating_add(window_us));
        let now = match (next_arrival, next_departure) {
            (Some(a), Some(d)) => a.min(d),
            (Some(a), None) => a,
            (None, Some(d)) => d,
            (None, None) => break,
        };
        while let Some(&(at, key)) = inside.front() {
            if at.saturating_add(window_us) > now {
                break;
            }
            inside.pop_front();
            if let Some(count) = counts.get_mut(key) {
                *count -= 1;
                if *count == 0 {
                    counts.remove(key);
                }
            }
        }
        while let Some(&(at, key)) = events.get(arriving) {
            if at > now {
                break;
            }
            *counts.entry(key).or_insert(0) += 1;
            inside.push_back((at, key));
            arriving += 1;
        }
        push_step(&mut points, now, counts.len() as u64);
    }
    points
}

fn push_step(points: &mut Steps, at: i64, value: u64) {
    match points.last_mut() {
        Some(last) if last.0 == at => last.1 = value,
        Some(last) if last.1 == value => {}
        _ => points.push((at, value)),
    }
}

/// Highest value of a step series; 0 when it is empty.
pub fn highest(points: &[(i64, u64)]) -> u64 {
    points.iter().map(|&(_, value)| value).max().unwrap_or(0)
}

/// One sender's taken traffic: (relay time, 1) per transaction and (relay time,
/// lowercase recipient) per recipient.
#[derive(Default)]
struct SenderTraffic<'v> {
    message_times: Vec<(i64, u64)>,
    recipients: Vec<(i64, Cow<'v, str>)>,
}

/// One sender's day-window series.
#[derive(Debug, Clone, PartialEq)]
pub struct SenderSeries {
    /// Envelope sender the relay counts: the rewritten address after a
    /// postmaster rewrite, else the logged sender, lowercase.
    pub sender: String,
    pub messages: Steps,
    pub unique_recipients: Steps,
}

impl SenderSeries {
    pub fn peak(&self) -> u64 {
        highest(&self.messages).max(highest(&self.unique_recipients))
    }
}

/// Returns the day-window series of the `count` senders with the highest
/// peaks, highest first, ties in address order. The null sender is left out
/// because no per-user limit applies to it.
pub fn busiest_senders(
    verdicts: &[VerdictRow],
    messages: &BTreeMap<String, MessageRow>,
    window_us: i64,
    count: usize,
) -> Vec<SenderSeries> {
    let mut by_sender: FxHashMap<Cow<'_, str>, SenderTraffic> = FxHashMap::default();
    // The relay counts each transaction as a message.
    let mut counted_messages: FxHashSet<(&str, u32)> = FxHashSet::default();
    for row in verdicts.iter().filter(|row| is_taken(&row.outcome)) {
        let sender = if row.rewritten_to.is_empty() {
            messages
                .get(&row.message_key)
                .map_or(Cow::Borrowed(""), |message| lowercase(&message.envelope_from))
        } else {
            lowercase(&row.rewritten_to)
        };
        if sender.is_empty() {
            continue;
        }
        let entry = by_sender.entry(sender).or_default();
        if counted_messages.insert((row.message_key.as_str(), row.transaction)) {
            entry.message_times.push((row.at_us, 1));
        }
        entry.recipients.push((row.at_us, lowercase(&row.recipient)));
    }

    let mut by_sender: Vec<(Cow<'_, str>, SenderTraffic)> = by_sender.into_iter().collect();
    by_sender.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    let mut series: Vec<SenderSeries> = by_sender
        .into_iter()
        .map(|(sender, mut traffic)| {
            traffic.message_times.sort_unstable();
            traffic.recipients.sort_unstable();
            let keyed: Vec<(i64, &str)> = traffic
                .recipients
                .iter()
                .map(|(at, r)| (*at, r.as_ref()))
                .collect();
            SenderSeries {
                messages: sliding_sum(&traffic.message_times, window_us),
                unique_recipients: sliding_unique(&keyed, window_us),
                sender: sender.into_owned(),
            }
        })
        .collect();
    // Stable sort: senders with equal peaks stay in address order.
    series.sort_by_key(|entry| std::cmp::Reverse(entry.peak()));
    series.truncate(count);
    series
}

/// Returns `text` in lowercase, borrowed when it has no uppercase letter.
fn lowercase(text: &str) -> Cow<'_, str> {
    if text.bytes().any(|byte| byte.is_ascii_uppercase()) {
        Cow::Owned(text.to_ascii_lowercase())
    } else {
        Cow::Borrowed(text)
    }
}

/// Returns transactions per recipient count: how many relay transactions
/// carried 1, 2, ... recipients, as the MTA offered them.
pub fn transaction_sizes(verdicts: &[VerdictRow]) -> BTreeMap<u64, u64> {
    let mut recipients: FxHashMap<(&str, u32), u64> = FxHashMap::default();
    for row in verdicts {
        *recipients
            .entry((row.message_key.as_str(), row.transaction))
            .or_insert(0) += 1;
    }
    let mut histogram = BTreeMap::new();
    for count in recipients.into_values() {
        *histogram.entry(count).or_insert(0) += 1;
    }
    histogram
}

/// Returns the sizes in bytes of the replayed messages that have one.
pub fn message_sizes(messages: &BTreeMap<String, MessageRow>) -> Vec<u64> {
    messages
        .values()
        .filter_map(|message| message.size_bytes)
        .collect()
}

/// Returns new connections per minute (minute start in microseconds).
pub fn per_minute(starts_us: impl Iterator<Item = i64>) -> BTreeMap<i64, u64> {
    const MINUTE_US: i64 = 60_000_000;
    let mut counts = BTreeMap::new();
    for at in starts_us {
        *counts.entry(at.div_euclid(MINUTE_US) * MINUTE_US).or_insert(0) += 1;
    }
    counts
}

/// Returns the start times of the connections the on-premises MTA opens
/// for replayed messages: attempts that did not reuse a cached connection,
/// counted once per (message, time, next hop) because Postfix logs one line
/// per recipient of a transaction.
pub fn new_outbound_connections(attempts: &[AttemptRow]) -> Vec<i64> {
    let mut seen: BTreeMap<(&str, i64, &str), ()> = BTreeMap::new();
    for attempt in attempts.iter().filter(|attempt| attempt.conn_use.is_none()) {
        seen.insert(
            (
                attempt.message_key.as_str(),
                attempt.at_us,
                attempt.relay_host.as_str(),
            ),
            (),
        );
    }
    seen.into_keys().map(|(_, at, _)| at).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i64 = 1_000_000;

    #[test]
    fn sliding_sum_drops_at_window_end() {
        let points = sliding_sum(&[(0, 2), (5 * S, 1)], 10 * S);
        assert_eq!(points, vec![(0, 2), (5 * S, 3), (10 * S, 1), (15 * S, 0)]);
    }

    #[test]
    fn sliding_sum_same_instant_leaves_and_arrives() {
        // The recipient at 0 is outside the window that ends at 10 s.
        let points = sliding_sum(&[(0, 1), (10 * S, 4)], 10 * S);
        assert_eq!(points, vec![(0, 1), (10 * S, 4), (20 * S, 0)]);
        assert_eq!(highest(&points), 4);
    }

    #[test]
    fn sliding_unique_counts_repeats_once() {
        let events = [(0, "a"), (S, "a"), (2 * S, "b")];
        let points = sliding_unique(&events, 10 * S);
        assert_eq!(highest(&points), 2);
        assert_eq!(points.last(), Some(&(12 * S, 0)));
        // "a" stays in the window until its last use leaves it, at 11 s.
        assert!(points.contains(&(11 * S, 1)));
    }

    #[test]
    fn per_minute_buckets() {
        let counts = per_minute([0, 59 * S, 60 * S, -S].into_iter());
        assert_eq!(counts.get(&0), Some(&2));
        assert_eq!(counts.get(&(60 * S)), Some(&1));
        assert_eq!(counts.get(&(-60 * S)), Some(&1));
    }
}
