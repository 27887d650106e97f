//! Typed facts read from `summary.json` and `manifest.json`: limits, window
//! lengths, time zone, mode and the owned domains.
//!
//! Limits come from `peaks.*.limit`, which the replay writes from the policy
//! it used, so a policy that changes a limit moves the chart line. The
//! `policy` object supplies window lengths and the organisation; a summary
//! without it (written before the report existed) gets Google's documented
//! values.

use std::collections::BTreeMap;

use anyhow::{anyhow, Result};
use chrono_tz::Tz;
use serde_json::Value;

use crate::report::load::Evidence;

/// Google's documented limits of the SMTP relay service, by policy key.
pub const DOCUMENTED_LIMITS: [(&str, u64); 8] = [
    ("user_messages_per_day", 10_000),
    ("user_recipients_per_day", 10_000),
    ("org_recipients_per_day", 4_600_000),
    ("org_recipients_per_10min", 319_444),
    ("recipients_per_transaction", 100),
    ("max_message_bytes", 26_214_400),
    ("day_window_seconds", 86_400),
    ("short_window_seconds", 600),
];

pub fn documented_limit(key: &str) -> Option<u64> {
    DOCUMENTED_LIMITS
        .iter()
        .find(|(name, _)| *name == key)
        .map(|(_, value)| *value)
}

/// One row of `outcomes_by_rule`.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleCount {
    pub rule: String,
    pub outcome: String,
    pub recipients: u64,
}

/// Facts of one replay that the charts and the HTML share.
#[derive(Debug, Clone, PartialEq)]
pub struct Facts {
    pub zone: Tz,
    /// `smarthost` or `direct`.
    pub mode: String,
    /// Limit values by policy key, as the replay used them.
    pub limits: BTreeMap<String, u64>,
    /// Limit keys the policy file set itself.
    pub limits_set_by_policy: Vec<String>,
    pub account: String,
    pub comprehensive_storage: Option<bool>,
    pub domains: Vec<String>,
    pub subdomains: bool,
    pub outcomes_by_rule: Vec<RuleCount>,
}

impl Facts {
    pub fn read(evidence: &Evidence) -> Result<Facts> {
        let summary = &evidence.summary;
        let zone_name = evidence
            .manifest
            .pointer("/options/tz")
            .and_then(Value::as_str)
            .unwrap_or("UTC");
        let zone: Tz = zone_name
            .parse()
            .map_err(|_| anyhow!("manifest.json names time zone {zone_name:?}, which is not an IANA zone"))?;
        let policy = summary.get("policy").cloned().unwrap_or(Value::Null);

        let mut limits: BTreeMap<String, u64> = DOCUMENTED_LIMITS
            .iter()
            .map(|(key, value)| (key.to_string(), *value))
            .collect();
        if let Some(recorded) = policy.get("limits").and_then(Value::as_object) {
            for (key, value) in recorded {
                if let Some(value) = value.as_u64() {
                    limits.insert(key.clone(), value);
                }
            }
        }
        for (peak, key) in [
            ("user_messages", "user_messages_per_day"),
            ("user_unique_recipients", "user_recipients_per_day"),
            ("org_recipients_day", "org_recipients_per_day"),
            ("org_recipients_10min", "org_recipients_per_10min"),
            ("transaction_recipients", "recipients_per_transaction"),
            ("message_bytes", "max_message_bytes"),
        ] {
            let pointer = format!("/peaks/{peak}/limit");
            if let Some(limit) = summary.pointer(&pointer).and_then(Value::as_u64) {
                limits.insert(key.to_string(), limit);
            }
        }

        let outcomes_by_rule = summary
            .get("outcomes_by_rule")
            .and_then(Value::as_array)
            .map(|rows| {
                rows.iter()
                    .map(|row| RuleCount {
                        rule: string(row, "rule"),
                        outcome: string(row, "outcome"),
                        recipients: row.get("recipients").and_then(Value::as_u64).unwrap_or(0),
                    })
                    .collect()
            })
            .unwrap_or_default();

        Ok(Facts {
            zone,
            mode: summary
                .get("mode")
                .and_then(Value::as_str)
                .unwrap_or("smarthost")
                .to_string(),
            limits,
            limits_set_by_policy: strings(policy.get("limits_set_by_policy")),
            account: policy
                .get("account")
                .and_then(Value::as_str)
                .unwrap_or("paid")
                .to_string(),
            comprehensive_storage: policy.get("comprehensive_storage").and_then(Value::as_bool),
            domains: strings(policy.get("domains")),
            subdomains: policy.get("subdomains").and_then(Value::as_bool).unwrap_or(true),
            outcomes_by_rule,
        })
    }

    /// Returns the limit under policy key `key`; 0 when unknown.
    pub fn limit(&self, key: &str) -> u64 {
        self.limits.get(key).copied().unwrap_or(0)
    }

    pub fn short_window_s(&self) -> u64 {
        self.limits.get("short_window_seconds").copied().unwrap_or(600)
    }

    pub fn day_window_s(&self) -> u64 {
        self.limits.get("day_window_seconds").copied().unwrap_or(86_400)
    }

    /// Returns whether `address` is in an owned domain (or a subdomain, when the
    /// policy counts them).
    pub fn is_owned(&self, address: &str) -> bool {
        let Some((_, domain)) = address.rsplit_once('@') else {
            return false;
        };
        let domain = domain.to_ascii_lowercase();
        self.domains.iter().any(|owned| {
            domain == *owned
                || (self.subdomains
                    && domain.len() > owned.len()
                    && domain.ends_with(owned.as_str())
                    && domain.as_bytes()[domain.len() - owned.len() - 1] == b'.')
        })
    }

    /// Recipients per outcome over all rules.
    pub fn outcome_totals(&self) -> BTreeMap<&str, u64> {
        let mut totals = BTreeMap::new();
        for row in &self.outcomes_by_rule {
            *totals.entry(row.outcome.as_str()).or_insert(0) += row.recipients;
        }
        totals
    }
}

fn string(value: &Value, key: &str) -> String {
    value
        .get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

fn strings(value: Option<&Value>) -> Vec<String> {
    value
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}
