//! The kernel accepts the program: the verifier runs on every load.

use lwm2m_xdp::datapath::Datapath;

#[test]
fn program_passes_the_verifier() {
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("SKIPPED program_passes_the_verifier: needs root (CAP_BPF)");
        return;
    }
    if let Err(e) = Datapath::load() {
        panic!("{e:?}");
    }
}
