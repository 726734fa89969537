//! target/bench/bench.svg: four panels of horizontal bars (kernel cost, replies per second,
//! CPU per reply, latency), drawn with plotters' SVG backend (no fonts needed).

use std::path::Path;

use anyhow::{anyhow, Result};
use plotters::{
    coord::{
        ranged1d::{SegmentedCoord, ValueFormatter},
        types::RangedCoordu32,
        Shift,
    },
    prelude::*,
    style::text_anchor::{HPos, Pos, VPos},
};
use serde_json::Value;

const REFLECTOR: RGBColor = RGBColor(140, 140, 140);
const OURS: RGBColor = RGBColor(31, 119, 180);
const OURS_LIGHT: RGBColor = RGBColor(120, 175, 220);
const KEA: RGBColor = RGBColor(230, 120, 30);
const KEA_LIGHT: RGBColor = RGBColor(245, 180, 120);

struct Bar {
    label: String,
    value: f64,
    color: RGBColor,
}

fn color_of(server: &str, light: bool) -> RGBColor {
    match (server, light) {
        ("kea", false) => KEA,
        ("kea", true) => KEA_LIGHT,
        (s, _) if s.starts_with("reflector") => REFLECTOR,
        (_, false) => OURS,
        (_, true) => OURS_LIGHT,
    }
}

