//! Steps every reply shares: the rate limit, growing the frame, copying pre-encoded bytes in.

use aya_ebpf::{
    bindings::xdp_action,
    helpers::{bpf_ktime_get_ns, bpf_xdp_adjust_tail, bpf_xdp_store_bytes},
    programs::XdpContext,
    EbpfContext,
};
use xdp_common::{
    counters::Reason,
    maps::{ClientKey, RateLimit, TokenBucket, MAX_BLOCK_LEN},
};

use crate::{
    maps::{Scratch, RATE, REQ_MAX, ZEROS_LEN},
    packet::ptr_at,
};

/// Why a reply was not sent: the XDP verdict and the counted reason. Before the frame
/// changed that is XDP_PASS (or XDP_DROP for the rate limit); after, XDP_ABORTED.
///
/// A plain struct, not an enum with payloads: every field is always defined, so LLVM never
/// copies an uninitialised register, which the verifier rejects.
#[derive(Clone, Copy)]
pub struct Stop {
    pub verdict: u32,
    pub reason: Reason,
}

#[allow(non_upper_case_globals, non_snake_case)]
impl Stop {
    pub const Abort: Stop = Stop {
        verdict: xdp_action::XDP_ABORTED,
        reason: Reason::Aborted,
    };

    pub const fn Pass(reason: Reason) -> Stop {
        Stop {
            verdict: xdp_action::XDP_PASS,
            reason,
        }
    }

    pub const fn Drop(reason: Reason) -> Stop {
        Stop {
            verdict: xdp_action::XDP_DROP,
            reason,
        }
    }
}

impl From<Reason> for Stop {
    fn from(reason: Reason) -> Self {
        Stop::Pass(reason)
    }
}

/// Token bucket per client MAC: `burst` answers at once, then `per_second`.
#[inline(always)]
pub fn within_rate(limit: &RateLimit, mac: [u8; 6]) -> bool {
    if limit.per_second == 0 {
        return true;
    }
    let cost = 1_000_000_000 / limit.per_second as u64;
    let cap = cost * limit.burst as u64;
    // SAFETY: a helper without arguments.
    let now = unsafe { bpf_ktime_get_ns() };
    let key = ClientKey { mac, _pad: 0 };
    match RATE.get_ptr_mut(&key) {
        Some(bucket) => {
            // SAFETY: a map value; concurrent updates from other CPUs can only make the
            // limit slightly more generous, never corrupt memory.
            let bucket = unsafe { &mut *bucket };
            let credit = bucket.credit_ns + now.saturating_sub(bucket.last_ns);
            let credit = if credit > cap { cap } else { credit };
            bucket.last_ns = now;
            if credit < cost {
                bucket.credit_ns = credit;
                return false;
            }
            bucket.credit_ns = credit - cost;
            true
        }
        None => {
            let bucket = TokenBucket {
                last_ns: now,
                credit_ns: cap - cost,
            };
            // A full LRU map evicts; a failed insert only forgets this client.
            let _ = RATE.insert(&key, &bucket, 0);
            true
        }
    }
}

/// Grow (or shrink) the frame to `new_len` bytes. The frame is unchanged when this fails.
#[inline(always)]
pub fn resize(ctx: &XdpContext, new_len: usize) -> Result<(), Stop> {
    let old_len = ctx.data_end() - ctx.data();
    let delta = new_len as i64 - old_len as i64;
    if delta == 0 {
        return Ok(());
    }
    // SAFETY: the helper checks the delta against the frame's head- and tailroom.
    if unsafe { bpf_xdp_adjust_tail(ctx.as_ptr() as *mut _, delta as i32) } != 0 {
        return Err(Stop::Pass(Reason::NoTailroom));
    }
    Ok(())
}

