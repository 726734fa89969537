//! Reloads: SIGHUP and `lwm2m-xdp reload` swap the config without a gap; a bad config, or one
//! whose new interface cannot attach, leaves the running one in force and `reload` exits 1
//! naming why (design.md: "SIGHUP reloads the config atomically"; `reload` "exit 1 with the
//! reason"; issue 12: a reload is a transaction). The URI a real DHCPINFORM gets back tells
//! which config is in force.

use lwm2m_xdp_tests::config_file::ConfigFile;
use lwm2m_xdp_tests::running::probe_uri;
use lwm2m_xdp_tests::text;
use std::process::Output;
use std::time::Duration;

use lwm2m_xdp_tests::{
    lwm2m_xdp_bin, skip_unless_root, wait_child, wait_until, NetnsPair, ScratchDir, Side,
};
use serde_json::Value;

const URI_A: &str = "coaps://198.18.0.1:5684";
const URI_B: &str = "coaps://198.18.0.1:5685/reloaded";
const URI_C: &str = "coaps://198.18.0.1:5686/sighup";
const URI_NEVER: &str = "coaps://198.18.0.1:5687/never-served";

fn config(server_if: &str, server_ip: &str, uri: &str) -> String {
    ConfigFile::v4_lwm2m_only(uri, server_if, server_ip).text()
}

/// `lwm2m-xdp ARGS... --instance INSTANCE` on the server side.
fn cli(pair: &NetnsPair, bin: &str, args: &[&str]) -> Output {
    let mut all = vec![bin];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--instance", INSTANCE]);
    pair.exec_within(Side::Server, Duration::from_secs(40), &all)
}

