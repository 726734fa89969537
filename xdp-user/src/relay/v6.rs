//! DHCPv6 relay agent rules on the bytes (RFC 8415 §19): a client's message wrapped in a
//! Relay-forward for the servers, a Relay-reply unwrapped for the client. Pure functions:
//! the sockets are in `relay.rs`.

use std::net::Ipv6Addr;

use xdp_common::wire::{
    dhcpv6::{
        self as v6, option, relay, CLIENT_MESSAGES, HOP_COUNT_LIMIT, MSG_RELAY_FORW,
        MSG_RELAY_REPL, OPT_INTERFACE_ID, OPT_RELAY_MSG, RELAY_HDR_LEN,
    },
    udp,
};

use super::Reject;

/// What fits one UDP datagram over IPv6 without a jumbogram.
const MAX_DATAGRAM: usize = u16::MAX as usize - udp::HDR_LEN;

/// Checks RFC 8415 §21.1 framing of an option area; calls `each` with code and data.
fn walk_options<'a>(
    mut rest: &'a [u8],
    mut each: impl FnMut(u16, &'a [u8]) -> Result<(), Reject>,
) -> Result<(), Reject> {
    while !rest.is_empty() {
        if rest.len() < v6::OPT_HDR_LEN {
            return Err(Reject::Malformed("option header cut short"));
        }
        let code = u16::from_be_bytes(rest[option::CODE].try_into().expect("2"));
        let len = usize::from(u16::from_be_bytes(
            rest[option::LENGTH].try_into().expect("2"),
        ));
        let data = rest
            .get(v6::OPT_HDR_LEN..v6::OPT_HDR_LEN + len)
            .ok_or(Reject::Malformed("option runs past the end"))?;
        each(code, data)?;
        rest = &rest[v6::OPT_HDR_LEN + len..];
    }
    Ok(())
}

fn push_option(out: &mut Vec<u8>, code: u16, data: &[u8]) {
    out.extend(code.to_be_bytes());
    out.extend(
        u16::try_from(data.len())
            .expect("checked by the caller")
            .to_be_bytes(),
    );
    out.extend(data);
}

/// The Relay-forward that carries `msg`, received from `peer` (its source address) on the
/// interface named `interface_id`, whose global address is `link` (unspecified when it has
/// none).
///
/// RFC 8415 §19.1.1/§19.1.2: from a client, hop-count 0; from another relay (a Relay-forward),
/// its hop-count + 1, discarded at HOP_COUNT_LIMIT. link-address lets the server pick the
/// client's subnet; with none (0), Interface-Id is how the reply finds the link, and it is
/// always sent because this relay finds the interface by it (§19.3).
pub fn relay_forward(
    msg: &[u8],
    link: Ipv6Addr,
    peer: Ipv6Addr,
    interface_id: &[u8],
) -> Result<Vec<u8>, Reject> {
    let Some(&msg_type) = msg.first() else {
        return Err(Reject::Malformed("empty message"));
    };
    let hop_count = if msg_type == MSG_RELAY_FORW {
        if msg.len() < RELAY_HDR_LEN {
            return Err(Reject::Malformed("Relay-forward shorter than its header"));
        }
        let hops = msg[relay::HOP_COUNT];
        if hops >= HOP_COUNT_LIMIT {
            return Err(Reject::Policy(
                "hop-count at HOP_COUNT_LIMIT (RFC 8415 §19.1.1)",
            ));
        }
        walk_options(&msg[relay::OPTIONS], |_, _| Ok(()))?;
        hops + 1
    } else if CLIENT_MESSAGES.contains(&msg_type) {
        // Server messages (ADVERTISE, REPLY, RECONFIGURE, ...) from the client side are not
        // wrapped.
        if msg.len() < v6::HDR_LEN {
            return Err(Reject::Malformed("shorter than msg-type + transaction-id"));
        }
        walk_options(&msg[v6::field::OPTIONS], |_, _| Ok(()))?;
        0
    } else {
        return Err(Reject::Policy(
            "not a message a client or relay sends to servers",
        ));
    };
    let len = RELAY_HDR_LEN + 2 * v6::OPT_HDR_LEN + interface_id.len() + msg.len();
    if len > MAX_DATAGRAM || interface_id.len() > usize::from(u16::MAX) {
        return Err(Reject::Policy(
            "the Relay-forward would not fit a UDP datagram",
        ));
    }
    let mut out = Vec::with_capacity(len);
    out.extend([MSG_RELAY_FORW, hop_count]);
    out.extend(link.octets());
    out.extend(peer.octets());
    push_option(&mut out, OPT_INTERFACE_ID, interface_id);
    push_option(&mut out, OPT_RELAY_MSG, msg);
    Ok(out)
}

