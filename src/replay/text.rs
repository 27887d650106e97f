//! Number and duration formatting for verdict details.

/// Formats `value` with a comma between groups of three digits: `10,001`.
pub(crate) fn group_thousands(value: u64) -> String {
    let digits = value.to_string();
    let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    grouped
}

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
    fn thousands_grouping() {
        assert_eq!(group_thousands(0), "0");
        assert_eq!(group_thousands(999), "999");
        assert_eq!(group_thousands(1000), "1,000");
        assert_eq!(group_thousands(10_001), "10,001");
        assert_eq!(group_thousands(26_214_401), "26,214,401");
    }

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
