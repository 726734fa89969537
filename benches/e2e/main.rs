//! LinkEnd to end over veth (`cargo xtask bench` runs this after the kernel bench).
//!
//! client ns [bench-cli] <------ veth ------> [bench-srv] server ns
//! 198.18.100.2, fe80::                           198.18.100.1, fe80::
//! generator: bench_gen, live frames (CPU 0)     reflector | `lwm2m-xdp run` (generic XDP)
//! counter: bench_count (native XDP)             | kea-dhcp4 / kea-dhcp6 (pinned to CPU 1)
//!
//! For each server and family: the highest rate one CPU can push for RATE_TIME (replies/s,
//! loss, CPU per reply), then latency at LATENCY_RATE/s through UDP sockets with every reply
//! decoded and checked; then config-change times and memory. Everything the bench made is
//! removed at the end, also on failure or Ctrl-C. Writes target/bench/e2e.json.

mod cpu;
mod frames;
mod latency;
mod reload;
mod report;
mod servers;
mod topo;
mod traffic;

use std::{
    path::{Path, PathBuf},
    sync::atomic::{AtomicBool, Ordering},
    time::Duration,
};

use anyhow::{bail, Context as _, Result};
use aya::programs::XdpMode;
use frames::Family;
use latency::{Expect, Latency};
use lwm2m_xdp::{config::Config, instance, stats};
use serde_json::{json, Value};
use topo::{Topology, CLIENT_IF, SERVER_IF};
use traffic::Traffic;

const RATE_TIME: Duration = Duration::from_secs(5);
/// The second, shorter run of an XDP server with BPF run statistics on.
const STATS_TIME: Duration = Duration::from_secs(1);
const LATENCY_RATE: u32 = 1000;
const LATENCY_TIME: Duration = Duration::from_secs(2);
const GENERATOR_CPU: usize = 0;
/// Where the servers run: the other CPU (a one-CPU machine shares CPU 0).
fn server_cpu() -> usize {
    match std::thread::available_parallelism() {
        Ok(n) if n.get() >= 2 => 1,
        _ => 0,
    }
}
/// Replies still in flight when the generator stops (Kea's socket backlog) get this long.
const DRAIN: Duration = Duration::from_millis(300);
const SWITCHES_DIRECT: usize = 20;
const SWITCHES_SIGHUP: usize = 10;
const URI_A: &str = "coaps://bootstrap.example.net:5684";
const URI_B: &str = "coaps://bootstrap-b.example.net:5684";

static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    STOP.store(true, Ordering::SeqCst);
}

fn check_stop() -> Result<()> {
    if STOP.load(Ordering::SeqCst) {
        bail!("interrupted");
    }
    Ok(())
}

/// Who answers on the server end.
enum Target {
    Reflector {
        prog_id: u32,
        /// Native XDP (the native pair), else generic.
        native: bool,
    },
    Run {
        prog_id: u32,
        counters_map_id: u32,
        pid: u32,
        native: bool,
    },
    Kea {
        pid: u32,
    },
}

impl Target {
    fn name(&self) -> &'static str {
        match self {
            Target::Reflector { native: false, .. } => "reflector",
            Target::Reflector { native: true, .. } => "reflector (native)",
            Target::Run { native: false, .. } => "lwm2m-xdp",
            Target::Run { native: true, .. } => "lwm2m-xdp (native)",
            Target::Kea { .. } => "kea",
        }
    }

    fn prog_id(&self) -> Option<u32> {
        match self {
            Target::Reflector { prog_id, .. } | Target::Run { prog_id, .. } => Some(*prog_id),
            Target::Kea { .. } => None,
        }
    }

    fn pid(&self) -> Option<u32> {
        match self {
            Target::Run { pid, .. } | Target::Kea { pid } => Some(*pid),
            Target::Reflector { .. } => None,
        }
    }
}

/// One rate run, as printed and as stored.
struct RateRow {
    server: &'static str,
    family: Family,
    sent: u64,
    replies: u64,
    wall: f64,
    reply_octets: f64,
    /// Softirq seconds over all CPUs (the server path, the reply's way back, the counter).
    softirq: f64,
    /// The server process's utime + stime (Kea; `run` is idle in the data path).
    process: Option<f64>,
    /// The server's BPF program: ns per run (one run per reply).
    bpf_server_ns: Option<f64>,
    json: Value,
}

