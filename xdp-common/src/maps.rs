//! BPF map layouts. The loader fills these; the kernel program only reads them (and the
//! counters). Every value type is `#[repr(C)]` with explicit padding so both sides agree.

/// Map names, as the kernel object defines them and the loader looks them up.
pub const MAP_IFACES: &str = "IFACES";
pub const MAP_SLOTS: &str = "SLOTS";
pub const MAP_ACTIVE: &str = "ACTIVE";
pub const MAP_BLOCKS: &str = "BLOCKS";
pub const MAP_COUNTERS: &str = "COUNTERS";
pub const MAP_RATE: &str = "RATE";
pub const MAP_IFACE_RATE: &str = "IFACE_RATE";
/// The XDP program's name in the object.
pub const PROGRAM_NAME: &str = "lwm2m_xdp";
/// The TC fallback classifier of the same object (`#[classifier]`).
pub const TC_PROGRAM_NAME: &str = "lwm2m_tc";

/// Interfaces (and VLANs on them) the program may answer on, per config generation.
pub const MAX_IFACES: u32 = 1024;
/// `IFACES` holds the entries of both generations (see `IfaceSlotKey`).
pub const IFACES_LEN: u32 = SLOTS * MAX_IFACES;
/// Clients tracked by the per-MAC rate limit (LRU: the oldest are forgotten).
pub const MAX_RATE_CLIENTS: u32 = 65536;

/// Options the fast path can serve per family: the two LwM2M options plus extra options.
/// A request's served set is a bit mask over them, and every mask has its own pre-encoded
/// block, so the kernel copies exactly one block per reply.
pub const MAX_SERVED_OPTIONS: usize = 8;
pub const MASKS_PER_FAMILY: u32 = 1 << MAX_SERVED_OPTIONS;
/// Bit of the URI and certificate options in a served-set mask.
pub const BIT_URI: u8 = 0;
pub const BIT_CERTIFICATE: u8 = 1;

/// Config generations: the loader writes the inactive one, then flips `ACTIVE`.
pub const SLOTS: u32 = 2;

/// Longest UDP payload the program takes (the scratch copy's size); a longer request is
/// passed as too big. A power of two: the kernel masks offsets into the copy with it.
pub const MAX_REQUEST_PAYLOAD: usize = 2048;

/// Largest pre-encoded option block (the requested options of one reply). A power of two:
/// the kernel masks lengths with `MAX_BLOCK_LEN - 1` so the verifier sees the bound.
pub const MAX_BLOCK_LEN: usize = 2048;
/// DHCPv4: what a reply image holds before the options of its block: sname and file (zero),
/// the magic cookie, and the ACK head (option 53, then 54 with its address left zero: the
/// interface's, written by the kernel). The image starts at sname, an even offset.
pub const V4_IMAGE_HEAD_LEN: usize = crate::wire::dhcpv4::SNAME_FILE_LEN
    + crate::wire::dhcpv4::MAGIC_COOKIE.len()
    + crate::wire::dhcpv4::ACK_HEAD_LEN;
/// Room of `OptionBlock::image`: the longest head and MAX_BLOCK_LEN octets of options.
pub const IMAGE_CAP: usize = MAX_BLOCK_LEN + 256;
/// Server Identifier option of a DHCPv6 reply: code(2) len(2) DUID.
pub const MAX_SERVER_ID_OPT_LEN: usize = 4 + crate::wire::dhcpv6::MAX_DUID_LEN;
/// Room for it in `IfaceConfig`: a power of two, so the kernel can bound a copy's length
/// with a mask and the verifier sees the source stay inside the value.
pub const SERVER_ID_OPT_CAP: usize = 256;

/// `code_action` / `actions` values other than a bit index.
/// The fast path cannot serve this code: `complete` passes the request.
pub const ACTION_UNSERVABLE: u8 = 0xFF;
/// The reply may leave this code out without being incomplete.
pub const ACTION_IGNORE: u8 = 0xFE;

/// Request policy (protocol.md, "Request policy").
pub const POLICY_COMPLETE: u8 = 0;
pub const POLICY_LWM2M_ONLY: u8 = 1;

