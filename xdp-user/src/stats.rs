//! Counters of a running instance: the kernel's (read through the counters map) and the
//! relay's (kept by the daemon), printed as text, JSON or Prometheus exposition text.
//!
//! The daemon reads both through a [`Source`] and hands them out as JSON on its control
//! socket (`statistics`); `lwm2m-xdp stats` reads them back with [`Statistics::from_json`].

use std::os::fd::AsFd as _;

use anyhow::{Context as _, Result};
use aya::maps::{IterableMap as _, Map, MapData, PerCpuArray};
use prometheus::{Encoder as _, IntCounterVec, Opts, Registry, TextEncoder};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map as JsonMap, Value};
use xdp_common::{
    counters::{reason_index, Reason, REASON_COUNT, REASON_NAMES, SEEN_NAMES},
    maps::{Family, MAP_COUNTERS},
};

use crate::{
    datapath::{read_counters, sum_counters, Datapath},
    relay::{self, FamilySnapshot},
};

/// Counters summed over CPUs, read through the counters map's kernel ID.
pub fn read_by_id(map_id: u32) -> Result<Vec<u64>> {
    let data = MapData::from_id(map_id).with_context(|| {
        format!("opening counters map id {map_id} (needs root or CAP_SYS_ADMIN)")
    })?;
    let mut map = Map::from_map_data(data)?;
    read_counters(&mut map)
}

const FAMILIES: [(Family, &str); 2] = [(Family::V4, "v4"), (Family::V6, "v6")];

fn reason(index: u32) -> Reason {
    // SAFETY: Reason is repr(u32) with values 0..REASON_COUNT, and index < REASON_COUNT.
    assert!(index < REASON_COUNT);
    unsafe { core::mem::transmute::<u32, Reason>(index) }
}

/// What the relay did, per family (zero when it never ran).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RelayCounters {
    pub v4: FamilySnapshot,
    pub v6: FamilySnapshot,
}

impl From<&relay::CountersHandle> for RelayCounters {
    fn from(handle: &relay::CountersHandle) -> Self {
        let (v4, v6) = handle.snapshot();
        RelayCounters { v4, v6 }
    }
}

/// Everything `stats` shows: the kernel's counters (indexed as xdp_common::counters says)
/// and the relay's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Statistics {
    pub kernel: Vec<u64>,
    pub relay: RelayCounters,
}

/// The relay's counter names, in the order of `stats` and `stats --json`.
const RELAY_NAMES: [&str; 5] = [
    "forwarded",
    "relayed",
    "dropped",
    "malformed",
    "send_errors",
];

fn relay_values(s: &FamilySnapshot) -> [u64; 5] {
    [
        s.forwarded,
        s.relayed,
        s.dropped,
        s.malformed,
        s.send_errors,
    ]
}

impl Statistics {
    /// `{"frames": .., ..., "v4": {...}, "v6": {...}, "relay": {"v4": {...}, "v6": {...}}}`
    pub fn to_json(&self) -> Value {
        let mut top = to_json(&self.kernel);
        let family = |s: &FamilySnapshot| {
            let names = RELAY_NAMES.iter().map(|n| n.to_string());
            Value::Object(names.zip(relay_values(s).map(Value::from)).collect())
        };
        top["relay"] = json!({ "v4": family(&self.relay.v4), "v6": family(&self.relay.v6) });
        top
    }

    /// Back from [`Statistics::to_json`] (what the control socket's `statistics` carries).
    pub fn from_json(json: &Value) -> Result<Statistics> {
        let relay = json
            .get("relay")
            .context("statistics without relay counters")?;
        Ok(Statistics {
            kernel: from_json(json)?,
            relay: serde_json::from_value(relay.clone())
                .context("statistics with malformed relay counters")?,
        })
    }

    pub fn to_text(&self) -> String {
        let mut out = to_text(&self.kernel);
        out += &format!("{:<26} {:>14} {:>14}\n", "relay", "dhcpv4", "dhcpv6");
        let (v4, v6) = (relay_values(&self.relay.v4), relay_values(&self.relay.v6));
        for (i, name) in RELAY_NAMES.iter().enumerate() {
            out += &format!("{name:<26} {:>14} {:>14}\n", v4[i], v6[i]);
        }
        out
    }

