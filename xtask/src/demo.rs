//! `cargo xtask demo`: the responder answering real DHCP clients in network namespaces.

/// PLACEHOLDER: another engineer is writing the demo; this only keeps the subcommand wired
/// up and compiling until then.
pub fn run() -> anyhow::Result<()> {
    anyhow::bail!("not implemented yet")
}
