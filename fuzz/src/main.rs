//! `lwm2m-xdp-fuzz --frames N [--seed S]` (run by `cargo xtask fuzz` and `cargo xtask test`):
//! N generated and mutated frames through the real program with BPF_PROG_TEST_RUN, each
//! checked against an executable model of protocol.md (`model`): passed untouched, or
//! answered with a reply that dhcproto decodes and that matches the config where it must.
//! Prints the count of each outcome, saves every violating frame as hex, exits 1 on any.

mod gen;
mod harness;
mod model;
mod served;

use std::{collections::BTreeMap, io::Write as _, path::PathBuf, process::ExitCode, time::Instant};

use anyhow::{Context as _, Result};
use clap::Parser;
use rand::{rngs::StdRng, SeedableRng};
use xdp_common::{
    counters::{reason_index, Reason, XDP_REASON_END},
    maps::Family,
    wire::eth,
};

use crate::{harness::Harness, model::Expect, served::Served};

const XDP_PASS: u32 = 2;
const XDP_TX: u32 = 3;
/// Frames run under one config before the next is installed (as a reload does).
const FRAMES_PER_CONFIG: u64 = 5000;
/// Violating frames written out at most (all are counted).
const MAX_SAVED: usize = 50;
/// Every this many correct replies, the checker itself is checked: each octet of the reply
/// changed in turn must make it reject the reply.
const SELF_CHECK_EVERY: u64 = 250;

#[derive(Parser)]
#[command(name = "lwm2m-xdp-fuzz")]
struct Args {
    /// Number of frames to run.
    #[arg(long, default_value_t = 100_000)]
    frames: u64,
    /// Seed of the frame generator (default: from the clock; printed either way).
    #[arg(long)]
    seed: Option<u64>,
    /// Where violating frames are saved as hex.
    #[arg(long, default_value = "target/fuzz")]
    out: PathBuf,
}

/// What happened to one frame.
struct Tally {
    out: PathBuf,
    seed: u64,
    outcomes: BTreeMap<String, u64>,
    violations: u64,
    saved: usize,
    tx: [u64; 2],
    correct: u64,
}

impl Tally {
    fn count(&mut self, outcome: &str) {
        *self.outcomes.entry(outcome.to_string()).or_default() += 1;
    }

    fn violation(
        &mut self,
        n: u64,
        kind: &str,
        detail: &str,
        frame: &[u8],
        out: &[u8],
    ) -> Result<()> {
        self.violations += 1;
        self.count(&format!("VIOLATION {kind}"));
        if self.saved >= MAX_SAVED {
            return Ok(());
        }
        self.saved += 1;
        let seed = self.seed;
        std::fs::create_dir_all(&self.out)?;
        let path = self.out.join(format!("violation-{seed}-{n}.hex"));
        let mut f = std::fs::File::create(&path)?;
        writeln!(f, "# {kind}: {detail}")?;
        writeln!(f, "# seed {seed}, frame {n}")?;
        writeln!(f, "{}", hex(frame))?;
        writeln!(f, "# program output")?;
        writeln!(f, "{}", hex(out))?;
        eprintln!("violation ({kind}) saved to {}: {detail}", path.display());
        Ok(())
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn main() -> ExitCode {
    match run(&Args::parse()) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("lwm2m-xdp-fuzz: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &Args) -> Result<bool> {
    let seed = args.seed.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64)
    });
    println!("fuzz: {} frames, seed {seed}", args.frames);
    let configs = Served::all()?;
    let mut h = Harness::load().context("loading the program (needs root or CAP_BPF)")?;
    let mut rng = StdRng::seed_from_u64(seed);
    let mut tally = Tally {
        out: args.out.clone(),
        seed,
        outcomes: BTreeMap::new(),
        violations: 0,
        saved: 0,
        tx: [0; 2],
        correct: 0,
    };
    let started = Instant::now();
    let mut n = 0;
    while n < args.frames {
        let served = &configs[(n / FRAMES_PER_CONFIG) as usize % configs.len()];
        h.install(served)?;
        let before = h.counters()?;
        let tx_before = tally.tx;
        let batch = FRAMES_PER_CONFIG.min(args.frames - n);
        let mut sent = [0; 2];
        for _ in 0..batch {
            let frame = gen::frame(&mut rng);
            if let Some(family) = to_server_port(&frame) {
                sent[family] += 1;
            }
            one(n, served, &mut h, &frame, &mut tally)?;
            n += 1;
        }
        check_counters(
            &before,
            &h.counters()?,
            [tally.tx[0] - tx_before[0], tally.tx[1] - tx_before[1]],
            sent,
        )
        .map_err(|e| anyhow::anyhow!("counters after frame {n} (seed {seed}): {e}"))?;
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "fuzz: {n} frames in {secs:.1} s ({:.0} frames/s), seed {seed}",
        n as f64 / secs
    );
    for (outcome, count) in &tally.outcomes {
        println!("  {count:>10}  {outcome}");
    }
    println!("fuzz: {} violations", tally.violations);
    Ok(tally.violations == 0)
}

