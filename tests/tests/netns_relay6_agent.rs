//! Relayed DHCPv6 answered by the fast path, through real relay agents: ISC dhcrelay
//! (Debian's isc-dhcp-relay 4.4.3) in a namespace between the client and the router, or two
//! in a row (`relay_agent`: client <-veth-> agent(s) <-veth-> router, `lwm2m-xdp run` on the
//! router's end in generic mode). The router is not on the client's link: a REPLY can only
//! reach the client through dhcrelay.
//!
//! The client is the raw AF_PACKET socket of `peers` (then `lwm2m-xdp probe --v6`); a second
//! raw socket on the upper end of the agent nearest the router reads the Relay-reply XDP
//! sent, before dhcrelay takes it apart. Asserted: the client gets the URI and the
//! certificate (the config's bytes) in a REPLY from its agent's link-local address; the
//! Relay-reply came from the router's global address with one layer per agent (dhcrelay's
//! hop-count, link- and peer-address) and the same REPLY inside; `stats --json` counts each
//! request answered by the fast path and nothing passed. Cases: one dhcrelay to ff05::1:3
//! (and `probe --v6` through it), one with `-I` unicast to the router, two in a row, an agent
//! without a global address upstream (answered link-local to link-local), and a router
//! without one (`passed_no_global_address`).
//!
//! What dhcrelay 4.4.3 does here (`-6 -l LOWER -u UPPER`): the Relay-forward leaves from the
//! upper end's global address to ff05::1:3, hop limit 32 (`-u ADDRESS%UPPER`: to ADDRESS),
//! link-address the lower end's global address, peer-address the client's link-local; an
//! Interface-ID only with `-I`. Relaying another dhcrelay's Relay-forward it sets hop-count 1,
//! its own lower address as link-address, the other's source as peer-address. Its UDP
//! checksum is partial on veth (`tx off` in the topology). On generic-mode veth the 1.1 KB
//! Relay-reply fits in the Relay-forward's buffer only when the client pads its request (as
//! `probe --v6 --pad` does; ARCHITECTURE.md, "Traps"): without the pad XDP counts each bare
//! request `no_tailroom` and the TC fallback answers it (netns_tc shows that path); the pad
//! keeps these cases on XDP's relay path, whose counters they check.

use std::net::{IpAddr, Ipv6Addr};
use std::time::Duration;

use lwm2m_xdp::client::{self, Bootstrap, DhcpV6Info};
use lwm2m_xdp::config::WireFormat;
use lwm2m_xdp::ifaces::duid_ll;
use lwm2m_xdp_tests::config_file::ConfigFile;
use lwm2m_xdp_tests::peers::{self, xid, Ethernet, RawSocket, UdpFrame};
use lwm2m_xdp_tests::relay_agent::{AgentTopology, Dhcrelay};
use lwm2m_xdp_tests::running::{count, Running};
use lwm2m_xdp_tests::{
    bounded, example_certificate, lwm2m_xdp_bin, skip_unless_root, text, ScratchDir, Side,
};
use serde_json::Value;
use sha2::{Digest, Sha256};
use xdp_common::counters::REASON_NAMES;
use xdp_common::wire::{dhcpv6, ipv6};

/// dhcrelay from start to its sockets.
const DHCRELAY_LIMIT: Duration = Duration::from_secs(10);
/// client -> dhcrelay -> XDP -> dhcrelay -> client over veth takes milliseconds; this
/// bounds a lost one.
const REPLY_LIMIT: Duration = Duration::from_secs(3);
/// Requests sent before giving up, each waiting [`REPLY_LIMIT`].
const ATTEMPTS: usize = 3;
/// `probe`'s own timeout (seconds) and the hard limit around it.
const PROBE_TIMEOUT: &str = "3";
const PROBE_LIMIT: Duration = Duration::from_secs(15);
const V6_CODES: [u16; 2] = [
    dhcpv6::DEFAULT_URI_OPTION,
    dhcpv6::DEFAULT_CERTIFICATE_OPTION,
];
/// Vendor Class data that gives the Relay-forward room for the Relay-reply on veth
/// (netns_clients' pad for a direct request).
const PAD: u16 = 256;

fn certificate() -> Vec<u8> {
    std::fs::read(example_certificate(1000)).expect("read the example certificate")
}

fn uri(topo: &AgentTopology) -> String {
    format!("coaps://[{}]:5684", topo.pair.ipv6(Side::Server))
}

