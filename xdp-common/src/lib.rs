//! What the kernel program and the loader must agree on, and nothing else: the wire
//! vocabulary (`wire`: header fields as offset ranges, ports, message types, option and status
//! codes, the reply head and size rules) and the map contract (`maps`, `counters`, `bench`:
//! map names, value layouts, counter indices and limits). One source of truth for each fact:
//! every crate (kernel, loader, client, relay, tests, benches) takes it from here and
//! restates none of it. No logic that only one side uses.
#![no_std]

pub mod bench;
pub mod counters;
pub mod maps;
pub mod wire;
