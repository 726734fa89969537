//! What a config error says: the dotted key, the value as TOML would show it, and what is
//! accepted; syntax errors with their line, column and enclosing table.

use std::{
    fmt, io,
    path::{Path, PathBuf},
};

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The cause is said here, once: it is no `source`, so `{:#}` does not repeat it.
    #[error("cannot read {}: {}", .path.display(), io_cause(.cause))]
    Read { path: PathBuf, cause: io::Error },
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

/// An OS error in words, without the "(os error N)" that its source would repeat.
pub(super) fn io_cause(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::NotFound => "no such file".into(),
        io::ErrorKind::PermissionDenied => "permission denied".into(),
        io::ErrorKind::IsADirectory => "it is a directory".into(),
        _ => {
            let text = e.to_string();
            match text.find(" (os error") {
                Some(cut) => text[..cut].to_string(),
                None => text,
            }
        }
    }
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

/// One line: where in the file, the dotted key and its value when the error is about one, and
/// what is accepted, in words instead of serde's ("expected i64").
pub(super) fn syntax_error(path: &Path, text: &str, err: &toml::de::Error) -> ConfigError {
    let message = err.message().trim_end().replace('\n', " ");
    let detail = match err.span() {
        Some(span) => {
            let at = span.start.min(text.len());
            let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
            let line_no = text[..at].matches('\n').count() + 1;
            let column = text[line_start..at].chars().count() + 1;
            let this_line = text[line_start..].lines().next().unwrap_or("");
            let table = enclosing_table(&text[..line_start], this_line);
            let place = match &table {
                Some(t) => format!("line {line_no}, column {column} (in {})", t.header),
                None => format!("line {line_no}, column {column}"),
            };
            match explain(&message, table.as_ref(), this_line) {
                Some(said) => format!("{place}: {said}"),
                None => format!("{place}: {message}"),
            }
        }
        None => message,
    };
    ConfigError::Syntax {
        path: path.to_path_buf(),
        detail,
    }
}

/// The table a line is in: its header as written, and its dotted name (with the index of an
/// array of tables, `interface[1]`).
struct Table<'a> {
    header: &'a str,
    key: String,
}

/// The table of the error line: the last header before it, or the line itself.
fn enclosing_table<'a>(before: &'a str, this_line: &'a str) -> Option<Table<'a>> {
    let header_of = |l: &'a str| l.split('#').next().unwrap_or("").trim();
    let mut headers: Vec<&str> = before
        .lines()
        .map(header_of)
        .filter(|l| l.starts_with('['))
        .collect();
    // An error on a header line (a missing key) is about that table.
    if header_of(this_line).starts_with('[') {
        headers.push(header_of(this_line));
    }
    let header = *headers.last()?;
    let key = match header.strip_prefix("[[").and_then(|h| h.strip_suffix("]]")) {
        Some(name) => {
            let index = headers.iter().filter(|h| **h == header).count() - 1;
            format!("{}[{index}]", name.trim())
        }
        None => header.trim_matches(['[', ']']).trim().to_string(),
    };
    Some(Table { header, key })
}

/// serde's message about a value or a key, said with the dotted key and the accepted values.
fn explain(message: &str, table: Option<&Table<'_>>, line: &str) -> Option<String> {
    let dotted = |key: &str| match table {
        Some(t) => format!("{}.{key}", t.key),
        None => key.to_string(),
    };
    if let Some(rest) = message.strip_prefix("invalid type: ") {
        let (found, expected) = rest.split_once(", expected ")?;
        let (key, value) = line.split_once('=')?;
        let value = value.split(" #").next().unwrap_or(value).trim();
        return Some(format!(
            "{} = {value}: {}, not {}",
            dotted(key.trim()),
            accepted(expected),
            found_words(found)
        ));
    }
    if let Some(rest) = message.strip_prefix("unknown field `") {
        let (field, rest) = rest.split_once('`')?;
        let names: Vec<&str> = rest.split('`').skip(1).step_by(2).collect();
        let known = if names.is_empty() {
            "no keys are accepted here".to_string()
        } else {
            format!("accepted here: {}", names.join(", "))
        };
        return Some(format!("{}: unknown key; {known}", dotted(field)));
    }
    if let Some(rest) = message.strip_prefix("missing field `") {
        let field = rest.split('`').next()?;
        return Some(format!("{}: missing; this key is required", dotted(field)));
    }
    None
}

/// serde's "expected ..." as what to write.
fn accepted(expected: &str) -> String {
    match expected {
        "i64" | "u64" | "i32" | "u32" | "u16" | "u8" => {
            "a whole number, written without quotes".into()
        }
        "a boolean" => "true or false, without quotes".into(),
        "a string" => "a string in double quotes".into(),
        "a sequence" => "a list in brackets, [ ... ]".into(),
        other => format!("expected {other}"),
    }
}

/// serde's "found" as words: `string "224"` -> a string ("224").
fn found_words(found: &str) -> String {
    let (kind, shown) = found.split_once(' ').unwrap_or((found, ""));
    let kind = match kind {
        "string" => "a string",
        "integer" => "a number",
        "float" => "a decimal number",
        "boolean" => "a boolean",
        "sequence" => "a list",
        "map" => "a table",
        other => other,
    };
    if shown.is_empty() {
        kind.to_string()
    } else {
        format!("{kind} ({})", shown.trim_matches('`'))
    }
}
