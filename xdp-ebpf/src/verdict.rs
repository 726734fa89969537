//! How a request ends: answered (XDP_TX; in TC a redirect to the ingress device's egress),
//! or a `Stop` with its verdict and counted reason.

use aya_ebpf::{
    bindings::{xdp_action, TC_ACT_OK, TC_ACT_SHOT},
    helpers::bpf_redirect,
};
use xdp_common::{counters::Reason, maps::Family};

use crate::{
    maps,
    packet::{Frame, Hook},
};

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

/// A `Result<usize, Stop>` in one register: what a subprogram (`#[inline(never)]`) returns.
/// A `Result` is returned through memory, and LLVM may leave the pointer to it (the caller's
/// stack) in R0 at the exit, which the verifier rejects ("cannot return stack pointer to the
/// caller"); whether it does changes with unrelated code.
#[derive(Clone, Copy)]
pub struct Packed(u64);

impl Packed {
    const ERR: u64 = 1 << 63;

    #[inline(always)]
    pub fn of(result: Result<usize, Stop>) -> Packed {
        match result {
            Ok(value) => Packed(value as u64 & u32::MAX as u64),
            Err(stop) => Packed(Self::ERR | (stop.verdict as u64) << 32 | stop.reason as u64),
        }
    }

    #[inline(always)]
    pub fn result(self) -> Result<usize, Stop> {
        if self.0 & Self::ERR == 0 {
            return Ok(self.0 as usize);
        }
        Err(Stop {
            verdict: (self.0 >> 32) as u32 & !(1 << 31),
            // SAFETY: the low word was written from a `Reason` by `of`.
            reason: unsafe { core::mem::transmute::<u32, Reason>(self.0 as u32) },
        })
    }
}

impl From<Reason> for Stop {
    fn from(reason: Reason) -> Self {
        Stop::Pass(reason)
    }
}

/// The hook's "not ours, let the stack have it".
#[inline(always)]
pub fn pass<F: Frame>(_ctx: &F) -> u32 {
    match F::HOOK {
        Hook::Xdp => xdp_action::XDP_PASS,
        Hook::Tc => TC_ACT_OK as u32,
    }
}

/// Count the outcome of one request and turn it into the hook's verdict.
#[inline(always)]
pub fn finish<F: Frame>(ctx: &F, family: Family, outcome: Result<(), Stop>) -> u32 {
    match F::HOOK {
        Hook::Xdp => finish_xdp(family, outcome),
        Hook::Tc => finish_tc(ctx, family, outcome),
    }
}

/// TC runs only where XDP passed, and XDP counted that request's outcome: TC counts what it
/// did itself. A stop after the skb changed drops it (never a half-built reply up the
/// stack); any other stop leaves it to the stack, as XDP did.
#[inline(always)]
fn finish_tc(ctx: &impl Frame, family: Family, outcome: Result<(), Stop>) -> u32 {
    match outcome {
        Ok(()) => {
            maps::count(family, Reason::AnsweredTc);
            // SAFETY: a helper without pointers; it returns TC_ACT_REDIRECT (flags 0: the
            // device's egress).
            unsafe { bpf_redirect(ctx.ingress_ifindex(), 0) as u32 }
        }
        Err(stop) => {
            if stop.reason as u32 == Reason::NoTailroom as u32 {
                maps::count(family, Reason::NoTailroomTc);
            }
            if stop.reason as u32 == Reason::RateLimited as u32
                || stop.reason as u32 == Reason::PassedRateLimited as u32
            {
                maps::count(family, Reason::RateLimitedTc);
            }
            if stop.verdict == xdp_action::XDP_ABORTED {
                maps::count(family, Reason::Aborted);
            }
            if stop.verdict == xdp_action::XDP_PASS {
                TC_ACT_OK as u32
            } else {
                TC_ACT_SHOT as u32
            }
        }
    }
}

#[inline(always)]
fn finish_xdp(family: Family, outcome: Result<(), Stop>) -> u32 {
    // Exactly one outcome per request: `Received` is their sum (`counters::derive`).
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
