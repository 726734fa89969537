//! `[rate_limit] over_limit = "pass"` (issue 12): what the fast path does not answer because
//! the client is over its limit reaches the normal server's socket on port 67, untouched,
//! and is counted `passed_rate_limited`; within the limit the fast path answers.

use std::{net::UdpSocket, time::Duration};

use lwm2m_xdp::client;
use lwm2m_xdp_tests::{
    peers::{self, client_v4_broadcast, dhcp_client_reply, in_netns, RawSocket},
    running::{count, Running},
    skip_unless_root, NetnsPair, ScratchDir, Side,
};
use xdp_common::wire::dhcpv4;

const URI: &str = "coaps://198.18.0.1:5684";

#[test]
fn requests_over_the_limit_reach_the_normal_server_when_over_limit_is_pass() {
    skip_unless_root!("netns_rate_limit::requests_over_the_limit_reach_the_normal_server");
    let pair = NetnsPair::new("ratepass").expect("netns pair");
    peers::client_tx_checksums_off(&pair).expect("full UDP checksums from the client");
    let scratch = ScratchDir::new("ratepass").expect("scratch dir");
    let file = scratch
        .write(
            "lwm2m-xdp.toml",
            &format!(
                "[lwm2m]\nbootstrap_uri = \"{URI}\"\npolicy = \"lwm2m-only\"\n[dhcpv4]\nenabled = true\n\
                 [dhcpv6]\nenabled = false\n[[interface]]\nname = \"{}\"\nmode = \"generic\"\n\
                 [rate_limit]\nper_client_rate = 1\nburst = 1\nover_limit = \"pass\"\n",
                pair.server_if
            ),
        )
        .expect("config");
    // The normal server: a socket on port 67 in the server's namespace.
    let server = in_netns(&pair.server_ns, || Ok(UdpSocket::bind("0.0.0.0:67")?))
        .expect("bind port 67 in the server namespace");
    server
        .set_read_timeout(Some(Duration::from_secs(2)))
        .expect("timeout");
    let run = Running::start(&pair, file, "ratepass", &[]);
    let sock = RawSocket::open(&pair.client_ns, pair.ifindex(Side::Client)).expect("raw socket");
    let mac = pair.mac(Side::Client);
    let client_v4 = pair.ipv4(Side::Client);
    let inform = |xid: u32| {
        let bootp = client::build_inform(xid, mac, client_v4, &[224], Some(1500));
        let frame = client_v4_broadcast(&pair, vec![], client_v4, dhcpv4::CLIENT_PORT, &bootp);
        (bootp, frame)
    };
    // Within the burst: answered by the fast path.
    let (_, first) = inform(0x5151_0001);
    sock.send(&first).expect("send");
    let acked = sock
        .receive(Duration::from_secs(2), |bytes| {
            let reply = dhcp_client_reply(bytes).ok()??;
            (reply.payload.get(4..8) == Some(&0x5151_0001u32.to_be_bytes()[..])).then_some(())
        })
        .expect("receive");
    assert!(
        acked.is_some(),
        "the first INFORM is answered by the fast path"
    );
    // Over it: each one reaches port 67 as the client sent it.
    for k in 2..5u32 {
        let xid = 0x5151_0000 + k;
        let (bootp, frame) = inform(xid);
        sock.send(&frame).expect("send");
        let mut buf = [0u8; 2048];
        let (n, from) = server
            .recv_from(&mut buf)
            .unwrap_or_else(|e| panic!("INFORM {k} over the limit did not reach port 67: {e}"));
        assert_eq!(&buf[..n], &bootp[..], "INFORM {k} arrives untouched");
        assert_eq!(from.ip(), client_v4, "from the client");
    }
    let stats = run.wait_stats("v4.passed_rate_limited >= 3", |s| {
        count(s, "v4", "passed_rate_limited") >= 3
    });
    assert_eq!(count(&stats, "v4", "answered"), 1, "{stats}");
    assert_eq!(
        count(&stats, "v4", "rate_limited"),
        0,
        "nothing dropped: {stats}"
    );
    run.stop();
}
