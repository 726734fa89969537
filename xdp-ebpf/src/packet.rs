//! Bounds-checked access to the frame, and the layer-2 walk (Ethernet + up to two VLAN tags).

use core::mem::size_of;

use aya_ebpf::programs::XdpContext;
use xdp_common::wire::eth;

/// A pointer to a `T` at `off`, if the whole `T` lies inside the frame.
#[inline(always)]
pub fn ptr_at<T>(ctx: &XdpContext, off: usize) -> Option<*mut T> {
    let start = ctx.data();
    let end = ctx.data_end();
    if start + off + size_of::<T>() > end {
        return None;
    }
    Some((start + off) as *mut T)
}

/// Wide stores into the frame: one instruction of the value's width, its octets in memory
/// order. (A Rust unaligned write is lowered to single-octet stores on BPF, and an aligned
/// one may not point where a header starts; the verifier accepts unaligned packet stores.)
///
/// # Safety
/// `base + off .. + width` must lie inside the frame (a `ptr_at` of a range that holds it).
pub mod put {
    macro_rules! wide_store {
        ($name:ident, $t:ty, $insn:literal) => {
            #[inline(always)]
            pub unsafe fn $name(base: *mut u8, off: usize, value: $t) {
                // SAFETY: the caller's contract above; the asm writes only those octets.
                unsafe {
                    core::arch::asm!(
                        $insn,
                        p = in(reg) base.add(off),
                        v = in(reg) value as u64,
                        options(nostack, preserves_flags)
                    )
                }
            }
        };
    }
    wide_store!(u16, u16, "*(u16 *)({p} + 0) = {v}");
    wide_store!(u32, u32, "*(u32 *)({p} + 0) = {v}");
    wide_store!(u64, u64, "*(u64 *)({p} + 0) = {v}");

    /// Four octets as they stand in the frame.
    #[inline(always)]
    pub unsafe fn octets4(base: *mut u8, off: usize, value: [u8; 4]) {
        // SAFETY: the caller's contract.
        unsafe { u32(base, off, ::core::primitive::u32::from_ne_bytes(value)) }
    }
}

#[inline(always)]
pub fn read_u16(ctx: &XdpContext, off: usize) -> Option<u16> {
    // SAFETY: ptr_at checked the bounds; [u8; 2] has alignment 1.
    Some(u16::from_be_bytes(unsafe { *ptr_at::<[u8; 2]>(ctx, off)? }))
}

/// Where layer 3 starts and which VLAN it belongs to.
#[derive(Clone, Copy)]
pub struct L2 {
    pub l3_off: usize,
    pub ethertype: u16,
    /// VLAN ids of the tags, outermost first; 0 where there is no tag.
    pub outer_vlan: u16,
    pub inner_vlan: u16,
}

impl L2 {
    pub fn tagged(&self) -> bool {
        self.l3_off > eth::HDR_LEN
    }
}

#[inline(always)]
fn is_vlan(ethertype: u16) -> bool {
    ethertype == eth::ETHERTYPE_VLAN || ethertype == eth::ETHERTYPE_QINQ
}

/// None for a frame too short for its layer-2 headers or with more than two tags.
#[inline(always)]
pub fn parse_l2(ctx: &XdpContext) -> Option<L2> {
    const TYPE_OFF: usize = eth::field::ETHERTYPE.start;
    // A tag stands where the ethertype was, the next ethertype after it.
    const TAG_LEN: usize = eth::VLAN_TAG_LEN;
    let mut l2 = L2 {
        l3_off: eth::HDR_LEN,
        ethertype: read_u16(ctx, TYPE_OFF)?,
        outer_vlan: 0,
        inner_vlan: 0,
    };
    if is_vlan(l2.ethertype) {
        l2.outer_vlan = read_u16(ctx, TYPE_OFF + eth::tag::TCI.start)? & eth::VLAN_ID_MASK;
        l2.ethertype = read_u16(ctx, TYPE_OFF + TAG_LEN)?;
        l2.l3_off += eth::VLAN_TAG_LEN;
        if is_vlan(l2.ethertype) {
            l2.inner_vlan =
                read_u16(ctx, TYPE_OFF + TAG_LEN + eth::tag::TCI.start)? & eth::VLAN_ID_MASK;
            l2.ethertype = read_u16(ctx, TYPE_OFF + 2 * TAG_LEN)?;
            l2.l3_off += eth::VLAN_TAG_LEN;
            if is_vlan(l2.ethertype) {
                return None;
            }
        }
    }
    Some(l2)
}

/// An L3 offset carried through a subprogram call, re-bounded for the verifier (at most
/// 14 + 2 tags = 22 by construction).
#[inline(always)]
pub fn bound_l3_off(off: usize) -> usize {
    off & 0x1f
}
