//! The frame primitives both hooks provide (`Frame`: XDP's frame, TC's skb), bounds-checked
//! access to the frame, and the layer-2 walk (Ethernet + up to two VLAN tags).

use core::mem::size_of;

use aya_ebpf::{
    bindings::__sk_buff,
    helpers::{
        bpf_skb_change_tail, bpf_skb_load_bytes, bpf_skb_pull_data, bpf_skb_store_bytes,
        bpf_xdp_adjust_head, bpf_xdp_adjust_tail, bpf_xdp_load_bytes, bpf_xdp_store_bytes,
    },
    programs::{TcContext, XdpContext},
    EbpfContext,
};
use xdp_common::wire::eth;

/// Which program runs the builder: what differs is only how the frame is reached and counted.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Hook {
    Xdp,
    Tc,
}

/// The few frame operations the request reader and the reply builder use, so one builder
/// serves both hooks. Every call returns the helper's code: 0 is success. Direct accesses
/// (`ptr_at`) re-read `data`/`data_end` each time, so they stay valid after a resize.
pub trait Frame {
    const HOOK: Hook;
    fn data(&self) -> usize;
    fn data_end(&self) -> usize;
    fn ingress_ifindex(&self) -> u32;
    /// Make the whole frame directly reachable (a request to our port, before `decide`);
    /// false when that fails.
    fn make_linear(&self) -> bool;
    /// Grow or shrink the frame to `len` octets; unchanged when this fails.
    fn resize_by(&self, old_len: usize, new_len: usize) -> i64;
    /// Move the frame's start by `delta` octets (negative: grow at the head); unchanged when
    /// this fails. Only XDP has this: TC's skb grows at its tail as far as it needs.
    fn adjust_head(&self, delta: i32) -> i64;
    /// # Safety
    /// `src` must own `len` octets.
    unsafe fn store(&self, off: usize, src: *const u8, len: u32) -> i64;
    /// # Safety
    /// `dst` must own `len` octets.
    unsafe fn load(&self, off: usize, dst: *mut u8, len: u32) -> i64;
}

impl Frame for XdpContext {
    const HOOK: Hook = Hook::Xdp;
    #[inline(always)]
    fn data(&self) -> usize {
        XdpContext::data(self)
    }
    #[inline(always)]
    fn data_end(&self) -> usize {
        XdpContext::data_end(self)
    }
    #[inline(always)]
    fn ingress_ifindex(&self) -> u32 {
        XdpContext::ingress_ifindex(self) as u32
    }
    /// An XDP frame is one buffer already (the program is not multi-buffer).
    #[inline(always)]
    fn make_linear(&self) -> bool {
        true
    }
    #[inline(always)]
    fn resize_by(&self, old_len: usize, new_len: usize) -> i64 {
        let delta = new_len as i64 - old_len as i64;
        // SAFETY: the helper checks the delta against the frame's head- and tailroom.
        unsafe { bpf_xdp_adjust_tail(self.as_ptr() as *mut _, delta as i32) }
    }
    #[inline(always)]
    fn adjust_head(&self, delta: i32) -> i64 {
        // SAFETY: the helper checks the delta against the headroom and the frame's length.
        unsafe { bpf_xdp_adjust_head(self.as_ptr() as *mut _, delta) }
    }
    #[inline(always)]
    unsafe fn store(&self, off: usize, src: *const u8, len: u32) -> i64 {
        // SAFETY: the helper checks the frame bounds; the caller's contract covers `src`.
        unsafe { bpf_xdp_store_bytes(self.as_ptr() as *mut _, off as u32, src as *mut _, len) }
    }
    #[inline(always)]
    unsafe fn load(&self, off: usize, dst: *mut u8, len: u32) -> i64 {
        // SAFETY: as for `store`.
        unsafe { bpf_xdp_load_bytes(self.as_ptr() as *mut _, off as u32, dst as *mut _, len) }
    }
}

