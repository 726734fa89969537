//! The config generation a request is answered from: the slot `ACTIVE` names, read once per
//! request, and everything of that slot the reply uses (policy, interface entry, block),
//! each looked up once and handed on by reference. A reload writes the other slot and flips
//! `ACTIVE`, so one reply never mixes two configs.

use xdp_common::{
    counters::Reason,
    maps::{block_index, Family, IfaceConfig, IfaceKey, IfaceSlotKey, OptionBlock, SlotConfig},
};

use crate::{
    maps::{ACTIVE, BLOCKS, IFACES, SLOTS},
    packet::{Frame, L2},
    rules,
    verdict::Stop,
};

pub struct Generation {
    pub slot: u32,
    pub config: &'static SlotConfig,
    /// The receiving interface's (or VLAN's) entry of this generation.
    pub iface: &'static IfaceConfig,
}

/// The generation in force, if `family` is enabled in it, the frame comes from a unicast
/// MAC, and its interface (VLAN) has an entry in it.
#[inline(always)]
pub fn current(ctx: &impl Frame, l2: &L2, family: Family) -> Result<Generation, Stop> {
    let slot = *ACTIVE.get(0).ok_or(Reason::Disabled)? & 1;
    let config = SLOTS.get(slot).ok_or(Reason::Disabled)?;
    let enabled = match family {
        Family::V4 => config.v4.enabled,
        Family::V6 => config.v6.enabled,
    };
    if enabled == 0 {
        return Err(Reason::Disabled.into());
    }
    rules::source_mac_is_unicast(ctx)?;
    let key = IfaceSlotKey {
        slot,
        iface: IfaceKey {
            ifindex: ctx.ingress_ifindex(),
            outer_vlan: l2.outer_vlan,
            inner_vlan: l2.inner_vlan,
        },
    };
    // SAFETY: IFACES has no preallocation: a removed or replaced entry is freed after an
    // RCU grace period, never while this program holds it.
    let iface = unsafe { IFACES.get(&key) }.ok_or(Reason::NotForUs)?;
    Ok(Generation {
        slot,
        config,
        iface,
    })
}

/// The pre-encoded block of `mask` in this generation; an empty one cannot be served.
#[inline(always)]
pub fn block(slot: u32, family: Family, mask: u32) -> Result<&'static OptionBlock, Stop> {
    let block = BLOCKS
        .get(block_index(slot, family, mask))
        .ok_or(Reason::TooBig)?;
    if block.len == 0 {
        return Err(Reason::TooBig.into());
    }
    Ok(block)
}
