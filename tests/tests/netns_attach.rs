//! The loader attaches to a real interface, counts what crosses it, and leaves nothing on it
//! after SIGINT (design.md, "CLI: the contract": `run`, `stats --json`, SIGINT -> exit 0).

use lwm2m_xdp_tests::config_file::ConfigFile;
use lwm2m_xdp_tests::text;
use std::process::Output;
use std::time::Duration;

use lwm2m_xdp_tests::{
    lwm2m_xdp_bin, require_root, wait_child, wait_until, NetnsPair, PinDir, ScratchDir, Side,
};
use serde_json::Value;

/// UDP datagrams the client sends; the counters must see at least this many.
const DATAGRAMS: u64 = 20;
/// From start to the first successful `stats`: loading, verifying and attaching.
const ATTACH_LIMIT: Duration = Duration::from_secs(10);
/// From SIGINT to exit: detaching is a few syscalls.
const EXIT_LIMIT: Duration = Duration::from_secs(10);

fn config(server_if: &str) -> String {
    ConfigFile::new("coaps://198.18.0.1:5684", server_if).text()
}

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
    if !require_root("netns_attach::run_counts_udp_and_detaches_on_sigint") {
        return;
    }
    let bin = lwm2m_xdp_bin();
    let bin = bin.to_str().expect("binary path is UTF-8");
    let pair = NetnsPair::new("attach").expect("netns pair");
    let scratch = ScratchDir::new("attach").expect("scratch dir");
    let config_file = scratch
        .write("lwm2m-xdp.toml", &config(&pair.server_if))
        .unwrap();
    let config_arg = config_file.to_str().expect("UTF-8 path");
    let pins = PinDir::new("attach");

    let mut run = pair.spawn(
        Side::Server,
        &[bin, "run", "--config", config_arg, "--pin-dir", pins.arg()],
    );
    let stats = || -> Output {
        pair.exec_within(
            Side::Server,
            Duration::from_secs(10),
            &[bin, "stats", "--json", "--pin-dir", pins.arg()],
        )
    };

    // Attached once `stats` can read the pinned counters; a `run` that dies is a failure
    // now, not a 10 s timeout later.
    let mut last = None;
    let attached = wait_until(ATTACH_LIMIT, Duration::from_millis(100), || {
        if let Some(status) = run.try_wait().expect("try_wait") {
            panic!("`lwm2m-xdp run` exited before attaching: {status}");
        }
        let out = stats();
        let ok = out.status.success();
        last = Some(out);
        ok
    });
    assert!(
        attached,
        "`stats --json` never succeeded within {ATTACH_LIMIT:?}: {}",
        last.map(|o| text(&o.stderr)).unwrap_or_default()
    );

    // A second instance on the same interface cannot attach, and its error names what holds
    // the hook: our own program, by id and mode (issue 11: who holds the interface).
    let second = format!("attach2-{}", std::process::id());
    let refused = pair.exec_within(
        Side::Server,
        Duration::from_secs(20),
        &[bin, "run", "--instance", &second, "--config", config_arg],
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
    let mut seen = Value::Null;
    let counted = wait_until(Duration::from_secs(5), Duration::from_millis(100), || {
        let out = stats();
        assert!(
            out.status.success(),
            "stats --json failed: {}",
            text(&out.stderr)
        );
        seen = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("stats --json is not JSON ({e}): {}", text(&out.stdout)));
        counter(&seen, "frames") >= DATAGRAMS && counter(&seen, "udp") >= DATAGRAMS
    });
    assert!(
        counted,
        "expected frames and udp >= {DATAGRAMS}, stats: {seen}"
    );

    // SAFETY: kill has no memory-safety preconditions; the pid is our own child's.
    let pid = libc::pid_t::try_from(run.id()).expect("pid fits pid_t");
    assert_eq!(unsafe { libc::kill(pid, libc::SIGINT) }, 0, "SIGINT to run");
    let status = wait_child(&mut run, EXIT_LIMIT).expect("wait for run");
    let status =
        status.unwrap_or_else(|| panic!("`run` still running {EXIT_LIMIT:?} after SIGINT"));
    assert_eq!(status.code(), Some(0), "`run` after SIGINT: {status}");

    let link = pair.exec(
        Side::Server,
        &["ip", "link", "show", "dev", &pair.server_if],
    );
    assert!(
        link.status.success(),
        "ip link show: {}",
        text(&link.stderr)
    );
    let link = text(&link.stdout);
    assert!(
        !link.contains("xdp"),
        "a program is still attached after exit:\n{link}"
    );

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
