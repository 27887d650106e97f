//! The validated relay policy: what the organisation owns and how its SMTP
//! relay service settings are configured.
//!
//! Every default is a limit Google documents for the SMTP relay service
//! (Workspace Admin Help, "SMTP relay service limits" and "Route outgoing
//! mail through smtp-relay.gmail.com").

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::PathBuf;

use ipnet::IpNet;

/// A validated policy, ready for the replay engine.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    /// The policy file this was read from; `None` for the built-in default.
    pub path: Option<PathBuf>,
    pub organisation: Organisation,
    /// SMTP relay service settings in the order the file lists them.
    pub relays: Vec<RelaySetting>,
    pub smarthost: Smarthost,
    pub limits: Limits,
    pub routing: Routing,
    /// Per source format (`postfix`, `sendmail`, ...) transaction split.
    pub sources: BTreeMap<String, SourceSettings>,
    /// Address translation from clients' private addresses to the public
    /// address from which they reach the relay, in the order of the file.
    pub nat: Vec<NatEntry>,
    pub dos: Dos,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Organisation {
    /// Owned domains, lowercase, primary first. Empty means "unknown": the
    /// rules that need owned domains are reported as not judged.
    pub domains: Vec<String>,
    /// Whether subdomains of `domains` count as owned.
    pub subdomains: bool,
    /// Registered users from the Admin console export; `None` when the
    /// policy names no users file.
    pub users: Option<Users>,
    pub account: Account,
    /// Whether Vault's comprehensive mail storage is on.
    pub comprehensive_storage: bool,
}

/// Registered users keyed by lowercase address.
#[derive(Debug, Clone, PartialEq)]
pub struct Users {
    pub path: PathBuf,
    /// Address (lowercase) to "has a Gmail licence".
    pub by_address: BTreeMap<String, bool>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Account {
    Paid,
    Trial,
    Unpaid,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AllowedSenders {
    /// Only registered Google Workspace users.
    Registered,
    /// Any address in the organisation's domains.
    Domain,
    /// Any address; senders outside owned domains are rewritten to postmaster.
    Any,
}

/// One SMTP relay service setting of the Admin console.
#[derive(Debug, Clone, PartialEq)]
pub struct RelaySetting {
    pub name: String,
    pub allowed_senders: AllowedSenders,
    /// IP ranges allowed to connect; each contains at most 65,536 addresses.
    pub allowed_ips: Vec<IpNet>,
    pub require_smtp_auth: bool,
    pub require_tls: bool,
}

/// Connection of the on-premises MTA to the relay in smarthost mode.
#[derive(Debug, Clone, PartialEq)]
pub struct Smarthost {
    pub egress_ip: Option<IpAddr>,
    pub helo: String,
    pub tls: bool,
    /// SMTP AUTH user; empty when the MTA does not authenticate.
    pub auth_user: String,
    pub port: u16,
    /// Host names or addresses (lowercase) under which the logs show the
    /// smart host the MTA relays through today, in `relay=name[ip]:port`.
    /// Deliveries to them are evidence about the smarthost connection.
    pub evidence_hosts: Vec<String>,
}

/// One `[[nat]]` entry: clients in `private` reach the relay from `public`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NatEntry {
    pub private: IpNet,
    pub public: IpAddr,
}

/// Action of the replay on a connection whose HELO name is generic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeloAction {
    /// Report a `dos.generic_helo` warning; the verdicts are unchanged.
    Warning,
    /// Throttle every recipient of the connection with 421 4.7.0.
    Throttled,
}

/// Settings of the `dos.*` connection rules. Google publishes no
/// thresholds for connection reuse, so both defaults are relayaudit's own
/// and the summary labels them as assumptions.
#[derive(Debug, Clone, PartialEq)]
pub struct Dos {
    pub generic_helo: HeloAction,
    /// HELO names (lowercase, without a trailing dot) that count as generic
    /// besides the built-in forms.
    pub generic_helo_names: Vec<String>,
    /// New connections per minute from one address above which the relay
    /// may see a connection flood.
    pub max_connections_per_minute: u64,
    /// Messages per connection below which, within such a minute, the
    /// sender counts as not reusing connections.
    pub min_messages_per_connection: f64,
    /// `[dos]` keys the file set explicitly, in the order of the file.
    pub explicit: Vec<String>,
}

