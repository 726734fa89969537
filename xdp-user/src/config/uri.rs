//! The bootstrap URI: parsed per RFC 3986 by fluent-uri, then held to what a CoAP URI
//! (RFC 7252 §6, RFC 8323 §8) can be: a server named by `//host[:port]`, no userinfo, no
//! fragment, a port that is a port.

use std::net::IpAddr;

use fluent_uri::{component::Host, ParseErrorKind, Uri};

/// The schemes an LwM2M client bootstraps over (LwM2M 1.1 Transport §5, RFC 7252, RFC 8323).
pub const LWM2M_SCHEMES: [&str; 4] = ["coap", "coaps", "coap+tcp", "coaps+tcp"];

const EXAMPLE: &str = "e.g. \"coaps://bootstrap.example.net:5684\"";

/// Where a bootstrap URI points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BootstrapUri {
    /// Lower case.
    pub scheme: String,
    pub host: UriHost,
    pub port: Option<u16>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UriHost {
    /// An IP literal (`198.18.0.1`, `[2001:db8::10]`).
    Ip(IpAddr),
    /// A registered name, lower case.
    Name(String),
}

impl BootstrapUri {
    /// One of [`LWM2M_SCHEMES`].
    pub fn is_lwm2m_scheme(&self) -> bool {
        LWM2M_SCHEMES.contains(&self.scheme.as_str())
    }
}

/// Parses `uri`; the error says what is wrong and, where it can, how to write it.
pub fn parse_bootstrap_uri(uri: &str) -> Result<BootstrapUri, String> {
    let parsed = Uri::parse(uri).map_err(|e| syntax(uri, e.index(), e.kind()))?;
    let scheme = parsed.scheme().as_str().to_ascii_lowercase();
    let Some(authority) = parsed.authority() else {
        let rest = &uri[scheme.len() + 1..];
        if scheme.contains('.') || (!rest.is_empty() && rest.bytes().all(|b| b.is_ascii_digit())) {
            return Err(format!(
                "reads as host:port without a scheme (RFC 3986 takes {:?} for the scheme); \
                 write the scheme first, {EXAMPLE}",
                &uri[..scheme.len()]
            ));
        }
        return Err(format!(
            "no \"//\" and server after \"{scheme}:\"; a bootstrap URI names its server, \
             {EXAMPLE}"
        ));
    };
    if authority.has_userinfo() {
        return Err(
            "a user name (\"...@\") in the URI: CoAP URIs have none (RFC 7252 §6)".to_string(),
        );
    }
    let host = match authority.host_parsed() {
        Host::Ipv4(a) => UriHost::Ip(a.into()),
        Host::Ipv6(a) => UriHost::Ip(a.into()),
        Host::RegName(name) if name.as_str().is_empty() => {
            return Err(format!("no host after \"{scheme}://\" ({EXAMPLE})"))
        }
        Host::RegName(name) => UriHost::Name(name.as_str().to_ascii_lowercase()),
        _ => return Err("an IPvFuture host (\"[v...]\"), which no client resolves".to_string()),
    };
    let port = match authority.port_to_u16() {
        Ok(Some(0)) => return Err("port 0: give the server's port (coaps: 5684)".to_string()),
        Ok(port) => port,
        Err(_) => {
            let port = authority.port().map(|p| p.as_str()).unwrap_or_default();
            return Err(format!("port {port} is not a port (1-65535)"));
        }
    };
    if parsed.fragment().is_some() {
        return Err("a fragment (\"#...\"): a bootstrap URI has none".to_string());
    }
    Ok(BootstrapUri { scheme, host, port })
}

/// What the parser stopped at, in words.
fn syntax(uri: &str, index: usize, kind: ParseErrorKind) -> String {
    let authority = uri
        .split_once("://")
        .map(|(_, rest)| rest.split(['/', '?', '#']).next().unwrap_or(""));
    match kind {
        ParseErrorKind::InvalidPctEncodedOctet => {
            format!("'%' at position {index} is not followed by two hex digits")
        }
        ParseErrorKind::InvalidIpv6Addr => {
            format!("not an IPv6 address inside \"[...]\" at position {index}")
        }
        _ if uri.find(':').is_some_and(|colon| index < colon) => {
            let scheme = &uri[..uri.find(':').unwrap_or(0)];
            format!(
                "{scheme:?} is not a scheme (a letter, then letters, digits, '+', '-', '.'); \
                 {EXAMPLE}"
            )
        }
        _ => {
            match authority {
                Some(a) if a.starts_with('[') && !a.contains(']') => {
                    "\"[\" without \"]\": an IPv6 address goes in brackets, then the port, \
                 e.g. \"coaps://[2001:db8::10]:5684\""
                        .to_string()
                }
                Some(a) if !a.starts_with('[') && a.matches(':').count() > 1 => format!(
                    "{a:?} has more than one ':': an IPv6 address goes in brackets, \
                 e.g. \"coaps://[2001:db8::10]:5684\""
                ),
                _ if !uri.contains(':') => format!("not an absolute URI: no scheme ({EXAMPLE})"),
                _ => {
                    let c = uri[index..].chars().next().unwrap_or(' ');
                    format!("{c:?} at position {index} may not appear there in a URI (percent-encode it)")
                }
            }
        }
    }
}
