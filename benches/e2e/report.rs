//! The e2e bench's tables on stdout and target/bench/e2e.json, from what the runs measured.

use serde_json::{json, Value};

use crate::frames::Family;
use crate::{
    reload, server_cpu, traffic, Inputs, Results, GENERATOR_CPU, LATENCY_RATE, LATENCY_TIME,
    RATE_TIME, STATS_TIME, SWITCHES_DIRECT, SWITCHES_SIGHUP,
};

/// Figures the tables and the file both show, computed once.
struct Derived {
    comparison: Vec<Value>,
    direct: Value,
    sighup: Value,
}

/// Prints the tables and writes target/bench/e2e.json.
pub fn print_and_write(
    inputs: &Inputs,
    results: &Results,
    stats_sysctl: Option<bool>,
) -> anyhow::Result<()> {
    let mut sighup = switches_json(results.sighup.as_ref());
    if !sighup.is_null() {
        sighup["prepare_ms_median"] = json!(results.prepare_ms);
    }
    let mut derived = Derived {
        comparison: Vec::new(),
        direct: switches_json(results.direct.as_ref()),
        sighup,
    };
    print_tables(results, &mut derived);
    write(inputs, results, &derived, stats_sysctl)
}

fn print_tables(results: &Results, derived: &mut Derived) {
    println!();
    println!(
        "end to end over veth: {} s at the highest rate one CPU allows (live-frame generator, batch {})",
        RATE_TIME.as_secs(),
        traffic::BATCH
    );
    println!(
        "{:<18} {:<3} {:>10} {:>10} {:>10} {:>11} {:>6} {:>12} {:>12} {:>10}",
        "server",
        "fam",
        "sent",
        "replies",
        "loss",
        "replies/s",
        "octets",
        "cpu-s/1000",
        "bpf-s/1000",
        "bpf ns/run"
    );
    for r in &results.rates {
        let bpf_per_1000 = r.bpf_server_ns.map(|ns| ns * 1e-6);
        let bpf_ns = r.bpf_server_ns;
        println!(
            "{:<18} {:<3} {:>10} {:>10} {:>10} {:>11.0} {:>6.0} {:>12} {:>12} {:>10}",
            r.server,
            r.family.name(),
            r.sent,
            r.replies,
            r.sent.saturating_sub(r.replies),
            r.per_s(),
            r.reply_octets,
            fmt_opt(r.cpu_per_1000(), 6),
            fmt_opt(bpf_per_1000, 6),
            fmt_opt(bpf_ns, 0),
        );
    }
    println!("cpu-s/1000: CPU-seconds per 1000 replies: for Kea its process's utime+stime; for XDP the softirq time of all CPUs (/proc/stat, tick-sampled), which holds the server path, the veth hops and the counter: an upper bound. bpf-s/1000: the server program's own run time (BPF_ENABLE_STATS, in a second {} s run: statistics cost two clock reads per program run).", STATS_TIME.as_secs());
    for family in [Family::V4, Family::V6] {
        let find = |s: &str| {
            results
                .rates
                .iter()
                .find(|r| r.server == s && r.family == family)
        };
        if let (Some(x), Some(k)) = (find("lwm2m-xdp"), find("kea")) {
            let rate_ratio = x.per_s() / k.per_s().max(1e-9);
            let cpu_ratio = match (x.cpu_per_1000(), k.cpu_per_1000()) {
                (Some(xc), Some(kc)) if xc > 0.0 => Some(kc / xc),
                _ => None,
            };
            let bpf_ratio = match (x.bpf_server_ns, k.cpu_per_1000()) {
                (Some(ns), Some(kc)) if ns > 0.0 => Some(kc / (ns * 1e-6)),
                _ => None,
            };
            println!(
                "{}: lwm2m-xdp / Kea: {:.0}x the replies per second, {}x the replies per CPU-second (softirq vs Kea's process), {}x by the program's own run time",
                family.name(),
                rate_ratio,
                fmt_opt(cpu_ratio, 0),
                fmt_opt(bpf_ratio, 0)
            );
            derived.comparison.push(json!({
                "family": family.name(),
                "replies_per_s_ratio": rate_ratio,
                "replies_per_cpu_s_ratio": cpu_ratio,
                "replies_per_cpu_s_ratio_bpf_program": bpf_ratio,
            }));
        }
    }
    println!();
    println!(
        "latency at {LATENCY_RATE}/s for {} s (UDP sockets, kernel receive timestamps; every reply decoded)",
        LATENCY_TIME.as_secs()
    );
    println!(
        "{:<10} {:<3} {:>6} {:>8} {:>6} {:>9} {:>9} {:>9}",
        "server", "fam", "sent", "received", "valid", "p50 us", "p99 us", "max us"
    );
    for (server, family, l, _) in &results.latencies {
        println!(
            "{:<10} {:<3} {:>6} {:>8} {:>6} {:>9} {:>9} {:>9}",
            server,
            family.name(),
            l.sent,
            l.received,
            l.valid,
            fmt_opt(l.percentile(50.0), 0),
            fmt_opt(l.percentile(99.0), 0),
            fmt_opt(l.percentile(100.0), 0),
        );
        if let Some(e) = &l.first_error {
            println!("  first bad reply: {e}");
        }
    }
    let (direct_json, sighup_json) = (&derived.direct, &derived.sighup);
    println!();
    println!(
        "config change -> first reply with the new URI: maps written directly: median {} ms, max {} ms (writes {} ms) over {} switches; SIGHUP to run: median {} ms, max {} ms over {} (reading + compiling the file alone: {:.2} ms)",
        fmt_opt(direct_json["first_reply_ms_median"].as_f64(), 3),
        fmt_opt(direct_json["first_reply_ms_max"].as_f64(), 3),
        fmt_opt(direct_json["install_ms_median"].as_f64(), 3),
        SWITCHES_DIRECT,
        fmt_opt(sighup_json["first_reply_ms_median"].as_f64(), 3),
        fmt_opt(sighup_json["first_reply_ms_max"].as_f64(), 3),
        SWITCHES_SIGHUP,
        results.prepare_ms,
    );
    println!(
        "memory: lwm2m-xdp run RSS {} KiB (peak {} KiB); maps {} KiB memlock; program {} KiB",
        results.memory["loader_rss_kib"],
        results.memory["loader_hwm_kib"],
        results.maps_total / 1024,
        results.program_memlock / 1024
    );
}

