//! `lwm2m-xdp kea-config --family v4|v6` against the real Kea 2.2, for every wire format:
//! the printed config is accepted by `kea-dhcp4 -t` / `kea-dhcp6 -t` as it is, and Kea
//! started with it (after the edits an operator makes: the placeholder subnet, and for the
//! test leases and server DUID in memory, the log in the scratch directory) answers a
//! DHCPINFORM / INFORMATION-REQUEST from a raw-socket client with the fast path's bytes
//! (`lwm2m_xdp::compile::compile`, what `encode` prints and the maps hold).
//!
//! Kea is the server end of a plain pair here, with no XDP program: the slow path alone.
//! What Kea 2.2 showed (kea.rs has the consequences):
//! - `-t` fails for an interface that does not exist, so it runs in the server namespace.
//! - A DHCPINFORM from a client in no configured subnet is dropped
//!   (DHCP4_PACKET_DROP_0002), so the placeholder subnet must be edited; an
//!   INFORMATION-REQUEST is answered without one.
//! - A DHCPv4 option longer than 255 octets goes out split into options of 253 data octets,
//!   and only one `option-data` entry per code is sent.

use lwm2m_xdp_tests::peers::xid;
use lwm2m_xdp_tests::text;
use std::net::Ipv4Addr;
use std::path::Path;
use std::time::Duration;

use lwm2m_xdp::client;
use lwm2m_xdp::compile::{self, EncodedOption};
use lwm2m_xdp::config::{Config, WireFormat};
use lwm2m_xdp::kea::KEA_V4_SPLIT_DATA;
use lwm2m_xdp::options::{self, NAME_CERTIFICATE};
use lwm2m_xdp_tests::peers::{self, RawSocket};
use lwm2m_xdp_tests::relay_topology::{Kea, KeaFamily};
use lwm2m_xdp_tests::{
    example_certificate, lwm2m_xdp_bin, skip_unless_root, NetnsPair, ScratchDir, Side,
};
use serde_json::{json, Value};
use xdp_common::maps::Family;
use xdp_common::wire::{dhcpv4, dhcpv6};

/// Kea from start to "started".
const KEA_LIMIT: Duration = Duration::from_secs(15);
/// `kea-dhcp4 -t` reads one file.
const CHECK_LIMIT: Duration = Duration::from_secs(20);
/// Kea answers over veth in milliseconds; this bounds a lost one.
const REPLY_LIMIT: Duration = Duration::from_secs(3);
const ATTEMPTS: usize = 3;

/// Requested besides the LwM2M codes, so that extra options are compared too.
const V4_EXTRA: u8 = 6;
const V6_EXTRA: u16 = 24;

/// The lwm2m-xdp config: URI, the 1000-octet certificate, one extra option per family and
/// an information refresh time, the pair's server end.
fn lwm2m_config(pair: &NetnsPair, format: WireFormat) -> String {
    format!(
        "[lwm2m]\n\
         bootstrap_uri = \"coaps://{server}:5684\"\n\
         certificate = \"{cert}\"\n\
         wire_format = \"{format}\"\n\
         [dhcpv4]\n\
         enabled = true\n\
         [[dhcpv4.extra_option]]\n\
         code = {V4_EXTRA}\n\
         ipv4 = [\"198.18.0.53\"]\n\
         [dhcpv6]\n\
         enabled = true\n\
         information_refresh_time = 86400\n\
         [[dhcpv6.extra_option]]\n\
         code = {V6_EXTRA}\n\
         domains = [\"example.net\"]\n\
         [[interface]]\n\
         name = \"{iface}\"\n",
        server = pair.ipv4(Side::Server),
        cert = example_certificate(1000).display(),
        iface = pair.server_if,
    )
}

/// The pair, both ends sending full checksums (Kea's UDP sockets and the raw client), a
/// scratch directory.
fn setup(tag: &str) -> (NetnsPair, ScratchDir) {
    let pair = NetnsPair::new(tag).expect("netns pair");
    peers::client_tx_checksums_off(&pair).expect("client checksums");
    let out = pair.exec_within(
        Side::Server,
        Duration::from_secs(10),
        &["ethtool", "-K", &pair.server_if, "tx", "off"],
    );
    assert!(out.status.success(), "ethtool: {}", text(&out.stderr));
    let scratch = ScratchDir::new(tag).expect("scratch dir");
    (pair, scratch)
}

