//! INFORMATION-REQUEST -> REPLY (protocol.md; RFC 8415 §16, §18.3.6, §21).
//!
//! Same shape as dhcpv4.rs: save the UDP payload to scratch, walk its options there, decide,
//! then rewrite the frame in place with the pre-encoded block for the requested options.

use core::ffi::c_void;

use aya_ebpf::programs::XdpContext;
use network_types::ip::Ipv6Hdr;
use xdp_common::{
    counters::{Reason, Seen},
    maps::{
        Family, IfaceConfig, OptionBlock, SlotConfig, ACTION_UNSERVABLE, MASKS_PER_FAMILY,
        MAX_SERVED_OPTIONS, MAX_V6_CODES, POLICY_COMPLETE,
    },
    wire::{dhcpv6 as dhcp, ipv6, udp},
};

use crate::{
    csum, generation,
    loops::{self, be16, byte},
    maps::{self, Scratch, REQ_MAX, SLOTS},
    packet::{self, ptr_at, read_u16, L2},
    rate, reply,
    verdict::{self, Stop},
};

/// Each option takes at least its 4-octet header: enough calls to walk any request.
const MAX_OPTIONS: u32 = (REQ_MAX / dhcp::OPT_HDR_LEN) as u32;
const MAX_ORO_CODES: u32 = 128;

const WALKING: u64 = 0;
const ENDED: u64 = 1;
const MALFORMED: u64 = 2;
const UNSERVABLE: u64 = 3;
const NOT_FOR_US: u64 = 4;

/// What the fast path needs from the request's options; offsets index the saved request.
#[repr(C)]
#[derive(Clone, Copy, Default)]
struct Options {
    /// Whole Client Identifier option (header included), echoed in the reply.
    client_id_off: usize,
    client_id_len: usize,
    /// Server Identifier data (the DUID).
    server_id_off: usize,
    server_id_len: usize,
    oro_off: usize,
    oro_len: usize,
}

/// Everything `build` needs (kept in scratch: see dhcpv4::Plan).
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct Plan {
    l3_off: usize,
    udp_len: usize,
    /// Copied from the interface entry so `checksum` needs no lookup.
    server_ll: [u8; 16],
    server_id_len: usize,
    server_id_csum: u32,
    /// The request's source: the reply's destination.
    peer: [u8; 16],
    src_mac: [u8; 6],
    opts: Options,
}

/// Entry for IPv6 frames: XDP_TX with the REPLY, or XDP_PASS with the frame untouched.
#[inline(always)]
pub fn handle(ctx: &XdpContext, l2: &L2) -> u32 {
    let Some(ip) = ptr_at::<Ipv6Hdr>(ctx, l2.l3_off) else {
        return verdict::PASS;
    };
    // SAFETY: bounds checked by ptr_at. Extension headers: not a request we answer.
    if unsafe { (*ip).next_hdr } != ipv6::NEXT_HDR_UDP {
        return verdict::PASS;
    }
    let Some(dst_port) = read_u16(ctx, l2.l3_off + ipv6::HDR_LEN + 2) else {
        return verdict::PASS;
    };
    maps::count_seen(Seen::Udp);
    if dst_port != dhcp::SERVER_PORT {
        return verdict::PASS;
    }
    verdict::finish(Family::V6, answer(ctx, l2))
}

/// One generation's config, interface entry and block, each read once (see dhcpv4::answer).
#[inline(always)]
fn answer(ctx: &XdpContext, l2: &L2) -> Result<(), Stop> {
    let gen = generation::current(ctx, l2, Family::V6)?;
    let mask = decide(ctx, l2, gen.slot, gen.config, gen.iface)?;
    let block = generation::block(gen.slot, Family::V6, mask)?;
    fit(gen.config, gen.iface, block)?;
    build(ctx, gen.iface, block)
}

