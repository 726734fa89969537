//! `run` follows its interfaces (issue 11): an attached interface deleted is logged and shown
//! `absent` in `status`; re-created with the same name it is attached again, in the mode the
//! config asks for, with new IFACES entries; address changes rewrite the entries of the
//! generation in force. Driven by the netlink watch (`system/watch.rs`); each batch of events
//! is followed by a fresh look at the system, so a lost event costs nothing but time.

use std::{
    collections::HashMap,
    time::{Duration, Instant, SystemTime},
};

use log::{info, warn};
use serde_json::{json, Value};
use xdp_common::maps::{IfaceConfig, IfaceKey};

use super::{
    attach::{attach, detach_attached, mode_name},
    install, interface_entries,
    journal::Pinning,
    Daemon,
};
use crate::{
    config::Config,
    system::{self, watch::Event},
};

/// Since when an interface's link is gone.
#[derive(Clone, Copy, Debug)]
struct Absence {
    /// The index it had.
    ifindex: u32,
    since: SystemTime,
    at: Instant,
}

/// The gaps of one configured interface.
#[derive(Clone, Debug, Default)]
struct History {
    absent: Option<Absence>,
    /// Gaps started (the current one included).
    gaps: u64,
    /// How long the last finished gap lasted.
    last_gap: Option<Duration>,
}

/// The gaps of every configured interface whose link has gone away at least once.
#[derive(Debug, Default)]
pub(super) struct Links {
    by_name: HashMap<String, History>,
}

impl Links {
    /// `name`'s link (index `ifindex`) is gone, from now.
    pub(super) fn went_away(&mut self, name: &str, ifindex: u32) {
        let history = self.by_name.entry(name.to_string()).or_default();
        if history.absent.is_none() {
            history.gaps += 1;
            history.absent = Some(Absence {
                ifindex,
                since: SystemTime::now(),
                at: Instant::now(),
            });
        }
    }

    /// `name` is attached again: the gap it ends, if it had one.
    pub(super) fn came_back(&mut self, name: &str) -> Option<Duration> {
        let history = self.by_name.get_mut(name)?;
        let gap = history.absent.take()?.at.elapsed();
        history.last_gap = Some(gap);
        Some(gap)
    }

    pub(super) fn is_absent(&self, name: &str) -> bool {
        self.by_name.get(name).is_some_and(|h| h.absent.is_some())
    }

    /// The interfaces whose link is gone.
    pub(super) fn absent(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .by_name
            .iter()
            .filter(|(_, h)| h.absent.is_some())
            .map(|(n, _)| n.clone())
            .collect();
        names.sort();
        names
    }

    /// Forgets the interfaces `cfg` no longer has.
    pub(super) fn keep_configured(&mut self, cfg: &Config) {
        self.by_name
            .retain(|name, _| cfg.interfaces.iter().any(|i| &i.name == name));
    }

    /// `cfg` without the interfaces whose link is gone: what can be looked up and served.
    pub(super) fn served(&self, cfg: &Config) -> Config {
        let mut served = cfg.clone();
        served.interfaces.retain(|i| !self.is_absent(&i.name));
        served
    }

