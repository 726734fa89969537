//! Least privilege and the systemd protocol (issue 11): `run` started as a non-root user with
//! only the capabilities README documents attaches, answers, reloads and stops; once started,
//! /proc shows only the one it keeps (CAP_NET_BIND_SERVICE); it tells a notify socket
//! READY=1, RELOADING=1 ... READY=1 and STOPPING=1, as `Type=notify` expects. The shipped unit
//! passes `systemd-analyze verify` without a warning.
//!
//! The user is a bare uid (no passwd entry is needed). Its /run/lwm2m-xdp is a tmpfs mounted
//! in the daemon's own mount namespace (`ip netns exec` makes one), owned by that uid: what
//! systemd's RuntimeDirectory= gives the service, without touching the host's directory.

use lwm2m_xdp_tests::config_file::ConfigFile;
use lwm2m_xdp_tests::running::probe_uri;
use std::io::{BufRead as _, BufReader, Read as _};
use std::os::unix::fs::PermissionsExt as _;
use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use lwm2m_xdp::privilege::{KEPT, TO_START};
use lwm2m_xdp_tests::{
    bounded, lwm2m_xdp_bin, peers, require_tool, skip_unless_root, wait_child, wait_until,
    NetnsPair, ScratchDir, Side,
};

/// The daemon's uid and gid: unused on these machines, and nothing here needs a name for it.
const UID: u32 = 64_917;
const ATTACH_LIMIT: Duration = Duration::from_secs(20);
const STEP_LIMIT: Duration = Duration::from_secs(10);

fn config(pair: &NetnsPair, uri: &str) -> String {
    // Nobody is at the DHCPv4 server: the relay only has to bind its ports.
    ConfigFile::new(uri, &pair.server_if)
        .lwm2m("policy", "lwm2m-only")
        .then("[slow_path]\nmode = \"relay\"\ndhcpv4_servers = [\"198.18.255.254\"]\n")
        .text()
}

/// `cap_bpf,cap_net_admin` as setpriv spells a set: `+bpf,+net_admin`.
fn setpriv_caps(caps: &[caps::Capability]) -> String {
    caps.iter()
        .map(|c| {
            format!(
                "+{}",
                c.to_string().to_lowercase().trim_start_matches("cap_")
            )
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// The capability bit mask of `caps`, as /proc/PID/status prints it.
fn mask(caps: &[caps::Capability]) -> u64 {
    caps.iter().map(|c| c.bitmask()).fold(0, |a, b| a | b)
}

/// `CapPrm:` and the like of every thread of `pid`.
fn thread_caps(pid: u32) -> Vec<(String, String, u64)> {
    let mut found = Vec::new();
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).expect("/proc/PID/task");
    for task in tasks.flatten() {
        let status = std::fs::read_to_string(task.path().join("status")).unwrap_or_default();
        for line in status.lines() {
            if let Some((name, value)) = line.split_once(':') {
                if name.starts_with("Cap") {
                    let value = u64::from_str_radix(value.trim(), 16).expect("hex capability set");
                    found.push((
                        task.file_name().to_string_lossy().into_owned(),
                        name.to_owned(),
                        value,
                    ));
                }
            }
        }
    }
    found
}

/// The notify socket `run` writes to: every datagram, in order.
struct Notify {
    socket: UnixDatagram,
}

impl Notify {
    fn bind(path: &Path) -> Notify {
        let socket = UnixDatagram::bind(path).expect("bind the notify socket");
        // The daemon's uid must be able to send to it.
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o666)).unwrap();
        socket
            .set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        Notify { socket }
    }

    /// Datagrams until one contains `line` as a whole line; `Err` with what came when
    /// `limit` passes first.
    fn until(&self, line: &str, limit: Duration) -> Result<Vec<String>, Vec<String>> {
        let mut seen = Vec::new();
        let deadline = std::time::Instant::now() + limit;
        let mut buf = [0u8; 4096];
        while std::time::Instant::now() < deadline {
            if let Ok(n) = self.socket.recv(&mut buf) {
                let message = String::from_utf8_lossy(&buf[..n]).into_owned();
                let done = message.lines().any(|l| l == line);
                seen.push(message);
                if done {
                    return Ok(seen);
                }
            }
        }
        Err(seen)
    }
}

struct Daemon {
    child: Child,
    log: Arc<Mutex<String>>,
}

