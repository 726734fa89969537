//! How a request ends: answered (XDP_TX), or a `Stop` with its verdict and counted reason.

use aya_ebpf::bindings::xdp_action;
use xdp_common::{counters::Reason, maps::Family};

use crate::maps;

/// Why a reply was not sent: the XDP verdict and the counted reason. Before the frame
/// changed that is XDP_PASS (or XDP_DROP for the rate limit); after, XDP_ABORTED.
///
/// A plain struct, not an enum with payloads: every field is always defined, so LLVM never
/// copies an uninitialised register, which the verifier rejects.
#[derive(Clone, Copy)]
pub struct Stop {
    pub verdict: u32,
    pub reason: Reason,
}

#[expect(
    non_upper_case_globals,
    non_snake_case,
    reason = "Stop::Pass(..) reads like the enum variant it stands for"
)]
impl Stop {
    pub const Abort: Stop = Stop {
        verdict: xdp_action::XDP_ABORTED,
        reason: Reason::Aborted,
    };

    pub const fn Pass(reason: Reason) -> Stop {
        Stop {
            verdict: xdp_action::XDP_PASS,
            reason,
        }
    }

    pub const fn Drop(reason: Reason) -> Stop {
        Stop {
            verdict: xdp_action::XDP_DROP,
            reason,
        }
    }
}

impl From<Reason> for Stop {
    fn from(reason: Reason) -> Self {
        Stop::Pass(reason)
    }
}

pub const PASS: u32 = xdp_action::XDP_PASS;

/// Count the outcome of one request and turn it into the XDP verdict.
#[inline(always)]
pub fn finish(family: Family, outcome: Result<(), Stop>) -> u32 {
    maps::count(family, Reason::Received);
    match outcome {
        Ok(()) => {
            maps::count(family, Reason::Answered);
            xdp_action::XDP_TX
        }
        Err(stop) => {
            maps::count(family, stop.reason);
            stop.verdict
        }
    }
}
