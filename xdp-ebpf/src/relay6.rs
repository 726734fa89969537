//! Relayed DHCPv6 (protocol.md "Relayed"; RFC 8415 §19): a Relay-forward whose Relay
//! Message, after at most `MAX_RELAY_HOPS` nested Relay-forwards, is an INFORMATION-REQUEST
//! is answered with one Relay-reply per layer around the REPLY a direct request would get.
//!
//! dhcpv6.rs calls in at four points: the relay's addresses (`relay_addresses_ok`), the
//! unwrap of the saved request (`unwrap`, or `direct` for a request without relay), the
//! checksum of the Relay-reply headers (`prefix_sum`), and their store (`store_prefix`).
//! Offsets of layers index the saved request (`scratch::Scratch::req`).

use core::ffi::c_void;

use xdp_common::{
    counters::Reason,
    maps::IfaceConfig,
    wire::{
        dhcpv6::{self as dhcp, relay, MAX_INTERFACE_ID_OPT_LEN, MAX_RELAY_HOPS, RELAY_HDR_LEN},
        ipv6, udp,
    },
};

use crate::{
    addr6::Addr6,
    csum, loops,
    packet::Frame,
    reply,
    scratch::{self, be16, byte, REQ_MAX},
    state::{
        relay6::Layer,
        status::{ENDED, MALFORMED, TOO_DEEP, UNSERVABLE, WALKING},
    },
    verdict::{Packed, Stop},
};

/// Each option takes its 4-octet header; one more call per layer to step into it.
const MAX_STEPS: u32 = (REQ_MAX / dhcp::OPT_HDR_LEN + MAX_RELAY_HOPS) as u32;
/// What `prefix_len` adds per layer besides its Interface-ID.
const LAYER_FIXED_LEN: usize = RELAY_HDR_LEN + dhcp::OPT_HDR_LEN;

/// A Relay-forward (UDP 547 -> 547) must come from a unicast address and go to a DHCP
/// servers' group or to one of our addresses; the Relay-reply's source is the interface's
/// address of the relay's scope. Returns whether that is the global one.
#[inline(always)]
pub fn relay_addresses_ok(src: Addr6, dst: Addr6, iface: &IfaceConfig) -> Result<bool, Stop> {
    const SERVERS: Addr6 = Addr6::from_octets(ipv6::ALL_DHCP_SERVERS);
    const AGENTS_AND_SERVERS: Addr6 = Addr6::from_octets(ipv6::ALL_DHCP_RELAY_AGENTS_AND_SERVERS);
    let src = src.octets();
    crate::rules::v6_source_is_unicast(&src)?;
    // SAFETY: both addresses are 16 octets of the interface entry.
    let (link_local, global) = unsafe {
        (
            Addr6::load(iface.ipv6_link_local.as_ptr()),
            Addr6::load(iface.ipv6_global.as_ptr()),
        )
    };
    let no_global = global == Addr6([0, 0]);
    let ours = dst == link_local || (!no_global && dst == global);
    if !ours && dst != SERVERS && dst != AGENTS_AND_SERVERS {
        return Err(Reason::NotForUs.into());
    }
    let from_link_local = src[0] == 0xfe && src[1] & 0xc0 == 0x80;
    if !from_link_local && no_global {
        return Err(Reason::NoGlobalAddress.into());
    }
    Ok(!from_link_local)
}

/// A direct request: no relay path; the message (`Path::msg_off`, `msg_len`) is the whole
/// payload.
#[inline(always)]
pub fn direct(msg_len: usize) -> Result<(), Stop> {
    let path = &mut scratch::get().ok_or(Stop::Abort)?.relay6.path;
    scratch::store_apart(&mut path.hops, 0);
    scratch::store_apart(&mut path.msg_off, 0);
    path.msg_len = msg_len;
    scratch::store_apart(&mut path.prefix_len, 0);
    scratch::store_apart(&mut path.from_global, 0);
    Ok(())
}