/// Relay limits. Windows slide; a count is compared with the limit after the
/// current message or recipient is added.
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    pub user_messages_per_day: u64,
    pub user_recipients_per_day: u64,
    pub org_recipients_per_day: u64,
    pub org_recipients_per_10min: u64,
    pub recipients_per_transaction: u64,
    pub max_message_bytes: u64,
    /// Length of the "day" window in seconds (86,400).
    pub day_window_seconds: u64,
    /// Length of the short organisation window in seconds (600).
    pub short_window_seconds: u64,
    /// Limit keys the file set explicitly, in the order of the file. Trial and unpaid accounts must set
    /// the per-user limits themselves because Google does not publish them.
    pub explicit: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Routing {
    /// Route internal mail (recipients in owned or local domains) through the
    /// relay as well.
    pub route_internal: bool,
    /// Domains delivered on premises (lowercase).
    pub local_domains: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SourceSettings {
    /// How many recipients the MTA puts in one outbound transaction.
    pub recipients_per_transaction: u64,
}

impl Organisation {
    /// Returns the owned domain that `domain` is, or is a subdomain of when
    /// `subdomains` is on. Comparison is case-insensitive.
    pub fn owned_domain_of(&self, domain: &str) -> Option<&str> {
        let domain = domain.trim_end_matches('.').to_ascii_lowercase();
        self.domains.iter().map(String::as_str).find(|owned| {
            domain == *owned
                || (self.subdomains
                    && domain.len() > owned.len()
                    && domain.ends_with(owned)
                    && domain.as_bytes()[domain.len() - owned.len() - 1] == b'.')
        })
    }
}

impl Users {
    /// Looks up an address case-insensitively: `Some(gmail_licence)` for a
    /// registered user, `None` otherwise.
    pub fn licence_of(&self, address: &str) -> Option<bool> {
        self.by_address.get(&address.to_ascii_lowercase()).copied()
    }
}

impl Dos {
    /// Returns relayaudit's defaults: generic HELO is a warning, and a minute with
    /// more than 60 new connections from one address at fewer than 1.5
    /// messages per connection counts as no connection reuse.
    pub fn defaults() -> Dos {
        Dos {
            generic_helo: HeloAction::Warning,
            generic_helo_names: Vec::new(),
            max_connections_per_minute: 60,
            min_messages_per_connection: 1.5,
            explicit: Vec::new(),
        }
    }
}

impl HeloAction {
    /// Returns the action as the policy file spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            HeloAction::Warning => "warning",
            HeloAction::Throttled => "throttled",
        }
    }
}

impl Policy {
    /// Returns the public address from which a client at `address` reaches
    /// the relay, and the `[[nat]]` entry that translated it. The entry with the
    /// longest prefix that contains the address wins; ties go to the first
    /// in the file. An address no entry contains is returned unchanged,
    /// with `None`.
    pub fn translate(&self, address: IpAddr) -> (IpAddr, Option<&NatEntry>) {
        let mut best: Option<&NatEntry> = None;
        for entry in &self.nat {
            if !entry.private.contains(&address) {
                continue;
            }
            if best.is_none_or(|chosen| entry.private.prefix_len() > chosen.private.prefix_len()) {
                best = Some(entry);
            }
        }
        match best {
            Some(entry) => (entry.public, Some(entry)),
            None => (address, None),
        }
    }
}

impl Routing {
    /// Returns whether `domain` is delivered on premises according to the policy.
    pub fn is_local_domain(&self, domain: &str) -> bool {
        let domain = domain.trim_end_matches('.').to_ascii_lowercase();
        self.local_domains.contains(&domain)
    }
}

/// Recipients per outbound transaction that each MTA uses when the policy
/// does not override it; 0 means the MTA has no cap.
pub fn default_recipients_per_transaction(source_format: &str) -> u64 {
    match source_format {
        // smtp_destination_recipient_limit defaults to
        // default_destination_recipient_limit, which is 50.
        "postfix" => 50,
        // The SMTP mailer's r= equate, compiled-in default 100 (8.12 and later).
        "sendmail" => 100,
        // qmail-send hands qmail-remote one recipient per delivery.
        "qmail" => 1,
        // The categorizer splits copies at 1,000 recipients (ExpansionSizeLimit).
        "exchange-msgtrk" | "exchange-smtp" => 1000,
        _ => 0,
    }
}

/// Source formats that `[sources.<format>]` accepts, as the log parsers name
/// them.
pub const SOURCE_FORMATS: [&str; 6] = [
    "postfix",
    "sendmail",
    "qmail",
    "exchange-msgtrk",
    "exchange-smtp",
    "domino",
];

/// Host name of Google's SMTP relay service, the default smart host that
/// the logs are searched for.
pub const DEFAULT_EVIDENCE_HOST: &str = "smtp-relay.gmail.com";