impl RateRow {
    fn per_s(&self) -> f64 {
        self.replies as f64 / self.wall
    }

    /// CPU-seconds per 1000 replies for the cost that compares: Kea's own process time;
    /// for XDP, the softirq time of all CPUs (an upper bound: it also holds the veth
    /// delivery both ways and the counter).
    fn cpu_per_1000(&self) -> Option<f64> {
        if self.replies == 0 {
            return None;
        }
        let cost = match self.server {
            "kea" => self.process?,
            _ => self.softirq,
        };
        Some(cost / self.replies as f64 * 1000.0)
    }
}

fn rate_run(
    traffic: &mut Traffic,
    topo: &Topology,
    target: &Target,
    family: Family,
    gen_id: u32,
    count_id: u32,
) -> Result<RateRow> {
    check_stop()?;
    let frame = frames::frame(family, 0x00d0_0001, &topo.client);
    traffic.set_pass(false)?;
    let server_counters = |t: &Target| -> Option<Vec<u64>> {
        match t {
            Target::Run {
                counters_map_id, ..
            } => stats::read_by_id(*counters_map_id).ok(),
            _ => None,
        }
    };
    let c0 = traffic.counts()?;
    let s0 = cpu::proc_stat()?;
    let p0 = target.pid().map(cpu::process_cpu).transpose()?;
    let n0 = server_counters(target);
    let sent = traffic.generate(
        &topo.client_ns,
        topo.client.ifindex,
        &frame,
        RATE_TIME,
        GENERATOR_CPU,
        &STOP,
    );
    std::thread::sleep(DRAIN);
    // Back to passing replies up the stack, for the socket clients.
    traffic.set_pass(true)?;
    let sent = sent?;
    let c1 = traffic.counts()?;
    let s1 = cpu::proc_stat()?;
    let p1 = target.pid().map(cpu::process_cpu).transpose()?;
    let n1 = server_counters(target);
    // The program's own time per run, from a shorter second run with BPF run statistics on
    // (they cost two clock reads per program run, so the main run goes without them).
    let bpf = match target.prog_id() {
        Some(id) => Some(program_times(
            traffic,
            topo,
            &frame,
            [id, gen_id, count_id],
        )?),
        None => None,
    };
    let bpf_server_ns = bpf.as_ref().map(|b| b.server_ns);

    let idx = match (target, family) {
        (Target::Reflector { .. }, Family::V4) => traffic::COUNT_V4_REFLECTED,
        (Target::Reflector { .. }, Family::V6) => traffic::COUNT_V6_REFLECTED,
        (_, Family::V4) => traffic::COUNT_V4_REPLY,
        (_, Family::V6) => traffic::COUNT_V6_REPLY,
    };
    let replies = c1[idx] - c0[idx];
    let reply_octets = match target {
        Target::Reflector { .. } => frame.len() as f64,
        _ => {
            (c1[traffic::COUNT_REPLY_BYTES] - c0[traffic::COUNT_REPLY_BYTES]) as f64
                / replies.max(1) as f64
        }
    };
    let d = cpu::diff(&s1, &s0);
    let all = d[0];
    let gen_cpu = d.get(1 + GENERATOR_CPU).copied().unwrap_or_default();
    let process = match (p0, p1) {
        (Some(a), Some(b)) => Some(b - a),
        _ => None,
    };
    let wall = sent.wall.as_secs_f64();
    let per_1000 = |cost: f64| cost / replies.max(1) as f64 * 1000.0;
    let counters = match (n0, n1) {
        (Some(a), Some(b)) => {
            let d: Vec<u64> = b.iter().zip(&a).map(|(b, a)| b - a).collect();
            stats::to_json(&d)
        }
        _ => Value::Null,
    };
    let json = json!({
        "server": target.name(),
        "family": family.name(),
        "request_octets": frame.len(),
        "reply_octets": reply_octets,
        "sent": sent.frames,
        "replies": replies,
        "loss": sent.frames.saturating_sub(replies),
        "wall_s": wall,
        "replies_per_s": replies as f64 / wall,
        "other_dhcp_frames": c1[traffic::COUNT_OTHER_DHCP] - c0[traffic::COUNT_OTHER_DHCP],
        "cpu": {
            "softirq_all_cpus_s": all.softirq,
            "system_all_cpus_s": all.system,
            "user_all_cpus_s": all.user,
            "busy_all_cpus_s": all.busy(),
            "generator_cpu_busy_s": gen_cpu.busy(),
            "generator_cpu_softirq_s": gen_cpu.softirq,
            "generator_thread_s": sent.thread_cpu.as_secs_f64(),
            "server_process_s": process,
            "steal_all_cpus_s": all.steal,
        },
        "bpf": bpf.as_ref().map(|b| json!({
            "seconds": STATS_TIME.as_secs_f64(),
            "server_ns_per_run": b.server_ns,
            "server_runs": b.server_runs,
            "generator_ns_per_run": b.generator_ns,
            "counter_ns_per_run": b.counter_ns,
        })),
        "cpu_s_per_1000_replies": {
            "softirq": per_1000(all.softirq),
            // One program run per reply: ns per run = ns of program time per reply.
            "bpf_program": bpf_server_ns.map(|ns| ns * 1e-6),
            "process": process.map(per_1000),
            "process_plus_softirq": process.map(|p| per_1000(p + all.softirq)),
        },
        "server_counters": counters,
    });
    Ok(RateRow {
        server: target.name(),
        family,
        sent: sent.frames,
        replies,
        wall,
        reply_octets,
        softirq: all.softirq,
        process,
        bpf_server_ns,
        json,
    })
}

