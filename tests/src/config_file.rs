//! The config files the namespace tests hand to `lwm2m-xdp run`: one `[[interface]]`, both
//! families on unless a test turns one off, and what else a test sets or appends.

use crate::example_certificate;

/// A config file's text, built up key by key (string values are quoted as TOML basic
/// strings; the tests' values hold no quote or backslash).
#[derive(Clone, Debug)]
pub struct ConfigFile {
    lwm2m: String,
    dhcpv4: String,
    dhcpv6: String,
    interface: String,
    mode: String,
    interface_keys: String,
    after: String,
}

impl ConfigFile {
    /// `bootstrap_uri = uri`, DHCPv4 and DHCPv6 enabled, `interface` in generic mode.
    pub fn new(uri: &str, interface: &str) -> ConfigFile {
        ConfigFile {
            lwm2m: format!("bootstrap_uri = \"{uri}\"\n"),
            dhcpv4: "enabled = true\n".into(),
            dhcpv6: "enabled = true\n".into(),
            interface: interface.into(),
            mode: "generic".into(),
            interface_keys: String::new(),
            after: String::new(),
        }
    }

    /// The reload and pin tests' config: DHCPv4 only, `lwm2m-only` policy, the server
    /// identifier (option 54) `server_ip`.
    pub fn v4_lwm2m_only(uri: &str, interface: &str, server_ip: &str) -> ConfigFile {
        ConfigFile::new(uri, interface)
            .lwm2m("policy", "lwm2m-only")
            .without_dhcpv6()
            .interface_key("server_id", server_ip)
    }

    /// One more `[lwm2m]` key with a string value, e.g. `policy`, `wire_format`.
    pub fn lwm2m(mut self, key: &str, value: &str) -> ConfigFile {
        self.lwm2m += &format!("{key} = \"{value}\"\n");
        self
    }

    /// `certificate` = examples/certs/bootstrap-`octets`.der.
    pub fn certificate(self, octets: usize) -> ConfigFile {
        let path = example_certificate(octets);
        self.lwm2m("certificate", &path.display().to_string())
    }

    /// `[dhcpv4] enabled = false`.
    pub fn without_dhcpv4(mut self) -> ConfigFile {
        self.dhcpv4 = "enabled = false\n".into();
        self
    }

    /// `[dhcpv6] enabled = false`.
    pub fn without_dhcpv6(mut self) -> ConfigFile {
        self.dhcpv6 = "enabled = false\n".into();
        self
    }

    /// One more `[dhcpv6]` line of TOML, e.g. `information_refresh_time = 86400`.
    pub fn dhcpv6_line(mut self, line: &str) -> ConfigFile {
        self.dhcpv6 += &format!("{line}\n");
        self
    }

    /// The interface's attach `mode` (`generic` unless set).
    pub fn mode(mut self, mode: &str) -> ConfigFile {
        self.mode = mode.into();
        self
    }

    /// One more `[[interface]]` key with a string value, e.g. `server_id`, `fallback`.
    pub fn interface_key(mut self, key: &str, value: &str) -> ConfigFile {
        self.interface_keys += &format!("{key} = \"{value}\"\n");
        self
    }

    /// TOML appended after the interface: its `[[interface.vlan]]`s, `[slow_path]`, ...
    pub fn then(mut self, toml: &str) -> ConfigFile {
        self.after += toml;
        self
    }

    /// The file's text.
    pub fn text(&self) -> String {
        format!(
            "[lwm2m]\n{}[dhcpv4]\n{}[dhcpv6]\n{}\
             [[interface]]\nname = \"{}\"\nmode = \"{}\"\n{}{}",
            self.lwm2m,
            self.dhcpv4,
            self.dhcpv6,
            self.interface,
            self.mode,
            self.interface_keys,
            self.after
        )
    }
}

#[cfg(test)]
mod tests {
    use super::ConfigFile;

    #[test]
    fn the_text_is_the_sections_in_order_with_one_mode() {
        let text = ConfigFile::new("coaps://198.18.0.1:5684", "veth0")
            .lwm2m("policy", "lwm2m-only")
            .without_dhcpv6()
            .mode("native")
            .interface_key("server_id", "198.18.0.1")
            .then("[slow_path]\nmode = \"relay\"\n")
            .text();
        assert_eq!(
            text,
            "[lwm2m]\nbootstrap_uri = \"coaps://198.18.0.1:5684\"\npolicy = \"lwm2m-only\"\n\
             [dhcpv4]\nenabled = true\n[dhcpv6]\nenabled = false\n\
             [[interface]]\nname = \"veth0\"\nmode = \"native\"\nserver_id = \"198.18.0.1\"\n\
             [slow_path]\nmode = \"relay\"\n"
        );
    }
}