/// `lwm2m-xdp kea-config --family FAMILY` of `config_file`, checked by `kea-dhcpN -t` as
/// printed (in the server namespace, where the config's interface exists); the parsed JSON.
fn printed_and_checked(
    pair: &NetnsPair,
    scratch: &ScratchDir,
    config_file: &Path,
    family: KeaFamily,
    format: WireFormat,
) -> Value {
    let flag = match family {
        KeaFamily::V4 => "v4",
        KeaFamily::V6 => "v6",
    };
    let out = std::process::Command::new(lwm2m_xdp_bin())
        .args(["kea-config", "--config"])
        .arg(config_file)
        .args(["--family", flag])
        .output()
        .expect("run lwm2m-xdp kea-config");
    assert!(
        out.status.success(),
        "kea-config --family {flag} ({format}): {}",
        text(&out.stderr)
    );
    let printed = scratch
        .write(
            &format!("kea-{flag}-{format}.json"),
            &String::from_utf8(out.stdout.clone()).expect("UTF-8"),
        )
        .unwrap();
    let kea = lwm2m_xdp_tests::relay_topology::kea_binary(family).expect("Kea installed");
    let check = pair.exec_within(
        Side::Server,
        CHECK_LIMIT,
        &[kea.to_str().unwrap(), "-t", printed.to_str().unwrap()],
    );
    assert!(
        check.status.success(),
        "{} -t rejects kea-config --family {flag} ({format}) as printed:\n{}\n{}\n{}",
        kea.display(),
        text(&check.stdout),
        text(&check.stderr),
        text(&out.stdout)
    );
    serde_json::from_slice(&out.stdout).expect("kea-config prints JSON")
}

/// The operator's edits: the link's subnet instead of the placeholder; and the test's: no
/// files outside the scratch directory (leases and DUID in memory, the log there).
fn edited(mut conf: Value, pair: &NetnsPair, family: KeaFamily, log: &Path) -> Value {
    let (root, logger) = match family {
        KeaFamily::V4 => ("Dhcp4", "kea-dhcp4"),
        KeaFamily::V6 => ("Dhcp6", "kea-dhcp6"),
    };
    let server = &mut conf[root];
    match family {
        KeaFamily::V4 => {
            let net = pair.ipv4(Side::Client).octets();
            let host = |h: u8| Ipv4Addr::new(net[0], net[1], net[2], h);
            server["subnet4"][0]["subnet"] = json!(format!("{}/24", host(0)));
            server["subnet4"][0]["pools"] =
                json!([{ "pool": format!("{} - {}", host(100), host(150)) }]);
        }
        KeaFamily::V6 => {
            let subnet = pair.subnet;
            server["subnet6"][0]["subnet"] = json!(format!("2001:db8:{subnet:x}::/64"));
            server["subnet6"][0]["pools"] = json!([{
                "pool": format!("2001:db8:{subnet:x}::1000 - 2001:db8:{subnet:x}::1fff")
            }]);
            server["server-id"] = json!({ "type": "LL", "persist": false });
        }
    }
    server["lease-database"] = json!({ "type": "memfile", "persist": false });
    server["loggers"] = json!([{
        "name": logger,
        "output_options": [{ "output": log.display().to_string() }],
        "severity": "DEBUG",
        "debuglevel": 40
    }]);
    conf
}