/// One option of the current Relay-forward per call; at the end of its options, a step into
/// its Relay Message (another Relay-forward: the next layer; anything else: the end).
extern "C" fn walk_layer(_: u32, _: *mut c_void) -> i64 {
    let Some(scratch) = scratch::get() else {
        return 1;
    };
    let req = &scratch.req;
    let w = &mut scratch.relay6;
    if w.i == w.end {
        if w.has_msg == 0 || w.msg_len < dhcp::HDR_LEN {
            w.status = MALFORMED;
            return 1;
        }
        let depth = w.path.hops;
        w.path.layers[depth & (MAX_RELAY_HOPS - 1)] = w.current;
        w.path.hops = depth + 1;
        w.path.prefix_len += LAYER_FIXED_LEN + w.current.iid_len;
        let (off, len) = (w.msg_off, w.msg_len);
        if byte(req, off) != dhcp::MSG_RELAY_FORW {
            w.path.msg_off = off;
            w.path.msg_len = len;
            w.status = ENDED;
            return 1;
        }
        if depth + 1 >= MAX_RELAY_HOPS {
            w.status = TOO_DEEP;
            return 1;
        }
        if len < RELAY_HDR_LEN {
            w.status = MALFORMED;
            return 1;
        }
        w.current.off = off;
        scratch::store_apart(&mut w.current.iid_off, 0);
        scratch::store_apart(&mut w.current.iid_len, 0);
        w.i = off + RELAY_HDR_LEN;
        w.end = off + len;
        scratch::store_apart(&mut w.has_msg, 0);
        return 0;
    }
    let i = w.i;
    if i + dhcp::OPT_HDR_LEN > w.end {
        w.status = MALFORMED;
        return 1;
    }
    let code = be16(req, i);
    let opt_len = be16(req, i + 2) as usize;
    let data = i + dhcp::OPT_HDR_LEN;
    if data + opt_len > w.end {
        w.status = MALFORMED;
        return 1;
    }
    match code {
        dhcp::OPT_RELAY_MSG if w.has_msg != 0 => {
            w.status = MALFORMED;
            return 1;
        }
        dhcp::OPT_RELAY_MSG => {
            w.msg_off = data;
            w.msg_len = opt_len;
            w.has_msg = 1;
        }
        dhcp::OPT_INTERFACE_ID if w.current.iid_len != 0 => {
            w.status = MALFORMED;
            return 1;
        }
        dhcp::OPT_INTERFACE_ID if opt_len + dhcp::OPT_HDR_LEN > MAX_INTERFACE_ID_OPT_LEN => {
            w.status = UNSERVABLE;
            return 1;
        }
        dhcp::OPT_INTERFACE_ID => {
            w.current.iid_off = i;
            w.current.iid_len = opt_len + dhcp::OPT_HDR_LEN;
        }
        _ => {}
    }
    w.i = data + opt_len;
    0
}

/// The saved Relay-forward of `len` octets, unwrapped to its innermost message (`Path::msg_off`,
/// `msg_len`); the path back (layers, the Relay-reply headers' length, the reply's source
/// scope) in scratch.
#[inline(always)]
pub fn unwrap(len: usize, from_global: bool) -> Result<(), Stop> {
    if len < RELAY_HDR_LEN {
        return Err(Reason::Malformed.into());
    }
    let w = &mut scratch::get().ok_or(Stop::Abort)?.relay6;
    w.i = RELAY_HDR_LEN;
    w.end = len;
    scratch::store_apart(&mut w.status, WALKING);
    scratch::store_apart(&mut w.has_msg, 0);
    scratch::store_apart(&mut w.current.off, 0);
    scratch::store_apart(&mut w.current.iid_off, 0);
    scratch::store_apart(&mut w.current.iid_len, 0);
    scratch::store_apart(&mut w.path.hops, 0);
    scratch::store_apart(&mut w.path.prefix_len, 0);
    w.path.from_global = from_global as u64;
    loops::run(MAX_STEPS, walk_layer);
    match scratch::get().ok_or(Stop::Abort)?.relay6.status {
        ENDED => Ok(()),
        TOO_DEEP => Err(Reason::RelayTooDeep.into()),
        UNSERVABLE => Err(Reason::Unservable.into()),
        _ => Err(Reason::Malformed.into()),
    }
}

/// The Relay-reply's source: the interface's address of the relay's scope.
#[inline(always)]
pub fn reply_source(iface: &IfaceConfig) -> &[u8; 16] {
    match scratch::get() {
        Some(s) if s.relay6.path.from_global != 0 => &iface.ipv6_global,
        _ => &iface.ipv6_link_local,
    }
}

/// Checksum partial sum of `reply_source` (precomputed by userspace).
#[inline(always)]
pub fn reply_source_csum(iface: &IfaceConfig) -> u16 {
    match scratch::get() {
        Some(s) if s.relay6.path.from_global != 0 => iface.ipv6_global_csum,
        _ => iface.ipv6_link_local_csum,
    }
}

/// The reply's UDP destination port: a relay's server port (RFC 8415 §7.2), else the client's.
#[inline(always)]
pub fn reply_port() -> u16 {
    if relayed() {
        dhcp::SERVER_PORT
    } else {
        dhcp::CLIENT_PORT
    }
}

/// The Relay Message option's length of each layer: everything after its header.
#[inline(always)]
fn relay_msg_len(payload_len: usize, layer_end: usize) -> u16 {
    (payload_len - layer_end) as u16
}

/// Whether the request came through relays (the path has layers).
#[inline(always)]
fn relayed() -> bool {
    scratch::get().is_some_and(|s| s.relay6.path.hops != 0)
}

/// UDP checksum contribution of the Relay-reply headers in front of the REPLY, for a
/// datagram of `udp_len` octets (0 for a direct request, which pays no call). Sums placed at
/// their offset from the UDP header.
#[inline(always)]
pub fn prefix_sum(udp_len: usize) -> u64 {
    if relayed() {
        layers_sum(udp_len)
    } else {
        0
    }
}

