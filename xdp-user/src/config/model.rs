//! The validated config: what the rest of the loader reads, every value ready to encode.

use std::{
    fmt,
    net::{Ipv4Addr, Ipv6Addr},
    path::PathBuf,
};

pub use crate::options::WireFormat;

/// A validated config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub lwm2m: Lwm2m,
    pub dhcpv4: Dhcpv4,
    pub dhcpv6: Dhcpv6,
    pub interfaces: Vec<Interface>,
    pub slow_path: SlowPath,
    pub rate_limit: Option<RateLimit>,
    /// The file this config came from.
    pub source: PathBuf,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lwm2m {
    /// Absent: the URI option is not served (draft §5).
    pub bootstrap_uri: Option<String>,
    /// Absent: the certificate option is not served (draft §5).
    pub certificate: Option<Certificate>,
    pub wire_format: WireFormat,
    pub policy: Policy,
}

/// The bootstrap server's X.509 certificate.
#[derive(Clone, PartialEq, Eq)]
pub struct Certificate {
    pub der: Vec<u8>,
    /// Where it was read from (resolved against the config file's directory).
    pub path: PathBuf,
    /// The subject as RFC 4514 text.
    pub subject: String,
    pub sha256: [u8; 32],
    /// What the loader noticed about the file that is no error (`check` prints it).
    pub notes: Vec<String>,
}

impl fmt::Debug for Certificate {
    // The DER would drown everything else in a Debug dump.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Certificate")
            .field("path", &self.path)
            .field("subject", &self.subject)
            .field("der_len", &self.der.len())
            .field("sha256", &hex::encode(self.sha256))
            .finish()
    }
}

/// Which requests the fast path answers (protocol.md, "Request policy").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Policy {
    Complete,
    Lwm2mOnly,
}

impl fmt::Display for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Policy::Complete => "complete",
            Policy::Lwm2mOnly => "lwm2m-only",
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dhcpv4 {
    pub enabled: bool,
    pub uri_option: u8,
    pub certificate_option: u8,
    /// Default server identifier; absent: each interface's own IPv4 address.
    pub server_id: Option<Ipv4Addr>,
    pub extra_options: Vec<ExtraOption<u8>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dhcpv6 {
    pub enabled: bool,
    pub uri_option: u16,
    pub certificate_option: u16,
    /// Seconds; at least IRT_MINIMUM (600) when set.
    pub information_refresh_time: Option<u32>,
    /// Absent: DUID-LL of the first interface's MAC.
    pub server_duid: Option<Vec<u8>>,
    pub extra_options: Vec<ExtraOption<u16>>,
}

/// A non-LwM2M option the fast path serves too; `data` is the option's payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtraOption<C> {
    pub code: C,
    pub data: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interface {
    pub name: String,
    pub mode: AttachMode,
    /// What answers a request XDP passes for lack of room to grow its frame.
    pub fallback: Fallback,
    /// Overrides `[dhcpv4] server_id` on this interface.
    pub server_id: Option<Ipv4Addr>,
    pub vlans: Vec<Vlan>,
}

/// How the XDP program is attached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AttachMode {
    /// Native, falling back to generic with a warning.
    Auto,
    Native,
    Generic,
}

impl fmt::Display for AttachMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AttachMode::Auto => "auto",
            AttachMode::Native => "native",
            AttachMode::Generic => "generic",
        })
    }
}

/// `[[interface]] fallback`: the TC ingress classifier answers what XDP had no room for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Fallback {
    Tc,
    None,
}

impl fmt::Display for Fallback {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Fallback::Tc => "tc",
            Fallback::None => "none",
        })
    }
}

/// Addresses for frames tagged with one VLAN id (or an outer + inner pair for QinQ).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vlan {
    /// The (outer, for QinQ) tag.
    pub id: u16,
    pub inner_id: Option<u16>,
    pub ipv4: Option<Ipv4Addr>,
    pub ipv6_link_local: Option<Ipv6Addr>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlowPath {
    pub mode: SlowPathMode,
    pub dhcpv4_servers: Vec<Ipv4Addr>,
    pub dhcpv6_servers: Vec<Ipv6Addr>,
}

/// Where requests the fast path does not answer go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SlowPathMode {
    /// XDP_PASS to a DHCP server on this host.
    Local,
    /// The loader forwards them to `*_servers`.
    Relay,
}

impl fmt::Display for SlowPathMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SlowPathMode::Local => "local",
            SlowPathMode::Relay => "relay",
        })
    }
}

/// Answers per client (source MAC; a relayed DHCPv4 request: giaddr + chaddr) and per
/// interface, enforced in the kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Answers per second.
    pub per_client_rate: u32,
    pub burst: u32,
    /// Answers per second of one interface, whatever the clients.
    pub per_interface_rate: Option<u32>,
    pub over_limit: OverLimit,
}

/// What becomes of a request over the limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OverLimit {
    /// Dropped: no answer from anyone (the default: an answer amplifies).
    #[default]
    Drop,
    /// Handed to the normal server.
    Pass,
}
