//! The program's maps shared with userspace (layouts in xdp-common) and the counter helper.
//! The scratch area, private to the program, is `scratch.rs`.

use aya_ebpf::{
    bindings::BPF_F_NO_PREALLOC,
    macros::map,
    maps::{Array, HashMap, LruHashMap, PerCpuArray},
};
use xdp_common::{
    counters::{reason_index, seen_index, Reason, Seen, COUNTERS_LEN},
    maps::{
        ClientKey, Family, IfaceConfig, IfaceSlotKey, OptionBlock, SlotConfig, TokenBucket,
        BLOCKS_LEN, IFACES_LEN, MAX_IFACES, MAX_RATE_CLIENTS, SLOTS as SLOT_COUNT,
    },
};

use crate::packet::{self, Frame, Hook};

/// No preallocation: an update replaces the element under RCU, so a reader never sees a
/// half-written interface config, and a removed one lives until its readers are done.
#[map]
pub static IFACES: HashMap<IfaceSlotKey, IfaceConfig> =
    HashMap::with_max_entries(IFACES_LEN, BPF_F_NO_PREALLOC);

#[map]
pub static SLOTS: Array<SlotConfig> = Array::with_max_entries(SLOT_COUNT, 0);

/// Element 0: the config generation (slot) in force.
#[map]
pub static ACTIVE: Array<u32> = Array::with_max_entries(1, 0);

#[map]
pub static BLOCKS: Array<OptionBlock> = Array::with_max_entries(BLOCKS_LEN, 0);

#[map]
pub static COUNTERS: PerCpuArray<u64> = PerCpuArray::with_max_entries(COUNTERS_LEN, 0);

#[map]
pub static RATE: LruHashMap<ClientKey, TokenBucket> =
    LruHashMap::with_max_entries(MAX_RATE_CLIENTS, 0);

/// `[rate_limit] per_interface_rate`: one bucket per ingress ifindex, apart from `RATE` so a
/// flood of client keys cannot evict it.
#[map]
pub static IFACE_RATE: HashMap<u32, TokenBucket> = HashMap::with_max_entries(MAX_IFACES, 0);

#[inline(always)]
fn bump(index: u32) {
    if let Some(counter) = COUNTERS.get_ptr_mut(index) {
        // SAFETY: a per-CPU value: no other writer while this program runs on this CPU.
        unsafe { *counter += 1 };
    }
}

#[inline(always)]
pub fn count_seen(what: Seen) {
    bump(seen_index(what));
}

/// What the XDP program saw; the TC fallback sees only what XDP passed, and counts no
/// frames again.
#[inline(always)]
pub fn count_seen_in(ctx: &impl Frame, what: Seen) {
    if packet::hook_of(ctx) == Hook::Xdp {
        count_seen(what);
    }
}

#[inline(always)]
pub fn count(family: Family, reason: Reason) {
    bump(reason_index(family, reason));
}
