//! `--pin-dir` (issue 11): only a bpffs directory the instance created is used; its pinned
//! links keep the fast path answering after SIGKILL; the next `run` of the instance takes the
//! links over with bpf_link_update, losing no request of a steady stream; `detach` of the
//! crashed instance removes its links, pins and state, and nothing else. The TC fallback's
//! TCX link is pinned too: after SIGKILL it still answers what XDP has no room for, the next
//! run swaps its program in (same link), and `detach` removes it.

use std::net::{Ipv4Addr, SocketAddrV4, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Output};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use aya::maps::{Map, MapData, PerCpuArray};
use aya::programs::{SchedClassifier, TcAttachType};
use lwm2m_xdp::{client, config::Config, pins, system};
use lwm2m_xdp_tests::{
    config_file::ConfigFile,
    lwm2m_xdp_bin, pair_and_scratch,
    peers::{self, in_netns},
    running, skip_unless_root, text, wait_child, wait_until, NetnsPair, PinDir, ScratchDir, Side,
};
use serde_json::Value;
use xdp_common::{
    counters::{reason_index, Reason},
    maps::Family,
    wire::dhcpv4,
};

const URI_A: &str = "coaps://198.18.0.1:5684/first";
const URI_B: &str = "coaps://198.18.0.1:5685/taken-over";
/// Start-up (load, verify, attach) of one `run`.
const START_LIMIT: Duration = Duration::from_secs(20);
/// A reply later than this counts as lost (a reply from XDP takes well under a millisecond).
const REPLY_LIMIT: Duration = Duration::from_secs(1);
/// The stream: one request at a time, at most this often, for at most this long.
const STREAM_PACE: Duration = Duration::from_micros(500);
const STREAM_LIMIT: Duration = Duration::from_secs(60);
/// Requests the stream still sends after the new program answered.
const STREAM_TAIL: u32 = 200;
/// Bounds one `probe` (it gives up after its own --timeout of 2 s).
const PROBE_LIMIT: Duration = Duration::from_secs(10);
/// The bare-request stream: answers with the new URI it still waits for once the new run
/// answered status, and the most probes it sends.
const PROBE_TAIL: u32 = 5;
const PROBE_MOST: u32 = 400;

fn config(server_if: &str, server_ip: &str, uri: &str) -> String {
    ConfigFile::v4_lwm2m_only(uri, server_if, server_ip).text()
}

/// A pair whose client's UDP checksums are complete (the probe's sockets: the fast path
/// verifies them) and a scratch directory, both named after `tag`.
fn setup(tag: &str) -> (NetnsPair, ScratchDir) {
    let (pair, scratch) = pair_and_scratch(tag);
    peers::client_tx_checksums_off(&pair).expect("client checksums in software");
    (pair, scratch)
}

/// The DHCPv4 config answering with `uri` from the server's address, written as `name`.
fn write_config(pair: &NetnsPair, scratch: &ScratchDir, name: &str, uri: &str) -> PathBuf {
    let server_ip = pair.ipv4(Side::Server).to_string();
    scratch
        .write(name, &config(&pair.server_if, &server_ip, uri))
        .unwrap()
}

fn run_args<'a>(bin: &'a str, config: &'a Path, pins: &'a str) -> [&'a str; 6] {
    [
        bin,
        "run",
        "--config",
        config.to_str().expect("UTF-8 path"),
        "--pin-dir",
        pins,
    ]
}

/// `lwm2m-xdp ARGS...` on the server side.
fn cli(pair: &NetnsPair, args: &[&str]) -> Output {
    let bin = lwm2m_xdp_bin();
    let mut all = vec![bin.as_str()];
    all.extend_from_slice(args);
    pair.exec_within(Side::Server, Duration::from_secs(30), &all)
}

/// The XDP program id `ip -d link` shows on the server's veth, if any.
fn xdp_prog_id(pair: &NetnsPair) -> Option<u32> {
    let out = pair.exec(
        Side::Server,
        &["ip", "-d", "link", "show", "dev", &pair.server_if],
    );
    let shown = text(&out.stdout);
    let mut words = shown.split_whitespace();
    while let Some(w) = words.next() {
        if w == "prog/xdp" && words.next() == Some("id") {
            return words.next().and_then(|id| id.parse().ok());
        }
    }
    None
}

fn kill(child: &mut Child, signal: libc::c_int) {
    let pid = libc::pid_t::try_from(child.id()).expect("pid fits pid_t");
    // SAFETY: kill has no memory-safety preconditions; the pid is our own child's.
    assert_eq!(unsafe { libc::kill(pid, signal) }, 0, "signal {signal}");
    let status = wait_child(child, Duration::from_secs(10)).expect("wait for run");
    assert!(status.is_some(), "run did not exit after signal {signal}");
}

