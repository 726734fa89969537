//! The loader attaches to a real interface, counts what crosses it, and leaves nothing on it
//! after SIGINT (design.md, "CLI: the contract": `run`, `stats --json`, SIGINT -> exit 0).
//! `Running` starts `run --pin-dir`, waits until `stats --json` reads the pinned counters, and
//! on `stop` sends SIGINT and checks exit 0 and an empty XDP hook.

use std::time::Duration;

use lwm2m_xdp_tests::{
    config_file::ConfigFile, lwm2m_xdp_bin, pair_and_scratch, running::Running, skip_unless_root,
    text, Side,
};
use serde_json::Value;

/// UDP datagrams the client sends; the counters must see at least this many.
const DATAGRAMS: u64 = 20;

/// A top-level counter of `stats --json` (generic counters: frames, vlan_tagged, ipv4, ipv6,
/// udp, other; per-family ones under "v4" / "v6").
fn counter(stats: &Value, name: &str) -> u64 {
    stats
        .get(name)
        .and_then(Value::as_u64)
        .unwrap_or_else(|| panic!("no numeric \"{name}\" at the top of stats --json: {stats}"))
}

#[test]
fn run_counts_udp_and_detaches_on_sigint() {
    skip_unless_root!("netns_attach::run_counts_udp_and_detaches_on_sigint");
    let bin = &lwm2m_xdp_bin();
    let (pair, scratch) = pair_and_scratch("attach");
    let config_file = scratch
        .write(
            "lwm2m-xdp.toml",
            &ConfigFile::new("coaps://198.18.0.1:5684", &pair.server_if).text(),
        )
        .unwrap();
    let config_arg = config_file.to_str().expect("UTF-8 path").to_owned();
    let run = Running::start(&pair, config_file, "attach", &[]);

    // A second instance on the same interface cannot attach, and its error names what holds
    // the hook: our own program, by id and mode (issue 11: who holds the interface).
    let second = format!("attach2-{}", std::process::id());
    let refused = pair.exec_within(
        Side::Server,
        Duration::from_secs(20),
        &[bin, "run", "--instance", &second, "--config", &config_arg],
    );
    let why = text(&refused.stderr);
    assert_eq!(
        refused.status.code(),
        Some(1),
        "a second run attached: {why}"
    );
    for expected in [
        format!("{} already has XDP program id", pair.server_if),
        "attached in generic mode".to_string(),
        "lwm2m-xdp's program".to_string(),
    ] {
        assert!(why.contains(&expected), "no {expected:?} in: {why}");
    }

    // Each `echo` opens its own socket, so an ICMP port-unreachable for one datagram cannot
    // fail the next; port 9 is discard, nobody listens.
    let server = pair.ipv4(Side::Server);
    let send =
        format!("for i in $(seq 1 {DATAGRAMS}); do echo lwm2m-xdp > /dev/udp/{server}/9; done");
    let sent = pair.exec(Side::Client, &["bash", "-c", &send]);
    assert!(
        sent.status.success(),
        "sending UDP failed: {}",
        text(&sent.stderr)
    );

    // The program counts as frames arrive; poll briefly rather than race the read.
    run.wait_stats(&format!("frames and udp >= {DATAGRAMS}"), |seen| {
        counter(seen, "frames") >= DATAGRAMS && counter(seen, "udp") >= DATAGRAMS
    });

    // SIGINT: exit 0, nothing left on the link.
    run.stop();

    let names = [pair.client_ns.clone(), pair.server_ns.clone()];
    drop(pair);
    let list = std::process::Command::new("timeout")
        .args(["10", "ip", "netns", "list"])
        .output()
        .expect("ip netns list");
    let list = text(&list.stdout);
    for name in &names {
        assert!(
            !list
                .lines()
                .any(|l| l.split_whitespace().next() == Some(name)),
            "{name} still exists after the pair was dropped:\n{list}"
        );
    }
}