/// DHCPv6 only, on the router's end in generic mode.
fn config(topo: &AgentTopology) -> String {
    ConfigFile::new(&uri(topo), &topo.pair.server_if)
        .certificate(1000)
        .lwm2m("wire_format", "draft-00")
        .lwm2m("policy", "complete")
        .without_dhcpv4()
        .text()
}

/// The namespaces and a scratch directory.
struct Setup {
    topo: AgentTopology,
    scratch: ScratchDir,
}

fn setup(tag: &str, agents: usize) -> Setup {
    let topo = AgentTopology::new(tag, agents).expect("agent topology");
    let scratch = ScratchDir::new(tag).expect("scratch dir");
    Setup { topo, scratch }
}

/// dhcrelay on agent `i`, relaying to `upper`.
fn start_dhcrelay(s: &Setup, i: usize, upper: &str, args: &[&str]) -> Dhcrelay {
    let log = s.scratch.path().join(format!("dhcrelay-{i}.log"));
    Dhcrelay::start(&s.topo.agents[i], upper, args, &log, DHCRELAY_LIMIT)
        .unwrap_or_else(|e| panic!("{e:#}"))
}

/// Every v6 counter but `received` and `answered`: what must not move.
fn v6_not_answered(stats: &Value) -> Vec<(&'static str, u64)> {
    REASON_NAMES
        .iter()
        .filter(|n| !matches!(**n, "received" | "answered"))
        .map(|n| (*n, count(stats, "v6", n)))
        .collect()
}

/// The client's INFORMATION-REQUEST for the LwM2M options, padded, from its link-local
/// address to ff02::1:2 (hop limit 1).
fn information_request(topo: &AgentTopology, xid: [u8; 3]) -> Vec<u8> {
    let mut msg = client::build_information_request(xid, &duid_ll(topo.client.mac), &V6_CODES);
    client::pad_with_vendor_class(&mut msg, PAD);
    let group = ipv6::ALL_DHCP_RELAY_AGENTS_AND_SERVERS.into();
    peers::ipv6_udp_frame(
        &Ethernet {
            dst: Ethernet::ipv6_multicast(group),
            src: topo.client.mac,
            vlans: vec![],
        },
        topo.client.link_local,
        group,
        1,
        (dhcpv6::CLIENT_PORT, dhcpv6::SERVER_PORT),
        &msg,
    )
}

/// Sends the request until a REPLY for `xid` arrives (at most [`ATTEMPTS`] times); the reply
/// and how many requests were sent, or the last reason a frame was refused.
fn exchange(
    socket: &RawSocket,
    frame: &[u8],
    xid: [u8; 3],
) -> Result<(UdpFrame, DhcpV6Info, Bootstrap, u64), String> {
    let mut refused = None;
    for sent in 1..=ATTEMPTS {
        socket.send(frame).expect("send the request");
        let got = socket
            .receive(REPLY_LIMIT, |bytes| {
                let reply = match peers::dhcp_client_reply(bytes) {
                    Ok(reply) => reply?,
                    Err(why) => {
                        refused = Some(why);
                        return None;
                    }
                };
                match client::decode_v6_reply(
                    WireFormat::Draft00,
                    V6_CODES[0],
                    V6_CODES[1],
                    &reply.payload,
                    xid,
                ) {
                    Ok((info, bootstrap)) => Some((reply, info, bootstrap)),
                    Err(why) => {
                        refused = Some(why.to_string());
                        None
                    }
                }
            })
            .expect("receive");
        if let Some((reply, info, bootstrap)) = got {
            return Ok((reply, info, bootstrap, sent as u64));
        }
    }
    Err(refused.unwrap_or_else(|| "none came".into()))
}

/// One Relay-reply layer as read on the first agent's upper end.
#[derive(Debug)]
struct Layer {
    hop_count: u8,
    link: Ipv6Addr,
    peer: Ipv6Addr,
    interface_id: Option<Vec<u8>>,
}

/// A Relay-reply frame: its layers, outermost first, and the REPLY inside them.
struct RelayReply {
    frame: UdpFrame,
    layers: Vec<Layer>,
    reply: Vec<u8>,
}