    /// Adds `name`'s link fields to its `status` entry: `"link": "up"` or `"down"` (IFF_UP,
    /// asked of netlink) while attached; `"state": "absent"` with `absent_since_unix_ms`,
    /// `absent_for_ms` and the `ifindex` it had while its link is gone; `gaps` and
    /// `last_gap_ms` once it has had one.
    pub(super) fn annotate(&self, name: &str, entry: &mut Value) {
        if entry["state"] == "attached" {
            if let Ok(Some(link)) = system::netlink::link(name) {
                entry["link"] = json!(if link.up { "up" } else { "down" });
            }
        }
        let Some(history) = self.by_name.get(name) else {
            return;
        };
        entry["gaps"] = json!(history.gaps);
        if let Some(gap) = history.last_gap {
            entry["last_gap_ms"] = json!(millis(gap));
        }
        if let Some(absence) = history.absent {
            let since = absence
                .since
                .duration_since(SystemTime::UNIX_EPOCH)
                .unwrap_or_default();
            entry["state"] = json!("absent");
            entry["ifindex"] = json!(absence.ifindex);
            entry["absent_since_unix_ms"] = json!(millis(since));
            entry["absent_for_ms"] = json!(millis(absence.at.elapsed()));
        }
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// The octets of an IFACES value, to tell whether a rewrite changes anything.
fn value_bytes(value: &IfaceConfig) -> &[u8] {
    // SAFETY: IfaceConfig is aya::Pod: repr(C), every field plain octets, no padding
    // (xdp-common asserts its size is the sum of its fields).
    unsafe {
        std::slice::from_raw_parts(
            (value as *const IfaceConfig).cast::<u8>(),
            std::mem::size_of::<IfaceConfig>(),
        )
    }
}

/// Whether two entry tables hold the same keys and values, in any order.
pub(super) fn same_entries(a: &[(IfaceKey, IfaceConfig)], b: &[(IfaceKey, IfaceConfig)]) -> bool {
    a.len() == b.len()
        && a.iter().all(|(key, value)| {
            b.iter()
                .any(|(k, v)| k == key && value_bytes(v) == value_bytes(value))
        })
}

impl Daemon {
    /// After a batch of link/address events: detaches what lost its link, attaches again
    /// what got it back, and rewrites the interface entries of the generation in force when
    /// they changed (the path a reload takes: one flip of `ACTIVE`).
    pub(super) fn follow_links(&mut self, events: &[Event]) {
        let mut relinked = false;
        let attached: Vec<(String, u32)> = self
            .attached
            .iter()
            .map(|(n, a)| (n.clone(), a.ifindex))
            .collect();
        for (name, ifindex) in attached {
            match system::netlink::link(&name) {
                Ok(Some(link)) if link.index == ifindex => {}
                Ok(_) => {
                    self.lost(&name, ifindex);
                    relinked = true;
                }
                Err(e) => {
                    warn!("{name}: asking netlink for it failed ({e}); looking again at the next event");
                    return;
                }
            }
        }
        for name in self.links.absent() {
            if !system::link_exists(&name) {
                continue;
            }
            let Some((mode, fallback)) = self
                .cfg
                .interfaces
                .iter()
                .find(|i| i.name == name)
                .map(|i| (i.mode, i.fallback))
            else {
                continue;
            };
            let journal = self.journal(&[]);
            let pinning = Pinning::of(self.pins.as_ref(), journal.as_ref());
            match attach(&mut self.dp, pinning, &name, mode, fallback) {
                Ok(a) => {
                    let gap = self.links.came_back(&name).unwrap_or_default();
                    info!(
                        "{name}: back (ifindex {}), attached again ({} mode) after a gap of {} ms",
                        a.ifindex,
                        mode_name(a.mode),
                        millis(gap)
                    );
                    self.attached.insert(name, a);
                    relinked = true;
                }
                Err(e) => warn!("{name}: back, but cannot be attached again: {e:#}"),
            }
        }
        self.rewrite_entries(relinked, events);
        if relinked {
            self.relay.apply(&self.cfg);
            // What the instance holds changed (its links): tools read it from the state.
            if let Err(e) = self.write_state() {
                warn!("{e:#}");
            }
        }
    }

    /// `name`'s link (index `ifindex`) is gone: its XDP link went with it.
    fn lost(&mut self, name: &str, ifindex: u32) {
        if let Some(a) = self.attached.remove(name) {
            // The kernel detached them with the device; this only releases our side.
            if let Err(e) = detach_attached(&mut self.dp, self.pins.as_ref(), a) {
                log::debug!("{name}: releasing the links of a deleted device: {e}");
            }
        }
        self.links.went_away(name, ifindex);
        warn!(
            "{name} (ifindex {ifindex}) was deleted: not served until an interface of that name returns"
        );
    }

    /// Writes the served interfaces' entries as a new generation when they differ from the
    /// ones in force (always when `relinked`).
    fn rewrite_entries(&mut self, relinked: bool, events: &[Event]) {
        let served = self.links.served(&self.cfg);
        if served.interfaces.is_empty() {
            return; // nothing to serve; the stale entries name a device that is gone
        }
        let fresh = match interface_entries(&served) {
            Ok((entries, _)) => entries,
            Err(e) => {
                warn!("interface entries not rewritten: {e:#}");
                return;
            }
        };
        if !relinked && same_entries(&fresh, &self.installed) {
            return;
        }
        match install(&mut self.dp, &served, &self.compiled) {
            Ok((entries, _)) => {
                info!(
                    "interface entries rewritten ({} entries) after {}",
                    entries.len(),
                    describe(events)
                );
                self.installed = entries;
            }
            Err(e) => warn!("rewriting the interface entries failed: {e:#}"),
        }
    }
}

/// A short account of a batch of events, for the log.
fn describe(events: &[Event]) -> String {
    let (mut links, mut addresses, mut resync) = (0, 0, false);
    for event in events {
        match event {
            Event::Link { .. } => links += 1,
            Event::Address { .. } => addresses += 1,
            Event::Resync => resync = true,
        }
    }
    let mut text = format!("{links} link and {addresses} address events");
    if resync {
        text += " (some lost: resynchronised)";
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_gap_is_counted_once_and_shown_until_it_ends() {
        let mut links = Links::default();
        let mut entry = json!({"name": "eth0", "state": "not attached"});
        links.annotate("eth0", &mut entry);
        assert!(
            entry.get("gaps").is_none(),
            "no history, no gap fields: {entry}"
        );

        links.went_away("eth0", 7);
        links.went_away("eth0", 7); // a second look during the same gap
        assert!(links.is_absent("eth0"));
        assert_eq!(links.absent(), vec!["eth0".to_string()]);
        let mut entry = json!({"name": "eth0", "state": "not attached"});
        links.annotate("eth0", &mut entry);
        assert_eq!(entry["state"], "absent", "{entry}");
        assert_eq!(entry["gaps"], 1, "{entry}");
        assert_eq!(entry["ifindex"], 7, "{entry}");
        assert!(
            entry["absent_since_unix_ms"].as_u64().unwrap() > 0,
            "{entry}"
        );
        assert!(entry.get("last_gap_ms").is_none(), "{entry}");

        assert!(links.came_back("eth0").is_some());
        assert!(links.came_back("eth0").is_none(), "one gap ends once");
        assert!(!links.is_absent("eth0"));
        let mut entry = json!({"name": "eth0", "state": "attached", "ifindex": 9});
        links.annotate("eth0", &mut entry);
        assert_eq!(entry["state"], "attached", "{entry}");
        assert_eq!(entry["ifindex"], 9, "{entry}");
        assert_eq!(entry["gaps"], 1, "{entry}");
        assert!(entry["last_gap_ms"].is_u64(), "{entry}");
        assert!(entry.get("absent_since_unix_ms").is_none(), "{entry}");

        links.went_away("eth0", 9);
        let mut entry = json!({});
        links.annotate("eth0", &mut entry);
        assert_eq!(entry["gaps"], 2, "{entry}");
    }

    #[test]
    fn entries_compare_by_key_and_every_octet_of_the_value() {
        let key = |ifindex| IfaceKey {
            ifindex,
            outer_vlan: 0,
            inner_vlan: 0,
        };
        let sys = system::SystemInterface {
            name: "eth0".into(),
            ifindex: 2,
            mac: [2, 0, 0, 0, 0, 1],
            mtu: 1500,
            ipv4: Some([198, 18, 0, 1].into()),
            ipv6_link_local: None,
            ipv6_global: None,
        };
        let duid = crate::ifaces::duid_ll(sys.mac);
        let value =
            |ipv4: [u8; 4]| crate::ifaces::iface_config(&sys, Some(ipv4.into()), None, None, &duid);
        let a = vec![
            (key(2), value([198, 18, 0, 1])),
            (key(3), value([198, 18, 1, 1])),
        ];
        let reordered = vec![a[1], a[0]];
        assert!(same_entries(&a, &reordered));
        let readdressed = vec![(key(2), value([198, 18, 0, 9])), a[1]];
        assert!(!same_entries(&a, &readdressed));
        assert!(!same_entries(&a, &a[..1]));
        let moved = vec![(key(4), a[0].1), a[1]];
        assert!(!same_entries(&a, &moved));
    }
}
