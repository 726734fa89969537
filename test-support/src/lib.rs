//! What the tests and the benches share, kept out of the shipped `lwm2m-xdp`: whole request
//! frames (`frame`), the one network-namespace runner (`netns`: pairs of namespaces joined by
//! veth, a thread's move into one), bounded commands, privileges, scratch and pin
//! directories, and the bench-only kernel object (`bench`).
//!
//! Every external command here is bounded in time: a hung `ip` or peer must fail a test or a
//! bench, not stall CI.

pub mod bench;
pub mod bounded;
pub mod files;
pub mod frame;
pub mod link_end;
pub mod netns;
pub mod privilege;

pub use bounded::{bounded, wait_child, wait_until};
pub use files::{PinDir, ScratchDir};
pub use link_end::LinkEnd;
pub use netns::{cleanup_stale, InNetns, NetnsPair, Side};
pub use privilege::{require_root, require_tool};
