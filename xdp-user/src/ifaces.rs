//! What the kernel program needs to know about each interface it answers on: index, MAC,
//! MTU and addresses (read from the system by `system.rs`) and the config, as `IFACES`
//! entries.

use std::net::{Ipv4Addr, Ipv6Addr};

use anyhow::{bail, Context as _, Result};
use xdp_common::{
    maps::{IfaceConfig, IfaceKey, SERVER_ID_OPT_CAP},
    wire::dhcpv6,
};

use crate::{config::Config, csum, system::SystemInterface};

/// DUID-LL (RFC 8415 §11.4): type 3, hardware type 1 (Ethernet), the MAC.
pub fn duid_ll(mac: [u8; 6]) -> Vec<u8> {
    let mut duid = Vec::with_capacity(10);
    duid.extend(dhcpv6::DUID_TYPE_LL.to_be_bytes());
    duid.extend(dhcpv6::HW_TYPE_ETHERNET.to_be_bytes());
    duid.extend(mac);
    duid
}

/// `IFACES` entries and the interfaces they came from.
pub type Entries = (Vec<(IfaceKey, IfaceConfig)>, Vec<SystemInterface>);

/// The server DUID: configured, else DUID-LL of the first interface's MAC (design.md).
pub fn server_duid(cfg: &Config, systems: &[SystemInterface]) -> Result<Vec<u8>> {
    match (&cfg.dhcpv6.server_duid, systems.first()) {
        (Some(duid), _) => Ok(duid.clone()),
        (None, Some(first)) => Ok(duid_ll(first.mac)),
        (None, None) => bail!("no [[interface]] to take a DUID from"),
    }
}

/// The interface table for `cfg`: one entry per interface (untagged) and per configured VLAN.
/// `lookup` reads an interface from the system (tests pass a fake).
pub fn entries(cfg: &Config, lookup: impl Fn(&str) -> Result<SystemInterface>) -> Result<Entries> {
    let systems: Vec<SystemInterface> = cfg
        .interfaces
        .iter()
        .enumerate()
        .map(|(n, i)| {
            lookup(&i.name).with_context(|| format!("interface[{n}].name = {:?}", i.name))
        })
        .collect::<Result<_>>()?;
    let duid = server_duid(cfg, &systems)?;
    let mut out = Vec::new();
    for (iface, sys) in cfg.interfaces.iter().zip(&systems) {
        let ipv4 = iface.server_id.or(cfg.dhcpv4.server_id).or(sys.ipv4);
        out.push((
            IfaceKey {
                ifindex: sys.ifindex,
                outer_vlan: 0,
                inner_vlan: 0,
            },
            iface_config(sys, ipv4, sys.ipv6_link_local, sys.ipv6_global, &duid),
        ));
        for vlan in &iface.vlans {
            out.push((
                IfaceKey {
                    ifindex: sys.ifindex,
                    outer_vlan: vlan.id,
                    inner_vlan: vlan.inner_id.unwrap_or(0),
                },
                // A VLAN's config names its link-local address only: Relay-forwards from
                // a global address on it are passed (`passed_no_global_address`).
                iface_config(sys, vlan.ipv4, vlan.ipv6_link_local, None, &duid),
            ));
        }
    }
    Ok((out, systems))
}

pub fn iface_config(
    sys: &SystemInterface,
    ipv4: Option<Ipv4Addr>,
    ipv6: Option<Ipv6Addr>,
    ipv6_global: Option<Ipv6Addr>,
    duid: &[u8],
) -> IfaceConfig {
    let mut server_id_opt = [0u8; SERVER_ID_OPT_CAP];
    let opt_len = dhcpv6::OPT_HDR_LEN + duid.len();
    server_id_opt[..2].copy_from_slice(&dhcpv6::OPT_SERVERID.to_be_bytes());
    server_id_opt[2..4].copy_from_slice(&(duid.len() as u16).to_be_bytes());
    server_id_opt[4..opt_len].copy_from_slice(duid);
    let has_v6 = ipv6.is_some();
    let ipv6_link_local = ipv6.map_or([0; 16], |a| a.octets());
    let ipv6_global = ipv6_global.map_or([0; 16], |a| a.octets());
    IfaceConfig {
        mac: sys.mac,
        mtu: sys.mtu,
        ipv4: ipv4.map_or([0; 4], |a| a.octets()),
        ipv6_link_local,
        ipv6_global,
        server_id_len: if has_v6 { opt_len as u16 } else { 0 },
        ipv6_link_local_csum: csum::sum_be(&ipv6_link_local),
        ipv6_global_csum: csum::sum_be(&ipv6_global),
        _pad: 0,
        server_id_csum: csum::sum_be(&server_id_opt[..opt_len]) as u32,
        server_id_opt,
    }
}
