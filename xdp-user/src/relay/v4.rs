//! DHCPv4 relay agent rules on the bytes (RFC 1542 §4, RFC 2131 §4.1): a BOOTREQUEST on its
//! way to the servers, a BOOTREPLY on its way back. Pure functions: the sockets are in
//! `relay.rs`.

use std::net::Ipv4Addr;

use xdp_common::wire::{
    dhcpv4::{self as v4, field, FLAG_BROADCAST, MAX_HLEN, MAX_HOPS},
    Field,
};

use super::Reject;

/// BOOTREQUEST or BOOTREPLY.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Request,
    Reply,
}

/// The fields of a BOOTP/DHCP message a relay looks at, read from a message whose framing
/// (fixed header, option lengths) was checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bootp {
    pub op: Op,
    pub hops: u8,
    pub xid: u32,
    pub flags: u16,
    pub ciaddr: Ipv4Addr,
    pub yiaddr: Ipv4Addr,
    pub giaddr: Ipv4Addr,
    /// Option 53, when the message is DHCP (magic cookie) and has one.
    pub message_type: Option<u8>,
    /// Option 82 is present.
    pub relay_agent_info: bool,
}

fn addr(bytes: &[u8], field: Field) -> Ipv4Addr {
    Ipv4Addr::from(<[u8; 4]>::try_from(&bytes[field]).expect("4"))
}

impl Bootp {
    /// Reads `bytes` as a BOOTP message; a message that is not one is `Malformed`.
    pub fn parse(bytes: &[u8]) -> Result<Bootp, Reject> {
        if bytes.len() < field::MAGIC_COOKIE.start {
            return Err(Reject::Malformed("shorter than the 236-octet BOOTP header"));
        }
        let op = match bytes[field::OP] {
            v4::OP_BOOTREQUEST => Op::Request,
            v4::OP_BOOTREPLY => Op::Reply,
            _ => return Err(Reject::Malformed("op is neither BOOTREQUEST nor BOOTREPLY")),
        };
        if bytes[field::HLEN] > MAX_HLEN {
            return Err(Reject::Malformed("hlen above 16"));
        }
        let mut msg = Bootp {
            op,
            hops: bytes[field::HOPS],
            xid: u32::from_be_bytes(bytes[field::XID].try_into().expect("4")),
            flags: u16::from_be_bytes(bytes[field::FLAGS].try_into().expect("2")),
            ciaddr: addr(bytes, field::CIADDR),
            yiaddr: addr(bytes, field::YIADDR),
            giaddr: addr(bytes, field::GIADDR),
            message_type: None,
            relay_agent_info: false,
        };
        // Plain BOOTP (RFC 951) has no cookie, and its vend field is not ours to check.
        if bytes.len() >= field::OPTIONS.start && bytes[field::MAGIC_COOKIE] == v4::MAGIC_COOKIE {
            msg.read_options(&bytes[field::OPTIONS])?;
        }
        Ok(msg)
    }

    /// RFC 2132 §2 framing: Pad and End have no length; every other option's length must
    /// fit. Overloaded sname/file (option 52) are not walked: a relay only needs 53 and 82,
    /// which senders put in the options field.
    fn read_options(&mut self, mut rest: &[u8]) -> Result<(), Reject> {
        while let Some((&code, after)) = rest.split_first() {
            match code {
                v4::OPT_PAD => rest = after,
                v4::OPT_END => return Ok(()),
                _ => {
                    let Some((&len, after)) = after.split_first() else {
                        return Err(Reject::Malformed("option without a length octet"));
                    };
                    let len = usize::from(len);
                    if after.len() < len {
                        return Err(Reject::Malformed("option runs past the end"));
                    }
                    match code {
                        v4::OPT_MESSAGE_TYPE if len == 1 => self.message_type = Some(after[0]),
                        v4::OPT_MESSAGE_TYPE => {
                            return Err(Reject::Malformed("option 53 is not 1 octet"))
                        }
                        v4::OPT_RELAY_AGENT_INFO => self.relay_agent_info = true,
                        _ => {}
                    }
                    rest = &after[len..];
                }
            }
        }
        // No End option: tolerated (the rest was padding or nothing), as servers do.
        Ok(())
    }
}

