//! Number formatting shared by policy messages and verdict details.

/// Formats `number` with a comma between groups of three digits: `10,001`.
pub fn group_thousands(number: impl Into<u128>) -> String {
    let digits = number.into().to_string();
    let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    grouped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_grouping() {
        assert_eq!(group_thousands(0u64), "0");
        assert_eq!(group_thousands(999u64), "999");
        assert_eq!(group_thousands(1_000u64), "1,000");
        assert_eq!(group_thousands(4_600_000u64), "4,600,000");
        assert_eq!(
            group_thousands(u128::MAX),
            "340,282,366,920,938,463,463,374,607,431,768,211,455"
        );
    }
}
