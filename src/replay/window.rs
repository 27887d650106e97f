//! Sliding time windows. An entry added at `t` is inside the window of length
//! `L` that ends at `at` when `at - L < t <= at`, so callers expire entries at
//! or before the cutoff `at - L`.

use std::collections::{HashMap, VecDeque};

/// Returns the cutoff of the window of `seconds` that ends at `at_us`:
/// entries at or before it are outside the window.
pub(crate) fn window_cutoff(at_us: i64, seconds: u64) -> i64 {
    let length_us = i64::try_from(seconds)
        .unwrap_or(i64::MAX)
        .saturating_mul(1_000_000);
    at_us.saturating_sub(length_us)
}

/// Running total of the values added within a sliding window.
#[derive(Debug, Default)]
pub(crate) struct SumWindow {
    /// (at_us, value), oldest first. Values added at the same time share one
    /// entry.
    entries: VecDeque<(i64, u64)>,
    total: u64,
}

impl SumWindow {
    pub(crate) fn total(&self) -> u64 {
        self.total
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Adds `value` at `at_us`, which must not be earlier than the last add.
    pub(crate) fn add(&mut self, at_us: i64, value: u64) {
        self.total += value;
        if let Some(last) = self.entries.back_mut() {
            if last.0 == at_us {
                last.1 += value;
                return;
            }
        }
        self.entries.push_back((at_us, value));
    }

    /// Drops the entries at or before `cutoff_us`.
    pub(crate) fn expire(&mut self, cutoff_us: i64) {
        while let Some(&(at_us, value)) = self.entries.front() {
            if at_us > cutoff_us {
                break;
            }
            self.total -= value;
            self.entries.pop_front();
        }
    }
}

/// Distinct keys added within a sliding window.
#[derive(Debug, Default)]
pub(crate) struct UniqueWindow {
    /// (at_us, key) for every add, oldest first.
    entries: VecDeque<(i64, String)>,
    /// Number of entries of each key still in the window.
    counts: HashMap<String, u32>,
}

impl UniqueWindow {
    pub(crate) fn distinct_count(&self) -> u64 {
        self.counts.len() as u64
    }

    pub(crate) fn contains(&self, key: &str) -> bool {
        self.counts.contains_key(key)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Adds `key` at `at_us`, which must not be earlier than the last add.
    /// Adding a key already in the window keeps it there for a full window
    /// from `at_us`.
    pub(crate) fn add(&mut self, at_us: i64, key: String) {
        *self.counts.entry(key.clone()).or_insert(0) += 1;
        self.entries.push_back((at_us, key));
    }

    /// Drops the entries at or before `cutoff_us`, and each key whose last
    /// entry goes with them.
    pub(crate) fn expire(&mut self, cutoff_us: i64) {
        while let Some((at_us, _)) = self.entries.front() {
            if *at_us > cutoff_us {
                break;
            }
            let Some((_, key)) = self.entries.pop_front() else {
                break;
            };
            if let Some(count) = self.counts.get_mut(&key) {
                *count -= 1;
                if *count == 0 {
                    self.counts.remove(&key);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cutoff_subtracts_seconds_as_microseconds() {
        assert_eq!(window_cutoff(1_000_000_000, 600), 1_000_000_000 - 600_000_000);
    }

    #[test]
    fn cutoff_saturates_at_minimum() {
        assert_eq!(window_cutoff(i64::MIN + 5, 1), i64::MIN);
        assert_eq!(window_cutoff(-10, u64::MAX), i64::MIN);
    }

    #[test]
    fn sum_window_merges_same_time() {
        let mut window = SumWindow::default();
        window.add(10, 2);
        window.add(10, 3);
        window.add(20, 1);
        assert_eq!(window.total(), 6);
        assert_eq!(window.entries.len(), 2);
    }

    #[test]
    fn sum_window_expires_at_cutoff() {
        let mut window = SumWindow::default();
        window.add(10, 2);
        window.add(20, 3);

        window.expire(9);
        assert_eq!(window.total(), 5);

        // An entry exactly at the cutoff is outside the window.
        window.expire(10);
        assert_eq!(window.total(), 3);

        window.expire(20);
        assert_eq!(window.total(), 0);
        assert!(window.is_empty());
    }

    #[test]
    fn unique_window_counts_repeats_once() {
        let mut window = UniqueWindow::default();
        window.add(10, "a@example.com".to_string());
        window.add(20, "a@example.com".to_string());
        window.add(20, "b@example.com".to_string());
        assert_eq!(window.distinct_count(), 2);
        assert!(window.contains("a@example.com"));
    }

    #[test]
    fn unique_window_keeps_key_until_last_entry() {
        let mut window = UniqueWindow::default();
        window.add(10, "a@example.com".to_string());
        window.add(15, "b@example.com".to_string());
        window.add(20, "a@example.com".to_string());

        window.expire(10);
        assert!(window.contains("a@example.com"));
        assert_eq!(window.distinct_count(), 2);

        window.expire(15);
        assert!(!window.contains("b@example.com"));
        assert_eq!(window.distinct_count(), 1);

        window.expire(20);
        assert!(!window.contains("a@example.com"));
        assert!(window.is_empty());
        assert_eq!(window.distinct_count(), 0);
    }
}