/// The client side of the stream: DHCPINFORMs from the client's address, one at a time.
struct Client {
    socket: UdpSocket,
    mac: [u8; 6],
    ciaddr: Ipv4Addr,
    cfg: Config,
    xid: u32,
}

impl Client {
    /// Made on a thread inside the client namespace (the socket stays there); the address
    /// and MAC come from the pair (this thread's /sys is still the host's).
    fn new(pair: &NetnsPair, config: &Path) -> anyhow::Result<Client> {
        let ifname = pair.client_if.as_str();
        let socket = UdpSocket::bind(SocketAddrV4::new(
            Ipv4Addr::UNSPECIFIED,
            dhcpv4::CLIENT_PORT,
        ))?;
        system::bind_to_device(&socket, ifname)?;
        socket.set_broadcast(true)?;
        Ok(Client {
            socket,
            mac: pair.mac(Side::Client),
            ciaddr: pair.ipv4(Side::Client),
            cfg: Config::load(config)?,
            xid: 0x1100_0000,
        })
    }

    /// One DHCPINFORM; the URI of its DHCPACK, or None after [`REPLY_LIMIT`].
    fn ask(&mut self) -> Option<String> {
        self.xid += 1;
        let codes = [
            self.cfg.dhcpv4.uri_option,
            self.cfg.dhcpv4.certificate_option,
        ];
        let request = client::build_inform(self.xid, self.mac, self.ciaddr, &codes, None);
        self.socket
            .send_to(
                &request,
                SocketAddrV4::new(Ipv4Addr::BROADCAST, dhcpv4::SERVER_PORT),
            )
            .expect("send DHCPINFORM");
        let deadline = Instant::now() + REPLY_LIMIT;
        let mut buf = vec![0u8; 65536];
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return None;
            }
            self.socket.set_read_timeout(Some(left)).expect("timeout");
            let Ok((n, _)) = self.socket.recv_from(&mut buf) else {
                return None;
            };
            if let Ok((_, bootstrap)) = client::decode_v4_reply(
                self.cfg.lwm2m.wire_format,
                codes[0],
                codes[1],
                &buf[..n],
                self.xid,
            ) {
                return Some(bootstrap.uri.unwrap_or_default());
            }
        }
    }
}

/// One request from the client namespace: the URI answered, or None.
fn probe_uri(pair: &NetnsPair, config: &Path) -> Option<String> {
    in_netns(&pair.client_ns, || Ok(Client::new(pair, config)?.ask()))
        .expect("client in its namespace")
}

#[derive(Debug, Default)]
/// What a stream of requests got: no answer, the first run's URI, the second's, another.
struct Tally {
    sent: u32,
    lost: u32,
    old: u32,
    new: u32,
    other: u32,
}

impl Tally {
    fn count(&mut self, answer: Option<&str>) {
        self.sent += 1;
        match answer {
            None => self.lost += 1,
            Some(URI_A) => self.old += 1,
            Some(URI_B) => self.new += 1,
            Some(_) => self.other += 1,
        }
    }
}

/// Sends requests one after the other until `stop` plus [`STREAM_TAIL`] more after the
/// first answer with `URI_B` (bounded by [`STREAM_LIMIT`]); at once on `abort` (the test
/// failed: its panic should not wait a minute for the stream).
fn stream(pair: &NetnsPair, config: &Path, stop: &AtomicBool, abort: &AtomicBool) -> Tally {
    in_netns(&pair.client_ns, || {
        let mut client = Client::new(pair, config)?;
        let mut tally = Tally::default();
        let started = Instant::now();
        let mut tail = None;
        while started.elapsed() < STREAM_LIMIT && tail != Some(0) {
            let sent_at = Instant::now();
            tally.count(client.ask().as_deref());
            if abort.load(Ordering::SeqCst) {
                break;
            }
            if tally.new > 0 && stop.load(Ordering::SeqCst) {
                tail = Some(tail.unwrap_or(STREAM_TAIL) - 1);
            }
            std::thread::sleep(STREAM_PACE.saturating_sub(sent_at.elapsed()));
        }
        Ok(tally)
    })
    .expect("stream in the client namespace")
}

fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// Starts `run --config config --pin-dir pins` and waits until `answered` (asked every
/// 100 ms) is true; fails if it exits or never answers first.
fn start_answering(
    pair: &NetnsPair,
    bin: &str,
    config: &Path,
    pins: &PinDir,
    mut answered: impl FnMut() -> bool,
) -> Child {
    let mut run = pair.spawn(Side::Server, &run_args(bin, config, pins.arg()));
    let instance = pins.instance();
    // Answering, and started: the status answers once the pins are made and the state is
    // written (a run killed before that leaves pins no state records, which detach cannot
    // know of; the tests that kill a run want one that had started).
    let ok = wait_until(START_LIMIT, Duration::from_millis(100), || {
        assert!(
            run.try_wait().unwrap().is_none(),
            "run --pin-dir {} exited early",
            pins.arg()
        );
        answered()
            && cli(pair, &["status", "--instance", &instance])
                .status
                .success()
    });
    assert!(ok, "run --pin-dir {} never answered", pins.arg());
    run
}

