//! Config change: from writing a new config into the maps to the first reply that carries it.
//!
//! `direct`: this process loads the responder (`Datapath::load`), writes the interface table
//! and a generation exactly as `loader::install` does (install_generation),
//! attaches it in generic mode to the server veth, and times each switch between two configs
//! that differ in their bootstrap URI against a client that asks in a tight loop.
//! `sighup`: the same against `lwm2m-xdp run`: rewrite its config file, SIGHUP, and time to
//! the first reply with the new URI (this includes reading, validating and compiling the file).

use std::{
    path::Path,
    sync::atomic::{AtomicBool, Ordering},
    time::{Duration, Instant},
};

use anyhow::{bail, Context as _, Result};
use aya::programs::XdpMode;
use lwm2m_xdp::{
    compile,
    config::Config,
    datapath::{Datapath, Generation},
    ifaces,
    system::SystemInterface,
};

use crate::{
    latency::Poller,
    topo::{InNetns, Topology, SERVER_IF, SERVER_V4},
};

/// The poller's CPU: not the one `run` is pinned to.
const CLIENT_CPU: usize = crate::GENERATOR_CPU;
/// How long one switch may take before it counts as lost.
const SWITCH_LIMIT: Duration = Duration::from_secs(2);

#[derive(Debug, Default, Clone)]
pub struct Switches {
    /// Milliseconds from the first map write to the first reply with the new URI.
    pub first_reply_ms: Vec<f64>,
    /// Milliseconds the map writes themselves took (direct only).
    pub install_ms: Vec<f64>,
    pub lost: usize,
    pub polls: u64,
}

pub fn direct(
    topo: &Topology,
    configs: [(&Config, &str); 2],
    switches: usize,
    stop: &AtomicBool,
) -> Result<Switches> {
    let server = topo.server;
    let lookup = |name: &str| -> Result<SystemInterface> {
        Ok(SystemInterface {
            name: name.to_string(),
            ifindex: server.ifindex,
            mac: server.mac,
            mtu: 1500,
            ipv4: Some(SERVER_V4),
            ipv6_link_local: Some(server.link_local),
            ipv6_global: None,
        })
    };
    let compiled = [
        compile::compile(configs[0].0)?,
        compile::compile(configs[1].0)?,
    ];
    // Built before the timed switches: only the map writes are measured.
    let generations = [
        Generation::new(&compiled[0], ifaces::entries(configs[0].0, lookup)?.0),
        Generation::new(&compiled[1], ifaces::entries(configs[1].0, lookup)?.0),
    ];
    let generation = |i: usize| &generations[i];
    let mut dp = Datapath::load()?;
    dp.install_generation(generation(0))?;
    let link = {
        let _ns = InNetns::enter(&topo.server_ns)?;
        dp.program()
            .attach(SERVER_IF, XdpMode::Skb)
            .context("attaching the bench's own datapath")?
    };
    let result = (|| {
        let poller = Poller::start(
            &topo.client_ns,
            topo.client,
            configs[0].0.lwm2m.wire_format,
            CLIENT_CPU,
        )?;
        if poller
            .first_reply_with(configs[0].1, Instant::now() - SWITCH_LIMIT, SWITCH_LIMIT)
            .is_none()
        {
            bail!("the bench's own datapath does not answer");
        }
        let uris = [configs[0].1, configs[1].1];
        let pause = Duration::from_millis(10);
        time_switches(&poller, uris, switches, stop, pause, |to| {
            let t0 = Instant::now();
            dp.install_generation(generation(to))?;
            Ok((t0, Some(Instant::now())))
        })
    })();
    let _ = dp.program().detach(link);
    result
}

/// A running `lwm2m-xdp run` and two configs to switch it between.
pub struct RunConfigs<'a> {
    pub pid: u32,
    /// The file it was started with; it runs `texts[0]` now.
    pub path: &'a Path,
    pub texts: [&'a str; 2],
    /// The bootstrap URI of each text.
    pub uris: [&'a str; 2],
    pub format: lwm2m_xdp::config::WireFormat,
}

/// Switches `run` between its two configs by rewriting the file and sending SIGHUP.
pub fn sighup(
    topo: &Topology,
    run: &RunConfigs,
    switches: usize,
    stop: &AtomicBool,
) -> Result<Switches> {
    let RunConfigs {
        pid,
        path,
        texts,
        uris,
        format,
    } = *run;
    let poller = Poller::start(&topo.client_ns, topo.client, format, CLIENT_CPU)?;
    if poller
        .first_reply_with(uris[0], Instant::now() - SWITCH_LIMIT, SWITCH_LIMIT)
        .is_none()
    {
        bail!("lwm2m-xdp run does not answer the poller");
    }
    let pause = Duration::from_millis(20);
    let out = time_switches(&poller, uris, switches, stop, pause, |to| {
        std::fs::write(path, texts[to])?;
        let t0 = Instant::now();
        // SAFETY: signalling the `run` child this bench started.
        unsafe { libc::kill(pid as i32, libc::SIGHUP) };
        Ok((t0, None))
    })?;
    // Leave `run` on the config it started with.
    if switches % 2 == 1 {
        std::fs::write(path, texts[0])?;
        // SAFETY: as above.
        unsafe { libc::kill(pid as i32, libc::SIGHUP) };
        poller.first_reply_with(uris[0], Instant::now(), SWITCH_LIMIT);
    }
    Ok(out)
}

/// Switches `switches` times between two configs, the first to `uris[1]`: `switch(to)` makes
/// config `to` current and says when it began and, for map writes, when they were done. Each
/// switch is timed to the poller's first reply with `uris[to]`, then `pause` follows.
fn time_switches(
    poller: &Poller,
    uris: [&str; 2],
    switches: usize,
    stop: &AtomicBool,
    pause: Duration,
    mut switch: impl FnMut(usize) -> Result<(Instant, Option<Instant>)>,
) -> Result<Switches> {
    let mut out = Switches::default();
    for i in 0..switches {
        if stop.load(Ordering::Relaxed) {
            bail!("interrupted");
        }
        let to = (i + 1) % 2;
        let (t0, installed) = switch(to)?;
        match poller.first_reply_with(uris[to], t0, SWITCH_LIMIT) {
            Some(at) => {
                out.first_reply_ms.push(ms(at - t0));
                if let Some(t1) = installed {
                    out.install_ms.push(ms(t1 - t0));
                }
            }
            None => out.lost += 1,
        }
        std::thread::sleep(pause);
    }
    out.polls = poller.polls();
    Ok(out)
}

/// What `run` does with a file before it writes any map (`loader::prepare` without its
/// interface lookups, then the blocks `loader::install` builds): read and validate it,
/// read the certificate, encode, build all 2 x 256 blocks with their checksums.
/// Median milliseconds over `n` rounds.
pub fn prepare_ms(path: &Path, n: usize) -> Result<f64> {
    let mut times = Vec::with_capacity(n);
    for _ in 0..n {
        let t0 = Instant::now();
        let cfg = Config::load(path)?;
        let compiled = compile::compile(&cfg)?;
        std::hint::black_box(Generation::new(&compiled, Vec::new()));
        times.push(ms(t0.elapsed()));
    }
    times.sort_by(f64::total_cmp);
    times.get(n / 2).copied().context("no rounds")
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
