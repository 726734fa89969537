//! INFORMATION-REQUEST -> REPLY (protocol.md; RFC 8415 §16, §18.3.6, §21).
//!
//! Same shape as dhcpv4.rs: walk the request's options in the frame, decide, save the UDP
//! payload of one we answer to scratch, then rewrite the frame in place with the pre-encoded
//! block for the requested options. A relayed request is saved first and unwrapped there.

use core::ffi::c_void;

use network_types::ip::Ipv6Hdr;
use xdp_common::{
    counters::Reason,
    maps::{ClientKey, Family, IfaceConfig, OptionBlock, SlotConfig},
    wire::{
        dhcpv6::{self as dhcp, field},
        eth, ipv6, udp,
    },
};

use crate::{
    addr6::Addr6,
    csum,
    handler::{self, Handler},
    loops,
    packet::{self, ptr_at, read_u16, Frame, L2},
    policy, rate, relay6, reply,
    request::{InFrame, Octets, Saved},
    scratch::{self, byte, REQ_MAX},
    state::{
        status::{ENDED, MALFORMED, NOT_FOR_US, UNSERVABLE, WALKING},
        v6::{Options, Plan, Walk},
    },
    verdict::{self, Stop},
};

/// Each option takes at least its 4-octet header: enough calls to walk any request.
const MAX_OPTIONS: u32 = (REQ_MAX / dhcp::OPT_HDR_LEN) as u32;
/// Options walked in the frame before the walk goes on in the saved copy (as DHCPv4's).
const OPTIONS_IN_FRAME: u32 = 32;
const MAX_ORO_CODES: usize = 128;
/// The UDP payload's offset from layer 3 (no extension headers: `handle`).
const PAYLOAD: usize = ipv6::HDR_LEN + udp::HDR_LEN;

/// What `decide` left in the plan for the steps after its loops: the layer-3 offset, bounded
/// again, and the UDP payload's length, read back (`scratch::reread`).
#[inline(always)]
fn carried(plan: &Plan) -> (usize, usize) {
    (
        packet::bound_l3_off(scratch::reread(&plan.l3_off)),
        scratch::reread(&plan.msg_len),
    )
}

/// Entry for IPv6 frames: XDP_TX with the REPLY, or XDP_PASS with the frame untouched.
#[inline(always)]
pub fn handle(ctx: &impl Frame, l2: &L2) -> u32 {
    let Some(ip) = ptr_at::<Ipv6Hdr>(ctx, l2.l3_off) else {
        return verdict::pass(ctx);
    };
    // SAFETY: bounds checked by ptr_at. Extension headers: not a request we answer.
    if unsafe { (*ip).next_hdr } != ipv6::NEXT_HDR_UDP {
        return verdict::pass(ctx);
    }
    let Some(dst_port) = read_u16(ctx, l2.l3_off + ipv6::HDR_LEN + udp::field::DST_PORT.start)
    else {
        return verdict::pass(ctx);
    };
    handler::serve::<V6>(ctx, l2, dst_port)
}

/// DHCPv6 in `handler::serve`'s shape.
struct V6;

impl Handler for V6 {
    const FAMILY: Family = Family::V6;
    const SERVER_PORT: u16 = dhcp::SERVER_PORT;

