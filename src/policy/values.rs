//! Typed access to the values of the TOML tree. Each function takes the
//! dotted key of the value so that its error names it.

use std::net::IpAddr;
use std::ops::Range;
use std::path::Path;

use ipnet::{IpNet, Ipv4Net};

use crate::policy::error::{Location, PolicyError};
use crate::policy::tree::{Kind, Table, Value};

/// Largest number of addresses the SMTP relay service accepts in one allowed
/// IP range (a /16 in IPv4, a /112 in IPv6).
const MAX_RANGE_HOST_BITS: u8 = 16;

/// The policy file being read: its path for messages and its text for
/// turning byte spans into lines and columns.
pub(crate) struct Reader<'a> {
    pub path: &'a Path,
    pub text: &'a str,
}

/// Returns the dotted key of `key` inside the table at `parent`.
pub(crate) fn child_key(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_owned()
    } else {
        format!("{parent}.{key}")
    }
}

impl Reader<'_> {
    pub fn at(&self, span: &Range<usize>) -> Location {
        Location::from_span(self.path, self.text, span)
    }

    pub fn wrong_type(&self, key: &str, value: &Value, expected: &str) -> PolicyError {
        PolicyError::WrongType {
            at: self.at(&value.span),
            key: key.to_owned(),
            found: value.describe(),
            expected: expected.to_owned(),
        }
    }

    pub fn invalid_value(&self, key: &str, value: &Value, expected: &str) -> PolicyError {
        let found = match &value.kind {
            Kind::String(text) => format!("{text:?}"),
            _ => value.describe(),
        };
        PolicyError::InvalidValue {
            at: self.at(&value.span),
            key: key.to_owned(),
            found,
            expected: expected.to_owned(),
        }
    }

    /// Fails on the first key of `table` that is not in `accepted`.
    pub fn check_keys(&self, table: &Table, table_key: &str, accepted: &[&str]) -> Result<(), PolicyError> {
        let unknown = table
            .entries
            .iter()
            .find(|entry| !accepted.contains(&entry.key.as_str()));
        match unknown {
            None => Ok(()),
            Some(entry) => Err(PolicyError::UnknownKey {
                at: self.at(&entry.key_span),
                key: child_key(table_key, &entry.key),
                accepted: accepted.iter().map(|key| (*key).to_owned()).collect(),
            }),
        }
    }

    pub fn table<'v>(&self, key: &str, value: &'v Value) -> Result<&'v Table, PolicyError> {
        match &value.kind {
            Kind::Table(table) => Ok(table),
            _ => Err(self.wrong_type(key, value, "a table")),
        }
    }

    pub fn array<'v>(&self, key: &str, value: &'v Value) -> Result<&'v [Value], PolicyError> {
        match &value.kind {
            Kind::Array(items) => Ok(items),
            _ => Err(self.wrong_type(key, value, "an array")),
        }
    }

    pub fn boolean(&self, key: &str, value: &Value) -> Result<bool, PolicyError> {
        match value.kind {
            Kind::Boolean(flag) => Ok(flag),
            _ => Err(self.wrong_type(key, value, "true or false")),
        }
    }

    pub fn string<'v>(&self, key: &str, value: &'v Value) -> Result<&'v str, PolicyError> {
        match &value.kind {
            Kind::String(text) => Ok(text),
            _ => Err(self.wrong_type(key, value, "a string")),
        }
    }

    /// Reads an integer of at least `minimum`; `expected` describes the
    /// accepted values in the error.
    pub fn integer_at_least(
        &self,
        key: &str,
        value: &Value,
        minimum: u64,
        expected: &str,
    ) -> Result<u64, PolicyError> {
        let Kind::Integer(number) = value.kind else {
            return Err(self.wrong_type(key, value, expected));
        };
        match u64::try_from(number) {
            Ok(number) if number >= minimum => Ok(number),
            _ => Err(self.invalid_value(key, value, expected)),
        }
    }

    /// Reads a string that must be one of the names in `choices`.
    pub fn choice<T: Copy>(&self, key: &str, value: &Value, choices: &[(&str, T)]) -> Result<T, PolicyError> {
        let names: Vec<&str> = choices.iter().map(|(name, _)| *name).collect();
        let expected = format!("one of {}", names.join(", "));
        let Kind::String(text) = &value.kind else {
            return Err(self.wrong_type(key, value, &expected));
        };
        choices
            .iter()
            .find(|(name, _)| name == text)
            .map(|(_, choice)| *choice)
            .ok_or_else(|| self.invalid_value(key, value, &expected))
    }

    /// Reads a list of domain names: lowercased, without a trailing dot, and
    /// each listed once.
    pub fn domains(&self, key: &str, value: &Value) -> Result<Vec<String>, PolicyError> {
        let items = self.array(key, value)?;
        let mut domains: Vec<String> = Vec::with_capacity(items.len());
        for (index, item) in items.iter().enumerate() {
            let item_key = format!("{key}[{index}]");
            let domain = self.domain(&item_key, item)?;
            if let Some(first) = domains.iter().position(|seen| *seen == domain) {
                return Err(PolicyError::Duplicate {
                    at: self.at(&item.span),
                    key: item_key,
                    found: format!("{domain:?}"),
                    first_key: format!("{key}[{first}]"),
                    first_line: self.at(&items[first].span).line,
                });
            }
            domains.push(domain);
        }
        Ok(domains)
    }

    fn domain(&self, key: &str, value: &Value) -> Result<String, PolicyError> {
        let text = self.string(key, value)?;
        let domain = text.strip_suffix('.').unwrap_or(text).to_ascii_lowercase();
        if is_domain_name(&domain) {
            Ok(domain)
        } else {
            Err(self.invalid_value(
                key,
                value,
                "a domain name such as example.com, made of dot-separated labels of ASCII \
                 letters, digits and hyphens (xn-- form for international names)",
            ))
        }
    }

    /// Reads an allowed IP range of a relay setting: an IPv4 or IPv6 range
    /// in CIDR form, or a single address, which becomes a /32 or /128. A
    /// range of more than 65,536 addresses is an error.
    pub fn ip_range(&self, key: &str, value: &Value) -> Result<IpNet, PolicyError> {
        let range = self.ip_network(key, value)?;
        if range.max_prefix_len() - range.prefix_len() > MAX_RANGE_HOST_BITS {
            return Err(PolicyError::RangeTooLarge {
                at: self.at(&value.span),
                key: key.to_owned(),
                range,
            });
        }
        Ok(range)
    }

    /// Reads an IPv4 or IPv6 range in CIDR form, or a single address, of
    /// any size.
    pub fn ip_network(&self, key: &str, value: &Value) -> Result<IpNet, PolicyError> {
        let text = self.string(key, value)?;
        let expected = "an IP address or CIDR range such as 203.0.113.0/28 or 2001:db8::/112";
        if !text.contains('/') {
            let address: IpAddr = text
                .parse()
                .map_err(|_| self.invalid_value(key, value, expected))?;
            return Ok(IpNet::from(address.to_canonical()));
        }
        let range: IpNet = text
            .parse()
            .map_err(|_| self.invalid_value(key, value, expected))?;
        if range.addr() != range.network() {
            let expected = format!("the network address {}", range.trunc());
            return Err(self.invalid_value(key, value, &expected));
        }
        Ok(canonical_range(range))
    }

    pub fn ip_address(&self, key: &str, value: &Value) -> Result<IpAddr, PolicyError> {
        let text = self.string(key, value)?;
        text.parse()
            .map(|address: IpAddr| address.to_canonical())
            .map_err(|_| self.invalid_value(key, value, "a single IPv4 or IPv6 address such as 203.0.113.5"))
    }

    /// Reads a finite number greater than 0, written as a float or an
    /// integer.
    pub fn positive_number(&self, key: &str, value: &Value) -> Result<f64, PolicyError> {
        let expected = "a number greater than 0, such as 1.5";
        let number = match value.kind {
            Kind::Float(number) => number,
            Kind::Integer(number) => number as f64,
            _ => return Err(self.wrong_type(key, value, expected)),
        };
        if number.is_finite() && number > 0.0 {
            Ok(number)
        } else {
            Err(self.invalid_value(key, value, expected))
        }
    }

    /// Reads a list of host names or IP addresses as a smart host appears in
    /// `relay=name[ip]:port`: lowercased, without a trailing dot, each
    /// listed once.
    pub fn host_names(&self, key: &str, value: &Value) -> Result<Vec<String>, PolicyError> {
        self.unique_strings(
            key,
            value,
            |text| {
                let host = text.strip_suffix('.').unwrap_or(text).to_ascii_lowercase();
                (is_domain_name(&host) || host.parse::<IpAddr>().is_ok()).then_some(host)
            },
            "a host name such as smtp-relay.gmail.com or an IP address",
        )
    }

    /// Reads a list of HELO names: lowercased, without a trailing dot, not
    /// empty, each listed once. Any other text is accepted because clients
    /// send all kinds of names.
    pub fn helo_names(&self, key: &str, value: &Value) -> Result<Vec<String>, PolicyError> {
        self.unique_strings(
            key,
            value,
            |text| {
                let name = text
                    .trim()
                    .strip_suffix('.')
                    .unwrap_or(text.trim())
                    .to_ascii_lowercase();
                (!name.is_empty() && !name.contains(char::is_whitespace)).then_some(name)
            },
            "a HELO name without spaces, such as mailhost",
        )
    }

    /// Reads an array of strings, each turned by `normalise` into its stored
    /// form (`None` makes it invalid, described by `expected`), and fails on
    /// the second occurrence of a stored form.
    fn unique_strings(
        &self,
        key: &str,
        value: &Value,
        normalise: impl Fn(&str) -> Option<String>,
        expected: &str,
    ) -> Result<Vec<String>, PolicyError> {
        let items = self.array(key, value)?;
        let mut out: Vec<String> = Vec::with_capacity(items.len());
        for (index, item) in items.iter().enumerate() {
            let item_key = format!("{key}[{index}]");
            let text = self.string(&item_key, item)?;
            let Some(normalised) = normalise(text) else {
                return Err(self.invalid_value(&item_key, item, expected));
            };
            if let Some(first) = out.iter().position(|seen| *seen == normalised) {
                return Err(PolicyError::Duplicate {
                    at: self.at(&item.span),
                    key: item_key,
                    found: format!("{normalised:?}"),
                    first_key: format!("{key}[{first}]"),
                    first_line: self.at(&items[first].span).line,
                });
            }
            out.push(normalised);
        }
        Ok(out)
    }
}

/// Returns whether `domain` (already lowercase) looks like a DNS name with at
/// least two labels. Each label is 1 to 63 letters, digits or hyphens, not
/// starting or ending with a hyphen, and the name is 253 characters at most.
fn is_domain_name(domain: &str) -> bool {
    let valid_label = |label: &str| {
        (1..=63).contains(&label.len())
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .bytes()
                .all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'-')
    };
    domain.len() <= 253 && domain.contains('.') && domain.split('.').all(valid_label)
}

/// Writes an IPv4-mapped IPv6 range (`::ffff:198.51.100.0/120`) as the IPv4
/// range it maps (`198.51.100.0/24`), since addresses are matched in their
/// canonical form and an IPv4 client never has a mapped address.
fn canonical_range(range: IpNet) -> IpNet {
    match range {
        IpNet::V6(v6) if v6.prefix_len() >= 96 => match v6.addr().to_ipv4_mapped() {
            Some(v4) => Ipv4Net::new(v4, v6.prefix_len() - 96).map_or(range, IpNet::V4),
            None => range,
        },
        _ => range,
    }
}
