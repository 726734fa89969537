//! `lwm2m-xdp probe`: act as an LwM2M device's DHCP client (draft §6) on one interface.

use std::{
    net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6, UdpSocket},
    time::{Duration, Instant},
};

use anyhow::{bail, Context as _, Result};
use sha2::{Digest, Sha256};
use xdp_common::wire::{dhcpv4, dhcpv6, ipv6::ALL_DHCP_RELAY_AGENTS_AND_SERVERS};

use crate::{
    client::{self, Bootstrap},
    config::WireFormat,
    ifaces, system,
};

/// What the client asks for and how it reads the answer.
pub struct ProbeOptions {
    pub interface: String,
    pub v6: bool,
    pub format: WireFormat,
    pub v4_codes: [u8; 2],
    pub v6_codes: [u16; 2],
    pub timeout: Duration,
    /// Octets of Vendor Class (16) data to add to a DHCPv6 request (0: none). On veth the
    /// reply can only grow into the request's own buffer slack (toolchain.md, ARCHITECTURE.md):
    /// a bare 60-octet INFORMATION-REQUEST leaves too little room for a 1 KB REPLY.
    pub v6_pad: u16,
}

/// A decoded answer, ready to print.
pub struct ProbeResult {
    pub server: String,
    pub bootstrap: Bootstrap,
}

fn random_u32() -> u32 {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    (t.as_nanos() as u32) ^ std::process::id().rotate_left(16)
}

/// Receive until a datagram decodes as our answer or the deadline passes.
fn receive<T>(
    socket: &UdpSocket,
    timeout: Duration,
    mut decode: impl FnMut(&[u8]) -> Option<T>,
) -> Result<T> {
    let deadline = Instant::now() + timeout;
    let mut buf = vec![0u8; 65536];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            bail!("no answer within {timeout:?}");
        }
        socket.set_read_timeout(Some(left))?;
        match socket.recv_from(&mut buf) {
            Ok((n, _)) => {
                if let Some(v) = decode(&buf[..n]) {
                    return Ok(v);
                }
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                bail!("no answer within {timeout:?}")
            }
            Err(e) => return Err(e).context("recv"),
        }
    }
}

/// DHCPINFORM from the interface's address (ciaddr), broadcast to port 67; the ACK comes
/// back unicast to ciaddr:68.
pub fn probe_v4(opts: &ProbeOptions) -> Result<ProbeResult> {
    let sys = system::system_interface(&opts.interface)?;
    let ciaddr = sys
        .ipv4
        .with_context(|| format!("{} has no IPv4 address to put in ciaddr", opts.interface))?;
    let socket = UdpSocket::bind(SocketAddrV4::new(
        Ipv4Addr::UNSPECIFIED,
        dhcpv4::CLIENT_PORT,
    ))
    .context("binding UDP port 68 (is a DHCP client running?)")?;
    system::bind_to_device(&socket, &opts.interface).context("SO_BINDTODEVICE")?;
    socket.set_broadcast(true)?;
    let xid = random_u32();
    // Option 57: the certificate does not fit the default 576 octets.
    let request = client::build_inform(xid, sys.mac, ciaddr, &opts.v4_codes, Some(sys.mtu));
    socket.send_to(
        &request,
        SocketAddrV4::new(Ipv4Addr::BROADCAST, dhcpv4::SERVER_PORT),
    )?;
    let [uri, cert] = opts.v4_codes;
    receive_answer(&socket, opts.timeout, |bytes| {
        let (info, bootstrap) = client::decode_v4_reply(opts.format, uri, cert, bytes, xid)?;
        Ok(ProbeResult {
            server: info.server_id.to_string(),
            bootstrap,
        })
    })
}

/// INFORMATION-REQUEST from the link-local address to ff02::1:2.
pub fn probe_v6(opts: &ProbeOptions) -> Result<ProbeResult> {
    let sys = system::system_interface(&opts.interface)?;
    let socket = UdpSocket::bind(SocketAddrV6::new(
        Ipv6Addr::UNSPECIFIED,
        dhcpv6::CLIENT_PORT,
        0,
        0,
    ))
    .context("binding UDP port 546 (is a DHCPv6 client running?)")?;
    system::bind_to_device(&socket, &opts.interface).context("SO_BINDTODEVICE")?;
    // A transaction id is 3 octets: the low ones of a random u32.
    let [_, xid @ ..] = random_u32().to_be_bytes();
    let duid = ifaces::duid_ll(sys.mac);
    let mut request = client::build_information_request(xid, &duid, &opts.v6_codes);
    client::pad_with_vendor_class(&mut request, opts.v6_pad);
    let dst = SocketAddr::V6(SocketAddrV6::new(
        Ipv6Addr::from(ALL_DHCP_RELAY_AGENTS_AND_SERVERS),
        dhcpv6::SERVER_PORT,
        0,
        sys.ifindex,
    ));
    socket.send_to(&request, dst)?;
    let [uri, cert] = opts.v6_codes;
    receive_answer(&socket, opts.timeout, |bytes| {
        let (info, bootstrap) = client::decode_v6_reply(opts.format, uri, cert, bytes, xid)?;
        Ok(ProbeResult {
            server: hex::encode(&info.server_duid),
            bootstrap,
        })
    })
}

/// The first datagram that `decode` accepts; when none does in time, the error names the
/// last decoding failure, if a reply came at all.
fn receive_answer(
    socket: &UdpSocket,
    timeout: Duration,
    mut decode: impl FnMut(&[u8]) -> Result<ProbeResult, client::ClientError>,
) -> Result<ProbeResult> {
    let mut last_error = None;
    let result = receive(socket, timeout, |bytes| {
        decode(bytes).map_err(|e| last_error = Some(e)).ok()
    });
    result.map_err(|e| match last_error {
        Some(decode) => e.context(format!("a reply came but did not decode: {decode}")),
        None => e,
    })
}

/// The lines `probe` prints.
pub fn describe(result: &ProbeResult, v6: bool) -> String {
    let mut out = format!(
        "server:           {}{}\n",
        if v6 { "DUID " } else { "" },
        result.server
    );
    let b = &result.bootstrap;
    out += &format!(
        "bootstrap URI:    {}\n",
        b.uri.as_deref().unwrap_or("(not sent)")
    );
    match &b.certificate {
        Some(der) => {
            let subject = x509_parser::parse_x509_certificate(der)
                .map(|(_, c)| c.subject().to_string())
                .unwrap_or_else(|e| format!("(unparsable: {e})"));
            out += &format!("certificate:      {} octets DER\n", der.len());
            out += &format!("  subject:        {subject}\n");
            out += &format!("  SHA-256:        {}\n", hex::encode(Sha256::digest(der)));
        }
        None => out += "certificate:      (not sent)\n",
    }
    out
}
