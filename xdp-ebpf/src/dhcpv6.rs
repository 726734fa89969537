use aya_ebpf::programs::XdpContext; use crate::packet::L2; pub fn handle(_ctx: &XdpContext, _l2: &L2) -> u32 { crate::reply::PASS }
