//! Kernel cost per packet through BPF_PROG_TEST_RUN (`cargo xtask bench` runs this).
//!
//! Measured in one run: the empty program (harness cost), a minimal XDP_TX MAC-swap reflector
//! (the floor), the pass path for non-DHCP traffic, a DHCPINFORM answered with the URI only
//! and with URI + a 1000-octet certificate (draft-00), and an INFORMATION-REQUEST answered with
//! both.
//!
//! A reply rewrites its frame in place, and `repeat` reruns a program on the frame its last
//! run left: it would time the pass path of our own reply. So every case runs under the
//! bench harness (xdp-ebpf/src/bench_main.rs), which restores the request and tail-calls the
//! program under test, with repeat = REPEAT; the kernel's mean per run is taken for ROUNDS
//! rounds (the cases interleaved within each round) and the median reported. "net" subtracts
//! the harness-with-empty-program time.
//!
//! The TC fallback's rows run the same way under the TC harness (a classifier that restores
//! the request into the skb and tail-calls `lwm2m_tc`), their net figures minus the TC
//! harness with the empty classifier, their ratio to the same XDP reflector.

use std::{
    net::{Ipv4Addr, Ipv6Addr},
    path::Path,
};

use anyhow::{ensure, Context as _, Result};
use aya::programs::{ProgramFd, SchedClassifier, TestRun, TestRunOptions, Xdp};
use lwm2m_xdp::{
    client, compile,
    config::Config,
    datapath::{Datapath, Generation},
    ifaces,
    system::SystemInterface,
};
use lwm2m_xdp_test_support::{
    bench::{set_bench_frame, BENCH_OBJECT},
    frame::{self, Ethernet},
};
use xdp_common::{
    bench::{MAP_BENCH_TARGET, MAP_BENCH_TC_TARGET},
    counters::{reason_index, Reason},
    maps::Family,
    wire::{dhcpv4 as v4, dhcpv6 as v6, ipv6::ALL_DHCP_RELAY_AGENTS_AND_SERVERS},
};

/// The LwM2M codes the bench's config leaves at their defaults.
const V4_LWM2M: [u8; 2] = [v4::DEFAULT_URI_OPTION, v4::DEFAULT_CERTIFICATE_OPTION];
const V6_LWM2M: [u16; 2] = [v6::DEFAULT_URI_OPTION, v6::DEFAULT_CERTIFICATE_OPTION];
/// DNS: what the pass path's non-DHCP frame is sent to.
const DNS_PORT: u16 = 53;

const ROUNDS: usize = 7;
const REPEAT: u32 = 100_000;
const MAC_SERVER: [u8; 6] = [0x02, 0, 0, 0, 0, 1];
const MAC_CLIENT: [u8; 6] = [0x02, 0, 0, 0, 0, 2];
const TC_ACT_OK: u32 = 0;
const TC_ACT_REDIRECT: u32 = 7;

fn config(cert: bool) -> String {
    let certificate = if cert {
        "certificate = \"certs/bootstrap-1000.der\"\n"
    } else {
        ""
    };
    format!(
        "[lwm2m]\nbootstrap_uri = \"coaps://bootstrap.example.net:5684\"\n{certificate}\
         [dhcpv4]\nenabled = true\n[dhcpv6]\nenabled = true\n[[interface]]\nname = \"lo\"\n"
    )
}

fn load(cert: bool) -> Result<Datapath> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/bench.toml");
    let cfg = Config::parse(&config(cert), &root)?;
    let compiled = compile::compile(&cfg)?;
    // BPF_PROG_TEST_RUN delivers on the loopback device (ifindex 1).
    let (entries, _) = ifaces::entries(&cfg, |name| {
        Ok(SystemInterface {
            name: name.to_string(),
            ifindex: 1,
            mac: MAC_SERVER,
            mtu: 1500,
            ipv4: Some(Ipv4Addr::new(198, 18, 0, 1)),
            ipv6_link_local: Some("fe80::1".parse()?),
            ipv6_global: None,
        })
    })?;
    let mut dp = Datapath::load()?;
    dp.install_generation(&Generation::new(&compiled, entries))?;
    Ok(dp)
}

fn client_l2(dst: [u8; 6]) -> Ethernet {
    Ethernet {
        dst,
        src: MAC_CLIENT,
        vlans: vec![],
    }
}

