//! Checks an answer against a step's expectations and takes captures from it.

use std::collections::HashMap;

use crate::config::{CaptureFrom, Expect, HeaderCheck, JsonCheck};

use super::plan::StepPlan;

/// A response as the assertions see it.
pub struct Answer<'a> {
    /// Applied to echoed values before they are cut to length, so no part of a
    /// secret survives in a message.
    pub masker: &'a super::mask::Masker,
    pub status: u16,
    pub headers: &'a http::HeaderMap,
    pub body: &'a [u8],
}

impl Answer<'_> {
    fn text(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(self.body)
    }
    fn json(&self) -> Result<serde_json::Value, String> {
        serde_json::from_slice(self.body).map_err(|e| format!("body is not JSON: {e}"))
    }
}

pub fn status_ok(expect: &Expect, status: u16) -> bool {
    if expect.status.is_empty() {
        (200..300).contains(&status)
    } else {
        expect.status.iter().any(|s| s.contains(status))
    }
}

pub fn expected_status(expect: &Expect) -> String {
    if expect.status.is_empty() {
        "2xx".into()
    } else {
        expect
            .status
            .iter()
            .map(|s| s.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Checks every assertion except the status; the first failure is returned.
pub fn check(expect: &Expect, a: &Answer) -> Result<(), String> {
    for h in &expect.headers {
        let value = a
            .headers
            .get(h.name.as_http())
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        let ok = match (&value, &h.check) {
            (v, HeaderCheck::Exists(e)) => v.is_some() == *e,
            (Some(v), HeaderCheck::Equals(want)) => v == want,
            (Some(v), HeaderCheck::Contains(part)) => v.contains(part.as_str()),
            (Some(v), HeaderCheck::Regex(r)) => r.is_match(v),
            (None, _) => false,
        };
        if !ok {
            let want = match &h.check {
                HeaderCheck::Exists(true) => "present".to_string(),
                HeaderCheck::Exists(false) => "absent".to_string(),
                HeaderCheck::Equals(v) => format!("equal to '{v}'"),
                HeaderCheck::Contains(v) => format!("containing '{v}'"),
                HeaderCheck::Regex(r) => format!("matching /{r}/"),
            };
            let name = h.name.as_str();
            return Err(match value {
                Some(v) => format!(
                    "header {name} is '{}', expected {want}",
                    truncate(&a.masker.mask(&v), 100)
                ),
                None => format!("header {name} is missing, expected {want}"),
            });
        }
    }
    let needs_text = !(expect.body_contains.is_empty()
        && expect.body_not_contains.is_empty()
        && expect.body_regex.is_empty());
    if needs_text {
        let text = a.text();
        for c in &expect.body_contains {
            if !text.contains(c.as_str()) {
                return Err(format!("body does not contain '{c}'"));
            }
        }
        for c in &expect.body_not_contains {
            if text.contains(c.as_str()) {
                return Err(format!("body contains '{c}'"));
            }
        }
        for r in &expect.body_regex {
            if !r.is_match(&text) {
                return Err(format!("body does not match /{}/", r.as_str()));
            }
        }
    }
    if !expect.json.is_empty() {
        let doc = a.json()?;
        for j in &expect.json {
            let found = doc.pointer(j.pointer.as_str());
            match &j.check {
                JsonCheck::Exists(exists) if found.is_some() != *exists => {
                    return Err(format!(
                        "JSON {} {}",
                        j.pointer,
                        if *exists { "is missing" } else { "is present" }
                    ));
                }
                JsonCheck::Exists(_) => {}
                JsonCheck::Equals(want) if found != Some(want) => {
                    let got = found
                        .map(|v| truncate(&a.masker.mask(&v.to_string()), 100))
                        .unwrap_or_else(|| "missing".into());
                    return Err(format!("JSON {} is {got}, expected {want}", j.pointer));
                }
                JsonCheck::Equals(_) => {}
            }
        }
    }
    Ok(())
}

/// Takes the step's captures; names whose value must be masked are returned too.
pub fn capture(
    step: &StepPlan,
    a: &Answer,
    vars: &mut HashMap<String, String>,
) -> Result<Vec<String>, String> {
    let mut secrets = Vec::new();
    let mut doc = None;
    for c in &step.captures {
        let value = match &c.from {
            CaptureFrom::Json(ptr) => {
                if doc.is_none() {
                    doc = Some(a.json()?);
                }
                match doc.as_ref().and_then(|d| d.pointer(ptr.as_str())) {
                    Some(serde_json::Value::String(s)) => Some(s.clone()),
                    Some(serde_json::Value::Null) | None => None,
                    Some(v) => Some(v.to_string()),
                }
            }
            CaptureFrom::Regex(r) => {
                let text = a.text();
                r.captures(&text).map(|m| {
                    m.get(1)
                        .or_else(|| m.get(0))
                        .map(|g| g.as_str().to_string())
                        .unwrap_or_default()
                })
            }
            CaptureFrom::Header(h) => a
                .headers
                .get(h.as_http())
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned()),
        };
        let value = value.ok_or_else(|| {
            let from = match &c.from {
                CaptureFrom::Json(p) => format!("JSON {p}"),
                CaptureFrom::Regex(r) => format!("/{}/", r.as_str()),
                CaptureFrom::Header(h) => format!("header {h}"),
            };
            format!("capture '{}': {from} not found", c.name)
        })?;
        if c.secret {
            secrets.push(value.clone());
        }
        vars.insert(c.name.clone(), value);
    }
    Ok(secrets)
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(n).collect::<String>())
    }
}
