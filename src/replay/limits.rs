//! Limit rules: message size, recipients per transaction, and the per-user
//! and organisation sliding windows with their peak counters.
//!
//! Each check compares the value a counter would reach by accepting the
//! current message or recipient with the limit. Only accepted traffic is
//! added to the windows.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, VecDeque};

use crate::note::{Note, Params};
use crate::policy::Limits;
use crate::replay::model::{Peak, Peaks, RelayMessage};
use crate::replay::rules::{
    Decision, MESSAGE_SIZE, ORG_RECIPIENTS_10MIN, ORG_RECIPIENTS_DAY, TRANSACTION_RECIPIENTS, USER_MESSAGES,
    USER_RECIPIENTS,
};
use crate::replay::text::{describe_window, group_thousands};
use crate::replay::window::{window_cutoff, SumWindow, UniqueWindow};

/// Codes of the verdict details this module writes.
pub(crate) const NOTE_CODES: &[&str] = &[
    "message_too_large",
    "transaction_recipient_over_limit",
    "user_messages_over_limit",
    "user_recipients_over_limit",
    "org_recipients_over_limit",
];

/// Returns `limit.message_size` when the message is larger than the limit.
/// A message of unknown size is not checked.
pub(crate) fn check_message_size(limits: &Limits, size_bytes: Option<u64>) -> Option<Decision> {
    let size = size_bytes?;
    if size <= limits.max_message_bytes {
        return None;
    }
    let detail = Note::new(
        "message_too_large",
        Params::new()
            .add("limit_bytes", limits.max_message_bytes)
            .add("size_bytes", size),
        format!(
            "message of {} bytes is larger than the limit of {} bytes",
            group_thousands(size),
            group_thousands(limits.max_message_bytes)
        ),
    );
    Some(Decision::with_counter(
        MESSAGE_SIZE,
        detail,
        size,
        limits.max_message_bytes,
    ))
}

/// Returns `limit.transaction_recipients` when `position` (from 1) lies
/// beyond the relay's recipients per transaction.
pub(crate) fn check_transaction_position(limits: &Limits, position: u64) -> Option<Decision> {
    if position <= limits.recipients_per_transaction {
        return None;
    }
    let detail = Note::new(
        "transaction_recipient_over_limit",
        Params::new()
            .add("limit", limits.recipients_per_transaction)
            .add("position", position),
        format!(
            "recipient {} of this transaction; limit {} per transaction",
            group_thousands(position),
            group_thousands(limits.recipients_per_transaction)
        ),
    );
    Some(Decision::with_counter(
        TRANSACTION_RECIPIENTS,
        detail,
        position,
        limits.recipients_per_transaction,
    ))
}

/// Builds the detail of an organisation limit over `window_seconds`, which
/// `window_label` names.
fn org_note(value: u64, limit: u64, window_seconds: u64, window_label: &str) -> Note {
    Note::new(
        "org_recipients_over_limit",
        Params::new()
            .add("limit", limit)
            .add("value", value)
            .add("window_seconds", window_seconds),
        format!(
            "the organisation would reach {} recipients in {window_label}; limit {}",
            group_thousands(value),
            group_thousands(limit)
        ),
    )
}

/// One user's day windows.
#[derive(Debug, Default)]
struct UserWindows {
    messages: SumWindow,
    recipients: UniqueWindow,
}

impl UserWindows {
    fn expire(&mut self, cutoff_us: i64) {
        self.messages.expire(cutoff_us);
        self.recipients.expire(cutoff_us);
    }

    fn is_empty(&self) -> bool {
        self.messages.is_empty() && self.recipients.is_empty()
    }
}

/// Highest value of one counter and the index of the first message that
/// reached it.
#[derive(Debug, Clone, Copy)]
struct PeakMark {
    value: u64,
    at_us: i64,
    message_index: usize,
}

fn raise_peak(mark: &mut Option<PeakMark>, value: u64, at_us: i64, message_index: usize) {
    if mark.is_some_and(|mark| mark.value >= value) {
        return;
    }
    *mark = Some(PeakMark {
        value,
        at_us,
        message_index,
    });
}

fn resolve_peak(mark: Option<PeakMark>, messages: &[RelayMessage]) -> Option<Peak> {
    let mark = mark?;
    Some(Peak {
        value: mark.value,
        at_us: mark.at_us,
        message_key: messages[mark.message_index].message_key.clone(),
    })
}

#[derive(Debug, Default)]
struct PeakMarks {
    user_messages: Option<PeakMark>,
    user_unique_recipients: Option<PeakMark>,
    org_recipients_day: Option<PeakMark>,
    org_recipients_10min: Option<PeakMark>,
    transaction_recipients: Option<PeakMark>,
    message_bytes: Option<PeakMark>,
}

