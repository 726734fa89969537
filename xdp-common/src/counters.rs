//! Indices into the per-CPU `COUNTERS` array. Generic frame counters first, then one block
//! of `Reason`s per family.

use crate::maps::Family;

/// One table per counter block: each variant (numbered from 0 in order, its index in the
/// block) with the metric name that stands for it, so that names and indices cannot drift
/// apart; defines the enum, `$count` (how many) and `$names` (the names in index order).
macro_rules! counter_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident ($count:ident, $names:ident) {
            $($(#[$doc:meta])* $variant:ident => $label:literal,)*
        }
    ) => {
        $(#[$meta])*
        #[repr(u32)]
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum $name {
            $($(#[$doc])* $variant,)*
        }
        pub const $count: u32 = [$($label),*].len() as u32;
        pub const $names: [&str; $count as usize] = [$($label),*];
    };
}

counter_enum! {
    /// What the program saw, before any DHCP decision.
    pub enum Seen (SEEN_COUNT, SEEN_NAMES) {
        /// Derived, not counted by the kernel (`derive`): every frame is one of `Ipv4`, `Ipv6`,
        /// `Other`.
        Frames => "frames",
        VlanTagged => "vlan_tagged",
        Ipv4 => "ipv4",
        Ipv6 => "ipv6",
        Udp => "udp",
        /// Not IPv4/IPv6 (ARP, LLDP, ...), or more VLAN tags than we look through.
        Other => "other",
    }
}

counter_enum! {
    /// The outcome of a DHCP request of one family. `Received` is every UDP datagram to the
    /// server port the XDP program sees: exactly one other reason up to `RelayTooDeep` is counted
    /// for each (`GrownAtHead` comes on top of `Answered`), so the kernel leaves `Received` to
    /// `derive`, one counter update fewer per request. The TC fallback (after XDP
    /// passed a request as `NoTailroom`) counts only what it did itself: `AnsweredTc`,
    /// `NoTailroomTc`, `RateLimitedTc`, `Aborted`.
    pub enum Reason (REASON_COUNT, REASON_NAMES) {
        Received => "received",
        Answered => "answered",
        /// Not an information-only request (DISCOVER, SOLICIT, a reply, ...): the normal server's.
        NotInfoRequest => "passed_not_info_request",
        /// No PRL/ORO, or it names no LwM2M option we serve.
        NoLwm2m => "passed_no_lwm2m",
        /// `complete` policy and a requested code the fast path cannot serve.
        Unservable => "passed_unservable",
        /// DHCPv4: ciaddr = giaddr = 0, so there is nowhere to send the ACK.
        NoDestination => "passed_no_destination",
        /// Not addressed to us: foreign destination or Server Identifier, IA options,
        /// a message from a relay that is not a Relay-forward, an interface/VLAN without an
        /// address of that family.
        NotForUs => "passed_not_for_us",
        /// The reply would exceed 576 / option 57 / the MTU.
        TooBig => "passed_too_big",
        /// The family is disabled in the config, or no config is loaded.
        Disabled => "passed_disabled",
        /// Truncated, inconsistent lengths, bad checksums, IP options or fragments; a
        /// Relay-forward without a Relay Message option or with lengths that do not nest.
        Malformed => "malformed",
        /// The driver gave no room to grow the frame (bpf_xdp_adjust_tail failed).
        NoTailroom => "no_tailroom",
        /// Over the rate limit with `over_limit = "drop"`: dropped.
        RateLimited => "rate_limited",
        /// A reply under construction could not be finished (a helper failed after the frame
        /// was changed): XDP_ABORTED, never a half-built reply. Should stay 0.
        Aborted => "aborted",
        /// The Ethernet source is a group (multicast/broadcast) or all-zero MAC: no client.
        GroupSource => "passed_group_source",
        /// DHCPv6: the IPv6 source is not link-local unicast (direct) or not unicast (relayed).
        BadSource => "passed_bad_source",
        /// DHCPv4: the giaddr / ciaddr the ACK would go to is not a unicast address.
        BadDestination => "passed_bad_destination",
        /// Over the rate limit with `over_limit = "pass"`: handed to the normal server.
        PassedRateLimited => "passed_rate_limited",
        /// DHCPv6: a Relay-forward from a relay's global address, and the interface has no
        /// global address to answer it from.
        NoGlobalAddress => "passed_no_global_address",
        /// DHCPv6: more nested Relay-forwards than `wire::dhcpv6::MAX_RELAY_HOPS`.
        RelayTooDeep => "passed_relay_too_deep",
        /// Answered by the TC fallback (XDP had passed it as `NoTailroom`).
        AnsweredTc => "answered_tc",
        /// The TC fallback could not grow the skb either (bpf_skb_change_tail failed): passed.
        NoTailroomTc => "no_tailroom_tc",
        /// Over the rate limit when the TC fallback charged it (XDP had given its credit back):
        /// dropped or passed as `over_limit` says. The only drop TC makes, so it is counted.
        RateLimitedTc => "rate_limited_tc",
        /// Answered by XDP after growing the frame at its head as well (bpf_xdp_adjust_head: the
        /// driver left too little room after the frame); counted once the frame has grown, and
        /// on top of `Answered`: tells the operator the NIC's tailroom is short.
        GrownAtHead => "grown_at_head",
    }
}

/// The XDP outcomes: each received request has exactly one of `Received + 1 .. this`.
pub const XDP_REASON_END: u32 = Reason::AnsweredTc as u32;

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