fn one(n: u64, served: &Served, h: &mut Harness, frame: &[u8], tally: &mut Tally) -> Result<()> {
    let Ok(expect) = std::panic::catch_unwind(|| model::expect(served, frame)) else {
        return tally.violation(n, "model panicked", "on the request", frame, &[]);
    };
    let run = h.run(frame)?;
    let (verdict, out) = (run.verdict, run.out.to_vec());
    let family = |e: &Expect| match e {
        Expect::AnswerV4(_) => "v4",
        Expect::AnswerV6(_) => "v6",
        Expect::Pass(_) => "",
    };
    match (verdict, &expect) {
        (XDP_PASS, _) if out != frame => {
            tally.violation(n, "passed but changed", "", frame, &out)?;
        }
        (XDP_PASS, Expect::Pass(why)) => tally.count(&format!("passed: {why}")),
        (XDP_PASS, e) => {
            let fam = family(e);
            tally.violation(
                n,
                &format!("{fam} missed"),
                "the model answers this request, the program passed it",
                frame,
                &out,
            )?;
        }
        (XDP_TX, Expect::Pass(why)) => {
            tally.tx[tx_family(frame)] += 1;
            tally.violation(n, "answered what must pass", why, frame, &out)?;
        }
        (XDP_TX, e) => {
            tally.tx[tx_family(frame)] += 1;
            let checked = std::panic::catch_unwind(|| match e {
                Expect::AnswerV4(a) => model::v4::check(served, a, frame, &out),
                Expect::AnswerV6(a) => model::v6::check(served, a, frame, &out),
                Expect::Pass(_) => unreachable!(),
            })
            .unwrap_or_else(|_| Err("the checker panicked on the reply".into()));
            match checked {
                Ok(()) => {
                    tally.count(&format!("answered: {} correct", family(e)));
                    tally.correct += 1;
                    if tally.correct % SELF_CHECK_EVERY == 1 {
                        if let Some(at) = checker_accepts_a_change(served, e, frame, &out) {
                            let detail =
                                format!("the checker accepted the reply with octet {at} changed");
                            tally.violation(n, "checker blind", &detail, frame, &out)?;
                        } else {
                            tally.count("checker: every changed octet of a correct reply rejected");
                        }
                    }
                }
                Err(why) => tally.violation(n, "wrong reply", &why, frame, &out)?,
            }
        }
        (v, _) => tally.violation(
            n,
            &format!("verdict {v}"),
            "only PASS or TX without a rate limit",
            frame,
            &out,
        )?,
    }
    Ok(())
}

/// The first octet of a correct reply whose change the checker does not notice. Exempt: the
/// IPv6 traffic class, flow label and hop limit, which protocol.md leaves free.
fn checker_accepts_a_change(
    served: &Served,
    e: &Expect,
    request: &[u8],
    reply: &[u8],
) -> Option<usize> {
    let l3 = model::parse_l2(reply).map_or(0, |l| l.l3_off);
    let free =
        |at: usize| matches!(e, Expect::AnswerV6(_)) && (at >= l3 && at < l3 + 4 || at == l3 + 7);
    let mut changed = reply.to_vec();
    for at in 0..reply.len() {
        changed[at] ^= 0x01;
        let accepted = match e {
            Expect::AnswerV4(a) => model::v4::check(served, a, request, &changed).is_ok(),
            Expect::AnswerV6(a) => model::v6::check(served, a, request, &changed).is_ok(),
            Expect::Pass(_) => false,
        };
        changed[at] ^= 0x01;
        if accepted && !free(at) {
            return Some(at);
        }
    }
    None
}

