//! The verdict at a glance: ready, ready after changes, or not ready.
//!
//! Not ready when the relay would reject any recipient. Ready after changes
//! when only rewritten senders, throttled recipients, warnings or rules that
//! could not be judged remain. Ready otherwise. The report states this rule
//! beside the verdict.

use crate::report::facts::Facts;
use crate::report::text::{self, Lang};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Readiness {
    Ready,
    ReadyAfterChanges,
    NotReady,
}

impl Readiness {
    /// CSS class and `data-readiness` value.
    pub fn key(self) -> &'static str {
        match self {
            Readiness::Ready => "ready",
            Readiness::ReadyAfterChanges => "ready-after-changes",
            Readiness::NotReady => "not-ready",
        }
    }

    pub fn name(self, lang: Lang) -> &'static str {
        let words = lang.words();
        match self {
            Readiness::Ready => words.ready,
            Readiness::ReadyAfterChanges => words.ready_after_changes,
            Readiness::NotReady => words.not_ready,
        }
    }
}

/// Counts of the open points that keep a replay without rejections from
/// being ready as it is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OpenPoints {
    /// Rules the policy gives too little information to judge.
    pub rules_not_judged: usize,
    /// Warning rules that fired (`dos.generic_helo` as a warning,
    /// `dos.no_connection_reuse`).
    pub warnings: usize,
    /// Conflicts between the policy and the logs, and other connection
    /// findings.
    pub findings: usize,
}

/// Decides the readiness and lists its reasons, rejections first, then by
/// recipients, most first.
pub fn decide(facts: &Facts, open: OpenPoints, lang: Lang) -> (Readiness, Vec<String>) {
    let mut refused: Vec<_> = facts
        .outcomes_by_rule
        .iter()
        .filter(|row| row.outcome != "accepted" && row.recipients > 0)
        .collect();
    refused.sort_by(|a, b| {
        (b.outcome == "rejected")
            .cmp(&(a.outcome == "rejected"))
            .then(b.recipients.cmp(&a.recipients))
            .then(a.rule.cmp(&b.rule))
    });
    let mut reasons: Vec<String> = refused
        .iter()
        .map(|row| text::reason(lang, &row.rule, &row.outcome, row.recipients))
        .collect();
    if open.rules_not_judged > 0 {
        reasons.push(text::not_judged_reason(lang, open.rules_not_judged));
    }
    if open.warnings > 0 {
        reasons.push(text::warnings_reason(lang, open.warnings));
    }
    if open.findings > 0 {
        reasons.push(text::findings_reason(lang, open.findings));
    }

    let readiness = if refused.iter().any(|row| row.outcome == "rejected") {
        Readiness::NotReady
    } else if !reasons.is_empty() {
        Readiness::ReadyAfterChanges
    } else {
        Readiness::Ready
    };
    (readiness, reasons)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::facts::RuleCount;

    fn not_judged(rules: usize) -> OpenPoints {
        OpenPoints {
            rules_not_judged: rules,
            ..OpenPoints::default()
        }
    }

    #[test]
    fn warnings_and_findings_need_changes() {
        let facts = facts(&[("", "accepted", 5)]);
        let warnings = OpenPoints {
            warnings: 1,
            ..OpenPoints::default()
        };
        let (readiness, reasons) = decide(&facts, warnings, Lang::En);
        assert_eq!(readiness, Readiness::ReadyAfterChanges);
        assert_eq!(reasons, vec!["1 warning rule fired".to_string()]);
        let findings = OpenPoints {
            findings: 2,
            ..OpenPoints::default()
        };
        let (readiness, reasons) = decide(&facts, findings, Lang::Ja);
        assert_eq!(readiness, Readiness::ReadyAfterChanges);
        assert!(reasons[0].contains('2'), "{reasons:?}");
    }

    fn facts(rows: &[(&str, &str, u64)]) -> Facts {
        Facts {
            zone: chrono_tz::UTC,
            mode: "smarthost".to_string(),
            limits: Default::default(),
            limits_set_by_policy: Vec::new(),
            account: "paid".to_string(),
            comprehensive_storage: Some(true),
            domains: Vec::new(),
            subdomains: true,
            outcomes_by_rule: rows
                .iter()
                .map(|(rule, outcome, recipients)| RuleCount {
                    rule: rule.to_string(),
                    outcome: outcome.to_string(),
                    recipients: *recipients,
                })
                .collect(),
        }
    }

    #[test]
    fn any_rejection_is_not_ready() {
        let facts = facts(&[("", "accepted", 100), ("limit.message_size", "rejected", 1)]);
        let (readiness, reasons) = decide(&facts, OpenPoints::default(), Lang::En);
        assert_eq!(readiness, Readiness::NotReady);
        assert_eq!(reasons, vec!["1 recipient rejected by limit.message_size"]);
    }

    #[test]
    fn throttles_and_rewrites_need_changes() {
        let facts = facts(&[
            ("", "accepted", 100),
            ("sender.rewrite_postmaster", "rewritten", 3),
            ("limit.org_recipients_10min", "throttled", 5),
        ]);
        let (readiness, reasons) = decide(&facts, OpenPoints::default(), Lang::En);
        assert_eq!(readiness, Readiness::ReadyAfterChanges);
        assert_eq!(reasons.len(), 2);
        assert!(reasons[0].contains("limit.org_recipients_10min"));
    }

    #[test]
    fn rules_not_judged_need_changes() {
        let facts = facts(&[("", "accepted", 100)]);
        assert_eq!(
            decide(&facts, not_judged(2), Lang::En).0,
            Readiness::ReadyAfterChanges
        );
        assert_eq!(
            decide(&facts, OpenPoints::default(), Lang::En).0,
            Readiness::Ready
        );
    }

    #[test]
    fn unknown_warning_outcome_needs_changes() {
        let facts = facts(&[("", "accepted", 10), ("dos.generic_helo", "warning", 10)]);
        assert_eq!(
            decide(&facts, OpenPoints::default(), Lang::Ja).0,
            Readiness::ReadyAfterChanges
        );
    }
}
