//! Who may be answered (protocol.md "Who may be answered", the DHCPv4 destination and the
//! DHCPv6 source rules): addresses from which no client can ask, or to which no answer may go.

use xdp_common::{counters::Reason, wire::eth};

use crate::{
    packet::{ptr_at, Frame},
    verdict::Stop,
};

/// The request's Ethernet source must be a unicast MAC: group bit clear, not all zero.
#[inline(always)]
pub fn source_mac_is_unicast(ctx: &impl Frame) -> Result<(), Stop> {
    let mac = ptr_at::<[u8; 6]>(ctx, eth::field::SOURCE.start).ok_or(Reason::Malformed)?;
    // SAFETY: bounds checked by ptr_at.
    let m = unsafe { &*mac };
    if m[0] & 1 != 0 || m == &[0; 6] {
        return Err(Reason::GroupSource.into());
    }
    Ok(())
}

/// A DHCPv4 destination (giaddr or ciaddr) must be unicast: not 0/8 (0.0.0.0 included),
/// 127/8, 224/4 (multicast), or 240/4 (reserved, 255.255.255.255 included).
#[inline(always)]
pub fn v4_destination_is_unicast(addr: [u8; 4]) -> Result<(), Stop> {
    let first = addr[0];
    if first == 0 || first == 127 || first >= 224 {
        return Err(Reason::BadDestination.into());
    }
    Ok(())
}

/// A direct DHCPv6 client asks from its link-local unicast address (fe80::/10).
#[inline(always)]
pub fn v6_source_is_link_local(src: &[u8; 16]) -> Result<(), Stop> {
    if src[0] != 0xfe || src[1] & 0xc0 != 0x80 {
        return Err(Reason::BadSource.into());
    }
    Ok(())
}

/// A relay agent sends from a unicast address: not multicast (ff00::/8), not ::, not ::1.
#[inline(always)]
pub fn v6_source_is_unicast(src: &[u8; 16]) -> Result<(), Stop> {
    let mut low = 0u8;
    let mut i = 0;
    while i < 15 {
        low |= src[i];
        i += 1;
    }
    if src[0] == 0xff || (low == 0 && src[15] <= 1) {
        return Err(Reason::BadSource.into());
    }
    Ok(())
}
