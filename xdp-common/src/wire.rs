//! Protocol constants (../shared/docs/protocol.md): ports, message types, option codes,
//! header offsets and size limits.

/// Ethernet.
pub mod eth {
    pub const HDR_LEN: usize = 14;
    pub const ETHERTYPE_IPV4: u16 = 0x0800;
    pub const ETHERTYPE_IPV6: u16 = 0x86DD;
    pub const ETHERTYPE_VLAN: u16 = 0x8100;
    pub const ETHERTYPE_QINQ: u16 = 0x88A8;
    pub const VLAN_TAG_LEN: usize = 4;
    /// Tags the fast path looks through; a frame with more is passed.
    pub const MAX_VLAN_TAGS: usize = 2;
    pub const VLAN_ID_MASK: u16 = 0x0FFF;
}

pub mod ipv4 {
    pub const HDR_LEN: usize = 20;
    pub const PROTO_UDP: u8 = 17;
    pub const DEFAULT_TTL: u8 = 64;
    /// Every host must accept a datagram this large (RFC 791); the DHCP reply limit
    /// unless the client's option 57 allows more (RFC 2131 §2).
    pub const MIN_MAX_DATAGRAM: usize = 576;
}

pub mod ipv6 {
    pub const HDR_LEN: usize = 40;
    pub const NEXT_HDR_UDP: u8 = 17;
    pub const HOP_LIMIT: u8 = 64;
    /// ff02::1:2, All_DHCP_Relay_Agents_and_Servers (RFC 8415 §7.1).
    pub const ALL_DHCP_RELAY_AGENTS_AND_SERVERS: [u8; 16] =
        [0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0, 0x02];
    /// The IPv6 minimum link MTU (RFC 8200).
    pub const MIN_MTU: usize = 1280;
}

pub mod udp {
    pub const HDR_LEN: usize = 8;
}

/// DHCPv4 / BOOTP (RFC 2131, RFC 2132).
pub mod dhcpv4 {
    pub const SERVER_PORT: u16 = 67;
    pub const CLIENT_PORT: u16 = 68;

    pub const OP_BOOTREQUEST: u8 = 1;
    pub const OP_BOOTREPLY: u8 = 2;

    // Field offsets in the BOOTP header (RFC 2131 §2, figure 1).
    pub const OFF_OP: usize = 0;
    pub const OFF_HTYPE: usize = 1;
    pub const OFF_HLEN: usize = 2;
    pub const OFF_HOPS: usize = 3;
    pub const OFF_XID: usize = 4;
    pub const OFF_SECS: usize = 8;
    pub const OFF_FLAGS: usize = 10;
    pub const OFF_CIADDR: usize = 12;
    pub const OFF_YIADDR: usize = 16;
    pub const OFF_SIADDR: usize = 20;
    pub const OFF_GIADDR: usize = 24;
    pub const OFF_CHADDR: usize = 28;
    pub const OFF_SNAME: usize = 44;
    pub const OFF_FILE: usize = 108;
    pub const OFF_COOKIE: usize = 236;
    pub const OFF_OPTIONS: usize = 240;
    /// op .. chaddr: the part of the header a reply takes (partly) from the request.
    pub const HEAD_LEN: usize = OFF_SNAME;
    /// sname + file, zero in our replies.
    pub const SNAME_FILE_LEN: usize = OFF_COOKIE - OFF_SNAME;

    pub const MAGIC_COOKIE: [u8; 4] = [99, 130, 83, 99];
    /// RFC 1542 §3.4: BOOTP messages are padded to at least this many octets.
    pub const MIN_MESSAGE_LEN: usize = 300;

