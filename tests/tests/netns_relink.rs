//! An attached interface deleted and re-created with the same name is served again, and
//! `status` shows the gap (issue 11: "Delete the attached veth and re-create it with the same
//! name: answered again within 2 s, and `status` showed the gap"). The new link's entries are
//! its own: DHCPv6 answers carry the DUID-LL of its new MAC (from its new link-local), and a
//! new IPv4 address becomes the DHCPv4 server identifier without a reload. A reload during
//! the gap takes (the absent interface is not looked up).

use std::process::Output;
use std::time::{Duration, Instant};

use lwm2m_xdp_tests::config_file::ConfigFile;
use lwm2m_xdp_tests::{
    bounded, lwm2m_xdp_bin, skip_unless_root, text, wait_child, wait_until, NetnsPair, ScratchDir,
    Side,
};
use serde_json::Value;

const URI: &str = "coaps://198.18.0.1:5684/relink";
/// The bound from re-creation to the first answer; the retry loop gives up after it.
const ANSWERED_AGAIN_WITHIN: Duration = Duration::from_secs(2);
const IP_LIMIT: Duration = Duration::from_secs(10);

/// No server_id: the DHCPv4 server identifier is the interface's address.
fn config(server_if: &str) -> String {
    ConfigFile::new(URI, server_if)
        .lwm2m("policy", "lwm2m-only")
        .text()
}

/// `ip ARGS` on the host, which must succeed.
fn ip(args: &[&str]) {
    let out = bounded(IP_LIMIT, "ip", args)
        .output()
        .expect("start `timeout ip`");
    assert!(
        out.status.success(),
        "ip {}: {}",
        args.join(" "),
        text(&out.stderr)
    );
}

/// The server a probe from the client hears with the URI (DHCPv4: its server identifier;
/// DHCPv6 with `--v6`: "DUID <hex>"), or why none. `args` follow `probe --interface IF`.
fn probe(pair: &NetnsPair, bin: &str, args: &[&str]) -> Result<String, String> {
    let mut all = vec![bin, "probe", "--interface", &pair.client_if];
    all.extend_from_slice(args);
    let out = pair.exec_within(Side::Client, Duration::from_secs(10), &all);
    let stdout = text(&out.stdout);
    if !out.status.success() {
        return Err(format!("{stdout} {}", text(&out.stderr)));
    }
    let field = |name: &str| {
        stdout
            .lines()
            .find_map(|l| l.strip_prefix(name).map(|v| v.trim().to_string()))
    };
    match (field("server:"), field("bootstrap URI:")) {
        (Some(server), Some(uri)) if uri == URI => Ok(server),
        _ => Err(stdout),
    }
}

fn cli(pair: &NetnsPair, bin: &str, instance: &str, args: &[&str]) -> Output {
    let mut all = vec![bin];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--instance", instance]);
    pair.exec_within(Side::Server, Duration::from_secs(40), &all)
}

/// The one interface entry of `status --json`.
fn interface_status(pair: &NetnsPair, bin: &str, instance: &str) -> Value {
    let out = cli(pair, bin, instance, &["status", "--json"]);
    assert!(out.status.success(), "status: {}", text(&out.stderr));
    let status: Value = serde_json::from_slice(&out.stdout).expect("status --json is JSON");
    status["interfaces"][0].clone()
}

/// A DHCPv6 probe (veth generic XDP: the request needs slack to grow into, ARCHITECTURE.md).
const V6: [&str; 5] = ["--v6", "--pad", "256", "--timeout", "1"];

/// "DUID <DUID-LL of the server end's current MAC>", as `probe --v6` prints the server.
fn server_duid(pair: &NetnsPair) -> String {
    let path = format!("/sys/class/net/{}/address", pair.server_if);
    let out = pair.exec(Side::Server, &["cat", &path]);
    assert!(out.status.success(), "{path}: {}", text(&out.stderr));
    format!("DUID 00030001{}", text(&out.stdout).replace(':', ""))
}