/// Starts `run --config config --pin-dir pins` and waits until `status --json` of
/// `instance` answers: the child and that status (None if it never did, for the caller to
/// fail on once its request stream is stopped).
fn start_until_status(
    pair: &NetnsPair,
    bin: &str,
    config: &Path,
    pins: &PinDir,
) -> (Child, Option<Value>) {
    let instance = pins.instance();
    let mut run = pair.spawn(Side::Server, &run_args(bin, config, pins.arg()));
    let mut status = None;
    wait_until(START_LIMIT, Duration::from_millis(100), || {
        assert!(
            run.try_wait().unwrap().is_none(),
            "run --pin-dir {} exited early",
            pins.arg()
        );
        let out = cli(pair, &["status", "--json", "--instance", &instance]);
        if out.status.success() {
            status = Some(serde_json::from_slice(&out.stdout).expect("status --json is JSON"));
        }
        status.is_some()
    });
    (run, status)
}

/// The pin names of the server veth's XDP link and TC fallback link.
fn link_pin(pair: &NetnsPair) -> String {
    pins::PinDir::link_name(&pair.server_if)
}

fn tc_pin(pair: &NetnsPair) -> String {
    pins::PinDir::tc_link_name(&pair.server_if)
}

/// Sets the flag when dropped while its thread panics (a failed assertion beside a stream,
/// which should stop at once rather than run out its time).
struct AbortOnPanic<'a>(&'a AtomicBool);

impl Drop for AbortOnPanic<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.store(true, Ordering::SeqCst);
        }
    }
}

#[test]
fn a_pin_dir_not_made_by_the_instance_is_refused_and_untouched() {
    skip_unless_root!("netns_pin::a_pin_dir_not_made_by_the_instance_is_refused_and_untouched");
    let bin = lwm2m_xdp_bin();
    let (pair, scratch) = setup("pinref");
    let cfg = write_config(&pair, &scratch, "lwm2m-xdp.toml", URI_A);

    // A plain directory (tmpfs or ext4) with a file in it, and one that does not exist there.
    let plain = scratch.path().join("pins");
    std::fs::create_dir(&plain).unwrap();
    std::fs::write(plain.join("keep"), "operator's file").unwrap();
    let absent = scratch.path().join("absent");
    // On bpffs: a directory someone else made, holding a directory of theirs.
    let foreign = PinDir::new("pinref");
    std::fs::create_dir(foreign.path()).unwrap();
    std::fs::create_dir(foreign.path().join("theirs")).unwrap();

    for (dir, says) in [
        (plain.to_str().unwrap(), "is not on bpffs"),
        (absent.to_str().unwrap(), "is not on bpffs"),
        (foreign.arg(), "was not created by lwm2m-xdp"),
    ] {
        let out = pair.exec_within(Side::Server, START_LIMIT, &run_args(&bin, &cfg, dir));
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "run --pin-dir {dir}: {err}");
        assert!(
            err.contains(says),
            "run --pin-dir {dir}: expected {says:?} in: {err}"
        );
        assert_eq!(xdp_prog_id(&pair), None, "attached despite --pin-dir {dir}");
    }
    assert_eq!(entries(&plain), ["keep"], "the plain directory changed");
    assert_eq!(
        std::fs::read_to_string(plain.join("keep")).unwrap(),
        "operator's file"
    );
    assert!(!absent.exists(), "a pin dir was made off bpffs");
    assert_eq!(
        entries(foreign.path()),
        ["theirs"],
        "the foreign directory changed"
    );

    // A directory it made is used, and removed at a normal exit (SIGTERM).
    let ours = PinDir::new("pinref-ours");
    let mut run = start_answering(&pair, &bin, &cfg, &ours, || {
        probe_uri(&pair, &cfg).as_deref() == Some(URI_A)
    });
    assert!(entries(ours.path()).contains(&"LWM2M_XDP_OWNER".to_string()));
    kill(&mut run, libc::SIGTERM);
    assert!(
        !ours.path().exists(),
        "{} left after SIGTERM: {:?}",
        ours.arg(),
        entries(ours.path())
    );
    assert_eq!(xdp_prog_id(&pair), None, "attached after SIGTERM");

    // Another instance's pin dir (left by a crash, then renamed): refused, untouched.
    let other = PinDir::new("pinref-other");
    let mut run = start_answering(&pair, &bin, &cfg, &other, || {
        probe_uri(&pair, &cfg).as_deref() == Some(URI_A)
    });
    kill(&mut run, libc::SIGKILL);
    let renamed = PinDir::new("pinref-renamed");
    std::fs::rename(other.path(), renamed.path()).unwrap();
    let before = entries(renamed.path());
    let out = pair.exec_within(
        Side::Server,
        START_LIMIT,
        &run_args(&bin, &cfg, renamed.arg()),
    );
    let err = text(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(1),
        "run --pin-dir {}: {err}",
        renamed.arg()
    );
    assert!(err.contains("belongs to instance"), "{err}");
    assert_eq!(
        entries(renamed.path()),
        before,
        "another instance's pin dir changed"
    );
    std::fs::rename(renamed.path(), other.path()).unwrap();
    let out = cli(&pair, &["detach", "--pin-dir", other.arg()]);
    assert!(out.status.success(), "detach: {}", text(&out.stderr));
    assert!(!other.path().exists(), "{} left after detach", other.arg());
    assert_eq!(xdp_prog_id(&pair), None, "attached after detach");
}

