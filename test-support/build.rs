//! Finds the bench-only kernel object (`lwm2m-xdp-bench`, xdp-ebpf/src/bench_main.rs) that
//! xdp-user's build.rs compiled with the shipped one, so `bench.rs` embeds it here and the
//! shipped loader never carries it.

fn main() {
    let path = std::env::var("DEP_LWM2M_XDP_EBPF_BENCH_OBJECT")
        .expect("xdp-user's build.rs names the bench object (links = \"lwm2m-xdp-ebpf\")");
    println!("cargo::rerun-if-env-changed=DEP_LWM2M_XDP_EBPF_BENCH_OBJECT");
    println!("cargo::rustc-env=LWM2M_XDP_BENCH_OBJECT={path}");
}