fn panel(
    area: &DrawingArea<SVGBackend, Shift>,
    title: &str,
    unit: &str,
    bars: &[Bar],
    log: bool,
) -> Result<()> {
    let bars: Vec<&Bar> = bars
        .iter()
        .filter(|b| b.value.is_finite() && b.value > 0.0)
        .collect();
    if bars.is_empty() {
        return Ok(());
    }
    let max = bars.iter().map(|b| b.value).fold(0.0, f64::max);
    let min = bars.iter().map(|b| b.value).fold(f64::MAX, f64::min);
    let n = bars.len() as u32;
    let labels: Vec<String> = bars.iter().map(|b| b.label.clone()).collect();
    let label_of = |v: &SegmentValue<u32>| match v {
        SegmentValue::CenterOf(i) | SegmentValue::Exact(i) => (n - 1)
            .checked_sub(*i)
            .and_then(|k| labels.get(k as usize))
            .cloned()
            .unwrap_or_default(),
        SegmentValue::Last => String::new(),
    };
    let value_label = |v: &f64| {
        if *v == 0.0 {
            "0".to_string()
        } else if *v >= 10_000.0 {
            format!("{:.0}k", v / 1000.0)
        } else if *v >= 10.0 {
            format!("{v:.0}")
        } else {
            format!("{v:.2}")
        }
    };
    let err = |e: &dyn std::fmt::Display| anyhow!("plot: {e}");
    let mut builder = ChartBuilder::on(area);
    builder
        .caption(title, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(300);
    let floor = if log { min / 3.0 } else { 0.0 };
    // An integer range's segments include its end: n bars need 0..n-1.
    let y = (0u32..n - 1).into_segmented();
    if log {
        let chart = builder
            .build_cartesian_2d((floor..(max * 5.0)).log_scale(), y)
            .map_err(|e| err(&e))?;
        finish(chart, &bars, floor, unit, &label_of, &value_label)
    } else {
        let chart = builder
            .build_cartesian_2d(floor..(max * 1.2), y)
            .map_err(|e| err(&e))?;
        finish(chart, &bars, floor, unit, &label_of, &value_label)
    }
}

type Chart<'a, X> =
    ChartContext<'a, SVGBackend<'a>, Cartesian2d<X, SegmentedCoord<RangedCoordu32>>>;

/// Axes, labels, and one bar per segment, the first bar on top.
fn finish<X>(
    mut chart: Chart<'_, X>,
    bars: &[&Bar],
    floor: f64,
    unit: &str,
    label_of: &dyn Fn(&SegmentValue<u32>) -> String,
    value_label: &dyn Fn(&f64) -> String,
) -> Result<()>
where
    X: Ranged<ValueType = f64> + ValueFormatter<f64>,
{
    let err = |e: &dyn std::fmt::Display| anyhow!("plot: {e}");
    let n = bars.len() as u32;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(n as usize)
        .y_label_formatter(label_of)
        .x_label_formatter(value_label)
        .x_desc(unit)
        .draw()
        .map_err(|e| err(&e))?;
    chart
        .draw_series(bars.iter().enumerate().map(|(i, b)| {
            let y = n - 1 - i as u32;
            let mut r = Rectangle::new(
                [
                    (floor, SegmentValue::Exact(y)),
                    (b.value, SegmentValue::Exact(y + 1)),
                ],
                b.color.filled(),
            );
            r.set_margin(3, 3, 0, 0);
            r
        }))
        .map_err(|e| err(&e))?;
    // The figure at the end of each bar.
    chart
        .draw_series(bars.iter().enumerate().map(|(i, b)| {
            let y = n - 1 - i as u32;
            Text::new(
                format!(" {}", value_label(&b.value)),
                (b.value, SegmentValue::CenterOf(y)),
                TextStyle::from(("sans-serif", 12).into_font())
                    .pos(Pos::new(HPos::Left, VPos::Center)),
            )
        }))
        .map_err(|e| err(&e))?;
    Ok(())
}

fn num(v: &Value) -> f64 {
    v.as_f64().unwrap_or(f64::NAN)
}

pub fn draw(all: &Value, path: &Path) -> Result<()> {
    let root = SVGBackend::new(path, (1500, 1000)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| anyhow!("plot: {e}"))?;
    let areas = root.split_evenly((2, 2));
    let empty = Vec::new();

    let kernel: Vec<Bar> = all["kernel"]["cases"]
        .as_array()
        .unwrap_or(&empty)
        .iter()
        .map(|c| {
            let label = c["case"].as_str().unwrap_or("?").to_string();
            let color = if label.starts_with("reflector") || label.starts_with("empty") {
                REFLECTOR
            } else {
                OURS
            };
            Bar {
                label,
                value: num(&c["ns"]),
                color,
            }
        })
        .collect();
    panel(
        &areas[0],
        "Kernel cost per packet (BPF_PROG_TEST_RUN, under the harness)",
        "ns per packet (lower is better)",
        &kernel,
        false,
    )?;

    let rates = all["e2e"]["rates"].as_array().unwrap_or(&empty);
    let replies: Vec<Bar> = rates
        .iter()
        .map(|r| {
            let server = r["server"].as_str().unwrap_or("?");
            Bar {
                label: format!("{server} {}", r["family"].as_str().unwrap_or("")),
                value: num(&r["replies_per_s"]),
                color: color_of(server, false),
            }
        })
        .collect();
    panel(
        &areas[1],
        "End to end over veth: replies per second (one CPU, log scale)",
        "replies per second (higher is better)",
        &replies,
        true,
    )?;

    let mut cpu = Vec::new();
    for r in rates {
        let server = r["server"].as_str().unwrap_or("?");
        let family = r["family"].as_str().unwrap_or("");
        let per = &r["cpu_s_per_1000_replies"];
        if server == "kea" {
            cpu.push(Bar {
                label: format!("kea {family}: Kea's process"),
                value: num(&per["process"]) * 1000.0,
                color: color_of(server, false),
            });
        } else {
            cpu.push(Bar {
                label: format!("{server} {family}: softirq, whole path"),
                value: num(&per["softirq"]) * 1000.0,
                color: color_of(server, false),
            });
            cpu.push(Bar {
                label: format!("{server} {family}: the XDP program"),
                value: num(&per["bpf_program"]) * 1000.0,
                color: color_of(server, true),
            });
        }
    }
    panel(
        &areas[2],
        "CPU time per reply (log scale)",
        "µs of CPU per reply (lower is better)",
        &cpu,
        true,
    )?;

    let mut latency = Vec::new();
    for l in all["e2e"]["latency"].as_array().unwrap_or(&empty) {
        let server = l["server"].as_str().unwrap_or("?");
        let family = l["family"].as_str().unwrap_or("");
        for (p, light) in [("p50", false), ("p99", true)] {
            latency.push(Bar {
                label: format!("{server} {family} {p}"),
                value: num(&l[format!("{p}_us")]),
                color: color_of(server, light),
            });
        }
    }
    panel(
        &areas[3],
        "Latency at a moderate rate (UDP client, log scale)",
        "µs request to reply (lower is better)",
        &latency,
        true,
    )?;
    root.present().map_err(|e| anyhow!("plot: {e}"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_every_panel() {
        let mut all = crate::bench::report::tests::sample();
        all["aims"] = crate::bench::report::aims(&all["kernel"], &all["e2e"]);
        let path = std::env::temp_dir().join(format!("lwm2m-xdp-plot-{}.svg", std::process::id()));
        draw(&all, &path).unwrap();
        let svg = std::fs::read_to_string(&path).unwrap();
        let _ = std::fs::remove_file(&path);
        for label in [
            "reflector v4",
            "kea v6",
            "lwm2m-xdp v4 p99",
            "DHCPINFORM -&gt; ACK",
        ] {
            assert!(svg.contains(label), "{label} missing");
        }
    }
}
