//! `cargo xtask bench`: throughput and latency of the XDP fast path.

/// PLACEHOLDER: another engineer is writing the benchmarks; this only keeps the subcommand
/// wired up and compiling until then.
pub fn run() -> anyhow::Result<()> {
    anyhow::bail!("not implemented yet")
}
