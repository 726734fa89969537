//! The wire vocabulary (../shared/docs/protocol.md): header layouts as `field` ranges (the
//! smoltcp `wire` model: no code indexes a header with a bare number), ports, message types,
//! option codes and status codes, the head every DHCPACK of ours opens with, and the size
//! rules of a reply. Both sides and every tool take them from here.

/// The octets of a multi-octet header field.
pub type Field = core::ops::Range<usize>;
/// A header's variable part: from its offset to the end.
pub type Rest = core::ops::RangeFrom<usize>;

/// Ethernet II (IEEE 802.3) and 802.1Q / 802.1ad tags.
pub mod eth {
    pub mod field {
        use crate::wire::Field;
        pub const DESTINATION: Field = 0..6;
        pub const SOURCE: Field = 6..12;
        pub const ETHERTYPE: Field = 12..14;
    }
    /// One VLAN tag as it stands after the addresses: its TPID, then the TCI.
    pub mod tag {
        use crate::wire::Field;
        pub const TPID: Field = 0..2;
        pub const TCI: Field = 2..4;
    }

    pub const HDR_LEN: usize = field::ETHERTYPE.end;
    pub const ETHERTYPE_IPV4: u16 = 0x0800;
    pub const ETHERTYPE_IPV6: u16 = 0x86DD;
    pub const ETHERTYPE_VLAN: u16 = 0x8100;
    pub const ETHERTYPE_QINQ: u16 = 0x88A8;
    pub const VLAN_TAG_LEN: usize = tag::TCI.end;
    /// Tags the fast path looks through; a frame with more is passed.
    pub const MAX_VLAN_TAGS: usize = 2;
    pub const VLAN_ID_MASK: u16 = 0x0FFF;
    pub const BROADCAST: [u8; 6] = [0xff; 6];
    /// RFC 2464 §7: an IPv6 multicast group's MAC is 33:33 and the group's last 4 octets.
    pub const IPV6_MULTICAST_PREFIX: [u8; 2] = [0x33, 0x33];
}

/// IPv4 (RFC 791), without options.
pub mod ipv4 {
    pub mod field {
        use crate::wire::Field;
        pub const VER_IHL: usize = 0;
        pub const DSCP_ECN: usize = 1;
        pub const LENGTH: Field = 2..4;
        pub const IDENT: Field = 4..6;
        pub const FLG_OFF: Field = 6..8;
        pub const TTL: usize = 8;
        pub const PROTOCOL: usize = 9;
        pub const CHECKSUM: Field = 10..12;
        pub const SRC_ADDR: Field = 12..16;
        pub const DST_ADDR: Field = 16..20;
    }

    /// The pseudo-header the UDP checksum covers (RFC 768).
    pub mod pseudo {
        use crate::wire::Field;
        pub const SRC_ADDR: Field = 0..4;
        pub const DST_ADDR: Field = 4..8;
        pub const PROTOCOL: usize = 9;
        pub const UDP_LENGTH: Field = 10..12;
        pub const LEN: usize = UDP_LENGTH.end;
    }

    pub const HDR_LEN: usize = field::DST_ADDR.end;
    /// Version 4, header length 5 words: no options.
    pub const VER_IHL_NO_OPTIONS: u8 = 0x45;
    /// The low nibble of VER_IHL: the header's length in 32-bit words.
    pub const IHL_MASK: u8 = 0x0f;
    pub const IHL_WORD_LEN: usize = 4;
    /// The flags of FLG_OFF (RFC 791 §3.1); below them the fragment offset, in 8 octets.
    pub const FLAG_DONT_FRAGMENT: u16 = 0x4000;
    pub const FLAG_MORE_FRAGMENTS: u16 = 0x2000;
    pub const FRAGMENT_OFFSET_MASK: u16 = 0x1fff;
    /// Set in every fragment, clear in a whole datagram.
    pub const FRAGMENT_BITS: u16 = FLAG_MORE_FRAGMENTS | FRAGMENT_OFFSET_MASK;
    pub const PROTO_UDP: u8 = 17;
    pub const DEFAULT_TTL: u8 = 64;
    /// Every host must accept a datagram this large (RFC 791); the DHCP reply limit
    /// unless the client's option 57 allows more (RFC 2131 §2).
    pub const MIN_MAX_DATAGRAM: usize = 576;
}

