//! What the kernel chose for one veth end (index, MAC, link-local address), read from
//! `ip -j addr show` once the link-local address is no longer tentative: the namespace pair's
//! ends, the relay agents' and the benches'.

use std::net::Ipv6Addr;
use std::time::Duration;

use anyhow::{bail, Result};
use serde_json::Value;

use crate::bounded::{run_checked, wait_until};

/// `ip` answers in milliseconds; the limit only catches a hang.
const CMD_LIMIT: Duration = Duration::from_secs(10);
/// Link-local addresses appear when the link gets carrier (DAD is off).
const LINK_LOCAL_LIMIT: Duration = Duration::from_secs(5);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkEnd {
    pub ifindex: u32,
    pub mac: [u8; 6],
    pub link_local: Ipv6Addr,
}

impl LinkEnd {
    /// Not read yet.
    pub const UNKNOWN: LinkEnd = LinkEnd {
        ifindex: 0,
        mac: [0; 6],
        link_local: Ipv6Addr::UNSPECIFIED,
    };

    /// `ifname` in namespace `ns`, once its link-local address is usable.
    pub fn read(ns: &str, ifname: &str) -> Result<LinkEnd> {
        let mut end = None;
        let ready = wait_until(LINK_LOCAL_LIMIT, Duration::from_millis(20), || {
            end = run_checked(
                CMD_LIMIT,
                "ip",
                &["-n", ns, "-j", "addr", "show", "dev", ifname],
            )
            .ok()
            .and_then(|out| parse(&out.stdout));
            end.is_some()
        });
        if !ready {
            bail!("{ifname} in {ns} has no usable link-local address after {LINK_LOCAL_LIMIT:?}");
        }
        Ok(end.expect("ready"))
    }
}

fn parse(json: &[u8]) -> Option<LinkEnd> {
    let shown: Value = serde_json::from_slice(json).ok()?;
    let link = shown.get(0)?;
    let ifindex = u32::try_from(link.get("ifindex")?.as_u64()?).ok()?;
    let mut mac = [0u8; 6];
    let mut octets = link.get("address")?.as_str()?.split(':');
    for byte in &mut mac {
        *byte = u8::from_str_radix(octets.next()?, 16).ok()?;
    }
    let link_local = link
        .get("addr_info")?
        .as_array()?
        .iter()
        .filter(|a| a.get("scope").and_then(Value::as_str) == Some("link"))
        .filter(|a| a.get("tentative").is_none())
        .find_map(|a| a.get("local")?.as_str()?.parse().ok())?;
    Some(LinkEnd {
        ifindex,
        mac,
        link_local,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_ip_json() {
        let shown = br#"[{"ifindex":5,"ifname":"lwa1-0c","address":"5e:0a:11:22:33:ff",
            "addr_info":[{"family":"inet6","local":"2001:db8:0:1::2","scope":"global"},
            {"family":"inet6","local":"fe80::1","scope":"link","tentative":true},
            {"family":"inet6","local":"fe80::5c0a:11ff:fe22:33ff","scope":"link"}]}]"#;
        let end = parse(shown).unwrap();
        assert_eq!(end.ifindex, 5);
        assert_eq!(end.mac, [0x5e, 0x0a, 0x11, 0x22, 0x33, 0xff]);
        assert_eq!(
            end.link_local,
            "fe80::5c0a:11ff:fe22:33ff".parse::<Ipv6Addr>().unwrap()
        );
        let tentative_only = br#"[{"ifindex":5,"address":"5e:0a:11:22:33:ff",
            "addr_info":[{"family":"inet6","local":"fe80::1","scope":"link","tentative":true}]}]"#;
        assert!(parse(tentative_only).is_none());
    }
}
