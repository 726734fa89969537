//! The aims of issue 5 checked against one run's figures, and the run as text (stdout) and
//! as Markdown (target/bench/summary.md, the tables BENCHMARKS.md quotes).

use serde_json::{json, Value};

/// A kernel-bench case whose name contains `needle`.
fn kernel_case<'a>(kernel: &'a Value, needle: &str) -> Option<&'a Value> {
    kernel["cases"]
        .as_array()?
        .iter()
        .find(|c| c["case"].as_str().is_some_and(|n| n.contains(needle)))
}

fn rate<'a>(e2e: &'a Value, server: &str, family: &str) -> Option<&'a Value> {
    e2e["rates"]
        .as_array()?
        .iter()
        .find(|r| r["server"] == server && r["family"] == family)
}

fn f(v: &Value) -> Option<f64> {
    v.as_f64()
}

fn opt(v: Option<f64>, prec: usize) -> String {
    v.map_or("-".into(), |v| format!("{v:.prec$}"))
}

/// One entry per aim: what it asks, the figures, and whether they meet it.
pub fn aims(kernel: &Value, e2e: &Value) -> Value {
    let mut out = Vec::new();
    for (family, needle, label) in [
        (
            "v4",
            "ACK, URI + 1000 B cert",
            "DHCPv4 answer with a 1000-octet certificate within 3x of the reflector",
        ),
        (
            "v6",
            "REPLY, URI + 1000 B cert",
            "DHCPv6 answer within 3x of the reflector",
        ),
    ] {
        let case = kernel_case(kernel, needle);
        let gross = case.and_then(|c| f(&c["ratio_to_reflector"]));
        let net = case.and_then(|c| f(&c["net_ratio_to_reflector"]));
        let net_ns = case.and_then(|c| f(&c["net_ns"]));
        let reflector_net_ns = kernel_case(kernel, "reflector").and_then(|c| f(&c["net_ns"]));
        let path = |server: &str| {
            rate(e2e, server, family).and_then(|r| f(&r["cpu_s_per_1000_replies"]["softirq"]))
        };
        let path_ratio = match (path("lwm2m-xdp"), path("reflector")) {
            (Some(a), Some(b)) if b > 0.0 => Some(a / b),
            _ => None,
        };
        let rate_ratio = match (
            rate(e2e, "reflector", family),
            rate(e2e, "lwm2m-xdp", family),
        ) {
            (Some(r), Some(x)) => match (f(&r["replies_per_s"]), f(&x["replies_per_s"])) {
                (Some(r), Some(x)) if x > 0.0 => Some(r / x),
                _ => None,
            },
            _ => None,
        };
        out.push(json!({
            "aim": label,
            "family": family,
            "kernel_net_ratio": net,
            "kernel_net_ns": net_ns,
            "reflector_net_ns": reflector_net_ns,
            "kernel_gross_ratio": gross,
            "e2e_cpu_per_reply_ratio": path_ratio,
            "e2e_replies_per_s_ratio": rate_ratio,
            "met": {
                "kernel_net": net.map(|r| r <= 3.0),
                "kernel_gross": gross.map(|r| r <= 3.0),
                "e2e_path": path_ratio.map(|r| r <= 3.0),
            },
        }));
    }
    let comparison = |family: &str, key: &str| {
        e2e["comparison"]
            .as_array()
            .and_then(|a| a.iter().find(|c| c["family"] == family))
            .and_then(|c| f(&c[key]))
    };
    let kea: Vec<Value> = ["v4", "v6"]
        .iter()
        .map(|fam| {
            let cpu = comparison(fam, "replies_per_cpu_s_ratio");
            let bpf = comparison(fam, "replies_per_cpu_s_ratio_bpf_program");
            json!({
                "family": fam,
                "replies_per_cpu_s_ratio": cpu,
                "replies_per_cpu_s_ratio_bpf_program": bpf,
                "replies_per_s_ratio": comparison(fam, "replies_per_s_ratio"),
                "kea_status": e2e["kea"][fam]["status"],
            })
        })
        .collect();
    let kea_met = kea
        .iter()
        .map(|k| f(&k["replies_per_cpu_s_ratio"]).map(|r| r >= 100.0))
        .collect::<Option<Vec<bool>>>()
        .map(|v| v.iter().all(|m| *m));
    out.push(json!({
        "aim": "at least 100x Kea's replies per CPU-second on the same stream",
        "families": kea,
        "met": kea_met,
    }));
    let direct = &e2e["config_change"]["direct"];
    let sighup = &e2e["config_change"]["sighup"];
    let direct_max = f(&direct["first_reply_ms_max"]);
    let sighup_max = f(&sighup["first_reply_ms_max"]);
    out.push(json!({
        "aim": "config change to first new reply under 10 ms",
        "direct_median_ms": direct["first_reply_ms_median"],
        "direct_max_ms": direct_max,
        "direct_lost": direct["lost"],
        "sighup_median_ms": sighup["first_reply_ms_median"],
        "sighup_max_ms": sighup_max,
        "sighup_lost": sighup["lost"],
        "met": {
            "direct": direct_max.map(|m| m < 10.0 && direct["lost"] == 0),
            "sighup": sighup_max.map(|m| m < 10.0 && sighup["lost"] == 0),
        },
    }));
    Value::Array(out)
}