    /// Every check of protocol.md up to the served set (its mask is returned); the frame is not
    /// changed. The plan in scratch holds what `fit` and `build` need.
    #[inline(always)]
    fn decide(
        ctx: &impl Frame,
        l2: &L2,
        config: &SlotConfig,
        iface: &IfaceConfig,
    ) -> Result<u32, Stop> {
        if iface.server_id_len == 0 || iface.ipv6_link_local == [0; 16] {
            return Err(Reason::NotForUs.into());
        }
        let l3_off = packet::bound_l3_off(l2.l3_off);
        let request = read_headers(ctx, l3_off, iface)?;
        let msg_off = l3_off + PAYLOAD;
        // Most requests are not ours: say so from the frame, before any copy or checksum.
        not_ours_at_a_glance(ctx, msg_off, request.relayed)?;
        // The request's facts go to the plan, and what follows reads them back from there.
        let scratch = scratch::get().ok_or(Stop::Abort)?;
        let plan = &mut scratch.v6_plan;
        scratch::store_apart(&mut plan.l3_off, l2.l3_off);
        scratch::store_apart(&mut plan.msg_len, request.msg_len);
        scratch::store_apart(&mut plan.copied, request.relayed as u64);
        plan.pseudo_and_header = request.pseudo_and_header;
        plan.peer = request.src.0;
        plan.peer_csum = request.src_csum;
        plan.src_mac = request.src_mac;
        plan.ifindex = ctx.ingress_ifindex();
        // A relayed request is unwrapped in the saved copy; a direct one is read in the
        // frame, and copied only once it is one we would answer.
        if request.relayed {
            crate::request::copy_payload(ctx, msg_off, request.msg_len, scratch)?;
            relay6::unwrap(request.msg_len, request.from_global)?;
        } else {
            relay6::direct(request.msg_len)?;
        }
        let scratch = scratch::get().ok_or(Stop::Abort)?;
        let (l3_off, msg_len) = carried(&scratch.v6_plan);
        let path = &scratch.relay6.path;
        let inner = (
            scratch::reread(&path.msg_off) & (REQ_MAX - 1),
            scratch::reread(&path.msg_len),
        );
        let frame = InFrame::new(ctx, l3_off + PAYLOAD);
        if frame.byte(inner.0 + field::MSG_TYPE) != Some(dhcp::MSG_INFORMATION_REQUEST) {
            return Err(Reason::NotInfoRequest.into());
        }
        let opts = parse_options(ctx, (l3_off + PAYLOAD, msg_len), inner.0, inner.1)?;
        if opts.server_id_len != 0 && !server_id_is_ours(ctx, l3_off + PAYLOAD, &opts, iface) {
            return Err(Reason::NotForUs.into());
        }
        let mask = served_mask(ctx, config, &opts)?;
        // Only a request we would answer pays for its copy and its checksum.
        let scratch = scratch::get().ok_or(Stop::Abort)?;
        let (l3_off, msg_len) = carried(&scratch.v6_plan);
        if scratch::reread(&scratch.v6_plan.copied) == 0 {
            crate::request::copy_payload(ctx, l3_off + PAYLOAD, msg_len, scratch)?;
        }
        verify_checksum(msg_len)?;
        scratch::get().ok_or(Stop::Abort)?.v6_plan.opts = opts;
        Ok(mask)
    }

    /// The reply's size (never more than the MTU) and the rate limit.
    #[inline(always)]
    fn fit(config: &SlotConfig, iface: &IfaceConfig, block: &OptionBlock) -> Result<(), Stop> {
        let scratch = scratch::get().ok_or(Stop::Abort)?;
        let relay_prefix_len = scratch.relay6.path.prefix_len;
        let plan = &mut scratch.v6_plan;
        let udp_len = udp::HDR_LEN
            + relay_prefix_len
            + dhcp::HDR_LEN
            + iface.server_id_len as usize
            + block.len as usize
            + plan.opts.client_id_len;
        if ipv6::HDR_LEN + udp_len > iface.mtu as usize {
            return Err(Reason::TooBig.into());
        }
        plan.udp_len = udp_len;
        rate::admit(&config.rate, &rate::mac_key(plan.src_mac), plan.ifindex)?;
        Ok(())
    }

