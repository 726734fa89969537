//! A reload never mixes two configs in one reply (issue 12): the interface entries
//! (server identifier, DUID, VLAN addresses) belong to a config generation like the blocks,
//! and a reply reads all of them from the slot `ACTIVE` names. Driven step by step as
//! `Datapath::install_generation` does it: write the new slot, flip, remove the old entries.

#[macro_use]
#[expect(
    dead_code,
    reason = "the helpers shared with kernel_v4/v6 this file does not use"
)]
mod kernel_common;

use std::net::{Ipv4Addr, Ipv6Addr};

use kernel_common::*;
use lwm2m_xdp::{client, csum, datapath::Generation, ifaces};
use lwm2m_xdp_test_support::frame::{self, Ethernet};
use xdp_common::{
    counters::Reason,
    maps::Family,
    wire::{dhcpv4, dhcpv6, eth, ipv4, ipv6, udp},
};

const CLIENT_V4: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 2);
const CLIENT_LL: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 2);
const XID: u32 = 0x0102_0304;
const XID6: [u8; 3] = [7, 8, 9];

/// Config B: another URI, DHCPv4 server identifier, DUID and VLAN 42 link-local address.
const URI_B: &str = "coaps://other-bootstrap.example.net:5684";
const SERVER_ID_B: Ipv4Addr = Ipv4Addr::new(198, 18, 9, 1);
const DUID_B: [u8; 10] = [0, 3, 0, 1, 0x02, 0xbb, 0xbb, 0xbb, 0xbb, 0xbb];
const VLAN42_LL_B: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0x42, 0xb);

/// What a reply says about the config it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Identity {
    uri: String,
    /// DHCPv4: option 54 and the IPv4 source; DHCPv6: the DUID and the IPv6 source.
    server: String,
}

fn identity_a_v4() -> Identity {
    Identity {
        uri: URI.into(),
        server: format!("{SERVER_V4} from {SERVER_V4}"),
    }
}

fn identity_b_v4() -> Identity {
    Identity {
        uri: URI_B.into(),
        server: format!("{SERVER_ID_B} from {SERVER_ID_B}"),
    }
}

fn identity_v6(duid: &[u8], src: Ipv6Addr, uri: &str) -> Identity {
    Identity {
        uri: uri.into(),
        server: format!("{} from {src}", hex(duid)),
    }
}

fn config_b(setup: &Setup) -> String {
    setup
        .toml()
        .replace(URI, URI_B)
        .replace(
            "[dhcpv4]\nenabled = true\n",
            &format!("[dhcpv4]\nenabled = true\nserver_id = \"{SERVER_ID_B}\"\n"),
        )
        .replace(
            "[dhcpv6]\nenabled = true\n",
            &format!(
                "[dhcpv6]\nenabled = true\nserver_duid = \"{}\"\n",
                hex(&DUID_B)
            ),
        )
        .replace(
            &format!("ipv6_link_local = \"{VLAN42_LL}\""),
            &format!("ipv6_link_local = \"{VLAN42_LL_B}\""),
        )
}

fn inform() -> Vec<u8> {
    let payload = client::build_inform(XID, CLIENT_MAC, CLIENT_V4, &[V4_URI_CODE], Some(1500));
    let l2 = Ethernet {
        dst: Ethernet::BROADCAST,
        src: CLIENT_MAC,
        vlans: vec![],
    };
    frame::ipv4_udp_frame(
        &l2,
        CLIENT_V4,
        Ipv4Addr::BROADCAST,
        (dhcpv4::CLIENT_PORT, dhcpv4::SERVER_PORT),
        &payload,
    )
}

/// An INFORMATION-REQUEST, untagged or on VLAN 42.
fn information_request(vlans: Vec<u16>) -> Vec<u8> {
    let dst = Ipv6Addr::from(ipv6::ALL_DHCP_RELAY_AGENTS_AND_SERVERS);
    let payload =
        client::build_information_request(XID6, &ifaces::duid_ll(CLIENT_MAC), &[V6_URI_CODE]);
    let l2 = Ethernet {
        dst: Ethernet::ipv6_multicast(dst),
        src: CLIENT_MAC,
        vlans,
    };
    let ports = (dhcpv6::CLIENT_PORT, dhcpv6::SERVER_PORT);
    frame::ipv6_udp_frame(&l2, CLIENT_LL, dst, 1, ports, &payload)
}