/// IPv6 (RFC 8200), without extension headers.
pub mod ipv6 {
    pub mod field {
        use crate::wire::Field;
        pub const VER_TC_FLOW: Field = 0..4;
        pub const LENGTH: Field = 4..6;
        pub const NXT_HDR: usize = 6;
        pub const HOP_LIMIT: usize = 7;
        pub const SRC_ADDR: Field = 8..24;
        pub const DST_ADDR: Field = 24..40;
    }

    /// The pseudo-header the UDP checksum covers (RFC 8200 §8.1).
    pub mod pseudo {
        use crate::wire::Field;
        pub const SRC_ADDR: Field = 0..16;
        pub const DST_ADDR: Field = 16..32;
        pub const UDP_LENGTH: Field = 32..36;
        pub const NXT_HDR: usize = 39;
        pub const LEN: usize = NXT_HDR + 1;
    }

    pub const HDR_LEN: usize = field::DST_ADDR.end;
    /// The high nibble of VER_TC_FLOW.
    pub const VERSION: u8 = 6;
    /// Version 6, traffic class 0, flow label 0.
    pub const VER_TC_FLOW_DEFAULT: [u8; 4] = [0x60, 0, 0, 0];
    pub const NEXT_HDR_UDP: u8 = 17;
    /// Extension headers (RFC 8200 §4), which the fast path never looks into: a request
    /// with one is passed.
    pub const NEXT_HDR_HOP_BY_HOP: u8 = 0;
    pub const NEXT_HDR_FRAGMENT: u8 = 44;
    /// The smallest extension header: next header, length, six octets (a PadN fills them).
    pub const EXT_HDR_MIN_LEN: usize = 8;
    pub const HOP_LIMIT: u8 = 64;
    /// ff02::1:2, All_DHCP_Relay_Agents_and_Servers (RFC 8415 §7.1).
    pub const ALL_DHCP_RELAY_AGENTS_AND_SERVERS: [u8; 16] =
        [0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0, 0x02];
    /// ff05::1:3, All_DHCP_Servers (RFC 8415 §7.1): where relay agents send by default.
    pub const ALL_DHCP_SERVERS: [u8; 16] =
        [0xff, 0x05, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0, 0x03];
    /// The IPv6 minimum link MTU (RFC 8200).
    pub const MIN_MTU: usize = 1280;
}

/// UDP (RFC 768).
pub mod udp {
    pub mod field {
        use crate::wire::Field;
        pub const SRC_PORT: Field = 0..2;
        pub const DST_PORT: Field = 2..4;
        pub const LENGTH: Field = 4..6;
        pub const CHECKSUM: Field = 6..8;
    }

    pub const HDR_LEN: usize = field::CHECKSUM.end;
}

/// DHCPv4 / BOOTP (RFC 2131, RFC 2132).
pub mod dhcpv4 {
    /// The BOOTP header (RFC 2131 §2, figure 1).
    pub mod field {
        use crate::wire::{Field, Rest};
        pub const OP: usize = 0;
        pub const HTYPE: usize = 1;
        pub const HLEN: usize = 2;
        pub const HOPS: usize = 3;
        pub const XID: Field = 4..8;
        pub const SECS: Field = 8..10;
        pub const FLAGS: Field = 10..12;
        pub const CIADDR: Field = 12..16;
        pub const YIADDR: Field = 16..20;
        pub const SIADDR: Field = 20..24;
        pub const GIADDR: Field = 24..28;
        pub const CHADDR: Field = 28..44;
        pub const SNAME: Field = 44..108;
        pub const FILE: Field = 108..236;
        pub const MAGIC_COOKIE: Field = 236..240;
        pub const OPTIONS: Rest = 240..;
    }
    /// One option (RFC 2132 §2): code, length, data; Pad and End are the code alone.
    pub mod option {
        use crate::wire::Rest;
        pub const CODE: usize = 0;
        pub const LENGTH: usize = 1;
        pub const DATA: Rest = 2..;
    }

