//! `lwm2m-xdp run` on the server end of a [`NetnsPair`], as the namespace tests drive it:
//! started and waited for (its counters readable), its stderr echoed and kept, reloaded with
//! SIGHUP, read with `stats --json`, and stopped with SIGINT (exit 0, no program left).

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use serde_json::Value;

use crate::{lwm2m_xdp_bin, text, wait_child, wait_until, NetnsPair, PinDir, Side};

/// From start to the first successful `stats`: loading, verifying and attaching.
pub const ATTACH_LIMIT: Duration = Duration::from_secs(15);
/// From SIGINT to exit: detaching is a few syscalls.
pub const EXIT_LIMIT: Duration = Duration::from_secs(10);
/// How long a counter or log line may take to show what just happened.
pub const COUNT_LIMIT: Duration = Duration::from_secs(5);

/// The bootstrap URI `lwm2m-xdp probe` gets from the client end of `pair` (a DHCPINFORM for
/// the URI and the certificate), or what it said instead; it gives up after `limit`.
pub fn probe_uri(pair: &NetnsPair, bin: &str, limit: Duration) -> Result<String, String> {
    probe_uri_with(pair, bin, limit, &[])
}

/// [`probe_uri`] with more probe arguments (e.g. `--v6`).
pub fn probe_uri_with(
    pair: &NetnsPair,
    bin: &str,
    limit: Duration,
    args: &[&str],
) -> Result<String, String> {
    let mut all = vec![
        bin,
        "probe",
        "--interface",
        &pair.client_if,
        "--timeout",
        "2",
    ];
    all.extend_from_slice(args);
    let out = pair.exec_within(Side::Client, limit, &all);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let said = || format!("{stdout}{}", String::from_utf8_lossy(&out.stderr));
    if !out.status.success() {
        return Err(said());
    }
    stdout
        .lines()
        .find_map(|l| {
            l.strip_prefix("bootstrap URI:")
                .map(|u| u.trim().to_owned())
        })
        .ok_or_else(said)
}

pub struct Running<'a> {
    pair: &'a NetnsPair,
    bin: String,
    pins: PinDir,
    config: PathBuf,
    child: Child,
    log: Arc<Mutex<String>>,
    reader: Option<JoinHandle<()>>,
}