/// DHCPv6 option codes the v6 policy table can hold.
pub const MAX_V6_CODES: usize = 16;
/// Entries of that table (`V6Policy::codes`): four per code, so that a multiplier placing
/// every code in an entry of its own is found within a few tries.
pub const V6_CODE_TABLE_BITS: u32 = 6;
pub const V6_CODE_TABLE_LEN: usize = 1 << V6_CODE_TABLE_BITS;
const _: () = assert!(V6_CODE_TABLE_LEN >= 4 * MAX_V6_CODES);

/// The entry of `code` in a `V6Policy` table with `multiplier` (multiplicative hashing: the
/// top bits of the 32-bit product).
#[inline(always)]
pub const fn v6_code_entry(code: u16, multiplier: u32) -> usize {
    ((code as u32).wrapping_mul(multiplier) >> (32 - V6_CODE_TABLE_BITS)) as usize
}

#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    V4 = 0,
    V6 = 1,
}

/// Index of the block for `mask` of `family` in config generation `slot`.
#[inline(always)]
pub const fn block_index(slot: u32, family: Family, mask: u32) -> u32 {
    (slot * 2 + family as u32) * MASKS_PER_FAMILY + (mask & (MASKS_PER_FAMILY - 1))
}
pub const BLOCKS_LEN: u32 = SLOTS * 2 * MASKS_PER_FAMILY;

/// `IFACES` key: the receiving interface and the VLAN ids of the frame (0 = no tag).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct IfaceKey {
    pub ifindex: u32,
    pub outer_vlan: u16,
    pub inner_vlan: u16,
}

/// `IFACES` key: an interface entry belongs to one config generation, like the blocks and
/// the policy. A reply reads its identity (addresses, DUID) and its options from the slot
/// `ACTIVE` named when the request arrived; a reload writes the other slot's entries, flips
/// `ACTIVE` once, then removes the old slot's entries.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct IfaceSlotKey {
    pub slot: u32,
    pub iface: IfaceKey,
}

/// Addresses the replies on one interface / VLAN come from.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct IfaceConfig {
    pub mac: [u8; 6],
    /// Largest IP datagram the interface sends.
    pub mtu: u16,
    /// DHCPv4 server identifier and reply source; 0.0.0.0: no DHCPv4 answers here.
    pub ipv4: [u8; 4],
    /// DHCPv6 reply source; all zero: no DHCPv6 answers here.
    pub ipv6_link_local: [u8; 16],
    /// The interface's first unicast address beyond link scope: the source of a Relay-reply
    /// to a relay agent's global address. All zero: such Relay-forwards are passed.
    pub ipv6_global: [u8; 16],
    /// Length of `server_id_opt` (0: no DHCPv6 answers here).
    pub server_id_len: u16,
    /// Checksum partial sum of `ipv6_link_local` (see `OptionBlock`), for the reply's
    /// pseudo-header.
    pub ipv6_link_local_csum: u16,
    /// Checksum partial sum of `ipv6_global`, for a Relay-reply's pseudo-header.
    pub ipv6_global_csum: u16,
    pub _pad: u16,
    /// Checksum partial sum of `server_id_opt` (see `BlockCsum`).
    pub server_id_csum: u32,
    /// The DHCPv6 Server Identifier option, encoded: code(2) len(2) DUID.
    pub server_id_opt: [u8; SERVER_ID_OPT_CAP],
}

/// DHCPv4 request policy of one config generation.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct V4Policy {
    /// Per option code: a bit index (< MAX_SERVED_OPTIONS), ACTION_IGNORE or ACTION_UNSERVABLE.
    pub code_action: [u8; 256],
    /// Bits that are LwM2M options (a request must ask for one of them).
    pub lwm2m_mask: u8,
    pub policy: u8,
    pub enabled: u8,
    pub _pad: u8,
}

/// DHCPv6 request policy of one config generation.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct V6Policy {
    /// The code table, by `v6_code_entry(code, multiplier)`: each code with an action other
    /// than ACTION_UNSERVABLE in an entry of its own (the loader picks the multiplier that
    /// does that), every other entry code 0 with ACTION_UNSERVABLE (no option has code 0).
    pub codes: [u16; V6_CODE_TABLE_LEN],
    pub actions: [u8; V6_CODE_TABLE_LEN],
    pub multiplier: u32,
    pub lwm2m_mask: u8,
    pub policy: u8,
    pub enabled: u8,
    pub _pad: u8,
}

