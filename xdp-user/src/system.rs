//! What the system says about its interfaces, through route netlink (`netlink.rs`: links,
//! addresses, VLAN tags; `watch.rs`: their change events for `run`), and the one socket
//! option the tools need on them (SO_BINDTODEVICE). `ifaces.rs` turns these into `IFACES`
//! entries.

pub mod netlink;
pub mod watch;

use std::{
    net::{IpAddr, Ipv4Addr, Ipv6Addr},
    os::fd::AsRawFd,
};

use anyhow::{bail, Context as _, Result};

pub use netlink::{Address, Link, VlanTag};

/// One interface as the system reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SystemInterface {
    pub name: String,
    pub ifindex: u32,
    pub mac: [u8; 6],
    pub mtu: u16,
    pub ipv4: Option<Ipv4Addr>,
    pub ipv6_link_local: Option<Ipv6Addr>,
    /// The first unicast address beyond link scope (global or unique local): the source of
    /// Relay-replies to relay agents that send from such an address.
    pub ipv6_global: Option<Ipv6Addr>,
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

/// The link named `name`, or an error saying it does not exist.
pub fn link(name: &str) -> Result<Link> {
    netlink::link(name)
        .with_context(|| format!("asking netlink for interface {name:?}"))?
        .with_context(|| format!("interface {name:?} does not exist"))
}

/// Who holds the XDP hook of interface `name`, said for an attach that failed: the program's
/// id and mode from netlink and, when this process may open it (CAP_SYS_ADMIN), its name.
pub fn xdp_holder(name: &str) -> Option<String> {
    let program = netlink::link(name).ok()??.xdp?;
    let program_name = aya::programs::loaded_programs()
        .filter_map(Result::ok)
        .find(|p| p.id() == program.id)
        .and_then(|p| p.name_as_str().map(str::to_owned));
    let whose = match program_name.as_deref() {
        // The kernel keeps BPF_OBJ_NAME_LEN - 1 octets of a name.
        Some(n) if !n.is_empty() && xdp_common::maps::PROGRAM_NAME.starts_with(n) => {
            "lwm2m-xdp's program: another instance, or a pinned one of a stopped instance \
             (`lwm2m-xdp status --instance NAME`, `lwm2m-xdp detach`)"
                .to_string()
        }
        Some(n) if !n.is_empty() => format!("program {n:?}: detach it with its owner's tool"),
        _ => "detach it with its owner's tool".to_string(),
    };
    Some(format!(
        "{name} already has XDP program id {} attached in {} mode ({whose}; \
         `bpftool net show dev {name}` shows it)",
        program.id, program.mode
    ))
}

/// Whether this network namespace has a link named `name` (a failed query counts as not).
pub fn link_exists(name: &str) -> bool {
    matches!(netlink::link(name), Ok(Some(_)))
}

pub fn ifindex(name: &str) -> Result<u32> {
    Ok(link(name)?.index)
}

/// Every address of the interface with index `ifindex`, IPv4 first, each family in the
/// kernel's order (primary addresses first).
pub fn addresses(ifindex: u32) -> Result<Vec<IpAddr>> {
    Ok(netlink::addresses()
        .context("asking netlink for addresses")?
        .into_iter()
        .filter(|a| a.index == ifindex)
        .map(|a| a.address)
        .collect())
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

/// Unicast beyond link scope: not link-local, loopback, multicast or unspecified.
pub fn is_beyond_link_unicast(a: &Ipv6Addr) -> bool {
    !(a.is_unicast_link_local() || a.is_loopback() || a.is_multicast() || a.is_unspecified())
}

/// `name` as the fast path needs it: an Ethernet link, its MAC, MTU and addresses.
pub fn system_interface(name: &str) -> Result<SystemInterface> {
    interface_of(&link(name)?)
}

/// [`system_interface`] of a link already looked up.
pub fn interface_of(link: &Link) -> Result<SystemInterface> {
    if link.link_type != libc::ARPHRD_ETHER {
        let what = if link.link_type == libc::ARPHRD_LOOPBACK {
            "a loopback interface"
        } else {
            "not an Ethernet interface"
        };
        bail!(
            "{what} (link type {}): the fast path answers on Ethernet links only, where \
             DHCP clients are; name the interface that faces them",
            link.link_type
        );
    }
    let Some(mac) = link.mac else {
        bail!("{}: netlink reports no 6-octet MAC address", link.name);
    };
    let mtu = u16::try_from(link.mtu).map_err(|_| {
        anyhow::anyhow!(
            "MTU {}: more than the {} a reply can use",
            link.mtu,
            u16::MAX
        )
    })?;
    let addresses = addresses(link.index)?;
    Ok(SystemInterface {
        name: link.name.clone(),
        ifindex: link.index,
        mac,
        mtu,
        ipv4: first_ipv4(&addresses),
        ipv6_link_local: first_ipv6(&addresses, Ipv6Addr::is_unicast_link_local),
        ipv6_global: first_ipv6(&addresses, is_beyond_link_unicast),
    })
}