/// A broadcast DHCPINFORM from 198.18.0.2 asking for `prl`, option 57 = 1500.
fn inform_frame(prl: &[u8]) -> Vec<u8> {
    udp4_frame(prl, (v4::CLIENT_PORT, v4::SERVER_PORT))
}

/// A non-DHCP frame (UDP to port 53) for the pass path.
fn other_frame() -> Vec<u8> {
    udp4_frame(&V4_LWM2M[..1], (v4::CLIENT_PORT, DNS_PORT))
}

/// The INFORM of `inform_frame` turned into a DHCPDISCOVER (option 53 = 1): passed.
fn discover_frame() -> Vec<u8> {
    udp4_frame_with(&V4_LWM2M, (v4::CLIENT_PORT, v4::SERVER_PORT), |msg| {
        // build_inform writes option 53 first: code, length, type.
        msg[v4::field::OPTIONS.start + v4::option::DATA.start] = v4::MSG_DISCOVER;
    })
}

fn udp4_frame(prl: &[u8], ports: (u16, u16)) -> Vec<u8> {
    udp4_frame_with(prl, ports, |_| {})
}

fn udp4_frame_with(prl: &[u8], ports: (u16, u16), edit: impl Fn(&mut Vec<u8>)) -> Vec<u8> {
    let src = Ipv4Addr::new(198, 18, 0, 2);
    let mut payload = client::build_inform(0x1234_5678, MAC_CLIENT, src, prl, Some(1500));
    edit(&mut payload);
    frame::ipv4_udp_frame(
        &client_l2(Ethernet::BROADCAST),
        src,
        Ipv4Addr::BROADCAST,
        ports,
        &payload,
    )
}

/// An INFORMATION-REQUEST from fe80::2 to ff02::1:2 asking for `oro`.
fn information_request_frame(oro: &[u16]) -> Vec<u8> {
    information_request_frame_with(oro, |_| {})
}

/// The INFORMATION-REQUEST naming our Server Identifier (DUID-LL of the server MAC).
fn information_request_to_us_frame(oro: &[u16]) -> Vec<u8> {
    information_request_frame_with(oro, |msg| {
        let duid = ifaces::duid_ll(MAC_SERVER);
        msg.extend(v6::OPT_SERVERID.to_be_bytes());
        msg.extend((duid.len() as u16).to_be_bytes());
        msg.extend(duid);
    })
}

/// A SOLICIT (the INFORMATION-REQUEST's bytes with msg-type 1): passed.
fn solicit_frame() -> Vec<u8> {
    information_request_frame_with(&V6_LWM2M, |msg| msg[0] = v6::MSG_SOLICIT)
}

fn information_request_frame_with(oro: &[u16], edit: impl Fn(&mut Vec<u8>)) -> Vec<u8> {
    let dst = Ipv6Addr::from(ALL_DHCP_RELAY_AGENTS_AND_SERVERS);
    let mut payload =
        client::build_information_request([1, 2, 3], &ifaces::duid_ll(MAC_CLIENT), oro);
    edit(&mut payload);
    frame::ipv6_udp_frame(
        &client_l2(Ethernet::ipv6_multicast(dst)),
        "fe80::2".parse().expect("an IPv6 address"),
        dst,
        1,
        (v6::CLIENT_PORT, v6::SERVER_PORT),
        &payload,
    )
}

/// Median and range of a set of samples.
struct Spread {
    median: f64,
    min: f64,
    max: f64,
}

impl Spread {
    fn of(mut v: Vec<f64>) -> Spread {
        v.sort_by(f64::total_cmp);
        Spread {
            median: v[v.len() / 2],
            min: v[0],
            max: v[v.len() - 1],
        }
    }
}

/// A case over ROUNDS rounds: its mean ns per run, and its ratio to the reflector measured
/// in the same quadruple (empty, reflector, case, empty), gross and net of the harness.
struct Timing {
    ns: Spread,
    ratio: Spread,
    net_ns: Spread,
}

struct Harness {
    ebpf: aya::Ebpf,
}

impl Harness {
    fn load() -> Result<Harness> {
        let mut ebpf = aya::EbpfLoader::new().load(BENCH_OBJECT)?;
        for name in ["bench_harness", "bench_reflector", "bench_empty"] {
            let p: &mut Xdp = ebpf.program_mut(name).context(name)?.try_into()?;
            p.load()?;
        }
        for name in ["bench_tc_harness", "bench_tc_empty"] {
            let p: &mut SchedClassifier = ebpf.program_mut(name).context(name)?.try_into()?;
            p.load()?;
        }
        Ok(Harness { ebpf })
    }

