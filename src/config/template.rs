//! `${...}` substitution in step fields: transaction variables and captures
//! (`${order_id}`), environment (`${env:NAME}`, `${env:NAME:-default}`) and
//! secrets (`${secret:NAME}`). `$$` is a literal `$`.

use std::collections::HashMap;

/// One piece of a parsed template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    Text(String),
    /// A transaction variable or an earlier step's capture.
    Var(String),
    Env {
        name: String,
        default: Option<String>,
    },
    Secret(String),
}

/// A string with `${...}` references, parsed once at load time.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Template {
    pub parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("unclosed '${{' (write '$$' for a literal '$')")]
    Unclosed,
    #[error("empty reference '${{}}'")]
    Empty,
    #[error("unknown reference kind '{0}:' (expected env: or secret:)")]
    UnknownKind(String),
    #[error("invalid name '{0}' in reference (letters, digits, '_', '-' and '.')")]
    BadName(String),
}

fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

impl Template {
    pub fn parse(s: &str) -> Result<Self, TemplateError> {
        let mut parts = Vec::new();
        let mut text = String::new();
        let mut rest = s;
        while let Some(i) = rest.find('$') {
            text.push_str(&rest[..i]);
            let after = &rest[i + 1..];
            if let Some(r) = after.strip_prefix('$') {
                text.push('$');
                rest = r;
            } else if let Some(r) = after.strip_prefix('{') {
                let end = r.find('}').ok_or(TemplateError::Unclosed)?;
                let inner = &r[..end];
                if !text.is_empty() {
                    parts.push(Part::Text(std::mem::take(&mut text)));
                }
                parts.push(Self::reference(inner)?);
                rest = &r[end + 1..];
            } else {
                text.push('$');
                rest = after;
            }
        }
        text.push_str(rest);
        if !text.is_empty() {
            parts.push(Part::Text(text));
        }
        Ok(Template { parts })
    }

    fn reference(inner: &str) -> Result<Part, TemplateError> {
        if inner.is_empty() {
            return Err(TemplateError::Empty);
        }
        match inner.split_once(':') {
            None => {
                if !valid_name(inner) {
                    return Err(TemplateError::BadName(inner.to_string()));
                }
                Ok(Part::Var(inner.to_string()))
            }
            Some(("env", rest)) => {
                let (name, default) = match rest.split_once(":-") {
                    Some((n, d)) => (n, Some(d.to_string())),
                    None => (rest, None),
                };
                if !valid_name(name) {
                    return Err(TemplateError::BadName(name.to_string()));
                }
                Ok(Part::Env {
                    name: name.to_string(),
                    default,
                })
            }
            Some(("secret", name)) => {
                if !valid_name(name) {
                    return Err(TemplateError::BadName(name.to_string()));
                }
                Ok(Part::Secret(name.to_string()))
            }
            Some((kind, _)) => Err(TemplateError::UnknownKind(kind.to_string())),
        }
    }

    /// Names of transaction variables this template reads.
    pub fn vars(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|p| match p {
            Part::Var(v) => Some(v.as_str()),
            _ => None,
        })
    }

    pub fn secrets(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|p| match p {
            Part::Secret(v) => Some(v.as_str()),
            _ => None,
        })
    }

    pub fn is_literal(&self) -> bool {
        self.parts.iter().all(|p| matches!(p, Part::Text(_)))
    }

    /// Resolves environment references now, leaving variables and secrets.
    /// Returns the name of the first unset variable without a default.
    pub fn resolve_env(&self, env: &dyn Fn(&str) -> Option<String>) -> Result<Template, String> {
        let mut parts = Vec::with_capacity(self.parts.len());
        for p in &self.parts {
            match p {
                Part::Env { name, default } => match env(name).or_else(|| default.clone()) {
                    Some(v) => parts.push(Part::Text(v)),
                    None => return Err(name.clone()),
                },
                other => parts.push(other.clone()),
            }
        }
        Ok(Template { parts })
    }

    /// Renders with the given variables and secrets. Unknown names render
    /// empty; validation guarantees every name used is defined.
    pub fn render(
        &self,
        vars: &HashMap<String, String>,
        secrets: &HashMap<String, String>,
    ) -> String {
        let mut out = String::new();
        for p in &self.parts {
            match p {
                Part::Text(t) => out.push_str(t),
                Part::Var(v) => out.push_str(vars.get(v).map(String::as_str).unwrap_or("")),
                Part::Secret(s) => out.push_str(secrets.get(s).map(String::as_str).unwrap_or("")),
                Part::Env { name, default } => {
                    let v = std::env::var(name)
                        .ok()
                        .or_else(|| default.clone())
                        .unwrap_or_default();
                    out.push_str(&v)
                }
            }
        }
        out
    }
}

impl<'de> serde::Deserialize<'de> for Template {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Template::parse(&s).map_err(serde::de::Error::custom)
    }
}

impl std::fmt::Display for Template {
    /// Shows the template as written, with secrets never expanded.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for p in &self.parts {
            match p {
                Part::Text(t) => write!(f, "{}", t.replace('$', "$$"))?,
                Part::Var(v) => write!(f, "${{{v}}}")?,
                Part::Env {
                    name,
                    default: None,
                } => write!(f, "${{env:{name}}}")?,
                Part::Env {
                    name,
                    default: Some(d),
                } => write!(f, "${{env:{name}:-{d}}}")?,
                Part::Secret(s) => write!(f, "${{secret:{s}}}")?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_all_reference_kinds() {
        let t = Template::parse("${env:BASE:-https://x}/o/${id}?k=${secret:key}&p=$$5").unwrap();
        assert_eq!(
            t.parts,
            vec![
                Part::Env {
                    name: "BASE".into(),
                    default: Some("https://x".into())
                },
                Part::Text("/o/".into()),
                Part::Var("id".into()),
                Part::Text("?k=".into()),
                Part::Secret("key".into()),
                Part::Text("&p=$5".into()),
            ]
        );
        let vars = HashMap::from([("id".to_string(), "42".to_string())]);
        let secrets = HashMap::from([("key".to_string(), "s3cr3t".to_string())]);
        let r = t.resolve_env(&|_| None).unwrap();
        assert_eq!(r.render(&vars, &secrets), "https://x/o/42?k=s3cr3t&p=$5");
        assert_eq!(
            t.to_string(),
            "${env:BASE:-https://x}/o/${id}?k=${secret:key}&p=$$5"
        );
    }

    #[test]
    fn rejects_malformed_references() {
        assert_eq!(Template::parse("a ${b"), Err(TemplateError::Unclosed));
        assert_eq!(Template::parse("${}"), Err(TemplateError::Empty));
        assert_eq!(
            Template::parse("${vault:x}"),
            Err(TemplateError::UnknownKind("vault".into()))
        );
        assert_eq!(
            Template::parse("${a b}"),
            Err(TemplateError::BadName("a b".into()))
        );
        assert!(Template::parse("cost: $5").unwrap().is_literal());
    }

    #[test]
    fn unset_env_without_default_is_reported() {
        let t = Template::parse("${env:NOPE}").unwrap();
        assert_eq!(t.resolve_env(&|_| None), Err("NOPE".to_string()));
    }
}