/// Per-run times of the server program, the generator and the counter.
struct ProgramTimes {
    server_ns: f64,
    server_runs: u64,
    generator_ns: f64,
    counter_ns: f64,
}

/// STATS_TIME of the same stream with BPF run statistics on; ns per run of `ids`
/// ([server, generator, counter]).
fn program_times(
    traffic: &mut Traffic,
    topo: &Topology,
    frame: &[u8],
    ids: [u32; 3],
) -> Result<ProgramTimes> {
    traffic.set_pass(false)?;
    let stats = cpu::BpfStats::enable()?;
    let before: Vec<(Duration, u64)> = ids
        .iter()
        .map(|&id| cpu::prog_stats(id))
        .collect::<Result<_>>()?;
    let sent = traffic.generate(
        &topo.client_ns,
        topo.client.ifindex,
        frame,
        STATS_TIME,
        GENERATOR_CPU,
        &STOP,
    );
    std::thread::sleep(DRAIN);
    let after: Vec<(Duration, u64)> = ids
        .iter()
        .map(|&id| cpu::prog_stats(id))
        .collect::<Result<_>>()?;
    drop(stats);
    traffic.set_pass(true)?;
    sent?;
    let ns = |i: usize| {
        let runs = after[i].1 - before[i].1;
        (
            (after[i].0 - before[i].0).as_secs_f64() * 1e9 / runs.max(1) as f64,
            runs,
        )
    };
    Ok(ProgramTimes {
        server_ns: ns(0).0,
        server_runs: ns(0).1,
        generator_ns: ns(1).0,
        counter_ns: ns(2).0,
    })
}

fn latency_run(
    topo: &Topology,
    server: &str,
    family: Family,
    expect: &Expect,
) -> Result<(Latency, Value)> {
    check_stop()?;
    let l = latency::measure(
        &topo.client_ns,
        family,
        &topo.client,
        &latency::Pace {
            rate: LATENCY_RATE,
            duration: LATENCY_TIME,
            cpu: GENERATOR_CPU,
        },
        expect,
        &STOP,
    )?;
    let json = json!({
        "server": server,
        "family": family.name(),
        "rate_per_s": LATENCY_RATE,
        "seconds": LATENCY_TIME.as_secs_f64(),
        "sent": l.sent,
        "received": l.received,
        "valid": l.valid,
        "p50_us": l.percentile(50.0),
        "p90_us": l.percentile(90.0),
        "p99_us": l.percentile(99.0),
        "max_us": l.percentile(100.0),
        "first_error": l.first_error,
    });
    Ok((l, json))
}

