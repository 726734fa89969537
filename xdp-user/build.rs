//! Compiles the kernel program (xdp-ebpf) for bpfel-unknown-none with the Debian compiler
//! linked as the `debian-bpf` rustup toolchain, so the binary embeds it
//! (`cargo xtask setup` installs that toolchain; ../shared/docs/toolchain.md says why).

use aya_build::{Package, Toolchain};

/// The rustup name `cargo xtask setup` gives the Debian compiler.
const BPF_TOOLCHAIN: &str = "debian-bpf";

fn main() -> anyhow::Result<()> {
    let ebpf = Package {
        name: "xdp-ebpf",
        root_dir: concat!(env!("CARGO_MANIFEST_DIR"), "/../xdp-ebpf"),
        ..Default::default()
    };
    aya_build::build_ebpf([ebpf], Toolchain::Custom(BPF_TOOLCHAIN))?;
    // The bench-only object is built too (aya-build builds every bin); test-support embeds it.
    let out_dir = std::env::var("OUT_DIR")?;
    println!("cargo::metadata=bench_object={out_dir}/lwm2m-xdp-bench");
    Ok(())
}
