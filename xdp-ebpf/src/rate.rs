//! The per-client rate limit: a token bucket in `RATE`.

use aya_ebpf::helpers::bpf_ktime_get_ns;
use xdp_common::maps::{ClientKey, RateLimit, TokenBucket};

use crate::maps::RATE;

/// Token bucket per client MAC: `burst` answers at once, then `per_second`.
#[inline(always)]
pub fn within_rate(limit: &RateLimit, mac: [u8; 6]) -> bool {
    if limit.per_second == 0 {
        return true;
    }
    let cost = 1_000_000_000 / limit.per_second as u64;
    let cap = cost * limit.burst as u64;
    // SAFETY: a helper without arguments.
    let now = unsafe { bpf_ktime_get_ns() };
    let key = ClientKey { mac, _pad: 0 };
    match RATE.get_ptr_mut(&key) {
        Some(bucket) => {
            // SAFETY: a map value; concurrent updates from other CPUs can only make the
            // limit slightly more generous, never corrupt memory.
            let bucket = unsafe { &mut *bucket };
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
        None => {
            let bucket = TokenBucket {
                last_ns: now,
                credit_ns: cap - cost,
            };
            // A full LRU map evicts; a failed insert only forgets this client.
            let _ = RATE.insert(&key, &bucket, 0);
            true
        }
    }
}