    /// Prometheus text format 0.0.4, HELP and TYPE for every family.
    pub fn to_prometheus(&self) -> Result<String> {
        let registry = Registry::new();
        let counter = |name: &str, help: &str, labels: &[&str]| -> Result<IntCounterVec> {
            let c = IntCounterVec::new(Opts::new(name, help), labels)?;
            registry.register(Box::new(c.clone()))?;
            Ok(c)
        };
        let frames = counter(
            "lwm2m_xdp_frames_total",
            "Frames the XDP program looked at, by kind (frames counts all).",
            &["kind"],
        )?;
        for (i, name) in SEEN_NAMES.iter().enumerate() {
            frames.with_label_values(&[*name]).inc_by(self.kernel[i]);
        }
        let requests = counter(
            "lwm2m_xdp_requests_total",
            "DHCP requests to the server port seen by the XDP program (outcome received), \
             and what became of each: answered, passed on by reason, or not answered.",
            &["family", "outcome"],
        )?;
        for (family, key) in FAMILIES {
            for (i, name) in REASON_NAMES.iter().enumerate() {
                let value = self.kernel[reason_index(family, reason(i as u32)) as usize];
                requests.with_label_values(&[key, *name]).inc_by(value);
            }
        }
        let relayed = counter(
            "lwm2m_xdp_relay_messages_total",
            "Slow-path relay: requests forwarded to the servers, answers relayed to clients, \
             well-formed datagrams dropped, malformed datagrams.",
            &["family", "outcome"],
        )?;
        let send_errors = counter(
            "lwm2m_xdp_relay_send_errors_total",
            "Slow-path relay: failed sends, one per destination.",
            &["family"],
        )?;
        for (snapshot, key) in [(&self.relay.v4, "v4"), (&self.relay.v6, "v6")] {
            let values = relay_values(snapshot);
            for (name, value) in RELAY_NAMES.iter().zip(values).take(4) {
                relayed.with_label_values(&[key, *name]).inc_by(value);
            }
            send_errors.with_label_values(&[key]).inc_by(values[4]);
        }
        let mut out = Vec::new();
        TextEncoder::new().encode(&registry.gather(), &mut out)?;
        Ok(String::from_utf8(out)?)
    }
}

/// The kernel's counters: `{"frames": .., ..., "v4": {"received": .., ...}, "v6": {...}}`
pub fn to_json(values: &[u64]) -> Value {
    let mut top = JsonMap::new();
    for (i, name) in SEEN_NAMES.iter().enumerate() {
        top.insert(name.to_string(), json!(values[i]));
    }
    for (family, key) in FAMILIES {
        let mut fam = JsonMap::new();
        for (i, name) in REASON_NAMES.iter().enumerate() {
            fam.insert(
                name.to_string(),
                json!(values[reason_index(family, reason(i as u32)) as usize]),
            );
        }
        top.insert(key.to_string(), Value::Object(fam));
    }
    Value::Object(top)
}

/// The kernel's counters back from [`to_json`].
pub fn from_json(json: &Value) -> Result<Vec<u64>> {
    let mut values = vec![0u64; xdp_common::counters::COUNTERS_LEN as usize];
    let number = |v: Option<&Value>, what: &str| {
        v.and_then(Value::as_u64)
            .with_context(|| format!("statistics without a numeric {what}"))
    };
    for (i, name) in SEEN_NAMES.iter().enumerate() {
        values[i] = number(json.get(name), name)?;
    }
    for (family, key) in FAMILIES {
        for (i, name) in REASON_NAMES.iter().enumerate() {
            values[reason_index(family, reason(i as u32)) as usize] = number(
                json.get(key).and_then(|f| f.get(name)),
                &format!("{key}.{name}"),
            )?;
        }
    }
    Ok(values)
}

/// The kernel's counters as a table.
pub fn to_text(values: &[u64]) -> String {
    let mut out = String::new();
    for (i, name) in SEEN_NAMES.iter().enumerate() {
        out += &format!("{name:<26} {}\n", values[i]);
    }
    out += &format!("{:<26} {:>14} {:>14}\n", "", "dhcpv4", "dhcpv6");
    for (i, name) in REASON_NAMES.iter().enumerate() {
        let r = reason(i as u32);
        out += &format!(
            "{name:<26} {:>14} {:>14}\n",
            values[reason_index(Family::V4, r) as usize],
            values[reason_index(Family::V6, r) as usize]
        );
    }
    out
}

/// The daemon's view of its counters: its own descriptor of the counters map (reading
/// through it needs no capability, unlike opening the map by ID) and the relay's counters.
pub struct Source {
    counters: Map,
    counters_map_id: u32,
    relay: relay::CountersHandle,
}

