//! Test harness for lwm2m-xdp: privileges, bounded commands, the binary under test, and pairs
//! of network namespaces joined by veth (whole hosts with real peers, design.md "Tests").
//!
//! Every external command here is bounded in time: a hung `ip` or peer must fail a test, not
//! stall CI.

mod bin;
mod bounded;
mod files;
pub mod http;
pub mod netns;
pub mod peers;
mod privilege;
pub mod relay_topology;
pub mod running;

pub use bin::lwm2m_xdp_bin;
pub use bounded::{bounded, wait_child, wait_until};
pub use files::{PinDir, ScratchDir};
pub use netns::{cleanup_stale, NetnsPair, Side};
pub use privilege::{require_root, require_tool};
