//! The per-CPU scratch area: the request's UDP payload copied out of the frame, a source of
//! zeros, and the state of the loops and plans (`state.rs`). Not on the stack: it is too
//! small (512 octets per call chain), and values loaded from a map are unknown scalars to the
//! verifier, so a loop callback reading its state from here is checked about once.

use aya_ebpf::{macros::map, maps::PerCpuArray};

use crate::state::{relay6, v4, v6, CodeScan, SumState};

/// Room for one request's UDP payload, plus slack so that every variable-offset access the
/// program makes is provably inside the value.
pub const REQ_MAX: usize = xdp_common::maps::MAX_REQUEST_PAYLOAD;
pub const REQ_SLACK: usize = 512;
pub const ZEROS_LEN: usize = 256;
/// Room for the request's head that a reply keeps in place (layer 2 to the DHCP fixed fields,
/// `reply::resize`'s `keep`), moved through here when the frame grows at its head.
pub const HEAD_KEEP_CAP: usize = 128;

pub type ReqBuf = [u8; REQ_MAX + REQ_SLACK];

#[repr(C)]
pub struct Scratch {
    /// The request's UDP payload, copied out of the frame: parsed here, and the source of the
    /// echoed options while the frame is rewritten in place.
    pub req: ReqBuf,
    /// Never written: a source of zeros for bpf_xdp_store_bytes.
    pub zeros: [u8; ZEROS_LEN],
    /// The kept head of the request on its way to the new start of a frame grown at its head.
    pub head: [u8; HEAD_KEEP_CAP],
    pub v4_walk: v4::Walk,
    pub scan: CodeScan,
    pub v4_plan: v4::Plan,
    pub sum: SumState,
    pub v6_walk: v6::Walk,
    pub v6_plan: v6::Plan,
    /// The relay unwrap's state; its `path` is what a (relayed or direct) REPLY goes through.
    pub relay6: relay6::Unwrap,
}

/// Reached only through `get`.
#[map]
static SCRATCH: PerCpuArray<Scratch> = PerCpuArray::with_max_entries(1, 0);

/// This CPU's scratch value: the one way to reach it.
///
/// What it holds is valid for the current packet only: every packet starts by writing what
/// it later reads (the request copy, a walk's start, a plan), so a reference must not be
/// kept beyond the packet (never stored, never returned from the program's entry). Nor may
/// one be held across `loops::run`: its callback takes its own reference to the same value,
/// so the caller takes a fresh one after the loop.
#[inline(always)]
pub fn get() -> Option<&'static mut Scratch> {
    // SAFETY: a per-CPU value, used by one program run at a time on this CPU; callers hold
    // no reference across a loop's callback (see above).
    SCRATCH.get_ptr_mut(0).map(|p| unsafe { &mut *p })
}

/// Store `value` in a field of the scratch value as a store of its own: LLVM merges adjacent
/// zero stores into a call to its byte-loop memset, which costs more than the stores.
#[inline(always)]
pub fn store_apart<T>(field: &mut T, value: T) {
    // SAFETY: a plain store to a live, aligned field.
    unsafe { core::ptr::write_volatile(field, value) }
}

/// A field of the scratch value read back as a load of its own. The verifier does not follow
/// what a map holds: the value read is unknown to it, whatever it knew of the value stored. A
/// handler carries the request's facts past its loops this way, so that the verifier checks
/// each loop once, not once for every VLAN depth and request length it has told apart.
#[inline(always)]
pub fn reread<T: Copy>(field: &T) -> T {
    // SAFETY: a plain load of a live, aligned field.
    unsafe { core::ptr::read_volatile(field) }
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

/// The 32-bit word of the saved request at `at` (a multiple of 4), in memory order: one load.
#[inline(always)]
pub fn word32(req: &ReqBuf, at: usize) -> u64 {
    // SAFETY: `at + 4` lies inside `req` (callers pass fixed header offsets); `req` starts
    // `Scratch`, whose alignment is 8, and `at` is a multiple of 4: an aligned read.
    (unsafe { (req.as_ptr().add(at & (REQ_MAX - 4)) as *const u32).read() }) as u64
}
