//! DHCPINFORM -> DHCPACK (protocol.md; RFC 2131 §4.3.5, RFC 2132, RFC 6842, RFC 3046).
//!
//! The request's options are walked and its PRL scanned where they lie in the frame; only a
//! request we answer is copied to the per-CPU scratch buffer, for its checksum and the
//! options the ACK echoes. The ACK is then built in place: headers rewritten, the
//! pre-encoded block for the requested set of options copied in, options 61 and 82 echoed
//! from the saved request.

use core::ffi::c_void;

use network_types::{ip::Ipv4Hdr, udp::UdpHdr};
use xdp_common::{
    counters::Reason,
    maps::{ClientKey, Family, IfaceConfig, OptionBlock, SlotConfig},
    wire::{
        dhcpv4::{self as dhcp, field, ACK_HEAD_LEN, END_LEN},
        eth, ipv4, udp, Field,
    },
};

use crate::{
    csum,
    handler::{self, Handler},
    loops,
    packet::{self, ptr_at, Frame, L2},
    policy, rate, reply,
    request::{InFrame, Octets, Saved},
    scratch::{self, ReqBuf, REQ_MAX},
    state::{
        status::{ENDED, MALFORMED, UNSERVABLE, WALKING},
        v4::{Options, Plan, Walk},
    },
    verdict::{self, Stop},
};

/// Walker calls before it gives up: each consumes at least one octet (a PAD), so this walks
/// any request's options, PADs anywhere before End (protocol.md) included.
const MAX_OPTIONS: u32 = REQ_MAX as u32;
/// Options walked in the frame, with plain loop steps the verifier checks one by one, before
/// the walk goes on in the saved copy: more than clients send (long PAD runs go on).
const OPTIONS_IN_FRAME: u32 = 64;
const MAX_PRL: u32 = 255;
const BROADCAST: [u8; 4] = [255; 4];
/// The UDP payload's offset from layer 3 (no IP options: `read_headers`).
const PAYLOAD: usize = ipv4::HDR_LEN + udp::HDR_LEN;

/// What `decide` left in the plan for the steps after its loops: the layer-3 offset, bounded
/// again, and the UDP payload's length, read back (`scratch::reread`).
#[inline(always)]
fn carried(plan: &Plan) -> (usize, usize) {
    (
        packet::bound_l3_off(scratch::reread(&plan.l3_off)),
        scratch::reread(&plan.payload_len),
    )
}

/// The 4 octets of an address field of the saved request.
#[inline(always)]
fn addr_at(req: &ReqBuf, f: Field) -> [u8; 4] {
    let a = f.start;
    [req[a], req[a + 1], req[a + 2], req[a + 3]]
}

/// Entry for IPv4 frames: XDP_TX with the ACK, or XDP_PASS with the frame untouched.
#[inline(always)]
pub fn handle(ctx: &impl Frame, l2: &L2) -> u32 {
    let ip_off = l2.l3_off;
    let Some(ip) = ptr_at::<Ipv4Hdr>(ctx, ip_off) else {
        return verdict::pass(ctx);
    };
    // SAFETY: bounds checked by ptr_at; Ipv4Hdr has alignment 1.
    let ip = unsafe { &*ip };
    let frag = u16::from_be_bytes(ip.frags);
    let ihl = (ip.vihl & ipv4::IHL_MASK) as usize * ipv4::IHL_WORD_LEN;
    // A non-first fragment has no UDP header to look at.
    if ip.proto != ipv4::PROTO_UDP || frag & ipv4::FRAGMENT_OFFSET_MASK != 0 || ihl < ipv4::HDR_LEN
    {
        return verdict::pass(ctx);
    }
    let Some(udp) = ptr_at::<UdpHdr>(ctx, ip_off + ihl) else {
        return verdict::pass(ctx);
    };
    // SAFETY: bounds checked by ptr_at.
    handler::serve::<V4>(ctx, l2, u16::from_be_bytes(unsafe { (*udp).dst }))
}

