//! Route-netlink queries on a plain blocking socket: links (index, name, MAC, MTU, link type,
//! up/down, VLAN tag and parent) and addresses. Blocking on purpose: the callers are both
//! plain (`check`, `probe`, tests) and inside the tokio runtime (`run`, a reload), and a
//! dump of this namespace's links is answered at once, like the getifaddrs it replaced
//! (itself a netlink dump); the receive timeout only bounds a kernel that never answers.
//! The decoders ([`link_of`], [`address_of`]) are shared with the event watch (`watch.rs`).

use std::{io, net::IpAddr, os::fd::AsRawFd as _, time::Duration};

use netlink_packet_core::{
    NetlinkHeader, NetlinkMessage, NetlinkPayload, NLM_F_DUMP, NLM_F_REQUEST,
};
use netlink_packet_route::{
    address::{AddressAttribute, AddressMessage},
    link::{InfoData, InfoKind, InfoVlan, LinkAttribute, LinkFlags, LinkInfo, LinkMessage},
    RouteNetlinkMessage,
};
use netlink_sys::{protocols::NETLINK_ROUTE, Socket, SocketAddr};

/// Bounds one answer from the kernel (it answers in microseconds).
const RECV_TIMEOUT: Duration = Duration::from_secs(2);
/// Netlink messages in one datagram start at 4-octet boundaries (NLMSG_ALIGN).
const NLMSG_ALIGNTO: usize = 4;

/// An 802.1Q / 802.1ad VLAN interface's tag (IFLA_INFO_DATA of kind "vlan").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VlanTag {
    /// IFLA_VLAN_ID.
    pub id: u16,
    /// IFLA_VLAN_PROTOCOL: the TPID, 0x8100 (802.1Q) or 0x88a8 (802.1ad).
    pub protocol: u16,
}

/// One link as RTM_NEWLINK describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Link {
    pub index: u32,
    pub name: String,
    /// ARPHRD_* (ifinfomsg.ifi_type).
    pub link_type: u16,
    /// IFLA_ADDRESS, when it is a 6-octet MAC.
    pub mac: Option<[u8; 6]>,
    pub mtu: u32,
    /// IFF_UP: administratively up.
    pub up: bool,
    /// IFLA_LINK: the interface this one is stacked on (a VLAN's parent).
    pub parent: Option<u32>,
    pub vlan: Option<VlanTag>,
}

/// One address as RTM_NEWADDR describes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Address {
    pub index: u32,
    pub address: IpAddr,
}

/// The link of an RTM_NEWLINK / RTM_DELLINK message; `None` without a name.
pub fn link_of(message: &LinkMessage) -> Option<Link> {
    let mut link = Link {
        index: message.header.index,
        name: String::new(),
        link_type: message.header.link_layer_type.into(),
        mac: None,
        mtu: 0,
        up: message.header.flags.contains(LinkFlags::Up),
        parent: None,
        vlan: None,
    };
    for attribute in &message.attributes {
        match attribute {
            LinkAttribute::IfName(name) => link.name.clone_from(name),
            LinkAttribute::Address(bytes) => link.mac = <[u8; 6]>::try_from(&bytes[..]).ok(),
            LinkAttribute::Mtu(mtu) => link.mtu = *mtu,
            LinkAttribute::Link(parent) => link.parent = Some(*parent),
            LinkAttribute::LinkInfo(infos) => link.vlan = vlan_of(infos),
            _ => {}
        }
    }
    (!link.name.is_empty()).then_some(link)
}

/// The VLAN tag in IFLA_LINKINFO, when its kind is "vlan".
fn vlan_of(infos: &[LinkInfo]) -> Option<VlanTag> {
    if !infos
        .iter()
        .any(|i| matches!(i, LinkInfo::Kind(InfoKind::Vlan)))
    {
        return None;
    }
    let data = infos.iter().find_map(|i| match i {
        LinkInfo::Data(InfoData::Vlan(data)) => Some(data),
        _ => None,
    })?;
    let id = data.iter().find_map(|d| match d {
        InfoVlan::Id(id) => Some(*id),
        _ => None,
    })?;
    let protocol = data
        .iter()
        .find_map(|d| match d {
            InfoVlan::Protocol(p) => Some(u16::from(*p)),
            _ => None,
        })
        .unwrap_or(xdp_common::wire::eth::ETHERTYPE_VLAN);
    Some(VlanTag { id, protocol })
}

