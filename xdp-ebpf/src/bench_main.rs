//! Bench-only object (`cargo xtask bench`), kept out of the production object.
//!
//! BPF_PROG_TEST_RUN's `repeat` reruns a program on the frame its previous run left, so a
//! program that rewrites a request into a reply would, from the second run on, be timed
//! passing its own reply. `bench_harness` makes `repeat` valid: each run first restores the
//! request (`BENCH_FRAME`, resized with bpf_xdp_adjust_tail, copied with
//! bpf_xdp_store_bytes) and then tail-calls the program under test (`BENCH_TARGET[0]`): the
//! responder, the reflector, or the empty program. The empty program's time is the harness's
//! own cost, subtracted to report net costs.
#![no_std]
#![no_main]

use aya_ebpf::{
    bindings::xdp_action,
    helpers::generated::{bpf_xdp_adjust_tail, bpf_xdp_store_bytes},
    macros::{map, xdp},
    maps::{Array, ProgramArray},
    programs::XdpContext,
    EbpfContext,
};

pub const BENCH_FRAME_MAX: usize = 2048;

#[repr(C)]
pub struct BenchFrame {
    pub len: u32,
    pub data: [u8; BENCH_FRAME_MAX],
}

#[map]
static BENCH_FRAME: Array<BenchFrame> = Array::with_max_entries(1, 0);

#[map]
static BENCH_TARGET: ProgramArray = ProgramArray::with_max_entries(1, 0);

#[xdp]
pub fn bench_harness(ctx: XdpContext) -> u32 {
    let Some(frame) = BENCH_FRAME.get(0) else {
        return xdp_action::XDP_ABORTED;
    };
    let len = frame.len as usize;
    if len == 0 || len > BENCH_FRAME_MAX {
        return xdp_action::XDP_ABORTED;
    }
    let delta = len as i64 - (ctx.data_end() - ctx.data()) as i64;
    // SAFETY: helpers check their arguments against the frame.
    unsafe {
        if delta != 0 && bpf_xdp_adjust_tail(ctx.as_ptr() as *mut _, delta as i32) != 0 {
            return xdp_action::XDP_ABORTED;
        }
        let n = ((len - 1) & (BENCH_FRAME_MAX - 1)) + 1;
        if bpf_xdp_store_bytes(
            ctx.as_ptr() as *mut _,
            0,
            frame.data.as_ptr() as *mut _,
            n as u32,
        ) != 0
        {
            return xdp_action::XDP_ABORTED;
        }
        BENCH_TARGET.tail_call(&ctx, 0);
    }
    xdp_action::XDP_ABORTED
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
