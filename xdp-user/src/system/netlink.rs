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
    link::{
        InfoData, InfoKind, InfoVlan, LinkAttribute, LinkFlags, LinkInfo, LinkMessage, LinkXdp,
        XdpAttached,
    },
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
    /// IFLA_INFO_KIND "veth": its XDP_TX frames reach the peer only while the peer runs an
    /// XDP program (ARCHITECTURE.md, "Traps").
    pub veth: bool,
    /// IFLA_XDP: the XDP program attached to it, whoever attached it.
    pub xdp: Option<XdpProgram>,
}

/// An XDP program attached to a link, as IFLA_XDP reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct XdpProgram {
    /// The kernel's program id (`bpftool prog show id N`).
    pub id: u32,
    /// "native", "generic", "offload" or "multiple".
    pub mode: &'static str,
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
        veth: false,
        xdp: None,
    };
    for attribute in &message.attributes {
        match attribute {
            LinkAttribute::IfName(name) => link.name.clone_from(name),
            LinkAttribute::Address(bytes) => link.mac = <[u8; 6]>::try_from(&bytes[..]).ok(),
            LinkAttribute::Mtu(mtu) => link.mtu = *mtu,
            LinkAttribute::Link(parent) => link.parent = Some(*parent),
            LinkAttribute::LinkInfo(infos) => {
                link.vlan = vlan_of(infos);
                link.veth = infos
                    .iter()
                    .any(|i| matches!(i, LinkInfo::Kind(InfoKind::Veth)));
            }
            LinkAttribute::Xdp(xdp) => link.xdp = xdp_of(xdp),
            _ => {}
        }
    }
    (!link.name.is_empty()).then_some(link)
}

/// The program in IFLA_XDP, when one is attached.
fn xdp_of(attributes: &[LinkXdp]) -> Option<XdpProgram> {
    let mut mode = None;
    let mut id = None;
    for attribute in attributes {
        match attribute {
            LinkXdp::Attached(XdpAttached::Driver) => mode = Some("native"),
            LinkXdp::Attached(XdpAttached::SocketBuffer) => mode = Some("generic"),
            LinkXdp::Attached(XdpAttached::Hardware) => mode = Some("offload"),
            LinkXdp::Attached(XdpAttached::Multiple) => mode = Some("multiple"),
            LinkXdp::ProgId(prog) => id = Some(*prog),
            _ => {}
        }
    }
    Some(XdpProgram {
        id: id?,
        mode: mode?,
    })
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
        if decode_datagram(&datagram, dump, &mut answers)? {
            return Ok(answers);
        }
    }
}