fn yes_no(v: &Value) -> &'static str {
    match v.as_bool() {
        Some(true) => "met",
        Some(false) => "NOT met",
        None => "n/a",
    }
}

/// The closing summary on stdout: the machine and the aims.
pub fn summary(all: &Value) -> String {
    let m = &all["machine"];
    let mut s = format!(
        "machine: {} CPUs ({}), kernel {}, load {} -> {} (shared VM: expect noise)\n",
        m["nproc"],
        m["cpu_model"].as_str().unwrap_or("?"),
        m["kernel"].as_str().unwrap_or("?"),
        m["loadavg"].as_str().unwrap_or("?"),
        m["loadavg_after"].as_str().unwrap_or("?"),
    );
    s += "aims of issue 5 (figures from this run; reported, never asserted)\n";
    let aims = all["aims"].as_array().cloned().unwrap_or_default();
    for a in &aims[..2.min(aims.len())] {
        s += &format!(
            "  {}:\n    kernel, net of the harness: {}x the reflector ({} ns vs {} ns): {}\n    kernel, gross (both under the harness): {}x: {}\n    whole path over veth (CPU per reply, generic XDP): {}x the reflector's: {}\n",
            a["aim"].as_str().unwrap_or(""),
            opt(f(&a["kernel_net_ratio"]), 0),
            opt(f(&a["kernel_net_ns"]), 0),
            opt(f(&a["reflector_net_ns"]), 0),
            yes_no(&a["met"]["kernel_net"]),
            opt(f(&a["kernel_gross_ratio"]), 2),
            yes_no(&a["met"]["kernel_gross"]),
            opt(f(&a["e2e_cpu_per_reply_ratio"]), 2),
            yes_no(&a["met"]["e2e_path"]),
        );
    }
    if let Some(k) = aims.get(2) {
        s += &format!(
            "  {}: {}\n",
            k["aim"].as_str().unwrap_or(""),
            yes_no(&k["met"])
        );
        for fam in k["families"].as_array().cloned().unwrap_or_default() {
            s += &format!(
                "    {}: {}x by softirq time (upper bound), {}x by the program's own run time; {}x the replies per second (Kea: {})\n",
                fam["family"].as_str().unwrap_or(""),
                opt(f(&fam["replies_per_cpu_s_ratio"]), 1),
                opt(f(&fam["replies_per_cpu_s_ratio_bpf_program"]), 1),
                opt(f(&fam["replies_per_s_ratio"]), 1),
                fam["kea_status"].as_str().unwrap_or("?"),
            );
        }
    }
    if let Some(c) = aims.get(3) {
        s += &format!(
            "  {}:\n    maps written directly: median {} ms, max {} ms: {}\n    SIGHUP to `run` (re-reads and compiles the file): median {} ms, max {} ms: {}\n",
            c["aim"].as_str().unwrap_or(""),
            opt(f(&c["direct_median_ms"]), 2),
            opt(f(&c["direct_max_ms"]), 2),
            yes_no(&c["met"]["direct"]),
            opt(f(&c["sighup_median_ms"]), 2),
            opt(f(&c["sighup_max_ms"]), 2),
            yes_no(&c["met"]["sighup"]),
        );
    }
    s
}

