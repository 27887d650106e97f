//! Notes for the report about the numbers in a policy that Google does not
//! document.

use serde_json::json;

use crate::note::Note;
use crate::policy::model::{default_recipients_per_transaction, Account, Limits, Policy};
use crate::policy::read::PER_USER_LIMITS;
use crate::text::group_thousands;

/// Codes of the notes `describe_assumptions` writes.
pub(crate) const NOTE_CODES: &[&str] = &[
    "policy_per_user_limit",
    "policy_limit_differs",
    "policy_transaction_split",
];

impl Policy {
    /// Describes, one note each, the numbers in this policy that are not
    /// Google's documented values or the source's default. These are the
    /// per-user limits of a trial or unpaid account, limits the file sets to
    /// a value other than Google's, and per-source transaction splits the
    /// file overrides. Returns an empty list for the built-in default.
    pub fn describe_assumptions(&self) -> Vec<Note> {
        let mut notes = Vec::new();
        let documented = Limits::documented();
        let account = self.organisation.account;

        for key in &self.limits.explicit {
            let (Some(value), Some(google_value)) = (self.limits.value_of(key), documented.value_of(key))
            else {
                continue;
            };
            let value_text = group_thousands(u128::from(value));
            if account != Account::Paid && PER_USER_LIMITS.contains(&key.as_str()) {
                notes.push(Note::new(
                    "policy_per_user_limit",
                    json!({ "key": key, "value": value, "account": account.as_str() }),
                    format!(
                        "limits.{key} = {value_text} is set by the policy file, because Google does \
                         not publish the per-user relay limits of {} accounts.",
                        account.as_str()
                    ),
                ));
            } else if value != google_value {
                notes.push(Note::new(
                    "policy_limit_differs",
                    json!({ "key": key, "value": value, "documented": google_value }),
                    format!(
                        "limits.{key} = {value_text} is set by the policy file in place of \
                         Google's documented {}.",
                        group_thousands(u128::from(google_value))
                    ),
                ));
            }
        }

        for (format, settings) in &self.sources {
            let default = default_recipients_per_transaction(format);
            let value = settings.recipients_per_transaction;
            if value != default {
                notes.push(Note::new(
                    "policy_transaction_split",
                    json!({ "source_format": format, "value": value, "default": default }),
                    format!(
                        "sources.{format}.recipients_per_transaction = {} is set by the policy \
                         file in place of the {format} default of {}.",
                        recipients_text(value),
                        recipients_text(default)
                    ),
                ));
            }
        }
        notes
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
