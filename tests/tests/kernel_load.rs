//! The kernel accepts the program: the verifier runs on every load.

use lwm2m_xdp::datapath::Datapath;

#[test]
fn program_passes_the_verifier() {
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("SKIPPED program_passes_the_verifier: needs root (CAP_BPF)");
        return;
    }
    let mut dp = match Datapath::load() {
        Ok(dp) => dp,
        Err(e) => panic!("{e:?}"),
    };
    // What the verifier walked, for the record (BENCHMARKS.md), not asserted.
    let xdp = dp.program().info().expect("XDP program info");
    eprintln!(
        "lwm2m_xdp: {:?} instructions verified, {:?} octets translated",
        xdp.verified_instruction_count(),
        xdp.size_translated()
    );
    let tc = dp.tc_program().info().expect("TC program info");
    eprintln!(
        "lwm2m_tc: {:?} instructions verified, {:?} octets translated",
        tc.verified_instruction_count(),
        tc.size_translated()
    );
}
