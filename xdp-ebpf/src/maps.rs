//! The program's maps (layouts in xdp-common) and the counter helper.

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

/// Room for one request's UDP payload, plus slack so that every variable-offset access the
/// program makes is provably inside the value.
pub const REQ_MAX: usize = 2048;
pub const REQ_SLACK: usize = 512;
pub const ZEROS_LEN: usize = 256;

pub type ReqBuf = [u8; REQ_MAX + REQ_SLACK];

#[repr(C)]
pub struct Scratch {
    /// The request's UDP payload, copied out of the frame: parsed here, and the source of the
    /// echoed options while the frame is rewritten in place.
    pub req: ReqBuf,
    /// Never written: a source of zeros for bpf_xdp_store_bytes.
    pub zeros: [u8; ZEROS_LEN],
    /// State of the loops (crate::loops says why it lives here).
    pub v4_walk: crate::dhcpv4::Walk,
    pub v4_prl: crate::dhcpv4::PrlScan,
    pub v4_plan: crate::dhcpv4::Plan,
    pub sum: crate::loops::SumState,
    pub v6_walk: crate::dhcpv6::Walk,
    pub oro: crate::dhcpv6::OroScan,
    pub v6_plan: crate::dhcpv6::Plan,
}

#[map]
pub static SCRATCH: PerCpuArray<Scratch> = PerCpuArray::with_max_entries(1, 0);

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

#[inline(always)]
pub fn count(family: Family, reason: Reason) {
    bump(reason_index(family, reason));
}