/// A decoded Relay-reply: what to send, to whom, on which link.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RelayReply<'a> {
    pub link: Ipv6Addr,
    pub peer: Ipv6Addr,
    pub interface_id: Option<&'a [u8]>,
    /// The Relay Message option's data: the message for the peer.
    pub message: &'a [u8],
}

impl RelayReply<'_> {
    /// RFC 8415 §19.2: a Relay-reply inside goes to the next relay's port 547, anything
    /// else to the client's 546.
    pub fn port(&self) -> u16 {
        if self.message[v6::field::MSG_TYPE] == MSG_RELAY_REPL {
            v6::SERVER_PORT
        } else {
            v6::CLIENT_PORT
        }
    }
}

/// Reads a Relay-reply (RFC 8415 §9): exactly one Relay Message option, an Interface-Id if
/// the server echoed one (§21.18: it must), a peer-address a message can be sent to.
pub fn relay_reply(bytes: &[u8]) -> Result<RelayReply<'_>, Reject> {
    if bytes.first() != Some(&MSG_RELAY_REPL) {
        return Err(Reject::Policy("not a Relay-reply"));
    }
    if bytes.len() < RELAY_HDR_LEN {
        return Err(Reject::Malformed("Relay-reply shorter than its header"));
    }
    let address = |field| Ipv6Addr::from(<[u8; 16]>::try_from(&bytes[field]).expect("16"));
    let link = address(relay::LINK_ADDRESS);
    let peer = address(relay::PEER_ADDRESS);
    let mut message = None;
    let mut interface_id = None;
    walk_options(&bytes[relay::OPTIONS], |code, data| {
        match code {
            OPT_RELAY_MSG if message.is_some() => {
                return Err(Reject::Malformed("two Relay Message options"))
            }
            OPT_RELAY_MSG => message = Some(data),
            OPT_INTERFACE_ID if interface_id.is_none() => interface_id = Some(data),
            _ => {}
        }
        Ok(())
    })?;
    let message = message.ok_or(Reject::Malformed("no Relay Message option"))?;
    let min = if message.first() == Some(&MSG_RELAY_REPL) {
        RELAY_HDR_LEN
    } else {
        v6::HDR_LEN
    };
    if message.len() < min {
        return Err(Reject::Malformed("the relayed message is cut short"));
    }
    if peer.is_unspecified() || peer.is_multicast() || peer.is_loopback() {
        return Err(Reject::Malformed("peer-address is not a unicast address"));
    }
    Ok(RelayReply {
        link,
        peer,
        interface_id,
        message,
    })
}

#[cfg(test)]
mod tests {
    use dhcproto::{
        v6::{self as d6, DhcpOption, MessageType},
        Decodable, Decoder, Encodable, Encoder,
    };

    use super::*;