/// Window counters of the replay so far.
///
/// Callers must call [`LimitState::advance_to`] with non-decreasing times
/// before checking or committing a message.
#[derive(Debug)]
pub(crate) struct LimitState<'p> {
    limits: &'p Limits,
    day_label: String,
    short_label: String,
    /// Windows of the users with accepted traffic in the day window. A user
    /// is dropped once both windows are empty.
    users: HashMap<String, UserWindows>,
    /// (at_us, sender) for every message committed to a user's windows,
    /// oldest first, so idle users can be found and dropped.
    user_activity: VecDeque<(i64, String)>,
    org_day: SumWindow,
    org_short: SumWindow,
    /// Time of the last `advance_to`.
    now_us: i64,
    peaks: PeakMarks,
}

impl<'p> LimitState<'p> {
    pub(crate) fn new(limits: &'p Limits) -> Self {
        LimitState {
            limits,
            day_label: describe_window(limits.day_window_seconds),
            short_label: describe_window(limits.short_window_seconds),
            users: HashMap::new(),
            user_activity: VecDeque::new(),
            org_day: SumWindow::default(),
            org_short: SumWindow::default(),
            now_us: i64::MIN,
            peaks: PeakMarks::default(),
        }
    }

    /// Moves the windows to end at `at_us`, expiring older entries and
    /// dropping the users whose windows empty.
    pub(crate) fn advance_to(&mut self, at_us: i64) {
        self.now_us = at_us;
        let day_cutoff = window_cutoff(at_us, self.limits.day_window_seconds);
        self.org_day.expire(day_cutoff);
        self.org_short
            .expire(window_cutoff(at_us, self.limits.short_window_seconds));

        while let Some((activity_us, _)) = self.user_activity.front() {
            if *activity_us > day_cutoff {
                break;
            }
            let Some((_, sender)) = self.user_activity.pop_front() else {
                break;
            };
            if let Entry::Occupied(mut user) = self.users.entry(sender) {
                user.get_mut().expire(day_cutoff);
                if user.get().is_empty() {
                    user.remove();
                }
            }
        }
    }

    /// Records what the MTA offers, whatever the relay does with it: the
    /// message size and the recipients of its largest transaction.
    pub(crate) fn observe_offer(
        &mut self,
        message_index: usize,
        size_bytes: Option<u64>,
        largest_transaction: u64,
    ) {
        let at_us = self.now_us;
        if let Some(size) = size_bytes {
            raise_peak(&mut self.peaks.message_bytes, size, at_us, message_index);
        }
        if largest_transaction > 0 {
            raise_peak(
                &mut self.peaks.transaction_recipients,
                largest_transaction,
                at_us,
                message_index,
            );
        }
    }

    /// Returns `limit.user_messages` when accepting one more message from
    /// `sender` would exceed the user's messages in the day window.
    pub(crate) fn check_user_messages(&self, sender: &str) -> Option<Decision> {
        let accepted = self.users.get(sender).map_or(0, |user| user.messages.total());
        let value = accepted + 1;
        let limit = self.limits.user_messages_per_day;
        if value <= limit {
            return None;
        }
        let detail = Note::new(
            "user_messages_over_limit",
            Params::new()
                .add("limit", limit)
                .add("sender", sender)
                .add("value", value)
                .add("window_seconds", self.limits.day_window_seconds),
            format!(
                "{sender} would reach {} messages in {}; limit {}",
                group_thousands(value),
                self.day_label,
                group_thousands(limit)
            ),
        );
        Some(Decision::with_counter(USER_MESSAGES, detail, value, limit))
    }

    /// Returns `limit.user_recipients` when `recipient` (lowercase) is new in
    /// the user's day window and would exceed the unique recipients limit.
    pub(crate) fn check_user_recipient(&self, sender: &str, recipient: &str) -> Option<Decision> {
        let user = self.users.get(sender);
        if user.is_some_and(|user| user.recipients.contains(recipient)) {
            return None;
        }
        let value = user.map_or(0, |user| user.recipients.distinct_count()) + 1;
        let limit = self.limits.user_recipients_per_day;
        if value <= limit {
            return None;
        }
        let detail = Note::new(
            "user_recipients_over_limit",
            Params::new()
                .add("limit", limit)
                .add("sender", sender)
                .add("value", value)
                .add("window_seconds", self.limits.day_window_seconds),
            format!(
                "{sender} would reach {} unique recipients in {}; limit {}",
                group_thousands(value),
                self.day_label,
                group_thousands(limit)
            ),
        );
        Some(Decision::with_counter(USER_RECIPIENTS, detail, value, limit))
    }

    /// Returns the first organisation limit that one more recipient would
    /// exceed: the day window, then the short window.
    pub(crate) fn check_org_recipient(&self) -> Option<Decision> {
        let day_value = self.org_day.total() + 1;
        let day_limit = self.limits.org_recipients_per_day;
        if day_value > day_limit {
            let detail = org_note(
                day_value,
                day_limit,
                self.limits.day_window_seconds,
                &self.day_label,
            );
            return Some(Decision::with_counter(
                ORG_RECIPIENTS_DAY,
                detail,
                day_value,
                day_limit,
            ));
        }

        let short_value = self.org_short.total() + 1;
        let short_limit = self.limits.org_recipients_per_10min;
        if short_value > short_limit {
            let detail = org_note(
                short_value,
                short_limit,
                self.limits.short_window_seconds,
                &self.short_label,
            );
            return Some(Decision::with_counter(
                ORG_RECIPIENTS_10MIN,
                detail,
                short_value,
                short_limit,
            ));
        }
        None
    }