/// DHCPv4 in `handler::serve`'s shape.
struct V4;

impl Handler for V4 {
    const FAMILY: Family = Family::V4;
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
        if iface.ipv4 == [0; 4] {
            return Err(Reason::NotForUs.into());
        }
        let ip_off = packet::bound_l3_off(l2.l3_off);
        let request = read_headers(ctx, ip_off)?;
        // Most requests are not ours: say so from the frame, before any copy or checksum.
        not_ours_at_a_glance(ctx, ip_off + PAYLOAD)?;
        // The request's facts go to the plan, and what follows reads them back from there.
        let plan = &mut scratch::get().ok_or(Stop::Abort)?.v4_plan;
        scratch::store_apart(&mut plan.l3_off, l2.l3_off);
        scratch::store_apart(&mut plan.payload_len, request.payload_len);
        plan.request_dst = request.dst;
        plan.src_mac = request.src_mac;
        let opts = parse_options(ctx)?;
        if opts.msg_type != dhcp::MSG_INFORM {
            return Err(Reason::NotInfoRequest.into());
        }
        let dst = scratch::reread(&scratch::get().ok_or(Stop::Abort)?.v4_plan.request_dst);
        if dst != BROADCAST && dst != iface.ipv4 {
            return Err(Reason::NotForUs.into());
        }
        if opts.has_server_id != 0 && opts.server_id != iface.ipv4 {
            return Err(Reason::NotForUs.into());
        }
        let mask = served_mask(ctx, config, &opts)?;
        // Only a request we would answer pays for its copy and its checksums.
        let scratch = scratch::get().ok_or(Stop::Abort)?;
        let (l3_off, len) = carried(&scratch.v4_plan);
        if scratch::reread(&scratch.v4_plan.copied) == 0 {
            crate::request::copy_payload(ctx, l3_off + PAYLOAD, len, scratch)?;
        }
        verify_checksums(ctx, l3_off, len)?;
        let scratch = scratch::get().ok_or(Stop::Abort)?;
        let (dst, dst_port) = destination(&scratch.req)?;
        let rate_key = rate::v4_key(&scratch.req, scratch.v4_plan.src_mac);
        // Field by field: the sizes are `fit`'s, and zeroing them here would be a memset call.
        let plan = &mut scratch.v4_plan;
        plan.dst = dst;
        plan.dst_port = dst_port;
        plan.rate_key = rate_key;
        plan.ifindex = ctx.ingress_ifindex();
        plan.opts = opts;
        Ok(mask)
    }

    /// The reply's sizes (protocol.md "Size": 576 / option 57 / MTU) and the rate limit.
    #[inline(always)]
    fn fit(config: &SlotConfig, iface: &IfaceConfig, block: &OptionBlock) -> Result<(), Stop> {
        let plan = &mut scratch::get().ok_or(Stop::Abort)?.v4_plan;
        // 53 + 54 (9 octets), the block, the echoes, End, padding.
        let block_len = block.len as usize;
        let echo_len = plan.opts.client_id_len + plan.opts.relay_len;
        let used_len = field::OPTIONS.start + ACK_HEAD_LEN + block_len + echo_len + END_LEN;
        let msg_len = if used_len < dhcp::MIN_MESSAGE_LEN {
            dhcp::MIN_MESSAGE_LEN
        } else {
            used_len
        };
        let udp_len = udp::HDR_LEN + msg_len;
        let ip_len = ipv4::HDR_LEN + udp_len;
        let mut limit = ipv4::MIN_MAX_DATAGRAM;
        if plan.opts.max_message_size > limit {
            limit = plan.opts.max_message_size;
        }
        if limit > iface.mtu as usize {
            limit = iface.mtu as usize;
        }
        if ip_len > limit {
            return Err(Reason::TooBig.into());
        }
        plan.used_len = used_len;
        plan.msg_len = msg_len;
        plan.udp_len = udp_len;
        plan.ip_len = ip_len;
        rate::admit(&config.rate, &plan.rate_key, plan.ifindex)?;
        Ok(())
    }

    /// Turn the frame into the ACK `plan` describes. The request's xid, flags, ciaddr, giaddr
    /// and chaddr (and htype, hlen) stay where they are: the ACK takes them as they came.
    #[inline(always)]
    fn build(ctx: &impl Frame, iface: &IfaceConfig, block: &OptionBlock) -> Result<(), Stop> {
        let sums = checksums(iface, block).ok_or(Stop::Abort)?;
        let scratch = scratch::get().ok_or(Stop::Abort)?;
        let plan = &scratch.v4_plan;
        let l3_off = packet::bound_l3_off(plan.l3_off);
        let bootp_off = l3_off + ipv4::HDR_LEN + udp::HDR_LEN;
        // Kept in place: layer 2 (MACs, tags) to the BOOTP fields before sname.
        let keep = bootp_off + field::SNAME.start;
        reply::resize(ctx, Family::V4, l3_off + plan.ip_len, keep)?;
        // From here on the frame is the reply under construction: any failure aborts.
        // sname, file, cookie, options 53 and 54 (its address written below), the block.
        reply::store_image(ctx, bootp_off + field::SNAME.start, block)?;
        write_headers(ctx, l3_off, plan, iface.ipv4, &sums)?;
        let mut off = bootp_off + field::OPTIONS.start + ACK_HEAD_LEN + block.len as usize;
        let (opts, pad_len) = (plan.opts, plan.msg_len - plan.used_len);
        // The last echo takes End along in the same store: End is written into the saved
        // request right after that option (the walk found End after every option, so this is
        // inside the request, and nothing reads the request's octet there any more).
        let (first, last) = if opts.relay_len != 0 {
            (
                (opts.client_id_off, opts.client_id_len),
                (opts.relay_off, opts.relay_len),
            )
        } else {
            ((0, 0), (opts.client_id_off, opts.client_id_len))
        };
        reply::store_from_request(ctx, scratch, off, first.0, first.1)?;
        off += first.1;
        if last.1 == 0 {
            reply::store_byte(ctx, off, dhcp::OPT_END)?;
        } else {
            scratch.req[(last.0 + last.1) & (REQ_MAX - 1)] = dhcp::OPT_END;
            reply::store_from_request(ctx, scratch, off, last.0, last.1 + END_LEN)?;
        }
        off += last.1 + END_LEN;
        reply::zero(ctx, scratch, off, pad_len)?;
        reply::swap_macs(ctx, &iface.mac)
    }

    #[inline(always)]
    fn charged() -> Option<(ClientKey, u32)> {
        let plan = &scratch::get()?.v4_plan;
        Some((plan.rate_key, plan.ifindex))
    }
}

