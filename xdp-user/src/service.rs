//! systemd's readiness protocol for `Type=notify` (packaging/lwm2m-xdp.service): READY=1 once
//! attached, RELOADING=1 ... READY=1 around a reload, STOPPING=1 when stopping. Nothing is sent
//! when NOTIFY_SOCKET is unset (not started by systemd).

use log::warn;
use sd_notify::NotifyState;

fn send(states: &[NotifyState]) {
    if let Err(e) = sd_notify::notify(states) {
        warn!("telling systemd {states:?}: {e}");
    }
}

/// Attached and serving (also after a reload, which ends with this).
pub fn ready(status: &str) {
    send(&[NotifyState::Ready, NotifyState::Status(status)]);
}

/// A reload begins. MONOTONIC_USEC lets `Type=notify-reload` (systemd >= 253) match it.
pub fn reloading() {
    match NotifyState::monotonic_usec_now() {
        Ok(now) => send(&[NotifyState::Reloading, now]),
        Err(_) => send(&[NotifyState::Reloading]),
    }
}

pub fn stopping() {
    send(&[NotifyState::Stopping]);
}
