//! The one shape of both families' handlers: the generation read once (config, interface
//! entry, block: a reply is wholly of one generation), `decide` (every check of protocol.md,
//! the frame untouched), `fit` (sizes, the rate limit), `build` (the reply). A request `build`
//! passes for lack of room in XDP gets its rate-limit credit back: the TC fallback charges it
//! again when it answers.

use xdp_common::{
    counters::{Reason, Seen},
    maps::{ClientKey, Family, IfaceConfig, OptionBlock, SlotConfig},
};

use crate::{
    generation, maps,
    packet::{self, Frame, Hook, L2},
    rate,
    verdict::{self, Packed, Stop},
};

pub trait Handler {
    const FAMILY: Family;
    /// The DHCP server port of the family: what a request is sent to.
    const SERVER_PORT: u16;
    /// The served set's mask; the plan in scratch holds what `fit` and `build` need.
    fn decide(
        ctx: &impl Frame,
        l2: &L2,
        config: &SlotConfig,
        iface: &IfaceConfig,
    ) -> Result<u32, Stop>;
    fn fit(config: &SlotConfig, iface: &IfaceConfig, block: &OptionBlock) -> Result<(), Stop>;
    fn build(ctx: &impl Frame, iface: &IfaceConfig, block: &OptionBlock) -> Result<(), Stop>;
    /// The rate-limit bucket `fit` charged, and the ingress interface.
    fn charged() -> Option<(ClientKey, u32)>;
}

/// A UDP datagram of `H`'s family to `dst_port` (its headers read by the family's entry):
/// counted, and, when it is sent to the DHCP server port, answered or passed (`verdict::finish`
/// counts the outcome). Anything else is passed untouched.
#[inline(always)]
pub fn serve<H: Handler>(ctx: &impl Frame, l2: &L2, dst_port: u16) -> u32 {
    maps::count_seen_in(ctx, Seen::Udp);
    if dst_port != H::SERVER_PORT || !ctx.make_linear() {
        return verdict::pass(ctx);
    }
    verdict::finish(ctx, H::FAMILY, answer::<H>(ctx, l2))
}

/// One request of `H`'s family, from the generation to the built reply.
#[inline(always)]
fn answer<H: Handler>(ctx: &impl Frame, l2: &L2) -> Result<(), Stop> {
    let gen = generation::current(ctx, l2, H::FAMILY)?;
    let mask = decide::<H>(ctx, l2, gen.config, gen.iface).result()? as u32;
    let block = generation::block(gen.slot, H::FAMILY, mask)?;
    fit::<H>(gen.config, gen.iface, block).result()?;
    let built = build::<H>(ctx, gen.iface, block).result().map(|_| ());
    if let Err(stop) = built {
        if stop.reason == Reason::NoTailroom && packet::hook_of(ctx) == Hook::Xdp {
            let (key, ifindex) = H::charged().ok_or(Stop::Abort)?;
            rate::refund(&gen.config.rate, &key, ifindex);
        }
    }
    built
}

// The three steps are subprograms of their own, so that no call chain exceeds 512 octets of
// stack (`fit` inside `decide` measured 528); each returns `Packed` (verdict.rs says why).

#[inline(never)]
fn decide<H: Handler>(
    ctx: &impl Frame,
    l2: &L2,
    config: &SlotConfig,
    iface: &IfaceConfig,
) -> Packed {
    Packed::of(H::decide(ctx, l2, config, iface).map(|mask| mask as usize))
}

#[inline(never)]
fn fit<H: Handler>(config: &SlotConfig, iface: &IfaceConfig, block: &OptionBlock) -> Packed {
    Packed::of(H::fit(config, iface, block).map(|_| 0))
}

#[inline(never)]
fn build<H: Handler>(ctx: &impl Frame, iface: &IfaceConfig, block: &OptionBlock) -> Packed {
    Packed::of(H::build(ctx, iface, block).map(|_| 0))
}
