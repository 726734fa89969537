//! The real program, loaded once, its maps filled from one `Served` config at a time, and
//! frames run through it with BPF_PROG_TEST_RUN (ingress: the loopback device, ifindex 1).

use anyhow::{Context as _, Result};
use aya::programs::{TestRun, TestRunOptions};
use lwm2m_xdp::{datapath::Datapath, system::SystemInterface};
use lwm2m_xdp_tests::generation;

use crate::served::{Served, IFACES, SERVER_MAC};

pub struct Harness {
    dp: Datapath,
    out: Vec<u8>,
}

pub struct Run<'a> {
    pub verdict: u32,
    pub out: &'a [u8],
}

impl Harness {
    pub fn load() -> Result<Harness> {
        Ok(Harness {
            dp: Datapath::load()?,
            out: vec![0; 16384],
        })
    }

    /// Write `served` into the maps as a reload does.
    pub fn install(&mut self, served: &Served) -> Result<()> {
        let mtu = served.mtu;
        let generation =
            generation::generation_of(&served.toml(), "fuzz.toml", |name| SystemInterface {
                name: name.to_string(),
                ifindex: generation::LOOPBACK_IFINDEX,
                mac: SERVER_MAC,
                mtu,
                ipv4: Some(IFACES[0].v4),
                ipv6_link_local: Some(IFACES[0].ll),
                ipv6_global: IFACES[0].global,
            })?;
        self.dp.install_generation(&generation)?;
        Ok(())
    }

    pub fn run(&mut self, frame: &[u8]) -> Result<Run<'_>> {
        let result = self
            .dp
            .program()
            .test_run(TestRunOptions {
                data_in: Some(frame),
                data_out: Some(&mut self.out),
                ..TestRunOptions::new()
            })
            .context("BPF_PROG_TEST_RUN")?;
        Ok(Run {
            verdict: result.return_value,
            out: &self.out[..result.data_size_out as usize],
        })
    }

    /// Counters summed over CPUs.
    pub fn counters(&mut self) -> Result<Vec<u64>> {
        self.dp.counters()
    }
}
