//! Sentences for the report about the numbers in a policy that Google does
//! not document.

use crate::policy::model::{default_recipients_per_transaction, Account, Limits, Policy};
use crate::policy::read::PER_USER_LIMITS;
use crate::text::group_thousands;

impl Policy {
    /// Describes, one sentence each, the numbers in this policy that are not
    /// Google's documented values or the source's default. These are the
    /// per-user limits of a trial or unpaid account, limits the file sets to
    /// a value other than Google's, and per-source transaction splits the
    /// file overrides. Returns an empty list for the built-in default.
    pub fn describe_assumptions(&self) -> Vec<String> {
        let mut sentences = Vec::new();
        let documented = Limits::documented();
        let account = self.organisation.account;

        for key in &self.limits.explicit {
            let (Some(value), Some(google_value)) = (self.limits.value_of(key), documented.value_of(key))
            else {
                continue;
            };
            let value_text = group_thousands(u128::from(value));
            if account != Account::Paid && PER_USER_LIMITS.contains(&key.as_str()) {
                sentences.push(format!(
                    "limits.{key} = {value_text} is set by the policy file, because Google does \
                     not publish the per-user relay limits of {} accounts.",
                    account.as_str()
                ));
            } else if value != google_value {
                sentences.push(format!(
                    "limits.{key} = {value_text} is set by the policy file in place of \
                     Google's documented {}.",
                    group_thousands(u128::from(google_value))
                ));
            }
        }

        for (format, settings) in &self.sources {
            let default = default_recipients_per_transaction(format);
            let value = settings.recipients_per_transaction;
            if value != default {
                sentences.push(format!(
                    "sources.{format}.recipients_per_transaction = {} is set by the policy \
                     file in place of the {format} default of {}.",
                    recipients_text(value),
                    recipients_text(default)
                ));
            }
        }
        sentences
    }
}

/// Formats a recipients-per-transaction value, where 0 means no cap.
fn recipients_text(value: u64) -> String {
    if value == 0 {
        "0 (no cap)".to_owned()
    } else {
        group_thousands(u128::from(value))
    }
}
