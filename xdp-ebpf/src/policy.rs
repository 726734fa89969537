//! The served set (protocol.md "Policy"): what the scan of a request's requested codes (the
//! DHCPv4 PRL, the DHCPv6 ORO) found, judged by the generation's policy. One check for both
//! families.

use xdp_common::{
    counters::Reason,
    maps::{ACTION_UNSERVABLE, MASKS_PER_FAMILY, MAX_SERVED_OPTIONS, POLICY_COMPLETE},
};

use crate::{scratch, state::CodeScan, verdict::Stop};

/// A scan's start: nothing found yet (three stores of their own: merged they would become a
/// memset call).
#[inline(always)]
pub fn start_scan(scan: &mut CodeScan) {
    scratch::store_apart(&mut scan.mask, 0);
    scratch::store_apart(&mut scan.unservable, 0);
    scratch::store_apart(&mut scan.malformed, 0);
}

/// Count a requested code's action into the scan.
#[inline(always)]
pub fn found(scan: &mut CodeScan, action: u8) {
    if action == ACTION_UNSERVABLE {
        scan.unservable = 1;
    } else if (action as usize) < MAX_SERVED_OPTIONS {
        scan.mask |= 1 << action;
    }
}

/// The mask of the options to serve, from what the scan found; passed when no LwM2M option
/// is asked for, or when `complete` policy meets a code it cannot serve.
#[inline(always)]
pub fn served_set(scan: &CodeScan, lwm2m_mask: u8, policy: u8) -> Result<u32, Stop> {
    if scan.malformed != 0 {
        return Err(Reason::Malformed.into());
    }
    let mask = scan.mask as u32 & (MASKS_PER_FAMILY - 1);
    if mask & lwm2m_mask as u32 == 0 {
        return Err(Reason::NoLwm2m.into());
    }
    if scan.unservable != 0 && policy == POLICY_COMPLETE {
        return Err(Reason::Unservable.into());
    }
    Ok(mask)
}