    /// Turn the frame into the REPLY the plan in scratch describes.
    #[inline(always)]
    fn build(ctx: &impl Frame, iface: &IfaceConfig, block: &OptionBlock) -> Result<(), Stop> {
        use xdp_common::wire::{ipv6::field as ip, udp::field as u};
        // Bit 16 set: computed; an Option here would leave a register undefined on None.
        let udp_sum = checksum(iface, block);
        if udp_sum & 0x1_0000 == 0 {
            return Err(Stop::Abort);
        }
        let udp_sum = (udp_sum as u16).to_be_bytes();
        let block_len = block.len as usize;
        let plan = &scratch::get().ok_or(Stop::Abort)?.v6_plan;
        let l3_off = packet::bound_l3_off(plan.l3_off);
        let udp_len = plan.udp_len & 0xffff;
        const UDP: usize = ipv6::HDR_LEN;
        const MSG: usize = UDP + udp::HDR_LEN;
        const LEN: usize = MSG + dhcp::HDR_LEN;
        // Kept in place: layer 2 (MACs, tags) to the transaction-id (a relayed reply writes its
        // own from there).
        reply::resize(
            ctx,
            Family::V6,
            l3_off + ipv6::HDR_LEN + udp_len,
            l3_off + LEN,
        )?;
        // From here on the frame is the reply under construction: any failure aborts.
        let h = ptr_at::<[u8; LEN]>(ctx, l3_off).ok_or(Stop::Abort)? as *mut u8;
        let len = (udp_len as u16).to_be_bytes();
        let (sport, dport) = (
            dhcp::SERVER_PORT.to_be_bytes(),
            relay6::reply_port().to_be_bytes(),
        );
        let v = ipv6::VER_TC_FLOW_DEFAULT;
        // The two 8-octet words, as written below.
        const _: () = assert!(
            ip::VER_TC_FLOW.start == 0
                && ip::LENGTH.start == 4
                && ip::NXT_HDR == 6
                && ip::HOP_LIMIT == 7
                && u::SRC_PORT.start == 0
                && u::CHECKSUM.end == 8
        );
        // SAFETY: ptr_at checked that all LEN octets lie in the frame; every store below ends
        // inside them; the addresses are 16 octets each. Wide stores: octet by octet, the
        // header is some 100 instructions.
        unsafe {
            use packet::put;
            put::u64(
                h,
                ip::VER_TC_FLOW.start,
                u64::from_ne_bytes([
                    v[0],
                    v[1],
                    v[2],
                    v[3],
                    len[0],
                    len[1],
                    ipv6::NEXT_HDR_UDP,
                    ipv6::HOP_LIMIT,
                ]),
            );
            put::octets16(h, ip::SRC_ADDR.start, relay6::reply_source(iface).as_ptr());
            put::octets16(h, ip::DST_ADDR.start, plan.peer.as_ptr() as *const u8);
            put::u64(
                h,
                UDP + u::SRC_PORT.start,
                u64::from_ne_bytes([
                    sport[0], sport[1], dport[0], dport[1], len[0], len[1], udp_sum[0], udp_sum[1],
                ]),
            );
            // msg-type REPLY; the transaction-id stays in place.
            *h.add(MSG + field::MSG_TYPE) = dhcp::MSG_REPLY;
        }
        // Relayed: the Relay-reply headers, then the REPLY's msg-type and transaction-id.
        let mut off = relay6::store_prefix(ctx, l3_off + MSG, udp_len)?;
        let sid_len = iface.server_id_len as usize;
        reply::store_server_id(ctx, off, iface, sid_len)?;
        off += sid_len;
        reply::store_image(ctx, off, block)?;
        off += block_len;
        let scratch = scratch::get().ok_or(Stop::Abort)?;
        let opts = scratch.v6_plan.opts;
        reply::store_from_request(ctx, scratch, off, opts.client_id_off, opts.client_id_len)?;
        reply::swap_macs(ctx, &iface.mac)
    }

    #[inline(always)]
    fn charged() -> Option<(ClientKey, u32)> {
        let plan = &scratch::get()?.v6_plan;
        Some((rate::mac_key(plan.src_mac), plan.ifindex))
    }
}

/// msg-type INFORMATION-REQUEST from a client, Relay-forward from a relay (relay6.rs looks
/// inside), read in the frame; anything else is the normal server's.
#[inline(always)]
fn not_ours_at_a_glance(ctx: &impl Frame, msg_off: usize, relayed: bool) -> Result<(), Stop> {
    let head = ptr_at::<[u8; dhcp::HDR_LEN]>(ctx, msg_off).ok_or(Reason::Malformed)?;
    // SAFETY: bounds checked by ptr_at.
    let msg_type = unsafe { (*head)[field::MSG_TYPE] };
    if relayed != (msg_type == dhcp::MSG_RELAY_FORW) {
        return Err(Reason::NotForUs.into());
    }
    if msg_type == dhcp::MSG_RELAY_FORW {
        return Ok(());
    }
    if msg_type != dhcp::MSG_INFORMATION_REQUEST {
        return Err(Reason::NotInfoRequest.into());
    }
    Ok(())
}

/// What the checks need from the IPv6/UDP headers.
struct Request {
    msg_len: usize,
    src: Addr6,
    src_mac: [u8; 6],
    /// Sum of `src`, which the reply's pseudo-header has too.
    src_csum: u16,
    /// Pseudo-header and UDP header, checksum field included.
    pseudo_and_header: u64,
    /// From a relay agent (UDP 547 -> 547), and from beyond link scope.
    relayed: bool,
    from_global: bool,
}