#[test]
fn pinned_links_survive_sigkill_and_are_taken_over_without_a_lost_request() {
    skip_unless_root!(
        "netns_pin::pinned_links_survive_sigkill_and_are_taken_over_without_a_lost_request"
    );
    let bin = lwm2m_xdp_bin();
    let (pair, scratch) = setup("pin");
    let cfg_a = write_config(&pair, &scratch, "a.toml", URI_A);
    let cfg_b = write_config(&pair, &scratch, "b.toml", URI_B);
    let pins = PinDir::new("pin");
    let instance = pins.instance();

    // First run: answering, its link, program and maps pinned.
    let mut first = start_answering(&pair, &bin, &cfg_a, &pins, || {
        probe_uri(&pair, &cfg_a).as_deref() == Some(URI_A)
    });
    let link_pin = link_pin(&pair);
    let pinned = entries(pins.path());
    for name in [
        "LWM2M_XDP_OWNER",
        "program",
        "COUNTERS",
        "ACTIVE",
        link_pin.as_str(),
    ] {
        assert!(
            pinned.iter().any(|n| n == name),
            "no {name} pinned: {pinned:?}"
        );
    }
    let old_prog = xdp_prog_id(&pair).expect("a program on the veth");

    // SIGKILL: nothing of the process runs, the pinned link still answers.
    kill(&mut first, libc::SIGKILL);
    assert_eq!(
        probe_uri(&pair, &cfg_a).as_deref(),
        Some(URI_A),
        "the fast path died with the process"
    );
    assert_eq!(xdp_prog_id(&pair), Some(old_prog));

    // Second run under a steady stream of requests: every one answered, by the old program
    // until the link update, by the new one after.
    let (stop, abort) = (AtomicBool::new(false), AtomicBool::new(false));
    let (tally, new_prog) = std::thread::scope(|scope| {
        let streaming = scope.spawn(|| stream(&pair, &cfg_a, &stop, &abort));
        let _abort = AbortOnPanic(&abort);
        // Let the stream run on the old program first.
        std::thread::sleep(Duration::from_millis(300));
        let (mut second, status) = start_until_status(&pair, &bin, &cfg_b, &pins);
        stop.store(true, Ordering::SeqCst);
        let tally = streaming.join().expect("stream thread");
        let status = status.expect("the second run never answered status");
        // Crash it too: `detach` must clean up after an instance that is not running.
        kill(&mut second, libc::SIGKILL);
        (tally, status["program_id"].as_u64().map(|id| id as u32))
    });
    eprintln!("stream: {tally:?}");
    assert_eq!(
        tally.lost, 0,
        "requests lost during the takeover: {tally:?}"
    );
    assert_eq!(tally.other, 0, "{tally:?}");
    assert!(tally.old > 0 && tally.new >= STREAM_TAIL, "{tally:?}");
    let now = xdp_prog_id(&pair);
    assert_ne!(
        now,
        Some(old_prog),
        "the program on the veth did not change"
    );
    assert_eq!(
        now, new_prog,
        "the veth does not run the second run's program"
    );
    assert_eq!(probe_uri(&pair, &cfg_a).as_deref(), Some(URI_B));

    // `detach` of the crashed instance: no link, pin, program or state left.
    let out = cli(&pair, &["detach", "--pin-dir", pins.arg()]);
    let said = text(&out.stderr);
    assert!(out.status.success(), "detach: {said}");
    assert!(
        said.contains(&link_pin),
        "detach did not say it removed {link_pin}: {said}"
    );
    assert!(
        !pins.path().exists(),
        "pin dir left: {:?}",
        entries(pins.path())
    );
    let run_dir = entries(Path::new("/run/lwm2m-xdp"));
    let left: Vec<&String> = run_dir
        .iter()
        .filter(|n| n.starts_with(&format!("{instance}.")))
        .collect();
    assert!(left.is_empty(), "left in /run/lwm2m-xdp: {left:?}");
    assert_eq!(xdp_prog_id(&pair), None, "a program is still on the veth");
    assert_eq!(probe_uri(&pair, &cfg_a), None, "answered after detach");
    let gone = |id: u32| {
        !aya::programs::loaded_programs()
            .filter_map(|p| p.ok())
            .any(|p| p.id() == id)
    };
    let freed = wait_until(Duration::from_secs(5), Duration::from_millis(100), || {
        gone(old_prog) && new_prog.is_some_and(gone)
    });
    assert!(
        freed,
        "program {old_prog} or {new_prog:?} still loaded after detach"
    );
}