/// What the runs measure, in the order they run: the tables and e2e.json are made of it.
struct Results {
    rates: Vec<RateRow>,
    latencies: Vec<(String, Family, Latency, Value)>,
    kea_status: serde_json::Map<String, Value>,
    memory: Value,
    maps_total: u64,
    program_memlock: u64,
    sighup: Option<reload::Switches>,
    direct: Option<reload::Switches>,
    prepare_ms: f64,
}

/// The configs the bench serves and what every reply must carry.
struct Inputs {
    root: PathBuf,
    scratch: servers::Scratch,
    text_a: String,
    text_b: String,
    cfg_path: PathBuf,
    cfg_a: Config,
    cfg_b: Config,
    expect: Expect,
}

impl Inputs {
    fn prepare() -> Result<Inputs> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .context("workspace root")?
            .to_path_buf();
        let scratch = servers::Scratch::new()?;
        let text_a = servers::config_text(&root, URI_A, "generic")?;
        let text_b = servers::config_text(&root, URI_B, "generic")?;
        let cfg_path = scratch.path("lwm2m-xdp.toml");
        std::fs::write(&cfg_path, &text_a)?;
        let cfg_a = Config::parse(&text_a, &cfg_path)?;
        let cfg_b = Config::parse(&text_b, &cfg_path)?;
        let cert_path = root.join("examples/certs/bootstrap-1000.der");
        let expect = Expect {
            format: cfg_a.lwm2m.wire_format,
            uri: URI_A.into(),
            certificate: std::fs::read(&cert_path)
                .with_context(|| format!("reading {}", cert_path.display()))?,
        };
        Ok(Inputs {
            root,
            scratch,
            text_a,
            text_b,
            cfg_path,
            cfg_a,
            cfg_b,
            expect,
        })
    }
}

/// The live-frame stream: generator on the client end, counter of what comes back.
struct Stream {
    traffic: Traffic,
    gen_id: u32,
    count_id: u32,
}

impl Stream {
    fn start(topo: &Topology) -> Result<Stream> {
        let mut traffic = Traffic::load()?;
        traffic.set_pass(true)?;
        traffic.attach_counter(&topo.client_ns, CLIENT_IF)?;
        Ok(Stream {
            gen_id: traffic.program_id("bench_gen")?,
            count_id: traffic.program_id("bench_count")?,
            traffic,
        })
    }

    fn rate(&mut self, topo: &Topology, target: &Target, family: Family) -> Result<RateRow> {
        rate_run(
            &mut self.traffic,
            topo,
            target,
            family,
            self.gen_id,
            self.count_id,
        )
    }
}

fn install_signal_handlers() {
    // SAFETY: the handler only stores to an atomic.
    unsafe {
        libc::signal(
            libc::SIGINT,
            on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t,
        );
        libc::signal(
            libc::SIGTERM,
            on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t,
        );
    }
}

fn main() -> Result<()> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("SKIPPED e2e bench: needs root (namespaces, BPF)");
        return Ok(());
    }
    install_signal_handlers();
    let inputs = Inputs::prepare()?;
    let topo = Topology::create()?;
    println!(
        "e2e: namespaces {} / {}, veth {SERVER_IF} / {CLIENT_IF}; generator on CPU {GENERATOR_CPU}, servers pinned to CPU {}",
        topo.server_ns,
        topo.client_ns,
        server_cpu()
    );
    let stats_sysctl = cpu::stats_sysctl();
    if stats_sysctl == Some(true) {
        println!("e2e: note: kernel.bpf_stats_enabled = 1 machine-wide: every BPF program run pays two clock reads (`cargo xtask bench` turns it off for its run)");
    }
    let mut stream = Stream::start(&topo)?;
    let mut results = Results {
        rates: Vec::new(),
        latencies: Vec::new(),
        kea_status: serde_json::Map::new(),
        memory: json!({}),
        maps_total: 0,
        program_memlock: 0,
        sighup: None,
        direct: None,
        prepare_ms: 0.0,
    };
    reflector_floor(&mut stream, &topo, &mut results)?;
    responder(&mut stream, &topo, &inputs, &mut results)?;
    native_pair(&mut stream, &topo, &inputs, &mut results)?;
    direct_switches(&topo, &inputs, &mut results)?;
    kea(&mut stream, &topo, &inputs, &mut results)?;
    drop(stream);
    drop(topo);
    report::print_and_write(&inputs, &results, stats_sysctl)
}

