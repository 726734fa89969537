//! Bench-only object (`cargo xtask bench`), kept out of the production object.
//!
//! BPF_PROG_TEST_RUN's `repeat` reruns a program on the frame its previous run left, so a
//! program that rewrites a request into a reply would, from the second run on, be timed
//! passing its own reply. `bench_harness` makes `repeat` valid: each run first restores the
//! request (`BENCH_FRAME`, resized with bpf_xdp_adjust_tail, copied with
//! bpf_xdp_store_bytes) and then tail-calls the program under test (`BENCH_TARGET[0]`): the
//! responder, the reflector, or the empty program. The empty program's time is the harness's
//! own cost, subtracted to report net costs.
//!
//! `bench_tc_harness` does the same for the TC fallback on an skb: it restores the request
//! (bpf_skb_change_tail to its length, bpf_skb_store_bytes) and tail-calls
//! `BENCH_TC_TARGET[0]` (lwm2m_tc or `bench_tc_empty`). A prog array takes the type of the
//! first program that uses it, so the classifiers have their own.
//!
//! The end-to-end bench (xdp-user/benches/e2e) adds a traffic generator and a reply counter:
//! `bench_gen` runs under BPF_PROG_TEST_RUN in live-frame mode with the client veth as
//! ingress and returns XDP_TX, so every run sends one request out of the client veth to the
//! server; `bench_count`, attached to the client veth, counts (and drops) what comes back.
#![no_std]
#![no_main]

use aya_ebpf::{
    bindings::{__sk_buff, xdp_action, TC_ACT_OK, TC_ACT_SHOT},
    helpers::generated::{
        bpf_skb_change_tail, bpf_skb_store_bytes, bpf_xdp_adjust_tail, bpf_xdp_store_bytes,
    },
    macros::{classifier, map, xdp},
    maps::{Array, PerCpuArray, ProgramArray},
    programs::{TcContext, XdpContext},
    EbpfContext,
};
use xdp_common::bench::{BenchFrame, BENCH_FRAME_MAX};

#[map]
static BENCH_FRAME: Array<BenchFrame> = Array::with_max_entries(1, 0);

#[map]
static BENCH_TARGET: ProgramArray = ProgramArray::with_max_entries(1, 0);

#[map]
static BENCH_TC_TARGET: ProgramArray = ProgramArray::with_max_entries(1, 0);

/// Rewrite the frame into the request held in `BENCH_FRAME` (length and bytes).
#[inline(always)]
fn restore(ctx: &XdpContext) -> bool {
    let Some(frame) = BENCH_FRAME.get(0) else {
        return false;
    };
    let len = frame.len as usize;
    if len == 0 || len > BENCH_FRAME_MAX {
        return false;
    }
    let delta = len as i64 - (ctx.data_end() - ctx.data()) as i64;
    // SAFETY: helpers check their arguments against the frame.
    unsafe {
        if delta != 0 && bpf_xdp_adjust_tail(ctx.as_ptr() as *mut _, delta as i32) != 0 {
            return false;
        }
        let n = ((len - 1) & (BENCH_FRAME_MAX - 1)) + 1;
        bpf_xdp_store_bytes(
            ctx.as_ptr() as *mut _,
            0,
            frame.data.as_ptr() as *mut _,
            n as u32,
        ) == 0
    }
}

#[xdp]
pub fn bench_harness(ctx: XdpContext) -> u32 {
    if !restore(&ctx) {
        return xdp_action::XDP_ABORTED;
    }
    // SAFETY: a tail call; on failure execution continues here.
    unsafe { BENCH_TARGET.tail_call(&ctx, 0) };
    xdp_action::XDP_ABORTED
}

/// Rewrite the skb into the request held in `BENCH_FRAME` (length and bytes).
#[inline(always)]
fn restore_skb(ctx: &TcContext) -> bool {
    let Some(frame) = BENCH_FRAME.get(0) else {
        return false;
    };
    let len = frame.len as usize;
    if len == 0 || len > BENCH_FRAME_MAX {
        return false;
    }
    let skb = ctx.as_ptr() as *mut __sk_buff;
    // SAFETY: helpers check their arguments against the skb.
    unsafe {
        if (*skb).len as usize != len && bpf_skb_change_tail(skb as *mut _, len as u32, 0) != 0 {
            return false;
        }
        let n = ((len - 1) & (BENCH_FRAME_MAX - 1)) + 1;
        bpf_skb_store_bytes(
            skb as *mut _,
            0,
            frame.data.as_ptr() as *const _,
            n as u32,
            0,
        ) == 0
    }
}

#[classifier]
pub fn bench_tc_harness(ctx: TcContext) -> i32 {
    if !restore_skb(&ctx) {
        return TC_ACT_SHOT as i32;
    }
    // SAFETY: a tail call; on failure execution continues here.
    unsafe { BENCH_TC_TARGET.tail_call(&ctx, 0) };
    TC_ACT_SHOT as i32
}

/// Does nothing: its time under the TC harness is that harness's own.
#[classifier]
pub fn bench_tc_empty(_ctx: TcContext) -> i32 {
    TC_ACT_OK as i32
}