/// The options of a DHCPv6 message, (code, data) in order.
fn options(mut rest: &[u8]) -> Result<Vec<(u16, Vec<u8>)>, String> {
    let mut out = Vec::new();
    while !rest.is_empty() {
        let head = rest
            .get(..dhcpv6::OPT_HDR_LEN)
            .ok_or_else(|| format!("{} stray octets", rest.len()))?;
        let code = u16::from_be_bytes([head[0], head[1]]);
        let len = usize::from(u16::from_be_bytes([head[2], head[3]]));
        let end = dhcpv6::OPT_HDR_LEN + len;
        let data = rest
            .get(dhcpv6::OPT_HDR_LEN..end)
            .ok_or_else(|| format!("option {code} (length {len}) runs past the end"))?;
        out.push((code, data.to_vec()));
        rest = &rest[end..];
    }
    Ok(out)
}

fn relay_reply(frame: UdpFrame) -> Result<RelayReply, String> {
    use dhcpv6::relay;
    if (frame.src_port, frame.dst_port) != (dhcpv6::SERVER_PORT, dhcpv6::SERVER_PORT)
        || frame.payload.first() != Some(&dhcpv6::MSG_RELAY_REPL)
    {
        return Err("not a Relay-reply".into());
    }
    let mut layers = Vec::new();
    let mut msg = frame.payload.clone();
    // Each layer is at least RELAY_HDR_LEN octets of the frame: bounded by its length.
    while msg.first() == Some(&dhcpv6::MSG_RELAY_REPL) {
        if msg.len() < dhcpv6::RELAY_HDR_LEN {
            return Err(format!("a {}-octet Relay-reply layer", msg.len()));
        }
        let addr = |f: std::ops::Range<usize>| {
            Ipv6Addr::from(<[u8; 16]>::try_from(&msg[f]).expect("16 octets"))
        };
        let opts = options(&msg[relay::OPTIONS])?;
        let find = |code| {
            opts.iter()
                .find(|(c, _)| *c == code)
                .map(|(_, d)| d.clone())
        };
        layers.push(Layer {
            hop_count: msg[relay::HOP_COUNT],
            link: addr(relay::LINK_ADDRESS),
            peer: addr(relay::PEER_ADDRESS),
            interface_id: find(dhcpv6::OPT_INTERFACE_ID),
        });
        msg = find(dhcpv6::OPT_RELAY_MSG).ok_or("a layer without Relay Message option")?;
    }
    Ok(RelayReply {
        frame,
        layers,
        reply: msg,
    })
}

/// The Relay-reply waiting on the agent's upper socket (it arrived before dhcrelay sent the
/// REPLY on).
fn read_relay_reply(upper: &RawSocket) -> RelayReply {
    let mut refused = None;
    let got = upper
        .receive(REPLY_LIMIT, |bytes| match peers::parse_udp_frame(bytes) {
            Ok(frame) => relay_reply(frame).map_err(|why| refused = Some(why)).ok(),
            Err(why) => {
                refused = Some(why);
                None
            }
        })
        .expect("receive on the agent's upper end");
    got.unwrap_or_else(|| {
        panic!(
            "no Relay-reply on the agent's upper end; last refused: {}",
            refused.as_deref().unwrap_or("none came")
        )
    })
}

/// All the relays' logs, for a failure message.
fn logs(relays: &[&Dhcrelay]) -> String {
    relays
        .iter()
        .enumerate()
        .map(|(i, r)| format!("dhcrelay on agent {i}:\n{}", r.log_text()))
        .collect()
}

/// Which address the agent nearest the router sends from, and so the router answers from.
#[derive(Clone, Copy, Debug)]
enum Upstream {
    Global,
    LinkLocal,
}

