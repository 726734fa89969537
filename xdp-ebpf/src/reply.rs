//! Steps every reply shares: growing the frame (at the tail, else at the head too), copying
//! pre-encoded bytes in.

use xdp_common::{
    counters::Reason,
    maps::{Family, OptionBlock, IMAGE_CAP},
};

use crate::{
    maps,
    packet::{frame_len, ptr_at, Frame, Hook},
    scratch::{self, Scratch, HEAD_KEEP_CAP, REQ_MAX, ZEROS_LEN},
    verdict::Stop,
};

/// Grow (or shrink) the frame to `new_len` octets, its first `keep` (1..=HEAD_KEEP_CAP)
/// octets (what the reply keeps of the request in place) staying first. The tail grows
/// first; where the driver left too little room after the frame, XDP grows the head as well
/// (`grow_at_head`). The frame is unchanged when this fails.
#[inline(always)]
pub fn resize<F: Frame>(ctx: &F, family: Family, new_len: usize, keep: usize) -> Result<(), Stop> {
    let old_len = frame_len(ctx);
    if new_len == old_len {
        return Ok(());
    }
    if ctx.resize_by(old_len, new_len) == 0 {
        return Ok(());
    }
    if F::HOOK == Hook::Xdp && new_len > old_len {
        return grow_at_head(ctx, family, old_len, new_len, keep);
    }
    Err(Stop::Pass(Reason::NoTailroom))
}

/// The most the head is asked for: XDP_PACKET_HEADROOM (256, what veth, generic XDP and most
/// drivers leave) less the `struct xdp_frame` the kernel keeps there (40 octets).
const HEAD_MAX: usize = 216;
/// Smaller shares tried when that fails (drivers with 192 octets of headroom, or less).
const HEAD_STEP: usize = 64;
const HEAD_TRIES: u32 = 4;

/// Take as much of the growth as the head gives (the largest share first, HEAD_STEP less
/// each try), the rest at the tail, then move the kept octets of the request to the new
/// start: from there on the frame is what a tail-grown one would be. When the tail cannot take
/// the rest, the head is given back (a smaller share would need more tail) and the request
/// passes unchanged, for the TC fallback.
#[inline(always)]
fn grow_at_head(
    ctx: &impl Frame,
    family: Family,
    old_len: usize,
    new_len: usize,
    keep: usize,
) -> Result<(), Stop> {
    let growth = new_len - old_len;
    let mut share = if growth < HEAD_MAX { growth } else { HEAD_MAX };
    let mut tries = 0;
    while tries < HEAD_TRIES {
        if ctx.adjust_head(-(share as i32)) == 0 {
            if share == growth || ctx.resize_by(old_len + share, new_len) == 0 {
                return move_head(ctx, family, share, keep);
            }
            if ctx.adjust_head(share as i32) != 0 {
                return Err(Stop::Abort);
            }
            break;
        }
        if share <= HEAD_STEP {
            break;
        }
        share -= HEAD_STEP;
        tries += 1;
    }
    Err(Stop::Pass(Reason::NoTailroom))
}

/// The request's first `keep` octets now lie `share` octets in: copy them to the start.
#[inline(always)]
fn move_head(ctx: &impl Frame, family: Family, share: usize, keep: usize) -> Result<(), Stop> {
    let scratch = scratch::get().ok_or(Stop::Abort)?;
    let keep = ((keep.wrapping_sub(1)) & (HEAD_KEEP_CAP - 1)) + 1;
    // SAFETY: `head` owns HEAD_KEEP_CAP >= keep octets; the helper checks the frame bounds.
    if unsafe { ctx.load(share, scratch.head.as_mut_ptr(), keep as u32) } != 0 {
        return Err(Stop::Abort);
    }
    store_capped::<HEAD_KEEP_CAP>(ctx, 0, scratch.head.as_ptr(), keep)?;
    maps::count(family, Reason::GrownAtHead);
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
    use crate::packet::{get, put};
    use xdp_common::wire::eth::field::{DESTINATION, SOURCE};
    let m = ptr_at::<[u8; SOURCE.end]>(ctx, 0).ok_or(Stop::Abort)? as *mut u8;
    // SAFETY: bounds checked by ptr_at; `our_mac` owns its 6 octets. Wide loads and stores:
    // copied octet by octet the two addresses are 24 instructions.
    unsafe {
        let (s, mac) = (SOURCE.start, our_mac.as_ptr());
        let (head, tail) = (get::u32(m, s), get::u16(m, s + 4));
        put::u32(m, DESTINATION.start, head);
        put::u16(m, DESTINATION.start + 4, tail);
        put::u32(m, s, get::u32(mac, 0));
        put::u16(m, s + 4, get::u16(mac, 4));
    }
    Ok(())
}

/// Copy the interface's Server Identifier option (`len` <= MAX_SERVER_ID_OPT_LEN) to `off`.
///
/// In 8-octet words where they lie in the frame (a DUID-LL option is two): what the last
/// word writes past the option is where the block's image and the echoed options go, stored
/// after it. The helper call, which costs more than a few stores, only where the frame
/// ends within a word.
#[inline(always)]
pub fn store_server_id(
    ctx: &impl Frame,
    off: usize,
    iface: &xdp_common::maps::IfaceConfig,
    len: usize,
) -> Result<(), Stop> {
    use crate::packet::{get, ptr_at_var, put};
    use xdp_common::maps::{MAX_SERVER_ID_OPT_LEN, SERVER_ID_OPT_CAP};
    const WORDS: usize = MAX_SERVER_ID_OPT_LEN.div_ceil(8);
    const _: () = assert!(WORDS * 8 <= SERVER_ID_OPT_CAP);
    if len == 0 {
        return Err(Stop::Abort);
    }
    let src = iface.server_id_opt.as_ptr();
    let mut k = 0;
    while k < WORDS {
        if 8 * k >= len {
            return Ok(());
        }
        let Some(p) = ptr_at_var::<u64>(ctx, off + 8 * k) else {
            break;
        };
        // SAFETY: ptr_at_var checked the 8 octets at `p`; 8 * (k + 1) <= SERVER_ID_OPT_CAP.
        unsafe { put::u64(p as *mut u8, 0, get::u64(src, 8 * k)) };
        k += 1;
    }
    store_capped::<SERVER_ID_OPT_CAP>(ctx, off, src, len)
}

/// Write one octet at `off` (through the helper: a 1-octet direct write compiles to a
/// `pkt_end > p` test from which the verifier learns no range).
#[inline(always)]
pub fn store_byte(ctx: &impl Frame, off: usize, value: u8) -> Result<(), Stop> {
    let src = [value];
    store_capped::<1>(ctx, off, src.as_ptr(), 1)
}
