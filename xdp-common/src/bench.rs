//! The bench-only object's frame map (xdp-ebpf/src/bench_main.rs), as the benches fill it:
//! the request its harness and traffic generator restore before every run.

pub const MAP_BENCH_FRAME: &str = "BENCH_FRAME";
pub const MAP_BENCH_TARGET: &str = "BENCH_TARGET";
/// The TC harness's prog array (a prog array holds programs of one type only).
pub const MAP_BENCH_TC_TARGET: &str = "BENCH_TC_TARGET";

/// Longest request frame it holds; a power of two, for the kernel's length mask.
pub const BENCH_FRAME_MAX: usize = 2048;

#[repr(C)]
#[derive(Clone, Copy)]
pub struct BenchFrame {
    pub len: u32,
    pub data: [u8; BENCH_FRAME_MAX],
}

const _: () = assert!(core::mem::size_of::<BenchFrame>() == 4 + BENCH_FRAME_MAX);

#[cfg(feature = "user")]
// SAFETY: repr(C), integers and bytes, no padding.
unsafe impl aya::Pod for BenchFrame {}