/// Every check of protocol.md up to the served set (its mask is returned); the frame is not
/// changed. The plan in scratch holds what `fit` and `build` need.
#[inline(never)]
fn decide(
    ctx: &XdpContext,
    l2: &L2,
    slot: u32,
    config: &SlotConfig,
    iface: &IfaceConfig,
) -> Result<u32, Stop> {
    if iface.server_id_len == 0 || iface.ipv6_link_local == [0; 16] {
        return Err(Reason::NotForUs.into());
    }
    let scratch = loops::scratch().ok_or(Stop::Abort)?;
    let (payload_len, peer, src_mac) = load_request(ctx, l2.l3_off, scratch)?;
    let msg_type = scratch.req[0];
    if msg_type == dhcp::MSG_RELAY_FORW {
        return Err(Reason::NotForUs.into());
    }
    if msg_type != dhcp::MSG_INFORMATION_REQUEST {
        return Err(Reason::NotInfoRequest.into());
    }
    let opts = parse_options(payload_len)?;
    if opts.server_id_len != 0 {
        let scratch = loops::scratch().ok_or(Stop::Abort)?;
        scratch.our_server_id = iface.server_id_opt;
        if !server_id_is_ours(&opts, iface.server_id_len as usize) {
            return Err(Reason::NotForUs.into());
        }
    }
    let mask = served_mask(slot, &opts)?;
    if mask & config.v6.lwm2m_mask as u32 == 0 {
        return Err(Reason::NoLwm2m.into());
    }
    let scan_unservable = loops::scratch().ok_or(Stop::Abort)?.oro.unservable;
    if scan_unservable != 0 && config.v6.policy == POLICY_COMPLETE {
        return Err(Reason::Unservable.into());
    }
    loops::scratch().ok_or(Stop::Abort)?.v6_plan = Plan {
        l3_off: l2.l3_off,
        udp_len: 0,
        server_ll: iface.ipv6_link_local,
        server_id_len: iface.server_id_len as usize,
        server_id_csum: iface.server_id_csum,
        peer,
        src_mac,
        opts,
    };
    Ok(mask)
}

/// The reply's size (never more than the MTU) and the rate limit.
#[inline(never)]
fn fit(config: &SlotConfig, iface: &IfaceConfig, block: &OptionBlock) -> Result<(), Stop> {
    let plan = &mut loops::scratch().ok_or(Stop::Abort)?.v6_plan;
    let udp_len = udp::HDR_LEN
        + dhcp::HDR_LEN
        + plan.server_id_len
        + block.len as usize
        + plan.opts.client_id_len;
    if ipv6::HDR_LEN + udp_len > iface.mtu as usize {
        return Err(Reason::TooBig.into());
    }
    plan.udp_len = udp_len;
    if !rate::within_rate(&config.rate, plan.src_mac) {
        return Err(Stop::Drop(Reason::RateLimited));
    }
    Ok(())
}

/// Validate the IPv6 and UDP headers, copy the UDP payload to scratch, verify its checksum.
/// Returns the payload length, the source address and the source MAC.
#[inline(always)]
fn load_request(
    ctx: &XdpContext,
    l3_off: usize,
    scratch: &mut Scratch,
) -> Result<(usize, [u8; 16], [u8; 6]), Stop> {
    const LEN: usize = ipv6::HDR_LEN + udp::HDR_LEN;
    let malformed = Stop::Pass(Reason::Malformed);
    let h = ptr_at::<[u8; LEN]>(ctx, l3_off).ok_or(Reason::Malformed)?;
    // SAFETY: bounds checked by ptr_at.
    let h = unsafe { &*h };
    if h[0] >> 4 != 6 {
        return Err(malformed);
    }
    let mut src = [0u8; 16];
    src.copy_from_slice(&h[8..24]);
    let sport = u16::from_be_bytes([h[40], h[41]]);
    if sport == dhcp::SERVER_PORT {
        // From a relay agent: relayed DHCPv6 is the normal server's (after the source rule).
        crate::rules::v6_source_is_unicast(&src)?;
        return Err(Reason::NotForUs.into());
    }
    let mut dst = [0u8; 16];
    dst.copy_from_slice(&h[24..40]);
    if dst != ipv6::ALL_DHCP_RELAY_AGENTS_AND_SERVERS || sport != dhcp::CLIENT_PORT {
        return Err(Reason::NotForUs.into());
    }
    crate::rules::v6_source_is_link_local(&src)?;
    let payload_len = u16::from_be_bytes([h[4], h[5]]) as usize;
    let udp_len = u16::from_be_bytes([h[44], h[45]]) as usize;
    let frame_len = ctx.data_end() - ctx.data();
    if l3_off + ipv6::HDR_LEN + payload_len > frame_len || udp_len != payload_len {
        return Err(malformed);
    }
    if udp_len < udp::HDR_LEN + dhcp::HDR_LEN {
        return Err(malformed);
    }
    let msg_len = udp_len - udp::HDR_LEN;
    if msg_len > REQ_MAX {
        return Err(Reason::TooBig.into());
    }
    // The UDP checksum is mandatory over IPv6 (RFC 8200 §8.1).
    if h[46] == 0 && h[47] == 0 {
        return Err(malformed);
    }
    let pseudo_and_header = csum::words16(&src)
        + csum::words16(&dst)
        + udp_len as u64 * 2
        + ipv6::NEXT_HDR_UDP as u64
        + csum::word(h[40], h[41])
        + csum::word(h[42], h[43])
        + csum::word(h[46], h[47]);
    crate::request::copy_payload(ctx, l3_off + LEN, msg_len, scratch)?;
    let payload = csum::sum_request(&scratch.req, msg_len).ok_or(Stop::Abort)?;
    if csum::fold(pseudo_and_header + payload as u64) != 0xffff {
        return Err(malformed);
    }
    let mac = ptr_at::<[u8; 12]>(ctx, 0).ok_or(Reason::Malformed)?;
    // SAFETY: bounds checked by ptr_at.
    let m = unsafe { &*mac };
    Ok((msg_len, src, [m[6], m[7], m[8], m[9], m[10], m[11]]))
}