#[inline(never)]
fn layers_sum(udp_len: usize) -> u64 {
    let Some(hops) = scratch::get().map(|s| s.relay6.path.hops) else {
        return 0;
    };
    let payload_len = udp_len - udp::HDR_LEN;
    let addresses = relay::LINK_ADDRESS.start;
    let addresses_len = relay::PEER_ADDRESS.end - addresses;
    let mut sum = 0u64;
    let mut p = 0usize;
    let mut k = 0;
    while k < MAX_RELAY_HOPS {
        if k >= hops {
            break;
        }
        let Some(layer) = layer(k) else {
            return 0;
        };
        let at = udp::HDR_LEN + p;
        let hop_count = scratch::get().map_or(0, |s| byte(&s.req, layer.off + relay::HOP_COUNT));
        sum += csum::at_offset(csum::word(dhcp::MSG_RELAY_REPL, hop_count) as u16, at);
        sum += csum::at_offset(
            loops::sum_range(layer.off + addresses, addresses_len),
            at + addresses,
        );
        sum += csum::at_offset(
            loops::sum_range(layer.iid_off, layer.iid_len),
            at + RELAY_HDR_LEN,
        );
        let hdr = at + RELAY_HDR_LEN + layer.iid_len;
        p += LAYER_FIXED_LEN + layer.iid_len;
        sum += csum::at_offset(dhcp::OPT_RELAY_MSG, hdr);
        sum += csum::at_offset(relay_msg_len(payload_len, p), hdr + 2);
        k += 1;
    }
    sum
}

/// Layer `k` of the path (outermost 0), read afresh: the callers run loops between reads.
#[inline(always)]
fn layer(k: usize) -> Option<Layer> {
    Some(scratch::get()?.relay6.path.layers[k & (MAX_RELAY_HOPS - 1)])
}

/// Write the Relay-reply headers at `msg_off` (the frame offset of the UDP payload) and, for
/// a relayed request, the REPLY's msg-type and transaction-id after them (a direct one's
/// stays in place, and it pays no call). Returns the frame offset where the REPLY's options
/// go.
#[inline(always)]
pub fn store_prefix(ctx: &impl Frame, msg_off: usize, udp_len: usize) -> Result<usize, Stop> {
    if relayed() {
        store_layers(ctx, msg_off, udp_len).result()
    } else {
        Ok(msg_off + dhcp::HDR_LEN)
    }
}

/// `store_layers_in` as a subprogram of its own (its stack), returning `Packed`.
#[inline(never)]
fn store_layers(ctx: &impl Frame, msg_off: usize, udp_len: usize) -> Packed {
    Packed::of(store_layers_in(ctx, msg_off, udp_len))
}

/// Every layer's Relay-reply header and Interface-ID, then the REPLY's msg-type and
/// transaction-id.
#[inline(always)]
fn store_layers_in(ctx: &impl Frame, msg_off: usize, udp_len: usize) -> Result<usize, Stop> {
    let path = &scratch::get().ok_or(Stop::Abort)?.relay6.path;
    let (hops, inner_off) = (path.hops, path.msg_off);
    let addresses = relay::LINK_ADDRESS.start;
    let addresses_len = relay::PEER_ADDRESS.end - addresses;
    let payload_len = udp_len - udp::HDR_LEN;
    let mut p = 0usize;
    let mut k = 0;
    while k < MAX_RELAY_HOPS {
        if k >= hops {
            break;
        }
        let layer = layer(k).ok_or(Stop::Abort)?;
        let at = msg_off + p;
        let scratch = scratch::get().ok_or(Stop::Abort)?;
        let head = [
            dhcp::MSG_RELAY_REPL,
            byte(&scratch.req, layer.off + relay::HOP_COUNT),
        ];
        reply::store_capped::<2>(ctx, at, head.as_ptr(), head.len())?;
        reply::store_from_request(
            ctx,
            scratch,
            at + addresses,
            layer.off + addresses,
            addresses_len,
        )?;
        reply::store_from_request(
            ctx,
            scratch,
            at + RELAY_HDR_LEN,
            layer.iid_off,
            layer.iid_len,
        )?;
        p += LAYER_FIXED_LEN + layer.iid_len;
        let code = dhcp::OPT_RELAY_MSG.to_be_bytes();
        let len = relay_msg_len(payload_len, p).to_be_bytes();
        let opt = [code[0], code[1], len[0], len[1]];
        reply::store_capped::<4>(ctx, msg_off + p - dhcp::OPT_HDR_LEN, opt.as_ptr(), 4)?;
        k += 1;
    }
    let scratch = scratch::get().ok_or(Stop::Abort)?;
    let t = inner_off + dhcp::field::TRANSACTION_ID.start;
    let head = [
        dhcp::MSG_REPLY,
        byte(&scratch.req, t),
        byte(&scratch.req, t + 1),
        byte(&scratch.req, t + 2),
    ];
    reply::store_capped::<4>(ctx, msg_off + p, head.as_ptr(), 4)?;
    Ok(msg_off + p + dhcp::HDR_LEN)
}