/// Whether `ip link` shows an XDP program on `ifname` in the server namespace.
fn has_xdp(pair: &NetnsPair, ifname: &str) -> bool {
    let out = pair.exec(Side::Server, &["ip", "link", "show", "dev", ifname]);
    assert!(
        out.status.success(),
        "ip link show {ifname}: {}",
        text(&out.stderr)
    );
    text(&out.stdout).contains("xdp")
}

#[test]
fn a_pinned_link_of_an_interface_no_longer_configured_is_detached_by_the_next_run() {
    skip_unless_root!(
        "netns_pin::a_pinned_link_of_an_interface_no_longer_configured_is_detached_by_the_next_run"
    );
    let bin = lwm2m_xdp_bin();
    let pair = NetnsPair::new("pindrop").expect("netns pair");
    peers::client_tx_checksums_off(&pair).expect("client checksums in software");
    // A second interface inside the server namespace; its name has a dot, which bpffs
    // refuses in pin names (the link pin is percent-encoded).
    let extra = "ex.0";
    let made = pair.exec(
        Side::Server,
        &["sh", "-c", &format!("ip link add {extra} type veth peer name ex.1 && ip link set {extra} up && ip link set ex.1 up")],
    );
    assert!(
        made.status.success(),
        "veth {extra}: {}",
        text(&made.stderr)
    );
    let scratch = ScratchDir::new("pindrop").expect("scratch dir");
    let server_ip = pair.ipv4(Side::Server).to_string();
    let one = config(&pair.server_if, &server_ip, URI_A);
    let both = format!(
        "{one}[[interface]]\nname = \"{extra}\"\nmode = \"generic\"\nserver_id = \"{server_ip}\"\n"
    );
    let cfg_first = scratch.write("first.toml", &one).unwrap();
    let cfg_one = scratch.write("one.toml", &one).unwrap();
    let pins = PinDir::new("pindrop");
    let instance = pins.instance();
    let extra_pin = "link_ex%2E0";
    let extra_tc_pin = "tc_ex%2E0";

    let mut first = start_answering(&pair, &bin, &cfg_first, &pins, || {
        probe_uri(&pair, &cfg_one).as_deref() == Some(URI_A)
    });
    // A reload adds ex.0: pinned too, after start-up dropped the capabilities.
    assert!(!has_xdp(&pair, extra));
    std::fs::write(&cfg_first, &both).unwrap();
    let out = cli(&pair, &["reload", "--instance", &instance]);
    assert!(out.status.success(), "reload: {}", text(&out.stderr));
    assert!(has_xdp(&pair, extra), "the reload did not attach {extra}");
    assert!(
        entries(pins.path()).iter().any(|n| n == extra_pin),
        "no {extra_pin}: {:?}",
        entries(pins.path())
    );
    assert!(
        entries(pins.path()).iter().any(|n| n == extra_tc_pin),
        "no {extra_tc_pin}: {:?}",
        entries(pins.path())
    );
    kill(&mut first, libc::SIGKILL);
    assert!(
        has_xdp(&pair, extra),
        "{extra} lost its pinned program with the process"
    );

    // The next run no longer serves ex.0: it detaches and unpins that link, keeps the other.
    let (mut second, status) = start_until_status(&pair, &bin, &cfg_one, &pins);
    assert!(status.is_some(), "the second run never answered status");
    assert!(!has_xdp(&pair, extra), "{extra} still has a program");
    let now = entries(pins.path());
    assert!(
        !now.iter().any(|n| n == extra_pin),
        "{extra_pin} still pinned: {now:?}"
    );
    assert!(
        !now.iter().any(|n| n == extra_tc_pin),
        "{extra_tc_pin} still pinned: {now:?}"
    );
    assert!(has_xdp(&pair, &pair.server_if));
    assert_eq!(probe_uri(&pair, &cfg_one).as_deref(), Some(URI_A));
    kill(&mut second, libc::SIGTERM);
    assert!(
        !pins.path().exists(),
        "pin dir left: {:?}",
        entries(pins.path())
    );
    assert!(
        !has_xdp(&pair, &pair.server_if),
        "a program is left after SIGTERM"
    );
}

