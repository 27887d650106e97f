//! Builds a `Policy` from the TOML tree, section by section, and applies the
//! checks that span sections.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

use crate::policy::error::PolicyError;
use crate::policy::model::{
    default_recipients_per_transaction, Account, AllowedSenders, Dos, HeloAction, Limits, NatEntry,
    Organisation, Policy, RelaySetting, Routing, Smarthost, SourceSettings, SOURCE_FORMATS,
};
use crate::policy::tree::{Kind, Table, Value};
use crate::policy::users::load_users;
use crate::policy::values::{child_key, Reader};

const ROOT_KEYS: [&str; 8] = [
    "organisation",
    "relay",
    "smarthost",
    "limits",
    "routing",
    "sources",
    "nat",
    "dos",
];
const ORGANISATION_KEYS: [&str; 5] = [
    "domains",
    "subdomains",
    "users",
    "account",
    "comprehensive_storage",
];
const RELAY_KEYS: [&str; 5] = [
    "name",
    "allowed_senders",
    "allowed_ips",
    "require_smtp_auth",
    "require_tls",
];
const SMARTHOST_KEYS: [&str; 6] = ["egress_ip", "helo", "tls", "auth_user", "port", "evidence_hosts"];
const NAT_KEYS: [&str; 2] = ["private", "public"];
const DOS_KEYS: [&str; 4] = [
    "generic_helo_outcome",
    "generic_helo_names",
    "max_connections_per_minute",
    "min_messages_per_connection",
];
const ROUTING_KEYS: [&str; 2] = ["route_internal", "local_domains"];
const SOURCE_KEYS: [&str; 1] = ["recipients_per_transaction"];

const ALLOWED_SENDERS: [(&str, AllowedSenders); 3] = [
    ("registered", AllowedSenders::Registered),
    ("domain", AllowedSenders::Domain),
    ("any", AllowedSenders::Any),
];
const HELO_ACTIONS: [(&str, HeloAction); 2] = [
    ("warning", HeloAction::Warning),
    ("throttled", HeloAction::Throttled),
];
const ACCOUNTS: [(&str, Account); 3] = [
    ("paid", Account::Paid),
    ("trial", Account::Trial),
    ("unpaid", Account::Unpaid),
];
/// Ports on which smtp-relay.gmail.com accepts connections.
const RELAY_PORTS: [u16; 3] = [25, 465, 587];
/// Per-user limits that Google publishes only for paid accounts.
pub(crate) const PER_USER_LIMITS: [&str; 2] = ["user_messages_per_day", "user_recipients_per_day"];

/// Returns the accepted keys of each section, for the test that the starter
/// lists them all.
#[cfg(test)]
pub(crate) fn accepted_keys() -> Vec<(&'static str, Vec<&'static str>)> {
    vec![
        ("", ROOT_KEYS.to_vec()),
        ("organisation", ORGANISATION_KEYS.to_vec()),
        ("relay", RELAY_KEYS.to_vec()),
        ("smarthost", SMARTHOST_KEYS.to_vec()),
        ("limits", Limits::KEYS.to_vec()),
        ("routing", ROUTING_KEYS.to_vec()),
        ("sources.*", SOURCE_KEYS.to_vec()),
        ("nat", NAT_KEYS.to_vec()),
        ("dos", DOS_KEYS.to_vec()),
    ]
}

/// Builds and checks the policy from the document root. `reader.path` names
/// the file in errors, and its folder is where a relative users path starts.
pub(crate) fn read_policy(reader: &Reader, root: &Table) -> Result<Policy, PolicyError> {
    reader.check_keys(root, "", &ROOT_KEYS)?;

    let mut policy = Policy::builtin_default();
    policy.path = Some(reader.path.to_path_buf());
    policy.relays.clear();

    let mut users_path = None;
    if let Some(entry) = root.get("organisation") {
        let table = reader.table("organisation", &entry.value)?;
        users_path = read_organisation(reader, table, &mut policy.organisation)?;
    }
    if let Some(entry) = root.get("relay") {
        policy.relays = read_relays(reader, &entry.value)?;
    }
    if let Some(entry) = root.get("smarthost") {
        let table = reader.table("smarthost", &entry.value)?;
        read_smarthost(reader, table, &mut policy.smarthost)?;
    }
    if let Some(entry) = root.get("limits") {
        let table = reader.table("limits", &entry.value)?;
        read_limits(reader, table, &mut policy.limits)?;
    }
    if let Some(entry) = root.get("routing") {
        let table = reader.table("routing", &entry.value)?;
        read_routing(reader, table, &mut policy.routing)?;
    }
    if let Some(entry) = root.get("sources") {
        let table = reader.table("sources", &entry.value)?;
        policy.sources = read_sources(reader, table)?;
    }
    if let Some(entry) = root.get("nat") {
        policy.nat = read_nat(reader, &entry.value)?;
    }
    if let Some(entry) = root.get("dos") {
        let table = reader.table("dos", &entry.value)?;
        read_dos(reader, table, &mut policy.dos)?;
    }

    check_auth_needs_tls(reader, root, &policy.smarthost)?;
    check_unpublished_limits(reader, root, &policy)?;

    // The users file is read last so that errors in the policy file itself
    // come first.
    if let Some(users_path) = users_path {
        policy.organisation.users = Some(load_users(&users_path)?);
    }
    Ok(policy)
}

