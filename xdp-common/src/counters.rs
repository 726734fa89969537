//! Indices into the per-CPU `COUNTERS` array. Generic frame counters first, then one block
//! of `Reason`s per family.

use crate::maps::Family;

/// What the program saw, before any DHCP decision.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Seen {
    /// Derived, not counted by the kernel (`derive`): every frame is one of `Ipv4`, `Ipv6`,
    /// `Other`.
    Frames = 0,
    VlanTagged = 1,
    Ipv4 = 2,
    Ipv6 = 3,
    Udp = 4,
    /// Not IPv4/IPv6 (ARP, LLDP, ...), or more VLAN tags than we look through.
    Other = 5,
}
pub const SEEN_COUNT: u32 = 6;
pub const SEEN_NAMES: [&str; SEEN_COUNT as usize] =
    ["frames", "vlan_tagged", "ipv4", "ipv6", "udp", "other"];

/// The outcome of a DHCP request of one family. `Received` is every UDP datagram to the
/// server port the XDP program sees: exactly one other reason up to `RelayTooDeep` is counted
/// for each (`GrownAtHead` comes on top of `Answered`), so the kernel leaves `Received` to
/// `derive`, one counter update fewer per request. The TC fallback (after XDP
/// passed a request as `NoTailroom`) counts only what it did itself: `AnsweredTc`,
/// `NoTailroomTc`, `RateLimitedTc`, `Aborted`.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    Received = 0,
    Answered = 1,
    /// Not an information-only request (DISCOVER, SOLICIT, a reply, ...): the normal server's.
    NotInfoRequest = 2,
    /// No PRL/ORO, or it names no LwM2M option we serve.
    NoLwm2m = 3,
    /// `complete` policy and a requested code the fast path cannot serve.
    Unservable = 4,
    /// DHCPv4: ciaddr = giaddr = 0, so there is nowhere to send the ACK.
    NoDestination = 5,
    /// Not addressed to us: foreign destination or Server Identifier, IA options,
    /// a message from a relay that is not a Relay-forward, an interface/VLAN without an
    /// address of that family.
    NotForUs = 6,
    /// The reply would exceed 576 / option 57 / the MTU.
    TooBig = 7,
    /// The family is disabled in the config, or no config is loaded.
    Disabled = 8,
    /// Truncated, inconsistent lengths, bad checksums, IP options or fragments; a
    /// Relay-forward without a Relay Message option or with lengths that do not nest.
    Malformed = 9,
    /// The driver gave no room to grow the frame (bpf_xdp_adjust_tail failed).
    NoTailroom = 10,
    /// Over the rate limit with `over_limit = "drop"`: dropped.
    RateLimited = 11,
    /// A reply under construction could not be finished (a helper failed after the frame
    /// was changed): XDP_ABORTED, never a half-built reply. Should stay 0.
    Aborted = 12,
    /// The Ethernet source is a group (multicast/broadcast) or all-zero MAC: no client.
    GroupSource = 13,
    /// DHCPv6: the IPv6 source is not link-local unicast (direct) or not unicast (relayed).
    BadSource = 14,
    /// DHCPv4: the giaddr / ciaddr the ACK would go to is not a unicast address.
    BadDestination = 15,
    /// Over the rate limit with `over_limit = "pass"`: handed to the normal server.
    PassedRateLimited = 16,
    /// DHCPv6: a Relay-forward from a relay's global address, and the interface has no
    /// global address to answer it from.
    NoGlobalAddress = 17,
    /// DHCPv6: more nested Relay-forwards than `wire::dhcpv6::MAX_RELAY_HOPS`.
    RelayTooDeep = 18,
    /// Answered by the TC fallback (XDP had passed it as `NoTailroom`).
    AnsweredTc = 19,
    /// The TC fallback could not grow the skb either (bpf_skb_change_tail failed): passed.
    NoTailroomTc = 20,
    /// Over the rate limit when the TC fallback charged it (XDP had given its credit back):
    /// dropped or passed as `over_limit` says. The only drop TC makes, so it is counted.
    RateLimitedTc = 21,
    /// Answered by XDP after growing the frame at its head as well (bpf_xdp_adjust_head: the
    /// driver left too little room after the frame); counted once the frame has grown, and
    /// on top of `Answered`: tells the operator the NIC's tailroom is short.
    GrownAtHead = 22,
}
pub const REASON_COUNT: u32 = 23;
/// The XDP outcomes: each received request has exactly one of `Received + 1 .. this`.
pub const XDP_REASON_END: u32 = Reason::AnsweredTc as u32;
pub const REASON_NAMES: [&str; REASON_COUNT as usize] = [
    "received",
    "answered",
    "passed_not_info_request",
    "passed_no_lwm2m",
    "passed_unservable",
    "passed_no_destination",
    "passed_not_for_us",
    "passed_too_big",
    "passed_disabled",
    "malformed",
    "no_tailroom",
    "rate_limited",
    "aborted",
    "passed_group_source",
    "passed_bad_source",
    "passed_bad_destination",
    "passed_rate_limited",
    "passed_no_global_address",
    "passed_relay_too_deep",
    "answered_tc",
    "no_tailroom_tc",
    "rate_limited_tc",
    "grown_at_head",
];

