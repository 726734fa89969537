//! The bootstrap URI's form (RFC 3986).

/// An absolute URI per RFC 3986 §4.3: `scheme ":" hier-part [ "?" query ]`, made only of the
/// characters a URI may hold (no spaces, no raw non-ASCII, `%` followed by two hex digits).
pub(super) fn check_absolute_uri(uri: &str) -> Result<(), String> {
    const EXAMPLE: &str = "e.g. \"coaps://bootstrap.example.net:5684\"";
    let Some((scheme, rest)) = uri.split_once(':') else {
        return Err(format!("not an absolute URI: no scheme ({EXAMPLE})"));
    };
    let scheme_ok = scheme
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
    if !scheme_ok {
        return Err(format!(
            "not an absolute URI: {scheme:?} is not a scheme ({EXAMPLE})"
        ));
    }
    if rest.is_empty() {
        return Err(format!(
            "not an absolute URI: nothing after \"{scheme}:\" ({EXAMPLE})"
        ));
    }
    if let Some(after_slashes) = rest.strip_prefix("//") {
        let authority = after_slashes.split(['/', '?', '#']).next().unwrap_or("");
        if authority.is_empty() {
            return Err(format!(
                "not an absolute URI: no host after \"{scheme}://\" ({EXAMPLE})"
            ));
        }
    }
    if rest.contains('#') {
        return Err("an absolute URI has no fragment (\"#...\")".to_string());
    }
    let bytes = uri.as_bytes();
    for (i, c) in uri.char_indices() {
        let allowed = c.is_ascii_alphanumeric() || "-._~:/?#[]@!$&'()*+,;=".contains(c);
        if c == '%' {
            let escape_ok = bytes.len() > i + 2
                && bytes[i + 1].is_ascii_hexdigit()
                && bytes[i + 2].is_ascii_hexdigit();
            if !escape_ok {
                return Err(format!(
                    "'%' at position {i} is not followed by two hex digits"
                ));
            }
        } else if !allowed {
            return Err(format!(
                "{c:?} at position {i} may not appear in a URI (percent-encode it)"
            ));
        }
    }
    Ok(())
}
