//! Where the `lwm2m-xdp` binary under test is.

use std::path::{Path, PathBuf};

/// The binary the namespace tests run: `LWM2M_XDP_BIN` (set by `cargo xtask test`), else
/// `<workspace>/target/debug/lwm2m-xdp`. Panics with what to do when it is not there, because
/// a test that silently used a stale or missing binary would prove nothing. A `String`: the
/// tests pass it to commands and into configs and unit files.
pub fn lwm2m_xdp_bin() -> String {
    let bin = match std::env::var_os("LWM2M_XDP_BIN") {
        Some(path) => PathBuf::from(path),
        None => Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("..")
            .join("target")
            .join("debug")
            .join("lwm2m-xdp"),
    };
    assert!(
        bin.is_file(),
        "the lwm2m-xdp binary is not at {}: run `cargo build -p lwm2m-xdp` first \
         (`cargo xtask test` does), or set LWM2M_XDP_BIN to its path",
        bin.display()
    );
    bin.into_os_string()
        .into_string()
        .expect("the lwm2m-xdp binary's path is UTF-8")
}