/// Kea started with the edited kea-config output of `format`.
fn start_kea(
    pair: &NetnsPair,
    scratch: &ScratchDir,
    family: KeaFamily,
    format: WireFormat,
) -> (Kea, Config) {
    let config_file = scratch
        .write(
            &format!("lwm2m-xdp-{format}.toml"),
            &lwm2m_config(pair, format),
        )
        .unwrap();
    let cfg = Config::load(&config_file).expect("the test's config is valid");
    let printed = printed_and_checked(pair, scratch, &config_file, family, format);
    let name = format!("kea-{family:?}-{format}");
    let log = scratch.path().join(format!("{name}.log"));
    let conf = edited(printed, pair, family, &log);
    let file = scratch
        .write(&format!("{name}.json"), &conf.to_string())
        .unwrap();
    let state = scratch.path().join(&name);
    std::fs::create_dir_all(&state).unwrap();
    let kea = Kea::start(
        |cmd| pair.command(Side::Server, cmd),
        family,
        &file,
        &log,
        &state,
        KEA_LIMIT,
    )
    .unwrap_or_else(|e| panic!("{e:#}"));
    (kea, cfg)
}

/// (code, data) of each DHCPv4 option instance in encoded bytes.
fn v4_instances(bytes: &[u8]) -> Vec<(u8, Vec<u8>)> {
    options::instances(Family::V4, bytes)
        .iter()
        .map(|i| {
            (
                u8::try_from(i.code).expect("a DHCPv4 code"),
                i.data.to_vec(),
            )
        })
        .collect()
}

/// Kea's instances of one code against the fast path's option: the same bytes where Kea
/// sends them unsplit; where Kea splits (a certificate over 255 octets), the same data
/// after the client's reassembly, in options of Kea's 253 octets.
fn compare_v4(format: WireFormat, option: &EncodedOption, kea: &[(u8, Vec<u8>)], der: &[u8]) {
    let code = u8::try_from(option.code).expect("a DHCPv4 code");
    let fast = v4_instances(&option.bytes);
    let kea: Vec<(u8, Vec<u8>)> = kea.iter().filter(|(c, _)| *c == code).cloned().collect();
    let fits = fast.len() == 1 && fast[0].1.len() <= KEA_V4_SPLIT_DATA;
    if option.name != NAME_CERTIFICATE || fits {
        assert!(
            kea == fast,
            "{format} {}: Kea sent {:?}, the fast path {:?}",
            option.name,
            kea,
            fast
        );
        return;
    }
    // Split: Kea's options are 253 octets but the last.
    let (last, full) = kea.split_last().expect("Kea sent the certificate");
    assert!(
        full.iter().all(|(_, d)| d.len() == KEA_V4_SPLIT_DATA) && last.1.len() <= KEA_V4_SPLIT_DATA,
        "{format}: Kea's split is no longer {KEA_V4_SPLIT_DATA} octets an option (kea.rs \
         relies on it): {:?}",
        kea.iter().map(|(_, d)| d.len()).collect::<Vec<_>>()
    );
    let pieces = |list: &[(u8, Vec<u8>)]| list.iter().map(|(_, d)| d.clone()).collect::<Vec<_>>();
    let (kea, fast) = (pieces(&kea), pieces(&fast));
    match format {
        WireFormat::Draft00 => {
            let reassemble = |parts: &[Vec<u8>]| {
                let refs: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
                client::reassemble_v4_certificate(format, &refs).expect("draft-00 fragments")
            };
            assert_eq!(reassemble(&kea), der, "draft-00: Kea's fragments");
            assert_eq!(
                reassemble(&fast),
                der,
                "draft-00: the fast path's fragments"
            );
        }
        WireFormat::Rfc3396 | WireFormat::Ietf00 => {
            assert!(
                kea.concat() == fast.concat(),
                "{format}: Kea's certificate data ({} octets) is not the fast path's ({})",
                kea.concat().len(),
                fast.concat().len()
            );
        }
    }
}

