//! The slow path's relay (`[slow_path] mode = "relay"`) between a client and a real Kea 2.2,
//! across three namespaces (`relay_topology`): client <-veth-> relay (`lwm2m-xdp run`,
//! generic XDP on the client link) <-veth-> upstream (kea-dhcp4 / kea-dhcp6).
//!
//! The client is the raw AF_PACKET socket of `peers`, so every octet it sends is the test's
//! and every reply is checked on the wire (addresses, ports, checksums) and decoded with
//! dhcproto. What the fast path does not answer (DISCOVER, REQUEST, SOLICIT) is passed by the
//! XDP program (`passed_not_info_request`), reaches the relay's sockets, goes to Kea with
//! giaddr / in a Relay-forward, and Kea's answer comes back through the relay; an INFORM that
//! asks for the LwM2M options is still answered by XDP itself. The relay's counters are read
//! three ways: `stats --json`, a scrape of `--metrics`, and the summary `run` logs at exit.
//!
//! What real Kea 2.2 needed: `dhcp-socket-type = "udp"` for relayed DHCPv4 (the default raw
//! socket is for directly connected clients), a route back to giaddr's subnet (it answers
//! giaddr:67), and for DHCPv6 `"<if>/<address>"` in `interfaces`, or it does not listen on
//! the unicast address the relay sends to. It selects the subnet by giaddr and by the
//! Relay-forward's link-address.

use lwm2m_xdp_tests::config_file::ConfigFile;
use lwm2m_xdp_tests::peers::xid;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use dhcproto::{v4 as d4, v6 as d6, Decodable, Decoder, Encodable};
use lwm2m_xdp::client;
use lwm2m_xdp::config::WireFormat;
use lwm2m_xdp_tests::peers::{self, Ethernet, RawSocket, UdpFrame};
use lwm2m_xdp_tests::relay_topology::{Kea, KeaFamily, RelayTopology};
use lwm2m_xdp_tests::running::{count, Running};
use lwm2m_xdp_tests::{http, skip_unless_root, ScratchDir, Side};
use serde_json::{json, Value};
use xdp_common::wire::{dhcpv4, dhcpv6};

/// Kea from start to "started".
const KEA_LIMIT: Duration = Duration::from_secs(15);
/// Client -> relay -> Kea -> relay -> client over veth takes milliseconds; this bounds a
/// lost one.
const REPLY_LIMIT: Duration = Duration::from_secs(3);
/// Requests sent before giving up, each waiting [`REPLY_LIMIT`].
const ATTEMPTS: usize = 3;

const LWM2M_CODES: [u8; 2] = [
    dhcpv4::DEFAULT_URI_OPTION,
    dhcpv4::DEFAULT_CERTIFICATE_OPTION,
];

fn uri(topo: &RelayTopology) -> String {
    format!("coaps://{}:5684", topo.pair.ipv4(Side::Server))
}

