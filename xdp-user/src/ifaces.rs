//! What the kernel program needs to know about each interface it answers on: index, MAC,
//! MTU and addresses, read from the system and the config, as `IFACES` entries.

use std::{
    ffi::CString,
    fs,
    net::{IpAddr, Ipv4Addr, Ipv6Addr},
    os::fd::AsRawFd,
};

use anyhow::{bail, Context as _, Result};
use xdp_common::{
    maps::{IfaceConfig, IfaceKey, SERVER_ID_OPT_CAP},
    wire::dhcpv6,
};

use crate::{config::Config, csum};

/// One interface as the system reports it.
#[derive(Clone, Debug)]
pub struct SystemInterface {
    pub name: String,
    pub ifindex: u32,
    pub mac: [u8; 6],
    pub mtu: u16,
    pub ipv4: Option<Ipv4Addr>,
    pub ipv6_link_local: Option<Ipv6Addr>,
}

/// SO_BINDTODEVICE: `socket` sends and receives on interface `name` only.
pub fn bind_to_device(socket: &impl AsRawFd, name: &str) -> std::io::Result<()> {
    // SAFETY: setsockopt with a byte buffer of the given length.
    let rc = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_BINDTODEVICE,
            name.as_ptr().cast(),
            name.len() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

pub fn ifindex(name: &str) -> Result<u32> {
    let c = CString::new(name).context("interface name with a NUL byte")?;
    // SAFETY: a valid C string.
    let index = unsafe { libc::if_nametoindex(c.as_ptr()) };
    if index == 0 {
        bail!("interface {name:?} does not exist");
    }
    Ok(index)
}

fn sysfs(name: &str, file: &str) -> Result<String> {
    let path = format!("/sys/class/net/{name}/{file}");
    Ok(fs::read_to_string(&path)
        .with_context(|| format!("reading {path}"))?
        .trim()
        .to_string())
}

pub fn parse_mac(text: &str) -> Result<[u8; 6]> {
    let bytes: Vec<u8> = text
        .split(':')
        .map(|b| u8::from_str_radix(b, 16))
        .collect::<Result<_, _>>()
        .with_context(|| format!("not a MAC address: {text:?}"))?;
    bytes
        .try_into()
        .map_err(|_| anyhow::anyhow!("not a 6-octet MAC address: {text:?}"))
}

/// Every address of `name`, in the order getifaddrs lists them.
pub fn addresses(name: &str) -> Result<Vec<IpAddr>> {
    let mut found = Vec::new();
    let mut head: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs fills `head` with a list we free below.
    if unsafe { libc::getifaddrs(&mut head) } != 0 {
        return Err(std::io::Error::last_os_error()).context("getifaddrs");
    }
    let mut cur = head;
    while !cur.is_null() {
        // SAFETY: a node of the list getifaddrs returned.
        let ifa = unsafe { &*cur };
        cur = ifa.ifa_next;
        if ifa.ifa_addr.is_null() {
            continue;
        }
        // SAFETY: ifa_name is a NUL-terminated string.
        let ifa_name = unsafe { std::ffi::CStr::from_ptr(ifa.ifa_name) };
        if ifa_name.to_bytes() != name.as_bytes() {
            continue;
        }
        // SAFETY: sa_family tells which sockaddr type ifa_addr points to.
        match unsafe { (*ifa.ifa_addr).sa_family } as i32 {
            libc::AF_INET => {
                // SAFETY: an AF_INET address is a sockaddr_in.
                let sin = unsafe { &*(ifa.ifa_addr as *const libc::sockaddr_in) };
                found.push(IpAddr::V4(Ipv4Addr::from(u32::from_be(
                    sin.sin_addr.s_addr,
                ))));
            }
            libc::AF_INET6 => {
                // SAFETY: an AF_INET6 address is a sockaddr_in6.
                let sin6 = unsafe { &*(ifa.ifa_addr as *const libc::sockaddr_in6) };
                found.push(IpAddr::V6(Ipv6Addr::from(sin6.sin6_addr.s6_addr)));
            }
            _ => {}
        }
    }
    // SAFETY: the list from getifaddrs above.
    unsafe { libc::freeifaddrs(head) };
    Ok(found)
}

/// The first IPv4 address in `addresses`.
pub fn first_ipv4(addresses: &[IpAddr]) -> Option<Ipv4Addr> {
    addresses.iter().find_map(|a| match a {
        IpAddr::V4(v4) => Some(*v4),
        IpAddr::V6(_) => None,
    })
}

/// The first IPv6 address in `addresses` that `wanted` accepts.
pub fn first_ipv6(addresses: &[IpAddr], wanted: impl Fn(&Ipv6Addr) -> bool) -> Option<Ipv6Addr> {
    addresses.iter().find_map(|a| match a {
        IpAddr::V6(v6) if wanted(v6) => Some(*v6),
        _ => None,
    })
}

/// In fe80::/10.
pub fn is_link_local(a: &Ipv6Addr) -> bool {
    a.segments()[0] & 0xffc0 == 0xfe80
}

/// ARPHRD_ETHER in /sys/class/net/NAME/type: the only link type the fast path parses.
const ARPHRD_ETHER: &str = "1";

pub fn system_interface(name: &str) -> Result<SystemInterface> {
    let kind = sysfs(name, "type")?;
    if kind != ARPHRD_ETHER {
        let what = if kind == "772" {
            "a loopback interface"
        } else {
            "not an Ethernet interface"
        };
        bail!(
            "{what} (link type {kind}): the fast path answers on Ethernet links only, where \
             DHCP clients are; name the interface that faces them"
        );
    }
    let addresses = addresses(name)?;
    let ipv4 = first_ipv4(&addresses);
    let ipv6_link_local = first_ipv6(&addresses, is_link_local);
    Ok(SystemInterface {
        name: name.to_string(),
        ifindex: ifindex(name)?,
        mac: parse_mac(&sysfs(name, "address")?)?,
        mtu: {
            let mtu = sysfs(name, "mtu")?;
            mtu.parse().map_err(|_| {
                anyhow::anyhow!("MTU {mtu}: more than the {} a reply can use", u16::MAX)
            })?
        },
        ipv4,
        ipv6_link_local,
    })
}

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
            iface_config(sys, ipv4, sys.ipv6_link_local, &duid),
        ));
        for vlan in &iface.vlans {
            out.push((
                IfaceKey {
                    ifindex: sys.ifindex,
                    outer_vlan: vlan.id,
                    inner_vlan: vlan.inner_id.unwrap_or(0),
                },
                iface_config(sys, vlan.ipv4, vlan.ipv6_link_local, &duid),
            ));
        }
    }
    Ok((out, systems))
}

pub fn iface_config(
    sys: &SystemInterface,
    ipv4: Option<Ipv4Addr>,
    ipv6: Option<Ipv6Addr>,
    duid: &[u8],
) -> IfaceConfig {
    let mut server_id_opt = [0u8; SERVER_ID_OPT_CAP];
    let opt_len = dhcpv6::OPT_HDR_LEN + duid.len();
    server_id_opt[..2].copy_from_slice(&dhcpv6::OPT_SERVERID.to_be_bytes());
    server_id_opt[2..4].copy_from_slice(&(duid.len() as u16).to_be_bytes());
    server_id_opt[4..opt_len].copy_from_slice(duid);
    let has_v6 = ipv6.is_some();
    let ipv6_link_local = ipv6.map_or([0; 16], |a| a.octets());
    IfaceConfig {
        mac: sys.mac,
        mtu: sys.mtu,
        ipv4: ipv4.map_or([0; 4], |a| a.octets()),
        ipv6_link_local,
        server_id_len: if has_v6 { opt_len as u16 } else { 0 },
        ipv6_link_local_csum: csum::sum_be(&ipv6_link_local),
        server_id_csum: csum::sum_be(&server_id_opt[..opt_len]) as u32,
        server_id_opt,
    }
}
