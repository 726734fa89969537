//! SIGHUP reloads without a gap, and a bad config leaves the running one in force
//! (design.md: "SIGHUP reloads the config atomically"; "a bad reload leaves the running
//! config in place"). The URI a real DHCPINFORM gets back tells which config is in force.

use std::time::Duration;

use lwm2m_xdp_tests::{
    lwm2m_xdp_bin, require_root, wait_child, wait_until, NetnsPair, ScratchDir, Side,
};

const URI_A: &str = "coaps://198.18.0.1:5684";
const URI_B: &str = "coaps://198.18.0.1:5685/reloaded";

fn config(server_if: &str, server_ip: &str, uri: &str) -> String {
    format!(
        "[lwm2m]\nbootstrap_uri = \"{uri}\"\npolicy = \"lwm2m-only\"\n[dhcpv4]\nenabled = true\n[dhcpv6]\nenabled = false\n\
         [[interface]]\nname = \"{server_if}\"\nmode = \"generic\"\nserver_id = \"{server_ip}\"\n"
    )
}

/// The URI line `probe` prints, or its error. `probe` asks for the URI and the certificate;
/// the config has no certificate, so it is `lwm2m-only` (under `complete` such a request is
/// passed to the normal server, draft §5).
fn probe(pair: &NetnsPair, bin: &str) -> Result<String, String> {
    let out = pair.exec_within(
        Side::Client,
        Duration::from_secs(10),
        &[
            bin,
            "probe",
            "--interface",
            &pair.client_if,
            "--timeout",
            "2",
        ],
    );
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() {
        return Err(format!("{text}{}", String::from_utf8_lossy(&out.stderr)));
    }
    text.lines()
        .find_map(|l| {
            l.strip_prefix("bootstrap URI:")
                .map(|u| u.trim().to_string())
        })
        .ok_or(text)
}

fn sighup(run: &std::process::Child) {
    let pid = libc::pid_t::try_from(run.id()).expect("pid fits pid_t");
    // SAFETY: kill has no memory-safety preconditions; the pid is our own child's.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGHUP) }, 0, "SIGHUP to run");
}

#[test]
fn sighup_swaps_the_config_and_a_bad_one_is_refused() {
    if !require_root("netns_reload::sighup_swaps_the_config_and_a_bad_one_is_refused") {
        return;
    }
    let bin = lwm2m_xdp_bin();
    let bin = bin.to_str().expect("binary path is UTF-8");
    let pair = NetnsPair::new("reload").expect("netns pair");
    // Full UDP checksums from the client: the fast path verifies them (ARCHITECTURE.md).
    pair.exec(
        Side::Client,
        &["ethtool", "-K", &pair.client_if, "tx", "off"],
    );
    let scratch = ScratchDir::new("reload").expect("scratch dir");
    let server_ip = pair.ipv4(Side::Server).to_string();
    let file = scratch
        .write(
            "lwm2m-xdp.toml",
            &config(&pair.server_if, &server_ip, URI_A),
        )
        .unwrap();
    let file_arg = file.to_str().expect("UTF-8 path");
    let mut run = pair.spawn(
        Side::Server,
        &[
            bin,
            "run",
            "--config",
            file_arg,
            "--instance",
            "lwx-reload-test",
        ],
    );

    let mut last = Err(String::new());
    let up = wait_until(Duration::from_secs(15), Duration::from_millis(200), || {
        assert!(run.try_wait().unwrap().is_none(), "`run` exited early");
        last = probe(&pair, bin);
        last.is_ok()
    });
    assert!(up, "no answer from the first config: {last:?}");
    assert_eq!(last.unwrap(), URI_A);

    // A good new config: the next answers carry the new URI.
    scratch
        .write(
            "lwm2m-xdp.toml",
            &config(&pair.server_if, &server_ip, URI_B),
        )
        .unwrap();
    sighup(&run);
    let mut seen = Err(String::new());
    let swapped = wait_until(Duration::from_secs(5), Duration::from_millis(100), || {
        seen = probe(&pair, bin);
        seen.as_deref() == Ok(URI_B)
    });
    assert!(swapped, "after SIGHUP the answer still says {seen:?}");

    // A bad config (a reserved option code): refused, the running config stays, `run` lives.
    let bad = config(&pair.server_if, &server_ip, "coaps://198.18.0.1/bad")
        .replace("enabled = true", "enabled = true\nuri_option = 53");
    scratch.write("lwm2m-xdp.toml", &bad).unwrap();
    sighup(&run);
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        run.try_wait().unwrap().is_none(),
        "`run` died on a bad reload"
    );
    assert_eq!(
        probe(&pair, bin).as_deref(),
        Ok(URI_B),
        "a bad reload changed the answer"
    );

    let pid = libc::pid_t::try_from(run.id()).expect("pid fits pid_t");
    // SAFETY: as in `sighup`.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGINT) }, 0);
    let status = wait_child(&mut run, Duration::from_secs(10))
        .expect("wait")
        .expect("`run` still running 10 s after SIGINT");
    assert_eq!(status.code(), Some(0));
}