/// Reads `[organisation]` into `organisation` and returns the resolved path of
/// the users file, if the section names one.
fn read_organisation(
    reader: &Reader,
    table: &Table,
    organisation: &mut Organisation,
) -> Result<Option<PathBuf>, PolicyError> {
    reader.check_keys(table, "organisation", &ORGANISATION_KEYS)?;
    let mut users_path = None;
    for entry in &table.entries {
        let key = child_key("organisation", &entry.key);
        let value = &entry.value;
        match entry.key.as_str() {
            "domains" => organisation.domains = reader.domains(&key, value)?,
            "subdomains" => organisation.subdomains = reader.boolean(&key, value)?,
            "users" => users_path = Some(resolve_users_path(reader, &key, value)?),
            "account" => organisation.account = reader.choice(&key, value, &ACCOUNTS)?,
            "comprehensive_storage" => {
                organisation.comprehensive_storage = reader.boolean(&key, value)?;
            }
            other => unreachable!("check_keys let through {other:?}"),
        }
    }
    Ok(users_path)
}

fn resolve_users_path(reader: &Reader, key: &str, value: &Value) -> Result<PathBuf, PolicyError> {
    let text = reader.string(key, value)?;
    if text.trim().is_empty() {
        return Err(reader.invalid_value(
            key,
            value,
            "the path of the users CSV, relative to the policy file's folder",
        ));
    }
    let folder = reader.path.parent().unwrap_or(Path::new(""));
    Ok(folder.join(text))
}

fn read_relays(reader: &Reader, value: &Value) -> Result<Vec<RelaySetting>, PolicyError> {
    let Kind::Array(items) = &value.kind else {
        return Err(reader.wrong_type(
            "relay",
            value,
            "an array of tables; write [[relay]] above each relay setting",
        ));
    };
    let mut relays: Vec<RelaySetting> = Vec::with_capacity(items.len());
    let mut name_spans: Vec<Range<usize>> = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        let key = format!("relay[{index}]");
        let table = reader.table(&key, item)?;
        let (relay, name_span) = read_relay(reader, &key, item, table)?;
        if let Some(first) = relays.iter().position(|seen| seen.name == relay.name) {
            return Err(PolicyError::Duplicate {
                at: reader.at(&name_span),
                key: format!("{key}.name"),
                found: format!("{:?}", relay.name),
                first_key: format!("relay[{first}].name"),
                first_line: reader.at(&name_spans[first]).line,
            });
        }
        relays.push(relay);
        name_spans.push(name_span);
    }
    Ok(relays)
}

/// Reads one `[[relay]]` entry and returns it with the span of its name.
fn read_relay(
    reader: &Reader,
    relay_key: &str,
    relay_value: &Value,
    table: &Table,
) -> Result<(RelaySetting, Range<usize>), PolicyError> {
    reader.check_keys(table, relay_key, &RELAY_KEYS)?;
    let missing = |name: &str, expected: &str| PolicyError::MissingKey {
        at: reader.at(&relay_value.span),
        key: child_key(relay_key, name),
        expected: expected.to_owned(),
    };

    let name_entry = table
        .get("name")
        .ok_or_else(|| missing("name", "a name for the relay setting, unique in the file"))?;
    let name_key = child_key(relay_key, "name");
    let name = reader.string(&name_key, &name_entry.value)?;
    if name.trim().is_empty() {
        return Err(reader.invalid_value(&name_key, &name_entry.value, "a non-empty name"));
    }

    let senders_entry = table
        .get("allowed_senders")
        .ok_or_else(|| missing("allowed_senders", "one of registered, domain, any"))?;
    let allowed_senders = reader.choice(
        &child_key(relay_key, "allowed_senders"),
        &senders_entry.value,
        &ALLOWED_SENDERS,
    )?;

    let mut relay = RelaySetting {
        name: name.to_owned(),
        allowed_senders,
        allowed_ips: Vec::new(),
        require_smtp_auth: false,
        require_tls: false,
    };
    for entry in &table.entries {
        let key = child_key(relay_key, &entry.key);
        match entry.key.as_str() {
            "allowed_ips" => {
                let items = reader.array(&key, &entry.value)?;
                for (index, item) in items.iter().enumerate() {
                    let item_key = format!("{key}[{index}]");
                    relay.allowed_ips.push(reader.ip_range(&item_key, item)?);
                }
            }
            "require_smtp_auth" => relay.require_smtp_auth = reader.boolean(&key, &entry.value)?,
            "require_tls" => relay.require_tls = reader.boolean(&key, &entry.value)?,
            // Read above because they are required.
            "name" | "allowed_senders" => {}
            other => unreachable!("check_keys let through {other:?}"),
        }
    }
    Ok((relay, name_entry.value.span.clone()))
}