/// The IPv6 and UDP headers: shape, lengths, addresses, ports (the checksum is verified
/// later, by `verify_checksum`, only for a request we would answer).
#[inline(always)]
fn read_headers(ctx: &impl Frame, l3_off: usize, iface: &IfaceConfig) -> Result<Request, Stop> {
    use xdp_common::wire::{ipv6::field as ip, udp::field as u};
    const LEN: usize = ipv6::HDR_LEN + udp::HDR_LEN;
    const UDP: usize = ipv6::HDR_LEN;
    let malformed = Stop::Pass(Reason::Malformed);
    let h = ptr_at::<[u8; LEN]>(ctx, l3_off).ok_or(Reason::Malformed)?;
    // SAFETY: bounds checked by ptr_at.
    let h = unsafe { &*h };
    let be16 = |at: usize| u16::from_be_bytes([h[at], h[at + 1]]);
    if h[ip::VER_TC_FLOW.start] >> 4 != ipv6::VERSION {
        return Err(malformed);
    }
    // SAFETY: both addresses lie inside the LEN octets ptr_at checked.
    let (src, dst) = unsafe {
        let p = h.as_ptr();
        (
            Addr6::load(p.add(ip::SRC_ADDR.start)),
            Addr6::load(p.add(ip::DST_ADDR.start)),
        )
    };
    let sport = be16(UDP + u::SRC_PORT.start);
    // From a relay agent: its own address rules (relay6.rs).
    let relayed = sport == dhcp::SERVER_PORT;
    let from_global = if relayed {
        relay6::relay_addresses_ok(src, dst, iface)?
    } else {
        const SERVERS: Addr6 = Addr6::from_octets(ipv6::ALL_DHCP_RELAY_AGENTS_AND_SERVERS);
        if dst != SERVERS || sport != dhcp::CLIENT_PORT {
            return Err(Reason::NotForUs.into());
        }
        crate::rules::v6_source_is_link_local(&src.octets())?;
        false
    };
    let payload_len = be16(ip::LENGTH.start) as usize;
    let udp_len = be16(UDP + u::LENGTH.start) as usize;
    let frame_len = packet::frame_len(ctx);
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
    let udp_csum = be16(UDP + u::CHECKSUM.start) as u64;
    if udp_csum == 0 {
        return Err(malformed);
    }
    let src_csum = src.csum();
    let pseudo_and_header = src_csum as u64
        + dst.csum() as u64
        + udp_len as u64 * 2
        + ipv6::NEXT_HDR_UDP as u64
        + be16(UDP + u::SRC_PORT.start) as u64
        + be16(UDP + u::DST_PORT.start) as u64
        + udp_csum;
    let mac = ptr_at::<[u8; 6]>(ctx, eth::field::SOURCE.start).ok_or(Reason::Malformed)?;
    Ok(Request {
        msg_len,
        src,
        // SAFETY: bounds checked by ptr_at.
        src_mac: unsafe { *mac },
        src_csum,
        pseudo_and_header,
        relayed,
        from_global,
    })
}

/// The UDP checksum over the pseudo-header, the header (their sum in the plan) and the saved
/// message.
#[inline(always)]
fn verify_checksum(msg_len: usize) -> Result<(), Stop> {
    let scratch = scratch::get().ok_or(Stop::Abort)?;
    let pseudo_and_header = scratch::reread(&scratch.v6_plan.pseudo_and_header);
    let payload = csum::sum_request(&scratch.req, msg_len).ok_or(Stop::Abort)?;
    if csum::fold(pseudo_and_header + payload as u64) != 0xffff {
        return Err(Reason::Malformed.into());
    }
    Ok(())
}

/// Options whose second instance the walker refuses (bits of `Walk::seen`).
const SEEN_CLIENT_ID: u64 = 1;
const SEEN_SERVER_ID: u64 = 2;
const SEEN_ORO: u64 = 4;

/// DHCPv6 options (RFC 8415 §21.1) of the saved request, STEPS_PER_CALL a call: the walk
/// of a message with more options than `OPTIONS_IN_FRAME`, from where that stopped.
extern "C" fn walk_options(index: u32, _: *mut c_void) -> i64 {
    loops::steps(index, |scratch, _| {
        walk_option(&Saved(&scratch.req), &mut scratch.v6_walk)
    })
}

