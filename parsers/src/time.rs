//! Turning log stamps into UTC instants: the year of classic syslog stamps
//! and the zone of stamps without an offset.
//!
//! Classic stamps (`Mar  7 02:09:33`) have no year. A [`YearTracker`] walks a
//! rotated set of files in time order and starts a new year when the month
//! jumps back by six months or more (December to January). A line whose month
//! jumps forward by more than six months (a late December line after January
//! lines) is put in the previous year without moving the tracker.

use chrono::{LocalResult, NaiveDate, TimeZone};
use chrono_tz::Tz;

use crate::error::RejectCode;
use crate::records::Instant;
use crate::syslog::Stamp;

/// Source of the year of classic stamps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum YearSource {
    /// `--year`: the year of the first classic stamp of the set.
    Option(i32),
    /// The modification time of the newest file: the year of the last
    /// classic stamp of the set (computed with a first pass over the months).
    ModificationTime(i32),
    /// No year is known (stdin without `--year`); classic stamps are rejected.
    Unknown,
}

/// Month-jump state for one rotated set, walked in line order.
#[derive(Debug, Clone)]
pub struct YearTracker {
    year: Option<i32>,
    last_month: Option<u32>,
}

impl YearTracker {
    /// Starts a tracker whose first classic stamp falls in `first_year`.
    pub fn new(first_year: Option<i32>) -> Self {
        YearTracker {
            year: first_year,
            last_month: None,
        }
    }

    /// Returns the year of a line with this month and advances the tracker.
    pub fn year_of(&mut self, month: u32) -> Option<i32> {
        let year = self.year?;
        let Some(last) = self.last_month else {
            self.last_month = Some(month);
            return Some(year);
        };
        if last >= month + 6 {
            self.year = Some(year + 1);
            self.last_month = Some(month);
            return Some(year + 1);
        }
        if month > last + 6 {
            return Some(year - 1);
        }
        self.last_month = Some(month);
        Some(year)
    }
}

/// Counts the year changes a [`YearTracker`] would see in these months, so
/// that a year known for the last line can be turned into the first line's.
pub fn count_rollovers(months: impl IntoIterator<Item = u32>) -> i32 {
    let mut tracker = YearTracker::new(Some(0));
    let mut last_year = 0;
    for month in months {
        let year = tracker.year_of(month).unwrap_or(0);
        last_year = last_year.max(year);
    }
    last_year
}

/// Maximum distance behind the latest instant of a set at which a repeated
/// local time is still read as a line logged out of order. Further back, it
/// is read as the second pass of the hour a daylight saving change repeats.
const REPEATED_HOUR_TOLERANCE_US: i64 = 10 * 60 * 1_000_000;

/// Converts the stamps of one rotated set to UTC, in line order, keeping
/// the latest instant seen so that the repeated hour after a daylight
/// saving change is read as the log wrote it.
#[derive(Debug, Clone)]
pub struct Clock {
    zone: Tz,
    latest_us: Option<i64>,
}

impl Clock {
    pub fn new(zone: Tz) -> Self {
        Clock {
            zone,
            latest_us: None,
        }
    }

    /// Converts the stamp of the next line. A local time that occurs twice
    /// is taken in the first pass, unless that instant lies more than
    /// [`REPEATED_HOUR_TOLERANCE_US`] before the latest instant seen: the
    /// clock went back, and the line is in the second pass.
    pub fn instant(&mut self, stamp: Stamp, year: Option<i32>) -> Result<Instant, RejectCode> {
        let instant = resolve(stamp, year, self.zone, self.latest_us)?;
        self.latest_us = Some(
            self.latest_us
                .map_or(instant.utc_us, |latest| latest.max(instant.utc_us)),
        );
        Ok(instant)
    }
}

/// Converts a stamp to UTC. `year` is the year for classic stamps; `zone`
/// applies to stamps without an offset. A local time that occurs twice is
/// taken in the first pass.
pub fn to_instant(stamp: Stamp, year: Option<i32>, zone: Tz) -> Result<Instant, RejectCode> {
    resolve(stamp, year, zone, None)
}