/// The run's tables in Markdown.
pub fn markdown(all: &Value) -> String {
    let m = &all["machine"];
    let e2e = &all["e2e"];
    let mut s = String::new();
    s += &format!(
        "Measured {} at commit {} on {} CPUs ({}), kernel {}, {}; load average before {} / after {}.\n\n",
        m["date"].as_str().unwrap_or("?"),
        m["commit"].as_str().unwrap_or("?"),
        m["nproc"],
        m["cpu_model"].as_str().unwrap_or("?"),
        m["kernel"].as_str().unwrap_or("?"),
        m["memory"].as_str().unwrap_or("?"),
        m["loadavg"].as_str().unwrap_or("?"),
        m["loadavg_after"].as_str().unwrap_or("?"),
    );
    s += &format!(
        "### Kernel cost per packet (BPF_PROG_TEST_RUN, repeat {}, median of {} rounds)\n\n",
        all["kernel"]["repeat"], all["kernel"]["rounds"]
    );
    s += "| case | ns | x reflector | net ns | net x reflector |\n|---|---:|---:|---:|---:|\n";
    for c in all["kernel"]["cases"]
        .as_array()
        .cloned()
        .unwrap_or_default()
    {
        s += &format!(
            "| {} | {} | {} | {} | {} |\n",
            c["case"].as_str().unwrap_or(""),
            opt(f(&c["ns"]), 0),
            opt(f(&c["ratio_to_reflector"]), 2),
            opt(f(&c["net_ns"]), 0),
            opt(f(&c["net_ratio_to_reflector"]), 1),
        );
    }
    s += &format!(
        "\n### End to end over veth ({} s per run, live-frame generator on CPU {}, servers pinned to CPU {})\n\n",
        e2e["settings"]["rate_seconds"], e2e["settings"]["generator_cpu"], e2e["settings"]["server_cpu"]
    );
    s += "| server | family | sent | replies | loss | replies/s | reply octets | CPU-s / 1000 replies | program CPU-s / 1000 | program ns/run |\n|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n";
    for r in e2e["rates"].as_array().cloned().unwrap_or_default() {
        let kea = r["server"] == "kea";
        let cost = if kea {
            f(&r["cpu_s_per_1000_replies"]["process"])
        } else {
            f(&r["cpu_s_per_1000_replies"]["softirq"])
        };
        s += &format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} ({}) | {} | {} |\n",
            r["server"].as_str().unwrap_or(""),
            r["family"].as_str().unwrap_or(""),
            r["sent"],
            r["replies"],
            r["loss"],
            opt(f(&r["replies_per_s"]), 0),
            opt(f(&r["reply_octets"]), 0),
            opt(cost, 5),
            if kea { "Kea process" } else { "softirq" },
            opt(f(&r["cpu_s_per_1000_replies"]["bpf_program"]), 5),
            opt(f(&r["bpf"]["server_ns_per_run"]), 0),
        );
    }
    s += "\n| lwm2m-xdp / Kea | replies/s | replies per CPU-s (softirq vs Kea process) | replies per CPU-s (program only vs Kea process) |\n|---|---:|---:|---:|\n";
    for c in e2e["comparison"].as_array().cloned().unwrap_or_default() {
        s += &format!(
            "| {} | {}x | {}x | {}x |\n",
            c["family"].as_str().unwrap_or(""),
            opt(f(&c["replies_per_s_ratio"]), 1),
            opt(f(&c["replies_per_cpu_s_ratio"]), 1),
            opt(f(&c["replies_per_cpu_s_ratio_bpf_program"]), 1),
        );
    }
    s += &format!(
        "\n### Latency at {}/s for {} s (UDP sockets on the client, kernel receive timestamps, every reply decoded)\n\n",
        e2e["settings"]["latency_rate_per_s"], e2e["settings"]["latency_seconds"]
    );
    s += "| server | family | sent | received | valid | p50 µs | p90 µs | p99 µs | max µs |\n|---|---|---:|---:|---:|---:|---:|---:|---:|\n";
    for l in e2e["latency"].as_array().cloned().unwrap_or_default() {
        s += &format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
            l["server"].as_str().unwrap_or(""),
            l["family"].as_str().unwrap_or(""),
            l["sent"],
            l["received"],
            l["valid"],
            opt(f(&l["p50_us"]), 0),
            opt(f(&l["p90_us"]), 0),
            opt(f(&l["p99_us"]), 0),
            opt(f(&l["max_us"]), 0),
        );
    }
    let cc = &e2e["config_change"];
    s += "\n### Config change to the first reply with the new URI\n\n| how | switches | lost | median ms | max ms | map writes, median ms |\n|---|---:|---:|---:|---:|---:|\n";
    for (name, v) in [
        ("maps written directly (install_generation)", &cc["direct"]),
        ("SIGHUP to `lwm2m-xdp run`", &cc["sighup"]),
    ] {
        s += &format!(
            "| {name} | {} | {} | {} | {} | {} |\n",
            v["switches"],
            v["lost"],
            opt(f(&v["first_reply_ms_median"]), 2),
            opt(f(&v["first_reply_ms_max"]), 2),
            opt(f(&v["install_ms_median"]), 2),
        );
    }
    if let Some(p) = f(&cc["sighup"]["prepare_ms_median"]) {
        s += &format!(
            "\nOf a SIGHUP's time, reading, validating and compiling the file (what `run` does before it writes a map) takes {p:.2} ms (median, measured in the bench process).\n"
        );
    }
    let mem = &e2e["memory"];
    s += &format!(
        "\n### Memory\n\n`lwm2m-xdp run`: VmRSS {} KiB (VmHWM {} KiB). Program: {} octets JITed, {} verified instructions, {} KiB memlock. Maps: {} KiB memlock in all:",
        mem["loader_rss_kib"],
        mem["loader_hwm_kib"],
        mem["program_jited_octets"],
        mem["program_verified_insns"],
        f(&mem["program_memlock"]).unwrap_or(0.0) / 1024.0,
        f(&mem["maps_memlock_total"]).unwrap_or(0.0) as u64 / 1024,
    );
    for map in mem["maps"].as_array().cloned().unwrap_or_default() {
        s += &format!(
            " {} {} KiB,",
            map["name"].as_str().unwrap_or("?"),
            f(&map["memlock"]).unwrap_or(0.0) as u64 / 1024
        );
    }
    s.pop();
    s += &format!(
        ". Kea for comparison: kea-dhcp4 {} KiB, kea-dhcp6 {} KiB RSS.\n",
        mem["kea_v4_rss_kib"], mem["kea_v6_rss_kib"]
    );
    s += "\n### Aims\n\n```\n";
    s += &summary(all);
    s += "```\n";
    s
}

