//! `lwm2m-xdp-soak --reloads N` (run by `cargo xtask soak` and `cargo xtask test`): the real
//! `lwm2m-xdp run` on the server end of a namespace pair, reloaded N times through its control
//! socket between two configs that differ in URI, certificate, DHCPv4 server identifier and
//! DHCPv6 DUID, while a client asks without pause (one DHCPINFORM or INFORMATION-REQUEST in
//! flight). Every reply must be wholly of one config, none lost, none malformed or with a bad
//! checksum; the loader's RSS and open fds are reported at the first and the last reload.
//! Exits 1 on any finding.

use std::{
    net::{IpAddr, Ipv4Addr, Ipv6Addr},
    path::{Path, PathBuf},
    process::ExitCode,
    sync::atomic::{AtomicBool, Ordering},
    time::{Duration, Instant},
};

use anyhow::{bail, Context as _, Result};
use clap::Parser;
use lwm2m_xdp::{client, config::WireFormat, control, ifaces};
use lwm2m_xdp_tests::{
    peers::{self, dhcp_client_reply, ipv4_udp_frame, ipv6_udp_frame, Ethernet, RawSocket},
    running::{count, Running},
    NetnsPair, ScratchDir, Side,
};
use xdp_common::wire::{dhcpv4, dhcpv6};

/// How long one request waits for its reply before it counts as lost.
const REPLY_LIMIT: Duration = Duration::from_secs(1);
/// Requests sent at most, whatever the number of reloads (bounds the traffic loop).
const MAX_REQUESTS: u64 = 5_000_000;
/// The codes the soak's config leaves at their defaults.
const V4_URI: u8 = dhcpv4::DEFAULT_URI_OPTION;
const V4_CERT: u8 = dhcpv4::DEFAULT_CERTIFICATE_OPTION;
const V6_URI: u16 = dhcpv6::DEFAULT_URI_OPTION;
const V6_CERT: u16 = dhcpv6::DEFAULT_CERTIFICATE_OPTION;

#[derive(Parser)]
#[command(name = "lwm2m-xdp-soak")]
struct Args {
    #[arg(long, default_value_t = 200)]
    reloads: u64,
}

/// One of the two configs the soak switches between.
struct Served {
    name: &'static str,
    uri: String,
    cert_path: PathBuf,
    cert: Vec<u8>,
    server_id: Ipv4Addr,
    duid: Vec<u8>,
}

impl Served {
    fn toml(&self, server_if: &str) -> String {
        let duid = hex::encode(&self.duid);
        format!(
            r#"[lwm2m]
bootstrap_uri = "{uri}"
certificate = "{cert}"

[dhcpv4]
enabled = true
server_id = "{sid}"

[dhcpv6]
enabled = true
server_duid = "{duid}"

[[interface]]
name = "{server_if}"
mode = "generic"
"#,
            uri = self.uri,
            cert = self.cert_path.display(),
            sid = self.server_id,
        )
    }
}

/// What the client saw.
#[derive(Default, Debug)]
struct Seen {
    sent: [u64; 2],
    /// Replies wholly of config A / B, per family.
    whole: [[u64; 2]; 2],
    mixed: u64,
    lost: u64,
    broken: u64,
    findings: Vec<String>,
}

impl Seen {
    fn finding(&mut self, what: String) {
        if self.findings.len() < 20 {
            self.findings.push(what);
        }
    }
}

fn certs_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/certs")
}

fn served(pair: &NetnsPair) -> Result<[Served; 2]> {
    let subnet = pair.ipv4(Side::Server).octets();
    let make = |name, uri: &str, size: usize, last: u8, duid_tail: u8| -> Result<Served> {
        let cert_path = certs_dir().join(format!("bootstrap-{size}.der"));
        let cert = std::fs::read(&cert_path).with_context(|| format!("{}", cert_path.display()))?;
        Ok(Served {
            name,
            uri: uri.to_string(),
            cert_path,
            cert,
            server_id: Ipv4Addr::new(subnet[0], subnet[1], subnet[2], last),
            // DUID-EN (RFC 8415 §11.3): enterprise 32473 (documentation), a distinct id.
            duid: [
                &[0, 2, 0, 0, 0x7e, 0xd9][..],
                &[0xa0, duid_tail, 1, 2, 3, 4],
            ]
            .concat(),
        })
    };
    Ok([
        make("A", "coaps://198.18.0.1:5684/a", 300, 1, 0x0a)?,
        make(
            "B",
            "coaps://bootstrap-b.example.net:5685/soak",
            1000,
            3,
            0x0b,
        )?,
    ])
}