/// One relayed exchange: the raw client's request through the agents' dhcrelays (`relays[i]`
/// on `agents[i]`) and back, everything checked but the Interface-IDs; the Relay-reply's
/// layers, outermost first, for the caller to check those.
fn relayed_exchange(
    s: &Setup,
    run: &Running,
    relays: &[&Dhcrelay],
    upstream: Upstream,
    salt: u32,
) -> Vec<Layer> {
    let topo = &s.topo;
    let (first, last) = (&topo.agents[0], topo.last_agent());
    let client_socket = RawSocket::open(&topo.client_ns, topo.client.ifindex).expect("raw client");
    let upper =
        RawSocket::open(&topo.pair.client_ns, topo.pair.ifindex(Side::Client)).expect("upper");
    let before = run.stats();
    let [_, xid @ ..] = xid(salt).to_be_bytes();
    let (reply, info, got, sent) = exchange(&client_socket, &information_request(topo, xid), xid)
        .unwrap_or_else(|why| {
            panic!(
                "no REPLY through dhcrelay after {ATTEMPTS} requests (last refused: {why});\n\
                 router's stats: {}\n{}",
                run.stats(),
                logs(relays)
            )
        });

    // From dhcrelay on the client's link: the router has no address there.
    assert_eq!(reply.l2.src, last.lower.mac, "source MAC: the agent's");
    assert_eq!(reply.l2.dst, topo.client.mac, "destination MAC");
    assert_eq!(
        reply.src,
        IpAddr::V6(last.lower.link_local),
        "source: the agent's link-local address"
    );
    assert_eq!(reply.dst, IpAddr::V6(topo.client.link_local));
    assert_eq!(
        (reply.src_port, reply.dst_port),
        (dhcpv6::SERVER_PORT, dhcpv6::CLIENT_PORT)
    );
    // Built by the router.
    assert_eq!(
        info.server_duid,
        duid_ll(topo.pair.mac(Side::Server)),
        "Server Identifier: the router's DUID-LL"
    );
    assert_eq!(
        info.client_duid.as_deref(),
        Some(&duid_ll(topo.client.mac)[..]),
        "Client Identifier"
    );
    assert_eq!(got.uri.as_deref(), Some(uri(topo).as_str()));
    assert!(
        got.certificate.as_deref() == Some(&certificate()[..]),
        "the certificate is not bootstrap-1000.der ({:?} octets)",
        got.certificate.as_ref().map(Vec::len)
    );

    // What XDP sent to the first agent: a Relay-reply from the router's address of the scope
    // the agent sent from to that address, one layer per agent, around the very REPLY the
    // client got.
    let rr = read_relay_reply(&upper);
    assert_eq!(
        rr.frame.l2.src,
        topo.pair.mac(Side::Server),
        "Relay-reply source MAC"
    );
    assert_eq!(
        rr.frame.l2.dst,
        topo.pair.mac(Side::Client),
        "Relay-reply destination MAC"
    );
    let addresses = match upstream {
        Upstream::Global => (topo.pair.ipv6(Side::Server), first.upper_ipv6),
        Upstream::LinkLocal => (
            topo.pair.ipv6_link_local(Side::Server),
            topo.pair.ipv6_link_local(Side::Client),
        ),
    };
    assert_eq!(
        (rr.frame.src, rr.frame.dst),
        (IpAddr::V6(addresses.0), IpAddr::V6(addresses.1)),
        "Relay-reply addresses ({upstream:?}): router -> agent"
    );
    let n = topo.agents.len();
    assert_eq!(rr.layers.len(), n, "one layer per agent: {:?}", rr.layers);
    for (i, (layer, agent)) in rr.layers.iter().zip(&topo.agents).enumerate() {
        // Agent i relayed what came from below: the client's link-local address, or the
        // next agent's upper (global) address.
        let peer = topo
            .agents
            .get(i + 1)
            .map_or(topo.client.link_local, |below| below.upper_ipv6);
        assert_eq!(
            (layer.hop_count, layer.link, layer.peer),
            (u8::try_from(n - 1 - i).unwrap(), agent.lower_ipv6, peer),
            "layer {i} (hop-count, link-address, peer-address): {:?}",
            rr.layers
        );
    }
    assert!(
        rr.reply == reply.payload,
        "dhcrelay handed down other bytes than the Relay-reply carried"
    );
    let down = format!("Relaying Reply to {} port 546 down", topo.client.link_local);
    let log = relays[n - 1].log_text();
    assert!(log.contains(&down), "dhcrelay's log lacks {down:?}:\n{log}");

    // Answered by the fast path, once per request sent, nothing passed.
    let after = run.wait_stats(&format!("v6.answered up by {sent}"), |s| {
        count(s, "v6", "answered") >= count(&before, "v6", "answered") + sent
    });
    for name in ["received", "answered"] {
        assert_eq!(
            count(&after, "v6", name) - count(&before, "v6", name),
            sent,
            "v6.{name} after {sent} request(s): {after}"
        );
    }
    assert_eq!(
        v6_not_answered(&after),
        v6_not_answered(&before),
        "a v6 counter besides answered moved: {after}"
    );
    rr.layers
}