/// Both families served by the fast path on the relay's client end (generic mode), and the
/// slow path relayed to `v4` / `v6`.
fn relay_config(topo: &RelayTopology, v4: &[Ipv4Addr], v6: &[Ipv6Addr]) -> String {
    let list = |addrs: Vec<String>| {
        addrs
            .iter()
            .map(|a| format!("\"{a}\""))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let v4 = list(v4.iter().map(ToString::to_string).collect());
    let v6 = list(v6.iter().map(ToString::to_string).collect());
    ConfigFile::new(&uri(topo), &topo.pair.server_if)
        .certificate(1000)
        .lwm2m("wire_format", "draft-00")
        .lwm2m("policy", "complete")
        .then(&format!(
            "[slow_path]\nmode = \"relay\"\ndhcpv4_servers = [{v4}]\ndhcpv6_servers = [{v6}]\n"
        ))
        .text()
}

fn kea_logger(name: &str, log: &Path) -> Value {
    json!([{
        "name": name,
        "output_options": [{ "output": log.display().to_string() }],
        "severity": "DEBUG",
        "debuglevel": 40
    }])
}

/// kea-dhcp4 on the upstream end: UDP sockets (relayed traffic only), in-memory leases, one
/// subnet for the client link (giaddr's) with a pool of 51 addresses.
fn kea4_config(topo: &RelayTopology, log: &Path) -> String {
    let client_net = topo.pair.ipv4(Side::Client).octets();
    let net = |host: u8| Ipv4Addr::new(client_net[0], client_net[1], client_net[2], host);
    json!({ "Dhcp4": {
        "interfaces-config": {
            "interfaces": [topo.upstream_if],
            "dhcp-socket-type": "udp"
        },
        "lease-database": { "type": "memfile", "persist": false },
        "valid-lifetime": 600,
        "renew-timer": 200,
        "rebind-timer": 400,
        "subnet4": [{
            "id": 1,
            "subnet": format!("{}/24", net(0)),
            "pools": [{ "pool": format!("{} - {}", net(100), net(150)) }]
        }],
        "loggers": kea_logger("kea-dhcp4", log)
    }})
    .to_string()
}

/// The DHCPv4 pool [`kea4_config`] hands out from.
fn in_v4_pool(topo: &RelayTopology, addr: Ipv4Addr) -> bool {
    let (net, host) = (topo.pair.ipv4(Side::Client).octets(), addr.octets());
    net[..3] == host[..3] && (100..=150).contains(&host[3])
}

/// kea-dhcp6 on the upstream end, listening on its global address (where the relay sends),
/// one subnet for the client link (the Relay-forward's link-address) with a pool.
fn kea6_config(topo: &RelayTopology, log: &Path) -> String {
    let subnet = topo.pair.subnet;
    json!({ "Dhcp6": {
        "interfaces-config": {
            "interfaces": [format!("{}/{}", topo.upstream_if, topo.upstream_ipv6())]
        },
        "server-id": { "type": "LLT", "persist": false },
        "lease-database": { "type": "memfile", "persist": false },
        "preferred-lifetime": 300,
        "valid-lifetime": 600,
        "renew-timer": 100,
        "rebind-timer": 200,
        "subnet6": [{
            "id": 1,
            "subnet": format!("2001:db8:{subnet:x}::/64"),
            "pools": [{ "pool": format!("2001:db8:{subnet:x}::1000 - 2001:db8:{subnet:x}::1fff") }]
        }],
        "loggers": kea_logger("kea-dhcp6", log)
    }})
    .to_string()
}

fn in_v6_pool(topo: &RelayTopology, addr: Ipv6Addr) -> bool {
    let s = addr.segments();
    s[..3] == [0x2001, 0xdb8, topo.pair.subnet]
        && s[3..7] == [0; 4]
        && (0x1000..=0x1fff).contains(&s[7])
}

/// Where `run` serves metrics, in the relay's namespace.
const METRICS: &str = "127.0.0.1:9417";

/// `lwm2m-xdp run` in the relay namespace with the relay's logs at debug and metrics on
/// [`METRICS`], once its relay sockets are bound (in a task of its own, just after
/// attaching).
fn start_relay<'a>(topo: &'a RelayTopology, config: PathBuf, tag: &str) -> Running<'a> {
    let run = Running::start_with_args(
        &topo.pair,
        config,
        tag,
        &[("RUST_LOG", "info,lwm2m_xdp::relay=debug")],
        &["--metrics", METRICS],
    );
    run.wait_log("relay sockets bound", |log| {
        log.contains("relay: DHCPv4 on") || log.contains("relay: DHCPv6 on")
    });
    run
}

/// Stops `run` (exit 0, no program left); its whole log, which must end with the relay's
/// summary.
fn stop_relay(run: Running) -> String {
    let log = run.stop();
    assert!(
        log.contains("relay: stopped"),
        "no relay summary in run's log:\n{log}"
    );
    log
}

