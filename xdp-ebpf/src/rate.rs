//! The rate limit (`[rate_limit]`): a token bucket per client in `RATE`, keyed by what a
//! spoofer controls least (a relayed DHCPv4 request: giaddr + chaddr; otherwise the source
//! MAC), and an optional bucket per interface in `IFACE_RATE` that bounds the answers of an
//! interface whatever the keys. Over either: dropped or passed, as `over_limit` says.

use aya_ebpf::helpers::bpf_ktime_get_ns;
use xdp_common::{
    counters::Reason,
    maps::{ClientKey, RateLimit, TokenBucket, OVER_LIMIT_PASS},
};

use crate::{
    maps::{IFACE_RATE, RATE},
    verdict::Stop,
};

/// The key of a request that did not come through a DHCPv4 relay: its source MAC.
#[inline(always)]
pub fn mac_key(mac: [u8; 6]) -> ClientKey {
    // As two words: the ten zero octets written octet by octet become a call to a byte-loop
    // memset.
    let m = u64::from_ne_bytes([mac[0], mac[1], mac[2], mac[3], mac[4], mac[5], 0, 0]);
    let words: [u64; 2] = [m, 0];
    ClientKey {
        giaddr: [0; 4],
        // SAFETY: [u64; 2] and [u8; 16] have the same size, and every bit pattern is a valid
        // [u8; 16].
        id: unsafe { core::mem::transmute::<[u64; 2], [u8; 16]>(words) },
    }
}

/// Spend one answer's credit from `bucket` if it has it (credit refills at one answer per
/// `cost` ns, up to `cap`).
#[inline(always)]
fn spend(bucket: &mut TokenBucket, now: u64, cost: u64, cap: u64) -> bool {
    let credit = bucket.credit_ns + now.saturating_sub(bucket.last_ns);
    let credit = if credit > cap { cap } else { credit };
    bucket.last_ns = now;
    if credit < cost {
        bucket.credit_ns = credit;
        return false;
    }
    bucket.credit_ns = credit - cost;
    true
}

/// A new bucket that has just paid for one answer.
#[inline(always)]
fn fresh(now: u64, cost: u64, cap: u64) -> TokenBucket {
    TokenBucket {
        last_ns: now,
        credit_ns: cap - cost,
    }
}

/// The client's bucket: `burst` answers at once, then `per_second`.
#[inline(always)]
fn client_within(limit: &RateLimit, key: &ClientKey, now: u64) -> bool {
    let cost = 1_000_000_000 / limit.per_second as u64;
    let cap = cost * limit.burst as u64;
    match RATE.get_ptr_mut(key) {
        // SAFETY: a map value; concurrent updates from other CPUs can only make the limit
        // slightly more generous, never corrupt memory.
        Some(bucket) => spend(unsafe { &mut *bucket }, now, cost, cap),
        None => {
            // A full LRU map evicts; a failed insert only forgets this client.
            let _ = RATE.insert(key, &fresh(now, cost, cap), 0);
            true
        }
    }
}

/// The interface's bucket: `per_interface` answers a second, as many at once.
#[inline(always)]
fn interface_within(per_second: u32, ifindex: u32, now: u64) -> bool {
    let cost = 1_000_000_000 / per_second as u64;
    let cap = cost * per_second as u64;
    match IFACE_RATE.get_ptr_mut(&ifindex) {
        // SAFETY: as in `client_within`.
        Some(bucket) => spend(unsafe { &mut *bucket }, now, cost, cap),
        None => {
            let _ = IFACE_RATE.insert(&ifindex, &fresh(now, cost, cap), 0);
            true
        }
    }
}

/// Whether this answer is within the limits; a client over its own limit does not spend the
/// interface's credit.
#[inline(always)]
pub fn admit(limit: &RateLimit, key: &ClientKey, ifindex: u32) -> Result<(), Stop> {
    if limit.per_second == 0 && limit.per_interface == 0 {
        return Ok(());
    }
    // SAFETY: a helper without arguments.
    let now = unsafe { bpf_ktime_get_ns() };
    let within = (limit.per_second == 0 || client_within(limit, key, now))
        && (limit.per_interface == 0 || interface_within(limit.per_interface, ifindex, now));
    if within {
        Ok(())
    } else if limit.over_limit == OVER_LIMIT_PASS {
        Err(Stop::Pass(Reason::PassedRateLimited))
    } else {
        Err(Stop::Drop(Reason::RateLimited))
    }
}

/// Give back the credit `admit` spent on an answer XDP then could not send for lack of room:
/// the TC fallback, which runs `admit` again, answers it, and one answer costs one credit.
#[inline(always)]
pub fn refund(limit: &RateLimit, key: &ClientKey, ifindex: u32) {
    if limit.per_second != 0 {
        let cost = 1_000_000_000 / limit.per_second as u64;
        if let Some(bucket) = RATE.get_ptr_mut(key) {
            // SAFETY: as in `client_within`.
            give_back(unsafe { &mut *bucket }, cost, cost * limit.burst as u64);
        }
    }
    if limit.per_interface != 0 {
        let cost = 1_000_000_000 / limit.per_interface as u64;
        if let Some(bucket) = IFACE_RATE.get_ptr_mut(&ifindex) {
            // SAFETY: as in `client_within`.
            give_back(
                unsafe { &mut *bucket },
                cost,
                cost * limit.per_interface as u64,
            );
        }
    }
}

#[inline(always)]
fn give_back(bucket: &mut TokenBucket, cost: u64, cap: u64) {
    let credit = bucket.credit_ns + cost;
    bucket.credit_ns = if credit > cap { cap } else { credit };
}

/// The key of a DHCPv4 request (its UDP payload saved in `req`): (giaddr, chaddr) when a
/// relay forwarded it, else its source MAC.
#[inline(always)]
pub fn v4_key(req: &crate::scratch::ReqBuf, mac: [u8; 6]) -> ClientKey {
    use xdp_common::wire::dhcpv4::field::{CHADDR, GIADDR};
    let g = GIADDR.start;
    let giaddr = [req[g], req[g + 1], req[g + 2], req[g + 3]];
    if giaddr == [0; 4] {
        return mac_key(mac);
    }
    let mut id = [0u8; 16];
    id.copy_from_slice(&req[CHADDR]);
    ClientKey { giaddr, id }
}
