//! Loops over request bytes: in the frame as plain bounded loops (`in_frame`), and in the
//! saved copy through bpf_loop, with their state in the per-CPU scratch map rather than on
//! the stack. The verifier then checks each callback about once: values loaded from a map
//! are unknown scalars, so every iteration starts from the same abstract state. (Plain loops
//! walk each iteration apart, and with state on the stack each path of each iteration too:
//! they run out of its 1M-instruction budget on a TLV walk of a whole request; the walks in
//! the frame are bounded to a few dozen options for that.)

use core::{
    ffi::c_void,
    sync::atomic::{compiler_fence, Ordering},
};

use aya_ebpf::helpers::generated::bpf_loop;

use crate::{
    csum,
    scratch::{self, byte, Scratch},
    state::SumState,
};

/// A bpf_loop callback: `index` and an unused context; returns 0 to go on, 1 to stop.
pub type Callback = extern "C" fn(index: u32, unused: *mut c_void) -> i64;

/// Steps (options, codes) a walk or scan callback takes per call: on this machine a call
/// (and its return) costs more than the few instructions of another step.
pub const STEPS_PER_CALL: u32 = 4;

/// The body of a walk's or scan's bpf_loop callback: `step` (given the scratch value and the
/// step's number) up to STEPS_PER_CALL times; 1 (stop the loop) when a step says so.
#[inline(always)]
pub fn steps(index: u32, step: impl Fn(&mut Scratch, u32) -> i64) -> i64 {
    let Some(scratch) = scratch::get() else {
        return 1;
    };
    let mut k = 0;
    while k < STEPS_PER_CALL {
        if step(scratch, index * STEPS_PER_CALL + k) != 0 {
            return 1;
        }
        k += 1;
    }
    0
}

/// Callbacks needed for `steps` steps.
pub const fn calls(steps: u32) -> u32 {
    steps.div_ceil(STEPS_PER_CALL)
}

/// Run `callback` up to `n` times. Its state lives in `Scratch`: write it before, and read
/// it after through a fresh `scratch::get()` (no reference may be held across this call).
#[inline(always)]
pub fn run(n: u32, callback: Callback) {
    // SAFETY: the callback takes no context.
    unsafe {
        bpf_loop(n, callback as *mut c_void, core::ptr::null_mut(), 0);
    }
}

/// Steps 0..`n` of a walk or scan in the frame (`step`: 0 to go on), as a plain loop: packet
/// data cannot be reached from a bpf_loop callback. The state lives in the scratch value,
/// and the fence keeps it there between steps: held in registers, what one step found would
/// be tracked into every later step by the verifier, which then checks each path of every
/// iteration apart (over its 1M-instruction limit for the scans of the requested codes).
/// What the handler carries past the loop comes back from the map too (`scratch::reread`).
#[inline(always)]
pub fn in_frame(n: u32, mut step: impl FnMut(usize) -> i64) {
    let mut k = 0;
    while k < n {
        if step(k as usize) != 0 {
            break;
        }
        compiler_fence(Ordering::SeqCst);
        k += 1;
    }
}

/// Octets summed per call: a callback costs more than a few loads.
const SUM_STRIDE: usize = 16;

extern "C" fn sum_words(index: u32, _: *mut c_void) -> i64 {
    let Some(scratch) = scratch::get() else {
        return 1;
    };
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
    let Some(s) = scratch::get() else {
        return 0;
    };
    s.sum = SumState { off, len, sum: 0 };
    run((512 / SUM_STRIDE) as u32, sum_words);
    scratch::get().map_or(0, |s| csum::fold(s.sum.sum))
}