/// The veth pair again, as `NetnsPair::new` made it: same names, same addresses (DAD off).
fn recreate_veth(pair: &NetnsPair) {
    ip(&[
        "-n",
        &pair.client_ns,
        "link",
        "add",
        &pair.client_if,
        "type",
        "veth",
        "peer",
        "name",
        &pair.server_if,
        "netns",
        &pair.server_ns,
    ]);
    for side in [Side::Server, Side::Client] {
        let (ns, ifname) = (pair.ns(side), pair.ifname(side));
        let accept_dad = format!("echo 0 > /proc/sys/net/ipv6/conf/{ifname}/accept_dad");
        let out = pair.exec(side, &["sh", "-c", &accept_dad]);
        assert!(out.status.success(), "{accept_dad}: {}", text(&out.stderr));
        ip(&["-n", ns, "link", "set", ifname, "up"]);
        let v4 = format!("{}/24", pair.ipv4(side));
        ip(&["-n", ns, "addr", "add", &v4, "dev", ifname]);
        let v6 = format!("{}/64", pair.ipv6(side));
        ip(&["-n", ns, "-6", "addr", "add", &v6, "dev", ifname, "nodad"]);
    }
    // Full UDP checksums from the client: the fast path verifies them (ARCHITECTURE.md).
    pair.exec(
        Side::Client,
        &["ethtool", "-K", &pair.client_if, "tx", "off"],
    );
}

