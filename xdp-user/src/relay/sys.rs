//! Sockets and interface addresses for the relay: the few socket options std and tokio do
//! not offer (SO_REUSEADDR before bind, SO_BINDTODEVICE, IPV6_MULTICAST_ALL), and the
//! addresses a relay needs (IPv4 for giaddr, a global IPv6 for link-address).

use std::{
    io,
    mem::size_of,
    net::{Ipv4Addr, Ipv6Addr, SocketAddrV4, SocketAddrV6},
    os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd},
};

use anyhow::Result;

use crate::system;

/// linux/in6.h: deliver multicast only for groups this socket joined (0), not every group
/// the host joined (1, the default). libc does not export it.
const IPV6_MULTICAST_ALL: libc::c_int = 29;

fn set_int(fd: RawFd, level: libc::c_int, name: libc::c_int, value: libc::c_int) -> io::Result<()> {
    // SAFETY: setsockopt with an int of its size.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            (&value as *const libc::c_int).cast(),
            size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

fn udp_socket(domain: libc::c_int) -> io::Result<OwnedFd> {
    // SAFETY: plain socket(2); the fd is owned right below.
    let fd = unsafe {
        libc::socket(
            domain,
            libc::SOCK_DGRAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
            libc::IPPROTO_UDP,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a fresh descriptor nobody else owns.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    // A DHCP server on this host (or a second instance's relay) may hold the port too.
    set_int(fd.as_raw_fd(), libc::SOL_SOCKET, libc::SO_REUSEADDR, 1)?;
    Ok(fd)
}

fn bind(fd: &OwnedFd, addr: *const libc::sockaddr, len: usize) -> io::Result<()> {
    // SAFETY: `addr` points at a sockaddr of `len` octets that outlives the call.
    let rc = unsafe { libc::bind(fd.as_raw_fd(), addr, len as libc::socklen_t) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

fn into_tokio(fd: OwnedFd) -> io::Result<tokio::net::UdpSocket> {
    tokio::net::UdpSocket::from_std(std::net::UdpSocket::from(fd))
}

/// A UDP socket on `addr`, SO_REUSEADDR, bound to `device` when given, SO_BROADCAST when
/// asked. Needs a tokio runtime.
pub fn udp_v4(
    addr: SocketAddrV4,
    device: Option<&str>,
    broadcast: bool,
) -> io::Result<tokio::net::UdpSocket> {
    let fd = udp_socket(libc::AF_INET)?;
    if let Some(name) = device {
        system::bind_to_device(&fd, name)?;
    }
    if broadcast {
        set_int(fd.as_raw_fd(), libc::SOL_SOCKET, libc::SO_BROADCAST, 1)?;
    }
    let sin = libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: addr.port().to_be(),
        sin_addr: libc::in_addr {
            s_addr: u32::from(*addr.ip()).to_be(),
        },
        sin_zero: [0; 8],
    };
    bind(
        &fd,
        (&sin as *const libc::sockaddr_in).cast(),
        size_of::<libc::sockaddr_in>(),
    )?;
    into_tokio(fd)
}

/// An IPv6-only UDP socket on `addr`, SO_REUSEADDR, bound to `device` when given; with
/// `multicast_all` false it receives only groups it joined itself. Needs a tokio runtime.
pub fn udp_v6(
    addr: SocketAddrV6,
    device: Option<&str>,
    multicast_all: bool,
) -> io::Result<tokio::net::UdpSocket> {
    let fd = udp_socket(libc::AF_INET6)?;
    set_int(fd.as_raw_fd(), libc::IPPROTO_IPV6, libc::IPV6_V6ONLY, 1)?;
    if let Some(name) = device {
        system::bind_to_device(&fd, name)?;
    }
    if !multicast_all {
        set_int(fd.as_raw_fd(), libc::IPPROTO_IPV6, IPV6_MULTICAST_ALL, 0)?;
    }
    // SAFETY: an all-zero sockaddr_in6 is valid; the fields are set below.
    let mut sin6: libc::sockaddr_in6 = unsafe { std::mem::zeroed() };
    sin6.sin6_family = libc::AF_INET6 as libc::sa_family_t;
    sin6.sin6_port = addr.port().to_be();
    sin6.sin6_addr.s6_addr = addr.ip().octets();
    sin6.sin6_scope_id = addr.scope_id();
    bind(
        &fd,
        (&sin6 as *const libc::sockaddr_in6).cast(),
        size_of::<libc::sockaddr_in6>(),
    )?;
    into_tokio(fd)
}

/// One interface as the relay sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Iface {
    pub name: String,
    pub ifindex: u32,
    /// The first IPv4 address: giaddr, and where servers send BOOTREPLYs.
    pub ipv4: Option<Ipv4Addr>,
    /// The first global (GUA or ULA) IPv6 address: link-address of Relay-forwards.
    pub ipv6_global: Option<Ipv6Addr>,
}

/// Reads `name`'s index and addresses (netlink).
pub fn iface(name: &str) -> Result<Iface> {
    let ifindex = system::ifindex(name)?;
    let addresses = system::addresses(ifindex)?;
    Ok(Iface {
        name: name.to_owned(),
        ifindex,
        ipv4: system::first_ipv4(&addresses),
        ipv6_global: system::first_ipv6(&addresses, system::is_beyond_link_unicast),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relay_link_address_is_global() {
        for (addr, global) in [
            ("2001:db8::1", true),
            ("fd00::1", true),
            ("fe80::1", false),
            ("febf::1", false),
            ("ff02::1:2", false),
            ("::1", false),
            ("::", false),
        ] {
            let addr: Ipv6Addr = addr.parse().unwrap();
            assert_eq!(system::is_beyond_link_unicast(&addr), global, "{addr}");
        }
    }
}
