//! `cargo xtask bench`: the benchmarks, measured in one run so their ratios hold.
//!
//! 1. Kernel cost per packet through BPF_PROG_TEST_RUN (benches/kernel.rs), next to a
//!    MAC-swap XDP_TX reflector and the empty program.
//! 2. End to end over veth between two namespaces (benches/e2e): a live-frame traffic
//!    generator against the reflector, `lwm2m-xdp run` and Kea; replies/s, loss, CPU per
//!    reply, latency; config change to first new reply; memory.
//! 3. Here: the machine, the aims of issue 9 checked against the figures, a table on stdout,
//!    target/bench/{bench.json, bench.svg, summary.md} (plus each bench's own .txt/.json).
//!
//! Performance is reported, never asserted: a missed aim is printed, not a failure.

mod plot;
mod report;

use std::{
    io::{BufRead as _, BufReader},
    path::Path,
    process::Stdio,
    time::Instant,
};

use anyhow::{bail, ensure, Context as _, Result};
use serde_json::{json, Value};

use crate::cmd;

/// Runs a bench target, printing its stdout as it comes and keeping a copy in `txt`.
fn run_bench(root: &Path, name: &str, txt: &Path) -> Result<()> {
    let mut bench = cmd::cargo();
    bench
        .current_dir(root)
        .args([
            "bench",
            "--quiet",
            "-p",
            "lwm2m-xdp-benches",
            "--bench",
            name,
        ])
        .env(
            "LWM2M_XDP_BIN",
            crate::package::target_dir(root).join("release/lwm2m-xdp"),
        )
        .stdin(Stdio::null())
        .stdout(Stdio::piped());
    println!("+ {}", cmd::display(&bench));
    let mut child = bench
        .spawn()
        .with_context(|| format!("running the {name} bench"))?;
    let mut kept = String::new();
    let out = child.stdout.take().context("bench stdout")?;
    for line in BufReader::new(out).lines() {
        let line = line?;
        println!("{line}");
        kept.push_str(&line);
        kept.push('\n');
    }
    let status = child.wait()?;
    std::fs::write(txt, &kept)?;
    ensure!(status.success(), "the {name} bench failed ({status})");
    ensure!(
        !kept.contains("SKIPPED"),
        "the {name} bench skipped itself (needs root)"
    );
    Ok(())
}

fn first_line_with(path: &str, key: &str) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    let line = text.lines().find(|l| l.starts_with(key))?;
    Some(line.split_once(':')?.1.trim().to_string())
}

/// What the figures were measured on.
fn machine() -> Value {
    let text = |p: &str| {
        std::fs::read_to_string(p)
            .map(|s| s.trim().to_string())
            .unwrap_or_default()
    };
    json!({
        "nproc": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        "kernel": text("/proc/sys/kernel/osrelease"),
        "cpu_model": first_line_with("/proc/cpuinfo", "model name"),
        "memory": first_line_with("/proc/meminfo", "MemTotal"),
        "loadavg": text("/proc/loadavg"),
        "commit": cmd::output_of("git", &["rev-parse", "--short", "HEAD"]).map(|s| s.trim().to_string()),
        "date": cmd::output_of("date", &["-u", "+%Y-%m-%dT%H:%M:%SZ"]).map(|s| s.trim().to_string()),
        "note": "a shared VM: other builds and tests run on the same cores, so figures carry noise",
    })
}

const STATS_SYSCTL: &str = "/proc/sys/kernel/bpf_stats_enabled";

/// Turns machine-wide BPF run statistics off for the benches (each program run would pay two
/// clock reads, ~70 ns on this VM: more than a reflector's whole cost) and puts the setting
/// back when dropped. The e2e bench turns statistics on by itself where it wants them.
struct StatsOff {
    previous: Option<String>,
}

impl StatsOff {
    fn new() -> StatsOff {
        let previous = std::fs::read_to_string(STATS_SYSCTL)
            .ok()
            .map(|v| v.trim().to_string())
            .filter(|v| v != "0");
        if let Some(v) = &previous {
            match std::fs::write(STATS_SYSCTL, "0") {
                Ok(()) => println!(
                    "bench: kernel.bpf_stats_enabled was {v}: off for this run, restored after"
                ),
                Err(e) => println!(
                    "bench: kernel.bpf_stats_enabled is {v} and cannot be turned off ({e}): figures include its clock reads"
                ),
            }
        }
        StatsOff { previous }
    }
}

impl Drop for StatsOff {
    fn drop(&mut self) {
        if let Some(v) = &self.previous {
            let _ = std::fs::write(STATS_SYSCTL, v);
        }
    }
}

extern "C" fn ignore_sigint(_: libc::c_int) {}

fn read_json(path: &Path) -> Result<Value> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
}

pub fn run() -> Result<()> {
    if cmd::euid() != Some(0) {
        bail!("the benchmarks load BPF programs and create network namespaces: run them as root");
    }
    let started = Instant::now();
    let root = cmd::workspace_root();
    let dir = root.join("target/bench");
    std::fs::create_dir_all(&dir)?;
    let machine_before = machine();
    // Ctrl-C reaches the benches too (one process group): they clean up and exit, and this
    // process stays to restore what it changed.
    // SAFETY: the handler does nothing.
    unsafe {
        libc::signal(
            libc::SIGINT,
            ignore_sigint as extern "C" fn(libc::c_int) as libc::sighandler_t,
        )
    };

    // Build both, and the binary the e2e bench runs, first, so the build's output and time
    // stay out of the measurements.
    cmd::run(
        cmd::cargo()
            .current_dir(&root)
            .args(["build", "--release", "-p", "lwm2m-xdp"]),
    )?;
    cmd::run(cmd::cargo().current_dir(&root).args([
        "bench",
        "--quiet",
        "-p",
        "lwm2m-xdp-benches",
        "--bench",
        "kernel",
        "--bench",
        "e2e",
        "--no-run",
    ]))?;
    {
        let _stats_off = StatsOff::new();
        run_bench(&root, "kernel", &dir.join("kernel.txt"))?;
        println!();
        run_bench(&root, "e2e", &dir.join("e2e.txt"))?;
    }

    let kernel = read_json(&dir.join("kernel.json"))?;
    let e2e = read_json(&dir.join("e2e.json"))?;
    let mut machine = machine_before;
    machine["loadavg_after"] = json!(std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .trim());
    let aims = report::aims(&kernel, &e2e);
    let all = json!({
        "machine": machine,
        "kernel": kernel,
        "e2e": e2e,
        "aims": aims,
        "bench_seconds": started.elapsed().as_secs_f64(),
    });
    println!();
    print!("{}", report::summary(&all));
    std::fs::write(dir.join("bench.json"), serde_json::to_string_pretty(&all)?)?;
    std::fs::write(dir.join("summary.md"), report::markdown(&all))?;
    plot::draw(&all, &dir.join("bench.svg"))?;
    for f in [
        "bench.json",
        "bench.svg",
        "summary.md",
        "kernel.txt",
        "e2e.txt",
    ] {
        println!("written: {}", dir.join(f).display());
    }
    println!(
        "cargo xtask bench: {:.0} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
