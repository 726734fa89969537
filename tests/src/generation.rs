//! What the kernel tests and the fuzzer feed the program through BPF_PROG_TEST_RUN: the
//! examples' certificates, and a config's generation served on a fake interface (the test run
//! delivers every frame as if on the loopback device).

use std::path::{Path, PathBuf};

use anyhow::{ensure, Context as _, Result};
use lwm2m_xdp::{compile, config::Config, datapath::Generation, ifaces, system::SystemInterface};

/// The ingress ifindex BPF_PROG_TEST_RUN gives the program: the loopback device's.
pub const LOOPBACK_IFINDEX: u32 = 1;

/// The repository's examples/ directory.
pub fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples")
}

/// The DER bytes of examples/certs/bootstrap-`octets`.der, checked to be that long.
pub fn certificate_der(octets: usize) -> Result<Vec<u8>> {
    let path = examples_dir().join(format!("certs/bootstrap-{octets}.der"));
    let der = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
    ensure!(
        der.len() == octets,
        "{}: {} octets",
        path.display(),
        der.len()
    );
    Ok(der)
}

/// The generation (policy, blocks, interface entries) of a config's text, its relative paths
/// taken from examples/ (as if it were the file `examples/<name>`), every interface it names
/// served as `iface` gives it (ifindex [`LOOPBACK_IFINDEX`], for the test run).
pub fn generation_of(
    toml: &str,
    name: &str,
    iface: impl Fn(&str) -> SystemInterface,
) -> Result<Generation> {
    let cfg = Config::parse(toml, &examples_dir().join(name))
        .with_context(|| format!("the test config:\n{toml}"))?;
    let compiled = compile::compile(&cfg)?;
    let (entries, _) = ifaces::entries(&cfg, |name| Ok(iface(name)))?;
    Ok(Generation::new(&compiled, entries))
}