/// What the checks need from the IPv4/UDP headers.
struct Request {
    payload_len: usize,
    dst: [u8; 4],
    src_mac: [u8; 6],
}

/// The IPv4 and UDP headers' shape and lengths (not their checksums: `verify_checksums`).
#[inline(always)]
fn read_headers(ctx: &impl Frame, ip_off: usize) -> Result<Request, Stop> {
    use xdp_common::wire::{ipv4::field as ip, udp::field as u};
    let malformed = Stop::Pass(Reason::Malformed);
    let hdrs =
        ptr_at::<[u8; ipv4::HDR_LEN + udp::HDR_LEN]>(ctx, ip_off).ok_or(Reason::Malformed)?;
    // SAFETY: bounds checked by ptr_at.
    let h = unsafe { &*hdrs };
    let be16 = |f: core::ops::Range<usize>| u16::from_be_bytes([h[f.start], h[f.start + 1]]);
    // No IP options, no fragments (More Fragments or an offset).
    if h[ip::VER_IHL] != ipv4::VER_IHL_NO_OPTIONS || be16(ip::FLG_OFF) & ipv4::FRAGMENT_BITS != 0 {
        return Err(malformed);
    }
    let total_len = be16(ip::LENGTH) as usize;
    let udp_len = be16(ipv4::HDR_LEN + u::LENGTH.start..ipv4::HDR_LEN + u::LENGTH.end) as usize;
    let frame_len = packet::frame_len(ctx);
    if ip_off + total_len > frame_len || udp_len + ipv4::HDR_LEN != total_len {
        return Err(malformed);
    }
    if udp_len < udp::HDR_LEN + field::OPTIONS.start + 1 {
        return Err(malformed);
    }
    let payload_len = udp_len - udp::HDR_LEN;
    if payload_len > REQ_MAX {
        return Err(Reason::TooBig.into());
    }
    let d = ip::DST_ADDR.start;
    let mac = ptr_at::<[u8; 6]>(ctx, eth::field::SOURCE.start).ok_or(Reason::Malformed)?;
    Ok(Request {
        payload_len,
        dst: [h[d], h[d + 1], h[d + 2], h[d + 3]],
        // SAFETY: bounds checked by ptr_at.
        src_mac: unsafe { *mac },
    })
}