    pub const SERVER_PORT: u16 = 67;
    pub const CLIENT_PORT: u16 = 68;

    pub const OP_BOOTREQUEST: u8 = 1;
    pub const OP_BOOTREPLY: u8 = 2;
    /// htype of Ethernet (the ARP hardware type, RFC 1700), also the client identifier type
    /// of a MAC (RFC 2132 §9.14).
    pub const HTYPE_ETHERNET: u8 = 1;
    pub const HLEN_ETHERNET: u8 = 6;
    /// chaddr is 16 octets, so no hardware address is longer.
    pub const MAX_HLEN: u8 = (field::CHADDR.end - field::CHADDR.start) as u8;
    /// RFC 2131 §4.1: BROADCAST, the leftmost bit of flags.
    pub const FLAG_BROADCAST: u16 = 0x8000;
    /// RFC 1542 §4.1.1: a relay MUST silently discard a BOOTREQUEST whose hops exceeds 16.
    pub const MAX_HOPS: u8 = 16;

    /// op .. chaddr: the part of the header a reply takes (partly) from the request.
    pub const HEAD_LEN: usize = field::SNAME.start;
    /// sname + file, zero in our replies.
    pub const SNAME_FILE_LEN: usize = field::MAGIC_COOKIE.start - field::SNAME.start;

    pub const MAGIC_COOKIE: [u8; 4] = [99, 130, 83, 99];
    /// RFC 1542 §3.4: BOOTP messages are padded to at least this many octets.
    pub const MIN_MESSAGE_LEN: usize = 300;

    // Option codes (RFC 2132, RFC 3046).
    pub const OPT_PAD: u8 = 0;
    pub const OPT_END: u8 = 255;
    pub const OPT_REQUESTED_ADDRESS: u8 = 50;
    pub const OPT_LEASE_TIME: u8 = 51;
    pub const OPT_OVERLOAD: u8 = 52;
    pub const OPT_MESSAGE_TYPE: u8 = 53;
    pub const OPT_SERVER_ID: u8 = 54;
    pub const OPT_PARAMETER_REQUEST_LIST: u8 = 55;
    pub const OPT_MESSAGE: u8 = 56;
    pub const OPT_MAX_MESSAGE_SIZE: u8 = 57;
    pub const OPT_RENEWAL_TIME: u8 = 58;
    pub const OPT_REBINDING_TIME: u8 = 59;
    pub const OPT_VENDOR_CLASS_ID: u8 = 60;
    pub const OPT_CLIENT_ID: u8 = 61;
    pub const OPT_RELAY_AGENT_INFO: u8 = 82;

    // Message types, the data of option 53 (RFC 2131 §9.6).
    pub const MSG_DISCOVER: u8 = 1;
    pub const MSG_OFFER: u8 = 2;
    pub const MSG_REQUEST: u8 = 3;
    pub const MSG_DECLINE: u8 = 4;
    pub const MSG_ACK: u8 = 5;
    pub const MSG_NAK: u8 = 6;
    pub const MSG_RELEASE: u8 = 7;
    pub const MSG_INFORM: u8 = 8;

    /// Codes an ACK to INFORM never carries (RFC 2131 table 3), so asking for them does not
    /// stop the fast path from answering completely.
    pub const NEVER_IN_INFORM_ACK: [u8; 3] = [OPT_LEASE_TIME, OPT_RENEWAL_TIME, OPT_REBINDING_TIME];

    /// Codes the DHCP machinery itself uses: a config may not give them to an LwM2M or extra
    /// option (protocol.md, "Option codes").
    pub const RESERVED_CODES: [u8; 15] = [
        OPT_PAD,
        OPT_END,
        OPT_REQUESTED_ADDRESS,
        OPT_LEASE_TIME,
        OPT_OVERLOAD,
        OPT_MESSAGE_TYPE,
        OPT_SERVER_ID,
        OPT_PARAMETER_REQUEST_LIST,
        OPT_MESSAGE,
        OPT_MAX_MESSAGE_SIZE,
        OPT_RENEWAL_TIME,
        OPT_REBINDING_TIME,
        OPT_VENDOR_CLASS_ID,
        OPT_CLIENT_ID,
        OPT_RELAY_AGENT_INFO,
    ];