fn main() -> ExitCode {
    match soak(&Args::parse()) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("lwm2m-xdp-soak: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// VmRSS in KiB and the number of open fds of `pid`.
fn rss_and_fds(pid: u32) -> (u64, usize) {
    let rss = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| {
                l.strip_prefix("VmRSS:")?
                    .trim()
                    .strip_suffix("kB")?
                    .trim()
                    .parse()
                    .ok()
            })
        })
        .unwrap_or(0);
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count());
    (rss, fds)
}

fn soak(args: &Args) -> Result<bool> {
    if !lwm2m_xdp_tests::require_root("lwm2m-xdp-soak") {
        bail!("the soak needs root (namespaces, BPF)");
    }
    let pair = NetnsPair::new("soak")?;
    peers::client_tx_checksums_off(&pair)?;
    let configs = served(&pair)?;
    let scratch = ScratchDir::new("soak")?;
    let file = scratch.write("soak.toml", &configs[0].toml(&pair.server_if))?;
    let run = Running::start(&pair, file.clone(), "soak", &[]);
    let instance = run.instance();
    let stop = AtomicBool::new(false);
    let started = Instant::now();
    let mut first = None;
    let mut last = (0, 0);
    let mut refused = Vec::new();
    let seen = std::thread::scope(|scope| -> Result<Seen> {
        let client = scope.spawn(|| traffic(&pair, &configs, &stop));
        // Let the client see the first config before the first reload.
        std::thread::sleep(Duration::from_millis(200));
        for i in 0..args.reloads {
            let next = &configs[((i + 1) % 2) as usize];
            std::fs::write(&file, next.toml(&pair.server_if))?;
            if let Err(e) = control::command(&instance, control::CONFIG_RELOAD) {
                refused.push(format!("reload {i}: {e:#}"));
            }
            let usage = rss_and_fds(run.pid());
            first.get_or_insert(usage);
            last = usage;
        }
        std::thread::sleep(Duration::from_millis(200));
        stop.store(true, Ordering::Relaxed);
        client.join().expect("client thread")
    })?;
    let secs = started.elapsed().as_secs_f64();
    let stats = run.stats();
    let aborted = count(&stats, "v4", "aborted") + count(&stats, "v6", "aborted");
    run.stop();
    let first = first.unwrap_or_default();
    println!(
        "soak: {} reloads in {secs:.1} s ({:.1} ms each)",
        args.reloads,
        secs * 1000.0 / args.reloads.max(1) as f64
    );
    println!(
        "  requests sent       v4 {:>8}  v6 {:>8}",
        seen.sent[0], seen.sent[1]
    );
    for (k, c) in configs.iter().enumerate() {
        println!(
            "  wholly config {}     v4 {:>8}  v6 {:>8}",
            c.name, seen.whole[k][0], seen.whole[k][1]
        );
    }
    println!(
        "  mixed {}, lost {}, malformed or bad checksum {}, aborted {aborted}, reloads refused {}",
        seen.mixed,
        seen.lost,
        seen.broken,
        refused.len()
    );
    println!(
        "  loader RSS {} KiB -> {} KiB, fds {} -> {}",
        first.0, last.0, first.1, last.1
    );
    for f in seen.findings.iter().chain(&refused) {
        println!("  finding: {f}");
    }
    let both_seen = seen.whole.iter().all(|w| w[0] > 0 && w[1] > 0);
    if !both_seen && args.reloads > 0 {
        println!("  finding: not every config was seen answering both families");
    }
    Ok(seen.mixed == 0
        && seen.lost == 0
        && seen.broken == 0
        && aborted == 0
        && refused.is_empty()
        && (both_seen || args.reloads == 0))
}

/// Which config a reply is wholly of: `Ok(index)`, or `Err` naming what mixed.
fn classify(
    configs: &[Served; 2],
    uri: Option<&str>,
    cert: Option<&[u8]>,
    identity: impl Fn(&Served) -> bool,
) -> Result<usize, String> {
    let k = configs
        .iter()
        .position(|c| uri == Some(c.uri.as_str()))
        .ok_or_else(|| format!("URI {uri:?} is of neither config"))?;
    let c = &configs[k];
    let mut wrong = Vec::new();
    if cert != Some(&c.cert[..]) {
        wrong.push("certificate");
    }
    if !identity(c) {
        wrong.push("server identity");
    }
    if wrong.is_empty() {
        Ok(k)
    } else {
        Err(format!(
            "URI of config {} but {} of the other",
            c.name,
            wrong.join(" and ")
        ))
    }
}