/// The BOOTREQUEST `bytes`, received on the interface with address `iface`, as it goes to
/// the servers: hops + 1, giaddr set to `iface` when zero.
pub fn relay_request(bytes: &[u8], iface: Ipv4Addr) -> Result<(Bootp, Vec<u8>), Reject> {
    let msg = Bootp::parse(bytes)?;
    if msg.op != Op::Request {
        return Err(Reject::Policy("not a BOOTREQUEST"));
    }
    // RFC 1542 §4.1.1: discard when hops exceeds the limit.
    if msg.hops > MAX_HOPS {
        return Err(Reject::Policy("hops above 16 (RFC 1542 §4.1.1)"));
    }
    // RFC 3046 §2.1: option 82 with giaddr 0 comes from a client, not a relay, on a circuit
    // we do not trust: a relay must not let a client forge its circuit/remote id.
    if msg.giaddr.is_unspecified() && msg.relay_agent_info {
        return Err(Reject::Policy(
            "option 82 from a client (giaddr 0; RFC 3046 §2.1)",
        ));
    }
    // Our own address in giaddr on a request: it went round a loop.
    if msg.giaddr == iface {
        return Err(Reject::Policy(
            "giaddr is this interface's own address (a loop)",
        ));
    }
    let mut out = bytes.to_vec();
    out[field::HOPS] = msg.hops + 1;
    // RFC 1542 §4.1.1: fill giaddr when zero, never change one set by another relay.
    if msg.giaddr.is_unspecified() {
        out[field::GIADDR].copy_from_slice(&iface.octets());
    }
    Ok((msg, out))
}

/// Option 53's name, for logs.
pub fn message_name(message_type: Option<u8>) -> &'static str {
    match message_type {
        None => "BOOTP",
        Some(v4::MSG_DISCOVER) => "DHCPDISCOVER",
        Some(v4::MSG_OFFER) => "DHCPOFFER",
        Some(v4::MSG_REQUEST) => "DHCPREQUEST",
        Some(v4::MSG_DECLINE) => "DHCPDECLINE",
        Some(v4::MSG_ACK) => "DHCPACK",
        Some(v4::MSG_NAK) => "DHCPNAK",
        Some(v4::MSG_RELEASE) => "DHCPRELEASE",
        Some(v4::MSG_INFORM) => "DHCPINFORM",
        Some(_) => "DHCP (other type)",
    }
}

/// Where a BOOTREPLY goes on the client's link, UDP port 68.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Destination {
    /// 255.255.255.255, link-layer broadcast.
    Broadcast,
    /// The client's configured address (ciaddr), which it answers ARP for.
    Unicast(Ipv4Addr),
}

/// The BOOTREPLY `bytes`, sent by a server to the interface with address `iface` (checked:
/// giaddr must be it), and where it goes. The message goes on unchanged (RFC 1542 §4.1.2).
///
/// Unicast to yiaddr, which RFC 1542 §5.4 prefers when the broadcast bit is clear, needs an
/// ARP entry for an address the client does not have yet; a relay on a socket cannot send
/// to a MAC without one. So: DHCPNAK, the broadcast bit, or no ciaddr -> broadcast
/// (RFC 2131 §4.1 lets the reply be broadcast when unicast is not possible; every client
/// accepts it); ciaddr set -> unicast to ciaddr, a configured client that answers ARP.
pub fn relay_reply(bytes: &[u8], iface: Ipv4Addr) -> Result<(Bootp, Destination), Reject> {
    let msg = Bootp::parse(bytes)?;
    if msg.op != Op::Reply {
        return Err(Reject::Policy("not a BOOTREPLY"));
    }
    if msg.giaddr != iface {
        return Err(Reject::Policy("giaddr is not this interface's address"));
    }
    let to = if msg.message_type == Some(v4::MSG_NAK)
        || msg.flags & FLAG_BROADCAST != 0
        || msg.ciaddr.is_unspecified()
    {
        Destination::Broadcast
    } else {
        Destination::Unicast(msg.ciaddr)
    };
    Ok((msg, to))
}

#[cfg(test)]
mod tests {
    use dhcproto::{
        v4::{self as d4, DhcpOption, MessageType},
        Decodable, Encodable,
    };

