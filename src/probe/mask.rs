//! Keeps secret values out of every string that leaves a probe.

/// Replaces each known secret value with `****`.
#[derive(Debug, Clone, Default)]
pub struct Masker {
    /// Longest first, so a secret containing another is masked whole.
    values: Vec<String>,
}

pub const MASK: &str = "****";

impl Masker {
    pub fn new(values: impl IntoIterator<Item = String>) -> Self {
        let mut m = Masker::default();
        for v in values {
            m.add(v);
        }
        m
    }

    /// Adds a secret value and the forms it takes when a server echoes it back:
    /// form-encoded (`+` for space), percent-encoded (`%20`), both with
    /// lower-case hex, and escaped inside a JSON string.
    pub fn add(&mut self, v: String) {
        if v.is_empty() {
            return;
        }
        let form: String = form_urlencoded::byte_serialize(v.as_bytes()).collect();
        let percent = form.replace('+', "%20");
        let quoted = serde_json::to_string(&v).unwrap_or_default();
        let json = quoted
            .strip_prefix('"')
            .and_then(|j| j.strip_suffix('"'))
            .unwrap_or("")
            .to_string();
        let variants = [
            lower_hex(&form),
            lower_hex(&percent),
            form,
            percent,
            json,
            v,
        ];
        for variant in variants {
            if !variant.is_empty() && !self.values.contains(&variant) {
                self.values.push(variant);
            }
        }
        self.values.sort_by_key(|s| std::cmp::Reverse(s.len()));
    }

    pub fn mask(&self, s: &str) -> String {
        let mut out = s.to_string();
        for v in &self.values {
            if out.contains(v.as_str()) {
                out = out.replace(v.as_str(), MASK);
            }
        }
        out
    }
}

/// `%2F` → `%2f`: some servers write percent-encoding in lower case.
fn lower_hex(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('%') {
        out.push_str(&rest[..i]);
        let code = rest.get(i..i + 3).unwrap_or(&rest[i..]);
        out.push_str(&code.to_ascii_lowercase());
        rest = &rest[i + code.len()..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_longest_first() {
        let m = Masker::new(["abc".to_string(), "abcdef".to_string(), String::new()]);
        assert_eq!(m.mask("x abcdef y abc"), "x **** y ****");
        assert_eq!(m.mask("nothing"), "nothing");
    }

    #[test]
    fn masks_encoded_forms_of_a_secret() {
        let m = Masker::new(["p w/\"ü+".to_string()]);
        for echoed in [
            "p w/\"ü+",
            "p+w%2F%22%C3%BC%2B",
            "p%20w%2F%22%C3%BC%2B",
            "p+w%2f%22%c3%bc%2b",
            "p%20w%2f%22%c3%bc%2b",
            r#"p w/\"ü+"#,
        ] {
            assert_eq!(m.mask(&format!("<{echoed}>")), "<****>", "{echoed}");
        }
    }
}
