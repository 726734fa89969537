//! lwm2m-xdp: answers DHCPINFORM and DHCPv6 INFORMATION-REQUEST asking for the LwM2M
//! bootstrap options with XDP_TX, from replies pre-encoded in maps; passes everything else.
//! `lwm2m_tc`, on the TC ingress hook of the same interfaces, answers with the same builder
//! what XDP passed because its frame could not grow (drivers without XDP tailroom).
#![no_std]
#![no_main]
// Wide packet stores (packet::put): inline asm is not yet stable for BPF.
#![feature(asm_experimental_arch)]

mod addr6;
mod csum;
mod dhcpv4;
mod dhcpv6;
mod generation;
mod handler;
mod loops;
mod maps;
mod packet;
mod policy;
mod rate;
mod relay6;
mod reply;
mod request;
mod rules;
mod scratch;
mod state;
mod verdict;

use aya_ebpf::{
    bindings::{__sk_buff, TC_ACT_OK},
    helpers::bpf_skb_pull_data,
    macros::{classifier, xdp},
    programs::{TcContext, XdpContext},
    EbpfContext,
};
use xdp_common::{
    counters::Seen,
    wire::{eth, ipv6, udp},
};

#[xdp]
pub fn lwm2m_xdp(ctx: XdpContext) -> u32 {
    // `Seen::Frames` is not counted: the loader derives it (`counters::derive`).
    let Some(l2) = packet::parse_l2(&ctx) else {
        maps::count_seen(Seen::Other);
        return verdict::pass(&ctx);
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
            verdict::pass(&ctx)
        }
    }
}

/// The TC fallback: decide and build run again, as in XDP, so only a request XDP would have
/// answered but passed for lack of room is answered (anything else XDP passed, TC passes for
/// the same reason); everything else goes on with TC_ACT_OK. Counted: only what TC did.
/// Ethernet, two tags, IPv6 (the larger header), UDP.
const HEADERS_LEN: u32 =
    (eth::HDR_LEN + 2 * eth::VLAN_TAG_LEN + ipv6::HDR_LEN + udp::HDR_LEN) as u32;

#[classifier]
pub fn lwm2m_tc(ctx: TcContext) -> i32 {
    let skb = ctx.as_ptr() as *mut __sk_buff;
    // The outer VLAN tag was taken out of the frame into the skb before this hook
    // (skb_vlan_untag); the reply keeps that metadata, and the device's egress puts it back.
    // SAFETY: the context pointer the program was given.
    let (tagged, tci) = unsafe { ((*skb).vlan_present, (*skb).vlan_tci) };
    // The headers linear, for the direct accesses of the walk to the port (a request to our
    // port is pulled whole before `decide`: Frame::make_linear).
    // SAFETY: the context pointer the program was given; the helper checks the length.
    let len = unsafe { (*skb).len };
    let head = if len < HEADERS_LEN { len } else { HEADERS_LEN };
    if unsafe { bpf_skb_pull_data(skb, head) } != 0 {
        return TC_ACT_OK as i32;
    }
    let Some(mut l2) = packet::parse_l2(&ctx) else {
        return TC_ACT_OK as i32;
    };
    if tagged != 0 {
        // A tag left in the frame is the inner one; a second left there is one too many.
        if l2.inner_vlan != 0 || l2.l3_off > eth::HDR_LEN + eth::VLAN_TAG_LEN {
            return TC_ACT_OK as i32;
        }
        l2.inner_vlan = l2.outer_vlan;
        l2.outer_vlan = tci as u16 & eth::VLAN_ID_MASK;
    }
    (match l2.ethertype {
        eth::ETHERTYPE_IPV4 => dhcpv4::handle(&ctx, &l2),
        eth::ETHERTYPE_IPV6 => dhcpv6::handle(&ctx, &l2),
        _ => verdict::pass(&ctx),
    }) as i32
}

#[cfg(not(test))]
#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    loop {}
}