/// Adds the answers in one datagram to `answers`; `true` once the request is answered
/// (NLMSG_DONE of a dump, an ACK, or the one answer of a plain request). An NLMSG_ERROR is
/// the errno it carries.
fn decode_datagram(
    datagram: &[u8],
    dump: bool,
    answers: &mut Vec<RouteNetlinkMessage>,
) -> io::Result<bool> {
    let mut offset = 0;
    while offset < datagram.len() {
        let answer = NetlinkMessage::<RouteNetlinkMessage>::deserialize(&datagram[offset..])
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?;
        let len = answer.header.length as usize;
        match answer.payload {
            NetlinkPayload::Done(_) => return Ok(true),
            NetlinkPayload::Error(e) => match e.code {
                Some(code) => return Err(io::Error::from_raw_os_error(-code.get())),
                None => return Ok(true),
            },
            NetlinkPayload::InnerMessage(inner) => {
                answers.push(inner);
                if !dump {
                    return Ok(true);
                }
            }
            _ => {}
        }
        if len == 0 {
            break;
        }
        offset += len.next_multiple_of(NLMSG_ALIGNTO);
    }
    Ok(false)
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

#[cfg(test)]
mod tests {
    use netlink_packet_core::{DoneMessage, ErrorMessage, NLM_F_MULTIPART};
    use netlink_packet_route::{
        address::AddressHeader,
        link::VlanProtocol,
        link::{LinkHeader, LinkLayerType},
        AddressFamily,
    };

    use super::*;

    fn vlan_link() -> LinkMessage {
        let mut message = LinkMessage::default();
        message.header = LinkHeader {
            index: 5,
            link_layer_type: LinkLayerType::Ether,
            flags: LinkFlags::Up,
            ..LinkHeader::default()
        };
        message.attributes = vec![
            LinkAttribute::IfName("eth0.100".into()),
            LinkAttribute::Address(vec![2, 0, 0, 0, 0, 1]),
            LinkAttribute::Mtu(1496),
            LinkAttribute::Link(2),
            LinkAttribute::LinkInfo(vec![
                LinkInfo::Kind(InfoKind::Vlan),
                LinkInfo::Data(InfoData::Vlan(vec![
                    InfoVlan::Id(100),
                    InfoVlan::Protocol(VlanProtocol::Ieee8021Ad),
                ])),
            ]),
        ];
        message
    }

    fn bytes(payload: NetlinkPayload<RouteNetlinkMessage>) -> Vec<u8> {
        let mut packet = NetlinkMessage::new(NetlinkHeader::default(), payload);
        packet.header.flags = NLM_F_MULTIPART;
        packet.finalize();
        let mut out = vec![0; packet.buffer_len()];
        packet.serialize(&mut out);
        // Messages in a datagram start at 4-octet boundaries.
        out.resize(out.len().next_multiple_of(NLMSG_ALIGNTO), 0);
        out
    }

    #[test]
    fn a_vlan_link_decodes_with_its_tag_protocol_and_parent() {
        let link = link_of(&vlan_link()).unwrap();
        assert_eq!(
            link,
            Link {
                index: 5,
                name: "eth0.100".into(),
                link_type: libc::ARPHRD_ETHER,
                mac: Some([2, 0, 0, 0, 0, 1]),
                mtu: 1496,
                up: true,
                parent: Some(2),
                vlan: Some(VlanTag {
                    id: 100,
                    protocol: xdp_common::wire::eth::ETHERTYPE_QINQ
                }),
                veth: false,
                xdp: None,
            }
        );
        let mut veth = vlan_link();
        veth.attributes
            .retain(|a| !matches!(a, LinkAttribute::LinkInfo(_)));
        assert_eq!(link_of(&veth).unwrap().vlan, None);
        veth.attributes
            .retain(|a| !matches!(a, LinkAttribute::IfName(_)));
        assert_eq!(link_of(&veth), None, "a link without a name");
    }

    #[test]
    fn a_veth_link_is_told_by_its_kind() {
        let mut link = vlan_link();
        link.attributes
            .retain(|a| !matches!(a, LinkAttribute::LinkInfo(_)));
        link.attributes
            .push(LinkAttribute::LinkInfo(vec![LinkInfo::Kind(
                InfoKind::Veth,
            )]));
        let decoded = link_of(&link).unwrap();
        assert!(decoded.veth);
        assert_eq!(decoded.vlan, None);
        assert!(!link_of(&vlan_link()).unwrap().veth, "a VLAN is no veth");
    }

    #[test]
    fn an_attached_xdp_program_decodes_with_its_id_and_mode() {
        let mut veth = vlan_link();
        veth.attributes.push(LinkAttribute::Xdp(vec![
            LinkXdp::Attached(XdpAttached::SocketBuffer),
            LinkXdp::ProgId(42),
        ]));
        assert_eq!(
            link_of(&veth).unwrap().xdp,
            Some(XdpProgram {
                id: 42,
                mode: "generic"
            })
        );
        veth.attributes.pop();
        veth.attributes
            .push(LinkAttribute::Xdp(vec![LinkXdp::Attached(
                XdpAttached::None,
            )]));
        assert_eq!(link_of(&veth).unwrap().xdp, None, "nothing attached");
    }

    #[test]
    fn an_address_prefers_ifa_local() {
        let mut message = AddressMessage::default();
        message.header = AddressHeader {
            family: AddressFamily::Inet,
            index: 3,
            ..AddressHeader::default()
        };
        message.attributes = vec![
            AddressAttribute::Address("198.18.0.2".parse().unwrap()),
            AddressAttribute::Local("198.18.0.1".parse().unwrap()),
        ];
        assert_eq!(
            address_of(&message),
            Some(Address {
                index: 3,
                address: "198.18.0.1".parse().unwrap()
            })
        );
        message.attributes.remove(1);
        assert_eq!(
            address_of(&message).unwrap().address,
            "198.18.0.2".parse::<IpAddr>().unwrap()
        );
    }

    #[test]
    fn a_dump_datagram_is_read_to_its_done_and_an_error_is_its_errno() {
        let link = || NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewLink(vlan_link()));
        let mut datagram = bytes(link());
        datagram.extend(bytes(link()));
        let mut answers = Vec::new();
        assert!(
            !decode_datagram(&datagram, true, &mut answers).unwrap(),
            "no DONE yet"
        );
        assert_eq!(answers.len(), 2);
        datagram.extend(bytes(NetlinkPayload::Done(DoneMessage::default())));
        answers.clear();
        assert!(decode_datagram(&datagram, true, &mut answers).unwrap());
        assert_eq!(answers.len(), 2);

        let mut error = ErrorMessage::default();
        error.code = std::num::NonZeroI32::new(-libc::ENODEV);
        let e =
            decode_datagram(&bytes(NetlinkPayload::Error(error)), false, &mut answers).unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::ENODEV));
    }
}
