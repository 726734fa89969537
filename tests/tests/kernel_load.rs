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

/// LLVM turns adjacent zero stores, struct copies and slice compares into calls to its own
/// memset/memcpy/memmove/memcmp: byte loops the verifier walks and every packet pays for
/// (issue 9 measured +180-235 ns for one memmove). The object must call none of them.
#[test]
fn program_calls_no_byte_loop_builtins() {
    use object::{Object, ObjectSection, ObjectSymbol, RelocationTarget};
    const BUILTINS: &[&str] = &["memset", "memcpy", "memmove", "memcmp", "bcmp"];
    let elf = object::File::parse(lwm2m_xdp::datapath::EBPF_OBJECT).expect("parse the object");
    let mut calls = Vec::new();
    for section in elf.sections() {
        for (offset, relocation) in section.relocations() {
            let RelocationTarget::Symbol(index) = relocation.target() else {
                continue;
            };
            let name = elf
                .symbol_by_index(index)
                .and_then(|s| s.name())
                .unwrap_or("");
            if BUILTINS.contains(&name) {
                let section = section.name().unwrap_or("?");
                calls.push(format!(
                    "{name} at {section}+{offset:#x} (insn {})",
                    offset / 8
                ));
            }
        }
    }
    assert!(
        calls.is_empty(),
        "calls to byte-loop builtins (find the source line with `llvm-objdump -d -l`): {calls:#?}"
    );
}