impl<'a> Running<'a> {
    /// Starts `run --config config` (with `env` added) and waits until `stats` reads its
    /// counters: attached.
    pub fn start(
        pair: &'a NetnsPair,
        config: PathBuf,
        tag: &str,
        env: &[(&str, &str)],
    ) -> Running<'a> {
        Self::start_with_args(pair, config, tag, env, &[])
    }

    /// [`Running::start`] with more arguments for `run` (`--metrics ADDR`).
    pub fn start_with_args(
        pair: &'a NetnsPair,
        config: PathBuf,
        tag: &str,
        env: &[(&str, &str)],
        args: &[&str],
    ) -> Running<'a> {
        let bin = lwm2m_xdp_bin();
        let pins = PinDir::new(tag);
        let config_arg = config.to_str().expect("UTF-8 path");
        let mut argv = vec![
            bin.as_str(),
            "run",
            "--config",
            config_arg,
            "--pin-dir",
            pins.arg(),
        ];
        argv.extend_from_slice(args);
        let mut command = pair.command(Side::Server, &argv);
        command.envs(env.iter().copied());
        let mut child = command
            .stdin(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start lwm2m-xdp run");
        let stderr = child.stderr.take().expect("piped");
        let log = Arc::new(Mutex::new(String::new()));
        let sink = Arc::clone(&log);
        // Ends when `run` closes stderr (exits); bounded by the process's life.
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                eprintln!("[run] {line}");
                let mut log = sink.lock().unwrap_or_else(|p| p.into_inner());
                log.push_str(&line);
                log.push('\n');
            }
        });
        let mut running = Running {
            pair,
            bin,
            pins,
            config,
            child,
            log,
            reader: Some(reader),
        };
        let mut last = None;
        let attached = wait_until(ATTACH_LIMIT, Duration::from_millis(100), || {
            if let Some(status) = running.child.try_wait().expect("try_wait") {
                panic!(
                    "`lwm2m-xdp run` exited before attaching ({status}):\n{}",
                    running.log()
                );
            }
            let out = running.stats_output();
            let ok = out.status.success();
            last = Some(out);
            ok
        });
        assert!(
            attached,
            "`stats --json` never succeeded within {ATTACH_LIMIT:?}: {}",
            last.map(|o| text(&o.stderr)).unwrap_or_default()
        );
        running
    }

    /// The process id of `run` (to read its /proc entries).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The instance name (the pin directory's last component): its control socket's name.
    pub fn instance(&self) -> String {
        self.pins.instance()
    }

    /// Everything `run` wrote to stderr so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Polls the log until `ready` holds; panics after [`COUNT_LIMIT`].
    pub fn wait_log(&self, what: &str, ready: impl Fn(&str) -> bool) {
        let ok = wait_until(COUNT_LIMIT, Duration::from_millis(20), || {
            ready(&self.log())
        });
        assert!(ok, "expected {what} in run's log:\n{}", self.log());
    }

    pub fn stats_output(&self) -> Output {
        self.pair.exec_within(
            Side::Server,
            Duration::from_secs(10),
            &[&self.bin, "stats", "--json", "--pin-dir", self.pins.arg()],
        )
    }

    pub fn stats(&self) -> Value {
        let out = self.stats_output();
        assert!(
            out.status.success(),
            "stats --json failed: {}",
            text(&out.stderr)
        );
        serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("stats --json is not JSON ({e}): {}", text(&out.stdout)))
    }

    /// Polls the counters until `ready` holds (for at most [`COUNT_LIMIT`]); the last read.
    pub fn wait_stats(&self, what: &str, ready: impl Fn(&Value) -> bool) -> Value {
        let mut seen = Value::Null;
        let ok = wait_until(COUNT_LIMIT, Duration::from_millis(100), || {
            seen = self.stats();
            ready(&seen)
        });
        assert!(ok, "expected {what}; stats: {seen}");
        seen
    }

    /// Writes a new config, sends SIGHUP and waits for `run` to say it reloaded.
    pub fn reload(&self, contents: &str) {
        let before = self.log().matches("reloaded").count();
        std::fs::write(&self.config, contents).expect("write the new config");
        self.signal(libc::SIGHUP);
        self.wait_log("\"reloaded\" after SIGHUP", |log| {
            log.matches("reloaded").count() > before
        });
    }

    fn signal(&self, signal: libc::c_int) {
        let pid = libc::pid_t::try_from(self.child.id()).expect("pid fits pid_t");
        // SAFETY: kill has no memory-safety preconditions; the pid is our own child's.
        assert_eq!(
            unsafe { libc::kill(pid, signal) },
            0,
            "signal {signal} to run"
        );
    }

    /// SIGINT: `run` must exit 0 and leave no program on the link. Returns its whole log.
    pub fn stop(mut self) -> String {
        self.signal(libc::SIGINT);
        let status = wait_child(&mut self.child, EXIT_LIMIT).expect("wait for run");
        let status =
            status.unwrap_or_else(|| panic!("`run` still running {EXIT_LIMIT:?} after SIGINT"));
        // `run` has exited, so its stderr is closed and the reader ends: the log is complete.
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
        assert_eq!(
            status.code(),
            Some(0),
            "`run` after SIGINT: {status}\n{}",
            self.log()
        );
        let link = self.pair.exec(
            Side::Server,
            &["ip", "link", "show", "dev", &self.pair.server_if],
        );
        assert!(
            !text(&link.stdout).contains("xdp"),
            "a program is still attached after exit: {}",
            text(&link.stdout)
        );
        self.log()
    }
}

impl Drop for Running<'_> {
    /// A failed test still stops `run` (the pair's Drop would too, with TERM).
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let pid = self.child.id() as libc::pid_t;
            // SAFETY: as in `signal`; a failure here only leaves the pair's Drop to stop it.
            unsafe { libc::kill(pid, libc::SIGINT) };
            if !matches!(wait_child(&mut self.child, EXIT_LIMIT), Ok(Some(_))) {
                let _ = self.child.kill();
                let _ = self.child.wait();
            }
        }
    }
}

/// `stats["v4"]["answered"]` and the like.
pub fn count(stats: &Value, family: &str, name: &str) -> u64 {
    stats
        .get(family)
        .and_then(|f| f.get(name))
        .and_then(Value::as_u64)
        .unwrap_or_else(|| panic!("no numeric {family}.{name} in stats --json: {stats}"))
}

/// A top-level counter of `stats --json` (frames, udp, vlan_tagged, ...).
pub fn top(stats: &Value, name: &str) -> u64 {
    stats
        .get(name)
        .and_then(Value::as_u64)
        .unwrap_or_else(|| panic!("no numeric {name} in stats --json: {stats}"))
}