    /// Default LwM2M codes: site-specific range (RFC 3942); IANA never assigned any.
    pub const DEFAULT_URI_OPTION: u8 = 224;
    pub const DEFAULT_CERTIFICATE_OPTION: u8 = 225;

    /// Options 53 (DHCPACK) and 54 (server identifier, 4 octets): the head of every reply's
    /// options, at the (even) start of the options field.
    pub const ACK_HEAD_LEN: usize = 9;
    /// The head of a DHCPACK from `server`.
    pub const fn ack_head(server: [u8; 4]) -> [u8; ACK_HEAD_LEN] {
        let s = server;
        [
            OPT_MESSAGE_TYPE,
            1,
            MSG_ACK,
            OPT_SERVER_ID,
            4,
            s[0],
            s[1],
            s[2],
            s[3],
        ]
    }
    /// The head as the big-endian 16-bit words the checksum adds (the last one padded with
    /// a zero octet: what follows the head is summed at its own offset).
    pub const fn ack_head_words(server: [u8; 4]) -> [u16; ACK_HEAD_LEN.div_ceil(2)] {
        const fn word(hi: u8, lo: u8) -> u16 {
            (hi as u16) << 8 | lo as u16
        }
        let h = ack_head(server);
        [
            word(h[0], h[1]),
            word(h[2], h[3]),
            word(h[4], h[5]),
            word(h[6], h[7]),
            word(h[8], 0),
        ]
    }
    /// End: one octet.
    pub const END_LEN: usize = 1;

    /// The BOOTP message of a DHCPACK whose options after the head take `options_len`
    /// octets: header, head, options, End, padded to MIN_MESSAGE_LEN.
    pub const fn ack_message_len(options_len: usize) -> usize {
        let used = field::OPTIONS.start + ACK_HEAD_LEN + options_len + END_LEN;
        if used < MIN_MESSAGE_LEN {
            MIN_MESSAGE_LEN
        } else {
            used
        }
    }
    /// The largest IP datagram a reply may be (RFC 2131 §2): 576, or more when the client's
    /// option 57 (`max_message_size`, 0 when absent) allows it, never above the link MTU.
    pub const fn max_reply_datagram(max_message_size: usize, mtu: usize) -> usize {
        let limit = if max_message_size > super::ipv4::MIN_MAX_DATAGRAM {
            max_message_size
        } else {
            super::ipv4::MIN_MAX_DATAGRAM
        };
        if limit > mtu {
            mtu
        } else {
            limit
        }
    }
}

/// DHCPv6 (RFC 8415).
pub mod dhcpv6 {
    /// A client/server message (RFC 8415 §8).
    pub mod field {
        use crate::wire::{Field, Rest};
        pub const MSG_TYPE: usize = 0;
        pub const TRANSACTION_ID: Field = 1..4;
        pub const OPTIONS: Rest = 4..;
    }
    /// A relay agent/server message (RFC 8415 §9).
    pub mod relay {
        use crate::wire::{Field, Rest};
        pub const MSG_TYPE: usize = 0;
        pub const HOP_COUNT: usize = 1;
        pub const LINK_ADDRESS: Field = 2..18;
        pub const PEER_ADDRESS: Field = 18..34;
        pub const OPTIONS: Rest = 34..;
    }
    /// One option (RFC 8415 §21.1).
    pub mod option {
        use crate::wire::{Field, Rest};
        pub const CODE: Field = 0..2;
        pub const LENGTH: Field = 2..4;
        pub const DATA: Rest = 4..;
    }

    /// The data of a Status Code option (RFC 8415 §21.13).
    pub mod status {
        use crate::wire::{Field, Rest};
        pub const CODE: Field = 0..2;
        pub const MESSAGE: Rest = 2..;
    }

    pub const CLIENT_PORT: u16 = 546;
    pub const SERVER_PORT: u16 = 547;

