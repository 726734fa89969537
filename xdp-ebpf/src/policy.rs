//! The served set (protocol.md "Policy"): what the scan of a request's requested codes (the
//! DHCPv4 PRL, the DHCPv6 ORO) found, judged by the generation's policy. One check for both
//! families.

use xdp_common::{
    counters::Reason,
    maps::{MASKS_PER_FAMILY, POLICY_COMPLETE},
};

use crate::{state::CodeScan, verdict::Stop};

/// The mask of the options to serve; passed when no LwM2M option is asked for, or when
/// `complete` policy meets a code it cannot serve.
#[inline(always)]
pub fn served_set(scan: &CodeScan, lwm2m_mask: u8, policy: u8) -> Result<u32, Stop> {
    let mask = scan.mask & (MASKS_PER_FAMILY - 1);
    if mask & lwm2m_mask as u32 == 0 {
        return Err(Reason::NoLwm2m.into());
    }
    if scan.unservable != 0 && policy == POLICY_COMPLETE {
        return Err(Reason::Unservable.into());
    }
    Ok(mask)
}
