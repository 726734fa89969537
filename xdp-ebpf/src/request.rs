//! The request's UDP payload, read where it lies in the frame (the walks, the scans of the
//! requested codes: no copy for a request that is passed) or in its copy in the per-CPU
//! scratch buffer (the checksum, the echoed options, long walks through bpf_loop). Both are
//! indexed by payload offset, so a walk begun in the frame goes on in the copy.

use xdp_common::counters::Reason;

use crate::{
    packet::{get, ptr_at_var, Frame},
    scratch::{self, ReqBuf, Scratch, REQ_MAX},
    verdict::Stop,
};

/// The octets of a request's UDP payload, by payload offset.
pub trait Octets {
    /// The octet at `i`; None where it is not there to read (only outside the request: a
    /// walk checks its lengths before it reads).
    fn byte(&self, i: usize) -> Option<u8>;

    /// Big-endian u16 at `i`.
    #[inline(always)]
    fn be16(&self, i: usize) -> Option<u16> {
        Some(u16::from_be_bytes([self.byte(i)?, self.byte(i + 1)?]))
    }
}

/// The payload in the frame, `payload_off` octets from its start. Every read is checked
/// against the frame's end; offsets are masked so the verifier sees them bounded.
pub struct InFrame<'a, F: Frame> {
    ctx: &'a F,
    payload_off: usize,
}

impl<'a, F: Frame> InFrame<'a, F> {
    #[inline(always)]
    pub fn new(ctx: &'a F, payload_off: usize) -> Self {
        Self { ctx, payload_off }
    }

    /// The 8 octets at `i` as one load (memory order, little-endian); None where the frame
    /// ends within them.
    #[inline(always)]
    pub fn word(&self, i: usize) -> Option<u64> {
        let p = ptr_at_var::<u64>(self.ctx, self.payload_off + (i & (REQ_MAX - 1)))?;
        // SAFETY: bounds checked by ptr_at_var.
        Some(unsafe { get::u64(p as *const u8, 0) })
    }
}

impl<F: Frame> Octets for InFrame<'_, F> {
    #[inline(always)]
    fn byte(&self, i: usize) -> Option<u8> {
        let p = ptr_at_var::<u8>(self.ctx, self.payload_off + (i & (REQ_MAX - 1)))?;
        // SAFETY: bounds checked by ptr_at_var.
        Some(unsafe { *p })
    }
}

/// The saved copy (`Scratch::req`): every offset masked into it, every read there.
pub struct Saved<'a>(pub &'a ReqBuf);

impl Octets for Saved<'_> {
    #[inline(always)]
    fn byte(&self, i: usize) -> Option<u8> {
        Some(scratch::byte(self.0, i))
    }
}

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