/// The DHCPACK's identity, after checking both checksums.
fn v4_identity(h: &mut Harness) -> Result<Identity, String> {
    let run = h.run(&inform());
    ensure!(
        run.verdict == XDP_TX,
        "INFORM not answered: {}",
        run.verdict
    );
    run.assert_answered(Family::V4, "INFORM");
    let ip = &run.out[eth::HDR_LEN..];
    ensure!(
        csum::ipv4_header_checksum(&ip[..ipv4::HDR_LEN]) == 0,
        "bad IPv4 header checksum"
    );
    let src: [u8; 4] = ip[ipv4::field::SRC_ADDR].try_into().expect("4 octets");
    let dst: [u8; 4] = ip[ipv4::field::DST_ADDR].try_into().expect("4 octets");
    let seg = &ip[ipv4::HDR_LEN..];
    ensure!(
        csum::ipv4_udp_checksum(src, dst, seg) == 0xffff,
        "bad UDP checksum"
    );
    let (info, bootstrap) = client::decode_v4_reply(
        h.setup.format,
        V4_URI_CODE,
        V4_CERT_CODE,
        &seg[udp::HDR_LEN..],
        XID,
    )
    .map_err(|e| format!("{e:?}"))?;
    Ok(Identity {
        uri: bootstrap.uri.ok_or("no URI")?,
        server: format!("{} from {}", info.server_id, Ipv4Addr::from(src)),
    })
}

/// The REPLY's identity, after checking its UDP checksum.
fn v6_identity(h: &mut Harness, vlans: Vec<u16>) -> Result<Identity, String> {
    let tags = vlans.len();
    let run = h.run(&information_request(vlans));
    ensure!(run.verdict == XDP_TX, "INFORMATION-REQUEST not answered");
    run.assert_answered(Family::V6, "INFORMATION-REQUEST");
    let ip = &run.out[eth::HDR_LEN + tags * eth::VLAN_TAG_LEN..];
    let src: [u8; 16] = ip[ipv6::field::SRC_ADDR].try_into().expect("16 octets");
    let dst: [u8; 16] = ip[ipv6::field::DST_ADDR].try_into().expect("16 octets");
    let seg = &ip[ipv6::HDR_LEN..];
    ensure!(
        csum::ipv6_udp_checksum(src, dst, seg) == 0xffff,
        "bad UDP checksum"
    );
    let (info, bootstrap) = client::decode_v6_reply(
        h.setup.format,
        V6_URI_CODE,
        V6_CERT_CODE,
        &seg[udp::HDR_LEN..],
        XID6,
    )
    .map_err(|e| format!("{e:?}"))?;
    Ok(identity_v6(
        &info.server_duid,
        Ipv6Addr::from(src),
        &bootstrap.uri.ok_or("no URI")?,
    ))
}

struct Expect {
    v4: Identity,
    v6: Identity,
    v6_vlan42: Identity,
}

fn expect_a() -> Expect {
    let duid_a = ifaces::duid_ll(SERVER_MAC);
    Expect {
        v4: identity_a_v4(),
        v6: identity_v6(&duid_a, SERVER_LL, URI),
        v6_vlan42: identity_v6(&duid_a, VLAN42_LL, URI),
    }
}

fn expect_b() -> Expect {
    Expect {
        v4: identity_b_v4(),
        v6: identity_v6(&DUID_B, SERVER_LL, URI_B),
        v6_vlan42: identity_v6(&DUID_B, VLAN42_LL_B, URI_B),
    }
}

fn assert_wholly(h: &mut Harness, want: &Expect, when: &str) {
    assert_eq!(v4_identity(h), Ok(want.v4.clone()), "DHCPv4, {when}");
    assert_eq!(
        v6_identity(h, vec![]),
        Ok(want.v6.clone()),
        "DHCPv6, {when}"
    );
    assert_eq!(
        v6_identity(h, vec![42]),
        Ok(want.v6_vlan42.clone()),
        "DHCPv6 on VLAN 42, {when}"
    );
}