/// One option: 0 to go on, 1 when the walk is over (`status` says how).
#[inline(always)]
fn walk_option(req: &impl Octets, w: &mut Walk) -> i64 {
    let i = w.i;
    if i == w.len {
        return w.stop(ENDED);
    }
    if i + dhcp::OPT_HDR_LEN > w.len {
        return w.stop(MALFORMED);
    }
    let (Some(code), Some(opt_len)) = (req.be16(i), req.be16(i + 2)) else {
        return w.stop(MALFORMED);
    };
    let opt_len = opt_len as usize;
    let data = i + dhcp::OPT_HDR_LEN;
    if data + opt_len > w.len {
        return w.stop(MALFORMED);
    }
    let seen = w.seen;
    let o = &mut w.opts;
    let (status, bit) = match code {
        dhcp::OPT_IA_NA | dhcp::OPT_IA_TA | dhcp::OPT_IA_PD => (NOT_FOR_US, 0),
        dhcp::OPT_CLIENTID
            if seen & SEEN_CLIENT_ID != 0 || opt_len > dhcp::MAX_ECHOED_CLIENT_ID_LEN =>
        {
            (UNSERVABLE, 0)
        }
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
    w.read(status, bit, data + opt_len)
}

/// Walk the options after msg-type and transaction-id of the message at `off` (`len`
/// octets): in the frame (the UDP payload at `payload_off`, `payload_len` octets) for the
/// first `OPTIONS_IN_FRAME`, then (rarely) in the saved copy, made here unless the plan's
/// `copied` says it is there already.
#[inline(always)]
fn parse_options(
    ctx: &impl Frame,
    payload: (usize, usize),
    off: usize,
    len: usize,
) -> Result<Options, Stop> {
    let (payload_off, payload_len) = payload;
    let scratch = scratch::get().ok_or(Stop::Abort)?;
    let w = &mut scratch.v6_walk;
    w.i = off + field::OPTIONS.start;
    w.len = off + len;
    scratch::store_apart(&mut w.status, WALKING);
    scratch::store_apart(&mut w.seen, 0);
    // As DHCPv4's: what the walk may leave unset, zero, one store each.
    let o = &mut w.opts;
    scratch::store_apart(&mut o.client_id_off, 0);
    scratch::store_apart(&mut o.client_id_len, 0);
    scratch::store_apart(&mut o.server_id_off, 0);
    scratch::store_apart(&mut o.server_id_len, 0);
    scratch::store_apart(&mut o.oro_off, 0);
    scratch::store_apart(&mut o.oro_len, 0);
    let frame = InFrame::new(ctx, payload_off);
    loops::in_frame(OPTIONS_IN_FRAME, |_| walk_option(&frame, w));
    // Still walking (the last step in the frame may have reached the end exactly: the next
    // one, in the copy, says so).
    if w.status == WALKING {
        if scratch::reread(&scratch.v6_plan.copied) == 0 {
            crate::request::copy_payload(ctx, payload_off, payload_len, scratch)?;
            scratch::store_apart(&mut scratch.v6_plan.copied, 1);
        }
        loops::run(loops::calls(MAX_OPTIONS), walk_options);
    }
    let w = &scratch::get().ok_or(Stop::Abort)?.v6_walk;
    match w.status {
        ENDED => {}
        UNSERVABLE => return Err(Reason::Unservable.into()),
        NOT_FOR_US => return Err(Reason::NotForUs.into()),
        _ => return Err(Reason::Malformed.into()),
    }
    Ok(w.opts)
}

/// Does the request's Server Identifier (read in the frame, the UDP payload at
/// `payload_off`) name our DUID? Compared 8 octets at a time; octet by octet only in a word
/// the frame ends within.
#[inline(always)]
fn server_id_is_ours(
    ctx: &impl Frame,
    payload_off: usize,
    opts: &Options,
    iface: &IfaceConfig,
) -> bool {
    use crate::packet::get;
    use xdp_common::maps::SERVER_ID_OPT_CAP;
    const WORD: usize = 8;
    const _: () = assert!(dhcp::OPT_HDR_LEN + dhcp::MAX_DUID_LEN + WORD <= SERVER_ID_OPT_CAP);
    let len = opts.server_id_len;
    if len + dhcp::OPT_HDR_LEN != iface.server_id_len as usize || len > dhcp::MAX_DUID_LEN {
        return false;
    }
    let frame = InFrame::new(ctx, payload_off);
    let ours = iface.server_id_opt.as_ptr();
    let mut k = 0;
    while k < dhcp::MAX_DUID_LEN {
        if k >= len {
            break;
        }
        let at = opts.server_id_off + k;
        let rest = len - k;
        // SAFETY: OPT_HDR_LEN + MAX_DUID_LEN + WORD octets lie inside `server_id_opt`.
        let mine = unsafe { get::u64(ours, dhcp::OPT_HDR_LEN + k) };
        let theirs = match frame.word(at) {
            Some(word) => word,
            None => {
                let mut word = 0u64;
                let mut j = 0;
                while j < WORD {
                    if j >= rest {
                        break;
                    }
                    let Some(octet) = frame.byte(at + j) else {
                        return false;
                    };
                    word |= (octet as u64) << (8 * j);
                    j += 1;
                }
                word
            }
        };
        // Little-endian: the first `rest` octets are the low ones.
        let mask = if rest >= WORD {
            u64::MAX
        } else {
            (1u64 << (rest * 8)) - 1
        };
        if (theirs ^ mine) & mask != 0 {
            return false;
        }
        k += WORD;
    }
    true
}

/// The served-set mask for the ORO (read in the frame), after the request policy (LwM2M
/// asked for; `complete` and anything unservable).
#[inline(always)]
fn served_mask(ctx: &impl Frame, config: &SlotConfig, opts: &Options) -> Result<u32, Stop> {
    let codes = opts.oro_len / 2;
    if codes > MAX_ORO_CODES {
        return Err(Reason::Unservable.into());
    }
    let policy = &config.v6;
    let scratch = scratch::get().ok_or(Stop::Abort)?;
    let frame = InFrame::new(ctx, carried(&scratch.v6_plan).0 + PAYLOAD);
    let scan = &mut scratch.scan;
    policy::start_scan(scan);
    let off = opts.oro_off;
    loops::in_frame(MAX_ORO_CODES as u32, |k| {
        if k >= codes {
            return 1;
        }
        let Some(code) = frame.be16(off + 2 * k) else {
            scan.malformed = 1;
            return 1;
        };
        policy::found(scan, policy.action(code));
        0
    });
    policy::served_set(scan, policy.lwm2m_mask, policy.policy)
}

/// The REPLY's UDP checksum (inlined into `build`, as DHCPv4's `checksums`).
#[inline(always)]
fn checksum(iface: &IfaceConfig, block: &OptionBlock) -> u32 {
    let Some(udp_len) = scratch::get().map(|s| s.v6_plan.udp_len) else {
        return 0;
    };
    let relay_prefix = relay6::prefix_sum(udp_len);
    let Some(scratch) = scratch::get() else {
        return 0;
    };
    let plan = &scratch.v6_plan;
    let req = &scratch.req;
    let path = &scratch.relay6.path;
    let hops = path.hops;
    // The addresses' sums come precomputed: the interface's from userspace, the peer's from
    // the request's pseudo-header.
    let mut sum = relay6::reply_source_csum(iface) as u64
        + plan.peer_csum as u64
        + plan.udp_len as u64 * 2
        + ipv6::NEXT_HDR_UDP as u64
        + dhcp::SERVER_PORT as u64
        + relay6::reply_port() as u64
        + relay_prefix;
    // msg-type REPLY and the transaction-id: direct, one word of the saved request; relayed,
    // after the Relay-reply headers, which may leave them at an odd offset.
    let mut off = udp::HDR_LEN + path.prefix_len;
    if hops == 0 {
        const _: () = assert!(field::MSG_TYPE == 0 && field::TRANSACTION_ID.end == 4);
        let transaction_id = u32::from_ne_bytes([0, 0xff, 0xff, 0xff]) as u64;
        let native = scratch::word32(req, field::MSG_TYPE) & transaction_id;
        sum += csum::fold(native).swap_bytes() as u64 + csum::word(dhcp::MSG_REPLY, 0);
    } else {
        let t = path.msg_off + field::TRANSACTION_ID.start;
        sum += csum::at_offset(csum::word(dhcp::MSG_REPLY, byte(req, t)) as u16, off)
            + csum::at_offset(
                csum::word(byte(req, t + 1), byte(req, t + 2)) as u16,
                off + 2,
            );
    }
    off += dhcp::HDR_LEN;
    sum += csum::at_offset(iface.server_id_csum as u16, off);
    off += iface.server_id_len as usize;
    sum += csum::at_offset(block.csum as u16, off);
    off += block.len as usize;
    let opts = plan.opts;
    sum += csum::at_offset(
        loops::sum_range(opts.client_id_off, opts.client_id_len),
        off,
    );
    0x1_0000 | u16::from_be_bytes(csum::finish_udp(sum)) as u32
}
