//! The file as serde sees it: one struct per table, every key optional where the file may
//! leave it out; numbers, addresses and names stay plain TOML values until validate.rs.

use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConfig {
    #[serde(default)]
    pub(super) lwm2m: RawLwm2m,
    #[serde(default)]
    pub(super) dhcpv4: RawDhcpv4,
    #[serde(default)]
    pub(super) dhcpv6: RawDhcpv6,
    #[serde(default)]
    pub(super) interface: Vec<RawInterface>,
    #[serde(default)]
    pub(super) slow_path: RawSlowPath,
    pub(super) rate_limit: Option<RawRateLimit>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLwm2m {
    pub(super) bootstrap_uri: Option<String>,
    pub(super) certificate: Option<String>,
    pub(super) wire_format: Option<String>,
    pub(super) policy: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDhcpv4 {
    pub(super) enabled: Option<bool>,
    pub(super) uri_option: Option<i64>,
    pub(super) certificate_option: Option<i64>,
    pub(super) server_id: Option<String>,
    #[serde(default)]
    pub(super) extra_option: Vec<RawExtraV4>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawExtraV4 {
    pub(super) code: i64,
    pub(super) ipv4: Option<Vec<String>>,
    pub(super) string: Option<String>,
    pub(super) hex: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDhcpv6 {
    pub(super) enabled: Option<bool>,
    pub(super) uri_option: Option<i64>,
    pub(super) certificate_option: Option<i64>,
    pub(super) information_refresh_time: Option<i64>,
    pub(super) server_duid: Option<String>,
    #[serde(default)]
    pub(super) extra_option: Vec<RawExtraV6>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawExtraV6 {
    pub(super) code: i64,
    pub(super) ipv6: Option<Vec<String>>,
    pub(super) string: Option<String>,
    pub(super) hex: Option<String>,
    pub(super) domains: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawInterface {
    pub(super) name: String,
    pub(super) mode: Option<String>,
    pub(super) fallback: Option<String>,
    pub(super) server_id: Option<String>,
    #[serde(default)]
    pub(super) vlan: Vec<RawVlan>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawVlan {
    pub(super) id: i64,
    pub(super) inner_id: Option<i64>,
    pub(super) ipv4: Option<String>,
    pub(super) ipv6_link_local: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSlowPath {
    pub(super) mode: Option<String>,
    #[serde(default)]
    pub(super) dhcpv4_servers: Vec<String>,
    #[serde(default)]
    pub(super) dhcpv6_servers: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRateLimit {
    pub(super) per_client_rate: i64,
    pub(super) burst: i64,
    #[serde(default)]
    pub(super) per_interface_rate: Option<i64>,
    #[serde(default)]
    pub(super) over_limit: Option<String>,
}
