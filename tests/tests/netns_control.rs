//! Instances are identified, never guessed (issue 11): `reload`, `stats`, `status` and
//! `detach` reach an instance only through its control socket, so a stale state file naming
//! a live unrelated process gets that process no signal, and they say the instance is not
//! running. A second `run` of a running instance is refused (the instance lock).

use lwm2m_xdp_tests::text;
use std::os::unix::net::UnixListener;
use std::process::{Command, Stdio};
use std::time::Duration;

use lwm2m_xdp_tests::{bounded, lwm2m_xdp_bin, skip_unless_root, wait_child, ScratchDir};

const STATE_DIR: &str = "/run/lwm2m-xdp";

/// Removes the files this test planted, also when it fails.
struct Planted(Vec<std::path::PathBuf>);

impl Drop for Planted {
    fn drop(&mut self) {
        for p in &self.0 {
            let _ = std::fs::remove_file(p);
        }
    }
}

#[test]
fn a_stale_state_file_naming_a_live_process_gets_it_no_signal() {
    skip_unless_root!("netns_control::a_stale_state_file_naming_a_live_process_gets_it_no_signal");
    let bin = &lwm2m_xdp_bin();
    let name = format!("lwx-{}-stale", std::process::id());
    std::fs::create_dir_all(STATE_DIR).unwrap();
    let state = format!("{STATE_DIR}/{name}.json");
    let socket = format!("{STATE_DIR}/{name}.sock");
    let planted = Planted(vec![state.clone().into(), socket.clone().into()]);

    // An unrelated live process (SIGHUP or SIGTERM would end it), named by a stale state
    // file as an old daemon would have left it after a crash and a pid reuse, next to the
    // socket file that daemon left (nobody listens on it any more).
    let mut victim = Command::new("sleep")
        .arg("60")
        .stdin(Stdio::null())
        .spawn()
        .expect("start sleep");
    let stale = serde_json::json!({
        "pid": victim.id(),
        "config": "/nonexistent/lwm2m-xdp.toml",
        "program_id": 1,
        "counters_map_id": 1,
        "interfaces": ["eth0"],
        "pin_dir": null,
    });
    std::fs::write(&state, stale.to_string()).unwrap();
    drop(UnixListener::bind(&socket).expect("bind the stale socket"));

    for command in ["reload", "stats", "status"] {
        let out = bounded(
            Duration::from_secs(20),
            bin,
            &[command, "--instance", &name],
        )
        .output()
        .expect("run lwm2m-xdp");
        assert_eq!(
            out.status.code(),
            Some(1),
            "{command}: {}",
            text(&out.stderr)
        );
        assert!(
            text(&out.stderr).contains(&format!("instance {name:?} is not running")),
            "{command} does not say the instance is not running: {}",
            text(&out.stderr)
        );
        assert!(
            victim.try_wait().unwrap().is_none(),
            "`{command}` signalled the unrelated process"
        );
    }
    let out = bounded(
        Duration::from_secs(20),
        bin,
        &["detach", "--instance", &name],
    )
    .output()
    .expect("run lwm2m-xdp");
    assert!(out.status.success(), "detach: {}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("is not running"),
        "detach does not say the instance is not running: {}",
        text(&out.stderr)
    );
    assert!(
        !std::path::Path::new(&state).exists(),
        "detach left the stale state file"
    );
    // Still alive a moment later: no signal is in flight to it.
    std::thread::sleep(Duration::from_millis(200));
    assert!(
        victim.try_wait().unwrap().is_none(),
        "`detach` signalled the unrelated process"
    );
    let _ = victim.kill();
    let _ = wait_child(&mut victim, Duration::from_secs(5));
    drop(planted);
}

#[test]
fn instance_names_are_checked_and_a_held_instance_is_not_started_twice() {
    skip_unless_root!(
        "netns_control::instance_names_are_checked_and_a_held_instance_is_not_started_twice"
    );
    let bin = &lwm2m_xdp_bin();
    for bad in ["../etc/passwd", "a/b", ".."] {
        let out = bounded(Duration::from_secs(20), bin, &["status", "--instance", bad])
            .output()
            .expect("run lwm2m-xdp");
        assert_eq!(out.status.code(), Some(1));
        assert!(
            text(&out.stderr).contains("no path separators"),
            "{bad:?}: {}",
            text(&out.stderr)
        );
    }
    // The lock, held by this test as a running daemon would hold it: `run` refuses before it
    // reads its config.
    let name = format!("lwx-{}-locked", std::process::id());
    let lock = format!("{STATE_DIR}/{name}.lock");
    std::fs::create_dir_all(STATE_DIR).unwrap();
    let _planted = Planted(vec![lock.clone().into()]);
    let file = std::fs::File::create(&lock).unwrap();
    // SAFETY: flock on a descriptor we own.
    assert_eq!(
        unsafe { libc::flock(std::os::fd::AsRawFd::as_raw_fd(&file), libc::LOCK_EX) },
        0
    );
    let scratch = ScratchDir::new("locked").unwrap();
    let config = scratch.write("c.toml", "[lwm2m]\n").unwrap();
    let out = bounded(
        Duration::from_secs(20),
        bin,
        &[
            "run",
            "--config",
            config.to_str().unwrap(),
            "--instance",
            &name,
        ],
    )
    .output()
    .expect("run lwm2m-xdp");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("is already running"),
        "{}",
        text(&out.stderr)
    );
}