/// op BOOTREQUEST, the magic cookie, and, where option 53 comes first (as every client
/// sends it), message type INFORM; read in the frame. Anything else is the normal server's.
#[inline(always)]
fn not_ours_at_a_glance(ctx: &impl Frame, payload_off: usize) -> Result<(), Stop> {
    use xdp_common::wire::dhcpv4::{field as f, option};
    const LEN: usize = f::OPTIONS.start + 3;
    let not_ours = Stop::Pass(Reason::NotInfoRequest);
    let Some(p) = ptr_at::<[u8; LEN]>(ctx, payload_off) else {
        return Ok(()); // shorter than that: the walk decides
    };
    // SAFETY: bounds checked by ptr_at.
    let p = unsafe { &*p };
    let c = f::MAGIC_COOKIE.start;
    if p[f::OP] != dhcp::OP_BOOTREQUEST
        || [p[c], p[c + 1], p[c + 2], p[c + 3]] != dhcp::MAGIC_COOKIE
    {
        return Err(not_ours);
    }
    let o = f::OPTIONS.start;
    if p[o + option::CODE] == dhcp::OPT_MESSAGE_TYPE
        && p[o + option::LENGTH] == 1
        && p[o + option::DATA.start] != dhcp::MSG_INFORM
    {
        return Err(not_ours);
    }
    Ok(())
}

/// The IPv4 header checksum and the UDP checksum (pseudo-header, header, the saved
/// payload), unless the request sent none (0 over IPv4, RFC 768).
#[inline(always)]
fn verify_checksums(ctx: &impl Frame, ip_off: usize, payload_len: usize) -> Result<(), Stop> {
    use xdp_common::wire::{ipv4::field as ip, udp::field as u};
    let malformed = Stop::Pass(Reason::Malformed);
    let hdrs =
        ptr_at::<[u8; ipv4::HDR_LEN + udp::HDR_LEN]>(ctx, ip_off).ok_or(Reason::Malformed)?;
    // SAFETY: bounds checked by ptr_at.
    let h = unsafe { &*hdrs };
    let mut ip_sum = 0;
    let mut i = 0;
    while i < ipv4::HDR_LEN {
        ip_sum += csum::word(h[i], h[i + 1]);
        i += 2;
    }
    if csum::fold(ip_sum) != 0xffff {
        return Err(malformed);
    }
    let word = |at: usize| csum::word(h[at], h[at + 1]);
    let udp = ipv4::HDR_LEN;
    if word(udp + u::CHECKSUM.start) == 0 {
        return Ok(());
    }
    let udp_len = (payload_len + udp::HDR_LEN) as u64;
    let pseudo_and_header = word(ip::SRC_ADDR.start)
        + word(ip::SRC_ADDR.start + 2)
        + word(ip::DST_ADDR.start)
        + word(ip::DST_ADDR.start + 2)
        + ipv4::PROTO_UDP as u64
        + udp_len * 2
        + word(udp + u::SRC_PORT.start)
        + word(udp + u::DST_PORT.start)
        + word(udp + u::CHECKSUM.start);
    let scratch = scratch::get().ok_or(Stop::Abort)?;
    let payload = csum::sum_request(&scratch.req, payload_len).ok_or(Stop::Abort)?;
    if csum::fold(pseudo_and_header + payload as u64) != 0xffff {
        return Err(malformed);
    }
    Ok(())
}

