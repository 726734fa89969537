//! Commands and waits that cannot hang a test run.

use std::ffi::OsStr;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _, Result};

/// Grace between the TERM that `timeout` sends at the limit and its KILL.
const KILL_AFTER: &str = "--kill-after=5";

/// `program args...` under coreutils `timeout`: killed after `limit` (exit status 124 then).
pub fn bounded<P: AsRef<OsStr>, A: AsRef<OsStr>>(
    limit: Duration,
    program: P,
    args: &[A],
) -> Command {
    let mut cmd = Command::new("timeout");
    cmd.arg(KILL_AFTER)
        .arg(format!("{}s", limit.as_secs().max(1)))
        .arg(program)
        .args(args);
    cmd
}

/// [`bounded`] `program args...`, stdin null, output captured; an error with its stderr
/// unless it exits 0.
pub fn run_checked(limit: Duration, program: &str, args: &[&str]) -> Result<Output> {
    let out = bounded(limit, program, args)
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("cannot run `timeout {program}` (coreutils)"))?;
    if !out.status.success() {
        bail!(
            "`{program} {}` failed ({}): {}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(out)
}

/// Polls `ready` every `every` until it returns true or `limit` has passed; whether it did.
pub fn wait_until(limit: Duration, every: Duration, mut ready: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if ready() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(every);
    }
}

/// Stops our own `child` if it still runs: SIGTERM, at most `limit` for it to exit, then
/// SIGKILL; reaped either way. Never panics (for Drop).
pub fn stop_child(child: &mut Child, limit: Duration) {
    if !matches!(child.try_wait(), Ok(None)) {
        return;
    }
    if let Ok(pid) = libc::pid_t::try_from(child.id()) {
        // SAFETY: no memory-safety preconditions; the pid is our own child's.
        unsafe { libc::kill(pid, libc::SIGTERM) };
    }
    if !matches!(wait_child(child, limit), Ok(Some(_))) {
        let _ = child.kill();
        let _ = child.wait();
    }
}

/// Waits at most `limit` for `child` to exit; `None` if it is still running then.
pub fn wait_child(child: &mut Child, limit: Duration) -> std::io::Result<Option<ExitStatus>> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(Some(status));
        }
        if Instant::now() >= deadline {
            return Ok(None);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_kills_a_hung_command() {
        let started = Instant::now();
        let out = bounded(Duration::from_secs(1), "sleep", &["30"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(124));
        assert!(started.elapsed() < Duration::from_secs(10));
    }

    #[test]
    fn wait_until_gives_up() {
        assert!(!wait_until(
            Duration::from_millis(50),
            Duration::from_millis(10),
            || false
        ));
        let mut calls = 0;
        assert!(wait_until(
            Duration::from_secs(1),
            Duration::from_millis(1),
            || {
                calls += 1;
                calls == 3
            }
        ));
    }
}