    fn own(&self, name: &str) -> Result<&Xdp> {
        Ok(self
            .ebpf
            .program(name)
            .context(name.to_string())?
            .try_into()?)
    }

    /// One round of `case`: the kernel's mean ns per run over REPEAT runs, verdict checked.
    fn round(&mut self, case: &Case) -> Result<f64> {
        let frame = &case.frame;
        set_bench_frame(&mut self.ebpf, frame)?;
        let targets_map = match case.hook {
            Hook::Xdp => MAP_BENCH_TARGET,
            Hook::Tc => MAP_BENCH_TC_TARGET,
        };
        let mut targets = aya::maps::ProgramArray::try_from(
            self.ebpf.map_mut(targets_map).context(targets_map)?,
        )?;
        targets.set(0, &case.target, 0)?;
        let mut out = vec![0u8; 4096];
        let options = TestRunOptions {
            data_in: Some(frame),
            data_out: Some(&mut out),
            repeat: REPEAT,
            ..TestRunOptions::new()
        };
        let r = match case.hook {
            Hook::Xdp => self.own("bench_harness")?.test_run(options)?,
            Hook::Tc => {
                let harness: &SchedClassifier = self
                    .ebpf
                    .program("bench_tc_harness")
                    .context("bench_tc_harness")?
                    .try_into()?;
                harness.test_run(options)?
            }
        };
        ensure!(
            r.return_value == case.verdict,
            "{}: verdict {} where {} was expected",
            case.name,
            r.return_value,
            case.verdict
        );
        Ok(r.duration.as_nanos() as f64)
    }

    /// Every case for ROUNDS rounds, the cases interleaved within each round, and each case
    /// measured in a quadruple (empty, reflector, case, empty) so that a burst of load on
    /// this shared machine falls on the case and its floor alike. `cases[0]` is the empty
    /// program, `cases[1]` the reflector; their own rows take every run they made. A TC case's
    /// quadruple has the TC harness's empty classifier (the case labelled TC_EMPTY) for empty.
    fn time_all(&mut self, cases: &[Case]) -> Result<Vec<Timing>> {
        let tc_empty = cases
            .iter()
            .position(|c| c.name == TC_EMPTY)
            .context("no TC empty case")?;
        let mut ns = vec![Vec::new(); cases.len()];
        let mut ratio = vec![Vec::new(); cases.len()];
        let mut net = vec![Vec::new(); cases.len()];
        for _ in 0..ROUNDS {
            for (i, case) in cases.iter().enumerate().skip(1) {
                let empty_case = match case.hook {
                    Hook::Xdp => 0,
                    Hook::Tc => tc_empty,
                };
                let e1 = self.round(&cases[empty_case])?;
                let r = self.round(&cases[1])?;
                let c = if i == 1 { r } else { self.round(case)? };
                let e2 = self.round(&cases[empty_case])?;
                let empty = (e1 + e2) / 2.0;
                if empty_case == 0 {
                    ns[0].extend([e1, e2]);
                    ratio[0].push(empty / r);
                    net[0].push(0.0);
                }
                ns[i].push(c);
                ratio[i].push(c / r);
                net[i].push(c - empty);
            }
        }
        Ok(ns
            .into_iter()
            .zip(ratio)
            .zip(net)
            .map(|((ns, ratio), net)| Timing {
                ns: Spread::of(ns),
                ratio: Spread::of(ratio),
                net_ns: Spread::of(net),
            })
            .collect())
    }
}

/// The hook a case's program runs at, and so the harness it runs under.
#[derive(Clone, Copy)]
enum Hook {
    Xdp,
    Tc,
}

/// The name of the TC harness's empty-classifier case.
const TC_EMPTY: &str = "tc empty";

/// A program under test on one frame, with the verdict it must return.
struct Case {
    hook: Hook,
    label: &'static str,
    name: &'static str,
    target: ProgramFd,
    frame: Vec<u8>,
    verdict: u32,
}

