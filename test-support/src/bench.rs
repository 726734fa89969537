//! The bench-only kernel object (xdp-ebpf/src/bench_main.rs: harness, reflector, empty
//! program, traffic generator and counter), compiled by xdp-user's build.rs and embedded here
//! (build.rs), and the request its programs replay.

use anyhow::{bail, Context as _, Result};
use aya::{maps::Array, Ebpf};
use xdp_common::bench::{BenchFrame, BENCH_FRAME_MAX, MAP_BENCH_FRAME};

/// The bench-only object.
pub static BENCH_OBJECT: &[u8] = aya::include_bytes_aligned!(env!("LWM2M_XDP_BENCH_OBJECT"));

/// Put `frame` into the bench object's BENCH_FRAME map: the request its harness and traffic
/// generator restore before each run.
pub fn set_bench_frame(bench: &mut Ebpf, frame: &[u8]) -> Result<()> {
    if frame.len() > BENCH_FRAME_MAX {
        bail!(
            "a {}-octet frame does not fit {MAP_BENCH_FRAME} ({BENCH_FRAME_MAX})",
            frame.len()
        );
    }
    let mut value = BenchFrame {
        len: frame.len() as u32,
        data: [0; BENCH_FRAME_MAX],
    };
    value.data[..frame.len()].copy_from_slice(frame);
    let map = bench
        .map_mut(MAP_BENCH_FRAME)
        .with_context(|| format!("no {MAP_BENCH_FRAME} map in the bench object"))?;
    Array::<_, BenchFrame>::try_from(map)?.set(0, value, 0)?;
    Ok(())
}