fn write(
    inputs: &Inputs,
    results: &Results,
    derived: &Derived,
    stats_sysctl: Option<bool>,
) -> anyhow::Result<()> {
    let report = json!({
        "settings": {
            "rate_seconds": RATE_TIME.as_secs_f64(),
            "batch": traffic::BATCH,
            "generator_cpu": GENERATOR_CPU,
            "server_cpu": server_cpu(),
            "latency_rate_per_s": LATENCY_RATE,
            "latency_seconds": LATENCY_TIME.as_secs_f64(),
            "wire_format": inputs.cfg_a.lwm2m.wire_format.to_string(),
            "bpf_stats_sysctl": stats_sysctl,
            "bpf_stats_seconds": STATS_TIME.as_secs_f64(),
        },
        "rates": results.rates.iter().map(|r| r.json.clone()).collect::<Vec<_>>(),
        "comparison": derived.comparison,
        "latency": results.latencies.iter().map(|l| l.3.clone()).collect::<Vec<_>>(),
        "config_change": { "direct": derived.direct, "sighup": derived.sighup },
        "memory": results.memory,
        "kea": results.kea_status,
    });
    let dir = inputs.root.join("target/bench");
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join("e2e.json"), serde_json::to_string_pretty(&report)?)?;
    println!("written: target/bench/e2e.json");
    Ok(())
}

fn switches_json(s: Option<&reload::Switches>) -> Value {
    let Some(s) = s else {
        return Value::Null;
    };
    let mut v = s.first_reply_ms.clone();
    v.sort_by(f64::total_cmp);
    let mut w = s.install_ms.clone();
    w.sort_by(f64::total_cmp);
    let median = |v: &[f64]| v.get(v.len() / 2).copied();
    json!({
        "switches": v.len() + s.lost,
        "lost": s.lost,
        "first_reply_ms_median": median(&v),
        "first_reply_ms_max": v.last(),
        "first_reply_ms_min": v.first(),
        "first_reply_ms": s.first_reply_ms,
        "install_ms_median": median(&w),
        "install_ms_max": w.last(),
        "polls": s.polls,
    })
}

fn fmt_opt(v: Option<f64>, prec: usize) -> String {
    v.map_or("-".into(), |v| format!("{v:.prec$}"))
}