#[test]
fn a_reply_is_wholly_of_the_generation_in_force_at_each_step_of_a_reload() {
    skip_unless_root!("a_reply_is_wholly_of_the_generation_in_force_at_each_step_of_a_reload");
    let setup = Setup::new(lwm2m_xdp::config::WireFormat::Draft00, 300);
    let mut h = Harness::new(setup.clone());
    let a = h.generation(&setup.toml(), setup.mtu);
    let b = h.generation(&config_b(&setup), setup.mtu);
    assert_wholly(&mut h, &expect_a(), "A installed");

    // B written into the slot not in force: nothing of it is served yet.
    let old = h.dp.active_slot().expect("ACTIVE");
    let new = 1 - old;
    h.dp.write_generation(new, &b).expect("writing B");
    assert_eq!(h.dp.interfaces(new).expect("IFACES").len(), b.ifaces.len());
    assert_wholly(&mut h, &expect_a(), "B written, not in force");

    // One flip: everything of B at once, while A's entries are still in the map.
    h.dp.activate(new).expect("flip");
    assert!(!h.dp.interfaces(old).expect("IFACES").is_empty());
    assert_wholly(&mut h, &expect_b(), "B in force, A's entries still there");

    // A's entries removed: B unchanged, and only B's entries remain.
    h.dp.remove_interfaces(old).expect("removing A's entries");
    assert!(h.dp.interfaces(old).expect("IFACES").is_empty());
    assert_wholly(&mut h, &expect_b(), "A's entries removed");

    // And back in one call, as a reload does it.
    reinstall(&mut h, &a, new);
    assert_wholly(&mut h, &expect_a(), "A reinstalled");
}

/// `install_generation` flips to the other slot and leaves no entry of `previous` behind.
fn reinstall(h: &mut Harness, generation: &Generation, previous: u32) {
    let slot =
        h.dp.install_generation(generation)
            .expect("install_generation");
    assert_eq!(slot, 1 - previous);
    assert!(h.dp.interfaces(previous).expect("IFACES").is_empty());
    assert_eq!(
        h.dp.interfaces(slot).expect("IFACES").len(),
        generation.ifaces.len()
    );
}

#[test]
fn an_interface_only_in_the_old_generation_is_not_answered_after_the_flip() {
    skip_unless_root!("an_interface_only_in_the_old_generation_is_not_answered_after_the_flip");
    let setup = Setup::new(lwm2m_xdp::config::WireFormat::Draft00, 300);
    let mut h = Harness::new(setup.clone());
    assert_eq!(v6_identity(&mut h, vec![42]), Ok(expect_a().v6_vlan42));
    // The new generation has no VLAN 42: its frames are passed, even before the old
    // generation's entries are removed.
    let without_vlans = setup.toml().replace(
        "[[interface.vlan]]\nid = 42\n",
        "[[interface.vlan]]\nid = 43\n",
    );
    let b = h.generation(&without_vlans, setup.mtu);
    let old = h.dp.active_slot().expect("ACTIVE");
    h.dp.write_generation(1 - old, &b).expect("writing");
    h.dp.activate(1 - old).expect("flip");
    let frame = information_request(vec![42]);
    let run = h.run(&frame);
    run.assert_passed(
        &frame,
        Family::V6,
        Reason::NotForUs,
        "VLAN 42 after the flip",
    );
    assert_eq!(v4_identity(&mut h), Ok(identity_a_v4()));
}

#[test]
fn a_generation_with_more_interface_entries_than_a_slot_holds_is_refused() {
    skip_unless_root!("a_generation_with_more_interface_entries_than_a_slot_holds_is_refused");
    let setup = Setup::new(lwm2m_xdp::config::WireFormat::Draft00, 300);
    let mut h = Harness::new(setup.clone());
    let mut big = h.generation(&setup.toml(), setup.mtu);
    let (key, value) = big.ifaces[0];
    big.ifaces = (0..=xdp_common::maps::MAX_IFACES)
        .map(|i| {
            let mut k = key;
            k.ifindex = 1000 + i;
            (k, value)
        })
        .collect();
    let err = h.dp.install_generation(&big).expect_err("too many entries");
    assert!(err.to_string().contains("at most"), "{err}");
    // The running generation is untouched.
    assert_eq!(v4_identity(&mut h), Ok(identity_a_v4()));
}
