//! Counters of a running instance: read by kernel map ID, printed as text, JSON or
//! Prometheus exposition text.

use anyhow::{Context as _, Result};
use aya::maps::{Map, MapData};
use serde_json::{json, Map as JsonMap, Value};
use xdp_common::{
    counters::{reason_index, Reason, REASON_COUNT, REASON_NAMES, SEEN_COUNT, SEEN_NAMES},
    maps::Family,
};

use crate::datapath::read_counters;

/// Counters summed over CPUs, read through the counters map's kernel ID.
pub fn read_by_id(map_id: u32) -> Result<Vec<u64>> {
    let data = MapData::from_id(map_id)
        .with_context(|| format!("opening counters map id {map_id} (needs root or CAP_BPF)"))?;
    let mut map = Map::from_map_data(data)?;
    read_counters(&mut map)
}

const FAMILIES: [(Family, &str); 2] = [(Family::V4, "v4"), (Family::V6, "v6")];

fn reason(index: u32) -> Reason {
    // SAFETY: Reason is repr(u32) with values 0..REASON_COUNT, and index < REASON_COUNT.
    assert!(index < REASON_COUNT);
    unsafe { core::mem::transmute::<u32, Reason>(index) }
}

/// `{"frames": .., ..., "v4": {"received": .., ...}, "v6": {...}}`
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

/// The counters back from [`to_json`] (what the control socket's `statistics` carries).
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

pub fn to_prometheus(values: &[u64]) -> String {
    let mut out = String::from("# TYPE lwm2m_xdp_frames_total counter\n");
    for (i, name) in SEEN_NAMES.iter().enumerate().take(SEEN_COUNT as usize) {
        out += &format!("lwm2m_xdp_frames_total{{kind=\"{name}\"}} {}\n", values[i]);
    }
    out += "# TYPE lwm2m_xdp_requests_total counter\n";
    for (family, key) in FAMILIES {
        for (i, name) in REASON_NAMES.iter().enumerate() {
            out += &format!(
                "lwm2m_xdp_requests_total{{family=\"{key}\",outcome=\"{name}\"}} {}\n",
                values[reason_index(family, reason(i as u32)) as usize]
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_round_trip_through_json() {
        let values: Vec<u64> = (0..xdp_common::counters::COUNTERS_LEN as u64)
            .map(|i| i * 7 + 1)
            .collect();
        assert_eq!(from_json(&to_json(&values)).unwrap(), values);
        let mut partial = to_json(&values);
        partial["v6"].as_object_mut().unwrap().remove("answered");
        let e = from_json(&partial).unwrap_err().to_string();
        assert!(e.contains("v6.answered"), "{e}");
    }
}