/// A DHCPv6 config whose REPLY (a 1000-octet certificate) outgrows what generic XDP on veth
/// can add to a bare INFORMATION-REQUEST: XDP passes it as no_tailroom, TC answers it.
fn tc_config(server_if: &str, uri: &str, fallback: &str) -> String {
    ConfigFile::new(uri, server_if)
        .certificate(1000)
        .lwm2m("policy", "lwm2m-only")
        .interface_key("fallback", fallback)
        .text()
}

/// `probe --v6` without --pad (a bare INFORMATION-REQUEST): the URI answered, or None.
fn probe_v6(pair: &NetnsPair, bin: &str) -> Option<String> {
    running::probe_uri_with(pair, bin, PROBE_LIMIT, &["--v6"]).ok()
}

/// The programs on the server veth's TCX ingress.
fn tcx_programs(pair: &NetnsPair) -> Vec<u32> {
    in_netns(&pair.server_ns, || {
        let (_, programs) = SchedClassifier::query_tcx(&pair.server_if, TcAttachType::Ingress)?;
        Ok(programs.iter().map(|p| p.id()).collect())
    })
    .expect("query the TCX ingress programs")
}

/// The kernel ID of the link pinned as `name`.
fn pinned_link_id(dir: &PinDir, name: &str) -> u32 {
    pins::pinned_id(&dir.path().join(name), pins::Kind::Link)
        .unwrap_or_else(|e| panic!("link pin {name}: {e:#}"))
}

/// A DHCPv6 counter, read from the pinned COUNTERS map (no process needed), summed over CPUs.
fn pinned_v6_count(dir: &PinDir, reason: Reason) -> u64 {
    let data = MapData::from_pin(dir.path().join("COUNTERS")).expect("open the pinned COUNTERS");
    let counters: PerCpuArray<MapData, u64> =
        PerCpuArray::try_from(Map::from_map_data(data).expect("a map")).expect("a per-CPU array");
    counters
        .get(&reason_index(Family::V6, reason), 0)
        .expect("read a counter")
        .iter()
        .sum()
}

/// Bare INFORMATION-REQUESTs one after the other, until `stop` plus [`PROBE_TAIL`] answers
/// with `URI_B` (at most [`PROBE_MOST`] probes); at once on `abort`.
fn probe_stream(pair: &NetnsPair, bin: &str, stop: &AtomicBool, abort: &AtomicBool) -> Tally {
    let mut tally = Tally::default();
    let mut tail = None;
    while tally.sent < PROBE_MOST && tail != Some(0) && !abort.load(Ordering::SeqCst) {
        let uri = probe_v6(pair, bin);
        tally.count(uri.as_deref());
        if uri.as_deref() == Some(URI_B) && stop.load(Ordering::SeqCst) {
            tail = Some(tail.unwrap_or(PROBE_TAIL) - 1);
        }
    }
    tally
}