const SEEN_CLIENT_ID: u64 = 1;
const SEEN_SERVER_ID: u64 = 2;
const SEEN_ORO: u64 = 4;

/// The walker's state; `opts` fields are valid where `seen` says so (see dhcpv4::Walk).
#[repr(C)]
pub struct Walk {
    i: usize,
    len: usize,
    status: u64,
    seen: u64,
    opts: Options,
}

/// One DHCPv6 option (RFC 8415 §21.1) of the saved request per call.
extern "C" fn walk_option(_: u32, _: *mut c_void) -> i64 {
    let Some(scratch) = loops::scratch() else {
        return 1;
    };
    let req = &scratch.req;
    let w = &mut scratch.v6_walk;
    let i = w.i;
    if i == w.len {
        w.status = ENDED;
        return 1;
    }
    if i + dhcp::OPT_HDR_LEN > w.len {
        w.status = MALFORMED;
        return 1;
    }
    let code = be16(req, i);
    let opt_len = be16(req, i + 2) as usize;
    let data = i + dhcp::OPT_HDR_LEN;
    if data + opt_len > w.len {
        w.status = MALFORMED;
        return 1;
    }
    let seen = w.seen;
    let o = &mut w.opts;
    let (status, bit) = match code {
        dhcp::OPT_IA_NA | dhcp::OPT_IA_TA | dhcp::OPT_IA_PD => (NOT_FOR_US, 0),
        dhcp::OPT_CLIENTID if seen & SEEN_CLIENT_ID != 0 || opt_len > 255 => (UNSERVABLE, 0),
        dhcp::OPT_CLIENTID => {
            o.client_id_off = i;
            o.client_id_len = opt_len + dhcp::OPT_HDR_LEN;
            (WALKING, SEEN_CLIENT_ID)
        }
        dhcp::OPT_SERVERID if seen & SEEN_SERVER_ID != 0 || opt_len == 0 => (MALFORMED, 0),
        dhcp::OPT_SERVERID => {
            o.server_id_off = data;
            o.server_id_len = opt_len;
            (WALKING, SEEN_SERVER_ID)
        }
        dhcp::OPT_ORO if opt_len & 1 != 0 => (MALFORMED, 0),
        dhcp::OPT_ORO if seen & SEEN_ORO != 0 => (UNSERVABLE, 0),
        dhcp::OPT_ORO => {
            o.oro_off = data;
            o.oro_len = opt_len;
            (WALKING, SEEN_ORO)
        }
        _ => (WALKING, 0),
    };
    w.seen = seen | bit;
    w.status = status;
    w.i = data + opt_len;
    if status == WALKING {
        0
    } else {
        1
    }
}