/// Options whose second instance the walker refuses (bits of `Walk::seen`).
const SEEN_MSG_TYPE: u64 = 1;
const SEEN_PRL: u64 = 2;
const SEEN_CLIENT_ID: u64 = 4;
const SEEN_RELAY: u64 = 8;

/// BOOTP options (RFC 2132 §2) of the saved request, STEPS_PER_CALL a call: the walk
/// of a request with more options than `OPTIONS_IN_FRAME`, from where that stopped.
extern "C" fn walk_options(index: u32, _: *mut c_void) -> i64 {
    loops::steps(index, |scratch, _| {
        walk_option(&Saved(&scratch.req), &mut scratch.v4_walk)
    })
}

/// One option: 0 to go on, 1 when the walk is over (`status` says how).
#[inline(always)]
fn walk_option(req: &impl Octets, w: &mut Walk) -> i64 {
    let i = w.i;
    if i >= w.len {
        return 1; // ran out before End
    }
    let Some(code) = req.byte(i) else {
        return w.stop(MALFORMED);
    };
    if code == dhcp::OPT_PAD {
        w.i = i + 1;
        return 0;
    }
    if code == dhcp::OPT_END {
        return w.stop(ENDED);
    }
    if i + 2 > w.len {
        return w.stop(MALFORMED);
    }
    let Some(opt_len) = req.byte(i + 1) else {
        return w.stop(MALFORMED);
    };
    let opt_len = opt_len as usize;
    let data = i + 2;
    if data + opt_len > w.len {
        return w.stop(MALFORMED);
    }
    let seen = w.seen;
    let o = &mut w.opts;
    let (status, bit) = match code {
        dhcp::OPT_MESSAGE_TYPE if opt_len != 1 || seen & SEEN_MSG_TYPE != 0 => (MALFORMED, 0),
        dhcp::OPT_MESSAGE_TYPE => match req.byte(data) {
            Some(t) => {
                o.msg_type = t;
                (WALKING, SEEN_MSG_TYPE)
            }
            None => (MALFORMED, 0),
        },
        // A second instance would be concatenated (RFC 3396): not the fast path's job.
        dhcp::OPT_PARAMETER_REQUEST_LIST if seen & SEEN_PRL != 0 => (UNSERVABLE, 0),
        dhcp::OPT_PARAMETER_REQUEST_LIST => {
            o.prl_off = data;
            o.prl_len = opt_len;
            (WALKING, SEEN_PRL)
        }
        dhcp::OPT_MAX_MESSAGE_SIZE if opt_len != 2 => (MALFORMED, 0),
        dhcp::OPT_MAX_MESSAGE_SIZE => match req.be16(data) {
            Some(size) => {
                o.max_message_size = size as usize;
                (WALKING, 0)
            }
            None => (MALFORMED, 0),
        },
        dhcp::OPT_CLIENT_ID if seen & SEEN_CLIENT_ID != 0 => (UNSERVABLE, 0),
        dhcp::OPT_CLIENT_ID => {
            o.client_id_off = i;
            o.client_id_len = opt_len + 2;
            (WALKING, SEEN_CLIENT_ID)
        }
        dhcp::OPT_RELAY_AGENT_INFO if seen & SEEN_RELAY != 0 => (UNSERVABLE, 0),
        dhcp::OPT_RELAY_AGENT_INFO => {
            o.relay_off = i;
            o.relay_len = opt_len + 2;
            (WALKING, SEEN_RELAY)
        }
        dhcp::OPT_SERVER_ID if opt_len != 4 => (MALFORMED, 0),
        dhcp::OPT_SERVER_ID => match (
            req.byte(data),
            req.byte(data + 1),
            req.byte(data + 2),
            req.byte(data + 3),
        ) {
            (Some(a), Some(b), Some(c), Some(d)) => {
                o.has_server_id = 1;
                o.server_id = [a, b, c, d];
                (WALKING, 0)
            }
            _ => (MALFORMED, 0),
        },
        // Options in sname/file: the fast path does not look there.
        dhcp::OPT_OVERLOAD => (UNSERVABLE, 0),
        _ => (WALKING, 0),
    };
    w.read(status, bit, data + opt_len)
}

