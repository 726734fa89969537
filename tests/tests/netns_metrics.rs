//! `run --metrics ADDR` (issue 11, "Metrics"): an HTTP server that an idle client cannot
//! block, Prometheus text that `promtool check metrics` accepts, only `GET /metrics`, and a
//! busy port that fails start-up. The metrics address is in the server's namespace, so
//! every test has the port to itself.

use std::io::Write as _;
use std::net::{SocketAddr, TcpListener};
use std::process::{Command, Stdio};
use std::time::Duration;

use lwm2m_xdp_tests::config_file::ConfigFile;
use lwm2m_xdp_tests::http::{self, sample};
use lwm2m_xdp_tests::peers::in_netns;
use lwm2m_xdp_tests::running::{top, Running};
use lwm2m_xdp_tests::{bounded, lwm2m_xdp_bin, pair_and_scratch, skip_unless_root, Side};

/// UDP datagrams the client sends; the scrape must count at least this many.
const DATAGRAMS: u64 = 10;
const PROMTOOL_LIMIT: Duration = Duration::from_secs(20);

fn metrics_addr() -> SocketAddr {
    "127.0.0.1:9417".parse().expect("address")
}

fn config(server_if: &str) -> String {
    ConfigFile::new("coaps://198.18.0.1:5684", server_if).text()
}

/// `promtool check metrics` on `text`: its exit status and output.
fn promtool_check(text: &str) -> (bool, String) {
    let mut child = bounded(PROMTOOL_LIMIT, "promtool", &["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start promtool");
    child
        .stdin
        .take()
        .expect("piped")
        .write_all(text.as_bytes())
        .expect("feed promtool");
    let out = child.wait_with_output().expect("promtool");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), said)
}

#[test]
fn a_scrape_succeeds_while_another_connection_sits_idle() {
    const TEST: &str = "netns_metrics::a_scrape_succeeds_while_another_connection_sits_idle";
    skip_unless_root!(TEST, tool "promtool" from "prometheus");
    let (pair, scratch) = pair_and_scratch("metrics");
    let file = scratch
        .write("lwm2m-xdp.toml", &config(&pair.server_if))
        .unwrap();
    let addr = metrics_addr();
    let run = Running::start_with_args(
        &pair,
        file,
        "metrics",
        &[],
        &["--metrics", &addr.to_string()],
    );
    run.wait_log("the metrics server", |log| {
        log.contains("metrics on http://")
    });

    let server = pair.ipv4(Side::Server);
    let send =
        format!("for i in $(seq 1 {DATAGRAMS}); do echo lwm2m-xdp > /dev/udp/{server}/9; done");
    let sent = pair.exec(Side::Client, &["bash", "-c", &send]);
    assert!(sent.status.success(), "sending UDP failed");
    run.wait_stats("udp >= DATAGRAMS", |s| top(s, "udp") >= DATAGRAMS);

    // Two clients that never finish a request: one silent, one with half a request line.
    let _silent = http::connect(&pair.server_ns, addr).expect("idle connection");
    let mut half = http::connect(&pair.server_ns, addr).expect("second idle connection");
    half.write_all(b"GET /met").expect("half a request");

    let scrape = http::request(&pair.server_ns, addr, "GET", "/metrics")
        .expect("a scrape while two connections idle");
    assert_eq!(scrape.status, 200, "{scrape:?}");
    assert_eq!(
        scrape.header("content-type"),
        Some("text/plain; version=0.0.4"),
        "{scrape:?}"
    );
    let udp = sample(&scrape.body, "lwm2m_xdp_frames_total", "kind=\"udp\"")
        .unwrap_or_else(|| panic!("no udp frames sample:\n{}", scrape.body));
    assert!(udp >= DATAGRAMS, "udp frames {udp}:\n{}", scrape.body);
    for family in ["v4", "v6"] {
        assert_eq!(
            sample(
                &scrape.body,
                "lwm2m_xdp_relay_messages_total",
                &format!("family=\"{family}\",outcome=\"forwarded\"")
            ),
            Some(0),
            "relay counters are served (zero in mode local):\n{}",
            scrape.body
        );
    }
    let (ok, said) = promtool_check(&scrape.body);
    assert!(ok, "promtool check metrics failed: {said}\n{}", scrape.body);

    // promtool is not a yes-man: it fails text without HELP.
    let (ok, _) = promtool_check("# TYPE x_total counter\nx_total 1\n");
    assert!(!ok, "promtool accepted a counter without HELP");

    let other = http::request(&pair.server_ns, addr, "GET", "/").expect("GET /");
    assert_eq!(other.status, 404, "{other:?}");
    let post = http::request(&pair.server_ns, addr, "POST", "/metrics").expect("POST");
    assert_eq!(post.status, 405, "{post:?}");
    assert_eq!(post.header("allow"), Some("GET"), "{post:?}");

    // A second scrape on a new connection, the idle ones still open.
    let again = http::request(&pair.server_ns, addr, "GET", "/metrics").expect("second scrape");
    assert_eq!(again.status, 200);
    drop(half);
    run.stop();
}

#[test]
fn a_busy_metrics_port_fails_run() {
    const TEST: &str = "netns_metrics::a_busy_metrics_port_fails_run";
    skip_unless_root!(TEST);
    let (pair, scratch) = pair_and_scratch("metricsbusy");
    let file = scratch
        .write("lwm2m-xdp.toml", &config(&pair.server_if))
        .unwrap();
    let addr = metrics_addr();
    let _holder =
        in_netns(&pair.server_ns, || Ok(TcpListener::bind(addr)?)).expect("hold the port");
    let bin = lwm2m_xdp_bin();
    let out = pair.exec_within(
        Side::Server,
        Duration::from_secs(30),
        &[
            &bin,
            "run",
            "--config",
            file.to_str().expect("UTF-8 path"),
            "--instance",
            &format!("metricsbusy-{}", std::process::id()),
            "--metrics",
            &addr.to_string(),
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "run with a busy port: {stderr}");
    assert!(
        stderr.contains("--metrics 127.0.0.1:9417") && stderr.contains("in use"),
        "the error names the address and the reason: {stderr}"
    );
    let link = Command::new("timeout")
        .args([
            "10",
            "ip",
            "-n",
            &pair.server_ns,
            "link",
            "show",
            "dev",
            &pair.server_if,
        ])
        .output()
        .expect("ip link show");
    let link = String::from_utf8_lossy(&link.stdout);
    assert!(!link.contains("xdp"), "a program was attached: {link}");
}