/// Walk the options after msg-type and transaction-id.
#[inline(always)]
fn parse_options(len: usize) -> Result<Options, Stop> {
    let w = &mut loops::scratch().ok_or(Stop::Abort)?.v6_walk;
    w.i = dhcp::HDR_LEN;
    w.len = len;
    w.status = WALKING;
    w.seen = 0;
    loops::run(MAX_OPTIONS, walk_option);
    let w = &loops::scratch().ok_or(Stop::Abort)?.v6_walk;
    match w.status {
        ENDED => {}
        UNSERVABLE => return Err(Reason::Unservable.into()),
        NOT_FOR_US => return Err(Reason::NotForUs.into()),
        _ => return Err(Reason::Malformed.into()),
    }
    let (seen, o) = (w.seen, &w.opts);
    let when = |bit: u64, v: usize| if seen & bit != 0 { v } else { 0 };
    Ok(Options {
        client_id_off: when(SEEN_CLIENT_ID, o.client_id_off),
        client_id_len: when(SEEN_CLIENT_ID, o.client_id_len),
        server_id_off: when(SEEN_SERVER_ID, o.server_id_off),
        server_id_len: when(SEEN_SERVER_ID, o.server_id_len),
        oro_off: when(SEEN_ORO, o.oro_off),
        oro_len: when(SEEN_ORO, o.oro_len),
    })
}

#[repr(C)]
#[derive(Default)]
pub struct Compare {
    off: usize,
    len: usize,
    differ: u32,
}

extern "C" fn compare_byte(index: u32, _: *mut c_void) -> i64 {
    let Some(scratch) = loops::scratch() else {
        return 1;
    };
    let c = &mut scratch.compare;
    let k = index as usize;
    if k >= c.len {
        return 1;
    }
    let ours = scratch.our_server_id[(dhcp::OPT_HDR_LEN + k) & 0xff];
    if byte(&scratch.req, c.off + k) != ours {
        c.differ = 1;
        return 1;
    }
    0
}

/// Does the request's Server Identifier name our DUID (`ours_len` = our option's length)?
#[inline(always)]
fn server_id_is_ours(opts: &Options, ours_len: usize) -> bool {
    if opts.server_id_len + dhcp::OPT_HDR_LEN != ours_len {
        return false;
    }
    let Some(scratch) = loops::scratch() else {
        return false;
    };
    scratch.compare = Compare {
        off: opts.server_id_off,
        len: opts.server_id_len,
        differ: 0,
    };
    loops::run(dhcp::MAX_DUID_LEN as u32, compare_byte);
    loops::scratch().is_some_and(|s| s.compare.differ == 0)
}

#[repr(C)]
#[derive(Default)]
pub struct OroScan {
    slot: u32,
    unservable: u32,
    mask: u32,
    off: usize,
    /// Number of codes.
    count: usize,
}

extern "C" fn scan_code(index: u32, _: *mut c_void) -> i64 {
    let Some(scratch) = loops::scratch() else {
        return 1;
    };
    let s = &mut scratch.oro;
    let k = index as usize;
    if k >= s.count {
        return 1;
    }
    let Some(config) = SLOTS.get(s.slot) else {
        s.unservable = 1;
        return 1;
    };
    let code = be16(&scratch.req, s.off + 2 * k);
    let policy = &config.v6;
    let mut action = ACTION_UNSERVABLE;
    let mut j = 0;
    while j < MAX_V6_CODES {
        if j as u32 >= policy.n_codes {
            break;
        }
        if policy.codes[j] == code {
            action = policy.actions[j];
            break;
        }
        j += 1;
    }
    if action == ACTION_UNSERVABLE {
        s.unservable = 1;
    } else if (action as usize) < MAX_SERVED_OPTIONS {
        s.mask |= 1 << action;
    }
    0
}

/// The served-set mask for the ORO; `scratch.oro.unservable` tells if anything was left.
#[inline(always)]
fn served_mask(slot: u32, opts: &Options) -> Result<u32, Stop> {
    loops::scratch().ok_or(Stop::Abort)?.oro = OroScan {
        slot,
        off: opts.oro_off,
        count: opts.oro_len / 2,
        ..Default::default()
    };
    loops::run(MAX_ORO_CODES, scan_code);
    let scan = &loops::scratch().ok_or(Stop::Abort)?.oro;
    if opts.oro_len / 2 > MAX_ORO_CODES as usize {
        return Err(Reason::Unservable.into());
    }
    Ok(scan.mask & (MASKS_PER_FAMILY - 1))
}