#[test]
fn the_pinned_tc_fallback_answers_after_sigkill_is_taken_over_and_detached() {
    skip_unless_root!(
        "netns_pin::the_pinned_tc_fallback_answers_after_sigkill_is_taken_over_and_detached"
    );
    let bin = lwm2m_xdp_bin();
    // The probe sends from UDP sockets: full checksums, which TC verifies as XDP does.
    let (pair, scratch) = setup("pintc");
    let cfg_a = scratch
        .write("a.toml", &tc_config(&pair.server_if, URI_A, "tc"))
        .unwrap();
    let cfg_b = scratch
        .write("b.toml", &tc_config(&pair.server_if, URI_B, "tc"))
        .unwrap();
    let pins = PinDir::new("pintc");
    let tc_pin = tc_pin(&pair);

    // First run: a bare request answered (by TC), its TC link pinned beside the XDP one.
    let mut first = start_answering(&pair, &bin, &cfg_a, &pins, || {
        probe_v6(&pair, &bin).as_deref() == Some(URI_A)
    });
    let pinned = entries(pins.path());
    assert!(pinned.contains(&tc_pin), "no {tc_pin} pinned: {pinned:?}");
    let tc_link = pinned_link_id(&pins, &tc_pin);
    let old_tc = tcx_programs(&pair);
    assert_eq!(old_tc.len(), 1, "one TC program on the veth: {old_tc:?}");

    // SIGKILL: the pinned TC link still answers what XDP has no room for, counted in the
    // pinned maps.
    let by_tc = pinned_v6_count(&pins, Reason::AnsweredTc);
    kill(&mut first, libc::SIGKILL);
    assert_eq!(
        probe_v6(&pair, &bin).as_deref(),
        Some(URI_A),
        "the TC fallback died with the process"
    );
    assert!(
        pinned_v6_count(&pins, Reason::AnsweredTc) > by_tc,
        "the answer after SIGKILL was not TC's (answered_tc unchanged)"
    );
    assert_eq!(tcx_programs(&pair), old_tc);

    // Second run under a stream of bare requests: each answered, by the old TC program until
    // the link update, by the new one after; the same TC link, its program replaced.
    let (stop, abort) = (AtomicBool::new(false), AtomicBool::new(false));
    let (tally, status, mut second) = std::thread::scope(|scope| {
        let streaming = scope.spawn(|| probe_stream(&pair, &bin, &stop, &abort));
        let _abort = AbortOnPanic(&abort);
        let (second, status) = start_until_status(&pair, &bin, &cfg_b, &pins);
        stop.store(true, Ordering::SeqCst);
        let tally = streaming.join().expect("probe stream thread");
        let status = status.expect("the second run never answered status");
        (tally, status, second)
    });
    eprintln!("bare-request stream: {tally:?}");
    assert_eq!(
        tally.lost, 0,
        "bare requests lost during the takeover: {tally:?}"
    );
    assert_eq!(tally.other, 0, "{tally:?}");
    assert!(tally.new >= PROBE_TAIL, "{tally:?}");
    let iface = &status["interfaces"][0];
    assert_eq!(iface["hooks"].to_string(), r#"["xdp","tc"]"#, "{status}");
    assert_eq!(iface["pinned"], true, "{status}");
    assert_eq!(
        pinned_link_id(&pins, &tc_pin),
        tc_link,
        "the TC link was replaced instead of updated"
    );
    let new_tc = tcx_programs(&pair);
    assert_eq!(new_tc.len(), 1, "one TC program on the veth: {new_tc:?}");
    assert_ne!(
        new_tc, old_tc,
        "the TC link still runs the first run's program"
    );
    let by_tc = pinned_v6_count(&pins, Reason::AnsweredTc);
    assert_eq!(probe_v6(&pair, &bin).as_deref(), Some(URI_B));
    assert!(
        pinned_v6_count(&pins, Reason::AnsweredTc) > by_tc,
        "the second run's TC program did not answer (answered_tc unchanged)"
    );

    // `detach` of the crashed instance removes the TC pin and the TCX link too.
    kill(&mut second, libc::SIGKILL);
    let out = cli(&pair, &["detach", "--pin-dir", pins.arg()]);
    let said = text(&out.stderr);
    assert!(out.status.success(), "detach: {said}");
    assert!(
        said.contains(&tc_pin),
        "detach did not say it removed {tc_pin}: {said}"
    );
    assert!(
        !pins.path().exists(),
        "pin dir left: {:?}",
        entries(pins.path())
    );
    assert_eq!(
        tcx_programs(&pair),
        Vec::<u32>::new(),
        "a TC program is left"
    );
    assert_eq!(xdp_prog_id(&pair), None, "an XDP program is left");
    assert_eq!(probe_v6(&pair, &bin), None, "answered after detach");
}

#[test]
fn a_pinned_tc_link_is_detached_by_a_run_with_fallback_none() {
    skip_unless_root!("netns_pin::a_pinned_tc_link_is_detached_by_a_run_with_fallback_none");
    let bin = lwm2m_xdp_bin();
    let (pair, scratch) = setup("pintcnone");
    let cfg_tc = scratch
        .write("tc.toml", &tc_config(&pair.server_if, URI_A, "tc"))
        .unwrap();
    let cfg_none = scratch
        .write("none.toml", &tc_config(&pair.server_if, URI_A, "none"))
        .unwrap();
    let pins = PinDir::new("pintcnone");
    let tc_pin = tc_pin(&pair);
    let link_pin = link_pin(&pair);

    let mut first = start_answering(&pair, &bin, &cfg_tc, &pins, || {
        probe_v6(&pair, &bin).as_deref() == Some(URI_A)
    });
    assert!(entries(pins.path()).contains(&tc_pin));
    kill(&mut first, libc::SIGKILL);
    assert_eq!(
        tcx_programs(&pair).len(),
        1,
        "the pinned TC link went with the process"
    );

    // fallback = "none" now: the pinned TC link is detached and unpinned, XDP taken over.
    let (mut second, status) = start_until_status(&pair, &bin, &cfg_none, &pins);
    let status = status.expect("the second run never answered status");
    let now = entries(pins.path());
    assert!(!now.contains(&tc_pin), "{tc_pin} still pinned: {now:?}");
    assert!(now.contains(&link_pin), "no {link_pin}: {now:?}");
    assert_eq!(
        tcx_programs(&pair),
        Vec::<u32>::new(),
        "a TC program is left"
    );
    assert_eq!(
        status["interfaces"][0]["hooks"].to_string(),
        r#"["xdp"]"#,
        "{status}"
    );
    assert_eq!(
        probe_v6(&pair, &bin),
        None,
        "a bare request answered without TC"
    );
    kill(&mut second, libc::SIGTERM);
    assert!(
        !pins.path().exists(),
        "pin dir left: {:?}",
        entries(pins.path())
    );
    assert_eq!(
        xdp_prog_id(&pair),
        None,
        "an XDP program is left after SIGTERM"
    );
}

/// A run SIGKILLed at any point of its start leaves a state that names every pin it has made
/// (each is recorded before, or for a map right after, it is made): `detach` then removes the
/// links, the pins, the directory and the state, and the veth runs no program. Killed as soon
/// as the pin dir shows the marker (the program still loading), the program, the maps, the
/// XDP link and the TC fallback's link.
#[test]
fn a_run_killed_anywhere_in_its_start_leaves_nothing_detach_cannot_remove() {
    skip_unless_root!(
        "netns_pin::a_run_killed_anywhere_in_its_start_leaves_nothing_detach_cannot_remove"
    );
    let bin = lwm2m_xdp_bin();
    let (pair, scratch) = pair_and_scratch("pinkill");
    let cfg = scratch
        .write("lwm2m-xdp.toml", &tc_config(&pair.server_if, URI_A, "tc"))
        .unwrap();
    let (xdp_link, tc_link) = (link_pin(&pair), tc_pin(&pair));
    let moments = [
        ("the marker", pins::OWNER),
        ("the program", pins::PROGRAM),
        ("a map", "COUNTERS"),
        ("the XDP link", &xdp_link),
        ("the TC link", &tc_link),
    ];
    for (what, pin) in moments {
        let made = |dir: &PinDir| entries(dir.path()).iter().any(|n| n == pin);
        let pins = PinDir::new("pinkill");
        let mut run = pair.spawn(Side::Server, &run_args(&bin, &cfg, pins.arg()));
        // Read as fast as the directory allows: the kill lands right after the pin appears.
        let seen = wait_until(START_LIMIT, Duration::from_micros(100), || {
            made(&pins) || run.try_wait().unwrap().is_some()
        });
        kill(&mut run, libc::SIGKILL);
        assert!(seen && made(&pins), "{what} never pinned");
        let out = cli(&pair, &["detach", "--pin-dir", pins.arg()]);
        let said = text(&out.stderr);
        assert!(out.status.success(), "killed after {what}: detach: {said}");
        assert!(
            !pins.path().exists(),
            "killed after {what}: left in the pin dir {:?}; detach said: {said}",
            entries(pins.path())
        );
        let instance = pins.instance();
        let left: Vec<String> = entries(Path::new("/run/lwm2m-xdp"))
            .into_iter()
            .filter(|n| n.starts_with(&format!("{instance}.")))
            .collect();
        assert!(left.is_empty(), "killed after {what}: left {left:?}");
        assert_eq!(xdp_prog_id(&pair), None, "killed after {what}: XDP left");
        assert!(
            tcx_programs(&pair).is_empty(),
            "killed after {what}: TC left"
        );
    }
}

/// A run of an instance whose earlier run was killed with its pins in place, but that would
/// not pin there (no --pin-dir), is refused before it loads anything: its state file would
/// forget those pins. `detach` removes them; then the run starts.
#[test]
fn a_run_that_would_forget_a_killed_runs_pins_is_refused() {
    skip_unless_root!("netns_pin::a_run_that_would_forget_a_killed_runs_pins_is_refused");
    let bin = lwm2m_xdp_bin();
    let (pair, scratch) = setup("pinleft");
    let cfg = write_config(&pair, &scratch, "lwm2m-xdp.toml", URI_A);
    let pins = PinDir::new("pinleft");
    let instance = pins.instance();
    let mut run = start_answering(&pair, &bin, &cfg, &pins, || {
        probe_uri(&pair, &cfg).as_deref() == Some(URI_A)
    });
    kill(&mut run, libc::SIGKILL);
    let unpinned = [
        bin.as_str(),
        "run",
        "--config",
        cfg.to_str().expect("UTF-8 path"),
        "--instance",
        &instance,
    ];
    let out = pair.exec_within(Side::Server, START_LIMIT, &unpinned);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "run without --pin-dir: {err}");
    assert!(
        err.contains("left pins in") && err.contains(pins.arg()) && err.contains("detach"),
        "the refusal does not name the pin dir and the way out: {err}"
    );
    assert!(
        entries(pins.path()).contains(&link_pin(&pair)),
        "the refused run touched the pins: {:?}",
        entries(pins.path())
    );
    assert_eq!(
        probe_uri(&pair, &cfg).as_deref(),
        Some(URI_A),
        "still answered"
    );
    let out = cli(&pair, &["detach", "--instance", &instance]);
    assert!(out.status.success(), "detach: {}", text(&out.stderr));
    assert!(!pins.path().exists(), "pin dir left after detach");
    let mut run = pair.spawn(Side::Server, &unpinned);
    let started = wait_until(START_LIMIT, Duration::from_millis(100), || {
        assert!(run.try_wait().unwrap().is_none(), "run exited early");
        cli(&pair, &["status", "--instance", &instance])
            .status
            .success()
    });
    assert!(started, "run without --pin-dir never started after detach");
    kill(&mut run, libc::SIGTERM);
}