#[test]
fn a_deleted_and_recreated_interface_is_served_again_and_status_shows_the_gap() {
    skip_unless_root!(
        "netns_relink::a_deleted_and_recreated_interface_is_served_again_and_status_shows_the_gap"
    );
    let bin = &lwm2m_xdp_bin();
    let instance = format!("lwx-{}-relink", std::process::id());
    let pair = NetnsPair::new("relink").expect("netns pair");
    pair.exec(
        Side::Client,
        &["ethtool", "-K", &pair.client_if, "tx", "off"],
    );
    let scratch = ScratchDir::new("relink").expect("scratch dir");
    let file = scratch
        .write("lwm2m-xdp.toml", &config(&pair.server_if))
        .unwrap();
    let mut run = pair.spawn(
        Side::Server,
        &[
            bin,
            "run",
            "--config",
            file.to_str().expect("UTF-8 path"),
            "--instance",
            &instance,
        ],
    );
    let server_ip = pair.ipv4(Side::Server).to_string();

    let mut last = Err(String::new());
    let up = wait_until(Duration::from_secs(15), Duration::from_millis(200), || {
        assert!(run.try_wait().unwrap().is_none(), "`run` exited early");
        last = probe(&pair, bin, &["--timeout", "2"]);
        last.is_ok()
    });
    assert!(up, "no answer before the interface was deleted: {last:?}");
    assert_eq!(last.as_deref(), Ok(server_ip.as_str()));
    let before = interface_status(&pair, bin, &instance);
    assert_eq!(before["state"], "attached", "{before}");
    assert_eq!(before["link"], "up", "{before}");
    assert!(before.get("gaps").is_none(), "a gap before any: {before}");
    let old_ifindex = before["ifindex"].as_u64().expect("ifindex");
    let old_duid = server_duid(&pair);
    assert_eq!(
        probe(&pair, bin, &V6),
        Ok(old_duid.clone()),
        "DHCPv6 before"
    );

    // Deleting one end deletes the pair.
    ip(&["-n", &pair.server_ns, "link", "del", &pair.server_if]);
    let mut during = Value::Null;
    let absent = wait_until(Duration::from_secs(5), Duration::from_millis(50), || {
        during = interface_status(&pair, bin, &instance);
        during["state"] == "absent"
    });
    assert!(
        absent,
        "status never showed the deleted interface absent: {during}"
    );
    assert_eq!(during["gaps"], 1, "{during}");
    assert_eq!(during["ifindex"], old_ifindex, "{during}");
    assert!(during["absent_since_unix_ms"].is_u64(), "{during}");
    assert!(
        run.try_wait().unwrap().is_none(),
        "`run` died with its interface"
    );
    // A reload during the gap does not look the absent interface up: it takes, and the
    // interface stays absent, to be attached when it returns.
    let out = cli(&pair, bin, &instance, &["reload"]);
    assert!(
        out.status.success(),
        "reload during the gap: {}",
        text(&out.stderr)
    );
    let still = interface_status(&pair, bin, &instance);
    assert_eq!(still["state"], "absent", "{still}");

    recreate_veth(&pair);
    let recreated = Instant::now();
    let mut again = Err(String::new());
    while recreated.elapsed() < ANSWERED_AGAIN_WITHIN {
        again = probe(&pair, bin, &["--timeout", "1"]);
        if again.is_ok() {
            break;
        }
    }
    assert_eq!(
        again.as_deref(),
        Ok(server_ip.as_str()),
        "not answered again within {ANSWERED_AGAIN_WITHIN:?} of re-creating {}",
        pair.server_if
    );
    let after = interface_status(&pair, bin, &instance);
    assert_eq!(after["state"], "attached", "{after}");
    assert_eq!(after["mode"], "generic", "the configured mode: {after}");
    assert_ne!(
        after["ifindex"], old_ifindex,
        "a new link, a new index: {after}"
    );
    assert_eq!(after["gaps"], 1, "{after}");
    assert!(
        after["last_gap_ms"].is_u64(),
        "the gap is not shown: {after}"
    );
    assert!(after.get("absent_since_unix_ms").is_none(), "{after}");

    // DHCPv6 from the new link: its link-local arrives after the link (an address event),
    // its MAC is new, so the answer's DUID-LL is too.
    let new_duid = server_duid(&pair);
    assert_ne!(new_duid, old_duid, "a new veth, a new MAC");
    let mut seen = Err(String::new());
    let v6_again = wait_until(Duration::from_secs(5), Duration::from_millis(100), || {
        seen = probe(&pair, bin, &V6);
        seen.as_deref() == Ok(new_duid.as_str())
    });
    assert!(
        v6_again,
        "DHCPv6 on the new link: {seen:?}, want {new_duid}"
    );

    // A new address: the server identifier follows it, no reload asked for.
    let [a, b, c, _] = pair.ipv4(Side::Server).octets();
    let new_ip = format!("{a}.{b}.{c}.9");
    let old_cidr = format!("{server_ip}/24");
    let new_cidr = format!("{new_ip}/24");
    ip(&[
        "-n",
        &pair.server_ns,
        "addr",
        "del",
        &old_cidr,
        "dev",
        &pair.server_if,
    ]);
    ip(&[
        "-n",
        &pair.server_ns,
        "addr",
        "add",
        &new_cidr,
        "dev",
        &pair.server_if,
    ]);
    let mut seen = Err(String::new());
    let followed = wait_until(Duration::from_secs(5), Duration::from_millis(100), || {
        seen = probe(&pair, bin, &["--timeout", "1"]);
        seen.as_deref() == Ok(new_ip.as_str())
    });
    assert!(
        followed,
        "the server identifier did not follow the new address: {seen:?}"
    );

    // Administratively down: still attached, and status says the link is down.
    ip(&[
        "-n",
        &pair.server_ns,
        "link",
        "set",
        &pair.server_if,
        "down",
    ]);
    let down = interface_status(&pair, bin, &instance);
    assert_eq!(
        (&down["state"], &down["link"]),
        (&"attached".into(), &"down".into()),
        "{down}"
    );

    let out = cli(&pair, bin, &instance, &["detach"]);
    assert!(out.status.success(), "detach: {}", text(&out.stderr));
    let status = wait_child(&mut run, Duration::from_secs(10))
        .expect("wait")
        .expect("`run` still running 10 s after detach");
    assert_eq!(status.code(), Some(0));
}