/// 0 for an IPv4 frame, 1 for IPv6 (the answered counter of that family moved).
fn tx_family(frame: &[u8]) -> usize {
    match model::parse_l2(frame).map(|l| l.ethertype) {
        Some(eth::ETHERTYPE_IPV6) => 1,
        _ => 0,
    }
}

/// The family (0 IPv4, 1 IPv6) of a UDP datagram to the server port as the program's entry
/// finds it, which must get exactly one outcome counted; read here apart from the program.
fn to_server_port(frame: &[u8]) -> Option<usize> {
    use xdp_common::wire::{dhcpv4, dhcpv6, ipv4, ipv6, udp};
    let l2 = model::parse_l2(frame)?;
    let l3 = &frame[l2.l3_off..];
    let port_at = |l4: usize| {
        let p = l3.get(l4 + udp::field::DST_PORT.start..l4 + udp::field::DST_PORT.end)?;
        Some(u16::from_be_bytes([p[0], p[1]]))
    };
    match l2.ethertype {
        eth::ETHERTYPE_IPV4 => {
            let h = l3.get(..ipv4::HDR_LEN)?;
            let ihl = (h[ipv4::field::VER_IHL] & ipv4::IHL_MASK) as usize * ipv4::IHL_WORD_LEN;
            let f = ipv4::field::FLG_OFF.start;
            let first_fragment =
                u16::from_be_bytes([h[f], h[f + 1]]) & ipv4::FRAGMENT_OFFSET_MASK == 0;
            let udp_whole = l3.len() >= ihl + udp::HDR_LEN;
            let ours = h[ipv4::field::PROTOCOL] == ipv4::PROTO_UDP
                && first_fragment
                && ihl >= ipv4::HDR_LEN
                && udp_whole
                && port_at(ihl)? == dhcpv4::SERVER_PORT;
            ours.then_some(0)
        }
        eth::ETHERTYPE_IPV6 => {
            let h = l3.get(..ipv6::HDR_LEN)?;
            let ours = h[ipv6::field::NXT_HDR] == ipv6::NEXT_HDR_UDP
                && port_at(ipv6::HDR_LEN)? == dhcpv6::SERVER_PORT;
            ours.then_some(1)
        }
        _ => None,
    }
}

/// Over a batch: every request to the server port (`sent`, by family) has exactly one
/// outcome, nothing aborted or rate limited, and the answered counters equal the XDP_TX
/// verdicts seen.
fn check_counters(
    before: &[u64],
    after: &[u64],
    tx: [u64; 2],
    sent: [u64; 2],
) -> Result<(), String> {
    let moved = |family: Family, r: u32| {
        let i = reason_index(family, Reason::Received) as usize + r as usize;
        after[i] - before[i]
    };
    for (k, family) in [Family::V4, Family::V6].into_iter().enumerate() {
        let outcomes: u64 = (1..XDP_REASON_END).map(|r| moved(family, r)).sum();
        ensure!(
            outcomes == sent[k],
            "{family:?}: {} requests to the server port, {outcomes} outcomes",
            sent[k]
        );
        ensure!(
            moved(family, Reason::Aborted as u32) == 0,
            "{family:?}: aborted"
        );
        ensure!(
            moved(family, Reason::PassedRateLimited as u32) == 0,
            "{family:?}: passed as rate limited"
        );
        ensure!(
            moved(family, Reason::RateLimited as u32) == 0,
            "{family:?}: rate limited"
        );
        let answered = moved(family, Reason::Answered as u32);
        ensure!(
            answered == tx[k],
            "{family:?}: {answered} answered, {} XDP_TX",
            tx[k]
        );
    }
    Ok(())
}