/// Walk the options of the request in the plan: in the frame for the first
/// `OPTIONS_IN_FRAME`, then (rarely) in the saved copy (the plan's `copied` says which).
#[inline(always)]
fn parse_options(ctx: &impl Frame) -> Result<Options, Stop> {
    let (l3_off, len) = carried(&scratch::get().ok_or(Stop::Abort)?.v4_plan);
    let payload_off = l3_off + PAYLOAD;
    let frame = InFrame::new(ctx, payload_off);
    let (c, cookie) = (field::MAGIC_COOKIE.start, dhcp::MAGIC_COOKIE);
    // op = BOOTREQUEST and the magic cookie, or this is not a DHCP request at all.
    if frame.byte(field::OP) != Some(dhcp::OP_BOOTREQUEST)
        || frame.byte(c) != Some(cookie[0])
        || frame.byte(c + 1) != Some(cookie[1])
        || frame.byte(c + 2) != Some(cookie[2])
        || frame.byte(c + 3) != Some(cookie[3])
    {
        return Err(Reason::NotInfoRequest.into());
    }
    let scratch = scratch::get().ok_or(Stop::Abort)?;
    let w = &mut scratch.v4_walk;
    w.i = field::OPTIONS.start;
    w.len = len;
    scratch::store_apart(&mut w.status, WALKING);
    scratch::store_apart(&mut w.seen, 0);
    // Every field the walk may leave unset, zero: read back from the map they are unknown to
    // the verifier whatever the walk found (no "found or not" to tell apart in every later
    // step). Stores of their own: merged, they would be a memset call.
    let o = &mut w.opts;
    scratch::store_apart(&mut o.msg_type, 0);
    scratch::store_apart(&mut o.prl_off, 0);
    scratch::store_apart(&mut o.prl_len, 0);
    scratch::store_apart(&mut o.max_message_size, 0);
    scratch::store_apart(&mut o.client_id_off, 0);
    scratch::store_apart(&mut o.client_id_len, 0);
    scratch::store_apart(&mut o.relay_off, 0);
    scratch::store_apart(&mut o.relay_len, 0);
    scratch::store_apart(&mut o.has_server_id, 0);
    loops::in_frame(OPTIONS_IN_FRAME, |_| walk_option(&frame, w));
    // Still walking: more options than the steps in the frame (or it ran out before End,
    // which the next step, in the copy, says).
    let copied = w.status == WALKING;
    scratch::store_apart(&mut scratch.v4_plan.copied, copied as u64);
    if copied {
        crate::request::copy_payload(ctx, payload_off, len, scratch)?;
        loops::run(loops::calls(MAX_OPTIONS), walk_options);
    }
    let w = &scratch::get().ok_or(Stop::Abort)?.v4_walk;
    match w.status {
        ENDED => {}
        UNSERVABLE => return Err(Reason::Unservable.into()),
        _ => return Err(Reason::Malformed.into()),
    }
    Ok(w.opts)
}