/// The address of an RTM_NEWADDR / RTM_DELADDR message: IFA_LOCAL where given (the local
/// end of a point-to-point IPv4 link), else IFA_ADDRESS, as getifaddrs reports it.
pub fn address_of(message: &AddressMessage) -> Option<Address> {
    let find = |local: bool| {
        message.attributes.iter().find_map(|a| match a {
            AddressAttribute::Local(ip) if local => Some(*ip),
            AddressAttribute::Address(ip) if !local => Some(*ip),
            _ => None,
        })
    };
    Some(Address {
        index: message.header.index,
        address: find(true).or_else(|| find(false))?,
    })
}

/// Every link of this network namespace (RTM_GETLINK dump).
pub fn links() -> io::Result<Vec<Link>> {
    let answers = request(RouteNetlinkMessage::GetLink(LinkMessage::default()), true)?;
    Ok(answers
        .iter()
        .filter_map(|m| match m {
            RouteNetlinkMessage::NewLink(l) => link_of(l),
            _ => None,
        })
        .collect())
}

/// The link named `name`, `None` when there is none (RTM_GETLINK by IFLA_IFNAME).
pub fn link(name: &str) -> io::Result<Option<Link>> {
    let mut query = LinkMessage::default();
    query
        .attributes
        .push(LinkAttribute::IfName(name.to_string()));
    match request(RouteNetlinkMessage::GetLink(query), false) {
        Ok(answers) => Ok(answers.iter().find_map(|m| match m {
            RouteNetlinkMessage::NewLink(l) => link_of(l).filter(|l| l.name == name),
            _ => None,
        })),
        Err(e) if e.raw_os_error() == Some(libc::ENODEV) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Every address of this network namespace, IPv4 before IPv6 (RTM_GETADDR dump).
pub fn addresses() -> io::Result<Vec<Address>> {
    let answers = request(
        RouteNetlinkMessage::GetAddress(AddressMessage::default()),
        true,
    )?;
    Ok(answers
        .iter()
        .filter_map(|m| match m {
            RouteNetlinkMessage::NewAddress(a) => address_of(a),
            _ => None,
        })
        .collect())
}

/// Sends one request and collects its answers: all parts of a dump, or the one answer.
fn request(message: RouteNetlinkMessage, dump: bool) -> io::Result<Vec<RouteNetlinkMessage>> {
    let mut socket = Socket::new(NETLINK_ROUTE)?;
    socket.bind_auto()?;
    socket.connect(&SocketAddr::new(0, 0))?;
    set_recv_timeout(&socket, RECV_TIMEOUT)?;
    let mut packet = NetlinkMessage::new(NetlinkHeader::default(), NetlinkPayload::from(message));
    packet.header.flags = NLM_F_REQUEST | if dump { NLM_F_DUMP } else { 0 };
    packet.header.sequence_number = 1;
    packet.finalize();
    let mut bytes = vec![0; packet.buffer_len()];
    packet.serialize(&mut bytes);
    socket.send(&bytes, 0)?;
    let mut answers = Vec::new();
    loop {
        let (datagram, _) = socket.recv_from_full()?;
        if datagram.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "netlink socket closed before the answer",
            ));
        }
        let mut offset = 0;
        while offset < datagram.len() {
            let answer = NetlinkMessage::<RouteNetlinkMessage>::deserialize(&datagram[offset..])
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?;
            let len = answer.header.length as usize;
            match answer.payload {
                NetlinkPayload::Done(_) => return Ok(answers),
                NetlinkPayload::Error(e) => match e.code {
                    Some(code) => return Err(io::Error::from_raw_os_error(-code.get())),
                    None => return Ok(answers),
                },
                NetlinkPayload::InnerMessage(inner) => {
                    answers.push(inner);
                    if !dump {
                        return Ok(answers);
                    }
                }
                _ => {}
            }
            if len == 0 {
                break;
            }
            offset += len.next_multiple_of(NLMSG_ALIGNTO);
        }
    }
}

fn set_recv_timeout(socket: &Socket, timeout: Duration) -> io::Result<()> {
    let tv = libc::timeval {
        tv_sec: timeout.as_secs() as libc::time_t,
        tv_usec: libc::suseconds_t::from(timeout.subsec_micros()),
    };
    // SAFETY: setsockopt with a timeval of its size.
    let rc = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVTIMEO,
            (&tv as *const libc::timeval).cast(),
            std::mem::size_of::<libc::timeval>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}