/// What the kernel makes of an object's XDP program: instructions the verifier processed,
/// JITed and translated sizes, and the load time (median of 3 loads, verifier included).
fn program_figures(object: &[u8]) -> Result<serde_json::Value> {
    let mut loads = Vec::new();
    let mut info = None;
    for _ in 0..3 {
        let mut ebpf = aya::EbpfLoader::new().load(object)?;
        let program: &mut Xdp = ebpf
            .program_mut(xdp_common::maps::PROGRAM_NAME)
            .context("no XDP program")?
            .try_into()?;
        let t0 = std::time::Instant::now();
        program.load()?;
        loads.push(t0.elapsed().as_secs_f64() * 1e3);
        info = Some(program.info()?);
    }
    let info = info.context("no load")?;
    loads.sort_by(f64::total_cmp);
    Ok(serde_json::json!({
        "verified_insns": info.verified_instruction_count(),
        "jited_bytes": info.size_jitted(),
        "xlated_bytes": info.size_translated(),
        "load_ms": loads[1],
    }))
}

fn print_program_figures(what: &str, object: &[u8]) -> Result<serde_json::Value> {
    let f = program_figures(object)?;
    println!(
        "program ({what}): {} instructions verified, {} octets JITed, {} octets xlated, load {:.1} ms (median of 3)",
        f["verified_insns"], f["jited_bytes"], f["xlated_bytes"], f["load_ms"].as_f64().unwrap_or(0.0)
    );
    Ok(f)
}