/// The served-set mask for the PRL (read in the frame), after the request policy (LwM2M
/// asked for; `complete` and anything unservable).
#[inline(always)]
fn served_mask(ctx: &impl Frame, config: &SlotConfig, opts: &Options) -> Result<u32, Stop> {
    let scratch = scratch::get().ok_or(Stop::Abort)?;
    let frame = InFrame::new(ctx, carried(&scratch.v4_plan).0 + PAYLOAD);
    let scan = &mut scratch.scan;
    policy::start_scan(scan);
    let (off, len) = (opts.prl_off, opts.prl_len);
    loops::in_frame(MAX_PRL, |k| {
        if k >= len {
            return 1;
        }
        let Some(code) = frame.byte(off + k) else {
            scan.malformed = 1;
            return 1;
        };
        policy::found(scan, config.v4.code_action[code as usize]);
        0
    });
    policy::served_set(scan, config.v4.lwm2m_mask, config.v4.policy)
}

/// giaddr:67 for a relayed request, else ciaddr:68, either only if unicast; neither: not the
/// fast path's to answer.
#[inline(always)]
fn destination(req: &ReqBuf) -> Result<([u8; 4], u16), Stop> {
    let giaddr = addr_at(req, field::GIADDR);
    if giaddr != [0; 4] {
        crate::rules::v4_destination_is_unicast(giaddr)?;
        return Ok((giaddr, dhcp::SERVER_PORT));
    }
    let ciaddr = addr_at(req, field::CIADDR);
    if ciaddr != [0; 4] {
        crate::rules::v4_destination_is_unicast(ciaddr)?;
        return Ok((ciaddr, dhcp::CLIENT_PORT));
    }
    Err(Reason::NoDestination.into())
}

/// The reply's IPv4 header and UDP checksums, computed before the frame is touched.
struct Checksums {
    ip: [u8; 2],
    udp: [u8; 2],
}

/// Inlined into `build`: a subprogram call of its own cost more than its stack (the chain
/// stays under 512 octets).
///
/// The image's sum comes with the block; what the kernel adds is what differs per request:
/// addresses, lengths, ports, the fields the ACK keeps from the request, the server address
/// in option 54, the echoed options and End.
#[inline(always)]
fn checksums(iface: &IfaceConfig, block: &OptionBlock) -> Option<Checksums> {
    const _: () = assert!(field::XID.start % 4 == 0 && field::GIADDR.start % 4 == 0);
    let scratch = scratch::get()?;
    let (req, plan) = (&scratch.req, &scratch.v4_plan);
    let src = iface.ipv4;
    let dst = plan.dst;
    let ip = csum::word(ipv4::VER_IHL_NO_OPTIONS, 0)
        + plan.ip_len as u64
        + csum::word(ipv4::DEFAULT_TTL, ipv4::PROTO_UDP)
        + csum::words4(&src)
        + csum::words4(&dst);
    // Pseudo-header, UDP header.
    let mut sum = csum::words4(&src)
        + csum::words4(&dst)
        + ipv4::PROTO_UDP as u64
        + plan.udp_len as u64 * 2
        + dhcp::SERVER_PORT as u64
        + plan.dst_port as u64;
    // BOOTP head as the reply has it (op 2, hops/secs/yiaddr/siaddr 0, the rest the
    // request's): 32-bit words of the saved request, summed in memory order, then folded and
    // swapped into the big-endian order of every other sum here.
    let htype_hlen = u32::from_ne_bytes([0, 0xff, 0xff, 0]) as u64; // not op, hops
    let flags = u32::from_ne_bytes([0, 0, 0xff, 0xff]) as u64; // not secs
    let mut native = (scratch::word32(req, field::OP) & htype_hlen)
        + (scratch::word32(req, field::SECS.start) & flags)
        + scratch::word32(req, field::XID.start)
        + scratch::word32(req, field::CIADDR.start);
    let mut at = field::GIADDR.start;
    while at < field::CHADDR.end {
        native += scratch::word32(req, at);
        at += 4;
    }
    sum += csum::fold(native).swap_bytes() as u64;
    sum += csum::word(dhcp::OP_BOOTREPLY, 0);
    // The image (sname .. block) from the even offset of sname; option 54's address in it.
    sum += csum::at_offset(block.csum as u16, field::SNAME.start);
    let server_at = field::OPTIONS.start + ACK_HEAD_LEN - src.len();
    sum += csum::at_offset(csum::fold(csum::words4(&src)), server_at);
    let opts = &plan.opts;
    let mut off = field::OPTIONS.start + ACK_HEAD_LEN + block.len as usize;
    sum += csum::at_offset(
        loops::sum_range(opts.client_id_off, opts.client_id_len),
        off,
    );
    off += opts.client_id_len;
    sum += csum::at_offset(loops::sum_range(opts.relay_off, opts.relay_len), off);
    off += opts.relay_len;
    sum += csum::at_offset(csum::word(dhcp::OPT_END, 0) as u16, off);
    Some(Checksums {
        ip: (!csum::fold(ip)).to_be_bytes(),
        udp: csum::finish_udp(sum),
    })
}