/// Turn the frame into the REPLY the plan in scratch describes.
#[inline(never)]
fn build(ctx: &XdpContext, iface: &IfaceConfig, block: &OptionBlock) -> Result<(), Stop> {
    let block_len = block.len as usize;
    // Bit 16 set: computed; an Option here would leave a register undefined on None.
    let udp_sum = checksum(block.csum, block_len);
    if udp_sum & 0x1_0000 == 0 {
        return Err(Stop::Abort);
    }
    let udp_sum = (udp_sum as u16).to_be_bytes();
    let plan = &loops::scratch().ok_or(Stop::Abort)?.v6_plan;
    let l3_off = packet::bound_l3_off(plan.l3_off);
    let udp_len = plan.udp_len & 0xffff;
    reply::resize(ctx, l3_off + ipv6::HDR_LEN + udp_len)?;
    // From here on the frame is the reply under construction: any failure aborts.
    const LEN: usize = ipv6::HDR_LEN + udp::HDR_LEN + dhcp::HDR_LEN;
    let h = ptr_at::<[u8; LEN]>(ctx, l3_off).ok_or(Stop::Abort)?;
    // SAFETY: bounds checked by ptr_at.
    let h = unsafe { &mut *h };
    let len = (udp_len as u16).to_be_bytes();
    h[..8].copy_from_slice(&[
        0x60,
        0,
        0,
        0,
        len[0],
        len[1],
        ipv6::NEXT_HDR_UDP,
        ipv6::HOP_LIMIT,
    ]);
    h[8..24].copy_from_slice(&iface.ipv6_link_local);
    h[24..40].copy_from_slice(&plan.peer);
    let sport = dhcp::SERVER_PORT.to_be_bytes();
    let dport = dhcp::CLIENT_PORT.to_be_bytes();
    h[40..48].copy_from_slice(&[
        sport[0], sport[1], dport[0], dport[1], len[0], len[1], udp_sum[0], udp_sum[1],
    ]);
    // msg-type REPLY; the transaction-id stays in place.
    h[48] = dhcp::MSG_REPLY;
    let mut off = l3_off + LEN;
    let sid_len = iface.server_id_len as usize;
    reply::store_server_id(ctx, off, iface, sid_len)?;
    off += sid_len;
    reply::store(ctx, off, block.data.as_ptr(), block_len)?;
    off += block_len;
    let scratch = loops::scratch().ok_or(Stop::Abort)?;
    let opts = scratch.v6_plan.opts;
    reply::store_from_request(ctx, scratch, off, opts.client_id_off, opts.client_id_len)?;
    reply::swap_macs(ctx, &iface.mac)
}

/// The REPLY's UDP checksum. A subprogram of its own to keep `build`'s stack frame small.
#[inline(never)]
fn checksum(block_sum: u32, block_len: usize) -> u32 {
    let Some(scratch) = loops::scratch() else {
        return 0;
    };
    let plan = &scratch.v6_plan;
    let req = &scratch.req;
    let mut sum = csum::words16(&plan.server_ll)
        + csum::words16(&plan.peer)
        + plan.udp_len as u64 * 2
        + ipv6::NEXT_HDR_UDP as u64
        + dhcp::SERVER_PORT as u64
        + dhcp::CLIENT_PORT as u64;
    // msg-type and transaction-id.
    sum += csum::word(dhcp::MSG_REPLY, req[1]) + csum::word(req[2], req[3]);
    let mut off = udp::HDR_LEN + dhcp::HDR_LEN;
    sum += csum::at_offset(plan.server_id_csum as u16, off);
    off += plan.server_id_len;
    sum += csum::at_offset(block_sum as u16, off);
    off += block_len;
    let opts = plan.opts;
    sum += csum::at_offset(
        loops::sum_range(opts.client_id_off, opts.client_id_len),
        off,
    );
    0x1_0000 | u16::from_be_bytes(csum::finish_udp(sum)) as u32
}
