//! Copying a request's UDP payload out of the frame into the per-CPU scratch buffer.

use xdp_common::counters::Reason;

use crate::{
    packet::Frame,
    scratch::{Scratch, REQ_MAX},
    verdict::Stop,
};

/// Copy `len` (1..=REQ_MAX) payload bytes at frame offset `off` to `scratch.req`, followed
/// by zeros up to the next multiple of 4 for the checksum.
#[inline(always)]
pub fn copy_payload(
    ctx: &impl Frame,
    off: usize,
    len: usize,
    scratch: &mut Scratch,
) -> Result<(), Stop> {
    if len == 0 || len > REQ_MAX {
        return Err(Stop::Pass(Reason::Malformed));
    }
    let n = ((len - 1) & (REQ_MAX - 1)) + 1;
    // SAFETY: n <= REQ_MAX fits `req`; the helper checks the frame bounds.
    let rc = unsafe { ctx.load(off, scratch.req.as_mut_ptr(), n as u32) };
    if rc != 0 {
        return Err(Stop::Pass(Reason::Malformed));
    }
    // len == REQ_MAX must not wrap to 0 (that would clear the message's first octets).
    let tail = if len == REQ_MAX {
        REQ_MAX
    } else {
        len & (REQ_MAX - 1)
    };
    scratch.req[tail] = 0;
    scratch.req[tail + 1] = 0;
    scratch.req[tail + 2] = 0;
    Ok(())
}
