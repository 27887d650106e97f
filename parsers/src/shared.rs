//! Strings shared by many rows, so that a value repeated in millions of rows
//! (a file name, a message key, a host name, a delivery status) is stored
//! once instead of once per row.

use std::borrow::Borrow;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;
use std::sync::Arc;

use rustc_hash::FxHashSet;

/// An immutable string behind a reference count: cloning it copies a
/// pointer. It compares, orders and hashes like the text it holds.
#[derive(Clone)]
pub struct SharedStr(Arc<str>);

impl SharedStr {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for SharedStr {
    fn default() -> Self {
        SharedStr(Arc::from(""))
    }
}

impl Deref for SharedStr {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for SharedStr {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl Borrow<str> for SharedStr {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl From<&str> for SharedStr {
    fn from(text: &str) -> Self {
        SharedStr(Arc::from(text))
    }
}

impl From<String> for SharedStr {
    fn from(text: String) -> Self {
        SharedStr(Arc::from(text))
    }
}

impl fmt::Debug for SharedStr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for SharedStr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self.as_str(), f)
    }
}

impl PartialEq for SharedStr {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0) || self.0 == other.0
    }
}

impl Eq for SharedStr {}

impl PartialEq<str> for SharedStr {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for SharedStr {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<String> for SharedStr {
    fn eq(&self, other: &String) -> bool {
        self.as_str() == other.as_str()
    }
}

impl PartialOrd for SharedStr {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for SharedStr {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl Hash for SharedStr {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

/// Maximum number of distinct strings an [`Interner`] keeps. Past it the
/// interner starts afresh, so that a log with millions of distinct client
/// addresses does not grow it without bound. Rows keep the strings they
/// already hold.
const MAX_INTERNED: usize = 100_000;

/// A table of [`SharedStr`]s, one per distinct text, for columns whose
/// values come from a small vocabulary: host names, statuses, status codes,
/// TLS protocols and ciphers, peer names and addresses.
#[derive(Default)]
pub struct Interner {
    strings: FxHashSet<SharedStr>,
}

impl Interner {
    /// Returns the shared copy of `text`, creating it on first use.
    pub fn intern(&mut self, text: &str) -> SharedStr {
        if let Some(shared) = self.strings.get(text) {
            return shared.clone();
        }
        if self.strings.len() >= MAX_INTERNED {
            self.strings.clear();
        }
        let shared = SharedStr::from(text);
        self.strings.insert(shared.clone());
        shared
    }

    pub fn intern_opt(&mut self, text: Option<&str>) -> Option<SharedStr> {
        text.map(|text| self.intern(text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interner_shares_equal_texts() {
        let mut interner = Interner::default();
        let first = interner.intern("sent");
        let second = interner.intern("sent");
        assert!(Arc::ptr_eq(&first.0, &second.0));
        assert_eq!(first, "sent");
        assert_ne!(interner.intern("deferred"), first);
    }

    #[test]
    fn interner_starts_afresh_when_full() {
        let mut interner = Interner::default();
        for number in 0..MAX_INTERNED + 1 {
            interner.intern(&number.to_string());
        }
        assert_eq!(interner.strings.len(), 1);
        assert_eq!(interner.intern("0"), "0");
    }

    #[test]
    fn shared_str_compares_as_text() {
        let a = SharedStr::from("mx1");
        let b = SharedStr::from(String::from("mx1"));
        assert_eq!(a, b);
        assert_eq!(a, "mx1");
        let (low, high) = (SharedStr::from("a"), SharedStr::from("b"));
        assert!(low < high);
        assert_eq!(SharedStr::default(), "");
        assert_eq!(format!("{a:?} {a}"), "\"mx1\" mx1");
    }
}