impl Source {
    pub fn new(dp: &mut Datapath, relay: &relay::Relay) -> Result<Source> {
        let map = dp
            .ebpf()
            .map(MAP_COUNTERS)
            .with_context(|| format!("map {MAP_COUNTERS} missing from the object"))?;
        let array: PerCpuArray<&MapData, u64> = PerCpuArray::try_from(map)?;
        let fd = array
            .map()
            .fd()
            .as_fd()
            .try_clone_to_owned()
            .context("duplicating the counters map descriptor")?;
        let data = MapData::from_fd(fd)?;
        Ok(Source {
            counters_map_id: data.info()?.id(),
            counters: Map::from_map_data(data)?,
            relay: relay.counters_handle(),
        })
    }

    /// The counters map's kernel ID (what `stats` opens).
    pub fn counters_map_id(&self) -> u32 {
        self.counters_map_id
    }

    pub fn read(&self) -> Result<Statistics> {
        let array: PerCpuArray<&MapData, u64> = PerCpuArray::try_from(&self.counters)?;
        let kernel = sum_counters(&array)?;
        Ok(Statistics {
            kernel,
            relay: RelayCounters::from(&self.relay),
        })
    }

    pub fn relay(&self) -> RelayCounters {
        RelayCounters::from(&self.relay)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use xdp_common::counters::COUNTERS_LEN;

    fn sample() -> Statistics {
        let kernel = (0..COUNTERS_LEN as u64).map(|i| i * 10 + 1).collect();
        let family = |base: u64| FamilySnapshot {
            forwarded: base + 1,
            relayed: base + 2,
            dropped: base + 3,
            malformed: base + 4,
            send_errors: base + 5,
        };
        Statistics {
            kernel,
            relay: RelayCounters {
                v4: family(100),
                v6: family(200),
            },
        }
    }

    #[test]
    fn json_carries_kernel_and_relay_counters() {
        let s = sample();
        let json = s.to_json();
        assert_eq!(json["frames"], 1);
        let answered = reason_index(Family::V6, Reason::Answered) as u64;
        assert_eq!(json["v6"]["answered"], answered * 10 + 1);
        assert_eq!(json["relay"]["v4"]["forwarded"], 101);
        assert_eq!(json["relay"]["v6"]["send_errors"], 205);
        assert_eq!(json["relay"]["v4"].as_object().unwrap().len(), 5);
    }

    #[test]
    fn text_has_a_relay_table() {
        let text = sample().to_text();
        let line = text.lines().find(|l| l.starts_with("relayed")).unwrap();
        assert_eq!(
            line.split_whitespace().collect::<Vec<_>>(),
            ["relayed", "102", "202"]
        );
    }

    #[test]
    fn prometheus_text_has_help_type_and_every_counter() {
        let s = sample();
        let text = s.to_prometheus().unwrap();
        for family in [
            "lwm2m_xdp_frames_total",
            "lwm2m_xdp_requests_total",
            "lwm2m_xdp_relay_messages_total",
            "lwm2m_xdp_relay_send_errors_total",
        ] {
            assert!(text.contains(&format!("# HELP {family} ")), "{text}");
            assert!(
                text.contains(&format!("# TYPE {family} counter\n")),
                "{text}"
            );
        }
        let received = reason_index(Family::V4, Reason::Received) as u64 * 10 + 1;
        assert!(text.contains(&format!(
            "lwm2m_xdp_requests_total{{family=\"v4\",outcome=\"received\"}} {received}\n"
        )));
        assert!(text
            .contains("lwm2m_xdp_relay_messages_total{family=\"v6\",outcome=\"relayed\"} 202\n"));
        assert!(text.contains("lwm2m_xdp_relay_send_errors_total{family=\"v4\"} 105\n"));
        let samples = text.lines().filter(|l| !l.starts_with('#')).count();
        let expected = SEEN_NAMES.len() + 2 * REASON_NAMES.len() + 2 * 4 + 2;
        assert_eq!(samples, expected, "{text}");
    }

    #[test]
    fn statistics_round_trip_through_json() {
        let s = sample();
        assert_eq!(Statistics::from_json(&s.to_json()).unwrap(), s);
        let mut partial = s.to_json();
        partial["v6"].as_object_mut().unwrap().remove("answered");
        let e = Statistics::from_json(&partial).unwrap_err().to_string();
        assert!(e.contains("v6.answered"), "{e}");
        let mut no_relay = s.to_json();
        no_relay.as_object_mut().unwrap().remove("relay");
        assert!(Statistics::from_json(&no_relay).is_err());
    }
}