    pub const OPT_PAD: u8 = 0;
    pub const OPT_END: u8 = 255;
    pub const OPT_LEASE_TIME: u8 = 51;
    pub const OPT_OVERLOAD: u8 = 52;
    pub const OPT_MESSAGE_TYPE: u8 = 53;
    pub const OPT_SERVER_ID: u8 = 54;
    pub const OPT_PARAMETER_REQUEST_LIST: u8 = 55;
    pub const OPT_MAX_MESSAGE_SIZE: u8 = 57;
    pub const OPT_RENEWAL_TIME: u8 = 58;
    pub const OPT_REBINDING_TIME: u8 = 59;
    pub const OPT_CLIENT_ID: u8 = 61;
    pub const OPT_RELAY_AGENT_INFO: u8 = 82;

    pub const MSG_DISCOVER: u8 = 1;
    pub const MSG_ACK: u8 = 5;
    pub const MSG_INFORM: u8 = 8;

    /// Codes an ACK to INFORM never carries (RFC 2131 table 3), so asking for them does not
    /// stop the fast path from answering completely.
    pub const NEVER_IN_INFORM_ACK: [u8; 3] = [OPT_LEASE_TIME, OPT_RENEWAL_TIME, OPT_REBINDING_TIME];

    /// Codes the DHCP machinery itself uses: a config may not give them to an LwM2M or extra
    /// option (protocol.md, "Option codes").
    pub const RESERVED_CODES: [u8; 15] =
        [0, 255, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 82];

    /// Default LwM2M codes: site-specific range (RFC 3942); IANA never assigned any.
    pub const DEFAULT_URI_OPTION: u8 = 224;
    pub const DEFAULT_CERTIFICATE_OPTION: u8 = 225;
}

/// DHCPv6 (RFC 8415).
pub mod dhcpv6 {
    pub const CLIENT_PORT: u16 = 546;
    pub const SERVER_PORT: u16 = 547;

    pub const MSG_SOLICIT: u8 = 1;
    pub const MSG_REPLY: u8 = 7;
    pub const MSG_INFORMATION_REQUEST: u8 = 11;
    pub const MSG_RELAY_FORW: u8 = 12;

    /// msg-type (1) + transaction-id (3).
    pub const HDR_LEN: usize = 4;
    /// option-code (2) + option-len (2).
    pub const OPT_HDR_LEN: usize = 4;

    pub const OPT_CLIENTID: u16 = 1;
    pub const OPT_SERVERID: u16 = 2;
    pub const OPT_IA_NA: u16 = 3;
    pub const OPT_IA_TA: u16 = 4;
    pub const OPT_ORO: u16 = 6;
    pub const OPT_ELAPSED_TIME: u16 = 8;
    pub const OPT_VENDOR_CLASS: u16 = 16;
    pub const OPT_IA_PD: u16 = 25;
    pub const OPT_INFORMATION_REFRESH_TIME: u16 = 32;
    pub const OPT_SOL_MAX_RT: u16 = 82;
    pub const OPT_INF_MAX_RT: u16 = 83;

    /// RFC 8415 §21.23: IRT_MINIMUM.
    pub const MIN_INFORMATION_REFRESH_TIME: u32 = 600;
    /// RFC 8415 §11.1: a DUID is at most 128 octets.
    pub const MAX_DUID_LEN: usize = 128;

    /// Codes a config may not take (protocol.md, "Option codes").
    pub const RESERVED_CODES: [u16; 10] = [1, 2, 3, 4, 6, 9, 13, 18, 25, 32];

    /// Codes a client may ask for that the REPLY may leave out (RFC 8415 §21.24/21.25: the
    /// server MAY send SOL_MAX_RT / INF_MAX_RT; every client asks for INF_MAX_RT).
    pub const MAY_OMIT: [u16; 2] = [OPT_SOL_MAX_RT, OPT_INF_MAX_RT];

    pub const DEFAULT_URI_OPTION: u16 = 65001;
    pub const DEFAULT_CERTIFICATE_OPTION: u16 = 65002;

    /// DUID-LL (RFC 8415 §11.4) type and the Ethernet hardware type.
    pub const DUID_TYPE_LL: u16 = 3;
    pub const HW_TYPE_ETHERNET: u16 = 1;
}