fn read_smarthost(reader: &Reader, table: &Table, smarthost: &mut Smarthost) -> Result<(), PolicyError> {
    reader.check_keys(table, "smarthost", &SMARTHOST_KEYS)?;
    for entry in &table.entries {
        let key = child_key("smarthost", &entry.key);
        let value = &entry.value;
        match entry.key.as_str() {
            "egress_ip" => smarthost.egress_ip = Some(reader.ip_address(&key, value)?),
            "helo" => smarthost.helo = reader.string(&key, value)?.to_owned(),
            "tls" => smarthost.tls = reader.boolean(&key, value)?,
            "auth_user" => smarthost.auth_user = reader.string(&key, value)?.to_owned(),
            "port" => smarthost.port = read_port(reader, &key, value)?,
            "evidence_hosts" => smarthost.evidence_hosts = reader.host_names(&key, value)?,
            other => unreachable!("check_keys let through {other:?}"),
        }
    }
    Ok(())
}

fn read_port(reader: &Reader, key: &str, value: &Value) -> Result<u16, PolicyError> {
    let expected = "one of 25, 465, 587";
    let Kind::Integer(number) = value.kind else {
        return Err(reader.wrong_type(key, value, expected));
    };
    RELAY_PORTS
        .into_iter()
        .find(|port| i64::from(*port) == number)
        .ok_or_else(|| reader.invalid_value(key, value, expected))
}

/// Reads `[limits]` and records the keys it sets in `limits.explicit`, in the
/// order of the file.
fn read_limits(reader: &Reader, table: &Table, limits: &mut Limits) -> Result<(), PolicyError> {
    reader.check_keys(table, "limits", &Limits::KEYS)?;
    for entry in &table.entries {
        let key = child_key("limits", &entry.key);
        let number = reader.integer_at_least(&key, &entry.value, 1, "a positive integer")?;
        let field = limits
            .value_mut(&entry.key)
            .unwrap_or_else(|| unreachable!("check_keys let through {:?}", entry.key));
        *field = number;
        limits.explicit.push(entry.key.clone());
    }
    Ok(())
}

fn read_routing(reader: &Reader, table: &Table, routing: &mut Routing) -> Result<(), PolicyError> {
    reader.check_keys(table, "routing", &ROUTING_KEYS)?;
    for entry in &table.entries {
        let key = child_key("routing", &entry.key);
        match entry.key.as_str() {
            "route_internal" => routing.route_internal = reader.boolean(&key, &entry.value)?,
            "local_domains" => routing.local_domains = reader.domains(&key, &entry.value)?,
            other => unreachable!("check_keys let through {other:?}"),
        }
    }
    Ok(())
}

/// Reads `[sources.<format>]` tables. A table without
/// `recipients_per_transaction` gets the format's default.
fn read_sources(reader: &Reader, table: &Table) -> Result<BTreeMap<String, SourceSettings>, PolicyError> {
    reader.check_keys(table, "sources", &SOURCE_FORMATS)?;
    let mut sources = BTreeMap::new();
    for entry in &table.entries {
        let source_key = child_key("sources", &entry.key);
        let source_table = reader.table(&source_key, &entry.value)?;
        reader.check_keys(source_table, &source_key, &SOURCE_KEYS)?;
        let mut settings = SourceSettings {
            recipients_per_transaction: default_recipients_per_transaction(&entry.key),
        };
        if let Some(limit) = source_table.get("recipients_per_transaction") {
            settings.recipients_per_transaction = reader.integer_at_least(
                &child_key(&source_key, "recipients_per_transaction"),
                &limit.value,
                0,
                "an integer of 0 or more (0 means no cap)",
            )?;
        }
        sources.insert(entry.key.clone(), settings);
    }
    Ok(sources)
}