#[test]
fn kea_dhcp4_serves_the_fast_path_bytes_in_every_format() {
    skip_unless_root!("netns_kea::kea_dhcp4_serves_the_fast_path_bytes_in_every_format");
    let (pair, scratch) = setup("kea4");
    let socket = RawSocket::open(&pair.client_ns, pair.ifindex(Side::Client)).expect("raw socket");
    let der = std::fs::read(example_certificate(1000)).unwrap();
    let mac = pair.mac(Side::Client);
    let ciaddr = pair.ipv4(Side::Client);
    for (n, format) in WireFormat::ALL.into_iter().enumerate() {
        let (kea, cfg) = start_kea(&pair, &scratch, KeaFamily::V4, format);
        let (uri_code, cert_code) = (cfg.dhcpv4.uri_option, cfg.dhcpv4.certificate_option);
        let xid = xid(n as u32);
        let bootp = client::build_inform(
            xid,
            mac,
            ciaddr,
            &[uri_code, cert_code, V4_EXTRA],
            Some(1500),
        );
        let frame = peers::client_v4_broadcast(&pair, vec![], ciaddr, dhcpv4::CLIENT_PORT, &bootp);
        let (_, (info, got)) = socket.exchange(
            &frame,
            &format!("Kea's DHCPACK ({format})"),
            (ATTEMPTS, REPLY_LIMIT),
            |f| {
                client::decode_v4_reply(format, uri_code, cert_code, &f.payload, xid)
                    .map_err(|e| e.to_string())
            },
        );
        assert_eq!(
            info.server_id,
            pair.ipv4(Side::Server),
            "{format}: option 54"
        );
        assert_eq!(got.uri, cfg.lwm2m.bootstrap_uri, "{format}: URI");
        assert!(
            got.certificate.as_deref() == Some(&der[..]),
            "{format}: DER"
        );
        let compiled = compile::compile(&cfg).unwrap();
        assert_eq!(compiled.v4.len(), 3, "URI, certificate, option {V4_EXTRA}");
        for option in &compiled.v4 {
            compare_v4(format, option, &info.options, &der);
        }
        drop(kea);
    }
}

#[test]
fn kea_dhcp6_serves_the_fast_path_bytes_in_every_format() {
    skip_unless_root!("netns_kea::kea_dhcp6_serves_the_fast_path_bytes_in_every_format");
    let (pair, scratch) = setup("kea6");
    let socket = RawSocket::open(&pair.client_ns, pair.ifindex(Side::Client)).expect("raw socket");
    let der = std::fs::read(example_certificate(1000)).unwrap();
    let duid = lwm2m_xdp::ifaces::duid_ll(pair.mac(Side::Client));
    for (n, format) in WireFormat::ALL.into_iter().enumerate() {
        let (kea, cfg) = start_kea(&pair, &scratch, KeaFamily::V6, format);
        let (uri_code, cert_code) = (cfg.dhcpv6.uri_option, cfg.dhcpv6.certificate_option);
        let full = xid(n as u32).to_be_bytes();
        let xid = [full[1], full[2], full[3]];
        let msg = client::build_information_request(
            xid,
            &duid,
            &[
                uri_code,
                cert_code,
                V6_EXTRA,
                dhcpv6::OPT_INFORMATION_REFRESH_TIME,
            ],
        );
        let frame = peers::client_v6_multicast(&pair, &msg);
        let (_, (info, got)) = socket.exchange(
            &frame,
            &format!("Kea's REPLY ({format})"),
            (ATTEMPTS, REPLY_LIMIT),
            |f| {
                client::decode_v6_reply(format, uri_code, cert_code, &f.payload, xid)
                    .map_err(|e| e.to_string())
            },
        );
        assert_eq!(got.uri, cfg.lwm2m.bootstrap_uri, "{format}: URI");
        assert!(
            got.certificate.as_deref() == Some(&der[..]),
            "{format}: DER"
        );
        let compiled = compile::compile(&cfg).unwrap();
        assert_eq!(compiled.v6.len(), 4, "URI, certificate, {V6_EXTRA}, 32");
        for option in &compiled.v6 {
            let sent: Vec<Vec<u8>> = info
                .options
                .iter()
                .filter(|(c, _)| *c == option.code)
                .map(|(c, d)| {
                    let len = u16::try_from(d.len()).unwrap();
                    [&c.to_be_bytes()[..], &len.to_be_bytes(), d].concat()
                })
                .collect();
            assert!(
                sent == [option.bytes.clone()],
                "{format} {}: Kea sent {sent:02x?}, the fast path {:02x?}",
                option.name,
                option.bytes
            );
        }
        drop(kea);
    }
}
