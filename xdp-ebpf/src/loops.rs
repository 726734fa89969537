//! Loops over request bytes run through bpf_loop, with their state in the per-CPU scratch
//! map rather than on the stack. The verifier then checks each callback about once: values
//! loaded from a map are unknown scalars, so every iteration starts from the same abstract
//! state. (Plain loops, or state on the stack, make it walk each iteration of each path and
//! run out of its 1M-instruction budget on TLV walks.)

use core::ffi::c_void;

use aya_ebpf::helpers::generated::bpf_loop;

use crate::{
    csum,
    maps::{ReqBuf, Scratch, REQ_MAX, SCRATCH},
};

/// A bpf_loop callback: `index` and an unused context; returns 0 to go on, 1 to stop.
pub type Callback = extern "C" fn(index: u32, unused: *mut c_void) -> i64;

/// Run `callback` up to `n` times. Its state lives in `Scratch`: write it before, and read
/// it after through a fresh `scratch()` (no reference may be held across this call).
#[inline(always)]
pub fn run(n: u32, callback: Callback) {
    // SAFETY: the callback takes no context.
    unsafe {
        bpf_loop(n, callback as *mut c_void, core::ptr::null_mut(), 0);
    }
}

/// The per-CPU scratch value.
#[inline(always)]
pub fn scratch() -> Option<&'static mut Scratch> {
    // SAFETY: per-CPU value used by one program run at a time; callers do not keep the
    // reference across `run`.
    SCRATCH.get_ptr_mut(0).map(|p| unsafe { &mut *p })
}

/// A byte of the saved request; indices are masked so the verifier sees them in bounds.
#[inline(always)]
pub fn byte(req: &ReqBuf, i: usize) -> u8 {
    req[i & (REQ_MAX - 1)]
}

/// Big-endian u16 of the saved request at `i`.
#[inline(always)]
pub fn be16(req: &ReqBuf, i: usize) -> u16 {
    u16::from_be_bytes([byte(req, i), byte(req, i + 1)])
}

#[repr(C)]
#[derive(Default)]
pub struct SumState {
    off: usize,
    len: usize,
    sum: u64,
}

/// Octets summed per call: a callback costs more than a few loads.
const SUM_STRIDE: usize = 16;

extern "C" fn sum_words(index: u32, _: *mut c_void) -> i64 {
    let Some(scratch) = scratch() else { return 1 };
    let s = &mut scratch.sum;
    let start = index as usize * SUM_STRIDE;
    if start >= s.len {
        return 1;
    }
    let mut sum = 0;
    let mut k = 0;
    while k < SUM_STRIDE {
        // Past the end counts as zero: the range's odd last octet is a word's high half.
        let at = |j: usize| {
            if start + j < s.len {
                byte(&scratch.req, s.off + start + j)
            } else {
                0
            }
        };
        sum += csum::word(at(k), at(k + 1));
        k += 2;
    }
    s.sum += sum;
    0
}

/// Even-offset checksum sum of `len` (<= 512) saved request bytes at `off`: for the options
/// a reply echoes (61, 82, the DHCPv6 Client Identifier).
#[inline(always)]
pub fn sum_range(off: usize, len: usize) -> u16 {
    if len == 0 {
        return 0;
    }
    let Some(s) = scratch() else { return 0 };
    s.sum = SumState { off, len, sum: 0 };
    run((512 / SUM_STRIDE) as u32, sum_words);
    scratch().map_or(0, |s| csum::fold(s.sum.sum))
}