/// From run's closing line "relay: stopped; DHCPv4 forwarded 2, relayed 2, ...; DHCPv6 ...":
/// the number after `name` in `family`'s part.
fn relay_count(log: &str, family: &str, name: &str) -> u64 {
    let line = log
        .lines()
        .find(|l| l.contains("relay: stopped;"))
        .unwrap_or_else(|| panic!("no relay summary in run's log:\n{log}"));
    let part = line
        .split(';')
        .find_map(|p| p.trim().strip_prefix(family))
        .unwrap_or_else(|| panic!("no {family} in {line:?}"));
    part.split(',')
        .find_map(|item| item.trim().strip_prefix(name)?.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {name} count in {part:?}"))
}

/// `stats["relay"][family][name]` of `stats --json`.
fn relay_stat(stats: &Value, family: &str, name: &str) -> u64 {
    stats["relay"][family][name]
        .as_u64()
        .unwrap_or_else(|| panic!("no relay.{family}.{name} in stats --json: {stats}"))
}

/// Waits until `stats --json` shows the relay's `family` counters as `expected`
/// ((name, value) pairs), then checks a scrape of `--metrics` says the same.
fn check_relay_counters(
    topo: &RelayTopology,
    run: &Running,
    family: &str,
    expected: &[(&str, u64)],
) {
    let stats = run.wait_stats(&format!("relay.{family} = {expected:?}"), |s| {
        expected
            .iter()
            .all(|(name, value)| relay_stat(s, family, name) == *value)
    });
    let scrape = http::request(
        &topo.pair.server_ns,
        METRICS.parse().unwrap(),
        "GET",
        "/metrics",
    )
    .expect("scrape the relay's metrics");
    assert_eq!(scrape.status, 200, "{scrape:?}");
    for (name, value) in expected {
        let got = if *name == "send_errors" {
            http::sample(
                &scrape.body,
                "lwm2m_xdp_relay_send_errors_total",
                &format!("family=\"{family}\""),
            )
        } else {
            http::sample(
                &scrape.body,
                "lwm2m_xdp_relay_messages_total",
                &format!("family=\"{family}\",outcome=\"{name}\""),
            )
        };
        assert_eq!(
            got,
            Some(*value),
            "relay {family} {name} in /metrics (stats: {stats}):\n{}",
            scrape.body
        );
    }
}

/// Three namespaces, client checksums off, a scratch directory.
fn setup(tag: &str) -> (RelayTopology, ScratchDir) {
    let topo = RelayTopology::new(tag).expect("relay topology");
    peers::client_tx_checksums_off(&topo.pair).expect("client checksums");
    let scratch = ScratchDir::new(tag).expect("scratch dir");
    (topo, scratch)
}

fn start_kea(topo: &RelayTopology, scratch: &ScratchDir, family: KeaFamily) -> Kea {
    let (name, config) = match family {
        KeaFamily::V4 => ("kea4", kea4_config as fn(&RelayTopology, &Path) -> String),
        KeaFamily::V6 => ("kea6", kea6_config as fn(&RelayTopology, &Path) -> String),
    };
    let log = scratch.path().join(format!("{name}.log"));
    let file = scratch
        .write(&format!("{name}.json"), &config(topo, &log))
        .unwrap();
    Kea::start(
        |cmd| topo.upstream_command(cmd),
        family,
        &file,
        &log,
        scratch.path(),
        KEA_LIMIT,
    )
    .unwrap_or_else(|e| panic!("{e:#}"))
}

/// [`RawSocket::exchange`]'s attempts and wait for each reply, this file's patience.
const PATIENCE: (usize, Duration) = (ATTEMPTS, REPLY_LIMIT);

/// A client's BOOTREQUEST, padded to 300 octets (RFC 1542 §3.4), broadcast from 0.0.0.0.
fn v4_frame(topo: &RelayTopology, msg: &d4::Message) -> Vec<u8> {
    let mut bootp = msg.to_vec().expect("encode");
    bootp.resize(bootp.len().max(dhcpv4::MIN_MESSAGE_LEN), 0);
    peers::client_v4_broadcast(
        &topo.pair,
        vec![],
        Ipv4Addr::UNSPECIFIED,
        dhcpv4::CLIENT_PORT,
        &bootp,
    )
}

fn client_message(topo: &RelayTopology, xid: u32, kind: d4::MessageType) -> d4::Message {
    let mac = topo.pair.mac(Side::Client);
    let zero = Ipv4Addr::UNSPECIFIED;
    let mut msg = d4::Message::new_with_id(xid, zero, zero, zero, zero, &mac);
    msg.opts_mut().insert(d4::DhcpOption::MessageType(kind));
    msg.opts_mut().insert(d4::DhcpOption::ClientIdentifier(
        [&[1u8][..], &mac].concat(),
    ));
    msg.opts_mut()
        .insert(d4::DhcpOption::ParameterRequestList(vec![
            d4::OptionCode::SubnetMask,
            d4::OptionCode::Router,
        ]));
    msg
}

/// Accepts the BOOTREPLY of type `kind` for `xid`.
fn bootreply(
    xid: u32,
    kind: d4::MessageType,
) -> impl FnMut(&UdpFrame) -> Result<d4::Message, String> {
    move |f| {
        if f.dst_port != dhcpv4::CLIENT_PORT {
            return Err(format!("to port {}", f.dst_port));
        }
        let msg = d4::Message::decode(&mut Decoder::new(&f.payload)).map_err(|e| e.to_string())?;
        if msg.xid() != xid || msg.opcode() != d4::Opcode::BootReply {
            return Err(format!("xid {:#x} op {:?}", msg.xid(), msg.opcode()));
        }
        match msg.opts().msg_type() {
            Some(t) if t == kind => Ok(msg),
            other => Err(format!("message type {other:?}, expected {kind:?}")),
        }
    }
}

/// How a relayed BOOTREPLY must look on the client's wire: from the relay's client end,
/// port 67, broadcast (no ARP entry for yiaddr yet), giaddr the relay's, an address from
/// Kea's pool, Kea's address as server identifier.
fn check_relayed_v4(topo: &RelayTopology, frame: &UdpFrame, msg: &d4::Message) -> Ipv4Addr {
    let relay = topo.pair.ipv4(Side::Server);
    assert_eq!(
        frame.l2.src,
        topo.pair.mac(Side::Server),
        "source MAC: the relay"
    );
    assert_eq!(frame.l2.dst, Ethernet::BROADCAST, "destination MAC");
    assert_eq!(
        frame.src,
        IpAddr::V4(relay),
        "source: the relay's client end"
    );
    assert_eq!(frame.dst, IpAddr::V4(Ipv4Addr::BROADCAST), "destination");
    assert_eq!((frame.src_port, frame.dst_port), (67, 68));
    assert_eq!(msg.giaddr(), relay, "giaddr: the relay's");
    assert_eq!(msg.chaddr(), topo.pair.mac(Side::Client), "chaddr");
    assert!(
        in_v4_pool(topo, msg.yiaddr()),
        "yiaddr {} not from Kea's pool",
        msg.yiaddr()
    );
    match msg.opts().get(d4::OptionCode::ServerIdentifier) {
        Some(d4::DhcpOption::ServerIdentifier(id)) => {
            assert_eq!(*id, topo.upstream_ipv4(), "server identifier: Kea")
        }
        other => panic!("server identifier: {other:?}"),
    }
    msg.yiaddr()
}

/// DISCOVER -> OFFER and REQUEST -> ACK between the raw client and Kea through the relay,
/// while an INFORM for the LwM2M options is answered by XDP on the relay itself; a
/// truncated request and a BOOTREPLY forged by the client are counted, not relayed.
#[test]
fn dhcpv4_is_relayed_to_kea_while_xdp_answers_inform() {
    skip_unless_root!("netns_relay::dhcpv4_is_relayed_to_kea_while_xdp_answers_inform");
    let (topo, scratch) = setup("relay4");
    let kea = start_kea(&topo, &scratch, KeaFamily::V4);
    let config = scratch
        .write(
            "lwm2m-xdp.toml",
            &relay_config(&topo, &[topo.upstream_ipv4()], &[]),
        )
        .unwrap();
    let run = start_relay(&topo, config, "relay4");
    let socket =
        RawSocket::open(&topo.pair.client_ns, topo.pair.ifindex(Side::Client)).expect("raw socket");

    // 1. DISCOVER -> OFFER.
    let xid1 = xid(1);
    let discover = client_message(&topo, xid1, d4::MessageType::Discover);
    let (frame, offer) = socket.exchange(
        &v4_frame(&topo, &discover),
        "DHCPOFFER",
        PATIENCE,
        bootreply(xid1, d4::MessageType::Offer),
    );
    let offered = check_relayed_v4(&topo, &frame, &offer);

    // 2. REQUEST (SELECTING) -> ACK for the offered address.
    let xid2 = xid(2);
    let mut request = client_message(&topo, xid2, d4::MessageType::Request);
    request
        .opts_mut()
        .insert(d4::DhcpOption::RequestedIpAddress(offered));
    request
        .opts_mut()
        .insert(d4::DhcpOption::ServerIdentifier(topo.upstream_ipv4()));
    let (frame, ack) = socket.exchange(
        &v4_frame(&topo, &request),
        "DHCPACK",
        PATIENCE,
        bootreply(xid2, d4::MessageType::Ack),
    );
    assert_eq!(
        check_relayed_v4(&topo, &frame, &ack),
        offered,
        "ACK for the offered address"
    );
    assert!(
        kea.log_text().contains("DHCP4_LEASE_ALLOC"),
        "Kea did not log the lease:\n{}",
        kea.log_text()
    );

    // 3. The fast path still answers an INFORM for the LwM2M options, from the relay's
    // address (not Kea's), unicast to ciaddr.
    let xid3 = xid(3);
    let ciaddr = topo.pair.ipv4(Side::Client);
    let mac = topo.pair.mac(Side::Client);
    let inform = peers::client_v4_broadcast(
        &topo.pair,
        vec![],
        ciaddr,
        dhcpv4::CLIENT_PORT,
        &client::build_inform(xid3, mac, ciaddr, &LWM2M_CODES, Some(1500)),
    );
    let (frame, (info, got)) = socket.exchange(&inform, "DHCPACK from XDP", PATIENCE, |f| {
        client::decode_v4_reply(
            WireFormat::Draft00,
            LWM2M_CODES[0],
            LWM2M_CODES[1],
            &f.payload,
            xid3,
        )
        .map_err(|e| e.to_string())
    });
    assert_eq!(
        info.server_id,
        topo.pair.ipv4(Side::Server),
        "option 54: the relay host"
    );
    assert_eq!(frame.dst, IpAddr::V4(ciaddr));
    assert_eq!(got.uri.as_deref(), Some(uri(&topo).as_str()));
    let stats = run.wait_stats("v4.answered >= 1 and 2 passed", |s| {
        count(s, "v4", "answered") >= 1 && count(s, "v4", "passed_not_info_request") >= 2
    });
    assert_eq!(count(&stats, "v4", "malformed"), 0, "{stats}");

    // 4. Not relayed: a request cut to 100 octets, and a BOOTREPLY from the client side.
    let cut = peers::client_v4_broadcast(
        &topo.pair,
        vec![],
        Ipv4Addr::UNSPECIFIED,
        dhcpv4::CLIENT_PORT,
        &discover.to_vec().unwrap()[..100],
    );
    socket.send(&cut).expect("send the cut request");
    run.wait_log("the cut request counted malformed", |log| {
        log.contains("malformed from 0.0.0.0:68")
    });
    let mut forged = offer.clone();
    forged.set_xid(xid(4));
    let forged_frame = peers::client_v4_broadcast(
        &topo.pair,
        vec![],
        ciaddr,
        dhcpv4::SERVER_PORT,
        &forged.to_vec().unwrap(),
    );
    socket.send(&forged_frame).expect("send the forged reply");
    run.wait_log("the forged BOOTREPLY dropped", |log| {
        log.contains("BOOTREPLY not from a configured server")
    });
    check_relay_counters(
        &topo,
        &run,
        "v4",
        &[
            ("forwarded", 2),
            ("relayed", 2),
            ("malformed", 1),
            ("dropped", 1),
            ("send_errors", 0),
        ],
    );

    let log = stop_relay(run);
    assert_eq!(
        relay_count(&log, "DHCPv4", "forwarded"),
        2,
        "DISCOVER and REQUEST"
    );
    assert_eq!(relay_count(&log, "DHCPv4", "relayed"), 2, "OFFER and ACK");
    assert_eq!(relay_count(&log, "DHCPv4", "malformed"), 1);
    assert_eq!(relay_count(&log, "DHCPv4", "dropped"), 1);
    assert_eq!(relay_count(&log, "DHCPv4", "send errors"), 0);
    drop(kea);
}

/// SIGHUP: the server list is swapped in place (a DISCOVER forwarded to an address where
/// no server is gets no OFFER; after the reload to Kea's address it does); a new family
/// remakes the sockets and DHCPv4 still goes through; `mode = "local"` stops the relay.
#[test]
fn sighup_points_the_relay_at_new_servers() {
    skip_unless_root!("netns_relay::sighup_points_the_relay_at_new_servers");
    let (topo, scratch) = setup("relayhup");
    let _kea = start_kea(&topo, &scratch, KeaFamily::V4);
    let config = scratch
        .write(
            "lwm2m-xdp.toml",
            &relay_config(&topo, &[topo.nobody_ipv4()], &[]),
        )
        .unwrap();
    let run = start_relay(&topo, config, "relayhup");
    let socket =
        RawSocket::open(&topo.pair.client_ns, topo.pair.ifindex(Side::Client)).expect("raw socket");

    let xid1 = xid(11);
    let discover = client_message(&topo, xid1, d4::MessageType::Discover);
    socket.send(&v4_frame(&topo, &discover)).expect("send");
    run.wait_log("the DISCOVER forwarded to the dead address", |log| {
        log.contains(&format!("xid {xid1:#010x}")) && log.contains(&topo.nobody_ipv4().to_string())
    });
    let answered = socket
        .receive(Duration::from_secs(2), |bytes| {
            peers::dhcp_client_reply(bytes)
                .ok()
                .flatten()
                .and_then(|f| bootreply(xid1, d4::MessageType::Offer)(&f).ok())
        })
        .expect("receive");
    assert!(
        answered.is_none(),
        "an OFFER with no server configured: {answered:?}"
    );

    run.reload(&relay_config(&topo, &[topo.upstream_ipv4()], &[]));
    let xid2 = xid(12);
    let discover = client_message(&topo, xid2, d4::MessageType::Discover);
    let (frame, offer) = socket.exchange(
        &v4_frame(&topo, &discover),
        "DHCPOFFER after the reload",
        PATIENCE,
        bootreply(xid2, d4::MessageType::Offer),
    );
    check_relayed_v4(&topo, &frame, &offer);

    // A DHCPv6 server too: the sockets are made anew (the new ones bind after the old ones
    // closed) and DHCPv4 still goes through.
    let with_v6 = relay_config(&topo, &[topo.upstream_ipv4()], &[topo.upstream_ipv6()]);
    run.reload(&with_v6);
    run.wait_log("the sockets made anew", |log| {
        log.matches("relay: DHCPv4 on").count() == 2 && log.contains("relay: DHCPv6 on")
    });
    let xid3 = xid(13);
    let discover = client_message(&topo, xid3, d4::MessageType::Discover);
    let (frame, offer) = socket.exchange(
        &v4_frame(&topo, &discover),
        "DHCPOFFER after the sockets were made anew",
        PATIENCE,
        bootreply(xid3, d4::MessageType::Offer),
    );
    check_relayed_v4(&topo, &frame, &offer);

    // mode = "local": the relay stops; a DISCOVER is passed by XDP and nobody forwards it.
    run.reload(&with_v6.replace("mode = \"relay\"", "mode = \"local\""));
    run.wait_log("the relay stopping", |log| log.contains("relay: stopping"));
    let xid4 = xid(14);
    let discover = client_message(&topo, xid4, d4::MessageType::Discover);
    socket.send(&v4_frame(&topo, &discover)).expect("send");
    let answered = socket
        .receive(Duration::from_secs(1), |bytes| {
            peers::dhcp_client_reply(bytes)
                .ok()
                .flatten()
                .and_then(|f| bootreply(xid4, d4::MessageType::Offer)(&f).ok())
        })
        .expect("receive");
    assert!(answered.is_none(), "an OFFER in mode local: {answered:?}");

    let log = stop_relay(run);
    assert!(
        !log.contains(&format!("xid {xid4:#010x}")),
        "the DISCOVER was relayed in mode local:\n{log}"
    );
    assert_eq!(relay_count(&log, "DHCPv4", "forwarded"), 3);
    assert_eq!(relay_count(&log, "DHCPv4", "relayed"), 2);
}

/// A DHCPv6 client message to ff02::1:2 from the client's link-local address.
fn v6_frame(topo: &RelayTopology, msg: &d6::Message) -> Vec<u8> {
    peers::client_v6_multicast(&topo.pair, &msg.to_vec().expect("encode"))
}

fn v6_message(
    topo: &RelayTopology,
    kind: d6::MessageType,
    xid: [u8; 3],
    ia: d6::IANA,
) -> d6::Message {
    let mut msg = d6::Message::new_with_id(kind, xid);
    let duid = lwm2m_xdp::ifaces::duid_ll(topo.pair.mac(Side::Client));
    msg.opts_mut().insert(d6::DhcpOption::ClientId(duid));
    msg.opts_mut().insert(d6::DhcpOption::ElapsedTime(0));
    msg.opts_mut().insert(d6::DhcpOption::IANA(ia));
    msg
}

/// Accepts the DHCPv6 message of type `kind` for `xid`.
fn v6_reply(
    xid: [u8; 3],
    kind: d6::MessageType,
) -> impl FnMut(&UdpFrame) -> Result<d6::Message, String> {
    move |f| {
        if f.dst_port != dhcpv6::CLIENT_PORT {
            return Err(format!("to port {}", f.dst_port));
        }
        let msg = d6::Message::decode(&mut Decoder::new(&f.payload)).map_err(|e| e.to_string())?;
        if msg.xid() != xid || msg.msg_type() != kind {
            return Err(format!("{:?} xid {:?}", msg.msg_type(), msg.xid()));
        }
        Ok(msg)
    }
}

/// The address in the first IA_NA, with Kea's Server Identifier.
fn leased_v6(msg: &d6::Message) -> (Ipv6Addr, Vec<u8>) {
    let server_id = match msg.opts().get(d6::OptionCode::ServerId) {
        Some(d6::DhcpOption::ServerId(id)) => id.clone(),
        other => panic!("Server Identifier: {other:?} in {msg:?}"),
    };
    let addr = match msg.opts().get(d6::OptionCode::IANA) {
        Some(d6::DhcpOption::IANA(ia)) => match ia.opts.get(d6::OptionCode::IAAddr) {
            Some(d6::DhcpOption::IAAddr(a)) => a.addr,
            other => panic!("IA_NA without an address ({other:?}): {msg:?}"),
        },
        other => panic!("IA_NA: {other:?} in {msg:?}"),
    };
    (addr, server_id)
}

/// SOLICIT -> ADVERTISE and REQUEST -> REPLY between the raw client and kea-dhcp6 through the
/// relay's Relay-forward / Relay-reply; the answers reach the client's link-local address
/// from the relay's, ports 547 -> 546.
#[test]
fn dhcpv6_is_relayed_to_kea() {
    skip_unless_root!("netns_relay::dhcpv6_is_relayed_to_kea");
    let (topo, scratch) = setup("relay6");
    let kea = start_kea(&topo, &scratch, KeaFamily::V6);
    let config = scratch
        .write(
            "lwm2m-xdp.toml",
            &relay_config(&topo, &[], &[topo.upstream_ipv6()]),
        )
        .unwrap();
    let run = start_relay(&topo, config, "relay6");
    let socket =
        RawSocket::open(&topo.pair.client_ns, topo.pair.ifindex(Side::Client)).expect("raw socket");
    let ia = |opts: d6::DhcpOptions| d6::IANA {
        id: 1,
        t1: 0,
        t2: 0,
        opts,
    };
    let check_frame = |frame: &UdpFrame| {
        assert_eq!(
            frame.src,
            IpAddr::V6(topo.pair.ipv6_link_local(Side::Server)),
            "source: the relay's link-local address"
        );
        assert_eq!(
            frame.dst,
            IpAddr::V6(topo.pair.ipv6_link_local(Side::Client)),
            "destination: the client's source address (peer-address)"
        );
        assert_eq!((frame.src_port, frame.dst_port), (547, 546));
        assert_eq!(frame.l2.dst, topo.pair.mac(Side::Client));
    };

    let full = xid(21).to_be_bytes();
    let xid1 = [full[1], full[2], full[3]];
    let solicit = v6_message(
        &topo,
        d6::MessageType::Solicit,
        xid1,
        ia(d6::DhcpOptions::new()),
    );
    let (frame, advertise) = socket.exchange(
        &v6_frame(&topo, &solicit),
        "ADVERTISE",
        PATIENCE,
        v6_reply(xid1, d6::MessageType::Advertise),
    );
    check_frame(&frame);
    let (offered, server_id) = leased_v6(&advertise);
    assert!(
        in_v6_pool(&topo, offered),
        "{offered} is not from Kea's pool"
    );

    let full = xid(22).to_be_bytes();
    let xid2 = [full[1], full[2], full[3]];
    let mut addr = d6::DhcpOptions::new();
    addr.insert(d6::DhcpOption::IAAddr(d6::IAAddr {
        addr: offered,
        preferred_life: 0,
        valid_life: 0,
        opts: d6::DhcpOptions::new(),
    }));
    let mut request = v6_message(&topo, d6::MessageType::Request, xid2, ia(addr));
    request
        .opts_mut()
        .insert(d6::DhcpOption::ServerId(server_id.clone()));
    let (frame, reply) = socket.exchange(
        &v6_frame(&topo, &request),
        "REPLY",
        PATIENCE,
        v6_reply(xid2, d6::MessageType::Reply),
    );
    check_frame(&frame);
    assert_eq!(
        leased_v6(&reply),
        (offered, server_id),
        "REPLY for the advertised address"
    );
    assert!(
        kea.log_text().contains("DHCP6_LEASE_ALLOC"),
        "Kea did not log the lease:\n{}",
        kea.log_text()
    );

    let stats = run.wait_stats("v6.passed_not_info_request >= 2", |s| {
        count(s, "v6", "passed_not_info_request") >= 2
    });
    assert_eq!(count(&stats, "v6", "answered"), 0, "{stats}");
    check_relay_counters(
        &topo,
        &run,
        "v6",
        &[("forwarded", 2), ("relayed", 2), ("malformed", 0)],
    );
    check_relay_counters(&topo, &run, "v4", &[("forwarded", 0)]);
    let log = stop_relay(run);
    assert_eq!(
        relay_count(&log, "DHCPv6", "forwarded"),
        2,
        "SOLICIT and REQUEST"
    );
    assert_eq!(
        relay_count(&log, "DHCPv6", "relayed"),
        2,
        "ADVERTISE and REPLY"
    );
    assert_eq!(relay_count(&log, "DHCPv6", "malformed"), 0);
    assert_eq!(
        relay_count(&log, "DHCPv4", "forwarded"),
        0,
        "no DHCPv4 server: not relayed"
    );
}