/// Copy `len` octets from `src` into the frame at `off`; `len` must be at most CAP, a power of
/// two, and `src` must own CAP octets. `(len - 1) & (CAP - 1) + 1` is what lets the verifier
/// see the length within 1..=CAP at the helper call; 0 copies nothing.
#[inline(always)]
fn store_capped<const CAP: usize>(
    ctx: &XdpContext,
    off: usize,
    src: *const u8,
    len: usize,
) -> Result<(), Stop> {
    if len == 0 {
        return Ok(());
    }
    let len = ((len - 1) & (CAP - 1)) + 1;
    // SAFETY: the helper checks the frame bounds; the caller owns CAP octets at `src`.
    let rc = unsafe {
        bpf_xdp_store_bytes(
            ctx.as_ptr() as *mut _,
            off as u32,
            src as *mut _,
            len as u32,
        )
    };
    if rc != 0 {
        return Err(Stop::Abort);
    }
    Ok(())
}

/// Copy `len` (<= MAX_BLOCK_LEN) octets of an option block into the frame at `off`.
#[inline(always)]
pub fn store(ctx: &XdpContext, off: usize, src: *const u8, len: usize) -> Result<(), Stop> {
    store_capped::<MAX_BLOCK_LEN>(ctx, off, src, len)
}

/// Copy `len` (<= 512) octets of the saved request at `req_off` into the frame at `off`.
#[inline(always)]
pub fn store_from_request(
    ctx: &XdpContext,
    scratch: &Scratch,
    off: usize,
    req_off: usize,
    len: usize,
) -> Result<(), Stop> {
    // req_off < REQ_MAX, and REQ_SLACK >= 512 follows the request in `scratch.req`.
    let src = scratch.req.as_ptr().wrapping_add(req_off & (REQ_MAX - 1));
    store_capped::<512>(ctx, off, src, len)
}

/// Zero `len` (<= ZEROS_LEN) octets of the frame at `off`.
#[inline(always)]
pub fn zero(ctx: &XdpContext, scratch: &Scratch, off: usize, len: usize) -> Result<(), Stop> {
    store_capped::<ZEROS_LEN>(ctx, off, scratch.zeros.as_ptr(), len)
}

/// Reply from our MAC to the request's source MAC.
#[inline(always)]
pub fn swap_macs(ctx: &XdpContext, our_mac: &[u8; 6]) -> Result<(), Stop> {
    let macs = ptr_at::<[u8; 12]>(ctx, 0).ok_or(Stop::Abort)?;
    // SAFETY: bounds checked by ptr_at.
    unsafe {
        let m = &mut *macs;
        m.copy_within(6..12, 0);
        m[6..12].copy_from_slice(our_mac);
    }
    Ok(())
}

pub const PASS: u32 = xdp_action::XDP_PASS;

/// Count the outcome of one request and turn it into the XDP verdict.
#[inline(always)]
pub fn finish(family: xdp_common::maps::Family, outcome: Result<(), Stop>) -> u32 {
    crate::maps::count(family, Reason::Received);
    match outcome {
        Ok(()) => {
            crate::maps::count(family, Reason::Answered);
            xdp_action::XDP_TX
        }
        Err(stop) => {
            crate::maps::count(family, stop.reason);
            stop.verdict
        }
    }
}

/// Copy the interface's Server Identifier option (`len` <= SERVER_ID_OPT_CAP) to `off`.
#[inline(always)]
pub fn store_server_id(
    ctx: &XdpContext,
    off: usize,
    iface: &xdp_common::maps::IfaceConfig,
    len: usize,
) -> Result<(), Stop> {
    use xdp_common::maps::SERVER_ID_OPT_CAP;
    if len == 0 {
        return Err(Stop::Abort);
    }
    store_capped::<SERVER_ID_OPT_CAP>(ctx, off, iface.server_id_opt.as_ptr(), len)
}

/// Write one octet at `off` (through the helper: a 1-octet direct write compiles to a
/// `pkt_end > p` test from which the verifier learns no range).
#[inline(always)]
pub fn store_byte(ctx: &XdpContext, off: usize, value: u8) -> Result<(), Stop> {
    let src = [value];
    store_capped::<1>(ctx, off, src.as_ptr(), 1)
}
