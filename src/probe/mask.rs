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

    pub fn add(&mut self, v: String) {
        if !v.is_empty() && !self.values.contains(&v) {
            self.values.push(v);
            self.values.sort_by_key(|s| std::cmp::Reverse(s.len()));
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_longest_first() {
        let m = Masker::new(["abc".to_string(), "abcdef".to_string(), String::new()]);
        assert_eq!(m.mask("x abcdef y abc"), "x **** y ****");
        assert_eq!(m.mask("nothing"), "nothing");
    }
}