    use super::*;

    const RELAY: Ipv4Addr = Ipv4Addr::new(198, 18, 7, 1);
    const OTHER_RELAY: Ipv4Addr = Ipv4Addr::new(198, 18, 9, 1);
    const MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x0c];

    fn message(op: d4::Opcode, kind: MessageType, giaddr: Ipv4Addr) -> d4::Message {
        let mut msg = d4::Message::new_with_id(
            0x1234_5678,
            Ipv4Addr::UNSPECIFIED,
            Ipv4Addr::UNSPECIFIED,
            Ipv4Addr::UNSPECIFIED,
            giaddr,
            &MAC,
        );
        msg.set_opcode(op);
        msg.opts_mut().insert(DhcpOption::MessageType(kind));
        msg.opts_mut()
            .insert(DhcpOption::ClientIdentifier([&[1u8][..], &MAC].concat()));
        msg.opts_mut().insert(DhcpOption::ParameterRequestList(vec![
            d4::OptionCode::SubnetMask,
            d4::OptionCode::Router,
        ]));
        msg
    }

    fn discover(giaddr: Ipv4Addr) -> d4::Message {
        message(d4::Opcode::BootRequest, MessageType::Discover, giaddr)
    }

    /// dhcproto reads the relayed request as the same message with hops + 1 and giaddr
    /// ours; nothing else moved.
    #[test]
    fn relay_request_sets_giaddr_and_counts_the_hop() {
        let original = discover(Ipv4Addr::UNSPECIFIED);
        let bytes = original.to_vec().unwrap();
        let (msg, out) = relay_request(&bytes, RELAY).unwrap();
        assert_eq!(msg.message_type, Some(1));
        assert_eq!(out.len(), bytes.len());
        let got = d4::Message::decode(&mut dhcproto::Decoder::new(&out)).unwrap();
        assert_eq!(got.giaddr(), RELAY);
        assert_eq!(got.hops(), 1);
        let mut expected = original.clone();
        expected.set_giaddr(RELAY).set_hops(1);
        assert_eq!(got, expected);
        // Only octet 3 (hops) and 24..28 (giaddr) differ.
        let changed: Vec<usize> = (0..out.len()).filter(|&i| out[i] != bytes[i]).collect();
        let hops_and_giaddr: Vec<usize> =
            std::iter::once(field::HOPS).chain(field::GIADDR).collect();
        assert_eq!(changed, hops_and_giaddr);
    }

    /// RFC 1542 §4.1.1: a giaddr set by an earlier relay stays; hops still counts.
    #[test]
    fn relay_request_keeps_another_relays_giaddr() {
        let mut original = discover(OTHER_RELAY);
        original.set_hops(3);
        let (_, out) = relay_request(&original.to_vec().unwrap(), RELAY).unwrap();
        let got = d4::Message::decode(&mut dhcproto::Decoder::new(&out)).unwrap();
        assert_eq!((got.giaddr(), got.hops()), (OTHER_RELAY, 4));
    }

    #[test]
    fn relay_request_drops_at_the_hop_limit_loops_and_forged_option_82() {
        let mut msg = discover(OTHER_RELAY);
        msg.set_hops(MAX_HOPS);
        let (_, out) = relay_request(&msg.to_vec().unwrap(), RELAY).unwrap();
        assert_eq!(out[field::HOPS], MAX_HOPS + 1);
        msg.set_hops(MAX_HOPS + 1);
        assert!(matches!(
            relay_request(&msg.to_vec().unwrap(), RELAY),
            Err(Reject::Policy(why)) if why.contains("hops")
        ));

        assert!(matches!(
            relay_request(&discover(RELAY).to_vec().unwrap(), RELAY),
            Err(Reject::Policy(why)) if why.contains("loop")
        ));

        let mut forged = discover(Ipv4Addr::UNSPECIFIED);
        let mut info = d4::relay::RelayAgentInformation::default();
        info.insert(d4::relay::RelayInfo::AgentCircuitId(b"port1".to_vec()));
        forged
            .opts_mut()
            .insert(DhcpOption::RelayAgentInformation(info.clone()));
        assert!(matches!(
            relay_request(&forged.to_vec().unwrap(), RELAY),
            Err(Reject::Policy(why)) if why.contains("82")
        ));
        // From another relay (giaddr set), option 82 is that relay's: forwarded.
        let mut relayed = discover(OTHER_RELAY);
        relayed
            .opts_mut()
            .insert(DhcpOption::RelayAgentInformation(info));
        assert!(relay_request(&relayed.to_vec().unwrap(), RELAY).is_ok());
    }

    #[test]
    fn malformed_requests_are_refused() {
        let bytes = discover(Ipv4Addr::UNSPECIFIED).to_vec().unwrap();
        let malformed = |b: &[u8]| matches!(relay_request(b, RELAY), Err(Reject::Malformed(_)));
        assert!(malformed(&bytes[..235]));
        assert!(malformed(&[]));
        let mut bad_op = bytes.clone();
        bad_op[field::OP] = 3;
        assert!(malformed(&bad_op));
        let mut bad_hlen = bytes.clone();
        bad_hlen[field::HLEN] = MAX_HLEN + 1;
        assert!(malformed(&bad_hlen));
        // The last option's length runs past the end.
        let mut overrun = bytes[..field::OPTIONS.start].to_vec();
        overrun.extend([53, 1, 1, 61, 7, 1, 2]);
        assert!(malformed(&overrun));
        let mut no_len = bytes[..field::OPTIONS.start].to_vec();
        no_len.extend([53, 1, 1, 61]);
        assert!(malformed(&no_len));
        // Plain BOOTP, no cookie: relayed as it is.
        let mut bootp = bytes[..field::MAGIC_COOKIE.start].to_vec();
        bootp.resize(300, 0);
        assert!(relay_request(&bootp, RELAY).is_ok());
        // Options without End: tolerated.
        let mut no_end = bytes[..field::OPTIONS.start].to_vec();
        no_end.extend([53, 1, 1]);
        assert!(relay_request(&no_end, RELAY).is_ok());
    }

    fn offer(giaddr: Ipv4Addr) -> d4::Message {
        let mut msg = message(d4::Opcode::BootReply, MessageType::Offer, giaddr);
        msg.set_yiaddr(Ipv4Addr::new(198, 18, 7, 100));
        msg
    }

    #[test]
    fn replies_go_to_ciaddr_or_broadcast() {
        let (msg, to) = relay_reply(&offer(RELAY).to_vec().unwrap(), RELAY).unwrap();
        assert_eq!(msg.yiaddr, Ipv4Addr::new(198, 18, 7, 100));
        assert_eq!(to, Destination::Broadcast, "no ARP entry for yiaddr");

        let ciaddr = Ipv4Addr::new(198, 18, 7, 2);
        let mut ack = message(d4::Opcode::BootReply, MessageType::Ack, RELAY);
        ack.set_ciaddr(ciaddr);
        let (_, to) = relay_reply(&ack.to_vec().unwrap(), RELAY).unwrap();
        assert_eq!(to, Destination::Unicast(ciaddr));

        ack.set_flags(d4::Flags::default().set_broadcast());
        let (_, to) = relay_reply(&ack.to_vec().unwrap(), RELAY).unwrap();
        assert_eq!(to, Destination::Broadcast, "the client asked for broadcast");

        let mut nak = message(d4::Opcode::BootReply, MessageType::Nak, RELAY);
        nak.set_ciaddr(ciaddr);
        let (_, to) = relay_reply(&nak.to_vec().unwrap(), RELAY).unwrap();
        assert_eq!(to, Destination::Broadcast, "DHCPNAK");
    }

    #[test]
    fn replies_for_someone_else_are_refused() {
        assert!(matches!(
            relay_reply(&offer(OTHER_RELAY).to_vec().unwrap(), RELAY),
            Err(Reject::Policy(why)) if why.contains("giaddr")
        ));
        assert!(matches!(
            relay_reply(&discover(RELAY).to_vec().unwrap(), RELAY),
            Err(Reject::Policy(_))
        ));
        assert!(matches!(
            relay_request(&offer(RELAY).to_vec().unwrap(), RELAY),
            Err(Reject::Policy(_))
        ));
    }
}
