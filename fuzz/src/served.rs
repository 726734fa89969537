//! What the fuzzed program serves: a handful of configs, each written out as the TOML the
//! loader reads and, separately, as the plain facts the model checks replies against. The
//! model never looks at what the loader compiled from the TOML.

use std::net::{Ipv4Addr, Ipv6Addr};

use anyhow::Result;
use lwm2m_xdp_tests::generation;
use xdp_common::wire::dhcpv6;

/// The wire formats of protocol.md.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Draft00,
    Rfc3396,
    Ietf00,
}

impl Format {
    fn name(self) -> &'static str {
        match self {
            Format::Draft00 => "draft-00",
            Format::Rfc3396 => "rfc3396",
            Format::Ietf00 => "ietf-00",
        }
    }
}

/// An interface (or VLAN on it) the program answers on.
#[derive(Clone, Copy, Debug)]
pub struct Iface {
    /// VLAN ids (outer, inner); 0 = no tag.
    pub vlans: (u16, u16),
    pub v4: Ipv4Addr,
    pub ll: Ipv6Addr,
    /// The untagged interface's global address (netlink's); VLAN entries have none.
    pub global: Option<Ipv6Addr>,
}

pub const SERVER_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x01];
pub const IFACES: [Iface; 3] = [
    Iface {
        vlans: (0, 0),
        v4: Ipv4Addr::new(198, 18, 0, 1),
        ll: Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1),
        global: Some(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1)),
    },
    Iface {
        vlans: (42, 0),
        v4: Ipv4Addr::new(198, 18, 42, 1),
        ll: Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0x42, 1),
        global: None,
    },
    Iface {
        vlans: (100, 42),
        v4: Ipv4Addr::new(198, 18, 43, 1),
        ll: Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0x43, 1),
        global: None,
    },
];

pub const V4_URI: u8 = 224;
pub const V4_CERT: u8 = 225;
/// `[[dhcpv4.extra_option]]` Domain Name Server 198.18.0.53.
pub const V4_EXTRA: u8 = 6;
pub const V4_EXTRA_DATA: [u8; 4] = [198, 18, 0, 53];
pub const V6_URI: u16 = 65001;
pub const V6_CERT: u16 = 65002;
/// `[[dhcpv6.extra_option]]` DNS Recursive Name Server 2001:db8::53.
pub const V6_EXTRA: u16 = dhcpv6::OPT_DNS_SERVERS;
pub const V6_EXTRA_DATA: [u8; 16] = [
    0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x53,
];
pub const V6_IRT: u16 = dhcpv6::OPT_INFORMATION_REFRESH_TIME;

/// DUID-LL (RFC 8415 §11.4) of an Ethernet MAC.
pub fn duid_ll(mac: [u8; 6]) -> Vec<u8> {
    let (duid_type, hw_type) = (dhcpv6::DUID_TYPE_LL, dhcpv6::HW_TYPE_ETHERNET);
    [&duid_type.to_be_bytes()[..], &hw_type.to_be_bytes(), &mac].concat()
}

/// One config as the model sees it.
#[derive(Clone, Debug)]
pub struct Served {
    pub format: Format,
    pub complete: bool,
    pub mtu: u16,
    pub uri: String,
    pub cert: Vec<u8>,
    pub cert_size: usize,
    /// Information Refresh Time, when configured.
    pub irt: Option<u32>,
}

impl Served {
    /// The fuzz configs: every wire format, both policies, certificate sizes, MTUs.
    pub fn all() -> Result<Vec<Served>> {
        let make = |format, complete, mtu, uri: &str, cert_size, irt| -> Result<Served> {
            Ok(Served {
                format,
                complete,
                mtu,
                uri: uri.to_string(),
                cert: generation::certificate_der(cert_size)?,
                cert_size,
                irt,
            })
        };
        Ok(vec![
            make(
                Format::Draft00,
                true,
                1500,
                "coaps://bootstrap.example.net:5684",
                1000,
                Some(86400),
            )?,
            make(
                Format::Rfc3396,
                false,
                1500,
                "coaps://b.example.net",
                300,
                None,
            )?,
            make(
                Format::Ietf00,
                true,
                9000,
                "coaps://bootstrap.example.net:5684/x",
                1400,
                Some(600),
            )?,
            make(
                Format::Draft00,
                false,
                1280,
                "coap://198.18.0.9",
                300,
                Some(3600),
            )?,
            make(
                Format::Ietf00,
                false,
                1500,
                "coaps://[2001:db8::9]:5684",
                1150,
                None,
            )?,
            make(
                Format::Rfc3396,
                true,
                576,
                "coaps://bootstrap.example.net:5684",
                300,
                None,
            )?,
        ])
    }

    pub fn iface(&self, vlans: (u16, u16)) -> Option<&'static Iface> {
        IFACES.iter().find(|i| i.vlans == vlans)
    }

    /// The DUID replies carry: DUID-LL of the (first) interface's MAC (RFC 8415 §11.4).
    pub fn duid(&self) -> Vec<u8> {
        duid_ll(SERVER_MAC)
    }

    pub fn toml(&self) -> String {
        let irt = self.irt.map_or(String::new(), |s| {
            format!("information_refresh_time = {s}\n")
        });
        let vlans: String = IFACES[1..]
            .iter()
            .map(|i| {
                let inner = if i.vlans.1 != 0 {
                    format!("inner_id = {}\n", i.vlans.1)
                } else {
                    String::new()
                };
                format!(
                    "[[interface.vlan]]\nid = {}\n{inner}ipv4 = \"{}\"\nipv6_link_local = \"{}\"\n",
                    i.vlans.0, i.v4, i.ll
                )
            })
            .collect();
        format!(
            r#"[lwm2m]
bootstrap_uri = "{uri}"
certificate = "certs/bootstrap-{size}.der"
wire_format = "{format}"
policy = "{policy}"

[dhcpv4]
enabled = true
uri_option = {V4_URI}
certificate_option = {V4_CERT}

[[dhcpv4.extra_option]]
code = {V4_EXTRA}
ipv4 = ["198.18.0.53"]

[dhcpv6]
enabled = true
uri_option = {V6_URI}
certificate_option = {V6_CERT}
{irt}
[[dhcpv6.extra_option]]
code = {V6_EXTRA}
ipv6 = ["2001:db8::53"]

[[interface]]
name = "fuzz0"
mode = "generic"

{vlans}"#,
            uri = self.uri,
            size = self.cert_size,
            format = self.format.name(),
            policy = if self.complete {
                "complete"
            } else {
                "lwm2m-only"
            },
        )
    }
}
