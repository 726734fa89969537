//! Test harness for lwm2m-xdp: the binary under test, the peers on a namespace pair, the
//! relay's three-namespace topology, a real DHCPv6 relay agent's (`relay_agent`), a running
//! `lwm2m-xdp run` (whole hosts with real peers, design.md "Tests"). What the benches use too
//! (privileges, bounded commands, the namespace runner, frames) is lwm2m-xdp-test-support's,
//! re-exported here.

mod bin;
pub mod config_file;
pub mod generation;
pub mod http;
pub mod peers;
pub mod relay_agent;
pub mod relay_topology;
pub mod running;

pub use bin::lwm2m_xdp_bin;

/// examples/certs/bootstrap-`octets`.der as an absolute path, as a config names it.
pub fn example_certificate(octets: usize) -> std::path::PathBuf {
    let name = format!("examples/certs/bootstrap-{octets}.der");
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(&name)
        .canonicalize()
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// A namespace pair and a scratch directory, both named after `tag` and removed on drop:
/// what a namespace test starts with.
pub fn pair_and_scratch(tag: &str) -> (NetnsPair, ScratchDir) {
    let pair = NetnsPair::new(tag).expect("netns pair");
    (pair, ScratchDir::new(tag).expect("scratch dir"))
}

/// A command's output as text, trimmed: what the tests compare and print.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).trim().to_owned()
}
pub use lwm2m_xdp_test_support::{
    bounded, cleanup_stale, files, netns, privilege, require_root, require_tool, skip_unless_root,
    wait_child, wait_until, LinkEnd, NetnsPair, PinDir, ScratchDir, Side,
};