fn traffic(pair: &NetnsPair, configs: &[Served; 2], stop: &AtomicBool) -> Result<Seen> {
    let sock = RawSocket::open(&pair.client_ns, pair.ifindex(Side::Client))?;
    let mac = pair.mac(Side::Client);
    let client_v4 = pair.ipv4(Side::Client);
    let client_ll = pair.ipv6_link_local(Side::Client);
    let all_dhcp: Ipv6Addr = "ff02::1:2".parse().expect("address");
    let mut seen = Seen::default();
    let mut n: u64 = 0;
    while !stop.load(Ordering::Relaxed) && n < MAX_REQUESTS {
        n += 1;
        let v6 = n.is_multiple_of(2);
        let xid = (n as u32).wrapping_mul(2_654_435_761);
        let frame = if v6 {
            let duid = ifaces::duid_ll(mac);
            let mut msg = client::build_information_request(xid_v6(xid), &duid, &[V6_URI, V6_CERT]);
            // Generic XDP on veth grows a frame only into the request's slack (ARCHITECTURE).
            client::pad_with_vendor_class(&mut msg, 600);
            let l2 = Ethernet {
                dst: Ethernet::ipv6_multicast(all_dhcp),
                src: mac,
                vlans: vec![],
            };
            ipv6_udp_frame(
                &l2,
                client_ll,
                all_dhcp,
                1,
                (dhcpv6::CLIENT_PORT, dhcpv6::SERVER_PORT),
                &msg,
            )
        } else {
            let bootp = client::build_inform(xid, mac, client_v4, &[V4_URI, V4_CERT], Some(1500));
            let l2 = Ethernet {
                dst: Ethernet::BROADCAST,
                src: mac,
                vlans: vec![],
            };
            ipv4_udp_frame(
                &l2,
                client_v4,
                Ipv4Addr::BROADCAST,
                (dhcpv4::CLIENT_PORT, dhcpv4::SERVER_PORT),
                &bootp,
            )
        };
        seen.sent[usize::from(v6)] += 1;
        sock.send(&frame)?;
        let got = sock.receive(REPLY_LIMIT, |bytes| match dhcp_client_reply(bytes) {
            Err(why) => Some(Err(why)),
            Ok(None) => None,
            Ok(Some(reply)) => judge(configs, &reply, v6, xid).map(Ok),
        })?;
        match got {
            None => {
                seen.lost += 1;
                seen.finding(format!(
                    "request {n} ({}) lost",
                    if v6 { "v6" } else { "v4" }
                ));
            }
            Some(Err(why)) => {
                seen.broken += 1;
                seen.finding(format!("request {n}: broken reply: {why}"));
            }
            Some(Ok(Ok(k))) => seen.whole[k][usize::from(v6)] += 1,
            Some(Ok(Err(why))) => {
                seen.mixed += 1;
                seen.finding(format!("request {n}: {why}"));
            }
        }
    }
    Ok(seen)
}

fn xid_v6(xid: u32) -> [u8; 3] {
    let b = xid.to_be_bytes();
    [b[1], b[2], b[3]]
}

/// `None`: not the reply to this request (another xid, another family). `Some(Ok(k))`: wholly
/// of config k; `Some(Err)`: a reply to it, mixed or undecodable.
fn judge(
    configs: &[Served; 2],
    reply: &peers::UdpFrame,
    v6: bool,
    xid: u32,
) -> Option<Result<usize, String>> {
    if v6 {
        if reply.dst_port != dhcpv6::CLIENT_PORT
            || reply.payload.get(1..4) != Some(&xid_v6(xid)[..])
        {
            return None;
        }
        let (info, boot) = match client::decode_v6_reply(
            WireFormat::Draft00,
            V6_URI,
            V6_CERT,
            &reply.payload,
            xid_v6(xid),
        ) {
            Ok(decoded) => decoded,
            Err(e) => return Some(Err(format!("v6 reply refused by the client decoder: {e}"))),
        };
        Some(classify(
            configs,
            boot.uri.as_deref(),
            boot.certificate.as_deref(),
            |c| info.server_duid == c.duid,
        ))
    } else {
        if reply.dst_port != dhcpv4::CLIENT_PORT
            || reply.payload.get(4..8) != Some(&xid.to_be_bytes()[..])
        {
            return None;
        }
        let (info, boot) = match client::decode_v4_reply(
            WireFormat::Draft00,
            V4_URI,
            V4_CERT,
            &reply.payload,
            xid,
        ) {
            Ok(decoded) => decoded,
            Err(e) => return Some(Err(format!("v4 reply refused by the client decoder: {e}"))),
        };
        Some(classify(
            configs,
            boot.uri.as_deref(),
            boot.certificate.as_deref(),
            |c| info.server_id == c.server_id && reply.src == IpAddr::V4(c.server_id),
        ))
    }
}