fn resolve(stamp: Stamp, year: Option<i32>, zone: Tz, latest_us: Option<i64>) -> Result<Instant, RejectCode> {
    let (year, month, day, hour, minute, second, micros, offset) = match stamp {
        Stamp::Classic {
            month,
            day,
            hour,
            minute,
            second,
        } => (
            year.ok_or(RejectCode::MissingYear)?,
            month,
            day,
            hour,
            minute,
            second,
            0,
            None,
        ),
        Stamp::Rfc3339 {
            year,
            month,
            day,
            hour,
            minute,
            second,
            micros,
            offset_seconds,
        } => (year, month, day, hour, minute, second, micros, offset_seconds),
    };
    // A leap second (60) is folded into the last microsecond of its minute.
    let (second, micros) = if second == 60 {
        (59, 999_999)
    } else {
        (second, micros)
    };
    let naive = NaiveDate::from_ymd_opt(year, month, day)
        .and_then(|date| date.and_hms_micro_opt(hour, minute, second, micros))
        .ok_or(RejectCode::BadTimestamp)?;
    let utc_us = match offset {
        Some(offset) => naive.and_utc().timestamp_micros() - i64::from(offset) * 1_000_000,
        None => match zone.from_local_datetime(&naive) {
            LocalResult::Single(at) => at.timestamp_micros(),
            LocalResult::Ambiguous(earlier, later) => {
                // NOTE: a heuristic. In a quiet log, a second-pass line less
                // than the tolerance behind the latest line is read in the
                // first pass, and one fast clock in a merged file moves
                // `latest_us` ahead for every later line.
                let earlier = earlier.timestamp_micros();
                let went_back = latest_us.is_some_and(|latest| earlier < latest - REPEATED_HOUR_TOLERANCE_US);
                if went_back {
                    later.timestamp_micros()
                } else {
                    earlier
                }
            }
            LocalResult::None => return Err(RejectCode::NonexistentLocalTime),
        },
    };
    Ok(Instant {
        utc_us,
        offset_seconds: offset,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tracker_rolls_over_december_to_january() {
        let mut tracker = YearTracker::new(Some(2023));
        assert_eq!(tracker.year_of(12), Some(2023));
        assert_eq!(tracker.year_of(12), Some(2023));
        assert_eq!(tracker.year_of(1), Some(2024));
        // A late December line after January lines stays in 2023.
        assert_eq!(tracker.year_of(12), Some(2023));
        assert_eq!(tracker.year_of(1), Some(2024));
        assert_eq!(tracker.year_of(2), Some(2024));
    }

    #[test]
    fn tracker_ignores_small_backward_jumps() {
        let mut tracker = YearTracker::new(Some(2024));
        assert_eq!(tracker.year_of(3), Some(2024));
        assert_eq!(tracker.year_of(2), Some(2024));
        assert_eq!(tracker.year_of(3), Some(2024));
    }

    #[test]
    fn tracker_without_year() {
        assert_eq!(YearTracker::new(None).year_of(3), None);
    }

    #[test]
    fn rollovers_counted() {
        assert_eq!(count_rollovers([11, 12, 1, 2]), 1);
        assert_eq!(count_rollovers([12, 1, 12, 1]), 1);
        assert_eq!(count_rollovers([3, 4, 5]), 0);
        assert_eq!(count_rollovers([12, 1, 6, 12, 1]), 2);
    }

    #[test]
    fn instants() {
        let utc: Tz = "UTC".parse().unwrap();
        let tokyo: Tz = "Asia/Tokyo".parse().unwrap();
        let classic = Stamp::Classic {
            month: 1,
            day: 1,
            hour: 9,
            minute: 0,
            second: 0,
        };
        // 2024-01-01T00:00:00Z is 1_704_067_200 s.
        assert_eq!(
            to_instant(classic, Some(2024), tokyo).unwrap().utc_us,
            1_704_067_200_000_000
        );
        assert_eq!(
            to_instant(classic, Some(2024), utc).unwrap().utc_us,
            1_704_067_200_000_000 + 9 * 3_600_000_000
        );
        assert_eq!(to_instant(classic, None, utc), Err(RejectCode::MissingYear));
        let rfc = Stamp::Rfc3339 {
            year: 2024,
            month: 1,
            day: 1,
            hour: 9,
            minute: 0,
            second: 0,
            micros: 5,
            offset_seconds: Some(9 * 3600),
        };
        let instant = to_instant(rfc, None, utc).unwrap();
        assert_eq!(instant.utc_us, 1_704_067_200_000_005);
        assert_eq!(instant.offset_seconds, Some(32_400));
    }

    #[test]
    fn february_29_needs_a_leap_year() {
        let utc: Tz = "UTC".parse().unwrap();
        let stamp = Stamp::Classic {
            month: 2,
            day: 29,
            hour: 0,
            minute: 0,
            second: 0,
        };
        assert!(to_instant(stamp, Some(2024), utc).is_ok());
        assert_eq!(to_instant(stamp, Some(2023), utc), Err(RejectCode::BadTimestamp));
    }

    #[test]
    fn daylight_saving_gap_and_overlap() {
        let new_york: Tz = "America/New_York".parse().unwrap();
        let gap = Stamp::Classic {
            month: 3,
            day: 10,
            hour: 2,
            minute: 30,
            second: 0,
        };
        assert_eq!(
            to_instant(gap, Some(2024), new_york),
            Err(RejectCode::NonexistentLocalTime)
        );
        let overlap = Stamp::Classic {
            month: 11,
            day: 3,
            hour: 1,
            minute: 30,
            second: 0,
        };
        // 01:30 EDT (UTC-4) is 05:30 UTC.
        let instant = to_instant(overlap, Some(2024), new_york).unwrap();
        assert_eq!(instant.utc_us, 1_730_611_800_000_000);
    }

    #[test]
    fn repeated_hour_follows_log_order() {
        let new_york: Tz = "America/New_York".parse().unwrap();
        let at = |hour, minute| Stamp::Classic {
            month: 11,
            day: 3,
            hour,
            minute,
            second: 0,
        };
        // 2024-11-03 01:00 EDT is 05:00 UTC; 01:00 EST is 06:00 UTC.
        let utc_minute = |us: i64| (us - 1_730_610_000_000_000) / 60_000_000;
        let mut clock = Clock::new(new_york);
        let minutes: Vec<i64> = [(0, 50), (1, 10), (1, 40), (1, 38), (1, 5), (1, 30), (2, 0)]
            .into_iter()
            .map(|(hour, minute)| utc_minute(clock.instant(at(hour, minute), Some(2024)).unwrap().utc_us))
            .collect();
        // 01:38 after 01:40 is a line out of order in the first pass; 01:05
        // after 01:40 is the second pass.
        assert_eq!(minutes, [-10, 10, 40, 38, 65, 90, 120]);
    }
}