/// dhcrelay as it comes (`-l LOWER -u UPPER`: to ff05::1:3 from its global address, no
/// Interface-ID): the raw client, then `lwm2m-xdp probe --v6 --pad`, both answered through
/// it by XDP on the router.
#[test]
fn dhcrelay_relays_an_information_request_that_xdp_answers() {
    skip_unless_root!("netns_relay6_agent::dhcrelay_relays_an_information_request_that_xdp_answers", tool "dhcrelay" from "isc-dhcp-relay");
    let s = setup("relay6agent", 1);
    let config = s.scratch.write("lwm2m-xdp.toml", &config(&s.topo)).unwrap();
    let run = Running::start(&s.topo.pair, config, "relay6agent", &[]);
    let relay = start_dhcrelay(&s, 0, &s.topo.pair.client_if, &[]);
    assert!(
        relay.log_text().contains("Setting hop count limit to 32"),
        "dhcrelay without an upper address sends to a group:\n{}",
        relay.log_text()
    );

    let layers = relayed_exchange(&s, &run, &[&relay], Upstream::Global, 1);
    assert_eq!(
        layers[0].interface_id, None,
        "an Interface-ID dhcrelay did not send"
    );

    // The CLI's device side through the same relay.
    let before = run.stats();
    let bin = lwm2m_xdp_bin();
    let pad = PAD.to_string();
    let out = bounded(
        PROBE_LIMIT,
        "ip",
        &[
            "netns",
            "exec",
            &s.topo.client_ns,
            &bin,
            "probe",
            "--v6",
            "--interface",
            &s.topo.client_if,
            "--timeout",
            PROBE_TIMEOUT,
            "--pad",
            &pad,
        ],
    )
    .output()
    .expect("run probe");
    let stdout = text(&out.stdout);
    assert!(
        out.status.success(),
        "probe --v6 through dhcrelay ({}):\n{stdout}\n{}\ndhcrelay:\n{}",
        out.status,
        text(&out.stderr),
        relay.log_text()
    );
    let sha = peers::hex(&Sha256::digest(certificate()));
    for line in [
        format!("bootstrap URI:    {}", uri(&s.topo)),
        format!("certificate:      {} octets DER", certificate().len()),
        format!("SHA-256:        {sha}"),
        format!(
            "server:           DUID {}",
            peers::hex(&duid_ll(s.topo.pair.mac(Side::Server)))
        ),
    ] {
        assert!(stdout.contains(&line), "probe said no {line:?}:\n{stdout}");
    }
    let after = run.wait_stats("v6.answered up by one for probe", |st| {
        count(st, "v6", "answered") > count(&before, "v6", "answered")
    });
    assert_eq!(
        count(&after, "v6", "answered") - count(&before, "v6", "answered"),
        1,
        "{after}"
    );
    assert_eq!(v6_not_answered(&after), v6_not_answered(&before), "{after}");

    drop(relay);
    run.stop();
}

/// dhcrelay with `-I` (an Interface-ID in every Relay-forward) sending unicast to the
/// router's global address: still answered, the Interface-ID echoed in the Relay-reply.
/// dhcrelay then needs the echo: with it broken in the kernel, the router counted 3 answers
/// and dhcrelay handed none of them down.
#[test]
fn dhcrelay_with_an_interface_id_to_the_routers_address_is_answered() {
    skip_unless_root!("netns_relay6_agent::dhcrelay_with_an_interface_id_to_the_routers_address_is_answered", tool "dhcrelay" from "isc-dhcp-relay");
    let s = setup("relay6agentid", 1);
    let config = s.scratch.write("lwm2m-xdp.toml", &config(&s.topo)).unwrap();
    let run = Running::start(&s.topo.pair, config, "relay6agentid", &[]);
    let upper = format!(
        "{}%{}",
        s.topo.pair.ipv6(Side::Server),
        s.topo.pair.client_if
    );
    let relay = start_dhcrelay(&s, 0, &upper, &["-I"]);

    let layers = relayed_exchange(&s, &run, &[&relay], Upstream::Global, 2);
    assert!(
        layers[0]
            .interface_id
            .as_ref()
            .is_some_and(|id| !id.is_empty()),
        "no Interface-ID echoed in the Relay-reply: {layers:?}"
    );

    drop(relay);
    run.stop();
}

