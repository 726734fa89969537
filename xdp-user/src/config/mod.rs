//! The config file (design.md, "Config file"): TOML read by serde into `Raw*` structs that
//! mirror the file, then validated into [`Config`], whose values are ready to encode.
//!
//! Numbers, addresses and enum names are read as plain TOML values and checked here rather
//! than by serde, so that every error can name its dotted key, the value, and what is
//! accepted.

mod certificate;
mod error;
mod model;
mod raw;
#[cfg(test)]
pub(crate) mod tests;
pub mod uri;
mod validate;
mod values;

use std::{fs, path::Path};

pub use error::ConfigError;
pub use model::*;

use error::{invalid, quoted, syntax_error};
use raw::RawConfig;

impl Config {
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = fs::read_to_string(path).map_err(|cause| ConfigError::Read {
            path: path.to_path_buf(),
            cause,
        })?;
        Config::parse(&text, path)
    }

    /// Parses and validates `text`; a relative certificate path is taken from the directory
    /// of `source`, the file the text came from.
    pub fn parse(text: &str, source: &Path) -> Result<Config, ConfigError> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| syntax_error(source, text, &e))?;
        let base = source.parent().unwrap_or(Path::new(""));
        raw.validate(base, source)
    }
}

/// Checks that every `[[interface]]` is among `links`, the names of this host's links (the
/// loader asks netlink; kept apart from [`Config::parse`] so parsing can be tested anywhere).
pub fn check_interfaces(cfg: &Config, links: &[String]) -> Result<(), ConfigError> {
    for (i, iface) in cfg.interfaces.iter().enumerate() {
        if links.contains(&iface.name) {
            continue;
        }
        let mut present = links.to_vec();
        present.sort();
        return Err(invalid(
            format!("interface[{i}].name"),
            quoted(&iface.name),
            format!(
                "no such network interface on this host (it has: {})",
                present.join(", ")
            ),
        ));
    }
    Ok(())
}
