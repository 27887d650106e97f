//! Number and duration formatting for verdict details.

pub(crate) use crate::text::group_thousands;

/// Formats a count with its noun, adding `s` unless the count is 1:
/// `1 recipient`, `10,001 recipients`.
pub(crate) fn count_noun(count: u64, noun: &str) -> String {
    let suffix = if count == 1 { "" } else { "s" };
    format!("{} {noun}{suffix}", group_thousands(count))
}

/// Describes a window length in its largest whole unit: `24 h`, `10 min` or
/// `90 s`.
pub(crate) fn describe_window(seconds: u64) -> String {
    if seconds > 0 && seconds.is_multiple_of(3600) {
        format!("{} h", group_thousands(seconds / 3600))
    } else if seconds > 0 && seconds.is_multiple_of(60) {
        format!("{} min", group_thousands(seconds / 60))
    } else {
        format!("{} s", group_thousands(seconds))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn count_noun_plural() {
        assert_eq!(count_noun(1, "recipient"), "1 recipient");
        assert_eq!(count_noun(0, "recipient"), "0 recipients");
        assert_eq!(count_noun(10_001, "recipient"), "10,001 recipients");
    }

    #[test]
    fn window_units() {
        assert_eq!(describe_window(86_400), "24 h");
        assert_eq!(describe_window(600), "10 min");
        assert_eq!(describe_window(90), "90 s");
        assert_eq!(describe_window(0), "0 s");
    }
}