fn main() -> Result<()> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("SKIPPED kernel bench: needs root (CAP_BPF)");
        return Ok(());
    }
    // Machine-wide BPF run statistics add two clock reads to every program run (the harness
    // here): they raise every gross figure alike and leave the net ones as they are.
    let stats_sysctl = std::fs::read_to_string("/proc/sys/kernel/bpf_stats_enabled")
        .map(|v| v.trim() != "0")
        .ok();
    if stats_sysctl == Some(true) {
        println!("note: kernel.bpf_stats_enabled = 1: every run pays two clock reads (`cargo xtask bench` turns it off for its run)");
    }
    let program = print_program_figures("this build", lwm2m_xdp::datapath::EBPF_OBJECT)?;
    // Another build's object to compare with (e.g. the one before a change).
    if let Ok(path) = std::env::var("KERNEL_BENCH_COMPARE_OBJECT") {
        print_program_figures(&path, &std::fs::read(&path)?)?;
    }
    let mut uri_only = load(false)?;
    let mut with_cert = load(true)?;
    let mut harness = Harness::load()?;
    let inform = inform_frame(&V4_LWM2M);
    let inform_uri = inform_frame(&V4_LWM2M[..1]);
    let inforeq = information_request_frame(&V6_LWM2M);
    let other = other_frame();

    let fd = |p: &Xdp| -> Result<ProgramFd> { Ok(p.fd()?.try_clone()?) };
    let empty_fd = fd(harness.own("bench_empty")?)?;
    let reflector_fd = fd(harness.own("bench_reflector")?)?;
    let uri_fd = fd(uri_only.program())?;
    let cert_fd = fd(with_cert.program())?;
    let tc_cert_fd = with_cert.tc_program().fd()?.try_clone()?;
    let tc_empty_fd = {
        let p: &SchedClassifier = harness
            .ebpf
            .program("bench_tc_empty")
            .context("bench_tc_empty")?
            .try_into()?;
        p.fd()?.try_clone()?
    };
    let case = |label, name, target: &ProgramFd, frame: &[u8], verdict| -> Result<Case> {
        Ok(Case {
            hook: Hook::Xdp,
            label,
            name,
            target: target.try_clone()?,
            frame: frame.to_vec(),
            verdict,
        })
    };
    let cases = vec![
        case(
            "empty program (harness cost)",
            "empty",
            &empty_fd,
            &inform,
            2,
        )?,
        case(
            "reflector (XDP_TX MAC swap, the floor)",
            "reflector",
            &reflector_fd,
            &inform,
            3,
        )?,
        case("pass path, UDP to port 53", "pass", &uri_fd, &other, 2)?,
        // Every check done, nothing built: where a reply's time goes (decide vs build).
        case(
            "DHCPINFORM, PRL without LwM2M code -> pass",
            "v4 no lwm2m",
            &uri_fd,
            &inform_frame(&[1]),
            2,
        )?,
        case(
            "INFORMATION-REQUEST, ORO without LwM2M -> pass",
            "v6 no lwm2m",
            &cert_fd,
            &information_request_frame(&[23, 24]),
            2,
        )?,
        case(
            "DHCPDISCOVER -> pass",
            "v4 discover",
            &cert_fd,
            &discover_frame(),
            2,
        )?,
        case(
            "SOLICIT -> pass",
            "v6 solicit",
            &cert_fd,
            &solicit_frame(),
            2,
        )?,
        case(
            "DHCPINFORM -> ACK, URI only",
            "v4 uri",
            &uri_fd,
            &inform_uri,
            3,
        )?,
        case(
            "DHCPINFORM -> ACK, URI + 1000 B cert (draft-00)",
            "v4 cert",
            &cert_fd,
            &inform,
            3,
        )?,
        case(
            "INFORMATION-REQUEST -> REPLY, URI + 1000 B cert",
            "v6 cert",
            &cert_fd,
            &inforeq,
            3,
        )?,
        case(
            "INFORMATION-REQUEST naming our Server-ID -> REPLY, cert",
            "v6 cert server-id",
            &cert_fd,
            &information_request_to_us_frame(&V6_LWM2M),
            3,
        )?,
        Case {
            hook: Hook::Tc,
            ..case(
                "TC: empty classifier (TC harness cost)",
                TC_EMPTY,
                &tc_empty_fd,
                &inform,
                TC_ACT_OK,
            )?
        },
        Case {
            hook: Hook::Tc,
            ..case(
                "TC: DHCPINFORM -> ACK, 1000 B cert",
                "tc v4 cert",
                &tc_cert_fd,
                &inform,
                TC_ACT_REDIRECT,
            )?
        },
        Case {
            hook: Hook::Tc,
            ..case(
                "TC: INFORMATION-REQUEST -> REPLY, 1000 B cert",
                "tc v6 cert",
                &tc_cert_fd,
                &inforeq,
                TC_ACT_REDIRECT,
            )?
        },
    ];
    let timings = harness.time_all(&cases)?;
    let rows: Vec<(&str, Timing)> = cases.iter().map(|c| c.label).zip(timings).collect();
    // Every answer above really was an answer: the responder counted it.
    let answered = with_cert.counters()?;
    let v4 = answered[reason_index(Family::V4, Reason::Answered) as usize];
    let v6 = answered[reason_index(Family::V6, Reason::Answered) as usize];
    ensure!(
        v4 >= u64::from(REPEAT) * ROUNDS as u64 && v6 >= u64::from(REPEAT) * ROUNDS as u64,
        "the responder counted {v4} DHCPv4 and {v6} DHCPv6 answers"
    );
    let v4_tc = answered[reason_index(Family::V4, Reason::AnsweredTc) as usize];
    let v6_tc = answered[reason_index(Family::V6, Reason::AnsweredTc) as usize];
    ensure!(
        v4_tc >= u64::from(REPEAT) * ROUNDS as u64 && v6_tc >= u64::from(REPEAT) * ROUNDS as u64,
        "the TC fallback counted {v4_tc} DHCPv4 and {v6_tc} DHCPv6 answers"
    );

    println!("kernel cost per packet: BPF_PROG_TEST_RUN, repeat = {REPEAT} under the restoring harness, {ROUNDS} rounds of (empty, reflector, case, empty)");
    println!(
        "{:<52} {:>7} {:>13} {:>6} {:>11} {:>7}",
        "case", "ns", "rounds", "x refl", "x range", "net ns"
    );
    let floor_net = rows[1].1.net_ns.median.max(0.1);
    let mut json = Vec::new();
    for (name, t) in &rows {
        println!(
            "{name:<52} {:>7.1} {:>6.1}-{:<6.1} {:>6.2} {:>5.2}-{:<5.2} {:>7.1}",
            t.ns.median,
            t.ns.min,
            t.ns.max,
            t.ratio.median,
            t.ratio.min,
            t.ratio.max,
            t.net_ns.median,
        );
        json.push(serde_json::json!({
            "case": name, "ns": t.ns.median, "round_min": t.ns.min, "round_max": t.ns.max,
            "ratio_to_reflector": t.ratio.median, "ratio_min": t.ratio.min, "ratio_max": t.ratio.max,
            "net_ns": t.net_ns.median, "net_ratio_to_reflector": t.net_ns.median / floor_net,
        }));
    }
    println!("x refl: the case's time over the reflector's in the same quadruple, median and range over the rounds (both under the harness); net: minus the mean of the two empty-program runs around it.");
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/bench");
    std::fs::create_dir_all(&dir)?;
    std::fs::write(
        dir.join("kernel.json"),
        serde_json::to_string_pretty(
            &serde_json::json!({"repeat": REPEAT, "rounds": ROUNDS, "bpf_stats_sysctl": stats_sysctl, "program": program, "cases": json}),
        )?,
    )?;
    println!("written: target/bench/kernel.json");
    Ok(())
}