    /// Adds one accepted recipient to the organisation windows and, when
    /// `user` is given, to that user's unique recipients.
    pub(crate) fn commit_recipient(&mut self, message_index: usize, user: Option<&str>, recipient: &str) {
        let at_us = self.now_us;
        self.org_day.add(at_us, 1);
        self.org_short.add(at_us, 1);
        raise_peak(
            &mut self.peaks.org_recipients_day,
            self.org_day.total(),
            at_us,
            message_index,
        );
        raise_peak(
            &mut self.peaks.org_recipients_10min,
            self.org_short.total(),
            at_us,
            message_index,
        );

        if let Some(sender) = user {
            let windows = self.users.entry(sender.to_string()).or_default();
            windows.recipients.add(at_us, recipient.to_string());
            let unique = windows.recipients.distinct_count();
            raise_peak(
                &mut self.peaks.user_unique_recipients,
                unique,
                at_us,
                message_index,
            );
        }
    }

    /// Adds one accepted message to the user's message window. Call it once
    /// per message that had a recipient committed for `sender`.
    pub(crate) fn commit_user_message(&mut self, message_index: usize, sender: &str) {
        let at_us = self.now_us;
        let windows = self.users.entry(sender.to_string()).or_default();
        windows.messages.add(at_us, 1);
        let count = windows.messages.total();
        raise_peak(&mut self.peaks.user_messages, count, at_us, message_index);
        self.user_activity.push_back((at_us, sender.to_string()));
    }

    /// Returns the peaks with message keys looked up in `messages`, the
    /// sorted slice whose indexes the commits used.
    pub(crate) fn peaks(&self, messages: &[RelayMessage]) -> Peaks {
        Peaks {
            user_messages: resolve_peak(self.peaks.user_messages, messages),
            user_unique_recipients: resolve_peak(self.peaks.user_unique_recipients, messages),
            org_recipients_day: resolve_peak(self.peaks.org_recipients_day, messages),
            org_recipients_10min: resolve_peak(self.peaks.org_recipients_10min, messages),
            transaction_recipients: resolve_peak(self.peaks.transaction_recipients, messages),
            message_bytes: resolve_peak(self.peaks.message_bytes, messages),
        }
    }

    #[cfg(test)]
    fn tracked_users(&self) -> usize {
        self.users.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND_US: i64 = 1_000_000;

    fn limits() -> Limits {
        Limits {
            user_messages_per_day: 2,
            user_recipients_per_day: 2,
            org_recipients_per_day: 100,
            org_recipients_per_10min: 100,
            recipients_per_transaction: 100,
            max_message_bytes: 1000,
            day_window_seconds: 86_400,
            short_window_seconds: 600,
            explicit: Vec::new(),
        }
    }

    #[test]
    fn idle_user_state_dropped() {
        let limits = limits();
        let mut state = LimitState::new(&limits);

        state.advance_to(0);
        state.commit_recipient(0, Some("a@example.com"), "x@example.net");
        state.commit_user_message(0, "a@example.com");
        state.advance_to(10 * SECOND_US);
        state.commit_recipient(1, Some("b@example.com"), "x@example.net");
        state.commit_user_message(1, "b@example.com");
        assert_eq!(state.tracked_users(), 2);

        state.advance_to(86_400 * SECOND_US);
        assert_eq!(state.tracked_users(), 1);

        state.advance_to(86_410 * SECOND_US);
        assert_eq!(state.tracked_users(), 0);
    }

    #[test]
    fn active_user_state_kept() {
        let limits = limits();
        let mut state = LimitState::new(&limits);

        state.advance_to(0);
        state.commit_recipient(0, Some("a@example.com"), "x@example.net");
        state.commit_user_message(0, "a@example.com");
        state.advance_to(60 * SECOND_US);
        state.commit_recipient(1, Some("a@example.com"), "y@example.net");
        state.commit_user_message(1, "a@example.com");

        state.advance_to(86_400 * SECOND_US);
        assert_eq!(state.tracked_users(), 1);
        assert!(state.check_user_messages("a@example.com").is_none());
        // x@example.net left the window with the first message.
        assert!(state
            .check_user_recipient("a@example.com", "z@example.net")
            .is_none());
    }

    #[test]
    fn size_check_boundary() {
        let limits = limits();
        assert!(check_message_size(&limits, Some(1000)).is_none());
        assert!(check_message_size(&limits, None).is_none());
        let decision = check_message_size(&limits, Some(1001)).expect("1001 bytes is too large");
        assert_eq!(decision.counter_value, Some(1001));
        assert_eq!(decision.counter_limit, Some(1000));
    }
}
