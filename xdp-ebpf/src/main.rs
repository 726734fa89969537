//! lwm2m-xdp: answers DHCPINFORM and DHCPv6 INFORMATION-REQUEST asking for the LwM2M
//! bootstrap options with XDP_TX, from replies pre-encoded in maps; passes everything else.
#![no_std]
#![no_main]
// Wide packet stores (packet::put): inline asm is not yet stable for BPF.
#![feature(asm_experimental_arch)]

mod csum;
mod dhcpv4;
mod dhcpv6;
mod generation;
mod loops;
mod maps;
mod packet;
mod rate;
mod relay6;
mod reply;
mod request;
mod rules;
mod scratch;
mod state;
mod verdict;

use aya_ebpf::{macros::xdp, programs::XdpContext};
use xdp_common::{counters::Seen, wire::eth};

#[xdp]
pub fn lwm2m_xdp(ctx: XdpContext) -> u32 {
    maps::count_seen(Seen::Frames);
    let Some(l2) = packet::parse_l2(&ctx) else {
        maps::count_seen(Seen::Other);
        return verdict::PASS;
    };
    if l2.tagged() {
        maps::count_seen(Seen::VlanTagged);
    }
    match l2.ethertype {
        eth::ETHERTYPE_IPV4 => {
            maps::count_seen(Seen::Ipv4);
            dhcpv4::handle(&ctx, &l2)
        }
        eth::ETHERTYPE_IPV6 => {
            maps::count_seen(Seen::Ipv6);
            dhcpv6::handle(&ctx, &l2)
        }
        _ => {
            maps::count_seen(Seen::Other);
            verdict::PASS
        }
    }
}

#[cfg(not(test))]
#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    loop {}
}