impl V6Policy {
    /// What to do with a requested code: one entry read, no search (the kernel's ORO scan
    /// and the loader's tests both ask here).
    #[inline(always)]
    pub fn action(&self, code: u16) -> u8 {
        let entry = v6_code_entry(code, self.multiplier) & (V6_CODE_TABLE_LEN - 1);
        if self.codes[entry] == code {
            self.actions[entry]
        } else {
            ACTION_UNSERVABLE
        }
    }
}

/// `RateLimit::over_limit`: what happens to a request over the limit.
pub const OVER_LIMIT_DROP: u8 = 0;
/// Handed to the normal server (XDP_PASS): no amplification from us, but no protection of it.
pub const OVER_LIMIT_PASS: u8 = 1;

/// Token bucket parameters: per client (`per_second == 0`: unlimited) and per interface
/// (`per_interface == 0`: unlimited; its burst is one second's worth).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct RateLimit {
    pub per_second: u32,
    pub burst: u32,
    pub per_interface: u32,
    pub over_limit: u8,
    pub _pad: [u8; 3],
}

/// `SLOTS` value: everything one config generation decides.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct SlotConfig {
    pub v4: V4Policy,
    pub v6: V6Policy,
    pub rate: RateLimit,
}

/// `BLOCKS` value: one reply shape, as the kernel writes it with one store: the image.
/// DHCPv4: sname .. the options of the block (`V4_IMAGE_HEAD_LEN` octets of head first);
/// DHCPv6: the options of the block alone.
///
/// `csum` is the 16-bit one's-complement sum of `image[..image_len]` read as big-endian
/// words from an even offset (a trailing odd byte is the high half of a word), folded, in
/// the low 16 bits. The kernel swaps its bytes when it places the image at an odd offset.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct OptionBlock {
    /// Octets of options (at most MAX_BLOCK_LEN); 0: this shape cannot be served.
    pub len: u16,
    /// Octets of `image`: the family's head and the options.
    pub image_len: u16,
    pub csum: u32,
    pub image: [u8; IMAGE_CAP],
}

/// `RATE` key: who a bucket belongs to. A relayed DHCPv4 request: its giaddr and chaddr (all
/// 16 octets), so the clients behind one relay do not share the relay's MAC; anything else:
/// giaddr 0.0.0.0 and the Ethernet source MAC in the first 6 octets of `id`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ClientKey {
    pub giaddr: [u8; 4],
    pub id: [u8; 16],
}

/// `RATE` value: a token bucket, in nanoseconds of credit.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct TokenBucket {
    pub last_ns: u64,
    pub credit_ns: u64,
}

// The kernel and the loader compile these layouts separately: any drift in size is a
// compile error here, not a misread map value at run time.
const _: () = {
    use core::mem::size_of;
    assert!(size_of::<IfaceKey>() == 8);
    assert!(size_of::<IfaceSlotKey>() == 12);
    assert!(size_of::<IfaceConfig>() == 56 + SERVER_ID_OPT_CAP);
    assert!(size_of::<V4Policy>() == 260);
    assert!(size_of::<V6Policy>() == 3 * V6_CODE_TABLE_LEN + 8);
    assert!(size_of::<RateLimit>() == 16);
    assert!(size_of::<SlotConfig>() == 260 + 3 * V6_CODE_TABLE_LEN + 8 + 16);
    assert!(size_of::<OptionBlock>() == 8 + IMAGE_CAP);
    assert!(V4_IMAGE_HEAD_LEN == 205 && V4_IMAGE_HEAD_LEN <= IMAGE_CAP - MAX_BLOCK_LEN);
    assert!(size_of::<ClientKey>() == 20);
    assert!(size_of::<TokenBucket>() == 16);
};

#[cfg(feature = "user")]
mod pod {
    use super::*;
    // SAFETY: all of these are repr(C), made of integers and byte arrays, with explicit
    // padding fields, so every bit pattern is valid and there are no implicit holes.
    unsafe impl aya::Pod for IfaceKey {}
    unsafe impl aya::Pod for IfaceSlotKey {}
    unsafe impl aya::Pod for IfaceConfig {}
    unsafe impl aya::Pod for SlotConfig {}
    unsafe impl aya::Pod for OptionBlock {}
    unsafe impl aya::Pod for ClientKey {}
    unsafe impl aya::Pod for TokenBucket {}
}