#[cfg(test)]
pub mod tests {
    use super::*;

    /// A run's JSON as the benches write it, with round figures.
    pub fn sample() -> Value {
        let rate = |server: &str,
                    family: &str,
                    per_s: f64,
                    softirq: f64,
                    bpf: Option<f64>,
                    process: Option<f64>| {
            json!({
                "server": server, "family": family, "sent": 1000, "replies": 900, "loss": 100,
                "replies_per_s": per_s, "reply_octets": 1345.0,
                "bpf": {"server_ns_per_run": bpf.map(|b| b * 1e6)},
                "cpu_s_per_1000_replies": {"softirq": softirq, "bpf_program": bpf, "process": process},
            })
        };
        let kernel_case = |case: &str, ns: f64, ratio: f64, net: f64, net_ratio: f64| json!({"case": case, "ns": ns, "ratio_to_reflector": ratio, "net_ns": net, "net_ratio_to_reflector": net_ratio});
        json!({
            "machine": {"nproc": 2, "cpu_model": "AMD EPYC", "kernel": "6.18", "loadavg": "0.1", "loadavg_after": "0.2", "date": "today", "commit": "abc", "memory": "24 GB"},
            "kernel": {"repeat": 100000, "rounds": 7, "cases": [
                kernel_case("empty program (harness cost)", 126.0, 0.98, 0.0, 0.0),
                kernel_case("reflector (XDP_TX MAC swap, the floor)", 128.0, 1.0, 2.0, 1.0),
                kernel_case("DHCPINFORM -> ACK, URI + 1000 B cert (draft-00)", 600.0, 4.7, 474.0, 237.0),
                kernel_case("INFORMATION-REQUEST -> REPLY, URI + 1000 B cert", 540.0, 4.2, 414.0, 207.0),
            ]},
            "e2e": {
                "settings": {"rate_seconds": 5.0, "generator_cpu": 0, "server_cpu": 1, "latency_rate_per_s": 1000, "latency_seconds": 2.0},
                "rates": [
                    rate("reflector", "v4", 800_000.0, 0.0006, Some(0.00005), None),
                    rate("lwm2m-xdp", "v4", 560_000.0, 0.0012, Some(0.00055), Some(0.0)),
                    rate("kea", "v4", 30_000.0, 0.02, None, Some(0.025)),
                    rate("reflector", "v6", 800_000.0, 0.0006, Some(0.00005), None),
                    rate("lwm2m-xdp", "v6", 550_000.0, 0.0012, Some(0.0006), Some(0.0)),
                    rate("kea", "v6", 40_000.0, 0.02, None, Some(0.020)),
                ],
                "comparison": [
                    {"family": "v4", "replies_per_s_ratio": 18.7, "replies_per_cpu_s_ratio": 20.8, "replies_per_cpu_s_ratio_bpf_program": 45.0},
                    {"family": "v6", "replies_per_s_ratio": 13.7, "replies_per_cpu_s_ratio": 16.7, "replies_per_cpu_s_ratio_bpf_program": 33.0},
                ],
                "latency": [
                    {"server": "lwm2m-xdp", "family": "v4", "sent": 2000, "received": 2000, "valid": 2000, "p50_us": 17.0, "p90_us": 20.0, "p99_us": 25.0, "max_us": 97.0},
                    {"server": "kea", "family": "v4", "sent": 2000, "received": 2000, "valid": 2000, "p50_us": 100.0, "p90_us": 150.0, "p99_us": 190.0, "max_us": 500.0},
                ],
                "config_change": {
                    "direct": {"switches": 20, "lost": 0, "first_reply_ms_median": 0.85, "first_reply_ms_max": 1.1, "install_ms_median": 0.83},
                    "sighup": {"switches": 10, "lost": 0, "first_reply_ms_median": 6.0, "first_reply_ms_max": 13.0},
                },
                "memory": {"loader_rss_kib": 10000, "loader_hwm_kib": 25000, "program_jited_octets": 22061, "program_verified_insns": 36898, "program_memlock": 36864, "maps_memlock_total": 7_901_312, "maps": [{"name": "BLOCKS", "memlock": 2_105_656}], "kea_v4_rss_kib": 21000, "kea_v6_rss_kib": 21000},
                "kea": {"v4": {"status": "ok"}, "v6": {"status": "ok"}},
            },
        })
    }