impl Policy {
    /// Returns the policy used when no policy file is given. It has no owned
    /// domains or users, a paid account with comprehensive storage on, and
    /// one relay setting named "default". That setting allows any sender,
    /// lists no IP ranges and requires neither SMTP AUTH nor TLS. Limits are
    /// Google's documented values, and the `dos` thresholds are relayaudit's
    /// defaults. A loaded file without `[[relay]]` has no relay setting at all.
    pub fn builtin_default() -> Policy {
        Policy {
            path: None,
            organisation: Organisation {
                domains: Vec::new(),
                subdomains: true,
                users: None,
                account: Account::Paid,
                comprehensive_storage: true,
            },
            relays: vec![RelaySetting {
                name: "default".to_owned(),
                allowed_senders: AllowedSenders::Any,
                allowed_ips: Vec::new(),
                require_smtp_auth: false,
                require_tls: false,
            }],
            smarthost: Smarthost {
                egress_ip: None,
                helo: String::new(),
                tls: true,
                auth_user: String::new(),
                port: 587,
                evidence_hosts: vec![DEFAULT_EVIDENCE_HOST.to_owned()],
            },
            limits: Limits::documented(),
            routing: Routing {
                route_internal: false,
                local_domains: Vec::new(),
            },
            sources: BTreeMap::new(),
            nat: Vec::new(),
            dos: Dos::defaults(),
        }
    }
}

impl Account {
    /// Returns the account type as the policy file spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Account::Paid => "paid",
            Account::Trial => "trial",
            Account::Unpaid => "unpaid",
        }
    }
}

impl AllowedSenders {
    /// Returns the setting as the policy file spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            AllowedSenders::Registered => "registered",
            AllowedSenders::Domain => "domain",
            AllowedSenders::Any => "any",
        }
    }
}

impl Limits {
    /// Names of the `[limits]` keys, in the order of the fields.
    pub const KEYS: [&'static str; 8] = [
        "user_messages_per_day",
        "user_recipients_per_day",
        "org_recipients_per_day",
        "org_recipients_per_10min",
        "recipients_per_transaction",
        "max_message_bytes",
        "day_window_seconds",
        "short_window_seconds",
    ];

    /// Google's documented limits for a paid account, with no key set
    /// explicitly. The 100 recipients per transaction and the 25 MB message
    /// size come from Gmail's sending limits, which apply to the relay.
    pub fn documented() -> Limits {
        Limits {
            user_messages_per_day: 10_000,
            user_recipients_per_day: 10_000,
            org_recipients_per_day: 4_600_000,
            org_recipients_per_10min: 319_444,
            recipients_per_transaction: 100,
            max_message_bytes: 25 * 1024 * 1024,
            day_window_seconds: 86_400,
            short_window_seconds: 600,
            explicit: Vec::new(),
        }
    }

    /// Returns the value of the limit named by a `[limits]` key, or `None`
    /// for a name that is not one of `Limits::KEYS`.
    pub fn value_of(&self, key: &str) -> Option<u64> {
        match key {
            "user_messages_per_day" => Some(self.user_messages_per_day),
            "user_recipients_per_day" => Some(self.user_recipients_per_day),
            "org_recipients_per_day" => Some(self.org_recipients_per_day),
            "org_recipients_per_10min" => Some(self.org_recipients_per_10min),
            "recipients_per_transaction" => Some(self.recipients_per_transaction),
            "max_message_bytes" => Some(self.max_message_bytes),
            "day_window_seconds" => Some(self.day_window_seconds),
            "short_window_seconds" => Some(self.short_window_seconds),
            _ => None,
        }
    }

    /// Returns the field behind a `[limits]` key, for the loader to set.
    pub(crate) fn value_mut(&mut self, key: &str) -> Option<&mut u64> {
        match key {
            "user_messages_per_day" => Some(&mut self.user_messages_per_day),
            "user_recipients_per_day" => Some(&mut self.user_recipients_per_day),
            "org_recipients_per_day" => Some(&mut self.org_recipients_per_day),
            "org_recipients_per_10min" => Some(&mut self.org_recipients_per_10min),
            "recipients_per_transaction" => Some(&mut self.recipients_per_transaction),
            "max_message_bytes" => Some(&mut self.max_message_bytes),
            "day_window_seconds" => Some(&mut self.day_window_seconds),
            "short_window_seconds" => Some(&mut self.short_window_seconds),
            _ => None,
        }
    }
}