impl Daemon {
    fn log(&self) -> String {
        self.log.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn wait_log(&self, what: &str) {
        let ok = wait_until(STEP_LIMIT, Duration::from_millis(50), || {
            self.log().contains(what)
        });
        assert!(ok, "no {what:?} in run's output:\n{}", self.log());
    }

    fn signal(&self, signal: libc::c_int) {
        let pid = libc::pid_t::try_from(self.child.id()).expect("pid fits");
        // SAFETY: kill has no memory-safety preconditions; the pid is our own child's.
        assert_eq!(unsafe { libc::kill(pid, signal) }, 0);
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Both outputs of `child` collected into one log (each line also echoed).
fn collect(child: &mut Child) -> Arc<Mutex<String>> {
    let log = Arc::new(Mutex::new(String::new()));
    let out: Box<dyn std::io::Read + Send> = Box::new(child.stdout.take().expect("piped"));
    let err: Box<dyn std::io::Read + Send> = Box::new(child.stderr.take().expect("piped"));
    for stream in [out, err] {
        let sink = Arc::clone(&log);
        // Ends when the daemon closes its output (exits).
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines().map_while(Result::ok) {
                eprintln!("[run] {line}");
                let mut log = sink.lock().unwrap_or_else(|p| p.into_inner());
                log.push_str(&line);
                log.push('\n');
            }
        });
    }
    log
}

#[test]
fn a_non_root_daemon_with_the_documented_capabilities_attaches_answers_reloads() {
    const TEST: &str = "netns_privilege::a_non_root_daemon_with_the_documented_capabilities_attaches_answers_reloads";
    skip_unless_root!(TEST, tool "setpriv" from "util-linux");
    let bin = &lwm2m_xdp_bin();
    let pair = NetnsPair::new("priv").expect("netns pair");
    // The probe's UDP checksums complete in software (ARCHITECTURE.md, traps).
    peers::client_tx_checksums_off(&pair).expect("client checksums off");
    let scratch = ScratchDir::new("priv").expect("scratch dir");
    std::fs::set_permissions(scratch.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let uri1 = format!("coaps://{}:5684", pair.ipv4(Side::Server));
    let uri2 = format!("coaps://{}:5685", pair.ipv4(Side::Server));
    let file = scratch
        .write("lwm2m-xdp.toml", &config(&pair, &uri1))
        .unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let notify = Notify::bind(&scratch.path().join("notify.sock"));

    let caps = setpriv_caps(TO_START);
    let instance = format!("priv-{}", std::process::id());
    let script = format!(
        "mkdir -p /run/lwm2m-xdp && mount -t tmpfs -o mode=0755 lwm2m-xdp-test /run/lwm2m-xdp \
         && chown {UID}:{UID} /run/lwm2m-xdp \
         && exec setpriv --reuid={UID} --regid={UID} --clear-groups \
            --inh-caps=-all,{caps} --ambient-caps=-all,{caps} --bounding-set=-all,{caps} \
            \"$@\""
    );
    let mut child = pair
        .command(
            Side::Server,
            &[
                "sh",
                "-c",
                &script,
                "lwx-priv",
                bin,
                "run",
                "--config",
                file.to_str().unwrap(),
                "--instance",
                &instance,
            ],
        )
        .env("NOTIFY_SOCKET", scratch.path().join("notify.sock"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start run under setpriv");
    let log = collect(&mut child);
    let daemon = Daemon { child, log };
    let pid = daemon.child.id();

    // READY=1 comes once attached and the capabilities are dropped.
    let ready = notify
        .until("READY=1", ATTACH_LIMIT)
        .unwrap_or_else(|seen| {
            panic!(
                "no READY=1 within {ATTACH_LIMIT:?} from run as uid {UID} ({seen:?}):\n{}",
                daemon.log()
            )
        });
    daemon.wait_log("capabilities kept after start-up: cap_net_bind_service");
    daemon.wait_log("relay: DHCPv4 on");
    let uid_line = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap()
        .lines()
        .find(|l| l.starts_with("Uid:"))
        .map(str::to_owned)
        .unwrap();
    assert!(
        uid_line
            .split_whitespace()
            .skip(1)
            .all(|u| u == UID.to_string()),
        "not running as {UID}: {uid_line}"
    );
    let kept = mask(KEPT);
    let started_with = mask(TO_START);
    let sets = thread_caps(pid);
    assert!(!sets.is_empty(), "no capability lines for pid {pid}");
    for (task, set, value) in &sets {
        match set.as_str() {
            "CapPrm" | "CapEff" => assert_eq!(*value, kept, "{set} of thread {task}: {value:#x}"),
            "CapInh" | "CapAmb" => assert_eq!(*value, 0, "{set} of thread {task}: {value:#x}"),
            // Without CAP_SETPCAP it cannot shrink its bounding set: it stays what it got.
            "CapBnd" => assert_eq!(*value, started_with, "{set} of thread {task}: {value:#x}"),
            _ => {}
        }
    }
    let link = pair.exec(
        Side::Server,
        &["ip", "link", "show", "dev", &pair.server_if],
    );
    assert!(
        String::from_utf8_lossy(&link.stdout).contains("xdpgeneric"),
        "not attached: {}",
        String::from_utf8_lossy(&link.stdout)
    );
    assert_eq!(
        probe_uri(&pair, bin, STEP_LIMIT),
        Ok(uri1.clone()),
        "answered with the first config"
    );

    // A reload (new URI) with only CAP_NET_BIND_SERVICE left.
    std::fs::write(&file, config(&pair, &uri2)).unwrap();
    daemon.signal(libc::SIGHUP);
    let reload = notify
        .until("READY=1", STEP_LIMIT)
        .unwrap_or_else(|seen| panic!("no READY=1 after SIGHUP ({seen:?}):\n{}", daemon.log()));
    assert!(
        reload.iter().any(|m| m.lines().any(|l| l == "RELOADING=1")),
        "no RELOADING=1 before READY=1: {reload:?}"
    );
    daemon.wait_log("reloaded");
    let mut last = Err(String::new());
    let answered = wait_until(STEP_LIMIT, Duration::from_millis(200), || {
        last = probe_uri(&pair, bin, STEP_LIMIT);
        last.as_deref() == Ok(uri2.as_str())
    });
    assert!(answered, "after the reload: {last:?}\n{}", daemon.log());

    let mut daemon = daemon;
    daemon.signal(libc::SIGTERM);
    let stopping = notify.until("STOPPING=1", STEP_LIMIT);
    assert!(
        stopping.is_ok(),
        "no STOPPING=1 after SIGTERM: {stopping:?}"
    );
    let status = wait_child(&mut daemon.child, STEP_LIMIT)
        .expect("wait")
        .expect("run exits");
    assert_eq!(
        status.code(),
        Some(0),
        "run after SIGTERM: {status}\n{}",
        daemon.log()
    );
    let link = pair.exec(
        Side::Server,
        &["ip", "link", "show", "dev", &pair.server_if],
    );
    assert!(
        !String::from_utf8_lossy(&link.stdout).contains("xdp"),
        "still attached after exit"
    );
    assert!(
        ready
            .iter()
            .any(|m| m.contains("STATUS=serving generation 1")),
        "{ready:?}"
    );
}

#[test]
fn systemd_analyze_verify_accepts_the_unit() {
    const TEST: &str = "netns_privilege::systemd_analyze_verify_accepts_the_unit";
    if !require_tool(TEST, "systemd-analyze", "systemd") {
        return;
    }
    let unit = Path::new(env!("CARGO_MANIFEST_DIR")).join("../packaging/lwm2m-xdp.service");
    let text = std::fs::read_to_string(&unit).expect("packaging/lwm2m-xdp.service");
    // verify wants ExecStart's binary to exist: point a copy at the one under test. The
    // package test verifies the installed unit as shipped.
    let scratch = ScratchDir::new("unit").expect("scratch dir");
    let copy = scratch
        .write(
            "lwm2m-xdp.service",
            &text.replace("/usr/bin/lwm2m-xdp", &lwm2m_xdp_bin()),
        )
        .unwrap();
    let out = bounded(
        Duration::from_secs(30),
        "systemd-analyze",
        &["verify", "--man=no", copy.to_str().unwrap()],
    )
    .output()
    .expect("systemd-analyze");
    let mut said = String::from_utf8_lossy(&out.stderr).into_owned();
    let _ = (&out.stdout[..]).read_to_string(&mut said);
    // verify exits 0 on unknown keys and bad values (it only warns): any output fails.
    assert!(
        out.status.success() && said.trim().is_empty(),
        "systemd-analyze verify: {}\n{said}",
        out.status
    );
    for key in [
        "Type=notify",
        "User=lwm2m-xdp",
        "AmbientCapabilities=",
        "CapabilityBoundingSet=",
        "ExecReload=",
        "NoNewPrivileges=yes",
    ] {
        assert!(text.contains(key), "the unit has no {key}");
    }
    // The unit grants exactly what the daemon needs to start.
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("AmbientCapabilities="))
        .unwrap();
    let mut granted: Vec<&str> = line.split_whitespace().collect();
    granted.sort();
    let mut needed: Vec<String> = TO_START.iter().map(|c| c.to_string()).collect();
    needed.sort();
    assert_eq!(
        granted, needed,
        "AmbientCapabilities vs privilege::TO_START"
    );
}