    // Message types (RFC 8415 §7.3, RFC 7341 §6.2).
    pub const MSG_SOLICIT: u8 = 1;
    pub const MSG_ADVERTISE: u8 = 2;
    pub const MSG_REQUEST: u8 = 3;
    pub const MSG_CONFIRM: u8 = 4;
    pub const MSG_RENEW: u8 = 5;
    pub const MSG_REBIND: u8 = 6;
    pub const MSG_REPLY: u8 = 7;
    pub const MSG_RELEASE: u8 = 8;
    pub const MSG_DECLINE: u8 = 9;
    pub const MSG_RECONFIGURE: u8 = 10;
    pub const MSG_INFORMATION_REQUEST: u8 = 11;
    pub const MSG_RELAY_FORW: u8 = 12;
    pub const MSG_RELAY_REPL: u8 = 13;
    pub const MSG_DHCPV4_QUERY: u8 = 20;

    /// Messages a client sends to servers (RFC 8415 §7.3), and DHCPV4-QUERY: what a relay
    /// wraps.
    pub const CLIENT_MESSAGES: [u8; 9] = [
        MSG_SOLICIT,
        MSG_REQUEST,
        MSG_CONFIRM,
        MSG_RENEW,
        MSG_REBIND,
        MSG_RELEASE,
        MSG_DECLINE,
        MSG_INFORMATION_REQUEST,
        MSG_DHCPV4_QUERY,
    ];

    /// msg-type (1) + transaction-id (3).
    pub const HDR_LEN: usize = field::OPTIONS.start;
    /// msg-type, hop-count, link-address, peer-address.
    pub const RELAY_HDR_LEN: usize = relay::OPTIONS.start;
    /// option-code (2) + option-len (2).
    pub const OPT_HDR_LEN: usize = option::DATA.start;

    // Option codes (RFC 8415 §21, RFC 3646, RFC 4649, RFC 8415 §21.23-25).
    pub const OPT_CLIENTID: u16 = 1;
    pub const OPT_SERVERID: u16 = 2;
    pub const OPT_IA_NA: u16 = 3;
    pub const OPT_IA_TA: u16 = 4;
    pub const OPT_ORO: u16 = 6;
    pub const OPT_ELAPSED_TIME: u16 = 8;
    pub const OPT_RELAY_MSG: u16 = 9;
    pub const OPT_STATUS_CODE: u16 = 13;
    pub const OPT_VENDOR_CLASS: u16 = 16;
    pub const OPT_INTERFACE_ID: u16 = 18;
    /// Relay Agent Remote-ID (RFC 4649): a relay's own, never echoed by the fast path.
    pub const OPT_REMOTE_ID: u16 = 37;
    pub const OPT_DNS_SERVERS: u16 = 23;
    pub const OPT_DOMAIN_LIST: u16 = 24;
    pub const OPT_IA_PD: u16 = 25;
    pub const OPT_INFORMATION_REFRESH_TIME: u16 = 32;
    pub const OPT_SOL_MAX_RT: u16 = 82;
    pub const OPT_INF_MAX_RT: u16 = 83;

    // Status codes, the first two octets of option 13 (RFC 8415 §21.13).
    pub const STATUS_SUCCESS: u16 = 0;
    pub const STATUS_UNSPEC_FAIL: u16 = 1;

    /// RFC 8415 §7.6: HOP_COUNT_LIMIT.
    pub const HOP_COUNT_LIMIT: u8 = 8;
    /// Relay-forward layers the fast path unwraps (and answers with as many Relay-replies).
    /// Real paths have one (a relay agent) or two (an LDRA under it); RFC 8415 allows 32
    /// (HOP_COUNT_LIMIT 8 by default). A power of two: the kernel indexes its layer table
    /// with a mask. Deeper: passed to the normal server.
    pub const MAX_RELAY_HOPS: usize = 4;
    /// Interface-ID options (whole, header included) the fast path echoes at most.
    pub const MAX_INTERFACE_ID_OPT_LEN: usize = 256;
    /// RFC 8415 §21.23: IRT_MINIMUM.
    pub const MIN_INFORMATION_REFRESH_TIME: u32 = 600;
    /// RFC 8415 §11.1: a DUID is at most 128 octets.
    pub const MAX_DUID_LEN: usize = 128;
    /// The longest Client Identifier data the fast path echoes: a longer one (no DUID is) is
    /// the normal server's, passed as unservable.
    pub const MAX_ECHOED_CLIENT_ID_LEN: usize = 255;

