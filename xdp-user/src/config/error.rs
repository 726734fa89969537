//! What a config error says: the dotted key, the value as TOML would show it, and what is
//! accepted; syntax errors with their line, column and enclosing table.

use std::{
    fmt, io,
    path::{Path, PathBuf},
};

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {}: {source}", path.display())]
    Read { path: PathBuf, source: io::Error },
    /// TOML syntax, an unknown key, a missing key or a value of the wrong type.
    #[error("{}: {detail}", path.display())]
    Syntax { path: PathBuf, detail: String },
    /// A value that is not accepted; `value` is shown as it would be written in TOML.
    #[error("{key} = {value}: {reason}")]
    Invalid {
        key: String,
        value: String,
        reason: String,
    },
    /// A rule about a table or a combination of keys.
    #[error("{key}: {reason}")]
    Rule { key: String, reason: String },
}

pub(super) fn invalid(
    key: impl Into<String>,
    value: impl fmt::Display,
    reason: impl Into<String>,
) -> ConfigError {
    ConfigError::Invalid {
        key: key.into(),
        value: value.to_string(),
        reason: reason.into(),
    }
}

pub(super) fn rule(key: impl Into<String>, reason: impl Into<String>) -> ConfigError {
    ConfigError::Rule {
        key: key.into(),
        reason: reason.into(),
    }
}

/// A string value as TOML would show it, shortened when long.
pub(super) fn quoted(s: &str) -> String {
    const SHOWN: usize = 60;
    match s.char_indices().nth(SHOWN) {
        Some((cut, _)) => format!("{:?}... ({} octets)", &s[..cut], s.len()),
        None => format!("{s:?}"),
    }
}

/// One line: where in the file, the enclosing table when there is one, and serde's message.
pub(super) fn syntax_error(path: &Path, text: &str, err: &toml::de::Error) -> ConfigError {
    let message = err.message().trim_end().replace('\n', " ");
    let detail = match err.span() {
        Some(span) => {
            let at = span.start.min(text.len());
            let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
            let line_no = text[..at].matches('\n').count() + 1;
            let column = text[line_start..at].chars().count() + 1;
            let this_line = text[line_start..].lines().next().unwrap_or("");
            match enclosing_table(&text[..line_start], this_line) {
                Some(table) => format!("line {line_no}, column {column} (in {table}): {message}"),
                None => format!("line {line_no}, column {column}: {message}"),
            }
        }
        None => message,
    };
    ConfigError::Syntax {
        path: path.to_path_buf(),
        detail,
    }
}

/// The last table header before the error line, unless the error is on a header itself.
fn enclosing_table<'a>(before: &'a str, this_line: &str) -> Option<&'a str> {
    if this_line.trim_start().starts_with('[') {
        return None;
    }
    before
        .lines()
        .rev()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .find(|l| l.starts_with('['))
}