/// Two dhcrelays in a row (client -> agent 1 -> agent 0 -> router; agent 1 sends unicast to
/// agent 0's lower address, agent 0 to ff05::1:3): the router unwraps both Relay-forwards
/// and answers with two Relay-reply layers, each agent takes its own off.
#[test]
fn two_dhcrelays_in_a_row_are_answered_through_both() {
    skip_unless_root!("netns_relay6_agent::two_dhcrelays_in_a_row_are_answered_through_both", tool "dhcrelay" from "isc-dhcp-relay");
    let s = setup("relay6agent2", 2);
    let config = s.scratch.write("lwm2m-xdp.toml", &config(&s.topo)).unwrap();
    let run = Running::start(&s.topo.pair, config, "relay6agent2", &[]);
    let near_router = start_dhcrelay(&s, 0, &s.topo.pair.client_if, &[]);
    let (upper_agent, lower_agent) = (&s.topo.agents[0], &s.topo.agents[1]);
    let to_agent0 = format!("{}%{}", upper_agent.lower_ipv6, lower_agent.upper_if);
    let near_client = start_dhcrelay(&s, 1, &to_agent0, &[]);

    let layers = relayed_exchange(&s, &run, &[&near_router, &near_client], Upstream::Global, 3);
    assert!(
        layers.iter().all(|l| l.interface_id.is_none()),
        "an Interface-ID neither dhcrelay sent: {layers:?}"
    );

    drop(near_client);
    drop(near_router);
    run.stop();
}

/// `ip -6 addr del ADDRESS/64` on one end of the router link.
fn remove_global(s: &Setup, side: Side) {
    let address = format!("{}/64", s.topo.pair.ipv6(side));
    let ifname = s.topo.pair.ifname(side);
    let out = s
        .topo
        .pair
        .exec(side, &["ip", "-6", "addr", "del", &address, "dev", ifname]);
    assert!(
        out.status.success(),
        "ip addr del {address}: {}",
        text(&out.stderr)
    );
}

/// An agent without a global address upstream: dhcrelay sends from its link-local address,
/// and the router answers from its own.
#[test]
fn an_agent_without_a_global_address_is_answered_from_the_routers_link_local() {
    skip_unless_root!("netns_relay6_agent::an_agent_without_a_global_address_is_answered_from_the_routers_link_local", tool "dhcrelay" from "isc-dhcp-relay");
    let s = setup("relay6agentll", 1);
    let config = s.scratch.write("lwm2m-xdp.toml", &config(&s.topo)).unwrap();
    let run = Running::start(&s.topo.pair, config, "relay6agentll", &[]);
    // Before dhcrelay starts: it reads its addresses then.
    remove_global(&s, Side::Client);
    let relay = start_dhcrelay(&s, 0, &s.topo.pair.client_if, &[]);

    relayed_exchange(&s, &run, &[&relay], Upstream::LinkLocal, 4);

    drop(relay);
    run.stop();
}

/// A router without a global address cannot answer dhcrelay's global source: the request is
/// passed and counted (`passed_no_global_address`), nothing answered.
#[test]
fn a_router_without_a_global_address_passes_the_relayed_request() {
    skip_unless_root!("netns_relay6_agent::a_router_without_a_global_address_passes_the_relayed_request", tool "dhcrelay" from "isc-dhcp-relay");
    let s = setup("relay6agentnog", 1);
    // Before run starts: the interface entry takes the addresses it finds then.
    remove_global(&s, Side::Server);
    let config = s.scratch.write("lwm2m-xdp.toml", &config(&s.topo)).unwrap();
    let run = Running::start(&s.topo.pair, config, "relay6agentnog", &[]);
    let relay = start_dhcrelay(&s, 0, &s.topo.pair.client_if, &[]);
    let client_socket =
        RawSocket::open(&s.topo.client_ns, s.topo.client.ifindex).expect("raw client");
    let [_, xid @ ..] = xid(5).to_be_bytes();
    client_socket
        .send(&information_request(&s.topo, xid))
        .expect("send the request");
    let stats = run.wait_stats("v6.passed_no_global_address = 1", |st| {
        count(st, "v6", "passed_no_global_address") == 1
    });
    assert_eq!(count(&stats, "v6", "received"), 1, "{stats}");
    assert_eq!(count(&stats, "v6", "answered"), 0, "{stats}");
    assert!(
        relay.log_text().contains("going up"),
        "dhcrelay did not relay the request:\n{}",
        relay.log_text()
    );

    drop(relay);
    run.stop();
}