/// 1. The floor of this path: a MAC-swap reflector in generic mode on the server end.
fn reflector_floor(stream: &mut Stream, topo: &Topology, results: &mut Results) -> Result<()> {
    println!("e2e: reflector (generic XDP, MAC swap) ...");
    reflector_rates(stream, topo, results, XdpMode::Skb)?;
    if let Some(r) = results.rates.iter().find(|r| r.replies == 0) {
        bail!(
            "the reflector sent nothing back ({}): the generator's frames do not reach the server end (XDP_TX on a veth reaches its peer only when the peer runs NAPI: `ethtool -K {SERVER_IF} gro on`)",
            r.family.name()
        );
    }
    Ok(())
}

/// The reflector's rate in `mode` (generic or native), both families.
fn reflector_rates(
    stream: &mut Stream,
    topo: &Topology,
    results: &mut Results,
    mode: XdpMode,
) -> Result<()> {
    stream
        .traffic
        .attach_reflector(&topo.server_ns, SERVER_IF, mode)?;
    let reflector = Target::Reflector {
        prog_id: stream.traffic.program_id("bench_reflector")?,
        native: mode == XdpMode::Driver,
    };
    for family in [Family::V4, Family::V6] {
        results.rates.push(stream.rate(topo, &reflector, family)?);
    }
    stream.traffic.detach_reflector()
}

/// `lwm2m-xdp run --config cfg` (`mode`: the config's attach mode, "generic" or "native") on
/// the server end, once it answers both families: the process and the target it is.
fn start_run(
    topo: &Topology,
    inputs: &Inputs,
    cfg: &std::path::Path,
    mode: &str,
) -> Result<(servers::Server, Target)> {
    let instance_name = format!("lwm2m-bench-{mode}-{}", std::process::id());
    let run = servers::start_run(
        &topo.server_ns,
        server_cpu(),
        cfg,
        &instance_name,
        inputs.scratch.path(&format!("run-{mode}.log")),
    )?;
    for family in [Family::V4, Family::V6] {
        latency::wait_for_answer(
            &topo.client_ns,
            family,
            &topo.client,
            &inputs.expect,
            Duration::from_secs(15),
        )
        .with_context(|| format!("lwm2m-xdp run ({mode}): {}", run.log_tail()))?;
    }
    let state = instance::read_state(&instance_name)?;
    let target = Target::Run {
        prog_id: state.program_id,
        counters_map_id: state.counters_map_id,
        pid: run.pid(),
        native: mode == "native",
    };
    Ok((run, target))
}

/// 2b. The same two in native mode (veth's own XDP): no skb on the way in or out, as on a
/// NIC's driver. Not the aim's pair (`run` attaches a veth in generic mode), but what shows
/// the program's own share of a reply where the path around it costs little.
fn native_pair(
    stream: &mut Stream,
    topo: &Topology,
    inputs: &Inputs,
    results: &mut Results,
) -> Result<()> {
    println!("e2e: reflector and lwm2m-xdp run in native XDP ...");
    reflector_rates(stream, topo, results, XdpMode::Driver)?;
    let cfg = inputs.scratch.path("lwm2m-xdp-native.toml");
    std::fs::write(&cfg, servers::config_text(&inputs.root, URI_A, "native")?)?;
    let (_run, target) = start_run(topo, inputs, &cfg, "native")?;
    for family in [Family::V4, Family::V6] {
        results.rates.push(stream.rate(topo, &target, family)?);
    }
    Ok(())
}