impl Frame for TcContext {
    const HOOK: Hook = Hook::Tc;
    #[inline(always)]
    fn data(&self) -> usize {
        TcContext::data(self)
    }
    #[inline(always)]
    fn data_end(&self) -> usize {
        TcContext::data_end(self)
    }
    /// The device the skb arrived on (the hook's device at ingress).
    #[inline(always)]
    fn ingress_ifindex(&self) -> u32 {
        // SAFETY: the context pointer the program was given.
        unsafe { (*(self.as_ptr() as *const __sk_buff)).ifindex }
    }
    /// Only for a request to our port: pulling every skb would linearize all traffic.
    #[inline(always)]
    fn make_linear(&self) -> bool {
        // SAFETY: len 0 pulls the whole skb into its linear part.
        unsafe { bpf_skb_pull_data(self.as_ptr() as *mut __sk_buff, 0) == 0 }
    }
    #[inline(always)]
    fn resize_by(&self, _old_len: usize, new_len: usize) -> i64 {
        let skb = self.as_ptr() as *mut __sk_buff;
        // SAFETY: the helpers check the length; the new tail is made linear again, so the
        // direct accesses that follow see all of it.
        unsafe {
            let rc = bpf_skb_change_tail(skb, new_len as u32, 0);
            if rc != 0 {
                return rc;
            }
            bpf_skb_pull_data(skb, 0)
        }
    }
    #[inline(always)]
    fn adjust_head(&self, _delta: i32) -> i64 {
        -1
    }
    #[inline(always)]
    unsafe fn store(&self, off: usize, src: *const u8, len: u32) -> i64 {
        // SAFETY: the helper checks the skb bounds; no checksum flags: every checksum of
        // the reply is computed in full.
        unsafe { bpf_skb_store_bytes(self.as_ptr() as *mut _, off as u32, src as *const _, len, 0) }
    }
    #[inline(always)]
    unsafe fn load(&self, off: usize, dst: *mut u8, len: u32) -> i64 {
        // SAFETY: as for `store`.
        unsafe { bpf_skb_load_bytes(self.as_ptr() as *const _, off as u32, dst as *mut _, len) }
    }
}

/// The hook `ctx` belongs to.
#[inline(always)]
pub fn hook_of<F: Frame>(_ctx: &F) -> Hook {
    F::HOOK
}

/// The frame's length (what lies between `data` and `data_end`).
#[inline(always)]
pub fn frame_len(ctx: &impl Frame) -> usize {
    ctx.data_end() - ctx.data()
}

/// A pointer to a `T` at `off`, if the whole `T` lies inside the frame.
#[inline(always)]
pub fn ptr_at<T>(ctx: &impl Frame, off: usize) -> Option<*mut T> {
    let start = ctx.data();
    let end = ctx.data_end();
    if start + off + size_of::<T>() > end {
        return None;
    }
    Some((start + off) as *mut T)
}

/// Offsets `ptr_at_var` takes: no frame is longer.
const MAX_VAR_OFF: usize = 0xefff;

/// `ptr_at` for an offset that varies (a walk's): LLVM would fold `data + off + size` into
/// `data + (off + size)`, a second pointer whose check the verifier does not carry over to the
/// first; made opaque, the pointer is checked as the one that is read.
#[inline(always)]
pub fn ptr_at_var<T>(ctx: &impl Frame, off: usize) -> Option<*mut T> {
    // The verifier checks a packet pointer only if its offset is known to be below 64 KiB.
    if off > MAX_VAR_OFF {
        return None;
    }
    let mut p = ctx.data() + off;
    // SAFETY: an empty asm that only hands `p` through a register.
    unsafe {
        core::arch::asm!("{p} = {p}", p = inout(reg) p, options(pure, nomem, nostack, preserves_flags))
    };
    if p + size_of::<T>() > ctx.data_end() {
        return None;
    }
    Some(p as *mut T)
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

    /// Sixteen octets (an IPv6 address) from `src`, in two loads and two stores.
    ///
    /// # Safety
    /// As above for the frame; `src` must own 16 octets.
    #[inline(always)]
    pub unsafe fn octets16(base: *mut u8, off: usize, src: *const u8) {
        // SAFETY: the caller's contract.
        unsafe {
            u64(base, off, super::get::u64(src, 0));
            u64(base, off + 8, super::get::u64(src, 8));
        }
    }

    /// Four octets as they stand in the frame.
    #[inline(always)]
    pub unsafe fn octets4(base: *mut u8, off: usize, value: [u8; 4]) {
        // SAFETY: the caller's contract.
        unsafe { u32(base, off, ::core::primitive::u32::from_ne_bytes(value)) }
    }
}

/// Wide loads, the counterpart of `put`: one instruction of the value's width from any
/// address (the verifier and the JIT accept unaligned loads; a Rust unaligned read would be
/// lowered to single-octet loads), the octets in memory order.
///
/// # Safety
/// `base + off .. + width` must be readable: inside the frame (a `ptr_at` of a range that
/// holds it) or inside one value.
pub mod get {
    macro_rules! wide_load {
        ($name:ident, $t:ty, $insn:literal) => {
            #[inline(always)]
            pub unsafe fn $name(base: *const u8, off: usize) -> $t {
                let value: u64;
                // SAFETY: the caller's contract above; the asm reads only those octets.
                unsafe {
                    core::arch::asm!(
                        $insn,
                        v = out(reg) value,
                        p = in(reg) base.add(off),
                        options(nostack, preserves_flags, readonly)
                    )
                }
                value as $t
            }
        };
    }
    wide_load!(u16, u16, "{v} = *(u16 *)({p} + 0)");
    wide_load!(u32, u32, "{v} = *(u32 *)({p} + 0)");
    wide_load!(u64, u64, "{v} = *(u64 *)({p} + 0)");
}

#[inline(always)]
pub fn read_u16(ctx: &impl Frame, off: usize) -> Option<u16> {
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
pub fn parse_l2(ctx: &impl Frame) -> Option<L2> {
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
