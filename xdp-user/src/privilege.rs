//! Least privilege: what `run` needs to start, and the few capabilities it keeps once it has
//! started (README, "Capabilities"; measured on kernel 6.18 with
//! kernel.unprivileged_bpf_disabled = 2).
//!
//! Capabilities are per thread: [`drop_after_start`] runs while the daemon has one thread
//! (the current-thread tokio runtime), so no thread keeps more.

use anyhow::{bail, Context as _, Result};
use caps::{CapSet, Capability, CapsHashSet};
use log::info;

/// To start: load the program and create its maps (CAP_BPF), have the verifier accept its
/// packet pointer arithmetic ("pointer arithmetic with it prohibited for !root" without
/// CAP_PERFMON), attach XDP to interfaces (CAP_NET_ADMIN), and bind the relay's ports 67 and
/// 547 (CAP_NET_BIND_SERVICE, only with `slow_path.mode = "relay"`).
pub const TO_START: &[Capability] = &[
    Capability::CAP_BPF,
    Capability::CAP_NET_ADMIN,
    Capability::CAP_NET_BIND_SERVICE,
    Capability::CAP_PERFMON,
];

/// Kept after start-up: only CAP_NET_BIND_SERVICE, for a relay that a reload starts or moves
/// (its sockets bind 67 and 547; SO_BINDTODEVICE on an unbound socket needs nothing since
/// Linux 5.7). Measured on 6.18: everything else a reload or the exit does needs no
/// capability. Attaching a new interface is BPF_LINK_CREATE with the program's descriptor
/// (the kernel checked CAP_NET_ADMIN when the program was loaded, not again); map writes and
/// reads go through descriptors already held (since 6.5 the bpf() syscall has no blanket
/// CAP_BPF check); detaching closes a link; netlink queries and notifications are
/// unprivileged. A change that needs more after start-up adds it here, with a test.
pub const KEPT: &[Capability] = &[Capability::CAP_NET_BIND_SERVICE];

/// Threads of this process.
fn threads() -> Result<usize> {
    Ok(std::fs::read_dir("/proc/self/task")
        .context("reading /proc/self/task")?
        .count())
}

/// Reduces the permitted and effective sets to [`KEPT`] (those of them the process has),
/// empties the inheritable and ambient sets, and, when the process may (CAP_SETPCAP),
/// the bounding set too. Returns what is kept.
pub fn drop_after_start() -> Result<CapsHashSet> {
    let n = threads()?;
    if n != 1 {
        bail!("dropping capabilities needs a single-threaded process, this one has {n} threads: the other threads would keep theirs");
    }
    let permitted = caps::read(None, CapSet::Permitted).context("reading capabilities")?;
    let keep: CapsHashSet = KEPT
        .iter()
        .copied()
        .filter(|c| permitted.contains(c))
        .collect();
    if caps::has_cap(None, CapSet::Effective, Capability::CAP_SETPCAP)? {
        for cap in caps::all().difference(&keep) {
            caps::drop(None, CapSet::Bounding, *cap)
                .with_context(|| format!("dropping {cap} from the bounding set"))?;
        }
    }
    caps::clear(None, CapSet::Ambient).context("clearing the ambient set")?;
    caps::clear(None, CapSet::Inheritable).context("clearing the inheritable set")?;
    caps::set(None, CapSet::Effective, &keep).context("setting the effective set")?;
    caps::set(None, CapSet::Permitted, &keep).context("setting the permitted set")?;
    info!("capabilities kept after start-up: {}", names(&keep));
    Ok(keep)
}

/// `cap_bpf, cap_net_admin` (sorted), or `none`.
pub fn names(set: &CapsHashSet) -> String {
    let mut list: Vec<String> = set.iter().map(|c| c.to_string().to_lowercase()).collect();
    list.sort();
    if list.is_empty() {
        "none".to_owned()
    } else {
        list.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kept_is_a_subset_of_what_start_needs() {
        assert!(KEPT.iter().all(|c| TO_START.contains(c)));
        for dropped in [
            Capability::CAP_BPF,
            Capability::CAP_PERFMON,
            Capability::CAP_SYS_ADMIN,
        ] {
            assert!(!KEPT.contains(&dropped), "{dropped}");
        }
    }

    #[test]
    fn names_are_sorted_lower_case() {
        let set: CapsHashSet = [Capability::CAP_NET_ADMIN, Capability::CAP_BPF]
            .into_iter()
            .collect();
        assert_eq!(names(&set), "cap_bpf, cap_net_admin");
        assert_eq!(names(&CapsHashSet::new()), "none");
    }
}