    #[test]
    fn aims_are_judged_from_the_figures() {
        let mut all = sample();
        all["aims"] = aims(&all["kernel"], &all["e2e"]);
        let a = all["aims"].as_array().unwrap();
        assert_eq!(a.len(), 4);
        // v4: 237x net and 4.7x gross miss 3x; the whole path is 2x the reflector's.
        assert_eq!(a[0]["met"]["kernel_net"], false);
        assert_eq!(a[0]["met"]["kernel_gross"], false);
        assert_eq!(a[0]["met"]["e2e_path"], true);
        assert!((a[0]["e2e_cpu_per_reply_ratio"].as_f64().unwrap() - 2.0).abs() < 1e-9);
        assert_eq!(a[2]["met"], false, "21x and 17x are short of 100x");
        assert_eq!(a[3]["met"]["direct"], true);
        assert_eq!(a[3]["met"]["sighup"], false, "13 ms is over 10");
        let text = summary(&all);
        assert!(text.contains("NOT met") && text.contains("met"), "{text}");
        let md = markdown(&all);
        assert!(md.contains("| lwm2m-xdp | v4 |"), "{md}");
        assert!(md.contains("BLOCKS 2056 KiB"), "{md}");
    }

    #[test]
    fn a_missing_kea_leaves_its_aim_open() {
        let mut all = sample();
        all["e2e"]["comparison"] = json!([]);
        all["e2e"]["kea"]["v4"]["status"] = json!("not run: kea-dhcp4 not installed");
        let a = aims(&all["kernel"], &all["e2e"]);
        assert_eq!(a[2]["met"], Value::Null);
    }
}
