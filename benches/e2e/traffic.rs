//! The traffic generator and the reply counter (bench object, xdp-ebpf/src/bench_main.rs).
//!
//! `bench_gen` runs through BPF_PROG_TEST_RUN in live-frame mode with the client veth as the
//! ingress device: each run restores the request and returns XDP_TX, which the kernel turns
//! into a transmit on that veth (ndo_xdp_xmit), i.e. a frame to the server end. One test-run
//! call sends `CHUNK` frames in batches of `BATCH`; calls repeat until the time is up. After
//! each batch the kernel runs the softirq work it raised on this CPU: the server end's NAPI
//! (and with it `run`'s generic XDP, or Kea's socket delivery), so the generator and the
//! whole kernel path share the generator's CPU.
//!
//! `bench_count` (native XDP on the client veth) counts what comes back per kind and drops it,
//! or passes it to the stack in latency mode.

use std::{
    sync::atomic::{AtomicBool, Ordering},
    time::{Duration, Instant},
};

use anyhow::{Context as _, Result};
use aya::{
    maps::{Array, PerCpuArray},
    programs::{xdp::XdpLinkId, TestRun, TestRunAttrs, TestRunOptions, Xdp, XdpMode},
    Ebpf,
};

use lwm2m_xdp_test_support::bench::{set_bench_frame, BENCH_OBJECT};

use crate::topo::{pin_thread, InNetns};

/// Frames per live-mode batch (the kernel allows 256; veth's ring holds 256).
pub const BATCH: u32 = 64;
/// Frames per test-run call: about 50-100 ms of work, so the time bound is kept closely.
const CHUNK: u32 = 1 << 16;
/// A bound on calls, whatever the clock says.
const MAX_CALLS: u32 = 100_000;

pub const COUNT_V4_REPLY: usize = 0;
pub const COUNT_V6_REPLY: usize = 1;
pub const COUNT_V4_REFLECTED: usize = 2;
pub const COUNT_V6_REFLECTED: usize = 3;
pub const COUNT_OTHER_DHCP: usize = 4;
pub const COUNT_REPLY_BYTES: usize = 5;
const COUNTS_LEN: usize = 8;

pub struct Traffic {
    ebpf: Ebpf,
    reflector: Option<XdpLinkId>,
}

/// What one generator run did.
#[derive(Clone, Copy, Debug, Default)]
pub struct Sent {
    pub frames: u64,
    pub wall: Duration,
    /// CPU time of the generator thread (user + system, getrusage), its own syscalls and
    /// the softirq work that ran in its context.
    pub thread_cpu: Duration,
}

impl Traffic {
    pub fn load() -> Result<Traffic> {
        let mut ebpf = aya::EbpfLoader::new()
            .load(BENCH_OBJECT)
            .context("loading the bench object")?;
        for name in ["bench_gen", "bench_count", "bench_reflector"] {
            let p: &mut Xdp = ebpf.program_mut(name).context(name)?.try_into()?;
            p.load().with_context(|| format!("verifier: {name}"))?;
        }
        Ok(Traffic {
            ebpf,
            reflector: None,
        })
    }

    fn program(&mut self, name: &str) -> Result<&mut Xdp> {
        Ok(self
            .ebpf
            .program_mut(name)
            .context(name.to_string())?
            .try_into()?)
    }

    pub fn program_id(&mut self, name: &str) -> Result<u32> {
        Ok(self.program(name)?.info()?.id())
    }

    /// The counter, native mode, on the client end (also gives that veth NAPI).
    pub fn attach_counter(&mut self, ns: &str, ifname: &str) -> Result<()> {
        let _ns = InNetns::enter(ns)?;
        self.program("bench_count")?
            .attach(ifname, XdpMode::Driver)
            .context("attaching the counter")?;
        Ok(())
    }

    /// The reflector on the server end, in `mode` (generic like `run` on veth, or native).
    pub fn attach_reflector(&mut self, ns: &str, ifname: &str, mode: XdpMode) -> Result<()> {
        let _ns = InNetns::enter(ns)?;
        let link = self
            .program("bench_reflector")?
            .attach(ifname, mode)
            .context("attaching the reflector")?;
        self.reflector = Some(link);
        Ok(())
    }

    pub fn detach_reflector(&mut self) -> Result<()> {
        if let Some(link) = self.reflector.take() {
            self.program("bench_reflector")?.detach(link)?;
        }
        Ok(())
    }

    /// 0: counted frames are dropped (rate runs); 1: passed to the stack (latency runs).
    pub fn set_pass(&mut self, pass: bool) -> Result<()> {
        let mut mode: Array<_, u32> =
            Array::try_from(self.ebpf.map_mut("BENCH_COUNT_MODE").context("mode map")?)?;
        mode.set(0, u32::from(pass), 0)?;
        Ok(())
    }

    pub fn counts(&mut self) -> Result<[u64; COUNTS_LEN]> {
        let counts: PerCpuArray<_, u64> =
            PerCpuArray::try_from(self.ebpf.map("BENCH_COUNTS").context("counts map")?)?;
        let mut out = [0u64; COUNTS_LEN];
        for (i, slot) in out.iter_mut().enumerate() {
            *slot = counts.get(&(i as u32), 0)?.iter().sum();
        }
        Ok(out)
    }

    /// Sends `frame` from the client end as fast as one CPU allows, for `duration`.
    pub fn generate(
        &mut self,
        client_ns: &str,
        client_ifindex: u32,
        frame: &[u8],
        duration: Duration,
        cpu: usize,
        stop: &AtomicBool,
    ) -> Result<Sent> {
        set_bench_frame(&mut self.ebpf, frame)?;
        let program: &Xdp = self
            .ebpf
            .program("bench_gen")
            .context("bench_gen")?
            .try_into()?;
        // struct xdp_md: data, data_end, data_meta, ingress_ifindex, rx_queue_index,
        // egress_ifindex.
        let ctx: Vec<u8> = [0, frame.len() as u32, 0, client_ifindex, 0, 0]
            .iter()
            .flat_map(|v| v.to_ne_bytes())
            .collect();
        std::thread::scope(|s| {
            s.spawn(|| -> Result<Sent> {
                pin_thread(cpu);
                let _ns = InNetns::enter(client_ns)?;
                let cpu0 = thread_cpu();
                let start = Instant::now();
                let mut sent = 0u64;
                for _ in 0..MAX_CALLS {
                    if start.elapsed() >= duration || stop.load(Ordering::Relaxed) {
                        break;
                    }
                    // Live mode reports no verdict: the counters say what arrived.
                    program
                        .test_run(TestRunOptions {
                            data_in: Some(frame),
                            ctx_in: Some(&ctx),
                            repeat: CHUNK,
                            attrs: TestRunAttrs::new().xdp_live_frames(BATCH),
                            ..TestRunOptions::new()
                        })
                        .context("BPF_PROG_TEST_RUN live frames")?;
                    sent += u64::from(CHUNK);
                }
                Ok(Sent {
                    frames: sent,
                    wall: start.elapsed(),
                    thread_cpu: thread_cpu().saturating_sub(cpu0),
                })
            })
            .join()
            .map_err(|_| anyhow::anyhow!("the generator thread panicked"))?
        })
    }
}

/// User + system time of the calling thread.
pub fn thread_cpu() -> Duration {
    // SAFETY: getrusage fills the struct.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut ru) };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(ru.ru_utime) + tv(ru.ru_stime)
}