/// The IPv4 and UDP headers, the BOOTP fields the ACK sets, and option 54's address, with
/// wide stores (the image and the request's fields are already in place).
#[inline(always)]
fn write_headers(
    ctx: &impl Frame,
    l3_off: usize,
    plan: &Plan,
    server: [u8; 4],
    sums: &Checksums,
) -> Result<(), Stop> {
    use xdp_common::wire::{ipv4::field as ip, udp::field as u};
    const UDP: usize = ipv4::HDR_LEN;
    const BOOTP: usize = UDP + udp::HDR_LEN;
    const LEN: usize = BOOTP + field::OPTIONS.start + ACK_HEAD_LEN;
    let h = ptr_at::<[u8; LEN]>(ctx, l3_off).ok_or(Stop::Abort)?;
    let len = (plan.ip_len as u16).to_be_bytes();
    let ulen = (plan.udp_len as u16).to_be_bytes();
    let sport = dhcp::SERVER_PORT.to_be_bytes();
    let dport = plan.dst_port.to_be_bytes();
    let (c, s) = (sums.ip, sums.udp);
    // SAFETY: ptr_at checked that all LEN octets lie in the frame; every store below ends
    // inside them.
    unsafe {
        use packet::put::{octets4, u16 as put16, u32 as put32, u64 as put64};
        let p = h as *mut u8;
        octets4(
            p,
            ip::VER_IHL,
            [ipv4::VER_IHL_NO_OPTIONS, 0, len[0], len[1]],
        );
        put32(p, ip::IDENT.start, 0); // ident, flags, fragment offset
        octets4(p, ip::TTL, [ipv4::DEFAULT_TTL, ipv4::PROTO_UDP, c[0], c[1]]);
        octets4(p, ip::SRC_ADDR.start, server);
        octets4(p, ip::DST_ADDR.start, plan.dst);
        octets4(
            p,
            UDP + u::SRC_PORT.start,
            [sport[0], sport[1], dport[0], dport[1]],
        );
        octets4(p, UDP + u::LENGTH.start, [ulen[0], ulen[1], s[0], s[1]]);
        *p.add(BOOTP + field::OP) = dhcp::OP_BOOTREPLY;
        *p.add(BOOTP + field::HOPS) = 0;
        put16(p, BOOTP + field::SECS.start, 0);
        put64(p, BOOTP + field::YIADDR.start, 0); // yiaddr, siaddr
        octets4(p, BOOTP + field::OPTIONS.start + ACK_HEAD_LEN - 4, server);
    }
    Ok(())
}
