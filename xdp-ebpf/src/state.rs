//! What the fast path carries between its steps and through its loops: the walkers' state
//! and each family's plan. All of it lives in the per-CPU scratch value
//! (`scratch.rs` says why not on the stack). A leaf: it imports nothing of this crate, so
//! the scratch area includes these types and the handlers use both, never the other way.
//!
//! Offsets in here are offsets in the request's UDP payload (request.rs: the same in the
//! frame and in its saved copy, `scratch::Scratch::req`).

use xdp_common::maps::ClientKey;

/// A walk's `status` (both families' option walks, relay6's unwrap): still walking, or why
/// it stopped.
pub mod status {
    pub const WALKING: u64 = 0;
    pub const ENDED: u64 = 1;
    pub const MALFORMED: u64 = 2;
    /// An option the fast path leaves to the normal server (its policy check's business).
    pub const UNSERVABLE: u64 = 3;
    /// DHCPv6: an IA option, a stateful request.
    pub const NOT_FOR_US: u64 = 4;
    /// relay6: more Relay-forward layers than MAX_RELAY_HOPS.
    pub const TOO_DEEP: u64 = 5;
}

/// An option walker's state, of either family's `Options`. `seen` holds a bit for each
/// option whose second instance the walk refuses. Each `opts` field the walk may leave unset
/// is zeroed by its own store before the walk (`parse_options`), not by zeroing the whole
/// struct (LLVM turns that into a byte-loop memset call, a sizeable share of a reply's cost).
#[repr(C)]
pub struct Walk<O> {
    pub i: usize,
    pub len: usize,
    pub status: u64,
    pub seen: u64,
    pub opts: O,
}

/// A step's answer to its loop (`bpf_loop`'s and `loops::in_frame`'s): 0 goes on, 1 stops.
impl<O> Walk<O> {
    /// The walk is over: `status` says how.
    #[inline(always)]
    pub fn stop(&mut self, status: u64) -> i64 {
        self.status = status;
        1
    }

    /// One option read: its `status` (`WALKING` goes on), its `seen` bit, the next option at
    /// `next`.
    #[inline(always)]
    pub fn read(&mut self, status: u64, bit: u64, next: usize) -> i64 {
        self.seen |= bit;
        self.status = status;
        self.i = next;
        if status == status::WALKING {
            0
        } else {
            1
        }
    }
}

/// What the scan of the requested codes (DHCPv4's PRL, DHCPv6's ORO, in the frame) found so
/// far: the served options' bits, and whether a code was unservable or not there to read.
#[repr(C)]
pub struct CodeScan {
    pub mask: u64,
    pub unservable: u64,
    pub malformed: u64,
}

/// DHCPv4 (dhcpv4.rs).
pub mod v4 {
    use super::ClientKey;

    /// What the fast path needs from an INFORM's options.
    #[repr(C)]
    #[derive(Clone, Copy, Default)]
    pub struct Options {
        pub msg_type: u8,
        pub prl_off: usize,
        pub prl_len: usize,
        pub max_message_size: usize,
        /// Whole option (code and length included) to echo: client identifier, relay info.
        pub client_id_off: usize,
        pub client_id_len: usize,
        pub relay_off: usize,
        pub relay_len: usize,
        pub has_server_id: u8,
        pub server_id: [u8; 4],
    }

    pub type Walk = super::Walk<Options>;

    /// Everything `fit` and `build` need, decided before the frame is touched; and what
    /// `decide` carries past its loops (`scratch::reread`).
    #[repr(C)]
    #[derive(Clone, Copy, Default)]
    pub struct Plan {
        pub l3_off: usize,
        /// The request's UDP payload: its length, whether it is saved in scratch already, and
        /// its IPv4 destination and Ethernet source.
        pub payload_len: usize,
        pub copied: u64,
        pub request_dst: [u8; 4],
        pub src_mac: [u8; 6],
        pub msg_len: usize,
        pub used_len: usize,
        pub udp_len: usize,
        pub ip_len: usize,
        pub dst: [u8; 4],
        pub dst_port: u16,
        /// The rate limit's bucket and the ingress interface.
        pub rate_key: ClientKey,
        pub ifindex: u32,
        pub opts: Options,
    }
}

/// DHCPv6 (dhcpv6.rs).
pub mod v6 {
    /// What the fast path needs from an INFORMATION-REQUEST's options.
    #[repr(C)]
    #[derive(Clone, Copy, Default)]
    pub struct Options {
        /// Whole Client Identifier option (header included), echoed in the reply.
        pub client_id_off: usize,
        pub client_id_len: usize,
        /// Server Identifier data (the DUID).
        pub server_id_off: usize,
        pub server_id_len: usize,
        pub oro_off: usize,
        pub oro_len: usize,
    }

    pub type Walk = super::Walk<Options>;

    /// Everything `fit` and `build` need, decided before the frame is touched; and what
    /// `decide` carries past its loops (`scratch::reread`).
    #[repr(C)]
    #[derive(Clone, Copy, Default)]
    pub struct Plan {
        pub l3_off: usize,
        /// The request's UDP payload: its length, whether it is saved in scratch already, and
        /// the sum of its pseudo-header and UDP header (checksum field included).
        pub msg_len: usize,
        pub copied: u64,
        pub pseudo_and_header: u64,
        pub udp_len: usize,
        /// The request's source (two native words, `addr6::Addr6`): the reply's destination,
        /// and its checksum sum.
        pub peer: [u64; 2],
        pub peer_csum: u16,
        pub src_mac: [u8; 6],
        /// The ingress interface, for the rate limit.
        pub ifindex: u32,
        pub opts: Options,
    }
}

/// Relayed DHCPv6 (relay6.rs).
pub mod relay6 {
    use xdp_common::wire::dhcpv6::MAX_RELAY_HOPS;

    /// One Relay-forward of the request, outermost first.
    #[repr(C)]
    #[derive(Clone, Copy, Default)]
    pub struct Layer {
        /// Its msg-type octet.
        pub off: usize,
        /// Its Interface-ID option, whole (0 octets: none).
        pub iid_off: usize,
        pub iid_len: usize,
    }

    /// The unwrap walk's state (one option, or one step into a Relay Message, per call).
    #[repr(C)]
    pub struct Unwrap {
        /// Next option of the current layer, and where its options end.
        pub i: usize,
        pub end: usize,
        pub status: u64,
        /// The current layer's Relay Message data (valid once `has_msg`).
        pub msg_off: usize,
        pub msg_len: usize,
        pub has_msg: u64,
        pub current: Layer,
        pub path: Path,
    }

    /// The relay path a reply goes back through, decided before the frame is touched.
    /// `hops` 0: a direct request (every v6 request writes this).
    #[repr(C)]
    #[derive(Clone, Copy, Default)]
    pub struct Path {
        pub hops: usize,
        /// The innermost message (the INFORMATION-REQUEST) in the saved request.
        pub msg_off: usize,
        pub msg_len: usize,
        /// Octets of Relay-reply headers, Interface-IDs and Relay Message headers in front of
        /// the REPLY.
        pub prefix_len: usize,
        /// The relay's source is beyond link scope: reply from the global address.
        pub from_global: u64,
        pub layers: [Layer; MAX_RELAY_HOPS],
    }
}

/// The checksum loop's state (loops::sum_range): a range of the saved request and its sum.
#[repr(C)]
#[derive(Default)]
pub struct SumState {
    pub off: usize,
    pub len: usize,
    pub sum: u64,
}
