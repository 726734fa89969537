//! A minimal HTTP/1.1 client for the metrics tests: one request per connection, made in a
//! network namespace, every step bounded. A test client, independent of the server's crate.

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use anyhow::{bail, Context as _, Result};

use crate::peers::in_netns;

/// Connect, send, and read the whole answer within this.
pub const HTTP_LIMIT: Duration = Duration::from_secs(5);

/// An HTTP answer: status code, header lines (lower-cased names), body.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A TCP connection to `addr` made in namespace `ns` (it stays there).
pub fn connect(ns: &str, addr: SocketAddr) -> Result<TcpStream> {
    let stream = in_netns(ns, || {
        TcpStream::connect_timeout(&addr, HTTP_LIMIT).with_context(|| format!("connect {addr}"))
    })?;
    stream.set_read_timeout(Some(HTTP_LIMIT))?;
    stream.set_write_timeout(Some(HTTP_LIMIT))?;
    Ok(stream)
}

/// `METHOD path` to `addr` in `ns`, with `Connection: close`; the whole answer.
pub fn request(ns: &str, addr: SocketAddr, method: &str, path: &str) -> Result<Answer> {
    let mut stream = connect(ns, addr)?;
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
    )?;
    let mut raw = Vec::new();
    stream
        .read_to_end(&mut raw)
        .with_context(|| format!("reading the answer to {method} {path}"))?;
    parse(&String::from_utf8_lossy(&raw))
}

fn parse(raw: &str) -> Result<Answer> {
    let Some((head, body)) = raw.split_once("\r\n\r\n") else {
        bail!("no end of headers in {raw:?}");
    };
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .with_context(|| format!("status line {status_line:?}"))?;
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    Ok(Answer {
        status,
        headers,
        body: body.to_owned(),
    })
}

/// The value of the sample `name{labels}` in Prometheus text (`labels` exactly as printed,
/// e.g. `family="v4",outcome="forwarded"`).
pub fn sample(text: &str, name: &str, labels: &str) -> Option<u64> {
    let key = format!("{name}{{{labels}}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&key))
        .and_then(|v| v.trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_status_headers_body() {
        let a =
            parse("HTTP/1.1 405 Method Not Allowed\r\nAllow: GET\r\ncontent-length: 3\r\n\r\nno\n")
                .unwrap();
        assert_eq!(a.status, 405);
        assert_eq!(a.header("allow"), Some("GET"));
        assert_eq!(a.body, "no\n");
        assert!(parse("HTTP/1.1 200 OK\r\n").is_err());
    }

    #[test]
    fn finds_a_sample() {
        let text = "# TYPE x counter\nx{a=\"1\"} 7\nx{a=\"12\"} 9\n";
        assert_eq!(sample(text, "x", "a=\"1\""), Some(7));
        assert_eq!(sample(text, "x", "a=\"12\""), Some(9));
        assert_eq!(sample(text, "x", "a=\"2\""), None);
    }
}