/// 2. `lwm2m-xdp run`: rates, latency, config changes through SIGHUP, memory.
fn responder(
    stream: &mut Stream,
    topo: &Topology,
    inputs: &Inputs,
    results: &mut Results,
) -> Result<()> {
    println!("e2e: lwm2m-xdp run (generic XDP) ...");
    let (mut run, target) = start_run(topo, inputs, &inputs.cfg_path, "generic")?;
    let prog_id = target.prog_id().context("run's program ID")?;
    for family in [Family::V4, Family::V6] {
        results.rates.push(stream.rate(topo, &target, family)?);
    }
    for family in [Family::V4, Family::V6] {
        let (l, j) = latency_run(topo, "lwm2m-xdp", family, &inputs.expect)?;
        results.latencies.push(("lwm2m-xdp".into(), family, l, j));
    }
    println!("e2e: config change through SIGHUP ...");
    results.sighup = Some(reload::sighup(
        topo,
        &reload::RunConfigs {
            pid: run.pid(),
            path: &inputs.cfg_path,
            texts: [&inputs.text_a, &inputs.text_b],
            uris: [URI_A, URI_B],
            format: inputs.cfg_a.lwm2m.wire_format,
        },
        SWITCHES_SIGHUP,
        &STOP,
    )?);
    let (rss, hwm) = cpu::rss_kib(run.pid())?;
    let pm = cpu::program_memory(prog_id)?;
    results.maps_total = pm.maps.iter().map(|(_, b)| b).sum();
    results.program_memlock = pm.program_memlock;
    let memory = &mut results.memory;
    memory["loader_rss_kib"] = json!(rss);
    memory["loader_hwm_kib"] = json!(hwm);
    memory["program_memlock"] = json!(pm.program_memlock);
    memory["program_jited_octets"] = json!(pm.jited);
    memory["program_verified_insns"] = json!(pm.verified_insns);
    memory["maps_memlock_total"] = json!(results.maps_total);
    memory["maps"] = pm
        .maps
        .iter()
        .map(|(n, b)| json!({"name": n, "memlock": b}))
        .collect();
    run.stop();
    Ok(())
}

/// 3. Config change with the maps written directly, and what reading + compiling takes.
fn direct_switches(topo: &Topology, inputs: &Inputs, results: &mut Results) -> Result<()> {
    println!("e2e: config change written directly into the maps ...");
    results.direct = Some(reload::direct(
        topo,
        [(&inputs.cfg_a, URI_A), (&inputs.cfg_b, URI_B)],
        SWITCHES_DIRECT,
        &STOP,
    )?);
    results.prepare_ms = reload::prepare_ms(&inputs.cfg_path, 20)?;
    Ok(())
}

/// 4. Kea, the same stream, nothing attached on the server end.
fn kea(stream: &mut Stream, topo: &Topology, inputs: &Inputs, results: &mut Results) -> Result<()> {
    let scratch = &inputs.scratch;
    for family in [Family::V4, Family::V6] {
        check_stop()?;
        let key = family.name();
        let Some(bin) = servers::kea_binary(family) else {
            results.kea_status.insert(
                key.into(),
                json!({"status": "not run: kea-dhcp4/kea-dhcp6 not installed (cargo xtask setup installs them)"}),
            );
            continue;
        };
        println!("e2e: {} ...", bin.display());
        let conf = scratch.path(&format!("kea-{key}.json"));
        std::fs::write(
            &conf,
            servers::kea_config(family, &inputs.cfg_a, &scratch.0)?,
        )?;
        let mut kea = servers::start_kea(&topo.server_ns, server_cpu(), &bin, &conf, &scratch.0)?;
        let log_path = scratch.path(&format!(
            "kea-dhcp{}.log",
            if family == Family::V4 { 4 } else { 6 }
        ));
        if let Err(e) = latency::wait_for_answer(
            &topo.client_ns,
            family,
            &topo.client,
            &inputs.expect,
            Duration::from_secs(15),
        ) {
            let log = std::fs::read_to_string(&log_path).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(5).collect();
            let why = format!("{e:#}; its output: {}; log: {:?}", kea.log_tail(), tail);
            println!("e2e: Kea ({key}) gave no valid answer: {why}");
            results
                .kea_status
                .insert(key.into(), json!({"status": format!("no answer: {why}")}));
            continue;
        }
        let target = Target::Kea { pid: kea.pid() };
        results.rates.push(stream.rate(topo, &target, family)?);
        let (l, j) = latency_run(topo, "kea", family, &inputs.expect)?;
        results.latencies.push(("kea".into(), family, l, j));
        let (rss, _) = cpu::rss_kib(kea.pid()).unwrap_or((0, 0));
        results.memory[format!("kea_{key}_rss_kib")] = json!(rss);
        let log_octets = std::fs::metadata(&log_path).map(|m| m.len()).unwrap_or(0);
        results.kea_status.insert(
            key.into(),
            json!({"status": "ok", "version": servers::kea_version(&bin), "log_octets": log_octets}),
        );
        kea.stop();
    }
    Ok(())
}