    /// Codes a config may not take (protocol.md, "Option codes").
    pub const RESERVED_CODES: [u16; 10] = [
        OPT_CLIENTID,
        OPT_SERVERID,
        OPT_IA_NA,
        OPT_IA_TA,
        OPT_ORO,
        OPT_RELAY_MSG,
        OPT_STATUS_CODE,
        OPT_INTERFACE_ID,
        OPT_IA_PD,
        OPT_INFORMATION_REFRESH_TIME,
    ];

    /// Codes a client may ask for that the REPLY may leave out (RFC 8415 §21.24/21.25: the
    /// server MAY send SOL_MAX_RT / INF_MAX_RT; every client asks for INF_MAX_RT).
    pub const MAY_OMIT: [u16; 2] = [OPT_SOL_MAX_RT, OPT_INF_MAX_RT];

    pub const DEFAULT_URI_OPTION: u16 = 65001;
    pub const DEFAULT_CERTIFICATE_OPTION: u16 = 65002;

    /// DUID-LL (RFC 8415 §11.4) type and the Ethernet hardware type.
    pub const DUID_TYPE_LL: u16 = 3;
    pub const HW_TYPE_ETHERNET: u16 = 1;

    /// A REPLY is never fragmented: the whole IPv6 datagram fits the link MTU.
    pub const fn reply_fits(udp_len: usize, mtu: usize) -> bool {
        super::ipv6::HDR_LEN + udp_len <= mtu
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_lengths_follow_from_the_fields() {
        assert_eq!(
            (eth::HDR_LEN, ipv4::HDR_LEN, ipv6::HDR_LEN, udp::HDR_LEN),
            (14, 20, 40, 8)
        );
        assert_eq!(dhcpv4::field::OPTIONS.start, 240);
        assert_eq!(ipv4::FRAGMENT_BITS, 0x3fff);
        assert_eq!(ipv6::VER_TC_FLOW_DEFAULT[0] >> 4, ipv6::VERSION);
        assert_eq!(dhcpv4::MAX_HLEN, 16);
        assert_eq!(
            (dhcpv6::HDR_LEN, dhcpv6::RELAY_HDR_LEN, dhcpv6::OPT_HDR_LEN),
            (4, 34, 4)
        );
    }

    #[test]
    fn reserved_codes_are_the_ones_protocol_md_lists() {
        assert_eq!(
            dhcpv4::RESERVED_CODES,
            [0, 255, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 82]
        );
        assert_eq!(dhcpv6::RESERVED_CODES, [1, 2, 3, 4, 6, 9, 13, 18, 25, 32]);
    }

    #[test]
    fn ack_head_and_its_words() {
        let head = dhcpv4::ack_head([198, 18, 0, 1]);
        assert_eq!(head, [53, 1, 5, 54, 4, 198, 18, 0, 1]);
        assert_eq!(
            dhcpv4::ack_head_words([198, 18, 0, 1]),
            [0x3501, 0x0536, 0x04c6, 0x1200, 0x0100]
        );
    }

    #[test]
    fn reply_size_rules() {
        assert_eq!(dhcpv4::ack_message_len(0), 300);
        assert_eq!(dhcpv4::ack_message_len(50), 300);
        assert_eq!(dhcpv4::ack_message_len(51), 301);
        assert_eq!(dhcpv4::max_reply_datagram(0, 1500), 576);
        assert_eq!(dhcpv4::max_reply_datagram(1000, 1500), 1000);
        assert_eq!(dhcpv4::max_reply_datagram(9000, 1500), 1500);
        assert_eq!(dhcpv4::max_reply_datagram(0, 500), 500);
        assert!(dhcpv6::reply_fits(1460, 1500) && !dhcpv6::reply_fits(1461, 1500));
    }
}