/// The traffic generator (live-frame mode): restore the request from `BENCH_FRAME` and send
/// it. The restore is needed: live mode recycles its pages without copying the frame again,
/// and a page comes back from the server side rewritten into a reply (generic XDP answers in
/// place), so sending the page as it is would send that reply.
#[xdp]
pub fn bench_gen(ctx: XdpContext) -> u32 {
    if restore(&ctx) {
        xdp_action::XDP_TX
    } else {
        xdp_action::XDP_ABORTED
    }
}

/// `BENCH_COUNTS` indices (per CPU, summed by userspace).
pub const COUNT_V4_REPLY: u32 = 0; // UDP to 68, BOOTP op 2 (BOOTREPLY)
pub const COUNT_V6_REPLY: u32 = 1; // UDP to 546, DHCPv6 message type 7 (REPLY)
pub const COUNT_V4_REFLECTED: u32 = 2; // UDP to 67: a request sent back (the reflector)
pub const COUNT_V6_REFLECTED: u32 = 3; // UDP to 547
pub const COUNT_OTHER_DHCP: u32 = 4; // UDP to 68 / 546 that is not a reply
pub const COUNT_REPLY_BYTES: u32 = 5; // frame octets of the replies counted in 0 and 1
pub const COUNTS_LEN: u32 = 8;

#[map]
static BENCH_COUNTS: PerCpuArray<u64> = PerCpuArray::with_max_entries(COUNTS_LEN, 0);

/// `BENCH_COUNT_MODE[0]`: 0 = drop what is counted (rate runs), 1 = pass it up the stack
/// (latency runs, where a UDP socket on the client receives the replies).
#[map]
static BENCH_COUNT_MODE: Array<u32> = Array::with_max_entries(1, 0);

#[inline(always)]
fn byte(ctx: &XdpContext, off: usize) -> Option<u8> {
    let (start, end) = (ctx.data(), ctx.data_end());
    if start + off + 1 > end {
        return None;
    }
    // SAFETY: bounds checked above.
    Some(unsafe { *((start + off) as *const u8) })
}

#[inline(always)]
fn be16(ctx: &XdpContext, off: usize) -> Option<u16> {
    Some(u16::from_be_bytes([byte(ctx, off)?, byte(ctx, off + 1)?]))
}

/// Which counter a frame belongs to, if any (untagged Ethernet, IPv4 without options).
#[inline(always)]
fn classify(ctx: &XdpContext) -> Option<u32> {
    const UDP: u8 = 17;
    match be16(ctx, 12)? {
        0x0800 => {
            if byte(ctx, 14)? != 0x45 || byte(ctx, 14 + 9)? != UDP {
                return None;
            }
            match be16(ctx, 14 + 20 + 2)? {
                68 if byte(ctx, 14 + 20 + 8)? == 2 => Some(COUNT_V4_REPLY),
                68 => Some(COUNT_OTHER_DHCP),
                67 => Some(COUNT_V4_REFLECTED),
                _ => None,
            }
        }
        0x86DD => {
            if byte(ctx, 14 + 6)? != UDP {
                return None;
            }
            match be16(ctx, 14 + 40 + 2)? {
                546 if byte(ctx, 14 + 40 + 8)? == 7 => Some(COUNT_V6_REPLY),
                546 => Some(COUNT_OTHER_DHCP),
                547 => Some(COUNT_V6_REFLECTED),
                _ => None,
            }
        }
        _ => None,
    }
}

#[inline(always)]
fn bump(index: u32, by: u64) {
    if let Some(c) = BENCH_COUNTS.get_ptr_mut(index) {
        // SAFETY: a per-CPU slot: nothing else writes it while this program runs here.
        unsafe { *c += by };
    }
}

/// The reply counter on the client veth: counts DHCP replies (and reflected requests) and
/// drops them, or passes them in latency mode; everything else (ARP, NDP) passes.
#[xdp]
pub fn bench_count(ctx: XdpContext) -> u32 {
    let Some(index) = classify(&ctx) else {
        return xdp_action::XDP_PASS;
    };
    bump(index, 1);
    if index == COUNT_V4_REPLY || index == COUNT_V6_REPLY {
        bump(COUNT_REPLY_BYTES, (ctx.data_end() - ctx.data()) as u64);
    }
    match BENCH_COUNT_MODE.get(0) {
        Some(&1) => xdp_action::XDP_PASS,
        _ => xdp_action::XDP_DROP,
    }
}

/// The floor: swap the Ethernet addresses and send the frame back.
#[xdp]
pub fn bench_reflector(ctx: XdpContext) -> u32 {
    let (start, end) = (ctx.data(), ctx.data_end());
    if start + 12 > end {
        return xdp_action::XDP_PASS;
    }
    // SAFETY: bounds checked above; [u8; 12] has alignment 1.
    let m = unsafe { &mut *(start as *mut [u8; 12]) };
    let mut dst = [0u8; 6];
    dst.copy_from_slice(&m[..6]);
    m.copy_within(6..12, 0);
    m[6..12].copy_from_slice(&dst);
    xdp_action::XDP_TX
}

/// Does nothing: its time under the harness is the harness's own.
#[xdp]
pub fn bench_empty(_ctx: XdpContext) -> u32 {
    xdp_action::XDP_PASS
}

#[cfg(not(test))]
#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    loop {}
}