/// Reads the `[[nat]]` entries. Two entries for the same private range are
/// an error, because the relay could see a client from only one address.
fn read_nat(reader: &Reader, value: &Value) -> Result<Vec<NatEntry>, PolicyError> {
    let Kind::Array(items) = &value.kind else {
        return Err(reader.wrong_type(
            "nat",
            value,
            "an array of tables; write [[nat]] above each translation",
        ));
    };
    let mut entries: Vec<NatEntry> = Vec::with_capacity(items.len());
    let mut private_spans: Vec<Range<usize>> = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        let key = format!("nat[{index}]");
        let table = reader.table(&key, item)?;
        reader.check_keys(table, &key, &NAT_KEYS)?;
        let missing = |name: &str, expected: &str| PolicyError::MissingKey {
            at: reader.at(&item.span),
            key: child_key(&key, name),
            expected: expected.to_owned(),
        };
        let private_entry = table
            .get("private")
            .ok_or_else(|| missing("private", "the private address or CIDR range of the clients"))?;
        let public_entry = table
            .get("public")
            .ok_or_else(|| missing("public", "the single public address the relay sees"))?;
        let private = reader.ip_network(&child_key(&key, "private"), &private_entry.value)?;
        let public = reader.ip_address(&child_key(&key, "public"), &public_entry.value)?;
        if let Some(first) = entries.iter().position(|seen| seen.private == private) {
            return Err(PolicyError::Duplicate {
                at: reader.at(&private_entry.value.span),
                key: child_key(&key, "private"),
                found: format!("\"{private}\""),
                first_key: format!("nat[{first}].private"),
                first_line: reader.at(&private_spans[first]).line,
            });
        }
        entries.push(NatEntry { private, public });
        private_spans.push(private_entry.value.span.clone());
    }
    Ok(entries)
}

/// Reads `[dos]` and records the keys it sets in `dos.explicit`, in the
/// order of the file.
fn read_dos(reader: &Reader, table: &Table, dos: &mut Dos) -> Result<(), PolicyError> {
    reader.check_keys(table, "dos", &DOS_KEYS)?;
    for entry in &table.entries {
        let key = child_key("dos", &entry.key);
        let value = &entry.value;
        match entry.key.as_str() {
            "generic_helo_outcome" => dos.generic_helo = reader.choice(&key, value, &HELO_ACTIONS)?,
            "generic_helo_names" => dos.generic_helo_names = reader.helo_names(&key, value)?,
            "max_connections_per_minute" => {
                dos.max_connections_per_minute =
                    reader.integer_at_least(&key, value, 1, "a positive integer")?;
            }
            "min_messages_per_connection" => {
                dos.min_messages_per_connection = reader.positive_number(&key, value)?;
            }
            other => unreachable!("check_keys let through {other:?}"),
        }
        dos.explicit.push(entry.key.clone());
    }
    Ok(())
}

/// Returns the value at a path of keys below the root, if the file sets it.
fn find_value<'t>(root: &'t Table, keys: &[&str]) -> Option<&'t Value> {
    let (last, tables) = keys.split_last()?;
    let mut table = root;
    for key in tables {
        match &table.get(key)?.value.kind {
            Kind::Table(inner) => table = inner,
            _ => return None,
        }
    }
    table.get(last).map(|entry| &entry.value)
}

/// The relay offers SMTP AUTH only after STARTTLS, so an MTA that
/// authenticates must use TLS.
fn check_auth_needs_tls(reader: &Reader, root: &Table, smarthost: &Smarthost) -> Result<(), PolicyError> {
    if smarthost.auth_user.is_empty() || smarthost.tls {
        return Ok(());
    }
    let auth_user =
        find_value(root, &["smarthost", "auth_user"]).expect("a non-empty auth_user comes from the file");
    Err(PolicyError::AuthWithoutTls {
        at: reader.at(&auth_user.span),
        key: "smarthost.auth_user".to_owned(),
    })
}

/// Google publishes per-user relay limits only for paid accounts, so a trial
/// or unpaid account must set them itself.
fn check_unpublished_limits(reader: &Reader, root: &Table, policy: &Policy) -> Result<(), PolicyError> {
    let account = policy.organisation.account;
    if account == Account::Paid {
        return Ok(());
    }
    let missing: Vec<String> = PER_USER_LIMITS
        .iter()
        .filter(|key| !policy.limits.explicit.iter().any(|set| set == *key))
        .map(|key| format!("limits.{key}"))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let account_value =
        find_value(root, &["organisation", "account"]).expect("a non-paid account comes from the file");
    Err(PolicyError::UnpublishedLimits {
        at: reader.at(&account_value.span),
        key: "organisation.account".to_owned(),
        account,
        missing,
    })
}
