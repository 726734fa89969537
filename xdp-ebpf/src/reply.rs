//! Steps every reply shares: growing the frame, copying pre-encoded bytes in.

use xdp_common::{
    counters::Reason,
    maps::{OptionBlock, IMAGE_CAP},
};

use crate::{
    packet::{frame_len, ptr_at, Frame},
    scratch::{Scratch, REQ_MAX, ZEROS_LEN},
    verdict::Stop,
};

/// Grow (or shrink) the frame to `new_len` bytes. The frame is unchanged when this fails.
#[inline(always)]
pub fn resize(ctx: &impl Frame, new_len: usize) -> Result<(), Stop> {
    let old_len = frame_len(ctx);
    if new_len == old_len {
        return Ok(());
    }
    if ctx.resize_by(old_len, new_len) != 0 {
        return Err(Stop::Pass(Reason::NoTailroom));
    }
    Ok(())
}

/// Copy `len` octets from `src` into the frame at `off`; `len` must be at most CAP, a power of
/// two, and `src` must own CAP octets. `(len - 1) & (CAP - 1) + 1` is what lets the verifier
/// see the length within 1..=CAP at the helper call; 0 copies nothing.
#[inline(always)]
pub fn store_capped<const CAP: usize>(
    ctx: &impl Frame,
    off: usize,
    src: *const u8,
    len: usize,
) -> Result<(), Stop> {
    if len == 0 {
        return Ok(());
    }
    let len = ((len - 1) & (CAP - 1)) + 1;
    // SAFETY: the helper checks the frame bounds; the caller owns CAP octets at `src`.
    let rc = unsafe { ctx.store(off, src, len as u32) };
    if rc != 0 {
        return Err(Stop::Abort);
    }
    Ok(())
}

/// Write a block's image (DHCPv4: sname .. its options; DHCPv6: its options) into the frame
/// at `off` with one store.
#[inline(always)]
pub fn store_image(ctx: &impl Frame, off: usize, block: &OptionBlock) -> Result<(), Stop> {
    let len = block.image_len as usize;
    // Not a power of two: the compare itself is the bound the verifier sees.
    if len == 0 || len > IMAGE_CAP {
        return Err(Stop::Abort);
    }
    // SAFETY: the helper checks the frame bounds; `image` owns IMAGE_CAP >= len octets.
    let rc = unsafe { ctx.store(off, block.image.as_ptr(), len as u32) };
    if rc != 0 {
        return Err(Stop::Abort);
    }
    Ok(())
}

/// Copy `len` (<= 512) octets of the saved request at `req_off` into the frame at `off`.
#[inline(always)]
pub fn store_from_request(
    ctx: &impl Frame,
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
pub fn zero(ctx: &impl Frame, scratch: &Scratch, off: usize, len: usize) -> Result<(), Stop> {
    store_capped::<ZEROS_LEN>(ctx, off, scratch.zeros.as_ptr(), len)
}

/// Reply from our MAC to the request's source MAC.
#[inline(always)]
pub fn swap_macs(ctx: &impl Frame, our_mac: &[u8; 6]) -> Result<(), Stop> {
    use xdp_common::wire::eth::field::{DESTINATION, SOURCE};
    let macs = ptr_at::<[u8; SOURCE.end]>(ctx, 0).ok_or(Stop::Abort)?;
    // SAFETY: bounds checked by ptr_at.
    unsafe {
        let m = &mut *macs;
        m.copy_within(SOURCE, DESTINATION.start);
        m[SOURCE].copy_from_slice(our_mac);
    }
    Ok(())
}

/// Copy the interface's Server Identifier option (`len` <= SERVER_ID_OPT_CAP) to `off`.
#[inline(always)]
pub fn store_server_id(
    ctx: &impl Frame,
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
pub fn store_byte(ctx: &impl Frame, off: usize, value: u8) -> Result<(), Stop> {
    let src = [value];
    store_capped::<1>(ctx, off, src.as_ptr(), 1)
}
