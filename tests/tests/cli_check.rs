//! `lwm2m-xdp check` and the exit codes of the command line (design.md: 0 ok, 1 bad input or
//! failure), run as the operator runs them. The unit tests of xdp-user/src/check/ test each
//! finding; these test the binary: the shipped example on a host without its interface,
//! `--strict`, `--offline`, usage errors, and `check` and `run` agreeing on `lo`.

use lwm2m_xdp_tests::text;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use lwm2m_xdp_tests::{lwm2m_xdp_bin, skip_unless_root, NetnsPair, ScratchDir, Side};

fn lwm2m_xdp(args: &[&str]) -> Output {
    Command::new(lwm2m_xdp_bin())
        .args(args)
        .output()
        .expect("run lwm2m-xdp")
}

fn example() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples/lwm2m-xdp.toml")
        .canonicalize()
        .unwrap()
}

/// The interface the example names, which this host must not have for the test to mean
/// anything (the demo makes it, and removes it again).
const EXAMPLE_IFACE: &str = "lwm2m-srv";

#[test]
fn the_example_checks_on_a_host_without_its_interface() {
    if Path::new("/sys/class/net").join(EXAMPLE_IFACE).exists() {
        eprintln!("SKIP cli_check: {EXAMPLE_IFACE} exists on this host (a demo running?)");
        return;
    }
    let example = example();
    let path = example.to_str().unwrap();
    let out = lwm2m_xdp(&["check", "--config", path]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("interfaces: \"lwm2m-srv\" is not on this host: checked offline"),
        "{stdout}"
    );
    assert!(
        stdout.contains("certificate: Ed25519 (256 bits) key"),
        "{stdout}"
    );
    assert!(stdout.contains("valid from"), "{stdout}");
    assert!(
        stdout.contains("subjectAltName (38): DNS:bootstrap.example.net"),
        "{stdout}"
    );
    assert!(stdout.ends_with("warnings (on stderr)"), "{stdout}");
    assert!(
        stderr.contains("lwm2m-xdp: warning: interface[0].name"),
        "{stderr}"
    );
    assert!(!stderr.contains("error"), "{stderr}");

    // --strict: the same warnings fail.
    let out = lwm2m_xdp(&["check", "--config", path, "--strict"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).ends_with("warnings and --strict"),
        "{}",
        text(&out.stderr)
    );

    // --offline: no lookup, so no warning about the interface.
    let out = lwm2m_xdp(&["check", "--config", path, "--offline"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        !text(&out.stderr).contains("interface[0]"),
        "{}",
        text(&out.stderr)
    );
    assert!(text(&out.stdout).contains("interfaces: not looked up (offline"));
}

#[test]
fn errors_exit_1_with_one_line() {
    let scratch = ScratchDir::new("cli-errors").unwrap();
    // Nothing to serve: a check error.
    let empty = scratch
        .write("empty.toml", "[[interface]]\nname = \"lo\"\n")
        .unwrap();
    let out = lwm2m_xdp(&["check", "--config", empty.to_str().unwrap(), "--offline"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("error: lwm2m: neither bootstrap_uri nor certificate"),
        "{stderr}"
    );
    // A TOML type error names the key; an OS cause is said once.
    let typed = scratch
        .write(
            "typed.toml",
            "[dhcpv4]\nuri_option = \"224\"\n[[interface]]\nname = \"x\"\n",
        )
        .unwrap();
    let out = lwm2m_xdp(&["check", "--config", typed.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("dhcpv4.uri_option = \"224\": a whole number, written without quotes, not a string (\"224\")"),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    let out = lwm2m_xdp(&["check", "--config", "/nonexistent/lwm2m-xdp.toml"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        "lwm2m-xdp: cannot read /nonexistent/lwm2m-xdp.toml: no such file"
    );
    // Usage errors exit 1 too (clap's own code is 2); help exits 0.
    for args in [
        &["check"][..],
        &["no-such-command"],
        &["kea-config", "--config", "x.toml"],
        &["check", "--config", "x", "--bogus"],
    ] {
        let out = lwm2m_xdp(args);
        assert_eq!(
            out.status.code(),
            Some(1),
            "{args:?}: {}",
            text(&out.stderr)
        );
        assert!(!text(&out.stderr).is_empty());
    }
    assert_eq!(lwm2m_xdp(&["--help"]).status.code(), Some(0));
    assert_eq!(lwm2m_xdp(&["check", "--help"]).status.code(), Some(0));
}

/// `lo` exists, so both look it up, and both refuse it with the same words, `run` before it
/// attaches anything.
#[test]
fn check_and_run_agree_on_lo() {
    skip_unless_root!("cli_check::check_and_run_agree_on_lo");
    let pair = NetnsPair::new("cli-lo").expect("netns pair");
    let scratch = ScratchDir::new("cli-lo").unwrap();
    let cert = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples/certs/bootstrap-1000.der")
        .canonicalize()
        .unwrap();
    let conf = scratch
        .write(
            "lo.toml",
            &format!(
                "[lwm2m]\nbootstrap_uri = \"coaps://bootstrap.example.net:5684\"\n\
                 certificate = \"{}\"\n[[interface]]\nname = \"lo\"\nmode = \"generic\"\n",
                cert.display()
            ),
        )
        .unwrap();
    let bin = &lwm2m_xdp_bin();
    let conf = conf.to_str().unwrap();
    let limit = Duration::from_secs(30);
    let check = pair.exec_within(Side::Server, limit, &[bin, "check", "--config", conf]);
    let instance = format!("lwx-{}-lo", std::process::id());
    let run = pair.exec_within(
        Side::Server,
        limit,
        &[bin, "run", "--config", conf, "--instance", &instance],
    );
    let words = "interface[0].name = \"lo\": a loopback interface (link type 772)";
    assert_eq!(
        check.status.code(),
        Some(1),
        "check: {}",
        text(&check.stderr)
    );
    assert!(
        text(&check.stderr).contains(words),
        "check: {}",
        text(&check.stderr)
    );
    assert_eq!(run.status.code(), Some(1), "run: {}", text(&run.stderr));
    let run_err = text(&run.stderr);
    assert!(run_err.contains(words), "run: {run_err}");
    assert!(!run_err.contains("number too large"), "run: {run_err}");
    assert!(
        !run_err.contains("attaching"),
        "run attached before it looked lo up: {run_err}"
    );
}
