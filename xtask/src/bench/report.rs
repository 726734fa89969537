//! The aims of issue 9 checked against one run's figures, and the run as text (stdout) and
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

/// The kernel aims of issue 9: a case (by a part of its name) and the most it may cost, as a
/// ratio to the reflector in the same rounds (both under the harness).
const KERNEL_AIMS: &[(&str, &str, f64)] = &[
    (
        "DHCPv4 answer with a 1000-octet certificate (draft-00)",
        "ACK, URI + 1000 B cert",
        6.0,
    ),
    (
        "DHCPv6 answer with a 1000-octet certificate",
        "REPLY, URI + 1000 B cert",
        5.5,
    ),
    (
        "DHCPv6 answer naming our Server Identifier",
        "naming our Server-ID",
        6.0,
    ),
    (
        "DHCPINFORM asking for no LwM2M option, passed",
        "PRL without LwM2M",
        2.5,
    ),
    (
        "INFORMATION-REQUEST asking for no LwM2M option, passed",
        "ORO without LwM2M",
        2.5,
    ),
    ("DHCPDISCOVER passed", "DHCPDISCOVER -> pass", 2.0),
    ("SOLICIT passed", "SOLICIT -> pass", 2.0),
];

/// One entry per aim: what it asks, the figures (`figure`, one line), and whether they meet it.
pub fn aims(kernel: &Value, e2e: &Value) -> Value {
    let mut out = Vec::new();
    for (label, needle, most) in KERNEL_AIMS {
        let case = kernel_case(kernel, needle);
        let ratio = case.and_then(|c| f(&c["ratio_to_reflector"]));
        let range = case.map(|c| {
            format!(
                "{}-{}",
                opt(f(&c["ratio_min"]), 2),
                opt(f(&c["ratio_max"]), 2)
            )
        });
        out.push(json!({
            "aim": format!("kernel: {label} <= {most}x the reflector"),
            "ratio": ratio,
            "figure": format!(
                "{}x (rounds {}), {} ns",
                opt(ratio, 2),
                range.unwrap_or_else(|| "-".into()),
                opt(case.and_then(|c| f(&c["ns"])), 0)
            ),
            "met": ratio.map(|r| r <= *most),
        }));
    }
    for family in ["v4", "v6"] {
        let per_s = |server: &str| rate(e2e, server, family).and_then(|r| f(&r["replies_per_s"]));
        let share = match (per_s("lwm2m-xdp"), per_s("reflector")) {
            (Some(x), Some(r)) if r > 0.0 => Some(x / r),
            _ => None,
        };
        // Not the aim's pair, shown beside it: both in native XDP, no skb around the program.
        let native = match (per_s("lwm2m-xdp (native)"), per_s("reflector (native)")) {
            (Some(x), Some(r)) if r > 0.0 => format!(
                "; in native XDP on veth {:.0}% ({x:.0} vs {r:.0} replies/s)",
                x / r * 100.0
            ),
            _ => String::new(),
        };
        out.push(json!({
            "aim": format!("end to end over veth ({family}): >= 85% of the reflector's replies per second"),
            "share": share,
            "figure": format!(
                "{}% ({} vs {} replies/s){native}",
                opt(share.map(|s| s * 100.0), 0),
                opt(per_s("lwm2m-xdp"), 0),
                opt(per_s("reflector"), 0)
            ),
            "met": share.map(|s| s >= 0.85),
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
        .map(|k| f(&k["replies_per_cpu_s_ratio_bpf_program"]).map(|r| r >= 100.0))
        .collect::<Option<Vec<bool>>>()
        .map(|v| v.iter().all(|m| *m));
    let kea_figure = kea
        .iter()
        .map(|k| {
            format!(
                "{} {}x by the program's own run time ({}x by softirq time, an upper bound; {}x the replies per second; Kea: {})",
                k["family"].as_str().unwrap_or(""),
                opt(f(&k["replies_per_cpu_s_ratio_bpf_program"]), 1),
                opt(f(&k["replies_per_cpu_s_ratio"]), 1),
                opt(f(&k["replies_per_s_ratio"]), 1),
                k["kea_status"].as_str().unwrap_or("?"),
            )
        })
        .collect::<Vec<_>>()
        .join("; ");
    out.push(json!({
        "aim": "at least 100x Kea's replies per CPU-second on the same stream",
        "families": kea,
        "figure": kea_figure,
        "met": kea_met,
    }));
    let direct = &e2e["config_change"]["direct"];
    let sighup = &e2e["config_change"]["sighup"];
    let direct_max = f(&direct["first_reply_ms_max"]);
    let sighup_max = f(&sighup["first_reply_ms_max"]);
    let direct_met = direct_max.map(|m| m < 10.0 && direct["lost"] == 0);
    let sighup_met = sighup_max.map(|m| m < 10.0 && sighup["lost"] == 0);
    out.push(json!({
        "aim": "config change to first new reply under 10 ms",
        "figure": format!(
            "maps written directly: median {} ms, max {} ms ({}); SIGHUP to `run`: median {} ms, max {} ms ({})",
            opt(f(&direct["first_reply_ms_median"]), 2),
            opt(direct_max, 2),
            yes_no(&json!(direct_met)),
            opt(f(&sighup["first_reply_ms_median"]), 2),
            opt(sighup_max, 2),
            yes_no(&json!(sighup_met)),
        ),
        "direct_median_ms": direct["first_reply_ms_median"],
        "direct_max_ms": direct_max,
        "direct_lost": direct["lost"],
        "sighup_median_ms": sighup["first_reply_ms_median"],
        "sighup_max_ms": sighup_max,
        "sighup_lost": sighup["lost"],
        "met": match (direct_met, sighup_met) {
            (Some(d), Some(s)) => Some(d && s),
            _ => None,
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
    s += "aims of issue 9 (figures from this run; reported, never asserted)\n";
    for a in all["aims"].as_array().cloned().unwrap_or_default() {
        s += &format!(
            "  {}: {}\n    {}\n",
            a["aim"].as_str().unwrap_or(""),
            yes_no(&a["met"]),
            a["figure"].as_str().unwrap_or(""),
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
        let kernel_case = |case: &str, ns: f64, ratio: f64, net: f64, net_ratio: f64| json!({"case": case, "ns": ns, "ratio_to_reflector": ratio, "ratio_min": ratio - 0.3, "ratio_max": ratio + 0.8, "net_ns": net, "net_ratio_to_reflector": net_ratio});
        json!({
            "machine": {"nproc": 2, "cpu_model": "AMD EPYC", "kernel": "6.18", "loadavg": "0.1", "loadavg_after": "0.2", "date": "today", "commit": "abc", "memory": "24 GB"},
            "kernel": {"repeat": 100000, "rounds": 7, "cases": [
                kernel_case("empty program (harness cost)", 126.0, 0.98, 0.0, 0.0),
                kernel_case("reflector (XDP_TX MAC swap, the floor)", 128.0, 1.0, 2.0, 1.0),
                kernel_case("DHCPINFORM -> ACK, URI + 1000 B cert (draft-00)", 600.0, 4.7, 474.0, 237.0),
                kernel_case("INFORMATION-REQUEST -> REPLY, URI + 1000 B cert", 540.0, 6.2, 414.0, 207.0),
            ]},
            "e2e": {
                "settings": {"rate_seconds": 5.0, "generator_cpu": 0, "server_cpu": 1, "latency_rate_per_s": 1000, "latency_seconds": 2.0},
                "rates": [
                    rate("reflector", "v4", 800_000.0, 0.0006, Some(0.00005), None),
                    rate("lwm2m-xdp", "v4", 560_000.0, 0.0012, Some(0.00055), Some(0.0)),
                    rate("kea", "v4", 30_000.0, 0.02, None, Some(0.025)),
                    rate("reflector", "v6", 800_000.0, 0.0006, Some(0.00005), None),
                    rate("lwm2m-xdp", "v6", 700_000.0, 0.0012, Some(0.0006), Some(0.0)),
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
        let aim = |part: &str| {
            a.iter()
                .find(|x| x["aim"].as_str().unwrap().contains(part))
                .unwrap_or_else(|| panic!("no aim {part:?}"))
                .clone()
        };
        assert_eq!(a.len(), KERNEL_AIMS.len() + 4);
        // 4.7x meets 6x; 6.2x misses 5.5x; a case the run lacks is open.
        assert_eq!(aim("DHCPv4 answer")["met"], true);
        assert_eq!(aim("DHCPv6 answer with")["met"], false);
        assert_eq!(aim("naming our Server")["met"], Value::Null);
        assert!(aim("DHCPv6 answer with")["figure"]
            .as_str()
            .unwrap()
            .starts_with("6.20x (rounds 5.90-7.00)"));
        // 560k of 800k replies/s is 70%, short of 85%; 700k of 800k is 87.5%.
        assert_eq!(aim("veth (v4)")["met"], false);
        assert_eq!(aim("veth (v6)")["met"], true);
        assert_eq!(aim("Kea")["met"], false, "45x and 33x are short of 100x");
        assert_eq!(aim("config change")["met"], false, "13 ms is over 10");
        let text = summary(&all);
        assert!(text.contains("NOT met") && text.contains(": met"), "{text}");
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
        let kea = a
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["aim"].as_str().unwrap().contains("Kea"))
            .unwrap();
        assert_eq!(kea["met"], Value::Null);
    }
}