pub const COUNTERS_LEN: u32 = SEEN_COUNT + 2 * REASON_COUNT;

#[inline(always)]
pub const fn seen_index(what: Seen) -> u32 {
    what as u32
}

#[inline(always)]
pub const fn reason_index(family: Family, reason: Reason) -> u32 {
    SEEN_COUNT + family as u32 * REASON_COUNT + reason as u32
}

/// Fill in the counters the kernel does not update itself (`Seen::Frames`, each family's
/// `Reason::Received`) in `counters` (COUNTERS_LEN values, summed over CPUs) from those it
/// does. Whoever reads the map goes through this.
pub fn derive(counters: &mut [u64]) {
    if counters.len() < COUNTERS_LEN as usize {
        return;
    }
    let seen = |what: Seen| counters[seen_index(what) as usize];
    counters[seen_index(Seen::Frames) as usize] =
        seen(Seen::Ipv4) + seen(Seen::Ipv6) + seen(Seen::Other);
    for family in [Family::V4, Family::V6] {
        let received = reason_index(family, Reason::Received) as usize;
        counters[received] = counters[received + 1..received + XDP_REASON_END as usize]
            .iter()
            .sum();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derive_fills_frames_and_received_from_what_the_kernel_counts() {
        let mut c = [0u64; COUNTERS_LEN as usize];
        let mut set = |i: u32, v: u64| c[i as usize] = v;
        set(seen_index(Seen::Frames), 99); // stale: an older program counted it
        set(seen_index(Seen::Ipv4), 3);
        set(seen_index(Seen::Ipv6), 2);
        set(seen_index(Seen::Other), 1);
        set(seen_index(Seen::Udp), 4);
        set(seen_index(Seen::VlanTagged), 5);
        set(reason_index(Family::V4, Reason::Answered), 2);
        set(reason_index(Family::V4, Reason::NoLwm2m), 1);
        // Not outcomes of their own: on top of Answered, and TC's.
        set(reason_index(Family::V4, Reason::GrownAtHead), 5);
        set(reason_index(Family::V4, Reason::AnsweredTc), 7);
        set(reason_index(Family::V6, Reason::RelayTooDeep), 4);
        derive(&mut c);
        assert_eq!(c[seen_index(Seen::Frames) as usize], 6);
        assert_eq!(c[reason_index(Family::V4, Reason::Received) as usize], 3);
        assert_eq!(c[reason_index(Family::V6, Reason::Received) as usize], 4);
        assert_eq!(c[seen_index(Seen::Udp) as usize], 4, "counted ones stay");
    }
}