    const LINK: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 7, 0, 0, 0, 0, 1);
    const PEER: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 2);
    const IFACE: &[u8] = b"eth0";

    fn solicit() -> d6::Message {
        let mut msg = d6::Message::new_with_id(MessageType::Solicit, [1, 2, 3]);
        let duid = [0, 3, 0, 1, 2, 0, 0, 0, 0, 0x0c];
        msg.opts_mut().insert(DhcpOption::ClientId(duid.to_vec()));
        msg.opts_mut().insert(DhcpOption::ElapsedTime(0));
        msg.opts_mut().insert(DhcpOption::IANA(d6::IANA {
            id: 1,
            t1: 0,
            t2: 0,
            opts: d6::DhcpOptions::new(),
        }));
        msg
    }

    /// Walks a relay message's options with dhcproto's own decoder (dhcproto reads option
    /// 9 as if it always held a relay message, so the option data is taken raw).
    fn relay_options(bytes: &[u8]) -> Vec<(u16, Vec<u8>)> {
        let mut d = Decoder::new(&bytes[RELAY_HDR_LEN..]);
        let mut out = Vec::new();
        while let Ok(code) = d.read_u16() {
            let len = d.read_u16().unwrap();
            out.push((code, d.read_slice(len.into()).unwrap().to_vec()));
        }
        out
    }

    /// dhcproto reads our Relay-forward: type 12, hop-count 0, link and peer as given, and
    /// the options Interface-Id and a Relay Message holding the client's message unchanged.
    #[test]
    fn relay_forward_wraps_a_client_message() {
        let inner = solicit().to_vec().unwrap();
        let out = relay_forward(&inner, LINK, PEER, IFACE).unwrap();
        let relay = d6::RelayMessage::decode(&mut Decoder::new(&out)).unwrap();
        assert_eq!(relay.msg_type(), MessageType::RelayForw);
        assert_eq!(relay.hop_count(), 0);
        assert_eq!(relay.link_addr(), LINK);
        assert_eq!(relay.peer_addr(), PEER);
        assert!(relay
            .opts()
            .iter()
            .any(|o| *o == DhcpOption::InterfaceId(IFACE.to_vec())));
        let options = relay_options(&out);
        assert_eq!(
            options.iter().map(|(c, _)| *c).collect::<Vec<_>>(),
            [OPT_INTERFACE_ID, OPT_RELAY_MSG]
        );
        let relayed = d6::Message::decode(&mut Decoder::new(&options[1].1)).unwrap();
        assert_eq!(relayed, solicit());
        assert_eq!(options[1].1, inner);

        // No global address on the link: link-address 0, Interface-Id does the work.
        let out = relay_forward(&inner, Ipv6Addr::UNSPECIFIED, PEER, IFACE).unwrap();
        let relay = d6::RelayMessage::decode(&mut Decoder::new(&out)).unwrap();
        assert_eq!(relay.link_addr(), Ipv6Addr::UNSPECIFIED);
    }

    /// A Relay-forward from a relay below: wrapped again with its hop-count + 1; dhcproto
    /// reads both layers.
    #[test]
    fn relay_forward_nests_and_stops_at_the_hop_limit() {
        let inner = relay_forward(&solicit().to_vec().unwrap(), LINK, PEER, b"down0").unwrap();
        let mut lower = inner.clone();
        lower[relay::HOP_COUNT] = 3;
        let peer = Ipv6Addr::new(0x2001, 0xdb8, 7, 0, 0, 0, 0, 9);
        let out = relay_forward(&lower, LINK, peer, IFACE).unwrap();
        let relay = d6::RelayMessage::decode(&mut Decoder::new(&out)).unwrap();
        assert_eq!((relay.hop_count(), relay.peer_addr()), (4, peer));
        let nested = relay
            .opts()
            .iter()
            .find_map(|o| match o {
                DhcpOption::RelayMsg(m) => Some(m.clone()),
                _ => None,
            })
            .expect("the lower Relay-forward");
        assert_eq!(nested.msg_type(), MessageType::RelayForw);
        assert_eq!(nested.hop_count(), 3);
        assert!(nested
            .opts()
            .iter()
            .any(|o| *o == DhcpOption::InterfaceId(b"down0".to_vec())));

        lower[relay::HOP_COUNT] = HOP_COUNT_LIMIT - 1;
        assert!(relay_forward(&lower, LINK, peer, IFACE).is_ok());
        lower[relay::HOP_COUNT] = HOP_COUNT_LIMIT;
        assert!(matches!(
            relay_forward(&lower, LINK, peer, IFACE),
            Err(Reject::Policy(why)) if why.contains("HOP_COUNT_LIMIT")
        ));
    }

    #[test]
    fn relay_forward_refuses_server_messages_and_bad_framing() {
        let mut advertise = solicit();
        advertise.set_msg_type(MessageType::Advertise);
        assert!(matches!(
            relay_forward(&advertise.to_vec().unwrap(), LINK, PEER, IFACE),
            Err(Reject::Policy(_))
        ));
        let reply = relay_reply_bytes(Some(IFACE), &advertise.to_vec().unwrap());
        assert!(matches!(
            relay_forward(&reply, LINK, PEER, IFACE),
            Err(Reject::Policy(_))
        ));
        let good = solicit().to_vec().unwrap();
        let malformed = |b: &[u8]| {
            matches!(
                relay_forward(b, LINK, PEER, IFACE),
                Err(Reject::Malformed(_))
            )
        };
        assert!(malformed(&[]));
        assert!(malformed(&good[..3]));
        assert!(malformed(&good[..good.len() - 1]), "last option cut");
        assert!(malformed(&[&good[..], &[0, 1, 0]].concat()), "3-octet tail");
        assert!(malformed(&[12, 0, 0]), "short Relay-forward");
        assert!(
            relay_forward(&good[..4], LINK, PEER, IFACE).is_ok(),
            "no options"
        );
    }

    /// A Relay-reply as a server sends it, built with dhcproto's encoder: header, then
    /// Interface-Id (when given), then the Relay Message.
    fn relay_reply_bytes(interface_id: Option<&[u8]>, inner: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut e = Encoder::new(&mut out);
        e.write_u8(MessageType::RelayRepl.into()).unwrap();
        e.write_u8(0).unwrap();
        e.write_slice(&LINK.octets()).unwrap();
        e.write_slice(&PEER.octets()).unwrap();
        if let Some(id) = interface_id {
            DhcpOption::InterfaceId(id.to_vec()).encode(&mut e).unwrap();
        }
        e.write_u16(OPT_RELAY_MSG).unwrap();
        e.write_u16(inner.len() as u16).unwrap();
        e.write_slice(inner).unwrap();
        out
    }

    fn advertise() -> d6::Message {
        let mut msg = d6::Message::new_with_id(MessageType::Advertise, [1, 2, 3]);
        msg.opts_mut()
            .insert(DhcpOption::ServerId(vec![0, 3, 0, 1, 2, 0, 0, 0, 0, 1]));
        msg.opts_mut()
            .insert(DhcpOption::ClientId(vec![0, 3, 0, 1, 2, 0, 0, 0, 0, 0x0c]));
        msg
    }

    #[test]
    fn relay_reply_yields_the_message_its_peer_and_interface() {
        let inner = advertise().to_vec().unwrap();
        let bytes = relay_reply_bytes(Some(IFACE), &inner);
        let reply = relay_reply(&bytes).unwrap();
        assert_eq!(reply.link, LINK);
        assert_eq!(reply.peer, PEER);
        assert_eq!(reply.interface_id, Some(IFACE));
        assert_eq!(reply.message, &inner[..]);
        assert_eq!(reply.port(), v6::CLIENT_PORT);
        assert_eq!(
            d6::Message::decode(&mut Decoder::new(reply.message)).unwrap(),
            advertise()
        );
        // No Interface-Id at all.
        let bare = relay_reply_bytes(None, &inner);
        let reply = relay_reply(&bare).unwrap();
        assert_eq!((reply.interface_id, reply.message), (None, &inner[..]));

        // A Relay-reply inside goes to the next relay's port.
        let nested = relay_reply_bytes(Some(b"down0"), &inner);
        let outer = relay_reply_bytes(Some(IFACE), &nested);
        let reply = relay_reply(&outer).unwrap();
        assert_eq!(reply.message, &nested[..]);
        assert_eq!(reply.port(), v6::SERVER_PORT);
    }

    /// Our Relay-forward, answered the way a server does (same header, type 13), unwraps to
    /// the server's message for the same peer and interface.
    #[test]
    fn forward_and_reply_round_trip() {
        let fwd = relay_forward(&solicit().to_vec().unwrap(), LINK, PEER, IFACE).unwrap();
        let inner = advertise().to_vec().unwrap();
        let mut reply = fwd[..RELAY_HDR_LEN].to_vec();
        reply[relay::MSG_TYPE] = MSG_RELAY_REPL;
        push_option(&mut reply, OPT_INTERFACE_ID, IFACE);
        push_option(&mut reply, OPT_RELAY_MSG, &inner);
        let got = relay_reply(&reply).unwrap();
        assert_eq!(
            (got.peer, got.link, got.interface_id),
            (PEER, LINK, Some(IFACE))
        );
        assert_eq!(got.message, &inner[..]);
    }

    #[test]
    fn broken_relay_replies_are_malformed() {
        let inner = advertise().to_vec().unwrap();
        let good = relay_reply_bytes(Some(IFACE), &inner);
        let malformed = |b: &[u8]| matches!(relay_reply(b), Err(Reject::Malformed(_)));
        assert!(malformed(&good[..RELAY_HDR_LEN - 1]));
        assert!(malformed(&good[..good.len() - 1]));
        assert!(malformed(&good[..RELAY_HDR_LEN]), "no Relay Message");
        assert!(malformed(&relay_reply_bytes(Some(IFACE), &inner[..3])));
        let mut twice = good.clone();
        push_option(&mut twice, OPT_RELAY_MSG, &inner);
        assert!(malformed(&twice));
        let mut multicast_peer = good.clone();
        multicast_peer[relay::PEER_ADDRESS]
            .copy_from_slice(&"ff02::1:2".parse::<Ipv6Addr>().unwrap().octets());
        assert!(malformed(&multicast_peer));
        let mut zero_peer = good;
        zero_peer[relay::PEER_ADDRESS].fill(0);
        assert!(malformed(&zero_peer));
        assert!(matches!(relay_reply(&inner), Err(Reject::Policy(_))));
    }
}
