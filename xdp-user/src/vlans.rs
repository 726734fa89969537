//! VLAN interfaces stacked on an attached interface (e.g. eth0.42, or eth0.100.42 for QinQ):
//! protocol.md says a tagged frame whose VLAN id has no `[[interface.vlan]]` is answered with
//! the addresses of such an interface where one exists. Found in the netlink link dump
//! (IFLA_LINKINFO kind "vlan", IFLA_VLAN_ID, IFLA_LINK parent).

use anyhow::{Context as _, Result};
use xdp_common::maps::{IfaceConfig, IfaceKey};

use crate::{
    ifaces,
    system::{self, Link, SystemInterface},
};

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

/// The VLAN links among `links`, resolved to their physical interface (one or two VLAN
/// levels deep; deeper stacks are not answered by the fast path).
pub fn parse(links: &[Link]) -> Vec<StackedVlan> {
    let by_index = |index: u32| links.iter().find(|l| l.index == index);
    // A VLAN link's (parent, vlan id).
    let vlan_of = |link: &Link| -> Option<(&Link, u16)> {
        let tag = link.vlan?;
        Some((by_index(link.parent?)?, tag.id))
    };
    let mut found = Vec::new();
    for link in links {
        let Some((parent, id)) = vlan_of(link) else {
            continue;
        };
        match vlan_of(parent) {
            None => found.push(StackedVlan {
                name: link.name.clone(),
                physical: parent.name.clone(),
                outer: id,
                inner: 0,
            }),
            Some((grandparent, outer)) if vlan_of(grandparent).is_none() => {
                found.push(StackedVlan {
                    name: link.name.clone(),
                    physical: grandparent.name.clone(),
                    outer,
                    inner: id,
                })
            }
            Some(_) => {}
        }
    }
    found
}

/// The stacked VLAN interfaces of this network namespace.
pub fn discover() -> Result<Vec<StackedVlan>> {
    let links = system::netlink::links().context("asking netlink for the links")?;
    Ok(parse(&links))
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
            ifaces::iface_config(&sys, sys.ipv4, sys.ipv6_link_local, sys.ipv6_global, duid),
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// eth0 with eth0.42 (802.1Q), eth0.100 (802.1ad) and eth0.100.7 on it, and a veth.
    fn links() -> Vec<Link> {
        let link = |index: u32, name: &str, parent: Option<u32>, tag: Option<(u16, u16)>| Link {
            index,
            name: name.into(),
            link_type: libc::ARPHRD_ETHER,
            mac: Some([2, 0, 0, 0, 0, 1]),
            mtu: 1500,
            up: true,
            parent,
            vlan: tag.map(|(id, protocol)| system::VlanTag { id, protocol }),
            veth: false,
            xdp: None,
        };
        vec![
            link(2, "eth0", None, None),
            link(5, "eth0.42", Some(2), Some((42, 0x8100))),
            link(6, "eth0.100", Some(2), Some((100, 0x88a8))),
            link(7, "eth0.100.7", Some(6), Some((7, 0x8100))),
            // A veth's IFLA_LINK names its peer, which may be in another namespace.
            link(8, "veth0", Some(9), None),
            // Three levels: not answered.
            link(10, "eth0.100.7.3", Some(7), Some((3, 0x8100))),
        ]
    }

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
        let found = parse(&links());
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
    fn no_vlans_and_a_vlan_whose_parent_is_not_listed() {
        assert!(parse(&[]).is_empty());
        let mut orphan = links();
        orphan.retain(|l| l.name == "eth0.42");
        assert!(parse(&orphan).is_empty());
    }

    fn sys(name: &str, ifindex: u32, ipv4: [u8; 4]) -> SystemInterface {
        SystemInterface {
            name: name.into(),
            ifindex,
            mac: [2, 0, 0, 0, 0, ifindex as u8],
            mtu: 1500,
            ipv4: Some(ipv4.into()),
            ipv6_link_local: Some("fe80::1".parse().unwrap()),
            ipv6_global: None,
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
        let configured = ifaces::iface_config(
            &attached[0],
            Some([198, 18, 42, 1].into()),
            None,
            None,
            &duid,
        );
        let stacked = parse(&links());
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
