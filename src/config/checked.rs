//! Configuration values that are checked while they are read, so the code after
//! loading never meets an invalid label name, HTTP method, regex, header name or
//! JSON pointer, and never re-parses one.
//!
//! Each type deserializes from a string and fails with a message that names the
//! bad value; [`super::parse`] places the error at the value's own field.

use std::borrow::Borrow;
use std::fmt;
use std::ops::Deref;

use serde::{Deserialize, Serialize};

/// A name that becomes a Prometheus label value (location, service, transaction,
/// step): a lowercase letter, then lowercase letters, digits, `_` and `-`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize)]
#[serde(try_from = "String", into = "String")]
pub struct LabelName(String);

impl LabelName {
    /// The one label-name rule.
    pub fn new(s: impl Into<String>) -> Result<Self, String> {
        let s = s.into();
        let mut chars = s.chars();
        let valid = matches!(chars.next(), Some(c) if c.is_ascii_lowercase())
            && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
        if valid {
            Ok(LabelName(s))
        } else {
            Err(format!(
                "'{s}' must start with a lowercase letter and use only a-z, 0-9, '_' and '-'"
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for LabelName {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        LabelName::new(s)
    }
}

impl Deref for LabelName {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for LabelName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl Borrow<str> for LabelName {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for LabelName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<LabelName> for String {
    fn from(n: LabelName) -> String {
        n.0
    }
}

impl PartialEq<str> for LabelName {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for LabelName {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl PartialEq<String> for LabelName {
    fn eq(&self, other: &String) -> bool {
        &self.0 == other
    }
}

impl PartialEq<LabelName> for String {
    fn eq(&self, other: &LabelName) -> bool {
        *self == other.0
    }
}

impl PartialEq<LabelName> for &str {
    fn eq(&self, other: &LabelName) -> bool {
        *self == other.0
    }
}

/// An HTTP method written in capitals (`GET`, `POST`, or an extension method).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct Method(http::Method);

impl Method {
    pub fn as_http(&self) -> &http::Method {
        &self.0
    }
}

impl Default for Method {
    fn default() -> Self {
        Method(http::Method::GET)
    }
}

impl TryFrom<String> for Method {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        // http accepts lowercase tokens as extension methods; `post` is a typo.
        match s.parse::<http::Method>() {
            Ok(m) if !s.chars().any(|c| c.is_ascii_lowercase()) => Ok(Method(m)),
            _ => Err(format!("invalid HTTP method '{s}' (e.g. GET, POST)")),
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.as_str())
    }
}

impl PartialEq<&str> for Method {
    fn eq(&self, other: &&str) -> bool {
        self.0.as_str() == *other
    }
}

/// A regular expression, compiled once at load time. Compared and printed by
/// its source text.
#[derive(Clone, Deserialize)]
#[serde(try_from = "String")]
pub struct Pattern(regex::Regex);

impl Pattern {
    pub fn as_regex(&self) -> &regex::Regex {
        &self.0
    }
}

impl TryFrom<String> for Pattern {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        regex::Regex::new(&s)
            .map(Pattern)
            .map_err(|e| format!("invalid regex: {e}"))
    }
}

impl Deref for Pattern {
    type Target = regex::Regex;
    fn deref(&self) -> &regex::Regex {
        &self.0
    }
}

impl fmt::Debug for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Pattern").field(&self.0.as_str()).finish()
    }
}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.as_str())
    }
}

impl PartialEq for Pattern {
    fn eq(&self, other: &Self) -> bool {
        self.0.as_str() == other.0.as_str()
    }
}

impl Eq for Pattern {}

/// An HTTP header name. Kept as written too: errors point at the key in the
/// file, and a step's headers keep the order they had as written.
#[derive(Clone, Deserialize)]
#[serde(try_from = "String")]
pub struct HeaderName {
    name: http::HeaderName,
    written: String,
}

impl HeaderName {
    pub fn as_http(&self) -> &http::HeaderName {
        &self.name
    }
    /// Lowercase, as HTTP/2 and the `http` crate keep it.
    pub fn as_str(&self) -> &str {
        self.name.as_str()
    }
    /// As written in the configuration.
    pub fn written(&self) -> &str {
        &self.written
    }
}

impl TryFrom<String> for HeaderName {
    type Error = String;
    fn try_from(written: String) -> Result<Self, String> {
        match http::HeaderName::from_bytes(written.as_bytes()) {
            Ok(name) => Ok(HeaderName { name, written }),
            Err(_) => Err(format!("invalid header name '{written}'")),
        }
    }
}

impl fmt::Debug for HeaderName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("HeaderName").field(&self.written).finish()
    }
}

impl fmt::Display for HeaderName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.written)
    }
}

// Compared and ordered as written, like the string keys they replace.
impl PartialEq for HeaderName {
    fn eq(&self, other: &Self) -> bool {
        self.written == other.written
    }
}

impl Eq for HeaderName {}

impl PartialOrd for HeaderName {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for HeaderName {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.written.cmp(&other.written)
    }
}

/// An RFC 6901 JSON pointer: empty (the whole document) or starting with `/`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct JsonPointer(String);

impl JsonPointer {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for JsonPointer {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        if s.is_empty() || s.starts_with('/') {
            Ok(JsonPointer(s))
        } else {
            Err(format!("'{s}' is not a JSON pointer (must start with '/')"))
        }
    }
}

impl fmt::Display for JsonPointer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_names() {
        for ok in ["a", "tokyo-a", "hanbai_2"] {
            assert!(LabelName::new(ok).is_ok(), "{ok}");
        }
        for bad in ["", "A", "1a", "-a", "a b", "hanbaí"] {
            assert!(LabelName::new(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn methods_must_be_capitals() {
        assert_eq!(Method::try_from("POST".to_string()).unwrap(), "POST");
        assert_eq!(Method::try_from("PURGE".to_string()).unwrap(), "PURGE");
        assert_eq!(
            Method::try_from("post".to_string()).unwrap_err(),
            "invalid HTTP method 'post' (e.g. GET, POST)"
        );
        assert!(Method::try_from("GE T".to_string()).is_err());
    }

    #[test]
    fn patterns_compare_by_source() {
        let a = Pattern::try_from("id=(\\d+)".to_string()).unwrap();
        assert_eq!(a, Pattern::try_from("id=(\\d+)".to_string()).unwrap());
        assert_eq!(format!("{a:?}"), r#"Pattern("id=(\\d+)")"#);
        assert!(a.is_match("id=42"));
    }

    #[test]
    fn header_names_are_lowercased() {
        let h = HeaderName::try_from("X-CSRF-Token".to_string()).unwrap();
        assert_eq!(h.as_str(), "x-csrf-token");
        assert_eq!(h.written(), "X-CSRF-Token");
        assert_eq!(
            HeaderName::try_from("bad header".to_string()).unwrap_err(),
            "invalid header name 'bad header'"
        );
    }
}
