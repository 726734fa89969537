//! VLAN interfaces stacked on an attached interface (e.g. eth0.42, or eth0.100.42 for QinQ):
//! protocol.md says a tagged frame whose VLAN id has no `[[interface.vlan]]` is answered with
//! the addresses of such an interface where one exists. Found through `ip -details -json link`.

use std::process::Command;

use anyhow::{Context as _, Result};
use serde_json::Value;
use xdp_common::maps::{IfaceConfig, IfaceKey};

use crate::ifaces::{self, SystemInterface};

/// A VLAN interface and the tags a frame carries on the physical interface to reach it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StackedVlan {
    pub name: String,
    /// The non-VLAN interface the tags are seen on.
    pub physical: String,
    pub outer: u16,
    /// 0 for a single tag.
    pub inner: u16,
}

/// VLAN links in the output of `ip -details -json link show`, resolved to their physical
/// interface (one or two VLAN levels deep; deeper stacks are not answered by the fast path).
pub fn parse(ip_json: &str) -> Result<Vec<StackedVlan>> {
    let links: Value = serde_json::from_str(ip_json).context("`ip -json link` output")?;
    let links = links.as_array().map(Vec::as_slice).unwrap_or_default();
    // name -> (parent, vlan id) for every VLAN link.
    let vlan_of = |name: &str| -> Option<(String, u16)> {
        let link = links.iter().find(|l| l["ifname"] == name)?;
        let info = &link["linkinfo"];
        if info["info_kind"] != "vlan" {
            return None;
        }
        let id = u16::try_from(info["info_data"]["id"].as_u64()?).ok()?;
        Some((link["link"].as_str()?.to_string(), id))
    };
    let mut found = Vec::new();
    for link in links {
        let Some(name) = link["ifname"].as_str() else {
            continue;
        };
        let Some((parent, id)) = vlan_of(name) else {
            continue;
        };
        match vlan_of(&parent) {
            None => found.push(StackedVlan {
                name: name.to_string(),
                physical: parent,
                outer: id,
                inner: 0,
            }),
            Some((grandparent, outer)) if vlan_of(&grandparent).is_none() => {
                found.push(StackedVlan {
                    name: name.to_string(),
                    physical: grandparent,
                    outer,
                    inner: id,
                })
            }
            Some(_) => {}
        }
    }
    Ok(found)
}

/// The stacked VLAN interfaces of this network namespace.
pub fn discover() -> Result<Vec<StackedVlan>> {
    let out = Command::new("ip")
        .args(["-details", "-json", "link", "show"])
        .output()
        .context("running `ip -details -json link show`")?;
    parse(&String::from_utf8_lossy(&out.stdout))
}

/// Entries for the stacked VLANs of the attached interfaces whose tags `entries` does not
/// already cover (a configured `[[interface.vlan]]` wins), with the VLAN interface's own
/// MAC, MTU and addresses. `lookup` reads an interface from the system.
pub fn stacked_entries(
    stacked: &[StackedVlan],
    attached: &[SystemInterface],
    entries: &[(IfaceKey, IfaceConfig)],
    duid: &[u8],
    lookup: impl Fn(&str) -> Result<SystemInterface>,
) -> Result<Vec<(IfaceKey, IfaceConfig)>> {
    let mut out = Vec::new();
    for vlan in stacked {
        let Some(physical) = attached.iter().find(|s| s.name == vlan.physical) else {
            continue;
        };
        let key = IfaceKey {
            ifindex: physical.ifindex,
            outer_vlan: vlan.outer,
            inner_vlan: vlan.inner,
        };
        if entries.iter().any(|(k, _)| *k == key) {
            continue;
        }
        let sys = lookup(&vlan.name)?;
        out.push((
            key,
            ifaces::iface_config(&sys, sys.ipv4, sys.ipv6_link_local, duid),
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Trimmed from `ip -details -json link show` with eth0, eth0.42 and eth0.100.7.
    const IP_JSON: &str = r#"[
      {"ifindex":2,"ifname":"eth0","address":"02:00:00:00:00:01","linkinfo":null},
      {"ifindex":5,"ifname":"eth0.42","link":"eth0","address":"02:00:00:00:00:01",
       "linkinfo":{"info_kind":"vlan","info_data":{"protocol":"802.1Q","id":42}}},
      {"ifindex":6,"ifname":"eth0.100","link":"eth0",
       "linkinfo":{"info_kind":"vlan","info_data":{"protocol":"802.1ad","id":100}}},
      {"ifindex":7,"ifname":"eth0.100.7","link":"eth0.100",
       "linkinfo":{"info_kind":"vlan","info_data":{"protocol":"802.1Q","id":7}}},
      {"ifindex":8,"ifname":"veth0","link":"veth1","linkinfo":{"info_kind":"veth"}}
    ]"#;

    fn vlan(name: &str, outer: u16, inner: u16) -> StackedVlan {
        StackedVlan {
            name: name.into(),
            physical: "eth0".into(),
            outer,
            inner,
        }
    }

    #[test]
    fn single_and_double_tagged_vlans_resolve_to_the_physical_interface() {
        let found = parse(IP_JSON).unwrap();
        assert_eq!(
            found,
            vec![
                vlan("eth0.42", 42, 0),
                vlan("eth0.100", 100, 0),
                vlan("eth0.100.7", 100, 7)
            ]
        );
    }

    #[test]
    fn no_vlans_and_bad_json() {
        assert!(parse("[]").unwrap().is_empty());
        assert!(parse("not json").is_err());
    }

    fn sys(name: &str, ifindex: u32, ipv4: [u8; 4]) -> SystemInterface {
        SystemInterface {
            name: name.into(),
            ifindex,
            mac: [2, 0, 0, 0, 0, ifindex as u8],
            mtu: 1500,
            ipv4: Some(ipv4.into()),
            ipv6_link_local: Some("fe80::1".parse().unwrap()),
        }
    }

    #[test]
    fn configured_vlans_win_and_others_take_the_vlan_interfaces_addresses() {
        let attached = [sys("eth0", 2, [198, 18, 0, 1])];
        let duid = ifaces::duid_ll([2, 0, 0, 0, 0, 2]);
        let configured_key = IfaceKey {
            ifindex: 2,
            outer_vlan: 42,
            inner_vlan: 0,
        };
        let configured =
            ifaces::iface_config(&attached[0], Some([198, 18, 42, 1].into()), None, &duid);
        let stacked = parse(IP_JSON).unwrap();
        let lookup = |name: &str| match name {
            "eth0.100" => Ok(sys(name, 6, [198, 18, 100, 1])),
            "eth0.100.7" => Ok(sys(name, 7, [198, 18, 107, 1])),
            other => anyhow::bail!("unexpected lookup of {other}"),
        };
        let extra = stacked_entries(
            &stacked,
            &attached,
            &[(configured_key, configured)],
            &duid,
            lookup,
        )
        .unwrap();
        let keys: Vec<(u16, u16, [u8; 4])> = extra
            .iter()
            .map(|(k, v)| (k.outer_vlan, k.inner_vlan, v.ipv4))
            .collect();
        assert_eq!(
            keys,
            vec![(100, 0, [198, 18, 100, 1]), (100, 7, [198, 18, 107, 1])]
        );
        assert!(extra.iter().all(|(k, _)| k.ifindex == 2));
    }
}