fn status(pair: &NetnsPair, bin: &str) -> Value {
    let out = cli(pair, bin, &["status", "--json"]);
    assert!(out.status.success(), "status: {}", text(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("status --json is JSON")
}

fn sighup(run: &std::process::Child) {
    let pid = libc::pid_t::try_from(run.id()).expect("pid fits pid_t");
    // SAFETY: kill has no memory-safety preconditions; the pid is our own child's.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGHUP) }, 0, "SIGHUP to run");
}

const INSTANCE: &str = "lwx-reload-test";
/// Bridges for the half-failing reload: generic XDP attaches to any device, native needs a
/// driver that has it (a bridge has none; this kernel has no dummy driver).
const BRIDGE_GENERIC: &str = "lwxbr1";
const BRIDGE_NATIVE: &str = "lwxbr0";

/// `ip link show dev IF` inside the server namespace mentions no XDP program.
fn assert_no_program(pair: &NetnsPair, ifname: &str) {
    let link = pair.exec(Side::Server, &["ip", "link", "show", "dev", ifname]);
    assert!(link.status.success(), "ip link show {ifname}");
    assert!(
        !text(&link.stdout).contains("xdp"),
        "a program is left on {ifname}: {}",
        text(&link.stdout)
    );
}

#[test]
fn reloads_swap_the_config_and_failed_ones_change_nothing() {
    skip_unless_root!("netns_reload::reloads_swap_the_config_and_failed_ones_change_nothing");
    let bin = &lwm2m_xdp_bin();
    let pair = NetnsPair::new("reload").expect("netns pair");
    // Full UDP checksums from the client: the fast path verifies them (ARCHITECTURE.md).
    pair.exec(
        Side::Client,
        &["ethtool", "-K", &pair.client_if, "tx", "off"],
    );
    let scratch = ScratchDir::new("reload").expect("scratch dir");
    let server_ip = pair.ipv4(Side::Server).to_string();
    let write = |uri: &str, extra: &str| {
        let contents = config(&pair.server_if, &server_ip, uri) + extra;
        scratch.write("lwm2m-xdp.toml", &contents).unwrap()
    };
    let file = write(URI_A, "");
    let file_arg = file.to_str().expect("UTF-8 path");
    let mut run = pair.spawn(
        Side::Server,
        &[bin, "run", "--config", file_arg, "--instance", INSTANCE],
    );

    let mut last = Err(String::new());
    let up = wait_until(Duration::from_secs(15), Duration::from_millis(200), || {
        assert!(run.try_wait().unwrap().is_none(), "`run` exited early");
        last = probe_uri(&pair, bin, Duration::from_secs(10));
        last.is_ok()
    });
    assert!(up, "no answer from the first config: {last:?}");
    assert_eq!(last.unwrap(), URI_A);
    assert_eq!(status(&pair, bin)["generation"], 1);

    // A good new config through the control socket: `reload` says so once it is in force.
    write(URI_B, "");
    let out = cli(&pair, bin, &["reload"]);
    assert!(out.status.success(), "reload: {}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("reloaded"),
        "{}",
        text(&out.stdout)
    );
    assert_eq!(
        probe_uri(&pair, bin, Duration::from_secs(10)).as_deref(),
        Ok(URI_B)
    );
    assert_eq!(status(&pair, bin)["generation"], 2);

    // A broken config (a reserved option code): `reload` exits 1 naming the key and value.
    let bad = config(&pair.server_if, &server_ip, URI_NEVER)
        .replace("enabled = true", "enabled = true\nuri_option = 53");
    scratch.write("lwm2m-xdp.toml", &bad).unwrap();
    let out = cli(&pair, bin, &["reload"]);
    let err = text(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(1),
        "reload of a broken config: {err}"
    );
    assert!(
        err.contains("uri_option") && err.contains("53") && err.contains("stays in force"),
        "the reason is not named: {err}"
    );
    assert!(
        run.try_wait().unwrap().is_none(),
        "`run` died on a bad reload"
    );
    assert_eq!(
        probe_uri(&pair, bin, Duration::from_secs(10)).as_deref(),
        Ok(URI_B),
        "a bad reload changed the answer"
    );

    // A new interface that cannot be served (loopback: refused by the interface lookups that
    // `run` and `check` share, before anything is attached): nothing of the new config is
    // served, the error names the interface, and nothing is left on it.
    write(
        URI_NEVER,
        "[[interface]]\nname = \"lo\"\nmode = \"native\"\n",
    );
    let out = cli(&pair, bin, &["reload"]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "reload adding native lo: {err}");
    assert!(
        err.contains("interface[1].name = \"lo\": a loopback interface"),
        "the interface and cause are not named: {err}"
    );
    assert_eq!(
        probe_uri(&pair, bin, Duration::from_secs(10)).as_deref(),
        Ok(URI_B),
        "a reload that failed to attach changed the answer"
    );
    assert_no_program(&pair, "lo");
    let st = status(&pair, bin);
    assert_eq!(st["generation"], 2, "{st}");
    assert_eq!(st["interfaces"].as_array().map(Vec::len), Some(1), "{st}");

    // Two new interfaces, the second of which cannot attach (a bridge has no native
    // XDP): the reload is undone as a whole. The first, attached in generic mode before the
    // second failed, is detached again; the error names the failing interface and its mode.
    for (name, address) in [
        (BRIDGE_GENERIC, "198.18.98.1/24"),
        (BRIDGE_NATIVE, "198.18.99.1/24"),
    ] {
        for args in [
            &["ip", "link", "add", name, "type", "bridge"][..],
            &["ip", "address", "add", address, "dev", name],
            &["ip", "link", "set", name, "up"],
        ] {
            let out = pair.exec(Side::Server, args);
            assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
        }
    }
    write(
        URI_NEVER,
        &format!(
            "[[interface]]\nname = \"{BRIDGE_GENERIC}\"\nmode = \"generic\"\n\
             [[interface]]\nname = \"{BRIDGE_NATIVE}\"\nmode = \"native\"\n"
        ),
    );
    let out = cli(&pair, bin, &["reload"]);
    let err = text(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(1),
        "reload adding a native bridge: {err}"
    );
    assert!(
        err.contains(&format!(
            "{BRIDGE_NATIVE}: cannot attach XDP in native mode"
        )) && err.contains("stays in force"),
        "the interface, mode and outcome are not named: {err}"
    );
    assert!(
        run.try_wait().unwrap().is_none(),
        "`run` died on a failed attach"
    );
    assert_eq!(
        probe_uri(&pair, bin, Duration::from_secs(10)).as_deref(),
        Ok(URI_B),
        "a reload that failed half way changed the answer"
    );
    assert_no_program(&pair, BRIDGE_GENERIC);
    assert_no_program(&pair, BRIDGE_NATIVE);
    let st = status(&pair, bin);
    assert_eq!(st["generation"], 2, "{st}");
    assert_eq!(st["interfaces"].as_array().map(Vec::len), Some(1), "{st}");

    // SIGHUP keeps working (systemd's ExecReload may use either).
    write(URI_C, "");
    sighup(&run);
    let mut seen = Err(String::new());
    let swapped = wait_until(Duration::from_secs(5), Duration::from_millis(100), || {
        seen = probe_uri(&pair, bin, Duration::from_secs(10));
        seen.as_deref() == Ok(URI_C)
    });
    assert!(swapped, "after SIGHUP the answer still says {seen:?}");

    // `detach` stops it through the socket: exit 0, nothing left on the link.
    let out = cli(&pair, bin, &["detach"]);
    assert!(out.status.success(), "detach: {}", text(&out.stderr));
    let status = wait_child(&mut run, Duration::from_secs(10))
        .expect("wait")
        .expect("`run` still running 10 s after detach");
    assert_eq!(status.code(), Some(0));
    assert_no_program(&pair, &pair.server_if);
    let out = cli(&pair, bin, &["status"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("is not running"),
        "{}",
        text(&out.stderr)
    );
}
